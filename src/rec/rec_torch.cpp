// The ranking-model trainer (rec/train.h): a plugin linked with libtorch, loaded by train.cpp.
// Builds the network of an analysed architecture (rec/arch.h, whose header gives every block's
// equations), trains it and predicts the valid and test examples.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>

#include "core/blas.h"
#include "core/torch_error.h"
#include "rec/attention_kernel.h"
#include "rec/supernet.h"
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

// Where a network's weights come from: fresh tensors (one model) or corners of a supernet's
// shared ones (rec/supernet.h).
enum class Init {
  kLinear,  // a linear layer's weight [out, in] as nn::Linear's: Kaiming-uniform, a = sqrt(5)
  kFanIn,   // uniform in +-1/sqrt(fan_in), fan_in given
};

class ParamSource {
 public:
  virtual ~ParamSource() = default;
  // The weight `key` of `shape`; `fan_in` for kFanIn.
  virtual Tensor Get(const std::string& key, const std::vector<int64_t>& shape, Init init,
                     int64_t fan_in) = 0;
  // The embeddings of `rows` (global row ids, [B, S]) at dimension `dim`: [B, S, dim].
  virtual Tensor Embed(const Tensor& rows, int64_t dim) = 0;
  // Whether a linear layer's weight is named by what the layer reads (a supernet's: RecNet).
  virtual bool BySource() const { return false; }
};

void InitWeight(Tensor& t, Init init, int64_t fan_in) {
  torch::NoGradGuard no_grad;
  if (init == Init::kLinear) {
    torch::nn::init::kaiming_uniform_(t, std::sqrt(5.0));
  } else {
    const double a = 1.0 / std::sqrt(static_cast<double>(fan_in));
    t.uniform_(-a, a);
  }
}

// One model's weights, fresh, in the order they are asked for (the order nn::Linear and
// nn::Embedding would draw them: a model's initial weights are a function of the seed).
class FreshParams : public ParamSource {
 public:
  FreshParams(const CtrData& data, int64_t dim) {
    int64_t rows = 0;
    for (int64_t c : data.cardinality) rows += c;
    if (rows == 0) return;
    torch::NoGradGuard no_grad;
    table_ = torch::empty({rows, dim});
    table_.normal_();  // nn::Embedding's own initialisation, drawn and replaced below
    int64_t offset = 0;
    for (int64_t c : data.cardinality) {
      // DLRM's initialisation: uniform in +-sqrt(1 / rows) per table.
      const double a = std::sqrt(1.0 / static_cast<double>(c));
      table_.narrow(0, offset, c).uniform_(-a, a);
      offset += c;
    }
    table_.set_requires_grad(true);
  }
  Tensor Get(const std::string& key, const std::vector<int64_t>& shape, Init init,
             int64_t fan_in) override {
    Tensor t = torch::empty(shape);
    InitWeight(t, init, fan_in);
    t.set_requires_grad(true);
    dense_.push_back(t);
    return t;
  }
  Tensor Embed(const Tensor& rows, int64_t dim) override {
    return torch::embedding(table_, rows, -1, false, /*sparse=*/true);
  }
  const std::vector<Tensor>& dense() const { return dense_; }
  const Tensor& table() const { return table_; }

 private:
  Tensor table_;
  std::vector<Tensor> dense_;
};

// One block's weights (linear layers as weight [out, in] and bias [out]); forward per the
// block's equation (rec/arch.h).
struct Linear {
  Tensor w, b;  // b undefined: no bias
  Tensor operator()(const Tensor& x) const { return torch::nn::functional::linear(x, w, b); }
};
struct BlockNet {
  std::vector<Linear> linears;    // mlp layers; dcn (full: M; low rank: V, U pairs); gating;
                                  // to3d; attention (Wq, Wk, Wv, Wr per layer)
  Tensor mix, mix_bias;           // linear3d
  int64_t out_rows = 0, dim = 0;  // to3d: M, E
};

class RecNet {
 public:
  // Gates (DNAS, rec/supernet.h): a name -> a scalar that multiplies a block's output ("block"),
  // the embeddings ("sparse") or one part of a concatenation as the concatenation reads it
  // ("block:part").
  using Gates = std::map<std::string, Tensor>;

  RecNet(const Arch& arch, const ArchInfo& info, const CtrData& data, ParamSource& params)
      : arch_(arch), info_(info), params_(params) {
    const int64_t e = arch.embedding_dim;
    std::vector<int64_t> offsets = {0};
    for (int64_t c : data.cardinality) offsets.push_back(offsets.back() + c);
    has_sparse_ = !data.cardinality.empty();
    offsets.pop_back();
    offsets_ = torch::tensor(offsets, torch::kInt64);
    for (size_t i = 0; i < arch.blocks.size(); ++i) index_[arch.blocks[i].name] = i;
    auto shape_of = [&](const std::string& in) -> Shape {
      if (in == "dense") return Shape{0, data.dense_count};
      if (in == "sparse") return Shape{static_cast<int64_t>(data.cardinality.size()), e};
      return info.shapes[index_.at(in)];
    };
    // The weight [to, W] of a linear layer `key` reading the 2D tensor `input`. From a source
    // that names weights by what they read, the name carries the input's, and a layer reading a
    // concatenation takes one weight per part, named by the part: in a supernet, the columns
    // that read a part keep their meaning whatever else is joined to it (any-path connections).
    // Initialised uniform in +-1/sqrt(W), as nn::Linear's.
    // A concatenation of concatenations is split down to its leaves; a leaf met again (a skip
    // reaching a tensor a joined stage already holds) is named "<leaf>#2", and so on. (For a
    // layer whose rows also follow its input's layout, DCN's, the rows are named by the parts
    // as well: `grid`.)
    // A part: its name ("": not named) and the dimensions its columns span, {width}, but a
    // flattened [N, E] tensor's {N, E}: its weights are stored [.., N, E], so that a model of
    // fewer vectors or a smaller E takes the corner that reads the same vectors' same leading
    // dimensions (flattened, column n E + e reads vector n's dimension e: a flat corner of the
    // N E columns would give E 8's second vector the weights E 16's first learnt).
    struct Part {
      std::string name;
      std::vector<int64_t> dims;
    };
    using Parts = std::vector<Part>;
    auto dims_of = [&](const std::string& name, int64_t width) -> std::vector<int64_t> {
      auto it = index_.find(name);
      if (it == index_.end() || arch.blocks[it->second].kind != BlockKind::kFlatten) {
        return {width};
      }
      const Shape from = shape_of(arch.blocks[it->second].inputs[0]);
      return {from.rows, from.width};
    };
    // A block whose output keeps its first input's layout (DCN's cross layers, a gate) has its
    // input's parts, each named "<block>><part>": the weights that read a DCN's output over the
    // flattened embeddings keep their meaning at every E, as the DCN's own do.
    auto parts_of = [&](const std::string& input) {
      Parts parts;
      std::map<std::string, int> seen;
      std::function<void(const std::string&, const std::string&)> split =
          [&](const std::string& name, const std::string& prefix) {
            auto it = index_.find(name);
            if (it != index_.end()) {
              const Block& block = arch.blocks[it->second];
              if (block.kind == BlockKind::kConcat) {
                for (const std::string& part : block.inputs) split(part, prefix);
                return;
              }
              if (block.kind == BlockKind::kDcn || block.kind == BlockKind::kGating) {
                split(block.inputs[0], prefix + name + ">");
                return;
              }
            }
            const int n = ++seen[prefix + name];
            parts.push_back({prefix + name + (n == 1 ? "" : "#" + std::to_string(n)),
                             dims_of(name, shape_of(name).width)});
          };
      split(input, "");
      return parts;
    };
    // The weight `key` over the dimensions `dims` (a part's, or a part's then another's) as a
    // matrix whose rows span the first `split` dimensions.
    auto shared = [&](const std::string& key, const std::vector<int64_t>& dims, size_t split,
                      int64_t fan_in) {
      Tensor t = params.Get(key, dims, Init::kFanIn, fan_in);
      if (dims.size() <= 1) return t;
      int64_t rows = 1;
      for (size_t d = 0; d < split; ++d) rows *= dims[d];
      return t.reshape({rows, -1});
    };
    auto grid = [&](const std::string& key, const Parts& rows, const Parts& cols,
                    int64_t fan_in) {
      std::vector<Tensor> bands;
      for (const Part& row : rows) {
        std::vector<Tensor> cells;
        for (const Part& col : cols) {
          const std::string name = key + (row.name.empty() ? "" : "@" + row.name) +
                                   (col.name.empty() ? "" : "@" + col.name);
          std::vector<int64_t> dims = row.dims;
          dims.insert(dims.end(), col.dims.begin(), col.dims.end());
          cells.push_back(shared(name, dims, row.dims.size(), fan_in));
        }
        bands.push_back(cells.size() == 1 ? cells[0] : torch::cat(cells, 1));
      }
      return bands.size() == 1 ? bands[0] : torch::cat(bands, 0);
    };
    auto in_weight = [&](const std::string& key, const std::string& input, int64_t to) {
      const int64_t width = shape_of(input).width;
      if (!params.BySource()) return params.Get(key, {to, width}, Init::kLinear, width);
      return grid(key, {{"", {to}}}, parts_of(input), width);
    };
    nets_.resize(arch.blocks.size());
    for (size_t i : info.order) {
      const Block& b = arch.blocks[i];
      BlockNet& n = nets_[i];
      const Shape in = shape_of(b.inputs[0]);
      // A linear layer from `from` to `to`; reading `source` (a 2D block or input) when it is
      // the block's first layer over it.
      auto linear = [&](int64_t from, int64_t to, bool bias, const std::string& source = "") {
        const std::string key = b.name + "/" + std::to_string(n.linears.size());
        Linear l;
        l.w = source.empty() ? params.Get(key + ".w", {to, from}, Init::kLinear, from)
                             : in_weight(key + ".w", source, to);
        if (bias) l.b = params.Get(key + ".b", {to}, Init::kFanIn, from);
        n.linears.push_back(l);
      };
      switch (b.kind) {
        case BlockKind::kMlp: {
          int64_t prev = in.width;
          for (int64_t w : b.widths) {
            linear(prev, w, true, n.linears.empty() ? b.inputs[0] : "");
            prev = w;
          }
          break;
        }
        case BlockKind::kDcn:
          for (int64_t l = 0; l < b.layers; ++l) {
            if (!params.BySource()) {
              if (b.rank == 0) {
                linear(in.width, in.width, true);
              } else {
                linear(in.width, b.rank, false);
                linear(b.rank, in.width, true);
              }
              continue;
            }
            // M (or V then U) and the bias, their rows and columns named by the input's parts;
            // full and low-rank layers named apart.
            const Parts parts = parts_of(b.inputs[0]);
            const std::string key = b.name + "/" + std::to_string(l);
            std::vector<Tensor> bias;
            for (const Part& part : parts) {
              bias.push_back(shared(key + (b.rank == 0 ? ".b@" : ".lb@") + part.name, part.dims,
                                    part.dims.size(), b.rank == 0 ? in.width : b.rank)
                                 .flatten());
            }
            Tensor c = bias.size() == 1 ? bias[0] : torch::cat(bias, 0);
            if (b.rank == 0) {
              n.linears.push_back(Linear{grid(key + ".m", parts, parts, in.width), c});
            } else {
              const Part rank{"", {b.rank}};
              n.linears.push_back(Linear{grid(key + ".v", {rank}, parts, in.width), {}});
              n.linears.push_back(Linear{grid(key + ".u", parts, {rank}, b.rank), c});
            }
          }
          break;
        case BlockKind::kGating:
          linear(shape_of(b.inputs[1]).width, in.width, true, b.inputs[1]);
          break;
        case BlockKind::kTo3d:
          linear(in.width, b.out * e, true, b.inputs[0]);
          n.out_rows = b.out;
          n.dim = e;
          break;
        case BlockKind::kLinear3d:
          n.mix = params.Get(b.name + "/mix", {b.out, in.rows}, Init::kFanIn, in.rows);
          n.mix_bias = params.Get(b.name + "/mixb", {b.out}, Init::kFanIn, in.rows);
          break;
        case BlockKind::kAttention:
          for (int64_t l = 0; l < b.layers * 4; ++l) linear(in.width, in.width, false);
          break;
        default:
          break;
      }
    }
    out_index_ = index_.at(arch.output);
    const int64_t width = info.shapes[out_index_].width;
    head_.w = in_weight("head.w", arch.output, 1);
    head_.b = params.Get("head.b", {1}, Init::kFanIn, width);
  }

  // dense [B, D] float, ids [B, S] (table-local ids); returns the logits [B].
  Tensor forward(const Tensor& dense, const Tensor& ids, const Gates* gates = nullptr) {
    Tensor sparse;
    if (has_sparse_) {
      sparse = params_.Embed(ids + offsets_, arch_.embedding_dim);  // [B, S, E]
      if (gates != nullptr) {
        if (auto g = gates->find("sparse"); g != gates->end()) sparse = sparse * g->second;
      }
    }
    std::vector<Tensor> out(arch_.blocks.size());
    auto get = [&](const std::string& in) -> const Tensor& {
      if (in == "dense") return dense;
      if (in == "sparse") return sparse;
      return out[index_.at(in)];
    };
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
          for (const auto& in : b.inputs) {
            parts.push_back(get(in));
            if (gates == nullptr) continue;
            if (auto g = gates->find(b.name + ":" + in); g != gates->end()) {
              parts.back() = parts.back() * g->second;
            }
          }
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
          if (triu_flat_.numel() == 0 || triu_rows_ != rows) {
            if (params_.BySource()) {
              // A supernet's order: pair (i, j), i < j, by j then i, so that the pairs of the
              // first N vectors come first whatever the count (a corner of the weights that
              // read them is theirs at every count).
              std::vector<int64_t> flat;
              for (int64_t j = 1; j < rows; ++j) {
                for (int64_t i = 0; i < j; ++i) flat.push_back(i * rows + j);
              }
              triu_flat_ = torch::tensor(flat, torch::kInt64);
            } else {
              Tensor triu = torch::triu_indices(rows, rows, 1);
              triu_flat_ = triu[0] * rows + triu[1];
            }
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
          for (int64_t l = 0; l < b.layers; ++l) {
            Tensor heads = scaleplan::rec::AttentionCore(
                n.linears[4 * l](y), n.linears[4 * l + 1](y), n.linears[4 * l + 2](y), b.heads);
            y = torch::relu(heads + n.linears[4 * l + 3](y));
          }
          break;
        }
      }
      if (gates != nullptr) {
        if (auto g = gates->find(b.name); g != gates->end()) y = y * g->second;
      }
      out[i] = y;
    }
    return head_(out[out_index_]).squeeze(1);
  }

  Tensor head_bias() const { return head_.b; }

 private:
  const Arch& arch_;
  const ArchInfo& info_;
  ParamSource& params_;
  bool has_sparse_ = false;
  Tensor offsets_;
  std::vector<BlockNet> nets_;
  Linear head_;
  size_t out_index_ = 0;
  std::map<std::string, size_t> index_;
  Tensor triu_flat_;
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

// Examples per forward pass when scoring. Small, as a training batch is: an attention block's
// scores at 8,192 examples ([8192, heads, N, N] and its softmax, tens of MB per tensor) leave the
// cache and fault in fresh pages each pass. `rec-train --data synthetic:fresh --arch autoint-l
// --max-train-examples 100000` took 53 s wall at 8,192 and 24 s at 256, what is not training
// (mostly scoring the 150,000 valid and test examples) 35 s against 10 s (docs/BENCHMARKS.md).
// The NE moves in the ninth or tenth decimal (the matrix products' blocking follows the rows).
constexpr int64_t kEvalChunk = 256;

std::vector<double> Predict(RecNet& net, const Tensors& t, int64_t n) {
  torch::NoGradGuard no_grad;
  std::vector<double> p;
  p.reserve(static_cast<size_t>(n));
  for (int64_t from = 0; from < n; from += kEvalChunk) {
    const int64_t len = std::min(kEvalChunk, n - from);
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
  std::call_once(once, [] { scaleplan::blas::SetOpenBlasThreads(1); });
}

std::mutex& InitMutex() {
  static std::mutex m;
  return m;
}

bool Run(const PluginRequest& req, PluginResult* result, std::string* error) {
  SingleThreadedBlas();
  const auto& o = *req.options;
  const CtrData& data = *req.data;
  torch::set_num_threads(static_cast<int>(o.threads));
  // The initial weights come from libtorch's global generator: seeding and drawing them under one
  // lock keeps them a function of the seed when candidates train in parallel threads (nothing
  // else in training draws from it; a supernet, which draws as it grows, trains alone).
  std::unique_lock<std::mutex> init_lock(InitMutex());
  torch::manual_seed(o.seed);
  FreshParams params(data, req.arch->embedding_dim);
  RecNet net(*req.arch, *req.info, data, params);
  init_lock.unlock();
  if (o.embedding_start && params.table().defined()) {
    auto start = o.embedding_start->tables.find(req.arch->embedding_dim);
    if (start != o.embedding_start->tables.end()) {  // its size checked by rec::Train
      torch::NoGradGuard no_grad;
      params.table().copy_(torch::from_blob(const_cast<float*>(start->second.data()),
                                            params.table().sizes(), torch::kFloat32));
    }
  }
  {
    // The logit starts at the training click rate's: a model that has learnt nothing yet scores
    // NE 1, not the loss of p = 0.5 (short, low-fidelity runs are judged early).
    double clicks = 0;
    for (int64_t i = 0; i < req.train_n; ++i) clicks += data.train.label[static_cast<size_t>(i)];
    const double c = std::clamp(clicks / static_cast<double>(req.train_n), 1e-4, 1 - 1e-4);
    torch::NoGradGuard no_grad;
    net.head_bias().fill_(std::log(c / (1 - c)));
  }
  const std::vector<Tensor>& dense_params = params.dense();
  std::unique_ptr<torch::optim::Optimizer> dense_opt;
  if (o.optimizer == DenseOptimizer::kAdam) {
    dense_opt = std::make_unique<torch::optim::Adam>(dense_params, torch::optim::AdamOptions(o.lr));
  } else {
    dense_opt =
        std::make_unique<torch::optim::Adagrad>(dense_params, torch::optim::AdagradOptions(o.lr));
  }
  std::unique_ptr<torch::optim::Adagrad> emb_opt;
  if (params.table().defined()) {
    emb_opt = std::make_unique<torch::optim::Adagrad>(std::vector<Tensor>{params.table()},
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
  const auto scoring = std::chrono::steady_clock::now();
  result->valid_p = Predict(net, ToTensors(data, data.valid, req.valid_n), req.valid_n);
  if (req.test_n > 0) {
    result->test_p = Predict(net, ToTensors(data, data.test, req.test_n), req.test_n);
  }
  result->score_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - scoring).count();
  if (o.keep_embeddings && params.table().defined()) {
    const Tensor t = params.table().detach().contiguous();
    result->embedding_table.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }
  return true;
}

// The supernet's shared weights (rec/supernet.h): each a leaf tensor of the largest shape asked
// for, with its optimizer state; an architecture gets the corners.
class SharedParams : public ParamSource {
 private:
  struct Slot {
    Tensor w, m, v, t;  // m, v: Adam's moments (v: Adagrad's sum); t: Adam's steps per element
    std::vector<int64_t> corner;  // the shape used since the last step
    bool used = false;
  };

 public:
  SharedParams(const CtrData& data, const scaleplan::rec::TrainOptions& options)
      : cardinality_(data.cardinality), options_(options) {}

  Tensor Get(const std::string& key, const std::vector<int64_t>& shape, Init init,
             int64_t fan_in) override {
    Slot& s = slots_[key];
    if (!s.w.defined()) {
      s.w = torch::empty(shape);
      InitWeight(s.w, init, fan_in);
      s.w.set_requires_grad(true);
      s.m = torch::zeros(shape);
      s.v = torch::zeros(shape);
      s.t = torch::zeros(shape);
    } else if (shape.size() != static_cast<size_t>(s.w.dim())) {
      throw std::runtime_error("supernet weight " + key + " asked for with " +
                               std::to_string(shape.size()) + " dimensions, held with " +
                               std::to_string(s.w.dim()));
    } else if (Larger(shape, s.w.sizes().vec())) {
      // A view handed out earlier in this step would train the replaced tensor.
      if (s.used) throw std::runtime_error("supernet weight " + key + " grew within one step");
      Grow(s, shape, init, fan_in);
    }
    if (!s.used) {
      s.used = true;
      s.corner = shape;
      used_.push_back(&s);
    } else {  // asked for again in this step: the step covers both corners
      for (size_t d = 0; d < shape.size() && d < s.corner.size(); ++d) {
        s.corner[d] = std::max(s.corner[d], shape[d]);
      }
    }
    Tensor corner = s.w;
    for (size_t d = 0; d < shape.size(); ++d) {
      corner = corner.narrow(static_cast<int64_t>(d), 0, shape[d]);
    }
    return corner;
  }

  bool BySource() const override { return true; }

  Tensor Embed(const Tensor& rows, int64_t dim) override {
    if (!table_.defined() || table_.size(1) < dim) GrowTable(dim);
    table_used_ = true;
    return torch::embedding(table_, rows, -1, false, /*sparse=*/true).narrow(2, 0, dim);
  }

  // One optimizer step of the corner of every weight used since the last (the rest of the
  // weight and its state stay as they are: per element, Adam counts the steps it took part in),
  // then forgets their gradients.
  void Step() {
    torch::NoGradGuard no_grad;
    for (Slot* s : used_) {
      s->used = false;
      if (!s->w.grad().defined()) continue;
      auto cut = [&](Tensor t) {
        for (size_t d = 0; d < s->corner.size(); ++d) {
          t = t.narrow(static_cast<int64_t>(d), 0, s->corner[d]);
        }
        return t;
      };
      Tensor w = cut(s->w), g = cut(s->w.grad()), m = cut(s->m), v = cut(s->v);
      if (options_.optimizer == DenseOptimizer::kAdam) {
        constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
        Tensor t = cut(s->t);
        t.add_(1);
        m.mul_(kBeta1).add_(g, 1 - kBeta1);
        v.mul_(kBeta2).addcmul_(g, g, 1 - kBeta2);
        const Tensor c1 = 1 - torch::pow(kBeta1, t), c2 = 1 - torch::pow(kBeta2, t);
        w.sub_(m / c1 / ((v / c2).sqrt_().add_(kEps)) * (options_.lr * lr_scale_));
      } else {
        v.addcmul_(g, g, 1);
        w.addcdiv_(g, v.sqrt().add_(1e-10), -options_.lr * lr_scale_);
      }
      s->w.mutable_grad().reset();
    }
    used_.clear();
    if (table_frozen_ && table_.defined() && table_.grad().defined()) {
      table_.mutable_grad().reset();
    } else if (table_used_ && table_.grad().defined()) {
      // Sparse Adagrad on the rows the batch looked up, as torch::optim::Adagrad does.
      const Tensor g = table_.grad().coalesce();
      const Tensor rows = g.indices()[0];
      const Tensor values = g.values();
      table_sum_.index_add_(0, rows, values * values);
      const Tensor std = table_sum_.index_select(0, rows).sqrt_().add_(1e-10);
      table_.index_add_(0, rows, values / std * -options_.embedding_lr);
      table_.mutable_grad().reset();
    }
    table_used_ = false;
  }

  // Tuning (TunedLoss): steps at `lr_scale` times the dense learning rate that leave the
  // embedding rows as they are; Tune(1, false) ends it.
  void Tune(double lr_scale, bool table_frozen) {
    lr_scale_ = lr_scale;
    table_frozen_ = table_frozen;
  }

  // A copy of every weight marked used since the last step (what a forward pass of one
  // architecture reads) and its optimizer state; Restore puts them back.
  struct Saved {
    Slot* slot;
    Tensor w, m, v, t;
  };
  std::vector<Saved> SaveUsed() const {
    torch::NoGradGuard no_grad;
    std::vector<Saved> out;
    for (Slot* s : used_) {
      out.push_back({s, s->w.detach().clone(), s->m.clone(), s->v.clone(), s->t.clone()});
    }
    return out;
  }
  static void Restore(const std::vector<Saved>& saved) {
    torch::NoGradGuard no_grad;
    for (const Saved& k : saved) {
      // Tuning trains the architecture the copy was taken for: no weight of it grows.
      k.slot->w.copy_(k.w);
      k.slot->m.copy_(k.m);
      k.slot->v.copy_(k.v);
      k.slot->t.copy_(k.t);
    }
  }

  // Forgets the weights marked used by a forward pass that is not trained on.
  void Unmark() {
    for (Slot* s : used_) {
      s->used = false;
      if (s->w.grad().defined()) s->w.mutable_grad().reset();
    }
    used_.clear();
    if (table_.defined() && table_.grad().defined()) table_.mutable_grad().reset();
    table_used_ = false;
  }

 private:
  static bool Larger(const std::vector<int64_t>& want, const std::vector<int64_t>& have) {
    for (size_t d = 0; d < want.size(); ++d) {
      if (want[d] > have[d]) return true;
    }
    return false;
  }

  // The weight and its state at the larger of both shapes; the old values in the corner.
  static void Grow(Slot& s, const std::vector<int64_t>& want, Init init, int64_t fan_in) {
    torch::NoGradGuard no_grad;
    std::vector<int64_t> have = s.w.sizes().vec(), shape = want;
    for (size_t d = 0; d < shape.size() && d < have.size(); ++d) {
      shape[d] = std::max(shape[d], have[d]);
    }
    auto corner = [&](Tensor t) {
      for (size_t d = 0; d < have.size(); ++d) t = t.narrow(static_cast<int64_t>(d), 0, have[d]);
      return t;
    };
    Tensor w = torch::empty(shape);
    InitWeight(w, init, fan_in);
    corner(w).copy_(s.w);
    Tensor m = torch::zeros(shape), v = torch::zeros(shape), t = torch::zeros(shape);
    corner(m).copy_(s.m);
    corner(v).copy_(s.v);
    corner(t).copy_(s.t);
    s.w = w.set_requires_grad(true);
    s.m = m;
    s.v = v;
    s.t = t;
  }

  void GrowTable(int64_t dim) {
    torch::NoGradGuard no_grad;
    int64_t rows = 0;
    for (int64_t c : cardinality_) rows += c;
    Tensor table = torch::empty({rows, dim});
    int64_t offset = 0;
    for (int64_t c : cardinality_) {
      const double a = std::sqrt(1.0 / static_cast<double>(c));  // DLRM's, as FreshParams
      table.narrow(0, offset, c).uniform_(-a, a);
      offset += c;
    }
    Tensor sum = torch::zeros({rows, dim});
    if (table_.defined()) {
      table.narrow(1, 0, table_.size(1)).copy_(table_);
      sum.narrow(1, 0, table_.size(1)).copy_(table_sum_);
    }
    table_ = table.set_requires_grad(true);
    table_sum_ = sum;
  }

  std::vector<int64_t> cardinality_;
  scaleplan::rec::TrainOptions options_;
  std::map<std::string, Slot> slots_;
  std::vector<Slot*> used_;
  Tensor table_, table_sum_;
  bool table_used_ = false;
  double lr_scale_ = 1;
  bool table_frozen_ = false;
};

class TorchSupernet : public scaleplan::rec::Supernet {
 public:
  TorchSupernet(const CtrData& data, const scaleplan::rec::TrainOptions& options, int64_t train_n)
      : data_(data), options_(options), train_n_(train_n), params_(data, options) {
    SingleThreadedBlas();
    torch::set_num_threads(static_cast<int>(options.threads));
    double clicks = 0;
    for (int64_t i = 0; i < train_n; ++i) clicks += data.train.label[static_cast<size_t>(i)];
    const double c = std::clamp(clicks / static_cast<double>(train_n), 1e-4, 1 - 1e-4);
    std::lock_guard<std::mutex> lock(InitMutex());
    torch::manual_seed(options.seed);
    // The logit starts at the training click rate's (as the trainer's).
    Tensor bias = params_.Get("head.b", {1}, Init::kFanIn, 1);
    torch::NoGradGuard no_grad;
    bias.fill_(std::log(c / (1 - c)));
    params_.Unmark();
    train_ = ToTensors(data, data.train, train_n);
  }

  bool DoTrainStep(const Arch& arch, const ArchInfo& info, int64_t step, double* loss,
                   std::string* error) override {
    try {
      const int64_t per_epoch = (train_n_ + options_.batch - 1) / options_.batch;
      const int64_t epoch = step / per_epoch;
      if (epoch != epoch_) Shuffle(epoch);
      const int64_t from = (step % per_epoch) * options_.batch;
      const int64_t len = std::min(options_.batch, train_n_ - from);
      Tensor idx = perm_.narrow(0, from, len);
      const Tensor dense = train_.dense.index_select(0, idx), ids = train_.ids.index_select(0, idx);
      Tensor target = train_.label.index_select(0, idx);
      if (teacher_ && !(arch == teacher_->arch)) {
        torch::NoGradGuard no_grad;
        RecNet teacher(teacher_->arch, teacher_->info, data_, params_);
        const Tensor p = torch::sigmoid(teacher.forward(dense, ids));
        params_.Unmark();  // read, not trained: only the architecture's own weights step
        target = target * (1 - teacher_->weight) + p * teacher_->weight;
      }
      RecNet net(arch, info, data_, params_);
      Tensor logits = net.forward(dense, ids);
      Tensor l = torch::binary_cross_entropy_with_logits(logits, target);
      l.backward();
      *loss = l.item<double>();
      if (!std::isfinite(*loss)) {
        params_.Unmark();
        *error = "the training loss is not finite (allowed: a lower lr)";
        return false;
      }
      params_.Step();
      return true;
    } catch (const std::exception& e) {
      params_.Unmark();
      *error = scaleplan::TorchErrorText(e);
      return false;
    }
  }

  bool DoTunedLoss(const Arch& arch, const ArchInfo& info, int64_t from, int64_t n, int64_t steps,
                   double lr_scale, double* loss, std::string* error) override {
    std::vector<SharedParams::Saved> saved;
    try {
      RecNet warm(arch, info, data_, params_);  // grows the weights it reads and marks them
      saved = params_.SaveUsed();
      params_.Unmark();
    } catch (const std::exception& e) {
      params_.Unmark();
      *error = scaleplan::TorchErrorText(e);
      return false;
    }
    params_.Tune(lr_scale, true);
    bool ok = true;
    double step_loss = 0;
    for (int64_t step = 0; ok && step < steps; ++step) {
      ok = DoTrainStep(arch, info, step, &step_loss, error);
    }
    params_.Tune(1, false);
    if (ok) ok = DoLoss(arch, info, from, n, {}, loss, nullptr, error);
    SharedParams::Restore(saved);
    return ok;
  }

  bool DoSetTeacher(const Arch& teacher, const ArchInfo& info, double weight,
                    std::string* error) override {
    if (weight == 0) {
      teacher_.reset();
      return true;
    }
    try {
      // Its dense weights made now: a teacher's first forward pass inside a TunedLoss must not
      // grow a weight the tuning saved. (The embedding table grows at a forward pass; it is not
      // saved, and growing it keeps its values.)
      RecNet made(teacher, info, data_, params_);
      params_.Unmark();
    } catch (const std::exception& e) {
      params_.Unmark();
      *error = scaleplan::TorchErrorText(e);
      return false;
    }
    teacher_ = Teacher{teacher, info, weight};
    return true;
  }

  bool DoLoss(const Arch& arch, const ArchInfo& info, int64_t from, int64_t n,
              const std::vector<std::string>& gates, double* loss, std::vector<double>* gate_grads,
              std::string* error) override {
    try {
      RecNet net(arch, info, data_, params_);
      const Tensors valid = ToTensors(data_, data_.valid, from + n);
      Tensor dense = valid.dense.narrow(0, from, n), ids = valid.ids.narrow(0, from, n),
             label = valid.label.narrow(0, from, n);
      if (gates.empty()) {
        torch::NoGradGuard no_grad;
        double sum = 0;
        for (int64_t at = 0; at < n; at += kEvalChunk) {
          const int64_t len = std::min(kEvalChunk, n - at);
          Tensor logits = net.forward(dense.narrow(0, at, len), ids.narrow(0, at, len));
          sum += torch::binary_cross_entropy_with_logits(logits, label.narrow(0, at, len),
                                                         {}, {}, at::Reduction::Sum)
                     .item<double>();
        }
        *loss = sum / static_cast<double>(n);
      } else {
        // One gate per name (two dimensions carried by one block share its gate); a name the
        // network never reads has no gradient: 0.
        RecNet::Gates map;
        std::vector<Tensor> inputs;
        std::vector<size_t> which;  // gate k -> inputs index
        std::map<std::string, size_t> input_of;
        for (const std::string& g : gates) {
          if (input_of.count(g) == 0) {
            Tensor t = torch::ones({}, torch::requires_grad());
            map[g] = t;
            input_of[g] = inputs.size();
            inputs.push_back(t);
          }
          which.push_back(input_of[g]);
        }
        Tensor l = torch::binary_cross_entropy_with_logits(net.forward(dense, ids, &map), label);
        *loss = l.item<double>();
        gate_grads->assign(gates.size(), 0.0);
        std::vector<Tensor> g = torch::autograd::grad({l}, inputs, {}, false, false, true);
        for (size_t k = 0; k < gates.size(); ++k) {
          if (g[which[k]].defined()) (*gate_grads)[k] = g[which[k]].item<double>();
        }
      }
      params_.Unmark();
      return true;
    } catch (const std::exception& e) {
      params_.Unmark();
      *error = scaleplan::TorchErrorText(e);
      return false;
    }
  }

 private:
  void Shuffle(int64_t epoch) {
    std::mt19937_64 rng(options_.seed + static_cast<uint64_t>(epoch));
    order_.resize(static_cast<size_t>(train_n_));
    std::iota(order_.begin(), order_.end(), 0);
    std::shuffle(order_.begin(), order_.end(), rng);
    perm_ = torch::from_blob(order_.data(), {train_n_}, torch::kInt64);
    epoch_ = epoch;
  }

  struct Teacher {
    Arch arch;
    ArchInfo info;
    double weight;  // of its probabilities in the other architectures' targets
  };

  const CtrData& data_;
  scaleplan::rec::TrainOptions options_;
  int64_t train_n_;
  std::optional<Teacher> teacher_;
  SharedParams params_;
  Tensors train_;
  std::vector<int64_t> order_;
  Tensor perm_;
  int64_t epoch_ = -1;
};

}  // namespace

extern "C" scaleplan::rec::Supernet* scaleplan_rec_supernet(const CtrData* data,
                                                            const scaleplan::rec::TrainOptions* options,
                                                            int64_t train_n, std::string* error) {
  try {
    return new TorchSupernet(*data, *options, train_n);
  } catch (const std::exception& e) {
    *error = scaleplan::TorchErrorText(e);
    return nullptr;
  }
}

extern "C" bool scaleplan_rec_train(const PluginRequest* request, PluginResult* result,
                                    std::string* error) {
  try {
    return Run(*request, result, error);
  } catch (const std::exception& e) {
    *error = scaleplan::TorchErrorText(e);
    return false;
  }
}
