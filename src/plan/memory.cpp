// Memory per GPU: equations, assumptions and sources in memory.h.
#include "plan/memory.h"

#include <algorithm>

#include "core/units.h"
#include "schedule/schedule.h"

namespace scaleplan::plan {

using spec::Recompute;
using spec::Schedule;
using spec::ZeroMode;

BytesPerParam ParamBytes(ZeroMode mode, double n, spec::Precision precision,
                         bool low_precision_only) {
  constexpr double kWeights = kBf16Bytes;
  constexpr double kGrads = kFp32Bytes;
  constexpr double kAdam = 3.0 * kFp32Bytes;  // FP32 master weights, first and second moments
  BytesPerParam b;
  switch (mode) {
    case ZeroMode::kZero0:
      b = {kWeights, kGrads, kAdam};
      break;
    case ZeroMode::kZero1:
      b = {kWeights, kGrads, kAdam / n};
      break;
    case ZeroMode::kZero2:
      b = {kWeights, kGrads / n, kAdam / n};
      break;
    case ZeroMode::kZero3:
      b = {kWeights / n, kGrads / n, kAdam / n};
      break;
    case ZeroMode::kFsdp:
      b = {kWeights, kGrads / n, kAdam / n};
      break;
  }
  // FP8 and FP4 plans keep a cast of the weights they hold (1 byte; NVFP4 0.5625); under ZeRO 3
  // that is the shard (the gathered layer is cast as it arrives, as torchao's FP8 all-gather does).
  if (spec::LowPrecision(precision)) {
    const double cast = spec::LowPrecisionBytes(precision);
    // plan.fp8_params: the cast is the only copy of the weights (no BF16 one).
    const double held = low_precision_only ? cast : kWeights + cast;
    b.weights = mode == ZeroMode::kZero3 ? held / n : held;
  }
  return b;
}

int64_t ForwardsInFlight(const Plan& plan, int64_t stage) {
  return schedule::ForwardsHeld(plan.spec().schedule, plan.pp, plan.vp, plan.microbatches,
                                plan.pp_group, stage);
}

int64_t ForwardsInFlightOnChunk(const Plan& plan, int64_t stage, int64_t chunk) {
  const int64_t count = ForwardsInFlight(plan, stage);
  if (plan.vp <= 1) return chunk == 0 ? count : 0;
  // Forward k runs chunk (k / N) mod vp: every round of N * vp forwards holds N per chunk, and the
  // last, partial round reaches chunk c after c * N forwards.
  const int64_t group = plan.pp_group, round = group * plan.vp;
  const int64_t partial = count % round;
  return count / round * group + std::clamp<int64_t>(partial - chunk * group, 0, group);
}

LayerParamSums ParamSums(const Plan& plan) {
  const spec::ModelSpec& m = plan.model();
  const model::ShardShape shape = plan.Shape();
  auto params = [](const std::vector<model::Op>& ops) {
    double total = 0;
    for (const model::Op& op : ops) total += op.params;
    return total;
  };
  auto trainable = [](const std::vector<model::Op>& ops) {
    double total = 0;
    for (const model::Op& op : ops) total += op.frozen ? 0.0 : op.params;
    return total;
  };
  auto saved = [](const std::vector<model::Op>& ops,
                  std::array<double, spec::kRecomputeModules>* freed) {
    double total = 0;
    for (const model::Op& op : ops) {
      total += op.saved_bytes;
      for (int i = 0; i < spec::kRecomputeModules; ++i)
        if (op.freed_by & (1u << i)) (*freed)[static_cast<size_t>(i)] += op.module_freed_bytes;
    }
    return total;
  };
  auto per_op = [](const std::vector<model::Op>& ops) {
    double total = 0;
    for (const model::Op& op : ops)
      total += op.per_op_saved_bytes >= 0 ? op.per_op_saved_bytes : op.saved_bytes;
    return total;
  };
  LayerParamSums s;
  const std::vector<model::Op> dense = model::LayerOps(m, false, shape);
  s.dense_layer = params(dense);
  s.dense_layer_trainable = trainable(dense);
  s.dense_saved_bytes = saved(dense, &s.dense_module_freed_bytes);
  s.dense_per_op_saved_bytes = per_op(dense);
  if (m.IsMoe()) {
    const std::vector<model::Op> moe = model::LayerOps(m, true, shape);
    s.moe_layer = params(moe);
    s.moe_layer_trainable = trainable(moe);
    s.moe_saved_bytes = saved(moe, &s.moe_module_freed_bytes);
    s.moe_per_op_saved_bytes = per_op(moe);
    s.routed_experts =
        model::CountLayerParams(m, true).routed_experts / static_cast<double>(plan.ep * plan.etp);
    s.routed_experts_trainable = shape.lora_rank > 0 ? 0.0 : s.routed_experts;
  }
  const std::vector<model::Op> embedding = model::EmbeddingOps(m, shape);
  s.embedding = params(embedding);
  s.embedding_trainable = trainable(embedding);
  const std::vector<model::Op> head = model::HeadOps(m, shape);
  s.head = params(head);
  s.head_trainable = trainable(head);
  std::array<double, spec::kRecomputeModules> unused{};
  s.head_saved_bytes = saved(head, &unused);
  // A tied output layer on a different stage than the embedding keeps its own copy.
  if (m.tied_embeddings && plan.pp > 1) {
    const double copy =
        static_cast<double>(m.vocab) * static_cast<double>(m.hidden) / static_cast<double>(plan.tp);
    s.head += copy;
    if (shape.lora_rank == 0) s.head_trainable += copy;
  }
  return s;
}

StageParams ParamsOnStage(const Stage& stage, const LayerParamSums& sums) {
  StageParams p;
  for (const Chunk& c : stage.chunks) {
    StageParams chunk = ParamsOnChunk(c, sums);
    p.dense += chunk.dense;
    p.expert += chunk.expert;
    p.dense_trainable += chunk.dense_trainable;
    p.expert_trainable += chunk.expert_trainable;
  }
  return p;
}

MemoryReport ComputeMemory(const Plan& plan) { return ComputeMemory(plan, ParamSums(plan)); }

MemoryReport ComputeMemory(const Plan& plan, const LayerParamSums& param_sums) {
  const spec::ModelSpec& m = plan.model();
  const spec::PlanSpec& p = plan.spec();
  const model::ShardShape shape = plan.Shape();
  const double h = static_cast<double>(m.hidden);
  const bool sp = plan.SequenceParallel();
  const double sp_tokens = sp ? shape.Tokens() / static_cast<double>(plan.tp) : shape.Tokens();

  const bool per_op = plan.job.framework.selective_recompute == spec::SelectiveRecompute::kPerOp;
  // What a layer that is not fully recomputed keeps (under recompute = full, the layers after a
  // chunk's first recompute_layers keep everything); a fully recomputed one keeps its input only.
  // What the plan's selective recomputation by modules drops of a layer's activations (model.h),
  // given what each module drops; 0 without it.
  auto module_freed = [&](const std::array<double, spec::kRecomputeModules>& freed) {
    double bytes = 0;
    if (p.recompute == Recompute::kSelective && !per_op) {
      for (int i = 0; i < spec::kRecomputeModules; ++i)
        if (p.recompute_modules & (1u << i)) bytes += freed[static_cast<size_t>(i)];
    }
    return bytes;
  };
  auto saved = [&](double all, const std::array<double, spec::kRecomputeModules>& freed,
                   double per_op_kept) {
    if (p.recompute != Recompute::kSelective) return all;
    if (per_op) return std::min(all, per_op_kept);
    return std::max(0.0, all - module_freed(freed));
  };
  const double recomputed_act = kBf16Bytes * sp_tokens * h;
  const double dense_act = saved(param_sums.dense_saved_bytes, param_sums.dense_module_freed_bytes,
                                 param_sums.dense_per_op_saved_bytes);
  const double moe_act = m.IsMoe()
                             ? saved(param_sums.moe_saved_bytes, param_sums.moe_module_freed_bytes,
                                     param_sums.moe_per_op_saved_bytes)
                             : 0.0;
  const double dense_full = param_sums.dense_saved_bytes;
  const double moe_full = param_sums.moe_saved_bytes;
  // Selective recomputation by modules re-creates, while one layer's backward runs, what its
  // modules dropped (per-op checkpointing: not modeled, as before).
  const double dense_rerun = module_freed(param_sums.dense_module_freed_bytes);
  const double moe_rerun = module_freed(param_sums.moe_module_freed_bytes);

  // HSDP shards the dense state inside a group of dp*cp / dp_replicate ranks; experts keep their
  // own sharding over the ranks that hold the same expert shard.
  const double dense_shard = static_cast<double>(plan.dp * plan.cp / p.dp_replicate);
  const double expert_shard = static_cast<double>(plan.ExpertDp());
  BytesPerParam dense_bytes = ParamBytes(p.zero, dense_shard, p.precision, p.fp8_params);
  BytesPerParam expert_bytes = ParamBytes(p.zero, expert_shard, p.precision, p.fp8_params);
  // PyTorch FSDP (framework.fp32_param_shards): the FP32 shard, counted with the optimizer state,
  // is the parameter; BF16 (or FP8) weights exist only gathered, in the transient buffers below.
  const spec::FrameworkSpec& fw = plan.job.framework;
  const bool fp32_shards = fw.fp32_param_shards && p.zero == ZeroMode::kZero3;
  if (fp32_shards) dense_bytes.weights = expert_bytes.weights = 0;
  // BF16 gradient reduction keeps the gradient buffer in BF16 (Megatron's --grad-reduce-in-bf16).
  if (p.grad_reduce_dtype == spec::GradReduceDtype::kBf16) {
    dense_bytes.gradients /= 2;
    expert_bytes.gradients /= 2;
  }

  MemoryReport report;
  report.capacity_bytes = plan.job.cluster.gpu.memory_bytes;
  report.usable_bytes = report.capacity_bytes * plan.job.cluster.gpu.usable_memory_fraction;
  report.activation_bytes_per_layer =
      p.recompute == Recompute::kFull && p.recompute_layers == 0 ? recomputed_act : dense_act;
  report.stages.reserve(plan.stages.size());

  for (const Stage& stage : plan.stages) {
    StageMemory sm;
    sm.stage = stage.index;
    sm.layers = stage.Layers();
    const StageParams params = ParamsOnStage(stage, param_sums);
    const double dense_params = params.dense;
    const double expert_params = params.expert;
    // One micro-batch's saved activations on each chunk.
    auto chunk_act = [&](const Chunk& c) {
      const int64_t recomputed_moe = c.recomputed_moe_layers;
      const int64_t recomputed_dense = c.recomputed_layers - recomputed_moe;
      return static_cast<double>(c.layers - c.moe_layers - recomputed_dense) * dense_act +
             static_cast<double>(c.moe_layers - recomputed_moe) * moe_act +
             static_cast<double>(c.recomputed_layers) * recomputed_act;
    };
    // The largest layer this stage recomputes: its activations while it runs again (whole layers,
    // or what selective recomputation re-creates).
    double largest_layer_full = 0;
    double largest_layer_params = 0;
    for (const Chunk& c : stage.chunks) {
      int64_t dense_layers = c.layers - c.moe_layers;
      if (dense_layers > 0) {
        largest_layer_params = std::max(largest_layer_params, param_sums.dense_layer);
      }
      if (c.moe_layers > 0) {
        largest_layer_params =
            std::max(largest_layer_params, param_sums.moe_layer + param_sums.routed_experts);
      }
      if (c.recomputed_layers > c.recomputed_moe_layers)
        largest_layer_full = std::max(largest_layer_full, dense_full);
      if (c.recomputed_moe_layers > 0) largest_layer_full = std::max(largest_layer_full, moe_full);
      if (dense_layers > 0) largest_layer_full = std::max(largest_layer_full, dense_rerun);
      if (c.moe_layers > 0) largest_layer_full = std::max(largest_layer_full, moe_rerun);
    }
    sm.params_per_gpu = dense_params + expert_params;
    sm.weights_bytes = dense_params * dense_bytes.weights + expert_params * expert_bytes.weights;
    // Gradients and optimizer state for the trained parameters only (under LoRA, the adapters).
    const double dense_trained = params.dense_trainable, expert_trained = params.expert_trainable;
    // FP32 shards of frozen parameters (LoRA's base) have no optimizer state to be counted with:
    // they are the weights held.
    if (fp32_shards) {
      sm.weights_bytes = kFp32Bytes * ((dense_params - dense_trained) / dense_shard +
                                       (expert_params - expert_trained) / expert_shard);
    }
    sm.gradients_bytes =
        dense_trained * dense_bytes.gradients + expert_trained * expert_bytes.gradients;
    // A delayed reduction (grad_sync = delayed) keeps the previous step's gradients until it ends:
    // with HSDP the reduced shard, otherwise the whole unreduced buffer.
    if (p.grad_sync == spec::GradSync::kDelayed) {
      double grad_bytes = p.grad_reduce_dtype == spec::GradReduceDtype::kBf16 ? 2.0 : 4.0;
      double dense_kept = p.dp_replicate > 1 ? dense_trained / dense_shard : dense_trained;
      if (plan.dp * plan.cp > 1) sm.gradients_bytes += grad_bytes * dense_kept;
      if (expert_shard > 1) sm.gradients_bytes += grad_bytes * expert_trained;
    }
    sm.optimizer_bytes =
        dense_trained * dense_bytes.optimizer + expert_trained * expert_bytes.optimizer;

    sm.chunks_in_flight = ForwardsInFlight(plan, stage.index);
    // A V (zb-v) holds its cap in a mix of both chunks that depends on the pass times: each held
    // forward is charged at the larger chunk's activations (an upper bound; the chunks of a stage
    // differ by one layer at most).
    const bool v_shape = schedule::Info(p.schedule).v_shape;
    double largest_chunk = 0;
    for (const Chunk& c : stage.chunks) largest_chunk = std::max(largest_chunk, chunk_act(c));
    if (v_shape) sm.activations_bytes += static_cast<double>(sm.chunks_in_flight) * largest_chunk;
    for (size_t ci = 0; ci < stage.chunks.size(); ++ci) {
      const int64_t held = ForwardsInFlightOnChunk(plan, stage.index, static_cast<int64_t>(ci));
      if (!v_shape) sm.activations_bytes += static_cast<double>(held) * chunk_act(stage.chunks[ci]);
      // The loss keeps one micro-batch's FP32 softmax under 1F1B-style schedules (the last stage
      // runs its backward right after its forward); GPipe runs every forward first.
      if (stage.chunks[ci].has_head) {
        const int64_t softmax = schedule::Info(p.schedule).forwards_first ? held : 1;
        sm.activations_bytes += static_cast<double>(softmax) * param_sums.head_saved_bytes;
      }
    }

    if (p.zero == ZeroMode::kZero3) {
      // Prefetch of two gathered layers, in the bytes the weights are held in (plan.fp8_params:
      // the cast alone).
      const double held = p.fp8_params ? spec::LowPrecisionBytes(p.precision) : kBf16Bytes;
      sm.transient_bytes += 2.0 * largest_layer_params * held;
      // PyTorch FSDP gathers the root module's weights (embedding, final norm, output layer) in
      // the forward and keeps them for the backward (FSDP2 does not reshard the root after
      // forward; measured: 2.10 GB of BF16 for Llama 3 8B's 1.05 billion, h200_step_memory.csv).
      if (fp32_shards) {
        double root = 0;
        for (const Chunk& c : stage.chunks) {
          if (c.has_embedding) root += param_sums.embedding;
          if (c.has_head) root += param_sums.head;
        }
        sm.transient_bytes += kBf16Bytes * root;
      }
    }
    // What the gathering leaves held through the backward, to its end (below).
    const double gathered = sm.transient_bytes;
    if (plan.cp > 1) {
      // All-gather: K and V of the whole sequence for one layer's attention; ring: the block in
      // flight and the next one.
      double kv =
          static_cast<double>(m.EffectiveKvHeads() * (m.QkHeadDim() + m.EffectiveVHeadDim()));
      double kv_tokens = p.cp_algorithm == spec::CpAlgorithm::kAllGather
                             ? static_cast<double>(p.micro_batch * plan.job.workload.seq_len)
                             : 2.0 * shape.Tokens();
      sm.transient_bytes += kBf16Bytes * kv / static_cast<double>(plan.tp) * kv_tokens;
    }
    sm.transient_bytes += largest_layer_full;
    // PyTorch eager cross-entropy on FP32 logits (torchtitan): beside the saved FP32
    // log-probabilities, the forward holds the BF16 logits and their FP32 copy (6 bytes a logit)
    // and the backward the FP32 gradients of the log-probabilities and of the logits (8 bytes;
    // measured 8.40 GB over 1.05 billion logits, h200_step_memory.csv); compiled (with
    // framework.compile_loss), the upcast fuses into the softmax and only the BF16 logits remain,
    // 2 bytes. Fused vocab-parallel losses (Megatron) keep neither.
    if (fw.elementwise == spec::Elementwise::kEager && stage.index == plan.pp - 1) {
      double logits = shape.Tokens() * static_cast<double>(m.vocab) / static_cast<double>(plan.tp);
      const bool compiled = fw.compile && fw.compile_loss;
      sm.transient_bytes += (compiled ? kBf16Bytes : 2.0 * kFp32Bytes) * logits;
    }

    // Gradients freed after each step (framework.gradients_per_step) under ZeRO 3 (FSDP frees its
    // sharded gradients; DDP's buckets stay) with one micro-batch a step and no delayed reduction
    // (which keeps the last step's) are created as the backward frees the activations: the stage
    // peaks either at the start of its backward (every activation and transient buffer, no
    // gradient yet) or at its end (every gradient, the largest layer's activations, the gathered
    // weights). gradients_bytes is what the peak holds.
    if (fw.gradients_per_step && p.zero == ZeroMode::kZero3 && plan.microbatches == 1 &&
        p.grad_sync != spec::GradSync::kDelayed) {
      double one_layer = 0;
      for (const Chunk& c : stage.chunks) {
        if (c.layers > c.moe_layers) one_layer = std::max(one_layer, dense_act);
        if (c.moe_layers > 0) one_layer = std::max(one_layer, moe_act);
      }
      const double at_start = sm.activations_bytes + sm.transient_bytes;
      const double at_end = sm.gradients_bytes + one_layer + gathered;
      sm.gradients_bytes = std::max(0.0, at_end - at_start);
    }

    sm.total_bytes = sm.weights_bytes + sm.gradients_bytes + sm.optimizer_bytes +
                     sm.activations_bytes + sm.transient_bytes;
    if (sm.total_bytes > report.peak_bytes) {
      report.peak_bytes = sm.total_bytes;
      report.peak_stage = sm.stage;
    }
    report.stages.push_back(sm);
  }
  report.fits = report.peak_bytes <= report.usable_bytes;
  report.within_capacity = report.peak_bytes <= report.capacity_bytes;
  return report;
}

MemoryVerdict Verdict(const MemoryReport& memory) {
  return memory.fits              ? MemoryVerdict::kFits
         : memory.within_capacity ? MemoryVerdict::kTight
                                  : MemoryVerdict::kOutOfMemory;
}

std::string_view VerdictName(MemoryVerdict verdict) {
  switch (verdict) {
    case MemoryVerdict::kFits:
      return "fits";
    case MemoryVerdict::kTight:
      return "tight";
    case MemoryVerdict::kOutOfMemory:
      return "out_of_memory";
  }
  return "out_of_memory";
}

}  // namespace scaleplan::plan
