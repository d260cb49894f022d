#include "predict/engine.h"

#include <fmt/format.h>

#include <cmath>

#include "plan/memory.h"
#include "predict/features.h"
#include "sim/analytical.h"

namespace scaleplan::predict {

Result<sim::StepResult> CorrectedStep(const Predictor& predictor, const plan::Plan& plan,
                                      Estimate* estimate) {
  SP_ASSIGN_OR_RETURN(sim::StepResult step, sim::Evaluate(plan));
  Estimate e = predictor.Correct(Features(plan, step, plan::ComputeMemory(plan)));
  if (estimate != nullptr) *estimate = e;
  double speedup = std::exp(e.correction);
  step.step_time_s /= speedup;
  step.tokens_per_s_per_gpu *= speedup;
  step.model_flops_per_s_per_gpu *= speedup;
  step.mfu *= speedup;
  for (double* part :
       {&step.breakdown.compute_s, &step.breakdown.tp_comm_s, &step.breakdown.cp_comm_s,
        &step.breakdown.ep_comm_s, &step.breakdown.pp_comm_s, &step.breakdown.dp_comm_s,
        &step.breakdown.bubble_s, &step.breakdown.optimizer_s, &step.breakdown.other_s}) {
    *part /= speedup;
  }
  step.warnings.push_back(
      fmt::format("learned correction: x{:.3f} the physics' throughput (ensemble spread +-{:.1f}%)",
                  speedup, 100.0 * e.spread));
  step.engine = "learned";
  return step;
}

Result<sim::EventResult> LearnedEngine::Run(const plan::Plan& plan,
                                            const sim::EventOptions& options) const {
  std::string what;
  if (sim::NeedsPasses(options, &what)) {
    return Status::Invalid(fmt::format(
        "the learned engine corrects uniform steps and cannot run {} (allowed: an engine that "
        "runs passes: event)",
        what));
  }
  sim::EventResult result;
  SP_ASSIGN_OR_RETURN(result.step, CorrectedStep(predictor_, plan));
  return result;
}

}  // namespace scaleplan::predict
