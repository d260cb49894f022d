// The fastest recomputation under which a plan fits in memory: what a run that does not say how
// it checkpointed must have used (validate), and what a search may give a candidate that does not
// fit as decoded (search --fit-recompute).
#pragma once

#include <optional>

#include "plan/plan.h"
#include "sim/analytical.h"
#include "spec/specs.h"

namespace scaleplan::sim {

// `plan` (for `job`'s model, cluster and framework) as it is if it fits; else the faster, by
// `evaluator`'s step, of
//   - Megatron-Core's recompute modules (plan.recompute = selective, plan.recompute_modules; only
//     for a framework that recomputes modules): the modules the model has, added one at a time,
//     the one that costs least step time per byte it frees first, until the plan fits;
//   - whole layers (plan.recompute = full): the least plan.recompute_layers n (the first n of each
//     chunk, by bisection; memory falls as n grows) that fits, or all of them;
// or nullopt where neither fits (where whole layers do not, the modules are not tried: full
// recomputation keeps the least). `checks`: BuildPlan's (kPlanOnly where the caller has checked
// the model and cluster once). `evaluator` must be built for the job's GPU, precision and
// framework.
std::optional<spec::PlanSpec> FastestRecomputeThatFits(const spec::JobSpec& job,
                                                       const spec::PlanSpec& plan,
                                                       Evaluator& evaluator,
                                                       plan::Checks checks = plan::Checks::kAll);

}  // namespace scaleplan::sim
