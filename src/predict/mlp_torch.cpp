// The mlp family's trainer (mlp.h): a plugin linked with libtorch, loaded by mlp.cpp when an mlp
// is fitted.
//
//   y_hat = w3 . relu(W2 relu(W1 z + b1) + b2) + b3
//   loss  = mean (y_hat - y)^2
//         + kRankWeight * mean over pairs (faster f, slower s) of
//             max(0, kMargin - (gap_fs + y_hat_f - y_hat_s))
// Adam (learning rate 0.01, weight decay 1e-4), full batch, kEpochs epochs, one intra-op thread,
// the output bias starting at the mean target; deterministic for a seed.
#include <torch/torch.h>

#include <cmath>

#include "core/torch_error.h"
#include "predict/mlp.h"

namespace {

using scaleplan::predict::mlp::Layer;
using scaleplan::predict::mlp::TrainInput;
namespace mlp = scaleplan::predict::mlp;

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

bool Train(const TrainInput& in, std::vector<Layer>* layers, std::string* error) {
  torch::set_num_threads(1);
  torch::manual_seed(in.seed);
  const int64_t n = static_cast<int64_t>(in.z.size());
  const int64_t p = n > 0 ? static_cast<int64_t>(in.z[0].size()) : 0;
  std::vector<float> flat;
  flat.reserve(static_cast<size_t>(n * p));
  for (const auto& row : in.z) {
    for (double v : row) flat.push_back(static_cast<float>(v));
  }
  torch::Tensor x = torch::from_blob(flat.data(), {n, p}, torch::kFloat32).clone();
  std::vector<float> yv(in.y.begin(), in.y.end());
  torch::Tensor y = torch::from_blob(yv.data(), {n}, torch::kFloat32).clone();
  double ybar = 0;
  for (double v : in.y) ybar += v;
  ybar /= static_cast<double>(n > 0 ? n : 1);
  std::vector<int64_t> faster, slower;
  std::vector<float> gap;
  for (size_t k = 0; k < in.pairs.size(); ++k) {
    faster.push_back(static_cast<int64_t>(in.pairs[k].first));
    slower.push_back(static_cast<int64_t>(in.pairs[k].second));
    gap.push_back(static_cast<float>(in.gap[k]));
  }
  torch::Tensor faster_t = torch::tensor(faster, torch::kInt64);
  torch::Tensor slower_t = torch::tensor(slower, torch::kInt64);
  torch::Tensor gap_t = torch::tensor(gap, torch::kFloat32);

  torch::nn::Linear l1(p, mlp::kHidden), l2(mlp::kHidden, mlp::kHidden), l3(mlp::kHidden, 1);
  {
    torch::NoGradGuard no_grad;
    l3->bias.fill_(ybar);
  }
  std::vector<torch::Tensor> params;
  for (torch::nn::Linear* l : {&l1, &l2, &l3}) {
    for (const torch::Tensor& t : (*l)->parameters()) params.push_back(t);
  }
  torch::optim::Adam adam(params, torch::optim::AdamOptions(0.01).weight_decay(1e-4));
  for (int epoch = 0; epoch < mlp::kEpochs; ++epoch) {
    adam.zero_grad();
    torch::Tensor out = l3(torch::relu(l2(torch::relu(l1(x))))).squeeze(1);
    torch::Tensor loss = torch::mse_loss(out, y);
    if (!faster.empty()) {
      torch::Tensor margin = gap_t + out.index_select(0, faster_t) - out.index_select(0, slower_t);
      loss = loss + mlp::kRankWeight * torch::relu(mlp::kMargin - margin).mean();
    }
    loss.backward();
    adam.step();
  }
  *layers = {FromLinear(l1), FromLinear(l2), FromLinear(l3)};
  for (const Layer& l : *layers) {
    for (double v : l.w) {
      if (!std::isfinite(v)) {
        *error = "training diverged (a weight is not finite)";
        return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" bool scaleplan_mlp_train(const TrainInput* in, std::vector<Layer>* layers,
                                    std::string* error) {
  try {
    return Train(*in, layers, error);
  } catch (const std::exception& e) {
    *error = scaleplan::TorchErrorText(e);
    return false;
  }
}
