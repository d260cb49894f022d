// The analytical step-time model: one training step of a 4D-parallel plan in closed form.
//
// Per pipeline stage s and micro-batch, forward time F_s and backward time B_s sum the stage's
// chunks: each layer's ops (hardware/efficiency.h) plus its exposed tensor-, context- and
// expert-parallel communication (collective/collective.h); the first chunk adds the embedding, the
// last the output layer and loss; recomputation adds the recomputed forward to B_s.
//   TP per layer: with sequence parallelism 2 all-gathers + 2 reduce-scatters of the layer's
//     activation (tokens * h * 2 bytes) forward and again backward; without it 2 all-reduces each
//     way (Korthikanti et al. 2022); in a MoE layer the MLP side's pair is its shared expert's
//     (none without one), and routed experts split over expert TP (etp > 1) add the dispatcher's
//     all-gather and reduce-scatter over the etp ranks of their routed rows, top_k per token of
//     those ranks' shards (2 top_k * tokens * etp / tp * h bytes), each way and never hidden (TP
//     overlap serves the linear layers, not the grouped experts); with multi-head latent
//     attention the attention side's column-parallel gather and input-gradient reduction move the
//     compressions and the shared rotary key (r_q + r_kv + d_r wide, model.h), not the input;
//     full recomputation runs the forward's again in backward (so
//     three times a step), as it does a ring CP's exchange and the MoE all-to-alls. Exposed unless
//     plan.tp_comm_overlap, which hides it behind the layer's GEMMs up to their duration. Without
//     it, a framework with tp_async_backward (Megatron-LM since 2022, Transformer Engine) runs
//     the backward as: the 2 row-parallel output-gradient all-gathers exposed (SP; none without
//     it), and each column-parallel linear (QKV, fc1) re-gathering its input (SP) behind its
//     data-gradient GEMM and reducing its input gradient (reduce-scatter, or all-reduce without
//     SP) behind its weight-gradient GEMM, each GEMM taken as half the linear's backward G_i:
//       B_tp = 2 AG + sum over i in {QKV, MLP fc1} of max(0, AG - G_i / 2) + max(0, RS - G_i / 2)
//     (a MoE layer's routed experts hide nothing: G_fc1 is its shared expert's, else 0; zb-h1,
//     which defers the weight gradients, keeps the full charge). The re-gather is not charged
//     without this flag (a framework that saves the gathered input does not need it; the memory
//     model keeps the SP shard of the QKV and fc1 inputs for every framework, so for one that
//     saves the gathered input it reads low by (tp - 1) shards of those two tensors).
//   Routed experts run as a grouped GEMM (model.h, Op::gemm_groups): each of a rank's
//     experts / ep experts is a GEMM on its m / groups rows, priced at that shape, one launch for
//     the group (TE's GroupedLinear spreads them over streams; an assumption), every expert's
//     weights read; FP8 weight casts are charged as for one expert's weight.
//   FP8 or NVFP4 casts around each converted linear (sim/analytical.cpp, CastWorkOf: bytes by FP8
//     recipe, or NVFP4's; torchao's dynamic recipes without torch.compile as eager PyTorch ops,
//     every GEMM operand cast on its own): the
//     input, output gradient and their transposes every micro-batch; the weight and its transposed
//     copy every micro-batch, or 1/M of that with framework.fp8_weight_cache (Transformer Engine
//     casts them on a step's first micro-batch and reuses them; not under ZeRO 3), M the
//     micro-batches per replica per step. An average: the first micro-batch pays all of it, so
//     the pipeline's fill, which the first micro-batch crosses, reads slightly short at small M.
//   CP per layer (all-gather, Llama 3): all-gather of K and V forward; all-gather and
//     reduce-scatter of their gradients backward; exposed. Ring: cp-1 exchanges of the local K/V
//     hidden behind the attention kernel up to its duration.
//   EP per MoE layer: all-to-all dispatch and combine forward and backward; exposed.
// Pipeline (Narayanan et al. 2021; Llama 3 section 3.3.2), M micro-batches, v chunks per rank:
//   pipeline = M * max_s(F_s + B_s) + bubble + 2 (v sum_{r<pp-1} h_r + (v - 1) h_{pp-1})
//   bubble   = (sum_s T_s - max_s T_s) / v     gpipe, 1f1b, interleaved, llama3, T_s = F_s + B_s:
//                                              the first micro-batch crosses every stage, then the
//                                              slowest stage runs the rest; (pp-1)/(v M) of the
//                                              steady state on equal stages
//            * (F + B - W) / (F + B + W)       zb-h1 (Qi et al. 2023): B the input-gradient pass,
//                                              W the weight-gradient pass (half the backward
//                                              GEMMs of the trained linears: under LoRA the
//                                              adapters') that fills the bubble, summed over
//                                              stages; a third when F = B = W; with M < pp - 1 too
//                                              few W passes exist and it is optimistic (a
//                                              warning says so; the event engine runs it)
//                                              zb-v (Qi et al. 2024), v = 2: the same share of
//                                              the V's fill, (pp - 1)(F_c + B_c - W_c) of one
//                                              chunk's passes on equal stages: its ideal; and at
//                                              least the serial path, sum over the 2 pp chunks of
//                                              F + B (input gradient), plus stage 0's first
//                                              chunk's W, plus (M - 1) x max_s T_s / 2 (one
//                                              chunk's F + B + W per other micro-batch), less
//                                              M max_s T_s. The order the generator finds
//                                              (schedule.h) measured within 2.5% of this with
//                                              M < pp and -5% to +26% with M >= pp, worst at
//                                              M = 2 pp and large pp (docs/SIMULATOR.md), so zb-v
//                                              is not in search's default space
//   llama3 with N < pp consecutive micro-batches has no closed form: a group of N cannot fill a
//   pipeline of pp stages, and the event engine shows the stalls (about 1.7x the steady state at
//   N = pp/2); the analytical model does not charge them.
//   h_r moves one micro-batch's activation from pipeline rank r to r + 1 (h_{pp-1}: the
//   wrap-around to rank 0) on the innermost tier holding both ranks, so a contiguous stage order
//   pays a slow tier only on the hops that cross it. All copies of a hop (every replica, TP and CP
//   rank) send at once and share the tier's links: a sender inside a tier-(t-1) group of G GPUs
//   holding G / stride stages gets min(1, (G / stride) / o_t) of its link (1 / o_t when one stage
//   fills the group). The first forward and the last backward cross
//   all pp*v - 1 virtual-stage boundaries on the critical path: v passes over the pp - 1 hops and
//   v - 1 wrap-arounds each way (the event engine shows it; a V has no wrap-around: chunk 1 comes
//   back up the same hops). Steady-state transfers are hidden
//   (asynchronous P2P) unless they outlast the work; then, M micro-batches:
//   1f1b, zb-h1: stage r runs M - (pp - r - 1) F/B pairs after its warm-up, each no faster than
//     max( (T_r + T_{r+1}) / 2 + h_r,                    strict F/B alternation with stage r + 1
//          (sum_{s>=r} T_s + 2 sum_{q>=r} h_q) / (pp - r) ) a round trip over what r holds
//     and the stage that loses most over max_s T_s adds it to PP;
//   gpipe: a link carries one message at a time (w_r, the wire part of h_r), so each phase's
//     micro-batches come no faster than w_r: (M - 1)(max(0, w - max F) + max(0, w - max B));
//   interleaved, llama3 (v > 1): rank r runs W_r = 2 (pp - r - 1) + (v - 1) N warm-up forwards
//     back to back, alternates, then drains W_r backwards, and hop r carries n = M v messages per
//     direction (the wrap-around M (v - 1)); a link needing n w_r while its sender produces them
//     in W F_c + (M v - W) T_c (backwards: B_c, sender r + 1) leaves a backlog, and the largest
//     one is added to PP. It is charged in full although the bubble absorbs part of it.
//   zb-v: each directed link of hop r carries 2 M messages (a forward and a backward of each
//     micro-batch, one per chunk) against its sender's step of work, M (F_r + B_r): the excess
//     of 2 M w_r over it, the largest over hops and senders, is added to PP.
//   The event engine, which queues messages per link, agrees within 1% for 1f1b, zb-h1 and gpipe
//   with sends 2-3x a stage's work; the interleaved term is 5-11% high there at pp = 4 and within
//   about 20% either way at pp = 2 (the engine also shows that Llama 3's interleaved plan with PP
//   across two regions chokes on the long link).
// Data parallelism over dp*cp ranks (gradients FP32, parameters BF16), of the trained parameters
// (all of them but under LoRA, where the frozen base takes no gradient and no update: only ZeRO 3's
// per-pass gathers move it):
//   zero 0: all-reduce of gradients; zero 1/2: reduce-scatter of gradients + all-gather of the
//   updated parameters; fsdp (Llama 3): all-gather of parameters once per step + reduce-scatter of
//   gradients once; zero 3: parameters all-gathered for every micro-batch's forward and backward.
//   With plan.dp_overlap (Megatron's overlap_grad_reduce / overlap_param_gather; Megatron-Core
//   reduces each model chunk's gradients once its last micro-batch's backward has run, and
//   gathers each chunk's parameters before its first forward) the collectives are split over the
//   stage's chunks by their trained parameters and queued: chunks run in groups of N micro-batches
//   (interleaved: N = pp; llama3: pp_microbatch_group; one chunk: N = 1), so the last group's
//   backward passes through chunk vp-1 N times, then vp-2, ..., then 0. Chunk c's reduction joins
//   the link's queue at the start of its last pass and cannot end before that pass does; what
//   ends after the stage's last backward is exposed. The gathers run in chunk order from the
//   step's start, and chunk c's first pass in the first group cannot end before its parameters
//   are there; the delay that needs is exposed. One chunk: max(0, RS - B) and max(0, AG - F) of
//   one micro-batch's backward B and forward F. With vp chunks of equal size and a link that
//   keeps up, only the last chunk's share beyond its own pass shows: (RS - B) / vp.
//   HSDP (plan.dp_replicate = R > 1; PyTorch's hybrid sharding): the sharded collectives run over
//   the innermost dp*cp / R ranks, and the gradient shards (1 / (dp*cp / R) of them) are
//   all-reduced across the R groups; optimizer and memory shard over dp*cp / R.
//   plan.grad_sync = delayed: the reduction across replicas (the all-reduce with HSDP, otherwise
//   the whole gradient reduction) runs during the next step; exposed is only what outlasts that
//   step's pipeline (compute, TP/CP/EP, bubble and PP). It changes training: one-step-old
//   gradients. plan.grad_reduce_dtype = bf16 reduces 2-byte gradients instead of 4.
// Optimizer: Adam reads FP32 gradient, master weight and two moments and writes three of them and
//   the BF16 weight, 30 bytes per local parameter shard, at HBM speed; 28 where the FP32 shard is
//   the weight (framework.fp32_param_shards under ZeRO 3); run unfused (framework.optimizer_step),
//   one elementwise op at a time, 80 bytes (82) instead of 28 (30): AdamStepSeconds.
// Other: tied-embedding gradient all-reduce between the first and last stage; the gradient-norm
//   all-reduce.
// step = pipeline + exposed DP + optimizer + other. The breakdown takes the bottleneck stage's
// M * (compute, TP, CP, EP) and adds bubble, PP, DP, optimizer and other: it sums to the step.
// MFU = model FLOP per token (model.h, causal formula) * tokens/s/GPU / dense BF16 peak.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "hardware/efficiency.h"
#include "plan/memory.h"
#include "plan/plan.h"

namespace scaleplan::sim {

struct Breakdown {
  double compute_s = 0;
  double tp_comm_s = 0;
  double cp_comm_s = 0;
  double ep_comm_s = 0;
  double pp_comm_s = 0;
  double dp_comm_s = 0;
  double bubble_s = 0;
  double optimizer_s = 0;
  double other_s = 0;
  double Total() const {
    return compute_s + tp_comm_s + cp_comm_s + ep_comm_s + pp_comm_s + dp_comm_s + bubble_s +
           optimizer_s + other_s;
  }
};

// One micro-batch through one model chunk (what the event engine schedules).
struct ChunkCost {
  double forward_s = 0;        // compute + exposed TP/CP/EP of the forward pass
  double backward_s = 0;       // the whole backward (input and weight gradients, recomputation)
  double weight_s = 0;         // its weight-gradient share (the W pass of zero-bubble schedules)
  double attention_fwd_s = 0;  // attention kernels' share of forward_s (scaled by packed work)
  double attention_bwd_s = 0;  // of backward_s, the recomputed forward attention included
};

struct StageCost {
  int64_t stage = 0;
  std::vector<ChunkCost> chunks;  // chunk c at position c
  double forward_s = 0;           // compute + exposed TP/CP/EP
  double backward_s = 0;          // compute (+ recomputation) + exposed TP/CP/EP
  double compute_s = 0;           // forward + backward compute only
  double tp_s = 0, cp_s = 0, ep_s = 0;
  double dp_exposed_s = 0;  // this stage's exposed data-parallel communication per step
  // With plan.grad_sync = delayed: the reduction across replicas, run during the next step (only
  // what outlasts that step's pipeline is exposed).
  double dp_delayed_s = 0;
  double optimizer_s = 0;
};

struct StepResult {
  double step_time_s = 0;
  double tokens_per_s_per_gpu = 0;
  double model_flops_per_s_per_gpu = 0;
  double mfu = 0;  // fraction of the dense BF16 peak
  std::string flops_formula;
  Breakdown breakdown;
  std::vector<StageCost> stages;
  int64_t bottleneck_stage = 0;
  std::string dp_algorithm;  // what the gradient reduction ran as, e.g. "reduce-scatter/ring"
  // One micro-batch's activation between pipeline rank r and rank (r + 1) mod pp, for every r, each
  // priced on the innermost tier holding both ranks: a contiguous stage order pays a slow tier only
  // on the hops that cross it (empty without pipelining).
  std::vector<double> p2p_hop_s;
  // The part of p2p_hop_s during which the message occupies the hop's link (bytes / bandwidth);
  // the rest is latency and set-up. The event engine sends one message at a time per link.
  std::vector<double> p2p_hop_transfer_s;
  // What the closed form knowingly leaves out for this plan (e.g. llama3 with N < pp).
  std::vector<std::string> warnings;
  std::string_view engine = "analytical";  // the engine that produced it (sim/engine.h)
};

// Per-op times of one micro-batch through one layer (or the embedding, or the head).
struct OpTimes {
  double fwd = 0;
  double bwd = 0;
  double gemm_fwd = 0;  // GEMM share, what TP overlap can hide behind
  double gemm_bwd = 0;
  // Backward GEMMs (data + weight gradient) of the column-parallel linears: QKV, and the MLP's
  // fc1 (a dense layer's, or a MoE layer's shared expert's; 0 for routed experts alone).
  double gemm_bwd_qkv = 0, gemm_bwd_mlp_column = 0;
  // The same of frozen column-parallel linears (LoRA's base: the data gradient alone), and the
  // backward GEMMs of the trained linears (all of gemm_bwd unless some are frozen), whose half is
  // the weight gradient a zero-bubble schedule defers.
  double frozen_bwd_qkv = 0, frozen_bwd_mlp_column = 0;
  double gemm_bwd_trained = 0;
  double attn_fwd = 0;  // attention kernel, what ring CP can hide behind
  double attn_bwd = 0;
  double per_op_selective = 0;  // what per-op selective checkpointing re-runs in backward
  // What recomputing each module (spec::RecomputeModule bit i at index i) re-runs in backward.
  std::array<double, spec::kRecomputeModules> module_fwd{};
  // The forward a plan's selective recomputation re-runs, and the attention kernel's share of it.
  double Selective(const spec::FrameworkSpec& framework, const spec::PlanSpec& plan) const;
  double SelectiveAttention(const spec::FrameworkSpec& framework, const spec::PlanSpec& plan) const;
};

// Evaluates plans on one GPU type and precision, caching per-layer compute times and parameter
// sums across plans that share the model, the sharding of a layer and the precision (a search
// changes pp, vp, dp, schedule and placement far more often than those), and, for FP8 or FP4 under
// a framework that caches the weights' casts, the micro-batches per replica (which change with dp,
// pp and the micro-batch size). Not thread-safe: use one per thread.
class Evaluator {
 public:
  explicit Evaluator(hardware::DeviceModel device);
  // Not copied: it points into its own cache.
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;
  StepResult Evaluate(const plan::Plan& plan);
  // The same step in a result the next call overwrites, without naming the data-parallel
  // algorithm (dp_algorithm stays empty): no allocation once the buffers are warm. What a search
  // ranks by.
  const StepResult& EvaluateReused(const plan::Plan& plan);
  // plan::ComputeMemory with the cached per-layer sums.
  plan::MemoryReport Memory(const plan::Plan& plan);
  size_t cached_layer_shapes() const { return cache_.size(); }

 private:
  struct CachedLayers {
    OpTimes dense, moe, embedding, head;
    plan::LayerParamSums params;
    double flops_per_token_causal = 0;  // model::ModelFlopsPerToken
    std::string flops_formula;
  };
  void Compute(const plan::Plan& plan, StepResult& r, bool name_algorithm);
  // Everything the per-layer times and parameter sums depend on besides the model (one model per
  // cache: a plan of another model clears it) and the device (the Evaluator's).
  struct Key {
    model::ShardShape shape;
    spec::Precision precision = spec::Precision::kBf16;
    int64_t ep = 1;
    bool pipelined = false;        // pp > 1: a tied output layer keeps its own copy
    double weight_cast_share = 1;  // of an FP8/FP4 weight's cast each micro-batch pays
    auto operator<=>(const Key&) const = default;
  };
  const CachedLayers& Lookup(const plan::Plan& plan);

  hardware::DeviceModel device_;
  std::optional<spec::ModelSpec> model_;  // the model cache_ holds
  std::map<Key, CachedLayers> cache_;
  Key last_key_{};
  const CachedLayers* last_ = nullptr;
  StepResult reused_;
};

// Whether a memory-bound op runs as its primitive kernels: the framework's elementwise ops are
// eager, and torch.compile is off, leaves this op to eager kernels (Op::compile_fuses) or, for
// the loss, does not compile it (framework.compile_loss).
bool RunsEager(const spec::FrameworkSpec& framework, const model::Op& op);
// A memory-bound op's (norm, activation, rotary, loss, embedding) forward and backward seconds
// under `framework`: one kernel each way, or where RunsEager its primitive kernels (model.h, Op's
// eager factors); a norm run as one kernel adds the framework's weight-gradient pass
// (FrameworkSpec::norm_weight_grad_pass). `scaleplan validate` prices measured kernels with it too.
struct PassSeconds {
  double fwd = 0, bwd = 0;
};
PassSeconds MemoryBoundOpSeconds(const hardware::DeviceModel& d, const model::Op& op,
                                 const spec::FrameworkSpec& framework);
// Seconds of one Adam step over `params` local parameters as `framework` runs it
// (framework.optimizer_step: 28 bytes a parameter fused, 80 unfused), with 2 more where a BF16
// weight is written beside the FP32 one. `scaleplan validate` prices the measured step with it.
double AdamStepSeconds(const hardware::DeviceModel& d, const spec::FrameworkSpec& framework,
                       double params, bool bf16_copy);
// Seconds of one FP8 cast of `elements` BF16 elements (a linear's input, say) as `framework`'s
// recipe runs it: fused passes, or eager PyTorch ops (CastWorkOf). `scaleplan validate` prices
// the measured cast with it.
double Fp8CastSeconds(const hardware::DeviceModel& d, const spec::FrameworkSpec& framework,
                      double elements);

// One-off evaluation with the kernel model of the plan's GPU and precision.
Result<StepResult> Evaluate(const plan::Plan& plan);
StepResult Evaluate(const plan::Plan& plan, const hardware::DeviceModel& device);

}  // namespace scaleplan::sim
