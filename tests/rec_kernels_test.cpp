// The trainer's hand-written operators (src/rec/attention_kernel.h) against libtorch's own
// formula: values and gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "rec/attention_kernel.h"

namespace scaleplan::rec {
namespace {

using torch::Tensor;

// What the trainer computed before the kernel: softmax(Q K^T / sqrt(d)) V per head, heads being
// column blocks of width d.
Tensor Reference(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads) {
  const int64_t b = q.size(0), n = q.size(1), e = q.size(2), d = e / heads;
  auto split = [&](const Tensor& t) { return t.reshape({b, n, heads, d}).transpose(1, 2); };
  Tensor att = torch::softmax(
      torch::matmul(split(q), split(k).transpose(2, 3)) / std::sqrt(static_cast<double>(d)), -1);
  return torch::matmul(att, split(v)).transpose(1, 2).reshape({b, n, e});
}

// The operator's sums as commit 390ba3b's loops took them (rows over the queries i), plain: the
// operator, which holds its matrices transposed, must give the same bits (every sum in the same
// order with the same operands; no FMA on either side). Returns O and the gradients of q, k and
// v for the output gradient g.
std::vector<Tensor> RowLoops(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                             const Tensor& g_in, int64_t heads) {
  const Tensor q = q_in.detach().contiguous(), k = k_in.detach().contiguous(),
               v = v_in.detach().contiguous(), g = g_in.contiguous();
  const int64_t B = q.size(0), n = q.size(1), e = q.size(2), d = e / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>(),
              *gp = g.data_ptr<float>();
  Tensor p = torch::empty({B, heads, n, n});
  float* pp = p.data_ptr<float>();
  // body(base, ph): a head's first column in q, k, v, g; its N x N block of p.
  auto each_head = [&](const auto& body) {
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < heads; ++h) body(b * n * e + h * d, pp + (b * heads + h) * n * n);
    }
  };
  each_head([&](int64_t base, float* ph) {
    for (int64_t i = 0; i < n; ++i) {
      float* pi = ph + i * n;
      for (int64_t j = 0; j < n; ++j) pi[j] = 0;
      for (int64_t c = 0; c < d; ++c) {
        for (int64_t j = 0; j < n; ++j)
          pi[j] += qp[base + i * e + c] * (kp[base + j * e + c] * scale);
      }
      float m = pi[0];
      for (int64_t j = 1; j < n; ++j) m = pi[j] > m ? pi[j] : m;
      for (int64_t j = 0; j < n; ++j) pi[j] -= m;
    }
  });
  p.exp_();
  Tensor o = torch::zeros_like(q), gq = torch::zeros_like(q), gk = torch::zeros_like(q),
         gv = torch::zeros_like(q);
  float *op = o.data_ptr<float>(), *gqp = gq.data_ptr<float>(), *gkp = gk.data_ptr<float>(),
        *gvp = gv.data_ptr<float>();
  std::vector<float> ds(static_cast<size_t>(n * n));
  each_head([&](int64_t base, float* ph) {
    for (int64_t i = 0; i < n; ++i) {
      float* pi = ph + i * n;
      float sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += pi[j];
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < n; ++j) pi[j] *= inv;
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t c = 0; c < d; ++c) op[base + i * e + c] += pi[j] * vp[base + j * e + c];
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      const float* pi = ph + i * n;
      float* dsi = ds.data() + i * n;
      for (int64_t j = 0; j < n; ++j) dsi[j] = 0;
      for (int64_t c = 0; c < d; ++c) {
        for (int64_t j = 0; j < n; ++j) dsi[j] += gp[base + i * e + c] * vp[base + j * e + c];
      }
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t c = 0; c < d; ++c) gvp[base + j * e + c] += pi[j] * gp[base + i * e + c];
      }
      float r = 0;
      for (int64_t j = 0; j < n; ++j) r += dsi[j] * pi[j];
      for (int64_t j = 0; j < n; ++j) dsi[j] = pi[j] * (dsi[j] - r) * scale;
    }
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        const float w = ds[static_cast<size_t>(i * n + j)];
        for (int64_t c = 0; c < d; ++c) {
          gqp[base + i * e + c] += w * kp[base + j * e + c];
          gkp[base + j * e + c] += w * qp[base + i * e + c];
        }
      }
    }
  });
  return {o, gq, gk, gv};
}

TEST(AttentionKernel, SameBitsAsTheRowLoops) {
  for (const auto& [b, n, e, heads] :
       {std::array<int64_t, 4>{3, 29, 16, 4}, std::array<int64_t, 4>{2, 21, 16, 2},
        std::array<int64_t, 4>{2, 8, 8, 1}, std::array<int64_t, 4>{1, 1, 4, 2}}) {
    torch::manual_seed(11);
    Tensor q = torch::randn({b, n, e}, torch::requires_grad());
    Tensor k = torch::randn({b, n, e}, torch::requires_grad());
    Tensor v = torch::randn({b, n, e}, torch::requires_grad());
    Tensor g = torch::randn({b, n, e});
    Tensor got = AttentionCore(q, k, v, heads);
    auto grads = torch::autograd::grad({got}, {q, k, v}, {g});
    const std::vector<Tensor> want = RowLoops(q, k, v, g, heads);
    const std::string shape = "N " + std::to_string(n) + ", heads " + std::to_string(heads);
    EXPECT_TRUE(torch::equal(got.detach(), want[0])) << shape;
    for (int i = 0; i < 3; ++i)
      EXPECT_TRUE(torch::equal(grads[i], want[i + 1])) << shape << ", input " << i;
  }
}

TEST(AttentionKernel, HandDerivedTwoRows) {
  // N = 2 rows, d = 1 (scale 1), one head. q = k = [1, 0], v = [1, 3].
  // Row 0 scores [1, 0]: P = [e/(e+1), 1/(e+1)] = [0.731059, 0.268941], O = 0.731059 + 3 x
  // 0.268941 = 1.537883. Row 1 scores [0, 0]: P = [0.5, 0.5], O = 2.
  Tensor q = torch::tensor({1.0f, 0.0f}).view({1, 2, 1});
  Tensor v = torch::tensor({1.0f, 3.0f}).view({1, 2, 1});
  Tensor o = AttentionCore(q, q, v, 1);
  EXPECT_NEAR(o[0][0][0].item<float>(), 1.537883f, 1e-6);
  EXPECT_NEAR(o[0][1][0].item<float>(), 2.0f, 1e-6);
}

struct Shape {
  int64_t b, n, e, heads;
};

class AttentionKernelShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(AttentionKernelShapes, MatchesLibtorchInValueAndGradient) {
  const Shape s = GetParam();
  torch::manual_seed(7);
  Tensor q = torch::randn({s.b, s.n, s.e}, torch::requires_grad());
  Tensor k = torch::randn({s.b, s.n, s.e}, torch::requires_grad());
  Tensor v = torch::randn({s.b, s.n, s.e}, torch::requires_grad());
  Tensor w = torch::randn({s.b, s.n, s.e});  // the loss sum(w * O) gives every output a weight

  Tensor ref = Reference(q, k, v, s.heads);
  auto ref_grads = torch::autograd::grad({(ref * w).sum()}, {q, k, v});
  Tensor got = AttentionCore(q, k, v, s.heads);
  auto got_grads = torch::autograd::grad({(got * w).sum()}, {q, k, v});

  // Float rounding only: the two sum in different orders over at most d = 64 terms (a score) or
  // N = 29 (a weighted sum) of size ~1; random-signed errors of 6e-8 per term grow to about
  // sqrt(64) x 6e-8 = 5e-7 per sum, and a gradient chains three such sums: 1e-5 leaves a margin.
  EXPECT_LT((got - ref).abs().max().item<float>(), 1e-5);
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT((got_grads[i] - ref_grads[i]).abs().max().item<float>(), 1e-5) << "input " << i;
    // Not all zero, so the comparison compares something; with one row P = 1 whatever q and k
    // are, and only v's gradient is not zero.
    if (s.n > 1 || i == 2) {
      EXPECT_GT(ref_grads[i].abs().max().item<float>(), 1e-3) << "input " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionKernelShapes,
                         ::testing::Values(Shape{1, 1, 4, 1},    // one row: P = 1, O = V
                                           Shape{3, 5, 8, 2},    // odd rows
                                           Shape{4, 21, 16, 2},  // autoint-m on the default spec
                                           Shape{2, 7, 16, 4},   // d = 4
                                           Shape{2, 8, 16, 4},   // N one group of 8 lanes
                                           Shape{3, 29, 16, 4},  // autoint-l, criteo-shaped
                                           Shape{2, 9, 64, 1}),  // d = 64, one head
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           const Shape& s = info.param;
                           return "B" + std::to_string(s.b) + "_N" + std::to_string(s.n) + "_E" +
                                  std::to_string(s.e) + "_heads" + std::to_string(s.heads);
                         });

TEST(AttentionKernel, StridedInputsMatchLibtorch) {
  // Transposed views (not contiguous) for q, k and v: values and gradients as libtorch's formula
  // computes them on the same views.
  torch::manual_seed(3);
  Tensor base = torch::randn({3, 2, 8, 6}, torch::requires_grad());
  Tensor q = base[0].transpose(1, 2), k = base[1].transpose(1, 2), v = base[2].transpose(1, 2);
  ASSERT_FALSE(q.is_contiguous());  // [2, 6, 8]
  Tensor w = torch::randn({2, 6, 8});
  Tensor ref = Reference(q, k, v, 2);
  Tensor ref_grad = torch::autograd::grad({(ref * w).sum()}, {base})[0];
  Tensor got = AttentionCore(q, k, v, 2);
  Tensor got_grad = torch::autograd::grad({(got * w).sum()}, {base})[0];
  EXPECT_LT((got - ref).abs().max().item<float>(), 1e-5);
  EXPECT_LT((got_grad - ref_grad).abs().max().item<float>(), 1e-5);
}

TEST(AttentionKernel, SameResultOnOneOrTwoThreads) {
  // Examples are dealt out to threads whole, each summed in one order: bit for bit the same.
  torch::manual_seed(5);
  Tensor q = torch::randn({100, 7, 16}, torch::requires_grad());
  Tensor w = torch::randn({100, 7, 16});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  Tensor one = AttentionCore(q, q * 0.5, q * 2, 2);
  Tensor one_grad = torch::autograd::grad({(one * w).sum()}, {q})[0];
  torch::set_num_threads(2);
  Tensor two = AttentionCore(q, q * 0.5, q * 2, 2);
  Tensor two_grad = torch::autograd::grad({(two * w).sum()}, {q})[0];
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));
  EXPECT_TRUE(torch::equal(one_grad, two_grad));
}

TEST(AttentionKernel, RejectsOtherTypesAndSecondOrder) {
  Tensor q = torch::randn({1, 3, 4}, torch::requires_grad());
  EXPECT_THROW(AttentionCore(q, q, q.to(torch::kDouble), 1), c10::Error);
  Tensor o = AttentionCore(q, q, q, 2).sum();
  EXPECT_THROW(torch::autograd::grad({o}, {q}, {}, /*retain_graph=*/true, /*create_graph=*/true),
               c10::Error);
}

TEST(AttentionKernel, RejectsWidthNotDivisibleByHeads) {
  Tensor q = torch::randn({1, 3, 6});
  EXPECT_THROW(AttentionCore(q, q, q, 4), c10::Error);
}

}  // namespace
}  // namespace scaleplan::rec
