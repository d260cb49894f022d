#include "predict/predictor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/text.h"
#include "predict/families.h"
#include "predict/features.h"
#include "spec/readers.h"

namespace scaleplan::predict {

namespace {

constexpr std::string_view kFormat = "scaleplan-predictor";
constexpr std::string_view kTarget = "ln(measured throughput / physics throughput)";

#ifdef SCALEPLAN_HAVE_XGBOOST
constexpr bool kHaveXgboost = true;
#else
constexpr bool kHaveXgboost = false;
#endif
#ifdef SCALEPLAN_HAVE_TORCH
constexpr bool kHaveTorch = true;
#else
constexpr bool kHaveTorch = false;
#endif

Status Bad(const std::string& origin, std::string_view key, const nlohmann::json& value,
           std::string_view allowed) {
  return Status::Invalid(
             fmt::format("{}: {} = {} (allowed: {})", origin, key, JsonShown(value), allowed))
      .WithKey(std::string(key));
}

}  // namespace

Result<double> FiniteNumber(const nlohmann::json& json, const char* key,
                            const std::string& origin) {
  auto it = json.find(key);
  if (it == json.end()) {
    return Status::Invalid(fmt::format("{}: {} is missing (allowed: a number)", origin, key))
        .WithKey(key);
  }
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    return Bad(origin, key, *it, "a finite number");
  }
  return it->get<double>();
}

Result<std::vector<double>> NumberList(const nlohmann::json& json, const char* key, size_t size,
                                       const std::string& origin) {
  auto it = json.find(key);
  std::string allowed = fmt::format("a list of {} finite numbers", size);
  if (it == json.end() || !it->is_array() || it->size() != size) {
    return Bad(origin, key, it == json.end() ? nlohmann::json() : *it, allowed);
  }
  std::vector<double> out;
  for (const nlohmann::json& v : *it) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) return Bad(origin, key, v, allowed);
    out.push_back(v.get<double>());
  }
  return out;
}

const std::vector<FamilyInfo>& Families() {
  static const std::vector<FamilyInfo> families = {
      {"ridge",
       "linear least squares on standardized features, L2 penalty chosen by exact leave-one-out",
       true, "", FitRidge, LoadRidge},
      {"gbt", "gradient-boosted regression trees (xgboost)", kHaveXgboost,
       "-DSCALEPLAN_XGBOOST=ON (Debian packages libxgboost-dev and xgboost)",
       kHaveXgboost ? FitGbt : nullptr, kHaveXgboost ? LoadGbt : nullptr},
      {"gbt-rank",
       "gradient-boosted trees (xgboost) with rank:pairwise within decisions, the physics as base "
       "margin, the level set by the mean residual: a ranker, its corrections not speeds",
       kHaveXgboost, "-DSCALEPLAN_XGBOOST=ON (Debian packages libxgboost-dev and xgboost)",
       kHaveXgboost ? FitGbtRank : nullptr, kHaveXgboost ? LoadGbt : nullptr},
      {"mlp",
       "two-hidden-layer perceptron (libtorch), squared error plus a margin ranking loss within "
       "decisions",
       kHaveTorch, "-DSCALEPLAN_TORCH=ON (Debian packages libtorch-dev and libopenblas-dev)",
       kHaveTorch ? FitMlp : nullptr, LoadMlp},
  };
  return families;
}

std::vector<std::string> FamilyNames() {
  std::vector<std::string> out;
  for (const FamilyInfo& f : Families()) out.push_back(f.name);
  return out;
}

Result<const FamilyInfo*> FindFamily(std::string_view name, const std::string& origin,
                                     FamilyUse use) {
  for (const FamilyInfo& f : Families()) {
    if (f.name != name) continue;
    if (!f.built && !(use == FamilyUse::kLoad && f.load != nullptr)) {
      return Status::Invalid(
                 fmt::format("{}: family '{}' is not in this build (rebuild with {}; allowed "
                             "here: {})",
                             origin, f.name, f.missing, "ridge"))
          .WithKey("family");
    }
    return &f;
  }
  return Status::Invalid(fmt::format("{}: family '{}' is not a predictor family (allowed: {})",
                                     origin, Printable(name, 60), Join(FamilyNames(), ", ")))
      .WithKey("family");
}

Estimate Predictor::Correct(const std::vector<double>& x) const {
  Estimate e;
  if (members.empty()) return e;
  double sum = 0, sum2 = 0;
  for (const auto& m : members) {
    double v = m->Predict(x);
    v = std::isnan(v) ? 0.0 : std::clamp(v, -kMaxCorrection, kMaxCorrection);
    sum += v;
    sum2 += v * v;
  }
  double n = static_cast<double>(members.size());
  e.correction = sum / n;
  e.spread = std::sqrt(std::max(0.0, sum2 / n - e.correction * e.correction));
  return e;
}

Result<Predictor> FitPredictor(const Dataset& data, std::string_view family, int64_t members,
                               uint64_t seed) {
  SP_ASSIGN_OR_RETURN(const FamilyInfo* info, FindFamily(family, "fit.family"));
  if (members < 1 || members > kMaxMembers) {
    return Status::Invalid(fmt::format("fit.members = {} (allowed: 1 to {})", members, kMaxMembers))
        .WithKey("members");
  }
  if (data.x.size() < kMinTrainingJobs) {
    return Status::Invalid(
        fmt::format("fit: {} measured jobs to learn from (allowed: at least {} with status ok)",
                    data.x.size(), kMinTrainingJobs));
  }
  Predictor p;
  p.family = info->name;
  p.features = FeatureNames();
  p.jobs = static_cast<int64_t>(data.x.size());
  std::mt19937_64 rng(seed);
  for (int64_t m = 0; m < members; ++m) {
    Dataset sample;
    if (members == 1) {
      sample = data;
    } else {
      for (size_t i = 0; i < data.x.size(); ++i) {
        size_t k = static_cast<size_t>(rng() % data.x.size());
        sample.x.push_back(data.x[k]);
        sample.y.push_back(data.y[k]);
        if (data.group.size() == data.x.size()) sample.group.push_back(data.group[k]);
        if (data.base.size() == data.x.size()) sample.base.push_back(data.base[k]);
      }
    }
    SP_ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                        info->fit(sample, seed + static_cast<uint64_t>(m)));
    p.members.push_back(std::move(model));
  }
  return p;
}

nlohmann::json PredictorJson(const Predictor& predictor) {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : predictor.members) members.push_back(m->ToJson());
  return {{"format", kFormat},
          {"version", kPredictorFormatVersion},
          {"family", predictor.family},
          {"target", kTarget},
          {"features", predictor.features},
          {"trained_on", predictor.trained_on},
          {"jobs", predictor.jobs},
          {"members", members}};
}

Result<Predictor> ParsePredictor(std::string_view text, const std::string& origin) {
  SP_ASSIGN_OR_RETURN(nlohmann::json json, ParseJson(text, origin));
  if (!json.is_object() || json.value("format", nlohmann::json()) != kFormat) {
    return Status::Invalid(fmt::format(
        "{}: not a predictor file (allowed: the JSON `scaleplan fit --out` writes, with format "
        "'{}')",
        origin, kFormat));
  }
  if (json.value("version", nlohmann::json()) != kPredictorFormatVersion) {
    return Bad(origin, "version", json.value("version", nlohmann::json()),
               fmt::format("{}, this build's format; refit with `scaleplan fit`",
                           kPredictorFormatVersion));
  }
  for (const auto& [key, value] : json.items()) {
    static const std::set<std::string> kKeys = {"format",   "version", "family",  "target",
                                                "features", "jobs",    "members", "trained_on"};
    if (kKeys.count(key) == 0) {
      return Status::Invalid(
                 fmt::format("{}: unknown key '{}' (allowed: {})", origin, Printable(key, 64),
                             Join(std::vector<std::string>(kKeys.begin(), kKeys.end()), ", ")))
          .WithKey(key);
    }
  }
  if (json.contains("target") && json["target"] != kTarget) {
    return Bad(origin, "target", json["target"], fmt::format("'{}'", kTarget));
  }
  Predictor p;
  p.origin = origin;
  const nlohmann::json& features = json.value("features", nlohmann::json());
  if (features != nlohmann::json(FeatureNames())) {
    return Status::Invalid(
               fmt::format("{}: the predictor was fitted on another feature set ({}; this "
                           "build has {} features) (allowed: a predictor fitted by this "
                           "build; refit with `scaleplan fit`)",
                           origin, JsonShown(features), FeatureNames().size()))
        .WithKey("features");
  }
  p.features = FeatureNames();
  const nlohmann::json& family = json.value("family", nlohmann::json());
  if (!family.is_string()) return Bad(origin, "family", family, Join(FamilyNames(), ", "));
  SP_ASSIGN_OR_RETURN(const FamilyInfo* info,
                      FindFamily(family.get<std::string>(), origin, FamilyUse::kLoad));
  p.family = info->name;
  if (auto it = json.find("trained_on"); it != json.end()) {
    if (!it->is_array() || !std::all_of(it->begin(), it->end(),
                                        [](const nlohmann::json& t) { return t.is_string(); })) {
      return Bad(origin, "trained_on", *it, "a list of the files it was fitted on");
    }
    for (const nlohmann::json& t : *it) p.trained_on.push_back(t.get<std::string>());
  }
  if (auto it = json.find("jobs"); it != json.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return Bad(origin, "jobs", *it, "the count of jobs it was fitted on, an integer >= 0");
    }
    p.jobs = *it;
  }
  const nlohmann::json& members = json.value("members", nlohmann::json());
  if (!members.is_array() || members.empty() || members.size() > static_cast<size_t>(kMaxMembers)) {
    return Bad(origin, "members", members, fmt::format("a list of 1 to {} members", kMaxMembers));
  }
  for (size_t m = 0; m < members.size(); ++m) {
    if (!members[m].is_object()) {
      return Bad(origin, fmt::format("members[{}]", m), members[m], "an object");
    }
    SP_ASSIGN_OR_RETURN(
        std::unique_ptr<Model> model,
        info->load(members[m], p.features.size(), fmt::format("{}: members[{}]", origin, m)));
    p.members.push_back(std::move(model));
  }
  return p;
}

Result<Predictor> LoadPredictor(const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
  return ParsePredictor(text, path);
}

#ifndef SCALEPLAN_HAVE_XGBOOST
// gbt.cpp is not built: there is no xgboost to ask.
Result<double> GbtXgboostPrediction(const Model& /*model*/, const std::vector<double>& /*x*/) {
  return Status::Invalid(
      "gbt: this build has no xgboost (allowed: a build with -DSCALEPLAN_XGBOOST=ON)");
}
#endif

}  // namespace scaleplan::predict
