// The hand-written sample inputs of the fuzz targets: see samples.h.
#include "fuzz/samples.h"


namespace kvsim_fuzz {

const std::vector<TraceSample>& trace_samples() {
  static const std::vector<TraceSample> samples = {
      {"azure-2023", "azure.csv",
       "TIMESTAMP,ContextTokens,GeneratedTokens\n"
       "2023-11-16 18:15:46.6805900,374,44\n"
       "2023-11-16 18:15:50.9951690,396,109\n"
       "2023-11-16 18:15:51.2,879,28\n"},
      {"burstgpt", "burstgpt.csv",
       "Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
       "5,\"a1b2\",0.5,ChatGPT,472,18,490,Conversation log\n"
       "45,,1.25,GPT-4,1087,0,1087,API log\n"
       "118.5,\"c3, d4\",2,ChatGPT,417,276,693,Conversation log\n"},
      {"jsonl", "trace.jsonl",
       "{\"arrival_s\": 0.0, \"prompt_tokens\": 40, \"output_tokens\": 8, \"hash_ids\": [0, 1, 2], "
       "\"hash_block_tokens\": 16, \"session_id\": \"c1\", \"turn\": 0, \"class\": \"chat\"}\n"
       "{\"arrival_s\": 0.25, \"prompt_tokens\": 3, \"output_tokens\": 2, \"token_ids\": [5, 6, 7], "
       "\"output_token_ids\": [8, 9], \"chunks\": [{\"start\": 1, \"tokens\": 2, \"id\": 4}]}\n"
       "{\"arrival_s\": 1.5, \"prompt_tokens\": 100, \"output_tokens\": 20, \"session_id\": \"c1\", \"turn\": 1}\n"},
      {"llmservingsim", "llmservingsim.jsonl",
       "{\"input_toks\": 3, \"output_toks\": 2, \"arrival_time_ns\": 0, \"input_tok_ids\": [1, 2, 3], "
       "\"output_tok_ids\": [4, 5]}\n"
       "{\"input_toks\": 2, \"output_toks\": 1, \"arrival_time_ns\": 1500000, \"input_tok_ids\": [1, 2]}\n"},
      {"mooncake", "mooncake.jsonl",
       "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 12, \"hash_ids\": [0, 1]}\n"
       "{\"timestamp\": 27.5, \"input_length\": 512, \"output_length\": 3, \"hash_ids\": [0]}\n"},
      {"vidur-csv", "vidur.csv",
       "arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,100,20\n0.5,2048,1\n0.5,7,300\n"},
      {"vidur-csv", "lengths.csv",
       "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio\n100,20,120,5.0\n2000,10,2010,200\n"},
  };
  return samples;
}

std::string sample_profile_json() {
  return R"({"schema": "kvsim-profile-1", "gpu": "h100-sxm", "device_name": "NVIDIA H100 80GB HBM3",
  "source": "fuzz sample", "provenance": {"note": "hand-written"},
  "decode_attention": [
    {"batch": 1, "kv_len": 512, "q_heads": 32, "kv_heads": 8, "head_dim": 128, "kv_dtype": "bf16", "seconds": 1.7e-05},
    {"batch": 1, "kv_len": 8192, "q_heads": 32, "kv_heads": 8, "head_dim": 128, "kv_dtype": "bf16", "seconds": 3.0e-05},
    {"batch": 16, "kv_len": 512, "q_heads": 32, "kv_heads": 8, "head_dim": 128, "kv_dtype": "bf16", "seconds": 2.5e-05},
    {"batch": 16, "kv_len": 8192, "q_heads": 32, "kv_heads": 8, "head_dim": 128, "kv_dtype": "fp8", "seconds": 1.1e-04, "row": 7}],
  "prefill_attention": [
    {"batch": 1, "isl": 128, "cached": 0, "q_heads": 32, "kv_heads": 8, "head_dim": 128, "kv_dtype": "bf16", "seconds": 1.5e-05},
    {"batch": 1, "isl": 4096, "cached": 0, "q_heads": 32, "kv_heads": 8, "head_dim": 128, "kv_dtype": "bf16", "seconds": 4.0e-04}],
  "gemm": [
    {"m": 1, "n": 4096, "k": 4096, "dtype": "bf16", "seconds": 1.2e-05},
    {"m": 256, "n": 4096, "k": 4096, "dtype": "bf16", "seconds": 2.4e-05},
    {"m": 4096, "n": 4096, "k": 4096, "dtype": "bf16", "seconds": 2.3e-04},
    {"m": 1, "n": 28672, "k": 4096, "dtype": "bf16", "seconds": 5.0e-05},
    {"m": 4096, "n": 28672, "k": 4096, "dtype": "bf16", "seconds": 1.4e-03},
    {"m": 1, "n": 4096, "k": 14336, "dtype": "bf16", "seconds": 3.0e-05},
    {"m": 4096, "n": 4096, "k": 14336, "dtype": "fp8", "seconds": 4.0e-04}],
  "all_reduce": [
    {"bytes": 8192, "gpus": 2, "dtype": "bf16", "seconds": 8.0e-06},
    {"bytes": 33554432, "gpus": 2, "dtype": "bf16", "seconds": 1.5e-04}],
  "all_to_all": [{"bytes": 65536, "gpus": 8, "dtype": "bf16", "seconds": 2.0e-05}],
  "moe": [
    {"tokens": 1, "hidden": 4096, "intermediate": 14336, "experts": 8, "topk": 2, "tp": 1, "dtype": "bf16", "seconds": 1.0e-04},
    {"tokens": 512, "hidden": 4096, "intermediate": 14336, "experts": 8, "topk": 2, "tp": 1, "dtype": "bf16", "seconds": 9.0e-04}]
})";
}

std::string sample_hf_config_json() {
  return R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
  "vocab_size": 128256, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "head_dim": 64,
  "rope_scaling": {"factor": 32.0, "rope_type": "llama3"}})";
}

}  // namespace kvsim_fuzz
