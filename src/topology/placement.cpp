#include "topology/placement.h"

#include <fmt/format.h>

#include <algorithm>

namespace scaleplan::topology {

GroupPlacement PlaceStrided(const spec::ClusterSpec& cluster, int64_t size, int64_t stride) {
  GroupPlacement g;
  g.size = size;
  g.stride = stride;
  g.groups_at_tier.assign(cluster.tiers.size(), 1);
  for (size_t t = 0; t < cluster.tiers.size(); ++t) {
    int64_t tier = cluster.tiers[t].gpus;
    // Members 0, stride, ..., (size-1)*stride. A step shorter than the tier group skips no group,
    // so every group from the first to the last is touched; a longer one puts each member alone.
    g.groups_at_tier[t] = stride >= tier ? size : (size - 1) * stride / tier + 1;
  }
  g.span_tier = -1;
  if (size > 1) {
    g.span_tier = static_cast<int>(cluster.tiers.size()) - 1;
    for (size_t t = 0; t < cluster.tiers.size(); ++t) {
      if (g.groups_at_tier[t] == 1) {
        g.span_tier = static_cast<int>(t);
        break;
      }
    }
  }
  return g;
}

GroupPlacement PlaceCombined(const spec::ClusterSpec& cluster, const GroupPlacement& inner,
                             const GroupPlacement& outer) {
  if (inner.size <= 1) return outer;
  if (outer.size <= 1) return inner;
  if (outer.stride == inner.stride * inner.size) {
    GroupPlacement g = PlaceStrided(cluster, inner.size * outer.size, inner.stride);
    g.dim = inner.dim;
    return g;
  }
  GroupPlacement g;
  g.dim = inner.dim;
  g.size = inner.size * outer.size;
  g.stride = inner.stride;
  g.groups_at_tier.assign(cluster.tiers.size(), 1);
  for (size_t t = 0; t < cluster.tiers.size(); ++t) {
    int64_t tier = cluster.tiers[t].gpus;
    int64_t extent = (inner.size - 1) * inner.stride + (outer.size - 1) * outer.stride;
    int64_t count = outer.stride >= tier ? inner.groups_at_tier[t] * outer.size : extent / tier + 1;
    g.groups_at_tier[t] = std::min(count, g.size);
  }
  g.span_tier = static_cast<int>(cluster.tiers.size()) - 1;
  for (size_t t = 0; t < cluster.tiers.size(); ++t) {
    if (g.groups_at_tier[t] == 1) {
      g.span_tier = static_cast<int>(t);
      break;
    }
  }
  return g;
}

std::vector<GroupPlacement> PlaceGroups(const spec::ClusterSpec& cluster,
                                        const std::vector<int64_t>& sizes,
                                        const std::vector<spec::Dim>& order) {
  std::vector<GroupPlacement> out(sizes.size());
  int64_t stride = 1;
  for (spec::Dim dim : order) {
    size_t index = static_cast<size_t>(dim);
    out[index] = PlaceStrided(cluster, sizes[index], stride);
    out[index].dim = dim;
    stride *= sizes[index];
  }
  return out;
}

std::vector<spec::Dim> EffectiveOrder(const std::vector<spec::Dim>& order, int64_t tp, int64_t cp,
                                      int64_t pp, int64_t dp) {
  std::vector<spec::Dim> out;
  for (spec::Dim d : order) {
    int64_t size = d == spec::Dim::kTp   ? tp
                   : d == spec::Dim::kCp ? cp
                   : d == spec::Dim::kPp ? pp
                                         : dp;
    if (size > 1) out.push_back(d);
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
