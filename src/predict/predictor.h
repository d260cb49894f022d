// Learned predictors (CubicML, arXiv:2409.04585): a model of what the physics misses, fitted on
// measured jobs.
//
// Target: y = ln(measured throughput / physics throughput), the log of how much faster the job
// ran than the analytical engine said (throughput: tokens/s/GPU or TFLOP/s/GPU, or 1 / step
// time). A predictor's estimate of a job is physics x exp(y_hat): with no data it is the physics,
// and what it learns is a correction in the physics' own units, so a few dozen jobs suffice where
// learning the step time itself needs hundreds (CubicML's predecessor, arXiv:2311.07870, needed
// about 100 evaluated jobs).
//
// Families (a named registry; Families() lists them, with whether this build has them):
//   ridge  linear least squares on standardized features with an L2 penalty chosen from a grid
//          by its exact leave-one-out error (the hat-matrix identity e_i / (1 - h_ii)); Eigen
//   gbt    gradient-boosted regression trees (xgboost's C API: depth 3, learning rate 0.05,
//          300 rounds, row and column subsampling 0.8); built with -DSCALEPLAN_XGBOOST=ON
//   gbt-rank  the same trees on xgboost's rank:pairwise within decisions (the physics' log
//          throughput as base margin), the level set by the mean residual (gbt.cpp): a ranker,
//          whose corrections order plans but overstate their size
//   mlp    a two-hidden-layer perceptron trained with libtorch on the squared error plus a
//          margin ranking loss within decisions (mlp.cpp); built with -DSCALEPLAN_TORCH=ON
// A predictor is an ensemble of `members` models of one family, each fitted on a bootstrap
// sample of the jobs with its own seed: the estimate is their mean and the spread (standard
// deviation across members) is its uncertainty, what `suggest` trades against the estimate.
//
// The predictor file (JSON) records the format version, the feature names (features.h), the
// family, the members and where it was fitted; a file of another format or feature set, or of a
// family this build lacks, is refused with the reason.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace scaleplan::predict {

inline constexpr int kPredictorFormatVersion = 1;
inline constexpr int64_t kMaxMembers = 64;
// The fewest measured jobs a predictor is fitted on.
inline constexpr size_t kMinTrainingJobs = 3;
// The largest correction a member may give, ln(10): a job ten times faster or slower than the
// physics says is a mapping error, not something to learn. A member's value beyond it (or not
// finite, from a corrupt file) is clamped.
inline constexpr double kMaxCorrection = 2.302585092994046;

// Rows of features (each FeatureNames().size() long) and their targets.
struct Dataset {
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  // For a ranking loss (mlp), when given (one per row, else empty): each row's decision (rows of
  // one decision are ranked against each other) and ln of its physics throughput, so that the
  // measured log throughput is base + y.
  std::vector<std::string> group;
  std::vector<double> base;
};

// One fitted model of a family.
class Model {
 public:
  virtual ~Model() = default;
  virtual double Predict(const std::vector<double>& x) const = 0;
  virtual nlohmann::json ToJson() const = 0;
};

struct FamilyInfo {
  std::string name;
  std::string description;
  bool built = false;   // false: this build lacks the library (the CMake option to turn on)
  std::string missing;  // what to rebuild with when not built
  Result<std::unique_ptr<Model>> (*fit)(const Dataset& data, uint64_t seed);
  // Reads a member written by ToJson for a predictor of `features` features (also for a family
  // not built, when it needs no library to run: mlp).
  Result<std::unique_ptr<Model>> (*load)(const nlohmann::json& json, size_t features,
                                         const std::string& origin);
};
const std::vector<FamilyInfo>& Families();
std::vector<std::string> FamilyNames();
// The family called `name`, built into this binary (for kLoad, one whose files this binary reads:
// an mlp is run without libtorch); errors name `origin`.
enum class FamilyUse { kFit, kLoad };
Result<const FamilyInfo*> FindFamily(std::string_view name, const std::string& origin,
                                     FamilyUse use = FamilyUse::kFit);

struct Estimate {
  double correction = 0;  // y_hat: ln(true / physics throughput)
  double spread = 0;      // standard deviation across members
};

struct Predictor {
  std::string family;
  std::vector<std::string> features;
  std::vector<std::shared_ptr<const Model>> members;
  // Provenance, written to the file.
  std::vector<std::string> trained_on;  // the run files
  int64_t jobs = 0;
  std::string origin;  // the file it was read from ("" when fitted in this run)

  Estimate Correct(const std::vector<double>& x) const;
};

// Fits `members` models of `family` on bootstrap samples of `data` (member 0 on all of it when
// members = 1), seeded from `seed`. Errors: an unknown or unbuilt family, fewer than
// kMinTrainingJobs rows.
Result<Predictor> FitPredictor(const Dataset& data, std::string_view family, int64_t members,
                               uint64_t seed);

nlohmann::json PredictorJson(const Predictor& predictor);
Result<Predictor> ParsePredictor(std::string_view text, const std::string& origin);
Result<Predictor> LoadPredictor(const std::string& path);

}  // namespace scaleplan::predict
