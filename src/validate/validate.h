// Validation of the performance model against measured runs.
//
// Training tables (the calibration schemas of shared/calibration/README.md, or users' own files in
// the same schemas): each row becomes a job (model, cluster, framework, plan), is simulated, and
// its prediction is compared with the measured metric: tokens/s/GPU where the row has it, else
// TFLOP/s/GPU, else the step time (step_time_s); TFLOP/s/GPU under the source's own FLOP formula
// (SC21: 96 B s l h^2 (1 + s/6h + V/16lh) per step, counting recomputation; Megatron-Core:
// 6N + 12 L q s per token, read as 6 L (q + o) s where query and value widths differ and with the
// window's keys on sliding-window layers, model.h). Every assumption a row
// needed (the cluster it ran on, a micro-batch size the source does not print, ...) is listed with
// it; rows that cannot be modeled are listed with the reason, never dropped.
// nccl-tests outputs: every size of the run is predicted by the collective model on a cluster
// (default: one node of the given GPU) and compared on time.
// XLA's measured collective table (collective/xla_table.h): each row on its GPU's cluster preset
// (H100 and B200: DGX clusters of 8-GPU nodes, where the table's groups of up to 8 stay in a node;
// GB200 and GB300: NVL72 racks, the NVLink tier widened to the 72 GPUs of the rack where a group
// needs them), compared on time; collective-permute rows are listed, not priced.
// Measured kernel tables (GEMM, attention, memory-bound kernels; validate/kernel_tables.h): each
// kernel priced by the kernel model on the row's GPU, compared on time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "plan/memory.h"
#include "sim/engine.h"
#include "spec/specs.h"

namespace scaleplan::validate {

struct Row {
  int line = 0;        // source line
  std::string label;   // e.g. "Llama 3.1 70b BF16, 1024 GPUs"
  std::string metric;  // "tokens_per_s_per_gpu", "tflops_per_gpu", "step_time_s" or "time_s"
  double predicted = 0;
  double measured = 0;
  double error_pct = 0;  // 100 * (predicted - measured) / measured
  std::vector<std::string> assumptions;
  std::string skipped;  // why the row was not modeled; empty when it was
  std::string group;    // the row's cell in Options::group_by's column (empty without one)
  // Training rows: the memory model's verdict on the plan that ran (plan/memory.h); a published
  // run that the model calls out of memory (above the GPU's capacity) is a miss of the memory
  // model, one that is tight (inside the reserve) is not.
  bool memory_checked = false;
  bool fits = true;
  plan::MemoryVerdict memory_verdict = plan::MemoryVerdict::kFits;
  double peak_memory_bytes = 0;
  double usable_memory_bytes = 0;
  double capacity_memory_bytes = 0;
  // Training rows: the modeled step (its time and where it goes), what `--json` explains a row by.
  bool step_modeled = false;
  double step_time_s = 0;
  sim::Breakdown breakdown;
};

struct Summary {
  int modeled = 0;
  int skipped = 0;
  double mean_abs_error_pct = 0;
  double mean_error_pct = 0;  // signed: the model's bias (> 0: it predicts more than was measured)
  double max_abs_error_pct = 0;
  double spearman = 0;  // rank correlation of predicted and measured (0 when undefined)
  // Whether it is defined: 3 rows or more, and neither the predictions nor the measurements all
  // equal (a rank correlation with a constant is not 0 but undefined).
  bool spearman_defined = false;
  int out_of_memory = 0;  // modeled training rows whose plan the memory model calls out of memory
  int tight = 0;          // and those it calls tight
};

// The rows of one value of Options::group_by's column.
struct GroupReport {
  std::string value;  // the cell ("" for a blank one)
  Summary summary;
};

struct FileReport {
  std::string path;
  // "common", "dgxc", "job-log", "nccl-tests", "collective-table", "kernel-table"
  std::string kind;
  std::string engine;  // what predicted the training rows (empty for nccl-tests files)
  std::vector<Row> rows;
  Summary summary;
  // With Options::group_by (the column, repeated here): the rows summarized by that column's
  // value, in the order each value first appears in the file.
  std::string group_by;
  std::vector<GroupReport> groups;
};

// A fitted calibration: what `scaleplan calibrate --out` writes and `--calibration` reads.
struct Calibration {
  std::string gpu;                                      // gpu.name of the runs
  std::string framework;                                // framework.name of the runs
  std::vector<std::pair<std::string, double>> factors;  // fitted factor key -> value
  // Provenance, printed in the file.
  std::vector<std::string> runs;
  int rows = 0;
  int configurations = 0;
  std::string cross_validation;  // "leave-one-out" or "k-fold (k = 10)"
  double before_mean_abs_error_pct = 0;
  double after_mean_abs_error_pct = 0;
  double cross_validated_mean_abs_error_pct = 0;
  std::string origin;  // the file it was read from ("" when fitted in this run)
};

struct Options {
  // Keep only rows whose GPU type contains this text and, for training tables, whose precision
  // matches (empty: all).
  std::string gpu_filter;
  std::string precision_filter;
  // Keep only rows whose source (or table title) contains this text, e.g. "Table 1" (empty: all).
  std::string match;
  // Keep only training rows on at least min_gpus and at most max_gpus GPUs (0: no bound).
  int64_t min_gpus = 0;
  int64_t max_gpus = 0;
  // Cluster for nccl-tests files (default: a single node of h200).
  std::string nccl_cluster = "h200-node";
  // When > 0, replaces every row's gpu.sustained_compute_fraction (for fitting it).
  double sustained_compute_fraction = 0;
  // The engine that predicts training rows (sim/engine.h).
  std::string engine = "analytical";
  // An engine built at run time that replaces `engine` (a fitted predictor: predict/engine.h);
  // not an input key. The caller keeps it alive.
  const sim::Engine* engine_override = nullptr;
  // Fitted factors (calibrate.h), each applied to the rows on its GPU and framework.
  std::vector<Calibration> calibrations;
  // A column of the CSV tables whose values the report summarizes the rows by (e.g. release,
  // gpu_type, model); empty: none. A file without the column, or that is not a CSV table, is an
  // error.
  std::string group_by;
};

// The row filters (gpu_filter, precision_filter, match, min_gpus, max_gpus) as keys of a schema
// whose object has those five fields: validate's Options, and the options of calibrate and fit.
template <class T>
void AddRowFilters(spec::Schema<T>& s) {
  s.Text("gpu_filter", &T::gpu_filter, "keep rows whose GPU type contains TEXT (e.g. H100)",
         "gpu-type");
  s.Text("precision_filter", &T::precision_filter,
         "keep rows whose precision contains TEXT (e.g. BF16)", "precision");
  s.Text("match", &T::match,
         "keep rows whose source, title or model contains TEXT (e.g. 'Table 1')");
  s.Integer("min_gpus", &T::min_gpus, 0, spec::kMaxRanks, "",
            "keep rows on at least N GPUs (0: no bound)");
  s.Integer("max_gpus", &T::max_gpus, 0, spec::kMaxRanks, "",
            "keep rows on at most N GPUs (0: no bound)");
}
// Those five fields of `keys` as validate's Options.
template <class T>
Options RowFilters(const T& keys) {
  Options o;
  o.gpu_filter = keys.gpu_filter;
  o.precision_filter = keys.precision_filter;
  o.match = keys.match;
  o.min_gpus = keys.min_gpus;
  o.max_gpus = keys.max_gpus;
  return o;
}

// Options as input keys (section "validate"; `scaleplan validate`'s flags); ValidateFile and
// ValidateText check them (sustained_compute_fraction also against the GPU key's own bounds).
const spec::Schema<Options>& OptionsSchema();

Result<FileReport> ValidateFile(const std::string& path, const Options& options);
// Every file; a calibration in options.calibrations that applies to no training row of any file is
// an error (it names the calibration's GPU and framework).
Result<std::vector<FileReport>> ValidateFiles(const std::vector<std::string>& paths,
                                              const Options& options);
// The row filters are consistent (min_gpus <= max_gpus when both are given).
Status CheckFilters(const Options& options, std::string_view section = "validate");
Result<FileReport> ValidateText(const std::string& text, const std::string& origin,
                                const Options& options);

// Spearman rank correlation with average ranks for ties; 0 for fewer than 3 values.
double Spearman(const std::vector<double>& a, const std::vector<double>& b);

Summary Summarize(const std::vector<Row>& rows);
// The rows by their `group`, in the order each value first appears.
std::vector<GroupReport> SummarizeGroups(const std::vector<Row>& rows);

}  // namespace scaleplan::validate
