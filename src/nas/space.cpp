#include "nas/space.h"

#include <fmt/format.h>

#include "core/text.h"

namespace scaleplan::nas {

namespace {

using rec::Arch;
using rec::Block;
using rec::BlockKind;
using rec::InputShape;
using rec::MakeBlock;

const int64_t kEmbeddingDims[] = {8, 16, 32};
const int64_t kWidths[] = {16, 32, 64, 128, 256};
const int64_t kVectorsOut[] = {4, 8, 16};

std::string Add(Arch& a, Block b) {
  std::string name = b.name;
  a.blocks.push_back(std::move(b));
  return name;
}

// Scratch space: dims [emb] then per stage [sparse_op, sparse_out, interaction, dense_op, width,
// skip], then the depth (the stages used, 1 to kStages).
constexpr int kPerStage = 6;
constexpr size_t kDepthDim = 1 + kStages * kPerStage;

Arch DecodeScratch(const Choice& c, const InputShape& in, std::vector<std::string>* carriers) {
  std::vector<std::string> carry(c.size());
  Arch a;
  a.embedding_dim = kEmbeddingDims[c[0]];
  const bool has_sparse = !in.cardinality.empty();
  std::string v = has_sparse ? "sparse" : "";
  carry[0] = v;
  int64_t v_rows = static_cast<int64_t>(in.cardinality.size());
  std::vector<std::string> h = {in.dense > 0 ? "dense" : ""};  // h_0
  const int depth = static_cast<int>(c[kDepthDim]) + 1;
  for (int k = 1; k <= depth; ++k) {
    const size_t at = 1 + static_cast<size_t>(k - 1) * kPerStage;
    const uint32_t* s = &c[at];
    const std::string p = fmt::format("s{}_", k);
    if (!v.empty()) {
      if (s[0] == 1) {
        Block b = MakeBlock(p + "mix", BlockKind::kLinear3d, {v});
        b.out = kVectorsOut[s[1]];
        v_rows = b.out;
        v = Add(a, b);
        carry[at] = carry[at + 1] = v;
      } else if (s[0] == 2) {
        Block b = MakeBlock(p + "att", BlockKind::kAttention, {v});
        b.layers = 1;
        b.heads = 2;
        v = Add(a, b);
        carry[at] = v;
      }
    }
    std::vector<std::string> x;
    bool skipped = false;
    if (!h.back().empty()) x.push_back(h.back());
    if (!v.empty()) {
      // dot needs 2+ vectors; a single vector is flattened instead.
      const bool one_vector = v_rows < 2;
      uint32_t inter = s[2];
      if (inter == 1 && one_vector) inter = 3;
      if (inter == 0 && x.empty()) inter = 3;
      if (inter == 1) x.push_back(Add(a, MakeBlock(p + "dot", BlockKind::kDot, {v})));
      if (inter == 2) x.push_back(Add(a, MakeBlock(p + "fm", BlockKind::kFm, {v})));
      if (inter == 3) x.push_back(Add(a, MakeBlock(p + "flat", BlockKind::kFlatten, {v})));
      if (inter != 0) carry[at + 2] = x.back();
    }
    if (s[5] == 1 && k >= 2 && !h[static_cast<size_t>(k - 2)].empty() &&
        h[static_cast<size_t>(k - 2)] != h.back()) {
      x.push_back(h[static_cast<size_t>(k - 2)]);
      skipped = true;
    }
    std::string input = x.size() == 1 ? x[0] : Add(a, MakeBlock(p + "in", BlockKind::kConcat, x));
    // The skip's gate is on its part of the stage's input.
    if (skipped && x.size() > 1) carry[at + 5] = input + ":" + x.back();
    const int64_t width = kWidths[s[4]];
    std::string out;
    if (s[3] == 3 && !(k == depth && input == "dense")) {
      out = input;  // none: the stage passes its joined input on
    } else if (s[3] == 1) {
      Block d = MakeBlock(p + "cross", BlockKind::kDcn, {input});
      d.layers = 1;
      d.rank = std::max<int64_t>(1, width / 4);
      std::string crossed = Add(a, d);
      Block m = MakeBlock(p + "mlp", BlockKind::kMlp, {crossed});
      m.widths = {width};
      out = Add(a, m);
      carry[at + 3] = crossed;
      carry[at + 4] = out;
    } else {
      Block m = MakeBlock(p + "mlp", BlockKind::kMlp, {input});
      m.widths = {width};
      out = Add(a, m);
      carry[at + 3] = carry[at + 4] = out;
      if (s[3] == 2 && in.dense > 0) {
        out = Add(a, MakeBlock(p + "gate", BlockKind::kGating, {out, "dense"}));
        carry[at + 3] = out;
      }
    }
    h.push_back(out);
  }
  a.output = h.back();
  // The depth's choice is carried by what the logit reads: the last stage's output.
  carry[kDepthDim] = a.output;
  if (carriers != nullptr) *carriers = std::move(carry);
  return rec::Prune(std::move(a));
}

Space ScratchSpace() {
  Space s;
  s.name = "scratch";
  s.dims.push_back({"embedding_dim", {"8", "16", "32"}});
  for (int k = 1; k <= kStages; ++k) {
    const std::string p = fmt::format("s{}.", k);
    s.dims.push_back({p + "sparse_op", {"identity", "linear3d", "attention"}});
    s.dims.push_back({p + "sparse_out", {"4", "8", "16"}});
    s.dims.push_back({p + "interaction", {"none", "dot", "fm", "flatten"}});
    s.dims.push_back({p + "dense_op", {"mlp", "dcn", "gating", "none"}});
    s.dims.push_back({p + "width", {"16", "32", "64", "128", "256"}});
    s.dims.push_back({p + "skip", {"no", "yes"}});
  }
  // Elastic depth (as Once-for-All's, arXiv:1908.09791): without it a shallow model, such as
  // DCN-v2's one interaction, cross and MLP over two stages, needs each later stage's interaction
  // and dense op to be none and the first of them its skip off (1 random choice in 32, then 1 in
  // 16 for each stage after it, whose skip adds nothing: 1 in 512 for a two-stage model, 1 in
  // 8,192 for a one-stage one), and removing a stage takes up to three one-dimension mutations in
  // a row; with it, one value of four, and one mutation.
  s.dims.push_back({"depth", {"1", "2", "3", "4"}});
  s.decode = DecodeScratch;
  // DLRM-like: embeddings 16, stage 1 dot products into mlp 64, stages 2-4 mlp 64.
  s.reference = {1};
  for (int k = 1; k <= kStages; ++k) {
    for (uint32_t v : {0u, 0u, k == 1 ? 1u : 0u, 0u, 2u, 0u}) s.reference.push_back(v);
  }
  s.reference.push_back(kStages - 1);
  return s;
}

// Engineer space: [emb, bottom, interaction, cross_layers, cross_rank, top_depth, top_width].
const std::vector<std::vector<int64_t>> kBottoms = {{}, {32}, {64, 32}, {128, 64}};
const int64_t kCrossRanks[] = {4, 8, 16};

Arch DecodeEngineer(const Choice& c, const InputShape& in, std::vector<std::string>* carriers) {
  std::vector<std::string> carry(c.size());
  Arch a;
  a.embedding_dim = kEmbeddingDims[c[0]];
  const int64_t e = a.embedding_dim;
  std::string dense = in.dense > 0 ? "dense" : "";
  if (!dense.empty() && !kBottoms[c[1]].empty()) {
    Block b = MakeBlock("bottom", BlockKind::kMlp, {"dense"});
    b.widths = kBottoms[c[1]];
    dense = Add(a, b);
    carry[1] = dense;
  }
  if (!in.cardinality.empty()) carry[0] = "sparse";
  std::vector<std::string> top_in;
  if (!dense.empty()) top_in.push_back(dense);
  uint32_t inter = c[2];
  // Dots need 2+ vectors (the embeddings and the projected dense output): fewer, and the
  // dot-based choices fall back to the flattened vectors.
  const size_t count = in.cardinality.size() + (dense.empty() ? 0 : 1);
  if ((inter == 0 || inter == 3) && count < 2) inter = 2;
  std::string vectors = in.cardinality.empty() ? "" : "sparse";
  if (!dense.empty() && (inter == 0 || inter == 3)) {
    Block p = MakeBlock("dense3d", BlockKind::kTo3d, {dense});
    p.out = 1;
    std::string d3 = Add(a, p);
    vectors =
        vectors.empty() ? d3 : Add(a, MakeBlock("vectors", BlockKind::kConcat, {vectors, d3}));
  }
  if (!vectors.empty()) {
    if (inter == 3) {
      Block att = MakeBlock("attention", BlockKind::kAttention, {vectors});
      att.layers = 1;
      att.heads = e >= 16 ? 2 : 1;
      vectors = Add(a, att);
      carry[2] = vectors;
    }
    if (inter == 0 || inter == 3) {
      top_in.push_back(Add(a, MakeBlock("dots", BlockKind::kDot, {vectors})));
      if (inter == 0) carry[2] = top_in.back();
    } else if (inter == 1) {
      top_in.push_back(Add(a, MakeBlock("fm", BlockKind::kFm, {vectors})));
      carry[2] = top_in.back();
      top_in.push_back(Add(a, MakeBlock("flat", BlockKind::kFlatten, {vectors})));
    } else {
      top_in.push_back(Add(a, MakeBlock("flat", BlockKind::kFlatten, {vectors})));
      carry[2] = top_in.back();
    }
  }
  std::string x =
      top_in.size() == 1 ? top_in[0] : Add(a, MakeBlock("top_in", BlockKind::kConcat, top_in));
  // DCN-v2's cross layers over whatever the top reads (DCN-v2 stacks them before its deep part);
  // its low-rank form (rank below the input's width) is the paper's cost-saving variant.
  if (c[3] > 0) {
    Block d = MakeBlock("cross", BlockKind::kDcn, {x});
    d.layers = c[3];
    d.rank = kCrossRanks[c[4]];
    x = Add(a, d);
    carry[3] = carry[4] = x;
  }
  Block top = MakeBlock("top", BlockKind::kMlp, {x});
  const int64_t width = kWidths[c[6]];
  for (uint32_t l = 0; l <= c[5]; ++l) top.widths.push_back(std::max<int64_t>(16, width >> l));
  a.output = Add(a, top);
  carry[5] = carry[6] = a.output;
  if (carriers != nullptr) *carriers = std::move(carry);
  return rec::Prune(std::move(a));
}

Space EngineerSpace() {
  Space s;
  s.name = "engineer";
  s.dims = {{"embedding_dim", {"8", "16", "32"}},
            {"bottom", {"none", "32", "64,32", "128,64"}},
            {"interaction", {"dot", "fm", "flatten", "attention+dot"}},
            {"cross_layers", {"0", "1", "2", "3"}},
            {"cross_rank", {"4", "8", "16"}},
            {"top_depth", {"1", "2", "3"}},
            {"top_width", {"16", "32", "64", "128", "256"}}};
  s.decode = DecodeEngineer;
  // DLRM: embeddings 16, bottom 64,32, dot, no cross layers, top 64,32.
  s.reference = {1, 2, 0, 0, 0, 1, 2};
  s.start_from_reference = true;
  return s;
}

}  // namespace

rec::Arch Space::Decode(const Choice& choice, const rec::InputShape& input,
                       std::vector<std::string>* carriers) const {
  return decode(choice, input, carriers);
}

double Space::Size() const {
  double n = 1;
  for (const Dimension& d : dims) n *= static_cast<double>(d.values.size());
  return n;
}

const std::vector<SpaceInfo>& Spaces() {
  static const std::vector<SpaceInfo> spaces = {
      {"scratch", "NASRec-like stages (1 to 4) of low-level blocks, any-path skips", ScratchSpace},
      {"engineer",
       "a DLRM/DCN-v2/DeepFM skeleton with widths, the interaction and cross layers to choose",
       EngineerSpace},
  };
  return spaces;
}

std::vector<std::string> SpaceNames() {
  std::vector<std::string> names;
  for (const SpaceInfo& s : Spaces()) names.push_back(s.name);
  return names;
}

Result<Space> MakeSpace(std::string_view name) {
  for (const SpaceInfo& s : Spaces()) {
    if (s.name == name) return s.make();
  }
  return Status::NotFound(fmt::format("nas.space = {} is unknown (allowed: {})",
                                      Printable(name, 64), Join(SpaceNames(), ", ")));
}

std::string DescribeChoice(const Space& space, const Choice& choice) {
  std::vector<std::string> parts;
  for (size_t d = 0; d < space.dims.size() && d < choice.size(); ++d) {
    parts.push_back(space.dims[d].name + "=" + space.dims[d].values[choice[d]]);
  }
  return Join(parts, " ");
}

}  // namespace scaleplan::nas
