#include "report/step_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/text.h"
#include "report/plan_report.h"

namespace scaleplan::report {

namespace {

std::vector<std::pair<std::string, double>> Categories(const sim::Breakdown& b) {
  return {{"compute_s", b.compute_s}, {"tp_comm_s", b.tp_comm_s},     {"cp_comm_s", b.cp_comm_s},
          {"ep_comm_s", b.ep_comm_s}, {"pp_comm_s", b.pp_comm_s},     {"dp_comm_s", b.dp_comm_s},
          {"bubble_s", b.bubble_s},   {"optimizer_s", b.optimizer_s}, {"other_s", b.other_s}};
}

}  // namespace

nlohmann::json BreakdownJson(const sim::Breakdown& b) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : Categories(b)) out[name] = value;
  return out;
}

std::string BreakdownComparison(const sim::Breakdown& a, const sim::Breakdown& b,
                                const std::string& a_name, const std::string& b_name) {
  std::string out = fmt::format("    {:<12} {:>10} {:>10} {:>10}\n", "", a_name, b_name, "change");
  std::vector<std::pair<std::string, double>> x = Categories(a), y = Categories(b);
  x.emplace_back("total", a.Total());
  y.emplace_back("total", b.Total());
  for (size_t i = 0; i < x.size(); ++i) {
    std::string name = x[i].first;
    if (name.size() > 2 && name.compare(name.size() - 2, 2, "_s") == 0)
      name = name.substr(0, name.size() - 2);
    for (char& c : name)
      if (c == '_') c = ' ';
    out += fmt::format("    {:<12} {:>10.4f} {:>10.4f} {:>+10.4f}\n", name, x[i].second,
                       y[i].second, y[i].second - x[i].second);
  }
  return out;
}

nlohmann::json StepJson(const plan::Plan& p, const plan::MemoryReport& mem,
                        const sim::StepResult& r) {
  nlohmann::json out = PlanJson(p, mem, {});
  out["engine"] = r.engine;
  out["step_time_s"] = r.step_time_s;
  out["tokens_per_s_per_gpu"] = r.tokens_per_s_per_gpu;
  out["tflops_per_gpu"] = r.model_flops_per_s_per_gpu / 1e12;
  out["model_flops_per_s_per_gpu"] = r.model_flops_per_s_per_gpu;
  out["mfu_pct"] = 100 * r.mfu;
  out["mfu_formula"] = r.flops_formula;
  out["breakdown"] = BreakdownJson(r.breakdown);
  out["bottleneck_stage"] = r.bottleneck_stage;
  out["dp_algorithm"] = r.dp_algorithm;
  out["warnings"] = r.warnings;
  nlohmann::json stages = nlohmann::json::array();
  for (const sim::StageCost& s : r.stages) {
    stages.push_back({{"stage", s.stage},
                      {"forward_s", s.forward_s},
                      {"backward_s", s.backward_s},
                      {"compute_s", s.compute_s},
                      {"tp_comm_s", s.tp_s},
                      {"cp_comm_s", s.cp_s},
                      {"ep_comm_s", s.ep_s},
                      {"dp_exposed_s", s.dp_exposed_s},
                      {"optimizer_s", s.optimizer_s}});
  }
  out["stage_times"] = stages;
  return out;
}

std::string Figure(double value, int decimals) {
  if (value != 0 && std::abs(value) < 0.5 * std::pow(10.0, -decimals)) {
    return fmt::format("{:.3g}", value);
  }
  return fmt::format("{:.{}f}", value, decimals);
}

std::string StepText(const plan::Plan& p, const plan::MemoryReport& mem, const sim::StepResult& r) {
  std::string out = PlanText(p, mem, {});
  out += fmt::format(
      "\n  step ({}){:<{}}{} s   {} tokens/s/GPU   {} TFLOP/s/GPU   MFU {}%\n", r.engine, "",
      std::max<int64_t>(3, 13 - static_cast<int64_t>(r.engine.size())), Figure(r.step_time_s, 3),
      Figure(r.tokens_per_s_per_gpu, 1), Figure(r.model_flops_per_s_per_gpu / 1e12, 1),
      Figure(100.0 * r.mfu, 1));
  out += fmt::format("             MFU: {}\n", r.flops_formula);
  out += "\n  breakdown (seconds per step; adds up to the step time)\n";
  for (const auto& [name, value] : Categories(r.breakdown)) {
    out += fmt::format("    {:<12} {:>10.4f}  {:>5.1f}%\n", name.substr(0, name.size() - 2), value,
                       100.0 * value / r.step_time_s);
  }
  out += fmt::format("    {:<12} {:>10.4f}\n", "total", r.breakdown.Total());
  out += fmt::format("\n  bottleneck stage {}; data-parallel reduction: {}\n", r.bottleneck_stage,
                     r.dp_algorithm.empty() ? std::string("none") : r.dp_algorithm);
  for (const std::string& w : r.warnings) out += "  note: " + w + "\n";
  return out;
}

namespace {

struct Idle {
  double max = 0, mean = 0;
};
Idle IdlePerRank(const plan::Plan& p, const sim::EventResult& run) {
  Idle idle;
  double total = 0;
  for (const auto& replica : run.idle_s) {
    for (double v : replica) {
      idle.max = std::max(idle.max, v);
      total += v;
    }
  }
  idle.mean = total / static_cast<double>(p.dp * p.pp);
  return idle;
}

}  // namespace

nlohmann::json StepJson(const plan::Plan& p, const plan::MemoryReport& mem,
                        const sim::EventResult& run) {
  nlohmann::json out = StepJson(p, mem, run.step);
  if (run.simulated_passes == 0) return out;
  Idle idle = IdlePerRank(p, run);
  out["critical_path"] = {{"replica", run.critical_replica},
                          {"stage", run.critical_stage},
                          {"last_pass", run.critical_pass},
                          {"passes", run.critical_path_passes},
                          {"transfers", run.critical_path_transfers}};
  out["idle_s"] = {{"max_per_rank", idle.max}, {"mean_per_rank", idle.mean}};
  out["simulated_passes"] = run.simulated_passes;
  out["distinct_replica_timelines"] = run.distinct_timelines;
  return out;
}

std::string StepText(const plan::Plan& p, const plan::MemoryReport& mem,
                     const sim::EventResult& run) {
  std::string text = StepText(p, mem, run.step);
  if (run.simulated_passes == 0) return text;
  Idle idle = IdlePerRank(p, run);
  text += fmt::format(
      "  critical path: ends with {} on stage {} of replica {}; {} passes, {} stage-to-stage "
      "transfers\n",
      run.critical_pass, run.critical_stage, run.critical_replica, run.critical_path_passes,
      run.critical_path_transfers);
  text += fmt::format(
      "  idle per rank within the pipeline: mean {:.4f} s, max {:.4f} s; {} passes simulated ({} "
      "distinct replica timeline{} for {} replicas)\n",
      idle.mean, idle.max, run.simulated_passes, run.distinct_timelines,
      run.distinct_timelines == 1 ? "" : "s", p.dp);
  return text;
}

std::string ScheduleFileText(const plan::Plan& plan, const std::string& path) {
  return fmt::format("  schedule from {} (--schedule-file): its passes ran, not {}'s\n", path,
                     spec::ScheduleName(plan.spec().schedule));
}

namespace {
int64_t ListedTokens(const sim::EventOptions& options) {
  int64_t tokens = 0;
  for (const auto& mb : options.microbatch_documents) {
    for (int64_t d : mb) tokens += d;
  }
  return tokens;
}
}  // namespace

std::string EventInputsText(const plan::Plan& plan, const std::string& path,
                            const sim::EventOptions& options) {
  std::string out;
  if (!path.empty()) {
    const int64_t planned =
        plan.microbatches * plan.spec().micro_batch * plan.job.workload.seq_len;
    out += fmt::format(
        "  micro-batches from {} (--microbatch-lengths): {} tokens a replica's step, against the "
        "plan's {} (the batch line and the memory table are the plan's)\n",
        path, ListedTokens(options), planned);
  }
  if (!options.straggler_speed.empty()) {
    std::vector<std::string> slow;
    for (const auto& [rank, speed] : options.straggler_speed) {
      slow.push_back(fmt::format("rank {} at {:g}x", rank, speed));
    }
    out += "  stragglers (--stragglers): " + Join(slow, ", ") + "\n";
  }
  return out;
}

nlohmann::json EventInputsJson(const std::string& path, const sim::EventOptions& options) {
  nlohmann::json out = nlohmann::json::object();
  if (!path.empty()) {
    out["microbatch_lengths_file"] = path;
    out["microbatch_tokens"] = ListedTokens(options);
  }
  if (!options.straggler_speed.empty()) {
    nlohmann::json slow = nlohmann::json::object();
    for (const auto& [rank, speed] : options.straggler_speed) slow[std::to_string(rank)] = speed;
    out["stragglers"] = slow;
  }
  return out;
}

}  // namespace scaleplan::report
