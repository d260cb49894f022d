// Gradient-boosted regression trees through xgboost's C API (Debian's libxgboost-dev).
#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <memory>

#include "core/json.h"
#include "predict/families.h"

namespace scaleplan::predict {

namespace {

constexpr int kRounds = 300;
// name, value: small trees and a slow rate, so a few dozen jobs do not overfit; one thread, so a
// seed gives the same trees on any machine.
constexpr std::pair<const char*, const char*> kParams[] = {
    {"objective", "reg:squarederror"},
    {"max_depth", "3"},
    {"eta", "0.05"},
    {"subsample", "0.8"},
    {"colsample_bytree", "0.8"},
    {"min_child_weight", "1"},
    {"lambda", "1"},
    {"nthread", "1"},
    {"verbosity", "0"},
};

Status XgbError(const std::string& what) {
  return Status::Invalid(fmt::format("xgboost: {}: {}", what, XGBGetLastError()));
}

struct MatrixDeleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterDeleter {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using MatrixPtr = std::unique_ptr<void, MatrixDeleter>;
using BoosterPtr = std::unique_ptr<void, BoosterDeleter>;

Result<MatrixPtr> Matrix(const std::vector<std::vector<double>>& rows, size_t columns) {
  std::vector<float> flat;
  flat.reserve(rows.size() * columns);
  for (const auto& row : rows) {
    for (size_t j = 0; j < columns; ++j) flat.push_back(static_cast<float>(row[j]));
  }
  DMatrixHandle h = nullptr;
  if (XGDMatrixCreateFromMat(flat.data(), rows.size(), columns, NAN, &h) != 0) {
    return XgbError("creating a matrix");
  }
  return MatrixPtr(h);
}

class Gbt final : public Model {
 public:
  Gbt(BoosterPtr booster, nlohmann::json saved, size_t features)
      : booster_(std::move(booster)), saved_(std::move(saved)), features_(features) {}
  double Predict(const std::vector<double>& x) const override {
    Result<MatrixPtr> m = Matrix({x}, features_);
    if (!m.ok()) return 0;
    bst_ulong len = 0;
    const float* out = nullptr;
    if (XGBoosterPredict(booster_.get(), m->get(), 0, 0, 0, &len, &out) != 0 || len != 1) return 0;
    return static_cast<double>(out[0]);
  }
  nlohmann::json ToJson() const override { return {{"xgboost", saved_}}; }

 private:
  BoosterPtr booster_;
  nlohmann::json saved_;
  size_t features_;
};

Result<nlohmann::json> Save(BoosterHandle booster) {
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (XGBoosterSaveModelToBuffer(booster, R"({"format": "json"})", &len, &buf) != 0) {
    return XgbError("saving the model");
  }
  return ParseJson(std::string_view(buf, len), "xgboost model");
}

}  // namespace

Result<std::unique_ptr<Model>> FitGbt(const Dataset& data, uint64_t seed) {
  size_t p = data.x.empty() ? 0 : data.x[0].size();
  SP_ASSIGN_OR_RETURN(MatrixPtr train, Matrix(data.x, p));
  std::vector<float> labels(data.y.begin(), data.y.end());
  if (XGDMatrixSetFloatInfo(train.get(), "label", labels.data(), labels.size()) != 0) {
    return XgbError("setting the targets");
  }
  DMatrixHandle handles[] = {train.get()};
  BoosterHandle raw = nullptr;
  if (XGBoosterCreate(handles, 1, &raw) != 0) return XgbError("creating a booster");
  BoosterPtr booster(raw);
  for (const auto& [name, value] : kParams) {
    if (XGBoosterSetParam(raw, name, value) != 0) return XgbError(name);
  }
  std::string seed_text = std::to_string(seed % 2147483647);
  if (XGBoosterSetParam(raw, "seed", seed_text.c_str()) != 0) return XgbError("seed");
  for (int round = 0; round < kRounds; ++round) {
    if (XGBoosterUpdateOneIter(raw, round, train.get()) != 0) return XgbError("training");
  }
  SP_ASSIGN_OR_RETURN(nlohmann::json saved, Save(raw));
  return std::unique_ptr<Model>(new Gbt(std::move(booster), std::move(saved), p));
}

Result<std::unique_ptr<Model>> LoadGbt(const nlohmann::json& json, size_t features,
                                       const std::string& origin) {
  auto it = json.find("xgboost");
  if (it == json.end() || !it->is_object()) {
    return Status::Invalid(fmt::format(
        "{}: a gbt member lacks its 'xgboost' model (allowed: the object fit wrote)", origin));
  }
  BoosterHandle raw = nullptr;
  if (XGBoosterCreate(nullptr, 0, &raw) != 0) return XgbError("creating a booster");
  BoosterPtr booster(raw);
  std::string text = it->dump();
  if (XGBoosterLoadModelFromBuffer(raw, text.data(), text.size()) != 0) {
    return Status::Invalid(fmt::format("{}: the gbt member's xgboost model does not load: {}",
                                       origin, XGBGetLastError()));
  }
  bst_ulong n = 0;
  if (XGBoosterGetNumFeature(raw, &n) != 0 || n != features) {
    return Status::Invalid(
        fmt::format("{}: the gbt member reads {} features (allowed: {}, this feature set's)",
                    origin, n, features));
  }
  return std::unique_ptr<Model>(new Gbt(std::move(booster), *it, features));
}

}  // namespace scaleplan::predict
