// The CubicML loop on the ranking-model space (predict/rec_testbed.h).
#include "predict/rec_testbed.h"

#include <gtest/gtest.h>

#include <cmath>

#include "predict/rec_suggest.h"
#include "recsys/study.h"
#include "test_util.h"

namespace scaleplan::predict {
namespace {

using scaleplan::testing::Must;

// MLPerf DLRM-DCNv2 on one 8-GPU DGX H100 node at its global batch.
spec::RecJobSpec SmallJob() {
  recsys::RecSource source;
  source.gpus = 8;
  return Must(recsys::LoadRecJob(source, spec::RecJobSpec{}));
}

// Its 8 most-looked-up tables (examples/), quicker to plan 192 times.
spec::RecJobSpec EightTables() {
  recsys::RecSource source;
  source.gpus = 8;
  source.model = std::string(SCALEPLAN_TEST_DIR) + "/../examples/ranking-mlperf-8-tables.yaml";
  return Must(recsys::LoadRecJob(source, spec::RecJobSpec{}));
}

Truth RecTruth(const std::string& text) {
  return Must(ParseTruth(text, "truth.yaml", &RecTruthVocabulary()));
}

TEST(RecTestbed, TruthTakesTheSpaceWords) {
  // lookup_scale and the space's dimensions are accepted, values as text.
  Truth t = RecTruth(
      "effects:\n  - {kind: lookup_scale, when: {planner: hugectr, overlap_embeddings: false}, "
      "factor: 0.5}\n");
  ASSERT_EQ(t.effects.size(), 1u);
  EXPECT_EQ(t.effects[0].kind, "lookup_scale");
  ASSERT_EQ(t.effects[0].when.size(), 2u);
  EXPECT_EQ(t.effects[0].when[1].second, nlohmann::json("false"));
  struct Bad {
    const char* text;
    const char* message;
  };
  for (const Bad& bad : {
           Bad{"effects:\n  - {kind: comm_scale, dim: tp, factor: 2}\n",
               "truth.effects[0].kind = comm_scale (allowed: compute_scale, lookup_scale,"},
           Bad{"effects:\n  - {kind: compute_scale, when: {tp: 8}, factor: 2}\n",
               "'tp' is not a dimension of the space (allowed: planner, embedding_dtype,"},
           Bad{"effects:\n  - {kind: compute_scale, when: {planner: fbgemm}, factor: 2}\n",
               "when.planner = fbgemm (allowed: scaleplan, torchrec, hugectr)"},
       }) {
    Result<Truth> r = ParseTruth(bad.text, "truth.yaml", &RecTruthVocabulary());
    ASSERT_FALSE(r.ok()) << bad.text;
    EXPECT_NE(r.status().message().find(bad.message), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("truth.yaml:"), std::string::npos);
  }
  // The transformer testbed still refuses the ranking space's kind.
  EXPECT_FALSE(ParseTruth("effects:\n  - {kind: lookup_scale, factor: 2}\n", "t.yaml").ok());
}

TEST(RecTestbed, WithoutEffectsThePhysicsFindsTheOptimum) {
  // No effects and no noise: every plan's true throughput is the physics' own, so the physics'
  // first job is the optimum (regret 0), and cubic's first batch, with nothing learned, is the
  // same. 10 jobs in batches of 4: points at 4, 8 and 10 jobs.
  RecTestbedOptions options;
  options.budget = 10;
  options.batch = 4;
  RecTestbedReport r = Must(RunRecTestbed(SmallJob(), RecTruth("seed: 3\n"), options));
  EXPECT_EQ(r.plans, 192);
  EXPECT_GT(r.optimum_samples_per_s_per_gpu, 0);
  EXPECT_DOUBLE_EQ(r.physics_best_true_samples_per_s_per_gpu, r.optimum_samples_per_s_per_gpu);
  ASSERT_EQ(r.methods.size(), 5u);
  for (const RecMethodResult& m : r.methods) {
    ASSERT_EQ(m.curve.size(), 3u) << m.name;
    EXPECT_EQ(m.curve[0].jobs, 4);
    EXPECT_EQ(m.curve[2].jobs, 10);
    for (const RecCurvePoint& c : m.curve) {
      EXPECT_GE(c.regret_pct, 0) << m.name;
      EXPECT_LE(c.best_true_samples_per_s_per_gpu, r.optimum_samples_per_s_per_gpu);
    }
    EXPECT_EQ(m.oom_jobs + m.failed_jobs, 0) << m.name;
  }
  EXPECT_EQ(r.methods[1].name, "physics");
  EXPECT_DOUBLE_EQ(r.methods[1].curve[0].regret_pct, 0);
  EXPECT_DOUBLE_EQ(r.methods[0].curve[0].regret_pct, 0);  // cubic: the same first batch
  // Every measurement equals the physics, so every target ln(measured / physics) is 0 and the
  // ridge ensemble learns a correction of exactly 0 (zero targets, zero weights, zero intercept):
  // cubic's model is the physics, and its tau is the physics' at every point (4 distinct plans
  // are enough to fit from the first batch on).
  for (size_t i = 0; i < r.methods[0].curve.size(); ++i) {
    ASSERT_TRUE(r.methods[0].curve[i].kendall_tau.has_value()) << i;
    ASSERT_TRUE(r.methods[1].curve[i].kendall_tau.has_value()) << i;
    EXPECT_DOUBLE_EQ(*r.methods[0].curve[i].kendall_tau, *r.methods[1].curve[i].kendall_tau);
  }
  EXPECT_GT(*r.methods[1].curve[0].kendall_tau, 0);
  EXPECT_FALSE(r.methods[2].curve[0].kendall_tau.has_value());  // random has no model
  EXPECT_EQ(r.physics_best_status, "ok");
  EXPECT_EQ(r.planner_failures, 0);
}

TEST(RecTestbed, EffectsChangeWhatRuns) {
  RecTestbedOptions options;
  options.budget = 4;
  options.methods = {"physics"};
  const spec::RecJobSpec job = EightTables();
  const RecTestbedReport base = Must(RunRecTestbed(job, RecTruth("seed: 1\n"), options));
  const double plain = base.optimum_samples_per_s_per_gpu;
  // Dense layers at half speed: the dense compute is on every plan's critical path, so every
  // plan, the optimum among them, is slower.
  const double slower =
      Must(RunRecTestbed(job, RecTruth("effects:\n  - {kind: compute_scale, factor: 0.5}\n"),
                         options))
          .optimum_samples_per_s_per_gpu;
  EXPECT_LT(slower, plain);
  // Lookups at half the bandwidth: every plan reads its tables on the critical path, so the
  // optimum is slower.
  const double lookups =
      Must(RunRecTestbed(job, RecTruth("effects:\n  - {kind: lookup_scale, factor: 0.5}\n"),
                         options))
          .optimum_samples_per_s_per_gpu;
  EXPECT_LT(lookups, plain);
  // NVLink at half the bandwidth: on one node every collective crosses it; not faster.
  const double nvlink = Must(RunRecTestbed(job,
                                           RecTruth("effects:\n  - {kind: tier_bandwidth, tier: "
                                                    "node, factor: 0.5}\n"),
                                           options))
                            .optimum_samples_per_s_per_gpu;
  EXPECT_LE(nvlink, plain);
  // 0.1 ms added to every step of the plans without input pipelining, none to the others. The
  // plain optimum pipelines its input (the ids' all-to-all hides behind the previous step), so it
  // is untouched and stays the optimum: the same value.
  ASSERT_NE(base.optimum_plan.find("pipeline_input_dist true"), std::string::npos)
      << base.optimum_plan;
  const double overhead =
      Must(RunRecTestbed(job,
                         RecTruth("effects:\n  - {kind: step_overhead_s, when: "
                                  "{pipeline_input_dist: \"false\"}, value: 0.0001}\n"),
                         options))
          .optimum_samples_per_s_per_gpu;
  EXPECT_DOUBLE_EQ(overhead, plain);
  // Scale factors the GPU cannot reach: H100's sustained fraction, 0.775, times 2 is above 1.
  Result<RecTestbedReport> fast =
      RunRecTestbed(job, RecTruth("effects:\n  - {kind: compute_scale, factor: 2}\n"), options);
  ASSERT_FALSE(fast.ok());
  EXPECT_NE(fast.status().message().find("truth.yaml:2 (factor 2): compute_scale makes h100-sxm's "
                                         "sustained compute fraction 1.55"),
            std::string::npos)
      << fast.status().message();
  // A margin larger than any GPU: every job is out of memory, and the testbed says so.
  Result<RecTestbedReport> none = RunRecTestbed(
      job, RecTruth("effects:\n  - {kind: memory_margin_bytes, value: 1e15}\n"), options);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no plan of the space runs"), std::string::npos);
  // A tier the cluster does not have.
  Result<RecTestbedReport> tier = RunRecTestbed(
      job, RecTruth("effects:\n  - {kind: tier_bandwidth, tier: rack, factor: 0.5}\n"), options);
  ASSERT_FALSE(tier.ok());
  EXPECT_NE(tier.status().message().find("tier = rack is not a tier of cluster dgx-h100-ib"),
            std::string::npos)
      << tier.status().message();
}

}  // namespace
}  // namespace scaleplan::predict

namespace scaleplan::predict {
namespace {

TEST(RecSuggest, LogLinesAreCheckedByName) {
  const std::string job = R"("model": "mlperf-dlrm-dcnv2", "cluster": "dgx-h100-ib", "gpus": 8)";
  // Knobs as text or booleans; a knob left out takes its first value, embedding_dtype the
  // model's own (the preset's fp32: value 0).
  std::vector<RecLoggedJob> jobs = Must(ParseRecJobLog(
      "\n{" + job +
          R"(, "plan": {"planner": "hugectr", "pipeline_input_dist": false}, "samples_per_s_per_gpu": 1e6})"
          "\n{" +
          job + R"(, "status": "oom"})" + "\n",
      "log.jsonl"));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].knobs, (RecKnobs{2, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(jobs[0].where, "log.jsonl:2");
  EXPECT_DOUBLE_EQ(jobs[0].samples_per_s_per_gpu, 1e6);
  EXPECT_EQ(jobs[1].status, "oom");
  EXPECT_EQ(jobs[0].job.global_batch, 55296);
  struct Bad {
    std::string line;
    const char* message;
  };
  for (const Bad& bad : {
           Bad{"[1, 2]", "log.jsonl:1: a log line is [1,2] (allowed: one finished ranking job"},
           Bad{"{" + job + R"(, "gpus": 64, "samples_per_s_per_gpu": 1})",
               "log.jsonl:1: key \"gpus\" is given twice in one object"},
           Bad{R"({"model": "nope", "cluster": "dgx-h100-ib", "gpus": 8})",
               "log.jsonl:1: model = \"nope\": unknown ranking preset 'nope'"},
           Bad{R"({"model": "mlperf-dlrm-dcnv2", "cluster": "dgx-h100-ib", "gpus": 100000})",
               "log.jsonl:1: rec_job.gpus = 100000 does not fit cluster dgx-h100-ib"},
           Bad{"{" + job + R"(, "tp": 8})", "log.jsonl:1: unknown key 'tp' (allowed: model,"},
           Bad{"{" + job + R"(, "plan": {"tp": 8}, "samples_per_s_per_gpu": 1})",
               "plan.tp is not a knob of the ranking space (allowed: planner, embedding_dtype,"},
           Bad{"{" + job + R"(, "plan": {"planner": "fbgemm"}, "samples_per_s_per_gpu": 1})",
               "plan.planner = \"fbgemm\" (allowed: scaleplan, torchrec, hugectr)"},
           Bad{"{" + job + "}", "samples_per_s_per_gpu = (missing) (allowed: a job with status ok"},
           // MLPerf's DLRM-DCNv2 is 32.08 MFLOP a sample forward, 96.25 MFLOP in training; an
           // H100's highest dense peak (FP8) 1.979e15 FLOP/s trains at most 1.979e15 / 9.625e7 =
           // 2.056e7 samples a second: 1e12 is a wrong number (the 1e6 above passes; MLPerf's
           // measured rates are near 1.6e6).
           Bad{"{" + job + R"(, "samples_per_s_per_gpu": 1e12})",
               "samples_per_s_per_gpu = 1000000000000.0 is faster than one h100-sxm trains this "
               "model at its dense peak (allowed: at most 2.056e+07: 9.625e+07 FLOP a sample"},
           Bad{"{" + job + R"(, "status": "oom", "samples_per_s_per_gpu": 5})",
               "samples_per_s_per_gpu given for a job with status oom"},
           Bad{"{" + job + R"(, "status": "crashed"})",
               "status = \"crashed\" (allowed: ok, oom, failed, timeout)"},
           Bad{R"({"model": "mlperf-dlrm-dcnv2", "cluster": "dgx-h100-ib", "gpus": 0})",
               "gpus = 0 (allowed: an integer from 1 to 1048576)"},
           Bad{R"({"cluster": "dgx-h100-ib", "gpus": 8})", "log.jsonl:1: model is missing"},
           Bad{"  \n", "log.jsonl: a job log with no jobs"},
       }) {
    Result<std::vector<RecLoggedJob>> r = ParseRecJobLog(bad.line, "log.jsonl");
    ASSERT_FALSE(r.ok()) << bad.line;
    EXPECT_NE(r.status().message().find(bad.message), std::string::npos) << r.status().message();
  }
}

TEST(RecSuggest, ACorrectionLearnedFromTheLogScalesEveryEstimate) {
  // Four logged jobs of the 8-table model on 8 GPUs, each measured at exactly twice the physics:
  // every target is ln 2, so ridge learns zero weights and an intercept of ln 2, every member
  // alike (spread 0). Each proposal's estimate is then twice its physics, the order is the
  // physics' own, and the four logged plans are not proposed again.
  recsys::RecSource source;
  source.gpus = 8;
  source.model = std::string(SCALEPLAN_TEST_DIR) + "/../examples/ranking-mlperf-8-tables.yaml";
  const spec::RecJobSpec base = Must(recsys::LoadRecJob(source, spec::RecJobSpec{}));
  std::vector<RecLoggedJob> jobs;
  for (const RecKnobs& k : {RecKnobs{0, 0, 0, 0, 0, 0, 0}, RecKnobs{1, 0, 0, 0, 0, 0, 0},
                            RecKnobs{2, 1, 0, 0, 0, 0, 0}, RecKnobs{0, 1, 1, 0, 0, 0, 1}}) {
    RecLoggedJob j;
    j.job = base;
    j.knobs = k;
    const std::optional<RecPlanned> p = Must(PlanRecKnobs(base, k));
    ASSERT_TRUE(p.has_value());
    j.samples_per_s_per_gpu = 2 * p->physics.samples_per_s_per_gpu;
    jobs.push_back(j);
  }
  RecSuggestOptions options;
  options.count = 6;
  RecSuggestion s = Must(RecSuggest(base, jobs, options));
  EXPECT_TRUE(s.has_predictor);
  EXPECT_FALSE(s.has_feasibility);  // no job ran out of memory
  EXPECT_EQ(s.measured_jobs, 4);
  EXPECT_EQ(s.already_run, 4);
  ASSERT_EQ(s.proposals.size(), 6u);
  for (size_t i = 0; i < s.proposals.size(); ++i) {
    const RecProposal& p = s.proposals[i];
    EXPECT_NEAR(p.estimated_samples_per_s_per_gpu / p.physics_samples_per_s_per_gpu, 2, 1e-9);
    // The members agree to rounding: a variance of ~1e-16 is a standard deviation of ~1e-8.
    EXPECT_NEAR(p.spread, 0, 1e-6);
    for (const RecLoggedJob& j : jobs) EXPECT_NE(p.knobs, j.knobs);
    if (i > 0) {
      EXPECT_LE(p.physics_samples_per_s_per_gpu, s.proposals[i - 1].physics_samples_per_s_per_gpu);
    }
  }
  EXPECT_EQ(s.job, "mlperf-dlrm-dcnv2-8-hottest on 8 x h100-sxm (dgx-h100-ib), global batch 55296");
  // The best proposal, logged again as failed: not learned from and proposed again (first, as
  // before). A logged plan repeated counts once.
  RecLoggedJob failed = jobs[0];
  failed.knobs = s.proposals[0].knobs;
  failed.status = "failed";
  std::vector<RecLoggedJob> with_failed = jobs;
  with_failed.push_back(failed);
  with_failed.push_back(jobs[1]);
  RecSuggestion again = Must(RecSuggest(base, with_failed, options));
  EXPECT_EQ(again.other_failed_jobs, 1);
  EXPECT_EQ(again.already_run, 4);
  EXPECT_EQ(again.measured_jobs, 5);
  EXPECT_EQ(again.proposals[0].knobs, s.proposals[0].knobs);
  // A base job that does not resolve is an error, not an empty list.
  spec::RecJobSpec too_big = base;
  too_big.gpus = 100000;
  Result<RecSuggestion> bad = RecSuggest(too_big, jobs, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("gpus = 100000 does not fit cluster dgx-h100-ib"),
            std::string::npos)
      << bad.status().message();
  // One job out of memory beside them: the feasibility model is fitted and counted.
  RecLoggedJob oom = jobs[0];
  oom.knobs = RecKnobs{1, 1, 1, 1, 1, 1, 1};
  oom.status = "oom";
  jobs.push_back(oom);
  s = Must(RecSuggest(base, jobs, options));
  EXPECT_TRUE(s.has_feasibility);
  EXPECT_EQ(s.oom_jobs, 1);
  EXPECT_EQ(s.already_run, 5);
}

}  // namespace
}  // namespace scaleplan::predict
