// Reports of `scaleplan fit`: the predictor fitted and its scores against the physics alone
// (in-sample, k-fold, leave-one-source-out), with every job's predictions when asked; and the
// predictor file `--out` writes (predict::ParsePredictor reads it).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "predict/fit.h"

namespace scaleplan::report {

nlohmann::json FitJson(const predict::FitReport& report);
std::string FitText(const predict::FitReport& report, bool verbose);
std::string PredictorFile(const predict::Predictor& predictor);

}  // namespace scaleplan::report
