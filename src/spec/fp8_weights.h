// Where a plan's weights may be held in FP8 alone (plan.fp8_params), stated once for the launch
// configuration and for validate's assumption about runs that do not say.
#pragma once

#include "spec/specs.h"

namespace scaleplan::spec {

// Megatron-LM's --fp8-param-gather (Transformer Engine's fp8_model_init) keeps the weights as
// their FP8 cast alone and gathers them from the distributed optimizer's shards (recalled: it
// needs the distributed optimizer or FSDP), so it takes precision fp8 and ZeRO 1 or more. No FP4
// option is known.
inline bool Fp8ParamGatherApplies(const PlanSpec& plan) {
  return plan.precision == Precision::kFp8 && plan.zero != ZeroMode::kZero0;
}

}  // namespace scaleplan::spec
