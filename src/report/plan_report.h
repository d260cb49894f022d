// Reports of a plan: the machine-readable JSON and the human-readable summary of
// `scaleplan plan`. Pure functions of their inputs; they never print.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "plan/memory.h"
#include "plan/plan.h"
#include "schedule/schedule.h"

namespace scaleplan::report {

struct PlanReportOptions {
  bool include_ops = false;  // add the per-op table of one layer, the embedding and the head
};

nlohmann::json PlanJson(const plan::Plan& plan, const plan::MemoryReport& memory,
                        const PlanReportOptions& options);
std::string PlanText(const plan::Plan& plan, const plan::MemoryReport& memory,
                     const PlanReportOptions& options);

// One line per preset: kind, name, description.
std::string PresetsText();
// `scaleplan schedules`: each schedule, what it does and its verdict for the example shape.
std::string SchedulesText(const std::vector<schedule::SurveyRow>& rows);
nlohmann::json PresetsJson();

}  // namespace scaleplan::report
