// Collective costs: equations and sources in collective.h.
#include "collective/collective.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace scaleplan::collective {

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kAllReduce:
      return "all-reduce";
    case Op::kAllGather:
      return "all-gather";
    case Op::kReduceScatter:
      return "reduce-scatter";
    case Op::kAllToAll:
      return "all-to-all";
    case Op::kSendRecv:
      return "send-recv";
  }
  return "?";
}

std::string_view AlgorithmName(Algorithm a) {
  switch (a) {
    case Algorithm::kNone:
      return "none";
    case Algorithm::kRing:
      return "ring";
    case Algorithm::kTree:
      return "tree";
    case Algorithm::kNvls:
      return "nvls";
    case Algorithm::kDirect:
      return "direct";
    case Algorithm::kHierarchical:
      return "hierarchical";
  }
  return "?";
}

GroupShape ShapeOf(const topology::GroupPlacement& p, const spec::ClusterSpec& cluster) {
  GroupShape g;
  g.size = p.size;
  g.span_tier = p.span_tier;
  g.members_per_group.resize(cluster.tiers.size());
  for (size_t t = 0; t < cluster.tiers.size(); ++t) {
    // Members spread evenly over the tier-t groups they touch (exact when sizes divide).
    g.members_per_group[t] =
        std::max<int64_t>(1, p.size / std::max<int64_t>(1, p.groups_at_tier[t]));
  }
  return g;
}

GroupShape ConsecutiveGroup(int64_t n, const spec::ClusterSpec& cluster) {
  GroupShape g;
  g.size = n;
  g.members_per_group.resize(cluster.tiers.size());
  for (size_t t = 0; t < cluster.tiers.size(); ++t) {
    g.members_per_group[t] = std::min(n, cluster.tiers[t].gpus);
    if (n > 1 && g.span_tier < 0 && n <= cluster.tiers[t].gpus) g.span_tier = static_cast<int>(t);
  }
  if (n > 1 && g.span_tier < 0) g.span_tier = static_cast<int>(cluster.tiers.size()) - 1;
  return g;
}

namespace {

double TierEfficiency(const spec::ClusterSpec& c, size_t tier) {
  return tier == 0 ? kNvlinkBusEfficiency * c.gpu.nvlink_efficiency_scale : kNetworkBusEfficiency;
}

// A reduce-scatter's NVLink bus bandwidth against an all-gather's, on m ranks of a node: the
// measured ratios at 8 GiB (collective.h), interpolated in log2 m, the 8-rank value beyond.
double ReduceScatterNvlinkFactor(int64_t m) {
  double x = std::log2(static_cast<double>(std::max<int64_t>(m, 2)));  // 1, 2, 3 at 2, 4, 8
  if (x <= 2.0)
    return kReduceScatterNvlinkFactor[0] +
           (x - 1.0) * (kReduceScatterNvlinkFactor[1] - kReduceScatterNvlinkFactor[0]);
  if (x <= 3.0)
    return kReduceScatterNvlinkFactor[1] +
           (x - 2.0) * (kReduceScatterNvlinkFactor[2] - kReduceScatterNvlinkFactor[1]);
  return kReduceScatterNvlinkFactor[2];
}

// Per-rank bandwidth of a multi-channel ring over the group (see collective.h).
double RingBandwidth(const spec::ClusterSpec& c, const GroupShape& g, Op op) {
  double bw = std::numeric_limits<double>::infinity();
  if (g.members_per_group[0] > 1) {
    bw = TierEfficiency(c, 0) * c.tiers[0].bandwidth_bytes_per_s;
    if (op == Op::kReduceScatter) bw *= ReduceScatterNvlinkFactor(g.members_per_group[0]);
  }
  for (int t = 1; t <= g.span_tier; ++t) {
    const spec::TierSpec& tier = c.tiers[static_cast<size_t>(t)];
    double carriers = static_cast<double>(g.members_per_group[static_cast<size_t>(t - 1)]);
    bw = std::min(
        bw, kNetworkBusEfficiency * tier.bandwidth_bytes_per_s * carriers / tier.oversubscription);
  }
  return bw;
}

double TopLatency(const spec::ClusterSpec& c, const GroupShape& g) {
  return c.tiers[static_cast<size_t>(std::max(g.span_tier, 0))].latency_s;
}

// The two parts of a hierarchical collective over `g` (see collective.h), or false when the group
// has one member per tier-(t-1) group or lies inside one.
bool SplitHierarchical(const spec::ClusterSpec& c, const GroupShape& g, GroupShape* inner,
                       GroupShape* outer) {
  if (g.span_tier < 1) return false;
  const size_t t = static_cast<size_t>(g.span_tier);
  if (!c.tiers[t].hierarchical_collectives) return false;
  const int64_t m = g.members_per_group[t - 1];
  if (m <= 1 || m >= g.size || g.size % m != 0) return false;
  inner->size = m;
  inner->members_per_group.assign(c.tiers.size(), m);
  inner->span_tier = static_cast<int>(t) - 1;
  for (size_t u = 0; u < t; ++u) {
    inner->members_per_group[u] = std::min(m, g.members_per_group[u]);
    if (g.members_per_group[u] >= m) {
      inner->span_tier = static_cast<int>(u);
      break;
    }
  }
  for (size_t u = static_cast<size_t>(inner->span_tier); u < c.tiers.size(); ++u)
    inner->members_per_group[u] = m;
  outer->size = g.size / m;
  outer->span_tier = static_cast<int>(t);
  outer->members_per_group.assign(c.tiers.size(), outer->size);
  for (size_t u = 0; u < t; ++u) outer->members_per_group[u] = 1;
  return true;
}

}  // namespace

Cost Estimate(const spec::ClusterSpec& c, const GroupShape& g, Op op, double bytes) {
  if (g.size <= 1 || bytes <= 0) return {};
  if (op == Op::kSendRecv) return SendRecv(c, g, bytes);
  double n = static_cast<double>(g.size);
  double alpha = TopLatency(c, g);
  if (op == Op::kAllToAll) {
    double worst = 0;
    for (int t = 0; t <= g.span_tier; ++t) {
      const spec::TierSpec& tier = c.tiers[static_cast<size_t>(t)];
      double inside =
          t == 0 ? 1.0 : static_cast<double>(g.members_per_group[static_cast<size_t>(t - 1)]);
      double share = bytes * (t == 0 ? (static_cast<double>(g.members_per_group[0]) - 1.0) / n
                                     : (n - inside) / n);
      double bw = TierEfficiency(c, static_cast<size_t>(t)) * tier.bandwidth_bytes_per_s /
                  tier.oversubscription;
      worst = std::max(worst, share / bw);
    }
    return {kCollectiveBaseS + alpha + (n - 1) * kAllToAllPerPeerS + worst, Algorithm::kDirect};
  }
  Cost hierarchical{std::numeric_limits<double>::infinity(), Algorithm::kHierarchical};
  GroupShape inner, outer;
  if (SplitHierarchical(c, g, &inner, &outer)) {
    double shard = bytes / static_cast<double>(inner.size);
    switch (op) {
      case Op::kReduceScatter:
        hierarchical.seconds = Estimate(c, inner, Op::kReduceScatter, bytes).seconds +
                               Estimate(c, outer, Op::kReduceScatter, shard).seconds;
        break;
      case Op::kAllGather:
        hierarchical.seconds = Estimate(c, outer, Op::kAllGather, shard).seconds +
                               Estimate(c, inner, Op::kAllGather, bytes).seconds;
        break;
      default:
        hierarchical.seconds = Estimate(c, inner, Op::kReduceScatter, bytes).seconds +
                               Estimate(c, outer, Op::kAllReduce, shard).seconds +
                               Estimate(c, inner, Op::kAllGather, bytes).seconds;
        break;
    }
  }
  double bw = RingBandwidth(c, g, op);
  bool reduce = op == Op::kAllReduce;
  double steps = reduce ? 2 * (n - 1) : n - 1;
  double factor = steps / n;
  Cost best{kCollectiveBaseS + steps * alpha + factor * bytes / bw, Algorithm::kRing};
  if (reduce) {
    double tree = kCollectiveBaseS + 2 * std::ceil(std::log2(n)) * alpha + 2 * bytes / bw;
    if (tree < best.seconds) best = {tree, Algorithm::kTree};
    if (g.span_tier == 0 && g.size >= 8 && c.gpu.nvlink_sharp) {
      double nvls = kCollectiveBaseS + steps * alpha +
                    factor * bytes /
                        (kNvlsBusEfficiency * c.gpu.nvlink_efficiency_scale *
                         c.tiers[0].bandwidth_bytes_per_s);
      if (nvls < best.seconds) best = {nvls, Algorithm::kNvls};
    }
  }
  if (hierarchical.seconds < best.seconds) best = hierarchical;
  return best;
}

Cost SendRecv(const spec::ClusterSpec& c, const GroupShape& g, double bytes, double share) {
  if (g.size <= 1 || bytes <= 0) return {};
  size_t t = static_cast<size_t>(std::max(g.span_tier, 0));
  const spec::TierSpec& tier = c.tiers[t];
  return {kSendRecvBaseS + tier.latency_s +
              bytes / (TierEfficiency(c, t) * tier.bandwidth_bytes_per_s * share),
          Algorithm::kDirect};
}

}  // namespace scaleplan::collective
