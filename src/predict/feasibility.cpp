#include "predict/feasibility.h"

#include <Eigen/Dense>
#include <cmath>

#include "predict/families.h"

namespace scaleplan::predict {

namespace {

constexpr int kNewtonSteps = 50;

double Sigmoid(double t) {
  return t >= 0 ? 1.0 / (1.0 + std::exp(-t)) : std::exp(t) / (1.0 + std::exp(t));
}

}  // namespace

std::optional<Feasibility> Feasibility::Fit(const std::vector<std::vector<double>>& x,
                                            const std::vector<bool>& oom) {
  size_t positives = 0;
  for (bool o : oom) positives += o ? 1 : 0;
  if (x.empty() || positives == 0 || positives == x.size()) return std::nullopt;
  Standardization st = Standardization::Of(x);
  const Eigen::Index n = static_cast<Eigen::Index>(x.size());
  const Eigen::Index p = static_cast<Eigen::Index>(st.mean.size());
  // Column 0 is the intercept.
  Eigen::MatrixXd z(n, p + 1);
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    z(i, 0) = 1;
    for (Eigen::Index j = 0; j < p; ++j) {
      const auto jj = static_cast<size_t>(j);
      z(i, j + 1) = (x[static_cast<size_t>(i)][jj] - st.mean[jj]) * st.scale[jj];
    }
    y(i) = oom[static_cast<size_t>(i)] ? 1 : 0;
  }
  Eigen::VectorXd w = Eigen::VectorXd::Zero(p + 1);
  Eigen::VectorXd penalty = Eigen::VectorXd::Constant(p + 1, kFeasibilityPenalty);
  penalty(0) = 0;
  for (int step = 0; step < kNewtonSteps; ++step) {
    Eigen::VectorXd prob = (z * w).unaryExpr([](double t) { return Sigmoid(t); });
    Eigen::VectorXd grad = z.transpose() * (prob - y) + penalty.cwiseProduct(w);
    Eigen::VectorXd curvature = prob.cwiseProduct(Eigen::VectorXd::Ones(n) - prob);
    Eigen::MatrixXd hessian = z.transpose() * curvature.asDiagonal() * z;
    hessian.diagonal() += penalty;
    hessian.diagonal().array() += 1e-9;  // the intercept's curvature can vanish
    Eigen::VectorXd delta = hessian.ldlt().solve(grad);
    if (!delta.allFinite()) break;
    w -= delta;
    if (delta.lpNorm<Eigen::Infinity>() < 1e-10) break;
  }
  Feasibility f;
  f.mean_ = std::move(st.mean);
  f.scale_ = std::move(st.scale);
  f.bias_ = w(0);
  f.weights_.assign(w.data() + 1, w.data() + 1 + p);
  return f;
}

double Feasibility::OomProbability(const std::vector<double>& x) const {
  double t = bias_;
  for (size_t j = 0; j < weights_.size() && j < x.size(); ++j) {
    t += weights_[j] * (x[j] - mean_[j]) * scale_[j];
  }
  return Sigmoid(t);
}

}  // namespace scaleplan::predict
