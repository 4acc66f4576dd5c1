// The cluster topology: paths of least latency, priced by their bottleneck bandwidth and summed latency; presets;
// strict reading.
#include <gtest/gtest.h>

#include "sim/cluster/topology.h"
#include "tests/common/error_of.h"

namespace kvsim {
namespace {

// gpu0 - sw (64 GB/s, 1 us) - gpu1 (32 GB/s, 2 us); and a slow direct link gpu0 - gpu1 (100 GB/s, 5 us).
nlohmann::json small() {
  return nlohmann::json::parse(R"({
    "nodes": [{"name": "gpu0", "kind": "gpu"}, {"name": "gpu1", "kind": "gpu"}, {"name": "sw", "kind": "switch"},
              {"name": "cpu", "kind": "host"}],
    "links": [{"a": "gpu0", "b": "sw", "bandwidth_GBps": 64, "latency_us": 1, "class": "pcie"},
              {"a": "sw", "b": "gpu1", "bandwidth_GBps": 32, "latency_us": 2, "class": "pcie"},
              {"a": "gpu0", "b": "gpu1", "bandwidth_GBps": 100, "latency_us": 5, "class": "nvlink"},
              {"a": "sw", "b": "cpu", "bandwidth_GBps": 16, "latency_us": 0.5}]})");
}

TEST(Topology, ATransferCostsItsBottleneckBandwidthPlusSummedLatency) {
  const Topology t = Topology::from_json(small(), "t.json");
  // Least latency: gpu0 - sw - gpu1 (3 us) rather than the direct link (5 us).
  const Topology::Path p = t.path(t.node("gpu0", "t"), t.node("gpu1", "t"));
  ASSERT_EQ(p.links.size(), 2u);
  EXPECT_DOUBLE_EQ(p.latency_s, 3e-6);
  EXPECT_DOUBLE_EQ(p.bottleneck_Bps, 32e9);
  EXPECT_DOUBLE_EQ(p.seconds(1e9), 3e-6 + 1.0 / 32);  // 1 GB at 32 GB/s
  // To the host: gpu1 - sw - cpu, 16 GB/s, 2.5 us.
  const Topology::Path h = t.path(t.node("gpu1", "t"), t.node("cpu", "t"));
  EXPECT_DOUBLE_EQ(h.seconds(16e9), 2.5e-6 + 1.0);
  // A node to itself: nothing moves.
  EXPECT_DOUBLE_EQ(t.path(0, 0).seconds(1e9), 0.0);
}

TEST(Topology, OfEqualLatenciesTheFewestLinksWin) {
  nlohmann::json j = small();
  j["links"][2]["latency_us"] = 3;  // the direct link as fast as the two-link path
  const Topology t = Topology::from_json(j, "t.json");
  const Topology::Path p = t.path(t.node("gpu0", "t"), t.node("gpu1", "t"));
  ASSERT_EQ(p.links.size(), 1u);
  EXPECT_EQ(t.links()[p.links[0]].link_class, "nvlink");
}

TEST(Topology, PresetsModelTheirMachines) {
  const Topology dgx = Topology::preset("dgx-h100", "hardware.topology");
  EXPECT_EQ(dgx.gpus().size(), 8u);
  // GPU to GPU through NVSwitch: 450 GB/s each way, two links.
  const Topology::Path nv = dgx.path(dgx.node("gpu0", "t"), dgx.node("gpu7", "t"));
  EXPECT_EQ(nv.links.size(), 2u);
  EXPECT_DOUBLE_EQ(nv.bottleneck_Bps, 450e9);
  // Two DGX machines: across them through NICs and the network switch, 50 GB/s (400 Gb/s).
  const Topology two = Topology::from_json({{"preset", "dgx-h100"}, {"nodes", 2}}, "hardware.topology");
  EXPECT_EQ(two.gpus().size(), 16u);
  const Topology::Path net = two.path(two.node("n0.gpu0", "t"), two.node("n1.gpu0", "t"));
  EXPECT_DOUBLE_EQ(net.bottleneck_Bps, 50e9);
  // The L40S server has no NVLink: GPUs on different sockets cross PCIe and the socket link at 32 GB/s.
  const Topology pcie = Topology::from_json("l40s-8x-pcie", "hardware.topology");
  const Topology::Path far = pcie.path(pcie.node("gpu0", "t"), pcie.node("gpu7", "t"));
  EXPECT_DOUBLE_EQ(far.bottleneck_Bps, 32e9);
  for (const Topology::Link& l : pcie.links()) EXPECT_NE(l.link_class, "nvlink");
  // The JSON form reads back the same machine.
  const Topology again = Topology::from_json(dgx.to_json(), "again");
  EXPECT_EQ(again.to_json(), dgx.to_json());
}

TEST(Topology, BadInputIsNamed) {
  const auto error = [](const nlohmann::json& j) { return testing::error_of([&] { Topology::from_json(j, "t.json"); }); };
  nlohmann::json j = small();
  j["nodes"].push_back({{"name", "gpu9"}, {"kind", "gpu"}});  // no link reaches it
  std::string err = error(j);
  EXPECT_NE(err.find("gpu9"), std::string::npos) << err;
  EXPECT_NE(err.find("not connected"), std::string::npos) << err;
  j = small();
  j["links"][0]["b"] = "nowhere";
  err = error(j);
  EXPECT_NE(err.find("t.json.links[0].b"), std::string::npos) << err;
  EXPECT_NE(err.find("nowhere"), std::string::npos) << err;
  j = small();
  j["links"][1]["bandwidth_GBps"] = 0;
  EXPECT_NE(error(j).find("bandwidth_GBps"), std::string::npos);
  j = small();
  j["nodes"][3]["kind"] = "tpu";
  EXPECT_NE(error(j).find("tpu"), std::string::npos);
  j = small();
  j["nodes"][1]["name"] = "gpu0";
  EXPECT_NE(error(j).find("twice"), std::string::npos);
  err = error("dgx-a100");
  EXPECT_NE(err.find("dgx-h100"), std::string::npos) << err;  // lists the presets
  j = small();
  j["links"][0]["speed"] = 1;
  EXPECT_NE(error(j).find("speed"), std::string::npos);
}

}  // namespace
}  // namespace kvsim
