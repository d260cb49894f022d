#include "recsys/study.h"

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "core/units.h"
#include "spec/ranking.h"
#include "spec/readers.h"

namespace scaleplan::recsys {

const spec::Schema<RecSource>& RecSourceSchema() {
  static const spec::Schema<RecSource> kSchema = [] {
    using S = RecSource;
    spec::Schema<S> s("rec");
    s.Text("model", &S::model, "ranking model: a preset (scaleplan presets) or a YAML file")
        .Text("cluster", &S::cluster, "cluster: a preset or a YAML file")
        .Text("gpu", &S::gpu, "GPU preset or file replacing the cluster's")
        .Text("arch", &S::arch,
              "the dense part as a Rankitect architecture, replacing the model's bottom MLP, "
              "interaction and top MLP: a JSON file (scaleplan nas, rec-train) or a baseline "
              "(dlrm-s ... autoint-l, built at the tables' dim)")
        .Integer("gpus", &S::gpus, 0, spec::kMaxRanks, "", "GPUs used; 0 = the whole cluster")
        .Text("sharding", &S::sharding, "a TorchRec-style plan (JSON) to rate instead of planning")
        .Boolean("compare", &S::compare,
                 "also plan with the other planners and rate every plan with every engine")
        .Integer("max_global_batch", &S::max_global_batch, 0, spec::kMaxCount, "",
                 "let the planner choose the global batch: the job's and its doublings up to "
                 "this, the fastest per sample that fits; 0 = the job's batch");
    return s;
  }();
  return kSchema;
}

Result<spec::RecJobSpec> LoadRecJob(const RecSource& source, const spec::RecJobSpec& keys) {
  spec::RecJobSpec spec = keys;
  SP_ASSIGN_OR_RETURN(spec.model, spec::LoadRankingModel(source.model, source.arch));
  SP_ASSIGN_OR_RETURN(spec.cluster, spec::LoadCluster(source.cluster));
  if (!source.gpu.empty()) {
    SP_ASSIGN_OR_RETURN(spec.cluster.gpu, spec::LoadGpu(source.gpu));
    spec.cluster.gpu_name = source.gpu;
  }
  spec.gpus = source.gpus;
  return spec;
}

namespace {

Result<PlannerRun> Rate(const CostModel& cost, std::string name, ShardingPlan plan,
                        const PlannerOptions& options, double cpu_s) {
  PlannerRun run;
  run.planner = std::move(name);
  SP_ASSIGN_OR_RETURN(run.step, cost.Evaluate(plan));
  run.loads = cost.LoadsOf(plan);
  for (const EngineInfo& e : Engines()) run.scores.push_back(e.score(cost, plan, options));
  run.plan = std::move(plan);
  run.plan_cpu_s = cpu_s;
  return run;
}

}  // namespace

Result<RecStudy> RunRecStudy(const spec::RecJobSpec& spec_in, const PlannerOptions& options,
                             const RecSource& source) {
  RecStudy study;
  spec::RecJobSpec spec = spec_in;
  if (source.max_global_batch > 0 && !source.sharding.empty()) {
    return Status::Invalid(fmt::format("rec.max_global_batch = {} with rec.sharding = {} (allowed: "
                                       "one of them: a plan file is rated at the job's batch)",
                                       source.max_global_batch, source.sharding))
        .WithKey("rec.max_global_batch");
  }
  std::optional<ShardingPlan> chosen;  // the chosen planner's plan at the chosen batch
  double chosen_cpu_s = 0;
  if (source.max_global_batch > 0) {
    if (source.max_global_batch < spec.global_batch) {
      return Status::Invalid(fmt::format("rec.max_global_batch = {} is below the global batch {} "
                                         "(allowed: 0, or at least the global batch)",
                                         source.max_global_batch, spec.global_batch))
          .WithKey("rec.max_global_batch");
    }
    // The batch is a choice: the fastest per sample among the doublings that fit.
    int64_t best_batch = 0;
    double best_rate = 0;
    double planned_s = 0;
    Status first_error = Status::Ok();
    for (int64_t batch = spec.global_batch; batch <= source.max_global_batch; batch *= 2) {
      spec::RecJobSpec trial = spec;
      trial.global_batch = batch;
      double rate = 0;
      Result<RecJob> job = ResolveRecJob(trial);
      Result<CostModel> cost =
          job.ok() ? CostModel::For(*job, FittedFactors()) : Result<CostModel>(job.status());
      auto start = std::chrono::steady_clock::now();
      Result<ShardingPlan> plan =
          cost.ok() ? RunPlanner(*cost, options) : Result<ShardingPlan>(cost.status());
      const double cpu_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (plan.ok()) {
        RecStep step = cost->Step(cost->LoadsOf(*plan));
        if (step.fits) {
          rate = step.samples_per_s;
        } else if (first_error.ok()) {
          first_error =
              Status::Invalid(fmt::format("{} plans no global batch from {} to {} that fits: at "
                                          "{} the fullest GPU needs {:.1f} GiB of {:.1f} GiB "
                                          "usable (allowed: more GPUs or a smaller batch)",
                                          options.planner, spec.global_batch,
                                          source.max_global_batch, batch, step.max_hbm_bytes / kGi,
                                          step.hbm_capacity_bytes / kGi))
                  .WithKey("rec.max_global_batch");
        }
      } else {
        // The planner's own limits do not depend on the batch: stop at once.
        // The planner's own limits (the exact search's size) rarely ease at a larger batch:
        // keep what fitted so far, or report the limit.
        if (plan.status().key().rfind("planner.", 0) == 0) {
          if (best_batch == 0) return plan.status();
          break;
        }
        if (first_error.ok()) first_error = plan.status();
      }
      study.batches.emplace_back(batch, rate);
      if (rate > best_rate) {
        best_rate = rate;
        best_batch = batch;
        chosen = *plan;  // the answer's plan: not planned again below
        planned_s = cpu_s;
      }
      if (batch > source.max_global_batch / 2) break;
    }
    if (best_batch == 0) {
      return first_error.ok()
                 ? Status::Invalid(fmt::format("rec.max_global_batch = {}: no global batch "
                                               "from {} fits (allowed: more GPUs or a smaller "
                                               "batch)",
                                               source.max_global_batch, spec.global_batch))
                       .WithKey("rec.max_global_batch")
                 : first_error;
    }
    spec.global_batch = best_batch;
    chosen_cpu_s = planned_s;
  }
  SP_ASSIGN_OR_RETURN(study.job, ResolveRecJob(spec));
  study.counts = model::CountRanking(spec.model, study.job.dense_ops);
  study.factors = FittedFactors();
  SP_ASSIGN_OR_RETURN(CostModel cost, CostModel::For(study.job, study.factors));
  std::vector<std::string> order;
  if (!source.sharding.empty()) {
    SP_ASSIGN_OR_RETURN(ShardingPlan plan, LoadPlan(study.job, source.sharding));
    SP_ASSIGN_OR_RETURN(PlannerRun run, Rate(cost, "file", std::move(plan), options, 0));
    study.runs.push_back(std::move(run));
  } else {
    order.push_back(options.planner);
  }
  if (source.compare) {
    for (const PlannerInfo& p : Planners()) {
      if (!p.compared) continue;
      if (p.name != options.planner || !source.sharding.empty()) order.push_back(p.name);
    }
  }
  for (const std::string& name : order) {
    PlannerOptions o = options;
    o.planner = name;
    auto start = std::chrono::steady_clock::now();
    const bool reuse = chosen.has_value() && name == options.planner;
    Result<ShardingPlan> plan = reuse ? Result<ShardingPlan>(*chosen) : RunPlanner(cost, o);
    double cpu_s =
        reuse ? chosen_cpu_s
              : std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!plan.ok()) {
      // The answer's planner failing is the command's error; another's is a row of the report.
      if (study.runs.empty()) return plan.status();
      study.failures.push_back(name + ": " + plan.status().message());
      continue;
    }
    SP_ASSIGN_OR_RETURN(PlannerRun run, Rate(cost, name, std::move(*plan), options, cpu_s));
    study.runs.push_back(std::move(run));
  }
  return study;
}

}  // namespace scaleplan::recsys
