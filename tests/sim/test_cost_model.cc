// Roofline and iteration cost model against numbers computed by hand (three shapes + TP + sliding window).
#include <gtest/gtest.h>

#include <vector>

#include "models/cost/impl/roofline.h"
#include "models/cost/iteration_cost_model.h"
#include "models/kv/kv_layout.h"
#include "models/spec/catalog.h"
#include "tests/models/strategy_test_util.h"
#include "tests/sim/round_gpu.h"

namespace kvsim {
namespace {

using testing::ideal;
using testing::round_gpu;

// Prices one iteration of `work` (every sequence samples a token unless `sampled` says otherwise).
IterationShape shape_of(const std::vector<SeqWork>& work, int sampled = -1) {
  IterationShape s;
  s.work = work;
  s.sampled_sequences = sampled < 0 ? static_cast<int>(work.size()) : sampled;
  return s;
}
IterationCost price(const IterationCostModel& m, const std::vector<SeqWork>& work, int sampled = -1) {
  IterationCost c;
  m.price(shape_of(work, sampled), c);
  return c;
}

TEST(Roofline, PricesComputeAndMemoryBoundOpsWithEfficiencies) {
  RooflineParams p = ideal();
  p.gemm_efficiency = 0.5;
  p.memory_efficiency = 0.8;
  p.launch_latency_s = 1e-6;
  const RooflineCostModel m(p, round_gpu());
  KernelOp op;
  op.kind = OpKind::kGemm;
  op.flops = 1e12;  // 1e12 / (1e15*0.5) = 2 ms
  op.bytes = 1e9;   // 1e9 / (1e12*0.8) = 1.25 ms
  op.launches = 10;
  CostEstimate e = m.estimate(op);
  EXPECT_DOUBLE_EQ(e.seconds, 2e-3 + 10e-6);
  EXPECT_EQ(e.bound, Bound::kCompute);
  EXPECT_EQ(e.source, Source::kRoofline);
  op.bytes = 4e9;  // 5 ms
  e = m.estimate(op);
  EXPECT_DOUBLE_EQ(e.seconds, 5e-3 + 10e-6);
  EXPECT_EQ(e.bound, Bound::kMemory);
  op.flops = 1;
  op.bytes = 1;  // launch latency dominates
  EXPECT_EQ(m.estimate(op).bound, Bound::kLatency);
}

TEST(Roofline, PricesDequantizationOnTheCudaCores) {
  RooflineParams p = ideal();
  p.dequant_instructions_8bit = 1.0;
  p.dequant_instructions_subbyte = 5.0;
  p.core_efficiency = 0.25;  // 5e12 * 0.25 = 1.25e12 lane-instructions/s
  const RooflineCostModel m(p, round_gpu());
  KernelOp op;
  op.kind = OpKind::kAttentionDecode;
  op.flops = 1e11;  // 0.1 ms on the tensor cores
  op.bytes = 1e9;   // 1 ms
  op.dequant_elements = 4e8;
  op.shape.kv_bits = 4;  // 4e8 * 5 / 1.25e12 = 1.6 ms: with the tensor time, 1.7 ms of compute > 1 ms of memory
  CostEstimate e = m.estimate(op);
  EXPECT_DOUBLE_EQ(e.seconds, 1e-4 + 1.6e-3);
  EXPECT_EQ(e.bound, Bound::kCompute);
  op.shape.kv_bits = 8;  // 4e8 * 1 / 1.25e12 = 0.32 ms: hidden under the memory time
  e = m.estimate(op);
  EXPECT_DOUBLE_EQ(e.seconds, 1e-3);
  EXPECT_EQ(e.bound, Bound::kMemory);
  op.shape.kv_bits = 16;  // 16-bit KV is not dequantized, whatever the op says
  EXPECT_DOUBLE_EQ(m.dequant_seconds(op), 0.0);
}

class IterationCostTest : public ::testing::Test {
 protected:
  const LlmSpec& llama8b = Catalog::builtin().model("llama-3.1-8b", "test");
  GpuSpec gpu = round_gpu();
  RooflineCostModel kernels{ideal(), gpu};
};

TEST_F(IterationCostTest, SingleDecodeAtContext1000IsMemoryBound) {
  // Llama-3.1-8B: L=32, h=4096, Hq=32, Hkv=8, d=128, I=14336, vocab=128256, bf16.
  IterationCostModel m(llama8b, base_layout(llama8b, 1, 16), 1, kernels, 0.0);
  // A decode step of a request whose 999 tokens are cached: it attends to 1000 tokens.
  const IterationCost c = price(m, std::vector<SeqWork>{{999, 999, 1}}, 1);
  // gemm.qkv: N = (32 + 2*8)*128 = 6144; bytes/layer = 4096*6144*2 + 1*(4096+6144)*2 = 50,352,128.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmQkv)].bytes, 32.0 * 50352128);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmQkv)].seconds, 32.0 * 50352128 / 1e12);
  // gemm.attn_out: 4096x4096: 4096*4096*2 + (4096+4096)*2 = 33,570,816 per layer.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmAttnOut)].bytes, 32.0 * 33570816);
  // gemm.mlp: gate+up 4096 x 28672 and down 14336 x 4096:
  // (4096*28672*2 + (4096+28672)*2) + (14336*4096*2 + (14336+4096)*2) = 234,946,560 + 117,477,376 per layer.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmMlp)].bytes, 32.0 * (234946560.0 + 117477376.0));
  // attention.decode: KV 1000 tokens * 2*8*128*2 B = 4,096,000 B + q/o 2*32*128*2 = 16,384 B per layer;
  // FLOPs 4*32*128*1000 per layer.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionDecode)].bytes, 32.0 * (4096000.0 + 16384.0));
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionDecode)].flops, 32.0 * 4 * 32 * 128 * 1000);
  EXPECT_EQ(c.ops[size_t(OpId::kAttentionDecode)].bound, Bound::kMemory);
  // lm_head: 4096 x 128256: 4096*128256*2 + (4096+128256)*2 bytes.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmLmHead)].bytes, 4096.0 * 128256 * 2 + (4096.0 + 128256) * 2);
  const double total_bytes = 32.0 * (50352128.0 + 33570816.0 + 234946560.0 + 117477376.0 + 4096000.0 + 16384.0) +
                             4096.0 * 128256 * 2 + (4096.0 + 128256) * 2;
  EXPECT_NEAR(c.seconds, total_bytes / 1e12, 1e-15);
  EXPECT_FALSE(c.present[size_t(OpId::kAllReduce)]);
}

TEST_F(IterationCostTest, QuantizedDecodeDequantizesEveryElementItReads) {
  // kivi-4 on Llama-3.1-8B: a decode step over 1000 cached tokens reads 1000 x (8 + 8) x 128 K/V elements per layer
  // and decodes each of them on the CUDA cores, at the 4-bit rate.
  const ComposedStrategy kivi = testing::compose("kivi-4");
  IterationCostModel m(llama8b, kivi.layout, 1, kernels, 0.0);
  const std::vector<SeqWork> work = {{999, 999, 1}};
  const IterationCost c = price(m, work, 1);
  std::vector<KernelOp> ops;
  m.build_ops(shape_of(work, 1), ops);
  const KernelOp* decode = nullptr;
  for (const KernelOp& op : ops) {
    if (op.id == OpId::kAttentionDecode) decode = &op;
  }
  ASSERT_NE(decode, nullptr);
  EXPECT_DOUBLE_EQ(decode->dequant_elements, 32.0 * 1000 * 2 * 8 * 128);
  EXPECT_LT(decode->shape.kv_bits, 8);
  // Priced: tensor FLOPs plus 4.5 instructions per element at 5e12 lane-instructions/s (ideal() keeps the default
  // instruction counts and sets every efficiency, the CUDA cores' included, to 1), or the memory time if larger.
  const double dequant_s = 32.0 * 1000 * 2 * 8 * 128 * 4.5 / 5e12;
  const double expect = std::max(decode->flops / 1e15 + dequant_s, decode->bytes / 1e12);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionDecode)].seconds, expect);
  EXPECT_GT(dequant_s, decode->bytes / 1e12);  // 4-bit decode is dequantization-bound on this GPU
}

TEST_F(IterationCostTest, Prefill2048TokensIsComputeBound) {
  IterationCostModel m(llama8b, base_layout(llama8b, 1, 16), 1, kernels, 0.5e-3);
  const IterationCost c = price(m, std::vector<SeqWork>{{2048, 0, 2048}}, 1);
  // gemm.qkv FLOPs = 2*2048*4096*6144*32 = 3.298534883328e12 -> 3.2985 ms at 1 PFLOP/s (bytes: 3.27 ms... check)
  const double qkv_flops = 2.0 * 2048 * 4096 * 6144 * 32;
  const double qkv_bytes = 32.0 * (4096.0 * 6144 * 2 + 2048.0 * (4096 + 6144) * 2);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmQkv)].flops, qkv_flops);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmQkv)].seconds, std::max(qkv_flops / 1e15, qkv_bytes / 1e12));
  EXPECT_EQ(c.ops[size_t(OpId::kGemmQkv)].bound, Bound::kCompute);
  // Causal attention pairs: 2048*2049/2 = 2,098,176; FLOPs = 4*32*128*pairs per layer.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionPrefill)].flops, 32.0 * 4 * 32 * 128 * 2098176.0);
  // Bytes per layer: KV read + written (2048 + 2048 tokens * 4096 B) + Q and O (2048 * 2*32*128*2 B) = 50,331,648;
  // on this 1000 FLOP/B GPU that is 1.61 ms of memory time against 1.10 ms of compute: memory-bound.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionPrefill)].bytes, 32.0 * 50331648);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionPrefill)].seconds, 32.0 * 50331648 / 1e12);
  EXPECT_EQ(c.ops[size_t(OpId::kAttentionPrefill)].bound, Bound::kMemory);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kIterationOverhead)].seconds, 0.5e-3);
  // A second chunk of 1024 tokens over 2048 cached: pairs = 1024*2048 + 1024*1025/2 = 2,621,952.
  const IterationCost c2 = price(m, std::vector<SeqWork>{{3072, 2048, 1024}}, 1);
  EXPECT_DOUBLE_EQ(c2.ops[size_t(OpId::kAttentionPrefill)].flops, 32.0 * 4 * 32 * 128 * 2621952.0);
}

TEST_F(IterationCostTest, TensorParallelShardsWeightsAndAddsAllReduce) {
  IterationCostModel m(llama8b, base_layout(llama8b, 2, 16), 2, kernels, 0.0);
  const IterationCost c = price(m, std::vector<SeqWork>(4, SeqWork{99, 99, 1}));
  // Per GPU: Hq 16, Hkv 4 -> qkv N = (16+8)*128 = 3072.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmQkv)].flops, 2.0 * 4 * 4096 * 3072 * 32);
  // All-reduce: 2 per layer of 4 tokens * 4096 * 2 B = 32,768 B; ring moves 2*(2-1)/2 of it at 100 GB/s.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAllReduce)].bytes, 64.0 * 32768);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAllReduce)].seconds, 64.0 * 32768 * 1.0 / 100e9);
  // KV per token per layer per GPU: 2*4*128*2 = 2048 B.
  EXPECT_DOUBLE_EQ(m.layout().groups[0].device_bytes_per_token(), 2048.0);
}

TEST_F(IterationCostTest, SlidingWindowLayersReadAtMostTheWindow) {
  const LlmSpec& mistral = Catalog::builtin().model("mistral-7b", "test");
  IterationCostModel m(mistral, base_layout(mistral, 1, 16), 1, kernels, 0.0);
  const IterationCost c = price(m, std::vector<SeqWork>{{32767, 32767, 1}}, 1);
  // 32 layers, window 4096: KV bytes read = 4096 * 2*8*128*2 + q/o 2*32*128*2 per layer.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionDecode)].bytes, 32.0 * (4096.0 * 4096 + 16384.0));
  // Prefill of 8192 tokens: pairs = sum_{p=1}^{8192} min(p, 4096) = 4096*4097/2 + 4096*4096.
  const IterationCost p = price(m, std::vector<SeqWork>{{8192, 0, 8192}});
  EXPECT_DOUBLE_EQ(p.ops[size_t(OpId::kAttentionPrefill)].flops,
                   32.0 * 4 * 32 * 128 * (4096.0 * 4097 / 2 + 4096.0 * 4096));
}

TEST_F(IterationCostTest, SwapTransfersArePricedOverPcie) {
  IterationCostModel m(llama8b, base_layout(llama8b, 1, 16), 1, kernels, 0.0);
  IterationShape s;
  s.swap_out_bytes = 1e9;
  IterationCost c;
  m.price(s, c);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kSwapOut)].seconds, 0.1);  // 1 GB at 10 GB/s
}

TEST(IterationCostMla, DeepSeekV3ReadsTheLatentCache) {
  const LlmSpec& ds = Catalog::builtin().model("deepseek-v3", "test");
  const GpuSpec gpu = round_gpu();
  const RooflineCostModel kernels(ideal(), gpu);
  IterationCostModel m(ds, base_layout(ds, 8, 16), 8, kernels, 0.0);
  // (512 + 64) elements * 2 B, replicated on every TP rank.
  EXPECT_DOUBLE_EQ(m.layout().groups[0].device_bytes_per_token(), 576.0 * 2);
}


TEST(IterationCostMoe, MixtralDecodeReadsOnlyTheExpertsItRoutesTo) {
  // Mixtral-8x7B: h = 4096, 8 experts of width 14336, top-2; one token touches E(1 - (1 - k/E)^T) = 2 experts.
  const LlmSpec& mx = Catalog::builtin().model("mixtral-8x7b", "test");
  const GpuSpec gpu = round_gpu();
  const RooflineCostModel kernels(ideal(), gpu);
  IterationCostModel m(mx, base_layout(mx, 1, 16), 1, kernels, 0.0);
  const IterationCost c = price(m, std::vector<SeqWork>{{99, 99, 1}}, 1);
  const double per_expert_weights = 3.0 * 4096 * 14336 * 2;  // gate, up, down in bf16
  const double activations = 1.0 * 2 * (2.0 * 4096 + 3.0 * 14336) * 2;
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmMoeExperts)].bytes, 32.0 * (2 * per_expert_weights + activations));
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmMoeExperts)].flops, 32.0 * 2 * 1 * 2 * 3 * 4096.0 * 14336);
  // The router: a 4096 x 8 GEMM per layer.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kGemmMoeRouter)].flops, 32.0 * 2 * 4096 * 8);
}

TEST(IterationCostMla, DecodeAttentionOverTheLatent) {
  // DeepSeek-V3 on 8 GPUs: 16 query heads per GPU; absorbed decode attends with 576-wide keys and 512-wide values:
  // 2*16*576 + 2*16*512 FLOPs per cached token per layer; bytes 576 * 2 per token per layer.
  const LlmSpec& ds = Catalog::builtin().model("deepseek-v3", "test");
  const GpuSpec gpu = round_gpu();
  const RooflineCostModel kernels(ideal(), gpu);
  IterationCostModel m(ds, base_layout(ds, 8, 16), 8, kernels, 0.0);
  const IterationCost c = price(m, std::vector<SeqWork>{{999, 999, 1}}, 1);
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionDecode)].flops, 61.0 * 1000 * (2.0 * 16 * 576 + 2.0 * 16 * 512));
  // q/o per token: 16 heads x (512 + 64 + 512) x 2 B.
  EXPECT_DOUBLE_EQ(c.ops[size_t(OpId::kAttentionDecode)].bytes, 61.0 * (1000 * 1152.0 + 16 * 1088 * 2.0));
}

}  // namespace
}  // namespace kvsim
