// How fast a GPU runs the kernels of a training step.
//
//   time(op) = max(flops / (peak * eta_compute(shape)), bytes / (hbm_bw * eta_mem)) + t_kernel
//
// eta_compute comes from measured tables, never from one global constant:
//  * GEMM: XLA's measured matmul table (data/calibration/xla_gemm.csv; sm_90 for H100/H200 and,
//    scaled by peak, other pre-Blackwell GPUs; sm_100 for B200), interpolated trilinearly in
//    (log2 m, log2 n, log2 k) over m in 256..16384 (batched rows b*m extend m past 4096) and n, k
//    in 256..4096. Past 4096 in n or k the efficiency is held at the edge (large GEMMs saturate);
//    below 256 it falls linearly with the dimension (the kernel's time no longer shrinks).
//  * Attention (FlashAttention convention: forward 4*s^2*d*heads FLOP per sequence, halved when
//    causal): forward efficiency from the cuDNN rows of data/calibration/attention_h100.csv
//    (Transformer Engine's fused attention on Hopper), backward efficiency implied by
//    FlashAttention-2's forward and forward+backward rows, eta_bwd = 2.5 / (3.5/eta_fb - 1/eta_f);
//    interpolated in log2 key length (512..16384) and head dim (64, 128, 256), linear fall-off
//    below 512 keys. Other GPUs: the H100 fraction of peak times gpu.attention_efficiency_scale.
//  * Tensor-core kernels keep gpu.sustained_compute_fraction of the tables' throughput over a
//    training step (the tables are short benchmarks; a step runs power-limited, back to back). This
//    is the one fitted factor per GPU (docs/ACCURACY.md).
//  * Memory-bound kernels (norms, activations, residuals, loss, optimizer): eta_mem of HBM
//  bandwidth.
// Named constants (assumptions, not fitted): eta_mem = 0.80 (typical achieved fraction of HBM
// bandwidth for streaming kernels), t_kernel = 4 us (launch and tail per kernel).
#pragma once

#include <memory>

#include "core/status.h"
#include "spec/specs.h"

namespace scaleplan::hardware {

inline constexpr double kMemoryBoundEfficiency = 0.80;
inline constexpr double kKernelOverheadS = 4e-6;

struct EfficiencyGrids;  // tables.cpp-backed grids, shared by every DeviceModel of a kind

class DeviceModel {
 public:
  // The kernel model of `gpu` running GEMMs in `precision` (attention always in BF16).
  static Result<DeviceModel> For(const spec::GpuSpec& gpu, spec::Precision precision);

  double gemm_peak_flops_per_s() const { return gemm_peak_; }
  double bf16_peak_flops_per_s() const { return bf16_peak_; }

  // Fraction of the GEMM peak reached by an m x k by k x n matrix multiply.
  double GemmEfficiency(double m, double n, double k) const;
  // Fraction of the BF16 peak reached by attention over `key_len` keys.
  double AttentionForwardEfficiency(double key_len, double head_dim, bool causal) const;
  double AttentionBackwardEfficiency(double key_len, double head_dim, bool causal) const;

  double GemmSeconds(double flops, double bytes, double m, double n, double k) const;
  double AttentionSeconds(double flops, double bytes, double key_len, double head_dim,
                          bool backward) const;
  double MemoryBoundSeconds(double flops, double bytes) const;
  double memory_bandwidth_bytes_per_s() const { return hbm_; }

 private:
  std::shared_ptr<const EfficiencyGrids> grids_;
  double gemm_peak_ = 0;
  double bf16_peak_ = 0;
  double hbm_ = 0;
  double attention_scale_ = 1.0;
  double sustained_ = 1.0;
};

}  // namespace scaleplan::hardware
