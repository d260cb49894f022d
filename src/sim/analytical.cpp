// The analytical step-time model; equations, assumptions and sources in analytical.h.
#include "sim/analytical.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>

#include "collective/collective.h"
#include "core/units.h"
#include "model/model.h"
#include "plan/memory.h"
#include "schedule/schedule.h"

namespace scaleplan::sim {

namespace {

using collective::Estimate;
using collective::GroupShape;
using collective::Op;

// Scaling work around one converted GEMM (X: m x k input, W: k x n weight, dY: m x n output
// gradient), in bytes per element of each tensor and kernels, by FP8 recipe (sim/analytical.h):
//   delayed (TE): cast reads BF16 and writes FP8 (3 bytes), amax fused; the backward's transposed
//     copies come out of the same fused cast-transpose (+1 byte)
//   tensorwise (dynamic): an amax pass first (+2 bytes read), transposes as separate FP8 copies
//     (read 1, write 1)
//   rowwise: amax and cast per row, and the transposed operands re-quantized along the other
//     axis from BF16 (5 bytes each)
// and for NVFP4 (Transformer Engine's NVFP4 recipe as arXiv:2509.25149 section 4 describes it: 16-
// element blocks along the GEMM's reduction axis, a per-tensor scale from the tensor's amax; the
// weight-gradient GEMM's operands, X and dY, quantized along the other axis after a 16 x 16 random
// Hadamard transform; weights in 16 x 16 blocks, so that one quantization serves both layouts and
// their transposed copy costs nothing): an amax pass and a cast, reading BF16 twice and writing 4
// bits and a scale byte per 16 (2 + 2 + 0.5625 bytes), the same again for X's and dY's other-axis
// copy (its amax read after the transform); kernels as the rowwise recipe. The Hadamard
// transform's arithmetic (16 multiply-adds an element) hides under the memory traffic; the
// gradients' stochastic rounding is not priced apart from the cast.
//
// The dynamic recipes (torchao's Float8Linear) in eager PyTorch, without torch.compile, run each
// cast as separate PyTorch ops: abs (read 2 bytes, write 2), amax (read 2), the upcast to FP32
// (read 2, write 4), the scale's multiply (read 4, write 4), clamp (read 4, write 4) and the cast
// (read 4, write 1): 33 bytes an element, 11 kernels with the scale's small ones (PyTorch's
// profiler counted 11, h200_memops.csv, fp8_cast_tensorwise eager). And every GEMM operand is
// cast on its own from the BF16 tensors the linear keeps: backward casts dY a second time (the
// weight gradient's) and X and W again (`recast`), where compiled code fuses the casts into the
// passes above. Measured on one H200 (h200_fp8_layer.csv): a Llama 3 8B layer with FP8 tensorwise
// linears took 38.5 ms eager against 21.6 in BF16, 17.8 compiled.
struct CastWork {
  double cast, transpose;   // bytes per element
  double weight_transpose;  // the weight's transposed copy, bytes per element
  double recast;            // backward's own casts of dY, X and W, bytes per element (eager)
  double fwd_kernels, bwd_kernels;
};
CastWork CastWorkOf(spec::Precision precision, spec::Fp8Recipe recipe, bool eager) {
  if (precision == spec::Precision::kFp4) {
    const double pass = 2 * kBf16Bytes + kNvfp4Bytes;
    return {pass, pass, 0.0, 0.0, 4, 6};
  }
  constexpr double kEagerCast = 4 + 2 + 6 + 8 + 8 + 5;
  constexpr double kEagerCastKernels = 11;
  switch (recipe) {
    case spec::Fp8Recipe::kDelayed:
      return {3.0, 1.0, 1.0, 0.0, 2, 1};
    case spec::Fp8Recipe::kTensorwise:
    case spec::Fp8Recipe::kRowwise:
      if (eager) {
        // Forward casts X and W; backward dY twice, X and W again, and copies three FP8 operands
        // to the layout the GEMM wants.
        return {kEagerCast, 2.0, 2.0, kEagerCast, 2 * kEagerCastKernels, 4 * kEagerCastKernels + 3};
      }
      return recipe == spec::Fp8Recipe::kTensorwise ? CastWork{5.0, 2.0, 2.0, 0.0, 4, 4}
                                                    : CastWork{5.0, 5.0, 5.0, 0.0, 4, 6};
  }
  return {3.0, 1.0, 1.0, 0.0, 2, 1};
}

// Whether a framework's FP8 casts run as separate eager PyTorch ops (torchao's dynamic recipes
// without torch.compile; Transformer Engine's delayed recipe is its own fused kernels).
bool EagerCasts(const spec::FrameworkSpec& fw) {
  return fw.elementwise == spec::Elementwise::kEager && !fw.compile &&
         fw.fp8_recipe != spec::Fp8Recipe::kDelayed;
}

// An op's forward `seconds` to the module whose recomputation re-runs it.
void AddModuleTime(OpTimes& t, const model::Op& op, double seconds) {
  for (int i = 0; i < spec::kRecomputeModules; ++i)
    if (op.rerun_by & (1u << i)) t.module_fwd[static_cast<size_t>(i)] += seconds;
}

// `weight_cast_share`: the part of an FP8 or FP4 weight's cast (and of its transposed copy) that
// each micro-batch pays (analytical.h).
OpTimes Time(const std::vector<model::Op>& ops, const hardware::DeviceModel& d, double key_len,
             double head_dim, spec::Precision precision, bool flash = true,
             double weight_cast_share = 1) {
  const spec::FrameworkSpec& fw = d.framework();
  const CastWork cast = CastWorkOf(precision, fw.fp8_recipe, EagerCasts(fw));
  OpTimes t;
  for (const model::Op& op : ops) {
    switch (op.kind) {
      case model::OpKind::kGemm: {
        bool in_low = spec::LowPrecision(precision) && d.has_low_precision() &&
                      (op.fp8_linear || (op.name == "lm_head" && fw.fp8_lm_head));
        // A grouped GEMM (routed experts) runs gemm_groups GEMMs of m / groups rows each, priced
        // at that shape (analytical.h).
        const double rows = op.m / op.gemm_groups;
        double f = d.GemmSeconds(op.fwd_flops, op.fwd_bytes, rows, op.n, op.k, in_low);
        // Input gradient (m x n by n x k) and weight gradient (k x m by m x n).
        // A frozen weight (LoRA's base) takes no gradient: the input gradient alone.
        double b =
            d.GemmSeconds(op.fwd_flops, op.bwd_bytes / 2, rows, op.k, op.n, in_low) +
            (op.frozen ? 0.0
                       : d.GemmSeconds(op.fwd_flops, op.bwd_bytes / 2, op.k, op.n, rows, in_low));
        double cast_f = 0, cast_b = 0;
        if (in_low) {
          const double weight = weight_cast_share * op.k * op.n;
          cast_f = d.MemoryBoundSeconds(0, cast.cast * (op.m * op.k + weight), cast.fwd_kernels);
          // The weight gradient's operands (X and dY in the other layout) only where the
          // weight is trained.
          cast_b = d.MemoryBoundSeconds(
              0,
              cast.cast * op.m * op.n +
                  (op.frozen ? 0.0 : (cast.transpose + cast.recast) * (op.m * op.k + op.m * op.n)) +
                  (cast.weight_transpose + cast.recast) * weight,
              cast.bwd_kernels);
        }
        t.fwd += f + cast_f;
        t.bwd += b + cast_b;
        t.gemm_fwd += f;
        t.gemm_bwd += b;
        if (op.column_parallel && op.frozen) {
          (op.attention_side ? t.frozen_bwd_qkv : t.frozen_bwd_mlp_column) += b;
        } else if (op.column_parallel) {
          (op.attention_side ? t.gemm_bwd_qkv : t.gemm_bwd_mlp_column) += b;
        }
        if (!op.frozen) t.gemm_bwd_trained += b;
        // Per-op selective checkpointing recomputes every other matmul (and its casts).
        t.per_op_selective += 0.5 * (f + cast_f);
        AddModuleTime(t, op, f + cast_f);
        break;
      }
      case model::OpKind::kAttention: {
        double f, b;
        if (flash) {
          const double keys = op.key_len > 0 ? op.key_len : key_len;  // a window's, or the sequence
          f = d.AttentionSeconds(op.fwd_flops, op.fwd_bytes, keys, head_dim, false);
          b = d.AttentionSeconds(op.bwd_flops, op.bwd_bytes, keys, head_dim, true);
        } else {
          // Two batched GEMMs per direction: scores (s x s x d) and values (s x d x s).
          f = d.GemmSeconds(op.fwd_flops / 2, op.fwd_bytes / 2, key_len, key_len, head_dim) +
              d.GemmSeconds(op.fwd_flops / 2, op.fwd_bytes / 2, key_len, head_dim, key_len);
          b = 2 * f;  // four GEMMs and twice the score traffic (model.h)
        }
        t.fwd += f;
        t.bwd += b;
        t.attn_fwd += f;
        t.attn_bwd += b;
        // Core-attention recomputation re-runs the kernel; per-op checkpointing saves its output.
        AddModuleTime(t, op, f);
        break;
      }
      default: {
        PassSeconds pass = MemoryBoundOpSeconds(d, op, fw);
        double f = pass.fwd, b = pass.bwd;
        // A frozen embedding (LoRA) is the first op: nothing before it needs a gradient.
        if (op.kind == model::OpKind::kEmbedding && op.frozen) b = 0;
        t.fwd += f;
        t.bwd += b;
        // Per-op checkpointing recomputes every memory-bound op (not the embedding lookup).
        if (op.kind != model::OpKind::kEmbedding) t.per_op_selective += f;
        AddModuleTime(t, op, f);
        break;
      }
    }
  }
  return t;
}

// One layer, one micro-batch: compute and exposed communication, each direction.
struct LayerCost {
  double fwd_compute = 0, bwd_compute = 0;
  double fwd_tp = 0, bwd_tp = 0;
  double fwd_cp = 0, bwd_cp = 0;
  double fwd_ep = 0, bwd_ep = 0;
  double attn_recompute = 0;  // the attention kernel's share of the recomputation in bwd_compute
};

struct Groups {
  GroupShape tp, cp, pp, dp, ep, expert_dp;
  GroupShape etp;  // the expert-TP ranks: the innermost etp of a TP group
  // HSDP (plan.dp_replicate > 1): the innermost dp*cp / dp_replicate ranks that share the sharded
  // state, and the dp_replicate ranks across them that hold the same shard.
  GroupShape dp_shard, dp_replicate;
  GroupShape everyone;  // all the job's GPUs (the gradient-norm all-reduce)
  // Pipeline hop r -> r + 1 (mod pp): the innermost tier holding both ranks (PipelineHops).
  std::vector<int> hop_tier;
};

// The per-layer sums a chunk multiplies by its dense and MoE layer counts, formed once per layer
// kind (and per mean of recomputed and kept layers) rather than once per chunk.
struct LayerTerms {
  double f_compute, b_compute, f_comm, b_comm, tp, cp, ep, attn_bwd;
};
LayerTerms TermsOf(const LayerCost& l, const OpTimes& t) {
  return {l.fwd_compute,
          l.bwd_compute,
          l.fwd_tp + l.fwd_cp + l.fwd_ep,
          l.bwd_tp + l.bwd_cp + l.bwd_ep,
          l.fwd_tp + l.bwd_tp,
          l.fwd_cp + l.bwd_cp,
          l.fwd_ep + l.bwd_ep,
          t.attn_bwd + l.attn_recompute};
}

// The mean cost of na layers costing `a` and nb costing `b` (na + nb > 0).
LayerCost Mean(const LayerCost& a, double na, const LayerCost& b, double nb) {
  const double n = na + nb;
  auto mean = [&](double LayerCost::*f) { return (na * (a.*f) + nb * (b.*f)) / n; };
  LayerCost m;
  for (double LayerCost::*f : {&LayerCost::fwd_compute, &LayerCost::bwd_compute, &LayerCost::fwd_tp,
                               &LayerCost::bwd_tp, &LayerCost::fwd_cp, &LayerCost::bwd_cp,
                               &LayerCost::fwd_ep, &LayerCost::bwd_ep, &LayerCost::attn_recompute})
    m.*f = mean(f);
  return m;
}

// `recompute`: how this layer is recomputed (plan.recompute, or none for the layers of a chunk
// after its first plan.recompute_layers).
LayerCost CostLayer(const plan::Plan& p, const OpTimes& t, const Groups& g, bool moe,
                    spec::Recompute recompute) {
  const spec::ModelSpec& m = p.model();
  const spec::PlanSpec& s = p.spec();
  const spec::ClusterSpec& c = p.job.cluster;
  model::ShardShape shape = p.Shape();
  LayerCost cost;
  cost.fwd_compute = t.fwd;
  cost.bwd_compute = t.bwd;
  if (recompute == spec::Recompute::kFull) {
    cost.bwd_compute += t.fwd;
    cost.attn_recompute = t.attn_fwd;
  }
  if (recompute == spec::Recompute::kSelective) {
    cost.bwd_compute += t.Selective(p.job.framework, s);
    cost.attn_recompute = t.SelectiveAttention(p.job.framework, s);
  }

  double h = static_cast<double>(m.hidden);
  double tokens = shape.Tokens();
  double activation = kBf16Bytes * tokens * h;
  if (p.tp > 1) {
    const bool sp = p.SequenceParallel();
    const Op reduce_op = sp ? Op::kReduceScatter : Op::kAllReduce;
    const double gather = sp ? Estimate(c, g.tp, Op::kAllGather, activation).seconds : 0.0;
    const double reduce = Estimate(c, g.tp, reduce_op, activation).seconds;
    // What the attention side's column-parallel linears gather (forward) and whose gradient they
    // reduce (backward): the layer's input, or with MLA the compressions and the shared rotary key
    // (its down-projections run on the sequence shard; model.h).
    double column_gather = gather, column_reduce = reduce;
    if (m.IsMla()) {
      const double width = static_cast<double>(m.q_lora_rank > 0 ? m.q_lora_rank : m.hidden) +
                           static_cast<double>(m.kv_lora_rank + m.rope_head_dim);
      const double latent = kBf16Bytes * tokens * width;
      column_gather = sp ? Estimate(c, g.tp, Op::kAllGather, latent).seconds : 0.0;
      column_reduce = Estimate(c, g.tp, reduce_op, latent).seconds;
    }
    // The attention side gathers before QKV and reduces after the output projection; a dense
    // MLP, or a MoE layer's shared expert, the same around fc1 and fc2. Backward mirrors it: the
    // row-parallel output gradients are gathered, the column-parallel input gradients reduced.
    // A MoE layer's routed experts split over expert TP (etp > 1) get their tokens, top_k per
    // token after the EP all-to-all, gathered over the etp ranks before the experts and reduced
    // after them, each way (Megatron-Core's all-to-all dispatcher); TP overlap does not hide
    // these (Transformer Engine's userbuffers serve its linear layers, not the grouped experts).
    // With etp 1 and no shared expert the tokens stay in their sequence-parallel shard.
    const bool mlp_side = !moe || m.shared_experts > 0;
    const double mlp = mlp_side ? gather + reduce : 0.0;
    double routed = 0;
    if (moe && p.etp > 1) {
      // The gathered rows, as the experts' GEMMs see them (model.h): top_k per token of the
      // etp ranks' sequence shards.
      const double shard = sp ? tokens / static_cast<double>(p.tp) : tokens;
      const double rows = kBf16Bytes * h * static_cast<double>(m.top_k) * shard *
                          (sp ? static_cast<double>(p.etp) : 1.0);
      routed = (sp ? Estimate(c, g.etp, Op::kAllGather, rows).seconds : 0.0) +
               Estimate(c, g.etp, reduce_op, rows).seconds;
    }
    const double fwd = column_gather + reduce + mlp;
    const double bwd = gather + column_reduce + mlp;
    cost.fwd_tp = fwd + routed;
    cost.bwd_tp = bwd + routed;
    // Selective recomputation of the MLP (a dense layer's, or the shared experts) re-runs its
    // forward's collectives too (fc1's gather, fc2's reduction): their share of what the forward
    // exposes, added below once the overlap is known.
    const uint32_t mlp_module = moe ? spec::kRecomputeSharedExperts : spec::kRecomputeMlp;
    const bool rerun_mlp = recompute == spec::Recompute::kSelective && mlp_side &&
                           (s.recompute_modules & mlp_module) &&
                           p.job.framework.selective_recompute != spec::SelectiveRecompute::kPerOp;
    if (s.tp_comm_overlap) {
      cost.fwd_tp = std::max(0.0, fwd - t.gemm_fwd) + routed;
      cost.bwd_tp = std::max(0.0, bwd - t.gemm_bwd) + routed;
    } else if (p.job.framework.tp_async_backward && !schedule::Info(s.schedule).splits_backward) {
      // The row-parallel linears' output-gradient gathers block their GEMMs; each column-parallel
      // linear re-gathers its input (SP) behind its own data-gradient GEMM and reduces the input
      // gradient behind its own weight-gradient GEMM, about half its backward each. (A schedule
      // that defers the weight gradients leaves the reduction nothing to hide behind; so does a
      // frozen linear, which has none: its re-gather hides behind its whole backward.)
      auto hidden_behind = [](double regather, double reduction, double gemm_bwd, double frozen) {
        return std::max(0.0, regather - gemm_bwd / 2 - frozen) +
               std::max(0.0, reduction - gemm_bwd / 2);
      };
      cost.bwd_tp =
          (mlp_side ? 2.0 : 1.0) * gather +
          hidden_behind(column_gather, column_reduce, t.gemm_bwd_qkv, t.frozen_bwd_qkv) +
          (mlp_side ? hidden_behind(gather, reduce, t.gemm_bwd_mlp_column, t.frozen_bwd_mlp_column)
                    : 0.0) +
          routed;
    }
    if (rerun_mlp && fwd > 0) cost.bwd_tp += (cost.fwd_tp - routed) * mlp / fwd;
  }
  if (p.cp > 1) {
    // K and V of one token on this rank (MLA: every head's up-projected key and value).
    double kv =
        static_cast<double>(m.EffectiveKvHeads() * (m.QkHeadDim() + m.EffectiveVHeadDim())) /
        static_cast<double>(p.tp);
    double seq_tokens = static_cast<double>(s.micro_batch * p.job.workload.seq_len);
    if (s.cp_algorithm == spec::CpAlgorithm::kAllGather) {
      double gathered = kBf16Bytes * kv * seq_tokens;
      cost.fwd_cp = Estimate(c, g.cp, Op::kAllGather, gathered).seconds;
      cost.bwd_cp = cost.fwd_cp + Estimate(c, g.cp, Op::kReduceScatter, gathered).seconds;
    } else {
      double local = kBf16Bytes * kv * tokens;
      // Every CP ring exchanges at once; as for pipeline hops, a sender crossing tier t shares the
      // uplinks of its tier-(t-1) group with the other ring members there: min(1, m / o_t).
      double share = 1.0;
      if (g.cp.span_tier >= 1) {
        size_t top = static_cast<size_t>(g.cp.span_tier);
        share = std::min(1.0, static_cast<double>(g.cp.members_per_group[top - 1]) /
                                  c.tiers[top].oversubscription);
      }
      double step = collective::SendRecv(c, g.cp, local, share).seconds;
      double cp1 = static_cast<double>(p.cp - 1);
      cost.fwd_cp = std::max(0.0, cp1 * step - t.attn_fwd);
      cost.bwd_cp = std::max(0.0, 2 * cp1 * step - t.attn_bwd);
    }
  }
  if (moe && p.ep > 1) {
    bool sp = p.SequenceParallel();
    double sp_tokens = sp ? tokens / static_cast<double>(p.tp) : tokens;
    double routed = kBf16Bytes * sp_tokens * static_cast<double>(m.top_k) * h;
    double a2a = Estimate(c, g.ep, Op::kAllToAll, routed).seconds;
    cost.fwd_ep = 2 * a2a;  // dispatch and combine
    cost.bwd_ep = 2 * a2a;
  }
  // Full recomputation runs the layer's forward again before its backward, collectives included:
  // Megatron's checkpointed forward calls the same TP all-gathers and reduce-scatters (or
  // all-reduces), the CP exchange and the MoE all-to-alls. (Selective recomputation re-runs core
  // attention or single ops, which hold no collective, or an MLP, whose TP collectives are added
  // above; per-op checkpointing saves their outputs.)
  // An all-gather CP backward already gathers K and V again: the recomputed forward's gather
  // serves it, so only a ring's exchange is added.
  if (recompute == spec::Recompute::kFull) {
    cost.bwd_tp += cost.fwd_tp;
    if (s.cp_algorithm != spec::CpAlgorithm::kAllGather) cost.bwd_cp += cost.fwd_cp;
    cost.bwd_ep += cost.fwd_ep;
  }
  return cost;
}

}  // namespace

double OpTimes::Selective(const spec::FrameworkSpec& framework, const spec::PlanSpec& plan) const {
  if (framework.selective_recompute == spec::SelectiveRecompute::kPerOp) return per_op_selective;
  double s = 0;
  for (int i = 0; i < spec::kRecomputeModules; ++i)
    if (plan.recompute_modules & (1u << i)) s += module_fwd[static_cast<size_t>(i)];
  return s;
}

double OpTimes::SelectiveAttention(const spec::FrameworkSpec& framework,
                                   const spec::PlanSpec& plan) const {
  const bool attention = framework.selective_recompute != spec::SelectiveRecompute::kPerOp &&
                         (plan.recompute_modules & spec::kRecomputeCoreAttn);
  return attention ? module_fwd[0] : 0.0;
}

bool RunsEager(const spec::FrameworkSpec& framework, const model::Op& op) {
  const bool compiled =
      framework.compile && (op.kind != model::OpKind::kLoss || framework.compile_loss);
  return framework.elementwise == spec::Elementwise::kEager && (!compiled || !op.compile_fuses);
}

PassSeconds MemoryBoundOpSeconds(const hardware::DeviceModel& d, const model::Op& op,
                                 const spec::FrameworkSpec& framework) {
  const bool eager = RunsEager(framework, op);
  // A norm that runs as one kernel each way (fused, or natively in eager PyTorch) reduces its
  // weight gradient as its framework's kernels do; an eager composite's factors count its own,
  // and a frozen norm (LoRA) computes none.
  const bool one_kernel = !eager || op.eager_bwd_kernels == 1;
  const double pass =
      framework.norm_weight_grad_pass && one_kernel && !op.frozen ? op.weight_grad_pass_bytes : 0;
  const double pass_kernels = pass > 0 ? 1 : 0;
  if (!eager)
    return {d.MemoryBoundSeconds(op.fwd_flops, op.fwd_bytes),
            d.MemoryBoundSeconds(op.bwd_flops, op.bwd_bytes + pass, 1 + pass_kernels)};
  return {
      d.MemoryBoundSeconds(op.fwd_flops, op.fwd_bytes * op.eager_fwd_factor, op.eager_fwd_kernels),
      d.MemoryBoundSeconds(op.bwd_flops, op.bwd_bytes * op.eager_bwd_factor + pass,
                           op.eager_bwd_kernels + pass_kernels)};
}

double AdamStepSeconds(const hardware::DeviceModel& d, const spec::FrameworkSpec& framework,
                       double params, bool bf16_copy) {
  // FP32 gradient, weight and two moments: fused, one kernel reads 4 and writes 3; unfused, as
  // torch.optim's foreach AdamW runs it (its multi-tensor Adam with decoupled weight decay, as
  // recalled): lerp_ of m (read 2, write 1), mul_ and addcmul_ of v (1 + 1, 2 + 1), sqrt of v
  // (1 + 1), div_ and add_ of that (1 + 1 each), addcdiv_ of the weight (3 + 1) and the decay's
  // mul_ (1 + 1): 20 accesses in 8 ops, each at least one kernel (a multi-tensor op over large
  // tensors launches more: 13 each over 2^28 parameters, h200_memops.csv; not counted).
  const bool fused = framework.optimizer_step == spec::OptimizerStep::kFused;
  const double fp32_accesses = fused ? 7 : 20;
  return d.MemoryBoundSeconds(0, (4 * fp32_accesses + (bf16_copy ? kBf16Bytes : 0.0)) * params,
                              fused ? 1 : 8);
}

double Fp8CastSeconds(const hardware::DeviceModel& d, const spec::FrameworkSpec& framework,
                      double elements) {
  const CastWork cast =
      CastWorkOf(spec::Precision::kFp8, framework.fp8_recipe, EagerCasts(framework));
  // The forward's work covers two casts (X and W).
  return d.MemoryBoundSeconds(0, cast.cast * elements, cast.fwd_kernels / 2);
}

Result<StepResult> Evaluate(const plan::Plan& plan) {
  SP_ASSIGN_OR_RETURN(hardware::DeviceModel device, hardware::DeviceModel::For(plan.job));
  return Evaluate(plan, device);
}

StepResult Evaluate(const plan::Plan& plan, const hardware::DeviceModel& device) {
  Evaluator evaluator(device);
  return evaluator.Evaluate(plan);
}

Evaluator::Evaluator(hardware::DeviceModel device) : device_(std::move(device)) {}

const Evaluator::CachedLayers& Evaluator::Lookup(const plan::Plan& p) {
  const spec::ModelSpec& m = p.model();
  const spec::PlanSpec& s = p.spec();
  const model::ShardShape shape = p.Shape();
  if (!model_ || !(*model_ == m)) {
    cache_.clear();
    last_ = nullptr;
    model_ = m;
  }
  // FP8 or FP4 weights cast once a step serve its M micro-batches (analytical.h).
  const double weight_cast_share =
      spec::LowPrecision(s.precision) && p.job.framework.fp8_weight_cache &&
              s.zero != spec::ZeroMode::kZero3
          ? 1.0 / static_cast<double>(std::max<int64_t>(1, p.microbatches))
          : 1.0;
  const Key key{shape, s.precision, p.ep, p.pp > 1, weight_cast_share};
  // Consecutive plans of a search mostly share the layer shape: the last entry first.
  if (last_ != nullptr && key == last_key_) return *last_;
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    last_key_ = key;
    last_ = &it->second;
    return it->second;
  }
  const double key_len = static_cast<double>(p.job.workload.seq_len);
  const double head_dim = static_cast<double>(m.QkHeadDim());  // the attention kernel's
  CachedLayers c;
  c.dense = Time(model::LayerOps(m, false, shape), device_, key_len, head_dim, s.precision,
                 shape.flash_attention, weight_cast_share);
  if (m.IsMoe()) {
    c.moe = Time(model::LayerOps(m, true, shape), device_, key_len, head_dim, s.precision,
                 shape.flash_attention, weight_cast_share);
  }
  c.embedding = Time(model::EmbeddingOps(m, shape), device_, 1, 128, spec::Precision::kBf16);
  c.head = Time(model::HeadOps(m, shape), device_, 1, 128, s.precision, true, weight_cast_share);
  c.params = plan::ParamSums(p);
  const model::ModelFlops flops =
      model::ModelFlopsPerToken(m, p.job.workload);
  c.flops_per_token_causal = flops.per_token_causal;
  c.flops_formula = flops.formula + "; MFU against the dense BF16 peak";
  last_key_ = key;
  last_ = &cache_.emplace(key, c).first->second;  // std::map: the pointer stays valid
  return *last_;
}

plan::MemoryReport Evaluator::Memory(const plan::Plan& plan) {
  return plan::ComputeMemory(plan, Lookup(plan).params);
}

namespace {

// Seconds of one send of `bytes` between pipeline ranks r and (r + 1) mod pp, for every r. Rank r
// of the group sits at r * stride (the group at offset 0, as topology::PlaceStrided); a hop runs on
// the innermost tier whose groups (tier.gpus consecutive ranks) hold both ends. When a tier's size
// is a multiple of the stride, k = size / stride ranks share each of its groups and the hops
// leaving them are r = k - 1, 2k - 1, ...; otherwise the ends are compared by division.
// One micro-batch's activation over each hop r -> r + 1 (mod pp): the whole send, and the part that
// occupies the link (*transfer).
// HopTiers gives each hop's tier (it depends on the placement only, so it is kept with the
// groups); PipelineHops prices them into `hops` and `transfer` (their buffers reused).
std::vector<int> HopTiers(const spec::ClusterSpec& c, const topology::GroupPlacement& pp) {
  const int64_t n = pp.size, stride = pp.stride;
  const int top = static_cast<int>(c.tiers.size()) - 1;
  std::vector<int> tier(static_cast<size_t>(n), 0);
  for (int t = 0; t < top; ++t) {
    int64_t g = c.tiers[static_cast<size_t>(t)].gpus;
    if (g % stride == 0) {
      for (int64_t r = g / stride - 1; r + 1 < n; r += g / stride)
        tier[static_cast<size_t>(r)] = std::max(tier[static_cast<size_t>(r)], t + 1);
    } else {
      for (int64_t r = 0; r + 1 < n; ++r)
        if (r * stride / g != (r + 1) * stride / g)
          tier[static_cast<size_t>(r)] = std::max(tier[static_cast<size_t>(r)], t + 1);
    }
  }
  tier[static_cast<size_t>(n - 1)] = std::max(pp.span_tier, 0);  // the wrap-around spans the group
  return tier;
}

void PipelineHops(const spec::ClusterSpec& c, const topology::GroupPlacement& pp, double bytes,
                  const std::vector<int>& tier, std::vector<double>& hops,
                  std::vector<double>* transfer) {
  const int64_t n = pp.size, stride = pp.stride;
  // Per tier: the cost of one hop on it (computed once) and its wire part.
  constexpr size_t kTiersOnStack = 16;
  double cost_stack[kTiersOnStack], wire_stack[kTiersOnStack];
  std::vector<double> cost_heap, wire_heap;
  double* cost = cost_stack;
  double* wire = wire_stack;
  if (c.tiers.size() > kTiersOnStack) {
    cost_heap.resize(c.tiers.size());
    wire_heap.resize(c.tiers.size());
    cost = cost_heap.data();
    wire = wire_heap.data();
  }
  std::fill(cost, cost + c.tiers.size(), -1.0);
  std::fill(wire, wire + c.tiers.size(), 0.0);
  hops.assign(static_cast<size_t>(n), 0.0);
  transfer->assign(static_cast<size_t>(n), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    int t = tier[static_cast<size_t>(r)];
    if (cost[static_cast<size_t>(t)] < 0) {
      GroupShape pair;
      pair.size = 2;
      pair.span_tier = t;
      // Every replica's (and TP/CP rank's) copy of this hop sends at once: the senders inside one
      // tier-(t-1) group are the ranks of one stage there, so the group's uplinks (o_t times
      // fewer than its GPUs) carry stride senders per `stages` stages' worth of GPUs.
      double share = 1.0;
      if (t >= 1) {
        double below = static_cast<double>(c.tiers[static_cast<size_t>(t) - 1].gpus);
        double stages = std::max(1.0, std::floor(below / static_cast<double>(stride)));
        share = std::min(1.0, stages / c.tiers[static_cast<size_t>(t)].oversubscription);
      }
      cost[static_cast<size_t>(t)] = collective::SendRecv(c, pair, bytes, share).seconds;
      // What is not set-up and latency is the message on the wire.
      wire[static_cast<size_t>(t)] = cost[static_cast<size_t>(t)] - collective::kSendRecvBaseS -
                                     c.tiers[static_cast<size_t>(t)].latency_s;
    }
    hops[static_cast<size_t>(r)] = cost[static_cast<size_t>(t)];
    (*transfer)[static_cast<size_t>(r)] = std::max(0.0, wire[static_cast<size_t>(t)]);
  }
}

// Whether two stages hold the same work: the same chunks (layers, MoE layers, embedding, head),
// hence the same costs, parameters and data-parallel traffic.
// (`full`: the plan recomputes fully, so the chunks' recomputed layers count too; otherwise they
// are all 0.)
bool SameWork(const plan::Stage& a, const plan::Stage& b, bool full) {
  if (a.chunks.size() != b.chunks.size()) return false;
  for (size_t i = 0; i < a.chunks.size(); ++i) {
    const plan::Chunk& x = a.chunks[i];
    const plan::Chunk& y = b.chunks[i];
    if (x.layers != y.layers || x.moe_layers != y.moe_layers ||
        x.has_embedding != y.has_embedding || x.has_head != y.has_head)
      return false;
    if (full && (x.recomputed_layers != y.recomputed_layers ||
                 x.recomputed_moe_layers != y.recomputed_moe_layers))
      return false;
  }
  return true;
}

}  // namespace

namespace {

// Where each collective's ranks sit: TP, CP, PP, the data-parallel reduction over dp x cp, EP,
// the HSDP shard and replica groups and each expert's gradient-reduction group.
Groups PlaceGroups(const plan::Plan& p) {
  const spec::PlanSpec& s = p.spec();
  const spec::ClusterSpec& c = p.job.cluster;
  Groups g;
  const topology::GroupPlacement& tp = p.groups[static_cast<size_t>(spec::Dim::kTp)];
  const topology::GroupPlacement& cp = p.groups[static_cast<size_t>(spec::Dim::kCp)];
  const topology::GroupPlacement& pp = p.groups[static_cast<size_t>(spec::Dim::kPp)];
  const topology::GroupPlacement& dp = p.groups[static_cast<size_t>(spec::Dim::kDp)];
  g.tp = collective::ShapeOf(tp, c);
  g.cp = collective::ShapeOf(cp, c);
  g.pp = collective::ShapeOf(pp, c);
  const topology::GroupPlacement& inner = cp.stride < dp.stride ? cp : dp;
  const topology::GroupPlacement& outer = cp.stride < dp.stride ? dp : cp;
  g.dp = collective::ShapeOf(topology::PlaceCombined(c, inner, outer), c);
  // Experts are sharded over the innermost ep of the dp*cp ranks; each expert's gradients are
  // reduced over the remaining dp*cp/ep.
  // The ep ranks are the innermost ep of the dp*cp ranks: inside the inner dimension first, then
  // continuing at the outer dimension's stride.
  auto inner_then_outer = [&](int64_t n) {
    if (n <= inner.size || outer.size <= 1)
      return topology::PlaceStrided(c, n, inner.size > 1 ? inner.stride : outer.stride);
    if (inner.size <= 1) return topology::PlaceStrided(c, n, outer.stride);
    return topology::PlaceCombined(c, inner,
                                   topology::PlaceStrided(c, n / inner.size, outer.stride));
  };
  // `count` ranks, every k-th of the dp*cp ranks in their order (inner dimension first).
  auto every_kth = [&](int64_t k, int64_t count) {
    if (inner.size <= 1) return topology::PlaceStrided(c, count, outer.stride * k);
    if (k % inner.size == 0)
      return topology::PlaceStrided(c, count, outer.stride * (k / inner.size));
    int64_t within = std::max<int64_t>(1, inner.size / k);
    if (count <= within || outer.size <= 1)
      return topology::PlaceStrided(c, count, inner.stride * k);
    return topology::PlaceCombined(c, topology::PlaceStrided(c, within, inner.stride * k),
                                   topology::PlaceStrided(c, count / within, outer.stride));
  };
  if (s.dp_replicate > 1) {
    int64_t shard = p.dp * p.cp / s.dp_replicate;
    g.dp_shard = collective::ShapeOf(inner_then_outer(shard), c);
    g.dp_replicate = collective::ShapeOf(every_kth(shard, s.dp_replicate), c);
  }
  // Experts (Megatron-Core's etp, ep, expert-dp layout over a stage's tp * cp * dp ranks, TP
  // innermost): with expert TP below tp, spare = tp / etp TP ranks hold no second shard of an
  // expert; the EP group takes span = ep_tp_span of them (every etp-th TP rank), then
  // across = ep / span of the dp*cp ranks (the innermost, as above). Each expert's gradients are
  // reduced over the ranks that hold the same shard, dp*cp*tp / (ep*etp) of them.
  g.etp = collective::ShapeOf(topology::PlaceStrided(c, p.etp, tp.stride), c);
  const int64_t spare = p.etp < p.tp && p.tp % p.etp == 0 ? p.tp / p.etp : 1;
  const int64_t span = p.ep_tp_span;
  const int64_t across = p.ep / span;
  if (span > 1) {
    topology::GroupPlacement in_tp = topology::PlaceStrided(c, span, tp.stride * p.etp);
    g.ep = collective::ShapeOf(
        across > 1 ? topology::PlaceCombined(c, in_tp, inner_then_outer(across)) : in_tp, c);
  } else {
    g.ep = collective::ShapeOf(inner_then_outer(p.ep), c);
  }
  if (spare == 1) {
    // Expert TP = tp (or not a divisor of it): every ep-th of the dp*cp ranks in the inner
    // dimension's stride, tp * dp * cp / (ep * etp) of them.
    g.expert_dp = collective::ShapeOf(
        topology::PlaceStrided(c, p.ExpertDp(),
                               (inner.size > 1 ? inner.stride : outer.stride) * p.ep),
        c);
  } else {
    // spare / span TP positions times every across-th dp*cp rank: spare / span * dp * cp / across
    // = tp * dp * cp / (ep * etp) ranks. (Where cp and dp are not adjacent in the placement the
    // combined dp*cp group is itself an estimate; collective.h.)
    topology::GroupPlacement replicas = across > 1 ? every_kth(across, p.dp * p.cp / across)
                                                   : topology::PlaceCombined(c, inner, outer);
    if (spare / span > 1) {
      replicas = topology::PlaceCombined(
          c, topology::PlaceStrided(c, spare / span, tp.stride * p.etp * span), replicas);
    }
    g.expert_dp = collective::ShapeOf(replicas, c);
  }
  g.everyone = collective::ShapeOf(topology::PlaceStrided(c, p.gpus, 1), c);
  if (p.pp > 1) g.hop_tier = HopTiers(c, pp);
  return g;
}

// PlaceGroups' answer depends only on the cluster's tier sizes, the four dimensions' placements
// and the expert layout; a search meets few of those (one per layout) among many plans, and each
// answer holds eight vectors. Kept per thread, at most kMaxGroupLayouts of them (then started
// afresh); a cluster of more than kMaxKeyedTiers tiers is placed every time. (The placements read
// only the tiers' GPU counts.)
constexpr size_t kMaxKeyedTiers = 8;
constexpr size_t kMaxGroupLayouts = 4096;
struct GroupsKey {
  // tier sizes; per dimension size, stride, span tier and groups at each tier; the expert and
  // HSDP fields PlaceGroups reads.
  std::array<int64_t, kMaxKeyedTiers + 4 * (3 + kMaxKeyedTiers) + 8> v{};
  bool operator==(const GroupsKey& o) const { return v == o.v; }
};
struct GroupsKeyHash {
  // FNV-1a over four interleaved lanes, folded at the end: four short multiply chains instead
  // of one long one.
  size_t operator()(const GroupsKey& k) const {
    static_assert(std::tuple_size_v<decltype(k.v)> % 4 == 0);
    uint64_t h[4] = {1469598103934665603ull, 1469598103934665603ull ^ 1, 1469598103934665603ull ^ 2,
                     1469598103934665603ull ^ 3};
    for (size_t i = 0; i < k.v.size(); i += 4) {
      for (size_t l = 0; l < 4; ++l)
        h[l] = (h[l] ^ static_cast<uint64_t>(k.v[i + l])) * 1099511628211ull;
    }
    return static_cast<size_t>(((h[0] * 31 + h[1]) * 31 + h[2]) * 31 + h[3]);
  }
};

const Groups& CachedGroups(const plan::Plan& p, std::optional<Groups>& uncached) {
  const spec::ClusterSpec& c = p.job.cluster;
  if (c.tiers.size() > kMaxKeyedTiers || p.groups.size() != 4) {
    uncached = PlaceGroups(p);
    return *uncached;
  }
  GroupsKey key;
  size_t i = 0;
  for (const spec::TierSpec& t : c.tiers) key.v[i++] = t.gpus;
  i = kMaxKeyedTiers;
  for (const topology::GroupPlacement& g : p.groups) {
    key.v[i++] = g.size;
    key.v[i++] = g.stride;
    key.v[i++] = g.span_tier;
    for (size_t t = 0; t < kMaxKeyedTiers; ++t) {
      key.v[i++] = t < g.groups_at_tier.size() ? g.groups_at_tier[t] : -1;
    }
  }
  i = key.v.size() - 8;
  for (int64_t x : {p.tp, p.cp, p.dp, p.ep, p.etp, p.ep_tp_span, p.spec().dp_replicate,
                    static_cast<int64_t>(c.tiers.size())}) {
    key.v[i++] = x;
  }
  thread_local std::unordered_map<GroupsKey, Groups, GroupsKeyHash> cache;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= kMaxGroupLayouts) cache.clear();
  return cache.emplace(key, PlaceGroups(p)).first->second;
}

// With plan.dp_overlap (analytical.h): what outlasts the stage's last backward of a gradient
// reduction of `total` seconds, split over the chunks in proportion to share(c). The last group of
// N micro-batches runs its backward through chunk vp-1 (N passes), then vp-2, ..., then 0; chunk
// c's part is queued on the link from the start of its last pass and cannot end before that pass
// does. One chunk (vp = 1, N = 1): max(0, total - the last backward).
template <class Share>
double ExposedAfterBackward(const StageCost& sc, double n, double total, Share share) {
  double t = 0, link = 0;
  for (size_t i = sc.chunks.size(); i-- > 0;) {
    const double b = sc.chunks[i].backward_s;
    const double last_start = t + (n - 1) * b;
    t += n * b;
    link = std::max(std::max(link, last_start) + total * share(i), t);
  }
  return std::max(0.0, link - t);
}

// The mirror for the parameters' all-gather before the next step's forward: the first group runs
// chunk 0 (N passes), then 1, ...; the gathers run in that order from the step's start, and chunk
// c's first pass cannot end before its parameters are all there. Returns the delay of the first
// group. One chunk: max(0, total - the first forward).
template <class Share>
double ExposedBeforeForward(const StageCost& sc, double n, double total, Share share) {
  double t = 0, gathered = 0, delay = 0;
  for (size_t i = 0; i < sc.chunks.size(); ++i) {
    const double f = sc.chunks[i].forward_s;
    gathered += total * share(i);
    delay = std::max(delay, gathered - (t + f));
    t += n * f;
  }
  return delay;
}

// A stage's exposed data-parallel time (and what a delayed reduction runs during the next step)
// and its optimizer step, for the parameters held on it; names the algorithm into *algorithm if
// given.
void PriceStageDp(const plan::Plan& p, const Groups& g, const hardware::DeviceModel& d,
                  const plan::Stage& stage, const plan::LayerParamSums& sums, int64_t expert_dp,
                  std::string* algorithm_name, StageCost& sc) {
  const spec::PlanSpec& s = p.spec();
  const spec::ClusterSpec& c = p.job.cluster;
  // Each chunk's parameters, summed in chunk order as plan::ParamsOnStage does (kept on the
  // stack for up to kChunksOnStack chunks: every chunk's share is read twice per collective).
  constexpr size_t kChunksOnStack = 32;
  const size_t nchunks = stage.chunks.size();
  plan::StageParams chunk_stack[kChunksOnStack];
  std::vector<plan::StageParams> chunk_heap;
  plan::StageParams* chunk_params = chunk_stack;
  if (nchunks > kChunksOnStack) {
    chunk_heap.resize(nchunks);
    chunk_params = chunk_heap.data();
  }
  double dense_params = 0, expert_params = 0;    // held
  double dense_trained = 0, expert_trained = 0;  // of them trained (LoRA: the adapters)
  for (size_t i = 0; i < nchunks; ++i) {
    chunk_params[i] = plan::ParamsOnChunk(stage.chunks[i], sums);
    dense_params += chunk_params[i].dense;
    expert_params += chunk_params[i].expert;
    dense_trained += chunk_params[i].dense_trainable;
    expert_trained += chunk_params[i].expert_trainable;
  }
  // Micro-batches a chunk runs in a row (interleaved: pp; llama3: pp_microbatch_group; a V runs
  // its chunks' last backwards one micro-batch apart, chunk 1 before chunk 0).
  const double group =
      p.vp > 1 && !schedule::Info(s.schedule).v_shape ? static_cast<double>(p.pp_group) : 1.0;
  // Exposed time of the data-parallel collectives of `params` parameters over `dp_group`; what
  // runs during the next step (plan.grad_sync = delayed) goes to *delayed instead.
  const bool delayed_sync = s.grad_sync == spec::GradSync::kDelayed;
  const double grad_bytes = s.grad_reduce_dtype == spec::GradReduceDtype::kBf16 ? 2.0 : 4.0;
  // `expert`: the routed experts' parameters (else the dense ones), for each chunk's share;
  // `trained` of the `params` held take gradients and are updated (all of them but under LoRA):
  // their gradients are reduced and, sharded, gathered after the step; ZeRO 3 gathers every held
  // weight for each pass.
  auto dp_exposed = [&](const GroupShape& dp_group, double params, double trained, bool expert,
                        bool hsdp, double* delayed, std::string* algorithm) {
    if (dp_group.size <= 1 || params <= 0) return 0.0;
    if (trained <= 0 && s.zero != spec::ZeroMode::kZero3) return 0.0;
    double grads = grad_bytes * trained;
    // Parameters are gathered as held: BF16, or the FP8/FP4 cast (plan.fp8_params). Under LoRA
    // the trained ones are the BF16 adapters; the frozen base is gathered (ZeRO 3) as held.
    const double held_bytes = s.fp8_params ? spec::LowPrecisionBytes(s.precision) : kBf16Bytes;
    const double trained_bytes = p.job.workload.lora_rank > 0 ? kBf16Bytes : held_bytes;
    double weights = trained_bytes * trained +
                     (s.zero == spec::ZeroMode::kZero3 ? held_bytes * (params - trained) : 0.0);
    const double per_param = trained > 0 ? 1.0 / trained : 0.0;
    auto share = [&](size_t chunk) {
      const plan::StageParams& cp = chunk_params[chunk];
      return (expert ? cp.expert_trainable : cp.dense_trainable) * per_param;
    };
    auto after_backward = [&](double total) {
      return s.dp_overlap ? ExposedAfterBackward(sc, group, total, share) : total;
    };
    auto before_forward = [&](double total) {
      return s.dp_overlap ? ExposedBeforeForward(sc, group, total, share) : total;
    };
    double mb = static_cast<double>(p.microbatches);
    auto name = [](std::string_view op, const collective::Cost& cost) {
      return std::string(op) + "/" + std::string(collective::AlgorithmName(cost.algorithm));
    };
    std::string text;  // built only when asked for (it costs more than the arithmetic)
    double exposed = 0;
    if (s.zero == spec::ZeroMode::kZero0) {
      collective::Cost ar = Estimate(c, dp_group, Op::kAllReduce, grads);
      if (algorithm) text = name("all-reduce", ar);
      if (delayed_sync) {
        *delayed += ar.seconds;
      } else {
        exposed = after_backward(ar.seconds);
      }
    } else {
      // Sharded: reduce-scatter the gradients over the shard group (all of dp*cp, or the HSDP
      // group), all-reduce the shards across HSDP groups, all-gather the updated parameters.
      const GroupShape& shard_group = hsdp ? g.dp_shard : dp_group;
      collective::Cost rs = Estimate(c, shard_group, Op::kReduceScatter, grads);
      collective::Cost ar{};
      if (hsdp) {
        ar = Estimate(c, g.dp_replicate, Op::kAllReduce,
                      grads / static_cast<double>(shard_group.size));
      }
      collective::Cost ag = Estimate(c, shard_group, Op::kAllGather, weights);
      if (algorithm) {
        text = name("reduce-scatter", rs) + (hsdp ? " + " + name("all-reduce", ar) : "") + " + " +
               name(s.zero == spec::ZeroMode::kZero3 ? "per-micro-batch all-gather" : "all-gather",
                    ag);
      }
      // The reduction across replicas: with HSDP the all-reduce, otherwise the reduce-scatter.
      double across = hsdp ? ar.seconds : rs.seconds;
      double within = hsdp ? rs.seconds : 0.0;
      if (delayed_sync) {
        *delayed += across;
        exposed = after_backward(within);
      } else {
        exposed = after_backward(within + across);
      }
      if (s.zero == spec::ZeroMode::kZero3) {
        // Gathered again for every micro-batch's pass: each hides behind that one pass.
        double pass_f = s.dp_overlap ? sc.forward_s : 0.0;
        double pass_b = s.dp_overlap ? sc.backward_s : 0.0;
        exposed += mb * (std::max(0.0, ag.seconds - pass_f) + std::max(0.0, ag.seconds - pass_b));
      } else {
        exposed += before_forward(ag.seconds);
      }
    }
    if (algorithm) *algorithm = (hsdp ? "hsdp " : "") + text + (delayed_sync ? " (delayed)" : "");
    return exposed;
  };
  const bool hsdp = s.dp_replicate > 1;
  sc.dp_exposed_s =
      dp_exposed(g.dp, dense_params, dense_trained, false, hsdp, &sc.dp_delayed_s, algorithm_name) +
      dp_exposed(g.expert_dp, expert_params, expert_trained, true, false, &sc.dp_delayed_s,
                 nullptr);
  // Adam runs on this rank's shard: dense over dp*cp, experts over dp*cp*tp/(ep*etp).
  bool sharded = s.zero != spec::ZeroMode::kZero0;
  double dense_shard = sharded ? static_cast<double>(p.dp * p.cp / s.dp_replicate) : 1.0;
  double expert_shard = sharded ? static_cast<double>(expert_dp) : 1.0;
  // PyTorch FSDP's FP32 shards are the weights (framework.fp32_param_shards): no BF16 copy.
  const bool bf16_copy =
      !(p.job.framework.fp32_param_shards && s.zero == spec::ZeroMode::kZero3);
  sc.optimizer_s =
      AdamStepSeconds(d, p.job.framework, dense_trained / dense_shard + expert_trained / expert_shard,
                      bf16_copy);
}

// The pipeline terms of the breakdown (pp > 1): the fill bubble (ZB-H1: its share W cannot fill),
// the transfers on the critical path and what slow sends add in each schedule's steady state
// (sim/analytical.h). `worst` and `sum_stage` are the slowest stage's and the sum of the stages'
// per-micro-batch times; `activation` the bytes of one micro-batch's activation between stages.
void AddPipelineTerms(const plan::Plan& p, double worst, double sum_stage, double activation,
                      const std::vector<int>& hop_tier, StepResult& r) {
  const spec::PlanSpec& s = p.spec();
  const spec::ClusterSpec& c = p.job.cluster;
  const topology::GroupPlacement& pp = p.groups[static_cast<size_t>(spec::Dim::kPp)];
  const double mb = static_cast<double>(p.microbatches);
  Breakdown& bd = r.breakdown;
  // The first micro-batch passes through every stage, then the slowest stage runs the rest:
  // bubble = (sum_s T_s - max_s T_s) / v, i.e. (pp-1)/v of T on equal stages.
  double fill = (sum_stage - worst) / static_cast<double>(p.vp);
  bd.bubble_s = fill;
  const schedule::ScheduleInfo& info = schedule::Info(s.schedule);
  if (info.splits_backward) {
    // ZB-H1 (Qi et al. 2023): the bubble shrinks from (pp-1)(F + B + W) to (pp-1)(F + B - W),
    // B the input-gradient pass, W the weight-gradient pass that fills it (a third when
    // F = B = W); F, B and W summed over the stages. That needs a W to fill each of the pp - 1
    // holes: with M < pp micro-batches the first stage runs its first M - 1 W passes in the
    // holes and its last one after the last B, so the bubble is (pp-1)(F + B) - (M-1) W
    // (one micro-batch: the 1F1B chain without the W passes, (pp-1)(F + B); what the event
    // engine's schedule gives, tests/sim_test.cpp).
    double fw = 0, bi = 0, wg = 0;
    for (const StageCost& st : r.stages) {
      fw += st.forward_s;
      for (const ChunkCost& cc : st.chunks) wg += cc.weight_s;
      bi += st.backward_s;
    }
    bi -= wg;
    const double filled =
        info.v_shape ? 1.0
                     : std::min(mb - 1, static_cast<double>(p.pp - 1)) /
                           static_cast<double>(p.pp - 1);
    if (fw + bi + wg > 0) {
      bd.bubble_s = fill * std::max(0.0, fw + bi - filled * wg) / (fw + bi + wg);
    }
    if (info.v_shape) {
      // A V cannot overlap fewer micro-batches than stages: the first one's forwards and input
      // gradients run through all 2 pp chunks one after another, then its last chunk's W, and
      // each other micro-batch adds at least one chunk's F + B + W on the slowest stage (its turn
      // runs both chunks back to back). The pipeline lasts at least that (analytical.h).
      double serial = 0, last_w = 0;
      for (const StageCost& st : r.stages) serial += st.forward_s + st.backward_s;
      for (const StageCost& st : r.stages)
        for (const ChunkCost& cc : st.chunks) serial -= cc.weight_s;
      if (!r.stages.front().chunks.empty()) last_w = r.stages.front().chunks.front().weight_s;
      const double lower = serial + last_w + (mb - 1) * worst / static_cast<double>(p.vp);
      bd.bubble_s = std::max(bd.bubble_s, lower - mb * worst);
    }
  }
  PipelineHops(c, pp, activation, hop_tier, r.p2p_hop_s, &r.p2p_hop_transfer_s);
  // The first micro-batch's forward crosses every virtual-stage boundary on its way down and
  // the last backward on its way up: 2 (pp * vp - 1) transfers on the critical path, i.e. per
  // direction vp passes over the pp - 1 hops r -> r + 1 and vp - 1 wrap-arounds pp - 1 -> 0.
  double linear = 0;
  for (int64_t hop = 0; hop + 1 < p.pp; ++hop) linear += r.p2p_hop_s[static_cast<size_t>(hop)];
  double vp = static_cast<double>(p.vp);
  // In a V (zb-v) chunk 1 comes back up the same hops: no wrap-around.
  double one_way = vp * linear + (info.v_shape ? 0.0 : (vp - 1) * r.p2p_hop_s.back());
  bd.pp_comm_s = 2 * one_way;
  // Steady state (1f1b and zb-h1 with one chunk per rank; analytical.h): after its warm-up,
  // stage r runs M - (pp - r - 1) F/B pairs, each no faster than the strict alternation with
  // stage r + 1 allows ((T_r + T_{r+1}) / 2 + h_r) nor than a round trip over the pp - r
  // micro-batches it holds; slow sends make that exceed the slowest stage, and the stage that
  // loses most decides. GPipe admits every micro-batch at once and never waits.
  if (p.vp == 1 && !info.forwards_first) {
    double extra = 0, work = 0, sends = 0;
    for (int64_t st = p.pp - 1; st >= 0; --st) {
      const StageCost& sc = r.stages[static_cast<size_t>(st)];
      work += sc.forward_s + sc.backward_s;
      if (st + 1 < p.pp) sends += r.p2p_hop_s[static_cast<size_t>(st)];
      double held = static_cast<double>(p.pp - st);
      double period = (work + 2 * sends) / held;
      if (st + 1 < p.pp) {
        // Strict alternation of F and B on stages st and st + 1: between two backward passes
        // on st, st + 1 must receive an activation, run F and B and send back a gradient.
        const StageCost& next = r.stages[static_cast<size_t>(st + 1)];
        period = std::max(period,
                          0.5 * (sc.forward_s + sc.backward_s + next.forward_s + next.backward_s) +
                              r.p2p_hop_s[static_cast<size_t>(st)]);
      }
      // Stage st runs M - (pp - st - 1) steady-state F/B pairs after its warm-up forwards.
      extra = std::max(extra, std::max(0.0, mb - held + 1) * std::max(0.0, period - worst));
    }
    bd.pp_comm_s += extra;
  } else {
    // A link carries one message at a time (its wire time w per message).
    if (info.forwards_first) {
      // All forwards, then all backwards: each phase's micro-batches come no faster than the
      // busiest link (hop r carries vp messages per micro-batch and direction, the wrap-around
      // vp - 1) or the slowest stage's pass.
      double link = 0;
      for (int64_t hop = 0; hop < p.pp; ++hop) {
        double uses = hop + 1 < p.pp ? vp : vp - 1;
        link = std::max(link, uses * r.p2p_hop_transfer_s[static_cast<size_t>(hop)]);
      }
      double f_worst = 0, b_worst = 0;
      for (const StageCost& sc : r.stages) {
        f_worst = std::max(f_worst, sc.forward_s);
        b_worst = std::max(b_worst, sc.backward_s);
      }
      bd.pp_comm_s += (mb - 1) * (std::max(0.0, link - f_worst) + std::max(0.0, link - b_worst));
    } else {
      // Interleaved: rank r runs W_r = 2 (pp - r - 1) + (v - 1) N warm-up forwards back to back,
      // then alternates F and B, then drains W_r backwards; hop r carries n = M uses_r messages
      // per direction. A link that needs n w_r while its sender produces them in
      //   W F_c + (M v - W) T_c       (forwards, sender r; backwards, sender r + 1 with B_c)
      // leaves a backlog the pipeline waits for; the largest one adds to PP.
      const double total = mb * vp;
      const double group = static_cast<double>(p.pp_group);
      // No backlog anywhere when no message outlasts the shortest pass: n w <= M v w_max against
      // a window of at least M v min(F, B) / v (for pp = 2, n = M (2v - 1) against M (F + B));
      // the loop below is skipped then (most plans), not approximated. (w_max is compared with
      // pass_min / v, the division `pass` makes, so that rounding cannot open a gap.)
      double w_max = 0, pass_min = std::numeric_limits<double>::infinity();
      for (int64_t hop = 0; hop < p.pp; ++hop) {
        const StageCost& sc = r.stages[static_cast<size_t>(hop)];
        w_max = std::max(w_max, r.p2p_hop_transfer_s[static_cast<size_t>(hop)]);
        pass_min = std::min(pass_min, std::min(sc.forward_s, sc.backward_s));
      }
      double backlog = 0;
      // A V: each directed link of hop r carries, per micro-batch, one forward and one backward
      // message (chunk 0 down and chunk 1 up, their gradients the other way), 2 M messages
      // against the sender's whole step, M (F + B).
      for (int64_t hop = 0; info.v_shape && w_max > pass_min / vp && hop + 1 < p.pp; ++hop) {
        double w = r.p2p_hop_transfer_s[static_cast<size_t>(hop)];
        for (int64_t sender : {hop, hop + 1}) {
          const StageCost& sc = r.stages[static_cast<size_t>(sender)];
          backlog = std::max(backlog, 2 * mb * w - mb * (sc.forward_s + sc.backward_s));
        }
      }
      for (int64_t hop = 0; !info.v_shape && w_max > pass_min / vp && hop < p.pp; ++hop) {
        double n = mb * (hop + 1 < p.pp ? vp : vp - 1);
        double w = r.p2p_hop_transfer_s[static_cast<size_t>(hop)];
        for (int64_t sender : {hop, (hop + 1) % p.pp}) {
          const StageCost& sc = r.stages[static_cast<size_t>(sender)];
          double warm =
              std::min(total, 2.0 * static_cast<double>(p.pp - sender - 1) + (vp - 1) * group);
          double pass = (sender == hop ? sc.forward_s : sc.backward_s) / vp;
          double window = warm * pass + (total - warm) * (sc.forward_s + sc.backward_s) / vp;
          if (p.pp == 2) {
            // Two stages: hop 0 and the wrap-around join the same ranks, so each directed link
            // carries one hop's forwards and the other's backwards, M (2v - 1) messages sent
            // over the sender's whole step.
            n = mb * (2 * vp - 1);
            window = total * (sc.forward_s + sc.backward_s) / vp;
          }
          backlog = std::max(backlog, n * w - window);
        }
      }
      bd.pp_comm_s += std::max(0.0, backlog);
    }
  }
}

}  // namespace

StepResult Evaluator::Evaluate(const plan::Plan& p) {
  StepResult r;
  Compute(p, r, true);
  return r;
}

const StepResult& Evaluator::EvaluateReused(const plan::Plan& p) {
  Compute(p, reused_, false);
  return reused_;
}

void Evaluator::Compute(const plan::Plan& p, StepResult& r, bool name_algorithm) {
  const hardware::DeviceModel& d = device_;
  const spec::ModelSpec& m = p.model();
  const spec::PlanSpec& s = p.spec();
  const spec::ClusterSpec& c = p.job.cluster;

  std::optional<Groups> uncached;  // built only where the placements are not kept
  const Groups& g = CachedGroups(p, uncached);
  const int64_t expert_dp = p.ExpertDp();

  const CachedLayers& cached = Lookup(p);
  // Layers priced as the plan recomputes them; under recompute = full with recompute_layers, the
  // layers of a chunk after its first ones are priced without recomputation (`kept`).
  const bool full = s.recompute == spec::Recompute::kFull;
  LayerCost dense = CostLayer(p, cached.dense, g, false, s.recompute);
  LayerCost moe = m.IsMoe() ? CostLayer(p, cached.moe, g, true, s.recompute) : LayerCost{};
  LayerCost dense_kept = dense, moe_kept = moe;
  if (full && s.recompute_layers > 0) {
    dense_kept = CostLayer(p, cached.dense, g, false, spec::Recompute::kNone);
    if (m.IsMoe()) moe_kept = CostLayer(p, cached.moe, g, true, spec::Recompute::kNone);
  }
  const LayerTerms dense_terms = TermsOf(dense, cached.dense);
  const LayerTerms moe_terms = TermsOf(moe, cached.moe);
  LayerTerms dense_mean, moe_mean;  // a partially recomputed chunk's mean layer (below)
  model::ShardShape shape = p.Shape();
  double emb_fwd = cached.embedding.fwd, emb_bwd = cached.embedding.bwd;
  double head_fwd = cached.head.fwd, head_bwd = cached.head.bwd;
  // Vocabulary-parallel embedding and loss each reduce over TP once per direction.
  double h = static_cast<double>(m.hidden);
  double tokens = shape.Tokens();
  double edge_tp =
      p.tp > 1 ? Estimate(c, g.tp, s.sequence_parallel ? Op::kReduceScatter : Op::kAllReduce,
                          kBf16Bytes * tokens * h)
                     .seconds
               : 0.0;

  // Reset `r`, keeping its buffers.
  r.step_time_s = r.tokens_per_s_per_gpu = r.model_flops_per_s_per_gpu = r.mfu = 0;
  r.breakdown = Breakdown{};
  r.bottleneck_stage = 0;
  r.dp_algorithm.clear();
  r.warnings.clear();
  r.p2p_hop_s.clear();
  r.p2p_hop_transfer_s.clear();
  r.engine = "analytical";
  r.stages.resize(p.stages.size());
  double worst = -1;
  double sum_stage = 0;
  for (size_t si = 0; si < p.stages.size(); ++si) {
    const plan::Stage& stage = p.stages[si];
    StageCost& sc = r.stages[si];
    if (si > 0 && SameWork(stage, p.stages[si - 1], full)) {
      // An interior stage like the one before it: the same costs (priced once).
      sc = r.stages[si - 1];
      sc.stage = stage.index;
    } else {
      std::vector<ChunkCost> chunks = std::move(sc.chunks);
      sc = StageCost{};
      sc.chunks = std::move(chunks);
      sc.chunks.clear();
      sc.stage = stage.index;
      double fwd_compute = 0, bwd_compute = 0, tp_s = 0, cp_s = 0, ep_s = 0;
      for (const plan::Chunk& ch : stage.chunks) {
        double nd = static_cast<double>(ch.layers - ch.moe_layers);
        double nm = static_cast<double>(ch.moe_layers);
        // A layer's cost in this chunk: as the plan recomputes it, or, where recompute_layers
        // leaves some of the chunk's layers whole, the mean over its recomputed and kept ones.
        const LayerTerms* dl = &dense_terms;
        const LayerTerms* ml = &moe_terms;
        if (full && s.recompute_layers > 0) {
          const double rm = static_cast<double>(ch.recomputed_moe_layers);
          const double rd = static_cast<double>(ch.recomputed_layers) - rm;
          if (rd < nd)
            dl = &(dense_mean = TermsOf(Mean(dense, rd, dense_kept, nd - rd), cached.dense));
          if (rm < nm) ml = &(moe_mean = TermsOf(Mean(moe, rm, moe_kept, nm - rm), cached.moe));
        }
        const LayerTerms& ld = *dl;
        const LayerTerms& le = *ml;
        ChunkCost cc;
        double f_compute = nd * ld.f_compute + nm * le.f_compute;
        double b_compute = nd * ld.b_compute + nm * le.b_compute;
        double f_comm = nd * ld.f_comm + nm * le.f_comm;
        double b_comm = nd * ld.b_comm + nm * le.b_comm;
        tp_s += nd * ld.tp + nm * le.tp;
        cp_s += nd * ld.cp + nm * le.cp;
        ep_s += nd * ld.ep + nm * le.ep;
        // The weight-gradient GEMM is one of the two backward GEMMs of every trained linear
        // layer (a frozen one, LoRA's base, has none).
        cc.weight_s = 0.5 * (nd * cached.dense.gemm_bwd_trained + nm * cached.moe.gemm_bwd_trained);
        cc.attention_fwd_s = nd * cached.dense.attn_fwd + nm * cached.moe.attn_fwd;
        // The backward's attention includes the forward attention it re-runs (full or
        // core-attention recomputation): that scales with packed pairs too.
        cc.attention_bwd_s = nd * ld.attn_bwd + nm * le.attn_bwd;
        if (ch.has_embedding) {
          f_compute += emb_fwd;
          b_compute += emb_bwd;
          f_comm += edge_tp;
          b_comm += edge_tp;
          tp_s += 2 * edge_tp;
        }
        if (ch.has_head) {
          f_compute += head_fwd;
          b_compute += head_bwd;
          f_comm += edge_tp;
          b_comm += edge_tp;
          tp_s += 2 * edge_tp;
        }
        fwd_compute += f_compute;
        bwd_compute += b_compute;
        cc.forward_s = f_compute + f_comm;
        cc.backward_s = b_compute + b_comm;
        sc.chunks.push_back(cc);
      }
      sc.compute_s = fwd_compute + bwd_compute;
      sc.tp_s = tp_s;
      sc.cp_s = cp_s;
      sc.ep_s = ep_s;
      for (const ChunkCost& cc : sc.chunks) {
        sc.forward_s += cc.forward_s;
        sc.backward_s += cc.backward_s;
      }

      // Data parallelism for this stage's parameters (the memory model's accounting).
      // (The algorithm is the same for every stage: named once, from the first.)
      PriceStageDp(p, g, d, stage, cached.params, expert_dp,
                   si == 0 && name_algorithm ? &r.dp_algorithm : nullptr, sc);
    }
    double per_mb = sc.forward_s + sc.backward_s;
    sum_stage += per_mb;
    if (per_mb > worst) {
      worst = per_mb;
      r.bottleneck_stage = stage.index;
    }
  }

  const StageCost& b = r.stages[static_cast<size_t>(r.bottleneck_stage)];
  double mb = static_cast<double>(p.microbatches);
  Breakdown& bd = r.breakdown;
  bd.compute_s = mb * b.compute_s;
  bd.tp_comm_s = mb * b.tp_s;
  bd.cp_comm_s = mb * b.cp_s;
  bd.ep_comm_s = mb * b.ep_s;
  if (p.pp > 1) {
    const double activation =
        kBf16Bytes * tokens * h / (p.SequenceParallel() ? static_cast<double>(p.tp) : 1.0);
    AddPipelineTerms(p, worst, sum_stage, activation, g.hop_tier, r);
  }
  // A delayed reduction runs behind the next step's pipeline; only what outlasts it is exposed.
  const double pipeline_s =
      bd.compute_s + bd.tp_comm_s + bd.cp_comm_s + bd.ep_comm_s + bd.bubble_s + bd.pp_comm_s;
  double dp_worst = 0, opt_worst = 0;
  for (const StageCost& sc : r.stages) {
    dp_worst = std::max(
        dp_worst, sc.dp_exposed_s + std::max(0.0, sc.dp_delayed_s - pipeline_s) + sc.optimizer_s);
    opt_worst = std::max(opt_worst, sc.optimizer_s);
  }
  bd.optimizer_s = opt_worst;
  bd.dp_comm_s = dp_worst - opt_worst;
  // Other: gradient-norm all-reduce over every GPU; tied-embedding gradients between the edges.
  bd.other_s = Estimate(c, g.everyone, Op::kAllReduce, kFp32Bytes).seconds;
  if (m.tied_embeddings && p.pp > 1 && p.job.workload.lora_rank == 0) {  // LoRA: frozen
    GroupShape edges = g.pp;
    edges.size = 2;
    bd.other_s +=
        Estimate(c, edges, Op::kAllReduce,
                 kFp32Bytes * static_cast<double>(m.vocab) * h / static_cast<double>(p.tp))
            .seconds;
  }

  r.step_time_s = bd.Total();
  if (s.schedule == spec::Schedule::kLlama3 && p.pp > 1 && p.pp_group < p.pp) {
    r.warnings.push_back(
        "llama3 with pp_microbatch_group < pp stalls between chunk rounds; the closed form does "
        "not charge it (run --engine event)");
  }
  double gpus = static_cast<double>(p.gpus);
  double tokens_per_step = static_cast<double>(p.TokensPerStep());
  r.tokens_per_s_per_gpu = tokens_per_step / r.step_time_s / gpus;
  r.model_flops_per_s_per_gpu = cached.flops_per_token_causal * r.tokens_per_s_per_gpu;
  r.mfu = r.model_flops_per_s_per_gpu / c.gpu.peak_bf16_flops_per_s;
  r.flops_formula = cached.flops_formula;
}

}  // namespace scaleplan::sim
