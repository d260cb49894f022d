// Training a ranking model on the CPU (libtorch) and scoring it.
//
// The trainer lives in a plugin (rec_torch.cpp, built with -DSCALEPLAN_TORCH=ON) that train.cpp
// loads with dlopen the first time a model is trained, as the mlp predictor's does: libtorch's
// libraries would add about 0.3 s to every command if the program linked them.
//
// Training: binary cross-entropy on the logit, mini-batches drawn in an order shuffled per epoch
// by the seed; the dense parameters by Adam or Adagrad, the embedding rows by sparse Adagrad (as
// DLRM's reference and TorchRec's fused kernels do), one intra-op thread unless told otherwise.
// The logit's bias starts at the training click rate's logit. Deterministic for a seed and thread
// count.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/blas.h"
#include "core/status.h"
#include "rec/arch.h"
#include "rec/data.h"
#include "spec/schema.h"

namespace scaleplan::rec {

enum class DenseOptimizer { kAdam, kAdagrad };

// Embedding tables a training starts from instead of fresh ones (a search's low-fidelity runs,
// nas.h), one per embedding dimension: rows x dim floats, row-major, every sparse feature's rows
// in the trainer's order (feature 0's cardinality rows, then feature 1's, ...). A model whose
// dimension has no table starts fresh.
struct EmbeddingStart {
  std::map<int64_t, std::vector<float>> tables;
  uint64_t fingerprint = 0;  // of the tables' bytes (the caller's: a multi-process run's tag)
};

struct TrainOptions {
  // Change the answer.
  int64_t batch = 256;
  int64_t epochs = 1;
  // Train on the first n training examples only (a low-fidelity run); 0 = all.
  int64_t max_train_examples = 0;
  // Score on the first n examples of valid and test; 0 = all.
  int64_t max_eval_examples = 0;
  DenseOptimizer optimizer = DenseOptimizer::kAdam;
  double lr = 2e-3;            // dense parameters
  double embedding_lr = 0.05;  // embedding rows (sparse Adagrad)
  bool evaluate_test = true;   // false: valid only (a search's candidates)
  int64_t curve_points = 20;   // the training curve's points (mean loss per stretch of steps)
  uint64_t seed = 1;
  // The embedding rows start from these tables (null: fresh rows, the default); they train on.
  std::shared_ptr<const EmbeddingStart> embedding_start;
  // Return the trained embedding table (TrainResult::embedding_table).
  bool keep_embeddings = false;
  // Refuse a training the memory left cannot hold (CheckTrainMemory). false: the caller checked
  // it for every training it runs side by side (nas's parallel candidates).
  bool check_memory = true;
  // Change only the speed.
  // libtorch intra-op threads (process-wide: a parallel search uses 1). OpenBLAS runs on the
  // calling thread whatever this says (rec_torch.cpp: its own pool spins beside the trainer's).
  int64_t threads = 1;
  // Called about every 1% of the steps with (steps done, steps in all, recent mean loss).
  std::function<void(int64_t, int64_t, double)> progress;
};

struct TrainResult {
  Metrics valid, test;        // test is empty (examples 0) when not evaluated
  std::vector<double> curve;  // mean training log loss per stretch, in order
  int64_t steps = 0;
  int64_t examples = 0;  // training examples seen, all epochs
  double train_s = 0;    // wall time of the training loop (not of the scoring)
  double score_s = 0;    // wall time of scoring the valid and test examples
  double wall_s = 0;     // wall time of the whole Train call (set-up, training, scoring)
  double examples_per_s = 0;
  std::vector<float> embedding_table;  // keep_embeddings: rows x dim, as EmbeddingStart's
};

// The most parameters (dense and embedding) the CPU trainer takes: at most 16 GB of state
// (TrainMemory).
inline constexpr double kMaxTrainParameters = 1e9;
// The activations' memory a training step may take (rec::Train's estimate).
inline constexpr double kMaxTrainActivationBytes = 16e9;

// What a training holds at its peak, in bytes (FP32): `state`, the weights and the optimizers'
// state (dense parameters 16 bytes with Adam, 12 with Adagrad: weight, gradient, moments or
// sum; embedding rows 8: weight and sparse Adagrad's sum), and `activations`, every block's
// output kept for backward with its gradient and a temporary (12 bytes an element; attention's
// scores besides), `activation_elements` an example, times the batch.
struct TrainBytes {
  double state = 0, activations = 0, activation_elements = 0;
};
TrainBytes TrainMemory(const Arch& arch, const ArchInfo& info, const TrainOptions& options);

// A training that needs more than the memory left (core/memory.h) is refused before it starts,
// as the kernel's OOM killer would end it without a word: TrainMemory's state and activations
// against `available_bytes` (nullopt: unknown, not checked).
Status CheckTrainMemory(const std::string& arch_name, double state_bytes, double activation_bytes,
                        std::optional<double> available_bytes);

// Checks `arch` against the data and trains it (with TrainOptions::check_memory,
// CheckTrainMemory against AvailableMemoryBytes).
Result<TrainResult> Train(const Arch& arch, const CtrData& data, const TrainOptions& options);

// What an error calls an option, given its input key ("train.max_eval_examples"): a command
// passes one that gives its flags ("--max-eval-examples"); null: the key itself.
using OptionName = std::function<std::string(std::string_view key)>;
std::string NameOf(const OptionName& name, std::string_view key);

// What every Train call needs before any architecture: the trainer loads, the options are within
// their bounds, the data is consistent. A search checks it once, so that a failing candidate
// afterwards is the candidate's failure (divergence), not the set-up's. Where too few examples
// hold both labels, the error names the example caps as `name` gives them.
Status CheckTrainSetup(const CtrData& data, const TrainOptions& options,
                       const OptionName& name = nullptr);
// Of those, the labels alone: the examples trained on and scored hold clicks and non-clicks.
Status CheckLabels(const CtrData& data, const TrainOptions& options,
                   const OptionName& name = nullptr);

InputShape InputOf(const CtrData& data);

// The matrix kernels the trainer runs on (core/blas.h), selected as it loaded; loads it.
Result<blas::BlasState> TrainerBlas();

// TrainOptions as input keys (section "train"; the flags of rec-train and nas).
const spec::Schema<TrainOptions>& TrainOptionsSchema();

// The plugin's interface (internal). The caller has checked the architecture: `info` is its
// Analyze result. The plugin fills predictions for the first valid_n / test_n examples.
struct PluginRequest {
  const Arch* arch = nullptr;
  const ArchInfo* info = nullptr;
  const CtrData* data = nullptr;
  const TrainOptions* options = nullptr;
  int64_t train_n = 0, valid_n = 0, test_n = 0;
};
struct PluginResult {
  std::vector<double> valid_p, test_p;
  std::vector<double> curve;
  int64_t steps = 0, examples = 0;
  double train_s = 0, score_s = 0;
  std::vector<float> embedding_table;  // options->keep_embeddings
};
using TrainFn = bool (*)(const PluginRequest* request, PluginResult* result, std::string* error);
inline constexpr const char* kTrainSymbol = "scaleplan_rec_train";

}  // namespace scaleplan::rec
