#include "report/calibrate_report.h"

#include <fmt/format.h>

#include "core/text.h"

namespace scaleplan::report {

namespace {

std::string ErrorPct(double predicted, double measured) {
  return fmt::format("{:+.1f}%", 100.0 * (predicted - measured) / measured);
}

}  // namespace

nlohmann::json CalibrationJson(const validate::CalibrationReport& r) {
  const validate::Calibration& c = r.calibration;
  nlohmann::json out;
  out["gpu"] = c.gpu;
  out["framework"] = c.framework;
  out["runs"] = c.runs;
  out["rows"] = c.rows;
  out["configurations"] = c.configurations;
  out["cross_validation"] = c.cross_validation;
  out["folds"] = r.folds;
  out["mean_abs_error_pct"] = {{"before", c.before_mean_abs_error_pct},
                               {"after", c.after_mean_abs_error_pct},
                               {"cross_validated", c.cross_validated_mean_abs_error_pct}};
  out["factors"] = nlohmann::json::array();
  for (const validate::FactorReport& f : r.factors) {
    nlohmann::json j = {{"key", f.key},
                        {"start", f.start},
                        {"value", f.value},
                        {"fitted", f.fitted},
                        {"independent_sensitivity", f.sensitivity}};
    if (!f.note.empty()) j["note"] = f.note;
    out["factors"].push_back(j);
  }
  out["rows_detail"] = nlohmann::json::array();
  for (const validate::FitRow& row : r.rows) {
    out["rows_detail"].push_back({{"file", row.file},
                                  {"line", row.line},
                                  {"label", row.label},
                                  {"metric", row.metric},
                                  {"measured", row.measured},
                                  {"predicted_before", row.before},
                                  {"predicted_after", row.after},
                                  {"predicted_cross_validated", row.cross_validated}});
  }
  out["skipped"] = r.skipped;
  return out;
}

std::string CalibrationText(const validate::CalibrationReport& r, bool verbose) {
  const validate::Calibration& c = r.calibration;
  std::string out = fmt::format(
      "calibration of {} under {}: {} rows, {} distinct configurations ({} skipped)\n\n", c.gpu,
      c.framework, c.rows, c.configurations, r.skipped.size());
  out += "  factor                              start       fitted   independent sensitivity\n";
  for (const validate::FactorReport& f : r.factors) {
    out += fmt::format("  {:<34} {:>9.4g}  {:>11}   {:.3f}\n", f.key, f.start,
                       f.fitted ? fmt::format("{:.4g}", f.value) : std::string("-"),
                       f.sensitivity);
    if (!f.fitted && !f.note.empty()) out += fmt::format("      not fitted: {}\n", f.note);
  }
  out += fmt::format(
      "\n  mean |error|   before {:.1f}%   after {:.1f}% (in-sample)   {} {:.1f}%\n",
      c.before_mean_abs_error_pct, c.after_mean_abs_error_pct, c.cross_validation,
      c.cross_validated_mean_abs_error_pct);
  if (verbose) {
    out += "\n  file:line  row                                                    measured   "
           "before    after  cross-validated\n";
    for (const validate::FitRow& row : r.rows) {
      std::string label = row.label.size() > 52 ? row.label.substr(0, 49) + "..." : row.label;
      out += fmt::format("  {}:{}  {:<52} {:>10.1f} {:>8} {:>8} {:>8}\n", row.file, row.line,
                         label, row.measured, ErrorPct(row.before, row.measured),
                         ErrorPct(row.after, row.measured),
                         ErrorPct(row.cross_validated, row.measured));
    }
    for (const std::string& s : r.skipped) out += "  skipped " + s + "\n";
  }
  return out;
}

std::string CalibrationYaml(const validate::Calibration& c) {
  std::string out = fmt::format(
      "# scaleplan calibration: factors fitted on measured runs (`scaleplan calibrate`).\n"
      "# Apply with --calibration FILE to jobs on the same GPU and framework.\n"
      "gpu: {}\nframework: {}\nfactors:\n",
      c.gpu, c.framework);
  for (const auto& [key, value] : c.factors) out += fmt::format("  {}: {:.6g}\n", key, value);
  out += "fitted:\n  runs:\n";
  for (const std::string& run : c.runs) out += fmt::format("    - \"{}\"\n", run);
  out += fmt::format(
      "  rows: {}\n  configurations: {}\n  cross_validation: {}\n"
      "  mean_abs_error_pct: {{before: {:.2f}, after: {:.2f}, cross_validated: {:.2f}}}\n",
      c.rows, c.configurations, c.cross_validation, c.before_mean_abs_error_pct,
      c.after_mean_abs_error_pct, c.cross_validated_mean_abs_error_pct);
  return out;
}

}  // namespace scaleplan::report
