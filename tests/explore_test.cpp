#include "explore/explore.h"

#include <gtest/gtest.h>

#include "plan/plan.h"
#include "spec/readers.h"
#include "test_util.h"

namespace scaleplan::explore {
namespace {

using scaleplan::testing::Must;

// Llama 3 8B on two 16-GPU "buildings" joined by slow links (1 GB/s per GPU, 50 us).
spec::JobSpec SmallTwoBuildings() {
  spec::JobSpec job;
  job.model = Must(spec::LoadModel("llama3-8b"));
  job.cluster = Must(spec::ParseClusterYaml(
      "name: two-small-buildings\ngpu: h100-sxm\ntiers:\n"
      "  - {name: node, gpus: 8, bandwidth_bytes_per_s: 450e9, latency_s: 4e-6}\n"
      "  - {name: building, gpus: 16, bandwidth_bytes_per_s: 50e9, latency_s: 5e-6}\n"
      "  - {name: campus, gpus: 32, bandwidth_bytes_per_s: 1e9, latency_s: 50e-6, "
      "oversubscription: 2}\n",
      "test"));
  job.gpus = 32;
  job.plan.tp = 8;
  job.plan.pp = 2;
  job.plan.placement = {spec::Dim::kDp, spec::Dim::kCp, spec::Dim::kPp,
                        spec::Dim::kTp};  // TP crosses
  job.workload.seq_len = 4096;
  job.workload.global_batch = 32;
  return job;
}

TEST(Explore, JointIsNeverWorseAndIsDeterministic) {
  ExploreResult r = Must(Explore(SmallTwoBuildings(), {}));
  EXPECT_EQ(r.boundary_tier, "campus");
  for (const Row& row : r.one_at_a_time)
    EXPECT_LE(r.joint.step_time_s, row.step_time_s * (1 + 1e-12)) << row.name;
  EXPECT_LE(r.joint.step_time_s, r.baseline.step_time_s);
  // Every row is also run by the event engine, which agrees with the closed form within 1% except
  // for ZB-H1 at few micro-batches (up to about 11%, docs/EXPLORE.md): allow 15%.
  std::vector<Row> rows = r.one_at_a_time;
  rows.push_back(r.baseline);
  rows.push_back(r.joint);
  for (const Row& row : rows)
    EXPECT_NEAR(row.event_step_time_s / row.step_time_s, 1.0, 0.15) << row.name;
  ExploreResult again = Must(Explore(SmallTwoBuildings(), {}));
  EXPECT_EQ(again.joint.plan, r.joint.plan);
  EXPECT_EQ(again.joint.step_time_s, r.joint.step_time_s);
}

// A starting plan with values the scheduling lists did not hold before (vp 16, micro-batch 8 in
// review): the joint optimum and every row must still be no slower than the baseline, because each
// row keeps the starting plan unless a candidate is strictly faster.
TEST(Explore, NoRowIsSlowerThanTheBaselineFromAnUnusualStart) {
  spec::JobSpec job = SmallTwoBuildings();
  job.plan.vp = 16;  // 32 layers / (pp 2 * vp 16) = 1 layer per chunk
  job.plan.schedule = spec::Schedule::kInterleaved;
  job.plan.micro_batch = 8;
  job.plan.recompute = spec::Recompute::kFull;
  job.workload.global_batch = 64;  // dp 2 * mb 8 * 4 micro-batches
  ExploreResult r = Must(Explore(job, {}));
  for (const Row& row : r.one_at_a_time)
    EXPECT_LE(row.step_time_s, r.baseline.step_time_s * (1 + 1e-12)) << row.name;
  EXPECT_LE(r.joint.step_time_s, r.baseline.step_time_s * (1 + 1e-12));
}

// TP's per-layer collectives are the most frequent and latency-bound: the baseline puts them on the
// campus links; the optimum never does.
TEST(Explore, TensorParallelNeverCrossesTheBoundaryAtTheOptimum) {
  ExploreResult r = Must(Explore(SmallTwoBuildings(), {}));
  EXPECT_NE(r.baseline.crossing.find("tp"), std::string::npos);
  EXPECT_EQ(r.joint.crossing.find("tp"), std::string::npos);
  EXPECT_EQ(r.one_at_a_time[0].crossing.find("tp"), std::string::npos);  // placement alone
  EXPECT_GT(r.joint.speedup, 1.5);
}

TEST(Explore, MoreBoundaryBandwidthNeverSlowsTheOptimum) {
  spec::JobSpec job = SmallTwoBuildings();
  double before = Must(Explore(job, {})).joint.step_time_s;
  job.cluster.tiers.back().bandwidth_bytes_per_s *= 4;
  EXPECT_LE(Must(Explore(job, {})).joint.step_time_s, before);
}

// Spray (0.95, +2 us) on boundary tier 1 (building) of the 3-tier cluster: node untouched; building
// 50e9 * 0.95 = 47.5e9 B/s, 5 us + 2 us = 7 us; campus 1e9 * 0.95 = 0.95e9 B/s, 50 + 2 = 52 us.
TEST(Explore, TechnologyChangesOnlyTheBoundaryTiers) {
  spec::ClusterSpec c = SmallTwoBuildings().cluster;
  Technology spray;
  for (const Technology& t : Technologies())
    if (t.name == "spray") spray = t;
  ASSERT_EQ(spray.name, "spray");
  spec::ClusterSpec a = Apply(c, 1, spray);
  EXPECT_DOUBLE_EQ(a.tiers[0].bandwidth_bytes_per_s, 450e9);
  EXPECT_DOUBLE_EQ(a.tiers[0].latency_s, 4e-6);
  EXPECT_DOUBLE_EQ(a.tiers[1].bandwidth_bytes_per_s, 47.5e9);
  EXPECT_DOUBLE_EQ(a.tiers[1].latency_s, 7e-6);
  EXPECT_DOUBLE_EQ(a.tiers[2].bandwidth_bytes_per_s, 0.95e9);
  EXPECT_DOUBLE_EQ(a.tiers[2].latency_s, 52e-6);
}

TEST(Explore, AJobInsideOneBuildingIsRejected) {
  spec::JobSpec job = SmallTwoBuildings();
  job.gpus = 16;
  EXPECT_EQ(Explore(job, {}).status().message(),
            "--gpus = 16 fits inside one building (16 GPUs), so nothing crosses the boundary tier "
            "campus (allowed: more than 16)");
}

TEST(Explore, BoundaryTierIsChecked) {
  ExploreOptions o;
  o.boundary_tier = "galaxy";
  EXPECT_EQ(Explore(SmallTwoBuildings(), o).status().message(),
            "--boundary-tier = galaxy (allowed: building, campus)");
}

}  // namespace
}  // namespace scaleplan::explore
