// Fitting the named factors on measured runs; the method is in calibrate.h.
#include "validate/calibrate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/file.h"
#include "core/text.h"
#include "sim/analytical.h"
#include "spec/readers.h"
#include "spec/yaml.h"
#include "validate/training_rows.h"

namespace scaleplan::validate {

const std::vector<FactorDef>& Factors() {
  static const std::vector<FactorDef> kFactors = {
      {"gpu.sustained_compute_fraction", 0.3, 1.0,
       "tensor-core throughput kept over a training step",
       [](const spec::JobSpec& j) { return j.cluster.gpu.sustained_compute_fraction; },
       [](spec::JobSpec& j, double v) { j.cluster.gpu.sustained_compute_fraction = v; }},
      {"framework.attention_fraction", 0.2, 2.0, "of the attention table's throughput",
       [](const spec::JobSpec& j) { return j.framework.attention_fraction; },
       [](spec::JobSpec& j, double v) { j.framework.attention_fraction = v; }},
      {"framework.memory_fraction", 0.3, 1.0, "of HBM bandwidth for memory-bound kernels",
       [](const spec::JobSpec& j) { return j.framework.memory_fraction; },
       [](spec::JobSpec& j, double v) { j.framework.memory_fraction = v; }},
      {"framework.kernel_overhead_s", 1e-7, 1e-4, "launch gap and tail per kernel (s)",
       [](const spec::JobSpec& j) { return j.framework.kernel_overhead_s; },
       [](spec::JobSpec& j, double v) { j.framework.kernel_overhead_s = v; }},
      {"framework.fp8_gemm_fraction", 0.3, 1.0, "of the FP8 GEMM table's throughput",
       [](const spec::JobSpec& j) { return j.framework.fp8_gemm_fraction; },
       [](spec::JobSpec& j, double v) { j.framework.fp8_gemm_fraction = v; }},
  };
  return kFactors;
}

const FactorDef* FindFactor(std::string_view key) {
  for (const FactorDef& f : Factors()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

namespace {

std::string FactorNames() {
  std::vector<std::string> names;
  for (const FactorDef& f : Factors()) names.push_back(f.key);
  return Join(names, ", ");
}

// One distinct configuration: a job, the rows measuring it, and a plan of it.
struct Config {
  TrainingCase c;  // the first row's case
  plan::Plan plan;
  std::vector<size_t> rows;          // indices into the report's rows
  std::vector<double> log_measured;  // log of each row's measurement
  std::string group;                 // what cross-validation holds out with it
};

std::string ConfigKey(const TrainingCase& c) {
  return spec::ModelSchema().ToJson(c.job.model).dump() +
         spec::PlanSchema().ToJson(c.job.plan).dump() +
         spec::WorkloadSchema().ToJson(c.job.workload).dump() +
         spec::FrameworkSchema().ToJson(c.job.framework).dump() +
         spec::GpuSchema().ToJson(c.job.cluster.gpu).dump() + std::to_string(c.job.gpus) + c.metric;
}

// Predicted metric of every configuration with the factors `values` (one per Factors() entry).
std::vector<double> Predict(const std::vector<Config>& configs, const std::vector<double>& values) {
  std::vector<double> out(configs.size(), 0.0);
  for (size_t i = 0; i < configs.size(); ++i) {
    plan::Plan p = configs[i].plan;
    for (size_t f = 0; f < values.size(); ++f) Factors()[f].set(p.job, values[f]);
    Result<sim::StepResult> step = sim::Evaluate(p);
    out[i] = step.ok() ? PredictedMetric(configs[i].c, p, *step) : 0.0;
  }
  return out;
}

// Mean absolute log error over the rows of the configurations in `use`.
double Loss(const std::vector<Config>& configs, const std::vector<double>& predicted,
            const std::vector<size_t>& use) {
  double total = 0, rows = 0;
  for (size_t i : use) {
    if (predicted[i] <= 0 || !std::isfinite(predicted[i])) return INFINITY;
    for (double m : configs[i].log_measured) {
      total += std::fabs(std::log(predicted[i]) - m);
      rows += 1;
    }
  }
  return rows == 0 ? 0 : total / rows;
}

// Minimizes the loss over the factors in `free`, from `values`, on the configurations `use`: a
// few sweeps of golden-section searches, each factor in log space over its range.
std::vector<double> Fit(const std::vector<Config>& configs, std::vector<double> values,
                        const std::vector<size_t>& free, const std::vector<size_t>& use, int sweeps,
                        int steps) {
  // Only the configurations in `use` are evaluated.
  std::vector<Config> subset;
  for (size_t i : use) subset.push_back(configs[i]);
  std::vector<size_t> all(subset.size());
  std::iota(all.begin(), all.end(), 0);
  auto loss_at = [&](const std::vector<double>& v) {
    return Loss(subset, Predict(subset, v), all);
  };
  const double golden = (std::sqrt(5.0) - 1.0) / 2.0;
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    for (size_t f : free) {
      const FactorDef& def = Factors()[f];
      double a = std::log(def.lo), b = std::log(def.hi);
      std::vector<double> v = values;
      auto at = [&](double x) {
        v[f] = std::exp(x);
        return loss_at(v);
      };
      double x1 = b - golden * (b - a), x2 = a + golden * (b - a);
      double l1 = at(x1), l2 = at(x2);
      for (int i = 0; i < steps; ++i) {
        if (l1 < l2) {
          b = x2;
          x2 = x1;
          l2 = l1;
          x1 = b - golden * (b - a);
          l1 = at(x1);
        } else {
          a = x1;
          x1 = x2;
          l1 = l2;
          x2 = a + golden * (b - a);
          l2 = at(x2);
        }
      }
      double best = (a + b) / 2.0;
      double current = loss_at(values);
      v[f] = std::exp(best);
      if (loss_at(v) < current) values[f] = v[f];
    }
  }
  return values;
}

// Which factors the configurations `use` determine, from `values` (calibrate.h): indices into
// Factors(), and for each candidate its independent sensitivity and, when refused, why.
std::vector<size_t> Determined(const std::vector<Config>& configs,
                               const std::vector<double>& values,
                               const std::vector<size_t>& candidates,
                               const std::vector<size_t>& use, std::vector<double>* sensitivity,
                               std::vector<std::string>* why) {
  std::vector<Config> subset;
  for (size_t i : use) subset.push_back(configs[i]);
  const double n = static_cast<double>(subset.size());
  std::vector<double> base = Predict(subset, values);
  std::map<size_t, std::vector<double>> vectors;
  for (size_t f : candidates) {
    std::vector<double> v = values;
    const double step = 1.1;
    v[f] = values[f] * step;
    std::vector<double> moved = Predict(subset, v);
    std::vector<double> s(subset.size(), 0.0);
    for (size_t i = 0; i < subset.size(); ++i) {
      if (base[i] > 0 && moved[i] > 0) s[i] = std::log(moved[i] / base[i]) / std::log(step);
    }
    vectors[f] = s;
  }
  auto rms = [&](const std::vector<double>& s) {
    double t = 0;
    for (double x : s) t += x * x;
    return n > 0 ? std::sqrt(t / n) : 0.0;
  };
  // Greedy: each round keeps the candidate with the largest part not explained by those kept.
  std::vector<std::vector<double>> basis;  // orthonormal, of the kept factors
  std::vector<size_t> kept, left = candidates;
  auto residual = [&](size_t f) {
    std::vector<double> r = vectors[f];
    for (const std::vector<double>& q : basis) {
      double dot = std::inner_product(r.begin(), r.end(), q.begin(), 0.0);
      for (size_t i = 0; i < r.size(); ++i) r[i] -= dot * q[i];
    }
    return r;
  };
  while (!left.empty()) {
    size_t best = 0;
    for (size_t k = 1; k < left.size(); ++k) {
      if (rms(residual(left[k])) > rms(residual(left[best]))) best = k;
    }
    size_t f = left[best];
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(best));
    std::vector<double> r = residual(f);
    double independent = rms(r);
    (*sensitivity)[f] = independent;
    if (independent < kMinSensitivity) {
      (*why)[f] = fmt::format(
          "the runs do not determine it: a 10% change moves the predictions by {:.2f}% (RMS) "
          "beyond what the factors kept already explain (needs {:.1f}%)",
          independent * 100.0 * std::log(1.1), kMinSensitivity * 100.0 * std::log(1.1));
      continue;
    }
    if (kept.size() + 1 >= subset.size()) {
      (*why)[f] = fmt::format(
          "{} configurations determine at most {} factors (one configuration per factor must be "
          "left over)",
          subset.size(), subset.size() > 0 ? subset.size() - 1 : 0);
      continue;
    }
    double norm = std::sqrt(std::inner_product(r.begin(), r.end(), r.begin(), 0.0));
    for (double& x : r) x /= norm;
    basis.push_back(r);
    kept.push_back(f);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

double MeanAbsPct(const std::vector<double>& predicted, const std::vector<double>& measured) {
  double total = 0;
  for (size_t i = 0; i < predicted.size(); ++i)
    total += std::fabs(100.0 * (predicted[i] - measured[i]) / measured[i]);
  return predicted.empty() ? 0 : total / static_cast<double>(predicted.size());
}

}  // namespace

const spec::Schema<CalibrateKeys>& CalibrateKeysSchema() {
  static const spec::Schema<CalibrateKeys> schema = [] {
    using K = CalibrateKeys;
    spec::Schema<K> s("calibrate");
    AddRowFilters(s);
    s.Text("factors", &K::factors,
           "comma-separated factors to fit (default: every factor the runs determine): " +
               FactorNames());
    s.OneOf("hold_out", &K::hold_out, {"configuration", "model", "file"},
            "what cross-validation holds out together: one configuration (leave-one-out, 10-fold "
            "past 40), one model's runs, or one file's");
    return s;
  }();
  return schema;
}

CalibrateOptions ToOptions(const CalibrateKeys& keys) {
  CalibrateOptions o;
  o.filters = RowFilters(keys);
  if (!keys.factors.empty()) {
    o.factors = SplitAndTrim(keys.factors, ',');
    // Only separators (",,"): kept whole, so that the check of names refuses it rather than the
    // empty list choosing every factor.
    if (o.factors.empty()) o.factors.push_back(keys.factors);
  }
  o.hold_out = keys.hold_out == "model"  ? HoldOut::kModel
               : keys.hold_out == "file" ? HoldOut::kFile
                                         : HoldOut::kConfiguration;
  return o;
}

Result<CalibrationReport> Calibrate(const std::vector<std::string>& paths,
                                    const CalibrateOptions& options) {
  if (paths.empty()) {
    return Status::Invalid("calibrate: no run files given (allowed: one or more CSV files)");
  }
  SP_RETURN_IF_ERROR(DistinctInputs(paths, "calibrate"));
  std::vector<size_t> candidates;
  if (options.factors.empty()) {
    candidates.resize(Factors().size());
    std::iota(candidates.begin(), candidates.end(), 0);
  } else {
    for (const std::string& key : options.factors) {
      const FactorDef* f = FindFactor(key);
      if (f == nullptr) {
        return Status::Invalid(fmt::format("calibrate.factors: '{}' is not a factor (allowed: {})",
                                           Printable(key, 60), FactorNames()));
      }
      size_t index = static_cast<size_t>(f - Factors().data());
      if (std::find(candidates.begin(), candidates.end(), index) != candidates.end()) {
        return Status::Invalid(
            fmt::format("calibrate.factors: '{}' is named twice (allowed: each factor once)",
                        Printable(key, 60)));
      }
      candidates.push_back(index);
    }
  }

  SP_RETURN_IF_ERROR(CheckFilters(options.filters, "calibrate"));
  CalibrationReport report;
  std::vector<Config> configs;
  std::map<std::string, size_t> by_key;
  for (const std::string& path : paths) {
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
    std::string kind;
    SP_ASSIGN_OR_RETURN(std::vector<TrainingCase> cases,
                        TrainingCases(text, path, options.filters, &kind));
    for (TrainingCase& c : cases) {
      // With the presets' factors: the fit does not move ChooseTunedPlan's choice.
      Result<Modeled> modeled = ModelCase(c);
      if (!modeled.ok()) {
        report.skipped.push_back(
            fmt::format("{}:{}: {}", path, c.line, modeled.status().message()));
        continue;
      }
      FitRow row;
      row.line = c.line;
      row.file = path;
      row.label = c.label;
      row.metric = c.metric;
      row.measured = c.measured;
      std::string key = ConfigKey(c);
      auto it = by_key.find(key);
      if (it == by_key.end()) {
        it = by_key.emplace(key, configs.size()).first;
        std::string group = options.hold_out == HoldOut::kModel  ? c.job.model.name
                            : options.hold_out == HoldOut::kFile ? path
                                                                 : key;
        configs.push_back(Config{c, std::move(modeled->plan), {}, {}, group});
      }
      configs[it->second].rows.push_back(report.rows.size());
      report.rows.push_back(row);
    }
  }
  if (configs.empty() && report.skipped.empty()) {
    return Status::Invalid(fmt::format(
        "calibrate: no row of {} matches the row filters (allowed: filters some row passes; "
        "`scaleplan validate` with the same filters lists the rows)",
        Join(paths, ", ")));
  }
  if (configs.empty()) {
    return Status::Invalid(fmt::format(
        "calibrate: no row of {} could be modeled ({} skipped; `scaleplan validate --verbose` "
        "lists why)",
        Join(paths, ", "), report.skipped.size()));
  }
  // One GPU type and one framework: the scope of the calibration.
  const spec::JobSpec& first = configs.front().c.job;
  for (const Config& cfg : configs) {
    const spec::JobSpec& j = cfg.c.job;
    const bool gpus = j.cluster.gpu.name != first.cluster.gpu.name;
    const bool frameworks = j.framework.name != first.framework.name;
    if (gpus || frameworks) {
      // Name only what differs ("a100-80gb with a100-80gb" said nothing).
      std::vector<std::string> mixed;
      if (gpus)
        mixed.push_back(fmt::format("GPU {} with {}", first.cluster.gpu.name, j.cluster.gpu.name));
      if (frameworks) {
        mixed.push_back(
            fmt::format("framework {} with {}", first.framework.name, j.framework.name));
      }
      return Status::Invalid(fmt::format(
          "calibrate: the runs mix {} (allowed: runs of one GPU type and one framework; select "
          "them with --gpu-type, --precision or --match)",
          Join(mixed, " and ")));
    }
  }
  for (Config& cfg : configs) {
    for (size_t r : cfg.rows) cfg.log_measured.push_back(std::log(report.rows[r].measured));
  }

  // The presets' values, inside the range the fit searches (the input bounds are wider).
  std::vector<double> start;
  for (const FactorDef& f : Factors()) start.push_back(std::clamp(f.get(first), f.lo, f.hi));
  std::vector<size_t> all(configs.size());
  std::iota(all.begin(), all.end(), 0);
  std::vector<double> sensitivity(Factors().size(), 0.0);
  std::vector<std::string> why(Factors().size());
  std::vector<size_t> kept = Determined(configs, start, candidates, all, &sensitivity, &why);
  if (!options.factors.empty()) {
    for (size_t f : candidates) {
      if (std::find(kept.begin(), kept.end(), f) == kept.end()) {
        return Status::Invalid(
            fmt::format("calibrate.factors: {} cannot be fitted on these runs: {} (allowed: "
                        "factors the runs determine; leave --factors out to choose them)",
                        Factors()[f].key, why[f]));
      }
    }
  }
  if (kept.empty()) {
    std::vector<std::string> reasons;
    for (size_t f : candidates) reasons.push_back(Factors()[f].key + ": " + why[f]);
    return Status::Invalid(fmt::format(
        "calibrate: the {} configurations of {} determine no factor ({}) (allowed: runs that "
        "differ in what the factors scale: more configurations, sizes, sequence lengths)",
        configs.size(), Join(paths, ", "), Join(reasons, "; ")));
  }
  std::vector<double> fitted = Fit(configs, start, kept, all, 3, 24);

  // Cross-validation: each configuration's fold.
  std::vector<size_t> fold_of(configs.size(), 0);
  size_t folds = 0;
  if (options.hold_out == HoldOut::kConfiguration) {
    folds = configs.size() <= static_cast<size_t>(kMaxLeaveOneOut) ? configs.size() : 10;
    for (size_t i = 0; i < configs.size(); ++i) fold_of[i] = i % folds;
  } else {
    std::map<std::string, size_t> groups;
    for (size_t i = 0; i < configs.size(); ++i) {
      fold_of[i] = groups.emplace(configs[i].group, groups.size()).first->second;
    }
    folds = groups.size();
    if (folds < 2) {
      return Status::Invalid(fmt::format(
          "calibrate.hold_out = {}: the runs hold only one {} ({}), nothing to hold out "
          "(allowed: runs of at least two)",
          options.hold_out == HoldOut::kModel ? "model" : "file",
          options.hold_out == HoldOut::kModel ? "model" : "file", configs.front().group));
    }
  }
  std::vector<double> cv(configs.size(), 0.0);
  for (size_t fold = 0; fold < folds; ++fold) {
    std::vector<size_t> train, held;
    for (size_t i = 0; i < configs.size(); ++i) (fold_of[i] == fold ? held : train).push_back(i);
    std::vector<double> s(Factors().size(), 0.0);
    std::vector<std::string> w(Factors().size());
    // Each fold starts where the whole fit started: nothing of the held-out runs leaks in.
    std::vector<size_t> fold_kept = Determined(configs, start, kept, train, &s, &w);
    std::vector<double> values = Fit(configs, start, fold_kept, train, 3, 24);
    std::vector<Config> held_configs;
    for (size_t i : held) held_configs.push_back(configs[i]);
    std::vector<double> predicted = Predict(held_configs, values);
    for (size_t k = 0; k < held.size(); ++k) cv[held[k]] = predicted[k];
  }

  std::vector<double> before = Predict(configs, start), after = Predict(configs, fitted);
  std::vector<double> measured_rows, before_rows, after_rows, cv_rows;
  for (size_t i = 0; i < configs.size(); ++i) {
    for (size_t r : configs[i].rows) {
      FitRow& row = report.rows[r];
      row.before = before[i];
      row.after = after[i];
      row.cross_validated = cv[i];
      measured_rows.push_back(row.measured);
      before_rows.push_back(row.before);
      after_rows.push_back(row.after);
      cv_rows.push_back(row.cross_validated);
    }
  }

  Calibration& cal = report.calibration;
  cal.gpu = first.cluster.gpu.name;
  cal.framework = first.framework.name;
  for (size_t f : kept) cal.factors.emplace_back(Factors()[f].key, fitted[f]);
  cal.runs = paths;
  cal.rows = static_cast<int>(report.rows.size());
  cal.configurations = static_cast<int>(configs.size());
  cal.cross_validation = options.hold_out == HoldOut::kModel  ? "leave-one-model-out"
                         : options.hold_out == HoldOut::kFile ? "leave-one-file-out"
                         : folds == configs.size()            ? "leave-one-out"
                                                   : fmt::format("k-fold (k = {})", folds);
  cal.before_mean_abs_error_pct = MeanAbsPct(before_rows, measured_rows);
  cal.after_mean_abs_error_pct = MeanAbsPct(after_rows, measured_rows);
  cal.cross_validated_mean_abs_error_pct = MeanAbsPct(cv_rows, measured_rows);
  report.folds = static_cast<int>(folds);
  for (size_t f = 0; f < Factors().size(); ++f) {
    FactorReport fr;
    fr.key = Factors()[f].key;
    fr.start = start[f];
    fr.value = fitted[f];
    fr.fitted = std::find(kept.begin(), kept.end(), f) != kept.end();
    fr.sensitivity = sensitivity[f];
    bool asked = std::find(candidates.begin(), candidates.end(), f) != candidates.end();
    fr.note = fr.fitted ? "" : asked ? why[f] : "not asked for (--factors)";
    const FactorDef& def = Factors()[f];
    const double edge = 1e-3 * (def.hi - def.lo);
    if (fr.fitted && (fr.value <= def.lo + edge || fr.value >= def.hi - edge)) {
      fr.at_bound = true;
      fr.note = fmt::format(
          "stopped at the {} end of its range [{:g}, {:g}]: the runs ask for more than this factor "
          "can give (measurements beyond what the model reaches, or a cost it does not price); "
          "check the rows the fit leaves far off",
          fr.value <= def.lo + edge ? "lower" : "upper", def.lo, def.hi);
    }
    report.factors.push_back(fr);
  }
  return report;
}

Result<Calibration> ParseCalibration(std::string_view text, const std::string& origin) {
  Result<YAML::Node> parsed = spec::ParseYaml(text, origin);
  if (!parsed.ok()) {
    return Status::Invalid(
        parsed.status().message() +
        " (allowed: a calibration file as `scaleplan calibrate --out` writes it: "
        "a map with gpu, framework and factors)");
  }
  const YAML::Node root = *parsed;
  SP_RETURN_IF_ERROR(spec::CheckKeys(root, origin, "calibration"));
  Calibration cal;
  cal.origin = origin;
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (key == "gpu" || key == "framework") {
      if (!entry.second.IsScalar() || entry.second.Scalar().empty()) {
        return Status::Invalid(fmt::format(
            "{}: calibration.{} = {} (allowed: the {} name the runs used, e.g. {})",
            spec::Where(origin, entry.second), key, entry.second.IsScalar() ? "''" : "(not a name)",
            key, key == "gpu" ? "h100-sxm" : "torchtitan"));
      }
      (key == "gpu" ? cal.gpu : cal.framework) = entry.second.Scalar();
    } else if (key == "factors") {
      if (!entry.second.IsMap()) {
        return Status::Invalid(
            fmt::format("{}: calibration.factors must be a map of factor: value (allowed keys: {})",
                        spec::Where(origin, entry.second), FactorNames()));
      }
      SP_RETURN_IF_ERROR(spec::CheckKeys(entry.second, origin, "calibration.factors"));
      for (const auto& f : entry.second) {
        const std::string name = f.first.Scalar();
        const FactorDef* def = FindFactor(name);
        if (def == nullptr) {
          return Status::Invalid(
              fmt::format("{}: calibration.factors: '{}' is not a factor (allowed: {})",
                          spec::Where(origin, f.first), Printable(name, 60), FactorNames()));
        }
        Result<double> value = f.second.IsScalar() && !spec::IsQuoted(f.second)
                                   ? ParseNumber(f.second.Scalar())
                                   : Result<double>(Status::Invalid("not a number"));
        if (!value.ok() || !std::isfinite(*value) || *value < def->lo || *value > def->hi) {
          return Status::Invalid(
              fmt::format("{}: calibration.factors.{} = {} (allowed: a number from {:g} to {:g})",
                          spec::Where(origin, f.second), name,
                          !f.second.IsScalar()       ? std::string("(not a scalar)")
                          : spec::IsQuoted(f.second) ? "\"" + Printable(f.second.Scalar(), 40) + "\""
                                                     : Printable(f.second.Scalar(), 40),
                          def->lo, def->hi));
        }
        cal.factors.emplace_back(name, *value);
      }
    } else if (key == "fitted") {
      continue;  // provenance, written for people
    } else {
      return Status::Invalid(fmt::format(
          "{}: unknown key '{}' in calibration (allowed: gpu, framework, factors, fitted)",
          spec::Where(origin, entry.first), Printable(key, 60)));
    }
  }
  if (cal.gpu.empty() || cal.framework.empty()) {
    return Status::Invalid(fmt::format(
        "{}: calibration.{} is missing (allowed: the GPU and framework names the runs used)",
        origin, cal.gpu.empty() ? "gpu" : "framework"));
  }
  if (cal.factors.empty()) {
    return Status::Invalid(
        fmt::format("{}: calibration.factors is missing or empty (allowed: at least one of {})",
                    origin, FactorNames()));
  }
  return cal;
}

Result<Calibration> LoadCalibration(const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
  return ParseCalibration(text, path);
}

Result<std::vector<Calibration>> LoadCalibrations(const std::vector<std::string>& paths) {
  std::vector<Calibration> out;
  for (const std::string& path : paths) {
    SP_ASSIGN_OR_RETURN(Calibration cal, LoadCalibration(path));
    // Two for one scope: which applies would be the order of the flags, silently.
    for (const Calibration& other : out) {
      if (other.gpu == cal.gpu && other.framework == cal.framework) {
        const std::string which = other.origin == cal.origin
                                      ? fmt::format("{} is given twice", cal.origin)
                                      : fmt::format("{} and {} are both", other.origin, cal.origin);
        return Status::Invalid(fmt::format(
            "--calibration: {} for {} under {} (allowed: one calibration per GPU and framework)",
            which, cal.gpu, cal.framework));
      }
    }
    out.push_back(std::move(cal));
  }
  return out;
}

bool Applies(const Calibration& calibration, const spec::JobSpec& job) {
  return calibration.gpu == job.cluster.gpu.name && calibration.framework == job.framework.name;
}

Status ApplyCalibration(const Calibration& calibration, spec::JobSpec& job) {
  if (!Applies(calibration, job)) {
    return Status::Invalid(fmt::format(
        "{}: the calibration is for {} under {}, the job runs {} under {} (allowed: a "
        "calibration fitted on the job's GPU and framework)",
        calibration.origin.empty() ? "calibration" : calibration.origin, calibration.gpu,
        calibration.framework, job.cluster.gpu.name, job.framework.name));
  }
  for (const auto& [key, value] : calibration.factors) {
    const FactorDef* def = FindFactor(key);
    if (def != nullptr) def->set(job, value);
  }
  return Status::Ok();
}

Status ApplyCalibrations(const std::vector<Calibration>& calibrations, spec::JobSpec& job) {
  if (calibrations.empty()) return Status::Ok();
  std::vector<std::string> scopes;
  for (const Calibration& c : calibrations) {
    if (Applies(c, job)) return ApplyCalibration(c, job);
    scopes.push_back(fmt::format("{} under {}", c.gpu, c.framework));
  }
  return Status::Invalid(fmt::format(
      "--calibration: none is for the job's GPU {} under framework {} (given: {}; allowed: a "
      "calibration fitted on the job's GPU and framework)",
      job.cluster.gpu.name, job.framework.name, Join(scopes, "; ")));
}

}  // namespace scaleplan::validate
