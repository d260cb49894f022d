// A small multilayer perceptron trained with libtorch, with a margin ranking loss beside the
// squared error (built with -DSCALEPLAN_TORCH=ON).
//
//   z        = clamp(x, training range) standardized (families.h's Standardization)
//   y_hat    = w3 . relu(W2 relu(W1 z + b1) + b2) + b3          two hidden layers of kHidden
//   loss     = mean (y_hat - y)^2
//            + kRankWeight * mean over pairs (i, j) of one decision with t_i > t_j of
//                max(0, kMargin - ((base_i + y_hat_i) - (base_j + y_hat_j)))
// where t = base + y is the measured log throughput and base the physics' (Dataset): the pairs
// teach the order of the configurations one decision compares, which the squared error of the
// correction alone can leave wrong when the corrections are small beside the physics' spread.
// At most kMaxPairs pairs, drawn with the member's seed when there are more. Adam (learning
// rate 0.01, weight decay 1e-4), full batch, kEpochs epochs, one intra-op thread; deterministic
// for a seed.
//
// Prediction runs the same network by hand from the stored weights (no libtorch call): a search
// asks it for hundreds of thousands of plans from several threads.
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "predict/families.h"

namespace scaleplan::predict {

namespace {

constexpr int64_t kHidden = 32;
constexpr int kEpochs = 400;
constexpr double kRankWeight = 1.0;
constexpr double kMargin = 0.01;
constexpr size_t kMaxPairs = 20000;

// Row-major weights of one dense layer.
struct Layer {
  size_t in = 0, out = 0;
  std::vector<double> w;  // out x in
  std::vector<double> b;  // out
};

class Mlp final : public Model {
 public:
  Mlp(Standardization st, std::vector<Layer> layers)
      : st_(std::move(st)), layers_(std::move(layers)) {}

  double Predict(const std::vector<double>& x) const override {
    std::vector<double> a(st_.mean.size());
    for (size_t j = 0; j < a.size() && j < x.size(); ++j) {
      double v = std::min(std::max(x[j], st_.lo[j]), st_.hi[j]);
      a[j] = (v - st_.mean[j]) * st_.scale[j];
    }
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& layer = layers_[l];
      std::vector<double> next(layer.out);
      for (size_t o = 0; o < layer.out; ++o) {
        double s = layer.b[o];
        for (size_t i = 0; i < layer.in; ++i) s += layer.w[o * layer.in + i] * a[i];
        next[o] = l + 1 < layers_.size() ? std::max(0.0, s) : s;
      }
      a = std::move(next);
    }
    return a.empty() ? 0.0 : a[0];
  }

  nlohmann::json ToJson() const override {
    nlohmann::json layers = nlohmann::json::array();
    for (const Layer& l : layers_) {
      layers.push_back({{"in", l.in}, {"out", l.out}, {"weights", l.w}, {"bias", l.b}});
    }
    return {{"mean", st_.mean}, {"scale", st_.scale}, {"min", st_.lo},
            {"max", st_.hi},    {"layers", layers}};
  }

 private:
  Standardization st_;
  std::vector<Layer> layers_;
};

Layer FromLinear(const torch::nn::Linear& linear) {
  Layer l;
  torch::Tensor w = linear->weight.detach().to(torch::kFloat64).contiguous();
  torch::Tensor b = linear->bias.detach().to(torch::kFloat64).contiguous();
  l.out = static_cast<size_t>(w.size(0));
  l.in = static_cast<size_t>(w.size(1));
  l.w.assign(w.data_ptr<double>(), w.data_ptr<double>() + w.numel());
  l.b.assign(b.data_ptr<double>(), b.data_ptr<double>() + b.numel());
  return l;
}

}  // namespace

Result<std::unique_ptr<Model>> FitMlp(const Dataset& data, uint64_t seed) {
  torch::set_num_threads(1);
  torch::manual_seed(seed);
  const size_t n = data.x.size();
  const size_t p = n > 0 ? data.x[0].size() : 0;
  Standardization st = Standardization::Of(data.x);
  std::vector<float> flat;
  flat.reserve(n * p);
  for (const auto& row : data.x) {
    for (size_t j = 0; j < p; ++j) {
      flat.push_back(static_cast<float>((row[j] - st.mean[j]) * st.scale[j]));
    }
  }
  torch::Tensor x = torch::from_blob(flat.data(), {static_cast<int64_t>(n), static_cast<int64_t>(p)},
                                     torch::kFloat32)
                        .clone();
  std::vector<float> yv(data.y.begin(), data.y.end());
  torch::Tensor y = torch::from_blob(yv.data(), {static_cast<int64_t>(n)}, torch::kFloat32).clone();
  double ybar = 0;
  for (double v : data.y) ybar += v;
  ybar /= static_cast<double>(std::max<size_t>(n, 1));

  // Pairs of one decision, ordered by the measured log throughput (base + y).
  std::vector<int64_t> hi, lo;
  std::vector<float> base_gap;  // base_hi - base_lo
  if (data.group.size() == n && data.base.size() == n) {
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t i = 0; i < n; ++i) groups[data.group[i]].push_back(i);
    std::vector<std::pair<size_t, size_t>> pairs;
    for (const auto& [name, rows] : groups) {
      for (size_t a = 0; a < rows.size(); ++a) {
        for (size_t b = a + 1; b < rows.size(); ++b) {
          size_t i = rows[a], j = rows[b];
          double ti = data.base[i] + data.y[i], tj = data.base[j] + data.y[j];
          if (std::fabs(ti - tj) < 1e-9) continue;
          pairs.emplace_back(ti > tj ? i : j, ti > tj ? j : i);
        }
      }
    }
    if (pairs.size() > kMaxPairs) {
      std::mt19937_64 rng(seed);
      for (size_t k = 0; k < kMaxPairs; ++k) {
        std::swap(pairs[k], pairs[k + static_cast<size_t>(rng() % (pairs.size() - k))]);
      }
      pairs.resize(kMaxPairs);
    }
    for (const auto& [i, j] : pairs) {
      hi.push_back(static_cast<int64_t>(i));
      lo.push_back(static_cast<int64_t>(j));
      base_gap.push_back(static_cast<float>(data.base[i] - data.base[j]));
    }
  }
  torch::Tensor hi_t = torch::tensor(hi, torch::kInt64);
  torch::Tensor lo_t = torch::tensor(lo, torch::kInt64);
  torch::Tensor gap_t = torch::tensor(base_gap, torch::kFloat32);

  torch::nn::Linear l1(static_cast<int64_t>(p), kHidden), l2(kHidden, kHidden), l3(kHidden, 1);
  {
    torch::NoGradGuard no_grad;
    l3->bias.fill_(ybar);
  }
  std::vector<torch::Tensor> params;
  for (torch::nn::Linear* l : {&l1, &l2, &l3}) {
    for (const torch::Tensor& t : (*l)->parameters()) params.push_back(t);
  }
  torch::optim::Adam adam(params, torch::optim::AdamOptions(0.01).weight_decay(1e-4));
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    adam.zero_grad();
    torch::Tensor out = l3(torch::relu(l2(torch::relu(l1(x))))).squeeze(1);
    torch::Tensor loss = torch::mse_loss(out, y);
    if (!hi.empty()) {
      torch::Tensor gap = gap_t + out.index_select(0, hi_t) - out.index_select(0, lo_t);
      loss = loss + kRankWeight * torch::relu(kMargin - gap).mean();
    }
    loss.backward();
    adam.step();
  }
  std::vector<Layer> layers = {FromLinear(l1), FromLinear(l2), FromLinear(l3)};
  for (const Layer& l : layers) {
    for (double v : l.w) {
      if (!std::isfinite(v)) return Status::Invalid("mlp: training diverged (a weight is not finite)");
    }
  }
  return std::unique_ptr<Model>(new Mlp(std::move(st), std::move(layers)));
}

Result<std::unique_ptr<Model>> LoadMlp(const nlohmann::json& json, size_t p,
                                       const std::string& origin) {
  Standardization st;
  SP_ASSIGN_OR_RETURN(st.mean, NumberList(json, "mean", p, origin));
  SP_ASSIGN_OR_RETURN(st.scale, NumberList(json, "scale", p, origin));
  SP_ASSIGN_OR_RETURN(st.lo, NumberList(json, "min", p, origin));
  SP_ASSIGN_OR_RETURN(st.hi, NumberList(json, "max", p, origin));
  for (size_t j = 0; j < p; ++j) {
    if (st.lo[j] > st.hi[j]) {
      return Status::Invalid(fmt::format(
          "{}: min[{}] = {} is above max[{}] = {} (allowed: min <= max)", origin, j, st.lo[j], j,
          st.hi[j]));
    }
  }
  const nlohmann::json* layers = json.contains("layers") ? &json.at("layers") : nullptr;
  if (layers == nullptr || !layers->is_array() || layers->size() != 3) {
    return Status::Invalid(fmt::format(
        "{}: layers is not a list of 3 layers (allowed: the mlp member `scaleplan fit` writes)",
        origin));
  }
  std::vector<Layer> out;
  size_t in = p;
  for (size_t k = 0; k < layers->size(); ++k) {
    const nlohmann::json& l = (*layers)[k];
    const size_t want_out = k + 1 < layers->size() ? static_cast<size_t>(kHidden) : 1;
    const std::string where = fmt::format("{}: layers[{}]", origin, k);
    if (!l.is_object() || l.value("in", nlohmann::json()) != in ||
        l.value("out", nlohmann::json()) != want_out) {
      return Status::Invalid(fmt::format(
          "{} is not a {} x {} layer (allowed: the shapes `scaleplan fit` writes)", where,
          want_out, in));
    }
    Layer layer;
    layer.in = in;
    layer.out = want_out;
    SP_ASSIGN_OR_RETURN(layer.w, NumberList(l, "weights", in * want_out, where));
    SP_ASSIGN_OR_RETURN(layer.b, NumberList(l, "bias", want_out, where));
    out.push_back(std::move(layer));
    in = want_out;
  }
  return std::unique_ptr<Model>(new Mlp(std::move(st), std::move(out)));
}

}  // namespace scaleplan::predict
