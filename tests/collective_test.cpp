#include "collective/collective.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "collective/nccl_tests.h"
#include "core/csv.h"
#include "spec/readers.h"
#include "test_util.h"

namespace scaleplan::collective {
namespace {

using scaleplan::testing::Must;

// node: 4 GPUs at 100 GB/s, 1 us; rack: 16 GPUs at 10 GB/s per GPU, 10 us.
spec::ClusterSpec TwoTier() {
  return Must(spec::ParseClusterYaml(
      "name: two-tier\ngpu: h100-sxm\ntiers:\n"
      "  - {name: node, gpus: 4, bandwidth_bytes_per_s: 100e9, latency_s: 1e-6}\n"
      "  - {name: rack, gpus: 16, bandwidth_bytes_per_s: 10e9, latency_s: 10e-6}\n",
      "test"));
}

// Ring all-reduce of S = 1 GB over the 4 GPUs of a node (NVLS needs 8):
//   t = t0 + 2(n-1) alpha + 2(n-1)/n * S / (eta_nvl * beta)
//     = 20 us + 6 * 1 us + 1.5 * 1e9 / (0.82 * 100e9) = 26e-6 + 0.0182926... s
TEST(Collective, RingAllReduceInsideANode) {
  spec::ClusterSpec c = TwoTier();
  GroupShape g = ConsecutiveGroup(4, c);
  EXPECT_EQ(g.span_tier, 0);
  Cost cost = Estimate(c, g, Op::kAllReduce, 1e9);
  EXPECT_EQ(cost.algorithm, Algorithm::kRing);
  EXPECT_NEAR(cost.seconds, 26e-6 + 1.5e9 / (0.82 * 100e9), 1e-12);
  // Tree: 20 us + 2 * ceil(log2 4) * 1 us + 2 S / B = 24e-6 + 0.02439 s: slower for 1 GB...
  // ...but faster for 8 bytes, where latency dominates: ring 26 us vs tree 24 us.
  EXPECT_EQ(Estimate(c, g, Op::kAllReduce, 8).algorithm, Algorithm::kTree);
}

// Two tiers: 16 consecutive ranks, 4 per node. The ring's per-rank bandwidth is the smaller of
// NVLink (0.82 * 100 GB/s = 82 GB/s) and the 4 NICs a node's crossings spread over
// (0.94 * 10 GB/s * 4 = 37.6 GB/s); every step pays the rack latency.
//   all-reduce 1 GB: 20 us + 30 * 10 us + 2 * 15/16 * 1e9 / 37.6e9 = 320e-6 + 0.0498670 s
TEST(Collective, HierarchicalAllReduceAcrossTwoTiers) {
  spec::ClusterSpec c = TwoTier();
  GroupShape g = ConsecutiveGroup(16, c);
  EXPECT_EQ(g.span_tier, 1);
  Cost cost = Estimate(c, g, Op::kAllReduce, 1e9);
  EXPECT_NEAR(cost.seconds, 320e-6 + 2.0 * 15.0 / 16.0 * 1e9 / 37.6e9, 1e-12);
  // One member per node (stride 4): the ring runs at one NIC's 9.4 GB/s.
  GroupShape strided = ShapeOf(topology::PlaceStrided(c, 4, 4), c);
  EXPECT_EQ(strided.members_per_group[0], 1);
  EXPECT_NEAR(Estimate(c, strided, Op::kAllGather, 1e9).seconds, 20e-6 + 3 * 10e-6 + 0.75e9 / 9.4e9,
              1e-12);
}

TEST(Collective, GroupInsideANodeNeverTouchesTheNetwork) {
  spec::ClusterSpec c = TwoTier();
  GroupShape g = ConsecutiveGroup(4, c);
  double before = Estimate(c, g, Op::kReduceScatter, 1e8).seconds;
  c.tiers[1].bandwidth_bytes_per_s = 1.0;
  c.tiers[1].latency_s = 1.0;
  EXPECT_EQ(Estimate(c, g, Op::kReduceScatter, 1e8).seconds, before);
}

TEST(Collective, NothingToDoCostsNothing) {
  spec::ClusterSpec c = TwoTier();
  EXPECT_EQ(Estimate(c, ConsecutiveGroup(1, c), Op::kAllReduce, 1e9).seconds, 0.0);
  EXPECT_EQ(Estimate(c, ConsecutiveGroup(8, c), Op::kAllGather, 0).seconds, 0.0);
}

// All-to-all of 1.6 GB per rank over 16 ranks, 4 per node: 3/16 of it stays in the node
// (0.3 GB over 82 GB/s), 12/16 leaves it through the rank's own NIC (1.2 GB over 9.4 GB/s).
//   t = t0 + alpha_rack + 15 o_peer + 1.2e9 / 9.4e9 = 20 us + 10 us + 15 * 0.80 us + 0.12766 s
TEST(Collective, AllToAllIsBoundByTheRanksOwnNic) {
  spec::ClusterSpec c = TwoTier();
  EXPECT_NEAR(Estimate(c, ConsecutiveGroup(16, c), Op::kAllToAll, 1.6e9).seconds,
              42e-6 + 1.2e9 / 9.4e9, 1e-12);
}

// The messages of an all-to-all are in flight together: a small one over 64 ranks of one tier
// pays the wire latency once and o_peer per peer. 64 B per rank, one 64-GPU tier at 100 GB/s:
//   t = 20 us + 1 us + 63 * 0.80 us + 64 * 63/64 B / 82 GB/s = 71.4 us + 0.77 ns
TEST(Collective, AllToAllPaysTheWireLatencyOnce) {
  spec::ClusterSpec c = Must(spec::ParseClusterYaml(
      "name: one-domain\ngpu: h100-sxm\ntiers:\n"
      "  - {name: nvl, gpus: 64, bandwidth_bytes_per_s: 100e9, latency_s: 1e-6}\n",
      "test"));
  EXPECT_NEAR(Estimate(c, ConsecutiveGroup(64, c), Op::kAllToAll, 64).seconds,
              71.4e-6 + 63.0 / 82e9, 1e-12);
}

CsvTable XlaCollectives() {
  return Must(ParseCsv(Must(spec::ReadFile(std::string(SCALEPLAN_TEST_DIR) +
                                           "/../data/calibration/xla-collectives.csv")),
                       "xla-collectives.csv"));
}

// The least-squares slope of XLA's time over ring steps (n - 1) for `op` on `device`: groups of 8
// to 72, messages up to 256 KiB (where the bandwidth term is under 1 us), rows whose throughput
// has two digits (>= 0.1 GB/s; the rounded ones overstate the time). `rows` counts those used.
double SmallMessageSlope(const CsvTable& t, const std::string& device, const std::string& op,
                         int* rows) {
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    if (t.Cell(r, "device_key") != device || t.Cell(r, "opcode") != op) continue;
    double ranks = std::stod(t.Cell(r, "devices_per_group"));
    if (ranks < 8 || std::stod(t.Cell(r, "tensor_size_bytes")) > 262144 ||
        std::stod(t.Cell(r, "throughput_GBps")) < 0.1)
      continue;
    double x = ranks - 1, y = std::stod(t.Cell(r, "implied_time_us")) * 1e-6;
    n += 1, sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  *rows = static_cast<int>(n);
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

// o_peer is the slope of XLA's measured all-to-all time over group size on the NVL72 domains
// (GB200, GB300): recomputed here from the bundled rows, it is within 0.05 us of the constant
// (0.804 and 0.795 us per peer; 0.98 and 0.91 with the rounded rows).
TEST(Collective, AllToAllPeerCostIsTheMeasuredSlope) {
  CsvTable t = XlaCollectives();
  for (const char* device : {"sm_100_GB200", "sm_103"}) {
    int rows = 0;
    double slope = SmallMessageSlope(t, device, "all-to-all", &rows);
    ASSERT_GT(rows, 50) << device;  // 57 and 55 rows
    EXPECT_NEAR(slope, kAllToAllPerPeerS, 0.05e-6) << device;
  }
}

// The NVL72 presets' NVLink latency is the slope of XLA's all-gather and reduce-scatter times over
// ring steps in the GB200 and GB300 domains: 48 rows each; the slopes are 1.34 and 1.38 us
// (GB200), 1.41 and 1.37 us (GB300), each within 0.1 us of the presets' 1.4 us. (Hopper's 4 us
// comes from nccl-tests at 8 MiB and more, where NCCL runs its Simple protocol; these small
// messages run its low-latency ones.)
TEST(Collective, Nvl72StepLatencyIsTheMeasuredSlope) {
  CsvTable t = XlaCollectives();
  const std::vector<std::pair<std::string, std::string>> domains = {{"sm_100_GB200", "gb200-nvl72"},
                                                                    {"sm_103", "gb300-nvl72"}};
  for (const auto& [device, preset] : domains) {
    const double alpha = Must(spec::LoadCluster(preset)).tiers[0].latency_s;
    for (const char* op : {"all-gather", "reduce-scatter"}) {
      int rows = 0;
      double slope = SmallMessageSlope(t, device, op, &rows);
      ASSERT_EQ(rows, 48) << device << " " << op;
      EXPECT_NEAR(slope, alpha, 0.1e-6) << device << " " << op;
    }
  }
}

// The Blackwell presets' nvlink_efficiency_scale: over XLA's all-gather, reduce-scatter,
// all-reduce and all-to-all on groups of 8, the time each adds from 256 MiB to 1 GiB on the H100
// node over the same on the Blackwell GPU, times the ratio of their links (450 / 900 GB/s): the
// fraction of its link a Blackwell GPU's collectives reach against Hopper's, the fixed latency
// left out by the difference. 4 ratios each, averaged: B200 (0.865, 0.974, 0.761, 0.923) 0.881,
// GB200 0.940, GB300 (sm_103) 0.949. Repeated rows of one key (GB200 runs 8 and 9 groups of 8 at
// once) are averaged.
TEST(Collective, BlackwellNvlinkScaleIsTheMeasuredRatio) {
  CsvTable t = XlaCollectives();
  std::map<std::string, std::pair<double, int>> time;  // device|op|bytes -> sum, count
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::string& bytes = t.Cell(r, "tensor_size_bytes");
    if (t.Cell(r, "devices_per_group") != "8" || (bytes != "268435456" && bytes != "1073741824"))
      continue;
    auto& [sum, count] = time[t.Cell(r, "device_key") + "|" + t.Cell(r, "opcode") + "|" + bytes];
    sum += std::stod(t.Cell(r, "implied_time_us"));
    ++count;
  }
  auto mean = [&](const std::string& key) {
    auto it = time.find(key);
    EXPECT_NE(it, time.end()) << key;
    return it == time.end() ? 0.0 : it->second.first / it->second.second;
  };
  auto added = [&](const std::string& device, const char* op) {
    const std::string key = device + "|" + op + "|";
    return mean(key + "1073741824") - mean(key + "268435456");
  };
  const spec::GpuSpec h100 = Must(spec::LoadGpu("h100-sxm"));
  const std::vector<std::pair<std::string, std::string>> devices = {
      {"sm_100_B200", "b200"}, {"sm_100_GB200", "gb200"}, {"sm_103", "gb300"}};
  for (const auto& [device, preset] : devices) {
    const spec::GpuSpec gpu = Must(spec::LoadGpu(preset));
    double sum = 0;
    for (const char* op : {"all-gather", "reduce-scatter", "all-reduce", "all-to-all"}) {
      sum += added("sm_90", op) / added(device, op) *
             (h100.nvlink_bandwidth_bytes_per_s / gpu.nvlink_bandwidth_bytes_per_s);
    }
    EXPECT_NEAR(sum / 4, gpu.nvlink_efficiency_scale, 0.01) << device;
    EXPECT_LT(gpu.nvlink_efficiency_scale, 1.0) << device;  // Blackwell reaches less of its link
  }
  EXPECT_EQ(h100.nvlink_efficiency_scale, 1.0);
  EXPECT_EQ(Must(spec::LoadGpu("b300")).nvlink_efficiency_scale, 0.88);  // B200's, inherited
}

// The scale enters every NVLink term: an all-gather of 1 GiB on 8 B200s of a node is
// 20 us + 7 x 4 us + 7/8 GiB / (0.82 x 0.88 x 900 GB/s).
TEST(Collective, NvlinkScaleSlowsTheNodeTier) {
  spec::ClusterSpec c = Must(spec::LoadCluster("dgx-b200-ib"));
  double expected = 20e-6 + 7 * 4e-6 + 7.0 / 8.0 * 1073741824.0 / (0.82 * 0.88 * 900e9);
  EXPECT_NEAR(Estimate(c, ConsecutiveGroup(8, c), Op::kAllGather, 1073741824.0).seconds, expected,
              1e-9);
}

TEST(Collective, OversubscriptionSlowsCrossings) {
  spec::ClusterSpec c = TwoTier();
  double before = Estimate(c, ConsecutiveGroup(16, c), Op::kAllGather, 1e9).seconds;
  c.tiers[1].oversubscription = 2;
  double after = Estimate(c, ConsecutiveGroup(16, c), Op::kAllGather, 1e9).seconds;
  // The bandwidth term doubles: 15/16 GB over 37.6 GB/s becomes over 18.8 GB/s.
  EXPECT_NEAR(after - before, 15.0 / 16.0 * 1e9 / 37.6e9, 1e-12);
}

TEST(NcclTests, ParsesTheBundledOutput) {
  std::string text =
      Must(spec::ReadFile(std::string(SCALEPLAN_TEST_DIR) +
                          "/../data/calibration/nccl-tests-h200/all_reduce-8-half.perf.txt"));
  NcclTestsRun run = Must(ParseNcclTests(text, "all_reduce-8"));
  EXPECT_EQ(run.op, Op::kAllReduce);
  EXPECT_EQ(run.ranks, 8);
  EXPECT_EQ(run.nodes, 1);
  ASSERT_EQ(run.points.size(), 11u);  // 8 MiB .. 8 GiB; the repeated summary table is dropped
  EXPECT_EQ(run.points[0].bytes, 8388608.0);
  EXPECT_NEAR(run.points[0].time_s, 90.77e-6, 1e-12);
  EXPECT_NEAR(run.points[10].busbw_bytes_per_s, 478.80e9, 1.0);
}

// A row whose #wrong column counts errors measured a broken collective: the file is refused with
// the line; "N/A" (the run did not check) and 0 are fine.
TEST(NcclTests, RejectsRowsWithWrongResults) {
  std::string text =
      Must(spec::ReadFile(std::string(SCALEPLAN_TEST_DIR) +
                          "/../data/calibration/nccl-tests-h200/all_reduce-8-half.perf.txt"));
  const std::string row = "     8388608       4194304      half     sum      -1    90.77";
  size_t at = text.find(row);
  ASSERT_NE(at, std::string::npos);
  size_t end = text.find('\n', at);
  std::string line = text.substr(at, end - at);
  // The out-of-place #wrong is the ninth field.
  std::vector<std::string> fields;
  for (size_t i = 0; i < line.size();) {
    size_t j = line.find_first_not_of(' ', i);
    if (j == std::string::npos) break;
    size_t k = line.find(' ', j);
    fields.push_back(line.substr(j, k == std::string::npos ? std::string::npos : k - j));
    i = k == std::string::npos ? line.size() : k;
  }
  ASSERT_GE(fields.size(), 9u);
  ASSERT_EQ(fields[8], "0");
  std::string bad_line = line;
  bad_line.replace(bad_line.find(" 0 "), 3, " 5 ");
  std::string bad = text;
  bad.replace(at, line.size(), bad_line);
  Result<NcclTestsRun> run = ParseNcclTests(bad, "ar");
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find(
                "#wrong = 5: the collective gave wrong results (allowed: 0, or N/A where the run "
                "did not check)"),
            std::string::npos)
      << run.status().message();
  std::string unchecked = text;
  std::string na_line = line;
  na_line.replace(na_line.find(" 0 "), 3, " N/A ");
  unchecked.replace(at, line.size(), na_line);
  EXPECT_TRUE(ParseNcclTests(unchecked, "ar").ok());
}

// Two runs appended to one log were read as one (their rank lines summed: 8 + 2 GPUs read as
// 10 ranks) and a table row whose size is not a number was skipped unseen: both are refused with
// the line.
TEST(NcclTests, RejectsAppendedRunsAndRowsWithoutASize) {
  const std::string dir = std::string(SCALEPLAN_TEST_DIR) + "/../data/calibration/nccl-tests-h200/";
  const std::string eight = Must(spec::ReadFile(dir + "all_reduce-8-half.perf.txt"));
  const std::string two = Must(spec::ReadFile(dir + "all_reduce-2-half.perf.txt"));
  Result<NcclTestsRun> appended = ParseNcclTests(eight + two, "log");
  ASSERT_FALSE(appended.ok());
  EXPECT_NE(appended.status().message().find("a second run's"), std::string::npos)
      << appended.status().message();
  EXPECT_NE(appended.status().message().find("one nccl-tests run per file"), std::string::npos);
  const std::string row = "     8388608       4194304      half";
  for (const char* size : {"          -8", "    abcdefgh"}) {
    std::string bad = eight;
    bad.replace(bad.find(row), 12, size);
    Result<NcclTestsRun> run = ParseNcclTests(bad, "ar");
    ASSERT_FALSE(run.ok()) << size;
    EXPECT_NE(run.status().message().find("is not a byte count"), std::string::npos)
        << run.status().message();
  }
}

// A header of two columns and a row of two tokens: refused or read, never a read past the row
// (the size check once looked at a third token it did not have).
TEST(NcclTests, ShortHeaderAndRowDoNotCrash) {
  Result<NcclTestsRun> run =
      ParseNcclTests("# all_reduce_perf\n# nThread 1 nGpus 8\n#  size count\nab cd\n", "short");
  EXPECT_FALSE(run.ok() && !run->points.empty());
}

TEST(NcclTests, RejectsOtherText) {
  EXPECT_FALSE(ParseNcclTests("hello\n", "x").ok());
  EXPECT_NE(ParseNcclTests("hello\n", "x").status().message().find("not an nccl-tests output"),
            std::string::npos);
}

// The model against all nine real 8x H200 runs (2, 4 and 8 ranks; all-gather, all-reduce,
// reduce-scatter), mean |error| per file. Reduce-scatter's NVLink bandwidth is the all-gather's
// times the measured ratio at 8 GiB (collective.h): that closes the large sizes, and what is left
// on 2 and 4 ranks is the middle sizes (16-17% on 2 ranks from 32 MiB to 512 MiB), still every row
// under-predicted; stated here so that it cannot grow unseen. Before the ratio: 28.9% and 11.4%.
TEST(NcclTests, ModelTracksMeasuredH200Runs) {
  spec::ClusterSpec c = Must(spec::LoadCluster("h200-node"));
  struct Case {
    const char* file;
    double max_mean_error;
    bool under_predicted;  // every row predicted faster than measured
  };
  for (const Case& k : {Case{"all_gather-2-half", 0.10, false},
                        Case{"all_gather-4-half", 0.10, false},
                        Case{"all_gather-8-half", 0.10, false},
                        Case{"all_reduce-2-half", 0.10, false},
                        Case{"all_reduce-4-half", 0.10, false},
                        Case{"all_reduce-8-half", 0.10, false},
                        Case{"reduce_scatter-2-half", 0.15, true},  // measured 12.0%
                        Case{"reduce_scatter-4-half", 0.10, true},  // measured 7.1%
                        Case{"reduce_scatter-8-half", 0.10, false}}) {
    std::string text =
        Must(spec::ReadFile(std::string(SCALEPLAN_TEST_DIR) +
                            "/../data/calibration/nccl-tests-h200/" + k.file + ".perf.txt"));
    NcclTestsRun run = Must(ParseNcclTests(text, k.file));
    ASSERT_EQ(run.points.size(), 11u) << k.file;  // 8 MiB to 8 GiB, doubling
    double total = 0;
    bool all_under = true;
    for (const NcclTestsPoint& p : run.points) {
      double predicted = Estimate(c, ConsecutiveGroup(run.ranks, c), run.op, p.bytes).seconds;
      total += std::fabs(predicted / p.time_s - 1.0);
      all_under = all_under && predicted < p.time_s;
    }
    EXPECT_LT(total / static_cast<double>(run.points.size()), k.max_mean_error) << k.file;
    if (k.under_predicted) {
      EXPECT_TRUE(all_under) << k.file;
    }
  }
}

}  // namespace
}  // namespace scaleplan::collective

namespace scaleplan::collective {
namespace {

// NVLink SHARP is an NVSwitch feature of H100 and later: an A100 node all-reduces on rings.
TEST(Collective, NvlsOnlyWhereTheGpuHasIt) {
  spec::ClusterSpec a100 = scaleplan::testing::Must(spec::LoadCluster("selene"));
  spec::ClusterSpec h100 = scaleplan::testing::Must(spec::LoadCluster("dgx-h100-ib"));
  EXPECT_EQ(Estimate(a100, ConsecutiveGroup(8, a100), Op::kAllReduce, 1e9).algorithm,
            Algorithm::kRing);
  EXPECT_EQ(Estimate(h100, ConsecutiveGroup(8, h100), Op::kAllReduce, 1e9).algorithm,
            Algorithm::kNvls);
}

// One site of four nodes: node 4 GPUs at 100 GB/s, 1 us; the site tier
// (16 GPUs) at 10 GB/s per GPU, 1 ms, 1:4 oversubscribed. 16 consecutive ranks: m = 4 per node,
// k = 4 nodes. All-reduce of S = 1 GB:
//   flat ring: B = min(82e9, 0.94 * 10e9 * 4 / 4 = 9.4e9); 20 us + 30 ms + 1.875e9 / 9.4e9 =
//   0.22949 flat tree: 20 us + 2 * 4 * 1 ms + 2e9 / 9.4e9 = 0.22079 (the flat optimum)
//   hierarchical: AG inside the node 20 us + 3 us + 0.75e9 / 82e9 = 0.0091693, RS the same at
//     17515 / 18536 of the bandwidth (collective.h) = 0.0097024; all-reduce of S / 4 over 4 ranks,
//     one per node, B = 0.94 * 10e9 / 4 = 2.35e9: ring 20 us + 6 ms + 1.5 * 2.5e8 / 2.35e9 =
//     0.16559 (tree 0.21679); total 0.18446.
TEST(Collective, HierarchicalAllReduceReducesInsideFirstWhereTheTierAllowsIt) {
  const char* yaml =
      "name: sites\ngpu: h100-sxm\ntiers:\n"
      "  - {name: node, gpus: 4, bandwidth_bytes_per_s: 100e9, latency_s: 1e-6}\n"
      "  - {name: site, gpus: 16, bandwidth_bytes_per_s: 10e9, latency_s: 1e-3, "
      "oversubscription: 4, hierarchical_collectives: HIER}\n";
  auto with = [&](const char* flag) {
    std::string text = yaml;
    text.replace(text.find("HIER"), 4, flag);
    return Must(spec::ParseClusterYaml(text, "test"));
  };
  spec::ClusterSpec flat = with("false"), hier = with("true");
  GroupShape g = ConsecutiveGroup(16, flat);
  Cost f = Estimate(flat, g, Op::kAllReduce, 1e9);
  EXPECT_EQ(f.algorithm, Algorithm::kTree);
  EXPECT_NEAR(f.seconds, 20e-6 + 8e-3 + 2e9 / 9.4e9, 1e-12);
  Cost h = Estimate(hier, g, Op::kAllReduce, 1e9);
  EXPECT_EQ(h.algorithm, Algorithm::kHierarchical);
  double inside = 23e-6 + 0.75e9 / 82e9;
  double inside_rs = 23e-6 + 0.75e9 / (82e9 * 17515.0 / 18536.0);
  EXPECT_NEAR(h.seconds, inside_rs + inside + 6.02e-3 + 0.375e9 / 2.35e9, 1e-12);
  // Reduce-scatter: flat ring 20 us + 15 ms + (15/16) 1e9 / 9.4e9 = 0.11475; hierarchical: inside
  // 0.0097024 (the 4-rank reduce-scatter at 17515 / 18536 of the NVLink bandwidth) + outer ring of
  // S / 4: 20 us + 3 ms + 0.75 * 2.5e8 / 2.35e9 = 0.083340.
  Cost rs = Estimate(hier, g, Op::kReduceScatter, 1e9);
  EXPECT_EQ(rs.algorithm, Algorithm::kHierarchical);
  EXPECT_NEAR(rs.seconds, inside_rs + 3.02e-3 + 0.1875e9 / 2.35e9, 1e-12);
  // A group with one member per node has nothing to reduce inside: flat, as without the flag.
  GroupShape strided = ShapeOf(topology::PlaceStrided(hier, 4, 4), hier);
  EXPECT_EQ(Estimate(hier, strided, Op::kAllReduce, 1e9).seconds,
            Estimate(flat, strided, Op::kAllReduce, 1e9).seconds);
  // Never slower than flat: the tuner takes the cheaper, here for a latency-bound 8 bytes too.
  EXPECT_LE(Estimate(hier, g, Op::kAllReduce, 8).seconds,
            Estimate(flat, g, Op::kAllReduce, 8).seconds);
}

}  // namespace
}  // namespace scaleplan::collective
