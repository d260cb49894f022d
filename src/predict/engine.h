// A fitted predictor as a step engine (sim/engine.h): the analytical engine's step, corrected by
// the predictor's estimate y_hat of ln(true / physics throughput): step time and every part of
// its breakdown divided by exp(y_hat), throughput and MFU multiplied by it. It runs no passes.
// validate scores it exactly as it scores the physics (`scaleplan validate --predictor FILE`).
#pragma once

#include <optional>

#include "predict/feasibility.h"
#include "predict/predictor.h"
#include "sim/engine.h"

namespace scaleplan::predict {

// The key of a plan the feasibility model refuses (a search counts its refusals under it).
inline constexpr const char* kPredictedOomKey = "predicted out of memory";

// With `optimism` k > 0 (what suggest ranks by) the correction is y_hat + k * spread: plans the
// ensemble is unsure about look faster by k standard deviations (an upper confidence bound).
// With a feasibility model, a plan it gives P(oom) > 0.5 is refused (key "predicted out of
// memory"). A predictor without members corrects nothing: the physics.
class LearnedEngine final : public sim::Engine {
 public:
  explicit LearnedEngine(Predictor predictor, double optimism = 0,
                         std::optional<Feasibility> feasibility = std::nullopt)
      : predictor_(std::move(predictor)),
        optimism_(optimism),
        feasibility_(std::move(feasibility)) {}
  std::string_view name() const override { return "learned"; }
  std::string_view description() const override {
    return "the analytical engine corrected by a fitted predictor (scaleplan fit)";
  }
  bool RunsPasses() const override { return false; }
  Result<sim::EventResult> Run(const plan::Plan& plan,
                               const sim::EventOptions& options) const override;
  // The analytical step and memory report reused (no second evaluation).
  Result<sim::StepResult> StepGiven(const plan::Plan& plan, const sim::StepResult& analytical,
                                    const plan::MemoryReport& memory) const override;
  const Predictor& predictor() const { return predictor_; }

 private:
  Predictor predictor_;
  double optimism_ = 0;
  std::optional<Feasibility> feasibility_;
};

// The learned step of `plan` and the predictor's estimate for it.
Result<sim::StepResult> CorrectedStep(const Predictor& predictor, const plan::Plan& plan,
                                      Estimate* estimate = nullptr);

}  // namespace scaleplan::predict
