// Reports of `scaleplan goodput` (goodput/goodput.h): the failure model on this job, the
// checkpoint and restart, effective time and where the rest goes, the Monte Carlo spread, the
// restart budget for a target and the scale sweep; and the goodput section of `simulate`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "goodput/goodput.h"
#include "plan/plan.h"

namespace scaleplan::report {

// A duration in the unit a planner reads: "42.0 s", "12.5 min", "3.20 h", "72.0 days" (3
// significant digits past 100,000 days).
std::string Duration(double seconds);

nlohmann::json GoodputJson(const plan::Plan& plan, const goodput::GoodputStudy& study);
std::string GoodputText(const plan::Plan& plan, const goodput::GoodputStudy& study);

// One job size (the section simulate prints, a row of the sweep).
nlohmann::json GoodputPointJson(const goodput::GoodputPoint& point);
// The goodput section of simulate's report: the failure model's name and the job's point.
nlohmann::json GoodputSectionJson(const goodput::GoodputStudy& study);
std::string GoodputSectionText(const goodput::GoodputStudy& study);

}  // namespace scaleplan::report
