#include "recsys/dense.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <string>

#include "core/text.h"
#include "rec/baselines.h"
#include "spec/readers.h"

namespace scaleplan::recsys {

using model::DenseOp;
using model::ElementwiseOp;
using model::GemmOp;
using rec::BlockKind;
using rec::Shape;

Result<std::vector<DenseOp>> ArchDenseOps(const rec::Arch& arch, const rec::InputShape& input) {
  SP_ASSIGN_OR_RETURN(rec::ArchInfo info, rec::Analyze(arch, input));
  const double a = model::kDenseActivationBytes;
  const int64_t e = arch.embedding_dim;
  std::map<std::string, Shape> shape = {
      {"dense", Shape{0, input.dense}},
      {"sparse", Shape{static_cast<int64_t>(input.cardinality.size()), e}}};
  std::set<std::string> reads_sparse = {"sparse"};
  std::vector<DenseOp> ops;
  for (size_t i : info.order) {
    const rec::Block& b = arch.blocks[i];
    const Shape out = info.shapes[i];
    bool bottom = true;
    for (const std::string& in : b.inputs) bottom = bottom && reads_sparse.count(in) == 0;
    if (!bottom) reads_sparse.insert(b.name);
    const Shape x = shape.at(b.inputs.front());
    const std::string& n = b.name;
    auto gemm = [&](std::string name, double rows, int64_t k, int64_t width, bool bias,
                    bool weights = true) {
      ops.push_back(GemmOp(std::move(name), rows, k, width, bias, bottom, weights));
    };
    auto memory = [&](std::string name, double flops, double bytes, double backward_bytes) {
      ops.push_back(ElementwiseOp(std::move(name), flops, bytes, backward_bytes, bottom));
    };
    switch (b.kind) {
      case BlockKind::kMlp: {
        int64_t in = x.width;
        for (size_t l = 0; l < b.widths.size(); ++l) {
          gemm(fmt::format("{}.{}", n, l), 1, in, b.widths[l], true);
          in = b.widths[l];
        }
        break;
      }
      case BlockKind::kDcn:
        model::AppendDcn(ops, n, x.width, b.layers, b.rank, bottom);
        break;
      case BlockKind::kGating: {
        const Shape gate = shape.at(b.inputs.at(1));
        const double w = static_cast<double>(out.width);
        gemm(n + ".gate", 1, gate.width, out.width, true);
        memory(n + ".product", 2 * w, 3 * w * a, 5 * w * a);
        break;
      }
      case BlockKind::kSum: {
        const double size = static_cast<double>(out.size());
        const double k = static_cast<double>(b.inputs.size());
        memory(n, (k - 1) * size, (k + 1) * size * a, (k + 1) * size * a);
        break;
      }
      case BlockKind::kConcat: {
        const double bytes = 2 * static_cast<double>(out.size()) * a;
        memory(n, 0, bytes, bytes);
        break;
      }
      case BlockKind::kFlatten:
        break;
      case BlockKind::kTo3d:
        gemm(n, 1, x.width, b.out * e, true);
        break;
      case BlockKind::kLinear3d:
        gemm(n, static_cast<double>(e), x.rows, b.out, true);
        break;
      case BlockKind::kDot: {
        gemm(n + ".bmm", static_cast<double>(x.rows), e, x.rows, false, false);
        const double bytes = 2 * static_cast<double>(out.width) * a;
        memory(n + ".triangle", 0, bytes, bytes);
        break;
      }
      case BlockKind::kFm: {
        const double ne = static_cast<double>(x.rows * e);
        memory(n, 3 * ne + static_cast<double>(e), ne * a, 2 * ne * a);
        break;
      }
      case BlockKind::kAttention: {
        const double rows = static_cast<double>(x.rows);
        const double ne = rows * static_cast<double>(e);
        for (int64_t l = 0; l < b.layers; ++l) {
          gemm(fmt::format("{}.{}.qkvr", n, l), rows, e, 4 * e, false);
          DenseOp scores = GemmOp(fmt::format("{}.{}.scores", n, l), rows, e / b.heads, x.rows,
                                  false, bottom, false);
          scores.flops_per_sample = 4 * rows * ne;  // Q K^T and the weighted sum, every head
          ops.push_back(scores);
          memory(fmt::format("{}.{}.residual", n, l), ne, 3 * ne * a, 3 * ne * a);
        }
        break;
      }
    }
    shape[n] = out;
  }
  const Shape last = shape.at(arch.output);
  ops.push_back(GemmOp("head", 1, last.width, 1, true, reads_sparse.count(arch.output) == 0));
  ops.push_back(model::LossOp(1));
  return ops;
}

Result<std::vector<DenseOp>> DenseOpsOf(const spec::RankingModelSpec& model) {
  if (model.arch.empty()) return model::RankingDenseOps(model);
  auto invalid = [&](const std::string& why) {
    return Status::Invalid(
               fmt::format("ranking_model.arch = {}: {}", Printable(model.arch, 64), why))
        .WithKey("ranking_model.arch");
  };
  const int64_t dim = model.DimOf(model.tables.front());
  for (const spec::TableSpec& t : model.tables) {
    if (model.DimOf(t) != dim) {
      return invalid(fmt::format(
          "table {} has dim {} and table {} {} (allowed: one dim for every table, the "
          "architecture's sparse input being one vector per table)",
          Printable(t.name, 64), model.DimOf(t), Printable(model.tables.front().name, 64), dim));
    }
  }
  rec::InputShape input;
  input.dense = model.dense_features;
  for (const spec::TableSpec& t : model.tables) input.cardinality.push_back(t.rows);
  // A file's JSON was read when the model was loaded (spec::ReplaceDensePart); a spec built in
  // code may name a file that was not.
  Result<rec::Arch> arch = !model.arch_text.empty()
                               ? rec::ParseArchJson(model.arch_text, model.arch)
                               : rec::ResolveArch(model.arch, input);
  if (!arch.ok()) return invalid(arch.status().message());
  if (!spec::LooksLikePath(model.arch)) {
    arch->embedding_dim = dim;  // a baseline, built for these tables
  } else if (arch->embedding_dim != dim) {
    return invalid(fmt::format(
        "its embedding_dim is {} but the tables' dim is {} (allowed: an architecture for "
        "vectors of dim {})",
        arch->embedding_dim, dim, dim));
  }
  Result<std::vector<DenseOp>> ops = ArchDenseOps(*arch, input);
  if (!ops.ok()) return invalid(ops.status().message());
  return ops;
}

}  // namespace scaleplan::recsys
