// The CubicML loop's step (arXiv:2409.04585 §3): learn from the jobs measured so far, search the
// co-design space with what was learned, and propose the next jobs to run. `scaleplan suggest`
// runs it on job logs; the testbed (testbed.h) runs it against a truth many times over.
//
//   1. Learn. Every measured job (status ok) of any model or size trains the predictor
//      (predictor.h: a correction of the physics, ln(measured / physics throughput)); the ok and
//      oom jobs train the feasibility model (feasibility.h). With fewer than kMinTrainingJobs
//      measured configurations (distinct features: a job logged twice is one) there is no
//      predictor and the physics ranks alone.
//   2. Search. The optimizer (exhaustive by default) runs over the space ranked by the learned
//      engine (engine.h) with optimism k: a plan's throughput is the physics' times
//      exp(y_hat + k * spread), an upper confidence bound, so that a plan the ensemble disagrees on
//      is worth a try; plans the feasibility model gives P(oom) > 0.5 are pruned, as are plans the
//      memory model says do not fit.
//   3. Propose the `count` best plans of the job not already run (a log job of the same model,
//      GPUs, cluster, sequence, batch and precision, with the same plan description), spread over
//      layouts: one plan per layout (tp, cp, pp, vp, ep,
//      micro-batch, schedule) first, so that a batch does not spend its jobs on one layout's
//      ZeRO and placement variants, then the best of the rest; each with the estimate without
//      optimism, its spread, the physics' figure and P(oom).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "predict/feasibility.h"
#include "predict/predictor.h"
#include "search/search.h"
#include "spec/schema.h"
#include "validate/training_rows.h"

namespace scaleplan::predict {

struct SuggestOptions {
  std::string family = "ridge";
  int64_t members = 8;
  uint64_t seed = 1;
  int64_t count = 8;      // jobs to propose
  double optimism = 1.0;  // k: spreads added to the estimate when ranking
  std::string optimizer = "exhaustive";
  int64_t threads = 2;
  bool derive_expert_tp = true;  // search.h's SearchOptions::derive_expert_tp
  // The processes the search is split across (search.h's SearchOptions::processes; the fit
  // runs whole in each process, the same everywhere).
  const Processes* processes = nullptr;
  // The job and its pins (search.h's PinnedSearch): when no plan of the space can run the job, the
  // refusal of its own plan at the pins is the one the error gives (search::CheckSomePlanValid).
  const search::PinnedSearch* pinned = nullptr;
};
// The options as input keys (section "suggest"; `scaleplan suggest`'s flags).
const spec::Schema<SuggestOptions>& SuggestOptionsSchema();

struct Proposal {
  search::Evaluation evaluation;  // the plan, ranked by the optimistic step
  double physics_tokens_per_s_per_gpu = 0;
  double estimated_tokens_per_s_per_gpu = 0;  // physics x exp(y_hat)
  double spread = 0;                          // the ensemble's standard deviation of y_hat
  double oom_probability = 0;                 // 0 without a feasibility model
};

struct Suggestion {
  std::vector<Proposal> proposals;  // best first
  int64_t measured_jobs = 0;        // status ok, learned from
  // Distinct feature vectors among them: a job logged twice is one configuration, and a
  // predictor needs kMinTrainingJobs of them.
  int64_t measured_configurations = 0;
  int64_t oom_jobs = 0;
  int64_t other_failed_jobs = 0;           // failed or timeout: not learned from
  std::vector<std::string> skipped;        // "label: reason" of jobs that could not be modeled
  int64_t already_run = 0;                 // plans of this job the logs hold
  std::set<std::string> run_plans;         // their descriptions (search::Describe)
  std::optional<Predictor> predictor;      // none with too few measured jobs
  std::optional<Feasibility> feasibility;  // none without both ok and oom jobs
  search::SearchResult search;
};

// Every job of the files (job logs or CSV tables of runs, as validate reads them), any status.
Result<std::vector<validate::TrainingCase>> ReadJobs(const std::vector<std::string>& paths);

// Step 1 alone: what the finished `jobs` teach (the predictor, the feasibility model, the counts
// and the plans of `base` already run); no search, no proposals.
Result<Suggestion> Learn(const spec::JobSpec& base, std::vector<validate::TrainingCase> jobs,
                         const SuggestOptions& options);

// The next `options.count` jobs for `base` over `space`, given the finished `jobs` (any status).
Result<Suggestion> Suggest(const spec::JobSpec& base, const search::SearchSpace& space,
                           std::vector<validate::TrainingCase> jobs, const SuggestOptions& options);

}  // namespace scaleplan::predict
