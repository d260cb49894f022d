// Test helpers shared by the predict and CubicML tests.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "predict/predictor.h"

namespace scaleplan::predict::testing {

// A member that predicts `value` for every job.
class Constant final : public Model {
 public:
  explicit Constant(double value) : value_(value) {}
  double Predict(const std::vector<double>&) const override { return value_; }
  nlohmann::json ToJson() const override { return nullptr; }

 private:
  double value_;
};

}  // namespace scaleplan::predict::testing
