// Reports of `scaleplan calibrate`: the factors (fitted or left, with why), per-row predictions
// before, after and cross-validated, the summary; and the calibration file it writes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "validate/calibrate.h"

namespace scaleplan::report {

nlohmann::json CalibrationJson(const validate::CalibrationReport& report);
std::string CalibrationText(const validate::CalibrationReport& report, bool verbose);
// The file `--out` writes and `--calibration` reads (validate::ParseCalibration).
std::string CalibrationYaml(const validate::Calibration& calibration);

}  // namespace scaleplan::report
