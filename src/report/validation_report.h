// Reports of `scaleplan validate`: per-row predicted vs measured with the assumptions each row
// needed, then per-file mean/max absolute error and Spearman rank correlation.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "validate/validate.h"

namespace scaleplan::report {

nlohmann::json ValidationJson(const std::vector<validate::FileReport>& files);
std::string ValidationText(const std::vector<validate::FileReport>& files, bool verbose);
// The unit of a measured metric as the reports print its values: tokens/s/GPU, TFLOP/s/GPU or
// s per step; "" for another (validate prints nccl-tests' time_s in us).
std::string_view MetricUnit(std::string_view metric);

}  // namespace scaleplan::report
