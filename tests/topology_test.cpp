#include <gtest/gtest.h>

#include "spec/readers.h"
#include "test_util.h"
#include "topology/placement.h"

namespace scaleplan::topology {
namespace {

using scaleplan::testing::Must;
using spec::Dim;

// Llama 3 cluster: node 8, rack 16, pod 3072, cluster 24576. TP 8, CP 1, PP 16, DP 128 placed
// [tp, cp, pp, dp]: strides 1, 8, 8, 128.
//   tp: ranks 0..7 -> one node.
//   pp: ranks 0, 8, ..., 120 -> racks floor(8i/16): 8 racks, all in pod 0 -> spans the pod tier.
//   dp: ranks 0, 128, ..., 16256 -> pods floor(128i/3072) = 0..5: 6 pods -> spans the cluster.
TEST(Placement, Llama3Default) {
  spec::ClusterSpec c = Must(spec::LoadCluster("llama3-cluster"));
  std::vector<GroupPlacement> g =
      PlaceGroups(c, {8, 1, 16, 128}, {Dim::kTp, Dim::kCp, Dim::kPp, Dim::kDp});
  const GroupPlacement& tp = g[0];
  EXPECT_EQ(tp.stride, 1);
  EXPECT_EQ(tp.span_tier, 0);
  EXPECT_EQ(DescribeSpan(c, tp), "within one node");
  EXPECT_EQ(g[1].span_tier, -1);  // CP = 1
  const GroupPlacement& pp = g[2];
  EXPECT_EQ(pp.stride, 8);
  EXPECT_EQ(pp.groups_at_tier, (std::vector<int64_t>{16, 8, 1, 1}));
  EXPECT_EQ(pp.span_tier, 2);
  EXPECT_EQ(DescribeSpan(c, pp), "across 8 racks within one pod");
  const GroupPlacement& dp = g[3];
  EXPECT_EQ(dp.stride, 128);
  EXPECT_EQ(dp.groups_at_tier, (std::vector<int64_t>{128, 128, 6, 1}));
  EXPECT_EQ(dp.span_tier, 3);
}

// Reversing the order puts DP innermost: DP 128 at stride 1 spans 128 / 3072 -> one pod, while TP
// at stride 128 * 16 = 2048 crosses 8 ranks 2048 apart: ranks 0..14336, 5 pods.
TEST(Placement, OrderChangesSpans) {
  spec::ClusterSpec c = Must(spec::LoadCluster("llama3-cluster"));
  std::vector<GroupPlacement> g =
      PlaceGroups(c, {8, 1, 16, 128}, {Dim::kDp, Dim::kPp, Dim::kCp, Dim::kTp});
  EXPECT_EQ(g[3].stride, 1);
  EXPECT_EQ(g[3].span_tier, 2);
  EXPECT_EQ(g[0].stride, 2048);
  EXPECT_EQ(g[0].groups_at_tier[2], 5);  // floor(2048 i / 3072) for i = 0..7: 0,0,1,2,2,3,4,4
  EXPECT_EQ(g[0].span_tier, 3);
}

TEST(Placement, GroupInsideANodeNeverTouchesNetworkTiers) {
  spec::ClusterSpec c = Must(spec::LoadCluster("dgx-h100-ib"));
  std::vector<GroupPlacement> g =
      PlaceGroups(c, {4, 2, 1, 2}, {Dim::kTp, Dim::kCp, Dim::kPp, Dim::kDp});
  EXPECT_EQ(g[0].span_tier, 0);
  EXPECT_EQ(g[1].span_tier, 0);  // CP at stride 4: ranks 0 and 4, same node
  EXPECT_EQ(g[3].span_tier, 1);  // DP at stride 8: ranks 0 and 8, two nodes of one SU
}

}  // namespace
}  // namespace scaleplan::topology
