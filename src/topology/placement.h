// Placement of parallel groups on the network tiers.
//
// Ranks are numbered in topology order: ranks 0..7 share a node, 0..15 a rack, and so on. A
// placement order such as [tp, cp, pp, dp] (innermost first) gives each dimension a stride, the
// product of the sizes of the dimensions inside it; a group of that dimension holds the ranks
// base + i*stride, i = 0..size-1. Which tier-t groups (nodes, racks, pods, ...) those ranks fall in
// decides which tiers the group's collectives cross. Computed for the group that starts at rank 0;
// every group of a dimension has the same shape when the sizes divide the tier sizes, which the
// presets satisfy (when they do not, rank 0's group is reported). Computed in closed form, so
// that search can place millions of plans.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/specs.h"

namespace scaleplan::topology {

struct GroupPlacement {
  spec::Dim dim = spec::Dim::kTp;
  int64_t size = 1;    // ranks in one group
  int64_t stride = 1;  // rank distance between neighbours in the group
  // groups_at_tier[t]: how many distinct tier-t groups (e.g. nodes for t = 0) the members occupy.
  std::vector<int64_t> groups_at_tier;
  // Innermost tier that holds the whole group; -1 for a group of one rank.
  int span_tier = -1;
};

// The group of `size` ranks 0, stride, 2*stride, ... (closed form, no enumeration).
GroupPlacement PlaceStrided(const spec::ClusterSpec& cluster, int64_t size, int64_t stride);

// The group spanned by two dimensions together (e.g. dp x cp for gradient reduction): exact when
// `outer` sits right outside `inner`, otherwise an estimate of the tier groups touched.
GroupPlacement PlaceCombined(const spec::ClusterSpec& cluster, const GroupPlacement& inner,
                             const GroupPlacement& outer);

// One GroupPlacement per dimension, in the order tp, cp, pp, dp. `sizes` are the group sizes in
// that same order; `order` the placement, innermost first.
std::vector<GroupPlacement> PlaceGroups(const spec::ClusterSpec& cluster,
                                        const std::vector<int64_t>& sizes,
                                        const std::vector<spec::Dim>& order);

// The placement's dimensions of size > 1, innermost first: orders that differ only in where
// size-1 dimensions sit are the same placement.
std::vector<spec::Dim> EffectiveOrder(const std::vector<spec::Dim>& order, int64_t tp, int64_t cp,
                                      int64_t pp, int64_t dp);

// "within node", "across 6 pods", ... for reports.
std::string DescribeSpan(const spec::ClusterSpec& cluster, const GroupPlacement& group);

}  // namespace scaleplan::topology
