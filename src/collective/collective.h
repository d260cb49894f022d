// Cost of a collective on a placed group of GPUs.
//
// A group of n ranks touches, at each tier t of the cluster, some number of tier-t groups; m_t is
// the number of its members inside one tier-t group (m_0: members per node). Every GPU has its own
// link into each tier (NVLink in the node, its NIC above), so traffic that leaves a tier-(t-1)
// group is carried by that group's m_{t-1} members' links together.
//
// Ring (all-gather, reduce-scatter of S bytes in total; all-reduce = both):
//   t = t0 + steps * alpha_top + f * S / B_ring,   f = (n-1)/n (AG, RS) or 2(n-1)/n (AR)
//   steps = n-1 (AG, RS) or 2(n-1) (AR); alpha_top = latency of the highest tier crossed
//   B_ring = min( eta_nvl * beta_0                      if m_0 > 1,
//                 eta_net * beta_t * m_{t-1} / o_t      for every tier t >= 1 crossed )
// This is NCCL's multi-channel ring: with one channel per NIC the crossings of a node spread over
// its NICs (calibration/nccl.csv: 331 GB/s all-reduce bus bandwidth on 4 DGX H100 nodes against
// 46-48 GB/s per NIC).
// Tree (all-reduce only, NCCL's double binary tree): t0 + 2 ceil(log2 n) alpha_top + 2 S / B_ring.
// NVLS (all-reduce inside one NVSwitch node of >= 8 GPUs whose GPU has gpu.nvlink_sharp): t0 +
// 2(n-1) alpha_0 +
//   2(n-1)/n S / (eta_nvls * beta_0), eta_nvls = 480/450 (nccl.csv: 480 GB/s bus bandwidth).
// Hierarchical (two-level, when the group's span tier t has hierarchical_collectives): the group
// splits into m = m_{t-1} members inside each tier-(t-1) group ("inner", span below t) and
// k = n / m groups ("outer": one member per tier-(t-1) group, m of them side by side, each on its
// own GPU's link of tier t):
//   reduce-scatter S = RS_inner(S) + RS_outer(S / m)
//   all-gather S     = AG_outer(S / m) + AG_inner(S)
//   all-reduce S     = RS_inner(S) + AR_outer(S / m) + AG_inner(S)
// so the slow tier carries a 1/m shard once and pays 2(k-1) latencies instead of 2(n-1); each part
// is priced by these same equations (the inner part may itself be hierarchical).
// The cheapest algorithm is chosen, as NCCL's tuner would.
// All-to-all of S bytes per rank (EP dispatch): each rank sends S/n to every peer; the share that
// leaves a tier-(t-1) group, S (n - m_{t-1}) / n, goes through the rank's own link of tier t:
//   t = t0 + alpha_top + (n-1) o_peer + max_t share_t / (eta_t beta_t / o_t).
// The n-1 messages do not wait for each other, as a ring's steps do: they are all in flight at
// once, so the wire latency is paid once and each peer adds only the cost of issuing its
// message, o_peer (LogP's overhead). o_peer = 0.80 us is the slope of the all-to-all time over
// group size, 8 to 72 ranks, in XLA's measured collective table for the NVL72 domains of GB200
// and GB300 (data/calibration/xla-collectives.csv, messages up to 256 KiB where the bandwidth term
// is below 1 us, rows whose throughput has at least two digits (>= 0.1 GB/s): the smallest
// messages' rounded throughputs double their times; 0.80 and 0.80 us per peer on each). The
// table is not linear (11.5-13 us from 8 to 18 ranks, 51-66 us at 64-72) and its intercept is
// about 0, where this model adds t0 + alpha: a small all-to-all inside one NVL72 domain is
// over-predicted by about 20 us. The same cost per peer on a network tier is an assumption (no
// multi-node all-to-all measurement is in the data).
// Send/receive of S bytes across tier t: t0_p2p + alpha_t + S / (eta_t beta_t share), where
// share <= 1 is the part of its link a sender gets while other senders cross the same tier at once
// (1: alone, 1/o_t: every GPU below the tier sends).
//
// Constants (calibration/nccl.csv and the real nccl-tests outputs of an 8x H200 node,
// data/calibration/nccl-tests-h200; docs/ACCURACY.md has the fit):
//   eta_nvl = 0.82  (370 of 450 GB/s: "~20% protocol overhead", NCCL maintainer, nccl.csv)
//                   times gpu.nvlink_efficiency_scale, for every NVLink term (rings, NVLS,
//                   all-to-all; point-to-point sends assumed the same): 1 on Hopper; on
//                   Blackwell the mean, over XLA's all-gather, reduce-scatter, all-reduce and
//                   all-to-all on groups of 8 (data/calibration/xla-collectives.csv), of the
//                   time each adds from 256 MiB to 1 GiB on H100 over the same on the Blackwell
//                   GPU, times the ratio of their links (450 / 900 GB/s): the difference of two
//                   sizes leaves out the fixed latency, and a ratio of two XLA measurements XLA's
//                   own overhead. B200 0.88, GB200 0.94, GB300 0.95 (B300: B200's, an
//                   assumption).
//   eta_net = 0.94  (46-48 of 50 GB/s per 400 Gb/s NIC, nccl.csv)
//   t0 = 20 us      (intercept of the nccl-tests fits; launch and protocol set-up)
//   reduce-scatter on m ranks of a node reaches 0.775 (m = 2), 0.945 (4), 0.975 (8) of the
//   all-gather's NVLink bus bandwidth: the measured time ratios AG / RS at 8 GiB in the H200
//   nccl-tests outputs (11.82 / 15.25 ms, 17.52 / 18.54 ms, 20.44 / 20.97 ms); the reduction's
//   extra HBM traffic shows most where each rank's share is largest. The all-reduce, which also
//   reduces, matches the plain ring at every size, so the factor is reduce-scatter's alone.
//   t0_p2p = 5 us   (assumption: one kernel and one message)
//   o_peer = 0.80 us (all-to-all cost per peer: XLA's measured table, above)
// alpha per tier is the cluster preset's latency_s (the node tier's 4 us is the nccl-tests slope;
// the NVL72 presets' 1.4 us is the slope of XLA's all-gather and reduce-scatter times over ring
// steps in GB200 and GB300 NVL72 domains, groups of 8 to 72, messages up to 256 KiB).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "spec/specs.h"
#include "topology/placement.h"

namespace scaleplan::collective {

inline constexpr double kNvlinkBusEfficiency = 0.82;
inline constexpr double kNetworkBusEfficiency = 0.94;
inline constexpr double kNvlsBusEfficiency = 480.0 / 450.0;
inline constexpr double kCollectiveBaseS = 20e-6;
inline constexpr double kReduceScatterNvlinkFactor[3] = {11821.0 / 15253.0, 17515.0 / 18536.0,
                                                         20442.0 / 20969.0};
inline constexpr double kSendRecvBaseS = 5e-6;
inline constexpr double kAllToAllPerPeerS = 0.80e-6;

enum class Op { kAllReduce, kAllGather, kReduceScatter, kAllToAll, kSendRecv };
enum class Algorithm { kNone, kRing, kTree, kNvls, kDirect, kHierarchical };

std::string_view OpName(Op op);
std::string_view AlgorithmName(Algorithm algorithm);

// A group as the cost model sees it.
struct GroupShape {
  int64_t size = 1;
  int span_tier = -1;                      // highest tier crossed; -1 for one rank
  std::vector<int64_t> members_per_group;  // m_t for every tier t
};

GroupShape ShapeOf(const topology::GroupPlacement& placement, const spec::ClusterSpec& cluster);
// A group of n ranks filling tiers from the inside (consecutive ranks), for direct use.
GroupShape ConsecutiveGroup(int64_t n, const spec::ClusterSpec& cluster);

struct Cost {
  double seconds = 0;
  Algorithm algorithm = Algorithm::kNone;
};

// `bytes`: all-gather: the gathered total; reduce-scatter and all-reduce: each rank's input;
// all-to-all: what each rank sends in total; send/receive: the message. A group of one rank, or
// zero bytes, costs nothing.
Cost Estimate(const spec::ClusterSpec& cluster, const GroupShape& group, Op op, double bytes);

// Point-to-point transfer between neighbours of `group` (pipeline stages): the slowest hop, each
// sender getting `share` of its link (see above).
Cost SendRecv(const spec::ClusterSpec& cluster, const GroupShape& group, double bytes,
              double share = 1.0);

}  // namespace scaleplan::collective
