// Strict scenario reading: the reference scenario of DESIGN.md §4.1 is accepted as written; typos, unknown names
// and impossible configurations are rejected with messages that name the key and list what is valid.
#include <gtest/gtest.h>

#include "models/cost/single_op.h"
#include "sim/config/json_input.h"
#include "tests/common/error_of.h"
#include "sim/config/scenario.h"
#include "sim/config/variants.h"

#include <filesystem>
#include <fstream>
#include <set>

namespace kvsim {
namespace {

nlohmann::json reference() {
  return nlohmann::json::parse(R"({
    "model": "llama-3.1-8b",
    "hardware": {"gpu": "h100-sxm", "num_gpus": 1, "tensor_parallel": 1},
    "engine": {"scheduler": "vllm-v1", "max_num_batched_tokens": 8192, "max_num_seqs": 256, "block_size": 16,
               "gpu_memory_utilization": 0.9, "preemption": "recompute", "prefix_caching": false},
    "kv": {"strategy": "full"},
    "workload": {"trace": {"path": ")" KVSIM_SHARED_DIR R"(/traces/azure_llm_2023/AzureLLMInferenceTrace_conv.csv",
                           "format": "azure-2023"}, "max_requests": null, "time_scale": 1.0},
    "cost_model": {"backend": "roofline"},
    "seed": 1
  })");
}

std::string error_of(const nlohmann::json& doc) {
  return testing::error_of([&] { prepare_run(doc, "."); });
}

TEST(Scenario, AcceptsTheReferenceScenarioAsWritten) {
  PreparedRun run = prepare_run(reference(), ".");
  EXPECT_EQ(run.model->name, "llama-3.1-8b");
  EXPECT_EQ(run.scheduler_name, "vllm-v1");
  // Llama-3.1-8B on an H100 at 0.9: roughly 54 GiB of KV at 128 KiB per token = ~440k tokens.
  EXPECT_GT(run.capacity.capacity_tokens(), 400000);
  EXPECT_LT(run.capacity.capacity_tokens(), 480000);
  EXPECT_EQ(run.resolved["engine"]["max_num_seqs"], 256);
}

TEST(Scenario, AModelCanBeAHuggingFaceConfigBesideTheScenario) {
  // `model` as a path relative to the scenario's folder: the catalog card written back as a file, and a Hugging Face
  // config of the same model, give the same KV capacity as the catalog name; the written scenario records the file
  // by its absolute path.
  const auto dir = std::filesystem::temp_directory_path() / "kvsim-scenario-model";
  std::filesystem::create_directories(dir / "Llama-3.1-8B");
  std::ofstream(dir / "Llama-3.1-8B" / "config.json") << R"({"architectures": ["LlamaForCausalLM"],
      "hidden_size": 4096, "intermediate_size": 14336, "max_position_embeddings": 131072, "num_attention_heads": 32,
      "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": false,
      "torch_dtype": "bfloat16"})";
  const PreparedRun catalog = prepare_run(reference(), ".");
  nlohmann::json doc = reference();
  doc["model"] = "Llama-3.1-8B/config.json";
  const PreparedRun hf = prepare_run(doc, dir);
  EXPECT_EQ(hf.model->name, "llama-3.1-8b");
  EXPECT_EQ(hf.capacity.kv_bytes, catalog.capacity.kv_bytes);
  EXPECT_EQ(hf.resolved["model"], (dir / "Llama-3.1-8B" / "config.json").string());
  doc["model"] = "Missing/config.json";
  EXPECT_NE(testing::error_of([&] { prepare_run(doc, dir); }).find("Missing/config.json"), std::string::npos);
}

TEST(Scenario, WithoutABackendTheGpusShippedCalibrationPricesTheRun) {
  // No backend named: the calibrated model with kvsim's calibration of the GPU where one ships, else the roofline;
  // the resolved scenario says which and why, and runs again as written.
  nlohmann::json doc = reference();
  doc.erase("cost_model");
  PreparedRun h100 = prepare_run(doc, ".");
  const nlohmann::json& cm = h100.resolved["cost_model"];
  EXPECT_EQ(cm["backend"], "calibrated");
  EXPECT_EQ(cm["calibration"], "builtin");
  EXPECT_EQ(cm["about"]["fitted_on"], "h100-sxm aiconfigurator vllm 0.24.0");
  EXPECT_TRUE(cm["about"]["provenance"].contains("files_sha256"));
  EXPECT_EQ(cm["about"]["chosen_by"].get<std::string>().rfind("default", 0), 0u);
  KernelOp gemm = gemm_op(32, 4096, 4096);
  EXPECT_EQ(h100.kernels->estimate(gemm).source, Source::kCalibrated);
  nlohmann::json again = doc;
  again["cost_model"] = cm;
  const PreparedRun rerun = prepare_run(again, ".");
  EXPECT_EQ(rerun.resolved["cost_model"]["backend"], "calibrated");
  EXPECT_EQ(rerun.resolved["cost_model"]["about"]["chosen_by"], "scenario");
  EXPECT_DOUBLE_EQ(rerun.kernels->estimate(gemm).seconds, h100.kernels->estimate(gemm).seconds);
  // `backend: calibrated` alone means the shipped calibration too.
  doc["cost_model"] = {{"backend", "calibrated"}};
  EXPECT_DOUBLE_EQ(prepare_run(doc, ".").kernels->estimate(gemm).seconds, h100.kernels->estimate(gemm).seconds);
  // No calibration ships for the L40S: the roofline, said so.
  doc.erase("cost_model");
  doc["hardware"]["gpu"] = "l40s";
  const PreparedRun l40s = prepare_run(doc, ".");
  EXPECT_EQ(l40s.resolved["cost_model"]["backend"], "roofline");
  EXPECT_NE(l40s.resolved["cost_model"]["about"]["chosen_by"].get<std::string>().find("no calibration"),
            std::string::npos);
  EXPECT_EQ(l40s.kernels->estimate(gemm).source, Source::kRoofline);
  // Asking for it there is an error naming the key and the GPUs that have one.
  doc["cost_model"] = {{"backend", "calibrated"}, {"calibration", "builtin"}};
  const std::string err = error_of(doc);
  EXPECT_NE(err.find("cost_model.calibration"), std::string::npos) << err;
  EXPECT_NE(err.find("l40s"), std::string::npos) << err;
  EXPECT_NE(err.find("h100-sxm"), std::string::npos) << err;
}

TEST(Scenario, NumGpuBlocksMustFitTheMemoryLeftByTheWeights) {
  // Llama-3.1-8B on an H100 at 0.9: 72 GiB - 14.96 GiB of weights leave room for 29,206 blocks of 2 MiB; more is an
  // error naming the key and the limit, unless a what-if GPU has the memory (hardware.memory_GiB).
  nlohmann::json doc = reference();
  doc["engine"]["num_gpu_blocks"] = 29206;
  EXPECT_EQ(prepare_run(doc, ".").capacity.kv_bytes, 29206LL * 2 * 1024 * 1024);
  doc["engine"]["num_gpu_blocks"] = 29207;
  const std::string e = error_of(doc);
  EXPECT_NE(e.find("engine.num_gpu_blocks"), std::string::npos) << e;
  EXPECT_NE(e.find("at most 29206 blocks"), std::string::npos) << e;
  doc["hardware"]["memory_GiB"] = 160;
  const PreparedRun big = prepare_run(doc, ".");
  EXPECT_EQ(big.capacity.kv_bytes, 29207LL * 2 * 1024 * 1024);
  EXPECT_EQ(big.resolved["hardware"]["memory_GiB"], 160);
  doc["hardware"]["memory_GiB"] = -1;
  EXPECT_NE(error_of(doc).find("hardware.memory_GiB"), std::string::npos);
}

TEST(Scenario, UnknownKeysAreErrorsListingValidKeys) {
  nlohmann::json doc = reference();
  doc["engine"]["max_num_seq"] = 12;
  const std::string e = error_of(doc);
  EXPECT_NE(e.find("engine.max_num_seq"), std::string::npos) << e;
  EXPECT_NE(e.find("max_num_seqs"), std::string::npos) << e;
  doc = reference();
  doc["modle"] = "x";
  EXPECT_NE(error_of(doc).find("'modle'"), std::string::npos);
}

TEST(Scenario, UnknownNamesListTheAvailableOnes) {
  nlohmann::json doc = reference();
  doc["model"] = "llama-9";
  EXPECT_NE(error_of(doc).find("llama-3.1-8b"), std::string::npos);
  doc = reference();
  doc["hardware"]["gpu"] = "h300";
  EXPECT_NE(error_of(doc).find("h100-sxm"), std::string::npos);
  doc = reference();
  doc["engine"]["scheduler"] = "lottery";
  EXPECT_NE(error_of(doc).find("prefill-first"), std::string::npos);
  doc = reference();
  doc["cost_model"]["backend"] = "magic";
  EXPECT_NE(error_of(doc).find("roofline"), std::string::npos);
  doc = reference();
  doc["engine"]["preemption"] = "drop";
  EXPECT_NE(error_of(doc).find("recompute, swap"), std::string::npos);
}

TEST(Scenario, WrongTypesAndRangesNameTheKey) {
  nlohmann::json doc = reference();
  doc["engine"]["max_num_seqs"] = "many";
  EXPECT_NE(error_of(doc).find("engine.max_num_seqs: expected an integer"), std::string::npos);
  doc = reference();
  doc["engine"]["gpu_memory_utilization"] = 1.5;
  EXPECT_NE(error_of(doc).find("engine.gpu_memory_utilization"), std::string::npos);
}

TEST(Scenario, WeightsThatDoNotFitAreRejected) {
  nlohmann::json doc = reference();
  doc["model"] = "llama-3.1-405b";
  const std::string e = error_of(doc);
  EXPECT_NE(e.find("does not fit"), std::string::npos) << e;
  EXPECT_NE(e.find("tensor_parallel"), std::string::npos) << e;
}

TEST(Scenario, MalformedJsonGivesLineAndColumn) {
  try {
    parse_json_text("{\n  \"model\": \"x\",\n  \"seed\": ,\n}", "s.json");
    FAIL();
  } catch (const KvsimError& e) {
    EXPECT_NE(std::string(e.what()).find("s.json:3:"), std::string::npos) << e.what();
  }
}

TEST(Scenario, OverridesCreateAndReplaceKeys) {
  nlohmann::json doc = reference();
  apply_override(doc, "engine.max_num_seqs=64");
  apply_override(doc, "engine.scheduler=prefill-first");
  apply_override(doc, "output.timeline_interval_s=0.5");
  EXPECT_EQ(doc["engine"]["max_num_seqs"], 64);
  EXPECT_EQ(doc["engine"]["scheduler"], "prefill-first");
  EXPECT_EQ(doc["output"]["timeline_interval_s"], 0.5);
  EXPECT_THROW(apply_override(doc, "novalue"), KvsimError);
  EXPECT_THROW(apply_override(doc, "model.x=1"), KvsimError);  // model is a string, not an object
}

TEST(Scenario, DemoIsAComparisonOfAtLeastSixValidStrategies) {
  const std::vector<Variant> variants = expand_variants(demo_scenario());
  EXPECT_GE(variants.size(), 6u);
  std::set<std::string> labels;
  for (const Variant& v : variants) {
    PreparedRun run = prepare_run(v.scenario, ".");
    EXPECT_EQ(run.gpu->name, "h100-sxm");
    labels.insert(run.strategy_label);
  }
  EXPECT_EQ(labels.size(), variants.size()) << "every variant uses a different strategy";
}

TEST(Scenario, VariantsMergeOverTheBase) {
  nlohmann::json doc = reference();
  doc["variants"] = nlohmann::json::parse(R"([{"name": "a"}, {"name": "b", "kv": {"strategy": "fp8"},
                                               "engine": {"max_num_seqs": 8}}])");
  const std::vector<Variant> v = expand_variants(doc);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].scenario["kv"]["strategy"], "full");
  EXPECT_EQ(v[1].scenario["kv"]["strategy"], "fp8");
  EXPECT_EQ(v[1].scenario["engine"]["max_num_seqs"], 8);
  EXPECT_EQ(v[1].scenario["engine"]["block_size"], 16);  // untouched keys stay
  EXPECT_FALSE(v[1].scenario.contains("variants"));
  EXPECT_NE(error_of(doc).find("kvsim compare"), std::string::npos);
  doc["variants"][1]["name"] = "a";
  EXPECT_NE(testing::error_of([&] { expand_variants(doc); }).find("duplicate"), std::string::npos);
  doc["variants"][1]["name"] = "../x";
  EXPECT_NE(testing::error_of([&] { expand_variants(doc); }).find("folder"), std::string::npos);
}

TEST(Scenario, KvSectionAcceptsEveryForm) {
  for (const char* kv : {R"({"strategy": "snapkv", "budget_tokens": 1024})",
                         R"({"strategy": "snapkv:budget_tokens=1024+kivi-2"})",
                         R"({"strategy": [{"name": "snapkv", "budget_tokens": 1024}, "kivi-2"]})"}) {
    nlohmann::json doc = reference();
    doc["kv"] = nlohmann::json::parse(kv);
    PreparedRun run = prepare_run(doc, ".");
    EXPECT_EQ(run.resolved["kv"]["strategy"][0]["budget_tokens"], 1024) << kv;
  }
  nlohmann::json doc = reference();
  doc["kv"] = nlohmann::json::parse(R"({"strategy": "snapkv+kivi-2", "budget_tokens": 1024})");
  EXPECT_NE(error_of(doc).find("composition"), std::string::npos);
  doc["kv"] = nlohmann::json::parse(R"({"strategy": "nope"})");
  EXPECT_NE(error_of(doc).find("snapkv"), std::string::npos);
}

}  // namespace
}  // namespace kvsim
