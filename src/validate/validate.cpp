#include "validate/validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>

#include "collective/nccl_tests.h"
#include "collective/xla_table.h"
#include "core/csv.h"
#include "core/file.h"
#include "core/text.h"
#include "model/model.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/engine.h"
#include "sim/recompute_fit.h"
#include "spec/fp8_weights.h"
#include "spec/readers.h"
#include "validate/calibrate.h"
#include "validate/job_log.h"
#include "validate/kernel_tables.h"
#include "validate/training_rows.h"

namespace scaleplan::validate {

namespace {

std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

Row RunCase(TrainingCase c, const Options& options, const sim::Engine& engine) {
  if (options.sustained_compute_fraction > 0) {
    c.job.cluster.gpu.sustained_compute_fraction = options.sustained_compute_fraction;
  }
  if (c.skipped.empty()) {
    for (const Calibration& cal : options.calibrations) {
      if (!Applies(cal, c.job)) continue;
      if (ApplyCalibration(cal, c.job).ok()) {
        c.assumptions.push_back("calibration " + (cal.origin.empty() ? "fitted here" : cal.origin));
      }
      break;
    }
  }
  Result<Modeled> modeled = ModelCase(c, &engine);
  Row row;  // after ModelCase: the tuned plan's choice changes the label and assumptions
  row.line = c.line;
  row.label = c.label;
  row.metric = c.metric;
  row.measured = c.measured;
  row.assumptions = c.assumptions;
  if (!modeled.ok()) {
    row.skipped = modeled.status().message();
    return row;
  }
  row.predicted = PredictedMetric(c, modeled->plan, modeled->step);
  row.error_pct = 100.0 * (row.predicted - row.measured) / row.measured;
  row.step_modeled = true;
  row.step_time_s = modeled->step.step_time_s;
  row.breakdown = modeled->step.breakdown;
  const plan::MemoryReport memory = plan::ComputeMemory(modeled->plan);
  row.memory_checked = true;
  row.fits = memory.fits;
  row.memory_verdict = plan::Verdict(memory);
  row.peak_memory_bytes = memory.peak_bytes;
  row.usable_memory_bytes = memory.usable_bytes;
  row.capacity_memory_bytes = memory.capacity_bytes;
  return row;
}

Result<FileReport> ValidateNcclTests(const std::string& text, const std::string& origin,
                                     const Options& options) {
  SP_ASSIGN_OR_RETURN(collective::NcclTestsRun run, collective::ParseNcclTests(text, origin));
  SP_ASSIGN_OR_RETURN(spec::ClusterSpec cluster, spec::LoadCluster(options.nccl_cluster));
  FileReport report;
  report.path = origin;
  report.kind = "nccl-tests";
  if (run.ranks > cluster.CapacityGpus()) {
    return Status::Invalid(
        fmt::format("{}: {} ranks do not fit cluster {} ({} GPUs) (allowed: a "
                    "cluster with at least {} GPUs, --cluster)",
                    origin, run.ranks, cluster.name, cluster.CapacityGpus(), run.ranks));
  }
  collective::GroupShape group = collective::ConsecutiveGroup(run.ranks, cluster);
  for (const collective::NcclTestsPoint& point : run.points) {
    Row row;
    row.line = static_cast<int>(point.line);
    row.label = fmt::format("{} {} ranks, {:.0f} bytes", collective::OpName(run.op), run.ranks,
                            point.bytes);
    row.metric = "time_s";
    row.measured = point.time_s;
    double bytes = point.bytes;
    // nccl-tests' size is the whole buffer: all-gather's output, reduce-scatter's input, the
    // all-reduce buffer; all-to-all sends size bytes in total per rank.
    row.predicted = collective::Estimate(cluster, group, run.op, bytes).seconds;
    row.error_pct = 100.0 * (row.predicted - row.measured) / row.measured;
    row.assumptions.push_back("cluster " + cluster.name);
    report.rows.push_back(row);
  }
  report.summary = Summarize(report.rows);
  return report;
}

// The GPUs of XLA's collective table (its device keys) and the clusters they are modeled on: one
// node of 8 for H100 and B200, an NVL72 domain for GB200 and GB300.
struct TableDevice {
  const char* key;
  const char* gpu_type;
  const char* cluster;
};
constexpr TableDevice kTableDevices[] = {{"sm_90", "H100", "dgx-h100-ib"},
                                         {"sm_100_B200", "B200", "dgx-b200-ib"},
                                         {"sm_100_GB200", "GB200", "gb200-nvl72"},
                                         {"sm_103", "GB300", "gb300-nvl72"}};
constexpr int64_t kNvl72Gpus = 72;

Result<FileReport> ValidateCollectiveTable(const CsvTable& table, const std::string& origin,
                                           const Options& options) {
  SP_ASSIGN_OR_RETURN(std::vector<collective::CollectiveTablePoint> points,
                      collective::ParseCollectiveTable(table, origin));
  FileReport report;
  report.path = origin;
  report.kind = "collective-table";
  std::map<std::string, spec::ClusterSpec> clusters;  // by device key, read once
  for (const collective::CollectiveTablePoint& p : points) {
    const TableDevice* device = nullptr;
    for (const TableDevice& d : kTableDevices) {
      if (p.device_key == d.key) device = &d;
    }
    const std::string gpu_type = device != nullptr ? device->gpu_type : p.device_key;
    Row row;
    row.line = static_cast<int>(p.line);
    if (p.point_to_point) {
      row.label = fmt::format("collective-permute ({})", Printable(gpu_type, 40));
      if (!options.match.empty() && !Contains(row.label, options.match)) continue;
      if (!options.gpu_filter.empty() && !Contains(gpu_type, options.gpu_filter)) continue;
      if (!options.precision_filter.empty() || options.min_gpus > 0 || options.max_gpus > 0)
        continue;
      row.metric = "time_s";
      row.skipped = "collective-permute (point-to-point pairs, no group) is not priced";
      report.rows.push_back(row);
      continue;
    }
    row.label =
        fmt::format("{} {} ranks{}, {:.0f} bytes ({})", collective::OpName(p.op), p.ranks,
                    p.groups > 1 ? fmt::format(" x {} groups", p.groups) : "", p.bytes, gpu_type);
    if (!options.match.empty() && !Contains(row.label, options.match)) continue;
    if (!options.gpu_filter.empty() && !Contains(gpu_type, options.gpu_filter)) continue;
    // The table states no precision of its own (its rows move F32 buffers): a precision filter
    // keeps none of them.
    if (!options.precision_filter.empty() || !InGpuRange(p.ranks, options)) continue;
    row.metric = "time_s";
    row.measured = p.time_s;
    if (device == nullptr) {
      row.skipped = fmt::format(
          "no cluster for device_key {} (allowed: sm_90, sm_100_B200, sm_100_GB200, sm_103)",
          Printable(p.device_key, 40));
      report.rows.push_back(row);
      continue;
    }
    auto loaded = clusters.find(device->key);
    if (loaded == clusters.end()) {
      SP_ASSIGN_OR_RETURN(spec::ClusterSpec c, spec::LoadCluster(device->cluster));
      loaded = clusters.emplace(device->key, std::move(c)).first;
    }
    spec::ClusterSpec cluster = loaded->second;
    row.assumptions.push_back(std::string("cluster ") + device->cluster);
    // The NVL72 presets give a job 64 of a rack's 72 GPUs; the table's groups of up to 72 ran on
    // one whole NVLink domain.
    if (cluster.tiers[0].gpus >= 64 && p.ranks > cluster.tiers[0].gpus && p.ranks <= kNvl72Gpus) {
      cluster.tiers[0].gpus = kNvl72Gpus;
      row.assumptions.push_back("the NVLink tier holds all 72 GPUs of the rack");
    }
    if (p.ranks > cluster.CapacityGpus()) {
      row.skipped = fmt::format("{} ranks do not fit cluster {} ({} GPUs)", p.ranks, cluster.name,
                                cluster.CapacityGpus());
      report.rows.push_back(row);
      continue;
    }
    // Groups that run at once each use their own GPUs' links (a non-blocking NVSwitch), so each
    // costs what it costs alone.
    row.predicted =
        collective::Estimate(cluster, collective::ConsecutiveGroup(p.ranks, cluster), p.op, p.bytes)
            .seconds;
    row.error_pct = 100.0 * (row.predicted - row.measured) / row.measured;
    report.rows.push_back(row);
  }
  report.summary = Summarize(report.rows);
  return report;
}

}  // namespace

namespace {

// Whether `job` with `plan` builds and could run: its peak within the GPU's capacity, tight
// included (plan/memory.h). A published row ran, so a plan the memory model calls tight is read
// as the row states it, not as one that needed recomputation or FP8 weights to run.
bool CouldRun(spec::JobSpec job, const spec::PlanSpec& plan) {
  job.plan = plan;
  Result<plan::Plan> p = plan::BuildPlan(job);
  return p.ok() && plan::ComputeMemory(*p).within_capacity;
}

}  // namespace

void ChooseTunedPlan(TrainingCase& c) {
  const bool fill = !c.checkpointing_given;
  // No row states where its weights lived: under FP8, where the framework can, a plan that does
  // not fit as stated may also have held them in FP8 alone (plan.fp8_params; training_rows.h).
  const bool low_weights = !c.weights_given && c.job.framework.fp8_param_gather &&
                           spec::Fp8ParamGatherApplies(c.job.plan) && !c.job.plan.fp8_params;
  if ((c.alternatives.empty() && !fill && !low_weights) || !c.skipped.empty()) return;
  const bool vp_choice = !c.alternatives.empty();
  std::vector<spec::PlanSpec> plans = {c.job.plan};
  plans.insert(plans.end(), c.alternatives.begin(), c.alternatives.end());
  c.alternatives.clear();
  double best = INFINITY;
  size_t chosen = 0;
  std::optional<spec::PlanSpec> chosen_plan;
  // The fill prices its choices with the job's own kernel model (the rows of a case share it).
  std::optional<sim::Evaluator> evaluator;
  if (fill) {
    Result<hardware::DeviceModel> device = hardware::DeviceModel::For(c.job);
    if (device.ok()) evaluator.emplace(std::move(*device));
  }
  for (size_t k = 0; k < plans.size(); ++k) {
    std::vector<spec::PlanSpec> tries = {plans[k]};
    if (low_weights && !CouldRun(c.job, plans[k])) {
      tries.push_back(plans[k]);
      tries.back().fp8_params = true;
    }
    for (const spec::PlanSpec& t : tries) {
      std::optional<spec::PlanSpec> plan =
          fill ? (evaluator ? sim::FastestRecomputeThatFits(
                                  c.job, t, *evaluator, plan::Checks::kAll, {.tight_fits = true})
                            : std::nullopt)
               : (CouldRun(c.job, t) ? std::optional(t) : std::nullopt);
      if (!plan) continue;
      spec::JobSpec job = c.job;
      job.plan = *plan;
      Result<plan::Plan> p = plan::BuildPlan(job);
      if (!p.ok()) continue;
      Result<sim::StepResult> step = sim::Evaluate(*p);
      if (step.ok() && step->step_time_s < best) {
        best = step->step_time_s;
        chosen = k;
        chosen_plan = plan;
      }
    }
  }
  // Nothing chosen (nothing could run, or no device model to price the fill): the stated plan,
  // which the report calls as the memory model finds it.
  const std::string stated = spec::RecomputeText(c.job.plan);
  if (chosen_plan) c.job.plan = *chosen_plan;
  if (low_weights && c.job.plan.fp8_params) {  // low_weights: the row did not state them
    c.assumptions.push_back(fmt::format(
        "weights held in {} alone, no BF16 copy (the row does not say where its weights lived, "
        "and its plan exceeds the GPU's memory with them in BF16 beside the cast: the fastest "
        "plan that could run)",
        spec::PrecisionName(c.job.plan.precision)));
  }
  if (vp_choice) {
    // The label names the plan that ran.
    if (size_t at = c.label.find(" VP 1,"); at != std::string::npos && chosen > 0) {
      c.label.replace(at, 6, fmt::format(" VP {} (chosen),", c.job.plan.vp));
    }
    c.assumptions.push_back(fmt::format(
        "vp {} (the row does not give vp: the fastest of vp 1 to {} whose layers split that could "
        "run)",
        c.job.plan.vp, kMaxTunedVp));
  }
  if (fill && chosen_plan && spec::RecomputeText(c.job.plan) != stated) {
    c.assumptions.push_back(fmt::format(
        "recompute {} (the row does not say how it checkpointed and exceeds the GPU's memory as "
        "stated: the fastest recomputation under which it could run)",
        spec::RecomputeText(c.job.plan)));
  }
}

Result<Modeled> ModelCase(TrainingCase& c, const sim::Engine* engine) {
  ChooseTunedPlan(c);
  if (!c.skipped.empty()) return Status::Invalid(c.skipped);
  Result<plan::Plan> p = plan::BuildPlan(c.job);
  if (!p.ok()) return Status::Invalid("plan rejected: " + p.status().message());
  if (std::string impossible = AbovePeakReason(c, *p); !impossible.empty()) {
    return Status::Invalid(impossible);
  }
  SP_ASSIGN_OR_RETURN(sim::StepResult step,
                      engine != nullptr ? engine->Step(*p) : sim::Evaluate(*p));
  return Modeled{std::move(p).value(), std::move(step)};
}

double PredictedMetric(const TrainingCase& c, const plan::Plan& p, const sim::StepResult& step) {
  if (c.metric == "tokens_per_s_per_gpu") return step.tokens_per_s_per_gpu;
  if (c.metric == "step_time_s") return step.step_time_s;
  return FormulaFlopsPerStep(c, p) / step.step_time_s / static_cast<double>(p.gpus) / 1e12;
}

Result<std::vector<TrainingCase>> TrainingCases(const std::string& text, const std::string& origin,
                                                const Options& options, std::string* kind) {
  if (Trim(text).empty()) {
    return Status::Invalid(fmt::format(
        "{}: the file is empty (allowed: a CSV in the common training schema or dgxc.csv's, or a "
        "job log with a job a line)",
        Printable(origin, 200)));
  }
  if (text.find("_perf") != std::string::npos && text.find("nThread") != std::string::npos) {
    return Status::Invalid(fmt::format(
        "{}: an nccl-tests output holds collective timings, not training runs (allowed: a CSV in "
        "the common training schema or dgxc.csv's, or a job log; `scaleplan validate` scores the "
        "collective model on it)",
        Printable(origin, 200)));
  }
  if (LooksLikeJobLog(text)) {
    *kind = "job-log";
    return JobLogCases(text, origin, options);
  }
  Result<CsvTable> parsed = ParseCsv(text, origin);
  if (!parsed.ok()) {
    return Status::Invalid(
        fmt::format("{}: the file matches no known schema: it is not a job log, and as CSV: {}",
                    origin, parsed.status().message()));
  }
  const CsvTable& table = *parsed;
  if (table.rows.empty()) {
    return Status::Invalid(fmt::format(
        "{}: a header and no data rows (allowed: a CSV with at least one row)", origin));
  }
  // validate reads these before it asks for training runs; calibrate, fit and suggest do not.
  if (table.Column("device_key") >= 0 && table.Column("opcode") >= 0) {
    return Status::Invalid(fmt::format(
        "{}: XLA's collective table holds collective timings, not training runs (allowed: a CSV "
        "in the common training schema or dgxc.csv's, or a job log; `scaleplan validate` scores "
        "the collective model on this table)",
        origin));
  }
  if (IsKernelTable(table)) {
    return Status::Invalid(fmt::format(
        "{}: a measured kernel table holds kernel timings, not training runs (allowed: a CSV in "
        "the common training schema or dgxc.csv's, or a job log; `scaleplan validate` scores the "
        "kernel model on this table)",
        origin));
  }
  if (table.Column("table_title") >= 0 && table.Column("tokens_per_s_per_gpu_derived") >= 0) {
    *kind = "dgxc";
    return DgxcCases(table, options);
  }
  if (table.Column("model") >= 0 && table.Column("tp") >= 0 &&
      (table.Column("tokens_per_s_per_gpu") >= 0 || table.Column("step_time_s") >= 0 ||
       table.Column("iteration_time_s") >= 0 || table.Column("tflops_per_gpu") >= 0 ||
       table.Column("mfu") >= 0)) {
    *kind = "common";
    return CommonSchemaCases(table, options);
  }
  return Status::Invalid(fmt::format(
      "{}: the file matches no known schema: its {} columns lack model/tp/tokens_per_s_per_gpu "
      "(or step_time_s, tflops_per_gpu, mfu) and table_title/tokens_per_s_per_gpu_derived "
      "(allowed: a CSV in the "
      "common training schema or dgxc.csv's; `scaleplan validate` also reads XLA's collective "
      "table (device_key, opcode, ...), measured GEMM, attention and memory-bound kernel tables "
      "(docs/KERNELS.md) and nccl-tests outputs)",
      origin, table.columns.size()));
}

double Spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 3 || a.size() != b.size()) return 0;
  std::vector<double> ra = Ranks(a), rb = Ranks(b);
  double n = static_cast<double>(a.size());
  double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n;
  double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    cov += (ra[i] - ma) * (rb[i] - mb);
    va += (ra[i] - ma) * (ra[i] - ma);
    vb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (va == 0 || vb == 0) return 0;
  return cov / std::sqrt(va * vb);
}

Summary Summarize(const std::vector<Row>& rows) {
  Summary s;
  std::vector<double> predicted, measured;
  double total = 0, signed_total = 0;
  for (const Row& r : rows) {
    if (!r.skipped.empty()) {
      ++s.skipped;
      continue;
    }
    ++s.modeled;
    if (r.memory_checked && r.memory_verdict == plan::MemoryVerdict::kOutOfMemory)
      ++s.out_of_memory;
    if (r.memory_checked && r.memory_verdict == plan::MemoryVerdict::kTight) ++s.tight;
    total += std::fabs(r.error_pct);
    signed_total += r.error_pct;
    s.max_abs_error_pct = std::max(s.max_abs_error_pct, std::fabs(r.error_pct));
    predicted.push_back(r.predicted);
    measured.push_back(r.measured);
  }
  if (s.modeled > 0) {
    s.mean_abs_error_pct = total / s.modeled;
    s.mean_error_pct = signed_total / s.modeled;
  }
  s.spearman = Spearman(predicted, measured);
  auto varies = [](const std::vector<double>& v) {
    return std::any_of(v.begin(), v.end(), [&](double x) { return x != v.front(); });
  };
  s.spearman_defined = predicted.size() >= 3 && varies(predicted) && varies(measured);
  return s;
}

std::vector<GroupReport> SummarizeGroups(const std::vector<Row>& rows) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<Row>> by_value;
  for (const Row& r : rows) {
    auto [it, added] = by_value.try_emplace(r.group);
    if (added) order.push_back(r.group);
    it->second.push_back(r);
  }
  std::vector<GroupReport> groups;
  for (const std::string& value : order) groups.push_back({value, Summarize(by_value[value])});
  return groups;
}

const spec::Schema<Options>& OptionsSchema() {
  static const spec::Schema<Options> schema = [] {
    std::vector<std::string> engines;
    for (const sim::Engine* e : sim::Engines()) engines.emplace_back(e->name());
    spec::Schema<Options> s("validate");
    AddRowFilters(s);
    s.Text("nccl_cluster", &Options::nccl_cluster, "cluster preset or file for nccl-tests outputs",
           "cluster");
    // The GPU key's own bounds (gpu.sustained_compute_fraction, spec/specs.cpp); 0: unset.
    s.Number("sustained_compute_fraction", &Options::sustained_compute_fraction, 0.1, 1, "",
             "override every row's gpu.sustained_compute_fraction, to refit it (not given: each "
             "row's own)");
    s.OneOf("engine", &Options::engine, engines, "the engine that predicts training rows");
    s.Text("group_by", &Options::group_by,
           "also summarize each file's rows by the values of this CSV column (e.g. release, "
           "gpu_type, model)",
           "by");
    return s;
  }();
  return schema;
}

namespace {

Status CheckOptions(const Options& options) {
  SP_RETURN_IF_ERROR(OptionsSchema().CheckBounds(options));  // 0 stands for "not given"
  SP_RETURN_IF_ERROR(CheckFilters(options));
  if (options.engine_override != nullptr &&
      (options.engine != "analytical" || !options.calibrations.empty() ||
       options.sustained_compute_fraction > 0)) {
    // A fitted predictor corrects the uncorrected analytical engine it learned from.
    return Status::Invalid(fmt::format(
        "validate: engine {} corrects the analytical engine with the presets' factors (allowed: "
        "no validate.engine other than analytical, no calibration and no "
        "sustained_compute_fraction with it)",
        options.engine_override->name()));
  }
  return sim::FindEngine(options.engine, "validate.engine").status();
}

// Options::group_by on a file that has no columns (an nccl-tests output, a job log).
Status NoColumnsToGroupBy(const std::string& origin, std::string_view what,
                          const std::string& column) {
  return Status::Invalid(fmt::format(
      "{}: validate.group_by = {} needs a CSV table, and this file is {} (allowed: --by with CSV "
      "tables only)",
      Printable(origin, 200), Printable(column, 60), what));
}

// Each data row's cell in `table`'s column `column`, by source line. Errors: no such column.
Result<std::map<int, std::string>> GroupCells(const CsvTable& table, const std::string& origin,
                                              const std::string& column) {
  const int index = table.Column(column);
  if (index < 0) {
    const std::string meant = NearMiss(column, table.columns);
    return Status::Invalid(fmt::format(
        "{}: no column {} to group the rows by{} (allowed: one of {})", Printable(origin, 200),
        Printable(column, 60), meant.empty() ? "" : fmt::format(" (did you mean {}?)", meant),
        Join(table.columns, ", ")));
  }
  std::map<int, std::string> cells;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    cells[table.lines[i]] = table.rows[i][static_cast<size_t>(index)];
  }
  return cells;
}

// The rows' groups from GroupCells, then the file's group summaries.
void AssignGroups(FileReport& report, const std::string& column,
                  const std::map<int, std::string>& cells) {
  report.group_by = column;
  for (Row& row : report.rows) {
    auto it = cells.find(row.line);
    if (it != cells.end()) row.group = it->second;
  }
  report.groups = SummarizeGroups(report.rows);
}

}  // namespace

Status CheckFilters(const Options& options, std::string_view section) {
  if (options.min_gpus > 0 && options.max_gpus > 0 && options.min_gpus > options.max_gpus) {
    return Status::Invalid(fmt::format(
        "{}.min_gpus = {} is above {}.max_gpus = {} (allowed: min_gpus <= max_gpus)", section,
        options.min_gpus, section, options.max_gpus));
  }
  return Status::Ok();
}

Result<std::vector<FileReport>> ValidateFiles(const std::vector<std::string>& paths,
                                              const Options& options) {
  SP_RETURN_IF_ERROR(DistinctInputs(paths, "validate"));
  std::vector<FileReport> reports;
  for (const std::string& path : paths) {
    SP_ASSIGN_OR_RETURN(FileReport r, ValidateFile(path, options));
    reports.push_back(std::move(r));
  }
  // Filters that keep no row say nothing of the model (a file without data rows is refused as it
  // is read).
  size_t rows = 0;
  for (const FileReport& r : reports) rows += r.rows.size();
  if (rows == 0) {
    return Status::Invalid(
        "no row to model: the filters keep none of the files' rows (allowed: filters that keep "
        "at least one; --match, --gpu-type, --precision, --min-gpus and --max-gpus select rows)");
  }
  // Rows that were all skipped are bad input as a whole (a file with some rows skipped is a
  // report, each with its reason): the first reasons, each with its file and line.
  std::vector<std::string> reasons;
  size_t modeled = 0, skipped = 0;
  for (const FileReport& r : reports) {
    for (const Row& row : r.rows) {
      if (row.skipped.empty()) {
        ++modeled;
        continue;
      }
      if (++skipped <= 3) {
        reasons.push_back(fmt::format("{}:{}: {}", Printable(r.path, 200), row.line, row.skipped));
      }
    }
  }
  if (modeled == 0) {
    return Status::Invalid(fmt::format(
        "no row could be modeled: {} skipped ({}{}) (allowed: rows the model can describe)",
        skipped, Join(reasons, "; "), skipped > reasons.size() ? "; ..." : ""));
  }
  for (const Calibration& cal : options.calibrations) {
    std::string mark = "calibration " + (cal.origin.empty() ? "fitted here" : cal.origin);
    bool used = false;
    for (const FileReport& r : reports) {
      for (const Row& row : r.rows) {
        for (const std::string& a : row.assumptions) used = used || a == mark;
      }
    }
    if (!used) {
      return Status::Invalid(fmt::format(
          "{}: the calibration is for {} under {} and no modeled row ran there (allowed: a "
          "calibration for the GPU and framework of some rows; `--verbose` lists each row's)",
          cal.origin.empty() ? "--calibration" : cal.origin, cal.gpu, cal.framework));
    }
  }
  return reports;
}

Result<FileReport> ValidateText(const std::string& text, const std::string& origin,
                                const Options& options) {
  SP_RETURN_IF_ERROR(CheckOptions(options));
  if (text.find("_perf") != std::string::npos && text.find("nThread") != std::string::npos) {
    if (!options.group_by.empty())
      return NoColumnsToGroupBy(origin, "an nccl-tests output", options.group_by);
    return ValidateNcclTests(text, origin, options);
  }
  // A measured table whose rows name their own GPU or cluster (`what`): --cluster does not apply,
  // and --by groups its rows by a column.
  auto table_report = [&](const CsvTable& table, std::string_view what,
                          Result<FileReport> (*validate)(const CsvTable&, const std::string&,
                                                         const Options&)) -> Result<FileReport> {
    if (options.nccl_cluster != Options().nccl_cluster) {
      return Status::Invalid(
          fmt::format("{}: --cluster {} applies to nccl-tests outputs (allowed: no --cluster with "
                      "{})",
                      origin, Printable(options.nccl_cluster, 60), what));
    }
    std::map<int, std::string> cells;
    if (!options.group_by.empty()) {
      SP_ASSIGN_OR_RETURN(cells, GroupCells(table, origin, options.group_by));
    }
    SP_ASSIGN_OR_RETURN(FileReport report, validate(table, origin, options));
    if (!options.group_by.empty()) AssignGroups(report, options.group_by, cells);
    return report;
  };
  if (text.find("device_key") != std::string::npos && text.find("opcode") != std::string::npos) {
    // A CSV whose header names device_key and opcode is read as XLA's collective table, and its
    // errors (a ragged row, a missing column) are that table's.
    Result<CsvTable> table = ParseCsv(text, origin);
    if (!table.ok()) return table.status();
    if (table->Column("device_key") >= 0 && table->Column("opcode") >= 0) {
      return table_report(*table,
                          "XLA's collective table, whose device_key picks each row's cluster",
                          ValidateCollectiveTable);
    }
  }
  if (Result<CsvTable> table = ParseCsv(text, origin); table.ok() && IsKernelTable(*table)) {
    return table_report(*table, "a measured kernel table, whose gpu column names each row's GPU",
                        ValidateKernelTable);
  }
  if (options.nccl_cluster != Options().nccl_cluster) {
    return Status::Invalid(fmt::format(
        "{}: --cluster {} applies to nccl-tests outputs (allowed: no --cluster with training runs, "
        "a CSV or a job log, whose rows name the GPUs and cluster they ran on)",
        origin, Printable(options.nccl_cluster, 60)));
  }
  SP_ASSIGN_OR_RETURN(const sim::Engine* engine,
                      sim::FindEngine(options.engine, "validate.engine"));
  if (options.engine_override != nullptr) engine = options.engine_override;
  FileReport report;
  report.path = origin;
  report.engine = std::string(engine->name());
  SP_ASSIGN_OR_RETURN(std::vector<TrainingCase> cases,
                      TrainingCases(text, origin, options, &report.kind));
  // The column is checked before the rows run: a misspelt one costs no prediction.
  std::map<int, std::string> cells;
  if (!options.group_by.empty()) {
    if (report.kind == "job-log") return NoColumnsToGroupBy(origin, "a job log", options.group_by);
    SP_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, origin));  // as TrainingCases read it
    SP_ASSIGN_OR_RETURN(cells, GroupCells(table, origin, options.group_by));
  }
  for (const TrainingCase& c : cases) report.rows.push_back(RunCase(c, options, *engine));
  if (!options.group_by.empty()) AssignGroups(report, options.group_by, cells);
  report.summary = Summarize(report.rows);
  return report;
}

Result<FileReport> ValidateFile(const std::string& path, const Options& options) {
  SP_RETURN_IF_ERROR(CheckOptions(options));
  SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
  return ValidateText(text, path, options);
}

}  // namespace scaleplan::validate
