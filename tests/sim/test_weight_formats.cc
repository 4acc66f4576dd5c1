// Weight formats (models/spec/weight_format.h, scenario model_weights.format): the bytes they take, the KV pool
// they leave, and what their GEMMs pay, by hand on a round GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine_fixture.h"
#include "models/cost/impl/roofline.h"
#include "models/cost/iteration_cost_model.h"
#include "models/kv/kv_layout.h"
#include "models/spec/catalog.h"
#include "models/spec/weight_format.h"
#include "sim/config/scenario.h"
#include "tests/common/error_of.h"
#include "tests/sim/round_gpu.h"

namespace kvsim {
namespace {

using testing::ideal;
using testing::round_gpu;

LlmSpec formatted(const std::string& name) {
  LlmSpec m = Catalog::builtin().model("llama-3.1-8b", "test");
  apply_weight_format(m, name, weight_formats().get(name, "test").factory);
  return m;
}

TEST(WeightFormats, StoredBytesByHand) {
  const LlmSpec bf16 = formatted("bf16");
  const double emb = bf16.embedding_parameter_count();  // 128256 x 4096, untied: twice
  EXPECT_DOUBLE_EQ(emb, 2.0 * 128256 * 4096);
  const double linear = bf16.parameter_count() - emb;
  EXPECT_DOUBLE_EQ(bf16.weight_bytes(), 2.0 * bf16.parameter_count());
  EXPECT_DOUBLE_EQ(formatted("fp8").weight_bytes(), linear * 1.0 + emb * 2.0);
  EXPECT_DOUBLE_EQ(formatted("int4-awq").weight_bytes(), linear * 4.25 / 8 + emb * 2.0);
  // DFloat11: every weight at 11 bits, 68.75 % of bf16 (the paper measures 67.8 % for Llama 3.1 8B: its Huffman
  // code averages a little under 11 bits).
  EXPECT_DOUBLE_EQ(formatted("dfloat11").weight_bytes() / bf16.weight_bytes(), 11.0 / 16);
}

// Every byte a format saves on a GPU's weights goes to its KV pool, exactly.
TEST(WeightFormats, TheKvPoolGrowsByTheWeightsSavedBytes) {
  nlohmann::json doc = testing::base_scenario(testing::write_trace("weights", {{0, 100, 10}}));
  for (const int tp : {1, 2}) {
    doc["hardware"]["tensor_parallel"] = tp;
    doc.erase("model_weights");
    const PreparedRun base = prepare_run(doc, ".");
    for (const char* f : {"bf16", "fp8", "int4-awq", "dfloat11"}) {
      doc["model_weights"] = {{"format", f}};
      const PreparedRun run = prepare_run(doc, ".");
      const double saved = base.capacity.weight_bytes - run.capacity.weight_bytes;
      EXPECT_NEAR(static_cast<double>(run.capacity.kv_bytes - base.capacity.kv_bytes), saved, 1.0) << f << " " << tp;
      EXPECT_DOUBLE_EQ(run.capacity.weight_bytes, run.model->weight_bytes() / tp) << f;
      if (std::string(f) != "bf16") {
        EXPECT_GT(saved, 0) << f;
        EXPECT_EQ(run.resolved["model_weights"]["format"], f);
      }
    }
  }
  doc["model_weights"] = {{"format", "int3"}};
  std::string err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("model_weights.format"), std::string::npos) << err;
  EXPECT_NE(err.find("int4-awq"), std::string::npos) << err;  // the valid names
  doc["model_weights"] = {{"format", "fp8"}, {"group", 64}};
  err = testing::error_of([&] { prepare_run(doc, "."); });
  EXPECT_NE(err.find("model_weights.group"), std::string::npos) << err;
}

class WeightGemms : public ::testing::Test {
 protected:
  IterationCost price(const LlmSpec& m, const GpuSpec& gpu, const std::vector<SeqWork>& work) {
    const RooflineCostModel kernels(ideal(), gpu);
    const IterationCostModel model(m, base_layout(m, 1, 16), 1, kernels, 0.0);
    IterationShape s;
    s.work = work;
    s.sampled_sequences = static_cast<int>(work.size());
    IterationCost c;
    model.price(s, c);
    return c;
  }
  static double at(const IterationCost& c, OpId id) { return c.ops[static_cast<std::size_t>(id)].seconds; }
  static double bytes(const IterationCost& c, OpId id) { return c.ops[static_cast<std::size_t>(id)].bytes; }
};

// A decode step is weight-bound: the MLP GEMMs read 4.25 / 16 of the bf16 bytes under int4-awq (activations
// aside); its dequantization is one 64-row tile of 1 CUDA-core instruction per weight.
TEST_F(WeightGemms, Int4DecodeReadsAQuarterOfTheWeightsAndDequantizesOnce) {
  const GpuSpec gpu = round_gpu();
  const std::vector<SeqWork> decode{{999, 999, 1}};
  const IterationCost b = price(formatted("bf16"), gpu, decode);
  const IterationCost q = price(formatted("int4-awq"), gpu, decode);
  // gemm.mlp per layer: 4096 x 28672 and 14336 x 4096 weights, one row of activations.
  const double weights = 4096.0 * 28672 + 14336.0 * 4096, acts = (4096.0 + 28672 + 14336 + 4096) * 2;
  EXPECT_DOUBLE_EQ(bytes(b, OpId::kGemmMlp), 32 * (weights * 2 + acts));
  EXPECT_DOUBLE_EQ(bytes(q, OpId::kGemmMlp), 32 * (weights * 4.25 / 8 + acts));
  // Memory-bound at 1 TB/s: dequantization (weights x 1 / 5e12 lanes/s) hides under the read.
  EXPECT_DOUBLE_EQ(at(q, OpId::kGemmMlp), 32 * (weights * 4.25 / 8 + acts) / 1e12);
  // The LM head stays 16-bit.
  EXPECT_DOUBLE_EQ(bytes(q, OpId::kGemmLmHead), bytes(b, OpId::kGemmLmHead));
  EXPECT_LT(q.seconds, 0.4 * b.seconds);
}

// A long prefill is compute-bound: FP8 GEMMs at the card's FP8 rate (twice bf16 here), or at bf16 on a card
// without FP8; int4 pays its dequantization once per 64-row tile on the CUDA cores.
TEST_F(WeightGemms, PrefillComputeFollowsTheFormat) {
  GpuSpec gpu = round_gpu();
  const std::vector<SeqWork> prefill{{8192, 0, 8192}};
  const double flops = 2.0 * 8192 * (4096.0 * 28672 + 14336.0 * 4096) * 32;  // gemm.mlp
  const IterationCost b = price(formatted("bf16"), gpu, prefill);
  EXPECT_DOUBLE_EQ(at(b, OpId::kGemmMlp), flops / 1e15);
  const IterationCost no_fp8 = price(formatted("fp8"), gpu, prefill);
  EXPECT_DOUBLE_EQ(at(no_fp8, OpId::kGemmMlp), flops / 1e15);
  gpu.dense_flops["fp8"] = 2e15;
  const IterationCost fp8 = price(formatted("fp8"), gpu, prefill);
  EXPECT_DOUBLE_EQ(at(fp8, OpId::kGemmMlp), flops / 2e15);
  const IterationCost q = price(formatted("int4-awq"), gpu, prefill);
  const double dequant = 32 * (4096.0 * 28672 + 14336.0 * 4096) * (8192 / 64) * 1.0 / (10e12 / 2);
  EXPECT_DOUBLE_EQ(at(q, OpId::kGemmMlp), flops / 1e15 + dequant);
}

// DFloat11 decodes every weight once per forward pass: read 11 bits, write 16, 8 CUDA-core instructions each;
// its GEMMs then read bf16, so a decode step costs the bf16 step plus the decompression.
TEST_F(WeightGemms, DFloat11DecompressesEveryWeightEachPass) {
  const GpuSpec gpu = round_gpu();
  const LlmSpec df = formatted("dfloat11");
  const std::vector<SeqWork> decode{{999, 999, 1}};
  const IterationCost b = price(formatted("bf16"), gpu, decode);
  const IterationCost d = price(df, gpu, decode);
  const double params = df.parameter_count();
  EXPECT_DOUBLE_EQ(bytes(d, OpId::kWeightDecompress), params * (11.0 / 8 + 2));
  const double decompress = std::max(params * (11.0 / 8 + 2) / 1e12, params * 8 / 5e12);
  EXPECT_DOUBLE_EQ(at(d, OpId::kWeightDecompress), decompress);
  EXPECT_DOUBLE_EQ(bytes(d, OpId::kGemmMlp), bytes(b, OpId::kGemmMlp));
  EXPECT_NEAR(d.seconds, b.seconds + decompress, 1e-12);
  // No work, no pass: an empty step decompresses nothing.
  const IterationCost none = price(df, gpu, {});
  EXPECT_EQ(none.present[static_cast<std::size_t>(OpId::kWeightDecompress)], 0);
}

}  // namespace
}  // namespace kvsim
