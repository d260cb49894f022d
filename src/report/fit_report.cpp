#include "report/fit_report.h"

#include <fmt/format.h>

#include "report/output.h"
#include "report/validation_report.h"

namespace scaleplan::report {

namespace {

nlohmann::json ScoresJson(const predict::Scores& s) {
  return {{"method", s.method},
          {"jobs", s.jobs},
          {"mean_abs_error_pct", s.mean_abs_error_pct},
          {"kendall_tau", s.kendall_tau},
          {"spearman", s.spearman},
          {"top1_regret_pct", s.top1_regret_pct},
          {"decisions", s.decisions}};
}

}  // namespace

nlohmann::json FitJson(const predict::FitReport& r) {
  nlohmann::json out;
  out["family"] = r.predictor.family;
  out["members"] = r.predictor.members.size();
  out["features"] = r.predictor.features.size();
  out["trained_on"] = r.predictor.trained_on;
  out["jobs"] = r.jobs.size();
  out["failed_jobs"] = r.failed_jobs;
  out["sources"] = r.sources;
  out["folds"] = r.folds;
  out["configurations"] = r.configurations;
  out["scores"] = nlohmann::json::array();
  for (const predict::Scores& s : r.scores) out["scores"].push_back(ScoresJson(s));
  out["jobs_detail"] = nlohmann::json::array();
  for (const predict::FitJob& j : r.jobs) {
    nlohmann::json row = {{"file", j.file},       {"line", j.line},
                          {"label", j.label},     {"source", j.source},
                          {"metric", j.metric},   {"measured", j.measured},
                          {"physics", j.physics}, {"in_sample", j.in_sample}};
    // null where the job was not scored that way (too few jobs for a fold, or to leave out).
    row["k_fold"] = j.has_k_fold ? nlohmann::json(j.k_fold) : nlohmann::json();
    row["left_out_source"] =
        j.has_left_out_source ? nlohmann::json(j.left_out_source) : nlohmann::json();
    out["jobs_detail"].push_back(row);
  }
  out["skipped"] = r.skipped;
  return out;
}

std::string FitText(const predict::FitReport& r, bool verbose) {
  std::string out = fmt::format(
      "{} predictor ({} member{}, {} features) fitted on {} jobs ({} configurations) from {} "
      "source{}; {} skipped, {} without a measurement (status not ok)\n\n",
      r.predictor.family, r.predictor.members.size(), r.predictor.members.size() == 1 ? "" : "s",
      r.predictor.features.size(), r.jobs.size(), r.configurations, r.sources,
      r.sources == 1 ? "" : "s", r.skipped.size(), r.failed_jobs);
  out += fmt::format("{:<34} {:>5} {:>11} {:>12} {:>9} {:>13} {:>10}\n", "method", "jobs",
                     "mean |err|", "Kendall tau", "Spearman", "top-1 regret", "decisions");
  for (const predict::Scores& s : r.scores) {
    out += fmt::format("{:<34} {:>5} {:>10.1f}% {:>12.3f} {:>9.3f} {:>12.1f}% {:>10}\n", s.method,
                       s.jobs, s.mean_abs_error_pct, s.kendall_tau, s.spearman, s.top1_regret_pct,
                       s.decisions);
  }
  out +=
      "\nerror: of each job's metric; tau, Spearman and regret: within each decision (one model on "
      "one number of one GPU type)\n";
  if (r.folds == 0) {
    out += fmt::format("k-fold: needs at least {} configurations (jobs of distinct features)\n",
                       predict::kMinTrainingJobs + 1);
  }
  if (r.sources < 2) {
    out += "leave-one-source-out: needs jobs from at least two sources\n";
  }
  if (verbose) {
    out += fmt::format("\n{:<60} {:>12} {:<12} {:>9} {:>9} {:>9}\n", "job", "measured", "unit",
                       "physics", "in-sample", "k-fold");
    for (const predict::FitJob& j : r.jobs) {
      auto pct = [&](double v) { return 100.0 * (v - j.measured) / j.measured; };
      std::string k_fold = j.has_k_fold ? fmt::format("{:+.1f}%", pct(j.k_fold)) : "-";
      out += fmt::format("{:<60} {:>12.4g} {:<12} {:>+8.1f}% {:>+8.1f}% {:>9}\n",
                         SafeText(j.label).substr(0, 60), j.measured, MetricUnit(j.metric),
                         pct(j.physics), pct(j.in_sample), k_fold);
    }
    for (const std::string& s : r.skipped) out += "skipped " + SafeText(s) + "\n";
  }
  return out;
}

std::string PredictorFile(const predict::Predictor& predictor) {
  return predict::PredictorJson(predictor).dump(1) + "\n";
}

}  // namespace scaleplan::report
