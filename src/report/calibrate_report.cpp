#include "report/calibrate_report.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/text.h"
#include "report/validation_report.h"

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
    nlohmann::json j = {{"key", f.key},           {"start", f.start},
                        {"value", f.value},       {"fitted", f.fitted},
                        {"at_bound", f.at_bound}, {"independent_sensitivity", f.sensitivity}};
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
                       f.fitted ? fmt::format("{:.4g}", f.value) : std::string("-"), f.sensitivity);
    if (!f.fitted && !f.note.empty()) out += fmt::format("      not fitted: {}\n", f.note);
    if (f.at_bound) out += fmt::format("      {}\n", f.note);
  }
  out += fmt::format("\n  mean |error|   before {:.1f}%   after {:.1f}% (in-sample)   {} {:.1f}%\n",
                     c.before_mean_abs_error_pct, c.after_mean_abs_error_pct, c.cross_validation,
                     c.cross_validated_mean_abs_error_pct);
  if (verbose) {
    out +=
        "\n  file:line  row                                                    measured unit       "
        "  "
        "before    after  cross-validated\n";
    for (const validate::FitRow& row : r.rows) {
      std::string label = row.label.size() > 52 ? row.label.substr(0, 49) + "..." : row.label;
      out += fmt::format("  {}:{}  {:<52} {:>10.6g} {:<12} {:>8} {:>8} {:>8}\n", row.file, row.line,
                         label, row.measured, MetricUnit(row.metric),
                         ErrorPct(row.before, row.measured), ErrorPct(row.after, row.measured),
                         ErrorPct(row.cross_validated, row.measured));
    }
    for (const std::string& s : r.skipped) out += "  skipped " + s + "\n";
  }
  return out;
}

std::string CalibrationYaml(const validate::Calibration& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "gpu" << YAML::Value << YAML::DoubleQuoted << c.gpu;
  out << YAML::Key << "framework" << YAML::Value << YAML::DoubleQuoted << c.framework;
  out << YAML::Key << "factors" << YAML::Value << YAML::BeginMap;
  for (const auto& [key, value] : c.factors) {
    out << YAML::Key << key << YAML::Value << fmt::format("{:.6g}", value);
  }
  out << YAML::EndMap;
  out << YAML::Key << "fitted" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "runs" << YAML::Value << YAML::BeginSeq;
  for (const std::string& run : c.runs) out << YAML::DoubleQuoted << run;
  out << YAML::EndSeq;
  out << YAML::Key << "rows" << YAML::Value << c.rows;
  out << YAML::Key << "configurations" << YAML::Value << c.configurations;
  out << YAML::Key << "cross_validation" << YAML::Value << c.cross_validation;
  out << YAML::Key << "mean_abs_error_pct" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "before" << YAML::Value << fmt::format("{:.2f}", c.before_mean_abs_error_pct);
  out << YAML::Key << "after" << YAML::Value << fmt::format("{:.2f}", c.after_mean_abs_error_pct);
  out << YAML::Key << "cross_validated" << YAML::Value
      << fmt::format("{:.2f}", c.cross_validated_mean_abs_error_pct);
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return "# scaleplan calibration: factors fitted on measured runs (`scaleplan calibrate`).\n"
         "# Apply with --calibration FILE to jobs on the same GPU and framework.\n" +
         std::string(out.c_str()) + "\n";
}

}  // namespace scaleplan::report
