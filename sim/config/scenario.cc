// Scenario -> components (see scenario.h).
#include "sim/config/scenario.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/cost/builtin_calibrations.h"
#include "models/cost/impl/roofline.h"
#include "models/spec/catalog.h"
#include "models/spec/hf_config.h"
#include "models/spec/weight_format.h"
#include "sim/cluster/placement.h"
#include "sim/cluster/router.h"
#include "sim/config/tiers.h"
#include "sim/core/param_reader.h"
#include "sim/core/units.h"
#include "sim/kv/kv_manager.h"
#include "traces/workload.h"

namespace kvsim {

namespace {

// Activation memory vLLM reserves after profiling a forward pass of max_num_batched_tokens tokens: the widest
// intermediate tensors of one layer, the logits of max_num_seqs sequences in fp32, and ~1 GiB of non-torch memory
// (CUDA context, NCCL, graphs). An estimate; override with engine.activation_reserve_GiB.
double estimate_activation_bytes(const LlmSpec& m, int tp, TokenCount tokens, int max_seqs) {
  const double widest = std::max<double>(m.intermediate_size, m.moe ? m.moe->dense_intermediate_size : 0);
  const double per_token = (4.0 * m.hidden_size + 2.0 * widest / tp) * 2.0;
  const double logits = static_cast<double>(max_seqs) * m.vocab_size / tp * 4.0;
  return static_cast<double>(tokens) * per_token + logits + units::gib_to_bytes(1.0);
}

// Replica i's collectives priced on its GPUs' paths (sim/cluster/placement.h): SimOptions::replica_cost gets one
// copy of the replica's pricing per distinct set of links.
void place_replicas(PreparedRun& run, int replicas) {
  const Topology& t = *run.topology;
  const std::vector<std::string> names = t.gpus();
  const Parallelism& par = run.parallelism;
  const int per_replica = par.tp * par.pp, ranks = par.ranks_per_expert_group();
  const auto gpu = [&](int i) { return t.node(names[static_cast<std::size_t>(i)], "hardware.topology"); };
  std::vector<std::pair<const IterationCostModel*, IterationCostModel::Links>> made;
  // Each replica's pricing before placement: its pool's, the decode pool's, or the run's.
  std::vector<const IterationCostModel*> bases = run.sim.replica_cost;
  for (int i = static_cast<int>(bases.size()); i < replicas; ++i) {
    const bool decode = run.decode_iteration && i >= run.sim.prefill_replicas;
    bases.push_back(decode ? run.decode_iteration.get() : run.iteration.get());
  }
  run.sim.replica_cost.clear();
  int first = 0;
  for (int i = 0; i < replicas; ++i) {
    const IterationCostModel& base = *bases[static_cast<std::size_t>(i)];
    const Parallelism& own = base.parallelism();
    std::vector<std::size_t> gpus, group;
    for (int k = 0; k < own.tp * own.pp; ++k) gpus.push_back(gpu(first + k));
    first += own.tp * own.pp;
    if (par.ep > 1) {
      const int first = i / ranks * ranks;
      for (int m = first; m < first + ranks; ++m) {
        for (int k = 0; k < par.tp; ++k) group.push_back(gpu(m * per_replica + k));
      }
    }
    const GpuSpec& card = *run.replica_gpu[static_cast<std::size_t>(i)];
    const double card_Bps = card.nvlink_bandwidth_Bps > 0 ? card.nvlink_bandwidth_Bps : card.pcie_bandwidth_Bps;
    const IterationCostModel::Links links = replica_links(t, gpus, group, own.tp, own.pp, card_Bps);
    std::size_t k = 0;
    while (k < made.size() && !(made[k].first == &base && made[k].second == links)) ++k;
    if (k == made.size()) {
      made.emplace_back(&base, links);
      run.placed_costs.push_back(std::make_unique<IterationCostModel>(base));
      run.placed_costs.back()->set_links(links);
    }
    run.sim.replica_cost.push_back(run.placed_costs[k].get());
  }
}

// What a pool of replicas of another card or parallel layout is built from: the scenario's own sections and the run
// whose model, card, kernels and layout it shares where they are the same.
struct PoolInputs {
  const nlohmann::json* scenario;
  const std::filesystem::path* base_dir;
  const PreparedRun* run;
  TokenCount block_size;
  double utilization;
  std::optional<double> reserve_gib;
  TokenCount max_num_batched_tokens;
  int max_num_seqs;
  double overhead_s;
};

// A pool on `gpu` with `par`: its cost model (the scenario's cost_model section read again for its card; without a
// backend, that card's default), its KV layout (the kv section read again for its tensor parallelism), its pricing
// and its KV capacity. `what` names it in messages.
ReplicaPool build_pool(const PoolInputs& in, const GpuSpec& gpu, Parallelism par, const std::string& what) {
  const PreparedRun& run = *in.run;
  ReplicaPool pool;
  pool.gpu = &gpu;
  const IKernelCostModel* kernels = run.kernels.get();
  if (&gpu != run.gpu) {
    const nlohmann::json section = in.scenario->value("cost_model", nlohmann::json::object());  // outlives cm
    ParamReader cm(section, fmt::format("cost_model ({})", what));
    const std::string backend = cm.has("backend") ? cm.require<std::string>("backend")
                                : builtin_calibration(gpu.name) != nullptr ? "calibrated"
                                                                            : "roofline";
    (void)cm.get<double>("iteration_overhead_s", 1e-3);
    pool.kernels = cost_models().get(backend, cm.full("backend")).factory(cm, gpu, *in.base_dir);
    (void)cm.raw("about");
    cm.finish();
    kernels = pool.kernels.get();
  }
  KvLayout layout = run.iteration->layout();
  if (par.tp != run.tensor_parallel) {
    const nlohmann::json section = in.scenario->value("kv", nlohmann::json::object());  // outlives kv
    ParamReader kv(section, fmt::format("kv ({})", what));
    layout = read_kv_section(kv, *run.model, par.tp, in.block_size).layout;
  }
  pool.iteration = std::make_unique<IterationCostModel>(*run.model, layout, par, *kernels, in.overhead_s);
  pool.capacity = compute_kv_capacity(*run.model, gpu, par, in.utilization, in.reserve_gib,
                                      in.max_num_batched_tokens, in.max_num_seqs);
  pool.capacity.bytes_per_token = pool.iteration->layout().device_bytes_per_token() / par.pp;
  return pool;
}

// One pool's keys: {"name", "gpu", "replicas", "tensor_parallel", "memory_GiB", "price_per_hour_usd"} (the name only
// in hardware.pools; the hardware section itself for a scenario of one pool).
struct PoolShape {
  std::string name, gpu_name;
  const GpuSpec* gpu = nullptr;
  std::shared_ptr<const GpuSpec> gpu_owner;  // with a what-if memory or price
  std::optional<double> memory_gib, price;
  int replicas = 1, tensor_parallel = 1;
};

PoolShape read_pool_shape(ParamReader& r, const Catalog& cat, const std::string& default_name) {
  PoolShape s;
  if (!default_name.empty()) s.name = r.get<std::string>("name", default_name);
  s.gpu_name = r.require<std::string>("gpu");
  s.gpu = &cat.gpu(s.gpu_name, r.full("gpu"));
  // A what-if GPU with more (or less) memory than its card: everything else stays the card's.
  s.memory_gib = r.get_optional<double>("memory_GiB");
  // A price of the scenario's own (its source says so) instead of the card's.
  s.price = r.get_optional<double>("price_per_hour_usd");
  if (s.memory_gib) {
    r.check(std::isfinite(*s.memory_gib) && *s.memory_gib > 0 && *s.memory_gib <= 1e9, "memory_GiB",
            "expected GiB of device memory per GPU, > 0");
  }
  if (s.price) {
    r.check(std::isfinite(*s.price) && *s.price >= 0 && *s.price <= 1e6, "price_per_hour_usd",
            "expected US dollars per GPU-hour, >= 0");
  }
  if (s.memory_gib || s.price) {
    auto gpu = std::make_shared<GpuSpec>(*s.gpu);
    if (s.memory_gib) gpu->memory_bytes = units::gib_to_bytes(*s.memory_gib);
    if (s.price) {
      gpu->price_per_hour_usd = *s.price;
      gpu->price_source = fmt::format("the scenario ({})", r.full("price_per_hour_usd"));
    }
    s.gpu_owner = gpu;
    s.gpu = gpu.get();
  }
  s.tensor_parallel = r.get_positive<int>("tensor_parallel", 1);
  s.replicas = r.get_positive<int>("replicas", 1);
  r.check(s.replicas <= 4096, "replicas", "at most 4096 engine replicas");
  r.check(s.tensor_parallel <= 1024, "tensor_parallel", "at most 1024 GPUs per replica");
  return s;
}

// The decode pool of a disaggregated scenario, read ahead of its section (the hardware's GPU count depends on it):
// its replicas (0 without disaggregation) and their tensor parallelism (default: the scenario's).
std::pair<int, int> decode_pool_shape(const nlohmann::json& scenario, int tensor_parallel) {
  const auto it = scenario.find("disaggregation");
  if (it == scenario.end() || !it->is_object()) return {0, tensor_parallel};
  const auto count = [&](const char* key, int fallback) {
    const auto v = it->find(key);
    return v != it->end() && v->is_number_integer() && v->get<int>() > 0 ? v->get<int>() : fallback;
  };
  return {count("decode_replicas", 0), count("decode_tensor_parallel", tensor_parallel)};
}

// Makes every relative "path" value inside `j` absolute against `base`.
void absolutize_paths(nlohmann::json& j, const std::filesystem::path& base) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "path" && it.value().is_string()) {
        const std::filesystem::path p(it.value().get<std::string>());
        if (p.is_relative()) it.value() = (std::filesystem::absolute(base) / p).lexically_normal().string();
      } else {
        absolutize_paths(it.value(), base);
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) absolutize_paths(v, base);
  }
}

// An slo section (the scenario's, or a request class's): deadlines and attainment (sim/metrics/slo.h).
SloSpec read_slo(ParamReader& slo) {
  SloSpec out;
  const auto deadline = [&](const char* key) -> std::optional<double> {
    const auto v = slo.get_optional<double>(key);
    if (v) slo.check(std::isfinite(*v) && *v > 0 && *v <= 1e9, key, "expected seconds, > 0");
    return v;
  };
  out.ttft_s = deadline("ttft_p99_s");
  out.tpot_s = deadline("tpot_p99_s");
  out.e2e_s = deadline("e2e_p99_s");
  out.attainment = slo.get<double>("attainment", 0.99);
  slo.check(out.attainment > 0 && out.attainment <= 1, "attainment",
            "expected the share of requests that must meet each deadline, in (0, 1]");
  slo.finish();  // unknown keys first: a misspelt deadline is named as such
  slo.check(out.any(), "ttft_p99_s", "an slo section needs at least one of ttft_p99_s, tpot_p99_s, e2e_p99_s");
  return out;
}

nlohmann::json slo_resolved(const SloSpec& slo) {
  nlohmann::json r = {{"attainment", slo.attainment}};
  if (slo.ttft_s) r["ttft_p99_s"] = *slo.ttft_s;
  if (slo.tpot_s) r["tpot_p99_s"] = *slo.tpot_s;
  if (slo.e2e_s) r["e2e_p99_s"] = *slo.e2e_s;
  return r;
}

}  // namespace

std::optional<std::string> tensor_parallel_problem(const LlmSpec& model, int tp) {
  if (tp >= 1 && model.num_attention_heads % tp == 0) return std::nullopt;
  return fmt::format("must divide the {} attention heads of {}, got {}", model.num_attention_heads, model.name, tp);
}

PreparedRun prepare_run(const nlohmann::json& scenario, const std::filesystem::path& base_dir) {
  if (scenario.is_object() && scenario.contains("variants")) {
    throw KvsimError("the scenario has \"variants\": run it with `kvsim compare`, or pick one with --variant");
  }
  PreparedRun run;
  ParamReader root(scenario, "");
  nlohmann::json resolved = nlohmann::json::object();
  if (auto name = root.get_optional<std::string>("name")) resolved["name"] = *name;
  if (auto d = root.get_optional<std::string>("description")) resolved["description"] = *d;

  const Catalog& cat = Catalog::builtin();
  const std::string model_name = root.require<std::string>("model");
  run.model_owner = resolve_model(model_name, base_dir, "model");
  run.model = run.model_owner.get();
  // A model file is recorded by its absolute path, so that the written scenario.json runs from anywhere.
  resolved["model"] = is_model_path(model_name) && std::filesystem::path(model_name).is_relative()
                          ? (base_dir / model_name).lexically_normal().string()
                          : model_name;
  // model_weights.format: the weights stored another way than the card's (models/spec/weight_format.h).
  std::string weights_note;  // its approximation, listed with the others below
  if (const nlohmann::json* mw = root.raw("model_weights"); mw != nullptr && !mw->is_null()) {
    ParamReader w = root.child("model_weights");
    const std::string format = w.require_nonempty("format");
    const WeightFormat& chosen = weight_formats().get(format, w.full("format")).factory;
    const WeightStorage& storage = chosen.storage;
    w.finish();
    auto formatted = std::make_shared<LlmSpec>(*run.model);
    apply_weight_format(*formatted, format, chosen);
    run.model_owner = formatted;
    run.model = formatted.get();
    resolved["model_weights"] = {{"format", format},
                                 {"linear_bits", storage.linear_bits},
                                 {"embedding_bits", storage.embedding_bits},
                                 {"weight_bytes", run.model->weight_bytes()}};
    if (format != "bf16") {
      weights_note = fmt::format(
          "Weights as {} ({} bits per linear weight, {} per embedding/LM-head weight): the KV pool gains what they "
          "save; GEMMs read {} bits per weight{}{}{}. Quality is not simulated; its authors report: {}.",
          format, storage.linear_bits, storage.embedding_bits, storage.gemm_read_bits,
          storage.fp8_tensor_cores ? ", on FP8 tensor cores where the card has them (else at the 16-bit rate)" : "",
          storage.dequant_instructions > 0
              ? fmt::format(", dequantizing on CUDA cores ({} instruction(s) per weight per 64-row tile, an "
                            "estimate from Marlin's design)", storage.dequant_instructions)
              : std::string(),
          storage.decompress_instructions > 0
              ? fmt::format(", after decoding every weight into a bf16 buffer each forward pass (weights.decompress: "
                            "read compressed, write bf16, {} CUDA-core instructions per weight, an assumption)",
                            storage.decompress_instructions)
              : std::string(),
          chosen.reported_quality);
    }
  }

  // hardware
  ParamReader hw = root.child("hardware");
  // Pools of replicas (hardware.pools), each its own card and tensor parallelism; or one, from the section's keys.
  std::vector<PoolShape> shapes;
  if (const nlohmann::json* pools = hw.raw("pools"); pools != nullptr && !pools->is_null()) {
    hw.check(pools->is_array() && !pools->empty() && pools->size() <= 64, "pools",
             "expected a list of 1 to 64 pools {\"name\", \"gpu\", \"replicas\", \"tensor_parallel\", "
             "\"memory_GiB\", \"price_per_hour_usd\"}");
    for (const char* key : {"gpu", "replicas", "tensor_parallel", "memory_GiB", "price_per_hour_usd"}) {
      hw.check(!hw.has(key), key, "not beside hardware.pools: give it in each pool");
    }
    for (std::size_t i = 0; i < pools->size(); ++i) {
      ParamReader p((*pools)[i], fmt::format("{}[{}]", hw.full("pools"), i));
      shapes.push_back(read_pool_shape(p, cat, fmt::format("pool{}", i)));
      p.finish();
      for (std::size_t j = 0; j < i; ++j) {
        p.check(shapes[j].name != shapes[i].name, "name", fmt::format("'{}' names two pools", shapes[i].name));
      }
    }
  } else {
    shapes.push_back(read_pool_shape(hw, cat, ""));
  }
  const std::string gpu_name = shapes[0].gpu_name;
  run.gpu = shapes[0].gpu;
  run.gpu_owner = shapes[0].gpu_owner;
  const std::optional<double> memory_gib = shapes[0].memory_gib, price = shapes[0].price;
  run.tensor_parallel = shapes[0].tensor_parallel;
  int replicas = 0;
  for (const PoolShape& s : shapes) replicas += s.replicas;
  hw.check(replicas <= 4096, "replicas", "at most 4096 engine replicas");
  const int pipeline_parallel = hw.get_positive<int>("pipeline_parallel", 1);
  hw.check(pipeline_parallel <= run.model->num_layers, "pipeline_parallel",
           fmt::format("at most one stage per layer ({} layers in {})", run.model->num_layers, model_name));
  const int expert_parallel = hw.get_positive<int>("expert_parallel", 1);
  if (expert_parallel > 1) {
    hw.check(run.model->moe.has_value(), "expert_parallel",
             fmt::format("must be 1: {} has no routed experts to split", model_name));
    const int experts = run.model->moe->num_experts;
    hw.check(experts % expert_parallel == 0, "expert_parallel",
             fmt::format("must divide the {} routed experts of {} (every GPU holds as many), got {}", experts,
                         model_name, expert_parallel));
    hw.check(expert_parallel % run.tensor_parallel == 0, "expert_parallel",
             fmt::format("must be a multiple of tensor_parallel ({}): a group is whole replicas' GPUs",
                         run.tensor_parallel));
    const int ranks = expert_parallel / run.tensor_parallel;
    hw.check(replicas % ranks == 0, "expert_parallel",
             fmt::format("spans {} replicas (expert_parallel / tensor_parallel), which must divide hardware.replicas "
                         "({})", ranks, replicas));
    hw.check(ranks == 1 || pipeline_parallel == 1, "expert_parallel",
             "across replicas (data-parallel attention) needs pipeline_parallel 1");
  }
  run.parallelism = Parallelism(run.tensor_parallel, pipeline_parallel, expert_parallel);
  // Each replica's tensor parallelism: its pool's; a disaggregated decode pool may have its own
  // (disaggregation.decode_tensor_parallel).
  std::vector<int> replica_tp;
  for (const PoolShape& s : shapes) replica_tp.insert(replica_tp.end(), static_cast<std::size_t>(s.replicas), s.tensor_parallel);
  const auto [decode_replicas, decode_tp] = decode_pool_shape(scenario, run.tensor_parallel);
  for (int i = std::max(0, replicas - decode_replicas); i < replicas; ++i) replica_tp[static_cast<std::size_t>(i)] = decode_tp;
  int all_gpus = 0;
  for (const int tp : replica_tp) all_gpus += tp * pipeline_parallel;
  const int num_gpus = hw.get_positive<int>("num_gpus", all_gpus);
  if (shapes.size() > 1) {
    hw.check(num_gpus == all_gpus, "num_gpus",
             fmt::format("must equal the pools' replicas x tensor_parallel x pipeline_parallel, summed ({})", all_gpus));
    hw.check(expert_parallel == 1, "expert_parallel", "not with hardware.pools (expert groups of one pool only)");
  } else if (decode_tp == run.tensor_parallel) {
    hw.check(num_gpus == all_gpus, "num_gpus",
             fmt::format("must equal replicas x tensor_parallel x pipeline_parallel ({} x {} x {} = {})", replicas,
                         run.tensor_parallel, pipeline_parallel, all_gpus));
  } else {
    hw.check(num_gpus == all_gpus, "num_gpus",
             fmt::format("must equal prefill replicas x tensor_parallel + decode_replicas x decode_tensor_parallel "
                         "({} x {} + {} x {} = {})",
                         replicas - decode_replicas, run.tensor_parallel, decode_replicas, decode_tp, all_gpus));
  }
  // The machines: replica i on the topology's GPUs [i x TP x PP, (i + 1) x TP x PP), in their listed order.
  std::optional<nlohmann::json> topology_json;
  if (const nlohmann::json* t = hw.raw("topology"); t != nullptr && !t->is_null()) {
    topology_json = *t;
    run.topology = std::make_unique<Topology>(Topology::from_json(*t, hw.full("topology")));
    const std::vector<std::string> gpus = run.topology->gpus();
    hw.check(static_cast<int>(gpus.size()) >= num_gpus, "topology",
             fmt::format("has {} GPUs; the scenario places num_gpus = {} on it", gpus.size(), num_gpus));
    int first = 0;
    for (int i = 0; i < replicas; ++i) {
      const int tp = replica_tp[static_cast<std::size_t>(i)];
      std::vector<std::size_t>& nodes = run.sim.replica_gpus.emplace_back();
      for (int k = 0; k < tp; ++k) {
        nodes.push_back(run.topology->node(gpus[static_cast<std::size_t>(first + k)], hw.full("topology")));
      }
      first += tp * pipeline_parallel;
    }
    run.sim.topology = run.topology.get();
  }
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto problem = tensor_parallel_problem(*run.model, shapes[i].tensor_parallel);
    hw.check(!problem, shapes.size() > 1 ? fmt::format("pools[{}].tensor_parallel", i) : std::string("tensor_parallel"),
             problem.value_or(""));
  }
  hw.finish();
  if (shapes.size() > 1) {
    nlohmann::json pools = nlohmann::json::array();
    for (const PoolShape& s : shapes) {
      nlohmann::json p = {{"name", s.name}, {"gpu", s.gpu_name}, {"replicas", s.replicas},
                          {"tensor_parallel", s.tensor_parallel}};
      if (s.memory_gib) p["memory_GiB"] = *s.memory_gib;
      if (s.price) p["price_per_hour_usd"] = *s.price;
      pools.push_back(std::move(p));
    }
    resolved["hardware"] = {{"pools", std::move(pools)}, {"num_gpus", num_gpus}};
  } else {
    resolved["hardware"] = {{"gpu", gpu_name}, {"num_gpus", num_gpus}, {"tensor_parallel", run.tensor_parallel}};
  }
  if (pipeline_parallel > 1) resolved["hardware"]["pipeline_parallel"] = pipeline_parallel;
  if (expert_parallel > 1) resolved["hardware"]["expert_parallel"] = expert_parallel;
  if (topology_json) resolved["hardware"]["topology"] = *topology_json;
  if (memory_gib && shapes.size() == 1) resolved["hardware"]["memory_GiB"] = *memory_gib;
  if (price && shapes.size() == 1) resolved["hardware"]["price_per_hour_usd"] = *price;
  // A one-replica scenario's resolved form is what it was before clusters existed.
  if (replicas > 1 && shapes.size() == 1) resolved["hardware"]["replicas"] = replicas;

  // engine
  ParamReader eng = root.child("engine");
  // engine.scheduler: a name with parameters in the strategy syntax ("sjf:predictor=noisy,relative_error=0.3"), or
  // an object {"name": "sjf", "predictor": "buckets", "bucket_bounds": [64, 512]} (lists need this form).
  nlohmann::json scheduler_spec = "vllm-v1";
  if (const nlohmann::json* v = eng.raw("scheduler"); v != nullptr && !v->is_null()) scheduler_spec = *v;
  eng.check(scheduler_spec.is_string() || scheduler_spec.is_object(), "scheduler",
            "expected a name with parameters (\"sjf:predictor=oracle\") or an object {\"name\": ..., parameters}");
  const std::vector<StrategySpec> sched_specs =
      parse_strategy_json(scheduler_spec.is_object() ? nlohmann::json::array({scheduler_spec}) : scheduler_spec,
                          eng.full("scheduler"));
  eng.check(sched_specs.size() == 1, "scheduler", "expected one scheduler (no '+')");
  run.scheduler_name = sched_specs.front().name;
  const auto& sched_entry = schedulers().get(run.scheduler_name, eng.full("scheduler"));
  run.scheduler = sched_entry.factory(sched_specs.front().params, eng.full("scheduler"));
  SimOptions& o = run.sim;
  o.limits.max_num_batched_tokens =
      eng.get_in<TokenCount>("max_num_batched_tokens", 8192, 1, TokenCount{1} << 24, "tokens per iteration");
  o.limits.max_num_seqs = eng.get_in<int>("max_num_seqs", 256, 1, 1 << 20, "sequences");
  const auto block_size = eng.get_in<TokenCount>("block_size", 16, 1, 4096, "tokens per KV block");
  const double util = eng.get<double>("gpu_memory_utilization", 0.9);
  eng.check(util > 0 && util <= 1, "gpu_memory_utilization", fmt::format("must be in (0, 1], got {:g}", util));
  const std::string preemption = eng.get<std::string>("preemption", "recompute");
  if (preemption == "recompute") {
    o.preemption = PreemptionMode::kRecompute;
  } else if (preemption == "swap") {
    o.preemption = PreemptionMode::kSwap;
  } else {
    eng.check(false, "preemption", fmt::format("unknown mode '{}'; available: recompute, swap", preemption));
  }
  const bool prefix_caching = eng.get<bool>("prefix_caching", false);
  eng.check(!prefix_caching || o.preemption == PreemptionMode::kRecompute, "prefix_caching",
            "needs preemption \"recompute\" (as vLLM v1, which caches prefixes and never swaps)");
  o.prefix_caching = prefix_caching;
  // Keys that only mean something with prefix caching on.
  const auto needs_caching = [&](const char* key, const char* what) {
    if (eng.has(key)) eng.check(prefix_caching, key, fmt::format("{}; it needs \"prefix_caching\": true", what));
  };
  needs_caching("admission", "orders requests by what the prefix cache holds");
  needs_caching("prefix_cache_mode", "chooses whose prefix-cache semantics");
  needs_caching("eviction", "chooses which cached block to evict");
  needs_caching("kv_tiers", "hold prefix-cached blocks below the GPU");
  needs_caching("chunk_reuse", "reuses chunks' KV beside the prefix cache");
  const std::string admission = eng.get<std::string>("admission", "fcfs");
  if (admission == "fcfs") {
    o.limits.admission = AdmissionOrder::kFcfs;
  } else if (admission == "lpm" || admission == "prefix-group") {
    o.limits.admission = admission == "lpm" ? AdmissionOrder::kLpm : AdmissionOrder::kPrefixGroup;
  } else {
    eng.check(false, "admission",
              fmt::format("unknown '{}'; available: fcfs (arrival order, vLLM), lpm (longest cached prefix first, "
                          "SGLang), prefix-group (requests sharing a first block together, BatchLLM)",
                          admission));
  }
  EvictionContext eviction_ctx;
  eviction_ctx.block_tokens = block_size;
  eviction_ctx.linear_flops_per_token = 2 * run.model->active_parameter_count();
  eviction_ctx.attention_flops_per_token_pair =
      4.0 * run.model->num_layers * run.model->num_attention_heads * run.model->head_dim;
  const std::string cache_mode = eng.get<std::string>("prefix_cache_mode", "vllm");
  if (cache_mode == "sglang") {
    o.prefix_cache_mode = PrefixCacheMode::kSglang;
  } else {
    eng.check(cache_mode == "vllm", "prefix_cache_mode",
              fmt::format("unknown '{}'; available: vllm (vLLM v1 automatic prefix caching), sglang (SGLang's radix "
                          "cache: duplicates replaced by the cached copy, LRU by last lookup)",
                          cache_mode));
  }
  std::optional<EvictionChoice> eviction;
  if (prefix_caching) {
    // Each mode's own default: vLLM's free queue, SGLang's LRU by last access.
    eviction = read_eviction_choice(eng, "eviction", eviction_ctx, cache_mode == "sglang" ? "lru-access" : "lru");
    o.eviction = eviction->make;
  }
  const nlohmann::json tiers_resolved = read_kv_tiers(eng, "kv_tiers", *run.gpu, eviction_ctx, o);
  const nlohmann::json chunk_resolved = read_chunk_reuse(eng, "chunk_reuse", *run.gpu, eviction_ctx, o);
  // vLLM's num_gpu_blocks_override: the KV pool in blocks of block_size tokens, whatever the GPU's memory.
  const auto num_gpu_blocks = eng.get_optional<std::int64_t>("num_gpu_blocks");
  if (num_gpu_blocks) {
    eng.check(*num_gpu_blocks > 0 && *num_gpu_blocks <= (std::int64_t{1} << 40), "num_gpu_blocks",
              fmt::format("must be an integer in [1, 2^40], got {}", *num_gpu_blocks));
  }
  const std::string num_gpu_blocks_key = eng.full("num_gpu_blocks");
  const std::string prefix_caching_key = eng.full("prefix_caching");
  const bool whole_prompts = run.scheduler_name == "prefill-first" || run.scheduler_name == "static-batch";
  const bool default_chunked = !whole_prompts;
  o.limits.chunked_prefill = eng.get<bool>("chunked_prefill", default_chunked);
  eng.check(!(whole_prompts && o.limits.chunked_prefill), "chunked_prefill",
            fmt::format("the {} scheduler never chunks prompts; use scheduler vllm-v1 for chunked prefill",
                        run.scheduler_name));
  eng.check(run.scheduler_name != "static-batch" || !o.prefix_caching, "prefix_caching",
            "the static-batch scheduler keeps no prefix cache (its batches prefill whole prompts)");
  // Host memory of one server: at most 64 TiB (the largest CPU servers hold 32 TiB).
  const double swap_gib = eng.get_in<double>("swap_space_GiB", 4.0, 0, 65536, "GiB of host memory");
  const auto reserve_gib = eng.get_optional_in<double>("activation_reserve_GiB", 0, 65536, "GiB");
  const double host_kv_gib = eng.get_in<double>("host_kv_GiB", 256.0, 0, 65536, "GiB of host memory");
  // As vLLM: a max_model_len above the model's context is an error (it would be silently wrong).
  o.max_model_len = eng.get_in<TokenCount>("max_model_len", run.model->max_context_tokens, 1,
                                           run.model->max_context_tokens,
                                           fmt::format("tokens (the context of {})", model_name));
#ifdef NDEBUG
  constexpr bool kDefaultChecks = false;
#else
  constexpr bool kDefaultChecks = true;
#endif
  o.profile = read_engine_profile(eng, "profile", o.limits.max_num_seqs);
  const bool eng_check_given = eng.has("check_invariants");
  o.check_invariants = eng.get<bool>("check_invariants", kDefaultChecks);
  eng.finish();

  // cost model
  ParamReader cm = root.child("cost_model");
  // No backend named: the most accurate kvsim has for the GPU, the calibrated model with the calibration kvsim ships
  // for it (fitted on that GPU's measured kernel tables), else the roofline.
  const bool backend_given = cm.has("backend");
  const std::string backend = backend_given ? cm.require<std::string>("backend")
                              : builtin_calibration(run.gpu->name) != nullptr ? "calibrated"
                                                                              : "roofline";
  const double overhead_s = cm.get_in<double>("iteration_overhead_s", 1e-3, 0, 10, "seconds per iteration");
  run.kernels = cost_models().get(backend, cm.full("backend")).factory(cm, *run.gpu, base_dir);
  (void)cm.raw("about");  // kvsim's description of the cost model in a resolved scenario: read back, ignored
  cm.finish();

  // kv
  ParamReader kv = root.child("kv");
  ComposedStrategy composed = read_kv_section(kv, *run.model, run.tensor_parallel, block_size);
  kv.finish();
  run.strategy_label = composed.label;
  run.strategy_resolved = composed.resolved;
  run.strategy_entries = composed.entries;
  run.iteration = std::make_unique<IterationCostModel>(*run.model, composed.layout, run.parallelism,
                                                       *run.kernels, overhead_s);
  if (prefix_caching) {
    const KvManager::CachingChoice choice{o.prefix_cache_mode, !o.tiers.empty(), o.chunk_reuse.has_value()};
    if (auto why = KvManager::prefix_caching_support(run.iteration->layout(), choice)) {
      throw KvsimError(fmt::format("{}: not with kv.strategy {} on {}: {}", prefix_caching_key, composed.label,
                                   model_name, *why));
    }
  }

  // KV capacity
  run.capacity = compute_kv_capacity(*run.model, *run.gpu, run.parallelism, util, reserve_gib,
                                     o.limits.max_num_batched_tokens, o.limits.max_num_seqs);
  const PoolInputs pool_inputs{&scenario, &base_dir, &run,        block_size,
                               util,      reserve_gib, o.limits.max_num_batched_tokens, o.limits.max_num_seqs,
                               overhead_s};
  KvCapacity& c = run.capacity;
  c.bytes_per_token = run.iteration->layout().device_bytes_per_token() / pipeline_parallel;  // a stage's layers
  if (num_gpu_blocks) {
    const std::int64_t block = run.iteration->layout().block_bytes();
    if (*num_gpu_blocks > std::numeric_limits<std::int64_t>::max() / std::max<std::int64_t>(block, 1)) {
      throw KvsimError(fmt::format("{}: {} blocks of {} bytes overflow", num_gpu_blocks_key, *num_gpu_blocks, block));
    }
    c.kv_bytes = *num_gpu_blocks * block / pipeline_parallel;  // a block spans every layer: each stage holds its share
    // The override may exceed kvsim's estimate of the activations' memory (the engine measured its own), not the
    // memory the engine may use once the weights are loaded.
    const double room = c.usable_bytes - c.weight_bytes;
    if (static_cast<double>(c.kv_bytes) > room) {
      throw KvsimError(fmt::format(
          "{}: {} blocks of {} bytes ({:.2f} GiB) do not fit in {} x {:.1f} GiB of {} minus {:.2f} GiB of weights "
          "({:.2f} GiB); at most {} blocks",
          num_gpu_blocks_key, *num_gpu_blocks, block, static_cast<double>(c.kv_bytes) / units::kGiB, util,
          c.gpu_memory_bytes / units::kGiB, gpu_name, c.weight_bytes / units::kGiB, room / units::kGiB,
          static_cast<std::int64_t>(std::max(0.0, room) / static_cast<double>(block))));
    }
  }
  o.kv_capacity_bytes = c.kv_bytes * pipeline_parallel;  // every stage holds its layers' share of each token
  o.pipeline_parallel = pipeline_parallel;
  o.expert_group_ranks = run.parallelism.ranks_per_expert_group();
  o.host_kv_bytes = static_cast<std::int64_t>(units::gib_to_bytes(host_kv_gib));
  o.swap_bytes = static_cast<std::int64_t>(units::gib_to_bytes(swap_gib));

  resolved["engine"] = {{"scheduler", scheduler_spec},
                        {"max_num_batched_tokens", o.limits.max_num_batched_tokens},
                        {"max_num_seqs", o.limits.max_num_seqs},
                        {"block_size", block_size},
                        {"gpu_memory_utilization", util},
                        {"preemption", preemption},
                        {"prefix_caching", prefix_caching},
                        {"chunked_prefill", o.limits.chunked_prefill},
                        {"swap_space_GiB", swap_gib},
                        {"host_kv_GiB", host_kv_gib},
                        {"activation_reserve_GiB", c.activation_reserve_bytes / units::kGiB},
                        {"max_model_len", o.max_model_len}};
  if (num_gpu_blocks) resolved["engine"]["num_gpu_blocks"] = *num_gpu_blocks;
  if (eviction) resolved["engine"]["eviction"] = eviction->resolved;
  if (prefix_caching) resolved["engine"]["prefix_cache_mode"] = cache_mode;
  if (admission != "fcfs") resolved["engine"]["admission"] = admission;
  if (!tiers_resolved.is_null()) resolved["engine"]["kv_tiers"] = tiers_resolved;
  if (!chunk_resolved.is_null()) resolved["engine"]["chunk_reuse"] = chunk_resolved;
  // A debugging switch that does not change results: recorded only when given.
  if (eng_check_given) resolved["engine"]["check_invariants"] = o.check_invariants;
  if (o.profile.name != "none") resolved["engine"]["profile"] = o.profile.to_json();
  resolved["kv"] = {{"strategy", run.strategy_resolved},
                    {"overlap_transfers", run.iteration->layout().overlap_transfers}};
  resolved["cost_model"] = run.kernels->params();
  resolved["cost_model"]["backend"] = backend;
  resolved["cost_model"]["iteration_overhead_s"] = overhead_s;
  resolved["cost_model"]["about"]["chosen_by"] =
      backend_given ? "scenario" : (backend == "roofline" ? "default (kvsim ships no calibration for this GPU)"
                                                          : "default (the calibration kvsim ships for this GPU)");

  // output
  // Service-level objectives and the measurement window (sim/metrics/slo.h).
  if (const nlohmann::json* j = root.raw("slo"); j != nullptr && !j->is_null()) {
    ParamReader slo = root.child("slo");
    run.slo = read_slo(slo);
    resolved["slo"] = slo_resolved(run.slo);
  }
  if (const nlohmann::json* j = root.raw("metrics"); j != nullptr && !j->is_null()) {
    ParamReader m = root.child("metrics");
    run.window.warmup_s = m.get_non_negative<double>("warmup_s", 0.0);
    run.window.cooldown_s = m.get_non_negative<double>("cooldown_s", 0.0);
    m.check(std::isfinite(run.window.warmup_s) && std::isfinite(run.window.cooldown_s), "warmup_s",
            "expected seconds of arrivals, >= 0");
    const std::string power = m.get<std::string>("power_model", "tdp");
    m.check(power == "tdp" || power == "utilization", "power_model",
            fmt::format("'{}' is not a power model (tdp, utilization)", power));
    run.power.kind = power == "tdp" ? PowerModel::Kind::kTdp : PowerModel::Kind::kUtilization;
    run.power.idle_fraction = m.get_non_negative<double>("idle_power_fraction", 0.1);
    m.check(run.power.idle_fraction <= 1, "idle_power_fraction", "expected a share of the TDP in [0, 1]");
    m.check(run.power.kind == PowerModel::Kind::kUtilization || m.raw("idle_power_fraction") == nullptr,
            "idle_power_fraction", "only with power_model \"utilization\"");
    m.finish();
    resolved["metrics"] = {{"warmup_s", run.window.warmup_s},
                           {"cooldown_s", run.window.cooldown_s},
                           {"power_model", run.power.name()}};
    if (run.power.kind == PowerModel::Kind::kUtilization) {
      resolved["metrics"]["idle_power_fraction"] = run.power.idle_fraction;
    }
  }

  ParamReader out = root.child("output");
  o.timeline_interval_s = out.get_positive<double>("timeline_interval_s", 1.0);
  out.check(o.timeline_interval_s >= 1e-3, "timeline_interval_s", "must be at least 0.001 s");
  out.finish();
  resolved["output"] = {{"timeline_interval_s", o.timeline_interval_s}};

  // workload (last: it may open files)
  const std::uint64_t seed = root.get<std::uint64_t>("seed", 1);
  resolved["seed"] = seed;
  // prefill/decode disaggregation: the first prefill_replicas of the cluster prefill, the others decode
  o.replicas = replicas;
  std::int32_t entry_replicas = replicas;
  if (const nlohmann::json* d = root.raw("disaggregation"); d != nullptr && !d->is_null()) {
    ParamReader dis = root.child("disaggregation");
    dis.check(run.parallelism.pp == 1 && run.parallelism.ranks_per_expert_group() == 1, "prefill_replicas",
              "disaggregation needs hardware.pipeline_parallel 1 and no expert parallelism across replicas (not "
              "modelled together yet)");
    const int prefill = dis.require_positive<int>("prefill_replicas");
    const int decode = dis.require_positive<int>("decode_replicas");
    dis.check(prefill + decode == replicas, "decode_replicas",
              fmt::format("prefill_replicas + decode_replicas must equal hardware.replicas ({} + {} != {})", prefill,
                          decode, replicas));
    if (run.topology) {
      for (const char* key : {"transfer_bandwidth_GBps", "transfer_latency_us"}) {
        dis.check(!dis.has(key), key, "not with hardware.topology: each move is priced on its paths");
      }
    }
    const double bw = dis.get_positive<double>("transfer_bandwidth_GBps", 50.0);
    dis.check(std::isfinite(bw) && bw <= 1e9, "transfer_bandwidth_GBps", "expected GB/s, > 0");
    const double lat = dis.get_non_negative<double>("transfer_latency_us", 10.0);
    dis.check(std::isfinite(lat) && lat <= 1e9, "transfer_latency_us", "expected microseconds, >= 0");
    const bool layerwise = dis.get<bool>("layerwise", false);
    const auto decode_gpu = dis.get_optional<std::string>("decode_gpu");
    const int decode_tp_read = dis.get_positive<int>("decode_tensor_parallel", run.tensor_parallel);
    dis.check(decode_tp_read == decode_tp, "decode_tensor_parallel", "expected a positive integer");
    const auto tp_problem = tensor_parallel_problem(*run.model, decode_tp);
    dis.check(!tp_problem, "decode_tensor_parallel", tp_problem.value_or(""));
    if (decode_tp != run.tensor_parallel) {
      dis.check(!num_gpu_blocks, "decode_tensor_parallel", "not with engine.num_gpu_blocks (a block count of one "
                                                           "layout)");
      dis.check(run.parallelism.ep == 1, "decode_tensor_parallel", "not with hardware.expert_parallel");
    }
    if (decode_gpu || decode_tp != run.tensor_parallel) {
      // The decode pool's own card and tensor parallelism (build_pool()).
      if (decode_gpu) {
        dis.check(!num_gpu_blocks, "decode_gpu", "not with engine.num_gpu_blocks (a block count of one GPU)");
        run.decode_gpu = &cat.gpu(*decode_gpu, dis.full("decode_gpu"));
      }
      ReplicaPool pool = build_pool(pool_inputs, run.decode_gpu ? *run.decode_gpu : *run.gpu, Parallelism(decode_tp),
                                    "decode pool");
      run.decode_kernels = std::move(pool.kernels);
      run.decode_iteration = std::move(pool.iteration);
      run.decode_capacity = pool.capacity;
      o.decode_cost = run.decode_iteration.get();
      o.decode_kv_capacity_bytes = run.decode_capacity.kv_bytes;
    }
    ParamReader dr = dis.child("decode_router");
    const RouterChoice decode_router = read_router(dr, decode, seed ^ 0x3c6ef372fe94f82aULL, "least-outstanding");
    dr.finish();
    dis.finish();
    if (prefix_caching) {
      run.approximations.push_back(
          "Prefix caching with disaggregation: the prefill replicas cache prompt blocks and reuse them (the router "
          "may score them by cached prefix); decode replicas hold moved KV without a cache, and every move carries "
          "the whole prompt's KV, cached blocks included (no skipping of blocks the decode side holds).");
    }
    if (run.scheduler_name != "vllm-v1") {
      throw KvsimError("disaggregation: engine.scheduler must be vllm-v1 (the scheduler disaggregated vLLM runs)");
    }
    o.prefill_replicas = prefill;
    o.decode_router = decode_router.make;
    o.transfer_bandwidth_Bps = bw * 1e9;
    o.transfer_latency_s = lat * 1e-6;
    o.transfer_layerwise_layers = layerwise ? run.model->num_layers : 0;
    entry_replicas = prefill;
    resolved["disaggregation"] = {{"prefill_replicas", prefill}, {"decode_replicas", decode},
                                  {"layerwise", layerwise},
                                  {"decode_router", decode_router.resolved}};
    if (!run.topology) {
      resolved["disaggregation"]["transfer_bandwidth_GBps"] = bw;
      resolved["disaggregation"]["transfer_latency_us"] = lat;
    }
    if (decode_gpu) resolved["disaggregation"]["decode_gpu"] = *decode_gpu;
    if (decode_tp != run.tensor_parallel) resolved["disaggregation"]["decode_tensor_parallel"] = decode_tp;
  }
  // router (of a cluster's new requests; a one-replica scenario may name one, which then has nothing to choose)
  ParamReader rt = root.child("router");
  const RouterChoice router = read_router(rt, entry_replicas, seed ^ 0x9e3779b97f4a7c15ULL);
  rt.finish();
  if (replicas > 1) {
    o.router = router.make;
    o.router_state_delay_s = router.state_delay_s;
    resolved["router"] = router.resolved;
  }
  ParamReader wl = root.child("workload");
  // The client's timeout is the engine's concern (it aborts the request), read here beside the stream's keys.
  o.client_timeout_s = wl.get<double>("client_timeout_s", 0.0);
  wl.check(std::isfinite(o.client_timeout_s) && o.client_timeout_s >= 0 && o.client_timeout_s < 1e9,
           "client_timeout_s", "expected seconds >= 0 (0: no timeout)");
  resolved["workload"] = scenario.value("workload", nlohmann::json::object());
  absolutize_paths(resolved["workload"], base_dir);  // so the written scenario.json runs from anywhere
  WorkloadClasses workload_classes;
  if (const nlohmann::json* classes = wl.raw("classes"); classes != nullptr && !classes->is_null()) {
    wl.check(classes->is_array() && !classes->empty() && classes->size() <= 16, "classes",
             "expected a list of 1 to 16 request classes {\"name\", \"share\", \"priority\", \"slo\"}");
    double total = 0;
    for (std::size_t i = 0; i < classes->size(); ++i) {
      ParamReader c((*classes)[i], fmt::format("{}[{}]", wl.full("classes"), i));
      ClassSlo cls;
      cls.name = c.require_nonempty("name");
      for (const ClassSlo& other : run.classes) {
        c.check(other.name != cls.name, "name", fmt::format("'{}' names two classes", cls.name));
      }
      const double share = c.get<double>("share", 0.0);
      c.check(std::isfinite(share) && share >= 0 && share <= 1, "share",
              "expected the class's share of the requests the trace does not label, in [0, 1]");
      const auto priority = c.get<std::int64_t>("priority", 0);
      c.check(priority >= -1000 && priority <= 1000, "priority",
              "expected an integer in [-1000, 1000] (lower runs first with the priority and sjf schedulers)");
      if (const nlohmann::json* cs = c.raw("slo"); cs != nullptr && !cs->is_null()) {
        ParamReader slo = c.child("slo");
        cls.slo = read_slo(slo);
      }
      c.finish();
      total += share;
      workload_classes.names.push_back(cls.name);
      workload_classes.shares.push_back(share);
      o.class_priority.push_back(static_cast<std::int32_t>(priority));
      run.classes.push_back(std::move(cls));
    }
    wl.check(std::abs(total - 1) < 1e-6 || total == 0, "classes",
             fmt::format("the classes' shares add up to {:g}; expected 1 (or 0: requests the trace does not label "
                         "are of the first class)",
                         total));
  }
  run.workload = make_workload(wl, seed, base_dir, std::move(workload_classes));
  root.finish();
  run.resolved = std::move(resolved);

  const RooflineParams kRoofline;  // the defaults the texts below quote
  run.approximations = {
      "Iteration time is the sum of per-op times. The roofline backend prices an op as max(FLOPs/(peak*eff) + KV "
      "dequantization, bytes/(BW*eff)) + launch latency, with the efficiencies of the cost_model section (assumed "
      "defaults until calibrated against measurements); measured, calibrated and hybrid backends price from real-GPU "
      "measurements, and each op of the breakdown names its source.",
      fmt::format("Quantized KV pays its dequantization on the CUDA cores: elements read x instructions per element "
                  "(defaults from kvsim's own decode kernels' SASS: {} for 8-bit, {} for KIVI-style 2/4-bit) at the "
                  "GPU's FP32 lane rate x cost_model.core_efficiency (default {}, fitted to kvsim's KIVI kernels on "
                  "an H100); another kernel has other costs.",
                  kRoofline.dequant_instructions_8bit, kRoofline.dequant_instructions_subbyte,
                  kRoofline.core_efficiency),
      "Embedding lookup, norms, rotary embedding and sampling are folded into cost_model.iteration_overhead_s.",
      "KV memory is page-granular per layout group: window layers free pages as the window slides, budgeted "
      "eviction frees pages after prefill, evicting single tokens reuses their slots (no compaction).",
      "Extra work of KV strategies (quantize, dequantize, scoring, low-rank reconstruction, host fetches) is priced "
      "as memory- or compute-bound ops from their formulas in kv-strategies.md; quality effects are the authors' "
      "reported numbers, never simulated.",
      "The activation reserve is estimated from max_num_batched_tokens, max_num_seqs and the model widths unless "
      "engine.activation_reserve_GiB is given.",
      "MoE weight traffic assumes tokens are routed uniformly over experts.",
      "Latency percentiles come from a log-bucket sketch (within 0.1% of exact); means, minima and maxima are exact.",
  };
  if (!weights_note.empty()) run.approximations.push_back(weights_note);
  if (run.scheduler_name == "static-batch") {
    run.approximations.push_back(
        "Static batching: a padded batch's padding rows (prompts padded to the longest, finished members' rows) "
        "run through every GEMM, as CUDA-graph padding does; attention over padded positions is not priced, so a "
        "padded batch's prefill is priced a little low.");
  }
  if (backend == "calibrated") {
    const nlohmann::json& about = run.resolved["cost_model"]["about"];
    run.approximations.push_back(fmt::format(
        "Kernel times (GEMMs, attention, all-reduce, MoE experts) come from the calibrated model, coefficients fitted "
        "on {}{}: a least-squares fit of roofline features to measured kernels, per shape on the measured GPU "
        "(3-6 % median error on held-out points of the H100 tables, README); other ops use the roofline.",
        about.value("fitted_on", std::string("measurements")),
        run.resolved["cost_model"].value("calibration", std::string()) == "builtin"
            ? " (the calibration kvsim ships for this GPU, models/specs/calibrations/)"
            : std::string()));
  }
  for (const std::string& a : composed.approximations) run.approximations.push_back(a);
  if (const std::string profile = o.profile.describe(); !profile.empty()) run.approximations.push_back(profile);
  if (o.replicas > 1) {
    run.approximations.push_back(fmt::format(
        "A cluster of {} replicas on one clock: a request is routed once, when the engine receives it (router {}, "
        "loads reported every {:g} s); replicas share nothing but {} (no network between router and engines); {}.",
        o.replicas, router.name, o.router_state_delay_s,
        o.prefill_replicas > 0 ? "the KV moved from prefill to decode replicas" : "the clock",
        run.topology ? "each replica's collectives take its GPUs' paths on hardware.topology"
                     : "each replica's collectives are priced from its card's links (no topology)"));
  }
  if (run.parallelism.pp > 1) {
    run.approximations.push_back(fmt::format(
        "Pipeline parallelism, {} stages: each stage takes 1/{} of a step's priced time (layers, LM head and step "
        "overhead spread evenly) and hands the micro-batch's activations to the next stage over NVLink (PCIe without, "
        "or its path on hardware.topology; op pipeline.send); up to {} micro-batches in flight, planned from the requests not in flight (which rejoin "
        "the front of the running queue), finishing in order; each GPU holds 1/{} of the weights and of every "
        "token's KV.",
        run.parallelism.pp, run.parallelism.pp, run.parallelism.pp, run.parallelism.pp));
  }
  if (run.parallelism.ep > 1) {
    run.approximations.push_back(fmt::format(
        "Expert parallelism over {} GPUs{}: each holds {} whole routed experts and computes 1/{} of the routed "
        "(token, expert) pairs of the group's tokens (balanced routing: no hot experts); a dispatch and a combine "
        "all-to-all per MoE layer (each GPU sends its tokens' hidden states once per chosen expert; nccl tables with "
        "the measured backend, else the roofline: (g-1)/g of the bytes over NVLink, 0.85x nccl-tests on H100 on "
        "average); {}",
        run.parallelism.ep,
        run.parallelism.ranks_per_expert_group() > 1
            ? fmt::format(" ({} replicas' data-parallel attention ranks per group)", run.parallelism.ranks_per_expert_group())
            : std::string(),
        run.model->moe ? run.model->moe->num_experts / run.parallelism.ep : 0, run.parallelism.ep,
        run.parallelism.ranks_per_expert_group() > 1
            ? "a group's ranks step in lockstep, each as long as the slowest; an idle rank's dummy step is not priced."
            : "the group is the replica's tensor-parallel GPUs."));
  }
  if (o.client_timeout_s > 0) {
    run.approximations.push_back(fmt::format(
        "A client gives up {:g} s after sending a request (workload.client_timeout_s): the engine aborts the request "
        "between steps, as vLLM aborts a disconnected request, and frees its KV (cached blocks stay cached); it is "
        "reported timed out, outside the latency statistics (benchmark clients drop failed requests).",
        o.client_timeout_s));
  }
  if (prefix_caching) {
    run.approximations.push_back(
        "Prefix caching follows vLLM v1 or SGLang's radix cache (engine.prefix_cache_mode, sim/README.md): full "
        "blocks are cached, of the prompt and of the reply where "
        "the workload knows its content (synthetic sessions; a trace's replies are unknown), at their stored "
        "precision; lookups happen at admission.");
    const KvLayout& layout = run.iteration->layout();
    if (KvManager::prefix_shareable(layout) &&
        std::any_of(layout.groups.begin(), layout.groups.end(),
                    [](const KvGroup& g) { return g.retention == Retention::kWindow; })) {
      run.approximations.push_back(
          "Sliding-window layers are cached as vLLM's hybrid allocator caches them (sim/README.md): each window size "
          "is a class of blocks apart from the full-attention layers', a window holds whole blocks (one page per "
          "layer more at most than its tokens fill) and releases each block, still cached, once it left the window; "
          "a hit needs each window's last ceil((window - 1) / block_size) blocks before its end.");
    }
    if (!KvManager::prefix_shareable(layout)) {
      run.approximations.push_back(fmt::format(
          "kv.strategy {} evicts prompt tokens by importance, so a request's KV is not its prompt's blocks: prefix "
          "caching shares nothing (every lookup misses; models/kv/README.md).",
          composed.label));
    }
    if (o.chunk_reuse) {
      run.approximations.push_back(fmt::format(
          "Chunk reuse (CacheBlend, Cache-Craft): stored chunks after the prefix hit count as computed but for {:g} "
          "of their tokens, as if they preceded the rest of the prefill; their KV is read from the store like a tier "
          "load; one recompute fraction for every chunk (Cache-Craft adapts it per chunk). Quality is not "
          "simulated: CacheBlend reports TTFT 2.2-3.3x lower than full recompute without quality loss (arXiv "
          "2405.16444), Cache-Craft 51% less redundant computation than prefix caching (arXiv 2502.15734).",
          o.chunk_reuse->recompute_fraction));
    }
    if (!o.tiers.empty()) {
      run.approximations.push_back(
          "Memory tiers: transfers batched per step and tier (latency + bytes / bandwidth), one link per tier, no "
          "contention between tiers, no CPU copy cost; tier defaults for capacity and latency are assumptions "
          "(scenario.engine.kv_tiers names each number's source).");
    }
  }
  // Replica by replica: its card and GPUs; the pools beyond the first get their own pricing and KV pools.
  for (std::size_t p = 0; p < shapes.size(); ++p) {
    run.replica_gpu.insert(run.replica_gpu.end(), static_cast<std::size_t>(shapes[p].replicas), shapes[p].gpu);
  }
  for (int i = o.prefill_replicas; o.prefill_replicas > 0 && i < replicas; ++i) {
    run.replica_gpu[static_cast<std::size_t>(i)] = run.decode_gpu ? run.decode_gpu : run.gpu;
  }
  for (const int tp : replica_tp) run.replica_gpus.push_back(tp * pipeline_parallel);
  if (shapes.size() > 1) {
    if (o.prefill_replicas > 0) {
      throw KvsimError("disaggregation: not with hardware.pools; give the decode pool's card and tensor parallelism "
                       "as disaggregation.decode_gpu and decode_tensor_parallel");
    }
    if (num_gpu_blocks) throw KvsimError(num_gpu_blocks_key + ": not with hardware.pools (a block count of one layout)");
    for (std::size_t p = 0; p < shapes.size(); ++p) {
      const IterationCostModel* cost = run.iteration.get();
      std::int64_t capacity = o.kv_capacity_bytes;
      if (p > 0) {
        ReplicaPool pool = build_pool(pool_inputs, *shapes[p].gpu, Parallelism(shapes[p].tensor_parallel, pipeline_parallel),
                                      fmt::format("hardware.pools[{}]", p));
        pool.name = shapes[p].name;
        pool.gpu_owner = shapes[p].gpu_owner;
        pool.replicas = shapes[p].replicas;
        cost = pool.iteration.get();
        capacity = pool.capacity.kv_bytes * pipeline_parallel;
        run.pools.push_back(std::move(pool));
      }
      o.replica_cost.insert(o.replica_cost.end(), static_cast<std::size_t>(shapes[p].replicas), cost);
      o.replica_kv_capacity_bytes.insert(o.replica_kv_capacity_bytes.end(), static_cast<std::size_t>(shapes[p].replicas),
                                         capacity);
    }
    std::vector<std::string> described;
    for (const PoolShape& s : shapes) {
      described.push_back(fmt::format("{}: {} x {} TP {}", s.name, s.replicas, s.gpu_name, s.tensor_parallel));
    }
    run.approximations.push_back(fmt::format(
        "Pools of replicas of different cards or tensor parallelism ({}): each its own cost model (the scenario's "
        "cost_model read again for its card), KV layout and pool; a request the router sends to a replica that could "
        "never hold it is rejected (routers do not filter by capacity).",
        fmt::join(described, "; ")));
  }
  // On a topology, each replica's collectives take its GPUs' paths: one pricing per distinct placement.
  if (run.topology) place_replicas(run, replicas);
  return run;
}

KvCapacity compute_kv_capacity(const LlmSpec& model, const GpuSpec& gpu, Parallelism par, double util,
                               std::optional<double> reserve_gib, TokenCount max_num_batched_tokens,
                               int max_num_seqs) {
  const int tp = par.tp;
  KvCapacity c;
  c.gpu_memory_bytes = gpu.memory_bytes;
  c.usable_bytes = util * gpu.memory_bytes;
  c.weight_bytes = par.weight_bytes_per_gpu(model);
  c.activation_reserve_bytes = reserve_gib ? units::gib_to_bytes(*reserve_gib)
                                           : estimate_activation_bytes(model, tp, max_num_batched_tokens, max_num_seqs);
  if (c.weight_bytes + c.activation_reserve_bytes >= c.usable_bytes) {
    throw KvsimError(fmt::format(
        "model {} does not fit: {:.1f} GiB of weights + {:.1f} GiB of activations per GPU, but "
        "gpu_memory_utilization {} x {:.1f} GiB ({}) leaves {:.1f} GiB; use more tensor_parallel (or "
        "pipeline_parallel, expert_parallel) GPUs, a larger "
        "GPU or a higher gpu_memory_utilization",
        model.name, c.weight_bytes / units::kGiB, c.activation_reserve_bytes / units::kGiB, util,
        c.gpu_memory_bytes / units::kGiB, gpu.name, c.usable_bytes / units::kGiB));
  }
  c.kv_bytes = static_cast<std::int64_t>(c.usable_bytes - c.weight_bytes - c.activation_reserve_bytes);
  return c;
}

ComposedStrategy read_kv_section(ParamReader& kv, const LlmSpec& model, int tp, TokenCount block_size) {
  std::vector<StrategySpec> specs;
  const nlohmann::json* named = kv.raw("strategy");
  if (named != nullptr && !named->is_null()) {
    specs = parse_strategy_json(*named, kv.full("strategy"));
  } else {
    specs.push_back({"full", nlohmann::json::object()});
  }
  const bool overlap = kv.get<bool>("overlap_transfers", true);
  // Other keys are parameters of a single named strategy: {"strategy": "snapkv", "budget_tokens": 2048}.
  nlohmann::json extra = nlohmann::json::object();
  for (const std::string& key : kv.unread_keys()) extra[key] = *kv.raw(key);
  if (!extra.empty() && (named == nullptr || named->is_null())) {
    throw KvsimError(fmt::format("unknown key '{}' in '{}'; valid keys are: strategy, overlap_transfers (a "
                                 "strategy's own parameters go beside \"strategy\", which names it)",
                                 kv.full(extra.begin().key()), kv.path()));
  }
  if (!extra.empty()) {
    if (specs.size() != 1) {
      throw KvsimError(fmt::format("{}: parameters {} beside a composition of {} strategies; give each strategy's "
                                   "parameters in the list, e.g. [{{\"name\": \"snapkv\", \"budget_tokens\": 2048}}, "
                                   "\"kivi-2\"] or \"snapkv:budget_tokens=2048+kivi-2\"",
                                   kv.path(), extra.dump(), specs.size()));
    }
    specs[0].params.update(extra);
  }
  ComposedStrategy composed = compose_strategies(specs, model, tp, block_size, kv.full("strategy"));
  composed.layout.overlap_transfers = overlap;
  return composed;
}

nlohmann::json demo_scenario() {
  return nlohmann::json::parse(R"({
    "name": "demo",
    "description": "Eight KV-cache strategies for Llama-3.1-8B on one H100 under the same bursty chat traffic (10 requests/s for 2 minutes, long answers): the full-precision KV cache runs out and requests are preempted, cheaper caches keep up",
    "model": "llama-3.1-8b",
    "hardware": {"gpu": "h100-sxm", "num_gpus": 1, "tensor_parallel": 1},
    "engine": {"scheduler": "vllm-v1", "max_num_batched_tokens": 8192, "max_num_seqs": 256, "block_size": 16,
               "gpu_memory_utilization": 0.9, "preemption": "recompute", "prefix_caching": false},
    "kv": {"strategy": "full"},
    "workload": {"synthetic": {"duration_s": 120,
                               "arrival": {"process": "gamma", "rate_per_s": 10, "cv": 1.5},
                               "prompt_tokens": {"dist": "lognormal", "mean": 1500, "sigma": 0.9,
                                                 "min": 16, "max": 16000},
                               "output_tokens": {"dist": "lognormal", "mean": 700, "sigma": 0.7,
                                                 "min": 1, "max": 4096}}},
    "cost_model": {"backend": "roofline"},
    "seed": 1,
    "variants": [
      {"name": "full", "description": "the model's bf16 GQA cache"},
      {"name": "fp8", "kv": {"strategy": "fp8"}},
      {"name": "kivi-2", "kv": {"strategy": "kivi-2"}},
      {"name": "snapkv", "kv": {"strategy": "snapkv:budget_tokens=1024"}},
      {"name": "h2o", "kv": {"strategy": "h2o"}},
      {"name": "streaming-llm", "kv": {"strategy": "streaming-llm"}},
      {"name": "quest", "kv": {"strategy": "quest"}},
      {"name": "snapkv-kivi-2", "kv": {"strategy": "snapkv:budget_tokens=1024+kivi-2"}}
    ]
  })");
}

}  // namespace kvsim
