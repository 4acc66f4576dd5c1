// GPU tests of kernels/: every CUDA kernel against its CPU reference (kernels/reference) on random inputs, with
// outputs poisoned (NaN) before each launch so that unwritten elements fail. Every test calls REQUIRE_GPU() first:
// without a usable device (cudaGetDeviceCount fails or reports 0) it is reported as SKIPPED, never as passed.
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/reference/kernels_ref.h"
#include "kernels/reference/numeric.h"
#include "tests/kernels/kernel_test_util.h"

namespace kvsim::kernels {
namespace {

using testing::CacheConfig;
using testing::DecodeProblem;
using testing::HostCache;
using testing::RangeSpec;

bool gpu_available(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    *why = cudaGetErrorString(e);
    return false;
  }
  if (n == 0) {
    *why = "cudaGetDeviceCount reports 0 devices";
    return false;
  }
  return true;
}

#define REQUIRE_GPU()                                                                    \
  do {                                                                                   \
    std::string why_;                                                                    \
    if (!gpu_available(&why_)) GTEST_SKIP() << "no usable CUDA device (" << why_ << ")"; \
  } while (0)

#define CUDA_OK(expr) ASSERT_EQ(cudaSuccess, (expr)) << #expr << ": " << cudaGetErrorString(cudaGetLastError())

/// Device copy of a host vector (RAII); empty vectors give a null pointer.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  template <class T>
  explicit DeviceBuffer(const std::vector<T>& host) : bytes_(host.size() * sizeof(T)) {
    if (bytes_ == 0) return;
    if (cudaMalloc(&ptr_, bytes_) != cudaSuccess) throw std::runtime_error("cudaMalloc failed");
    if (cudaMemcpy(ptr_, host.data(), bytes_, cudaMemcpyHostToDevice) != cudaSuccess) {
      throw std::runtime_error("cudaMemcpy H2D failed");
    }
  }
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes_ != 0 && cudaMalloc(&ptr_, bytes_) != cudaSuccess) throw std::runtime_error("cudaMalloc failed");
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  ~DeviceBuffer() { cudaFree(ptr_); }
  void* get() const { return ptr_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  template <class T>
  std::vector<T> download() const {
    std::vector<T> out(bytes_ / sizeof(T));
    if (bytes_ != 0 && cudaMemcpy(out.data(), ptr_, bytes_, cudaMemcpyDeviceToHost) != cudaSuccess) {
      throw std::runtime_error("cudaMemcpy D2H failed");
    }
    return out;
  }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

/// A host cache mirrored on the device; kv points to the device buffers.
struct DeviceCache {
  DeviceBuffer k_data, v_data, k_meta, v_meta, res_k, res_v, block_table;
  PagedKvCache kv;
  explicit DeviceCache(const HostCache& hc)
      : k_data(hc.k_data),
        v_data(hc.v_data),
        k_meta(hc.k_meta),
        v_meta(hc.v_meta),
        res_k(hc.res_k),
        res_v(hc.res_v),
        block_table(hc.block_table),
        kv(hc.kv) {
    kv.k_data = k_data.get();
    kv.v_data = v_data.get();
    kv.k_meta = k_meta.get();
    kv.v_meta = v_meta.get();
    kv.residual_k = res_k.get();
    kv.residual_v = res_v.get();
    kv.block_table = block_table.as<std::int32_t>();
  }
};

int num_sms() {
  int dev = 0, sms = 0;
  cudaGetDevice(&dev);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
  return sms;
}

// ---- decode attention --------------------------------------------------------------------------------------------

struct GpuAttnCase {
  KvFormat format;
  DType dtype;
  int head_dim;
  int group;
  TokenRange range;
  std::vector<int> lens;
  int force_splits;  // 0 = the plan decides (with the device's SM count)
};

class DecodeAttentionGpu : public ::testing::TestWithParam<GpuAttnCase> {};

TEST_P(DecodeAttentionGpu, MatchesTheCpuReference) {
  REQUIRE_GPU();
  const GpuAttnCase gc = GetParam();
  std::mt19937 rng(1000 + gc.head_dim * 3 + gc.group * 17 + static_cast<int>(gc.format) * 101 +
                   static_cast<int>(gc.range) * 7 + gc.force_splits);
  CacheConfig cfg;
  cfg.format = gc.format;
  cfg.dtype = gc.dtype;
  cfg.num_kv_heads = 2;
  cfg.head_dim = gc.head_dim;
  cfg.page_size = 16;
  cfg.residual_tokens = 40;
  cfg.seq_lens = gc.lens;
  DecodeProblem pr =
      testing::random_decode_problem(cfg, gc.group, gc.range, /*window=*/300, /*sparse_capacity=*/400, rng);
  const std::vector<std::uint16_t> poisoned_o = pr.o;
  const std::vector<float> poisoned_lse = pr.lse;
  ref::decode_attention_ref(pr.p);

  DeviceCache dc(pr.cache);
  DeviceBuffer q(pr.q), o(poisoned_o), lse(poisoned_lse), lens(pr.seq_lens);
  DeviceBuffer sparse_idx(pr.range.sparse_indices), sparse_cnt(pr.range.sparse_counts);
  DecodeAttentionParams p = pr.p;
  p.kv = dc.kv;
  p.q = q.get();
  p.o = o.get();
  p.lse = lse.as<float>();
  p.seq_lens = lens.as<std::int32_t>();
  if (p.range == TokenRange::kSparse) {
    p.sparse_indices = sparse_idx.as<std::int32_t>();
    p.sparse_counts = sparse_cnt.as<std::int32_t>();
  }
  DecodePlanOptions opt;
  opt.num_sms = num_sms();
  opt.target_ctas_per_sm = decode_attention_ctas_per_sm(p);
  ASSERT_GT(opt.target_ctas_per_sm, 0);
  opt.force_num_splits = gc.force_splits;
  const DecodePlan plan = plan_decode_attention(p, opt);
  DeviceBuffer workspace(plan.workspace_bytes);
  CUDA_OK(decode_attention(p, plan, workspace.get(), plan.workspace_bytes, nullptr));
  CUDA_OK(cudaDeviceSynchronize());
  const std::vector<std::uint16_t> got = o.download<std::uint16_t>();
  const std::vector<float> got_lse = lse.download<float>();

  // bf16: 8 significant bits, fp16: 11; both sides round a float result once, in different summation orders.
  const double rtol = gc.dtype == DType::kBF16 ? 1.6e-2 : 2e-3;
  double atol = gc.dtype == DType::kBF16 ? 4e-3 : 5e-4;
  if (is_group_quantized(gc.format)) {
    // The kernel rounds each dequantized KIVI value (code * scale + zero) to fp16 once, the reference keeps it in
    // float: an output, a weighted mean of values, moves by at most 2^-11 of the largest value it averages.
    double v_max = 0;
    std::vector<double> k_row, v_row;
    for (int b = 0; b < pr.cache.batch(); ++b) {
      for (int h = 0; h < pr.cache.kv.num_kv_heads; ++h) {
        for (int pos = 0; pos < pr.cache.cfg.seq_lens[b]; ++pos) {
          testing::decode_token_f64(pr.cache, b, h, pos, k_row, v_row);
          for (double x : v_row) v_max = std::max(v_max, std::fabs(x));
        }
      }
    }
    atol += std::ldexp(v_max, -11);
  }
  double err2 = 0, ref2 = 0;
  int bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = ref::act_to_float(gc.dtype, got[i]), r = ref::act_to_float(gc.dtype, pr.o[i]);
    ASSERT_FALSE(std::isnan(g)) << "output element " << i << " not written (or NaN)";
    if (std::fabs(g - r) > atol + rtol * std::fabs(r) && bad++ < 5) {
      ADD_FAILURE() << "element " << i << ": gpu " << g << " vs reference " << r;
    }
    err2 += (g - r) * (g - r);
    ref2 += r * r;
  }
  EXPECT_EQ(bad, 0) << "elements outside tolerance (plan: splits " << plan.num_splits << ", tokens/split "
                    << plan.tokens_per_split << ", group slots " << plan.group_slots << ")";
  if (ref2 > 0) EXPECT_LT(std::sqrt(err2 / ref2), gc.dtype == DType::kBF16 ? 8e-3 : 1e-3);
  for (std::size_t r = 0; r < got_lse.size(); ++r) {
    if (std::isinf(pr.lse[r])) {
      EXPECT_TRUE(std::isinf(got_lse[r]) && got_lse[r] < 0) << "row " << r << ": " << got_lse[r];
    } else {
      EXPECT_NEAR(got_lse[r], pr.lse[r], 1e-3 * (1 + std::fabs(pr.lse[r]))) << "row " << r;
    }
  }
}

std::vector<GpuAttnCase> gpu_attention_cases() {
  std::vector<GpuAttnCase> c;
  const std::vector<int> lens = {1, 45, 211, 0, 997, 64};
  for (DType dt : {DType::kBF16, DType::kFP16}) {
    for (int hd : {64, 128}) {
      for (int g : {1, 2, 4, 8}) c.push_back({KvFormat::kNative, dt, hd, g, TokenRange::kFull, lens, 0});
    }
  }
  for (int g : {3, 6, 12}) c.push_back({KvFormat::kNative, DType::kBF16, 128, g, TokenRange::kFull, lens, 0});
  c.push_back({KvFormat::kNative, DType::kBF16, 128, 4, TokenRange::kFull, lens, 5});             // forced splits
  c.push_back({KvFormat::kNative, DType::kFP16, 64, 8, TokenRange::kFull, {4000, 3001, 17}, 0});  // long: split-K
  c.push_back({KvFormat::kNative, DType::kBF16, 128, 4, TokenRange::kWindow, {1000, 200, 305}, 0});
  c.push_back({KvFormat::kNative, DType::kBF16, 128, 8, TokenRange::kSparse, {1000, 200, 5}, 3});
  for (KvFormat f : {KvFormat::kFP8E4M3, KvFormat::kINT8, KvFormat::kINT4, KvFormat::kINT2}) {
    c.push_back({f, DType::kBF16, 128, 4, TokenRange::kFull, lens, 0});
    c.push_back({f, DType::kFP16, 64, 8, TokenRange::kWindow, {1000, 200, 305}, 0});
    c.push_back({f, DType::kBF16, 64, 1, TokenRange::kSparse, {1000, 200, 5}, 0});
    c.push_back({f, DType::kFP16, 128, 2, TokenRange::kFull, {2500, 33}, 4});
  }
  return c;
}

INSTANTIATE_TEST_SUITE_P(Shapes, DecodeAttentionGpu, ::testing::ValuesIn(gpu_attention_cases()), [](const auto& info) {
  const GpuAttnCase& c = info.param;
  return std::string(to_string(c.format)) + "_" + to_string(c.dtype) + "_hd" + std::to_string(c.head_dim) + "_g" +
         std::to_string(c.group) + "_" + to_string(c.range) + "_n" + std::to_string(c.lens.size()) + "_s" +
         std::to_string(c.force_splits) + "_" + std::to_string(info.index);
});

TEST(DecodeAttentionGpuChecks, UnsupportedShapesThrowBeforeLaunching) {
  REQUIRE_GPU();
  DecodeAttentionParams p;
  p.kv.head_dim = 96;
  EXPECT_THROW(decode_attention(p, DecodePlan{}, nullptr, 0, nullptr), std::invalid_argument);
}

// ---- quantize-and-append -------------------------------------------------------------------------------------

class AppendKvGpu : public ::testing::TestWithParam<std::pair<KvFormat, DType>> {};

// From the same cache state, the same appends on the GPU and the CPU give identical bytes in every buffer.
TEST_P(AppendKvGpu, WritesTheSameBytesAsTheReference) {
  REQUIRE_GPU();
  const auto [format, dtype] = GetParam();
  std::mt19937 rng(77 + static_cast<int>(format));
  CacheConfig cfg;
  cfg.format = format;
  cfg.dtype = dtype;
  cfg.num_kv_heads = 3;
  cfg.head_dim = 128;
  cfg.page_size = 16;
  cfg.v_group_size = 32;
  cfg.residual_tokens = 8;
  cfg.seq_lens = {0, 7, 40, 95};
  cfg.reserve_tokens = 40;
  HostCache hc = testing::make_cache(cfg, rng);
  DeviceCache dc(hc);
  const int batch = hc.batch(), n = batch * cfg.num_kv_heads * cfg.head_dim;
  for (int step = 0; step < 40; ++step) {
    std::vector<std::uint16_t> kn = testing::random_act(dtype, n, rng, 2.0f);
    std::vector<std::uint16_t> vn = testing::random_act(dtype, n, rng, 1.0f);
    std::vector<std::int32_t> pos(batch);
    for (int b = 0; b < batch; ++b) pos[b] = (b == 1 && step % 3 == 0) ? -1 : cfg.seq_lens[b] + step;
    KvAppendParams ap;
    ap.dtype = dtype;
    ap.kv = hc.kv;
    ap.k_new = kn.data();
    ap.v_new = vn.data();
    ap.positions = pos.data();
    ap.batch = batch;
    ref::append_kv_ref(ap);
    DeviceBuffer dk(kn), dv(vn), dp(pos);
    KvAppendParams dap = ap;
    dap.kv = dc.kv;
    dap.k_new = dk.get();
    dap.v_new = dv.get();
    dap.positions = dp.as<std::int32_t>();
    CUDA_OK(append_kv(dap, nullptr));
    CUDA_OK(cudaDeviceSynchronize());
  }
  auto same = [](const char* name, const std::vector<std::uint8_t>& want, const DeviceBuffer& buf) {
    const std::vector<std::uint8_t> got = buf.download<std::uint8_t>();
    ASSERT_EQ(got.size(), want.size()) << name;
    std::size_t diff = 0, first = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (got[i] != want[i] && diff++ == 0) first = i;
    }
    EXPECT_EQ(diff, 0u) << name << ": " << diff << " bytes differ, first at " << first << " (gpu " << int(got[first])
                        << ", reference " << int(want[first]) << ")";
  };
  same("k_data", hc.k_data, dc.k_data);
  same("v_data", hc.v_data, dc.v_data);
  same("k_meta", hc.k_meta, dc.k_meta);
  same("v_meta", hc.v_meta, dc.v_meta);
  same("residual_k", hc.res_k, dc.res_k);
  same("residual_v", hc.res_v, dc.res_v);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, AppendKvGpu,
    ::testing::Values(std::pair{KvFormat::kNative, DType::kBF16}, std::pair{KvFormat::kFP8E4M3, DType::kBF16},
                      std::pair{KvFormat::kFP8E4M3, DType::kFP16}, std::pair{KvFormat::kINT8, DType::kBF16},
                      std::pair{KvFormat::kINT4, DType::kBF16}, std::pair{KvFormat::kINT4, DType::kFP16},
                      std::pair{KvFormat::kINT2, DType::kBF16}),
    [](const auto& info) { return std::string(to_string(info.param.first)) + "_" + to_string(info.param.second); });

// The hardware FP8 conversion and the CPU encoder agree on every bf16 value in range.
__global__ void EncodeFp8Kernel(const float* x, std::uint8_t* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __nv_cvt_float_to_fp8(x[i], __NV_SATFINITE, __NV_E4M3);
}

TEST(Fp8Gpu, HardwareConversionMatchesTheCpuEncoderOnEveryBf16Value) {
  REQUIRE_GPU();
  std::vector<float> xs;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const float x = ref::bf16_to_float(static_cast<std::uint16_t>(b));
    if (!std::isnan(x) && std::fabs(x) < 1000.0f) xs.push_back(x);
  }
  DeviceBuffer dx(xs), out(xs.size());
  EncodeFp8Kernel<<<static_cast<unsigned>((xs.size() + 255) / 256), 256>>>(dx.as<float>(), out.as<std::uint8_t>(),
                                                                           static_cast<int>(xs.size()));
  CUDA_OK(cudaGetLastError());
  CUDA_OK(cudaDeviceSynchronize());
  const std::vector<std::uint8_t> got = out.download<std::uint8_t>();
  int bad = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (got[i] != ref::float_to_fp8e4m3(xs[i]) && bad++ < 5) {
      ADD_FAILURE() << "x=" << xs[i] << ": gpu " << int(got[i]) << " cpu " << int(ref::float_to_fp8e4m3(xs[i]));
    }
  }
  EXPECT_EQ(bad, 0);
}

// ---- page copies and swaps ------------------------------------------------------------------------------------

TEST(PageCopyGpu, GatherAndScatterMatchTheReference) {
  REQUIRE_GPU();
  std::mt19937 rng(9);
  for (std::int64_t page_bytes : {4096, 100}) {  // 16-byte path and byte path
    const int pages = 64, copies = 40;
    std::vector<std::uint8_t> src(pages * page_bytes), dst(pages * page_bytes);
    for (auto& x : src) x = static_cast<std::uint8_t>(rng());
    for (auto& x : dst) x = static_cast<std::uint8_t>(rng());
    std::vector<std::int32_t> s(pages), d(pages);
    std::iota(s.begin(), s.end(), 0);
    std::iota(d.begin(), d.end(), 0);
    std::shuffle(s.begin(), s.end(), rng);
    std::shuffle(d.begin(), d.end(), rng);
    s.resize(copies);
    d.resize(copies);
    DeviceBuffer ds(src), dd(dst), sp(s), dp(d);
    ref::copy_pages_ref({src.data(), dst.data(), s.data(), d.data(), copies, page_bytes});
    CUDA_OK(
        copy_pages({ds.get(), dd.get(), sp.as<std::int32_t>(), dp.as<std::int32_t>(), copies, page_bytes}, nullptr));
    CUDA_OK(cudaDeviceSynchronize());
    EXPECT_EQ(dd.download<std::uint8_t>(), dst) << "page_bytes " << page_bytes;
  }
}

TEST(PageCopyGpu, SwapOutAndInThroughPinnedMemoryRoundTrips) {
  REQUIRE_GPU();
  std::mt19937 rng(10);
  const int pages = 32;
  const std::int64_t page_bytes = 8192;
  std::vector<std::uint8_t> cache(pages * page_bytes);
  for (auto& x : cache) x = static_cast<std::uint8_t>(rng());
  DeviceBuffer dev(cache), dev2(cache.size());
  CUDA_OK(cudaMemset(dev2.get(), 0, cache.size()));
  void* pinned = nullptr;
  CUDA_OK(cudaMallocHost(&pinned, cache.size()));
  // Swap out pages {3,4,5, 9, 20,21} to host slots {0,1,2, 7, 3,4}, then back in to the same device pages.
  const std::vector<std::int32_t> dev_pages = {3, 4, 5, 9, 20, 21}, host_pages = {0, 1, 2, 7, 3, 4};
  cudaStream_t stream;
  CUDA_OK(cudaStreamCreate(&stream));
  CUDA_OK(copy_pages_async(dev.get(), pinned, dev_pages.data(), host_pages.data(), 6, page_bytes,
                           cudaMemcpyDeviceToHost, stream));
  CUDA_OK(copy_pages_async(pinned, dev2.get(), host_pages.data(), dev_pages.data(), 6, page_bytes,
                           cudaMemcpyHostToDevice, stream));
  CUDA_OK(cudaStreamSynchronize(stream));
  const auto* host = static_cast<const std::uint8_t*>(pinned);
  for (std::size_t i = 0; i < dev_pages.size(); ++i) {
    EXPECT_EQ(0, std::memcmp(host + host_pages[i] * page_bytes, cache.data() + dev_pages[i] * page_bytes, page_bytes));
  }
  const std::vector<std::uint8_t> back = dev2.download<std::uint8_t>();
  for (int pg = 0; pg < pages; ++pg) {
    const bool moved = std::find(dev_pages.begin(), dev_pages.end(), pg) != dev_pages.end();
    const bool equal = std::memcmp(back.data() + pg * page_bytes, cache.data() + pg * page_bytes, page_bytes) == 0;
    EXPECT_EQ(moved, equal) << "page " << pg;
  }
  cudaStreamDestroy(stream);
  cudaFreeHost(pinned);
}

}  // namespace
}  // namespace kvsim::kernels
