#include "predict/fit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/file.h"
#include "core/text.h"
#include "plan/memory.h"
#include "predict/features.h"
#include "search/space.h"
#include "spec/readers.h"
#include "validate/training_rows.h"

namespace scaleplan::predict {

namespace {

struct Sample {
  FitJob job;
  std::vector<double> x;
  double y = 0;          // ln(measured / physics throughput)
  std::string decision;  // jobs that answer one question: which configuration is faster
};

// The metric predicted from the physics' value and a correction y_hat.
double Corrected(const std::string& metric, double physics, double correction) {
  return metric == "step_time_s" ? physics / std::exp(correction) : physics * std::exp(correction);
}

Scores Score(const std::string& method, const std::vector<Sample>& samples,
             const std::vector<double>& predicted) {
  Scores s;
  s.method = method;
  s.jobs = static_cast<int64_t>(samples.size());
  std::map<std::string, std::vector<size_t>> decisions;
  for (size_t i = 0; i < samples.size(); ++i) {
    s.mean_abs_error_pct +=
        100.0 * std::fabs(predicted[i] - samples[i].job.measured) / samples[i].job.measured;
    decisions[samples[i].decision].push_back(i);
  }
  if (!samples.empty()) s.mean_abs_error_pct /= static_cast<double>(samples.size());
  double concordant = 0, pairs = 0, spearman = 0, spearman_jobs = 0, regret = 0;
  for (const auto& [key, members] : decisions) {
    if (members.size() < 2) continue;
    ++s.decisions;
    std::vector<double> p, m;
    for (size_t i : members) {
      p.push_back(Throughput(samples[i].job.metric, predicted[i]));
      m.push_back(Throughput(samples[i].job.metric, samples[i].job.measured));
    }
    for (size_t a = 0; a < p.size(); ++a) {
      for (size_t b = a + 1; b < p.size(); ++b) {
        double sign = (p[a] - p[b]) * (m[a] - m[b]);
        concordant += sign > 0 ? 1 : sign < 0 ? -1 : 0;
        pairs += 1;
      }
    }
    if (p.size() >= 3) {
      spearman += validate::Spearman(p, m) * static_cast<double>(p.size());
      spearman_jobs += static_cast<double>(p.size());
    }
    size_t pick = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    double best = *std::max_element(m.begin(), m.end());
    regret += 100.0 * (1.0 - m[pick] / best);
  }
  if (pairs > 0) s.kendall_tau = concordant / pairs;
  if (spearman_jobs > 0) s.spearman = spearman / spearman_jobs;
  if (s.decisions > 0) s.top1_regret_pct = regret / static_cast<double>(s.decisions);
  return s;
}

// A sample as a row of a data set, with its decision and physics log throughput (what a ranking
// loss compares).
void Add(Dataset& data, const Sample& s) {
  data.x.push_back(s.x);
  data.y.push_back(s.y);
  data.group.push_back(s.decision);
  data.base.push_back(std::log(Throughput(s.job.metric, s.job.physics)));
}

// Fits on every sample outside `held` and predicts the held ones into `out`.
Status PredictHeldOut(const std::vector<Sample>& samples, const std::vector<bool>& held,
                      const FitOptions& options, std::vector<double>& out) {
  Dataset train;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!held[i]) Add(train, samples[i]);
  }
  SP_ASSIGN_OR_RETURN(Predictor p,
                      FitPredictor(train, options.family, options.members, options.seed));
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!held[i]) continue;
    out[i] = Corrected(samples[i].job.metric, samples[i].job.physics,
                       p.Correct(samples[i].x).correction);
  }
  return Status::Ok();
}

}  // namespace

Result<JobFeatures> FeaturesOf(validate::TrainingCase& c) {
  // A job that did not finish is skipped by validate for want of a measurement; its plan is still
  // modeled here (what the feasibility model learns from).
  if (c.status != "ok") c.skipped.clear();
  SP_ASSIGN_OR_RETURN(validate::Modeled modeled, validate::ModelCase(c));
  JobFeatures f;
  f.physics = c.metric.empty() ? modeled.step.tokens_per_s_per_gpu
                               : validate::PredictedMetric(c, modeled.plan, modeled.step);
  f.x = Features(modeled.plan, modeled.step, plan::ComputeMemory(modeled.plan));
  f.description = search::Describe(modeled.plan.spec(), modeled.plan.dp);
  if (c.status == "ok") {
    f.y = std::log(Throughput(c.metric, c.measured) / Throughput(c.metric, f.physics));
    if (!std::isfinite(f.y)) return Status::Invalid("the physics predicted no throughput");
    // Ten times faster or slower than the physics is a mapping error or a typo, not something
    // to learn (predictor.h, kMaxCorrection): such a job would dominate every mean error it
    // enters, and every correction fitted on it.
    if (std::fabs(f.y) > kMaxCorrection) {
      return Status::Invalid(fmt::format(
          "{} = {:g} against the physics' {:g}: the job ran {:.3g} times as fast as predicted "
          "(allowed: within {:g} times either way; check the measurement and the job)",
          c.metric.empty() ? "tokens_per_s_per_gpu" : c.metric, c.measured, f.physics,
          std::exp(f.y), std::exp(kMaxCorrection)));
    }
  }
  return f;
}

double Throughput(const std::string& metric, double value) {
  return metric == "step_time_s" ? 1.0 / value : value;
}

const spec::Schema<FitOptions>& FitOptionsSchema() {
  static const spec::Schema<FitOptions> schema = [] {
    using O = FitOptions;
    spec::Schema<O> s("fit");
    validate::AddRowFilters(s);
    s.OneOf("family", &O::family, FamilyNames(), "the predictor family (predict/predictor.h)");
    s.Integer("members", &O::members, 1, kMaxMembers, "",
              "models in the ensemble, each on a bootstrap sample; their spread is the "
              "uncertainty");
    s.Integer("folds", &O::folds, 2, 100, "", "folds of the k-fold cross-validation");
    s.Unsigned("seed", &O::seed, "seed of the bootstrap samples, the folds and the trees");
    return s;
  }();
  return schema;
}

Result<FitReport> Fit(const std::vector<std::string>& paths, const FitOptions& options) {
  SP_RETURN_IF_ERROR(FitOptionsSchema().CheckValues(options));
  SP_RETURN_IF_ERROR(FindFamily(options.family, "fit.family").status());
  if (paths.empty()) {
    return Status::Invalid("fit: no job files given (allowed: job logs or CSV files of runs)");
  }
  SP_RETURN_IF_ERROR(DistinctInputs(paths, "fit"));
  validate::Options filters = validate::RowFilters(options);
  SP_RETURN_IF_ERROR(validate::CheckFilters(filters, "fit"));
  FitReport report;
  std::vector<Sample> samples;
  size_t kept = 0;  // the jobs the row filters keep
  for (const std::string& path : paths) {
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
    std::string kind;
    SP_ASSIGN_OR_RETURN(std::vector<validate::TrainingCase> cases,
                        validate::TrainingCases(text, path, filters, &kind));
    kept += cases.size();
    for (validate::TrainingCase& c : cases) {
      if (c.status != "ok") {
        ++report.failed_jobs;
        continue;
      }
      Result<JobFeatures> features = FeaturesOf(c);
      if (!features.ok()) {
        report.skipped.push_back(
            fmt::format("{}:{}: {}", path, c.line, features.status().message()));
        continue;
      }
      Sample s;
      s.job.file = path;
      s.job.line = c.line;
      s.job.label = c.label;
      s.job.source = c.source.empty() ? path : c.source;
      s.job.metric = c.metric;
      s.job.measured = c.measured;
      s.job.physics = features->physics;
      s.x = std::move(features->x);
      s.y = features->y;
      s.decision = fmt::format("{}|{}|{}|{}", c.job.model.name, c.job.cluster.gpu.name, c.job.gpus,
                               c.metric);
      samples.push_back(std::move(s));
    }
  }
  if (samples.empty()) {
    // Why none: the jobs that did not finish, and the first rows skipped, each with its place.
    std::vector<std::string> why;
    if (kept == 0) {
      why.push_back(
          "the row filters (--match, --gpu-type, --precision, --min-gpus, --max-gpus) keep none of "
          "their jobs");
    }
    if (report.failed_jobs > 0) {
      why.push_back(fmt::format("{} job{} did not finish", report.failed_jobs,
                                report.failed_jobs == 1 ? "" : "s"));
    }
    for (size_t k = 0; k < report.skipped.size() && k < 3; ++k) why.push_back(report.skipped[k]);
    if (report.skipped.size() > 3) why.push_back("...");
    return Status::Invalid(fmt::format(
        "fit: no measured job to learn from in {}{} (allowed: at least {} finished jobs of "
        "distinct configurations)",
        Join(paths, ", "), why.empty() ? "" : " (" + Join(why, "; ") + ")", kMinTrainingJobs));
  }
  // Configurations: jobs with the same features (one configuration measured again, a row repeated)
  // are one group. A predictor needs kMinTrainingJobs of them, and the k-fold holds each group out
  // whole (below).
  std::map<std::vector<double>, size_t> group_of;
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < samples.size(); ++i) {
    auto [it, added] = group_of.emplace(samples[i].x, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  report.configurations = static_cast<int64_t>(groups.size());
  if (!samples.empty() && groups.size() < kMinTrainingJobs) {
    return Status::Invalid(fmt::format(
        "fit: {} measured jobs of {} configuration{} (allowed: at least {} configurations: a job "
        "logged again is the same configuration)",
        samples.size(), groups.size(), groups.size() == 1 ? "" : "s", kMinTrainingJobs));
  }
  Dataset all;
  for (const Sample& s : samples) Add(all, s);
  SP_ASSIGN_OR_RETURN(report.predictor,
                      FitPredictor(all, options.family, options.members, options.seed));
  report.predictor.trained_on = paths;

  const size_t n = samples.size();
  std::vector<double> physics(n), in_sample(n), k_fold(n), by_source(n);
  for (size_t i = 0; i < n; ++i) {
    physics[i] = samples[i].job.physics;
    in_sample[i] = Corrected(samples[i].job.metric, samples[i].job.physics,
                             report.predictor.Correct(samples[i].x).correction);
  }
  // k-fold over configurations, each group held out together; else a fold would test on a copy
  // of what it trained on. The groups in a seeded shuffle, dealt round-robin, with enough folds
  // that each trains on at least kMinTrainingJobs groups (none when there are too few for any).
  const int64_t configurations = report.configurations;
  auto trains_on = [&](int64_t k) { return configurations - (configurations + k - 1) / k; };
  report.folds = std::min<int64_t>(options.folds, configurations);
  const auto min_jobs = static_cast<int64_t>(kMinTrainingJobs);
  while (report.folds < configurations && trains_on(report.folds) < min_jobs) ++report.folds;
  if (trains_on(report.folds) < min_jobs) report.folds = 0;
  std::vector<size_t> order(groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(options.seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  for (int64_t f = 0; f < report.folds; ++f) {
    std::vector<bool> held(n, false);
    for (size_t k = static_cast<size_t>(f); k < order.size();
         k += static_cast<size_t>(report.folds)) {
      for (size_t i : groups[order[k]]) held[i] = true;
    }
    SP_RETURN_IF_ERROR(PredictHeldOut(samples, held, options, k_fold));
  }
  std::vector<bool> report_left_out(n, false);
  std::map<std::string, std::vector<size_t>> sources;
  for (size_t i = 0; i < n; ++i) sources[samples[i].job.source].push_back(i);
  report.sources = static_cast<int64_t>(sources.size());
  report.scores.push_back(Score("physics", samples, physics));
  report.scores.push_back(Score("learned, in-sample", samples, in_sample));
  if (report.folds > 0) {
    report.scores.push_back(Score(fmt::format("learned, {}-fold", report.folds), samples, k_fold));
  }
  if (sources.size() >= 2) {
    std::vector<size_t> scored;
    for (const auto& [source, members] : sources) {
      std::vector<bool> held(n, false);
      for (size_t i : members) held[i] = true;
      if (n - members.size() < kMinTrainingJobs) continue;  // too few jobs left to learn from
      SP_RETURN_IF_ERROR(PredictHeldOut(samples, held, options, by_source));
      scored.insert(scored.end(), members.begin(), members.end());
    }
    std::sort(scored.begin(), scored.end());
    std::vector<Sample> kept;
    std::vector<double> predicted, physics_kept;
    for (size_t i : scored) {
      kept.push_back(samples[i]);
      predicted.push_back(by_source[i]);
      physics_kept.push_back(physics[i]);
    }
    if (!kept.empty()) {
      report.scores.push_back(Score("learned, leave-one-source-out", kept, predicted));
      if (kept.size() != n) {
        report.scores.push_back(Score("physics, same jobs", kept, physics_kept));
      }
    }
    for (size_t i : scored) report_left_out[i] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    FitJob job = samples[i].job;
    job.in_sample = in_sample[i];
    job.k_fold = k_fold[i];
    job.has_k_fold = report.folds > 0;
    job.left_out_source = by_source[i];
    job.has_left_out_source = report_left_out[i];
    report.jobs.push_back(std::move(job));
  }
  return report;
}

}  // namespace scaleplan::predict
