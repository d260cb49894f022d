// Reports of `scaleplan simulate`: the step-time breakdown with the memory block.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/analytical.h"

namespace scaleplan::report {

nlohmann::json StepJson(const plan::Plan& plan, const plan::MemoryReport& memory,
                        const sim::StepResult& step);
std::string StepText(const plan::Plan& plan, const plan::MemoryReport& memory,
                     const sim::StepResult& step);

}  // namespace scaleplan::report
