#include <fmt/format.h>

#include <algorithm>

#include "model/model.h"

namespace scaleplan::model {

using spec::Activation;
using spec::ModelSpec;

namespace {

double NormParams(const ModelSpec& m, double width) {
  return m.norm == spec::Norm::kLayerNorm ? 2.0 * width : width;
}

// Weights (and biases) of one MLP of inner width f.
double MlpParams(const ModelSpec& m, double f, double* matmul) {
  double h = static_cast<double>(m.hidden);
  double matrices = m.activation == Activation::kSwiGlu ? 3.0 : 2.0;
  double weights = matrices * h * f;
  *matmul += weights;
  double bias = 0;
  if (m.linear_bias) bias = (matrices - 1.0) * f + h;  // fc1 (and gate) biases + fc2 bias
  return weights + bias;
}

// Weight matrices of one attention block (model.h): Q, K, V and output projections, or MLA's
// compressions, up-projections and output projection.
double AttentionWeights(const ModelSpec& m) {
  const double h = static_cast<double>(m.hidden);
  const double heads = static_cast<double>(m.heads);
  const double qk = heads * static_cast<double>(m.QkHeadDim());
  const double o = heads * static_cast<double>(m.EffectiveVHeadDim());
  if (m.IsMla()) {
    const double r_q = static_cast<double>(m.q_lora_rank);
    const double r_kv = static_cast<double>(m.kv_lora_rank);
    const double d_r = static_cast<double>(m.rope_head_dim);
    const double queries = r_q > 0 ? h * r_q + r_q * qk : h * qk;
    const double kv_up = r_kv * heads * static_cast<double>(m.EffectiveHeadDim() + m.EffectiveVHeadDim());
    return queries + h * (r_kv + d_r) + kv_up + o * h;
  }
  const double kv_heads = static_cast<double>(m.EffectiveKvHeads());
  const double k = kv_heads * static_cast<double>(m.QkHeadDim());
  const double v = kv_heads * static_cast<double>(m.EffectiveVHeadDim());
  return h * (qk + k + v) + o * h;
}

}  // namespace

double LayerParams::Total() const {
  return attention + norms + dense_mlp + router + routed_experts + shared_experts;
}

double LayerParams::Active(const ModelSpec& model) const {
  double routed = routed_experts;
  if (model.IsMoe() && routed > 0) {
    routed = routed * static_cast<double>(model.top_k) / static_cast<double>(model.experts);
  }
  return attention + norms + dense_mlp + router + routed + shared_experts;
}

LayerParams CountLayerParams(const ModelSpec& m, bool moe) {
  LayerParams p;
  double h = static_cast<double>(m.hidden);
  double attn_weights = AttentionWeights(m);
  p.matmul_active += attn_weights;
  p.attention = attn_weights;
  if (m.linear_bias || m.qkv_bias) {  // standard attention only (ValidateModel)
    const double kv_heads = static_cast<double>(m.EffectiveKvHeads());
    p.attention += static_cast<double>(m.heads * m.EffectiveHeadDim()) +
                   kv_heads * static_cast<double>(m.EffectiveHeadDim() + m.EffectiveVHeadDim());
  }
  if (m.linear_bias) p.attention += h;

  p.norms = 2.0 * NormParams(m, h);
  if (m.qk_norm) p.norms += 2.0 * static_cast<double>(m.EffectiveHeadDim());
  if (m.IsMla()) p.norms += static_cast<double>(m.q_lora_rank + m.kv_lora_rank);

  if (!moe) {
    p.dense_mlp = MlpParams(m, static_cast<double>(m.ffn_hidden), &p.matmul_active);
    return p;
  }
  double experts = static_cast<double>(m.experts);
  double top_k = static_cast<double>(m.top_k);
  p.router = h * experts;
  p.matmul_active += p.router;
  double one_expert_matmul = 0;
  double one_expert = MlpParams(m, static_cast<double>(m.EffectiveExpertFfn()), &one_expert_matmul);
  p.routed_experts = experts * one_expert;
  p.matmul_active += top_k * one_expert_matmul;
  if (m.shared_experts > 0) {
    double shared_matmul = 0;
    double one_shared =
        MlpParams(m, static_cast<double>(m.EffectiveSharedExpertFfn()), &shared_matmul);
    p.shared_experts = static_cast<double>(m.shared_experts) * one_shared;
    p.matmul_active += static_cast<double>(m.shared_experts) * shared_matmul;
  }
  return p;
}

ParamCounts CountParams(const ModelSpec& m) {
  ParamCounts c;
  double h = static_cast<double>(m.hidden);
  double vocab = static_cast<double>(m.vocab);
  c.embedding = vocab * h;
  if (m.position_embedding == spec::PositionEmbedding::kLearned) {
    c.embedding += static_cast<double>(m.max_position_embeddings) * h;
  }
  c.lm_head = m.tied_embeddings ? 0.0 : vocab * h;
  c.final_norm = NormParams(m, h);
  c.dense_layer = CountLayerParams(m, false);
  if (m.IsMoe()) c.moe_layer = CountLayerParams(m, true);
  for (int64_t i = 0; i < m.layers; ++i) {
    if (m.IsMoeLayer(i)) {
      ++c.moe_layers;
    } else {
      ++c.dense_layers;
    }
  }
  double dense = static_cast<double>(c.dense_layers);
  double moe = static_cast<double>(c.moe_layers);
  double head_matmul = vocab * h;  // tied or not, every token multiplies with the output matrix
  c.total = c.embedding + c.lm_head + c.final_norm + dense * c.dense_layer.Total() +
            moe * c.moe_layer.Total();
  c.active = c.embedding + c.lm_head + c.final_norm + dense * c.dense_layer.Active(m) +
             moe * c.moe_layer.Active(m);
  c.matmul_active =
      head_matmul + dense * c.dense_layer.matmul_active + moe * c.moe_layer.matmul_active;
  return c;
}

ModelFlops ModelFlopsPerToken(const ModelSpec& m, const spec::WorkloadSpec& workload) {
  return ModelFlopsPerToken(m, workload.seq_len, workload.lora_rank > 0, workload.document_tokens);
}

ModelFlops ModelFlopsPerToken(const ModelSpec& m, int64_t seq_len, bool frozen_weights,
                              int64_t document_tokens) {
  ParamCounts c = CountParams(m);
  double layers = static_cast<double>(m.layers);
  // Query (score) width and output width: 2q + 2o FLOP per query-key pair forward (model.h).
  double q = static_cast<double>(m.heads * m.QkHeadDim());
  double o = static_cast<double>(m.heads * m.EffectiveVHeadDim());
  double s = static_cast<double>(seq_len);
  ModelFlops f;
  f.matmul_term = (frozen_weights ? 4.0 : 6.0) * c.matmul_active;
  // Local-attention layers (model.h) count their windowed pairs: 2 WindowPairs(s, W) / s per
  // token causal, min(s, 2W) keys without the mask.
  const double local = static_cast<double>(m.LocalAttentionLayers());
  const double global = layers - local;
  const double window = static_cast<double>(m.sliding_window);
  const double local_causal = local > 0 ? 2.0 * WindowPairs(s, window) / s : 0.0;
  const double local_full = local > 0 ? std::min(s, 2.0 * window) : 0.0;
  f.attention_term_causal = 3.0 * (q + o) * (global * (s + 1.0) + local * local_causal);
  f.per_token_noncausal = f.matmul_term + 6.0 * (q + o) * (global * s + local * local_full);
  const double d = static_cast<double>(document_tokens);
  if (d > 0 && d < s) {
    // Packed documents: 2 PackedPairs / s pairs a token (the formula's s + 1 within one
    // document), and d keys a token without the mask (the rest of the sequence cut short).
    const double packed = 2.0 * PackedPairs(s, d) / s;
    const double packed_local =
        local > 0 ? 2.0 * PackedPairs(s, d, [window](double x) { return WindowPairs(x, window); }) / s
                  : 0.0;
    f.attention_term_causal = 3.0 * (q + o) * (global * packed + local * packed_local);
    const double whole = std::floor(s / d);
    const double full_keys = (whole * d * d + (s - whole * d) * (s - whole * d)) / s;
    f.per_token_noncausal = f.matmul_term + 6.0 * (q + o) *
                                                (global * full_keys +
                                                 local * std::min(full_keys, 2.0 * window));
  }
  f.per_token_causal = f.matmul_term + f.attention_term_causal;
  f.formula =
      q == o ? "6*N + 6*L*q*(s+1): N = weight matrices a token passes through (LM head in, input "
               "embedding out), causal attention at 4*q FLOP per query-key pair, forward + "
               "backward = 3x forward, no recomputation"
             : "6*N + 3*L*(q+o)*(s+1): N = weight matrices a token passes through (LM head in, "
               "input embedding out), causal attention at 2*(q+o) FLOP per query-key pair (q the "
               "query-key width, o the value width over all heads), forward + backward = 3x "
               "forward, no recomputation";
  if (local > 0) f.formula += "; local-attention layers count the pairs inside their window";
  if (d > 0 && d < s) {
    f.formula += fmt::format(
        "; packed documents of {} tokens: the pairs within each (s+1 becomes 2 x pairs / s)",
        document_tokens);
  }
  if (frozen_weights) {
    f.formula.replace(0, 3, "4*N");
    f.formula +=
        "; LoRA: frozen weights take no weight gradient (4*N: forward and input "
        "gradient), the adapters' FLOPs not counted";
  }
  return f;
}

}  // namespace scaleplan::model
