// The mlp family (mlp.h): a perceptron with two hidden ReLU layers, trained on the squared error
// plus a margin ranking loss within decisions, by the libtorch plugin (mlp_torch.cpp).
//
//   z        = clamp(x, training range) standardized (families.h's Standardization)
//   y_hat    = w3 . relu(W2 relu(W1 z + b1) + b2) + b3          two hidden layers of kHidden
//   loss     = mean (y_hat - y)^2
//            + kRankWeight * mean over pairs (i, j) of one decision with t_i > t_j of
//                max(0, kMargin - ((base_i + y_hat_i) - (base_j + y_hat_j)))
// where t = base + y is the measured log throughput and base the physics' (Dataset): the pairs
// teach the order of the configurations one decision compares, which the squared error of the
// correction alone can leave wrong when the corrections are small beside the physics' spread.
// At most kMaxPairs pairs, drawn with the member's seed when there are more.
//
// Prediction runs the network by hand from the stored weights (no libtorch): a search asks it for
// hundreds of thousands of plans from several threads.
#include "predict/mlp.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>

#include "core/blas.h"
#include "predict/families.h"

namespace scaleplan::predict {

namespace {

using mlp::kHidden;
using mlp::Layer;

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
    return {{"mean", st_.mean},
            {"scale", st_.scale},
            {"min", st_.lo},
            {"max", st_.hi},
            {"layers", layers}};
  }

 private:
  Standardization st_;
  std::vector<Layer> layers_;
};

// The trainer, loaded once: SCALEPLAN_MLP_PLUGIN (environment) or the plugin this build made.
Status LoadTrainer(mlp::TrainFn* out) {
  static std::once_flag once;
  static mlp::TrainFn train = nullptr;
  static std::string error;
  std::call_once(once, [] {
    const char* env = std::getenv("SCALEPLAN_MLP_PLUGIN");
#ifdef SCALEPLAN_MLP_PLUGIN
    const std::string path = env != nullptr && *env != '\0' ? env : SCALEPLAN_MLP_PLUGIN;
#else
    const std::string path = env != nullptr ? env : "";
#endif
    if (path.empty()) {
      error = "this build has no mlp trainer (rebuild with -DSCALEPLAN_TORCH=ON)";
      return;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      error = fmt::format(
          "the mlp trainer {} does not load: {} (allowed: the plugin this build "
          "made, or SCALEPLAN_MLP_PLUGIN naming one)",
          path, why != nullptr ? why : "unknown error");
      return;
    }
    blas::PrepareOpenBlas();  // the plugin's OpenBLAS has loaded with it (core/blas.h)
    train = reinterpret_cast<mlp::TrainFn>(dlsym(handle, mlp::kTrainSymbol));
    if (train == nullptr)
      error = fmt::format("the mlp trainer {} has no {}", path, mlp::kTrainSymbol);
  });
  if (train == nullptr) return Status::Invalid("mlp: " + error);
  *out = train;
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Model>> FitMlp(const Dataset& data, uint64_t seed) {
  mlp::TrainFn train = nullptr;
  SP_RETURN_IF_ERROR(LoadTrainer(&train));
  const size_t n = data.x.size();
  Standardization st = Standardization::Of(data.x);
  mlp::TrainInput in;
  in.seed = seed;
  in.y = data.y;
  for (const auto& row : data.x) {
    std::vector<double> z(row.size());
    for (size_t j = 0; j < row.size(); ++j) z[j] = (row[j] - st.mean[j]) * st.scale[j];
    in.z.push_back(std::move(z));
  }
  // Pairs of one decision, ordered by the measured log throughput (base + y).
  if (data.group.size() == n && data.base.size() == n) {
    std::map<std::string, std::vector<size_t>> groups;
    for (size_t i = 0; i < n; ++i) groups[data.group[i]].push_back(i);
    // Reservoir sampling: a uniform sample of at most kMaxPairs pairs in kMaxPairs memory, however
    // many jobs a decision holds.
    std::mt19937_64 rng(seed);
    uint64_t seen = 0;
    for (const auto& [name, rows] : groups) {
      for (size_t a = 0; a < rows.size(); ++a) {
        for (size_t b = a + 1; b < rows.size(); ++b) {
          size_t i = rows[a], j = rows[b];
          double ti = data.base[i] + data.y[i], tj = data.base[j] + data.y[j];
          if (std::fabs(ti - tj) < 1e-9) continue;
          std::pair<size_t, size_t> pair(ti > tj ? i : j, ti > tj ? j : i);
          if (in.pairs.size() < mlp::kMaxPairs) {
            in.pairs.push_back(pair);
          } else if (uint64_t k = rng() % (seen + 1); k < mlp::kMaxPairs) {
            in.pairs[static_cast<size_t>(k)] = pair;
          }
          ++seen;
        }
      }
    }
    for (const auto& [faster, slower] : in.pairs) {
      in.gap.push_back(data.base[faster] - data.base[slower]);
    }
  }
  std::vector<Layer> layers;
  std::string error;
  if (!train(&in, &layers, &error)) return Status::Invalid("mlp: " + error);
  // The plugin is another binary: its layers are checked as a file's would be.
  const size_t p = st.mean.size();
  const size_t h = static_cast<size_t>(kHidden);
  const size_t shapes[3][2] = {{p, h}, {h, h}, {h, 1}};
  if (layers.size() != 3) return Status::Invalid("mlp: the trainer returned no 3-layer network");
  for (size_t k = 0; k < 3; ++k) {
    const Layer& l = layers[k];
    if (l.in != shapes[k][0] || l.out != shapes[k][1] || l.w.size() != l.in * l.out ||
        l.b.size() != l.out) {
      return Status::Invalid(
          fmt::format("mlp: the trainer's layer {} is not {} x {}", k, shapes[k][1], shapes[k][0]));
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
      return Status::Invalid(
          fmt::format("{}: min[{}] = {} is above max[{}] = {} (allowed: min <= max)", origin, j,
                      st.lo[j], j, st.hi[j]));
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
      return Status::Invalid(
          fmt::format("{} is not a {} x {} layer (allowed: the shapes `scaleplan fit` writes)",
                      where, want_out, in));
    }
    Layer layer;
    layer.in = in;
    layer.out = want_out;
    SP_ASSIGN_OR_RETURN(layer.w, NumberList(l, "weights", in * want_out, where));
    SP_ASSIGN_OR_RETURN(layer.b, NumberList(l, "bias", want_out, where));
    out.push_back(std::move(layer));
    in = want_out;
  }
  // The corrections it gives inside the features' training range (where Predict clamps them):
  // at the range's middle and corners and at 8 seeded points between, each at most
  // kMaxCorrectionReach (families.h) from 0.
  std::vector<std::vector<double>> probes = {st.mean, st.lo, st.hi};
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int k = 0; k < 8; ++k) {
    std::vector<double> x(p);
    for (size_t j = 0; j < p; ++j) x[j] = st.lo[j] + unit(rng) * (st.hi[j] - st.lo[j]);
    probes.push_back(std::move(x));
  }
  auto model = std::make_unique<Mlp>(std::move(st), std::move(out));
  for (const std::vector<double>& x : probes) {
    const double y = model->Predict(x);
    if (!(std::fabs(y) <= kMaxCorrectionReach)) {
      return Status::Invalid(
                 fmt::format("{}: the weights give a correction of {:g} (ln of the measured "
                             "over the physics' throughput) inside the features' [min, max] "
                             "(allowed: at most {:g} in size; a fitted member stays within "
                             "tens: refit with `scaleplan fit`)",
                             origin, y, kMaxCorrectionReach))
          .WithKey("layers");
    }
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace scaleplan::predict
