#include "search/search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <set>

#include "plan/memory.h"
#include "plan/plan.h"
#include "report/launch.h"
#include "sim/recompute_fit.h"
#include "spec/presets.h"
#include "spec/readers.h"
#include "test_util.h"
#include "thread_ranks.h"

namespace scaleplan::search {
namespace {

using scaleplan::testing::Must;

// A model preset on `gpus` H100s of dgx-h100-ib, sequences of 4096 tokens.
spec::JobSpec H100Job(const char* model, int64_t gpus, int64_t global_batch) {
  spec::JobSpec job;
  job.model = Must(spec::LoadModel(model));
  job.cluster = Must(spec::LoadCluster("dgx-h100-ib"));
  job.gpus = gpus;
  job.workload.seq_len = 4096;
  job.workload.global_batch = global_batch;
  return job;
}

// Llama 3 8B on 32 H100s, 256 sequences of 4096 tokens, with a space small enough to brute-force.
spec::JobSpec SmallJob() { return H100Job("llama3-8b", 32, 256); }

SearchSpace SmallSpace(const spec::JobSpec& job) {
  SearchSpace s = DefaultSpace(job);
  s.cp = {1, 2};
  s.pp = {1, 2, 4};
  s.vp = {1, 2};
  s.micro_batch = {1, 2};
  s.zero = {spec::ZeroMode::kZero1, spec::ZeroMode::kFsdp};
  s.recompute = {spec::Recompute::kNone, spec::Recompute::kFull};
  s.placement.resize(2);
  s.schedule = {spec::Schedule::k1F1B, spec::Schedule::kInterleaved};
  s.trim_edge_stages = {false};
  return s;
}

// DeepSeek-V3's 61 layers divide by 1 and 61, 63 (trimmed) by 3, 7, 9, 21 and 63: a job that lets
// layers split unevenly also tries pp 2, 4, 8, 16 and 32.
TEST(Space, UnevenLayersAddThePowersOfTwo) {
  spec::JobSpec job = H100Job("deepseek-v3", 1024, 1024);
  EXPECT_EQ(DefaultSpace(job).pp, (std::vector<int64_t>{1, 3, 7, 9, 21, 61, 63}));
  const std::vector<int64_t> uneven = {1, 2, 3, 4, 7, 8, 9, 16, 21, 32, 61, 63};
  // As a pin (`search --uneven-layers true`), which applies before the space is drawn.
  EXPECT_EQ(Must(ApplyPins(job, {{"uneven_layers", "true", "--uneven-layers"}})).space.pp, uneven);
  job.plan.uneven_layers = true;
  EXPECT_EQ(DefaultSpace(job).pp, uneven);
}

// Brute force: every candidate built, checked for memory and evaluated independently of the
// search code's enumeration and pruning.
double BruteForceBest(const spec::JobSpec& job, const SearchSpace& s) {
  double best = std::numeric_limits<double>::infinity();
  Candidate c{};
  std::function<void(int)> walk = [&](int d) {
    if (d == kDimensions) {
      Result<plan::Plan> p = plan::BuildPlan(Decode(job, s, c));
      if (!p.ok() || !plan::ComputeMemory(*p).fits) return;
      best = std::min(best, Must(sim::Evaluate(*p)).step_time_s);
      return;
    }
    for (uint32_t i = 0; i < s.Count(d); ++i) {
      c[static_cast<size_t>(d)] = i;
      walk(d + 1);
    }
  };
  walk(0);
  return best;
}

TEST(Search, ExhaustiveFindsTheTrueBest) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  SearchOptions analytical_only;
  analytical_only.rerank_with_events = false;
  SearchResult r = Must(Search(job, space, analytical_only));
  ASSERT_FALSE(r.top.empty());
  EXPECT_DOUBLE_EQ(r.top.front().step.step_time_s, BruteForceBest(job, space));
  EXPECT_EQ(r.stop_reason, "space exhausted");
  // With re-ranking the same plans come back ordered by the event engine's step time.
  SearchResult reranked = Must(Search(job, space, {}));
  ASSERT_EQ(reranked.top.size(), r.top.size());
  for (size_t i = 1; i < reranked.top.size(); ++i) {
    EXPECT_LE(reranked.top[i - 1].event_step_time_s, reranked.top[i].event_step_time_s);
  }
  EXPECT_DOUBLE_EQ(static_cast<double>(r.evaluated + r.pruned), space.Size());
}

TEST(Search, ResultsDoNotDependOnThreads) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  SearchOptions one;
  one.threads = 1;
  SearchOptions two;
  two.threads = 2;
  one.rerank_with_events = two.rerank_with_events = false;
  SearchResult a = Must(Search(job, space, one));
  SearchResult b = Must(Search(job, space, two));
  ASSERT_EQ(a.top.size(), b.top.size());
  for (size_t i = 0; i < a.top.size(); ++i) EXPECT_EQ(a.top[i].description, b.top[i].description);
  EXPECT_EQ(a.evaluated, b.evaluated);
}

// Split across ranks (threads standing in for mpirun's processes), exhaustive and random return
// what one process returns: the same plans in the same order with the same step times, and the
// same counters (each rank's share of them adds up to one process's).
TEST(Search, SplitAcrossRanksGivesOneProcesssAnswer) {
  for (const char* optimizer : {"exhaustive", "random"}) {
    const bool random = std::string(optimizer) == "random";
    spec::JobSpec job = SmallJob();
    SearchSpace space = SmallSpace(job);
    SearchOptions o;
    o.optimizer = optimizer;
    o.top_k = 25;
    if (random) {
      // The default space without CP, drawn deep: plans that describe alike (every CP algorithm
      // of a plan without CP) meet in the top K, and which of them stays must not depend on the
      // rank that drew it (tests/mpi/check_split.py runs the command-line case that showed it).
      job = Must(spec::LoadJob(spec::kDefaultJob));
      job.model = Must(spec::LoadModel("llama3-8b"));
      job.gpus = 64;
      space = DefaultSpace(job);
      space.cp = {1};
      o.top_k = 2000;
      o.max_evaluations = 20000;
      o.seed = 5;
      o.rerank_with_events = false;  // 2,000 event runs would only slow the test
    }
    const SearchResult alone = Must(Search(job, space, o));
    ASSERT_GE(alone.top.size(), 20u) << optimizer;
    for (int n : {2, 3}) {
      testing::ThreadRanks ranks(n);
      std::vector<SearchResult> results(static_cast<size_t>(n));
      ranks.Run([&](const Processes& processes) {
        SearchOptions split = o;
        split.processes = &processes;
        results[static_cast<size_t>(processes.rank())] = Must(Search(job, space, split));
      });
      for (const SearchResult& r : results) {
        ASSERT_EQ(r.top.size(), alone.top.size()) << optimizer << " on " << n;
        for (size_t i = 0; i < r.top.size(); ++i) {
          EXPECT_EQ(r.top[i].description, alone.top[i].description);
          EXPECT_EQ(r.top[i].step.step_time_s, alone.top[i].step.step_time_s);
          EXPECT_EQ(r.top[i].event_step_time_s, alone.top[i].event_step_time_s);
          EXPECT_EQ(r.top[i].peak_bytes_per_gpu, alone.top[i].peak_bytes_per_gpu);
        }
        EXPECT_EQ(r.evaluated, alone.evaluated);
        EXPECT_EQ(r.pruned, alone.pruned);
        EXPECT_EQ(r.pruned_by, alone.pruned_by);
        EXPECT_EQ(r.stop_reason, alone.stop_reason);
        ASSERT_EQ(r.shares.size(), static_cast<size_t>(n));
        uint64_t evaluated = 0;
        for (const ProcessShare& share : r.shares) {
          evaluated += share.evaluated;
          // Each rank scored a part: none did the whole (the space has many valid layouts).
          EXPECT_LT(share.evaluated, alone.evaluated) << optimizer << " rank " << share.rank;
        }
        EXPECT_EQ(evaluated, alone.evaluated);
        EXPECT_EQ(r.transport, "threads");
      }
    }
  }
}

// No valid plan is bad input only when the search proved it: the space walked in full, nothing
// evaluated, nothing refused for memory. The error cites the rule that pruned the most.
TEST(Search, NoValidPlanIsAnErrorOnlyWhenProved) {
  SearchResult r;
  r.stop_reason = "space exhausted";
  r.space_size = 100;
  r.pruned_by = {{"plan.tp", 60}, {"plan.pp", 30}, {"plan.schedule (no effect at pp = 1)", 10}};
  r.pruned_why = {{"plan.tp", "plan.tp = 3 does not divide model.heads = 32"},
                  {"plan.pp", "plan.pp = 5 does not divide model.layers = 32"}};
  Status invalid = CheckSomePlanValid(r);
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.key(), "plan.tp");
  EXPECT_EQ(invalid.message(),
            "no candidate is a valid plan for this job: plan.tp = 3 does not divide model.heads = "
            "32; 60 of the 100 candidates broke plan.tp, the rest plan.pp");
  // One plan refused for memory exists, so the answer is "no plan fits", not an error.
  SearchResult memory = r;
  memory.pruned_by["does not fit in memory"] = 1;
  EXPECT_TRUE(CheckSomePlanValid(memory).ok());
  // A search that stopped early proves nothing; one that evaluated a plan found one valid.
  SearchResult budget = r;
  budget.stop_reason = "evaluation budget";
  EXPECT_TRUE(CheckSomePlanValid(budget).ok());
  SearchResult evaluated = r;
  evaluated.evaluated = 1;
  EXPECT_TRUE(CheckSomePlanValid(evaluated).ok());
  // The real search: TP 3 on 32 heads.
  spec::JobSpec job = SmallJob();
  SearchSpace space = DefaultSpace(job);
  space.tp = {3};
  SearchOptions o;
  o.rerank_with_events = false;
  Status real = CheckSomePlanValid(Must(Search(job, space, o)));
  EXPECT_EQ(real.key(), "plan.tp") << real.message();
}

TEST(Search, SequentialOptimizersRefuseToSplit) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  testing::ThreadRanks ranks(2);
  ranks.Run([&](const Processes& processes) {
    for (const char* optimizer : {"evolution", "reinforce"}) {
      SearchOptions o;
      o.optimizer = optimizer;
      o.processes = &processes;
      Result<SearchResult> r = Search(job, space, o);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().key(), "search.optimizer");
      EXPECT_NE(r.status().message().find("exhaustive, random"), std::string::npos)
          << r.status().message();
    }
  });
}

// Regularized evolution reaches the optimum of this space within 600 evaluations with seed 7
// (the space has 4*2*3*2*2*2*2*2*2*2 = 3,072 candidates, most of them invalid).
TEST(Search, EvolutionFindsTheBestWithinBudget) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  SearchOptions o;
  o.optimizer = "evolution";
  o.rerank_with_events = false;
  o.seed = 7;
  o.max_evaluations = 600;
  SearchResult r = Must(Search(job, space, o));
  ASSERT_FALSE(r.top.empty());
  EXPECT_DOUBLE_EQ(r.top.front().step.step_time_s, BruteForceBest(job, space));
  // Same seed, same answer.
  SearchResult again = Must(Search(job, space, o));
  EXPECT_EQ(again.top.front().description, r.top.front().description);
  EXPECT_EQ(again.evaluated, r.evaluated);
}

// REINFORCE on the same space: a policy that starts uniform and learns from the step times finds
// the brute-force optimum within 600 draws for seeds 1, 2 and 3 (checked here, not tuned: the
// constants are Reinforce's), and a seed gives the same answer twice.
TEST(Search, ReinforceFindsTheBestWithinBudget) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  double best = BruteForceBest(job, space);
  for (uint64_t seed : {1, 2, 3}) {
    SearchOptions o;
    o.optimizer = "reinforce";
    o.rerank_with_events = false;
    o.seed = seed;
    o.max_evaluations = 600;
    SearchResult r = Must(Search(job, space, o));
    ASSERT_FALSE(r.top.empty());
    EXPECT_DOUBLE_EQ(r.top.front().step.step_time_s, best) << "seed " << seed;
    SearchResult again = Must(Search(job, space, o));
    EXPECT_EQ(again.top.front().description, r.top.front().description);
    EXPECT_EQ(again.evaluated, r.evaluated);
  }
}

// The policy step is the gradient of its objective: central differences of
//   J(theta) = mean_k (R_k - b) ln softmax(theta)[a_k] + beta H(softmax(theta))
// agree with PolicyGradient to 1e-7 on a 4-value dimension with a non-uniform policy, a batch
// that picks values 0, 2, 2 and 3 with rewards on both sides of the baseline, and beta = 0.05.
// Without learning (all rewards at the baseline, beta 0) the step is zero.
TEST(Search, ReinforceStepIsThePolicyGradient) {
  const std::vector<double> theta = {0.3, -0.2, 0.9, 0.0};
  const std::vector<uint32_t> chosen = {0, 2, 2, 3};
  const std::vector<double> rewards = {0.5, -0.1, 0.2, -0.7};
  const double baseline = 0.05, beta = 0.05;
  auto objective = [&](const std::vector<double>& t) {
    double sum = 0;
    for (double v : t) sum += std::exp(v);
    double j = 0, h = 0;
    for (size_t k = 0; k < chosen.size(); ++k) {
      j += (rewards[k] - baseline) * std::log(std::exp(t[chosen[k]]) / sum);
    }
    for (double v : t) h -= std::exp(v) / sum * std::log(std::exp(v) / sum);
    return j / static_cast<double>(chosen.size()) + beta * h;
  };
  std::vector<double> g = PolicyGradient(theta, chosen, rewards, baseline, beta);
  ASSERT_EQ(g.size(), theta.size());
  const double eps = 1e-5;
  for (size_t v = 0; v < theta.size(); ++v) {
    std::vector<double> up = theta, down = theta;
    up[v] += eps;
    down[v] -= eps;
    EXPECT_NEAR(g[v], (objective(up) - objective(down)) / (2 * eps), 1e-7) << "logit " << v;
  }
  for (double x : PolicyGradient(theta, chosen, std::vector<double>(4, baseline), baseline, 0)) {
    EXPECT_NEAR(x, 0, 1e-15);
  }
}

// The baseline's advantages, by hand with decay 0.8:
//   batch 1 {1, 2, 3, 4}: its own mean 2.5 and deviation (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25,
//     sd 1.1180; advantages (-1.5, -0.5, 0.5, 1.5) / 1.1180 = -1.3416, -0.4472, 0.4472, 1.3416;
//     then deviation 0.8 * 1.25 + 0.2 * 1.25 = 1.25, mean 2.5.
//   batch 2 {2.5, 2.5, 2.5, 12.5}: 0, 0, 0 and 10 / 1.1180 = 8.94, clipped to 3; then deviation
//     0.8 * 1.25 + 0.2 * (100 / 4) = 6, mean 0.8 * 2.5 + 0.2 * 5 = 3.
//   batch 3 {3, 3 + sqrt(6)}: 0 and 1.
// Rewards 100 times larger and shifted give the same advantages (the step has no units), in the
// second batch too ({257, 257, 257, 1257} is 100 x batch 2 + 7); a first batch of equal rewards
// gives zeros. A reward that is not finite gets -3 and leaves the means alone: {NaN, 1, 2, 3, 4,
// -inf} gives -3, batch 1's four and -3, and then batch 2 as above.
TEST(Search, RewardBaselineScalesTheAdvantages) {
  auto expect = [](const std::vector<double>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4) << "reward " << k;
  };
  RewardBaseline b(0.8), scaled(0.8);
  expect(b.Advantages({1, 2, 3, 4}), {-1.3416, -0.4472, 0.4472, 1.3416});
  expect(b.Advantages({2.5, 2.5, 2.5, 12.5}), {0, 0, 0, RewardBaseline::kMaxAdvantage});
  expect(b.Advantages({3, 3 + std::sqrt(6.0)}), {0, 1});
  expect(scaled.Advantages({107, 207, 307, 407}), {-1.3416, -0.4472, 0.4472, 1.3416});
  expect(scaled.Advantages({257, 257, 257, 1257}), {0, 0, 0, RewardBaseline::kMaxAdvantage});
  RewardBaseline flat(0.8);
  expect(flat.Advantages({0.93, 0.93, 0.93, 0.93}), {0, 0, 0, 0});
  RewardBaseline broken(0.8);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  expect(broken.Advantages({nan, 1, 2, 3, 4, -inf}), {-3, -1.3416, -0.4472, 0.4472, 1.3416, -3});
  expect(broken.Advantages({2.5, 2.5, 2.5, 12.5}), {0, 0, 0, 3});
}

// Random sampling draws with replacement and evolution revisits plans: the top K still lists each
// plan once. Pinned to tp 8, pp 1, cp 1 the space has few distinct plans (schedule and placement
// do not matter without a pipeline and with one parallel dimension), far fewer than its draws.
TEST(Search, TopKListsEachPlanOnce) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  ASSERT_TRUE(Restrict(space, "tp", "8", "--tp").ok());
  ASSERT_TRUE(Restrict(space, "pp", "1", "--pp").ok());
  ASSERT_TRUE(Restrict(space, "cp", "1", "--cp").ok());
  for (const char* optimizer : {"random", "evolution", "reinforce"}) {
    SearchOptions o;
    o.optimizer = optimizer;
    o.rerank_with_events = false;
    // Fewer draws than candidates: a budget that covers the space walks it instead (each plan
    // once, nothing to deduplicate).
    o.max_evaluations = std::min<uint64_t>(300, static_cast<uint64_t>(space.Size()) - 1);
    o.top_k = 20;
    SearchResult r = Must(Search(job, space, o));
    ASSERT_GT(r.evaluated, r.top.size()) << optimizer;
    std::set<std::string> seen;
    for (const Evaluation& e : r.top) {
      // Without placement and schedule (the same plan at pp 1).
      std::string plan = e.description.substr(0, e.description.find(" ["));
      plan.replace(plan.find(spec::ScheduleName(e.plan.schedule)),
                   spec::ScheduleName(e.plan.schedule).size(), "");
      EXPECT_TRUE(seen.insert(plan).second) << optimizer << ": " << e.description;
    }
  }
}

// Expert TP is derived, not searched: a MoE candidate split over TP is scored with its experts
// split (etp = tp, Megatron-Core's default) and whole (etp = 1). Qwen3 30B-A3B on two 8-GPU nodes
// at TP 2, EP 8: split, the EP group takes every other rank of the DP 8 (stride 2), 16 ranks
// wide, and its all-to-all crosses InfiniBand; whole, EP takes the 2 TP ranks first, then 4 DP
// ranks: one node, NVLink. So etp 1 ranks first, and the one candidate is counted once.
TEST(Search, MoeCandidatesAlsoTryWholeExperts) {
  spec::JobSpec job = H100Job("qwen3-30b-a3b", 16, 64);
  SearchSpace space = DefaultSpace(job);
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"tp", "2"},
                                                        {"cp", "1"},
                                                        {"pp", "1"},
                                                        {"vp", "1"},
                                                        {"micro_batch", "1"},
                                                        {"ep", "8"},
                                                        {"zero", "1"},
                                                        {"recompute", "none"},
                                                        {"schedule", "1f1b"},
                                                        {"trim_edge_stages", "false"},
                                                        {"placement", "tp,cp,pp,dp"}}) {
    ASSERT_TRUE(Restrict(space, key, value, "--" + key).ok()) << key;
  }
  ASSERT_TRUE(Restrict(space, "cp_algorithm", "allgather", "--cp-algorithm").ok());
  SearchOptions o;
  o.rerank_with_events = false;
  SearchResult r = Must(Search(job, space, o));
  EXPECT_EQ(r.evaluated, 1u);
  ASSERT_EQ(r.top.size(), 2u);
  EXPECT_EQ(r.top[0].plan.etp, 1);
  EXPECT_EQ(r.top[1].plan.etp, 2);
  EXPECT_NE(r.top[0].description.find(" ETP 1"), std::string::npos) << r.top[0].description;
  EXPECT_EQ(r.top[1].description.find("ETP"), std::string::npos) << r.top[1].description;
  // Each is the plan's own evaluation, and whole experts are faster here.
  for (const Evaluation& e : r.top) {
    spec::JobSpec j = job;
    j.plan = e.plan;
    EXPECT_DOUBLE_EQ(e.step.step_time_s,
                     Must(sim::Evaluate(Must(plan::BuildPlan(j)))).step_time_s);
  }
  EXPECT_LT(r.top[0].step.step_time_s, r.top[1].step.step_time_s);

  // Not derived (the testbed's shared space): the candidate as decoded only.
  o.derive_expert_tp = false;
  SearchResult plain = Must(Search(job, space, o));
  ASSERT_EQ(plain.top.size(), 1u);
  EXPECT_EQ(plain.top[0].plan.etp, 2);

  // At dp * cp = 1 (8 GPUs, TP 4, PP 2) split experts reduce nothing (EP must divide dp * cp, so
  // ep = 1 and expert DP = 1), but whole ones are reduced over tp / ep = 4 ranks: delayed sync
  // is a different plan there and is not pruned, unless expert TP is not derived.
  job.gpus = 8;
  space = DefaultSpace(job);
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"tp", "4"}, {"pp", "2"}, {"cp", "1"}, {"vp", "1"}, {"micro_batch", "1"}, {"ep", "1"},
           {"zero", "3"}, {"recompute", "full"}, {"schedule", "1f1b"},
           {"trim_edge_stages", "false"}, {"placement", "tp,cp,pp,dp"},
           {"cp_algorithm", "allgather"}, {"grad_sync", "step,delayed"}}) {
    ASSERT_TRUE(Restrict(space, key, value, "--" + key).ok()) << key;
  }
  o.derive_expert_tp = true;
  r = Must(Search(job, space, o));
  EXPECT_EQ(r.evaluated, 2u);
  EXPECT_EQ(r.pruned_by.count("plan.grad_sync (no gradient reduced across ranks)"), 0u);
  o.derive_expert_tp = false;
  r = Must(Search(job, space, o));
  EXPECT_EQ(r.evaluated, 1u);
  EXPECT_EQ(r.pruned_by["plan.grad_sync (no gradient reduced across ranks)"], 1u);
}

// With fit_recompute, a candidate that does not fit is scored with the fastest recomputation
// under which it fits. Llama 3 70B on 32 H100s at 8,192 tokens is memory-bound: the search must
// find what a brute force over the same candidates, each filled by
// sim::FastestRecomputeThatFits (whose choices tests/validate_test.cpp derives by hand), finds,
// and here that beats every plan that fits as decoded with a partial recomputation (TP 2, CP 2,
// ZeRO-3, the first 14 of 80 layers recomputed: 15.54 s against 15.96 s for the best plan
// without recomputation, TP 4).
TEST(Search, FitRecomputeScoresWhatDoesNotFitWithTheFastestRecomputationThatFits) {
  spec::JobSpec job = H100Job("llama3-70b", 32, 64);
  job.workload.seq_len = 8192;
  SearchSpace space = SmallSpace(job);
  space.zero = {spec::ZeroMode::kZero1, spec::ZeroMode::kZero3};
  sim::Evaluator evaluator(Must(hardware::DeviceModel::For(job)));
  double brute = std::numeric_limits<double>::infinity();
  int filled = 0;
  Candidate c{};
  std::function<void(int)> walk = [&](int d) {
    if (d == kDimensions) {
      spec::JobSpec j = Decode(job, space, c);
      Result<plan::Plan> p = plan::BuildPlan(j);
      if (!p.ok()) return;
      std::optional<spec::PlanSpec> fitted =
          sim::FastestRecomputeThatFits(j, j.plan, evaluator);
      if (!fitted) return;
      filled += fitted->recompute != j.plan.recompute;
      j.plan = *fitted;
      plan::Plan q = Must(plan::BuildPlan(j));
      ASSERT_TRUE(plan::ComputeMemory(q).fits);
      brute = std::min(brute, Must(sim::Evaluate(q)).step_time_s);
      return;
    }
    for (uint32_t i = 0; i < space.Count(d); ++i) {
      c[static_cast<size_t>(d)] = i;
      walk(d + 1);
    }
  };
  walk(0);
  ASSERT_GT(filled, 0);

  SearchOptions o;
  const SearchResult plain = Must(Search(job, space, o));
  o.fit_recompute = true;
  const SearchResult fit = Must(Search(job, space, o));
  ASSERT_FALSE(plain.top.empty());
  ASSERT_FALSE(fit.top.empty());
  EXPECT_NEAR(fit.top.front().step.step_time_s, brute, 1e-9 * brute);
  EXPECT_LT(fit.top.front().step.step_time_s, plain.top.front().step.step_time_s);
  EXPECT_DOUBLE_EQ(plain.top.front().step.step_time_s, BruteForceBest(job, space));
  // The winner recomputes part of the model, and runs as reported.
  const spec::PlanSpec& best = fit.top.front().plan;
  EXPECT_TRUE((best.recompute == spec::Recompute::kFull && best.recompute_layers > 0) ||
              (best.recompute == spec::Recompute::kSelective &&
               best.recompute_modules != spec::kRecomputeCoreAttn))
      << spec::RecomputeText(best);
  for (const Evaluation& e : fit.top) {
    spec::JobSpec j = job;
    j.plan = e.plan;
    plan::Plan p = Must(plan::BuildPlan(j));
    EXPECT_TRUE(plan::ComputeMemory(p).fits) << e.description;
    EXPECT_NEAR(Must(sim::Evaluate(p)).step_time_s, e.step.step_time_s,
                1e-12 * e.step.step_time_s);
    // The space holds none and full: the fill never chooses selective recomputation.
    EXPECT_NE(e.plan.recompute, spec::Recompute::kSelective) << e.description;
  }
  // A space restricted to no recomputation (or a pinned layer count) is kept as it is.
  SearchSpace none = space;
  none.recompute = {spec::Recompute::kNone};
  o.fit_recompute = false;
  const SearchResult none_plain = Must(Search(job, none, o));
  o.fit_recompute = true;
  const SearchResult none_fit = Must(Search(job, none, o));
  EXPECT_EQ(none_fit.evaluated, none_plain.evaluated);
  EXPECT_DOUBLE_EQ(none_fit.top.front().step.step_time_s, none_plain.top.front().step.step_time_s);
  spec::JobSpec pinned = job;
  pinned.plan.recompute_layers = 40;
  const SearchResult pinned_fit = Must(Search(pinned, space, o));
  for (const Evaluation& e : pinned_fit.top) {
    EXPECT_TRUE(e.plan.recompute == spec::Recompute::kNone || e.plan.recompute_layers == 40)
        << e.description;
  }
}

TEST(Search, ReturnedPlansAreValidFitAndRespectPins) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  ASSERT_TRUE(Restrict(space, "tp", "2", "--tp").ok());
  ASSERT_TRUE(Restrict(space, "pp", "2,4", "--pp").ok());
  SearchOptions o;
  o.top_k = 50;
  SearchResult r = Must(Search(job, space, o));
  ASSERT_FALSE(r.top.empty());
  for (const Evaluation& e : r.top) {
    EXPECT_EQ(e.plan.tp, 2);
    EXPECT_TRUE(e.plan.pp == 2 || e.plan.pp == 4);
    spec::JobSpec j = job;
    j.plan = e.plan;
    plan::Plan p = Must(plan::BuildPlan(j));
    EXPECT_TRUE(plan::ComputeMemory(p).fits);
    EXPECT_LE(r.top.front().step.step_time_s, e.step.step_time_s);
  }
}

TEST(Search, RestrictRejectsBadValues) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = DefaultSpace(job);
  EXPECT_EQ(Restrict(space, "pp", "8,x", "--pp").message(),
            "--pp: plan.pp = x is not an integer (allowed: integer from 1 to 16777216)");
  EXPECT_NE(Restrict(space, "sequence_parallel", "true", "--sequence-parallel")
                .message()
                .find("not a search dimension"),
            std::string::npos);
}

TEST(Search, UnknownOptimizerListsKnownOnes) {
  spec::JobSpec job = SmallJob();
  SearchOptions o;
  o.optimizer = "annealing";
  Result<SearchResult> r = Search(job, SmallSpace(job), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "search.optimizer = annealing is not a known optimizer (allowed: exhaustive, random, "
            "evolution, reinforce)");
  EXPECT_EQ(r.status().key(), "search.optimizer");
}

// Emitted Megatron arguments read back to the same plan.
TEST(Launch, MegatronArgumentsRoundTrip) {
  for (const char* job_name : {"llama3-405b-16k"}) {
    spec::JobSpec job = Must(spec::LoadJob(job_name));
    job.plan.tp_comm_overlap = true;
    job.plan.zero = spec::ZeroMode::kZero1;  // Megatron's HSDP is its distributed optimizer's
    job.plan.dp_replicate = 2;  // HSDP: one distributed-optimizer instance per replica group
    job.plan.grad_reduce_dtype = spec::GradReduceDtype::kBf16;
    plan::Plan original = Must(plan::BuildPlan(job));
    std::string args = report::MegatronArgs(original);
    EXPECT_NE(args.find("--num-distributed-optimizer-instances 2"), std::string::npos);
    spec::JobSpec read = Must(spec::LoadJob(job_name));
    read.plan = spec::PlanSpec{};  // start from nothing the arguments do not say
    read.plan.dp_overlap = false;
    Must(report::ApplyMegatronArgs(args, read));
    plan::Plan back = Must(plan::BuildPlan(read));
    EXPECT_EQ(back.tp, original.tp);
    EXPECT_EQ(back.pp, original.pp);
    EXPECT_EQ(back.vp, original.vp);
    EXPECT_EQ(back.dp, original.dp);
    EXPECT_EQ(back.microbatches, original.microbatches);
    EXPECT_EQ(back.spec().zero, original.spec().zero);
    EXPECT_EQ(back.spec().trim_edge_stages, original.spec().trim_edge_stages);
    EXPECT_EQ(back.spec().sequence_parallel, original.spec().sequence_parallel);
    EXPECT_EQ(back.spec().tp_comm_overlap, true);
    EXPECT_EQ(back.spec().dp_replicate, 2);
    // Llama 3's rank order tp-cp-pp-dp is Megatron's --use-tp-pp-dp-mapping.
    EXPECT_NE(args.find("--use-tp-pp-dp-mapping"), std::string::npos);
    EXPECT_EQ(back.spec().placement, original.spec().placement);
    EXPECT_EQ(back.spec().grad_reduce_dtype, spec::GradReduceDtype::kBf16);
    EXPECT_EQ(back.spec().recompute, original.spec().recompute);
    EXPECT_EQ(back.model().layers, original.model().layers);
  }
}

// Each precision goes out as Megatron-LM's arguments and reads back: FP8 as --fp8-format hybrid,
// NVFP4 as --fp4-format e2m1 --fp4-recipe nvfp4; an FP4 format Megatron-LM lacks, a recipe other
// than NVFP4's, and an FP8 and an FP4 format together (which one wins would hang on their order)
// are refused.
TEST(Launch, MegatronPrecisionArguments) {
  for (spec::Precision precision :
       {spec::Precision::kBf16, spec::Precision::kFp8, spec::Precision::kFp4}) {
    spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
    job.cluster.gpu = Must(spec::LoadGpu("gb200"));
    job.plan.precision = precision;
    std::string args = report::MegatronArgs(Must(plan::BuildPlan(job)));
    EXPECT_EQ(args.find("--fp4-format e2m1 --fp4-recipe nvfp4") != std::string::npos,
              precision == spec::Precision::kFp4);
    spec::JobSpec read = Must(spec::LoadJob("llama3-405b-16k"));
    Must(report::ApplyMegatronArgs(args, read));
    EXPECT_EQ(read.plan.precision, precision) << args;
    // FP8 weights held alone: --fp8-param-gather (under the job's sharded optimizer), read back;
    // FP4 has no such argument here, and says so.
    if (precision == spec::Precision::kBf16) continue;
    job.plan.fp8_params = true;
    args = report::MegatronArgs(Must(plan::BuildPlan(job)));
    spec::JobSpec held = Must(spec::LoadJob("llama3-405b-16k"));
    Must(report::ApplyMegatronArgs(args, held));
    if (precision == spec::Precision::kFp8) {
      EXPECT_NE(args.find("--fp8-param-gather"), std::string::npos) << args;
      EXPECT_TRUE(held.plan.fp8_params) << args;
    } else {
      EXPECT_NE(args.find("# fp8_params with precision fp4 has no Megatron-LM argument"),
                std::string::npos)
          << args;
      EXPECT_FALSE(held.plan.fp8_params) << args;
    }
  }
  spec::JobSpec read = Must(spec::LoadJob("llama3-405b-16k"));
  Result<report::LaunchParse> bad = report::ApplyMegatronArgs("--fp4-format e4m3", read);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--megatron-args: --fp4-format = e4m3 (allowed: e2m1)");
  bad = report::ApplyMegatronArgs("--fp4-format e2m1 --fp4-recipe custom", read);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--megatron-args: --fp4-recipe = custom (allowed: nvfp4)");
  bad = report::ApplyMegatronArgs("--fp8-format hybrid --fp4-format e2m1", read);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--megatron-args: --fp8-format and --fp4-format are both given (allowed: one of them, "
            "FP8 or NVFP4 training)");
}

// A placement Megatron-LM has no rank order for is said in a comment line, which the reader skips;
// Megatron's default order emits no flag.
TEST(Launch, MegatronRankOrderOrANote) {
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  job.plan.placement = {spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kDp, spec::Dim::kPp};
  std::string args = report::MegatronArgs(Must(plan::BuildPlan(job)));
  EXPECT_EQ(args.find("--use-tp-pp-dp-mapping"), std::string::npos);
  EXPECT_EQ(args.find('#'), std::string::npos);
  job.plan.placement = {spec::Dim::kDp, spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kPp};
  args = report::MegatronArgs(Must(plan::BuildPlan(job)));
  // The note follows the arguments, so that they still run when pasted after a continuation.
  EXPECT_EQ(args.rfind("--tensor-model-parallel-size", 0), 0u) << args;
  EXPECT_NE(args.find("\n# placement [dp, tp, cp, pp] has no Megatron-LM rank order"),
            std::string::npos)
      << args;
  spec::JobSpec read = Must(spec::LoadJob("llama3-405b-16k"));
  Must(report::ApplyMegatronArgs(args, read));
  EXPECT_EQ(read.plan.placement, (std::vector<spec::Dim>{spec::Dim::kTp, spec::Dim::kCp,
                                                         spec::Dim::kDp, spec::Dim::kPp}));
}

// MLA's shape goes out as Megatron-LM's MLA arguments and reads back; without
// --multi-latent-attention those arguments do nothing (as in Megatron-LM), and absent ones take
// Megatron-LM's defaults.
TEST(Launch, MegatronLatentAttentionArguments) {
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  job.model = Must(spec::LoadModel("deepseek-v3"));
  job.gpus = 64;
  job.plan.cp = 1;
  job.plan.pp = 1;
  job.plan.vp = 1;
  job.plan.schedule = spec::Schedule::k1F1B;
  job.plan.trim_edge_stages = false;
  job.plan.ep = 8;
  std::string args = report::MegatronArgs(Must(plan::BuildPlan(job)));
  for (const char* expected :
       {"--multi-latent-attention", "--q-lora-rank 1536", "--kv-lora-rank 512",
        "--qk-head-dim 128", "--qk-pos-emb-head-dim 64", "--v-head-dim 128"}) {
    EXPECT_NE(args.find(expected), std::string::npos) << expected << "\n" << args;
  }
  EXPECT_EQ(args.find("--kv-channels"), std::string::npos);
  spec::JobSpec read = job;
  read.model = Must(spec::LoadModel("llama3-405b"));
  Must(report::ApplyMegatronArgs(args, read));
  EXPECT_EQ(read.model.q_lora_rank, 1536);
  EXPECT_EQ(read.model.kv_lora_rank, 512);
  EXPECT_EQ(read.model.head_dim, 128);
  EXPECT_EQ(read.model.rope_head_dim, 64);
  EXPECT_EQ(read.model.v_head_dim, 128);
  // The shared expert and the three dense layers go out as Megatron-LM's MoE arguments, and the
  // layer pattern reads back.
  EXPECT_NE(args.find("--moe-shared-expert-intermediate-size 2048"), std::string::npos) << args;
  EXPECT_NE(args.find("--moe-layer-freq \"[0,0,0,1,1,"), std::string::npos) << args;
  EXPECT_EQ(read.model.moe_first_dense_layers, 3);
  EXPECT_EQ(read.model.moe_layer_interval, 1);
  // An integer n: every n-th layer from the first; a list that is not a dense prefix and then
  // every n-th layer has no model form and is an error.
  spec::JobSpec every = job;
  Must(report::ApplyMegatronArgs("--num-layers 8 --moe-layer-freq 2", every));
  EXPECT_EQ(every.model.moe_first_dense_layers, 0);
  EXPECT_EQ(every.model.moe_layer_interval, 2);
  Must(report::ApplyMegatronArgs("--num-layers 6 --moe-layer-freq '[0,1,0,1,0,1]'", every));
  EXPECT_EQ(every.model.moe_first_dense_layers, 1);
  EXPECT_EQ(every.model.moe_layer_interval, 2);
  Result<report::LaunchParse> irregular =
      report::ApplyMegatronArgs("--num-layers 4 --moe-layer-freq [0,1,1,0]", every);
  ASSERT_FALSE(irregular.ok());
  EXPECT_EQ(irregular.status().message(),
            "--megatron-args: --moe-layer-freq's list of 4 entries is not, for --num-layers 4, "
            "dense layers followed by every n-th layer MoE (allowed: one 0 or 1 per layer, at "
            "least one 1, in that pattern)");
  EXPECT_FALSE(report::ApplyMegatronArgs("--moe-layer-freq 0", every).ok());
  EXPECT_FALSE(report::ApplyMegatronArgs("--moe-layer-freq [0,2]", every).ok());
  // An uneven split (61 layers over 16 x 2 chunks) keeps its vp, and the job's uneven_layers
  // survives the arguments, which do not carry it: the plan reads back.
  job.gpus = 1024;
  job.plan.pp = 16;
  job.plan.vp = 2;
  job.plan.schedule = spec::Schedule::kInterleaved;
  job.plan.uneven_layers = true;
  args = report::MegatronArgs(Must(plan::BuildPlan(job)));
  EXPECT_NE(args.find("--num-virtual-stages-per-pipeline-rank 2"), std::string::npos) << args;
  EXPECT_NE(args.find("# 61 layers split unevenly over 32 pipeline chunks"), std::string::npos);
  read = job;
  read.plan.vp = 1;
  Must(report::ApplyMegatronArgs(args, read));
  EXPECT_EQ(read.plan.vp, 2);
  EXPECT_TRUE(read.plan.uneven_layers);
  EXPECT_EQ(Must(plan::BuildPlan(read)).stages[0].chunks[1].layers, 2);
  spec::JobSpec plain = Must(spec::LoadJob("llama3-405b-16k"));
  Must(report::ApplyMegatronArgs("--kv-lora-rank 256 --tensor-model-parallel-size 8", plain));
  EXPECT_FALSE(plain.model.IsMla());
  Must(report::ApplyMegatronArgs("--multi-latent-attention --tensor-model-parallel-size 8", plain));
  EXPECT_EQ(plain.model.kv_lora_rank, 32);
  EXPECT_EQ(plain.model.q_lora_rank, 0);
  EXPECT_EQ(plain.model.rope_head_dim, 64);
}

// Recomputing the first n layers of each chunk is Megatron-LM's block method and reads back;
// uniform recomputes every layer; a method outside the two is an error that names it.
TEST(Launch, MegatronBlockRecomputation) {
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  job.plan.recompute = spec::Recompute::kFull;
  job.plan.recompute_layers = 3;
  std::string args = report::MegatronArgs(Must(plan::BuildPlan(job)));
  EXPECT_NE(
      args.find("--recompute-granularity full --recompute-method block --recompute-num-layers 3"),
      std::string::npos)
      << args;
  spec::JobSpec read = Must(spec::LoadJob("llama3-405b-16k"));
  Must(report::ApplyMegatronArgs(args, read));
  EXPECT_EQ(read.plan.recompute, spec::Recompute::kFull);
  EXPECT_EQ(read.plan.recompute_layers, 3);
  job.plan.recompute_layers = 0;
  args = report::MegatronArgs(Must(plan::BuildPlan(job)));
  EXPECT_NE(args.find("--recompute-method uniform"), std::string::npos) << args;
  Must(report::ApplyMegatronArgs(args, read));
  EXPECT_EQ(read.plan.recompute_layers, 0);
  Result<report::LaunchParse> bad = report::ApplyMegatronArgs(
      "--recompute-granularity full --recompute-method blocks --recompute-num-layers 2", read);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--megatron-args: --recompute-method = blocks (allowed: uniform, block)");
}

// Megatron-Core's recompute modules go out as --recompute-modules and read back; Megatron's
// default (core attention) writes none; an unknown module is an error that names it.
TEST(Launch, MegatronRecomputeModules) {
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  job.plan.recompute = spec::Recompute::kSelective;
  job.plan.recompute_modules = spec::kRecomputeLayernorm | spec::kRecomputeMlp;
  std::string args = report::MegatronArgs(Must(plan::BuildPlan(job)));
  EXPECT_NE(args.find("--recompute-granularity selective --recompute-modules layernorm mlp"),
            std::string::npos)
      << args;
  spec::JobSpec read = Must(spec::LoadJob("llama3-405b-16k"));
  Must(report::ApplyMegatronArgs(args, read));
  EXPECT_EQ(read.plan.recompute, spec::Recompute::kSelective);
  EXPECT_EQ(read.plan.recompute_modules, spec::kRecomputeLayernorm | spec::kRecomputeMlp);
  job.plan.recompute_modules = spec::kRecomputeCoreAttn;
  args = report::MegatronArgs(Must(plan::BuildPlan(job)));
  EXPECT_EQ(args.find("--recompute-modules"), std::string::npos) << args;
  Must(report::ApplyMegatronArgs(args, read));
  EXPECT_EQ(read.plan.recompute_modules, spec::kRecomputeCoreAttn);
  Result<report::LaunchParse> bad = report::ApplyMegatronArgs(
      "--recompute-granularity selective --recompute-modules layernorm attention", read);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--megatron-args: --recompute-modules names attention (allowed: core_attn, layernorm, "
            "mlp, moe_act, mla_up_proj, shared_experts)");
}

TEST(Launch, MegatronArgumentsErrorsNameTheArgument) {
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  Result<report::LaunchParse> r =
      report::ApplyMegatronArgs("--tensor-model-parallel-size zero", job);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "--megatron-args: --tensor-model-parallel-size = zero is not a positive integer "
            "(allowed: integer >= 1, in decimal digits)");
  // Underscores for dashes, on a flag that is not a size: SP was silently left off.
  Result<report::LaunchParse> underscored =
      report::ApplyMegatronArgs("--tensor-model-parallel-size 2 --sequence_parallel", job);
  ASSERT_FALSE(underscored.ok());
  EXPECT_EQ(underscored.status().message(),
            "--megatron-args: --sequence_parallel is not an argument of Megatron-LM (allowed: "
            "--sequence-parallel, with dashes)");
  report::LaunchParse ignored =
      Must(report::ApplyMegatronArgs("--lr 3e-4 --tensor-model-parallel-size 4", job));
  EXPECT_EQ(ignored.ignored, std::vector<std::string>{"--lr"});
  EXPECT_EQ(job.plan.tp, 4);
  // A size flag misspelt is refused, as Megatron-LM refuses it (ignored, TP would stay 1).
  r = report::ApplyMegatronArgs("--tensor-model-paralel-size 4", job);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--tensor-model-paralel-size is not an argument of "
                                      "Megatron-LM (allowed: --tensor-model-parallel-size"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace scaleplan::search

namespace scaleplan::search {
namespace {

// A budget far beyond the space (2^62 draws): random, evolution and reinforce stop once nothing
// new can be drawn, not after the budget. Random, with a budget that covers the 3,072 candidates,
// walks them all as exhaustive does: "space exhausted" with the brute-force optimum. Evolution
// and reinforce end either way (every candidate drawn, or a converged population or policy
// repeating itself 100,000 draws in a row).
TEST(Search, SamplingEndsWhenNothingNewCanBeDrawn) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  for (const char* optimizer : {"random", "evolution", "reinforce"}) {
    SearchOptions o;
    o.optimizer = optimizer;
    o.rerank_with_events = false;
    o.max_evaluations = uint64_t{1} << 62;
    SearchResult r = Must(Search(job, space, o));
    const std::string reason = r.stop_reason.substr(0, r.stop_reason.find_first_of(";("));
    // "space exhausted (a budget of ... walked in full)": the words before the parenthesis.
    const std::string words = reason.substr(0, reason.find_last_not_of(' ') + 1);
    EXPECT_TRUE(words == "space exhausted" || words == "no new candidates")
        << optimizer << ": " << r.stop_reason;
    EXPECT_LE(r.evaluated + r.pruned, 3072u) << optimizer;
    if (std::string(optimizer) == "random") {
      // Walked in full: the exhaustive search's answer and counts.
      EXPECT_EQ(words, "space exhausted");
      EXPECT_NE(r.stop_reason.find("walked in full"), std::string::npos) << r.stop_reason;
      SearchOptions all;
      all.rerank_with_events = false;
      EXPECT_EQ(r.evaluated, Must(Search(job, space, all)).evaluated);
      ASSERT_FALSE(r.top.empty());
      EXPECT_DOUBLE_EQ(r.top.front().step.step_time_s, BruteForceBest(job, space));
    }
  }
}

// A space with no valid candidate: evolution and reinforce stop at their budget instead of
// spinning.
TEST(Search, EvolutionEndsWhenNothingIsValid) {
  spec::JobSpec job = SmallJob();
  SearchSpace space = SmallSpace(job);
  space.tp = {3};  // divides neither the heads nor the GPUs
  for (const char* optimizer : {"evolution", "reinforce"}) {
    SearchOptions o;
    o.optimizer = optimizer;
    o.max_evaluations = 200;
    SearchResult r = scaleplan::testing::Must(Search(job, space, o));
    EXPECT_TRUE(r.top.empty()) << optimizer;
    EXPECT_EQ(r.evaluated, 0u) << optimizer;
    // It stopped because the budget ran out (the report then names the pruning rules and asks
    // for more tries or a wider space), not because it searched everything.
    EXPECT_EQ(r.stop_reason.substr(0, r.stop_reason.find(';')), "evaluation budget")
        << optimizer;
    EXPECT_FALSE(r.pruned_by.empty()) << optimizer;
  }
}

}  // namespace
}  // namespace scaleplan::search
