// The mlp family's network and the interface to its trainer (internal to predict; mlp.cpp).
//
// Training needs libtorch, whose shared libraries take about 0.3 s to load: linked into the
// program they would slow every command. So the trainer lives in a plugin (mlp_torch.cpp, a
// module built with -DSCALEPLAN_TORCH=ON) that mlp.cpp loads with dlopen the first time an mlp is
// fitted; predicting and reading predictor files need no libtorch.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace scaleplan::predict::mlp {

inline constexpr int64_t kHidden = 32;  // units in each of the two hidden layers
inline constexpr int kEpochs = 400;
inline constexpr double kRankWeight = 1.0;
inline constexpr double kMargin = 0.01;
inline constexpr size_t kMaxPairs = 20000;

// Row-major weights of one dense layer.
struct Layer {
  size_t in = 0, out = 0;
  std::vector<double> w;  // out x in
  std::vector<double> b;  // out
};

struct TrainInput {
  std::vector<std::vector<double>> z;  // standardized features
  std::vector<double> y;
  // Ranking pairs: row `faster` measured a higher log throughput than row `slower` of the same
  // decision; gap = base_faster - base_slower (the physics' log throughput difference).
  std::vector<std::pair<size_t, size_t>> pairs;  // (faster, slower)
  std::vector<double> gap;
  uint64_t seed = 0;
};

// The plugin's entry point: trains the network on `in` into `layers` (3 layers: p x kHidden,
// kHidden x kHidden, kHidden x 1); false with `error` set when it cannot.
using TrainFn = bool (*)(const TrainInput* in, std::vector<Layer>* layers, std::string* error);
inline constexpr const char* kTrainSymbol = "scaleplan_mlp_train";

}  // namespace scaleplan::predict::mlp
