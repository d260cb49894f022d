// Reports of `scaleplan rec`: the ranking model and job, the answer's step breakdown, memory and
// sharding, and every planner's plan rated by every engine (recsys/study.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "recsys/study.h"
#include "recsys/validate.h"

namespace scaleplan::report {

nlohmann::json RecJson(const recsys::RecStudy& study);
std::string RecText(const recsys::RecStudy& study);
// The answer's plan as `--emit-plan` writes it: the TorchRec-style plan and its per-rank stats.
nlohmann::json RecPlanFile(const recsys::RecStudy& study);

nlohmann::json RecValidationJson(const recsys::RecValidation& validation);
std::string RecValidationText(const recsys::RecValidation& validation);

}  // namespace scaleplan::report
