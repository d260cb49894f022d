#include "explore/explore.h"

#include <gtest/gtest.h>

#include "explore/scale.h"
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
  // Every row is also run by the event engine, which agrees with the closed form within about 1%
  // on uniform work (slow sends in interleaved schedules aside, docs/EXPLORE.md): allow 5%.
  std::vector<Row> rows = r.one_at_a_time;
  rows.push_back(r.baseline);
  rows.push_back(r.joint);
  for (const Row& row : rows) {
    EXPECT_NEAR(row.event_step_time_s / row.step_time_s, 1.0, 0.05) << row.name;
    // The breakdown printed next to the rows adds up to the ranked step time.
    EXPECT_NEAR(row.breakdown.Total(), row.step_time_s, 1e-9 * row.step_time_s) << row.name;
  }
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

NetworkStack StackOf(const std::vector<std::string>& names) {
  NetworkStack stack;
  for (const std::string& name : names)
    for (const Technology& t : Technologies())
      if (t.name == name) stack.layers.push_back(t);
  EXPECT_EQ(stack.layers.size(), names.size());
  return stack;
}

// spray + hierarchical + gbn on boundary tier 1 (building) of the 3-tier cluster: node untouched.
//   spray: building 50e9 * 0.95 = 47.5e9 B/s, 5 + 2 = 7 us; campus 1e9 * 0.95 = 0.95e9, 52 us.
//   gbn (loss 1e-4): window = rate / oversubscription * 2 latency / 4096 B:
//     building 47.5e9 * 14e-6 / 4096 = 162.35 packets -> / (1 + 0.016235)
//     campus 0.95e9 / 2 * 104e-6 / 4096 = 12.061 packets -> / (1 + 0.0012061)
TEST(Explore, TechnologyChangesOnlyTheBoundaryTiers) {
  spec::ClusterSpec c = SmallTwoBuildings().cluster;
  spec::ClusterSpec a = Apply(c, 1, StackOf({"spray", "hierarchical", "gbn"}));
  EXPECT_DOUBLE_EQ(a.tiers[0].bandwidth_bytes_per_s, 450e9);
  EXPECT_DOUBLE_EQ(a.tiers[0].latency_s, 4e-6);
  EXPECT_FALSE(a.tiers[0].hierarchical_collectives);
  EXPECT_NEAR(a.tiers[1].bandwidth_bytes_per_s, 47.5e9 / (1 + 1e-4 * 47.5e9 * 14e-6 / 4096), 1);
  EXPECT_DOUBLE_EQ(a.tiers[1].latency_s, 7e-6);
  EXPECT_TRUE(a.tiers[1].hierarchical_collectives);
  EXPECT_NEAR(a.tiers[2].bandwidth_bytes_per_s, 0.95e9 / (1 + 1e-4 * 0.475e9 * 104e-6 / 4096),
              1e-3);
  EXPECT_DOUBLE_EQ(a.tiers[2].latency_s, 52e-6);
  EXPECT_TRUE(a.tiers[2].hierarchical_collectives);
}

// Go-back-N loses more the longer the round trip; selective repeat does not care. Two regions,
// 1.5625 GB/s per GPU, 1:4, 5 ms, ECMP: rate 1.5625e9 * 0.6 / 4 = 234.4 MB/s, window
// 234.375e6 * 10e-3 / 4096 = 572.2 packets -> efficiency 1 / 1.0572 (gbn), 1 / 1.0001 (sr).
TEST(Explore, GoBackNLosesBandwidthWithDistance) {
  spec::ClusterSpec c = SmallTwoBuildings().cluster;
  c.tiers[2].bandwidth_bytes_per_s = 1.5625e9;
  c.tiers[2].oversubscription = 4;
  c.tiers[2].latency_s = 5e-3;
  double ecmp = 1.5625e9 * 0.6;
  EXPECT_NEAR(Apply(c, 2, StackOf({"ecmp", "flat", "gbn"})).tiers[2].bandwidth_bytes_per_s,
              ecmp / (1 + 1e-4 * ecmp / 4 * 10e-3 / 4096), 1e-3);
  EXPECT_NEAR(Apply(c, 2, StackOf({"ecmp", "flat", "sr"})).tiers[2].bandwidth_bytes_per_s,
              ecmp / (1 + 1e-4), 1e-3);
  // Stacks: one technology per layer, 3 x 2 x 2, the production baseline first.
  std::vector<NetworkStack> stacks = Stacks();
  EXPECT_EQ(stacks.size(), 12u);
  EXPECT_EQ(stacks.front().Name(), "ecmp+flat+gbn");
}

// Delayed synchronization and BF16 gradients change training: explore opens them only when asked.
TEST(Explore, RelaxedSynchronizationIsOptIn) {
  spec::JobSpec job = SmallTwoBuildings();
  job.plan.zero = spec::ZeroMode::kFsdp;
  ExploreResult strict = Must(Explore(job, {}));
  std::vector<Row> rows = strict.one_at_a_time;
  rows.push_back(strict.joint);
  for (const Row& row : rows) {
    EXPECT_EQ(row.plan.find("delayed"), std::string::npos) << row.plan;
    EXPECT_EQ(row.plan.find("bf16-grads"), std::string::npos) << row.plan;
  }
  ExploreOptions relaxed;
  relaxed.relaxed_sync = true;
  ExploreResult r = Must(Explore(job, relaxed));
  EXPECT_LE(r.joint.step_time_s, strict.joint.step_time_s);
}

// Ranked by the event engine, the joint optimum is never slower pass by pass than any row.
TEST(Explore, EventRankingKeepsTheJointOptimumBest) {
  ExploreOptions o;
  o.engine = "event";
  ExploreResult r = Must(Explore(SmallTwoBuildings(), o));
  EXPECT_EQ(r.engine, "event");
  for (const Row& row : r.one_at_a_time)
    EXPECT_LE(r.joint.event_step_time_s, row.event_step_time_s * (1 + 1e-12)) << row.name;
  EXPECT_LE(r.joint.event_step_time_s, r.baseline.event_step_time_s);
  EXPECT_NEAR(r.joint.speedup, r.baseline.event_step_time_s / r.joint.event_step_time_s, 1e-12);
  o.engine = "closed-form";
  EXPECT_EQ(Explore(SmallTwoBuildings(), o).status().message(),
            "explore.engine = closed-form is not an engine (allowed: analytical, event)");
}

TEST(Explore, AJobInsideOneBuildingIsRejected) {
  spec::JobSpec job = SmallTwoBuildings();
  job.gpus = 16;
  EXPECT_EQ(Explore(job, {}).status().message(),
            "gpus = 16 fit inside one building (16 GPUs), so nothing crosses the boundary tier "
            "campus (allowed: more than 16)");
}

TEST(Explore, BoundaryTierIsChecked) {
  ExploreOptions o;
  o.boundary_tier = "galaxy";
  EXPECT_EQ(Explore(SmallTwoBuildings(), o).status().message(),
            "explore.boundary_tier = galaxy is not a tier above the first (allowed: building, campus)");
}

// Llama 3 8B, 8K-token sequences, 64 sequences a step, pinned to TP 1 and PP 1 so that each count
// has a short search: at every count the row is the search's own first plan at that count (the
// same options, the event engine's re-ranking included), and
// the answer rows are the least wall clock and GPU time to train 1e10 tokens, found again here
// by hand over the rows. More GPUs train sooner (DP 8, 16, 32, 64 over 64 sequences) and the
// per-GPU rate falls with the smaller per-replica batch, so the counts split the two answers.
TEST(Scale, EachCountTakesItsOwnBestPlanAndTheAnswersAreTheRowsExtremes) {
  spec::JobSpec job = Must(spec::ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nworkload: {seq_len: 8192, global_batch: 64}\n",
      "job.yaml"));
  const std::vector<search::Pin> pins = {{"tp", "1", "--tp"}, {"pp", "1", "--pp"}};
  search::SearchOptions options;  // as `scaleplan search`: its top 10 re-ranked by events
  goodput::GoodputOptions goodput;
  goodput.train_tokens = 1e10;
  ScaleStudy s = Must(RunScale(job, pins, {8, 16, 32, 64}, options, goodput));
  ASSERT_EQ(s.rows.size(), 4u);
  double soonest = 1e300, cheapest = 1e300;
  int64_t soonest_at = -1, cheapest_at = -1;
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const ScaleRow& r = s.rows[i];
    ASSERT_TRUE(r.best.has_value()) << r.gpus;
    ASSERT_TRUE(r.goodput.has_value()) << r.gpus;
    spec::JobSpec at = job;
    at.gpus = r.gpus;
    search::PinnedSearch pinned = Must(search::ApplyPins(at, pins));
    search::SearchResult alone = Must(search::Search(pinned.job, pinned.space, options));
    EXPECT_EQ(r.best->description, alone.top.front().description) << r.gpus;
    EXPECT_EQ(r.best->plan.dp, r.gpus) << r.gpus;  // TP = CP = PP = 1
    const goodput::GoodputPoint& p = r.goodput->point;
    EXPECT_EQ(p.gpus, r.gpus);
    // Whole steps of 64 x 8,192 = 524,288 tokens: ceil(1e10 / 524,288) = 19,074 steps, that is
    // 10,000,269,312 tokens.
    EXPECT_EQ(r.goodput->train_steps, 19074);
    EXPECT_NEAR(p.train_step_time_s,
                10000269312.0 / (r.best->step.tokens_per_s_per_gpu * static_cast<double>(r.gpus)),
                1e-9 * p.train_step_time_s);
    if (p.train_time_s < soonest) soonest = p.train_time_s, soonest_at = static_cast<int64_t>(i);
    if (p.train_gpu_time_s < cheapest) {
      cheapest = p.train_gpu_time_s, cheapest_at = static_cast<int64_t>(i);
    }
  }
  EXPECT_EQ(s.soonest, soonest_at);
  EXPECT_EQ(s.cheapest, cheapest_at);
  EXPECT_NE(s.soonest, s.cheapest);
  EXPECT_TRUE(s.counts_given);
  EXPECT_EQ(s.within_deadline, -1);  // no deadline asked
  // A deadline of the 32-GPU row's wall clock: the rows that meet it (32 and 64 GPUs, the faster
  // ones) and, of those, the least GPU time, found here by hand; half the soonest row's time
  // is met by none.
  const double deadline = s.rows[2].goodput->point.train_time_s;
  ScaleStudy d = Must(RunScale(job, pins, {8, 16, 32, 64}, options, goodput, deadline));
  int64_t in_time = -1;
  for (size_t i = 0; i < d.rows.size(); ++i) {
    const goodput::GoodputPoint& p = d.rows[i].goodput->point;
    if (p.train_time_s <= deadline &&
        (in_time < 0 ||
         p.train_gpu_time_s < d.rows[static_cast<size_t>(in_time)].goodput->point.train_gpu_time_s)) {
      in_time = static_cast<int64_t>(i);
    }
  }
  EXPECT_GE(in_time, 2);
  EXPECT_EQ(d.within_deadline, in_time);
  const double soonest_time = s.rows[static_cast<size_t>(s.soonest)].goodput->point.train_time_s;
  EXPECT_EQ(Must(RunScale(job, pins, {8, 64}, options, goodput, soonest_time / 2)).within_deadline,
            -1);
  goodput::GoodputOptions no_tokens;
  EXPECT_EQ(RunScale(job, pins, {8}, options, no_tokens, 1e6).status().key(), "scale.deadline_s");
  // Without a failure model the rows carry the step only; the answers are the most tokens a
  // second in all and per GPU.
  goodput.failures = "none";
  ScaleStudy plain = Must(RunScale(job, pins, {8, 64}, options, goodput));
  EXPECT_FALSE(plain.rows[0].goodput.has_value());
  EXPECT_EQ(plain.soonest, 1);   // 64 GPUs: more tokens a second in all
  EXPECT_EQ(plain.cheapest, 0);  // 8 GPUs: more per GPU (8 micro-batches a replica, not 1)
}

// Counts the cluster cannot hold, repeated, or beyond what a batch of 64 sequences spreads over.
TEST(Scale, CountsAreCheckedAndAStarvedCountSaysWhy) {
  spec::JobSpec job = Must(spec::ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nworkload: {seq_len: 8192, global_batch: 64}\n",
      "job.yaml"));
  search::SearchOptions options;
  options.rerank_with_events = false;
  goodput::GoodputOptions goodput;
  const int64_t capacity = job.cluster.CapacityGpus();
  Result<ScaleStudy> big = RunScale(job, {}, {8, capacity + 1}, options, goodput);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().key(), "scale.counts");
  EXPECT_NE(big.status().message().find(fmt::format("(allowed: 1 to {})", capacity)),
            std::string::npos)
      << big.status().message();
  EXPECT_EQ(RunScale(job, {}, {8, 8}, options, goodput).status().key(), "scale.counts");
  EXPECT_EQ(ParseCounts(spec::ScalarValue("8,x", "--counts")).status().key(), "scale.counts");
  EXPECT_EQ(ParseCounts(spec::ScalarValue(",", "--counts")).status().key(), "scale.counts");
  EXPECT_EQ(Must(ParseCounts(spec::ScalarValue("8, 16,1024", "--counts"))),
            (std::vector<int64_t>{8, 16, 1024}));
  // 128 GPUs at TP 1, PP 1, CP 1: DP 128 > 64 sequences, no plan; the row names the rule. 8 GPUs
  // (DP 8, 8 sequences each) have one, so the study is an answer with one starved count.
  const std::vector<search::Pin> pins = {
      {"tp", "1", "--tp"}, {"pp", "1", "--pp"}, {"cp", "1", "--cp"}};
  ScaleStudy s = Must(RunScale(job, pins, {8, 128}, options, goodput));
  ASSERT_EQ(s.rows.size(), 2u);
  EXPECT_TRUE(s.rows[0].best.has_value());
  EXPECT_FALSE(s.rows[1].best.has_value());
  EXPECT_FALSE(s.rows[1].pruned_why.empty());
  EXPECT_EQ(s.soonest, 0);
  // Every count starved: no count has a valid plan, which is bad input; the error names the first
  // count and the rule.
  Result<ScaleStudy> starved = RunScale(job, pins, {128, 256}, options, goodput);
  ASSERT_FALSE(starved.ok());
  EXPECT_EQ(starved.status().message().rfind("at 128 GPUs: no candidate is a valid plan", 0), 0u)
      << starved.status().message();
  EXPECT_EQ(starved.status().key().rfind("plan.", 0), 0u) << starved.status().key();
}

}  // namespace
}  // namespace scaleplan::explore
