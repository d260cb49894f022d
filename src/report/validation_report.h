// Reports of `scaleplan validate`: per-row predicted vs measured with the assumptions each row
// needed, then per-file mean/max absolute error and Spearman rank correlation.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "validate/validate.h"

namespace scaleplan::report {

nlohmann::json ValidationJson(const std::vector<validate::FileReport>& files);
std::string ValidationText(const std::vector<validate::FileReport>& files, bool verbose);

}  // namespace scaleplan::report
