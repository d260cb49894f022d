// The CubicML loop on a second co-design space: training a ranking model (CubicML's first case,
// arXiv:2409.04585, was Meta's ads models; `scaleplan rec-testbed`). The same pieces as the
// transformer testbed (testbed.h): a truth file of effects the predictor cannot see, a learned
// correction of the physics (predictor.h's families), a feasibility model fitted on the jobs that
// ran out of memory (feasibility.h), and the policy gradient of search.h for REINFORCE.
//
// The space and what a plan is: rec_space.h (192 plans of seven knobs: the planner, the
// tables' and the wire's dtypes, input pipelining, embedding overlap). A plan the memory model says
// does not fit is not launched.
//
// The truth (a truth file; testbed.h's format, with these dimensions as `when` keys and values
// as text, e.g. {planner: hugectr, comm_dtype: fp32}): the job runs the physics' sharding on a
// changed cluster and step model, each effect where it matches:
//   compute_scale {factor}        the dense layers' tensor-core kernels at factor x the speed
//                                 (gpu.sustained_compute_fraction x factor)
//   lookup_scale {factor}         the embedding kernels' bandwidth x factor
//                                 (lookup_bandwidth_fraction x factor)
//   tier_bandwidth {tier, factor} the named network tier's bandwidth x factor
//   step_overhead_s {value}       seconds added to every step
//   memory_margin_bytes {value}   out of memory when the fullest rank's HBM exceeds usable - value
//   failure_rate {value}          this fraction of jobs fails with no measurement
// and noise_pct: lognormal noise on every measured throughput. The draws (failure, noise) depend
// only on the truth's seed and the plan, as in testbed.h.
//
// Methods, each `budget` jobs in batches of `batch`:
//   cubic      fit (family, members; y = ln(measured / physics samples/s), the features below;
//              gbt-rank ranks the whole space as one decision) on every job measured so far,
//              then run the `batch` plans not yet run with the highest
//              physics x exp(y_hat + optimism x spread), skipping plans the feasibility model
//              gives P(oom) > 0.5; the first batch (nothing learned) is the physics' best
//   physics    the physics' best plans, in order
//   random     plans drawn uniformly among those not yet run
//   evolution  regularized evolution on the measured throughput (the transformer testbed's sizes:
//              population 16 of the latest measured plans, tournaments of 4, one-knob mutations;
//              random plans until the population holds 4)
//   reinforce  a factorised categorical policy over the seven knobs (search.h's PolicyGradient,
//              the plan search's learning rate 0.5, entropy bonus 0.01 and moving baseline):
//              each batch is drawn from it, rewarded ln(measured / the first measurement), and
//              oom or failed jobs get the worst reward so far minus 1
// A method stops early when it has nothing new to run (evolution and reinforce after 1,000 draws
// that give no plan they have not run).
// Curves as testbed.h's: after each batch the true (noiseless) samples/s/GPU of the plan each
// method measured fastest, its regret against the true optimum (every plan of the space run on
// the truth, failure draws refused), and Kendall's tau-a of its model against the truth over
// every plan that runs (physics: the physics; cubic: the predictor fitted on every job run so far,
// the batch's included, none before kMinTrainingJobs configurations; none for the others).
//
// Logged jobs of this space and the loop's step on them: rec_suggest.h. Not here (the transformer
// loop has them): predictor files and `fit` for this space.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "predict/rec_space.h"
#include "predict/testbed.h"
#include "spec/ranking.h"

namespace scaleplan::predict {

// The truth-file words of this space: its effect kinds and `when` dimensions.
const TruthVocabulary& RecTruthVocabulary();
const std::vector<std::string>& RecTestbedMethods();

struct RecTestbedOptions {
  int64_t budget = 48;
  int64_t batch = 8;
  uint64_t seed = 1;
  std::vector<std::string> methods;  // empty: all
  std::string family = "ridge";
  int64_t members = 8;
  double optimism = 1.0;
};
const spec::Schema<RecTestbedOptions>& RecTestbedOptionsSchema();

struct RecCurvePoint {
  int64_t jobs = 0;
  double best_true_samples_per_s_per_gpu = 0;  // 0 before the first measured job
  double regret_pct = 100;
  std::optional<double> kendall_tau;
};

struct RecMethodResult {
  std::string name;
  std::vector<RecCurvePoint> curve;
  int64_t oom_jobs = 0;
  int64_t failed_jobs = 0;
  std::string best_plan;  // the plan it measured fastest
};

struct RecTestbedReport {
  std::string job;  // "model on N x gpu (cluster), global batch B"
  std::string truth_origin;
  int64_t plans = 0;           // in the space
  int64_t fitting_plans = 0;   // that fit the memory model (what a method may launch)
  int64_t runnable_plans = 0;  // that run on the truth (fit, no failure draw)
  std::string optimum_plan;
  double optimum_samples_per_s_per_gpu = 0;
  std::string physics_best_plan;
  double physics_best_true_samples_per_s_per_gpu = 0;  // 0 unless its status is ok
  std::string physics_best_status;                     // on the truth: ok, oom or failed
  int64_t planner_failures = 0;  // knob combinations whose planner found no sharding
  std::vector<RecMethodResult> methods;
  double elapsed_s = 0;
};

// Errors: the job does not resolve; a truth tier is not in the cluster; compute_scale effects that
// take the GPU's sustained compute fraction out of [0.1, 1] or lookup_scale effects that take the
// lookups past the HBM's bandwidth (naming the effects); effects that give a step that is not
// finite and positive; no plan of the space fits, or none runs on the truth.
Result<RecTestbedReport> RunRecTestbed(const spec::RecJobSpec& job, const Truth& truth,
                                       const RecTestbedOptions& options);

}  // namespace scaleplan::predict
