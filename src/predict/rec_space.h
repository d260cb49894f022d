// The ranking-model co-design space of the CubicML loop (CubicML's first case, arXiv:2409.04585,
// was Meta's ads models): one ranking model on a fixed number of GPUs at a fixed global batch (the
// batch sets the model's quality, so it is not a knob), and seven knobs, 3 x 2^6 = 192 plans:
//   planner              scaleplan, torchrec, hugectr   who shards the tables (recsys/planner.h)
//   embedding_dtype      fp32, fp16                     the tables' weights
//   comm_dtype           fp16, fp32                     pooled embeddings on the wire
//                                                       (pooled_bytes 2 or 4)
//   pipeline_input_dist  true, false                    the ids' all-to-all behind the last step
//   overlap_embeddings   true, false                    the tables beside the bottom MLP / the
//                                                       weight gradients (recsys/cost.h)
//   dense_grad_dtype     fp32, bf16                     the dense gradients' all-reduce
//                                                       (dense_grad_bytes 4 or 2)
//   index_dtype          int32, int64                   the ids on the wire (index_bytes 4 or 8;
//                                                       TorchRec's default is int64)
// A plan is the knobs with the sharding its planner makes for them on the physics (recsys/cost.h
// with the fitted factors). The first value of each knob is the job spec's default.
//
// Features (RecFeatureNames, checked against each plan's vector): the knobs (planner one-hot, six
// flags), log GPUs, nodes and local batch, the tables' sharding mix (fractions of tables per
// sharding type), and the physics: log samples/s/GPU, the step's shares in lookups, pooled
// all-to-all, node reduce-scatter/all-gather, dense compute, exposed ids and all-reduce, dense
// optimizer and overhead, and the fullest rank's HBM over capacity.
//
// Used by the testbed (rec_testbed.h) and by `rec-suggest` on logged jobs (rec_suggest.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "recsys/cost.h"
#include "recsys/sharding.h"
#include "spec/ranking.h"

namespace scaleplan::predict {

inline constexpr size_t kRecKnobs = 7;
inline constexpr int64_t kRecSpacePlans = 3 * 2 * 2 * 2 * 2 * 2 * 2;
// Each knob's value, as an index into RecSpaceDims()[knob].second.
using RecKnobs = std::array<uint32_t, kRecKnobs>;

// The knobs and the values each takes, in the order above.
const std::vector<std::pair<std::string, std::vector<std::string>>>& RecSpaceDims();
const std::vector<std::string>& RecFeatureNames();

// "planner scaleplan, embedding_dtype fp32, ...".
std::string DescribeRecKnobs(const RecKnobs& knobs);
const std::string& RecKnobValue(const RecKnobs& knobs, size_t knob);
// Every combination, the last knob fastest.
std::vector<RecKnobs> AllRecKnobs();
// `base` with the knobs set.
spec::RecJobSpec RecJobOf(const spec::RecJobSpec& base, const RecKnobs& knobs);

// A plan of the space on the physics.
struct RecPlanned {
  RecKnobs knobs{};
  std::string description;
  spec::RecJobSpec job;
  recsys::ShardingPlan sharding;
  recsys::RecStep physics;
  std::vector<double> x;  // RecFeatureNames()
  bool fits = false;      // the memory model
};
// nullopt when the knobs' planner finds no sharding (the plan is not in the space). Errors: the
// job does not resolve or cannot be priced.
Result<std::optional<RecPlanned>> PlanRecKnobs(const spec::RecJobSpec& base, const RecKnobs& knobs);

}  // namespace scaleplan::predict
