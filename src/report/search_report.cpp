#include "report/search_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"
#include "core/units.h"
#include "plan/plan.h"
#include "report/step_report.h"
#include "spec/specs.h"

namespace scaleplan::report {

namespace {

std::vector<std::pair<std::string, double>> Exposed(const sim::Breakdown& b) {
  return {{"tp", b.tp_comm_s},          {"cp", b.cp_comm_s}, {"ep", b.ep_comm_s},
          {"pp", b.pp_comm_s},          {"dp", b.dp_comm_s}, {"bubble", b.bubble_s},
          {"optimizer", b.optimizer_s}, {"other", b.other_s}};
}

std::string Dominant(const sim::Breakdown& b) {
  std::string name = "none";
  double best = 0;
  for (const auto& [n, v] : Exposed(b)) {
    if (v > best) {
      best = v;
      name = n;
    }
  }
  return best > 0 ? fmt::format("{} {:.1f}%", name, 100.0 * best / b.Total()) : name;
}
}  // namespace

nlohmann::json PlanFields(const spec::PlanSpec& p) {
  nlohmann::json j = spec::PlanSchema().ToJson(p);
  j["dp"] = p.dp;
  j["microbatches"] = p.microbatches;
  j["etp"] = p.etp;
  j["pp_microbatch_group"] = p.pp_microbatch_group;
  return j;
}

LaunchText PlanLaunch(const spec::JobSpec& job, const spec::PlanSpec& plan,
                      const LaunchFormat* format) {
  LaunchText launch;
  if (format == nullptr) return launch;
  spec::JobSpec best = job;
  best.plan = plan;
  best.plan.dp = 0;
  best.plan.microbatches = 0;
  Result<plan::Plan> built = plan::BuildPlan(best);
  if (!built.ok()) return launch;
  launch.format = format->name;
  launch.text = format->render(*built);
  return launch;
}

LaunchText BestPlanLaunch(const spec::JobSpec& job, const search::SearchResult& r,
                          const LaunchFormat* format) {
  if (r.top.empty()) return {};
  return PlanLaunch(job, r.top.front().plan, format);
}

nlohmann::json SearchJson(const spec::JobSpec& job, const search::SearchResult& r,
                          const std::optional<Baseline>& baseline, const LaunchText& launch) {
  nlohmann::json out;
  out["model"] = job.model.name;
  out["cluster"] = job.cluster.name;
  out["gpus"] = job.gpus;
  out["optimizer"] = r.optimizer;
  out["engine"] = r.engine;
  out["stop_reason"] = r.stop_reason;
  out["space_size"] = r.space_size;
  out["evaluated_plans"] = r.evaluated;
  out["pruned_plans"] = r.pruned;
  out["pruned_by"] = r.pruned_by;
  out["pruned_why"] = r.pruned_why;
  out["elapsed_s"] = r.elapsed_s;
  out["threads"] = r.threads;
  out["processes"] = std::max<size_t>(1, r.shares.size());
  out["transport"] = r.transport;
  if (!r.shares.empty()) {
    nlohmann::json shares = nlohmann::json::array();
    for (const search::ProcessShare& share : r.shares) {
      shares.push_back({{"rank", share.rank},
                        {"evaluated_plans", share.evaluated},
                        {"pruned_plans", share.pruned},
                        {"elapsed_s", share.elapsed_s},
                        {"stop_reason", share.stop_reason}});
    }
    out["shares"] = shares;
  }
  nlohmann::json plans = nlohmann::json::array();
  for (const search::Evaluation& e : r.top) {
    nlohmann::json b;
    for (const auto& [n, v] : Exposed(e.step.breakdown)) b[n + "_s"] = v;
    b["compute_s"] = e.step.breakdown.compute_s;
    plans.push_back({{"plan", PlanFields(e.plan)},
                     {"description", e.description},
                     {"step_time_s", e.step.step_time_s},
                     {"event_step_time_s", e.event_step_time_s},
                     {"tokens_per_s_per_gpu", e.step.tokens_per_s_per_gpu},
                     {"mfu_pct", 100 * e.step.mfu},
                     {"memory_peak_bytes_per_gpu", e.peak_bytes_per_gpu},
                     {"breakdown", b}});
  }
  out["plans"] = plans;
  if (baseline) {
    out["baseline"] = {{"description", baseline->description},
                       {"fits", baseline->fits},
                       {"memory_peak_bytes_per_gpu", baseline->peak_bytes_per_gpu},
                       {"step_time_s", baseline->step.step_time_s},
                       {"tokens_per_s_per_gpu", baseline->step.tokens_per_s_per_gpu},
                       {"mfu_pct", 100 * baseline->step.mfu}};
  }
  if (!launch.format.empty()) out["launch"] = {{"format", launch.format}, {"text", launch.text}};
  return out;
}

std::string PruningLines(const search::SearchResult& r) {
  std::vector<std::pair<uint64_t, std::string>> reasons;
  for (const auto& [reason, n] : r.pruned_by) reasons.emplace_back(n, reason);
  std::sort(reasons.rbegin(), reasons.rend());
  std::string out;
  for (size_t i = 0; i < reasons.size() && i < 6; ++i) {
    out += fmt::format("             pruned {:>10} by {}\n", reasons[i].first, reasons[i].second);
    // With no plan to show, the rule's own words: "plan.tp" alone does not say why.
    auto why = r.pruned_why.find(reasons[i].second);
    if (r.top.empty() && why != r.pruned_why.end()) {
      out += fmt::format("                        e.g. {}\n", Printable(why->second, 400));
    }
  }
  return out;
}

std::string SearchText(const spec::JobSpec& job, const search::SearchResult& r,
                       const std::optional<Baseline>& baseline, const LaunchText& launch) {
  std::string out =
      fmt::format("{} on {} x {} ({}), {} tokens per step\n", job.model.name, job.gpus,
                  job.cluster.gpu.name, job.cluster.name,
                  job.workload.global_batch > 0 ? job.workload.global_batch * job.workload.seq_len
                                                : job.workload.batch_tokens);
  out += fmt::format(
      "  search     {} ranked by the {} engine over {:.0f} candidates: {} evaluated, {} pruned in "
      "{:.2f} s on {} thread(s); stopped: {}\n",
      r.optimizer, r.engine, r.space_size, r.evaluated, r.pruned, r.elapsed_s, r.threads,
      r.stop_reason);
  if (!r.shares.empty()) {
    out += fmt::format("             split across {} processes ({}), {} thread(s) each:\n",
                       r.shares.size(), r.transport, r.threads);
    for (const search::ProcessShare& share : r.shares) {
      out += fmt::format(
          "             rank {:>3}: {} evaluated, {} pruned in {:.2f} s; stopped: {}\n", share.rank,
          share.evaluated, share.pruned, share.elapsed_s, share.stop_reason);
    }
  }
  out += PruningLines(r);
  if (r.top.empty()) {
    // Why nothing came back: the search stopped early, every candidate was pruned by one rule,
    // or what was evaluated does not fit.
    const std::string reason = r.stop_reason.substr(0, r.stop_reason.find(';'));
    if ((reason == "evaluation budget" || reason == "time budget") && r.evaluated == 0 &&
        !r.pruned_by.empty()) {
      // Every candidate tried was pruned: more tries may find one, or the space has none.
      return out + fmt::format(
                       "\n  no plan found before the search stopped ({}): every candidate tried "
                       "was pruned (the lines above say by which rules): raise --budget or "
                       "--time-limit to try more, or widen the space\n",
                       reason);
    }
    if (reason == "evaluation budget" || reason == "time budget") {
      return out + fmt::format(
                       "\n  no plan found before the search stopped ({}, {} evaluated): raise "
                       "--budget or --time-limit, or narrow the space\n",
                       reason, r.evaluated);
    }
    if (r.evaluated == 0 && !r.pruned_by.empty()) {
      return out + "\n  no plan fits: every candidate was pruned (the lines above say by which "
                   "rules): widen the space or add GPUs\n";
    }
    return out + "\n  no plan fits: widen the space or add GPUs\n";
  }
  // Ranked by the event engine's step time when the search re-ranked, else the analytical one.
  auto time_of = [](const search::Evaluation& e) {
    return e.event_step_time_s > 0 ? e.event_step_time_s : e.step.step_time_s;
  };
  double best = time_of(r.top.front());
  // The plan column as wide as the longest description shown, so that the columns line up.
  size_t width = 4;
  for (const search::Evaluation& e : r.top) width = std::max(width, e.description.size());
  out += fmt::format("\n  {:>4}  {:<{}} {:>9} {:>9} {:>13} {:>6} {:>8} {:>15} {:>7}\n", "rank",
                     "plan", width, "step s", "event s", "tokens/s/GPU", "MFU", "mem GiB",
                     "top exposed", "vs best");
  for (size_t i = 0; i < r.top.size(); ++i) {
    const search::Evaluation& e = r.top[i];
    out += fmt::format(
        "  {:>4}  {:<{}} {:>9} {:>9} {:>13} {:>5}% {:>8.1f} {:>15} {:>+6.1f}%\n", i + 1,
        e.description, width, Figure(e.step.step_time_s, 3),
        e.event_step_time_s > 0 ? Figure(e.event_step_time_s, 3) : std::string("-"),
        Figure(e.step.tokens_per_s_per_gpu, 1), Figure(100 * e.step.mfu, 1),
        e.peak_bytes_per_gpu / kGi,
        Dominant(e.step.breakdown), 100.0 * (time_of(e) / best - 1.0));
  }
  if (baseline) {
    const sim::Breakdown& a = baseline->step.breakdown;
    const sim::Breakdown& b = r.top.front().step.breakdown;
    out += fmt::format("\n  starting plan: {}, peak {:.2f} GiB per GPU{}\n", baseline->description,
                       baseline->peak_bytes_per_gpu / kGi, baseline->fits ? "" : " (does not fit)");
    out += fmt::format(
        "  best plan is {:.1f}% {} than the starting plan ({} engine); where the time goes "
        "(s per step):\n",
        std::abs(100.0 * (1.0 - b.Total() / a.Total())),
        b.Total() <= a.Total() ? "faster" : "slower", r.engine);
    out += BreakdownComparison(a, b, "starting", "best");
  }
  if (!launch.format.empty()) {
    out += "\n  launch configuration (" + launch.format + ") of the best plan:\n" + launch.text;
  }
  return out;
}

}  // namespace scaleplan::report
