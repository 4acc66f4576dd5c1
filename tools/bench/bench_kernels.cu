// kvsim-profile: measures the kernels of kernels/ on a GPU with Google Benchmark and writes a kvsim profile.
//
//   kvsim-profile [--quick] [--out profile.json] [Google Benchmark flags, e.g. --benchmark_filter=decode]
//
// Timing: manual time from CUDA events around one launch; before each timed launch the L2 is made cold by writing
// a buffer of twice its size; a few untimed launches warm up first; each benchmark runs as repetitions whose
// median is reported (ReportAggregatesOnly). Counters: bytes (the fewest bytes the call must move: KV read once,
// metadata, q, o), GBps (achieved), copy_frac (GBps over the device-to-device copy bandwidth measured at start, read
// + write bytes counted, as in BM device_copy). --out writes the kvsim-profile-1 JSON that models/profile reads:
// decode points (full range, page 16) in "decode_attention"; every result, the GPU, driver, CUDA versions, clocks,
// the date and the command line in "provenance".
#include <benchmark/benchmark.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/kernels.h"

namespace kk = kvsim::kernels;

namespace {

#define CHECK_CUDA(expr)                                                                     \
  do {                                                                                       \
    const cudaError_t e_ = (expr);                                                           \
    if (e_ != cudaSuccess) {                                                                 \
      std::fprintf(stderr, "kvsim-profile: %s failed: %s\n", #expr, cudaGetErrorString(e_)); \
      std::exit(1);                                                                          \
    }                                                                                        \
  } while (0)

/// Device memory (RAII).
struct DeviceMem {
  void* ptr = nullptr;
  explicit DeviceMem(std::size_t bytes = 0) {
    if (bytes) CHECK_CUDA(cudaMalloc(&ptr, bytes));
  }
  DeviceMem(const DeviceMem&) = delete;
  DeviceMem& operator=(const DeviceMem&) = delete;
  ~DeviceMem() { cudaFree(ptr); }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr);
  }
};

template <class T>
std::unique_ptr<DeviceMem> upload(const std::vector<T>& v) {
  auto m = std::make_unique<DeviceMem>(v.size() * sizeof(T));
  if (!v.empty()) CHECK_CUDA(cudaMemcpy(m->ptr, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return m;
}

// ---- the GPU, the cold-L2 flush, the timing loop ------------------------------------------------------------

struct Gpu {
  cudaDeviceProp prop{};
  int device = 0;
  std::unique_ptr<DeviceMem> flush;  // 2 x L2
  std::size_t flush_bytes = 0;
  cudaEvent_t start{}, stop{};
  double copy_GBps = 0;  // device-to-device copy, read + write bytes
  unsigned flush_value = 0;
};
Gpu* gpu = nullptr;

void flush_l2() { cudaMemsetAsync(gpu->flush->ptr, static_cast<int>(++gpu->flush_value & 0xFF), gpu->flush_bytes); }

/// Runs `launch` under Google Benchmark with event timing and a cold L2 per iteration; sets bytes/GBps/copy_frac.
template <class Launch>
void run_timed(benchmark::State& st, double bytes, Launch&& launch) {
  for (int i = 0; i < 3; ++i) launch();  // warm-up: module load, first-touch, clocks
  if (cudaError_t e = cudaDeviceSynchronize(); e != cudaSuccess) {
    st.SkipWithError(cudaGetErrorString(e));
    return;
  }
  double total_s = 0;
  for (auto _ : st) {
    flush_l2();
    cudaEventRecord(gpu->start);
    launch();
    cudaEventRecord(gpu->stop);
    cudaEventSynchronize(gpu->stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, gpu->start, gpu->stop);
    st.SetIterationTime(ms * 1e-3);
    total_s += ms * 1e-3;
  }
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) {
    st.SkipWithError(cudaGetErrorString(e));
    return;
  }
  const double gbps = total_s > 0 ? bytes * static_cast<double>(st.iterations()) / total_s * 1e-9 : 0;
  st.counters["bytes"] = bytes;
  st.counters["GBps"] = gbps;
  st.counters["copy_frac"] = gpu->copy_GBps > 0 ? gbps / gpu->copy_GBps : 0;
}

__device__ std::uint32_t hash32(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return static_cast<std::uint32_t>(x);
}
/// Random 16-bit activations in [-1, 1) (bf16 or fp16 bit patterns), never zeros.
__global__ void FillActKernel(std::uint16_t* p, std::int64_t n, std::uint32_t seed, bool bf16) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += gridDim.x * std::int64_t{blockDim.x}) {
    const float f = (hash32(i * 2654435761ull + seed) >> 8) * (2.0f / 16777216.0f) - 1.0f;
    p[i] = bf16 ? __bfloat16_as_ushort(__float2bfloat16(f)) : __half_as_ushort(__float2half(f));
  }
}
/// Random bytes (codes); for fp8 the NaN codes are avoided.
__global__ void FillBytesKernel(std::uint8_t* p, std::int64_t n, std::uint32_t seed, bool fp8) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += gridDim.x * std::int64_t{blockDim.x}) {
    std::uint32_t b = hash32(i * 0x9E3779B97F4A7C15ull + seed) & 0xFF;
    if (fp8 && (b & 0x7F) == 0x7F) b ^= 1;
    p[i] = static_cast<std::uint8_t>(b);
  }
}
/// KIVI metadata words: fp16 (scale 0.05, zero -0.4).
__global__ void FillMetaKernel(std::uint32_t* p, std::int64_t n) {
  const std::uint32_t w =
      __half_as_ushort(__float2half(0.05f)) | (std::uint32_t{__half_as_ushort(__float2half(-0.4f))} << 16);
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += gridDim.x * std::int64_t{blockDim.x})
    p[i] = w;
}
void fill_act(void* p, std::int64_t bytes, std::uint32_t seed, bool bf16 = true) {
  if (bytes > 0) FillActKernel<<<1024, 256>>>(static_cast<std::uint16_t*>(p), bytes / 2, seed, bf16);
}
void fill_bytes(void* p, std::int64_t bytes, std::uint32_t seed, bool fp8) {
  if (bytes > 0) FillBytesKernel<<<1024, 256>>>(static_cast<std::uint8_t*>(p), bytes, seed, fp8);
}

// ---- decode attention -----------------------------------------------------------------------------------------

/// KV storage as the profile names it; quantized kinds take bf16 queries.
enum class KvKind { kBF16, kFP16, kFP8, kINT8, kINT4, kINT2 };
const char* kv_name(KvKind k) {
  static const char* names[] = {"bf16", "fp16", "fp8", "int8", "int4", "int2"};
  return names[static_cast<int>(k)];
}
kk::KvFormat kv_format(KvKind k) {
  switch (k) {
    case KvKind::kBF16:
    case KvKind::kFP16:
      return kk::KvFormat::kNative;
    case KvKind::kFP8:
      return kk::KvFormat::kFP8E4M3;
    case KvKind::kINT8:
      return kk::KvFormat::kINT8;
    case KvKind::kINT4:
      return kk::KvFormat::kINT4;
    case KvKind::kINT2:
      return kk::KvFormat::kINT2;
  }
  return kk::KvFormat::kNative;
}

struct DecodeConfig {
  int batch, ctx, q_heads, kv_heads, head_dim;
  KvKind kv;
  int page = 16;
  kk::TokenRange range = kk::TokenRange::kFull;
};
constexpr int kWindow = 4092, kSinks = 4, kTopK = 2048, kResidual = 128, kVGroup = 32;

std::string decode_name(const DecodeConfig& c) {
  return std::string("decode/kv:") + kv_name(c.kv) + "/batch:" + std::to_string(c.batch) +
         "/ctx:" + std::to_string(c.ctx) + "/qh:" + std::to_string(c.q_heads) + "/kvh:" + std::to_string(c.kv_heads) +
         "/hd:" + std::to_string(c.head_dim) + "/page:" + std::to_string(c.page) + "/range:" + kk::to_string(c.range);
}

/// Device buffers of one decode configuration (kept across repetitions of the same benchmark).
struct DecodeSetup {
  std::string name;
  std::unique_ptr<DeviceMem> k, v, km, vm, rk, rv, table, q, o, lens, sidx, scnt, work;
  kk::DecodeAttentionParams p;
  kk::DecodePlan plan;
  double bytes = 0;
};

std::unique_ptr<DecodeSetup> make_decode(const DecodeConfig& c) {
  auto s = std::make_unique<DecodeSetup>();
  s->name = decode_name(c);
  kk::PagedKvCache kv;
  kv.format = kv_format(c.kv);
  kv.page_size = c.page;
  kv.num_kv_heads = c.kv_heads;
  kv.head_dim = c.head_dim;
  kv.max_pages_per_seq = (c.ctx + c.page - 1) / c.page;
  kv.num_pages = c.batch * kv.max_pages_per_seq;
  kv.k_scale = kv.v_scale = 0.01f;
  kv.v_group_size = kVGroup;
  kv.residual_tokens = kResidual;
  const bool fp8 = kv.format == kk::KvFormat::kFP8E4M3, bf16 = c.kv != KvKind::kFP16;
  const std::int64_t data = kk::kv_data_bytes(kv);
  s->k = std::make_unique<DeviceMem>(data);
  s->v = std::make_unique<DeviceMem>(data);
  if (kv.format == kk::KvFormat::kNative) {
    fill_act(s->k->ptr, data, 1, bf16), fill_act(s->v->ptr, data, 2, bf16);
  } else {
    fill_bytes(s->k->ptr, data, 1, fp8), fill_bytes(s->v->ptr, data, 2, fp8);
  }
  kv.k_data = s->k->ptr;
  kv.v_data = s->v->ptr;
  if (kk::is_group_quantized(kv.format)) {
    s->km = std::make_unique<DeviceMem>(kk::kv_k_meta_bytes(kv));
    s->vm = std::make_unique<DeviceMem>(kk::kv_v_meta_bytes(kv));
    FillMetaKernel<<<1024, 256>>>(s->km->as<std::uint32_t>(), kk::kv_k_meta_bytes(kv) / 4);
    FillMetaKernel<<<1024, 256>>>(s->vm->as<std::uint32_t>(), kk::kv_v_meta_bytes(kv) / 4);
    s->rk = std::make_unique<DeviceMem>(kk::kv_residual_bytes(kv, c.batch));
    s->rv = std::make_unique<DeviceMem>(kk::kv_residual_bytes(kv, c.batch));
    fill_act(s->rk->ptr, kk::kv_residual_bytes(kv, c.batch), 3),
        fill_act(s->rv->ptr, kk::kv_residual_bytes(kv, c.batch), 4);
    kv.k_meta = s->km->ptr, kv.v_meta = s->vm->ptr, kv.residual_k = s->rk->ptr, kv.residual_v = s->rv->ptr;
  }
  // Pages in a random order, as a long-running server's pool would hand them out.
  std::vector<std::int32_t> table(kv.num_pages);
  std::iota(table.begin(), table.end(), 0);
  std::shuffle(table.begin(), table.end(), std::mt19937(7));
  s->table = upload(table);
  kv.block_table = s->table->as<std::int32_t>();

  kk::DecodeAttentionParams& p = s->p;
  p.dtype = c.kv == KvKind::kFP16 ? kk::DType::kFP16 : kk::DType::kBF16;
  p.kv = kv;
  p.batch = c.batch;
  p.num_q_heads = c.q_heads;
  p.max_seq_len = c.ctx;
  p.sm_scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  const std::int64_t qo = std::int64_t{c.batch} * c.q_heads * c.head_dim * 2;
  s->q = std::make_unique<DeviceMem>(qo);
  s->o = std::make_unique<DeviceMem>(qo);
  fill_act(s->q->ptr, qo, 5, bf16);
  p.q = s->q->ptr;
  p.o = s->o->ptr;
  s->lens = upload(std::vector<std::int32_t>(c.batch, c.ctx));
  p.seq_lens = s->lens->as<std::int32_t>();
  p.range = c.range;
  p.window_tokens = kWindow;
  p.sink_tokens = kSinks;

  // The positions each (sequence, kv head) reads, for the byte count (and the sparse lists).
  std::vector<std::vector<std::int32_t>> lists;
  std::mt19937 rng(11);
  const int rows = c.range == kk::TokenRange::kSparse ? c.batch * c.kv_heads : 1;
  for (int r = 0; r < rows; ++r) {
    std::vector<std::int32_t> pos;
    if (c.range == kk::TokenRange::kFull || (c.range == kk::TokenRange::kWindow && c.ctx <= kWindow + kSinks)) {
      pos.resize(c.ctx);
      std::iota(pos.begin(), pos.end(), 0);
    } else if (c.range == kk::TokenRange::kWindow) {
      for (int i = 0; i < kSinks; ++i) pos.push_back(i);
      for (int i = c.ctx - kWindow; i < c.ctx; ++i) pos.push_back(i);
    } else {
      std::vector<std::int32_t> all(c.ctx);
      std::iota(all.begin(), all.end(), 0);
      std::shuffle(all.begin(), all.end(), rng);
      pos.assign(all.begin(), all.begin() + std::min(kTopK, c.ctx));
      std::sort(pos.begin(), pos.end());
    }
    lists.push_back(std::move(pos));
  }
  if (c.range == kk::TokenRange::kSparse) {
    std::vector<std::int32_t> idx(std::size_t(rows) * kTopK, 0), cnt(rows);
    for (int r = 0; r < rows; ++r) {
      std::copy(lists[r].begin(), lists[r].end(), idx.begin() + std::int64_t{r} * kTopK);
      cnt[r] = static_cast<std::int32_t>(lists[r].size());
    }
    s->sidx = upload(idx);
    s->scnt = upload(cnt);
    p.sparse_indices = s->sidx->as<std::int32_t>();
    p.sparse_counts = s->scnt->as<std::int32_t>();
    p.sparse_capacity = kTopK;
  }
  const int qlen = kk::is_group_quantized(kv.format) ? kk::kivi_quantized_len(c.ctx, kResidual, c.page) : 0;
  const int row = c.head_dim * kk::kv_element_bits(kv.format) / 8;
  double per_kvh_total = 0;
  for (const auto& pos : lists) {
    double b = 0;
    std::int32_t last_page = -1;
    for (std::int32_t t : pos) {
      if (kk::is_group_quantized(kv.format) && t >= qlen) {
        b += 2.0 * c.head_dim * 2;  // residual K and V in bf16
        continue;
      }
      b += 2.0 * row;
      if (kk::is_group_quantized(kv.format)) {
        b += 4.0 * (c.head_dim / kVGroup);                   // value (scale, zero) per token
        if (t / c.page != last_page) b += 4.0 * c.head_dim;  // key (scale, zero) per channel per page
        last_page = t / c.page;
      }
    }
    per_kvh_total += b;
  }
  const double per_kvh = per_kvh_total / static_cast<double>(lists.size());
  s->bytes = per_kvh * c.batch * c.kv_heads + 2.0 * static_cast<double>(qo);

  kk::DecodePlanOptions opt;
  opt.num_sms = gpu->prop.multiProcessorCount;
  if (const int ctas = kk::decode_attention_ctas_per_sm(p); ctas > 0) opt.target_ctas_per_sm = ctas;
  s->plan = kk::plan_decode_attention(p, opt);
  s->work = std::make_unique<DeviceMem>(s->plan.workspace_bytes);
  CHECK_CUDA(cudaDeviceSynchronize());
  return s;
}

void bm_decode(benchmark::State& st, const DecodeConfig& c) {
  static std::unique_ptr<DecodeSetup> setup;  // one configuration's buffers at a time
  if (!setup || setup->name != decode_name(c)) {
    setup.reset();
    setup = make_decode(c);
  }
  DecodeSetup& s = *setup;
  run_timed(st, s.bytes, [&] { kk::decode_attention(s.p, s.plan, s.work->ptr, s.plan.workspace_bytes, nullptr); });
  st.counters["splits"] = s.plan.num_splits;
}

// ---- append, page copies, swaps, the copy reference ------------------------------------------------------------

/// Appends one token to `batch` sequences of `kv_heads` heads; `flush` picks a position that completes a KIVI group.
void bm_append(benchmark::State& st, int batch, int kv_heads, int head_dim, KvKind kind, bool flush) {
  kk::PagedKvCache kv;
  kv.format = kv_format(kind);
  kv.page_size = 16;
  kv.num_kv_heads = kv_heads;
  kv.head_dim = head_dim;
  kv.max_pages_per_seq = 32;
  kv.num_pages = batch * kv.max_pages_per_seq;
  kv.k_scale = kv.v_scale = 0.01f;
  kv.v_group_size = kVGroup;
  kv.residual_tokens = kResidual;
  DeviceMem k(kk::kv_data_bytes(kv)), v(kk::kv_data_bytes(kv)), km(kk::kv_k_meta_bytes(kv)),
      vm(kk::kv_v_meta_bytes(kv)), rk(kk::kv_residual_bytes(kv, batch)), rv(kk::kv_residual_bytes(kv, batch));
  fill_act(rk.ptr, kk::kv_residual_bytes(kv, batch), 1), fill_act(rv.ptr, kk::kv_residual_bytes(kv, batch), 2);
  kv.k_data = k.ptr, kv.v_data = v.ptr, kv.k_meta = km.ptr, kv.v_meta = vm.ptr, kv.residual_k = rk.ptr,
  kv.residual_v = rv.ptr;
  std::vector<std::int32_t> table(kv.num_pages);
  std::iota(table.begin(), table.end(), 0);
  auto dtable = upload(table);
  kv.block_table = dtable->as<std::int32_t>();
  const int pos = flush ? kResidual + 16 * 10 - 1 : kResidual + 16 * 10 + 2;  // completes a group, or not
  auto positions = upload(std::vector<std::int32_t>(batch, pos));
  const std::int64_t n = std::int64_t{batch} * kv_heads * head_dim * 2;
  DeviceMem kn(n), vn(n);
  fill_act(kn.ptr, n, 3), fill_act(vn.ptr, n, 4);
  kk::KvAppendParams p;
  p.kv = kv;
  p.k_new = kn.ptr;
  p.v_new = vn.ptr;
  p.positions = positions->as<std::int32_t>();
  p.batch = batch;
  const double rows = double(batch) * kv_heads;
  double bytes = rows * (2.0 * head_dim * 2 + 2.0 * head_dim * kk::kv_element_bits(kv.format) / 8);
  if (flush && kk::is_group_quantized(kv.format)) bytes += rows * 16 * head_dim * 2 * 2;  // the group read once
  run_timed(st, bytes, [&] { kk::append_kv(p, nullptr); });
}

/// Gathers `pages` random pages of `page_kb` KiB into consecutive ones on the device.
void bm_copy_pages(benchmark::State& st, int pages, int page_kb) {
  const std::int64_t pb = std::int64_t{page_kb} * 1024;
  DeviceMem src(2 * pages * pb), dst(pages * pb);
  fill_bytes(src.ptr, 2 * pages * pb, 1, false);
  std::vector<std::int32_t> s(2 * pages), d(pages);
  std::iota(s.begin(), s.end(), 0);
  std::shuffle(s.begin(), s.end(), std::mt19937(3));
  s.resize(pages);
  std::iota(d.begin(), d.end(), 0);
  auto ds = upload(s), dd = upload(d);
  const kk::PageCopyParams p{src.ptr, dst.ptr, ds->as<std::int32_t>(), dd->as<std::int32_t>(), pages, pb};
  run_timed(st, 2.0 * pages * pb, [&] { kk::copy_pages(p, nullptr); });
}

/// Swaps `pages` pages of `page_kb` KiB out to (or in from) pinned host memory; scattered = every page its own run.
void bm_swap(benchmark::State& st, int pages, int page_kb, bool to_host, bool scattered) {
  const std::int64_t pb = std::int64_t{page_kb} * 1024;
  DeviceMem dev(2 * pages * pb);
  void* host = nullptr;
  CHECK_CUDA(cudaMallocHost(&host, 2 * pages * pb));
  std::vector<std::int32_t> dp(pages), hp(pages);
  for (int i = 0; i < pages; ++i) dp[i] = scattered ? 2 * i : i, hp[i] = i;
  run_timed(st, double(pages) * pb, [&] {
    if (to_host) {
      kk::copy_pages_async(dev.ptr, host, dp.data(), hp.data(), pages, pb, cudaMemcpyDeviceToHost, nullptr);
    } else {
      kk::copy_pages_async(host, dev.ptr, hp.data(), dp.data(), pages, pb, cudaMemcpyHostToDevice, nullptr);
    }
  });
  cudaFreeHost(host);
}

constexpr std::size_t kCopyBytes = std::size_t{1} << 30;

/// The reference bandwidth: one 1 GiB device-to-device cudaMemcpyAsync; bytes = read + write.
void bm_device_copy(benchmark::State& st) {
  DeviceMem a(kCopyBytes), b(kCopyBytes);
  fill_bytes(a.ptr, kCopyBytes, 1, false);
  run_timed(st, 2.0 * kCopyBytes, [&] { cudaMemcpyAsync(b.ptr, a.ptr, kCopyBytes, cudaMemcpyDeviceToDevice); });
}

double measure_copy_GBps() {
  DeviceMem a(kCopyBytes), b(kCopyBytes);
  fill_bytes(a.ptr, kCopyBytes, 1, false);
  std::vector<float> ms(15);
  for (int i = 0; i < 18; ++i) {
    cudaEventRecord(gpu->start);
    cudaMemcpyAsync(b.ptr, a.ptr, kCopyBytes, cudaMemcpyDeviceToDevice);
    cudaEventRecord(gpu->stop);
    CHECK_CUDA(cudaEventSynchronize(gpu->stop));
    if (i >= 3) cudaEventElapsedTime(&ms[i - 3], gpu->start, gpu->stop);
  }
  std::sort(ms.begin(), ms.end());
  return 2.0 * kCopyBytes / (ms[ms.size() / 2] * 1e-3) * 1e-9;
}

// ---- the sweep -------------------------------------------------------------------------------------------------

std::map<std::string, DecodeConfig> decode_configs;  // registered name -> configuration, for the profile

void add(const std::string& name, std::function<void(benchmark::State&)> fn, int reps) {
  benchmark::RegisterBenchmark(name.c_str(), [fn](benchmark::State& st) { fn(st); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond)
      ->MinTime(0.05)
      ->Repetitions(reps)
      ->ReportAggregatesOnly(reps > 1);
}

void add_decode(const DecodeConfig& c, int reps) {
  // Skip what does not fit in 40 % of the device memory (the flush buffer and other runs need the rest).
  const double kv_bytes = 2.0 * c.batch * c.ctx * c.kv_heads * c.head_dim * kk::kv_element_bits(kv_format(c.kv)) / 8;
  if (kv_bytes > 0.4 * static_cast<double>(gpu->prop.totalGlobalMem)) return;
  const std::string name = decode_name(c);
  decode_configs[name] = c;
  add(
      name, [c](benchmark::State& st) { bm_decode(st, c); }, reps);
}

/// quick: ~40 benchmarks for a short GPU session; otherwise the full grid for the cost model (~250).
void register_sweep(bool quick) {
  const int reps = quick ? 3 : 5;
  const std::vector<KvKind> kinds = {KvKind::kBF16, KvKind::kFP16, KvKind::kFP8,
                                     KvKind::kINT8, KvKind::kINT4, KvKind::kINT2};
  add("device_copy/bytes:1GiB", bm_device_copy, reps);
  const std::vector<std::pair<int, int>> shapes =
      quick ? std::vector<std::pair<int, int>>{{1, 32768}, {16, 8192}, {64, 8192}, {128, 16384}}
            : std::vector<std::pair<int, int>>{};
  if (quick) {
    for (KvKind k : kinds) {
      for (auto [b, ctx] : shapes) add_decode({b, ctx, 32, 8, 128, k}, reps);
    }
    for (auto [qh, kvh, hd] : std::vector<std::tuple<int, int, int>>{{32, 8, 64}, {32, 1, 128}, {32, 32, 128}}) {
      add_decode({16, 8192, qh, kvh, hd, KvKind::kBF16}, reps);
    }
  } else {
    for (auto [qh, kvh, hd] : std::vector<std::tuple<int, int, int>>{
             {32, 8, 128}, {64, 8, 128}, {32, 32, 128}, {28, 4, 128}, {16, 8, 64}, {32, 1, 128}}) {
      for (KvKind k : kinds) {
        if (k != KvKind::kBF16 && !(qh == 32 && kvh == 8)) continue;  // quantized kinds on the Llama-8B shape
        for (int b : {1, 4, 16, 64, 256}) {
          for (int ctx : {512, 2048, 8192, 32768}) add_decode({b, ctx, qh, kvh, hd, k}, reps);
        }
      }
    }
  }
  // Larger pages; for KIVI the page is also the key group, so these show what larger groups save.
  for (KvKind k : {KvKind::kBF16, KvKind::kINT4, KvKind::kINT2}) {
    for (int page : {32, 64}) add_decode({64, 8192, 32, 8, 128, k, page}, reps);
  }
  for (KvKind k : {KvKind::kBF16, KvKind::kINT4}) {
    add_decode({64, 32768, 32, 8, 128, k, 16, kk::TokenRange::kWindow}, reps);
    add_decode({64, 32768, 32, 8, 128, k, 16, kk::TokenRange::kSparse}, reps);
  }
  for (KvKind k : {KvKind::kBF16, KvKind::kFP8, KvKind::kINT4}) {
    for (bool flush : {false, true}) {
      if (flush && !kk::is_group_quantized(kv_format(k))) continue;
      add(
          std::string("append/kv:") + kv_name(k) + "/batch:256/kvh:8/hd:128/flush:" + (flush ? "1" : "0"),
          [k, flush](benchmark::State& st) { bm_append(st, 256, 8, 128, k, flush); }, reps);
    }
  }
  for (int pages : {1024, 8192}) {
    add(
        "copy_pages/pages:" + std::to_string(pages) + "/page_kb:32",
        [pages](benchmark::State& st) { bm_copy_pages(st, pages, 32); }, reps);
  }
  for (bool to_host : {true, false}) {
    for (bool scattered : {false, true}) {
      add(
          std::string("swap/") + (to_host ? "out" : "in") + "/pages:1024/page_kb:32/" +
              (scattered ? "scattered" : "contiguous"),
          [to_host, scattered](benchmark::State& st) { bm_swap(st, 1024, 32, to_host, scattered); }, reps);
    }
  }
}

// ---- results and the profile JSON ------------------------------------------------------------------------------

/// The kernel driver's version from /proc/driver/nvidia/version ("NVRM version: NVIDIA UNIX Open Kernel Module for
/// x86_64  580.159.04  Release Build ..."): its first word made of digits and at least two dots, or "".
std::string nvidia_driver_version() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string word;
  while (in >> word) {
    const bool digits_and_dots =
        std::all_of(word.begin(), word.end(), [](char c) { return std::isdigit(c) || c == '.'; });
    if (digits_and_dots && std::count(word.begin(), word.end(), '.') >= 2) return word;
  }
  return "";
}

/// Console output as usual, plus the median (or single) run of each benchmark kept for the profile.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  struct Result {
    std::string name;
    double seconds;
    std::map<std::string, double> counters;
  };
  std::vector<Result> results;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      Result res{r.run_name.function_name, r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit), {}};
      for (const auto& [k, c] : r.counters) res.counters[k] = c.value;
      results.push_back(std::move(res));
    }
  }
};

/// kvsim GPU card name for the device name (models/specs/gpu), else the device name in lowercase-hyphen form.
std::string card_name(const std::string& device) {
  auto has = [&](const char* s) { return device.find(s) != std::string::npos; };
  if (has("H200")) return "h200-sxm";
  if (has("H100")) return "h100-sxm";
  if (has("A100")) return "a100-sxm-80gb";
  if (has("B200")) return "b200";
  if (has("L40S")) return "l40s";
  std::string s;
  for (char ch : device) s += std::isalnum(static_cast<unsigned char>(ch)) ? static_cast<char>(std::tolower(ch)) : '-';
  return s;
}

nlohmann::json profile_json(const CollectingReporter& rep, const std::string& command) {
  int driver = 0, runtime = 0, clock_khz = 0, mem_clock_khz = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, gpu->device);
  cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, gpu->device);
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const cudaDeviceProp& pr = gpu->prop;
  nlohmann::json j = {{"schema", "kvsim-profile-1"},
                      {"gpu", card_name(pr.name)},
                      {"device_name", pr.name},
                      {"source", "kvsim-profile (kvsim kernels/, CUDA events, cold L2, median of repetitions)"}};
  nlohmann::json benchmarks = nlohmann::json::array();
  nlohmann::json decode = nlohmann::json::array();
  for (const auto& r : rep.results) {
    benchmarks.push_back({{"name", r.name}, {"seconds", r.seconds}, {"counters", r.counters}});
    const auto it = decode_configs.find(r.name);
    if (it == decode_configs.end()) continue;
    const DecodeConfig& c = it->second;
    if (c.range != kk::TokenRange::kFull || c.page != 16) continue;  // the profile's decode points: full, page 16
    decode.push_back({{"batch", c.batch},
                      {"kv_len", c.ctx},
                      {"q_heads", c.q_heads},
                      {"kv_heads", c.kv_heads},
                      {"head_dim", c.head_dim},
                      {"kv_dtype", kv_name(c.kv)},
                      {"seconds", r.seconds}});
  }
  j["decode_attention"] = decode;
  j["provenance"] = {{"tool", "kvsim-profile"},
                     {"command", command},
                     {"date_utc", date},
                     {"device_name", pr.name},
                     {"compute_capability", std::to_string(pr.major) + "." + std::to_string(pr.minor)},
                     {"multiprocessors", pr.multiProcessorCount},
                     {"memory_bytes", static_cast<double>(pr.totalGlobalMem)},
                     {"l2_bytes", pr.l2CacheSize},
                     {"memory_bus_bits", pr.memoryBusWidth},
                     {"sm_clock_khz", clock_khz},
                     {"memory_clock_khz", mem_clock_khz},
                     {"nvidia_driver", nvidia_driver_version()},
                     {"source_commit", std::getenv("KVSIM_COMMIT") != nullptr ? std::getenv("KVSIM_COMMIT") : ""},
                     {"cuda_driver_version", driver},
                     {"cuda_runtime_version", runtime},
                     {"copy_GBps", gpu->copy_GBps},
                     {"decode_kv_layout",
                      "paged [num_pages, page, kv_heads, head_dim], random page order; KIVI: group = page, "
                      "residual 128 tokens, value groups of 32 channels; window 4092 + 4 sinks; top-k 2048"},
                     {"benchmarks", benchmarks}};
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  // Our flags (--out FILE, --out=FILE, --quick) are taken out before Google Benchmark reads the rest.
  std::string out_path;
  bool quick = false;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (a.rfind("--out=", 0) == 0) {
      out_path = a.substr(6);
    } else if (a == "--quick") {
      quick = true;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;

  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::fprintf(stderr, "kvsim-profile: no CUDA device; the profiler needs a GPU\n");
    return 1;
  }
  Gpu g;
  gpu = &g;
  CHECK_CUDA(cudaGetDevice(&g.device));
  CHECK_CUDA(cudaGetDeviceProperties(&g.prop, g.device));
  g.flush_bytes = 2 * static_cast<std::size_t>(std::max(g.prop.l2CacheSize, 1 << 20));
  g.flush = std::make_unique<DeviceMem>(g.flush_bytes);
  CHECK_CUDA(cudaEventCreate(&g.start));
  CHECK_CUDA(cudaEventCreate(&g.stop));
  g.copy_GBps = measure_copy_GBps();
  std::printf("kvsim-profile: %s, %d SMs, L2 %d MiB, device-to-device copy %.0f GB/s (read + write)\n", g.prop.name,
              g.prop.multiProcessorCount, g.prop.l2CacheSize >> 20, g.copy_GBps);

  register_sweep(quick);
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (!out_path.empty()) {
    std::ofstream out(out_path);
    out << profile_json(reporter, command).dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "kvsim-profile: cannot write %s\n", out_path.c_str());
      return 1;
    }
    std::printf("kvsim-profile: wrote %s (%zu results)\n", out_path.c_str(), reporter.results.size());
  }
  return 0;
}
