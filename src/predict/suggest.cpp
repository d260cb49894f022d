#include "predict/suggest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "core/file.h"
#include "core/text.h"
#include "plan/memory.h"
#include "predict/engine.h"
#include "predict/features.h"
#include "predict/fit.h"
#include "spec/readers.h"

namespace scaleplan::predict {

namespace {

// How many plans the search keeps per proposal: a layout's ZeRO, recomputation and placement
// variants crowd the top of a ranking.
constexpr int64_t kPlansPerLayout = 16;

// What a batch spreads over: the plan's shape (expert TP included: a search's plans carry it
// resolved, tp or a derived 1) and schedule.
std::string Layout(const spec::PlanSpec& p) {
  return fmt::format("{} {} {} {} {} {} {} {}", p.tp, p.cp, p.pp, p.vp, p.ep, p.etp,
                     p.micro_batch, spec::ScheduleName(p.schedule));
}

// Whether a logged job ran the job `base` describes (the same model, GPUs, cluster, sequence,
// batch, precision, LoRA rank and packed documents), so that its plan is one of base's plans
// already run.
bool SameJob(const spec::JobSpec& logged, const spec::JobSpec& base) {
  auto tokens = [](const spec::WorkloadSpec& w) {
    return w.batch_tokens > 0 ? w.batch_tokens : w.global_batch * w.seq_len;
  };
  return logged.model.name == base.model.name && logged.gpus == base.gpus &&
         logged.cluster.name == base.cluster.name &&
         logged.cluster.gpu.name == base.cluster.gpu.name &&
         logged.workload.seq_len == base.workload.seq_len &&
         tokens(logged.workload) == tokens(base.workload) &&
         logged.plan.precision == base.plan.precision &&
         logged.workload.lora_rank == base.workload.lora_rank &&
         logged.workload.document_tokens == base.workload.document_tokens;
}

}  // namespace

const spec::Schema<SuggestOptions>& SuggestOptionsSchema() {
  static const spec::Schema<SuggestOptions> schema = [] {
    using O = SuggestOptions;
    spec::Schema<O> s("suggest");
    s.OneOf("family", &O::family, FamilyNames(), "the predictor family (predict/predictor.h)");
    s.Integer("members", &O::members, 1, kMaxMembers, "",
              "models in the ensemble; their spread is what the optimism trades on");
    s.Unsigned("seed", &O::seed, "seed of the bootstrap samples and of a sampling optimizer");
    s.Integer("count", &O::count, 1, 1000, "", "jobs to propose").Alias("k");
    s.Number("optimism", &O::optimism, 0, 10, "",
             "ensemble spreads added to the estimate when ranking (0: the estimate alone)");
    s.OneOf("optimizer", &O::optimizer, search::OptimizerNames(),
            "the optimizer that searches the space against the predictor");
    s.Integer("threads", &O::threads, 1, 256, "", "threads for exhaustive search");
    return s;
  }();
  return schema;
}

Result<std::vector<validate::TrainingCase>> ReadJobs(const std::vector<std::string>& paths) {
  SP_RETURN_IF_ERROR(DistinctInputs(paths, "--log"));
  std::vector<validate::TrainingCase> jobs;
  for (const std::string& path : paths) {
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
    std::string kind;
    SP_ASSIGN_OR_RETURN(std::vector<validate::TrainingCase> cases,
                        validate::TrainingCases(text, path, validate::Options{}, &kind));
    for (validate::TrainingCase& c : cases) {
      c.label = fmt::format("{}:{}", path, c.line);
      jobs.push_back(std::move(c));
    }
  }
  return jobs;
}

Result<Suggestion> Learn(const spec::JobSpec& base, std::vector<validate::TrainingCase> jobs,
                         const SuggestOptions& options) {
  SP_RETURN_IF_ERROR(SuggestOptionsSchema().CheckValues(options));
  SP_RETURN_IF_ERROR(FindFamily(options.family, "suggest.family").status());
  Suggestion out;
  Dataset measured;
  std::vector<std::vector<double>> memory_x;
  std::vector<bool> oom;
  std::set<std::string>& run = out.run_plans;
  for (validate::TrainingCase& c : jobs) {
    Result<JobFeatures> f = FeaturesOf(c);
    if (!f.ok()) {
      out.skipped.push_back(fmt::format("{}: {}", c.label, f.status().message()));
      continue;
    }
    if (SameJob(c.job, base)) run.insert(f->description);
    if (c.status == "ok") {
      ++out.measured_jobs;
      measured.x.push_back(f->x);
      measured.y.push_back(f->y);
      measured.group.push_back(fmt::format("{}|{}|{}|{}", c.job.model.name, c.job.cluster.gpu.name,
                                           c.job.gpus, c.metric));
      measured.base.push_back(std::log(Throughput(c.metric, f->physics)));
      memory_x.push_back(std::move(f->x));
      oom.push_back(false);
    } else if (c.status == "oom") {
      ++out.oom_jobs;
      memory_x.push_back(std::move(f->x));
      oom.push_back(true);
    } else {
      ++out.other_failed_jobs;
    }
  }
  out.already_run = static_cast<int64_t>(run.size());
  out.measured_configurations = static_cast<int64_t>(
      std::set<std::vector<double>>(measured.x.begin(), measured.x.end()).size());
  if (out.measured_configurations >= static_cast<int64_t>(kMinTrainingJobs)) {
    SP_ASSIGN_OR_RETURN(Predictor p,
                        FitPredictor(measured, options.family, options.members, options.seed));
    out.predictor = std::move(p);
  }
  out.feasibility = Feasibility::Fit(memory_x, oom);
  return out;
}

Result<Suggestion> Suggest(const spec::JobSpec& base, const search::SearchSpace& space,
                           std::vector<validate::TrainingCase> jobs,
                           const SuggestOptions& options) {
  SP_ASSIGN_OR_RETURN(Suggestion out, Learn(base, std::move(jobs), options));
  const std::set<std::string>& run = out.run_plans;
  Predictor physics;  // no members: no correction
  LearnedEngine engine(out.predictor ? *out.predictor : physics, options.optimism, out.feasibility);

  search::SearchOptions search_options;
  search_options.optimizer = options.optimizer;
  search_options.seed = options.seed;
  search_options.threads = options.threads;
  search_options.derive_expert_tp = options.derive_expert_tp;
  search_options.processes = options.processes;
  // Deep enough to hold `count` distinct layouts beyond the plans already run.
  search_options.top_k = options.count * kPlansPerLayout + out.already_run;
  search_options.rerank_with_events = false;
  search_options.engine = &engine;
  SP_ASSIGN_OR_RETURN(out.search, search::Search(base, space, search_options));
  // No plan of the space runs this job at all: an input error, not an empty batch. (Plans the
  // feasibility model refused could run; that batch is empty, not the job wrong.)
  if (out.search.pruned_by.count(kPredictedOomKey) == 0) {
    SP_RETURN_IF_ERROR(search::CheckSomePlanValid(out.search, options.pinned));
  }

  // A batch spans layouts: one plan per layout first, then the best of the rest.
  std::vector<const search::Evaluation*> picked;
  std::set<std::string> layouts;
  for (int pass = 0; pass < 2; ++pass) {
    for (const search::Evaluation& e : out.search.top) {
      if (static_cast<int64_t>(picked.size()) == options.count) break;
      if (run.count(e.description) || std::find(picked.begin(), picked.end(), &e) != picked.end()) {
        continue;
      }
      if (pass == 0 && !layouts.insert(Layout(e.plan)).second) continue;
      picked.push_back(&e);
    }
  }
  std::sort(picked.begin(), picked.end());  // the search's order: best first
  const Predictor& predictor = out.predictor ? *out.predictor : physics;
  for (const search::Evaluation* pick : picked) {
    const search::Evaluation& e = *pick;
    spec::JobSpec job = base;
    job.plan = e.plan;
    job.plan.dp = 0;
    job.plan.microbatches = 0;
    SP_ASSIGN_OR_RETURN(plan::Plan p, plan::BuildPlan(job));
    SP_ASSIGN_OR_RETURN(sim::StepResult step, sim::Evaluate(p));
    Proposal proposal;
    proposal.physics_tokens_per_s_per_gpu = step.tokens_per_s_per_gpu;
    std::vector<double> x = Features(p, step, plan::ComputeMemory(p));
    Estimate estimate = predictor.Correct(x);
    proposal.estimated_tokens_per_s_per_gpu =
        step.tokens_per_s_per_gpu * std::exp(estimate.correction);
    proposal.spread = estimate.spread;
    proposal.oom_probability = out.feasibility ? out.feasibility->OomProbability(x) : 0.0;
    proposal.evaluation = e;
    out.proposals.push_back(std::move(proposal));
  }
  return out;
}

}  // namespace scaleplan::predict
