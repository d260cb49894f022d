// Hand-designed ranking models, the baselines a search must beat (Rankitect's "engineer-designed"
// models), each at three sizes (s, m, l), built for the data's inputs in the block language of
// rec/arch.h:
//   dlrm     Naumov et al. (arXiv:1906.00091): bottom MLP on the dense features, projected to one
//            vector beside the embeddings, pairwise dots, top MLP on [bottom, dots].
//   dcnv2    Wang et al. (arXiv:2008.13535), stacked: [flattened embeddings, dense] through cross
//            layers, then an MLP.
//   deepfm   Guo et al. (IJCAI'17): FM bi-interaction of the embeddings beside an MLP on
//            [flattened embeddings, dense]; the head's linear layer sums them. (FM's first-order
//            per-id weights are left out: the deep part sees every id.)
//   autoint  Song et al. (CIKM'19): the dense features projected to vectors beside the
//            embeddings, self-attention layers, flattened into an MLP.
// The sizes are this project's choices (embedding dim 8, 16, 16 and widths growing with them).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "rec/arch.h"

namespace scaleplan::rec {

struct BaselineInfo {
  std::string family;       // dlrm, dcnv2, deepfm, autoint
  std::string description;  // one line
};
const std::vector<BaselineInfo>& BaselineFamilies();

inline constexpr std::string_view kBaselineSizes[] = {"s", "m", "l"};

// "dlrm-m" etc.; NotFound lists the names.
Result<Arch> MakeBaseline(std::string_view name, const InputShape& input);
// Every family at every size, in registry order.
std::vector<std::string> BaselineNames();

// `arch_ref` is an architecture file (*.json) or a baseline's name, built for `input`.
Result<Arch> ResolveArch(const std::string& arch_ref, const InputShape& input);

}  // namespace scaleplan::rec
