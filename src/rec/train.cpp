#include "rec/train.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "core/blas.h"
#include "core/memory.h"
#include "core/text.h"
#include "rec/supernet.h"

namespace scaleplan::rec {

namespace {

// The trainer, loaded once: SCALEPLAN_REC_PLUGIN (environment) or the plugin this build made.
// Its OpenBLAS is set up as it loads (before any training thread: the set-up changes the
// environment).
Status LoadTrainer(TrainFn* out, SupernetFn* supernet_out = nullptr) {
  static std::once_flag once;
  static TrainFn train = nullptr;
  static SupernetFn supernet = nullptr;
  static std::string error, supernet_error;
  std::call_once(once, [] {
    const char* env = std::getenv("SCALEPLAN_REC_PLUGIN");
#ifdef SCALEPLAN_REC_PLUGIN
    const std::string path = env != nullptr && *env != '\0' ? env : SCALEPLAN_REC_PLUGIN;
#else
    const std::string path = env != nullptr ? env : "";
#endif
    if (path.empty()) {
      error = "this build has no ranking-model trainer (rebuild with -DSCALEPLAN_TORCH=ON)";
      return;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      error = fmt::format(
          "the ranking-model trainer {} does not load: {} (allowed: the plugin this build made, "
          "or SCALEPLAN_REC_PLUGIN naming one)",
          path, why != nullptr ? why : "unknown error");
      return;
    }
    blas::PrepareOpenBlas();  // the plugin's OpenBLAS has loaded with it
    train = reinterpret_cast<TrainFn>(dlsym(handle, kTrainSymbol));
    if (train == nullptr) error = fmt::format("the trainer {} has no {}", path, kTrainSymbol);
    supernet = reinterpret_cast<SupernetFn>(dlsym(handle, kSupernetSymbol));
    if (supernet == nullptr) {
      supernet_error = fmt::format("the trainer {} has no {} (allowed: the plugin this build made)",
                                   path, kSupernetSymbol);
    }
  });
  if (train == nullptr) return Status::Invalid(error);
  *out = train;
  if (supernet_out != nullptr) {
    if (supernet == nullptr) return Status::Invalid(supernet_error);
    *supernet_out = supernet;
  }
  return Status::Ok();
}

Status CheckOptions(const TrainOptions& o) {
  auto bad = [](const char* key, double v, const char* allowed) {
    return Status::Invalid(fmt::format("train.{} = {} (allowed: {})", key, v, allowed));
  };
  if (o.batch < 1 || o.batch > 1 << 20) return bad("batch", double(o.batch), "1 to 1048576");
  if (o.epochs < 1 || o.epochs > 1000) return bad("epochs", double(o.epochs), "1 to 1000");
  if (o.max_train_examples < 0)
    return bad("max_train_examples", double(o.max_train_examples), ">= 0");
  if (o.max_eval_examples < 0) return bad("max_eval_examples", double(o.max_eval_examples), ">= 0");
  if (!(o.lr > 0 && o.lr <= 10)) return bad("lr", o.lr, "above 0, at most 10");
  if (!(o.embedding_lr > 0 && o.embedding_lr <= 10)) {
    return bad("embedding_lr", o.embedding_lr, "above 0, at most 10");
  }
  if (o.curve_points < 1 || o.curve_points > 10000) {
    return bad("curve_points", double(o.curve_points), "1 to 10000");
  }
  if (o.threads < 1 || o.threads > 256) return bad("threads", double(o.threads), "1 to 256");
  return Status::Ok();
}

}  // namespace

const spec::Schema<TrainOptions>& TrainOptionsSchema() {
  static const spec::Schema<TrainOptions> schema = [] {
    using T = TrainOptions;
    spec::Schema<T> s("train");
    s.Integer("batch", &T::batch, 1, 1 << 20, "", "examples per training step")
        .Integer("epochs", &T::epochs, 1, 1000, "", "passes over the training examples")
        .Integer("max_train_examples", &T::max_train_examples, 0, int64_t{1} << 40, "",
                 "train on the first N training examples only; 0 = all")
        .Integer("max_eval_examples", &T::max_eval_examples, 0, int64_t{1} << 40, "",
                 "score on the first N valid and test examples only; 0 = all")
        .Choice("optimizer", &T::optimizer,
                std::vector<std::pair<std::string, DenseOptimizer>>{
                    {"adam", DenseOptimizer::kAdam}, {"adagrad", DenseOptimizer::kAdagrad}},
                "optimizer of the dense parameters (embedding rows: sparse Adagrad)")
        .Number("lr", &T::lr, 1e-7, 10, "", "learning rate of the dense parameters")
        .Number("embedding_lr", &T::embedding_lr, 1e-7, 10, "",
                "learning rate of the embedding rows (Adagrad)")
        .Unsigned("seed", &T::seed, "seed of the initial weights and the example order")
        .Integer("threads", &T::threads, 1, 256, "",
                 "libtorch intra-op threads (changes only the speed)");
    return s;
  }();
  return schema;
}

namespace {

// Clicks among the first n examples of a split.
int64_t Clicks(const CtrSplit& split, int64_t n) {
  int64_t clicks = 0;
  for (int64_t i = 0; i < n; ++i) clicks += split.label[static_cast<size_t>(i)] > 0.5f ? 1 : 0;
  return clicks;
}

// NE divides by the entropy of the scored examples' click rate and AUC compares clicks with
// non-clicks: examples of one label have neither (NE would be the log loss over a clamped entropy
// of about 1e-6, a number in the millions). The first valid_n valid and test_n test examples are
// scored.
Status CheckScoredLabels(const CtrData& data, int64_t valid_n, int64_t test_n,
                         const OptionName& name) {
  auto both_labels = [&](const CtrSplit& split, int64_t n, const char* which) -> Status {
    const int64_t clicks = Clicks(split, n);
    if (n == 0 || (clicks > 0 && clicks < n)) return Status::Ok();
    return Status::Invalid(fmt::format(
        "{}: the {} {} examples scored are all {}: NE and AUC need clicks and non-clicks "
        "(allowed: more examples scored, {}, or a larger {} split)",
        data.name, n, which, clicks == 0 ? "non-clicks" : "clicks",
        NameOf(name, "train.max_eval_examples"), which));
  };
  SP_RETURN_IF_ERROR(both_labels(data.valid, valid_n, "valid"));
  return both_labels(data.test, test_n, "test");
}

// Training examples of one label teach the model only to push its logit one way: the bias starts
// at the click rate clamped to 1e-4 and every score that follows is an artefact.
Status CheckTrainingLabels(const CtrData& data, int64_t n, const OptionName& name) {
  const int64_t clicks = Clicks(data.train, n);
  if (clicks > 0 && clicks < n) return Status::Ok();
  return Status::Invalid(fmt::format(
      "{}: the {} training examples are all {}: a model learns nothing from one label (allowed: "
      "more training examples, {}, or a larger train split)",
      data.name, n, clicks == 0 ? "non-clicks" : "clicks",
      NameOf(name, "train.max_train_examples")));
}

}  // namespace

Status CheckTrainMemory(const std::string& arch_name, double state_bytes, double activation_bytes,
                        std::optional<double> available_bytes) {
  if (!available_bytes || state_bytes + activation_bytes <= *available_bytes) return Status::Ok();
  return Status::Invalid(fmt::format(
      "architecture {}: training needs about {:.3g} GB ({:.3g} GB of weights and optimizer "
      "state, {:.3g} GB of activations) and this process may take {:.3g} GB more (allowed: a "
      "model that fits: narrower blocks, a smaller embedding_dim or --table-rows, a smaller "
      "--batch; or more free memory: another machine, or a higher ulimit -v)",
      Printable(arch_name, 64), (state_bytes + activation_bytes) / 1e9, state_bytes / 1e9,
      activation_bytes / 1e9, *available_bytes / 1e9));
}

std::string NameOf(const OptionName& name, std::string_view key) {
  return name ? name(key) : std::string(key);
}

Status CheckLabels(const CtrData& data, const TrainOptions& options, const OptionName& name) {
  SP_RETURN_IF_ERROR(CheckData(data));  // (the labels' array holds every example)
  auto cap = [](int64_t n, int64_t max) { return max > 0 ? std::min(n, max) : n; };
  SP_RETURN_IF_ERROR(
      CheckTrainingLabels(data, cap(data.train.n, options.max_train_examples), name));
  return CheckScoredLabels(data, cap(data.valid.n, options.max_eval_examples),
                           options.evaluate_test ? cap(data.test.n, options.max_eval_examples) : 0,
                           name);
}

Status CheckTrainSetup(const CtrData& data, const TrainOptions& options, const OptionName& name) {
  SP_RETURN_IF_ERROR(CheckOptions(options));
  SP_RETURN_IF_ERROR(CheckData(data));
  SP_RETURN_IF_ERROR(CheckLabels(data, options, name));
  TrainFn train = nullptr;
  return LoadTrainer(&train);
}

Result<blas::BlasState> TrainerBlas() {
  TrainFn train = nullptr;
  SP_RETURN_IF_ERROR(LoadTrainer(&train));
  return blas::PrepareOpenBlas();  // (the loader's answer)
}

InputShape InputOf(const CtrData& data) { return InputShape{data.dense_count, data.cardinality}; }

TrainBytes TrainMemory(const Arch& arch, const ArchInfo& info, const TrainOptions& options) {
  TrainBytes need;
  // FP32 state. Dense parameters: the weight, its gradient and the optimizer's state (Adam's two
  // moments, Adagrad's one sum): 16 or 12 bytes. Embedding rows: the weight and sparse
  // Adagrad's sum, 8 bytes (their gradients are the batch's rows only).
  const double dense = options.optimizer == DenseOptimizer::kAdam ? 16 : 12;
  need.state = dense * info.params + 8 * info.embedding_params;
  // Activations, per example: every block's output (an MLP's hidden layers, every layer of a
  // stack), and attention's scores (heads x N^2 a layer, padded), the one intermediate larger than
  // the outputs; FP32, kept for backward, with their gradients and a temporary as large: 12 bytes
  // an element, times the batch.
  double elements = 0;
  for (size_t b = 0; b < arch.blocks.size() && b < info.shapes.size(); ++b) {
    const Block& block = arch.blocks[b];
    elements += static_cast<double>(info.shapes[b].size());
    if (block.kind == BlockKind::kMlp) {  // the hidden layers' outputs
      for (size_t l = 0; l + 1 < block.widths.size(); ++l) {
        elements += static_cast<double>(block.widths[l]);
      }
    }
    if (block.kind == BlockKind::kAttention || block.kind == BlockKind::kDcn) {
      // Every layer's output, not the last alone; attention's scores besides.
      elements += static_cast<double>(std::max<int64_t>(0, block.layers - 1)) *
                  static_cast<double>(info.shapes[b].size());
    }
    if (block.kind == BlockKind::kAttention) {
      // N x N, its lanes padded to a multiple of 8 (rec/attention_kernel.cpp's kLanes).
      const double n = static_cast<double>(info.shapes[b].rows);
      elements += static_cast<double>(block.layers * block.heads) * n * (std::ceil(n / 8) * 8);
    }
  }
  need.activation_elements = elements;
  need.activations = 12.0 * elements * static_cast<double>(options.batch);
  return need;
}

Result<TrainResult> Train(const Arch& arch, const CtrData& data, const TrainOptions& options) {
  const auto called = std::chrono::steady_clock::now();
  SP_RETURN_IF_ERROR(CheckOptions(options));
  SP_RETURN_IF_ERROR(CheckData(data));
  SP_ASSIGN_OR_RETURN(ArchInfo info, Analyze(arch, InputOf(data)));
  const TrainBytes need = TrainMemory(arch, info, options);
  // A model past kMaxTrainParameters or kMaxTrainActivationBytes is refused here rather than by
  // the allocator.
  if (const double params = info.params + info.embedding_params; params > kMaxTrainParameters) {
    return Status::Invalid(fmt::format(
        "architecture {}: {:.3g} parameters ({:.3g} dense, {:.3g} in embeddings) need {:.3g} GB "
        "to train (allowed: at most {:.0e} parameters on the CPU trainer; narrower blocks, a "
        "smaller embedding_dim or --table-rows)",
        Printable(arch.name, 64), params, info.params, info.embedding_params, need.state / 1e9,
        kMaxTrainParameters));
  }
  if (need.activations > kMaxTrainActivationBytes) {
    return Status::Invalid(fmt::format(
        "architecture {}: {:.3g} activations an example at batch {} need about {:.3g} GB to "
        "train (allowed: at most {:.0f} GB on the CPU trainer; fewer vectors before an attention "
        "block, narrower blocks or a smaller --batch)",
        Printable(arch.name, 64), need.activation_elements, options.batch, need.activations / 1e9,
        kMaxTrainActivationBytes / 1e9));
  }
  if (options.check_memory) {
    SP_RETURN_IF_ERROR(
        CheckTrainMemory(arch.name, need.state, need.activations, AvailableMemoryBytes()));
  }
  TrainFn train = nullptr;
  SP_RETURN_IF_ERROR(LoadTrainer(&train));
  auto cap = [](int64_t n, int64_t max) { return max > 0 ? std::min(n, max) : n; };
  PluginRequest request{&arch,
                        &info,
                        &data,
                        &options,
                        cap(data.train.n, options.max_train_examples),
                        cap(data.valid.n, options.max_eval_examples),
                        options.evaluate_test ? cap(data.test.n, options.max_eval_examples) : 0};
  if (request.train_n < 1 || request.valid_n < 1) {
    return Status::Invalid(
        fmt::format("{}: training needs at least one train and one valid "
                    "example (has {} and {})",
                    data.name, request.train_n, request.valid_n));
  }
  SP_RETURN_IF_ERROR(CheckTrainingLabels(data, request.train_n, nullptr));
  SP_RETURN_IF_ERROR(CheckScoredLabels(data, request.valid_n, request.test_n, nullptr));
  int64_t rows = 0;
  for (int64_t c : data.cardinality) rows += c;
  if (options.embedding_start) {
    auto table = options.embedding_start->tables.find(arch.embedding_dim);
    if (table != options.embedding_start->tables.end() &&
        table->second.size() != static_cast<size_t>(rows * arch.embedding_dim)) {
      return Status::Invalid(
          fmt::format("the embedding start of dimension {} holds {} values, not {} rows x {}",
                      arch.embedding_dim, table->second.size(), rows, arch.embedding_dim));
    }
  }
  PluginResult out;
  std::string error;
  if (!train(&request, &out, &error)) {
    return Status::Invalid(fmt::format("training {}: {}", arch.name, error));
  }
  if (out.valid_p.size() != static_cast<size_t>(request.valid_n) ||
      out.test_p.size() != static_cast<size_t>(request.test_n)) {
    return Status::Invalid("the trainer returned predictions of the wrong length");
  }
  for (const auto* p : {&out.valid_p, &out.test_p}) {
    for (double v : *p) {
      if (!std::isfinite(v)) {
        return Status::Invalid(fmt::format(
            "training {} diverged: a prediction is not finite (allowed: a lower lr)", arch.name));
      }
    }
  }
  TrainResult result;
  auto labels = [](const CtrSplit& s, int64_t n) {
    return std::vector<float>(s.label.begin(), s.label.begin() + n);
  };
  result.valid = Evaluate(out.valid_p, labels(data.valid, request.valid_n));
  if (request.test_n > 0) result.test = Evaluate(out.test_p, labels(data.test, request.test_n));
  result.curve = std::move(out.curve);
  result.steps = out.steps;
  result.examples = out.examples;
  result.train_s = out.train_s;
  result.score_s = out.score_s;
  result.examples_per_s = out.train_s > 0 ? static_cast<double>(out.examples) / out.train_s : 0;
  if (options.keep_embeddings && rows > 0 &&
      out.embedding_table.size() != static_cast<size_t>(rows * arch.embedding_dim)) {
    return Status::Invalid("the trainer returned an embedding table of the wrong size");
  }
  result.embedding_table = std::move(out.embedding_table);
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - called).count();
  return result;
}

Result<std::unique_ptr<Supernet>> MakeSupernet(const CtrData& data, const TrainOptions& options) {
  SP_RETURN_IF_ERROR(CheckOptions(options));
  SP_RETURN_IF_ERROR(CheckData(data));
  TrainFn train = nullptr;
  SupernetFn make = nullptr;
  SP_RETURN_IF_ERROR(LoadTrainer(&train, &make));
  const int64_t train_n = options.max_train_examples > 0
                              ? std::min(data.train.n, options.max_train_examples)
                              : data.train.n;
  if (train_n < 1 || data.valid.n < 1) {
    return Status::Invalid(fmt::format(
        "{}: a supernet needs at least one train and one valid example (has {} and {})",
        data.name, train_n, data.valid.n));
  }
  std::string error;
  std::unique_ptr<Supernet> net(make(&data, &options, train_n, &error));
  if (net == nullptr) return Status::Invalid(fmt::format("the supernet: {}", error));
  net->valid_n_ = data.valid.n;
  return net;
}

// An architecture in a supernet's error: its name, or, for a search's unnamed draw, what it is.
static std::string Called(const Arch& arch) {
  return arch.name.empty() ? fmt::format("architecture {}", Printable(DescribeArch(arch), 120))
                           : Printable(arch.name, 64);
}

Result<double> Supernet::TrainStep(const Arch& arch, const ArchInfo& info, int64_t step) {
  double loss = 0;
  std::string error;
  if (!DoTrainStep(arch, info, step, &loss, &error)) {
    return Status::Invalid(fmt::format("training {} on the supernet: {}", Called(arch), error));
  }
  return loss;
}

Status Supernet::SetTeacher(const Arch& teacher, const ArchInfo& info, double weight) {
  if (!(weight >= 0 && weight <= 1)) {
    return Status::Invalid(
        fmt::format("supernet: distillation weight = {} (allowed: a number from 0 to 1)", weight));
  }
  std::string error;
  if (!DoSetTeacher(teacher, info, weight, &error)) {
    return Status::Invalid(fmt::format("the supernet's teacher {}: {}", Called(teacher), error));
  }
  return Status::Ok();
}

// The plugin reads valid examples [from, from + n): checked here, not there.
static Status CheckValidRange(int64_t from, int64_t n, int64_t valid_n) {
  if (from < 0 || n < 1 || from > valid_n - n) {
    return Status::Invalid(fmt::format(
        "supernet: valid examples [{}, {}) asked for (allowed: within the {} there are)", from,
        from + n, valid_n));
  }
  return Status::Ok();
}

Result<double> Supernet::Loss(const Arch& arch, const ArchInfo& info, int64_t from, int64_t n,
                              const std::vector<std::string>& gates,
                              std::vector<double>* gate_grads) {
  std::vector<double> unused;
  if (gate_grads == nullptr) gate_grads = &unused;
  double loss = 0;
  std::string error;
  SP_RETURN_IF_ERROR(CheckValidRange(from, n, valid_n_));
  if (!DoLoss(arch, info, from, n, gates, &loss, gate_grads, &error)) {
    return Status::Invalid(fmt::format("scoring {} on the supernet: {}", Called(arch), error));
  }
  if (!std::isfinite(loss)) {
    return Status::Invalid(
        fmt::format("scoring {} on the supernet: the loss is not finite", Called(arch)));
  }
  return loss;
}

Result<double> Supernet::TunedLoss(const Arch& arch, const ArchInfo& info, int64_t from, int64_t n,
                                   int64_t steps, double lr_scale) {
  if (steps < 0 || steps > kMaxTuneSteps) {
    return Status::Invalid(
        fmt::format("supernet: tuning steps = {} (allowed: 0 to {})", steps, kMaxTuneSteps));
  }
  if (!(lr_scale > 0) || !std::isfinite(lr_scale)) {
    return Status::Invalid(fmt::format(
        "supernet: tuning learning-rate scale = {} (allowed: a finite number above 0)", lr_scale));
  }
  if (steps == 0) return Loss(arch, info, from, n);
  SP_RETURN_IF_ERROR(CheckValidRange(from, n, valid_n_));
  double loss = 0;
  std::string error;
  if (!DoTunedLoss(arch, info, from, n, steps, lr_scale, &loss, &error)) {
    return Status::Invalid(fmt::format("scoring {} on the supernet after {} steps of its own: {}",
                                       Called(arch), steps, error));
  }
  if (!std::isfinite(loss)) {
    return Status::Invalid(
        fmt::format("scoring {} on the supernet after {} steps of its own: the loss is not finite",
                    Called(arch), steps));
  }
  return loss;
}

}  // namespace scaleplan::rec
