// A weight-sharing supernet over ranking-model architectures, for the one-shot and DNAS search
// families (nas/nas.h). Implemented by the trainer plugin (rec_torch.cpp); see train.h.
//
// Every architecture trained or scored on a supernet takes its weights from one shared store.
// A weight is named by its block's name and role (block "s2_mlp", layer 0, weight) and, for a
// layer that reads a 2D tensor, by what it reads: a layer over a concatenation takes one weight
// per part, named by the part (DCN's, whose rows follow the input's layout too, one per pair of
// parts), so the columns that read stage 1's dot products keep their meaning whatever else is
// joined beside them (any-path connections). An architecture whose block asks for a smaller
// shape than the store holds uses its top-left corner (the elastic sharing of NASRec, WWW'23,
// and once-for-all, arXiv:1908.09791: a 64-wide layer is the first 64 rows of the 256-wide one);
// the embedding table is one, its first E columns used at embedding dimension E. A request for
// a larger shape than any before grows the weight (the new part initialised as a fresh layer's)
// and its optimizer state (zeros). So that a corner reads what it read in the larger model, the
// weights over a flattened [N, E] tensor (columns; DCN's rows and biases too) are stored [N, E]
// (a model of fewer vectors or a smaller E takes the same vectors' same leading dimensions; flat,
// E 8's second vector would meet the weights E 16's first one learnt); a block whose output keeps
// its input's layout (DCN, a gate) is read by its input's parts; and the dot products' pairs
// (i, j), i < j, come by j then i (the first N vectors' pairs first, whatever the count).
// Standalone models (train.h) keep PyTorch's layouts: row-major flattening and pairs.
//
// Optimizers as the trainer's (train.h): Adam or Adagrad for the dense weights, sparse Adagrad
// for the embedding rows. A step moves only the corners the architecture used; Adam counts, per
// element, the steps that element took part in (its bias correction).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "rec/arch.h"
#include "rec/data.h"
#include "rec/train.h"

namespace scaleplan::rec {

inline constexpr int64_t kMaxTuneSteps = 100000;  // Supernet::TunedLoss's steps, at most

class Supernet {
 public:
  virtual ~Supernet() = default;

  // One optimizer step of `arch` (analysed: `info`) on training batch `step`: the examples
  // [step * batch, (step + 1) * batch) of an order shuffled per epoch by the seed, over the first
  // options.max_train_examples training examples (all when 0). Two architectures trained at one
  // `step` see the same examples. The batch's mean log loss.
  Result<double> TrainStep(const Arch& arch, const ArchInfo& info, int64_t step);

  // The mean log loss of `arch` with the shared weights on valid examples [from, from + n), no
  // update. With `gates`, each names a tensor multiplied by a gate of value 1: a block's output
  // ("s2_mlp"), the embeddings ("sparse") or one part of a concatenation as it reads it
  // ("s3_in:s1_mlp"); *gate_grads receives the loss's derivative with respect to each gate
  // (DNAS's straight-through estimator, nas.h). A name given twice is one gate; a name `arch`
  // does not have gets 0.
  Result<double> Loss(const Arch& arch, const ArchInfo& info, int64_t from, int64_t n,
                      const std::vector<std::string>& gates = {},
                      std::vector<double>* gate_grads = nullptr);

  // Loss after a few steps of `arch`'s own: `steps` optimizer steps of its dense weights on
  // training batches [0, steps) (the same batches for every architecture) at `lr_scale` times the
  // dense learning rate, its embedding rows frozen, then its loss as Loss's (no gates); the
  // weights and optimizer state it moved are then put back, so the supernet is as it was (but
  // for a weight the architecture is the first to ask for, made as Loss makes it). A subnet's
  // shared weights were shaped by every path through them: scored as they are, the scratch
  // space's spread subnets rank at about chance against their low-fidelity NEs, after 30 steps
  // of their own at lr_scale 0.3 at 0.27-0.45, though almost only by their size (docs/NAS.md).
  // steps 0: Loss.
  Result<double> TunedLoss(const Arch& arch, const ArchInfo& info, int64_t from, int64_t n,
                           int64_t steps, double lr_scale);

  // In-place distillation (BigNAS, arXiv:2003.11142): from now on every TrainStep of an
  // architecture other than `teacher` (operator==), TunedLoss's steps too, fits the target
  // (1 - weight) label + weight p, p the teacher's predicted click probability for the example
  // with the shared weights as they are before the step (a forward pass, no update); the
  // teacher's own steps fit the labels. A click label is a coin flip at the base rate: a subnet
  // that fits the co-trained reference's probabilities learns in one epoch more of what its
  // architecture can express and less of the labels' noise (on the scratch space the supernet
  // then ranks the subnets of one cost better, docs/NAS.md). weight in [0, 1]; 0: the labels, as
  // with no teacher. Called again, it replaces the teacher. Within TunedLoss the teacher's
  // probabilities are recomputed each step from the shared weights the tuning moves (the weights
  // both read), so the target moves a little with the student's own steps.
  Status SetTeacher(const Arch& teacher, const ArchInfo& info, double weight);

  // The plugin's side (internal): errors as text.
  virtual bool DoTrainStep(const Arch& arch, const ArchInfo& info, int64_t step, double* loss,
                           std::string* error) = 0;
  virtual bool DoLoss(const Arch& arch, const ArchInfo& info, int64_t from, int64_t n,
                      const std::vector<std::string>& gates, double* loss,
                      std::vector<double>* gate_grads, std::string* error) = 0;
  virtual bool DoTunedLoss(const Arch& arch, const ArchInfo& info, int64_t from, int64_t n,
                           int64_t steps, double lr_scale, double* loss, std::string* error) = 0;
  virtual bool DoSetTeacher(const Arch& teacher, const ArchInfo& info, double weight,
                            std::string* error) = 0;

 private:
  friend Result<std::unique_ptr<Supernet>> MakeSupernet(const CtrData& data,
                                                        const TrainOptions& options);
  int64_t valid_n_ = 0;  // the valid examples Loss may read
};

// A supernet on `data`, training with `options` (batch, optimizer, lr, embedding_lr, seed,
// threads, max_train_examples); loads the trainer plugin.
Result<std::unique_ptr<Supernet>> MakeSupernet(const CtrData& data, const TrainOptions& options);

// The plugin's factory (internal).
using SupernetFn = Supernet* (*)(const CtrData* data, const TrainOptions* options,
                                 int64_t train_n, std::string* error);
inline constexpr const char* kSupernetSymbol = "scaleplan_rec_supernet";

}  // namespace scaleplan::rec
