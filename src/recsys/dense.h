// The dense part of a ranking model as the step model's ops (model/ranking.h's DenseOp): from
// its bottom_mlp / interaction / top_mlp keys (model::RankingDenseOps), or from the Rankitect
// architecture its `arch` key names (rec/arch.h: a JSON file, or a baseline built for the model),
// so an architecture `scaleplan nas` finds is priced at scale on the same tables.
//
// An architecture's inputs on a ranking model: `dense`, its dense features (2D, width
// dense_features); `sparse`, one pooled vector per table (3D, N = the tables, E = their dim). Every
// table must have one dim; a file's embedding_dim must equal it; a baseline takes it as its
// embedding dim.
// Ops per block, per sample (W the input width, N x E the input vectors, a = 2 bytes per
// activation, as model/ranking.h; GEMMs 2 m k n FLOP; rec/arch.h also counts the ReLUs and the
// softmax, priced here by their bytes, so its FLOPs are a little higher):
//   mlp        a GEMM per layer: 1 row, w_{l-1} -> w_l, bias and ReLU in its epilogue
//   dcn        per layer GEMMs W -> r -> W (full rank: W -> W) and the cross, as model/ranking.h
//   gating     a GEMM of the gate's input, 1 row, W_b -> W_a, bias; the sigmoid and the product:
//              3 W_a a bytes forward (the gate, the input, the output), 5 W_a a backward
//   sum        k inputs of size S: (k - 1) S FLOP; (k + 1) S a bytes forward and backward
//   concat     the copy: 2 S a bytes forward and backward (S the output's size)
//   flatten    a view: nothing
//   to3d       a GEMM, 1 row, W -> M E, bias
//   linear3d   a GEMM over the E columns, E rows per sample, N -> M, a bias per output vector
//   dot        a batched GEMM, N rows, E -> N, no weights; the triangle copied out,
//              2 (N (N - 1) / 2) a bytes forward and backward
//   fm         ((sum x)^2 - sum x^2) / 2: 3 N E + E FLOP, N E a bytes read forward, 2 N E a
//              backward
//   attention  per layer a GEMM, N rows, E -> 4 E (Q, K, V and the residual projection, no bias),
//              scores and weighted sum 4 N^2 E FLOP (a GEMM of N rows, E / h -> N, no weights),
//              ReLU(heads + residual): 3 N E a bytes forward and backward
//   head       a GEMM, 1 row, W -> 1, bias; then the loss (model::LossOp)
// An op is `bottom` (runs beside the tables' lookups and all-to-alls, recsys/cost.h) when no path
// from `sparse` reaches its block.
#pragma once

#include <vector>

#include "core/status.h"
#include "model/ranking.h"
#include "rec/arch.h"
#include "spec/ranking.h"

namespace scaleplan::recsys {

// The model's dense ops; errors name ranking_model.arch, the architecture's key or the tables'
// dims.
Result<std::vector<model::DenseOp>> DenseOpsOf(const spec::RankingModelSpec& model);

// An architecture's ops on `input` (its shapes checked by rec::Analyze).
Result<std::vector<model::DenseOp>> ArchDenseOps(const rec::Arch& arch,
                                                 const rec::InputShape& input);

}  // namespace scaleplan::recsys
