#include "report/goodput_report.h"

#include <fmt/format.h>

#include "core/text.h"

namespace scaleplan::report {

namespace {

constexpr double kDay = 86400.0;

}  // namespace

std::string Duration(double s) {
  if (s < 120) return fmt::format("{:.3g} s", s);
  if (s < 2 * 3600) return fmt::format("{:.1f} min", s / 60);
  if (s < 2 * kDay) return fmt::format("{:.2f} h", s / 3600);
  if (s < 1e5 * kDay) return fmt::format("{:.1f} days", s / kDay);
  return fmt::format("{:.3g} days", s / kDay);
}

namespace {

// Decimal units, as the options are given (2e12 bytes/s is "2.00 TB/s").
std::string Bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int i = 0;
  while (bytes >= 1000 && i < 6) bytes /= 1000, ++i;
  if (i == 0) return fmt::format("{:.0f} {}", bytes, units[i]);
  return fmt::format("{:.2f} {}", bytes, units[i]);
}

// One decimal; below 0.1%, three significant digits (a small share never reads as 0.0%).
std::string Pct(double fraction) {
  if (fraction > 0 && fraction < 0.001) return fmt::format("{:.3g}%", 100 * fraction);
  return fmt::format("{:.1f}%", 100 * fraction);
}

nlohmann::json LostJson(const goodput::LostTime& l) {
  return {{"checkpoint_pct", 100 * l.checkpoint}, {"rework_pct", 100 * l.rework},
          {"detect_pct", 100 * l.detect},         {"restart_pct", 100 * l.restart},
          {"reload_pct", 100 * l.reload},         {"planned_pct", 100 * l.planned}};
}

std::string LostText(const goodput::LostTime& l) {
  return fmt::format(
      "checkpoints {}, rework {}, detection {}, restarts {}, reloads {}, planned stops {}",
      Pct(l.checkpoint), Pct(l.rework), Pct(l.detect), Pct(l.restart), Pct(l.reload),
      Pct(l.planned));
}

// "15.60 T tokens in 929833 steps: 72.0 days (66.4 days of steps), GPU time 1.02e+11 s (28.29 M
// GPU-hours)"; steps when known (> 0).
std::string TrainingText(const goodput::GoodputPoint& p, int64_t steps) {
  const std::string what =
      HumanCount(p.train_tokens) + " tokens" +
      (steps > 0 ? fmt::format(" in {} step{}", steps, steps == 1 ? "" : "s") : std::string());
  if (!p.train_finishes) {
    return what + " never finish: nothing trains (effective time " + Pct(p.effective) + ")";
  }
  return fmt::format("{}: {} ({} of steps), GPU time {:.3g} s ({} GPU-hours)", what,
                     Duration(p.train_time_s), Duration(p.train_step_time_s), p.train_gpu_time_s,
                     HumanCount(p.train_gpu_time_s / 3600));
}

template <class T>
nlohmann::json OrNull(bool known, T value) {
  return known ? nlohmann::json(value) : nlohmann::json(nullptr);
}

std::string IntervalText(const goodput::GoodputPoint& p) {
  const std::string how =
      !p.interval_chosen ? "given"
      : p.interval_at_least
          ? fmt::format("the shortest allowed, {}: a shorter one would train more",
                        p.least_interval_what)
          : "chosen to maximise effective time";
  return fmt::format("every {} of training ({}; Young {}, Daly {})", Duration(p.interval_s), how,
                     Duration(p.young_s), Duration(p.daly_s));
}

}  // namespace

nlohmann::json GoodputPointJson(const goodput::GoodputPoint& p) {
  return {{"gpus", p.gpus},
          {"nodes", p.nodes},
          {"failures_per_day", p.failures_per_day},
          {"planned_per_day", p.planned_per_day},
          {"interruptions_per_day", p.failures_per_day + p.planned_per_day},
          {"mtbf_s", p.mtbf_s},
          {"storage_bytes_per_s", p.storage_bytes_per_s},
          {"checkpoint_write_s", p.write_s},
          {"checkpoint_blocking_s", p.blocking_s},
          {"checkpoint_durable_after_s", p.durable_after_s},
          {"reload_s", p.reload_s},
          {"restart_total_s", p.restart_total_s},
          {"checkpoint_interval_s", p.interval_s},
          {"checkpoint_interval_chosen", p.interval_chosen},
          {"checkpoint_interval_at_least", p.interval_at_least},
          {"least_checkpoint_interval_s", p.least_interval_s},
          {"young_interval_s", p.young_s},
          {"daly_interval_s", p.daly_s},
          {"effective_time_pct", 100 * p.effective},
          {"lost", LostJson(p.lost)},
          {"tokens_per_day", p.tokens_per_day},
          {"target_reachable", p.target_reachable},
          {"max_detect_restart_s", p.max_detect_restart_s},
          {"detect_restart_unbounded", p.detect_restart_unbounded},
          {"train_tokens", p.train_tokens},
          {"train_finishes", p.train_finishes},
          {"train_time_s", OrNull(p.train_finishes, p.train_time_s)},
          {"train_step_time_s", OrNull(p.train_finishes, p.train_step_time_s)},
          {"train_gpu_time_s", OrNull(p.train_finishes, p.train_gpu_time_s)}};
}

nlohmann::json GoodputJson(const plan::Plan& plan, const goodput::GoodputStudy& s) {
  nlohmann::json out;
  out["job"] = {{"model", plan.model().name},
                {"gpus", s.job.gpus},
                {"gpus_per_node", s.job.gpus_per_node},
                {"params", s.params},
                {"checkpoint_bytes", s.job.checkpoint_bytes},
                {"step_time_s", s.step_time_s},
                {"train_steps", OrNull(s.train_steps > 0, s.train_steps)},
                {"tokens_per_s_per_gpu", s.job.tokens_per_s_per_gpu},
                {"fits_memory", s.fits},
                {"memory_verdict", plan::VerdictName(s.memory_verdict)}};
  out["failure_model"] = {{"name", s.model.name},
                          {"source", s.model.source},
                          {"window_s", s.model.window_s},
                          {"gpus", s.model.gpus},
                          {"gpus_per_node", s.model.gpus_per_node}};
  out["options"] = goodput::GoodputOptionsSchema().ToJson(s.options);
  out["goodput"] = GoodputPointJson(s.point);
  nlohmann::json causes = nlohmann::json::array();
  for (const goodput::CauseShare& c : s.causes) {
    causes.push_back({{"name", c.name},
                      {"category", c.category},
                      {"per", goodput::FailureUnitName(c.per)},
                      {"planned", c.planned},
                      {"per_day", c.per_day}});
  }
  out["causes"] = causes;
  if (s.monte_carlo.trials > 0) {
    const goodput::MonteCarlo& mc = s.monte_carlo;
    out["monte_carlo"] = {{"trials", mc.trials},
                          {"horizon_s", mc.horizon_s},
                          {"effective_time_pct_mean", 100 * mc.effective_mean},
                          {"effective_time_pct_stderr", 100 * mc.effective_stderr},
                          {"effective_time_pct_p5", 100 * mc.effective_p5},
                          {"effective_time_pct_p95", 100 * mc.effective_p95},
                          {"interruptions_mean", mc.interruptions_mean},
                          {"interruptions_p5", mc.interruptions_p5},
                          {"interruptions_p95", mc.interruptions_p95}};
  }
  nlohmann::json sweep = nlohmann::json::array();
  for (const goodput::GoodputPoint& p : s.sweep) sweep.push_back(GoodputPointJson(p));
  out["sweep"] = sweep;
  nlohmann::json rounded = nlohmann::json::array();
  for (const auto& [to, from] : s.sweep_rounded_from)
    rounded.push_back({{"gpus", to}, {"from_gpus", from}});
  out["sweep_rounded"] = rounded;
  return out;
}

nlohmann::json GoodputSectionJson(const goodput::GoodputStudy& s) {
  nlohmann::json out = GoodputPointJson(s.point);
  out["failure_model"] = s.model.name;
  out["train_steps"] = OrNull(s.train_steps > 0, s.train_steps);
  out["checkpoint"] = s.options.checkpoint;
  out["fits_memory"] = s.fits;
  out["memory_verdict"] = plan::VerdictName(s.memory_verdict);
  return out;
}

namespace {
constexpr std::string_view kDoesNotFit =
    "the plan does not fit in GPU memory: these figures are what it would give if it did";
constexpr std::string_view kTight =
    "the plan is tight in GPU memory (inside the reserve): these figures are what it gives if it "
    "runs";
std::string_view MemoryNote(const goodput::GoodputStudy& s) {
  return s.memory_verdict == plan::MemoryVerdict::kTight ? kTight : kDoesNotFit;
}
}  // namespace

std::string GoodputSectionText(const goodput::GoodputStudy& s) {
  const goodput::GoodputPoint& p = s.point;
  return fmt::format(
      "\n  goodput under failures ({}; `scaleplan goodput` for the details)\n{}"
      "    {} interruptions a day (mean time between failures {}); restart {}\n"
      "    checkpoint ({}) {}\n"
      "    effective time {}: {} tokens a day\n{}",
      s.model.name, s.fits ? std::string() : fmt::format("    {}\n", MemoryNote(s)),
      Fixed(p.failures_per_day + p.planned_per_day, 1), Duration(p.mtbf_s),
      Duration(p.restart_total_s), s.options.checkpoint, IntervalText(p), Pct(p.effective),
      HumanCount(p.tokens_per_day),
      p.train_tokens > 0 ? "    training " + TrainingText(p, s.train_steps) + "\n" : "");
}

std::string GoodputText(const plan::Plan& plan, const goodput::GoodputStudy& s) {
  const goodput::GoodputPoint& p = s.point;
  const goodput::GoodputOptions& o = s.options;
  std::string out = fmt::format(
      "Goodput of {} on {} GPU{} ({} per node; tp {}, cp {}, pp {}, dp {}): step {:.3f} s, "
      "{:.1f} tokens/s/GPU\n",
      plan.model().name, s.job.gpus, s.job.gpus == 1 ? "" : "s", s.job.gpus_per_node, plan.tp,
      plan.cp, plan.pp, plan.dp, s.step_time_s, s.job.tokens_per_s_per_gpu);
  if (!s.fits) out += fmt::format("  memory       {}\n", MemoryNote(s));
  out += fmt::format(
      "  failure model {}: {}\n", s.model.name,
      s.model.description.empty() ? std::string("(no description)") : s.model.description);
  out += fmt::format(
      "\n  failures     {} unplanned + {} planned a day on this job; mean time between "
      "failures {}{}\n",
      Fixed(p.failures_per_day, 2), Fixed(p.planned_per_day, 2), Duration(p.mtbf_s),
      o.failure_scale != 1 ? fmt::format(" (rates x {:g})", o.failure_scale) : std::string());
  out += fmt::format(
      "  checkpoint   {} ({}), {}: write {} at {}/s{}\n", Bytes(s.job.checkpoint_bytes),
      o.checkpoint_bytes > 0 ? std::string("given")
                             : fmt::format("14 B x {} {}parameters", HumanCount(s.params),
                                           s.lora_adapters ? "LoRA adapter " : ""),
      o.checkpoint, Duration(p.write_s), Bytes(p.storage_bytes_per_s),
      p.durable_after_s > 0
          ? fmt::format("; training waits {} while each GPU copies its {} to host memory",
                        Duration(p.blocking_s), Bytes(s.job.local_state_bytes))
          : std::string());
  out += fmt::format("               {}\n", IntervalText(p));
  out +=
      fmt::format("  restart      detect {} + restart {} + reload {} = {}\n", Duration(o.detect_s),
                  Duration(o.restart_s), Duration(p.reload_s), Duration(p.restart_total_s));
  out += fmt::format("  effective    {} of the wall clock trains; lost: {}\n", Pct(p.effective),
                     LostText(p.lost));
  out +=
      fmt::format("  tokens       {} a day ({} with no failures)\n", HumanCount(p.tokens_per_day),
                  HumanCount(s.job.tokens_per_s_per_gpu * static_cast<double>(s.job.gpus) * kDay));
  if (p.train_tokens > 0) {
    out += "  training     " + TrainingText(p, s.train_steps) + "\n";
  }
  if (p.detect_restart_unbounded) {
    out += fmt::format("  target       {:g}% effective time holds with any detect + restart time\n",
                       o.target_effective_pct);
  } else if (p.target_reachable) {
    out += fmt::format("  target       {:g}% effective time allows detect + restart up to {}\n",
                       o.target_effective_pct, Duration(p.max_detect_restart_s));
  } else {
    out += fmt::format(
        "  target       {:g}% effective time is out of reach even with an instant restart\n",
        o.target_effective_pct);
  }
  if (p.planned_per_day > 0 && p.interval_s > 0.1 * kDay / p.planned_per_day) {
    out +=
        "  note         the interval nears the time between planned stops, whose saves the "
        "closed form leaves out: the Monte Carlo is the better estimate\n";
  }
  if (s.monte_carlo.trials > 0) {
    const goodput::MonteCarlo& mc = s.monte_carlo;
    out += fmt::format(
        "  monte carlo  {} windows of {}: effective {} (p5 {}, p95 {}); interruptions {:.1f} "
        "(p5 {:.0f}, p95 {:.0f})\n",
        mc.trials, Duration(mc.horizon_s), Pct(mc.effective_mean), Pct(mc.effective_p5),
        Pct(mc.effective_p95), mc.interruptions_mean, mc.interruptions_p5, mc.interruptions_p95);
  }
  out += "\n  causes on this job (a day)\n";
  for (const goodput::CauseShare& c : s.causes) {
    out += fmt::format("    {:<30} {:<22} per {:<5} {:>8}{}\n", Printable(c.name, 30),
                       Printable(c.category, 22), goodput::FailureUnitName(c.per),
                       Fixed(c.per_day, 3), c.planned ? "  planned" : "");
  }
  if (!s.sweep_rounded_from.empty()) {
    std::vector<std::string> sizes;
    for (const auto& [to, from] : s.sweep_rounded_from) {
      sizes.push_back(fmt::format("{} for {}", to, from));
    }
    out += fmt::format(
        "\n  the default sweep's sizes, rounded down to whole tp * cp * pp = {} GPU replicas of "
        "this plan: {}\n",
        plan.tp * plan.cp * plan.pp, Join(sizes, ", "));
  }
  if (!s.sweep.empty()) {
    out +=
        "\n  scale sweep (the same failure model, checkpoint, storage and tokens/s/GPU)\n"
        "    GPUs      interruptions/day   MTBF        interval    effective   tokens/day";
    const bool train = o.train_tokens > 0;
    out += train ? "   to train\n" : "\n";
    for (const goodput::GoodputPoint& q : s.sweep) {
      std::string row =
          fmt::format("    {:<9} {:>17}   {:<11} {:<11} {:>9}   {:<10}", q.gpus,
                      Fixed(q.failures_per_day + q.planned_per_day, 1), Duration(q.mtbf_s),
                      Duration(q.interval_s), Pct(q.effective), HumanCount(q.tokens_per_day));
      if (train) {
        row += " " + (q.train_finishes ? Duration(q.train_time_s) : std::string("never"));
      } else {
        row.erase(row.find_last_not_of(' ') + 1);
      }
      out += row + "\n";
    }
  }
  return out;
}

}  // namespace scaleplan::report
