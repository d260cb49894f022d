#include "rec/baselines.h"

#include <fmt/format.h>

#include "core/text.h"
#include "spec/readers.h"

namespace scaleplan::rec {

namespace {

struct Size {
  int64_t e;
  std::vector<int64_t> bottom, top;
  int64_t cross_layers, cross_rank, attention_layers, heads;
};

Size SizeOf(std::string_view s) {
  if (s == "s") return {8, {32, 8}, {64, 32}, 2, 8, 1, 2};
  if (s == "m") return {16, {64, 16}, {128, 64}, 3, 16, 2, 2};
  return {16, {128, 64, 16}, {256, 128, 64}, 3, 0, 3, 4};
}

Block Mlp(std::string name, std::vector<std::string> inputs, std::vector<int64_t> widths) {
  Block b = MakeBlock(std::move(name), BlockKind::kMlp, std::move(inputs));
  b.widths = std::move(widths);
  return b;
}

// [flattened embeddings, dense] (or whichever of the two the data has), as block "x".
std::vector<Block> FlatInput(const InputShape& in, std::string* name) {
  std::vector<Block> out;
  std::vector<std::string> parts;
  if (!in.cardinality.empty()) {
    out.push_back(MakeBlock("flat", BlockKind::kFlatten, {"sparse"}));
    parts.push_back("flat");
  }
  if (in.dense > 0) parts.push_back("dense");
  if (parts.size() == 1) {
    *name = parts[0];
  } else {
    out.push_back(MakeBlock("x", BlockKind::kConcat, parts));
    *name = "x";
  }
  return out;
}

Arch Dlrm(const Size& z, const InputShape& in) {
  Arch a;
  a.embedding_dim = z.e;
  const bool dense = in.dense > 0, sparse = !in.cardinality.empty();
  std::vector<std::string> top_in;
  if (dense) {
    a.blocks.push_back(Mlp("bottom", {"dense"}, z.bottom));
    top_in.push_back("bottom");
  }
  // The bottom output joins the embeddings as one more vector; dots need 2+ vectors.
  const size_t vectors = in.cardinality.size() + (dense ? 1 : 0);
  if (sparse && vectors >= 2) {
    std::string v = "sparse";
    if (dense) {
      Block p = MakeBlock("bottom3d", BlockKind::kTo3d, {"bottom"});
      p.out = 1;
      a.blocks.push_back(p);
      a.blocks.push_back(MakeBlock("vectors", BlockKind::kConcat, {"sparse", "bottom3d"}));
      v = "vectors";
    }
    a.blocks.push_back(MakeBlock("dots", BlockKind::kDot, {v}));
    top_in.push_back("dots");
  } else if (sparse) {
    a.blocks.push_back(MakeBlock("flat", BlockKind::kFlatten, {"sparse"}));
    top_in.push_back("flat");
  }
  if (top_in.size() == 2) {
    a.blocks.push_back(MakeBlock("top_in", BlockKind::kConcat, top_in));
    a.blocks.push_back(Mlp("top", {"top_in"}, z.top));
  } else {
    a.blocks.push_back(Mlp("top", {top_in.at(0)}, z.top));
  }
  a.output = "top";
  return a;
}

Arch Dcn(const Size& z, const InputShape& in) {
  Arch a;
  a.embedding_dim = z.e;
  std::string x;
  a.blocks = FlatInput(in, &x);
  Block c = MakeBlock("cross", BlockKind::kDcn, {x});
  c.layers = z.cross_layers;
  c.rank = z.cross_rank;
  a.blocks.push_back(c);
  a.blocks.push_back(Mlp("deep", {"cross"}, z.top));
  a.output = "deep";
  return a;
}

Arch DeepFm(const Size& z, const InputShape& in) {
  Arch a;
  a.embedding_dim = z.e;
  std::string x;
  a.blocks = FlatInput(in, &x);
  a.blocks.push_back(Mlp("deep", {x}, z.top));
  if (!in.cardinality.empty()) {
    a.blocks.push_back(MakeBlock("fm", BlockKind::kFm, {"sparse"}));
    a.blocks.push_back(MakeBlock("out", BlockKind::kConcat, {"fm", "deep"}));
    a.output = "out";
  } else {
    a.output = "deep";
  }
  return a;
}

Arch AutoInt(const Size& z, const InputShape& in) {
  Arch a;
  a.embedding_dim = z.e;
  std::string vectors = "sparse";
  if (in.dense > 0) {
    Block d = MakeBlock("dense3d", BlockKind::kTo3d, {"dense"});
    d.out = in.dense;
    a.blocks.push_back(d);
    if (!in.cardinality.empty()) {
      a.blocks.push_back(MakeBlock("vectors", BlockKind::kConcat, {"sparse", "dense3d"}));
      vectors = "vectors";
    } else {
      vectors = "dense3d";
    }
  }
  Block att = MakeBlock("attention", BlockKind::kAttention, {vectors});
  att.layers = z.attention_layers;
  att.heads = z.heads;
  a.blocks.push_back(att);
  a.blocks.push_back(MakeBlock("flat_att", BlockKind::kFlatten, {"attention"}));
  a.blocks.push_back(Mlp("deep", {"flat_att"}, {z.top.back()}));
  a.output = "deep";
  return a;
}

}  // namespace

const std::vector<BaselineInfo>& BaselineFamilies() {
  static const std::vector<BaselineInfo> families = {
      {"dlrm", "DLRM: bottom MLP, pairwise dots, top MLP (Naumov et al. 2019)"},
      {"dcnv2", "DCN-v2: cross layers then an MLP (Wang et al. 2021)"},
      {"deepfm", "DeepFM: FM bi-interaction beside an MLP (Guo et al. 2017)"},
      {"autoint", "AutoInt: self-attention over the feature vectors (Song et al. 2019)"},
  };
  return families;
}

std::vector<std::string> BaselineNames() {
  std::vector<std::string> names;
  for (const BaselineInfo& f : BaselineFamilies()) {
    for (std::string_view s : kBaselineSizes) names.push_back(fmt::format("{}-{}", f.family, s));
  }
  return names;
}

Result<Arch> MakeBaseline(std::string_view name, const InputShape& input) {
  const size_t dash = name.rfind('-');
  const std::string_view family = dash == std::string_view::npos ? name : name.substr(0, dash);
  const std::string_view size = dash == std::string_view::npos ? "" : name.substr(dash + 1);
  bool known_size = false;
  for (std::string_view s : kBaselineSizes) known_size = known_size || s == size;
  if (known_size && (input.dense > 0 || !input.cardinality.empty())) {
    const Size z = SizeOf(size);
    Arch a;
    if (family == "dlrm") a = Dlrm(z, input);
    if (family == "dcnv2") a = Dcn(z, input);
    if (family == "deepfm") a = DeepFm(z, input);
    if (family == "autoint") a = AutoInt(z, input);
    if (!a.blocks.empty()) {
      a.name = std::string(name);
      return a;
    }
  }
  return Status::NotFound(fmt::format("baseline '{}' is unknown (allowed: {})", Printable(name, 64),
                                      Join(BaselineNames(), ", ")));
}

Result<Arch> ResolveArch(const std::string& arch_ref, const InputShape& input) {
  if (spec::LooksLikePath(arch_ref)) return LoadArch(arch_ref);
  return MakeBaseline(arch_ref, input);
}

}  // namespace scaleplan::rec
