// Cluster topology as a graph (see topology.h).
#include "sim/cluster/topology.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/error.h"
#include "sim/core/param_reader.h"

namespace kvsim {

namespace {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, boost::no_property,
                                    boost::property<boost::edge_weight_t, double>>;

// A link's weight for path finding: its latency plus a picosecond, so that of equal latencies the path of fewer
// links wins.
constexpr double kPerLinkTieBreak_s = 1e-12;

// Round latencies of the built-in machines (assumptions, not measurements: a small message's one-way time through
// one link of the class, switch included); bandwidths are datasheet figures.
constexpr double kNvlinkLatency_us = 1.0;
constexpr double kPcieLatency_us = 1.0;
constexpr double kSocketLatency_us = 1.0;
constexpr double kNetworkLatency_us = 2.0;

struct PresetSpec {
  std::string_view name;
  std::string_view description;
  int gpus;
  double nvlink_GBps;  // per GPU per direction through NVSwitch; 0: none
  double gpu_pcie_GBps;
  int gpus_per_pcie_switch;
  double switch_uplink_GBps;  // PCIe switch to CPU socket
  double nic_GBps;            // per NIC per direction
  int nics_per_pcie_switch;
  double socket_link_GBps;    // between the two CPU sockets
};

constexpr PresetSpec kPresets[] = {
    {"dgx-h100",
     "NVIDIA DGX H100: 8 H100 SXM5 on four NVSwitches (NVLink 4: 900 GB/s per GPU both ways, 450 each way), PCIe "
     "Gen5 x16 to the hosts (64 GB/s each way), 8 ConnectX-7 400 Gb/s compute NICs (50 GB/s), two Xeon 8480C "
     "sockets (DGX H100 user guide and datasheet); the PCIe switch layout (2 GPUs and 2 NICs per switch, 2 switches "
     "per socket), the socket link (~100 GB/s) and all latencies are round assumptions",
     8, 450, 64, 2, 64, 50, 2, 100},
    {"hgx-h200",
     "NVIDIA HGX H200 8-GPU: 8 H200 SXM on NVSwitch (NVLink 4, 450 GB/s each way per GPU), PCIe Gen5 x16 hosts, "
     "8 x 400 Gb/s NICs (NVIDIA HGX H200 datasheet); PCIe layout, socket link and latencies as for dgx-h100 "
     "(assumptions)",
     8, 450, 64, 2, 64, 50, 2, 100},
    {"l40s-8x-pcie",
     "An 8 x L40S PCIe server: no NVLink, each GPU PCIe Gen4 x16 (32 GB/s each way; NVIDIA L40S datasheet) behind "
     "four PCIe switches (2 GPUs and 1 NIC of 200 Gb/s = 25 GB/s each), two sockets; switch layout, NICs, socket "
     "link (~100 GB/s) and latencies are assumptions of a typical OEM server, not one product's",
     8, 0, 32, 2, 64, 25, 1, 100},
};

const PresetSpec* find_preset(std::string_view name) {
  for (const PresetSpec& p : kPresets) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

TopologyNodeKind kind_of(const std::string& s, const std::string& where) {
  if (s == "gpu") return TopologyNodeKind::kGpu;
  if (s == "host") return TopologyNodeKind::kHost;
  if (s == "nic") return TopologyNodeKind::kNic;
  if (s == "switch") return TopologyNodeKind::kSwitch;
  throw KvsimError(fmt::format("{}: unknown node kind '{}'; expected gpu, host, nic or switch", where, s));
}

}  // namespace

std::string_view node_kind_name(TopologyNodeKind kind) {
  switch (kind) {
    case TopologyNodeKind::kGpu: return "gpu";
    case TopologyNodeKind::kHost: return "host";
    case TopologyNodeKind::kNic: return "nic";
    case TopologyNodeKind::kSwitch: return "switch";
  }
  return "?";
}

double Topology::Path::seconds(double bytes) const {
  if (links.empty()) return 0;
  return latency_s + bytes / bottleneck_Bps;
}

void Topology::add_node(std::string name, TopologyNodeKind kind, const std::string& where) {
  for (const Node& n : nodes_) {
    if (n.name == name) throw KvsimError(fmt::format("{}: node '{}' is listed twice", where, name));
  }
  nodes_.push_back({std::move(name), kind});
}

void Topology::add_link(std::size_t a, std::size_t b, double bandwidth_GBps, double latency_us,
                        std::string link_class) {
  links_.push_back({a, b, bandwidth_GBps * 1e9, latency_us * 1e-6, std::move(link_class)});
}

std::vector<std::string> Topology::preset_names() {
  std::vector<std::string> out;
  for (const PresetSpec& p : kPresets) out.emplace_back(p.name);
  return out;
}

std::string Topology::preset_description(std::string_view name) {
  const PresetSpec* p = find_preset(name);
  return p ? std::string(p->description) : std::string();
}

Topology Topology::preset(std::string_view name, const std::string& where) {
  const PresetSpec* p = find_preset(name);
  if (p == nullptr) {
    throw KvsimError(fmt::format("{}: unknown topology preset '{}'; available: {}", where, name,
                                 fmt::join(preset_names(), ", ")));
  }
  Topology t;
  const int switches = p->gpus / p->gpus_per_pcie_switch;
  const int nics = switches * p->nics_per_pcie_switch;
  for (int i = 0; i < p->gpus; ++i) t.add_node(fmt::format("gpu{}", i), TopologyNodeKind::kGpu, where);
  for (int s = 0; s < 2; ++s) t.add_node(fmt::format("cpu{}", s), TopologyNodeKind::kHost, where);
  for (int s = 0; s < switches; ++s) t.add_node(fmt::format("pcie{}", s), TopologyNodeKind::kSwitch, where);
  for (int n = 0; n < nics; ++n) t.add_node(fmt::format("nic{}", n), TopologyNodeKind::kNic, where);
  const std::size_t cpu0 = static_cast<std::size_t>(p->gpus), sw0 = cpu0 + 2, nic0 = sw0 + switches;
  if (p->nvlink_GBps > 0) {
    t.add_node("nvswitch", TopologyNodeKind::kSwitch, where);
    const std::size_t nv = t.nodes_.size() - 1;
    for (int i = 0; i < p->gpus; ++i) t.add_link(static_cast<std::size_t>(i), nv, p->nvlink_GBps, kNvlinkLatency_us, "nvlink");
  }
  for (int i = 0; i < p->gpus; ++i) {
    t.add_link(static_cast<std::size_t>(i), sw0 + static_cast<std::size_t>(i / p->gpus_per_pcie_switch),
               p->gpu_pcie_GBps, kPcieLatency_us, "pcie");
  }
  for (int s = 0; s < switches; ++s) {
    t.add_link(sw0 + static_cast<std::size_t>(s), cpu0 + static_cast<std::size_t>(s * 2 / switches),
               p->switch_uplink_GBps, kPcieLatency_us, "pcie");
  }
  for (int n = 0; n < nics; ++n) {
    t.add_link(nic0 + static_cast<std::size_t>(n), sw0 + static_cast<std::size_t>(n / p->nics_per_pcie_switch),
               p->gpu_pcie_GBps, kPcieLatency_us, "pcie");
  }
  // One NIC per GPU (DGX/HGX rails): GPU i reaches NIC i on its PCIe switch peer to peer (GPUDirect RDMA), one link
  // whose bandwidth is the GPU's PCIe; without it, ties between a switch's NICs would put two GPUs on one NIC.
  if (p->nics_per_pcie_switch == p->gpus_per_pcie_switch) {
    for (int i = 0; i < p->gpus; ++i) {
      t.add_link(static_cast<std::size_t>(i), nic0 + static_cast<std::size_t>(i), p->gpu_pcie_GBps, kPcieLatency_us,
                 "pcie");
    }
  }
  t.add_link(cpu0, cpu0 + 1, p->socket_link_GBps, kSocketLatency_us, "socket");
  t.check_connected(where);
  return t;
}

Topology Topology::from_json(const nlohmann::json& j, const std::string& where) {
  if (j.is_string()) return preset(j.get<std::string>(), where);
  ParamReader r(j, where);
  if (r.has("preset")) {
    const std::string name = r.require<std::string>("preset");
    const int machines = r.get_positive<int>("nodes", 1);
    r.check(machines <= 1024, "nodes", "at most 1024 machines");
    r.finish();
    const Topology one = preset(name, r.full("preset"));
    if (machines == 1) return one;
    // N machines, their NICs on one network switch.
    Topology t;
    for (int m = 0; m < machines; ++m) {
      for (const Node& n : one.nodes_) t.add_node(fmt::format("n{}.{}", m, n.name), n.kind, where);
    }
    t.add_node("fabric", TopologyNodeKind::kSwitch, where);
    const std::size_t fabric = t.nodes_.size() - 1, per = one.nodes_.size();
    for (int m = 0; m < machines; ++m) {
      const std::size_t base = static_cast<std::size_t>(m) * per;
      for (const Link& l : one.links_) {
        t.links_.push_back({base + l.a, base + l.b, l.bandwidth_Bps, l.latency_s, l.link_class});
      }
      for (std::size_t i = 0; i < per; ++i) {
        if (one.nodes_[i].kind != TopologyNodeKind::kNic) continue;
        const PresetSpec* p = find_preset(name);
        t.add_link(base + i, fabric, p->nic_GBps, kNetworkLatency_us, "network");
      }
    }
    t.check_connected(where);
    return t;
  }
  Topology t;
  const nlohmann::json* nodes = r.raw("nodes");
  const nlohmann::json* links = r.raw("links");
  r.check(nodes != nullptr && nodes->is_array() && !nodes->empty(), "nodes",
          "expected a preset name, {\"preset\": name, \"nodes\": N}, or a list of {\"name\", \"kind\"}");
  r.check(links != nullptr && links->is_array(), "links", "expected a list of {\"a\", \"b\", \"bandwidth_GBps\", "
                                                          "\"latency_us\", \"class\"}");
  r.finish();
  for (std::size_t i = 0; i < nodes->size(); ++i) {
    const std::string at = fmt::format("{}.nodes[{}]", where, i);
    ParamReader n((*nodes)[i], at);
    const std::string name = n.require_nonempty("name");
    const TopologyNodeKind kind = kind_of(n.require<std::string>("kind"), n.full("kind"));
    n.finish();
    t.add_node(name, kind, at);
  }
  for (std::size_t i = 0; i < links->size(); ++i) {
    const std::string at = fmt::format("{}.links[{}]", where, i);
    ParamReader l((*links)[i], at);
    const std::size_t a = t.node(l.require<std::string>("a"), l.full("a"));
    const std::size_t b = t.node(l.require<std::string>("b"), l.full("b"));
    l.check(a != b, "b", "a link joins two different nodes");
    const double bw = l.require_positive<double>("bandwidth_GBps");
    l.check(std::isfinite(bw) && bw <= 1e6, "bandwidth_GBps", "expected GB/s per direction, > 0");
    const double lat = l.get_non_negative<double>("latency_us", 0.0);
    l.check(std::isfinite(lat) && lat <= 1e6, "latency_us", "expected microseconds, >= 0");
    const std::string cls = l.get<std::string>("class", "link");
    l.finish();
    t.add_link(a, b, bw, lat, cls);
  }
  t.check_connected(where);
  return t;
}

void Topology::check_connected(const std::string& where) const {
  Graph g(nodes_.size());
  for (const Link& l : links_) boost::add_edge(l.a, l.b, g);
  std::vector<int> component(nodes_.size());
  boost::connected_components(g, component.data());
  const std::vector<std::string> gpu_names = gpus();
  if (gpu_names.empty()) throw KvsimError(where + ": a topology needs at least one node of kind gpu");
  const std::size_t first = node(gpu_names.front(), where);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].kind == TopologyNodeKind::kGpu && component[i] != component[first]) {
      throw KvsimError(fmt::format("{}: gpu '{}' is not connected to gpu '{}': no chain of links joins them", where,
                                   nodes_[i].name, nodes_[first].name));
    }
  }
}

std::vector<std::string> Topology::gpus() const {
  std::vector<std::string> out;
  for (const Node& n : nodes_) {
    if (n.kind == TopologyNodeKind::kGpu) out.push_back(n.name);
  }
  return out;
}

std::size_t Topology::node(std::string_view name, const std::string& where) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return i;
  }
  std::vector<std::string> some;
  for (std::size_t i = 0; i < nodes_.size() && i < 12; ++i) some.push_back(nodes_[i].name);
  throw KvsimError(fmt::format("{}: unknown node '{}'; nodes include: {}{}", where, name, fmt::join(some, ", "),
                               nodes_.size() > 12 ? ", ..." : ""));
}

Topology::Path Topology::path(std::size_t from, std::size_t to) const {
  Path p;
  p.bottleneck_Bps = std::numeric_limits<double>::infinity();
  if (from == to) return p;
  Graph g(nodes_.size());
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> link_of;  // the fastest link between two nodes
  for (std::size_t i = 0; i < links_.size(); ++i) {
    const Link& l = links_[i];
    boost::add_edge(l.a, l.b, l.latency_s + kPerLinkTieBreak_s, g);
    const auto key = std::minmax(l.a, l.b);
    const auto it = link_of.find(key);
    if (it == link_of.end() || links_[it->second].latency_s > l.latency_s ||
        (links_[it->second].latency_s == l.latency_s && links_[it->second].bandwidth_Bps < l.bandwidth_Bps)) {
      link_of[key] = i;
    }
  }
  std::vector<std::size_t> pred(nodes_.size());
  std::vector<double> dist(nodes_.size());
  boost::dijkstra_shortest_paths(g, from, boost::predecessor_map(pred.data()).distance_map(dist.data()));
  if (pred[to] == to) return p;  // unreachable (check_connected() rules it out between GPUs)
  std::vector<std::size_t> hops;
  for (std::size_t v = to; v != from; v = pred[v]) hops.push_back(link_of.at(std::minmax(v, pred[v])));
  std::reverse(hops.begin(), hops.end());
  for (const std::size_t i : hops) {
    p.latency_s += links_[i].latency_s;
    p.bottleneck_Bps = std::min(p.bottleneck_Bps, links_[i].bandwidth_Bps);
  }
  p.links = std::move(hops);
  return p;
}

nlohmann::json Topology::to_json() const {
  nlohmann::json nodes = nlohmann::json::array(), links = nlohmann::json::array();
  for (const Node& n : nodes_) nodes.push_back({{"name", n.name}, {"kind", node_kind_name(n.kind)}});
  for (const Link& l : links_) {
    links.push_back({{"a", nodes_[l.a].name},
                     {"b", nodes_[l.b].name},
                     {"bandwidth_GBps", l.bandwidth_Bps / 1e9},
                     {"latency_us", l.latency_s * 1e6},
                     {"class", l.link_class}});
  }
  return {{"nodes", nodes}, {"links", links}};
}

}  // namespace kvsim
