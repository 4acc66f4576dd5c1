// Iteration -> ops -> seconds (see iteration_cost_model.h).
#include "models/cost/iteration_cost_model.h"

#include "models/cost/single_op.h"
#include "models/kv/kv_size.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace kvsim {

namespace {
// Sum over query positions p = cached+1 .. cached+tokens of the keys each attends to, min(p, window).
double attended_pairs(TokenCount tokens, TokenCount cached, TokenCount window) {
  const double c = static_cast<double>(tokens);
  const double lo = static_cast<double>(cached) + 1, hi = static_cast<double>(cached + tokens);
  if (window <= 0 || hi <= static_cast<double>(window)) return (lo + hi) * c / 2.0;
  const double w = static_cast<double>(window);
  if (lo > w) return c * w;
  return (lo + w) * (w - lo + 1) / 2.0 + (hi - w) * w;
}
}  // namespace

IterationCostModel::IterationCostModel(const LlmSpec& model, const KvLayout& layout, Parallelism parallelism,
                                       const IKernelCostModel& kernels, double iteration_overhead_s)
    : model_(model),
      layout_(layout),
      par_(parallelism),
      tp_(parallelism.tp),
      kernels_(kernels),
      overhead_s_(iteration_overhead_s) {
  layout_.prepare();
  q_heads_ = static_cast<double>(model.num_attention_heads) / tp_;
  gemm_weight_bytes_ = model.weights.gemm_read_bits / 8;
  const WeightStorage& w = model.weights;
  weights_formatted_ = w.fp8_tensor_cores || w.dequant_instructions > 0 || w.decompress_instructions > 0 ||
                       w.embedding_bits != w.gemm_read_bits;
}

double IterationCostModel::weight_bytes_per_gpu() const { return par_.weight_bytes_per_gpu(model_); }

// Rows of activations a W4A16 GEMM (Marlin) tiles at a time: each tile dequantizes the weights again.
constexpr double kDequantTileRows = 64;

void IterationCostModel::add_gemm(std::vector<KernelOp>& ops, OpId id, double m, double k, double n,
                                  double layers) const {
  if (m <= 0 || layers <= 0) return;
  KernelOp op = gemm_op(m, n, k, gemm_weight_bytes_);
  op.id = id;
  op.flops *= layers;
  op.bytes *= layers;
  op.launches = layers;
  ops.push_back(op);
}

void IterationCostModel::add_weight_format(double attended_tokens, std::vector<KernelOp>& ops) const {
  const WeightStorage& w = model_.weights;
  for (KernelOp& op : ops) {
    if (op.kind != OpKind::kGemm) continue;
    if (op.id == OpId::kGemmLmHead) {
      // Stored as the embeddings are (16-bit under fp8 and int4-awq); DFloat11 decompresses it to bf16 too.
      const double bits = w.decompress_instructions > 0 ? 16.0 : w.embedding_bits;
      op.bytes += op.shape.n * op.shape.k * (bits - op.shape.weight_bits) / 8 * op.launches;
      op.shape.weight_bits = bits;
      continue;
    }
    op.fp8 = w.fp8_tensor_cores;
    op.weight_format = true;
    if (w.dequant_instructions > 0 && op.id != OpId::kGemmMoeExperts) {
      op.core_instructions =
          op.shape.k * op.shape.n * std::ceil(op.shape.m / kDequantTileRows) * w.dequant_instructions * op.launches;
    }
  }
  if (w.decompress_instructions > 0 && attended_tokens > 0) {
    // DFloat11: every weight this GPU holds decoded into a bf16 buffer once per forward pass.
    const double params = par_.weight_bytes_per_gpu(model_) / w.linear_bytes();
    KernelOp op;
    op.id = OpId::kWeightDecompress;
    op.kind = OpKind::kElementwise;
    op.bytes = params * (w.linear_bytes() + 2.0);  // read compressed, write bf16
    op.core_instructions = params * w.decompress_instructions;
    op.weight_format = true;
    op.launches = model_.num_layers;
    ops.push_back(op);
  }
}

void IterationCostModel::add_attention(const IterationShape& s, std::vector<KernelOp>& ops) const {
  const LlmSpec& m = model_;
  // FLOPs per (query, key) pair per layer on one GPU, and query/output bytes per token per layer.
  double prefill_pair_flops, decode_pair_flops, q_o_bytes_per_token;
  if (m.mla) {
    const MlaSpec& a = *m.mla;
    prefill_pair_flops = 2.0 * q_heads_ * (a.qk_nope_head_dim + a.qk_rope_head_dim) + 2.0 * q_heads_ * a.v_head_dim;
    decode_pair_flops = 2.0 * q_heads_ * (a.kv_lora_rank + a.qk_rope_head_dim) + 2.0 * q_heads_ * a.kv_lora_rank;
    q_o_bytes_per_token = q_heads_ * (a.kv_lora_rank + a.qk_rope_head_dim + a.kv_lora_rank) * act_bytes_;
  } else {
    prefill_pair_flops = decode_pair_flops = 4.0 * q_heads_ * m.head_dim;
    q_o_bytes_per_token = 2.0 * q_heads_ * m.head_dim * act_bytes_;
  }
  KernelOp prefill{OpId::kAttentionPrefill, OpKind::kAttentionPrefill};
  KernelOp decode{OpId::kAttentionDecode, OpKind::kAttentionDecode};
  KernelOp quantize{OpId::kKvQuantize, OpKind::kElementwise};
  KernelOp dequantize{OpId::kKvDequantize, OpKind::kElementwise};
  KernelOp select{OpId::kKvSelect, OpKind::kElementwise};
  KernelOp reconstruct{OpId::kKvReconstruct, OpKind::kGemm};
  KernelOp fetch{OpId::kKvFetch, OpKind::kHostTransfer};
  bool any_prefill = false, any_decode = false;
  double new_tokens = 0, total_decode_read = 0;
  // Per-sequence sums for the launch shapes (measured backends): counts, prefill tokens and context, decode lengths.
  double n_pre = 0, n_dec = 0, pre_tokens = 0, pre_cached = 0, dec_len = 0;
  for (const SeqWork& w : s.work) {
    new_tokens += static_cast<double>(w.tokens);
    if (w.decode()) {
      n_dec += 1;
      dec_len += static_cast<double>(w.computed + 1);
    } else {
      n_pre += 1;
      pre_tokens += static_cast<double>(w.tokens);
      pre_cached += static_cast<double>(w.computed);
    }
  }
  any_prefill = n_pre > 0;
  any_decode = n_dec > 0;
  for (const KvGroup& g : layout_.groups) {
    const double readers = g.reader_layers, caches = g.cache_layers;
    const double stored = g.stored_bytes_per_token(), full = g.full_bytes_per_token();
    const bool quantized = stored < full;
    // Prefill attends within the window unless the window applies only after a dense prefill.
    const TokenCount cap =
        g.retention == Retention::kWindow && !g.dense_prefill ? g.window_tokens + g.sink_tokens : 0;
    // Tokens outside a working-set window (InfLLM's memory units) are attended through the working set's retrieved
    // blocks: prefill chunks read and write nothing here, and a sequence within the window has nothing here.
    const bool prefill_here = g.retention != Retention::kOutsideWindow;
    const TokenCount outside_from = prefill_here ? -1 : g.sink_tokens + g.window_tokens;
    double p_pairs = 0, p_read = 0, p_new = 0, p_cached = 0, select_flops = 0;
    // Decode token sums over cache layers and sequences; priced once per group below (decode_read_bytes and
    // decode_fetch_bytes are linear in them).
    KvGroup::Tokens sum;
    std::int64_t n_decode = 0;  // decoding sequences that attend to something in this group
    for (const SeqWork& w : s.work) {
      if (w.computed <= outside_from) continue;
      if (w.decode()) {
        const KvGroup::Tokens t = g.tokens(w.prompt, w.computed);
        if (t.attended > 0) ++n_decode;
        sum.held += t.held;
        sum.attended += t.attended;
        sum.read += t.read;
        sum.residual_read += t.residual_read;
      } else if (prefill_here) {
        const TokenCount held = g.held(w.prompt, w.computed);
        p_pairs += attended_pairs(w.tokens, held, cap);
        // Distinct keys the chunk reads: the kept context its first query sees, plus the chunk itself.
        p_read += static_cast<double>((cap > 0 ? std::min(held, cap - 1) : held) + w.tokens);
        p_cached += static_cast<double>(held);
        p_new += static_cast<double>(w.tokens);
        if (w.computed < w.prompt && w.computed + w.tokens >= w.prompt) {
          select_flops += caches * static_cast<double>(w.prompt) * g.prefill_select_flops_per_token;
        }
      }
    }
    if (p_new > 0) {
      prefill.flops += readers * p_pairs * prefill_pair_flops * g.attention_flops_scale;
      select.flops += readers * p_pairs * g.prefill_score_flops_per_pair;
      // MLA prefill runs in MHA mode: cached latents are decompressed to per-head K and V (W_UK, W_UV).
      if (m.mla) {
        prefill.flops += readers * p_cached * 2.0 * m.mla->kv_lora_rank * q_heads_ *
                         (m.mla->qk_nope_head_dim + m.mla->v_head_dim);
      }
      prefill.bytes += readers * (p_read * stored * g.read_fraction + p_new * q_o_bytes_per_token) +
                       caches * p_new * stored;
      select.flops += select_flops;
    }
    if (g.scan && n_decode > 0) [[unlikely]] {  // selection prices the units it scans, not the tokens attended
      sum.attended = 0;
      for (const SeqWork& w : s.work) {
        if (w.computed > outside_from && w.decode()) sum.attended += g.priced_tokens(w.prompt, w.computed).attended;
      }
    }
    if (n_decode > 0) {
      const double readers_per_cache = readers / caches;
      const double d_read = sum.read * readers_per_cache;     // tokens read, summed over reader layers
      const double d_held = sum.attended * readers_per_cache;
      const double d_bytes = decode_read_bytes(g, sum);
      const double d_fetch = decode_fetch_bytes(g, sum);
      total_decode_read += d_read;
      decode.flops += d_read * decode_pair_flops * g.attention_flops_scale;
      decode.bytes += d_bytes + readers * static_cast<double>(n_decode) * q_o_bytes_per_token;
      select.flops += d_held * g.score_flops_per_token;
      reconstruct.flops += d_read * g.reconstruct_flops_per_token;
      fetch.bytes += d_fetch;
      const double read_elems = d_read * (g.k_elems + g.v_elems) * g.read_fraction;
      if (quantized && layout_.fused_dequant) {
        decode.dequant_elements += read_elems;
      } else if (quantized) {
        // A 16-bit copy of what is read is written and read back.
        dequantize.bytes += d_read * (stored + 2.0 * full) * g.read_fraction;
        dequantize.dequant_elements += read_elems;
      }
    }
    if (quantized && prefill_here) {  // tokens enter a working set once, not its memory units too
      quantize.bytes += caches * new_tokens * (full + stored);
      quantize.flops += caches * new_tokens * (g.k_elems + g.v_elems) * 4.0;
    }
  }
  // Launch shapes for measured backends: per-layer means over the sequences of this iteration.
  const KvGroup& first = layout_.groups.front();
  const double head_dim = m.mla ? m.mla->kv_lora_rank + m.mla->qk_rope_head_dim : m.head_dim;
  for (KernelOp* op : {&prefill, &decode, &dequantize}) {
    op->shape.q_heads = static_cast<int>(q_heads_);
    op->shape.kv_heads = m.mla ? 1 : static_cast<int>(std::lround(first.k_elems / m.head_dim));
    op->shape.head_dim = static_cast<int>(head_dim);
    op->shape.kv_bits = first.k_bits;
  }
  if (n_pre > 0) {
    prefill.shape.batch = n_pre;
    prefill.shape.tokens = pre_tokens / n_pre;
    prefill.shape.kv_len = pre_cached / n_pre;
  }
  if (n_dec > 0) {
    decode.shape.batch = n_dec;
    const int readers = layout_.reader_layers();
    decode.shape.kv_len = readers > 0 && total_decode_read > 0 ? total_decode_read / (readers * n_dec)  // tokens read
                                                               : dec_len / n_dec;
  }
  const double L = m.num_layers;
  prefill.launches = decode.launches = L;
  quantize.launches = dequantize.launches = select.launches = reconstruct.launches = L;
  fetch.launches = 1;
  if (any_prefill) ops.push_back(prefill);
  if (any_decode) ops.push_back(decode);
  for (const KernelOp* op : {&quantize, &dequantize, &select, &reconstruct, &fetch}) {
    if (op->flops > 0 || op->bytes > 0) ops.push_back(*op);
  }
}

void IterationCostModel::build_ops(const IterationShape& s, std::vector<KernelOp>& ops) const {
  build_gpu_ops(s, ops);
  if (s.tier_load_s > 0 || s.tier_store_s > 0) add_tier_transfers(s, ops);
}

void IterationCostModel::build_gpu_ops(const IterationShape& s, std::vector<KernelOp>& ops) const {
  ops.clear();
  const LlmSpec& m = model_;
  const double t = tp_;
  const double L = m.num_layers;
  const double h = m.hidden_size;
  double T = 0;
  for (const SeqWork& w : s.work) T += static_cast<double>(w.tokens);
  const double attended_tokens = T;  // attention's rows; the GEMMs also run CUDA-graph padding
  T += static_cast<double>(s.padded_tokens);

  if (attended_tokens > 0) {
    // Attention projections.
    if (m.mla) {
      const MlaSpec& a = *m.mla;
      const double qk = a.qk_nope_head_dim + a.qk_rope_head_dim;
      const double q_params = a.q_lora_rank > 0 ? h * a.q_lora_rank + a.q_lora_rank * m.num_attention_heads * qk / t
                                                : h * m.num_attention_heads * qk / t;
      const double kv_params = h * (a.kv_lora_rank + a.qk_rope_head_dim) +
                               a.kv_lora_rank * m.num_attention_heads * (a.qk_nope_head_dim + a.v_head_dim) / t;
      add_gemm(ops, OpId::kGemmQkv, T, h, (q_params + kv_params) / h, L);
      add_gemm(ops, OpId::kGemmAttnOut, T, m.num_attention_heads * a.v_head_dim / t, h, L);
    } else {
      const double kv_heads = std::ceil(m.num_kv_heads / t);
      add_gemm(ops, OpId::kGemmQkv, T, h, (q_heads_ + 2 * kv_heads) * m.head_dim, L);
      add_gemm(ops, OpId::kGemmAttnOut, T, q_heads_ * m.head_dim, h, L);
    }
    // Feed-forward.
    if (m.moe) {
      const MoeSpec& e = *m.moe;
      const double dense_layers = e.first_dense_layers, moe_layers = L - e.first_dense_layers;
      add_gemm(ops, OpId::kGemmMlp, T, h, 2.0 * e.dense_intermediate_size / t, dense_layers);
      add_gemm(ops, OpId::kGemmMlp, T, e.dense_intermediate_size / t, h, dense_layers);
      if (e.num_shared_experts > 0) {
        const double shared = static_cast<double>(e.num_shared_experts) * e.expert_intermediate_size / t;
        add_gemm(ops, OpId::kGemmMlp, T, h, 2.0 * shared, moe_layers);
        add_gemm(ops, OpId::kGemmMlp, T, shared, h, moe_layers);
      }
      add_gemm(ops, OpId::kGemmMoeRouter, T, h, e.num_experts, moe_layers);
      if (moe_layers > 0 && par_.ep > 1) {
        // Expert parallelism: whole experts, 1/ep of them here, over the group's tokens.
        const double ep = par_.ep;
        KernelOp op = moe_experts_op(std::max(T, s.moe_group_tokens), h, e.expert_intermediate_size, e.num_experts,
                                     e.experts_per_token, gemm_weight_bytes_);
        op.shape.share = static_cast<float>(1.0 / ep);
        op.flops *= moe_layers / ep;
        op.bytes *= moe_layers / ep;
        op.launches *= moe_layers;
        ops.push_back(op);
        KernelOp a2a;
        a2a.id = OpId::kAllToAll;
        a2a.kind = OpKind::kAllToAll;
        a2a.tp = par_.ep;
        a2a.link_Bps = static_cast<float>(links_.ep_Bps);
        a2a.link_latency_s = static_cast<float>(links_.ep_latency_s);
        a2a.launches = 2 * moe_layers;  // dispatch and combine
        a2a.shape.message_bytes = T / t * e.experts_per_token * h * act_bytes_;
        a2a.bytes = a2a.launches * a2a.shape.message_bytes;
        ops.push_back(a2a);
      } else if (moe_layers > 0) {
        // One layer's fused-MoE call (OpShape for measured tables: all T tokens, the expert width per GPU), summed
        // over the MoE layers.
        KernelOp op = moe_experts_op(T, h, e.expert_intermediate_size / t, e.num_experts, e.experts_per_token,
                                     gemm_weight_bytes_);
        op.flops *= moe_layers;
        op.bytes *= moe_layers;
        op.launches *= moe_layers;  // gate+up and down per layer
        ops.push_back(op);
      }
    } else {
      add_gemm(ops, OpId::kGemmMlp, T, h, 2.0 * m.intermediate_size / t, L);
      add_gemm(ops, OpId::kGemmMlp, T, m.intermediate_size / t, h, L);
    }

    add_attention(s, ops);
    if (tp_ > 1) {
      KernelOp op;
      op.id = OpId::kAllReduce;
      op.kind = OpKind::kAllReduce;
      op.tp = tp_;
      op.link_Bps = static_cast<float>(links_.tp_Bps);
      op.link_latency_s = static_cast<float>(links_.tp_latency_s);
      // Under expert parallelism the combine all-to-all replaces each MoE layer's second all-reduce.
      op.launches = 2 * L - (par_.ep > 1 && m.moe ? L - m.moe->first_dense_layers : 0);
      op.bytes = op.launches * T * h * act_bytes_;
      op.shape.message_bytes = T * h * act_bytes_;
      ops.push_back(op);
    }
  }
  add_gemm(ops, OpId::kGemmLmHead, s.sampled_sequences, h, m.vocab_size / t, 1);
  if (weights_formatted_) [[unlikely]] add_weight_format(attended_tokens, ops);
  for (auto [id, bytes] : {std::pair{OpId::kSwapOut, s.swap_out_bytes}, std::pair{OpId::kSwapIn, s.swap_in_bytes}}) {
    if (bytes <= 0) continue;
    KernelOp op;
    op.id = id;
    op.kind = OpKind::kHostTransfer;
    op.bytes = bytes;
    op.launches = 1;
    ops.push_back(op);
  }
  KernelOp fixed;
  fixed.id = OpId::kIterationOverhead;
  fixed.kind = OpKind::kFixed;
  fixed.fixed_s = overhead_s_;
  fixed.launches = 0;
  ops.push_back(fixed);
}

void IterationCostModel::add_tier_transfers(const IterationShape& s, std::vector<KernelOp>& ops) const {
  for (auto [id, bytes, seconds] : {std::tuple{OpId::kTierLoad, s.tier_load_bytes, s.tier_load_s},
                                    std::tuple{OpId::kTierStore, s.tier_store_bytes, s.tier_store_s}}) {
    if (seconds <= 0) continue;
    KernelOp op;
    op.id = id;
    op.kind = OpKind::kFixed;  // timed by the tier's link, not the GPU's
    op.fixed_s = seconds;
    op.bytes = bytes;
    op.launches = 0;
    ops.push_back(op);
  }
}

void IterationCostModel::price(const IterationShape& shape, IterationCost& out) const {
  build_gpu_ops(shape, scratch_);
  out.clear();
  double fetch_s = 0;
  for (const KernelOp& op : scratch_) {
    const CostEstimate e = kernels_.estimate(op);
    if (op.id == OpId::kKvFetch && layout_.overlap_transfers) {
      fetch_s += e.seconds;  // hidden behind the rest of the iteration where it is shorter
      CostEstimate& acc = out.ops[static_cast<std::size_t>(op.id)];
      acc = e;
      out.mark(op.id);
      continue;
    }
    CostEstimate& acc = out.ops[static_cast<std::size_t>(op.id)];
    // Ops sharing an id (gate/up and down GEMMs) add up; the bound is that of the larger part.
    if (e.seconds >= acc.seconds) acc.bound = e.bound;
    acc.seconds += e.seconds;
    acc.flops += e.flops;
    acc.bytes += e.bytes;
    acc.source = e.source;
    out.mark(op.id);
    out.seconds += e.seconds;
  }
  if (shape.tier_load_s > 0 || shape.tier_store_s > 0) [[unlikely]] {
    price_tier_transfers(shape, out, fetch_s);
    return;
  }
  out.seconds = std::max(out.seconds, fetch_s);
}

CostEstimate IterationCostModel::pipeline_send(double tokens) const {
  KernelOp op;
  op.id = OpId::kPipelineSend;
  op.kind = OpKind::kSendRecv;
  op.tp = 2;
  op.link_Bps = static_cast<float>(links_.pp_Bps);
  op.link_latency_s = static_cast<float>(links_.pp_latency_s);
  op.bytes = tokens * model_.hidden_size * act_bytes_;
  op.shape.message_bytes = op.bytes;
  return kernels_.estimate(op);
}

void IterationCostModel::price_tier_transfers(const IterationShape& s, IterationCost& out, double fetch_s) const {
  // Transfers that overlap compute, per direction (links are full duplex): into the GPU (KV fetches, tier loads)
  // and out of it (tier stores). Each direction hides behind the rest of the iteration where it is shorter; the
  // first layer's share of a layer-wise load (or a whole blocking load) adds to the iteration.
  double inbound_s = fetch_s, outbound_s = 0;
  const double layers = model_.num_layers;
  const auto record = [&](OpId id, double seconds, double bytes) {
    CostEstimate& acc = out.ops[static_cast<std::size_t>(id)];
    acc.seconds = seconds;
    acc.bytes = bytes;
    acc.bound = Bound::kLatency;
    acc.source = Source::kRoofline;
    out.mark(id);
  };
  if (s.tier_load_s > 0) {
    record(OpId::kTierLoad, s.tier_load_s, s.tier_load_bytes);
    const double hidden = s.tier_load_layerwise ? s.tier_load_s * (layers - 1) / layers : 0;
    inbound_s += hidden;
    out.seconds += s.tier_load_s - hidden;
  }
  if (s.tier_store_s > 0) {
    record(OpId::kTierStore, s.tier_store_s, s.tier_store_bytes);
    if (s.tier_store_overlapped) {
      outbound_s += s.tier_store_s;
    } else {
      out.seconds += s.tier_store_s;
    }
  }
  out.seconds = std::max({out.seconds, inbound_s, outbound_s});
}

}  // namespace kvsim
