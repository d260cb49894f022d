// rec/attention_kernel.h. Per example and head the N x N matrices are kept transposed, rows
// over the keys j and lanes over the queries i, padded to a multiple of kLanes: every product is
// then a loop over N padded lanes of one row (y += w x) with no reduction in it, which the
// compiler vectorises whole, where the heads' d columns (4 for autoint-l) left vectors mostly
// empty. Each output element is still summed in the order the formulas give (over c, j or i
// ascending, from zero) with the same two operands per term, so the values are the same bits as
// with rows over i (commit 390ba3b's loops); the row max too is taken in the same order. Each
// function is compiled twice, for AVX2 and for the x86-64 baseline, and the CPU picks at load
// time; neither contracts a product and a sum into one rounding (no FMA: -ffp-contract=off,
// src/rec/CMakeLists.txt, which compiles this file at -O3). Examples are independent: each
// function runs on the examples [b0, b1), and the caller deals ranges out to ATen's intra-op
// threads.

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

// A padded row's lanes come in groups of kLanes floats (one AVX2 register; rec/train.cpp's
// TrainMemory counts the padding).
constexpr int64_t kLanes = 8;

// The sizes of one call: B examples of N rows of E columns, `heads` blocks of d columns; np: N
// padded to a multiple of kLanes.
struct Dims {
  int64_t b, n, e, heads, d, np;
  float scale;  // 1 / sqrt(d)
};

// y[0, np) += w * x[0, np), np a multiple of kLanes.
__attribute__((always_inline)) inline void AddScaled(float* __restrict y, float w,
                                                     const float* __restrict x, int64_t np) {
  for (int64_t i0 = 0; i0 < np; i0 += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) y[i0 + l] += w * x[i0 + l];
  }
}

__attribute__((always_inline)) inline void Zero(float* __restrict y, int64_t count) {
  for (int64_t i = 0; i < count; ++i) y[i] = 0;
}

// t[c * np + i] = x[base + i * e + c]: a head's d columns of N rows, transposed (lanes past N
// stay as they are: zero where the caller zeroed them).
__attribute__((always_inline)) inline void Transpose(const float* x, int64_t base, const Dims& z,
                                                     float* __restrict t) {
  for (int64_t i = 0; i < z.n; ++i) {
    for (int64_t c = 0; c < z.d; ++c) t[c * z.np + i] = x[base + i * z.e + c];
  }
}

// x[base + i * e + c] = t[c * np + i], the way back.
__attribute__((always_inline)) inline void Untranspose(const float* __restrict t, int64_t base,
                                                       const Dims& z, float* x) {
  for (int64_t i = 0; i < z.n; ++i) {
    for (int64_t c = 0; c < z.d; ++c) x[base + i * z.e + c] = t[c * z.np + i];
  }
}

// An N x np matrix's transpose, its padded lanes zero.
__attribute__((always_inline)) inline void SquareTranspose(const float* __restrict a, const Dims& z,
                                                           float* __restrict t) {
  for (int64_t i = 0; i < z.n; ++i) {
    float* ti = t + i * z.np;
    for (int64_t j = 0; j < z.n; ++j) ti[j] = a[j * z.np + i];
    for (int64_t j = z.n; j < z.np; ++j) ti[j] = 0;
  }
}

// out's head columns (base, rows of e) = X^T M, transposed: column c of row t is the sum over the
// rows r ascending of x[base + r * e + c] * m[r * np + t], taken in acc (d * np floats) lane by
// lane. m: N rows of np lanes.
__attribute__((always_inline)) inline void ProductInto(const float* x, const float* m, int64_t base,
                                                       const Dims& z, float* __restrict acc,
                                                       float* out) {
  Zero(acc, z.d * z.np);
  for (int64_t r = 0; r < z.n; ++r) {
    for (int64_t c = 0; c < z.d; ++c)
      AddScaled(acc + c * z.np, x[base + r * z.e + c], m + r * z.np, z.np);
  }
  Untranspose(acc, base, z, out);
}

// Scratch of one task (floats): a d x np block and a row of np lanes; for the backward pass a
// second block and two N x np matrices besides.
struct Scratch {
  std::vector<float> a, b, m1, m2, lane;
  Scratch(const Dims& z, bool backward)
      : a(static_cast<size_t>(z.d * z.np)),
        b(backward ? static_cast<size_t>(z.d * z.np) : 0),
        m1(backward ? static_cast<size_t>(z.n * z.np) : 0),
        m2(backward ? static_cast<size_t>(z.n * z.np) : 0),
        lane(static_cast<size_t>(z.np)) {}
};

// For every example and head, P^T <- S^T - colmax, S = Q K^T * scale: p is [B, heads, N, np],
// row j holding S[i][j] in lane i. qt: scratch of d * np floats, m: np.
SCALEPLAN_CLONES void ShiftedScores(const float* q, const float* k, float* p, const Dims& z,
                                    int64_t b0, int64_t b1, float* qt, float* m) {
  const int64_t n = z.n, e = z.e, d = z.d, np = z.np;
  Zero(qt, d * np);
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t h = 0; h < z.heads; ++h) {
      const int64_t base = b * n * e + h * d;
      Transpose(q, base, z, qt);
      float* ph = p + (b * z.heads + h) * n * np;
      for (int64_t j = 0; j < n; ++j) {
        float* __restrict pj = ph + j * np;
        Zero(pj, np);
        for (int64_t c = 0; c < d; ++c)
          AddScaled(pj, k[base + j * e + c] * z.scale, qt + c * np, np);
      }
      for (int64_t i = 0; i < np; ++i) m[i] = ph[i];
      for (int64_t j = 1; j < n; ++j) {
        const float* __restrict pj = ph + j * np;
        for (int64_t i = 0; i < np; ++i) m[i] = pj[i] > m[i] ? pj[i] : m[i];
      }
      for (int64_t j = 0; j < n; ++j) {
        float* __restrict pj = ph + j * np;
        for (int64_t i = 0; i < np; ++i) pj[i] -= m[i];
      }
    }
  }
}

// p holds exp(S - rowmax), transposed: normalises it to P and writes O = P V into o.
// ot: scratch of d * np floats, sum: np.
SCALEPLAN_CLONES void NormaliseAndMix(float* p, const float* v, float* o, const Dims& z, int64_t b0,
                                      int64_t b1, float* ot, float* sum) {
  const int64_t n = z.n, e = z.e, d = z.d, np = z.np;
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t h = 0; h < z.heads; ++h) {
      const int64_t base = b * n * e + h * d;
      float* ph = p + (b * z.heads + h) * n * np;
      Zero(sum, np);
      for (int64_t j = 0; j < n; ++j) {
        const float* __restrict pj = ph + j * np;
        for (int64_t i = 0; i < np; ++i) sum[i] += pj[i];
      }
      for (int64_t i = 0; i < np; ++i) sum[i] = 1.0f / sum[i];
      for (int64_t j = 0; j < n; ++j) {
        float* __restrict pj = ph + j * np;
        for (int64_t i = 0; i < np; ++i) pj[i] *= sum[i];
      }
      ProductInto(v, ph, base, z, ot, o);  // O = P V
    }
  }
}

// The gradients of q, k and v (written) from dO (g) and the saved P^T. Scratch: gt and acc d * np
// floats, dp and rows N * np, r np.
SCALEPLAN_CLONES void Backward(const float* q, const float* k, const float* v, const float* p,
                               const float* g, float* gq, float* gk, float* gv, const Dims& z,
                               int64_t b0, int64_t b1, float* gt, float* acc, float* dp,
                               float* rows, float* r) {
  const int64_t n = z.n, e = z.e, d = z.d, np = z.np;
  Zero(gt, d * np);
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t h = 0; h < z.heads; ++h) {
      const int64_t base = b * n * e + h * d;
      const float* ph = p + (b * z.heads + h) * n * np;
      Transpose(g, base, z, gt);
      for (int64_t j = 0; j < n; ++j) {  // dP^T: row j holds dO_i . V_j in lane i
        float* __restrict dpj = dp + j * np;
        Zero(dpj, np);
        for (int64_t c = 0; c < d; ++c) AddScaled(dpj, v[base + j * e + c], gt + c * np, np);
      }
      Zero(r, np);  // r_i = sum_j dP[i][j] P[i][j]
      for (int64_t j = 0; j < n; ++j) {
        const float* __restrict dpj = dp + j * np;
        const float* __restrict pj = ph + j * np;
        for (int64_t i = 0; i < np; ++i) r[i] += dpj[i] * pj[i];
      }
      for (int64_t j = 0; j < n; ++j) {  // dS^T = P (dP - r) scale, in place
        float* __restrict dpj = dp + j * np;
        const float* __restrict pj = ph + j * np;
        for (int64_t i = 0; i < np; ++i) dpj[i] = pj[i] * (dpj[i] - r[i]) * z.scale;
      }
      ProductInto(k, dp, base, z, acc, gq);    // dQ = dS K (the scale is in dS)
      SquareTranspose(dp, z, rows);            // dS, row i holding dS[i][j] in lane j
      ProductInto(q, rows, base, z, acc, gk);  // dK = dS^T Q
      SquareTranspose(ph, z, rows);            // P, row i holding P[i][j] in lane j
      ProductInto(g, rows, base, z, acc, gv);  // dV = P^T dO
    }
  }
}

// Examples per intra-op task: at autoint-m's sizes one example's forward is about 14 kFLOP, so a
// task of 32 is worth waking a thread for.
constexpr int64_t kGrain = 32;

Dims DimsOf(const Tensor& q, int64_t heads) {
  const int64_t d = q.size(2) / heads, n = q.size(1);
  return {q.size(0),
          n,
          q.size(2),
          heads,
          d,
          (n + kLanes - 1) / kLanes * kLanes,
          1.0f / std::sqrt(static_cast<float>(d))};
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
    Tensor p = torch::empty({z.b, z.heads, z.n, z.np}, q.options());  // P^T, lanes padded
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
    float* pp = p.data_ptr<float>();
    at::parallel_for(0, z.b, kGrain, [&](int64_t b0, int64_t b1) {
      Scratch s(z, false);
      ShiftedScores(qp, kp, pp, z, b0, b1, s.a.data(), s.lane.data());
    });
    p.exp_();
    Tensor out = torch::empty_like(q);
    float* op = out.data_ptr<float>();
    at::parallel_for(0, z.b, kGrain, [&](int64_t b0, int64_t b1) {
      Scratch s(z, false);
      NormaliseAndMix(pp, vp, op, z, b0, b1, s.a.data(), s.lane.data());
    });
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
    Tensor gq = torch::empty_like(q), gk = torch::empty_like(k), gv = torch::empty_like(v);
    const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>(),
                *pp = p.data_ptr<float>(), *gp = g.data_ptr<float>();
    float *gqp = gq.data_ptr<float>(), *gkp = gk.data_ptr<float>(), *gvp = gv.data_ptr<float>();
    at::parallel_for(0, z.b, kGrain, [&](int64_t b0, int64_t b1) {
      Scratch s(z, true);
      Backward(qp, kp, vp, pp, gp, gqp, gkp, gvp, z, b0, b1, s.a.data(), s.b.data(), s.m1.data(),
               s.m2.data(), s.lane.data());
    });
    return {gq, gk, gv, Tensor()};
  }
};

}  // namespace

Tensor AttentionCore(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads) {
  return AttentionFunction::apply(q, k, v, heads);
}

}  // namespace scaleplan::rec
