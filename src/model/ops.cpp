// Per-op FLOPs, bytes and saved activations of one micro-batch on one rank.
// Equations and sources: model.h. Units: FLOP, bytes; tokens are counts.
#include <algorithm>

#include "core/units.h"
#include "model/model.h"

namespace scaleplan::model {

using spec::Activation;
using spec::ModelSpec;

std::string_view OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kGemm:
      return "gemm";
    case OpKind::kAttention:
      return "attention";
    case OpKind::kNorm:
      return "norm";
    case OpKind::kElementwise:
      return "elementwise";
    case OpKind::kEmbedding:
      return "embedding";
    case OpKind::kLoss:
      return "loss";
  }
  return "?";
}

namespace {

constexpr double kBf16 = kBf16Bytes;
constexpr double kFp32 = kFp32Bytes;

// A GEMM of m x k times k x n in BF16; backward computes the input and the weight gradient.
Op Gemm(std::string name, double m, double n, double k, double saved, double params) {
  Op op;
  op.name = std::move(name);
  op.kind = OpKind::kGemm;
  op.m = m;
  op.n = n;
  op.k = k;
  op.fwd_flops = 2.0 * m * n * k;
  op.bwd_flops = 2.0 * op.fwd_flops;
  op.fwd_bytes = kBf16 * (m * k + k * n + m * n);
  // dX = dY W^T reads dY and W, writes dX; dW = X^T dY reads X and dY, accumulates dW in FP32.
  op.bwd_bytes = kBf16 * (m * n + k * n + m * k) + kBf16 * (m * k + m * n) + 2.0 * kFp32 * k * n;
  op.saved_bytes = saved;
  op.params = params;
  op.fp8_linear = true;
  return op;
}

// A norm over `width` features (0: the model width).
Op Norm(std::string name, const ModelSpec& m, double tokens, double width = 0) {
  double h = width > 0 ? width : static_cast<double>(m.hidden);
  bool layernorm = m.norm == spec::Norm::kLayerNorm;
  Op op;
  op.name = std::move(name);
  op.kind = OpKind::kNorm;
  op.fwd_flops = (layernorm ? 8.0 : 5.0) * tokens * h;
  op.bwd_flops = 2.0 * op.fwd_flops;
  op.fwd_bytes = 2.0 * kBf16 * tokens * h;
  op.bwd_bytes = 3.0 * kBf16 * tokens * h;
  op.weight_grad_pass_bytes = 2.0 * kBf16 * tokens * h;
  // Input plus FP32 statistics (rstd; LayerNorm also the mean).
  op.saved_bytes = kBf16 * tokens * h + (layernorm ? 2.0 : 1.0) * kFp32 * tokens;
  op.params = layernorm ? 2.0 * h : h;
  if (!layernorm) {  // eager RMSNorm (model.h)
    op.eager_fwd_factor = 36.0 / 4.0;
    op.eager_bwd_factor = 64.0 / 6.0;
    op.eager_fwd_kernels = 8;
    op.eager_bwd_kernels = 17;
  }
  return op;
}

Op Elementwise(std::string name, double in_elems, double out_elems, double flops_per_out,
               double saved) {
  Op op;
  op.name = std::move(name);
  op.kind = OpKind::kElementwise;
  op.fwd_flops = flops_per_out * out_elems;
  op.bwd_flops = 2.0 * op.fwd_flops;
  op.fwd_bytes = kBf16 * (in_elems + out_elems);
  op.bwd_bytes = kBf16 * (in_elems + 2.0 * out_elems);
  op.saved_bytes = saved;
  return op;
}

// The MLP ops for `tokens` rows of inner width f on this rank (already divided by the shard).
// `input_saved` is what fc1 keeps of its input (0 when another op keeps the same tensor);
// `param_scale` is 1 when this rank holds the weights (0 when the plan accounts for them).
void AppendMlp(std::vector<Op>& ops, const ModelSpec& m, const ShardShape& s,
               const std::string& prefix, double tokens, double f, double input_saved,
               double param_scale) {
  double h = static_cast<double>(m.hidden);
  if (f <= 0 || tokens <= 0) return;  // no such MLP (an all-MoE model's dense MLP)
  bool swiglu = m.activation == Activation::kSwiGlu;
  double fc1_width = (swiglu ? 2.0 : 1.0) * f;
  double bias1 = m.linear_bias ? fc1_width : 0.0;
  double bias2 = m.linear_bias ? h : 0.0;
  ops.push_back(Gemm(prefix + "fc1", tokens, fc1_width, h, input_saved,
                     (h * fc1_width + bias1) * param_scale));
  // Routed experts are split by the expert dispatcher, not by the layer's TP collectives.
  ops.back().column_parallel = prefix != "expert_";
  // SwiGLU keeps its two inputs (gate and up), eager PyTorch code silu's output too
  // (ShardShape::swiglu_keeps_gate_output); GeLU its one input.
  const double kept_width = fc1_width + (swiglu && s.swiglu_keeps_gate_output ? f : 0.0);
  Op act = Elementwise(prefix + (swiglu ? "swiglu" : "act"), tokens * fc1_width, tokens * f,
                       swiglu ? 6.0 : 8.0, kBf16 * tokens * kept_width);
  if (swiglu) {  // eager silu and mul (model.h)
    act.eager_fwd_factor = 10.0 / 6.0;
    act.eager_bwd_factor = 18.0 / 8.0;
    act.eager_fwd_kernels = 2;
    act.eager_bwd_kernels = 3;
  }
  ops.push_back(act);
  ops.push_back(
      Gemm(prefix + "fc2", tokens, h, f, kBf16 * tokens * f, (f * h + bias2) * param_scale));
}

// A whole MLP (fc1, act, fc2 at `first`) under `module`: all three re-run from fc1's kept input;
// the activation's and fc2's saved inputs are dropped.
void WholeMlp(std::vector<Op>& ops, size_t first, uint32_t module) {
  for (size_t i = first; i < first + 3; ++i) ops[i].rerun_by = module;
  for (size_t i = first + 1; i < first + 3; ++i) {
    ops[i].freed_by = module;
    ops[i].module_freed_bytes = ops[i].saved_bytes;
  }
}

}  // namespace

namespace {

// LoRA (ShardShape::lora_rank = r > 0): every op's weights frozen, and beside each linear of the
// block (not the routed experts, which LoRA is not modeled for) its adapter: A (k x r) then
// B (r x n) on the rank's shard, B's output added to the linear's, 2 m r (k + n) FLOP forward and
// twice that backward (both adapters are trained), BF16. One op per linear, priced at the
// linear's own shape: the adapter is taken to ride on the linear's passes (its read of the input,
// the add into the output; an assumption). Priced apart, as skinny GEMMs of r = 32 columns over
// m x k and m x n, the adapters cost a third of Llama 3 8B's layer time, where NVIDIA's LoRA runs
// measured 1.43x their SFT runs of the same configuration, above the 1.36x the model gives with no
// adapter cost at all (docs/ACCURACY.md). Its traffic: the adapters' weights (and FP32 gradients)
// and the m x r intermediate, which it keeps for backward. A row-parallel linear's A sees k / tp
// inputs; the m x r partial sums it would all-reduce over TP are not priced (r / n of the
// linear's own reduction).
void AddLoraAdapters(std::vector<Op>& ops, int64_t rank) {
  if (rank <= 0) return;
  const double r = static_cast<double>(rank);
  std::vector<Op> out;
  out.reserve(ops.size() * 2);
  for (Op& op : ops) {
    // Every weight, a tied output layer's too (whose parameters the embedding counts).
    if (op.params > 0 || op.kind == OpKind::kGemm) op.frozen = true;
    if (op.kind == OpKind::kGemm) op.bwd_flops = op.fwd_flops;  // the input gradient only
    out.push_back(op);
    if (op.kind != OpKind::kGemm || !op.fp8_linear || op.gemm_groups > 1) continue;
    const double weights = r * (op.k + op.n);
    Op adapter = Gemm(op.name + "_lora", op.m, op.n, op.k, kBf16 * op.m * r, weights);
    adapter.fwd_flops = 2.0 * op.m * weights;
    adapter.bwd_flops = 2.0 * adapter.fwd_flops;
    adapter.fwd_bytes = kBf16 * (weights + op.m * r);
    adapter.bwd_bytes = kBf16 * (weights + 2.0 * op.m * r) + 2.0 * kFp32 * weights;
    adapter.fp8_linear = false;
    adapter.rerun_by = op.rerun_by;
    out.push_back(adapter);
  }
  ops = std::move(out);
}

}  // namespace

std::vector<Op> LayerOps(const ModelSpec& m, bool moe, const ShardShape& s) {
  std::vector<Op> ops;
  double h = static_cast<double>(m.hidden);
  double t = static_cast<double>(s.tp);
  double heads = static_cast<double>(m.heads);
  double kv_heads = static_cast<double>(m.EffectiveKvHeads());
  // Widths over all heads: queries and keys (per head QkHeadDim), values and the output (per head
  // EffectiveVHeadDim); without MLA and v_head_dim, q = heads*head_dim and k = v = kv.
  double q = heads * static_cast<double>(m.QkHeadDim());
  double k = kv_heads * static_cast<double>(m.QkHeadDim());
  double v = kv_heads * static_cast<double>(m.EffectiveVHeadDim());
  double o = heads * static_cast<double>(m.EffectiveVHeadDim());
  double tokens = s.Tokens();
  bool sp = s.SequenceParallel();
  // Tokens of the tensors outside the TP region (norms, residual, linear inputs) on this rank.
  double sp_tokens = sp ? tokens / t : tokens;

  ops.push_back(Norm("input_norm", m, sp_tokens));
  ops.back().per_op_saved_bytes = kBf16 * sp_tokens * h;  // the layer's input
  // Transformer Engine fuses this norm into the QKV projection (model.h); MLA's down-projections
  // are plain linears after a separate norm, which layernorm recomputation re-runs.
  if (m.IsMla()) ops.back().rerun_by = spec::kRecomputeLayernorm;
  // The first linear after a separate norm keeps the norm's output, which layernorm recomputation
  // drops.
  auto after_norm = [](Op& op) {
    op.freed_by = spec::kRecomputeLayernorm;
    op.module_freed_bytes = op.saved_bytes;
  };
  double rope_elems = tokens * (q + k) / t;
  if (!m.IsMla()) {
    double qkv_bias = (m.linear_bias || m.qkv_bias) ? q + k + v : 0.0;
    ops.push_back(Gemm("qkv_proj", tokens, (q + k + v) / t, h, kBf16 * sp_tokens * h,
                       (h * (q + k + v) + qkv_bias) / t));
    ops.back().column_parallel = true;
    ops.back().attention_side = true;
    ops.back().per_op_saved_bytes = kBf16 * tokens * (q + v) / t;  // the Q and V matmuls' outputs
  } else {
    // MLA (model.h): down-projections on this rank's sequence shard with replicated weights, a
    // norm per compression, up-projections split by head over TP from the gathered compressions.
    const double r_q = static_cast<double>(m.q_lora_rank);
    const double r_kv = static_cast<double>(m.kv_lora_rank);
    const double d_r = static_cast<double>(m.rope_head_dim);
    const double kv_up = heads * static_cast<double>(m.EffectiveHeadDim() + m.EffectiveVHeadDim());
    if (r_q > 0) {
      ops.push_back(Gemm("q_down_proj", sp_tokens, r_q, h, kBf16 * sp_tokens * h, h * r_q));
      ops.back().per_op_saved_bytes = 0;  // the layer's input, kept by input_norm
      after_norm(ops.back());
    }
    ops.push_back(Gemm("kv_down_proj", sp_tokens, r_kv + d_r, h,
                       r_q > 0 ? 0.0 : kBf16 * sp_tokens * h, h * (r_kv + d_r)));
    ops.back().per_op_saved_bytes = 0;
    if (r_q <= 0) after_norm(ops.back());
    if (r_q > 0) {
      ops.push_back(Norm("q_norm", m, sp_tokens, r_q));
      ops.back().per_op_saved_bytes = 0;
      ops.push_back(Gemm("q_up_proj", tokens, q / t, r_q, kBf16 * sp_tokens * r_q, r_q * q / t));
    } else {  // queries straight from the (gathered) layer input
      ops.push_back(Gemm("q_proj", tokens, q / t, h, 0.0, h * q / t));
    }
    ops.back().column_parallel = true;
    ops.back().attention_side = true;
    ops.back().per_op_saved_bytes = kBf16 * tokens * q / t;  // Q
    // mla_up_proj re-runs the query projection and drops the Q the attention kernel keeps.
    ops.back().rerun_by = spec::kRecomputeMlaUpProj;
    ops.back().freed_by = spec::kRecomputeMlaUpProj;
    ops.back().module_freed_bytes = kBf16 * tokens * q / t;
    ops.push_back(Norm("kv_norm", m, sp_tokens, r_kv));
    ops.back().per_op_saved_bytes = 0;
    ops.push_back(
        Gemm("kv_up_proj", tokens, kv_up / t, r_kv, kBf16 * sp_tokens * r_kv, r_kv * kv_up / t));
    ops.back().column_parallel = true;
    ops.back().attention_side = true;
    ops.back().per_op_saved_bytes = kBf16 * tokens * v / t;  // V
    ops.back().rerun_by = spec::kRecomputeMlaUpProj;
    ops.back().freed_by = spec::kRecomputeMlaUpProj;
    ops.back().module_freed_bytes = kBf16 * tokens * (k + v) / t;  // K and V
    // Rotary embedding on the queries' rotary parts and the one shared rotary key per token.
    rope_elems = tokens * (heads * d_r / t + d_r);
  }
  if (m.position_embedding == spec::PositionEmbedding::kRope) {
    Op rope = Elementwise("rope", rope_elems, rope_elems, 6.0, 0.0);
    rope.bwd_bytes = rope.fwd_bytes;  // the same rotation, backwards
    rope.eager_fwd_factor = rope.eager_bwd_factor = 20.0 / 4.0;
    rope.eager_fwd_kernels = 3;
    rope.eager_bwd_kernels = 4;
    rope.compile_fuses = false;  // complex arithmetic: Inductor falls back to eager (model.h)
    if (m.IsMla()) rope.rerun_by = spec::kRecomputeMlaUpProj;
    ops.push_back(rope);
  }

  // Causal attention: each CP rank holds 2 of 2*cp chunks (head-tail), so an equal share of the
  // s(s+1)/2 query-key pairs of every sequence. K and V are read for all keys a rank's queries
  // see: the whole sequence after a CP all-gather. Packed documents (s.document_tokens) are masked
  // to each document: the pairs within them (PackedPairs; with CP, an equal share of those too,
  // an assumption: Megatron splits each document head-tail over the ranks), and the kernel's
  // efficiency read at the document's length.
  Op attn;
  attn.name = "attention";
  attn.kind = OpKind::kAttention;
  const double seq = static_cast<double>(s.seq_len);
  const double document = static_cast<double>(s.document_tokens);
  double pairs = static_cast<double>(s.micro_batch) * PackedPairs(seq, document) /
                 static_cast<double>(s.cp);
  if (document > 0 && document < seq) attn.key_len = document;
  // Sliding-window attention (model.h): the share of the model's layers that attend locally; this
  // op carries the global layers' share, "attention_local" below the local ones'. Without a flash
  // kernel the scores are computed in full whatever the window, so there is no local share.
  double local_share = 0;
  if (m.sliding_window > 0 && s.flash_attention) {
    local_share =
        static_cast<double>(m.LocalAttentionLayers()) / static_cast<double>(m.layers);
  }
  // Q K^T over the query width and P V over the output width: 2(q + o) FLOP per pair (4q when
  // they are equal).
  attn.fwd_flops = 2.0 * pairs * (q + o) / t * (1.0 - local_share);
  attn.bwd_flops = 2.5 * attn.fwd_flops;
  double key_tokens = static_cast<double>(s.micro_batch * s.seq_len);
  // Forward reads Q, K and V and writes O; backward reads Q, O, dO, K and V and writes dQ, dK, dV.
  const double kernel_fwd_bytes =
      kBf16 * (tokens * q / t + key_tokens * (k + v) / t + tokens * o / t);
  const double kernel_bwd_bytes =
      kBf16 * (tokens * (q + 2.0 * o) / t + 2.0 * key_tokens * (k + v) / t + tokens * q / t);
  attn.fwd_bytes = kernel_fwd_bytes * (1.0 - local_share);
  attn.bwd_bytes = kernel_bwd_bytes * (1.0 - local_share);
  double lse = kFp32 * tokens * heads / t;
  attn.saved_bytes = kBf16 * tokens * (q + k + v) / t + kBf16 * tokens * o / t + lse;
  if (m.qk_norm) attn.params = 2.0 * static_cast<double>(m.EffectiveHeadDim());
  // Selective recomputation (Megatron: core attention) re-runs the kernel in backward from Q, K,
  // V; with a flash kernel only the log-sum-exp is dropped (O is the output projection's input).
  attn.rerun_by = attn.freed_by = spec::kRecomputeCoreAttn;
  attn.module_freed_bytes = lse;
  attn.per_op_saved_bytes = kBf16 * tokens * o / t + lse;  // the kernel's outputs
  if (!s.flash_attention) {
    // Unfused attention materializes every score of the sequence, masked or not: documents do
    // not shrink it.
    attn.key_len = 0;
    double scores = static_cast<double>(s.micro_batch) * heads / t *
                    static_cast<double>(s.seq_len) * static_cast<double>(s.seq_len) /
                    static_cast<double>(s.cp);
    attn.fwd_flops = 2.0 * scores * static_cast<double>(m.QkHeadDim() + m.EffectiveVHeadDim());
    attn.bwd_flops = 2.0 * attn.fwd_flops;  // no recomputation of the scores
    attn.fwd_bytes += 12.0 * scores;
    attn.bwd_bytes += 24.0 * scores;
    attn.saved_bytes = kBf16 * tokens * (q + k + v) / t + kBf16 * tokens * o / t + 5.0 * scores;
    attn.module_freed_bytes = 5.0 * scores;
  }
  // K and V repeated to the query heads before the kernel (grouped-query attention in eager
  // PyTorch code, ShardShape::attention_repeats_kv): kept at the query heads' widths.
  if (s.attention_repeats_kv) attn.saved_bytes += kBf16 * tokens * ((q - k) + (o - v)) / t;
  if (local_share > 0) {
    const double window = static_cast<double>(m.sliding_window);
    const double window_pairs =
        static_cast<double>(s.micro_batch) *
        PackedPairs(seq, document, [window](double d) { return WindowPairs(d, window); }) /
        static_cast<double>(s.cp);
    Op windowed = attn;
    windowed.name = "attention_local";
    windowed.key_len = std::min(window, document > 0 ? std::min(seq, document) : seq);
    windowed.fwd_flops = 2.0 * window_pairs * (q + o) / t * local_share;
    windowed.bwd_flops = 2.5 * windowed.fwd_flops;
    windowed.fwd_bytes = kernel_fwd_bytes * local_share;
    windowed.bwd_bytes = kernel_bwd_bytes * local_share;
    if (local_share >= 1.0) {
      attn = windowed;  // every layer local: one kernel, read at the window
      attn.name = "attention";
    } else {
      // What the kernel keeps is counted once, on "attention".
      windowed.saved_bytes = windowed.module_freed_bytes = windowed.params = 0;
      windowed.per_op_saved_bytes = 0;
      ops.push_back(attn);
      attn = windowed;
    }
  }
  ops.push_back(attn);

  // Row-parallel: the weight is split over TP, the bias (added after the reduction) is not.
  // Its input is the kernel's output, which attention keeps (ShardShape::attention_repeats_kv).
  ops.push_back(Gemm("out_proj", tokens, h, o / t, 0.0, o * h / t + (m.linear_bias ? h : 0.0)));
  ops.back().per_op_saved_bytes = 0;
  ops.push_back(Elementwise("residual_add", 2.0 * sp_tokens * h, sp_tokens * h, 1.0, 0.0));
  ops.back().per_op_saved_bytes = 0;
  ops.push_back(Norm("mlp_norm", m, sp_tokens));
  ops.back().per_op_saved_bytes = 0;
  // Fused into fc1 in a dense layer; before the router (a separate norm) in a MoE layer.
  if (moe) ops.back().rerun_by = spec::kRecomputeLayernorm;

  if (!moe) {
    double f = static_cast<double>(m.ffn_hidden) / t;
    const size_t before = ops.size();
    AppendMlp(ops, m, s, "mlp_", tokens, f, kBf16 * sp_tokens * h, 1.0);
    if (ops.size() == before + 3) {  // fc1, act, fc2 (none when the layer has no dense MLP)
      WholeMlp(ops, before, spec::kRecomputeMlp);
      // SwiGLU: w1 (the 5th matmul) and w2 (the 7th) are saved; GeLU: fc1 (5th), not fc2 (6th).
      bool swiglu = m.activation == Activation::kSwiGlu;
      ops[before].per_op_saved_bytes = kBf16 * tokens * f;
      ops[before + 1].per_op_saved_bytes = 0;
      ops[before + 2].per_op_saved_bytes = swiglu ? kBf16 * tokens * h : 0.0;
    }
  } else {
    double experts = static_cast<double>(m.experts);
    double top_k = static_cast<double>(m.top_k);
    double etp = static_cast<double>(s.etp);
    Op router = Gemm("router", sp_tokens, experts, h,
                     kBf16 * sp_tokens * h + kFp32 * sp_tokens * experts, h * experts);
    router.fp8_linear = false;
    ops.push_back(router);
    ops.back().freed_by = spec::kRecomputeLayernorm;  // its BF16 input, the norm's output
    ops.back().module_freed_bytes = kBf16 * sp_tokens * h;
    // The rank's tokens copied into expert order before the dispatch (Megatron-Core's fused
    // permute): each read once and written top_k times; expert_combine below is its inverse. The
    // sort of the received rows by local expert after the all-to-all is not counted.
    ops.push_back(Elementwise("expert_permute", sp_tokens * h, top_k * sp_tokens * h, 0.0, 0.0));
    ops.back().bwd_bytes = ops.back().fwd_bytes;  // the gradients gathered back the same way
    // Balanced routing: a rank computes as many token-expert pairs as it routes. With sequence
    // parallelism the tokens of an expert-TP group are gathered and each rank runs 1/etp of the
    // expert width.
    double expert_rows = sp_tokens * top_k * (sp ? etp : 1.0);
    double f_e = static_cast<double>(m.EffectiveExpertFfn()) / etp;
    // Parameters per rank are filled in by the plan (they depend on EP); none here.
    const size_t first_expert_op = ops.size();
    AppendMlp(ops, m, s, "expert_", expert_rows, f_e, kBf16 * expert_rows * h, 0.0);
    if (ops.size() == first_expert_op + 3) {  // moe_act: the activation re-runs, fc2's input goes
      ops[first_expert_op + 1].rerun_by = spec::kRecomputeMoeAct;
      ops[first_expert_op + 2].freed_by = spec::kRecomputeMoeAct;
      ops[first_expert_op + 2].module_freed_bytes = ops[first_expert_op + 2].saved_bytes;
    }
    // The rank's experts / ep local experts each run their own GEMM on their share of the rows (a
    // grouped GEMM): efficiency at the rows per expert, every expert's weights read (model.h).
    const double local = std::max(1.0, experts / static_cast<double>(std::max<int64_t>(1, s.ep)));
    for (size_t i = first_expert_op; i < ops.size(); ++i) {
      Op& op = ops[i];
      if (op.kind != OpKind::kGemm) continue;
      op.gemm_groups = local;
      op.fwd_bytes += (local - 1) * kBf16 * op.k * op.n;
      op.bwd_bytes += (local - 1) * (kBf16 + 2.0 * kFp32) * op.k * op.n;
    }
    ops.push_back(Elementwise("expert_combine", top_k * sp_tokens * h, sp_tokens * h, 2.0 * top_k,
                              kBf16 * top_k * sp_tokens * h));
    if (m.shared_experts > 0) {
      double f_s = static_cast<double>(m.shared_experts * m.EffectiveSharedExpertFfn()) / t;
      const size_t first_shared_op = ops.size();
      AppendMlp(ops, m, s, "shared_", tokens, f_s, 0.0, 1.0);
      if (ops.size() == first_shared_op + 3)
        WholeMlp(ops, first_shared_op, spec::kRecomputeSharedExperts);
    }
  }
  ops.push_back(Elementwise("residual_add", 2.0 * sp_tokens * h, sp_tokens * h, 1.0, 0.0));
  ops.back().per_op_saved_bytes = 0;
  if (const double cast = s.saved_input_cast_bytes; cast > 0) {  // casts kept, not BF16 (model.h)
    for (Op& op : ops) {
      if (!op.fp8_linear) continue;
      // A linear whose BF16 input another op keeps (the output projection's O, a shared
      // expert's input) adds its own FP8 copy of m x k elements; a column-parallel one keeps the
      // sequence-parallel shard it gathers from, 1/tp of them.
      const double shard = op.column_parallel && sp ? t : 1.0;
      op.saved_bytes =
          op.saved_bytes > 0 ? op.saved_bytes * cast / kBf16 : cast * op.m * op.k / shard;
      // The FP8 cast is the linear's own: dropping the norm's output frees none of it. What a
      // module that re-runs the linear's producer drops is the cast (moe_act, mlp).
      if (op.freed_by == spec::kRecomputeLayernorm) op.module_freed_bytes = 0;
      if (op.freed_by & (spec::kRecomputeMoeAct | spec::kRecomputeMlp |
                         spec::kRecomputeSharedExperts))
        op.module_freed_bytes = op.saved_bytes;
    }
  }
  AddLoraAdapters(ops, s.lora_rank);
  return ops;
}

std::vector<Op> EmbeddingOps(const ModelSpec& m, const ShardShape& s) {
  double h = static_cast<double>(m.hidden);
  double t = static_cast<double>(s.tp);
  double tokens = s.Tokens();
  Op op;
  op.name = "embedding";
  op.kind = OpKind::kEmbedding;
  op.fwd_bytes = kBf16 * tokens * h;
  op.bwd_bytes = kFp32 * tokens * h;
  op.params = static_cast<double>(m.vocab) * h / t;
  if (m.position_embedding == spec::PositionEmbedding::kLearned) {
    op.params += static_cast<double>(m.max_position_embeddings) * h;
  }
  op.frozen = s.lora_rank > 0;
  return {op};
}

std::vector<Op> HeadOps(const ModelSpec& m, const ShardShape& s) {
  double h = static_cast<double>(m.hidden);
  double t = static_cast<double>(s.tp);
  double vocab = static_cast<double>(m.vocab);
  double tokens = s.Tokens();
  bool sp = s.SequenceParallel();
  double sp_tokens = sp ? tokens / t : tokens;
  std::vector<Op> ops;
  ops.push_back(Norm("final_norm", m, sp_tokens));
  Op lm_head = Gemm("lm_head", tokens, vocab / t, h, kBf16 * sp_tokens * h,
                    m.tied_embeddings ? 0.0 : vocab * h / t);
  lm_head.fp8_linear = false;  // FrameworkSpec::fp8_lm_head decides
  ops.push_back(lm_head);
  // Vocabulary-parallel cross entropy in FP32: softmax over the rank's vocab slice, kept for
  // backward (Megatron-LM); the BF16 logits are freed after the cast (assumption).
  Op loss;
  loss.name = "cross_entropy";
  loss.kind = OpKind::kLoss;
  loss.fwd_flops = 5.0 * tokens * vocab / t;
  loss.bwd_flops = 2.0 * tokens * vocab / t;
  loss.fwd_bytes = (kBf16 + kFp32) * tokens * vocab / t;
  loss.bwd_bytes = (kFp32 + kBf16) * tokens * vocab / t;
  loss.saved_bytes = kFp32 * tokens * vocab / t;
  loss.eager_fwd_factor = 22.0 / 6.0;  // eager cross-entropy (model.h)
  loss.eager_bwd_factor = 26.0 / 6.0;
  loss.eager_fwd_kernels = 3;
  loss.eager_bwd_kernels = 4;
  ops.push_back(loss);
  AddLoraAdapters(ops, s.lora_rank);  // freezes the final norm and the output layer, tied or not
  return ops;
}

}  // namespace scaleplan::model
