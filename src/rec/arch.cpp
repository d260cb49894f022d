#include "rec/arch.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "core/file.h"
#include "core/json.h"
#include "core/text.h"
#include "spec/readers.h"

namespace scaleplan::rec {

namespace {

using nlohmann::json;

std::string Name(std::string_view text) { return Printable(text, 64); }

std::string Where(const Block& b) {
  return fmt::format("block {} ({})", Name(b.name), BlockKindName(b.kind));
}

// Reads an integer key in [lo, hi]; absent keeps `out`.
Status ReadInt(const json& j, const std::string& path, const char* key, int64_t lo, int64_t hi,
               int64_t* out) {
  if (!j.contains(key)) return Status::Ok();
  const json& v = j.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Status::Invalid(fmt::format("{}.{} = {} (allowed: an integer from {} to {})", path, key,
                                       Printable(v.dump(), 64), lo, hi));
  }
  *out = v.get<int64_t>();
  return Status::Ok();
}

Status ReadNames(const json& j, const std::string& path, const char* key,
                 std::vector<std::string>* out) {
  if (!j.contains(key)) return Status::Ok();
  const json& v = j.at(key);
  if (!v.is_array()) {
    return Status::Invalid(fmt::format("{}.{} = {} (allowed: a list of block names)", path, key,
                                       Printable(v.dump(), 64)));
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get<std::string>().empty()) {
      return Status::Invalid(fmt::format("{}.{}[{}] = {} (allowed: a block name, dense or sparse)",
                                         path, key, i, Printable(v[i].dump(), 64)));
    }
    out->push_back(v[i].get<std::string>());
  }
  return Status::Ok();
}

std::string Join64(const std::vector<int64_t>& v) {
  std::vector<std::string> s;
  for (int64_t x : v) s.push_back(std::to_string(x));
  return Join(s, ",");
}

}  // namespace

const std::vector<BlockKindInfo>& BlockKinds() {
  static const std::vector<BlockKindInfo> kinds = {
      {BlockKind::kMlp, "mlp", {"widths"}, "dense layers with ReLU (2D -> 2D)"},
      {BlockKind::kDcn, "dcn", {"layers", "rank"}, "DCN-v2 cross layers, rank 0 = full (2D)"},
      {BlockKind::kGating, "gating", {}, "a * sigmoid(linear(b)) (inputs [a, b], 2D)"},
      {BlockKind::kSum, "sum", {}, "elementwise sum of inputs of one shape"},
      {BlockKind::kConcat, "concat", {}, "joins 2D widths or 3D vectors"},
      {BlockKind::kFlatten, "flatten", {}, "3D N x E -> 2D N E"},
      {BlockKind::kTo3d, "to3d", {"out"}, "2D -> 3D out x E by a linear layer"},
      {BlockKind::kLinear3d, "linear3d", {"out"}, "mixes N vectors into out vectors (3D)"},
      {BlockKind::kDot, "dot", {}, "pairwise dot products of the vectors (3D -> 2D)"},
      {BlockKind::kFm, "fm", {}, "factorization-machine bi-interaction (3D -> 2D E)"},
      {BlockKind::kAttention,
       "attention",
       {"layers", "heads"},
       "AutoInt self-attention over the vectors (3D)"},
  };
  return kinds;
}

std::string_view BlockKindName(BlockKind kind) {
  for (const BlockKindInfo& k : BlockKinds()) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

Block MakeBlock(std::string name, BlockKind kind, std::vector<std::string> inputs) {
  Block b;
  b.name = std::move(name);
  b.kind = kind;
  b.inputs = std::move(inputs);
  return b;
}

std::string ShapeText(const Shape& shape) {
  return shape.is3d() ? fmt::format("[{} x {}]", shape.rows, shape.width)
                      : fmt::format("[{}]", shape.width);
}

Result<ArchInfo> Analyze(const Arch& arch, const InputShape& input) {
  const std::string origin = arch.name.empty() ? "architecture" : "architecture " + Name(arch.name);
  if (arch.embedding_dim < 1 || arch.embedding_dim > kMaxEmbeddingDim) {
    return Status::Invalid(fmt::format("{}: embedding_dim = {} (allowed: 1 to {})", origin,
                                       arch.embedding_dim, kMaxEmbeddingDim));
  }
  if (arch.blocks.empty() || arch.blocks.size() > kMaxBlocks) {
    return Status::Invalid(
        fmt::format("{}: {} blocks (allowed: 1 to {})", origin, arch.blocks.size(), kMaxBlocks));
  }
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < arch.blocks.size(); ++i) {
    const std::string& n = arch.blocks[i].name;
    if (n.empty() || n == "dense" || n == "sparse" || index.count(n) > 0) {
      return Status::Invalid(fmt::format(
          "{}: blocks[{}].name = '{}' is {} (allowed: a unique name other than dense and sparse)",
          origin, i, Name(n), n.empty() ? "empty" : "taken"));
    }
    index[n] = i;
  }
  for (const Block& b : arch.blocks) {
    for (const std::string& in : b.inputs) {
      if (in == "dense" && input.dense == 0) {
        return Status::Invalid(fmt::format("{}: {} reads dense, but the data has no dense features",
                                           origin, Where(b)));
      }
      if (in == "sparse" && input.cardinality.empty()) {
        return Status::Invalid(fmt::format(
            "{}: {} reads sparse, but the data has no sparse features", origin, Where(b)));
      }
      if (in != "dense" && in != "sparse" && index.count(in) == 0) {
        return Status::Invalid(fmt::format(
            "{}: {} reads '{}', which is no block (allowed: a block's name, dense or sparse)",
            origin, Where(b), Name(in)));
      }
    }
  }
  if (index.count(arch.output) == 0) {
    return Status::Invalid(fmt::format("{}: output = '{}' is no block (allowed: a block's name)",
                                       origin, Name(arch.output)));
  }
  // Depth-first topological order; a block met again while on the stack closes a cycle.
  ArchInfo info;
  std::vector<int> state(arch.blocks.size(), 0);  // 0 new, 1 on the stack, 2 done
  std::vector<size_t> stack;
  std::function<Status(size_t)> visit = [&](size_t i) -> Status {
    if (state[i] == 2) return Status::Ok();
    if (state[i] == 1) {
      std::string cycle;
      auto from = std::find(stack.begin(), stack.end(), i);
      for (auto it = from; it != stack.end(); ++it) cycle += Name(arch.blocks[*it].name) + " -> ";
      cycle += Name(arch.blocks[i].name);
      return Status::Invalid(
          fmt::format("{}: the blocks form a cycle: {} (allowed: a DAG)", origin, cycle));
    }
    state[i] = 1;
    stack.push_back(i);
    for (const std::string& in : arch.blocks[i].inputs) {
      if (in != "dense" && in != "sparse") SP_RETURN_IF_ERROR(visit(index[in]));
    }
    stack.pop_back();
    state[i] = 2;
    info.order.push_back(i);
    return Status::Ok();
  };
  SP_RETURN_IF_ERROR(visit(index[arch.output]));
  for (size_t i = 0; i < arch.blocks.size(); ++i) {
    if (state[i] != 2) {
      SP_RETURN_IF_ERROR(visit(i));  // a cycle off the output's path is still reported as one
      return Status::Invalid(fmt::format(
          "{}: {} does not lead to the output {} (allowed: every block on a path to the output)",
          origin, Where(arch.blocks[i]), Name(arch.output)));
    }
  }

  const int64_t e = arch.embedding_dim;
  double embedding_rows = 0;
  for (int64_t c : input.cardinality) embedding_rows += static_cast<double>(c);
  info.embedding_params = embedding_rows * static_cast<double>(e);
  info.costs.push_back({"sparse", "embedding",
                        Shape{static_cast<int64_t>(input.cardinality.size()), e}, 0,
                        info.embedding_params, "0 (lookups)"});
  info.shapes.assign(arch.blocks.size(), Shape{});
  auto shape_of = [&](const std::string& in) {
    if (in == "dense") return Shape{0, input.dense};
    if (in == "sparse") return Shape{static_cast<int64_t>(input.cardinality.size()), e};
    return info.shapes[index[in]];
  };
  for (size_t i : info.order) {
    const Block& b = arch.blocks[i];
    std::vector<Shape> in;
    for (const std::string& name : b.inputs) in.push_back(shape_of(name));
    auto bad = [&](const std::string& why) {
      std::vector<std::string> shapes;
      for (const Shape& s : in) shapes.push_back(ShapeText(s));
      return Status::Invalid(fmt::format("{}: {} with inputs {}: {}", origin, Where(b),
                                         shapes.empty() ? "none" : Join(shapes, ", "), why));
    };
    auto want_inputs = [&](size_t lo, size_t hi) { return in.size() >= lo && in.size() <= hi; };
    auto need = [&](bool ok, const std::string& what) { return ok ? Status::Ok() : bad(what); };
    const bool one2d = in.size() == 1 && !in[0].is3d();
    const bool one3d = in.size() == 1 && in[0].is3d();
    Shape out;
    double flops = 0, params = 0;
    std::string formula;
    const double n = one3d ? static_cast<double>(in[0].rows) : 0;
    const double w = in.empty() ? 0 : static_cast<double>(in[0].width);
    const double ed = static_cast<double>(e);
    switch (b.kind) {
      case BlockKind::kMlp: {
        SP_RETURN_IF_ERROR(need(one2d, "needs one 2D input"));
        if (b.widths.empty() || b.widths.size() > static_cast<size_t>(kMaxMlpLayers)) {
          return bad(fmt::format("widths has {} layers (allowed: 1 to {})", b.widths.size(),
                                 kMaxMlpLayers));
        }
        int64_t prev = in[0].width;
        std::vector<std::string> terms;
        for (int64_t width : b.widths) {
          if (width < 1 || width > kMaxWidth) {
            return bad(fmt::format("widths has {} (allowed: 1 to {})", width, kMaxWidth));
          }
          flops += 2.0 * static_cast<double>(prev) * static_cast<double>(width) +
                   static_cast<double>(width);
          params +=
              static_cast<double>(prev) * static_cast<double>(width) + static_cast<double>(width);
          terms.push_back(fmt::format("2*{}*{} + {}", prev, width, width));
          prev = width;
        }
        out = Shape{0, prev};
        formula = Join(terms, " + ");
        break;
      }
      case BlockKind::kDcn: {
        SP_RETURN_IF_ERROR(need(one2d, "needs one 2D input"));
        if (b.layers < 1 || b.layers > kMaxLayers) {
          return bad(fmt::format("layers = {} (allowed: 1 to {})", b.layers, kMaxLayers));
        }
        if (b.rank < 0 || b.rank > kMaxWidth) {
          return bad(fmt::format("rank = {} (allowed: 0 = full, to {})", b.rank, kMaxWidth));
        }
        const double l = static_cast<double>(b.layers), r = static_cast<double>(b.rank);
        if (b.rank == 0) {
          flops = l * (2 * w * w + 2 * w);
          params = l * (w * w + w);
          formula = fmt::format("{} * (2*{}^2 + 2*{})", b.layers, in[0].width, in[0].width);
        } else {
          flops = l * (4 * w * r + 2 * w);
          params = l * (2 * w * r + w);
          formula =
              fmt::format("{} * (4*{}*{} + 2*{})", b.layers, in[0].width, b.rank, in[0].width);
        }
        out = in[0];
        break;
      }
      case BlockKind::kGating: {
        SP_RETURN_IF_ERROR(need(in.size() == 2 && !in[0].is3d() && !in[1].is3d(),
                                "needs two 2D inputs [gated, gate]"));
        const double wb = static_cast<double>(in[1].width);
        flops = 2 * wb * w + 2 * w;
        params = wb * w + w;
        formula = fmt::format("2*{}*{} + 2*{}", in[1].width, in[0].width, in[0].width);
        out = in[0];
        break;
      }
      case BlockKind::kSum: {
        SP_RETURN_IF_ERROR(need(want_inputs(2, kMaxBlocks), "needs at least 2 inputs"));
        for (const Shape& s : in) {
          if (s.rows != in[0].rows || s.width != in[0].width) {
            return bad("mismatched shapes (allowed: inputs of one shape)");
          }
        }
        flops = static_cast<double>(in.size() - 1) * static_cast<double>(in[0].size());
        formula = fmt::format("{} * {}", in.size() - 1, in[0].size());
        out = in[0];
        break;
      }
      case BlockKind::kConcat: {
        SP_RETURN_IF_ERROR(need(want_inputs(2, kMaxBlocks), "needs at least 2 inputs"));
        out = Shape{0, 0};
        for (const Shape& s : in) {
          if (s.is3d() != in[0].is3d() || (s.is3d() && s.width != in[0].width)) {
            return bad("mismatched shapes (allowed: all 2D, or all 3D with one vector dimension)");
          }
          if (s.is3d()) {
            out.rows += s.rows;
            out.width = s.width;
          } else {
            out.width += s.width;
          }
        }
        if (out.width > kMaxWidth * 16 || out.rows > kMaxVectors) {
          return bad("the joined tensor is too large");
        }
        formula = "0";
        break;
      }
      case BlockKind::kFlatten:
        SP_RETURN_IF_ERROR(need(one3d, "needs one 3D input"));
        out = Shape{0, in[0].rows * in[0].width};
        formula = "0";
        break;
      case BlockKind::kTo3d:
      case BlockKind::kLinear3d: {
        const bool to3d = b.kind == BlockKind::kTo3d;
        SP_RETURN_IF_ERROR(
            need(to3d ? one2d : one3d, to3d ? "needs one 2D input" : "needs one 3D input"));
        if (b.out < 1 || b.out > kMaxVectors) {
          return bad(fmt::format("out = {} (allowed: 1 to {})", b.out, kMaxVectors));
        }
        const double m = static_cast<double>(b.out);
        if (to3d) {
          flops = 2 * w * m * ed;
          params = w * m * ed + m * ed;
          formula = fmt::format("2*{}*{}*{}", in[0].width, b.out, e);
          out = Shape{b.out, e};
        } else {
          flops = 2 * m * n * w;
          params = m * n + m;
          formula = fmt::format("2*{}*{}*{}", b.out, in[0].rows, in[0].width);
          out = Shape{b.out, in[0].width};
        }
        break;
      }
      case BlockKind::kDot:
        SP_RETURN_IF_ERROR(need(one3d && in[0].rows >= 2, "needs one 3D input of 2+ vectors"));
        flops = 2 * n * n * w;
        formula = fmt::format("2*{}^2*{}", in[0].rows, in[0].width);
        out = Shape{0, in[0].rows * (in[0].rows - 1) / 2};
        break;
      case BlockKind::kFm:
        SP_RETURN_IF_ERROR(need(one3d, "needs one 3D input"));
        flops = 3 * n * w + w;
        formula = fmt::format("3*{}*{} + {}", in[0].rows, in[0].width, in[0].width);
        out = Shape{0, in[0].width};
        break;
      case BlockKind::kAttention: {
        SP_RETURN_IF_ERROR(need(one3d, "needs one 3D input"));
        if (b.layers < 1 || b.layers > kMaxLayers) {
          return bad(fmt::format("layers = {} (allowed: 1 to {})", b.layers, kMaxLayers));
        }
        if (b.heads < 1 || in[0].width % b.heads != 0) {
          return bad(fmt::format("heads = {} (allowed: a divisor of the vector dimension {})",
                                 b.heads, in[0].width));
        }
        const double l = static_cast<double>(b.layers), h = static_cast<double>(b.heads);
        flops = l * (8 * n * w * w + 4 * n * n * w + 4 * h * n * n + 2 * n * w);
        params = l * 4 * w * w;
        formula = fmt::format("{} * (8*{}*{}^2 + 4*{}^2*{} + 4*{}*{}^2 + 2*{}*{})", b.layers,
                              in[0].rows, in[0].width, in[0].rows, in[0].width, b.heads, in[0].rows,
                              in[0].rows, in[0].width);
        out = in[0];
        break;
      }
    }
    info.shapes[i] = out;
    info.costs.push_back({b.name, std::string(BlockKindName(b.kind)), out, flops, params, formula});
    info.flops += flops;
    info.params += params;
  }
  const Shape last = info.shapes[index[arch.output]];
  if (last.is3d()) {
    return Status::Invalid(
        fmt::format("{}: output {} is 3D {} (allowed: a 2D block; add a flatten, dot or fm block)",
                    origin, Name(arch.output), ShapeText(last)));
  }
  const double wl = static_cast<double>(last.width);
  info.costs.push_back(
      {"head", "head", Shape{0, 1}, 2 * wl, wl + 1, fmt::format("2*{}", last.width)});
  info.flops += 2 * wl;
  info.params += wl + 1;
  return info;
}

Arch Prune(Arch arch) {
  std::set<std::string> live = {arch.output};
  // Blocks read only earlier-listed or later-listed blocks: sweep until nothing is added.
  for (bool grew = true; grew;) {
    grew = false;
    for (const Block& b : arch.blocks) {
      if (live.count(b.name) == 0) continue;
      for (const std::string& in : b.inputs) grew = live.insert(in).second || grew;
    }
  }
  std::erase_if(arch.blocks, [&](const Block& b) { return live.count(b.name) == 0; });
  return arch;
}

Result<Arch> ParseArchJson(std::string_view text, const std::string& origin) {
  SP_ASSIGN_OR_RETURN(json root, ParseJson(text, origin));
  if (!root.is_object()) {
    return Status::Parse(fmt::format(
        "{}: not a JSON object (allowed: {{\"name\", \"embedding_dim\", \"blocks\", \"output\"}})",
        origin));
  }
  static const std::set<std::string> kRootKeys = {"name", "embedding_dim", "blocks", "output"};
  for (const auto& [key, value] : root.items()) {
    if (kRootKeys.count(key) == 0) {
      return Status::Invalid(
          fmt::format("{}: unknown key '{}' (allowed: name, embedding_dim, blocks, output)", origin,
                      Name(key)));
    }
  }
  Arch arch;
  if (root.contains("name")) {
    if (!root["name"].is_string()) {
      return Status::Invalid(
          fmt::format("{}: arch.name = {} is not text (allowed: a string, "
                      "e.g. \"my-model\")",
                      origin, Printable(root["name"].dump(), 64)));
    }
    arch.name = root["name"].get<std::string>();
  }
  SP_RETURN_IF_ERROR(
      ReadInt(root, origin + ": arch", "embedding_dim", 1, kMaxEmbeddingDim, &arch.embedding_dim));
  if (!root.contains("output") || !root["output"].is_string()) {
    return Status::Invalid(
        fmt::format("{}: output is missing or not text (allowed: the name of the block that "
                    "feeds the logit)",
                    origin));
  }
  arch.output = root["output"].get<std::string>();
  if (!root.contains("blocks") || !root["blocks"].is_array() || root["blocks"].empty() ||
      root["blocks"].size() > kMaxBlocks) {
    const std::string what = !root.contains("blocks")        ? "is missing"
                             : !root["blocks"].is_array()    ? "is not a list"
                             : root["blocks"].empty()        ? "is empty"
                                                             : fmt::format("has {} blocks",
                                                                           root["blocks"].size());
    return Status::Invalid(fmt::format(
        "{}: blocks {} (allowed: a list of 1 to {} block objects)", origin, what, kMaxBlocks));
  }
  const json& blocks = root["blocks"];
  for (size_t i = 0; i < blocks.size(); ++i) {
    const json& j = blocks[i];
    const std::string path = fmt::format("{}: blocks[{}]", origin, i);
    if (!j.is_object()) {
      return Status::Invalid(fmt::format(
          "{} = {} (allowed: an object of a block's keys: name, kind, inputs and its kind's own)",
          path, Printable(j.dump(), 64)));
    }
    Block b;
    if (!j.contains("kind") || !j["kind"].is_string()) {
      return Status::Invalid(path +
                             ".kind is missing (allowed: mlp, dcn, gating, sum, concat, "
                             "flatten, to3d, linear3d, dot, fm, attention)");
    }
    const std::string kind = j["kind"].get<std::string>();
    const BlockKindInfo* info = nullptr;
    std::vector<std::string> names;
    for (const BlockKindInfo& k : BlockKinds()) {
      names.push_back(k.name);
      if (k.name == kind) info = &k;
    }
    if (info == nullptr) {
      return Status::Invalid(
          fmt::format("{}.kind = {} (allowed: {})", path, Name(kind), Join(names, ", ")));
    }
    b.kind = info->kind;
    for (const auto& [key, value] : j.items()) {
      if (key == "name" || key == "kind" || key == "inputs") continue;
      if (std::find(info->keys.begin(), info->keys.end(), key) == info->keys.end()) {
        std::vector<std::string> allowed = {"name", "kind", "inputs"};
        allowed.insert(allowed.end(), info->keys.begin(), info->keys.end());
        return Status::Invalid(fmt::format("{}: unknown key '{}' for a {} block (allowed: {})",
                                           path, Name(key), kind, Join(allowed, ", ")));
      }
    }
    if (!j.contains("name")) {
      return Status::Invalid(path + ".name is missing (allowed: a unique block name)");
    }
    if (!j["name"].is_string()) {
      return Status::Invalid(fmt::format("{}.name = {} (allowed: a unique block name, as text)",
                                         path, Printable(j["name"].dump(), 64)));
    }
    b.name = j["name"].get<std::string>();
    SP_RETURN_IF_ERROR(ReadNames(j, path, "inputs", &b.inputs));
    if (b.inputs.empty()) {
      return Status::Invalid(path +
                             ".inputs is missing or empty (allowed: block names, dense, "
                             "sparse)");
    }
    if (j.contains("widths")) {
      const json& w = j["widths"];
      if (!w.is_array()) {
        return Status::Invalid(
            fmt::format("{}.widths = {} (allowed: a list of integers from 1 to {})", path,
                        Printable(w.dump(), 64), kMaxWidth));
      }
      for (size_t k = 0; k < w.size(); ++k) {
        if (!w[k].is_number_integer() || w[k].get<int64_t>() < 1 ||
            w[k].get<int64_t>() > kMaxWidth) {
          return Status::Invalid(
              fmt::format("{}.widths[{}] = {} (allowed: an integer from 1 to {})", path, k,
                          Printable(w[k].dump(), 64), kMaxWidth));
        }
        b.widths.push_back(w[k].get<int64_t>());
      }
    }
    SP_RETURN_IF_ERROR(ReadInt(j, path, "out", 1, kMaxVectors, &b.out));
    SP_RETURN_IF_ERROR(ReadInt(j, path, "layers", 1, kMaxLayers, &b.layers));
    SP_RETURN_IF_ERROR(ReadInt(j, path, "rank", 0, kMaxWidth, &b.rank));
    SP_RETURN_IF_ERROR(ReadInt(j, path, "heads", 1, kMaxEmbeddingDim, &b.heads));
    // Defaults for keys a kind takes but the file left out.
    if (b.kind == BlockKind::kDcn && b.layers == 0) b.layers = 1;
    if (b.kind == BlockKind::kAttention && b.layers == 0) b.layers = 1;
    if (b.kind == BlockKind::kAttention && b.heads == 0) b.heads = 1;
    arch.blocks.push_back(std::move(b));
  }
  return arch;
}

Result<Arch> LoadArch(const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
  return ParseArchJson(text, StreamedInputName(path));
}

json ArchToJson(const Arch& arch) {
  json blocks = json::array();
  for (const Block& b : arch.blocks) {
    json j = {{"name", b.name}, {"kind", BlockKindName(b.kind)}, {"inputs", b.inputs}};
    switch (b.kind) {
      case BlockKind::kMlp:
        j["widths"] = b.widths;
        break;
      case BlockKind::kDcn:
        j["layers"] = b.layers;
        j["rank"] = b.rank;
        break;
      case BlockKind::kTo3d:
      case BlockKind::kLinear3d:
        if (b.out > 0) j["out"] = b.out;  // 0: not given (Analyze refuses it)
        break;
      case BlockKind::kAttention:
        j["layers"] = b.layers;
        j["heads"] = b.heads;
        break;
      default:
        break;
    }
    blocks.push_back(std::move(j));
  }
  return {{"name", arch.name},
          {"embedding_dim", arch.embedding_dim},
          {"blocks", blocks},
          {"output", arch.output}};
}

std::string DescribeArch(const Arch& arch) {
  std::vector<std::string> parts;
  for (const Block& b : arch.blocks) {
    std::string p(BlockKindName(b.kind));
    switch (b.kind) {
      case BlockKind::kMlp:
        p += "[" + Join64(b.widths) + "]";
        break;
      case BlockKind::kDcn:
        p += fmt::format("({}x r{})", b.layers, b.rank);
        break;
      case BlockKind::kTo3d:
      case BlockKind::kLinear3d:
        p += fmt::format("({})", b.out);
        break;
      case BlockKind::kAttention:
        p += fmt::format("({}x h{})", b.layers, b.heads);
        break;
      default:
        break;
    }
    parts.push_back(p);
  }
  return fmt::format("E{} ", arch.embedding_dim) + Join(parts, " > ");
}

}  // namespace scaleplan::rec
