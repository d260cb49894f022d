// The CubicML loop: search ranked by another engine, the feasibility model, suggest, the truth
// engine and the testbed.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "plan/memory.h"
#include "predict/engine.h"
#include "predict/feasibility.h"
#include "predict/features.h"
#include "predict/suggest.h"
#include "predict/testbed.h"
#include "predict_test_util.h"
#include "search/search.h"
#include "spec/readers.h"
#include "test_util.h"

namespace scaleplan::predict {
namespace {

using scaleplan::testing::Must;

// Llama 3 8B on 64 H100s, its space narrowed to a few hundred plans that fit: small enough that
// every test below searches it exhaustively in milliseconds.
search::PinnedSearch SmallSpace() {
  spec::JobSpec job =
      Must(spec::ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\ngpus: 64\n"
                              "workload: {seq_len: 4096, global_batch: 256}\n",
                              "job.yaml"));
  std::vector<search::Pin> pins = {{"cp", "1,2", "--cp"},
                                   {"pp", "1,2,4", "--pp"},
                                   {"vp", "1,2", "--vp"},
                                   {"zero", "1,fsdp", "--zero"},
                                   {"recompute", "none,selective", "--recompute"},
                                   {"schedule", "1f1b,interleaved", "--schedule"},
                                   {"placement", "tp,cp,dp,pp", "--placement"}};
  return Must(search::ApplyPins(job, pins));
}

search::SearchOptions Exhaustive(int64_t top_k) {
  search::SearchOptions o;
  o.top_k = top_k;
  o.rerank_with_events = false;
  return o;
}

// A step engine for the tests: the analytical step, with TP 8 refused and TP 1 made 10x slower.
class Skewed final : public sim::Engine {
 public:
  std::string_view name() const override { return "skewed"; }
  std::string_view description() const override { return "test engine"; }
  bool RunsPasses() const override { return false; }
  Result<sim::EventResult> Run(const plan::Plan& plan, const sim::EventOptions&) const override {
    sim::EventResult r;
    SP_ASSIGN_OR_RETURN(r.step, sim::Evaluate(plan));
    SP_ASSIGN_OR_RETURN(r.step, StepGiven(plan, r.step, plan::ComputeMemory(plan)));
    return r;
  }
  Result<sim::StepResult> StepGiven(const plan::Plan& plan, const sim::StepResult& analytical,
                                    const plan::MemoryReport&) const override {
    if (plan.tp == 8) return Status::Invalid("no tp 8").WithKey("skewed: tp 8");
    sim::StepResult s = analytical;
    if (plan.tp == 1) s.step_time_s *= 10;
    return s;
  }
};

TEST(SearchEngine, AnotherEngineRanksAndPrunes) {
  search::PinnedSearch small = SmallSpace();
  search::SearchResult physics = Must(search::Search(small.job, small.space, Exhaustive(100000)));
  Skewed skewed;
  search::SearchOptions options = Exhaustive(100000);
  options.engine = &skewed;
  search::SearchResult ranked = Must(search::Search(small.job, small.space, options));
  EXPECT_EQ(physics.engine, "analytical");
  EXPECT_EQ(ranked.engine, "skewed");
  ASSERT_FALSE(ranked.top.empty());
  // Every TP 8 plan that fits was refused under the engine's key; no TP 8 plan is ranked.
  int64_t tp8 = 0;
  for (const search::Evaluation& e : physics.top) tp8 += e.plan.tp == 8 ? 1 : 0;
  ASSERT_GT(tp8, 0);  // the physics does rank some
  EXPECT_GE(ranked.pruned_by.at("skewed: tp 8"), static_cast<uint64_t>(tp8));
  for (const search::Evaluation& e : ranked.top) EXPECT_NE(e.plan.tp, 8);
  // The engine's step is what ranks: TP 1 plans carry 10x the analytical step.
  for (const search::Evaluation& e : ranked.top) {
    if (e.plan.tp != 1) continue;
    spec::JobSpec job = small.job;
    job.plan = e.plan;
    job.plan.dp = 0;
    job.plan.microbatches = 0;
    sim::StepResult analytical = Must(sim::Evaluate(Must(plan::BuildPlan(job))));
    EXPECT_NEAR(e.step.step_time_s, 10 * analytical.step_time_s, 1e-9 * e.step.step_time_s);
  }
  // Without the TP 8 plans and with TP 1 slowed, the ranking's best is the physics' best plan
  // that is neither.
  const search::Evaluation* expected = nullptr;
  for (const search::Evaluation& e : physics.top) {
    if (e.plan.tp != 8 && e.plan.tp != 1) {
      expected = &e;
      break;
    }
  }
  ASSERT_NE(expected, nullptr);
  EXPECT_EQ(ranked.top.front().description, expected->description);
}

TEST(Feasibility, LearnsAThresholdAndNeedsBothOutcomes) {
  // One informative feature (memory fraction) and one constant: jobs above 0.9 ran out of memory.
  std::vector<std::vector<double>> x;
  std::vector<bool> oom;
  for (double m = 0.50; m <= 1.0001; m += 0.05) {
    x.push_back({m, 3.0});
    oom.push_back(m > 0.9);
  }
  std::optional<Feasibility> f = Feasibility::Fit(x, oom);
  ASSERT_TRUE(f.has_value());
  EXPECT_LT(f->OomProbability({0.5, 3.0}), 0.1);
  EXPECT_GT(f->OomProbability({1.0, 3.0}), 0.6);
  // Monotone in the memory fraction (a positive weight).
  EXPECT_LT(f->OomProbability({0.7, 3.0}), f->OomProbability({0.8, 3.0}));
  EXPECT_FALSE(Feasibility::Fit(x, std::vector<bool>(x.size(), false)).has_value());
  EXPECT_FALSE(Feasibility::Fit(x, std::vector<bool>(x.size(), true)).has_value());
}

validate::TrainingCase Ran(const spec::JobSpec& base, const spec::PlanSpec& plan,
                           const std::string& status, double measured) {
  validate::TrainingCase c;
  c.job = base;
  c.job.plan = plan;
  c.job.plan.dp = 0;
  c.job.plan.microbatches = 0;
  c.metric = "tokens_per_s_per_gpu";
  c.status = status;
  c.measured = measured;
  c.label = "test";
  return c;
}

TEST(Suggest, WithoutJobsThePhysicsProposesOnePlanPerLayout) {
  search::PinnedSearch small = SmallSpace();
  SuggestOptions options;
  options.count = 4;
  Suggestion s = Must(Suggest(small.job, small.space, {}, options));
  EXPECT_FALSE(s.predictor.has_value());
  EXPECT_FALSE(s.feasibility.has_value());
  ASSERT_EQ(s.proposals.size(), 4u);
  // The first proposal is the physics' best plan; no correction, so the estimate is the physics.
  search::SearchResult physics = Must(search::Search(small.job, small.space, Exhaustive(1)));
  EXPECT_EQ(s.proposals[0].evaluation.description, physics.top.front().description);
  std::set<std::string> layouts;
  for (const Proposal& p : s.proposals) {
    EXPECT_DOUBLE_EQ(p.estimated_tokens_per_s_per_gpu, p.physics_tokens_per_s_per_gpu);
    EXPECT_EQ(p.spread, 0);
    const spec::PlanSpec& q = p.evaluation.plan;
    layouts.insert(fmt::format("{} {} {} {} {} {}", q.tp, q.cp, q.pp, q.vp, q.micro_batch,
                               spec::ScheduleName(q.schedule)));
  }
  EXPECT_EQ(layouts.size(), 4u);
}

TEST(Suggest, SkipsPlansRunAndLearnsFromThem) {
  search::PinnedSearch small = SmallSpace();
  search::SearchResult physics = Must(search::Search(small.job, small.space, Exhaustive(40)));
  ASSERT_GE(physics.top.size(), 6u);
  // Five jobs ran 20% faster than the physics said, a sixth ran out of memory.
  std::vector<validate::TrainingCase> jobs;
  for (size_t i = 0; i < 5; ++i) {
    jobs.push_back(
        Ran(small.job, physics.top[i].plan, "ok", 1.2 * physics.top[i].step.tokens_per_s_per_gpu));
  }
  jobs.push_back(Ran(small.job, physics.top[5].plan, "oom", 0));
  SuggestOptions options;
  options.count = 3;
  options.optimism = 0;
  Suggestion s = Must(Suggest(small.job, small.space, jobs, options));
  EXPECT_EQ(s.measured_jobs, 5);
  EXPECT_EQ(s.oom_jobs, 1);
  EXPECT_EQ(s.already_run, 6);
  ASSERT_TRUE(s.predictor.has_value());
  EXPECT_TRUE(s.feasibility.has_value());
  ASSERT_EQ(s.proposals.size(), 3u);
  for (const Proposal& p : s.proposals) {
    for (size_t i = 0; i < 6; ++i) EXPECT_NE(p.evaluation.description, physics.top[i].description);
    // A constant 20% speed-up is learned: ln 1.2 for every plan (ridge's intercept; the features
    // explain nothing of a constant).
    EXPECT_NEAR(p.estimated_tokens_per_s_per_gpu / p.physics_tokens_per_s_per_gpu, 1.2, 1e-6);
  }
}

TEST(Truth, ParsesEveryKindAndRefusesBadFiles) {
  Truth t = Must(ParseTruth(R"(seed: 7
noise_pct: 2
effects:
  - {kind: compute_scale, when: {tp: 8}, factor: 0.92}
  - {kind: comm_scale, dim: cp, factor: 1.5}
  - {kind: tier_bandwidth, tier: su, factor: 0.7}
  - {kind: step_overhead_s, value: 0.05}
  - {kind: memory_margin_bytes, value: 4e9}
  - {kind: failure_rate, value: 0.05}
)",
                            "truth.yaml"));
  EXPECT_EQ(t.seed, 7u);
  EXPECT_EQ(t.noise_pct, 2);
  ASSERT_EQ(t.effects.size(), 6u);
  EXPECT_EQ(t.effects[0].when.size(), 1u);
  EXPECT_EQ(t.effects[1].dim, "cp");
  EXPECT_EQ(t.effects[4].value, 4e9);
  struct Bad {
    const char* text;
    const char* message;
  };
  for (const Bad& bad : {
           Bad{"effects:\n  - {kind: warp, factor: 2}\n", "truth.effects[0].kind = warp"},
           Bad{"effects:\n  - {kind: comm_scale, factor: 2}\n", "has no dim"},
           Bad{"effects:\n  - {kind: comm_scale, dim: xp, factor: 2}\n", "dim = xp"},
           Bad{"effects:\n  - {kind: compute_scale, factor: 0}\n", "a number from 0.01 to 100"},
           Bad{"effects:\n  - {kind: compute_scale, factor: 1, value: 2}\n",
               "'value' is not a key of kind compute_scale"},
           Bad{"effects:\n  - {kind: compute_scale, when: {tq: 8}, factor: 1}\n",
               "'tq' is not a plan key"},
           Bad{"effects:\n  - {kind: compute_scale, when: {tp: eight}, factor: 1}\n", "plan.tp"},
           Bad{"effects:\n  - {kind: failure_rate, value: 1}\n", "a number from 0 to 0.99"},
           Bad{"effects: {kind: failure_rate}\n", "truth.effects is not a list"},
           Bad{"noise_pct: -1\n", "truth.noise_pct = -1"},
           Bad{"seed: x\n", "truth.seed = x"},
           Bad{"speed: 1\n", "unknown key 'speed' in truth"},
       }) {
    Result<Truth> r = ParseTruth(bad.text, "truth.yaml");
    ASSERT_FALSE(r.ok()) << bad.text;
    EXPECT_NE(r.status().message().find(bad.message), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("truth.yaml"), std::string::npos);
  }
  // A tier the cluster lacks is refused against the cluster.
  Truth rack = Must(
      ParseTruth("effects:\n  - {kind: tier_bandwidth, tier: rack, factor: 0.5}\n", "truth.yaml"));
  Status check = TruthEngine(rack).Check(SmallSpace().job.cluster);
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.message().find("tier = rack is not a tier of cluster dgx-h100-ib"),
            std::string::npos);
}

// One fixed plan of the small job: TP 2, PP 1 (no bubble), DP 32.
plan::Plan OnePlan() {
  spec::JobSpec job = SmallSpace().job;
  job.plan.tp = 2;
  job.plan.cp = 1;
  job.plan.pp = 1;
  job.plan.vp = 1;
  job.plan.dp = 0;
  job.plan.zero = spec::ZeroMode::kZero1;
  return Must(plan::BuildPlan(job));
}

TEST(Truth, EffectsMoveTheStepAsStated) {
  plan::Plan p = OnePlan();
  sim::StepResult a = Must(sim::Evaluate(p));
  ASSERT_EQ(a.breakdown.bubble_s, 0);  // PP 1
  ASSERT_GT(a.breakdown.dp_comm_s + a.breakdown.tp_comm_s, 0);
  Truth t = Must(ParseTruth(R"(effects:
  - {kind: compute_scale, when: {tp: 2}, factor: 0.8}
  - {kind: compute_scale, when: {tp: 4}, factor: 0.1}
  - {kind: comm_scale, dim: dp, factor: 3}
  - {kind: step_overhead_s, value: 0.05}
)",
                            "t.yaml"));
  sim::StepResult s = Must(TruthEngine(t).Step(p));
  // Compute at 0.8x speed adds compute * (1/0.8 - 1) = compute / 4; the TP 4 effect does not
  // match; DP communication 3x adds 2 * dp; the overhead adds 0.05 s.
  double expected = a.step_time_s + a.breakdown.compute_s / 4 + 2 * a.breakdown.dp_comm_s + 0.05;
  EXPECT_NEAR(s.step_time_s, expected, 1e-9 * expected);
  EXPECT_NEAR(s.tokens_per_s_per_gpu, a.tokens_per_s_per_gpu * a.step_time_s / expected,
              1e-9 * a.tokens_per_s_per_gpu);
  EXPECT_EQ(s.engine, "truth");
  // The memory margin: refused once the peak is within the margin of usable memory.
  plan::MemoryReport m = plan::ComputeMemory(p);
  double room = m.usable_bytes - m.peak_bytes;
  ASSERT_GT(room, 1e9);
  Truth tight = Must(ParseTruth(
      fmt::format("effects:\n  - {{kind: memory_margin_bytes, value: {}}}\n", room + 1e6), "t"));
  Result<sim::StepResult> refused = TruthEngine(tight).Step(p);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().key(), "out of memory (truth)");
  Truth loose = Must(ParseTruth(
      fmt::format("effects:\n  - {{kind: memory_margin_bytes, value: {}}}\n", room - 1e6), "t"));
  EXPECT_TRUE(TruthEngine(loose).Step(p).ok());
  EXPECT_EQ(TruthEngine(tight).Measure(p).status, "oom");
}

TEST(Truth, ThePipelineBubbleAndCommunicationScaleWithTheirWork) {
  spec::JobSpec job = SmallSpace().job;
  job.plan.tp = 2;
  job.plan.cp = 1;
  job.plan.pp = 2;
  job.plan.vp = 1;
  job.plan.dp = 0;
  job.plan.schedule = spec::Schedule::k1F1B;
  job.plan.zero = spec::ZeroMode::kZero1;
  plan::Plan p = Must(plan::BuildPlan(job));
  sim::StepResult a = Must(sim::Evaluate(p));
  const sim::Breakdown& b = a.breakdown;
  ASSERT_GT(b.bubble_s, 0);
  ASSERT_GT(b.tp_comm_s, 0);
  Truth t =
      Must(ParseTruth("effects:\n  - {kind: compute_scale, factor: 0.8}\n"
                      "  - {kind: comm_scale, dim: tp, factor: 2}\n",
                      "t.yaml"));
  sim::StepResult s = Must(TruthEngine(t).Step(p));
  // Compute at 0.8x adds compute / 4, TP at 2x adds tp; the bubble grows by the same fraction of
  // its share of the work: bubble * (compute / 4 + tp) / (compute + tp + cp + ep).
  double work = b.compute_s + b.tp_comm_s + b.cp_comm_s + b.ep_comm_s;
  double added = b.compute_s / 4 + b.tp_comm_s;
  double expected = a.step_time_s + added + b.bubble_s * added / work;
  EXPECT_NEAR(s.step_time_s, expected, 1e-9 * expected);
  // A schedule has no effect without a pipeline: `when: {schedule: 1f1b}` matches this PP 2 plan
  // and no PP 1 plan, whatever schedule the PP 1 plan names.
  Truth by_schedule = Must(ParseTruth(
      "effects:\n  - {kind: step_overhead_s, when: {schedule: 1f1b}, value: 1}\n", "t.yaml"));
  EXPECT_NEAR(Must(TruthEngine(by_schedule).Step(p)).step_time_s, a.step_time_s + 1, 1e-9);
  plan::Plan flat = OnePlan();  // PP 1, schedule as the job gave it
  EXPECT_NEAR(Must(TruthEngine(by_schedule).Step(flat)).step_time_s,
              Must(sim::Evaluate(flat)).step_time_s, 1e-12);
}

TEST(Truth, TierBandwidthPricesThePlanOnTheChangedCluster) {
  // DP 32 spans nodes: the scale-unit tier's bandwidth halved is what the plan pays.
  plan::Plan p = OnePlan();
  Truth t =
      Must(ParseTruth("effects:\n  - {kind: tier_bandwidth, tier: su, factor: 0.5}\n", "t.yaml"));
  spec::JobSpec slower = p.job;
  for (spec::TierSpec& tier : slower.cluster.tiers) {
    if (tier.name == "su") tier.bandwidth_bytes_per_s *= 0.5;
  }
  double expected = Must(sim::Evaluate(Must(plan::BuildPlan(slower)))).step_time_s;
  double step = Must(TruthEngine(t).Step(p)).step_time_s;
  EXPECT_NEAR(step, expected, 1e-12 * expected);
  EXPECT_GT(step, Must(sim::Evaluate(p)).step_time_s);  // the halved tier is on the path
}

TEST(LearnedEngine, OptimismAndTheFeasibilityModel) {
  // Two members, ln 2 and ln 2 + 0.2: the estimate is ln 2 + 0.1, the spread 0.1. With optimism
  // 2 the plan ranks as if exp(ln 2 + 0.1 + 2 * 0.1) = 2 e^0.3 times faster than the physics.
  Predictor predictor;
  predictor.members = {std::make_shared<testing::Constant>(std::log(2.0)),
                       std::make_shared<testing::Constant>(std::log(2.0) + 0.2)};
  plan::Plan p = OnePlan();
  sim::StepResult physics = Must(sim::Evaluate(p));
  sim::StepResult ranked = Must(LearnedEngine(predictor, 2.0).Step(p));
  EXPECT_NEAR(ranked.step_time_s, physics.step_time_s / (2 * std::exp(0.3)),
              1e-9 * physics.step_time_s);
  // A feasibility model fitted on this plan (ran) and a larger one (out of memory) refuses the
  // larger one and keeps this one.
  spec::JobSpec big = p.job;
  big.plan.micro_batch = 4;
  big.plan.dp = 0;
  big.plan.microbatches = 0;
  plan::Plan q = Must(plan::BuildPlan(big));
  auto features = [](const plan::Plan& plan) {
    sim::StepResult step = Must(sim::Evaluate(plan));
    return Features(plan, step, plan::ComputeMemory(plan));
  };
  std::optional<Feasibility> f = Feasibility::Fit({features(p), features(q)}, {false, true});
  ASSERT_TRUE(f.has_value());
  LearnedEngine engine(predictor, 0, f);
  Result<sim::StepResult> refused = engine.Step(q);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().key(), "predicted out of memory");
  EXPECT_TRUE(engine.Step(p).ok());
}

TEST(Truth, MeasurementsAreSeededByPlanAndNoisy) {
  plan::Plan p = OnePlan();
  Truth quiet;
  TruthEngine::Measurement m = TruthEngine(quiet).Measure(p);
  EXPECT_EQ(m.status, "ok");
  EXPECT_EQ(m.measured_tokens_per_s_per_gpu, m.true_tokens_per_s_per_gpu);
  Truth noisy = quiet;
  noisy.noise_pct = 5;
  TruthEngine::Measurement a = TruthEngine(noisy).Measure(p);
  TruthEngine::Measurement b = TruthEngine(noisy).Measure(p);
  EXPECT_EQ(a.measured_tokens_per_s_per_gpu, b.measured_tokens_per_s_per_gpu);  // same plan, seed
  EXPECT_NE(a.measured_tokens_per_s_per_gpu, a.true_tokens_per_s_per_gpu);
  // 5% noise: within 6 sigma.
  EXPECT_LT(std::fabs(std::log(a.measured_tokens_per_s_per_gpu / a.true_tokens_per_s_per_gpu)),
            0.30);
  noisy.seed = 99;
  EXPECT_NE(TruthEngine(noisy).Measure(p).measured_tokens_per_s_per_gpu,
            a.measured_tokens_per_s_per_gpu);
  // A failure rate of 0.99: the plan fails (its draw is below 0.99 unless it is 1 in 100).
  Truth failing = Must(ParseTruth("effects:\n  - {kind: failure_rate, value: 0.99}\n", "t"));
  int failed = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    failing.seed = seed;
    failed += TruthEngine(failing).Measure(p).status == "failed" ? 1 : 0;
  }
  EXPECT_GE(failed, 17);  // 20 draws at 0.99: fewer than 18 failures has probability < 2e-3
}

TEST(Testbed, CurvesAgainstAnExhaustiveTruth) {
  search::PinnedSearch small = SmallSpace();
  // Without effects or noise the truth is the physics: the physics' first plan is the optimum,
  // and so is cubic's (its first batch is the physics' best layouts).
  Truth plain;
  plain.origin = "plain";
  TestbedOptions options;
  options.budget = 12;
  options.batch = 4;
  options.tau_sample = 30;
  TestbedReport r = Must(RunTestbed(small.job, small.space, plain, options));
  EXPECT_EQ(r.optimum_plan, r.physics_best_plan);
  EXPECT_GT(r.runnable_plans, 12u);
  ASSERT_EQ(r.methods.size(), 4u);
  for (const MethodResult& m : r.methods) {
    ASSERT_EQ(m.curve.size(), 3u) << m.name;
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(m.curve[i].jobs, static_cast<int64_t>(4 * (i + 1)));
    for (size_t i = 1; i < 3; ++i) {
      EXPECT_LE(m.curve[i].regret_pct, m.curve[i - 1].regret_pct) << m.name;  // no noise
    }
    if (m.name == "physics" || m.name == "cubic") {
      EXPECT_NEAR(m.curve[0].regret_pct, 0, 1e-9) << m.name;
      EXPECT_EQ(m.best_plan, r.optimum_plan);
      // Ranked by the truth itself (the physics), tau is 1; cubic learns a zero correction.
      EXPECT_NEAR(*m.curve.back().kendall_tau, 1.0, 1e-9) << m.name;
    } else {
      EXPECT_FALSE(m.curve.back().kendall_tau.has_value());
    }
    EXPECT_EQ(m.oom_jobs + m.failed_jobs, 0) << m.name;
  }
  // A truth where TP 2 runs at a third of the speed moves the optimum off the physics' best
  // when that is a TP 2 plan, and cubic ends no worse than the physics' order.
  Truth skew = Must(ParseTruth(
      fmt::format("effects:\n  - {{kind: compute_scale, when: {{tp: {}}}, factor: 0.33}}\n",
                  Must(search::Search(small.job, small.space, Exhaustive(1))).top[0].plan.tp),
      "skew"));
  options.methods = {"cubic", "physics"};
  TestbedReport s = Must(RunTestbed(small.job, small.space, skew, options));
  EXPECT_NE(s.optimum_plan, s.physics_best_plan);
  ASSERT_EQ(s.methods.size(), 2u);
  EXPECT_LE(s.methods[0].curve.back().regret_pct, s.methods[1].curve.back().regret_pct);
  // With 40% of plans failing for good, the optimum is a plan that runs: no method measures a plan
  // above it (regret >= 0), and some job failed.
  Truth failing = Must(ParseTruth("effects:\n  - {kind: failure_rate, value: 0.4}\n", "f"));
  options.methods = {};
  TestbedReport f = Must(RunTestbed(small.job, small.space, failing, options));
  int64_t failed = 0;
  for (const MethodResult& m : f.methods) {
    failed += m.failed_jobs;
    for (const CurvePoint& p : m.curve) EXPECT_GE(p.regret_pct, -1e-9) << m.name;
  }
  EXPECT_GT(failed, 0);
}

// Quoted numbers in a truth file are text, refused as a number would be out of its range.
TEST(Truth, QuotedNumbersAreRefused) {
  Result<Truth> noise = ParseTruth("noise_pct: \"30\"\n", "t.yaml");
  ASSERT_FALSE(noise.ok());
  EXPECT_NE(noise.status().message().find("truth.noise_pct = \"30\" (quoted text)"),
            std::string::npos)
      << noise.status().message();
  EXPECT_FALSE(ParseTruth("seed: '5'\n", "t.yaml").ok());
  EXPECT_FALSE(
      ParseTruth("effects:\n  - {kind: compute_scale, factor: !!str 0.7}\n", "t.yaml").ok());
  EXPECT_TRUE(ParseTruth("seed: 5\nnoise_pct: 30\n", "t.yaml").ok());
}

// A `when` no candidate can meet is refused before any job runs, naming the effect, the key and
// what the space offers: tp 3 (tp is not pinned: the divisors of Llama 3 8B's 32 heads that fit
// the 8-GPU node, 1, 2, 4, 8), and a fixed field at another value than the job's (precision fp8
// in a BF16 job).
TEST(Testbed, RefusesAWhenNoPlanOfTheSpaceMeets) {
  search::PinnedSearch small = SmallSpace();
  TestbedOptions options;
  options.budget = 4;
  options.batch = 4;
  Truth tp3 = Must(ParseTruth(
      "effects:\n  - {kind: step_overhead_s, value: 1}\n"
      "  - {kind: compute_scale, when: {tp: 3}, factor: 0.5}\n",
      "t.yaml"));
  Result<TestbedReport> bad = RunTestbed(small.job, small.space, tp3, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().key(), "truth.effects[1].when.tp");
  EXPECT_NE(bad.status().message().find("t.yaml:3: truth.effects[1].when.tp = 3"),
            std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("(allowed: 1, 2, 4, 8)"), std::string::npos)
      << bad.status().message();
  Truth fp8 = Must(ParseTruth(
      "effects:\n  - {kind: compute_scale, when: {precision: fp8}, factor: 0.5}\n", "t.yaml"));
  bad = RunTestbed(small.job, small.space, fp8, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().key(), "truth.effects[0].when.precision");
  EXPECT_NE(bad.status().message().find("(allowed: bf16)"), std::string::npos)
      << bad.status().message();
  // Derived keys: dp = 64 / (tp cp pp) over tp 1-8, cp 1-2, pp 1-4 (1 to 64, powers of two), so
  // dp 5 is refused; microbatches = 256 / (dp mb) likewise; etp follows tp.
  std::vector<nlohmann::json> dps = search::KeyValues(small.job, small.space, "dp");
  EXPECT_EQ(dps.front(), 1);
  EXPECT_EQ(dps.back(), 64);
  EXPECT_EQ(dps.size(), 7u);  // 1, 2, 4, ..., 64
  Truth dp = Must(ParseTruth(
      "effects:\n  - {kind: compute_scale, when: {dp: 5}, factor: 0.5}\n", "t.yaml"));
  bad = RunTestbed(small.job, small.space, dp, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().key(), "truth.effects[0].when.dp");
  Truth micro = Must(ParseTruth(
      "effects:\n  - {kind: compute_scale, when: {microbatches: 1000}, factor: 0.5}\n", "t.yaml"));
  EXPECT_EQ(RunTestbed(small.job, small.space, micro, options).status().key(),
            "truth.effects[0].when.microbatches");
  // A pipeline setting where every candidate has pp 1 would meet none.
  search::PinnedSearch flat = Must(search::ApplyPins(small.job, {{"pp", "1", "--pp"}}));
  Truth interleaved = Must(ParseTruth(
      "effects:\n  - {kind: compute_scale, when: {schedule: 1f1b}, factor: 0.5}\n", "t.yaml"));
  bad = RunTestbed(flat.job, flat.space, interleaved, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("applies only with a pipeline"), std::string::npos)
      << bad.status().message();
  options.methods = {"physics"};
  Truth dp8 = Must(ParseTruth(
      "effects:\n  - {kind: compute_scale, when: {dp: 8}, factor: 0.5}\n", "t.yaml"));
  EXPECT_TRUE(RunTestbed(small.job, small.space, dp8, options).ok());
}

}  // namespace
}  // namespace scaleplan::predict
