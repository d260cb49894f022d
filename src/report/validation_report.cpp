#include "report/validation_report.h"

#include <fmt/format.h>

#include "core/text.h"

namespace scaleplan::report {

namespace {

nlohmann::json SummaryJson(const validate::Summary& s) {
  return {{"modeled_rows", s.modeled},
          {"skipped_rows", s.skipped},
          {"mean_abs_error_pct", s.mean_abs_error_pct},
          {"max_abs_error_pct", s.max_abs_error_pct},
          {"spearman", s.spearman}};
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
  return j;
}

}  // namespace

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
    per_file.push_back(
        {{"path", f.path}, {"kind", f.kind}, {"rows", rows}, {"summary", SummaryJson(f.summary)}});
  }
  out["files"] = per_file;
  out["rows"] = all_rows;
  out["summary"] = SummaryJson(validate::Summarize(everything));
  return out;
}

std::string ValidationText(const std::vector<validate::FileReport>& files, bool verbose) {
  std::string out;
  for (const validate::FileReport& f : files) {
    out += fmt::format("{} ({})\n", f.path, f.kind);
    out += fmt::format("  {:>5}  {:<70} {:>12} {:>12} {:>8}\n", "line", "row", "predicted",
                       "measured", "error");
    for (const validate::Row& r : f.rows) {
      std::string label = r.label.size() > 70 ? r.label.substr(0, 67) + "..." : r.label;
      if (!r.skipped.empty()) {
        if (verbose) out += fmt::format("  {:>5}  {:<70} skipped: {}\n", r.line, label, r.skipped);
        continue;
      }
      bool time = r.metric == "time_s";
      out += fmt::format(
          "  {:>5}  {:<70} {:>12} {:>12} {:>+7.1f}%\n", r.line, label,
          time ? fmt::format("{:.1f} us", r.predicted * 1e6) : fmt::format("{:.1f}", r.predicted),
          time ? fmt::format("{:.1f} us", r.measured * 1e6) : fmt::format("{:.1f}", r.measured),
          r.error_pct);
      if (verbose) out += fmt::format("         assumptions: {}\n", Join(r.assumptions, "; "));
    }
    const validate::Summary& s = f.summary;
    out += fmt::format(
        "  {} rows modeled, {} skipped{}; mean |error| {:.1f}%, max |error| {:.1f}%, "
        "Spearman {:.3f}\n\n",
        s.modeled, s.skipped, verbose || s.skipped == 0 ? "" : " (--verbose lists why)",
        s.mean_abs_error_pct, s.max_abs_error_pct, s.spearman);
  }
  return out;
}

}  // namespace scaleplan::report
