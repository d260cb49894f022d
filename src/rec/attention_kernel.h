// The core of a self-attention layer (rec/arch.h's `attention` block) as one autograd operator:
// for each example b and head h, with Q, K, V the head's columns of the projections,
//
//   S = Q K^T / sqrt(d),  P = softmax(S) row by row,  O = P V,
//
// and its backward, dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dP * P)), dQ = dS K / sqrt(d),
// dK = dS^T Q / sqrt(d). Heads are column blocks: head h of a [B, N, E] input is columns
// h*d .. h*d+d-1, d = E / heads, so the operator takes and returns the projections as they are
// (inside, each example's and head's columns and N x N matrices are transposed into scratch, so
// that the products vectorise over N, not d).
//
// Why not torch::matmul and torch::softmax: libtorch 1.13 on a CPU without MKL (Debian's) runs a
// batched product of small matrices as one BLAS call per matrix, B x heads calls of a few thousand
// FLOPs each with their dispatch (at batch 256 and 2 heads: 512 calls per product, 6 products per
// layer's forward and backward), and its softmax over a last dimension of a few tens is slower
// than the exponentials it computes. Loops over a handful of rows cost less than the calls
// (docs/BENCHMARKS.md, "Attention as one operator"). The exponentials are ATen's (vectorised).
//
// Contract: q, k, v float32 [B, N, E] of one shape, E divisible by heads; any strides (made
// contiguous). Examples are dealt out to ATen's intra-op threads (torch::set_num_threads, the
// trainer's `threads`); each example's sums run in one fixed order on one thread, so the result
// does not depend on the thread count, and is deterministic on one CPU type (the exponentials are
// ATen's, whose vector routine depends on the CPU). It equals the matmul/softmax formula to float
// rounding (tests/rec_kernels_test.cpp), not bit for bit. Once differentiable (no second order).
#pragma once

#include <torch/torch.h>

namespace scaleplan::rec {

// softmax(Q K^T / sqrt(d)) V per example and head: [B, N, E]; differentiable in q, k and v.
torch::Tensor AttentionCore(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            int64_t heads);

}  // namespace scaleplan::rec
