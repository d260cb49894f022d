// A validated parallel plan: the job's specs with every derived quantity resolved (dp, micro-batch
// count, expert sharding), the layout of layers over pipeline stages and virtual chunks, and the
// placement of every parallel group on the network.
//
// BuildPlan checks everything that involves more than one spec and reports the first problem as
// one line naming the field, its value and what is allowed.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "spec/specs.h"
#include "topology/placement.h"

namespace scaleplan::plan {

// One model chunk (virtual stage) held by a pipeline rank.
struct Chunk {
  int64_t virtual_index = 0;  // position in the model, 0 .. pp*vp-1 (schedule::VirtualStage)
  int64_t first_layer = 0;    // 0-based index of its first transformer layer
  int64_t layers = 0;
  int64_t moe_layers = 0;
  // Of its layers, the ones fully recomputed (plan.recompute = full: its first recompute_layers,
  // or all of them) and how many of those are MoE layers.
  int64_t recomputed_layers = 0;
  int64_t recomputed_moe_layers = 0;
  bool has_embedding = false;
  bool has_head = false;  // final norm, output layer, loss
};

struct Stage {
  int64_t index = 0;
  std::vector<Chunk> chunks;  // chunk c at position c
  int64_t Layers() const;
};

struct Plan {
  spec::JobSpec job;  // the specs as given (plan.dp etc. may be 0 = derived)
  int64_t gpus = 0;
  int64_t tp = 1, cp = 1, pp = 1, vp = 1, dp = 1, ep = 1, etp = 1;
  // TP ranks the expert-parallel group spans: min(ep, tp / etp) with expert TP below tp, else 1
  // (Megatron-Core's etp, ep, expert-dp layout); the EP group is that many TP ranks, then
  // ep / ep_tp_span of the dp * cp ranks.
  int64_t ep_tp_span = 1;
  int64_t global_batch = 0;  // sequences per step
  int64_t microbatches = 0;  // per replica per step
  int64_t pp_group = 1;      // consecutive micro-batches per chunk (interleaved schedules)
  std::vector<Stage> stages;
  std::vector<topology::GroupPlacement> groups;  // tp, cp, pp, dp

  const spec::ModelSpec& model() const { return job.model; }
  const spec::PlanSpec& spec() const { return job.plan; }
  model::ShardShape Shape() const;
  int64_t TokensPerStep() const { return global_batch * job.workload.seq_len; }
  // Sequence parallelism is on: asked for, and TP splits the layer.
  bool SequenceParallel() const { return job.plan.sequence_parallel && tp > 1; }
  // Ranks holding the same expert shard (the expert-data-parallel group): the tp * cp * dp ranks
  // of one pipeline stage over the ep * etp ways an expert layer is split.
  int64_t ExpertDp() const { return dp * cp * tp / (ep * etp); }
};

// What BuildPlan checks: everything, or only the plan against specs the caller has validated
// (spec::ValidateModel, ValidateCluster, ValidateWorkload; a search does it once for all its
// candidates).
enum class Checks { kAll, kPlanOnly };

Result<Plan> BuildPlan(const spec::JobSpec& job, Checks checks = Checks::kAll);

// Whether the cluster's GPU has the plan's precision (fp8 needs gpu.peak_fp8_flops_per_s, fp4
// gpu.peak_fp4_flops_per_s): part of BuildPlan, and what a search checks once before it starts,
// since no plan of its space changes it.
Status CheckPrecision(const spec::JobSpec& job);

}  // namespace scaleplan::plan
