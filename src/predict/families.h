// The predictor families' fit and load functions (internal to predict; the registry is in
// predictor.cpp).
#pragma once

#include "predict/predictor.h"

namespace scaleplan::predict {

Result<std::unique_ptr<Model>> FitRidge(const Dataset& data, uint64_t seed);
Result<std::unique_ptr<Model>> LoadRidge(const nlohmann::json& json, size_t features,
                                         const std::string& origin);

// Defined in gbt.cpp, which is built only with SCALEPLAN_XGBOOST (GbtXgboostPrediction is also
// defined without it, as an error).
Result<std::unique_ptr<Model>> FitGbt(const Dataset& data, uint64_t seed);
Result<std::unique_ptr<Model>> FitGbtRank(const Dataset& data, uint64_t seed);
// What xgboost itself predicts for a gbt or gbt-rank member (calibrated as the member is): the
// member's Predict walks the trees without xgboost, and the tests check that the two agree.
Result<double> GbtXgboostPrediction(const Model& model, const std::vector<double>& x);
Result<std::unique_ptr<Model>> LoadGbt(const nlohmann::json& json, size_t features,
                                       const std::string& origin);

// Per-feature statistics of training rows: what standardizes a feature (z = (x - mean) * scale,
// scale 0 for a feature constant over the rows, which is then ignored) and the range the rows
// spanned.
struct Standardization {
  std::vector<double> mean, scale, lo, hi;
  static Standardization Of(const std::vector<std::vector<double>>& rows);
};

// Defined in mlp.cpp (always built); FitMlp trains through the libtorch plugin that
// -DSCALEPLAN_TORCH=ON builds (mlp.h).
Result<std::unique_ptr<Model>> FitMlp(const Dataset& data, uint64_t seed);
Result<std::unique_ptr<Model>> LoadMlp(const nlohmann::json& json, size_t features,
                                       const std::string& origin);

// The largest correction (ln of the measured over the physics' throughput) a member loaded from a
// file may reach: e^700 = 10^304, near the largest double. No fit comes near it (a fitted member
// stays within tens); a corrupt file, whose corrections would otherwise be clamped in silence at
// every prediction, does.
inline constexpr double kMaxCorrectionReach = 700;

// A finite number, or a list of `size` finite numbers, at `json[key]`; errors name origin and key.
Result<double> FiniteNumber(const nlohmann::json& json, const char* key, const std::string& origin);
Result<std::vector<double>> NumberList(const nlohmann::json& json, const char* key, size_t size,
                                       const std::string& origin);

}  // namespace scaleplan::predict
