#include "predict/engine.h"

#include <fmt/format.h>

#include <cmath>

#include "plan/memory.h"
#include "predict/features.h"
#include "sim/analytical.h"

namespace scaleplan::predict {

namespace {

// The analytical `step` of `plan` corrected by the predictor's estimate plus `optimism` spreads;
// refused when `feasibility` (if any) gives it P(oom) > 0.5.
Result<sim::StepResult> Corrected(const Predictor& predictor, const plan::Plan& plan,
                                  sim::StepResult step, const plan::MemoryReport& memory,
                                  double optimism, const std::optional<Feasibility>& feasibility,
                                  Estimate* estimate) {
  std::vector<double> x = Features(plan, step, memory);
  if (feasibility) {
    double p = feasibility->OomProbability(x);
    if (p > 0.5) {
      return Status::Invalid(
                 fmt::format("the feasibility model gives P(out of memory) = {:.2f} (allowed: "
                             "at most 0.5)",
                             p))
          .WithKey(kPredictedOomKey);
    }
  }
  Estimate e = predictor.Correct(x);
  if (estimate != nullptr) *estimate = e;
  double speedup = std::exp(e.correction + optimism * e.spread);
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
                  std::exp(e.correction), 100.0 * e.spread));
  if (optimism != 0) {
    step.warnings.push_back(
        fmt::format("ranked optimistically: the estimate plus {:g} ensemble spreads (x{:.3f})",
                    optimism, std::exp(optimism * e.spread)));
  }
  step.engine = "learned";
  return step;
}

}  // namespace

Result<sim::StepResult> CorrectedStep(const Predictor& predictor, const plan::Plan& plan,
                                      Estimate* estimate) {
  SP_ASSIGN_OR_RETURN(sim::StepResult step, sim::Evaluate(plan));
  return Corrected(predictor, plan, std::move(step), plan::ComputeMemory(plan), 0, std::nullopt,
                   estimate);
}

Result<sim::StepResult> LearnedEngine::StepGiven(const plan::Plan& plan,
                                                 const sim::StepResult& analytical,
                                                 const plan::MemoryReport& memory) const {
  return Corrected(predictor_, plan, analytical, memory, optimism_, feasibility_, nullptr);
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
  SP_ASSIGN_OR_RETURN(sim::StepResult step, sim::Evaluate(plan));
  SP_ASSIGN_OR_RETURN(result.step,
                      Corrected(predictor_, plan, std::move(step), plan::ComputeMemory(plan),
                                optimism_, feasibility_, nullptr));
  return result;
}

}  // namespace scaleplan::predict
