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
//    The sm_90 FP8 rows exceed the H100's FP8 peak (131% at best), so their shape dependence is
//    rescaled to the best FP8 GEMM measured elsewhere (mamf-finder, 70.9% of peak; BF16's table
//    tops out at 81%, matching mamf-finder's 80.3%). Another GPU on the sm_90 table scales the
//    BF16 fraction by gpu.gemm_efficiency_scale, its best measured GEMM against H100's (capped at
//    the peak): A100 reaches 86.9% at best, so 1.082. A GPU whose peak differs from the table
//    GPU's reads a GEMM's efficiency at the shape that runs as long there: m scaled by the ratio
//    of the peaks (an A100 GEMM of 2,048 rows at the H100 table's 6,494). The loss at small shapes
//    is fixed time per kernel (launch, prologue and epilogue, the last wave's tail) against the
//    kernel's run time, and a slower GPU runs the same shape longer (an assumption: the SM count,
//    108 on A100 against 132, and so the wave quantization, are not modeled; nor a power cap,
//    which also lengthens kernels). "m" is the first dimension of each GEMM as the model calls
//    it (the token rows for forward and data-gradient GEMMs, a weight dimension for the
//    weight-gradient one). With the A100 factor refitted on SC21 Table 1 it took that set from
//    7.7% to 3.4% and predicts the Selene runs of Korthikanti et al. 2022, which the fit never
//    saw, at 4.5% (docs/ACCURACY.md).
//  * Attention (FlashAttention convention: forward 4*s^2*d*heads FLOP per sequence, halved when
//    causal): forward efficiency from the cuDNN rows of data/calibration/attention_h100.csv
//    (Transformer Engine's fused attention on Hopper), backward efficiency implied by
//    FlashAttention-2's forward and forward+backward rows, eta_bwd = 2.5 / (3.5/eta_fb - 1/eta_f);
//    interpolated in log2 key length (512..16384) and head dim (64, 128, 256), linear fall-off
//    below 512 keys. Other GPUs: the H100 fraction of peak times gpu.attention_efficiency_scale.
//    framework.attention_table = cudnn-9.19 reads both directions from cuDNN 9.19's rows measured
//    by this project on one H200 (data/calibration/h200-kernels/h200_attention.csv; H200 and H100
//    share the dense BF16 peak).
//  * Tensor-core kernels keep gpu.sustained_compute_fraction of the tables' throughput over a
//    training step (the tables are short benchmarks; a step runs power-limited, back to back), and
//    spec::PowerClockFraction(gpu) of that under a power cap below the TDP.
//  * The framework (spec::FrameworkSpec) picks the attention table (cuDNN or FlashAttention-2
//    forward rows) and scales it by attention_fraction; FP8 GEMMs keep fp8_gemm_fraction of the FP8
//    table; memory-bound kernels reach memory_fraction of HBM bandwidth; every kernel pays
//    kernel_overhead_s (launch gap and tail). These, with the sustained fraction, are the factors
//    `scaleplan calibrate` fits (docs/ACCURACY.md lists them with their bounds).
#pragma once

#include <memory>

#include "core/status.h"
#include "spec/specs.h"

namespace scaleplan::hardware {

struct EfficiencyGrids;  // tables.cpp-backed grids, shared by every DeviceModel of a kind

class DeviceModel {
 public:
  // The kernel model of `gpu` under `framework`, able to run GEMMs in BF16 and, when `precision`
  // is FP8 or FP4 and the GPU has that format, in it (attention always in BF16). NVFP4 GEMMs have
  // no measured table: they read the FP8 table where a GEMM runs as long on the table's GPU (the
  // rows scaled by the FP8 table's peak over the FP4 peak), an assumption (docs/ACCURACY.md).
  static Result<DeviceModel> For(const spec::GpuSpec& gpu, spec::Precision precision,
                                 const spec::FrameworkSpec& framework);
  // The same for a job: its cluster's GPU, its plan's precision, its framework.
  static Result<DeviceModel> For(const spec::JobSpec& job);

  double bf16_peak_flops_per_s() const { return bf16_peak_; }
  const spec::FrameworkSpec& framework() const { return framework_; }

  // Fraction of the GEMM peak (BF16, or the plan's low precision with `low`) reached by an
  // m x k by k x n matrix multiply.
  double GemmEfficiency(double m, double n, double k, bool low = false) const;
  // Fraction of the BF16 peak reached by attention over `key_len` keys.
  double AttentionForwardEfficiency(double key_len, double head_dim, bool causal) const;
  double AttentionBackwardEfficiency(double key_len, double head_dim, bool causal) const;

  // A GEMM in BF16, or in the plan's FP8 or FP4 (`low`; only on a model built for one, else
  // BF16).
  double GemmSeconds(double flops, double bytes, double m, double n, double k,
                     bool low = false) const;
  // Causal unless `causal` is false (the training step's attention is; measured kernel tables
  // hold both).
  double AttentionSeconds(double flops, double bytes, double key_len, double head_dim,
                          bool backward, bool causal = true) const;
  // `kernels` memory-bound kernels moving `bytes` in all.
  double MemoryBoundSeconds(double flops, double bytes, double kernels = 1) const;
  double memory_bandwidth_bytes_per_s() const { return hbm_; }
  double kernel_overhead_s() const { return framework_.kernel_overhead_s; }
  // Whether GEMMs can run in the plan's FP8 or FP4.
  bool has_low_precision() const { return low_grids_ != nullptr; }

 private:
  std::shared_ptr<const EfficiencyGrids> grids_;  // BF16 GEMMs and attention
  // FP8 GEMMs (also read for FP4); null in BF16 or without the format
  std::shared_ptr<const EfficiencyGrids> low_grids_;
  spec::FrameworkSpec framework_;
  double low_peak_ = 0;  // the FP8 or FP4 peak
  double bf16_peak_ = 0;
  double hbm_ = 0;
  double attention_scale_ = 1.0;
  double gemm_scale_ = 1.0;  // BF16 GEMMs: gpu.gemm_efficiency_scale
  // The table GPU's peak over this GPU's (BF16; FP8 table over FP8 or FP4): GEMM rows are scaled
  // by it before lookup.
  double bf16_rows_scale_ = 1.0, low_rows_scale_ = 1.0;
  double sustained_ = 1.0;  // sustained fraction x power-cap clock fraction
};

}  // namespace scaleplan::hardware
