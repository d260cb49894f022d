#include "model/ranking.h"

#include <fmt/format.h>

namespace scaleplan::model {

namespace {

using spec::Interaction;

// `weights`: a layer's k x n weight (and, with `bias`, n biases); the dot interaction's batched
// product multiplies activations by activations and has none.
void AddGemm(std::vector<DenseOp>& ops, std::string name, double rows, int64_t k, int64_t n,
             bool bias, bool bottom = false, bool weights = true) {
  DenseOp op;
  op.bottom = bottom;
  op.name = std::move(name);
  op.kind = DenseOpKind::kGemm;
  op.rows_per_sample = rows;
  op.k = k;
  op.n = n;
  op.flops_per_sample = 2.0 * rows * static_cast<double>(k) * static_cast<double>(n);
  op.params = weights ? static_cast<double>(k) * static_cast<double>(n) +
                            (bias ? static_cast<double>(n) : 0)
                      : 0;
  ops.push_back(std::move(op));
}

// `bytes` forward, `backward_bytes` backward (reads and writes).
void AddElementwise(std::vector<DenseOp>& ops, std::string name, double flops, double bytes,
                    double backward_bytes) {
  DenseOp op;
  op.backward_bytes_per_sample = backward_bytes;
  op.name = std::move(name);
  op.kind = DenseOpKind::kElementwise;
  op.flops_per_sample = flops;
  op.bytes_per_sample = bytes;
  ops.push_back(std::move(op));
}

double SumOfDims(const spec::RankingModelSpec& model) {
  double sum = 0;
  for (const spec::TableSpec& t : model.tables) sum += static_cast<double>(model.DimOf(t));
  return sum;
}

int64_t BottomOut(const spec::RankingModelSpec& model) {
  return model.bottom_mlp.empty() ? model.dense_features : model.bottom_mlp.back();
}

// Feature vectors the interaction sees: the tables, plus the dense vector when there is one.
int64_t Vectors(const spec::RankingModelSpec& model) {
  return static_cast<int64_t>(model.tables.size()) + (BottomOut(model) > 0 ? 1 : 0);
}

}  // namespace

int64_t InteractionOutputWidth(const spec::RankingModelSpec& model) {
  const int64_t t = Vectors(model);
  const int64_t concat = BottomOut(model) + static_cast<int64_t>(SumOfDims(model));
  switch (model.interaction) {
    case Interaction::kDot:
      return BottomOut(model) + t * (t - 1) / 2;
    case Interaction::kDcn:
      return concat;
    case Interaction::kFm:
      return concat + 1;
    case Interaction::kAttention:
      return t * model.DimOf(model.tables.front());
  }
  return concat;
}

std::vector<DenseOp> RankingDenseOps(const spec::RankingModelSpec& model) {
  std::vector<DenseOp> ops;
  const double act = kDenseActivationBytes;
  int64_t in = model.dense_features;
  for (size_t i = 0; i < model.bottom_mlp.size(); ++i) {
    AddGemm(ops, fmt::format("bottom.{}", i), 1, in, model.bottom_mlp[i], true, true);
    in = model.bottom_mlp[i];
  }
  const int64_t t = Vectors(model);
  const double f = static_cast<double>(model.tables.size());
  const int64_t concat = BottomOut(model) + static_cast<int64_t>(SumOfDims(model));
  switch (model.interaction) {
    case Interaction::kDot: {
      const int64_t d = model.DimOf(model.tables.front());
      // The concatenation written, then T x d by d x T per sample, then the triangle copied out.
      const double concat_bytes = 2.0 * static_cast<double>(t * d) * act;
      AddElementwise(ops, "dot.concat", 0, concat_bytes, concat_bytes);
      AddGemm(ops, "dot.bmm", static_cast<double>(t), d, t, false, false, false);
      const double triangle = 2.0 * static_cast<double>(InteractionOutputWidth(model)) * act;
      AddElementwise(ops, "dot.triangle", 0, triangle, triangle);
      break;
    }
    case Interaction::kDcn: {
      const double w = static_cast<double>(concat);
      AddElementwise(ops, "dcn.concat", 0, 2.0 * w * act, 2.0 * w * act);
      for (int64_t l = 0; l < model.interaction_layers; ++l) {
        if (model.interaction_rank > 0) {
          AddGemm(ops, fmt::format("dcn.{}.u", l), 1, concat, model.interaction_rank, false);
          AddGemm(ops, fmt::format("dcn.{}.v", l), 1, model.interaction_rank, concat, true);
        } else {
          AddGemm(ops, fmt::format("dcn.{}.w", l), 1, concat, concat, true);
        }
        AddElementwise(ops, fmt::format("dcn.{}.cross", l), 2.0 * w, 3.0 * w * act, 5.0 * w * act);
      }
      break;
    }
    case Interaction::kFm: {
      const double d = static_cast<double>(model.DimOf(model.tables.front()));
      const double concat_bytes = 2.0 * static_cast<double>(concat) * act;
      AddElementwise(ops, "fm.concat", 0, concat_bytes, concat_bytes);
      AddElementwise(ops, "fm.sum_square", 3.0 * f * d, f * d * act, 2.0 * f * d * act);
      break;
    }
    case Interaction::kAttention: {
      const int64_t d = model.DimOf(model.tables.front());
      const double rows = static_cast<double>(t);
      const double concat_bytes = 2.0 * rows * static_cast<double>(d) * act;
      AddElementwise(ops, "attention.concat", 0, concat_bytes, concat_bytes);
      for (int64_t l = 0; l < model.interaction_layers; ++l) {
        AddGemm(ops, fmt::format("attention.{}.qkv", l), rows, d, 3 * d, true);
        // Scores Q K^T and the weighted sum, per head: 2 T^2 (d/h) FLOP each, h heads.
        DenseOp scores;
        scores.name = fmt::format("attention.{}.scores", l);
        scores.kind = DenseOpKind::kGemm;
        scores.rows_per_sample = rows;
        scores.k = d / model.attention_heads;
        scores.n = t;
        scores.flops_per_sample = 4.0 * rows * rows * static_cast<double>(d);
        ops.push_back(scores);
        AddGemm(ops, fmt::format("attention.{}.out", l), rows, d, d, true);
        const double residual = 3.0 * rows * static_cast<double>(d) * act;
        AddElementwise(ops, fmt::format("attention.{}.residual", l), rows * static_cast<double>(d), residual,
                       residual);
      }
      break;
    }
  }
  in = InteractionOutputWidth(model);
  for (size_t i = 0; i < model.top_mlp.size(); ++i) {
    AddGemm(ops, fmt::format("top.{}", i), 1, in, model.top_mlp[i], true);
    in = model.top_mlp[i];
  }
  // Sigmoid and binary cross-entropy on the logits.
  const double logits = 2.0 * static_cast<double>(in) * act;
  AddElementwise(ops, "loss", 4.0 * static_cast<double>(in), logits, logits);
  return ops;
}

RankingCounts CountRanking(const spec::RankingModelSpec& model) {
  RankingCounts counts;
  for (const spec::TableSpec& t : model.tables) {
    counts.embedding_params += static_cast<double>(t.rows) * static_cast<double>(model.DimOf(t));
    counts.lookups_per_sample += t.pooling;
  }
  for (const DenseOp& op : RankingDenseOps(model)) {
    counts.dense_params += op.params;
    counts.dense_flops_per_sample += op.flops_per_sample;
  }
  return counts;
}

}  // namespace scaleplan::model
