// Which plans run out of memory on this cluster, learned from the jobs that did (CubicML trains on
// failed jobs too): the memory model (plan/memory.h) says what fits on paper, a cluster's
// allocator, fragmentation and framework buffers decide what fits in practice.
//
// Logistic regression on the standardized features (features.h, the memory model's peak over
// capacity among them):
//   P(oom | x) = 1 / (1 + exp(-(b + w . z))),   z_j = (x_j - mean_j) * scale_j
// fitted by Newton's method on the penalized log-likelihood
//   sum_i [ y_i ln P_i + (1 - y_i) ln(1 - P_i) ] - (lambda / 2) |w|^2,   lambda =
//   kFeasibilityPenalty
// (the intercept b unpenalized), so that jobs that separate perfectly still give finite weights.
// Fitted only when the jobs hold both outcomes; jobs that failed for another reason (status
// failed, timeout) say nothing about memory and are not used.
#pragma once

#include <optional>
#include <vector>

#include "core/status.h"

namespace scaleplan::predict {

inline constexpr double kFeasibilityPenalty = 1.0;

class Feasibility {
 public:
  // nullopt when `oom` is all true or all false (nothing to tell apart). Precondition: rows of
  // equal length, one label per row.
  static std::optional<Feasibility> Fit(const std::vector<std::vector<double>>& x,
                                        const std::vector<bool>& oom);
  double OomProbability(const std::vector<double>& x) const;

 private:
  std::vector<double> mean_, scale_, weights_;
  double bias_ = 0;
};

}  // namespace scaleplan::predict
