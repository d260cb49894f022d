#include "report/cubic_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

#include "core/text.h"
#include "report/search_report.h"

namespace scaleplan::report {

namespace {

constexpr double kGi = 1073741824.0;

std::string Learned(const predict::Suggestion& s, const predict::SuggestOptions& options) {
  std::string out = fmt::format(
      "  learned    from {} measured jobs of {} configurations ({} out of memory, {} failed "
      "otherwise, {} not modeled); ",
      s.measured_jobs, s.measured_configurations, s.oom_jobs, s.other_failed_jobs,
      s.skipped.size());
  out += s.predictor
             ? fmt::format("predictor {} x {}", s.predictor->family, s.predictor->members.size())
             : fmt::format("no predictor (fewer than {} measured configurations): the physics "
                           "ranks",
                           predict::kMinTrainingJobs);
  out += s.feasibility ? "; feasibility model fitted\n"
                       : "; no feasibility model (needs ok and oom jobs)\n";
  out += fmt::format(
      "  search     {} ranked by the learned engine with optimism {:g} over {:.0f} candidates: {} "
      "evaluated, {} pruned in {:.2f} s; {} plan(s) of this job already run\n",
      s.search.optimizer, options.optimism, s.search.space_size, s.search.evaluated,
      s.search.pruned, s.search.elapsed_s, s.already_run);
  return out;
}

nlohmann::json Curve(const std::vector<predict::CurvePoint>& curve) {
  nlohmann::json out = nlohmann::json::array();
  for (const predict::CurvePoint& p : curve) {
    // Before any job ran (or when every one failed) there is no best: null, not 0 and 100%.
    const bool ran = p.best_true_tokens_per_s_per_gpu > 0;
    out.push_back({{"jobs", p.jobs},
                   {"best_true_tokens_per_s_per_gpu",
                    ran ? nlohmann::json(p.best_true_tokens_per_s_per_gpu) : nullptr},
                   {"regret_pct", ran ? nlohmann::json(p.regret_pct) : nullptr},
                   {"kendall_tau", p.kendall_tau ? nlohmann::json(*p.kendall_tau) : nullptr}});
  }
  return out;
}

}  // namespace

nlohmann::json SuggestJson(const spec::JobSpec& job, const predict::Suggestion& s,
                           const predict::SuggestOptions& options, const LaunchFormat* format) {
  nlohmann::json out;
  out["model"] = job.model.name;
  out["cluster"] = job.cluster.name;
  out["gpus"] = job.gpus;
  out["measured_jobs"] = s.measured_jobs;
  out["measured_configurations"] = s.measured_configurations;
  out["oom_jobs"] = s.oom_jobs;
  out["other_failed_jobs"] = s.other_failed_jobs;
  out["skipped"] = s.skipped;
  out["already_run"] = s.already_run;
  out["predictor"] = s.predictor ? nlohmann::json{{"family", s.predictor->family},
                                                  {"members", s.predictor->members.size()}}
                                 : nlohmann::json(nullptr);
  out["feasibility_model"] = s.feasibility.has_value();
  out["optimism"] = options.optimism;
  out["search"] = {{"optimizer", s.search.optimizer},   {"engine", s.search.engine},
                   {"space_size", s.search.space_size}, {"evaluated_plans", s.search.evaluated},
                   {"pruned_plans", s.search.pruned},   {"pruned_by", s.search.pruned_by},
                   {"elapsed_s", s.search.elapsed_s}};
  nlohmann::json proposals = nlohmann::json::array();
  for (const predict::Proposal& p : s.proposals) {
    nlohmann::json j = {{"plan", PlanFields(p.evaluation.plan)},
                        {"description", p.evaluation.description},
                        {"physics_tokens_per_s_per_gpu", p.physics_tokens_per_s_per_gpu},
                        {"estimated_tokens_per_s_per_gpu", p.estimated_tokens_per_s_per_gpu},
                        {"spread", p.spread},
                        {"oom_probability", p.oom_probability},
                        {"memory_peak_bytes_per_gpu", p.evaluation.peak_bytes_per_gpu}};
    LaunchText launch = PlanLaunch(job, p.evaluation.plan, format);
    if (!launch.format.empty()) j["launch"] = {{"format", launch.format}, {"text", launch.text}};
    proposals.push_back(std::move(j));
  }
  out["proposals"] = proposals;
  return out;
}

std::string SuggestText(const spec::JobSpec& job, const predict::Suggestion& s,
                        const predict::SuggestOptions& options, const LaunchFormat* format) {
  std::string out =
      fmt::format("{} on {} x {} ({}): the next {} jobs to run\n", job.model.name, job.gpus,
                  job.cluster.gpu.name, job.cluster.name, s.proposals.size());
  out += Learned(s, options);
  for (const std::string& skipped : s.skipped) out += "             not modeled: " + skipped + "\n";
  if (s.proposals.empty()) {
    // What pruned the plans not already run (memory, the feasibility model, the rules).
    return out + PruningLines(s.search) + "\n  nothing left to propose: widen the space\n";
  }
  size_t width = 4;
  for (const predict::Proposal& p : s.proposals) {
    width = std::max(width, p.evaluation.description.size());
  }
  out += fmt::format("\n  {:>4}  {:<{}} {:>15} {:>15} {:>7} {:>7} {:>8}\n", "rank", "plan", width,
                     "physics tok/s", "estimate tok/s", "spread", "P(oom)", "mem GiB");
  for (size_t i = 0; i < s.proposals.size(); ++i) {
    const predict::Proposal& p = s.proposals[i];
    out += fmt::format("  {:>4}  {:<{}} {:>15.1f} {:>15.1f} {:>6.1f}% {:>7.2f} {:>8.1f}\n", i + 1,
                       p.evaluation.description, width, p.physics_tokens_per_s_per_gpu,
                       p.estimated_tokens_per_s_per_gpu, 100 * p.spread, p.oom_probability,
                       p.evaluation.peak_bytes_per_gpu / kGi);
  }
  if (format != nullptr) {
    for (size_t i = 0; i < s.proposals.size(); ++i) {
      LaunchText launch = PlanLaunch(job, s.proposals[i].evaluation.plan, format);
      if (launch.format.empty()) continue;
      out += fmt::format("\n  launch configuration ({}) of job {}:\n{}", launch.format, i + 1,
                         launch.text);
    }
  }
  out +=
      "\n  run them, then add each to the log: scaleplan jobs add --log FILE ... and suggest "
      "again\n";
  return out;
}

nlohmann::json TestbedJson(const spec::JobSpec& job, const predict::TestbedReport& r) {
  nlohmann::json out;
  out["model"] = job.model.name;
  out["cluster"] = job.cluster.name;
  out["gpus"] = job.gpus;
  out["truth"] = r.truth_origin;
  out["true_optimum"] = {{"plan", r.optimum_plan},
                         {"tokens_per_s_per_gpu", r.optimum_tokens_per_s_per_gpu}};
  out["physics_best"] = {{"plan", r.physics_best_plan},
                         {"true_tokens_per_s_per_gpu", r.physics_best_true_tokens_per_s_per_gpu}};
  out["runnable_plans"] = r.runnable_plans;
  nlohmann::json methods = nlohmann::json::array();
  for (const predict::MethodResult& m : r.methods) {
    methods.push_back({{"name", m.name},
                       {"curve", Curve(m.curve)},
                       {"oom_jobs", m.oom_jobs},
                       {"failed_jobs", m.failed_jobs},
                       {"best_plan", m.best_plan.empty() ? nlohmann::json(nullptr)
                                                         : nlohmann::json(m.best_plan)},
                       {"elapsed_s", m.elapsed_s},
                       {"effect_jobs", m.effect_jobs}});
  }
  out["methods"] = methods;
  out["effects"] = r.effects;
  out["elapsed_s"] = r.elapsed_s;
  return out;
}

std::string TestbedText(const spec::JobSpec& job, const predict::TestbedReport& r) {
  std::string out = fmt::format("{} on {} x {} ({}), truth {}\n", job.model.name, job.gpus,
                                job.cluster.gpu.name, job.cluster.name, r.truth_origin);
  out += fmt::format("  true optimum   {}: {:.1f} tokens/s/GPU ({} plans run on the truth)\n",
                     r.optimum_plan, r.optimum_tokens_per_s_per_gpu, r.runnable_plans);
  if (!r.physics_best_plan.empty()) {
    out += fmt::format("  physics' best  {}: {:.1f} tokens/s/GPU on the truth{}\n",
                       r.physics_best_plan, r.physics_best_true_tokens_per_s_per_gpu,
                       r.physics_best_true_tokens_per_s_per_gpu > 0 ? "" : " (it does not run)");
  }
  out +=
      "\n  regret (% below the true optimum) of the plan each method measured fastest, by jobs "
      "run\n";
  // One column per job count any method reached; a method shows its regret after the last batch
  // that ended at or before it.
  std::set<int64_t> columns;
  for (const predict::MethodResult& m : r.methods) {
    for (const predict::CurvePoint& p : m.curve) columns.insert(p.jobs);
  }
  out += fmt::format("  {:<10}", "jobs");
  for (int64_t jobs : columns) out += fmt::format(" {:>7}", jobs);
  out += fmt::format("  {:>5} {:>6} {:>8}\n", "oom", "failed", "tau");
  for (const predict::MethodResult& m : r.methods) {
    out += fmt::format("  {:<10}", m.name);
    for (int64_t jobs : columns) {
      const predict::CurvePoint* at = nullptr;
      for (const predict::CurvePoint& p : m.curve) {
        if (p.jobs <= jobs) at = &p;
      }
      // (No job ran yet, or every one failed: no best, so no regret.)
      out += at != nullptr && at->best_true_tokens_per_s_per_gpu > 0
                 ? fmt::format(" {:>6.2f}%", at->regret_pct)
                 : fmt::format(" {:>7}", "-");
    }
    std::string tau = !m.curve.empty() && m.curve.back().kendall_tau
                          ? fmt::format("{:.3f}", *m.curve.back().kendall_tau)
                          : "-";
    out += fmt::format("  {:>5} {:>6} {:>8}\n", m.oom_jobs, m.failed_jobs, tau);
  }
  out += "\n  best plan measured by each method:\n";
  for (const predict::MethodResult& m : r.methods) {
    out +=
        fmt::format("  {:<10} {} ({:.1f} s)\n", m.name,
                    m.best_plan.empty() ? std::string("(no job ran)") : m.best_plan, m.elapsed_s);
  }
  if (!r.effects.empty()) {
    std::vector<std::string> names;
    for (const predict::MethodResult& m : r.methods) names.push_back(m.name);
    out += fmt::format("\n  jobs each truth effect applied to ({}):\n", Join(names, " / "));
    for (size_t i = 0; i < r.effects.size(); ++i) {
      std::vector<std::string> counts;
      int64_t total = 0;
      for (const predict::MethodResult& m : r.methods) {
        const int64_t n = i < m.effect_jobs.size() ? m.effect_jobs[i] : 0;
        counts.push_back(std::to_string(n));
        total += n;
      }
      out += fmt::format("  {:<40} {}{}\n", r.effects[i], Join(counts, " / "),
                         total == 0 ? "  (no job run matched its `when`: it changed nothing seen)"
                                    : "");
    }
  }
  out += fmt::format("\n  {:.1f} s in all\n", r.elapsed_s);
  return out;
}

nlohmann::json RecTestbedJson(const predict::RecTestbedReport& r) {
  nlohmann::json out;
  out["job"] = r.job;
  out["truth"] = r.truth_origin;
  out["plans"] = r.plans;
  out["fitting_plans"] = r.fitting_plans;
  out["runnable_plans"] = r.runnable_plans;
  out["true_optimum"] = {{"plan", r.optimum_plan},
                         {"samples_per_s_per_gpu", r.optimum_samples_per_s_per_gpu}};
  out["physics_best"] = {
      {"plan", r.physics_best_plan},
      {"status", r.physics_best_status},
      {"true_samples_per_s_per_gpu", r.physics_best_status == "ok"
                                         ? nlohmann::json(r.physics_best_true_samples_per_s_per_gpu)
                                         : nlohmann::json(nullptr)}};
  out["planner_failures"] = r.planner_failures;
  out["methods"] = nlohmann::json::array();
  for (const predict::RecMethodResult& m : r.methods) {
    nlohmann::json method = {{"name", m.name},
                             {"oom_jobs", m.oom_jobs},
                             {"failed_jobs", m.failed_jobs},
                             {"best_plan", m.best_plan}};
    method["curve"] = nlohmann::json::array();
    for (const predict::RecCurvePoint& c : m.curve) {
      method["curve"].push_back(
          {{"jobs", c.jobs},
           {"best_true_samples_per_s_per_gpu", c.best_true_samples_per_s_per_gpu},
           {"regret_pct", c.regret_pct},
           {"kendall_tau", c.kendall_tau ? nlohmann::json(*c.kendall_tau) : nlohmann::json()}});
    }
    out["methods"].push_back(method);
  }
  out["elapsed_s"] = r.elapsed_s;
  return out;
}

std::string RecTestbedText(const predict::RecTestbedReport& r) {
  std::string out = fmt::format("{}, truth {}\n", r.job, r.truth_origin);
  out += fmt::format("  space        {} plans, {} fit the memory model, {} run on the truth\n",
                     r.plans, r.fitting_plans, r.runnable_plans);
  out += fmt::format("  true optimum {}: {}k samples/s/GPU\n", r.optimum_plan,
                     Fixed(r.optimum_samples_per_s_per_gpu / 1e3, 1));
  out +=
      r.physics_best_status == "ok"
          ? fmt::format("  physics' best {}: {}k samples/s/GPU on the truth\n", r.physics_best_plan,
                        Fixed(r.physics_best_true_samples_per_s_per_gpu / 1e3, 1))
          : fmt::format("  physics' best {}: it does not run on the truth ({})\n",
                        r.physics_best_plan, r.physics_best_status);
  if (r.planner_failures > 0) {
    out += fmt::format("  {} knob combinations left out: their planner found no sharding\n",
                       r.planner_failures);
  }
  out += "\n  regret (% below the true optimum) of the plan each method measured fastest, by jobs "
         "run\n";
  // One column per job count any method reached; a method that stopped early leaves the rest
  // blank.
  std::set<int64_t> counts;
  for (const predict::RecMethodResult& m : r.methods) {
    for (const predict::RecCurvePoint& c : m.curve) counts.insert(c.jobs);
  }
  std::string header = fmt::format("  {:<10}", "jobs");
  for (int64_t n : counts) header += fmt::format(" {:>7}", n);
  out += header + fmt::format(" {:>5} {:>6} {:>7}\n", "oom", "failed", "tau");
  for (const predict::RecMethodResult& m : r.methods) {
    std::string line = fmt::format("  {:<10}", m.name);
    for (int64_t n : counts) {
      auto c = std::find_if(m.curve.begin(), m.curve.end(),
                            [n](const predict::RecCurvePoint& p) { return p.jobs == n; });
      line += c == m.curve.end() ? fmt::format(" {:>7}", "")
              : c->best_true_samples_per_s_per_gpu > 0 ? fmt::format(" {:>6.2f}%", c->regret_pct)
                                                       : fmt::format(" {:>7}", "-");
    }
    const std::optional<double> tau = m.curve.empty() ? std::nullopt : m.curve.back().kendall_tau;
    line += fmt::format(" {:>5} {:>6} {:>7}\n", m.oom_jobs, m.failed_jobs,
                        tau ? fmt::format("{:.3f}", *tau) : std::string("-"));
    out += line;
  }
  out += "\n  best plan measured by each method:\n";
  for (const predict::RecMethodResult& m : r.methods) {
    out += fmt::format("  {:<10} {}\n", m.name, m.best_plan.empty() ? "(none)" : m.best_plan);
  }
  out += fmt::format("\n  {:.1f} s in all\n", r.elapsed_s);
  return out;
}

namespace {

nlohmann::json RecKnobsJson(const predict::RecKnobs& knobs) {
  nlohmann::json plan = nlohmann::json::object();
  const auto& dims = predict::RecSpaceDims();
  for (size_t d = 0; d < predict::kRecKnobs; ++d) {
    const std::string& v = predict::RecKnobValue(knobs, d);
    plan[dims[d].first] = v == "true" ? nlohmann::json(true)
                          : v == "false" ? nlohmann::json(false)
                                         : nlohmann::json(v);
  }
  return plan;
}

}  // namespace

nlohmann::json RecSuggestJson(const predict::RecSuggestion& s,
                              const predict::RecSuggestOptions& options) {
  nlohmann::json out;
  out["job"] = s.job;
  out["family"] = options.family;
  out["optimism"] = options.optimism;
  out["measured_jobs"] = s.measured_jobs;
  out["measured_configurations"] = s.measured_configurations;
  out["oom_jobs"] = s.oom_jobs;
  out["other_failed_jobs"] = s.other_failed_jobs;
  out["already_run"] = s.already_run;
  out["fitting_plans"] = s.fitting_plans;
  out["likely_oom_plans"] = s.likely_oom;
  out["predictor"] = s.has_predictor;
  out["feasibility_model"] = s.has_feasibility;
  out["skipped"] = s.skipped;
  out["proposals"] = nlohmann::json::array();
  for (const predict::RecProposal& p : s.proposals) {
    out["proposals"].push_back({{"plan", RecKnobsJson(p.knobs)},
                                {"description", p.description},
                                {"physics_samples_per_s_per_gpu", p.physics_samples_per_s_per_gpu},
                                {"estimated_samples_per_s_per_gpu",
                                 p.estimated_samples_per_s_per_gpu},
                                {"spread", p.spread},
                                {"oom_probability", p.oom_probability}});
  }
  return out;
}

std::string RecSuggestText(const predict::RecSuggestion& s,
                           const predict::RecSuggestOptions& options) {
  std::string out = fmt::format("{}\n", s.job);
  out += fmt::format(
      "  learned from {} measured jobs ({} configurations), {} out of memory, {} failed or timed "
      "out (not learned from; their plans may be proposed again)\n",
      s.measured_jobs, s.measured_configurations, s.oom_jobs, s.other_failed_jobs);
  out += fmt::format(
      "  {} of this job's plans fit the memory model; {} already ran (ok or out of memory)\n",
      s.fitting_plans, s.already_run);
  out += s.has_predictor
             ? fmt::format("  predictor: {} ensemble of {}, ranked with optimism {:g}\n",
                           options.family, options.members, options.optimism)
             : fmt::format("  no predictor (fewer than {} measured configurations): the physics "
                           "ranks\n",
                           predict::kMinTrainingJobs);
  if (s.has_feasibility) {
    out += fmt::format("  feasibility model: {} plans with P(oom) > 0.5 dropped\n", s.likely_oom);
  }
  for (const std::string& skip : s.skipped) out += fmt::format("  skipped {}\n", skip);
  out += fmt::format("\n  {:>2}  {:>13} {:>13} {:>7} {:>6}  plan\n", "#", "physics_k/s",
                     "estimate_k/s", "spread", "P(oom)");
  int rank = 0;
  for (const predict::RecProposal& p : s.proposals) {
    out += fmt::format("  {:>2}  {:>13.1f} {:>13.1f} {:>7.3f} {:>6.2f}  {}\n", ++rank,
                       p.physics_samples_per_s_per_gpu / 1e3,
                       p.estimated_samples_per_s_per_gpu / 1e3, p.spread, p.oom_probability,
                       p.description);
  }
  if (s.proposals.empty()) out += "  (no plan left that fits and has not run)\n";
  out += "\n  samples/s per GPU; estimate = physics x exp(learned correction); spread: the "
         "ensemble's standard deviation of the correction\n";
  return out;
}

}  // namespace scaleplan::report
