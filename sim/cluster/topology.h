// The machines of a cluster as a graph (Boost.Graph): GPUs, host memory (CPU sockets), NICs and switches, joined by
// links with a bandwidth per direction and a latency. A transfer between two nodes takes the path of least latency
// (fewest links on ties) and costs the path's summed latency plus bytes / its bottleneck bandwidth.
//
// Concurrent transfers: path() prices one alone; KV moves of disaggregation share links (sim/cluster/
// link_sharing.h). The presets give GPU i of a DGX/HGX its own NIC i (rails).
//
// Forms: a preset name (`kvsim topology --list`), {"preset": NAME, "nodes": N} for N such machines joined by a
// network switch (node names prefixed "n<i>."), or {"nodes": [{"name", "kind"}], "links": [{"a", "b",
// "bandwidth_GBps", "latency_us", "class"}]}. Every GPU must reach every other GPU.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kvsim {

enum class TopologyNodeKind : std::uint8_t { kGpu, kHost, kNic, kSwitch };

class Topology {
 public:
  struct Node {
    std::string name;
    TopologyNodeKind kind;
  };
  struct Link {
    std::size_t a, b;
    double bandwidth_Bps;  // per direction
    double latency_s;
    std::string link_class;  // "nvlink", "pcie", "network", ... (bytes are reported per class)
  };
  struct Path {
    std::vector<std::size_t> links;  // in order from the source
    double bottleneck_Bps = 0;       // the smallest per-direction bandwidth on the path (infinite for no link)
    double latency_s = 0;            // summed over its links
    double seconds(double bytes) const;  // latency_s + bytes / bottleneck_Bps
  };

  // Reads one of the forms above; errors name `where` and the key, node or link at fault.
  static Topology from_json(const nlohmann::json& j, const std::string& where);
  // A built-in machine, e.g. "dgx-h100"; throws KvsimError listing the presets.
  static Topology preset(std::string_view name, const std::string& where);
  static std::vector<std::string> preset_names();
  // One line per preset: what it models and its sources.
  static std::string preset_description(std::string_view name);

  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<Link>& links() const { return links_; }
  std::vector<std::string> gpus() const;  // GPU names, in node order
  // The node named `name`; throws KvsimError naming `where` and listing some nodes.
  std::size_t node(std::string_view name, const std::string& where) const;
  // The least-latency path from `from` to `to` (fewest links on ties); empty and free for a node to itself.
  Path path(std::size_t from, std::size_t to) const;
  nlohmann::json to_json() const;

 private:
  void add_node(std::string name, TopologyNodeKind kind, const std::string& where);
  void add_link(std::size_t a, std::size_t b, double bandwidth_GBps, double latency_us, std::string link_class);
  void check_connected(const std::string& where) const;
  std::vector<Node> nodes_;
  std::vector<Link> links_;
};

std::string_view node_kind_name(TopologyNodeKind kind);

}  // namespace kvsim
