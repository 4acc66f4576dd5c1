// `kvsim topology`: a cluster topology (a preset or a JSON file): its nodes and links, and the path and time of a
// transfer between two of its nodes.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "sim/cluster/topology.h"
#include "sim/config/json_input.h"
#include "sim/core/error.h"
#include "tools/kvsim/cli_checks.h"
#include "tools/kvsim/commands.h"

namespace kvsim::cli {

void add_topology_command(CLI::App& app) {
  struct Args {
    std::string topology, from, to;
    double bytes = 0;
    int nodes = 1;
    bool list = false, json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "topology",
      "A cluster topology: a preset (--list) or a JSON file ({\"nodes\": [...], \"links\": [...]}, sim/README.md),\n"
      "its nodes and links; with --from and --to, the path a transfer takes (least latency, then fewest links) and\n"
      "its time for --bytes: summed latency + bytes / the bottleneck bandwidth.");
  cmd->add_option("topology", a->topology, "preset name or JSON file");
  cmd->add_option("--nodes", a->nodes, "machines of a preset, joined by a network switch")->check(integer_in(1, 1024));
  cmd->add_option("--from", a->from, "source node, e.g. gpu0 (n0.gpu0 with --nodes)");
  cmd->add_option("--to", a->to, "destination node");
  cmd->add_option("--bytes", a->bytes, "bytes to move")->check(number_in(0, 1e18, "bytes"));
  cmd->add_flag("--list", a->list, "list the presets");
  cmd->add_flag("--json", a->json, "print JSON");
  cmd->callback([a] {
    if (a->list || a->topology.empty()) {
      for (const std::string& p : Topology::preset_names()) {
        fmt::print("{:<14} {}\n", p, Topology::preset_description(p));
      }
      return;
    }
    nlohmann::json spec;
    std::string where = a->topology;
    if (a->topology.find(".json") != std::string::npos) {
      spec = parse_json_file(a->topology);
    } else {
      spec = {{"preset", a->topology}, {"nodes", a->nodes}};
      where = "topology";
    }
    const Topology t = Topology::from_json(spec, where);
    if (a->from.empty() != a->to.empty()) throw KvsimError("topology: give both --from and --to");
    if (a->from.empty()) {
      if (a->json) {
        fmt::print("{}\n", t.to_json().dump(2));
        return;
      }
      fmt::print("{} nodes ({} GPUs), {} links\n", t.nodes().size(), t.gpus().size(), t.links().size());
      for (const Topology::Link& l : t.links()) {
        fmt::print("  {:<12} - {:<12} {:>8.1f} GB/s each way  {:>6.2f} us  {}\n", t.nodes()[l.a].name,
                   t.nodes()[l.b].name, l.bandwidth_Bps / 1e9, l.latency_s * 1e6, l.link_class);
      }
      return;
    }
    const Topology::Path p = t.path(t.node(a->from, "--from"), t.node(a->to, "--to"));
    nlohmann::json hops = nlohmann::json::array();
    std::size_t at = t.node(a->from, "--from");
    for (const std::size_t i : p.links) {
      const Topology::Link& l = t.links()[i];
      const std::size_t next = l.a == at ? l.b : l.a;
      hops.push_back({{"from", t.nodes()[at].name}, {"to", t.nodes()[next].name},
                      {"bandwidth_GBps", l.bandwidth_Bps / 1e9}, {"latency_us", l.latency_s * 1e6},
                      {"class", l.link_class}});
      at = next;
    }
    const double seconds = p.seconds(a->bytes);
    if (a->json) {
      fmt::print("{}\n", nlohmann::json{{"from", a->from}, {"to", a->to}, {"bytes", a->bytes}, {"hops", hops},
                                        {"bottleneck_GBps", p.links.empty() ? 0.0 : p.bottleneck_Bps / 1e9},
                                        {"latency_us", p.latency_s * 1e6}, {"seconds", seconds}}
                                .dump(2));
      return;
    }
    for (const auto& h : hops) {
      fmt::print("  {} -> {}  {:.1f} GB/s, {:.2f} us ({})\n", h["from"].get<std::string>(),
                 h["to"].get<std::string>(), h["bandwidth_GBps"].get<double>(), h["latency_us"].get<double>(),
                 h["class"].get<std::string>());
    }
    fmt::print("{} bytes: {:.6g} s (latency {:.2f} us + bytes / {:.1f} GB/s)\n", a->bytes, seconds,
               p.latency_s * 1e6, p.links.empty() ? 0.0 : p.bottleneck_Bps / 1e9);
  });
}

}  // namespace kvsim::cli
