// Ranking-model search spaces (Rankitect, arXiv:2311.08430): a space is a list of categorical
// dimensions and a decoder from one choice per dimension to an architecture (rec/arch.h). Every
// search family works on the same space, so their results compare.
//
//   scratch   NASRec-like (WWW'23), from low-level blocks: embedding dim, then up to kStages
//             stages (the depth D, 1 to kStages, is a dimension too).
//             Stage k keeps a vector stream v_k (3D; v_0 = the embeddings) and a dense stream
//             h_k (2D; h_0 = the dense features):
//               v_k = sparse_op_k(v_{k-1})          identity | linear3d(out) | attention(1, 2)
//               i_k = interaction_k(v_k)            none | dot | fm | flatten
//               x_k = [h_{k-1}, i_k, h_{k-2} if skip_k]
//               h_k = dense_op_k(x_k)               mlp[width] | dcn(1 layer, rank width/4)
//                                                   then mlp[width] | gating(mlp[width](x_k),
//                                                   h_0 projected) | none (h_k = x_k)
//             and the logit reads h_D. A stage that would read nothing 2D (no dense features, no
//             interaction) takes the flattened v_k instead.
//   engineer  an engineer's model with choices (Rankitect's "inside an engineer-designed space"):
//             the DLRM / DCN-v2 / DeepFM skeleton with the embedding dim, the bottom MLP, the
//             interaction with the embeddings (dot, fm beside the flattened vectors, flatten,
//             attention + dot), DCN-v2 cross layers over the top's input (0-3 layers, rank 4, 8
//             or 16) and the top MLP's depth and width to choose.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "rec/arch.h"

namespace scaleplan::nas {

inline constexpr int kStages = 4;

struct Dimension {
  std::string name;
  std::vector<std::string> values;  // as printed
};

using Choice = std::vector<uint32_t>;  // one value index per dimension

struct Space {
  std::string name;
  std::vector<Dimension> dims;
  // The architecture of a choice for this input (named by the caller). With `carriers`, one
  // name per dimension: the block whose output embodies that dimension's choice ("sparse": the
  // embeddings; "block:part" a part of a concatenation, a skip connection's), "" when the choice
  // made no block of its own (identity, none, no skip, an inactive dimension). DNAS gates them
  // (nas.h, rec/supernet.h).
  std::function<rec::Arch(const Choice&, const rec::InputShape&, std::vector<std::string>*)>
      decode;
  rec::Arch Decode(const Choice& choice, const rec::InputShape& input,
                   std::vector<std::string>* carriers = nullptr) const;
  // A hand-designed model of the space (DLRM-like): the one-shot family's in-place baseline.
  Choice reference;
  // The sampling family's start holds the reference (a space built around an engineer's model;
  // a search from scratch starts without one).
  bool start_from_reference = false;
  double Size() const;
};

struct SpaceInfo {
  std::string name;
  std::string description;
  Space (*make)();
};
const std::vector<SpaceInfo>& Spaces();
std::vector<std::string> SpaceNames();
Result<Space> MakeSpace(std::string_view name);

// "E16 s1:attention/fm/mlp64 s2:..." from the dimensions' printed values.
std::string DescribeChoice(const Space& space, const Choice& choice);

}  // namespace scaleplan::nas
