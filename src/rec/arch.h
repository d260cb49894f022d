// Ranking-model architectures as DAGs of blocks (Rankitect, arXiv:2311.08430; NASRec, WWW'23):
// every block reads the outputs of named earlier blocks or the two inputs, and one block's 2D
// output feeds the click logit.
//
// Tensors per example are 2D (a vector of width W) or 3D (N vectors of dimension E). The inputs:
//   dense   2D, width = the data's dense features
//   sparse  3D, N = the data's sparse features, E = embedding_dim (one embedding bag per feature;
//           every feature is one-hot, so a bag is one row)
// An architecture file is JSON:
//   {"name": "dlrm-s", "embedding_dim": 16, "output": "top",
//    "blocks": [{"name": "bottom", "kind": "mlp", "inputs": ["dense"], "widths": [64, 16]},
//               {"name": "b3", "kind": "to3d", "inputs": ["bottom"], "out": 1}, ...]}
// The logit is a linear layer on the output block (the "head").
//
// Blocks (W: input width; N x E: input vectors; output shape after the arrow). FLOPs are per
// example, forward; a matrix product of m x k by k x n counts 2mkn (a linear layer's bias is its
// last add), every other elementwise operation (ReLU, sigmoid, product, sum, exp, scale) 1 per
// element. Parameters count weights and biases.
//   mlp        widths w_1..w_L        2D W -> w_L    sum_l 2 w_{l-1} w_l + w_l (ReLU after each)
//                                                    params sum_l w_{l-1} w_l + w_l
//   dcn        layers L, rank r       2D W -> W      DCN-v2 (Wang et al., arXiv:2008.13535):
//                                                    x_{l+1} = x_0 * (M x_l + b) + x_l,
//                                                    M full (r = 0): L (2W^2 + 2W), params
//                                                    L (W^2 + W); M = U V low rank r:
//                                                    L (4Wr + 2W), params L (2Wr + W)
//   gating     inputs [a, b]          2D a -> a      a * sigmoid(G b + c): 2 W_b W_a + 2 W_a;
//                                                    params W_b W_a + W_a
//   sum        2+ inputs, one shape   -> that shape  (k - 1) x size
//   concat     2+ inputs, all 2D      -> sum of widths; all 3D with one E -> sum of N; 0 FLOPs
//   flatten    3D N x E               -> 2D N E      0
//   to3d       out M                  2D W -> M x E  a linear layer W -> M E: 2 W M E;
//                                                    params W M E + M E
//   linear3d   out M                  3D N x E -> M x E   mixes the vectors (NASRec's linear-3d):
//                                                    y_m = sum_n A_mn x_n + c_m: 2 M N E;
//                                                    params M N + M
//   dot        3D N x E -> 2D N(N-1)/2               pairwise dot products (DLRM), computed as
//                                                    the full Gram matrix: 2 N^2 E
//   fm         3D N x E -> 2D E                      bi-interaction (FM's second-order term
//                                                    before its sum): ((sum x)^2 - sum x^2) / 2,
//                                                    3 N E + E
//   attention  layers L, heads h      3D N x E -> N x E   AutoInt (Song et al., CIKM'19): per
//                                                    layer Q, K, V, R = x W_q, x W_k, x W_v, x W_r
//                                                    (no bias), per head softmax(q k^T /
//                                                    sqrt(E/h)) v, y = ReLU(heads + R):
//                                                    L (8 N E^2 + 4 N^2 E + 4 h N^2 + 2 N E)
//                                                    (scale, exp, sum and divide per score);
//                                                    params L 4 E^2
//   head       (the logit)            2D W -> 1      2W; params W + 1
// The embedding bags cost 0 FLOPs (lookups) and sum(cardinality) E parameters.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace scaleplan::rec {

inline constexpr size_t kMaxBlocks = 256;
inline constexpr int64_t kMaxWidth = 65536;
inline constexpr int64_t kMaxMlpLayers = 32;
inline constexpr int64_t kMaxVectors = 4096;  // to3d, linear3d: out
inline constexpr int64_t kMaxLayers = 16;     // dcn, attention
inline constexpr int64_t kMaxEmbeddingDim = 1024;

enum class BlockKind {
  kMlp,
  kDcn,
  kGating,
  kSum,
  kConcat,
  kFlatten,
  kTo3d,
  kLinear3d,
  kDot,
  kFm,
  kAttention
};

// The block registry: every kind with its name, its keys and a one-line description.
struct BlockKindInfo {
  BlockKind kind;
  std::string name;
  std::vector<std::string> keys;  // besides name, kind, inputs
  std::string description;
};
const std::vector<BlockKindInfo>& BlockKinds();
std::string_view BlockKindName(BlockKind kind);

struct Block {
  std::string name;
  BlockKind kind = BlockKind::kMlp;
  std::vector<std::string> inputs;  // block names, "dense" or "sparse"
  std::vector<int64_t> widths;      // mlp
  int64_t out = 0;                  // to3d, linear3d
  int64_t layers = 0;               // dcn, attention
  int64_t rank = 0;                 // dcn: 0 = full
  int64_t heads = 0;                // attention
  bool operator==(const Block&) const = default;
};

// A block of `kind` reading `inputs`, its other keys unset (decoders and presets fill them).
Block MakeBlock(std::string name, BlockKind kind, std::vector<std::string> inputs);

struct Arch {
  std::string name;
  int64_t embedding_dim = 16;
  std::vector<Block> blocks;
  std::string output;
  bool operator==(const Arch&) const = default;
};

// The data an architecture is built for.
struct InputShape {
  int64_t dense = 0;
  std::vector<int64_t> cardinality;  // rows per sparse feature
};

struct Shape {
  int64_t rows = 0;   // 3D: N vectors; 0 for 2D
  int64_t width = 0;  // 2D: W; 3D: E
  bool is3d() const { return rows > 0; }
  int64_t size() const { return is3d() ? rows * width : width; }
};
std::string ShapeText(const Shape& shape);  // "[64]" or "[27 x 16]"

struct BlockCost {
  std::string name;  // the block's; "sparse" for the embedding bags, "head" for the logit
  std::string kind;  // "mlp", ..., "embedding", "head"
  Shape shape;       // output
  double flops = 0;  // per example, forward
  double params = 0;
  std::string formula;  // the FLOPs formula with this block's numbers, e.g. "2*13*64 + 64 + ..."
};

// An architecture checked against its input: blocks in a topological order, shapes, costs.
struct ArchInfo {
  std::vector<size_t> order;     // indices into arch.blocks, inputs before users
  std::vector<Shape> shapes;     // per block (arch.blocks order)
  std::vector<BlockCost> costs;  // embedding bags, blocks in `order`, head
  double flops = 0;              // per example, forward, all blocks and the head
  double params = 0;             // dense parameters (blocks and head)
  double embedding_params = 0;
};

// Checks the DAG (unique names, known inputs, no cycle, every block on a path to the output,
// widths that fit each block) and computes shapes and costs. Errors name the block and the key.
Result<ArchInfo> Analyze(const Arch& arch, const InputShape& input);

// `arch` without the blocks that do not lead to its output (a search space's decoder may leave
// some); blocks keep their order.
Arch Prune(Arch arch);

// JSON in and out; errors name `origin` and the key path (blocks[3].widths[1]).
Result<Arch> ParseArchJson(std::string_view text, const std::string& origin);
Result<Arch> LoadArch(const std::string& path);
nlohmann::json ArchToJson(const Arch& arch);
// A one-line description: "mlp[64,16] > to3d(1) > concat > dot > concat > mlp[64,32]".
std::string DescribeArch(const Arch& arch);

}  // namespace scaleplan::rec
