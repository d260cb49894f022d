// The dense part of a ranking model as a list of ops per sample: what the step model prices on
// the GPU's GEMM tables (recsys/cost.h) and what the parameter count sums. Forward only; the
// backward of a GEMM is two GEMMs of the same size (input and weight gradients).
//
// With F tables, T = F + 1 feature vectors when there are dense features (the bottom MLP's output
// is one more vector), T = F otherwise, and d the tables' dim (dot, fm, attention: one dim):
//   bottom MLP       GEMMs dense_features -> w1 -> ... -> w_b (bias + ReLU fused)
//   dot              batched GEMM per sample, T x d by d x T: 2 T^2 d FLOP; top input
//                    w_b + T (T - 1) / 2 (DLRM's strict upper triangle beside the dense vector)
//   dcn (DCN-v2)     per layer on the concatenation x (width w = w_b + sum of dims):
//                    x_{l+1} = x_0 * (V (U x_l) + b) + x_l; rank r: GEMMs w -> r and r -> w,
//                    full rank: w -> w; the cross in the GEMM's epilogue reads x_0 and x_l and
//                    writes x_{l+1} (3 vectors of w), its backward moves 5 (the gradient in,
//                    x_0 and the GEMM output read, the gradients of x_0 and of the output out)
//   fm (DeepFM)      sum-square trick over the F vectors (elementwise, 3 F d FLOP); top input
//                    w + 1
//   attention        per layer over T tokens of dim d (AutoInt): QKV GEMM d -> 3d and output GEMM
//                    d -> d on T rows, scores and weighted sum 4 T^2 d FLOP; top input T d
//   top MLP          GEMMs from the interaction's output; the last width is the logit
// Activations are 2 bytes (mixed precision: the dense part runs in BF16/FP16).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/ranking.h"

namespace scaleplan::model {

inline constexpr double kDenseActivationBytes = 2;

enum class DenseOpKind { kGemm, kElementwise };

struct DenseOp {
  std::string name;  // "bottom.0", "dcn.1.u", "top.3", ...
  DenseOpKind kind = DenseOpKind::kGemm;
  // GEMM: rows per sample (1 for an MLP layer, T for attention and dot), inner size k, output n.
  double rows_per_sample = 1;
  int64_t k = 0;
  int64_t n = 0;
  double flops_per_sample = 0;           // forward
  double bytes_per_sample = 0;           // elementwise: bytes read and written, forward
  double backward_bytes_per_sample = 0;  // elementwise: bytes read and written, backward
  double params = 0;                     // weights and biases
  bool bottom = false;                   // part of the bottom MLP (independent of the tables)
};

// The dense part its bottom_mlp, interaction and top_mlp keys describe (a model given by `arch`
// goes through recsys::DenseOpsOf, recsys/dense.h).
std::vector<DenseOp> RankingDenseOps(const spec::RankingModelSpec& model);

// One GEMM of `rows` x k by k x n per sample (2 rows k n FLOP); `weights`: a k x n weight (and,
// with `bias`, n biases) is trained.
DenseOp GemmOp(std::string name, double rows, int64_t k, int64_t n, bool bias, bool bottom = false,
               bool weights = true);
// A memory-bound op: `bytes` read and written forward, `backward_bytes` backward.
DenseOp ElementwiseOp(std::string name, double flops, double bytes, double backward_bytes,
                      bool bottom = false);
// `layers` DCN-v2 cross layers on a vector of `width` (rank 0: full rank; the comment above).
void AppendDcn(std::vector<DenseOp>& ops, const std::string& prefix, int64_t width, int64_t layers,
               int64_t rank, bool bottom);
// Sigmoid and binary cross-entropy on `outputs` logits.
DenseOp LossOp(int64_t outputs);

// Width of the vector the interaction hands the top MLP.
int64_t InteractionOutputWidth(const spec::RankingModelSpec& model);

struct RankingCounts {
  double embedding_params = 0;        // sum of rows x dim
  double dense_params = 0;            // sum over the dense ops
  double lookups_per_sample = 0;      // sum of pooling
  double dense_flops_per_sample = 0;  // forward; training = 3x
};

RankingCounts CountRanking(const spec::RankingModelSpec& model,
                           const std::vector<DenseOp>& dense_ops);

}  // namespace scaleplan::model
