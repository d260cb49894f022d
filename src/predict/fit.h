// `scaleplan fit`: a learned predictor (predictor.h) fitted on measured jobs, and how well it
// predicts jobs it did not see, side by side with the physics alone.
//
// Jobs are the training rows of any file `validate` reads (job logs, the common training schema,
// dgxc.csv's), each mapped to a job and predicted by the analytical engine as validate does; the
// features (features.h) and the target ln(measured / physics throughput) come from that. Jobs
// whose status is not ok carry no measurement and are counted, not learned from.
//
// Scores, for the physics and for the predictor in-sample, k-fold (configurations, the jobs of one
// feature vector together, dealt into k folds after a seeded shuffle; more folds than asked when a
// fold would train on fewer than kMinTrainingJobs configurations)
// and leave-one-source-out (every job of one source held out together; the
// source is the row's source column or the log line's `source`, else its file), each fold fitted
// from scratch with the same family, members and seed:
//   mean_abs_error_pct  of the row's metric (tokens/s/GPU, TFLOP/s/GPU or step time)
//   kendall_tau         tau-a over the pairs of jobs that are one decision: the same model on
//                       the same number of the same GPU, measured in the same metric (which
//                       configuration runs faster); pooled over the decisions
//   spearman            rank correlation within each decision of at least 3 jobs, averaged
//                       weighted by jobs
//   top1_regret_pct     per decision of at least 2 jobs: how much slower the job predicted
//                       fastest ran than the fastest one, in percent; averaged over decisions
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "predict/predictor.h"
#include "spec/schema.h"
#include "validate/training_rows.h"
#include "validate/validate.h"

namespace scaleplan::predict {

struct FitOptions {
  // Row filters (validate's).
  std::string gpu_filter;
  std::string precision_filter;
  std::string match;
  int64_t min_gpus = 0;
  int64_t max_gpus = 0;
  // The predictor.
  std::string family = "ridge";
  int64_t members = 5;
  int64_t folds = 5;
  uint64_t seed = 1;
};
// The options as input keys (section "fit"; `scaleplan fit`'s flags); Fit checks them.
const spec::Schema<FitOptions>& FitOptionsSchema();

struct Scores {
  std::string method;  // "physics", "learned, in-sample", "learned, k-fold", ...
  int64_t jobs = 0;
  double mean_abs_error_pct = 0;
  double kendall_tau = 0;
  double spearman = 0;
  double top1_regret_pct = 0;
  int64_t decisions = 0;  // decisions with at least 2 jobs
};

struct FitJob {
  std::string file;
  int line = 0;
  std::string label;
  std::string source;
  std::string metric;
  double measured = 0;
  double physics = 0;
  double in_sample = 0;
  double k_fold = 0;           // when has_k_fold
  double left_out_source = 0;  // when has_left_out_source
  bool has_k_fold = false;
  bool has_left_out_source = false;  // its source was left out (not when too few jobs remained)
};

struct FitReport {
  Predictor predictor;
  std::vector<FitJob> jobs;
  std::vector<std::string> skipped;  // "file:line: reason"
  int64_t failed_jobs = 0;           // status oom, failed or timeout
  int64_t folds = 0;
  int64_t configurations = 0;  // distinct feature vectors among the jobs (k-fold's groups)
  int64_t sources = 0;
  std::vector<Scores> scores;
};

// What a learner takes from one job: the features of its plan (modeled as validate models the
// row), the physics' value of its metric and, for a measured job (status ok), the target
// y = ln(measured / physics throughput).
struct JobFeatures {
  std::vector<double> x;
  double physics = 0;
  double y = 0;             // when status ok
  std::string description;  // search::Describe of its plan: which plan it ran
};
// Errors: the job cannot be modeled (validate's skip reason), or the physics predicts no
// throughput for a measured job.
Result<JobFeatures> FeaturesOf(validate::TrainingCase& c);

// Fits a predictor on the jobs of `paths` and scores it.
Result<FitReport> Fit(const std::vector<std::string>& paths, const FitOptions& options);

// A job's metric as a throughput (higher is faster): the value, or 1 / value for a step time.
double Throughput(const std::string& metric, double value);

}  // namespace scaleplan::predict
