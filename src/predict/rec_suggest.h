// `scaleplan rec-suggest`: the CubicML loop's step (suggest.h) on the ranking-model space
// (rec_space.h), learned from a log of finished ranking jobs.
//
// The log: JSON Lines, one finished job a line (blank lines allowed), e.g. (one line in the log)
//   {"model": "mlperf-dlrm-dcnv2", "cluster": "dgx-h100-ib", "gpus": 64, "global_batch": 55296,
//    "plan": {"planner": "hugectr", "embedding_dtype": "fp16", "pipeline_input_dist": true},
//    "status": "ok", "samples_per_s_per_gpu": 512000, "source": "ads cluster A",
//    "time": "2026-12-03T08:00:00Z"}
// Keys: model and cluster (a preset or a file, paths from the working directory as for
// `rec --model`, required); gpus (1 to kMaxRecLogGpus, required);
// global_batch (1 to kMaxRecLogBatch, default 55,296); plan (the space's knobs, each value as
// text or a boolean; a knob left out takes its first value, embedding_dtype the model's own);
// status (ok, oom, failed, timeout; default ok); samples_per_s_per_gpu (an ok job's measurement,
// required for it, from kMinRecMeasured to kMaxMeasured; none for the others); source, time
// (text). The job must resolve on its cluster (GPUs that fit it, a batch that divides over them).
// At most kMaxJobLogLines lines of kMaxJobLogLineBytes, read by validate::ForEachLogLine and
// core/json.h's ParseJson (a key given twice is refused). A line that is not such an object is
// one error naming the file, the line and the key.
//
// The step, for a base job:
//   1. every logged job is planned on the physics with its knobs, each (job, knobs) once (a job
//      its planner cannot place is skipped, with the reason); ok jobs train the predictor
//      (predictor.h's families, the space's features, y = ln(measured / physics samples/s/GPU);
//      gbt-rank ranks within a job), once kMinTrainingJobs configurations are measured; ok and oom
//      jobs train the feasibility model (feasibility.h);
//   2. the base job's plans are ranked by physics x exp(y_hat + optimism x spread), dropping those
//      the memory model says do not fit or the feasibility model gives P(oom) > 0.5;
//   3. the `count` best not yet logged with status ok or oom for the same job (model, cluster,
//      GPUs, global batch) are proposed, each with the physics, the estimate without optimism,
//      the spread and P(oom). A plan that failed or timed out may be proposed again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "predict/feasibility.h"
#include "predict/predictor.h"
#include "predict/rec_space.h"
#include "spec/schema.h"

namespace scaleplan::predict {

inline constexpr int64_t kMaxRecLogGpus = int64_t{1} << 20;
inline constexpr int64_t kMaxRecLogBatch = int64_t{1} << 40;
inline constexpr double kMinRecMeasured = 1e-6;

struct RecLoggedJob {
  spec::RecJobSpec job;  // the base job the line ran (model, cluster, GPUs, global batch)
  RecKnobs knobs{};
  std::string status = "ok";
  double samples_per_s_per_gpu = 0;  // status ok
  std::string source;
  std::string where;  // "file:line"
};

// The jobs of one log. Errors name the file, the line and the key.
// RecSuggest errors: the base job does not resolve, or no plan of the space fits it.
Result<std::vector<RecLoggedJob>> ParseRecJobLog(std::string_view text, const std::string& origin);
// The logs at `paths` (files, or "-"), read and parsed in order; one file named twice is an error
// (its rows would count twice).
Result<std::vector<RecLoggedJob>> ReadRecJobLogs(const std::vector<std::string>& paths);

struct RecSuggestOptions {
  std::string family = "ridge";
  int64_t members = 8;
  uint64_t seed = 1;
  int64_t count = 8;
  double optimism = 1.0;
};
const spec::Schema<RecSuggestOptions>& RecSuggestOptionsSchema();

struct RecProposal {
  std::string description;
  RecKnobs knobs{};
  double physics_samples_per_s_per_gpu = 0;
  double estimated_samples_per_s_per_gpu = 0;  // physics x exp(y_hat)
  double spread = 0;
  double oom_probability = 0;  // 0 without a feasibility model
};

struct RecSuggestion {
  std::string job;                     // "model on N x gpu (cluster), global batch B"
  std::vector<RecProposal> proposals;  // best first
  int64_t measured_jobs = 0;
  int64_t measured_configurations = 0;
  int64_t oom_jobs = 0;
  int64_t other_failed_jobs = 0;     // failed or timeout: not learned from
  int64_t already_run = 0;           // distinct plans of the base job logged ok or oom
  int64_t fitting_plans = 0;         // base plans the memory model says fit
  int64_t likely_oom = 0;            // of them, dropped for P(oom) > 0.5
  std::vector<std::string> skipped;  // "file:line: reason"
  bool has_predictor = false;
  bool has_feasibility = false;
};

Result<RecSuggestion> RecSuggest(const spec::RecJobSpec& base,
                                 const std::vector<RecLoggedJob>& jobs,
                                 const RecSuggestOptions& options);

}  // namespace scaleplan::predict
