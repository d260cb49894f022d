// Model accounting: parameter counts, model FLOPs per token, and the per-op graph of a layer.
//
// Parameters are counted exactly from the architecture (weights, biases, norm scales):
//   attention  = h*(q + 2*kv) + q*h  [+ q + 2*kv (QKV bias) + h (output bias, linear_bias only)]
//   dense MLP  = h*f*(3 if SwiGLU else 2) [+ biases]
//   MoE MLP    = E routed experts of width f_e, S shared experts of width f_s, router h*E
//   norms      = h per RMSNorm, 2h per LayerNorm; qk_norm adds 2*head_dim per layer
// with q = heads*head_dim and kv = kv_heads*head_dim. With a value head width v_head_dim the V
// projection is kv_heads*v_head_dim and the output projection heads*v_head_dim wide.
// Multi-head latent attention (DeepSeek-V2, arXiv 2405.04434 section 2.1; DeepSeek-V3, arXiv
// 2412.19437), r_q = q_lora_rank, r_kv = kv_lora_rank, d = head_dim (no rotary part), d_r =
// rope_head_dim, d_v = v_head_dim, H = heads:
//   attention  = h*r_q + r_q*H*(d + d_r)     (queries; h*H*(d + d_r) when r_q = 0)
//              + h*(r_kv + d_r)              (compressed K/V and the shared rotary key)
//              + r_kv*H*(d + d_v)            (K and V up-projections)
//              + H*d_v*h                     (output)
//   norms      += r_q + r_kv                 (RMSNorm of each compression)
//
// Model FLOPs per token (what MFU divides by) count matrix multiplications only, forward +
// backward = 3 x forward (Kaplan et al. 2020; Narayanan et al. 2021):
//   F = 6 * N_matmul_active + 3 * L * (q + o) * (s + 1)               (causal, default)
//   F = 6 * N_matmul_active + 6 * L * (q + o) * s                     (no causal halving)
// where N_matmul_active counts every weight matrix a token passes through (top-k routed experts,
// shared experts, router, LM head; not the input embedding, which is a lookup), and the attention
// term is 4*q FLOP per (query, key) pair forward: s(s+1)/2 pairs per causal sequence, s^2 without
// the mask. Sources disagree on which to use (calibration/README.md, caveat 1); both are reported.
// Local-attention layers (sliding_window W) count WindowPairs(s, W) / s pairs per token instead of
// (s + 1) / 2 (and twice that without causal halving).
// q = heads*qk_head_dim is the query width the scores are computed over and o = heads*v_head_dim
// the attention output's: 2q + 2o FLOP per pair, 4q when they are equal (MLA: q over d + d_r).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "spec/specs.h"

namespace scaleplan::model {

// Query-key pairs of causal attention over one document of `tokens` tokens: (d^2 + d) / 2.
// The one function the performance model and the packers share for attention work (inline: the
// packers price every document with it).
inline double CausalPairs(double tokens) { return (tokens * tokens + tokens) / 2.0; }
// The same under a sliding window of `window` tokens (each query sees itself and the window - 1
// before it): W(W+1)/2 + (d - W) W once the document is longer than the window.
inline double WindowPairs(double tokens, double window) {
  if (window <= 0 || tokens <= window) return CausalPairs(tokens);
  return CausalPairs(window) + (tokens - window) * window;
}
// A sequence of `tokens` packed with documents of `document` tokens (workload.document_tokens:
// floor(tokens / document) whole ones and the rest cut at the sequence's end), attention masked
// to each document: the sum of each document's pairs, by `pairs` (CausalPairs, or WindowPairs
// bound to a window). `document` 0, or at least the sequence, is one document.
template <class Pairs>
double PackedPairs(double tokens, double document, Pairs pairs) {
  if (document <= 0 || document >= tokens) return pairs(tokens);
  const double whole = std::floor(tokens / document);
  return whole * pairs(document) + pairs(tokens - whole * document);
}
inline double PackedPairs(double tokens, double document) {
  return PackedPairs(tokens, document, CausalPairs);
}

struct LayerParams {
  double attention = 0;       // Q, K, V, O weights and biases; sharded over TP
  double norms = 0;           // input and post-attention norms, q/k norms; replicated over TP
  double dense_mlp = 0;       // dense MLP weights and biases; sharded over TP (0 in a MoE layer)
  double router = 0;          // MoE router; replicated over TP
  double routed_experts = 0;  // all routed experts; sharded over EP x ETP
  double shared_experts = 0;  // shared experts; sharded over TP
  double Total() const;
  // Parameters a single token multiplies with (top-k routed experts of E).
  double Active(const spec::ModelSpec& model) const;
  // Weight-matrix parameters a token multiplies with (no norms, no biases).
  double matmul_active = 0;
};

struct ParamCounts {
  double embedding = 0;  // input embedding (+ learned position table)
  double lm_head = 0;    // output projection; 0 when tied to the embedding
  double final_norm = 0;
  LayerParams dense_layer;  // one dense layer
  LayerParams moe_layer;    // one MoE layer (all zero for a dense model)
  int64_t dense_layers = 0;
  int64_t moe_layers = 0;
  double total = 0;
  double active = 0;         // parameters used per token (MoE: top-k experts)
  double matmul_active = 0;  // weight matrices a token passes through, LM head included
};

ParamCounts CountParams(const spec::ModelSpec& model);
LayerParams CountLayerParams(const spec::ModelSpec& model, bool moe);

struct ModelFlops {
  double per_token_causal = 0;  // the default, used for MFU
  double per_token_noncausal = 0;
  double matmul_term = 0;  // 6 * N_matmul_active
  double attention_term_causal = 0;
  std::string formula;  // printed with every MFU
};

// `frozen_weights` (LoRA): the weights take no gradient, so the matmul term is 4N (forward and
// input gradient) rather than 6N; attention, which has no weights, is unchanged. Packed documents
// of `document_tokens` (0: one per sequence) count the pairs within them.
ModelFlops ModelFlopsPerToken(const spec::ModelSpec& model, int64_t seq_len,
                              bool frozen_weights = false, int64_t document_tokens = 0);
// The same for a job's workload: its sequence, LoRA and documents.
ModelFlops ModelFlopsPerToken(const spec::ModelSpec& model, const spec::WorkloadSpec& workload);

enum class OpKind { kGemm, kAttention, kNorm, kElementwise, kEmbedding, kLoss };
std::string_view OpKindName(OpKind kind);

// How one rank sees a micro-batch: the plan's sharding applied to the model.
struct ShardShape {
  int64_t micro_batch = 1;  // sequences
  int64_t seq_len = 1;      // tokens per sequence (before CP)
  int64_t tp = 1;
  int64_t cp = 1;
  int64_t etp = 1;
  int64_t ep = 1;  // expert-parallel ranks: a rank holds experts / ep routed experts
  bool sequence_parallel = true;
  bool flash_attention = true;  // false: scores materialized (Megatron's fused softmax path)
  // PyTorch model code (torchtitan's repeat_kv before SDPA, Hugging Face's sdpa path): K and V
  // are repeated to every query head before the kernel, which keeps them at the query width,
  // eager or compiled (Plan::Shape). The kernel's output needs no copy: SDPA lays it out
  // token-major, so the output projection's input is a view of it. Both read off the tensors one
  // Llama 3 8B layer kept on one H200 (h200_layer_audit.csv).
  bool attention_repeats_kv = false;
  // Eager PyTorch SwiGLU, w2(silu(w1 z) * w3 z): autograd keeps silu's output for the product's
  // backward beside silu's input and w3's output, one more tensor of the MLP's width than
  // Megatron's fused bias-SwiGLU or Inductor (which recomputes it) keep. Eager, uncompiled
  // PyTorch model code (Plan::Shape; h200_layer_audit.csv).
  bool swiglu_keeps_gate_output = false;
  // Bytes per element of the casts that FP8 or FP4 linears keep as their inputs for backward
  // (FrameworkSpec::fp8_saves_fp8_inputs: 1 for FP8, 0.5625 for NVFP4); 0: BF16 inputs kept.
  double saved_input_cast_bytes = 0;
  // LoRA adapters' rank (workload.lora_rank): every weight of the ops frozen, adapters beside the
  // blocks' linears; 0: every weight trained.
  int64_t lora_rank = 0;
  // Packed documents' length (workload.document_tokens): attention masked to each; 0: one
  // document per sequence.
  int64_t document_tokens = 0;
  // Sequence parallelism is on: asked for, and TP splits the layer.
  bool SequenceParallel() const { return sequence_parallel && tp > 1; }
  auto operator<=>(const ShardShape&) const = default;
  double Tokens() const {
    return static_cast<double>(micro_batch * seq_len) / static_cast<double>(cp);
  }
};

// One operation of one micro-batch on one rank, forward and backward.
struct Op {
  std::string name;
  OpKind kind = OpKind::kElementwise;
  double m = 0, n = 0, k = 0;  // GEMM shape (rows x cols x inner) on this rank; 0 for non-GEMMs
  double fwd_flops = 0;
  double bwd_flops = 0;
  double fwd_bytes = 0;  // HBM traffic of the forward kernel(s)
  double bwd_bytes = 0;
  double saved_bytes = 0;            // activations kept from forward for backward
  double params = 0;                 // parameters held by this rank for this op
  // Selective recomputation by modules (Megatron-Core's --recompute-modules; spec::RecomputeModule
  // bits): the module whose recomputation re-runs this op's forward in backward, and the module
  // whose recomputation drops `module_freed_bytes` of its saved_bytes (LayerOps' comment).
  uint32_t rerun_by = 0;
  uint32_t freed_by = 0;
  double module_freed_bytes = 0;
  // What the op keeps under per-op selective checkpointing (FrameworkSpec::selective_recompute =
  // per_op; LayerOps' comment): only the layer input and the outputs of the ops the policy saves.
  // Negative: the op is not under the policy (it keeps saved_bytes).
  double per_op_saved_bytes = -1;
  // Memory-bound ops under PyTorch eager (FrameworkSpec::elementwise = eager): the op runs as
  // several primitive kernels that each read and write the tensor, so its bytes are multiplied
  // and it launches more kernels (counts in LayerOps' comment). 1 for GEMMs and attention.
  double eager_fwd_factor = 1, eager_bwd_factor = 1;
  double eager_fwd_kernels = 1, eager_bwd_kernels = 1;
  // torch.compile fuses the op into one kernel each way; false where Inductor leaves it to eager
  // kernels (complex-number arithmetic: the complex-multiply RoPE).
  bool compile_fuses = true;
  // Norms: the bytes of a second backward pass for the weight gradient (the input and the output
  // gradient read again, 4 bytes an element in BF16) and its kernel, where the framework's norm
  // kernels reduce the weight gradient apart (FrameworkSpec::norm_weight_grad_pass; an eager
  // composite norm's factors already count its own reduction).
  double weight_grad_pass_bytes = 0;
  // A linear layer inside the transformer block, which FP8 recipes convert (the router and the
  // output layer stay BF16 unless the framework says otherwise).
  bool fp8_linear = false;
  // A column-parallel linear of the block (QKV, fc1, a shared expert's fc1): its backward's TP
  // collectives (the input re-gather under SP, the input-gradient reduction) may run behind its
  // own backward GEMMs (FrameworkSpec::tp_async_backward).
  bool column_parallel = false;
  // A column-parallel linear of the attention side (QKV, MLA's up-projections): its backward GEMMs
  // are what that side's TP collectives can hide behind (the rest hide behind the MLP's).
  bool attention_side = false;
  // Attention: the most keys a query sees, where the kernel's efficiency is read (0: the
  // sequence).
  double key_len = 0;
  // The op's weights are not trained (LoRA's base): its backward computes the input gradient
  // only, and its parameters take no gradient, reduction or optimizer state.
  bool frozen = false;
  // A grouped GEMM of this many equal GEMMs, one per routed expert on the rank (balanced routing):
  // m counts every group's rows, its efficiency is read at m / gemm_groups rows (one launch for
  // the group); fwd_bytes and bwd_bytes count every group's weights (sim/analytical.h).
  double gemm_groups = 1;
};

// The ops of one transformer layer (dense or MoE) for one micro-batch on one rank. Tensors are
// BF16; norm statistics and the attention log-sum-exp are FP32. Backward GEMMs cost 2x forward
// (input and weight gradients); flash-attention backward costs 2.5x forward (5 matmuls against 2,
// recomputing Q K^T). Saved activations follow Korthikanti et al. 2022 ("Reducing Activation
// Recomputation in Large Transformer Models", section 4.1) adapted to GQA, SwiGLU, no dropout and a
// flash-attention kernel (no s^2 term): per token
//   2h (input norm in) + 2h (QKV in) + 2(q + 2kv) (Q,K,V) + 2q (O) + 4*heads (LSE)
//   + 2h (MLP norm in) + 2h (fc1 in) + 4f (SwiGLU in; 2f for GeLU) + 2f (fc2 in)
// with the 2h terms divided by tp only under sequence parallelism, the rest always by tp.
// Without a flash kernel (flash_attention = false) the s x s scores are materialized: the full
// s^2 (not causal-halved) matrix is multiplied, the kernels move 12 bytes per score element
// forward and 24 backward (BF16 scores written, scaled-masked-softmax read and written, dropout
// read, written and its mask, read again by the value GEMM; assumption), and Korthikanti's
// 5 a s^2 b bytes are saved (softmax output, dropout mask and output), which selective
// recomputation frees.
// Rotary embeddings (RoPE models) read and write Q and K once each way.
// Sliding-window attention (ModelSpec::sliding_window): the layer's attention work is the mean over
// the model's local and global layers, as two ops: "attention" with the global layers' share of
// the full causal pairs, "attention_local" with the local layers' share of the windowed pairs
// (efficiency read at the window's key length); the saved tensors do not depend on the window.
// An approximation where local and global layers alternate within each pipeline stage; a context-
// parallel ring still exchanges every K/V block.
// FP8 linears that keep their input as the FP8 cast (ShardShape::saved_input_cast_bytes;
// Transformer Engine saves the quantized input for the weight-gradient GEMM) keep 1 byte per
// element instead of 2 (NVFP4: 0.5625): QKV in h, fc1 in h, fc2 in f (expert linears likewise); a
// linear whose BF16 input another op keeps adds its own copy of the cast: the output projection's O
// (q/tp, beside the BF16 O the attention kernel keeps) and a shared expert's input (its
// sequence-parallel shard).
// The router and the output layer keep BF16 inputs (the output layer even with fp8_lm_head: not
// modeled).
// MLA layers (Megatron-Core's MLASelfAttention, recalled from its source, not in the workspace's
// fact sheet) run the query and key/value down-projections on each rank's sequence-parallel
// shard with replicated weights ("duplicated" linears), RMSNorm each compression there, gather
// the compressions for the up-projections (column-parallel, split by head) and split the output
// projection (row-parallel); rotary embedding touches the d_r parts only (queries per head, one
// shared key). They save, per token: the down-projections' input 2h and each compression's norm
// input and output 2(r_q + r_kv) x 2 (all over tp under SP), and for the kernel Q, K, V
// 2H(2(d + d_r) + d_v)/tp and O 2H d_v/tp. The attention side's TP collectives then move the
// compressions and the rotary key, r_q + r_kv + d_r wide, where a standard layer moves h
// (sim/analytical.h); the replicated weights' gradient all-reduce over TP is not priced.
// Selective recomputation by modules (Megatron-Core's --recompute-modules; recalled from its
// source, not in the workspace's fact sheet): a module's ops run their forward again in backward
// and what the module's output tensors held is dropped:
//   core_attn: the attention kernel re-runs from Q, K, V; it drops the kernel's internal state
//     (with flash attention the log-sum-exp, else Korthikanti's 5 a s^2 b bytes);
//   layernorm: the norms Transformer Engine does not fuse into the next linear re-run (the input
//     norm before MLA's down-projections, the pre-MLP norm before a MoE layer's router; the QKV
//     projection and a dense fc1 are TE LayerNormLinears, which this module leaves alone); their
//     outputs are not kept, so the linears after them drop their saved BF16 inputs (an FP8
//     linear that keeps its own FP8 cast drops nothing);
//   mlp, shared_experts: the dense MLP (the shared experts) re-runs from its kept input; the
//     activation's and fc2's saved inputs are dropped;
//   moe_act: the routed experts' activation re-runs; fc2's saved input is dropped;
//   mla_up_proj: the up-projections and rotary embedding re-run; the Q, K, V the attention kernel
//     keeps are dropped (counted on the up-projections).
// Per-op selective checkpointing (torchtitan's "op" policy: save every other matmul's output and
// the attention kernel's outputs, recompute the rest from them and the layer's input) keeps, per
// token of a dense layer: the layer input 2h (input_norm), Q and V 2(q + kv) (the 1st and 3rd of
// the Q, K, V matmuls), the attention output 2q and its log-sum-exp (attention), the gate half of
// fc1 2f (w1, the 5th matmul) and fc2's output 2h (the 7th), each over TP as saved_bytes is. MoE
// layers' routing and experts keep what they keep without it (not modeled).
// Eager PyTorch, counted from the primitive ops (fused bytes -> eager bytes per element; kernels):
//   RMSNorm (torch's composite rms_norm before its fused kernel, and torchtitan's and Hugging
//     Face's own: upcast to FP32, pow, mean, add + rsqrt, mul, cast back, mul by weight; FP32
//     between the kernels): forward 4 -> 36 bytes, 8 kernels; backward (autograd of those: the
//     weight's product and sum, the cast, the mul's two gradients, mean's expand, pow's
//     gradient, their sum, the cast back) 6 -> 64 bytes, 17 kernels. Kernel counts as PyTorch's
//     profiler counted them (data/calibration/h200-kernels/h200_memops.csv, rmsnorm_manual);
//     until 2026-12-04 the model read the intermediates as BF16 (14 and 30 bytes, 6 and 10
//     kernels), 70% under that table's measured times
//   LayerNorm, GeLU, residual add: one native kernel each way, as fused
//   SwiGLU (silu, mul): forward 6 -> 10 bytes per output, 2 kernels; backward (two muls and
//     silu_backward, from silu's output, which autograd keeps: h200_layer_audit.csv) 8 -> 18, 3
//     kernels (the profiler counted 2 + 3, h200_memops.csv, swiglu eager; until 2026-12-04, second
//     session, the model recomputed silu: 22 bytes, 4 kernels)
//   RoPE as a complex multiply (float upcast, view_as_complex, mul, type_as): 4 -> 20 bytes per
//     element, 3 kernels forward and 4 backward; under torch.compile too, since Inductor generates
//     no code for complex tensors (PyTorch 2.11 warns so and runs 3 kernels forward, 4 backward:
//     h200_memops.csv, rope_complex compiled)
//   cross-entropy on FP32 logits (cast, log_softmax, nll): forward 6 -> 22 bytes per logit (the
//     cast 2 + 4; log_softmax over a vocabulary too wide for one block's memory reads its row
//     three times, for the max, the sum and the output, 12 + 4), 3 kernels; backward (nll's
//     zero-filled gradient and scatter, log_softmax's backward reading the gradient for its sum
//     and again with the output, cast back) 6 -> 26 (4 + 16 + 6), 4 kernels. Kernel counts as
//     PyTorch's profiler counted them (h200_memops.csv, cross_entropy_fp32); until 2026-12-04 the
//     model read log_softmax's row once (14 and 22 bytes), 45% and 28% under that table
std::vector<Op> LayerOps(const spec::ModelSpec& model, bool moe, const ShardShape& shape);

// Input embedding (first pipeline stage) and output layer + loss (last stage).
std::vector<Op> EmbeddingOps(const spec::ModelSpec& model, const ShardShape& shape);
std::vector<Op> HeadOps(const spec::ModelSpec& model, const ShardShape& shape);

}  // namespace scaleplan::model
