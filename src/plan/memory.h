// Memory per GPU for a plan.
//
// Per pipeline stage (every GPU of a stage holds the same):
//   weights + gradients + optimizer state   (bytes per parameter below, Rajbhandari et al. 2020
//                                            "ZeRO", with Megatron-LM's FP32 gradient buffer)
//   + activations of the micro-batches in flight under the schedule (model.h: saved per op)
//   + transient buffers (ZeRO-3 prefetch, CP K/V gather, the layer being recomputed)
// Bytes per parameter, N = ranks that shard it (dp*cp for dense weights, dp*cp*tp/(ep*etp) for
// experts): BF16 weights 2, FP32 gradients 4, Adam FP32 master weights + 2 moments 12.
//   zero 0: 2 + 4 + 12          zero 1: 2 + 4 + 12/N          zero 2: 2 + 4/N + 12/N
//   zero 3: (2 + 4 + 12)/N + the unsharded BF16 weights of two layers (prefetch)
//   fsdp (Llama 3, arXiv 2407.21783 section 3.3.2): optimizer state and gradients sharded, the
//                   parameters not resharded after the forward pass, so the stage's BF16 weights
//                   stay whole through the step: 2 + 4/N + 12/N at peak (ZeRO-2's memory; the
//                   difference is in traffic, which the step-time model accounts for).
// FP8 adds a 1-byte FP8 copy of each weight (Transformer Engine's cast cache), NVFP4 a 0.5625-byte
// one.
// Micro-batches in flight on stage s (counted as (micro-batch, chunk) forwards not yet backed):
//   gpipe: M;   1f1b, zb-h1: min(pp - s, M);
//   interleaved / llama3 (Megatron-LM): min(M*vp, 2(pp - s - 1) + (vp - 1)*N + 1), N consecutive
//   micro-batches per chunk (N = pp for interleaved), taken in the schedule's forward order;
//   zb-v: min(2M, 2pp), its generator's cap (held until W), each at the stage's larger chunk.
// Full recomputation keeps only each recomputed layer's input (2h bytes per token, /tp under SP)
// and adds one layer's activations while it is recomputed; with recompute_layers = n only the
// first n layers of each chunk are recomputed and the others keep everything (Megatron-LM's block
// method). Selective keeps everything but what its modules drop (model.h; Megatron-Core's
// default, core attention, drops only the attention statistics with flash attention), or, per op,
// what the per-op policy keeps.
// Not modeled: CUDA graphs, NCCL and cuBLAS workspaces beyond usable_memory_fraction, pipeline
// send/receive buffers, vocabulary padding, MoE routing imbalance (balanced routing is assumed).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "plan/plan.h"

namespace scaleplan::plan {

struct BytesPerParam {
  double weights = 0, gradients = 0, optimizer = 0;
  double Total() const { return weights + gradients + optimizer; }
};

// Bytes per parameter for a sharding mode over N ranks (no transient buffers). An FP8 or FP4
// precision adds the weights' cast beside their BF16 copy, or, `low_precision_only`
// (plan.fp8_params), holds the cast alone.
BytesPerParam ParamBytes(spec::ZeroMode mode, double shard_ranks, spec::Precision precision,
                         bool low_precision_only = false);

struct StageMemory {
  int64_t stage = 0;
  int64_t layers = 0;
  double params_per_gpu = 0;  // parameters this GPU holds (after TP/EP sharding)
  double weights_bytes = 0;
  double gradients_bytes = 0;
  double optimizer_bytes = 0;
  double activations_bytes = 0;
  double transient_bytes = 0;
  double total_bytes = 0;
  int64_t chunks_in_flight = 0;  // (micro-batch, chunk) activations held at peak
};

struct MemoryReport {
  std::vector<StageMemory> stages;
  int64_t peak_stage = 0;
  double peak_bytes = 0;
  double capacity_bytes = 0;              // gpu.memory_bytes
  double usable_bytes = 0;                // capacity * usable_memory_fraction
  bool fits = false;                      // peak <= usable: what planners and searches require
  bool within_capacity = false;           // peak <= capacity
  double activation_bytes_per_layer = 0;  // one dense layer, one micro-batch, this rank
};

MemoryReport ComputeMemory(const Plan& plan);

// What a peak means for the GPU. The reserve (capacity - usable) is for what this model does not
// count: the CUDA context, NCCL and cuBLAS workspaces, allocator fragmentation. Its size is an
// assumption (usable_memory_fraction), not a measurement. A plan whose counted tensors need part
// of it is tight: it can run, but only if those buffers take less than the assumed reserve (Llama
// 3's 8,192-GPU row ran at 97% of the GPU by this count, docs/MEMORY.md). Only a peak above the
// capacity is a plan that cannot run as counted. Planners keep to plans that fit; `validate` calls
// a published run a miss of the memory model only when it is out of memory.
enum class MemoryVerdict { kFits, kTight, kOutOfMemory };
MemoryVerdict Verdict(const MemoryReport& memory);
std::string_view VerdictName(MemoryVerdict verdict);  // "fits", "tight", "out_of_memory"

// Per-layer sums of model::LayerOps for one GPU: parameters held after TP (and EP x ETP for routed
// experts) and activations saved for one micro-batch. Depends only on the model and the layer's
// sharding (tp, cp, etp, ep, micro-batch, sequence, SP, attention kernel): callers that evaluate
// many plans cache it.
struct LayerParamSums {
  double dense_layer = 0;     // parameters of one dense layer
  double moe_layer = 0;       // one MoE layer without its routed experts
  double routed_experts = 0;  // one MoE layer's routed experts on this GPU
  double embedding = 0;
  double head = 0;               // final norm, output layer (and the tied copy when pp > 1)
  double dense_saved_bytes = 0;  // activations one dense layer keeps (no recomputation)
  double moe_saved_bytes = 0;
  // What recomputing each module (spec::RecomputeModule bit i at index i) drops of them.
  std::array<double, spec::kRecomputeModules> dense_module_freed_bytes{};
  std::array<double, spec::kRecomputeModules> moe_module_freed_bytes{};
  double dense_per_op_saved_bytes = 0;  // what per-op selective checkpointing keeps
  double moe_per_op_saved_bytes = 0;
  double head_saved_bytes = 0;  // output layer and loss, one micro-batch
  // The parameters above that are trained (all of them but under LoRA, where only the adapters
  // are: model::Op::frozen).
  double dense_layer_trainable = 0, moe_layer_trainable = 0, routed_experts_trainable = 0;
  double embedding_trainable = 0, head_trainable = 0;
};
LayerParamSums ParamSums(const Plan& plan);

// ComputeMemory with the per-layer sums already known (ParamSums(plan) or a cached copy).
MemoryReport ComputeMemory(const Plan& plan, const LayerParamSums& sums);

struct StageParams {
  double dense = 0;   // sharded over dp*cp by ZeRO/FSDP
  double expert = 0;  // sharded over dp*cp*tp/(ep*etp)
  // Of them, those trained: they take gradients, their reduction and optimizer state.
  double dense_trainable = 0, expert_trainable = 0;
  double Total() const { return dense + expert; }
};
// The parameters one chunk of a stage holds (inline: the step model asks per chunk, per plan).
inline StageParams ParamsOnChunk(const Chunk& c, const LayerParamSums& sums) {
  StageParams p;
  const double dense_layers = static_cast<double>(c.layers - c.moe_layers);
  const double moe_layers = static_cast<double>(c.moe_layers);
  p.dense = dense_layers * sums.dense_layer + moe_layers * sums.moe_layer;
  p.expert = moe_layers * sums.routed_experts;
  p.dense_trainable =
      dense_layers * sums.dense_layer_trainable + moe_layers * sums.moe_layer_trainable;
  p.expert_trainable = moe_layers * sums.routed_experts_trainable;
  if (c.has_embedding) {
    p.dense += sums.embedding;
    p.dense_trainable += sums.embedding_trainable;
  }
  if (c.has_head) {
    p.dense += sums.head;
    p.dense_trainable += sums.head_trainable;
  }
  return p;
}
StageParams ParamsOnStage(const Stage& stage, const LayerParamSums& sums);

// (micro-batch, chunk) forwards held by stage s at its peak (not yet matched by their backward).
int64_t ForwardsInFlight(const Plan& plan, int64_t stage);
// How many of them are on chunk `chunk` (looped layouts; a V's mix is not split, see above), so
// that chunks of unequal size are summed correctly. In
// forward order N consecutive micro-batches run on chunk 0, then on chunk 1, ..., then the next
// N (N = pp_microbatch_group; 1 chunk: all on chunk 0): closed form, no list.
int64_t ForwardsInFlightOnChunk(const Plan& plan, int64_t stage, int64_t chunk);

}  // namespace scaleplan::plan
