// A fitted predictor as a step engine (sim/engine.h): the analytical engine's step, corrected by
// the predictor's estimate y_hat of ln(true / physics throughput): step time and every part of
// its breakdown divided by exp(y_hat), throughput and MFU multiplied by it. It runs no passes.
// validate scores it exactly as it scores the physics (`scaleplan validate --predictor FILE`).
#pragma once

#include "predict/predictor.h"
#include "sim/engine.h"

namespace scaleplan::predict {

class LearnedEngine final : public sim::Engine {
 public:
  explicit LearnedEngine(Predictor predictor) : predictor_(std::move(predictor)) {}
  std::string_view name() const override { return "learned"; }
  std::string_view description() const override {
    return "the analytical engine corrected by a fitted predictor (scaleplan fit)";
  }
  bool RunsPasses() const override { return false; }
  Result<sim::EventResult> Run(const plan::Plan& plan,
                               const sim::EventOptions& options) const override;
  const Predictor& predictor() const { return predictor_; }

 private:
  Predictor predictor_;
};

// The learned step of `plan` and the predictor's estimate for it.
Result<sim::StepResult> CorrectedStep(const Predictor& predictor, const plan::Plan& plan,
                                      Estimate* estimate = nullptr);

}  // namespace scaleplan::predict
