// Validation of the ranking-model step model on measured MLPerf Training DLRM-DCNv2 runs
// (data/validation/mlperf-dlrm.csv, its schema: round, submitter, system, gpu_type, num_gpus,
// gpus_per_node, software, global_batch, samples_per_s, ...), and the fit of its two named
// factors (recsys/cost.h: lookup_bandwidth_fraction, step_overhead_s).
//
// Each row is mapped to: the mlperf-dlrm-dcnv2 preset with FP32 weights and full Adagrad (the
// 8 bytes per weight HugeCTR's planner budgets), the GPU named by gpu_type on a DGX node of
// gpus_per_node GPUs (NVLink at the GPU's bandwidth; 400 Gb/s NDR per GPU across nodes, 200 Gb/s
// HDR for A100), the row's global batch, and the plan HugeCTR's planner makes (what ran).
//
// The fit: a grid over lookup_bandwidth_fraction (0.05 to 1 by 0.01) and step_overhead_s (0 to
// 5 ms by 10 us) minimising the mean absolute relative error of samples/s; leave-one-out refits
// on all rows but one and predicts that one. The strong-scaling section runs the first H100 row's
// job on 8 to 128 GPUs of 8-GPU DGX H100 nodes, skipping sizes its batch does not divide.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/embedded.h"
#include "core/status.h"
#include "recsys/cost.h"
#include "spec/ranking.h"

namespace scaleplan::recsys {

struct MlperfRun {
  std::string label;  // "v3.0 NVIDIA DGX H100"
  std::string gpu_type;
  int64_t gpus = 0;
  int64_t gpus_per_node = 0;
  int64_t global_batch = 0;
  double samples_per_s = 0;
  std::string origin;  // the file it was read from
  int line = 0;
};

// Whether `text` is a CSV in the MLPerf DLRM schema (its header has gpu_type, num_gpus,
// gpus_per_node, global_batch and samples_per_s): what `scaleplan validate` hands to
// ValidateMlperf instead of the transformer rows' mapping.
bool IsMlperfRunsCsv(std::string_view text);

// Generated: data/validation/mlperf-dlrm.csv compiled in (rec-validate's default runs).
const std::vector<EmbeddedFile>& EmbeddedMlperfRuns();
// Its path in the repository, the name its rows are reported under.
inline constexpr std::string_view kMlperfRunsPath = "data/validation/mlperf-dlrm.csv";

// Reads the CSV; errors name the file, the line, the column and what is allowed.
Result<std::vector<MlperfRun>> ReadMlperfRuns(std::string_view text, const std::string& origin);

// The job a run maps to (see above); `gpus` overrides the run's GPU count when > 0.
Result<spec::RecJobSpec> MlperfJob(const MlperfRun& run, int64_t gpus = 0);

struct RecValidationRow {
  MlperfRun run;
  double predicted_samples_per_s = 0;      // with the factors fitted on every row
  double loo_predicted_samples_per_s = 0;  // with the factors fitted on the other rows
  double error_pct = 0;                    // signed, (predicted - measured) / measured
  double loo_error_pct = 0;
  RecFactors loo_factors;
  RecStep step;
};

struct RecScaling {
  int64_t gpus = 0;
  double hugectr_plan_samples_per_s_per_gpu = 0;
  double scaleplan_plan_samples_per_s_per_gpu = 0;
  RecStep hugectr_step;
};

struct RecValidation {
  RecFactors fitted;
  RecFactors built_in;  // FittedFactors(), what every other command uses
  std::vector<RecValidationRow> rows;
  double mean_abs_error_pct = 0;
  double max_abs_error_pct = 0;
  double loo_mean_abs_error_pct = 0;
  double loo_max_abs_error_pct = 0;
  // 8-GPU DGX H100 nodes, 8 to 128 GPUs, with the factors fitted on every row.
  std::vector<RecScaling> scaling;
};

Result<RecValidation> ValidateMlperf(const std::vector<MlperfRun>& runs);

// The factors minimising the mean absolute relative error of samples/s on `runs`.
Result<RecFactors> FitFactors(const std::vector<MlperfRun>& runs);

// `scaleplan validate FILE...` on a table of MLPerf DLRM runs: its validation when one of `paths`
// is such a table (nothing when none is). The table is validated alone, and `options_given` (the
// training tables' flags the user gave) are refused with it. Standard input ("-") is left to the
// training tables' reader, which can read it once.
Result<std::optional<RecValidation>> ValidateIfMlperf(
    const std::vector<std::string>& paths, const std::vector<std::string>& options_given);

}  // namespace scaleplan::recsys
