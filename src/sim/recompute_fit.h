// The fastest recomputation under which a plan fits in memory: what a run that does not say how
// it checkpointed must have used (validate), and what a search may give a candidate that does not
// fit as decoded (search --fit-recompute).
#pragma once

#include <optional>

#include "plan/plan.h"
#include "sim/analytical.h"
#include "spec/specs.h"

namespace scaleplan::sim {

// Which recomputation FastestRecomputeThatFits may choose (a search whose space leaves out
// selective or full recomputation, or pins their details, allows less).
struct RecomputeChoices {
  bool modules = true;  // selective recomputation (Megatron-Core's modules, or per op)
  bool blocks = true;   // full recomputation of the first n layers of each chunk
  // What "fits" means: the peak within the usable memory (false; what planners keep to), or
  // within the GPU's capacity, tight included (true; plan/memory.h's verdicts: what a run that
  // is known to have run needed at least, validate's reading of a published row).
  bool tight_fits = false;
};

// `plan` (for `job`'s model, cluster and framework) as it is if it fits; else the faster, by
// `evaluator`'s step, of
//   - selective recomputation (plan.recompute = selective): for a framework that recomputes
//     Megatron-Core's modules, the modules the model has (plan.recompute_modules), added one at a
//     time, the one that costs least step time per byte it frees first, until the plan fits; for
//     one that checkpoints per op (torchtitan), its own policy;
//   - whole layers (plan.recompute = full): the least plan.recompute_layers n (the first n of each
//     chunk, by bisection; memory falls as n grows) that fits, or all of them;
// or nullopt where neither fits. Adding a module never raises the peak (each held micro-batch
// drops what the module frees, and only one layer's worth comes back while its backward runs),
// so where every module together does not fit, no set of them does, and the ordered trials are
// skipped. `checks`: BuildPlan's (kPlanOnly where the caller has checked the model and cluster
// once). `evaluator` must be built for the job's GPU, precision and framework.
std::optional<spec::PlanSpec> FastestRecomputeThatFits(const spec::JobSpec& job,
                                                       const spec::PlanSpec& plan,
                                                       Evaluator& evaluator,
                                                       plan::Checks checks = plan::Checks::kAll,
                                                       RecomputeChoices choices = {});

}  // namespace scaleplan::sim
