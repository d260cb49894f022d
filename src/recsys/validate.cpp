#include "recsys/validate.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "core/csv.h"
#include "core/file.h"
#include "core/text.h"
#include "recsys/planner.h"
#include "spec/readers.h"

namespace scaleplan::recsys {

namespace {

constexpr double kEtaMin = 0.05;
constexpr double kEtaStep = 0.01;
constexpr int kEtaSteps = 96;  // 0.05 .. 1.00
constexpr double kOverheadStepS = 10e-6;
constexpr int kOverheadSteps = 501;  // 0 .. 5 ms

// The GPU preset of an MLPerf system's GPU name; the error says what is allowed.
Result<std::string> GpuPreset(const std::string& gpu_type) {
  const std::string lower = ToLower(gpu_type);
  if (lower.find("h100") != std::string::npos) return std::string("h100-sxm");
  if (lower.find("h200") != std::string::npos) return std::string("h200");
  if (lower.find("a100") != std::string::npos && lower.find("80") != std::string::npos) {
    return std::string("a100-80gb");
  }
  return Status::Invalid(fmt::format("gpu_type = {} (allowed: an H100, H200 or A100 80GB name)",
                                     Printable(gpu_type, 64)));
}

// The step of each run's HugeCTR plan without the overhead, for one lookup fraction.
struct Prepared {
  RecJob job;
  ShardingPlan plan;
  double measured = 0;
};

Result<std::vector<Prepared>> Prepare(const std::vector<MlperfRun>& runs) {
  std::vector<Prepared> out;
  for (const MlperfRun& run : runs) {
    SP_ASSIGN_OR_RETURN(spec::RecJobSpec spec, MlperfJob(run));
    Prepared p;
    Result<RecJob> job = ResolveRecJob(spec);
    if (!job.ok()) {
      return job.status().WithContext(
          fmt::format("{}:{} ({})", run.origin, run.line, Printable(run.label, 64)));
    }
    p.job = *std::move(job);
    const std::string where =
        fmt::format("{}:{} ({})", run.origin, run.line, Printable(run.label, 64));
    Result<CostModel> cost = CostModel::For(p.job);
    if (!cost.ok()) return cost.status().WithContext(where);
    PlannerOptions options;
    options.planner = "hugectr";
    Result<ShardingPlan> plan = RunPlanner(*cost, options);
    if (!plan.ok()) return plan.status().WithContext(where);
    p.plan = *std::move(plan);
    p.measured = run.samples_per_s;
    out.push_back(std::move(p));
  }
  return out;
}

// steps[e][i]: run i's step without overhead at lookup fraction kEtaMin + e * kEtaStep.
Result<std::vector<std::vector<double>>> StepGrid(const std::vector<Prepared>& prepared) {
  std::vector<std::vector<double>> steps(kEtaSteps);
  for (int e = 0; e < kEtaSteps; ++e) {
    RecFactors f{kEtaMin + e * kEtaStep, 0};
    for (const Prepared& p : prepared) {
      SP_ASSIGN_OR_RETURN(CostModel cost, CostModel::For(p.job, f));
      SP_ASSIGN_OR_RETURN(RecStep step, cost.Evaluate(p.plan));
      steps[static_cast<size_t>(e)].push_back(step.step_s);
    }
  }
  return steps;
}

RecFactors FitOn(const std::vector<Prepared>& prepared,
                 const std::vector<std::vector<double>>& steps, const std::vector<bool>& use) {
  RecFactors best;
  double best_error = std::numeric_limits<double>::infinity();
  for (int e = 0; e < kEtaSteps; ++e) {
    for (int o = 0; o < kOverheadSteps; ++o) {
      double overhead = o * kOverheadStepS;
      double error = 0;
      for (size_t i = 0; i < prepared.size(); ++i) {
        if (!use[i]) continue;
        double predicted = static_cast<double>(prepared[i].job.spec.global_batch) /
                           (steps[static_cast<size_t>(e)][i] + overhead);
        error += std::fabs(predicted / prepared[i].measured - 1);
      }
      if (error < best_error - 1e-12) {
        best_error = error;
        best = RecFactors{kEtaMin + e * kEtaStep, overhead};
      }
    }
  }
  return best;
}

Result<double> Predict(const Prepared& p, const RecFactors& f, RecStep* step_out = nullptr) {
  SP_ASSIGN_OR_RETURN(CostModel cost, CostModel::For(p.job, f));
  SP_ASSIGN_OR_RETURN(RecStep step, cost.Evaluate(p.plan));
  if (step_out != nullptr) *step_out = step;
  return step.samples_per_s;
}

}  // namespace

bool IsMlperfRunsCsv(std::string_view text) {
  Result<CsvTable> table = ParseCsv(text, "");
  if (!table.ok()) return false;
  for (const char* column :
       {"gpu_type", "num_gpus", "gpus_per_node", "global_batch", "samples_per_s"}) {
    if (table->Column(column) < 0) return false;
  }
  return true;
}

Result<std::vector<MlperfRun>> ReadMlperfRuns(std::string_view text, const std::string& origin) {
  SP_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(text, origin));
  for (const char* column :
       {"gpu_type", "num_gpus", "gpus_per_node", "global_batch", "samples_per_s"}) {
    if (table.Column(column) < 0) {
      return Status::Invalid(
          fmt::format("{}: column {} is missing (allowed: the MLPerf DLRM "
                      "schema of data/validation/mlperf-dlrm.csv)",
                      origin, column));
    }
  }
  std::vector<MlperfRun> runs;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    MlperfRun run;
    run.line = table.lines[r];
    run.origin = origin;
    run.label = fmt::format("{} {} {}", table.Cell(r, "round"), table.Cell(r, "submitter"),
                            table.Cell(r, "system"));
    run.gpu_type = table.Cell(r, "gpu_type");
    auto integer = [&](const char* column, int64_t max, int64_t& out) -> Status {
      Result<int64_t> v = ParseInteger(table.Cell(r, column));
      if (!v.ok() || *v < 1 || *v > max) {
        return Status::Invalid(fmt::format("{}:{}: {} = {} (allowed: integer 1 to {})", origin,
                                           run.line, column, Printable(table.Cell(r, column), 64),
                                           max));
      }
      out = *v;
      return Status::Ok();
    };
    SP_RETURN_IF_ERROR(integer("num_gpus", spec::kMaxRanks, run.gpus));
    SP_RETURN_IF_ERROR(integer("gpus_per_node", 64, run.gpus_per_node));
    SP_RETURN_IF_ERROR(integer("global_batch", spec::kMaxCount, run.global_batch));
    // The run's rate over all its GPUs: each GPU's share within spec::kMin/kMaxMeasured.
    Result<double> sps = ParseNumber(table.Cell(r, "samples_per_s"));
    const double gpus = static_cast<double>(run.gpus);
    if (!sps.ok() || !(*sps >= spec::kMinMeasured * gpus) || !(*sps <= spec::kMaxMeasured * gpus)) {
      return Status::Invalid(fmt::format(
          "{}:{}: samples_per_s = {} (allowed: a number from {:g} to {:g}, {:g} to {:g} a GPU "
          "on its {} GPUs)",
          origin, run.line, Printable(table.Cell(r, "samples_per_s"), 64),
          spec::kMinMeasured * gpus, spec::kMaxMeasured * gpus, spec::kMinMeasured,
          spec::kMaxMeasured, run.gpus));
    }
    run.samples_per_s = *sps;
    // Not modeled (the model predicts the rate), but read: a value that is not a time is an
    // error in the row, not something to pass over.
    if (const std::string ttt = table.Cell(r, "time_to_train_min"); !ttt.empty()) {
      Result<double> minutes = ParseNumber(ttt);
      if (!minutes.ok() || !(*minutes > 0) || !(*minutes <= 1e7)) {
        return Status::Invalid(fmt::format(
            "{}:{}: time_to_train_min = {} (allowed: blank, or minutes above 0 and at most 1e7)",
            origin, run.line, Printable(ttt, 64)));
      }
    }
    if (Result<std::string> gpu = GpuPreset(run.gpu_type); !gpu.ok()) {
      return Status::Invalid(fmt::format("{}:{}: {}", origin, run.line, gpu.status().message()));
    }
    runs.push_back(std::move(run));
  }
  if (runs.empty()) return Status::Invalid(fmt::format("{}: no runs (allowed: >= 1 row)", origin));
  return runs;
}

Result<spec::RecJobSpec> MlperfJob(const MlperfRun& run, int64_t gpus) {
  spec::RecJobSpec spec;
  SP_ASSIGN_OR_RETURN(spec.model, spec::LoadRankingModel("mlperf-dlrm-dcnv2"));
  spec.model.embedding_dtype = spec::EmbeddingDtype::kFp32;
  spec.optimizer = spec::EmbeddingOptimizer::kAdagrad;
  SP_ASSIGN_OR_RETURN(spec.cluster, spec::LoadCluster("dgx-h100-ib"));
  Result<std::string> preset = GpuPreset(run.gpu_type);
  if (!preset.ok()) {
    return Status::Invalid(
        fmt::format("{}:{}: {}", run.origin, run.line, preset.status().message()));
  }
  const std::string gpu = *preset;
  SP_ASSIGN_OR_RETURN(spec.cluster.gpu, spec::LoadGpu(gpu));
  spec.cluster.gpu_name = gpu;
  spec.cluster.name = fmt::format("dgx-{}", gpu);
  const bool a100 = gpu.rfind("a100", 0) == 0;
  for (size_t t = 0; t < spec.cluster.tiers.size(); ++t) {
    spec::TierSpec& tier = spec.cluster.tiers[t];
    if (t == 0) {
      tier.gpus = run.gpus_per_node;
      tier.bandwidth_bytes_per_s = spec.cluster.gpu.nvlink_bandwidth_bytes_per_s;
    } else {
      tier.bandwidth_bytes_per_s = a100 ? 25e9 : 50e9;
      tier.gpus = tier.gpus / 8 * run.gpus_per_node;  // the same number of nodes
    }
  }
  spec.gpus = gpus > 0 ? gpus : run.gpus;
  spec.global_batch = run.global_batch;
  return spec;
}

Result<RecFactors> FitFactors(const std::vector<MlperfRun>& runs) {
  SP_ASSIGN_OR_RETURN(std::vector<Prepared> prepared, Prepare(runs));
  SP_ASSIGN_OR_RETURN(auto steps, StepGrid(prepared));
  return FitOn(prepared, steps, std::vector<bool>(prepared.size(), true));
}

Result<RecValidation> ValidateMlperf(const std::vector<MlperfRun>& runs) {
  // Runs of one configuration (GPU, GPUs, GPUs per node, batch) are one configuration: repeated,
  // they would fit the factors to one point and hold back a copy of what the fit saw.
  auto config = [](const MlperfRun& r) {
    return std::make_tuple(ToLower(r.gpu_type), r.gpus, r.gpus_per_node, r.global_batch);
  };
  std::set<decltype(config(runs.front()))> configs;
  for (const MlperfRun& r : runs) configs.insert(config(r));
  // Two factors are fitted: with fewer than three configurations a leave-one-out fit has less
  // to go on than factors (with one it would be the in-sample fit, an error of 0% by
  // construction).
  if (configs.size() < 3) {
    return Status::Invalid(fmt::format(
        "rec-validate: {} run{} of {} distinct configuration{} (GPU type, GPUs, GPUs per node, "
        "global batch) (allowed: at least 3 configurations; two factors are fitted and "
        "leave-one-out holds one more back)",
        runs.size(), runs.size() == 1 ? "" : "s", configs.size(), configs.size() == 1 ? "" : "s"));
  }
  SP_ASSIGN_OR_RETURN(std::vector<Prepared> prepared, Prepare(runs));
  SP_ASSIGN_OR_RETURN(auto steps, StepGrid(prepared));
  RecValidation out;
  out.built_in = FittedFactors();
  out.fitted = FitOn(prepared, steps, std::vector<bool>(prepared.size(), true));
  for (size_t i = 0; i < prepared.size(); ++i) {
    RecValidationRow row;
    row.run = runs[i];
    SP_ASSIGN_OR_RETURN(row.predicted_samples_per_s, Predict(prepared[i], out.fitted, &row.step));
    // Leave-one-configuration-out: the held-out run's repeats are held out with it.
    std::vector<bool> use(prepared.size(), true);
    for (size_t j = 0; j < runs.size(); ++j) use[j] = config(runs[j]) != config(runs[i]);
    row.loo_factors = FitOn(prepared, steps, use);
    SP_ASSIGN_OR_RETURN(row.loo_predicted_samples_per_s, Predict(prepared[i], row.loo_factors));
    row.error_pct = 100 * (row.predicted_samples_per_s / row.run.samples_per_s - 1);
    row.loo_error_pct = 100 * (row.loo_predicted_samples_per_s / row.run.samples_per_s - 1);
    out.mean_abs_error_pct += std::fabs(row.error_pct) / static_cast<double>(prepared.size());
    out.loo_mean_abs_error_pct +=
        std::fabs(row.loo_error_pct) / static_cast<double>(prepared.size());
    out.max_abs_error_pct = std::max(out.max_abs_error_pct, std::fabs(row.error_pct));
    out.loo_max_abs_error_pct = std::max(out.loo_max_abs_error_pct, std::fabs(row.loo_error_pct));
    out.rows.push_back(std::move(row));
  }
  // Strong scaling of the first H100 run's job over DGX H100 nodes.
  for (const MlperfRun& run : runs) {
    if (ToLower(run.gpu_type).find("h100") == std::string::npos) continue;
    MlperfRun dgx = run;
    dgx.gpus_per_node = 8;
    for (int64_t gpus : {8, 16, 32, 64, 128}) {
      if (run.global_batch % gpus != 0) continue;
      SP_ASSIGN_OR_RETURN(spec::RecJobSpec spec, MlperfJob(dgx, gpus));
      SP_ASSIGN_OR_RETURN(RecJob job, ResolveRecJob(spec));
      SP_ASSIGN_OR_RETURN(CostModel cost, CostModel::For(job, out.fitted));
      RecScaling s;
      s.gpus = gpus;
      PlannerOptions hugectr;
      hugectr.planner = "hugectr";
      SP_ASSIGN_OR_RETURN(ShardingPlan plan, RunPlanner(cost, hugectr));
      SP_ASSIGN_OR_RETURN(s.hugectr_step, cost.Evaluate(plan));
      s.hugectr_plan_samples_per_s_per_gpu = s.hugectr_step.samples_per_s_per_gpu;
      SP_ASSIGN_OR_RETURN(ShardingPlan ours, RunPlanner(cost, PlannerOptions{}));
      SP_ASSIGN_OR_RETURN(RecStep step, cost.Evaluate(ours));
      s.scaleplan_plan_samples_per_s_per_gpu = step.samples_per_s_per_gpu;
      out.scaling.push_back(s);
    }
    break;
  }
  return out;
}

Result<std::optional<RecValidation>> ValidateIfMlperf(
    const std::vector<std::string>& paths, const std::vector<std::string>& options_given) {
  for (const std::string& path : paths) {
    if (path == "-") continue;
    Result<std::string> text = ReadInputFile(path, kMaxSpecFileBytes);
    // An unreadable file is the training tables' reader's to report.
    if (!text.ok() || !IsMlperfRunsCsv(*text)) continue;
    if (!options_given.empty()) {
      return Status::Invalid(path + ": " + options_given.front() +
                             " with a table of ranking-model runs (MLPerf DLRM) (allowed: --json "
                             "only; every run is validated)");
    }
    if (paths.size() > 1) {
      return Status::Invalid(path +
                             ": a table of ranking-model runs (MLPerf DLRM) (allowed: validated "
                             "alone, as scaleplan validate FILE or scaleplan rec-validate --runs "
                             "FILE)");
    }
    SP_ASSIGN_OR_RETURN(std::vector<MlperfRun> runs, ReadMlperfRuns(*text, path));
    SP_ASSIGN_OR_RETURN(RecValidation validation, ValidateMlperf(runs));
    return std::optional<RecValidation>(std::move(validation));
  }
  return std::optional<RecValidation>();
}

}  // namespace scaleplan::recsys
