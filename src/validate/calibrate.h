// Calibration: fitting the model's few named factors on a user's own measured runs.
//
// The factors (Factors()) are the only numbers fitted to training runs anywhere in scaleplan:
//   gpu.sustained_compute_fraction    tensor-core throughput kept over a step     [0.3, 1]
//   framework.attention_fraction      of the attention table's throughput         [0.2, 2]
//   framework.memory_fraction         of HBM bandwidth for memory-bound kernels   [0.3, 1]
//   framework.kernel_overhead_s       launch gap and tail per kernel              [0.1, 100 us]
//   framework.fp8_gemm_fraction       of the FP8 GEMM table's throughput          [0.3, 1]
// Runs are rows of the common training schema or dgxc.csv's (validate.h), mapped to jobs as
// `scaleplan validate` maps them, all on one GPU type and one framework (a calibration is scoped
// to both). The fit minimizes the mean absolute log error of the predicted metric (tokens/s/GPU or
// TFLOP/s/GPU) over the rows (robust to a few badly mapped rows, and close to the mean absolute
// percent error the reports give), by coordinate descent: a golden-section search per factor in
// log space from the presets' values (clamped into the ranges). Runs that determine no factor are
// an error.
//
// Which factors the runs determine: at the starting values, each factor's sensitivity vector
// (d log prediction / d log factor, one entry per distinct configuration) is computed; greedily,
// the factor whose vector has the largest part not explained by the factors already kept is kept
// next, if that part has an RMS of at least kMinSensitivity (a 10% change in the factor moves the
// predictions by about 1% beyond what the others can absorb) and while at least one configuration
// per kept factor is left over (configurations > factors). Rows that repeat a
// configuration (same job) count once. Asking for a factor the runs do not determine is an error.
//
// Cross-validation (CalibrateOptions::hold_out): leave-one-configuration-out up to
// kMaxLeaveOneOut configurations, 10-fold (configurations dealt round-robin in file order) above;
// or leave-one-model-out, or leave-one-file-out. Each fold re-selects and refits the factors on
// what it keeps from the same starting values as the whole fit (a factor the fold's runs leave
// undetermined keeps its starting value).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "spec/specs.h"
#include "validate/validate.h"

namespace scaleplan::validate {

inline constexpr double kMinSensitivity = 0.1;
inline constexpr int kMaxLeaveOneOut = 40;

struct FactorDef {
  std::string key;  // "gpu.sustained_compute_fraction"
  double lo = 0, hi = 0;
  std::string what;
  double (*get)(const spec::JobSpec&);
  void (*set)(spec::JobSpec&, double);
};

// Every factor calibrate can fit, in a fixed order.
const std::vector<FactorDef>& Factors();
const FactorDef* FindFactor(std::string_view key);

struct FactorReport {
  std::string key;
  double start = 0;  // the value before fitting (the preset's)
  double value = 0;  // fitted, or the start value when not fitted
  bool fitted = false;
  double sensitivity = 0;  // RMS of its independent sensitivity over the configurations
  // Fitted at (within 0.1% of the range from) an end of the range the fit searches: the runs ask
  // for more than the factor can give, which `note` says.
  bool at_bound = false;
  std::string note;  // why it was not fitted, or that it stopped at a bound
};

struct FitRow {
  int line = 0;
  std::string file;
  std::string label;
  std::string metric;
  double measured = 0;
  double before = 0;           // predicted with the starting factors
  double after = 0;            // predicted with the fitted factors
  double cross_validated = 0;  // predicted by the fold that left this row's configuration out
};

struct CalibrationReport {
  Calibration calibration;
  std::vector<FactorReport> factors;
  std::vector<FitRow> rows;
  std::vector<std::string> skipped;  // "file:line: reason"
  int folds = 0;
};

// What cross-validation holds out together: one configuration (leave-one-out, or 10-fold past
// kMaxLeaveOneOut), every run of one model (leave-one-model-out), or every run of one file
// (leave-one-source-out).
enum class HoldOut { kConfiguration, kModel, kFile };

struct CalibrateOptions {
  Options filters;                   // gpu_filter, precision_filter, match, gpu range (validate's)
  std::vector<std::string> factors;  // empty: every factor the runs determine
  HoldOut hold_out = HoldOut::kConfiguration;
};

// The options as input keys (section "calibrate"; `scaleplan calibrate`'s flags): the row filters
// of validate, the factors (a comma-separated list) and what cross-validation holds out.
struct CalibrateKeys {
  std::string gpu_filter;
  std::string precision_filter;
  std::string match;
  int64_t min_gpus = 0;
  int64_t max_gpus = 0;
  std::string factors;
  std::string hold_out = "configuration";
};
const spec::Schema<CalibrateKeys>& CalibrateKeysSchema();
// The options the keys describe (hold_out and factor names are checked by Calibrate).
CalibrateOptions ToOptions(const CalibrateKeys& keys);

// Fits the factors on the training rows of `paths`.
Result<CalibrationReport> Calibrate(const std::vector<std::string>& paths,
                                    const CalibrateOptions& options);

// Reads a calibration file (YAML, as CalibrationYaml writes it); errors name the file and key.
Result<Calibration> ParseCalibration(std::string_view text, const std::string& origin);
Result<Calibration> LoadCalibration(const std::string& path);
Result<std::vector<Calibration>> LoadCalibrations(const std::vector<std::string>& paths);

// Whether `calibration` is for `job`'s GPU and framework.
bool Applies(const Calibration& calibration, const spec::JobSpec& job);
// Sets the fitted factors on `job`; an error when the job's GPU or framework is another.
Status ApplyCalibration(const Calibration& calibration, spec::JobSpec& job);
// The first of `calibrations` that applies to `job`, applied; none applying is an error that
// lists their scopes. An empty list leaves the job alone.
Status ApplyCalibrations(const std::vector<Calibration>& calibrations, spec::JobSpec& job);

}  // namespace scaleplan::validate
