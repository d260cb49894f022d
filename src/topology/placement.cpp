#include "topology/placement.h"

#include <fmt/format.h>

#include <set>

namespace scaleplan::topology {

std::vector<GroupPlacement> PlaceGroups(const spec::ClusterSpec& cluster,
                                        const std::vector<int64_t>& sizes,
                                        const std::vector<spec::Dim>& order) {
  std::vector<GroupPlacement> out(sizes.size());
  int64_t stride = 1;
  for (spec::Dim dim : order) {
    size_t index = static_cast<size_t>(dim);
    GroupPlacement& g = out[index];
    g.dim = dim;
    g.size = sizes[index];
    g.stride = stride;
    stride *= g.size;
  }
  for (GroupPlacement& g : out) {
    g.groups_at_tier.assign(cluster.tiers.size(), 1);
    g.span_tier = -1;
    for (size_t t = 0; t < cluster.tiers.size(); ++t) {
      std::set<int64_t> distinct;
      for (int64_t i = 0; i < g.size; ++i) distinct.insert(i * g.stride / cluster.tiers[t].gpus);
      g.groups_at_tier[t] = static_cast<int64_t>(distinct.size());
    }
    if (g.size > 1) {
      g.span_tier = static_cast<int>(cluster.tiers.size()) - 1;
      for (size_t t = 0; t < cluster.tiers.size(); ++t) {
        if (g.groups_at_tier[t] == 1) {
          g.span_tier = static_cast<int>(t);
          break;
        }
      }
    }
  }
  return out;
}

std::string DescribeSpan(const spec::ClusterSpec& cluster, const GroupPlacement& g) {
  if (g.span_tier < 0) return "single rank";
  if (g.span_tier == 0) return fmt::format("within one {}", cluster.tiers[0].name);
  size_t below = static_cast<size_t>(g.span_tier) - 1;
  return fmt::format("across {} {}s within one {}", g.groups_at_tier[below],
                     cluster.tiers[below].name,
                     cluster.tiers[static_cast<size_t>(g.span_tier)].name);
}

}  // namespace scaleplan::topology
