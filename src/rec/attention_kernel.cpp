// rec/attention_kernel.h. The products' loops keep their innermost index over contiguous floats
// (a row of scores, or a head's d columns) with no reduction in it, so the compiler vectorises
// them (the row max, the row sum and dP's row reduction stay scalar: vectorising a float sum would
// reorder it); each function is compiled twice, for AVX2 and for the x86-64 baseline, and the CPU
// picks at load time. This file is compiled at -O3 (src/rec/CMakeLists.txt): -O2 does not
// vectorise loops of an unknown trip count. Examples are independent: each function runs on the
// examples [b0, b1), and the caller deals ranges out to ATen's intra-op threads.

#include "rec/attention_kernel.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#define SCALEPLAN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SCALEPLAN_CLONES
#endif

namespace scaleplan::rec {
namespace {

using torch::Tensor;

// The sizes of one call: B examples of N rows of E columns, `heads` blocks of d columns.
struct Dims {
  int64_t b, n, e, heads, d;
  float scale;  // 1 / sqrt(d)
};

// P <- S - rowmax(S), S = Q K^T * scale, for every example and head; P is [B, heads, N, N].
// kt: scratch of d * N floats (a head's K, transposed and scaled).
SCALEPLAN_CLONES void ShiftedScores(const float* q, const float* k, float* p, const Dims& z,
                                    int64_t b0, int64_t b1, float* kt) {
  const int64_t n = z.n, e = z.e, d = z.d;
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t h = 0; h < z.heads; ++h) {
      const int64_t base = b * n * e + h * d;
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t c = 0; c < d; ++c) kt[c * n + j] = k[base + j * e + c] * z.scale;
      }
      float* ph = p + (b * z.heads + h) * n * n;
      for (int64_t i = 0; i < n; ++i) {
        const float* qi = q + base + i * e;
        float* __restrict pi = ph + i * n;
        for (int64_t j = 0; j < n; ++j) pi[j] = 0;
        for (int64_t c = 0; c < d; ++c) {
          const float w = qi[c];
          const float* __restrict kc = kt + c * n;
          for (int64_t j = 0; j < n; ++j) pi[j] += w * kc[j];
        }
        float m = pi[0];
        for (int64_t j = 1; j < n; ++j) m = pi[j] > m ? pi[j] : m;
        for (int64_t j = 0; j < n; ++j) pi[j] -= m;
      }
    }
  }
}

// p holds exp(S - rowmax): normalises each row to P and accumulates O = P V into o (zeroed).
SCALEPLAN_CLONES void NormaliseAndMix(float* p, const float* v, float* o, const Dims& z, int64_t b0,
                                      int64_t b1) {
  const int64_t n = z.n, e = z.e, d = z.d;
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t h = 0; h < z.heads; ++h) {
      const int64_t base = b * n * e + h * d;
      float* ph = p + (b * z.heads + h) * n * n;
      for (int64_t i = 0; i < n; ++i) {
        float* __restrict pi = ph + i * n;
        float sum = 0;
        for (int64_t j = 0; j < n; ++j) sum += pi[j];
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < n; ++j) pi[j] *= inv;
        float* __restrict oi = o + base + i * e;
        for (int64_t j = 0; j < n; ++j) {
          const float w = pi[j];
          const float* __restrict vj = v + base + j * e;
          for (int64_t c = 0; c < d; ++c) oi[c] += w * vj[c];
        }
      }
    }
  }
}

// The gradients of q, k and v (zeroed, accumulated into) from dO (g) and the saved P.
// ds: scratch of N * N floats (one head's dS); vt: d * N (one head's V, transposed).
SCALEPLAN_CLONES void Backward(const float* q, const float* k, const float* v, const float* p,
                               const float* g, float* gq, float* gk, float* gv, const Dims& z,
                               int64_t b0, int64_t b1, float* ds, float* vt) {
  const int64_t n = z.n, e = z.e, d = z.d;
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t h = 0; h < z.heads; ++h) {
      const int64_t base = b * n * e + h * d;
      const float* ph = p + (b * z.heads + h) * n * n;
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t c = 0; c < d; ++c) vt[c * n + j] = v[base + j * e + c];
      }
      for (int64_t i = 0; i < n; ++i) {
        const float* gi = g + base + i * e;
        const float* __restrict pi = ph + i * n;
        float* __restrict dsi = ds + i * n;
        for (int64_t j = 0; j < n; ++j) dsi[j] = 0;  // dP's row: dO_i V^T
        for (int64_t c = 0; c < d; ++c) {
          const float w = gi[c];
          const float* __restrict vc = vt + c * n;
          for (int64_t j = 0; j < n; ++j) dsi[j] += w * vc[j];
        }
        for (int64_t j = 0; j < n; ++j) {  // dV += P^T dO
          const float w = pi[j];
          float* __restrict gvj = gv + base + j * e;
          for (int64_t c = 0; c < d; ++c) gvj[c] += w * gi[c];
        }
        float r = 0;
        for (int64_t j = 0; j < n; ++j) r += dsi[j] * pi[j];
        for (int64_t j = 0; j < n; ++j) dsi[j] = pi[j] * (dsi[j] - r) * z.scale;
      }
      for (int64_t i = 0; i < n; ++i) {  // dQ = dS K, dK = dS^T Q (the scale is in dS)
        const float* __restrict dsi = ds + i * n;
        const float* __restrict qi = q + base + i * e;
        float* __restrict gqi = gq + base + i * e;
        for (int64_t j = 0; j < n; ++j) {
          const float* __restrict kj = k + base + j * e;
          float* __restrict gkj = gk + base + j * e;
          const float w = dsi[j];
          for (int64_t c = 0; c < d; ++c) {
            gqi[c] += w * kj[c];
            gkj[c] += w * qi[c];
          }
        }
      }
    }
  }
}

// Examples per intra-op task: at autoint-m's sizes one example's forward is about 14 kFLOP, so a
// task of 32 is worth waking a thread for.
constexpr int64_t kGrain = 32;

Dims DimsOf(const Tensor& q, int64_t heads) {
  const int64_t d = q.size(2) / heads;
  return {q.size(0), q.size(1), q.size(2), heads, d, 1.0f / std::sqrt(static_cast<float>(d))};
}

class AttentionFunction : public torch::autograd::Function<AttentionFunction> {
 public:
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& q_in,
                        const Tensor& k_in, const Tensor& v_in, int64_t heads) {
    for (const Tensor* t : {&q_in, &k_in, &v_in}) {
      TORCH_CHECK(t->dim() == 3 && t->scalar_type() == torch::kFloat && t->device().is_cpu(),
                  "AttentionCore: q, k and v must be float32 [B, N, E] on the CPU");
    }
    TORCH_CHECK(k_in.sizes() == q_in.sizes() && v_in.sizes() == q_in.sizes(),
                "AttentionCore: q, k and v must have one shape");
    TORCH_CHECK(heads > 0 && q_in.size(2) % heads == 0,
                "AttentionCore: heads must divide the width");
    const Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
    const Dims z = DimsOf(q, heads);
    Tensor p = torch::empty({z.b, z.heads, z.n, z.n}, q.options());
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
    float* pp = p.data_ptr<float>();
    at::parallel_for(0, z.b, kGrain, [&](int64_t b0, int64_t b1) {
      std::vector<float> kt(static_cast<size_t>(z.d * z.n));
      ShiftedScores(qp, kp, pp, z, b0, b1, kt.data());
    });
    p.exp_();
    Tensor out = torch::zeros_like(q);
    float* op = out.data_ptr<float>();
    at::parallel_for(0, z.b, kGrain,
                     [&](int64_t b0, int64_t b1) { NormaliseAndMix(pp, vp, op, z, b0, b1); });
    ctx->save_for_backward({q, k, v, p});
    ctx->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    TORCH_CHECK(!torch::GradMode::is_enabled(),
                "AttentionCore: differentiable once only (create_graph is not supported)");
    const auto saved = ctx->get_saved_variables();
    const Tensor &q = saved[0], &k = saved[1], &v = saved[2], &p = saved[3];
    const Dims z = DimsOf(q, ctx->saved_data["heads"].toInt());
    const Tensor g = grads[0].contiguous();
    Tensor gq = torch::zeros_like(q), gk = torch::zeros_like(k), gv = torch::zeros_like(v);
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>(),
                *pp = p.data_ptr<float>(), *gp = g.data_ptr<float>();
    float *gqp = gq.data_ptr<float>(), *gkp = gk.data_ptr<float>(), *gvp = gv.data_ptr<float>();
    at::parallel_for(0, z.b, kGrain, [&](int64_t b0, int64_t b1) {
      std::vector<float> ds(static_cast<size_t>(z.n * z.n)), vt(static_cast<size_t>(z.d * z.n));
      Backward(qp, kp, vp, pp, gp, gqp, gkp, gvp, z, b0, b1, ds.data(), vt.data());
    });
    return {gq, gk, gv, Tensor()};
  }
};

}  // namespace

Tensor AttentionCore(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads) {
  return AttentionFunction::apply(q, k, v, heads);
}

}  // namespace scaleplan::rec
