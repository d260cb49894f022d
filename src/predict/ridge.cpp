// Ridge regression on standardized features, its penalty chosen by exact leave-one-out error.
#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "core/json.h"
#include "predict/families.h"

namespace scaleplan::predict {

namespace {

// Penalties tried, in units of the row count (standardized features: X'X has n on its diagonal).
constexpr double kLambdaGrid[] = {1e-4, 1e-3, 1e-2, 0.1, 1, 10};

class Ridge final : public Model {
 public:
  Ridge(double lambda, double bias, std::vector<double> mean, std::vector<double> scale,
        std::vector<double> weights, std::vector<double> lo, std::vector<double> hi)
      : lambda_(lambda),
        bias_(bias),
        mean_(std::move(mean)),
        scale_(std::move(scale)),
        weights_(std::move(weights)),
        lo_(std::move(lo)),
        hi_(std::move(hi)) {}
  // A feature outside the range the jobs spanned is clamped into it: a linear model extrapolates
  // without bound, and a job beyond every training job is where it would.
  double Predict(const std::vector<double>& x) const override {
    double y = bias_;
    for (size_t j = 0; j < weights_.size() && j < x.size(); ++j) {
      double v = std::min(std::max(x[j], lo_[j]), hi_[j]);
      y += weights_[j] * (v - mean_[j]) * scale_[j];
    }
    return y;
  }
  nlohmann::json ToJson() const override {
    return {{"lambda", lambda_},   {"bias", bias_}, {"mean", mean_}, {"scale", scale_},
            {"weights", weights_}, {"min", lo_},    {"max", hi_}};
  }

 private:
  double lambda_, bias_;
  std::vector<double> mean_, scale_, weights_, lo_, hi_;
};

}  // namespace

Standardization Standardization::Of(const std::vector<std::vector<double>>& rows) {
  const size_t p = rows.empty() ? 0 : rows[0].size();
  Standardization s;
  s.mean.assign(p, 0.0);
  s.scale.assign(p, 0.0);
  s.lo.assign(p, INFINITY);
  s.hi.assign(p, -INFINITY);
  for (size_t j = 0; j < p; ++j) {
    double m = 0, v = 0;
    for (const auto& row : rows) {
      m += row[j];
      s.lo[j] = std::min(s.lo[j], row[j]);
      s.hi[j] = std::max(s.hi[j], row[j]);
    }
    m /= static_cast<double>(rows.size());
    for (const auto& row : rows) v += (row[j] - m) * (row[j] - m);
    double sd = std::sqrt(v / static_cast<double>(rows.size()));
    s.mean[j] = m;
    s.scale[j] = sd > 1e-9 ? 1.0 / sd : 0.0;  // a constant feature is ignored
  }
  return s;
}

Result<std::unique_ptr<Model>> FitRidge(const Dataset& data, uint64_t /*seed*/) {
  const Eigen::Index n = static_cast<Eigen::Index>(data.x.size());
  const Eigen::Index p = n > 0 ? static_cast<Eigen::Index>(data.x[0].size()) : 0;
  Standardization st = Standardization::Of(data.x);
  std::vector<double>&mean = st.mean, &scale = st.scale, &lo = st.lo, &hi = st.hi;
  Eigen::MatrixXd z(n, p);
  Eigen::VectorXd y(n);
  double ybar = 0;
  for (double v : data.y) ybar += v;
  ybar /= static_cast<double>(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < p; ++j) {
      z(i, j) =
          (data.x[static_cast<size_t>(i)][static_cast<size_t>(j)] - mean[static_cast<size_t>(j)]) *
          scale[static_cast<size_t>(j)];
    }
    y(i) = data.y[static_cast<size_t>(i)] - ybar;
  }
  const Eigen::MatrixXd gram = z.transpose() * z;
  const Eigen::VectorXd zty = z.transpose() * y;
  double best_loo = INFINITY, best_lambda = 0;
  Eigen::VectorXd best_w = Eigen::VectorXd::Zero(p);
  for (double unit : kLambdaGrid) {
    double lambda = unit * static_cast<double>(n);
    Eigen::MatrixXd a = gram;
    a.diagonal().array() += lambda;
    Eigen::LDLT<Eigen::MatrixXd> ldlt(a);
    Eigen::VectorXd w = ldlt.solve(zty);
    // h_ii = z_i' A^-1 z_i + 1/n (the intercept); the leave-one-out residual is r_i / (1 - h_ii).
    Eigen::MatrixXd ainv_zt = ldlt.solve(z.transpose());
    Eigen::VectorXd r = y - z * w;
    double loo = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      double h = z.row(i).dot(ainv_zt.col(i)) + 1.0 / static_cast<double>(n);
      double e = r(i) / std::max(1.0 - h, 1e-6);
      loo += e * e;
    }
    if (std::isfinite(loo) && loo < best_loo) {
      best_loo = loo;
      best_lambda = lambda;
      best_w = w;
    }
  }
  std::vector<double> weights(best_w.data(), best_w.data() + p);
  return std::unique_ptr<Model>(new Ridge(best_lambda, ybar, std::move(mean), std::move(scale),
                                          std::move(weights), std::move(lo), std::move(hi)));
}

Result<std::unique_ptr<Model>> LoadRidge(const nlohmann::json& json, size_t p,
                                         const std::string& origin) {
  SP_ASSIGN_OR_RETURN(std::vector<double> mean, NumberList(json, "mean", p, origin));
  SP_ASSIGN_OR_RETURN(std::vector<double> scale, NumberList(json, "scale", p, origin));
  SP_ASSIGN_OR_RETURN(std::vector<double> weights, NumberList(json, "weights", p, origin));
  SP_ASSIGN_OR_RETURN(std::vector<double> lo, NumberList(json, "min", p, origin));
  SP_ASSIGN_OR_RETURN(std::vector<double> hi, NumberList(json, "max", p, origin));
  for (size_t j = 0; j < p; ++j) {
    if (lo[j] > hi[j]) {
      return Status::Invalid(
          fmt::format("{}: min[{}] = {} is above max[{}] = {} (allowed: min <= max)", origin, j,
                      lo[j], j, hi[j]));
    }
  }
  SP_ASSIGN_OR_RETURN(double bias, FiniteNumber(json, "bias", origin));
  SP_ASSIGN_OR_RETURN(double lambda, FiniteNumber(json, "lambda", origin));
  if (lambda < 0) {
    return Status::Invalid(fmt::format("{}: lambda = {} (allowed: a penalty >= 0)", origin, lambda))
        .WithKey("lambda");
  }
  for (size_t j = 0; j < p; ++j) {
    if (scale[j] < 0) {
      return Status::Invalid(
                 fmt::format("{}: scale[{}] = {} (allowed: >= 0, one over the feature's "
                             "standard deviation, 0 for a constant feature)",
                             origin, j, scale[j]))
          .WithKey("scale");
    }
  }
  // The largest correction the member can give, its features clamped to [min, max], each
  // feature's worst case added (correlated features with opposite weights never reach theirs
  // together, so a fitted member can exceed kMaxCorrection here: 23 is seen), at most
  // kMaxCorrectionReach (families.h).
  constexpr double kMaxReach = kMaxCorrectionReach;
  double reach = std::fabs(bias);
  for (size_t j = 0; j < p; ++j) {
    reach += std::fabs(weights[j]) * scale[j] *
             std::max(std::fabs(lo[j] - mean[j]), std::fabs(hi[j] - mean[j]));
  }
  if (!(reach <= kMaxReach)) {
    return Status::Invalid(
               fmt::format("{}: bias and weights reach a correction of {:g} (ln of the "
                           "measured over the physics' throughput) inside the features' "
                           "[min, max] (allowed: at most {:g}; a fitted member stays within "
                           "tens: refit with `scaleplan fit`)",
                           origin, reach, kMaxReach))
        .WithKey("weights");
  }
  return std::unique_ptr<Model>(new Ridge(lambda, bias, std::move(mean), std::move(scale),
                                          std::move(weights), std::move(lo), std::move(hi)));
}

}  // namespace scaleplan::predict
