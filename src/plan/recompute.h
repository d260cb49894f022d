// Which of Megatron-Core's recompute modules a model has: BuildPlan refuses the others under
// selective recomputation, and validate tries only these when it fills a row's recomputation.
#pragma once

#include <cstdint>
#include <string_view>

#include "spec/specs.h"

namespace scaleplan::plan {

// "" when `model` has `module` (one spec::RecomputeModule bit), else what the module needs.
std::string_view RecomputeModuleNeeds(const spec::ModelSpec& model, uint32_t module);

}  // namespace scaleplan::plan
