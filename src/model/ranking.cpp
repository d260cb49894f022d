#include "model/ranking.h"

#include <fmt/format.h>

namespace scaleplan::model {

namespace {

using spec::Interaction;

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

DenseOp GemmOp(std::string name, double rows, int64_t k, int64_t n, bool bias, bool bottom,
               bool weights) {
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
  return op;
}

DenseOp ElementwiseOp(std::string name, double flops, double bytes, double backward_bytes,
                      bool bottom) {
  DenseOp op;
  op.bottom = bottom;
  op.name = std::move(name);
  op.kind = DenseOpKind::kElementwise;
  op.flops_per_sample = flops;
  op.bytes_per_sample = bytes;
  op.backward_bytes_per_sample = backward_bytes;
  return op;
}

void AppendDcn(std::vector<DenseOp>& ops, const std::string& prefix, int64_t width, int64_t layers,
               int64_t rank, bool bottom) {
  const double w = static_cast<double>(width);
  const double act = kDenseActivationBytes;
  for (int64_t l = 0; l < layers; ++l) {
    if (rank > 0) {
      ops.push_back(GemmOp(fmt::format("{}.{}.u", prefix, l), 1, width, rank, false, bottom));
      ops.push_back(GemmOp(fmt::format("{}.{}.v", prefix, l), 1, rank, width, true, bottom));
    } else {
      ops.push_back(GemmOp(fmt::format("{}.{}.w", prefix, l), 1, width, width, true, bottom));
    }
    ops.push_back(ElementwiseOp(fmt::format("{}.{}.cross", prefix, l), 2.0 * w, 3.0 * w * act,
                                5.0 * w * act, bottom));
  }
}

DenseOp LossOp(int64_t outputs) {
  const double logits = 2.0 * static_cast<double>(outputs) * kDenseActivationBytes;
  return ElementwiseOp("loss", 4.0 * static_cast<double>(outputs), logits, logits);
}

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
    ops.push_back(GemmOp(fmt::format("bottom.{}", i), 1, in, model.bottom_mlp[i], true, true));
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
      ops.push_back(ElementwiseOp("dot.concat", 0, concat_bytes, concat_bytes));
      ops.push_back(GemmOp("dot.bmm", static_cast<double>(t), d, t, false, false, false));
      const double triangle = 2.0 * static_cast<double>(InteractionOutputWidth(model)) * act;
      ops.push_back(ElementwiseOp("dot.triangle", 0, triangle, triangle));
      break;
    }
    case Interaction::kDcn: {
      const double w = static_cast<double>(concat);
      ops.push_back(ElementwiseOp("dcn.concat", 0, 2.0 * w * act, 2.0 * w * act));
      AppendDcn(ops, "dcn", concat, model.interaction_layers, model.interaction_rank, false);
      break;
    }
    case Interaction::kFm: {
      const double d = static_cast<double>(model.DimOf(model.tables.front()));
      const double concat_bytes = 2.0 * static_cast<double>(concat) * act;
      ops.push_back(ElementwiseOp("fm.concat", 0, concat_bytes, concat_bytes));
      ops.push_back(ElementwiseOp("fm.sum_square", 3.0 * f * d, f * d * act, 2.0 * f * d * act));
      break;
    }
    case Interaction::kAttention: {
      const int64_t d = model.DimOf(model.tables.front());
      const double rows = static_cast<double>(t);
      const double concat_bytes = 2.0 * rows * static_cast<double>(d) * act;
      ops.push_back(ElementwiseOp("attention.concat", 0, concat_bytes, concat_bytes));
      for (int64_t l = 0; l < model.interaction_layers; ++l) {
        ops.push_back(GemmOp(fmt::format("attention.{}.qkv", l), rows, d, 3 * d, true));
        // Scores Q K^T and the weighted sum, per head: 2 T^2 (d/h) FLOP each, h heads.
        DenseOp scores;
        scores.name = fmt::format("attention.{}.scores", l);
        scores.kind = DenseOpKind::kGemm;
        scores.rows_per_sample = rows;
        scores.k = d / model.attention_heads;
        scores.n = t;
        scores.flops_per_sample = 4.0 * rows * rows * static_cast<double>(d);
        ops.push_back(scores);
        ops.push_back(GemmOp(fmt::format("attention.{}.out", l), rows, d, d, true));
        const double residual = 3.0 * rows * static_cast<double>(d) * act;
        ops.push_back(ElementwiseOp(fmt::format("attention.{}.residual", l),
                                    rows * static_cast<double>(d), residual, residual));
      }
      break;
    }
  }
  in = InteractionOutputWidth(model);
  for (size_t i = 0; i < model.top_mlp.size(); ++i) {
    ops.push_back(GemmOp(fmt::format("top.{}", i), 1, in, model.top_mlp[i], true));
    in = model.top_mlp[i];
  }
  ops.push_back(LossOp(in));
  return ops;
}

RankingCounts CountRanking(const spec::RankingModelSpec& model,
                           const std::vector<DenseOp>& dense_ops) {
  RankingCounts counts;
  for (const spec::TableSpec& t : model.tables) {
    counts.embedding_params += static_cast<double>(t.rows) * static_cast<double>(model.DimOf(t));
    counts.lookups_per_sample += t.pooling;
  }
  for (const DenseOp& op : dense_ops) {
    counts.dense_params += op.params;
    counts.dense_flops_per_sample += op.flops_per_sample;
  }
  return counts;
}

}  // namespace scaleplan::model
