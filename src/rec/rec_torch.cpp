// The ranking-model trainer (rec/train.h): a plugin linked with libtorch, loaded by train.cpp.
// Builds the network of an analysed architecture (rec/arch.h, whose header gives every block's
// equations), trains it and predicts the valid and test examples.
#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <numeric>
#include <random>

#include "rec/train.h"

namespace {

using scaleplan::rec::Arch;
using scaleplan::rec::ArchInfo;
using scaleplan::rec::Block;
using scaleplan::rec::BlockKind;
using scaleplan::rec::CtrData;
using scaleplan::rec::CtrSplit;
using scaleplan::rec::DenseOptimizer;
using scaleplan::rec::PluginRequest;
using scaleplan::rec::PluginResult;
using scaleplan::rec::Shape;
using torch::Tensor;
namespace nn = torch::nn;

// One block's parameters; forward per the block's equation.
struct BlockNet {
  const Block* block = nullptr;
  std::vector<nn::Linear> linears;  // mlp layers; dcn (full: M; low rank: V, U pairs); gating;
                                    // to3d; attention (Wq, Wk, Wv, Wr per layer)
  Tensor mix, mix_bias;             // linear3d
  int64_t out_rows = 0, dim = 0;    // to3d: M, E
};

class RecNet : public nn::Module {
 public:
  RecNet(const Arch& arch, const ArchInfo& info, const CtrData& data) : arch_(arch), info_(info) {
    const int64_t e = arch.embedding_dim;
    offsets_.push_back(0);
    for (int64_t c : data.cardinality) offsets_.push_back(offsets_.back() + c);
    if (!data.cardinality.empty()) {
      embedding_ = register_module(
          "embedding", nn::Embedding(nn::EmbeddingOptions(offsets_.back(), e).sparse(true)));
      torch::NoGradGuard no_grad;
      for (size_t f = 0; f < data.cardinality.size(); ++f) {
        // DLRM's initialisation: uniform in +-sqrt(1 / rows) per table.
        double a = std::sqrt(1.0 / static_cast<double>(data.cardinality[f]));
        embedding_->weight.narrow(0, offsets_[f], data.cardinality[f]).uniform_(-a, a);
      }
    }
    offsets_tensor_ =
        torch::tensor(std::vector<int64_t>(offsets_.begin(), offsets_.end() - 1), torch::kInt64);
    auto shape_of = [&](const std::string& in) -> Shape {
      if (in == "dense") return Shape{0, data.dense_count};
      if (in == "sparse") return Shape{static_cast<int64_t>(data.cardinality.size()), e};
      for (size_t i = 0; i < arch.blocks.size(); ++i) {
        if (arch.blocks[i].name == in) return info.shapes[i];
      }
      return Shape{};
    };
    nets_.resize(arch.blocks.size());
    for (size_t i : info.order) {
      const Block& b = arch.blocks[i];
      BlockNet& n = nets_[i];
      n.block = &b;
      const Shape in = shape_of(b.inputs[0]);
      auto linear = [&](int64_t from, int64_t to, bool bias) {
        n.linears.push_back(
            register_module("b" + std::to_string(i) + "_" + std::to_string(n.linears.size()),
                            nn::Linear(nn::LinearOptions(from, to).bias(bias))));
      };
      switch (b.kind) {
        case BlockKind::kMlp: {
          int64_t prev = in.width;
          for (int64_t w : b.widths) {
            linear(prev, w, true);
            prev = w;
          }
          break;
        }
        case BlockKind::kDcn:
          for (int64_t l = 0; l < b.layers; ++l) {
            if (b.rank == 0) {
              linear(in.width, in.width, true);
            } else {
              linear(in.width, b.rank, false);
              linear(b.rank, in.width, true);
            }
          }
          break;
        case BlockKind::kGating:
          linear(shape_of(b.inputs[1]).width, in.width, true);
          break;
        case BlockKind::kTo3d:
          linear(in.width, b.out * e, true);
          n.out_rows = b.out;
          n.dim = e;
          break;
        case BlockKind::kLinear3d: {
          double a = 1.0 / std::sqrt(static_cast<double>(in.rows));
          n.mix = register_parameter("b" + std::to_string(i) + "_mix",
                                     torch::empty({b.out, in.rows}).uniform_(-a, a));
          n.mix_bias = register_parameter("b" + std::to_string(i) + "_mixb",
                                          torch::empty({b.out}).uniform_(-a, a));
          break;
        }
        case BlockKind::kAttention:
          for (int64_t l = 0; l < b.layers * 4; ++l) linear(in.width, in.width, false);
          break;
        default:
          break;
      }
    }
    size_t out_index = 0;
    for (size_t i = 0; i < arch.blocks.size(); ++i) {
      if (arch.blocks[i].name == arch.output) out_index = i;
    }
    out_index_ = out_index;
    head_ = register_module("head", nn::Linear(info.shapes[out_index].width, 1));
  }

  // dense [B, D] float, ids [B, S] (table-local ids); returns the logits [B].
  Tensor forward(const Tensor& dense, const Tensor& ids) {
    Tensor sparse;
    if (embedding_) sparse = embedding_(ids + offsets_tensor_);  // [B, S, E]
    std::vector<Tensor> out(arch_.blocks.size());
    auto get = [&](const std::string& in) -> const Tensor& {
      if (in == "dense") return dense;
      if (in == "sparse") return sparse;
      return out[index_.at(in)];
    };
    if (index_.empty()) {
      for (size_t i = 0; i < arch_.blocks.size(); ++i) index_[arch_.blocks[i].name] = i;
    }
    for (size_t i : info_.order) {
      const Block& b = arch_.blocks[i];
      BlockNet& n = nets_[i];
      const Tensor& x = get(b.inputs[0]);
      Tensor y;
      switch (b.kind) {
        case BlockKind::kMlp:
          y = x;
          for (auto& l : n.linears) y = torch::relu(l(y));
          break;
        case BlockKind::kDcn: {
          y = x;
          const size_t per = b.rank == 0 ? 1 : 2;
          for (size_t l = 0; l < n.linears.size(); l += per) {
            Tensor m = per == 1 ? n.linears[l](y) : n.linears[l + 1](n.linears[l](y));
            y = x * m + y;
          }
          break;
        }
        case BlockKind::kGating:
          y = x * torch::sigmoid(n.linears[0](get(b.inputs[1])));
          break;
        case BlockKind::kSum:
          y = x;
          for (size_t k = 1; k < b.inputs.size(); ++k) y = y + get(b.inputs[k]);
          break;
        case BlockKind::kConcat: {
          std::vector<Tensor> parts;
          for (const auto& in : b.inputs) parts.push_back(get(in));
          y = torch::cat(parts, 1);
          break;
        }
        case BlockKind::kFlatten:
          y = x.flatten(1);
          break;
        case BlockKind::kTo3d:
          y = n.linears[0](x).view({x.size(0), n.out_rows, n.dim});
          break;
        case BlockKind::kLinear3d:
          y = torch::matmul(n.mix, x) + n.mix_bias.view({1, -1, 1});
          break;
        case BlockKind::kDot: {
          const int64_t rows = x.size(1);
          Tensor gram = torch::bmm(x, x.transpose(1, 2));  // [B, N, N]
          if (triu_.numel() == 0 || triu_rows_ != rows) {
            triu_ = torch::triu_indices(rows, rows, 1);
            triu_flat_ = triu_[0] * rows + triu_[1];
            triu_rows_ = rows;
          }
          y = gram.flatten(1).index_select(1, triu_flat_);
          break;
        }
        case BlockKind::kFm: {
          Tensor s = x.sum(1);
          y = 0.5 * (s * s - (x * x).sum(1));
          break;
        }
        case BlockKind::kAttention: {
          y = x;
          const int64_t bsz = x.size(0), rows = x.size(1), e = x.size(2), h = b.heads, d = e / h;
          for (int64_t l = 0; l < b.layers; ++l) {
            auto split = [&](const Tensor& t) {
              return t.view({bsz, rows, h, d}).transpose(1, 2);  // [B, h, N, d]
            };
            Tensor q = split(n.linears[4 * l](y)), k = split(n.linears[4 * l + 1](y)),
                   v = split(n.linears[4 * l + 2](y));
            Tensor att = torch::softmax(
                torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(d)), -1);
            Tensor heads = torch::matmul(att, v).transpose(1, 2).reshape({bsz, rows, e});
            y = torch::relu(heads + n.linears[4 * l + 3](y));
          }
          break;
        }
      }
      out[i] = y;
    }
    return head_(out[out_index_]).squeeze(1);
  }

  Tensor head_bias() const { return head_->bias; }
  Tensor embedding_weight() const { return embedding_ ? embedding_->weight : Tensor(); }

 private:
  const Arch& arch_;
  const ArchInfo& info_;
  std::vector<int64_t> offsets_;
  Tensor offsets_tensor_;
  nn::Embedding embedding_{nullptr};
  std::vector<BlockNet> nets_;
  nn::Linear head_{nullptr};
  size_t out_index_ = 0;
  std::map<std::string, size_t> index_;
  Tensor triu_, triu_flat_;
  int64_t triu_rows_ = 0;
};

struct Tensors {
  Tensor dense, ids, label;
};

Tensors ToTensors(const CtrData& data, const CtrSplit& split, int64_t n) {
  const int64_t d = data.dense_count, s = data.sparse_count();
  Tensors t;
  t.dense = torch::from_blob(const_cast<float*>(split.dense.data()), {n, d}, torch::kFloat32);
  t.ids = torch::from_blob(const_cast<int64_t*>(split.sparse.data()), {n, s}, torch::kInt64);
  t.label = torch::from_blob(const_cast<float*>(split.label.data()), {n}, torch::kFloat32);
  return t;
}

std::vector<double> Predict(RecNet& net, const Tensors& t, int64_t n) {
  torch::NoGradGuard no_grad;
  std::vector<double> p;
  p.reserve(static_cast<size_t>(n));
  constexpr int64_t kChunk = 8192;
  for (int64_t from = 0; from < n; from += kChunk) {
    const int64_t len = std::min(kChunk, n - from);
    Tensor out =
        torch::sigmoid(net.forward(t.dense.narrow(0, from, len), t.ids.narrow(0, from, len)))
            .to(torch::kFloat64)
            .contiguous();
    p.insert(p.end(), out.data_ptr<double>(), out.data_ptr<double>() + len);
  }
  return p;
}

// OpenBLAS (what Debian's libtorch calls for its matrix products) keeps its own thread pool,
// which libtorch's set_num_threads does not reach: left at one thread per core, its workers spin
// beside the training threads, and two candidates trained at once run 2x slower than one
// (measured: `nas --parallel 2` against `--parallel 1`, sys time as large as user time). The
// trainer's threads are its parallelism, so OpenBLAS runs on the calling thread only.
void SingleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const char* name : {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"}) {
      void* handle = dlopen(name, RTLD_NOLOAD | RTLD_LAZY);
      if (handle == nullptr) continue;
      using SetThreads = void (*)(int);
      auto set = reinterpret_cast<SetThreads>(dlsym(handle, "openblas_set_num_threads"));
      if (set != nullptr) set(1);
      dlclose(handle);
    }
  });
}

bool Run(const PluginRequest& req, PluginResult* result, std::string* error) {
  SingleThreadedBlas();
  const auto& o = *req.options;
  const CtrData& data = *req.data;
  torch::set_num_threads(static_cast<int>(o.threads));
  // The initial weights come from libtorch's global generator: seeding and drawing them under one
  // lock keeps them a function of the seed when candidates train in parallel threads (nothing
  // else in training draws from it).
  static std::mutex init_mutex;
  std::unique_lock<std::mutex> init_lock(init_mutex);
  torch::manual_seed(o.seed);
  RecNet net(*req.arch, *req.info, data);
  init_lock.unlock();
  {
    // The logit starts at the training click rate's: a model that has learnt nothing yet scores
    // NE 1, not the loss of p = 0.5 (short, low-fidelity runs are judged early).
    double clicks = 0;
    for (int64_t i = 0; i < req.train_n; ++i) clicks += data.train.label[static_cast<size_t>(i)];
    const double c = std::clamp(clicks / static_cast<double>(req.train_n), 1e-4, 1 - 1e-4);
    torch::NoGradGuard no_grad;
    net.head_bias().fill_(std::log(c / (1 - c)));
  }
  std::vector<Tensor> dense_params;
  for (const auto& p : net.named_parameters()) {
    if (p.key() != "embedding.weight") dense_params.push_back(p.value());
  }
  std::unique_ptr<torch::optim::Optimizer> dense_opt;
  if (o.optimizer == DenseOptimizer::kAdam) {
    dense_opt = std::make_unique<torch::optim::Adam>(dense_params, torch::optim::AdamOptions(o.lr));
  } else {
    dense_opt =
        std::make_unique<torch::optim::Adagrad>(dense_params, torch::optim::AdagradOptions(o.lr));
  }
  std::unique_ptr<torch::optim::Adagrad> emb_opt;
  if (net.embedding_weight().defined()) {
    emb_opt = std::make_unique<torch::optim::Adagrad>(std::vector<Tensor>{net.embedding_weight()},
                                                      torch::optim::AdagradOptions(o.embedding_lr));
  }
  const Tensors train = ToTensors(data, data.train, req.train_n);
  const int64_t per_epoch = (req.train_n + o.batch - 1) / o.batch;
  const int64_t total = per_epoch * o.epochs;
  const int64_t points = std::min<int64_t>(o.curve_points, total);
  std::vector<double> sums(static_cast<size_t>(points), 0.0);
  std::vector<int64_t> counts(static_cast<size_t>(points), 0);
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> order(static_cast<size_t>(req.train_n));
  const auto start = std::chrono::steady_clock::now();
  int64_t step = 0;
  double recent = 0;
  int64_t recent_n = 0;
  const int64_t report_every = std::max<int64_t>(1, total / 100);
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    Tensor perm = torch::from_blob(order.data(), {req.train_n}, torch::kInt64);
    for (int64_t from = 0; from < req.train_n; from += o.batch, ++step) {
      const int64_t len = std::min(o.batch, req.train_n - from);
      Tensor idx = perm.narrow(0, from, len);
      Tensor logits = net.forward(train.dense.index_select(0, idx), train.ids.index_select(0, idx));
      Tensor loss =
          torch::binary_cross_entropy_with_logits(logits, train.label.index_select(0, idx));
      dense_opt->zero_grad();
      if (emb_opt) emb_opt->zero_grad();
      loss.backward();
      dense_opt->step();
      if (emb_opt) emb_opt->step();
      const double l = loss.item<double>();
      if (!std::isfinite(l)) {
        *error = "the training loss is not finite (allowed: a lower lr)";
        return false;
      }
      const auto bucket = static_cast<size_t>(step * points / total);
      sums[bucket] += l;
      ++counts[bucket];
      result->examples += len;
      recent += l;
      ++recent_n;
      if (o.progress && ((step + 1) % report_every == 0 || step + 1 == total)) {
        o.progress(step + 1, total, recent / static_cast<double>(recent_n));
        recent = 0;
        recent_n = 0;
      }
    }
  }
  result->train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result->steps = step;
  for (size_t k = 0; k < sums.size(); ++k) {
    if (counts[k] > 0) result->curve.push_back(sums[k] / static_cast<double>(counts[k]));
  }
  net.eval();
  result->valid_p = Predict(net, ToTensors(data, data.valid, req.valid_n), req.valid_n);
  if (req.test_n > 0) {
    result->test_p = Predict(net, ToTensors(data, data.test, req.test_n), req.test_n);
  }
  return true;
}

}  // namespace

extern "C" bool scaleplan_rec_train(const PluginRequest* request, PluginResult* result,
                                    std::string* error) {
  try {
    return Run(*request, result, error);
  } catch (const std::exception& e) {
    *error = std::string("libtorch: ") + e.what();
    return false;
  }
}
