#include "goodput/goodput.h"

#include <gtest/gtest.h>

#include <cmath>

#include "goodput/failures.h"
#include "test_util.h"

namespace scaleplan::goodput {
namespace {

using scaleplan::testing::Must;

constexpr double kDay = 86400;

// A one-day window on 16 GPUs, 8 to a server.
constexpr const char* kSmallModel =
    "window_s: 86400\ngpus: 16\ngpus_per_node: 8\ncauses:\n"
    "  - {name: a, per: gpu, count: 16}\n"
    "  - {name: b, per: node, count: 2}\n"
    "  - {name: c, per: job, count: 1, planned: true}\n";

TEST(FailureModel, RatesScaleWithTheirUnit) {
  FailureModel m = Must(ParseFailureModel(kSmallModel, "small.yaml"));
  ASSERT_EQ(m.causes.size(), 3u);
  // On 32 GPUs, 4 to a server (8 servers):
  //   a: 16 / (1 day x 16 GPUs) = 1 per GPU-day, x 32 GPUs   = 32 a day
  //   b: 2 / (1 day x 2 servers) = 1 per server-day, x 8     = 8 a day
  //   c: 1 a day whatever the size
  EXPECT_NEAR(CauseRatePerS(m, m.causes[0], 32, 4) * kDay, 32, 1e-9);
  EXPECT_NEAR(CauseRatePerS(m, m.causes[1], 32, 4) * kDay, 8, 1e-9);
  EXPECT_NEAR(CauseRatePerS(m, m.causes[2], 32, 4) * kDay, 1, 1e-9);
}

// The preset is Table 5 of the Llama 3 paper: at its own size (16,384 GPUs, 8 to a server) it gives
// back the counts it was built from, 419 unexpected and 47 planned over 54 days. In-sample by
// construction: this checks the unit bookkeeping, not a prediction.
TEST(FailureModel, Llama3PresetGivesBackItsCounts) {
  FailureModel m = Must(LoadFailureModel("llama3-405b"));
  double unplanned = 0, planned = 0;
  for (const FailureCause& c : m.causes) {
    (c.planned ? planned : unplanned) += CauseRatePerS(m, c, 16384, 8) * 54 * kDay;
  }
  EXPECT_NEAR(unplanned, 419, 1e-6);
  EXPECT_NEAR(planned, 47, 1e-6);
}

TEST(FailureModel, BadModelsNameTheKeyAndWhatIsAllowed) {
  struct Case {
    const char* yaml;
    const char* expect;
  };
  const Case cases[] = {
      {"window_s: 86400\ngpus: 16\ngpus_per_node: 8\n", "failures.causes expected a list"},
      {"window_s: 86400\ngpus: 16\ngpus_per_node: 8\ncauses: []\n", "at least one cause"},
      {"window_s: 86400\ngpus: 16\ngpus_per_node: 8\ncauses:\n  - {name: a, per: gpu, count: 1}\n"
       "  - {name: a, per: gpu, count: 2}\n",
       "name = a appears twice"},
      {"window_s: 86400\ngpus: 16\ngpus_per_node: 8\ncauses:\n  - {name: a, per: job, count: 1, "
       "planned: true}\n",
       "no unplanned cause"},
      {"window_s: 86400\ngpus: 16\ngpus_per_node: 8\ncauses:\n  - {name: a, per: rack, count: 1}\n",
       "failures.causes.per = rack is not a known choice (allowed: one of: gpu, node, job)"},
      {"gpus: 16\ngpus_per_node: 8\ncauses:\n  - {name: a, per: gpu, count: 1}\n",
       "failures.window_s = 0 is out of range"},
      {"window_s: 86400\ngpus: 16\ngpus_per_node: 8\ncauses:\n  - {name: a, per: gpu, count: -1}\n",
       "failures.causes.count = -1"},
      // A cause that leaves out its count (it would count 0) or its unit (it would scale per GPU).
      {"window_s: 86400\ngpus: 16\ngpus_per_node: 8\ncauses:\n  - {name: a, per: gpu}\n",
       "f.yaml:5: failures.causes: a cause without count"},
      {"window_s: 86400\ngpus: 16\ngpus_per_node: 8\ncauses:\n  - {name: a, count: 3}\n",
       "a cause without per"},
      // 10 GPUs on nodes of 3 is no number of nodes: per-node rates would count 4.
      {"window_s: 86400\ngpus: 10\ngpus_per_node: 3\ncauses:\n  - {name: a, per: node, count: "
       "1}\n",
       "failures.gpus = 10 is not whole nodes of failures.gpus_per_node = 3 (allowed: a multiple "
       "of 3)"},
  };
  for (const Case& c : cases) {
    Result<FailureModel> r = ParseFailureModel(c.yaml, "f.yaml");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
}

// E_u(tau) = tau / (M e^(R'/M) (e^((tau + delta)/M) - 1)), R' = R + w tau / (tau + delta).
// tau 100, delta 10, R 50, M 1000: 100 / (1000 e^0.05 (e^0.11 - 1)) = 100 / (1000 x 1.051271 x
// 0.116278) = 0.8180643; with w 30, R' = 50 + 30 x 100/110 = 77.2727: 0.7960550.
TEST(Goodput, EffectiveTimeIsDalysExpression) {
  EXPECT_NEAR(EffectiveUnplanned(100, 10, 50, 0, 1000), 0.8180643355594495, 1e-12);
  EXPECT_NEAR(EffectiveUnplanned(100, 10, 50, 30, 1000), 0.7960549817947593, 1e-12);
  // No failures to speak of: only the checkpoint's own share is lost, tau / (tau + delta).
  EXPECT_NEAR(EffectiveUnplanned(100, 10, 50, 0, 1e15), 100.0 / 110, 1e-9);
}

// One GPU failing once per 10,000 s (M), a 10 s synchronous checkpoint (1e10 bytes at 1e9 B/s).
// The interval that maximises E_u does not depend on R; a ternary search of tau / (e^((tau +
// 10)/M) - 1) gives 440.5719 s, Daly's estimate 447.2136 (1 + sqrt(10/20000)/3 + 10/180000) - 10
// = 440.5718 s and Young's sqrt(2 x 10 x 10000) = 447.2136 s.
TEST(Goodput, ChosenIntervalIsTheOptimumDalyEstimates) {
  FailureModel m = Must(ParseFailureModel(
      "window_s: 10000\ngpus: 1\ngpus_per_node: 1\ncauses:\n  - {name: a, per: gpu, count: 1}\n",
      "one.yaml"));
  GoodputJob job{1, 1, 1e10, 1000};
  GoodputOptions o;
  o.storage_bytes_per_s = 1e9;
  o.node_storage_bytes_per_s = 1e9;
  GoodputPoint p = Must(Evaluate(m, job, o));
  EXPECT_NEAR(p.mtbf_s, 10000, 1e-6);
  EXPECT_NEAR(p.write_s, 10, 1e-12);
  EXPECT_NEAR(p.blocking_s, 10, 1e-12);
  EXPECT_NEAR(p.restart_total_s, 300 + 300 + 10, 1e-9);
  EXPECT_NEAR(p.interval_s, 440.5719, 1e-3);
  EXPECT_EQ(p.least_interval_what, "1 s");  // no step given, a synchronous checkpoint
  EXPECT_NEAR(p.daly_s, 440.5718, 1e-3);
  EXPECT_NEAR(p.young_s, 447.2136, 1e-3);
  EXPECT_NEAR(p.effective, EffectiveUnplanned(p.interval_s, 10, 610, 0, 10000), 1e-12);
  // 1000 tokens/s on one GPU for a day, times E.
  EXPECT_NEAR(p.tokens_per_day, p.effective * 1000 * kDay, 1e-3);
  const LostTime& l = p.lost;
  EXPECT_NEAR(l.checkpoint + l.rework + l.detect + l.restart + l.reload + l.planned,
              1 - p.effective, 1e-12);
  EXPECT_DOUBLE_EQ(l.planned, 0);
  EXPECT_DOUBLE_EQ(l.detect, l.restart);  // 300 s each, at the same rate
}

// Checkpoints fall between steps: the same job (best interval 440.5719 s, above) with 1,000 s
// steps takes tau = 1,000 s, the shortest allowed, and an interval given below a step is refused.
// A step of 1e7 s against failures 10,000 s apart: E = tau / (M e^(R/M) (e^((tau + delta)/M) - 1))
// with (tau + delta) / M = 1000.001: e^-1000 underflows, E = 0, not the 95% of a 440 s interval.
TEST(Goodput, IntervalHoldsAtLeastOneStep) {
  FailureModel m = Must(ParseFailureModel(
      "window_s: 10000\ngpus: 1\ngpus_per_node: 1\ncauses:\n  - {name: a, per: gpu, count: 1}\n",
      "one.yaml"));
  GoodputJob job{1, 1, 1e10, 1000};
  job.step_time_s = 1000;
  GoodputOptions o;
  o.storage_bytes_per_s = 1e9;
  o.node_storage_bytes_per_s = 1e9;
  GoodputPoint p = Must(Evaluate(m, job, o));
  EXPECT_NEAR(p.interval_s, 1000, 1e-6);
  EXPECT_TRUE(p.interval_at_least);
  EXPECT_EQ(p.least_interval_what, "one training step of 1000 s");
  EXPECT_NEAR(p.effective, EffectiveUnplanned(1000, 10, 610, 0, 10000), 1e-12);
  o.checkpoint_interval_s = 999;
  Result<GoodputPoint> short_interval = Evaluate(m, job, o);
  ASSERT_FALSE(short_interval.ok());
  EXPECT_EQ(short_interval.status().message(),
            "goodput.checkpoint_interval_s = 999 is shorter than one training step of 1000 s "
            "(allowed: 0 for the best interval, or at least 1000 s)");
  // A step of 6.1726044 s: the least interval is printed rounded up at 6 digits, 6.17261, and
  // that value is allowed (6.1726, rounded to nearest, would be refused again).
  job.step_time_s = 6.1726044;
  o.checkpoint_interval_s = 1;
  Result<GoodputPoint> below = Evaluate(m, job, o);
  ASSERT_FALSE(below.ok());
  EXPECT_NE(below.status().message().find(
                "shorter than one training step of 6.1726 s (allowed: 0 for the best interval, "
                "or at least 6.17261 s)"),
            std::string::npos)
      << below.status().message();
  o.checkpoint_interval_s = 6.17261;
  EXPECT_TRUE(Evaluate(m, job, o).ok());
  o.checkpoint_interval_s = 0;
  job.step_time_s = 1e7;
  EXPECT_EQ(Must(Evaluate(m, job, o)).effective, 0.0);
}

// Storage: the job reaches min(storage, nodes x per-node bandwidth). Asynchronous: training waits
// while each GPU copies its local state to host memory; the next checkpoint waits for the write
// (w), so a shorter interval is an error.
TEST(Goodput, StorageBoundAndAsynchronousCheckpoints) {
  FailureModel m = Must(ParseFailureModel(kSmallModel, "small.yaml"));
  GoodputJob job{16, 8, 1e12, 100};
  GoodputOptions o;
  o.storage_bytes_per_s = 1e12;
  o.node_storage_bytes_per_s = 1e10;  // 2 nodes x 1e10 < 1e12: 50 s a write
  GoodputPoint sync = Must(Evaluate(m, job, o));
  EXPECT_NEAR(sync.storage_bytes_per_s, 2e10, 1e-3);
  EXPECT_NEAR(sync.write_s, 50, 1e-9);
  o.checkpoint = "async";
  o.host_copy_bytes_per_s = 1e10;
  GoodputPoint shares = Must(Evaluate(m, job, o));
  EXPECT_NEAR(shares.blocking_s, 6.25, 1e-12);  // no local state given: 1e12 / 16 GPUs / 1e10
  job.local_state_bytes = 2e11;                 // each GPU's weights and optimizer shard
  GoodputPoint async = Must(Evaluate(m, job, o));
  EXPECT_NEAR(async.blocking_s, 20, 1e-12);  // 2e11 / 1e10
  EXPECT_NEAR(async.durable_after_s, 50, 1e-9);
  EXPECT_GE(async.interval_s, 50 - 1e-9);
  EXPECT_GT(async.effective, sync.effective);
  o.checkpoint_interval_s = 49.9;
  Result<GoodputPoint> short_interval = Evaluate(m, job, o);
  ASSERT_FALSE(short_interval.ok());
  EXPECT_NE(short_interval.status().message().find(
                "goodput.checkpoint_interval_s = 49.9 is shorter than an asynchronous "
                "checkpoint's write on 16 GPUs (50 s) (allowed: 0 for the best interval, or at "
                "least 50 s)"),
            std::string::npos)
      << short_interval.status().message();
  o.checkpoint_interval_s = 50;  // the bound the message gives is accepted
  EXPECT_TRUE(Evaluate(m, job, o).ok());
}

// The restart budget: with detect + restart = max_detect_restart_s (split as given, 300:300) the
// effective time is the target.
TEST(Goodput, RestartBudgetMeetsTheTarget) {
  FailureModel m = Must(LoadFailureModel("llama3-405b"));
  GoodputJob job{16384, 8, 5.68e12, 170};
  GoodputOptions o;
  GoodputPoint p = Must(Evaluate(m, job, o));
  ASSERT_TRUE(p.target_reachable);
  GoodputOptions at = o;
  at.detect_s = p.max_detect_restart_s / 2;
  at.restart_s = p.max_detect_restart_s / 2;
  EXPECT_NEAR(Must(Evaluate(m, job, at)).effective, 0.90, 1e-6);
  // An unreachable target: 99.9% with failures every ~3 hours.
  o.target_effective_pct = 99.9;
  EXPECT_FALSE(Must(Evaluate(m, job, o)).target_reachable);
}

// The Monte Carlo draws the same process failure by failure; its mean lands on the closed form
// (within four standard errors and the closed form's first-order terms) and its interruption
// count on (lambda + lambda_p) x window = 466 for Llama 3's window.
TEST(Goodput, MonteCarloAgreesWithTheClosedForm) {
  FailureModel m = Must(LoadFailureModel("llama3-405b"));
  GoodputJob job{16384, 8, 5.68e12, 170};
  for (const char* mode : {"sync", "async"}) {
    SCOPED_TRACE(mode);
    GoodputOptions o;
    o.checkpoint = mode;
    o.trials = 400;
    GoodputPoint p = Must(Evaluate(m, job, o));
    MonteCarlo mc = Simulate(m, job, o, p);
    EXPECT_EQ(mc.trials, 400);
    EXPECT_NEAR(mc.horizon_s, 54 * kDay, 1e-6);
    EXPECT_NEAR(mc.effective_mean, p.effective, 4 * mc.effective_stderr + 0.002);
    EXPECT_LE(mc.effective_p5, mc.effective_mean);
    EXPECT_GE(mc.effective_p95, mc.effective_mean);
    // Poisson: sd sqrt(466) per window, sqrt(466/400) = 1.08 for the mean of 400; the Monte Carlo
    // also leaves out the ~1.3 failures a window that strike while the job is down for a planned
    // stop (0.3% of 419).
    EXPECT_NEAR(mc.interruptions_mean, 466 - 1.3, 4 * std::sqrt(466.0 / 400));
  }
}

// A case where the asynchronous durability term is large: one GPU failing every 3,000 s (M), a
// 100 s write (1e11 B at 1e9 B/s) that becomes durable 100 s after a 10 s copy, restart 60 + 60 +
// 100 s. The extra rework w tau / (tau + delta) / M is about 3% of the time, so a Monte Carlo that
// skipped the lost in-flight checkpoint would miss the closed form by that much.
TEST(Goodput, MonteCarloChargesTheInFlightCheckpoint) {
  FailureModel m = Must(ParseFailureModel(
      "window_s: 3000\ngpus: 1\ngpus_per_node: 1\ncauses:\n  - {name: a, per: gpu, count: 1}\n",
      "one.yaml"));
  GoodputJob job{1, 1, 1e11, 1000};
  GoodputOptions o;
  o.checkpoint = "async";
  o.storage_bytes_per_s = 1e9;
  o.node_storage_bytes_per_s = 1e9;
  o.host_copy_bytes_per_s = 1e10;  // 1e11 / 1e10 = 10 s
  o.detect_s = 60;
  o.restart_s = 60;
  o.trials = 400;
  o.horizon_s = 3e6;  // about 1,000 failures a window
  GoodputPoint p = Must(Evaluate(m, job, o));
  EXPECT_NEAR(p.blocking_s, 10, 1e-12);
  EXPECT_NEAR(p.durable_after_s, 100, 1e-9);
  double extra = p.durable_after_s * p.interval_s / (p.interval_s + p.blocking_s) / p.mtbf_s;
  EXPECT_GT(extra, 0.02);
  MonteCarlo mc = Simulate(m, job, o, p);
  EXPECT_NEAR(mc.effective_mean, p.effective, 4 * mc.effective_stderr + 0.004);
}

// The sweep holds the model: GPU and server causes double with the GPUs, the planned stop does not.
// Training time for T tokens, on the one-GPU job above (1,000 tokens/s, E from Daly's optimum):
//   steps take T / 1000 s = 1e6 s for T = 1e9; the wall clock is that / E (T over the tokens a day,
//   E x 1000 x 86,400, in days); one GPU, so the GPU time equals the wall clock.
// A job that trains nothing (0 tokens/s) never finishes: no time, train_finishes false.
TEST(Goodput, TrainingTimeIsTheTokensOverWhatADayTrains) {
  FailureModel m = Must(ParseFailureModel(
      "window_s: 10000\ngpus: 1\ngpus_per_node: 1\ncauses:\n  - {name: a, per: gpu, count: 1}\n",
      "one.yaml"));
  GoodputOptions o;
  o.storage_bytes_per_s = 1e9;
  o.node_storage_bytes_per_s = 1e9;
  GoodputPoint none = Must(Evaluate(m, {1, 1, 1e10, 1000}, o));
  EXPECT_FALSE(none.train_finishes);
  EXPECT_EQ(none.train_time_s, 0);
  o.train_tokens = 1e9;
  GoodputPoint p = Must(Evaluate(m, {1, 1, 1e10, 1000}, o));
  ASSERT_TRUE(p.train_finishes);
  EXPECT_NEAR(p.train_step_time_s, 1e6, 1e-6);
  EXPECT_NEAR(p.train_time_s, 1e6 / p.effective, 1e-6);
  EXPECT_NEAR(p.train_time_s, 1e9 / p.tokens_per_day * kDay, 1e-6);
  EXPECT_DOUBLE_EQ(p.train_gpu_time_s, p.train_time_s);
  // 16 GPUs at the same per-GPU rate: a sixteenth of the steps' time, the GPU time 16 x the
  // wall clock (more failures, so a lower E).
  GoodputPoint wide = Must(Evaluate(m, {16, 1, 1e10, 1000}, o));
  EXPECT_NEAR(wide.train_step_time_s, 1e6 / 16, 1e-6);
  EXPECT_NEAR(wide.train_gpu_time_s, 16 * wide.train_time_s, 1e-3);
  EXPECT_LT(wide.effective, p.effective);
  GoodputPoint idle = Must(Evaluate(m, {1, 1, 1e10, 0}, o));
  EXPECT_FALSE(idle.train_finishes);
  EXPECT_EQ(idle.train_gpu_time_s, 0);
  // Whole steps: with 4,096 tokens a step, one token takes a step, 4,096 / 1,000 = 4.096 s of
  // steps (it read 0.001 s before, shorter than the step it needs); 4,097 tokens take two.
  GoodputJob stepped{1, 1, 1e10, 1000, 0, 4096};
  o.train_tokens = 1;
  EXPECT_NEAR(Must(Evaluate(m, stepped, o)).train_step_time_s, 4.096, 1e-12);
  o.train_tokens = 4097;
  EXPECT_NEAR(Must(Evaluate(m, stepped, o)).train_step_time_s, 8.192, 1e-12);
}

// A sweep lists distinct counts, with no empty entry ("8,,16" read as 8,16 before).
TEST(Goodput, SweepCountsAreDistinctAndWhole) {
  GoodputOptions o;
  const spec::Schema<GoodputOptions>& s = GoodputOptionsSchema();
  EXPECT_TRUE(s.Set(o, "sweep_gpus", spec::ScalarValue("8,16", "--sweep-gpus")).ok());
  EXPECT_EQ(o.sweep_gpus, (std::vector<int64_t>{8, 16}));
  Status empty = s.Set(o, "sweep_gpus", spec::ScalarValue("8,,16", "--sweep-gpus"));
  EXPECT_NE(empty.message().find("has an empty entry"), std::string::npos) << empty.message();
  Status twice = s.Set(o, "sweep_gpus", spec::ScalarValue("1,1", "--sweep-gpus"));
  EXPECT_NE(twice.message().find("lists 1 twice"), std::string::npos) << twice.message();
  spec::RawValue quoted = spec::ScalarValue("1024", "goodput.yaml:3");
  quoted.quoted = true;
  EXPECT_EQ(s.Set(o, "sweep_gpus", quoted).key(), "goodput.sweep_gpus");
}

TEST(Goodput, SweepScalesFailuresWithTheJob) {
  FailureModel m = Must(LoadFailureModel("llama3-405b"));
  GoodputOptions o;
  GoodputPoint a = Must(Evaluate(m, {16384, 8, 5.68e12, 170}, o));
  GoodputPoint b = Must(Evaluate(m, {32768, 8, 5.68e12, 170}, o));
  EXPECT_NEAR(b.failures_per_day, 2 * a.failures_per_day, 1e-9);
  EXPECT_NEAR(b.planned_per_day, a.planned_per_day, 1e-12);
  EXPECT_NEAR(a.failures_per_day, 419.0 / 54, 1e-9);
  EXPECT_LT(b.effective, a.effective);
  EXPECT_LT(b.interval_s, a.interval_s);
}

}  // namespace
}  // namespace scaleplan::goodput
