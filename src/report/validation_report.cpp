#include "report/validation_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/text.h"
#include "report/step_report.h"

namespace scaleplan::report {

namespace {

// Errors need a modeled row and a rank correlation three that do not all tie (with two, any
// ranking agrees or is reversed; a constant has no ranking): otherwise they are null (JSON) or
// "n/a" (text), never a made-up 0.
nlohmann::json SummaryJson(const validate::Summary& s) {
  nlohmann::json none;
  return {{"modeled_rows", s.modeled},
          {"skipped_rows", s.skipped},
          {"mean_abs_error_pct", s.modeled > 0 ? nlohmann::json(s.mean_abs_error_pct) : none},
          {"mean_error_pct", s.modeled > 0 ? nlohmann::json(s.mean_error_pct) : none},
          {"max_abs_error_pct", s.modeled > 0 ? nlohmann::json(s.max_abs_error_pct) : none},
          {"spearman", s.spearman_defined ? nlohmann::json(s.spearman) : none},
          {"out_of_memory_rows", s.out_of_memory},
          {"tight_memory_rows", s.tight}};
}

nlohmann::json RowJson(const validate::Row& r, const std::string& file) {
  nlohmann::json j = {
      {"file", file}, {"line", r.line}, {"label", r.label}, {"assumptions", r.assumptions}};
  if (!r.skipped.empty()) {
    j["skipped"] = r.skipped;
    return j;
  }
  j["metric"] = r.metric;
  j["predicted_" + r.metric] = r.predicted;
  j["measured_" + r.metric] = r.measured;
  j["error_pct"] = r.error_pct;
  if (r.memory_checked) {
    j["fits"] = r.fits;
    j["memory_verdict"] = plan::VerdictName(r.memory_verdict);
    j["peak_memory_bytes"] = r.peak_memory_bytes;
    j["usable_memory_bytes"] = r.usable_memory_bytes;
    j["capacity_memory_bytes"] = r.capacity_memory_bytes;
  }
  if (r.step_modeled) {
    j["modeled_step_time_s"] = r.step_time_s;
    j["breakdown"] = BreakdownJson(r.breakdown);
  }
  return j;
}

// The file's rows by its group_by column's values: one line each.
std::string GroupsText(const validate::FileReport& f) {
  auto cell = [](const std::string& v) {
    return v.empty() ? std::string("(blank)") : Printable(v, 40);
  };
  std::string out = fmt::format("  by {}:\n  {:<40} {:>7} {:>7} {:>13} {:>8} {:>13} {:>8}\n",
                                Printable(f.group_by, 60), cell(f.group_by), "modeled", "skipped",
                                "mean |error|", "signed", "max |error|", "Spearman");
  for (const validate::GroupReport& g : f.groups) {
    const validate::Summary& s = g.summary;
    auto pct = [&](double v, bool sign) {
      if (s.modeled == 0) return std::string("n/a");
      return sign ? fmt::format("{:+.1f}%", v) : fmt::format("{:.1f}%", v);
    };
    out += fmt::format("  {:<40} {:>7} {:>7} {:>13} {:>8} {:>13} {:>8}\n", cell(g.value), s.modeled,
                       s.skipped, pct(s.mean_abs_error_pct, false), pct(s.mean_error_pct, true),
                       pct(s.max_abs_error_pct, false),
                       s.spearman_defined ? fmt::format("{:.3f}", s.spearman) : "n/a");
  }
  return out + "\n";
}

}  // namespace

std::string_view MetricUnit(std::string_view metric) {
  return metric == "tokens_per_s_per_gpu" ? "tokens/s/GPU"
         : metric == "tflops_per_gpu"     ? "TFLOP/s/GPU"
         : metric == "step_time_s"        ? "s per step"
                                          : "";
}

nlohmann::json ValidationJson(const std::vector<validate::FileReport>& files) {
  nlohmann::json out;
  nlohmann::json all_rows = nlohmann::json::array();
  nlohmann::json per_file = nlohmann::json::array();
  std::vector<validate::Row> everything;
  for (const validate::FileReport& f : files) {
    nlohmann::json rows = nlohmann::json::array();
    for (const validate::Row& r : f.rows) {
      rows.push_back(RowJson(r, f.path));
      all_rows.push_back(RowJson(r, f.path));
      everything.push_back(r);
    }
    nlohmann::json file = {{"path", f.path},
                           {"kind", f.kind},
                           {"engine", f.engine},
                           {"rows", rows},
                           {"summary", SummaryJson(f.summary)}};
    if (!f.group_by.empty()) {
      nlohmann::json groups = nlohmann::json::array();
      for (const validate::GroupReport& g : f.groups) {
        groups.push_back({{"value", g.value}, {"summary", SummaryJson(g.summary)}});
      }
      file["group_by"] = f.group_by;
      file["groups"] = groups;
    }
    per_file.push_back(file);
  }
  out["files"] = per_file;
  out["rows"] = all_rows;
  out["summary"] = SummaryJson(validate::Summarize(everything));
  return out;
}

std::string ValidationText(const std::vector<validate::FileReport>& files, bool verbose) {
  std::string out;
  for (const validate::FileReport& f : files) {
    out += f.engine.empty()
               ? fmt::format("{} ({})\n", f.path, f.kind)
               : fmt::format("{} ({}, predicted by the {} engine)\n", f.path, f.kind, f.engine);
    out += fmt::format("  {:>5}  {:<70} {:>12} {:>12} {:>8}  {}\n", "line", "row", "predicted",
                       "measured", "error", "unit");
    for (const validate::Row& r : f.rows) {
      std::string label = r.label.size() > 70 ? r.label.substr(0, 67) + "..." : r.label;
      if (!r.skipped.empty()) {
        if (verbose) out += fmt::format("  {:>5}  {:<70} skipped: {}\n", r.line, label, r.skipped);
        continue;
      }
      bool time = r.metric == "time_s";
      // Times in microseconds (what nccl-tests prints); the rest in their metric's unit.
      const std::string_view unit = time ? "us" : MetricUnit(r.metric);
      double scale = time ? 1e6 : 1.0;
      int digits = r.metric == "step_time_s" ? 3 : 1;  // seconds per step need more
      out += fmt::format("  {:>5}  {:<70} {:>12} {:>12} {:>+7.1f}%  {}\n", r.line, label,
                         Fixed(r.predicted * scale, digits), Fixed(r.measured * scale, digits),
                         r.error_pct, unit);
      if (r.memory_checked && r.memory_verdict == plan::MemoryVerdict::kOutOfMemory) {
        out += fmt::format(
            "         out of memory in the memory model: peak {} against {} usable, {} on the GPU "
            "(the run fitted: a miss of the memory model)\n",
            HumanBytes(r.peak_memory_bytes), HumanBytes(r.usable_memory_bytes),
            HumanBytes(r.capacity_memory_bytes));
      } else if (r.memory_checked && r.memory_verdict == plan::MemoryVerdict::kTight) {
        out += fmt::format(
            "         tight in the memory model: peak {} against {} usable, {} on the GPU (inside "
            "the reserve assumed for what the model does not count; not a miss)\n",
            HumanBytes(r.peak_memory_bytes), HumanBytes(r.usable_memory_bytes),
            HumanBytes(r.capacity_memory_bytes));
      }
      if (verbose && r.step_modeled && r.step_time_s > 0) {
        // Where the modeled step goes: the breakdown's parts of 1% or more, largest first.
        std::vector<std::pair<double, std::string>> parts;
        const nlohmann::json breakdown = BreakdownJson(r.breakdown);
        for (const auto& [name, value] : breakdown.items()) {
          const double share = value.get<double>() / r.step_time_s;
          if (share >= 0.01) parts.emplace_back(share, name.substr(0, name.size() - 2));
        }
        std::sort(parts.begin(), parts.end(), std::greater<>());
        std::vector<std::string> shown;
        for (const auto& [share, name] : parts) {
          shown.push_back(fmt::format("{} {:.0f}%", name, 100 * share));
        }
        out +=
            fmt::format("         modeled step {:.3f} s: {}\n", r.step_time_s, Join(shown, ", "));
      }
      if (verbose && !r.assumptions.empty())
        out += fmt::format("         assumptions: {}\n", Join(r.assumptions, "; "));
    }
    const validate::Summary& s = f.summary;
    out += fmt::format(
        "  {} rows modeled, {} skipped{}; mean |error| {}{}, max |error| {}, Spearman {}{}{}\n\n",
        s.modeled, s.skipped, verbose || s.skipped == 0 ? "" : " (--verbose lists why)",
        s.modeled > 0 ? fmt::format("{:.1f}%", s.mean_abs_error_pct) : "n/a",
        s.modeled > 0 ? fmt::format(" (signed {:+.1f}%)", s.mean_error_pct) : "",
        s.modeled > 0 ? fmt::format("{:.1f}%", s.max_abs_error_pct) : "n/a",
        s.spearman_defined ? fmt::format("{:.3f}", s.spearman) : "n/a",
        s.out_of_memory > 0
            ? fmt::format("; {} of the plans that ran called out of memory", s.out_of_memory)
            : std::string(),
        s.tight > 0 ? fmt::format("; {} called tight (inside the memory reserve)", s.tight)
                    : std::string());
    if (!f.group_by.empty()) out += GroupsText(f);
  }
  return out;
}

}  // namespace scaleplan::report
