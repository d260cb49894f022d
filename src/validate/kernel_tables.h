// Measured kernel tables (data/calibration/h200-kernels/, written by scripts/measure-kernels.py):
// each row's kernel priced by the kernel model (hardware/efficiency.h) on the row's GPU preset
// (its `gpu` column) and compared on time.
//   GEMM rows (gpu, set, dtype, layout, m, n, k, seconds): DeviceModel::GemmSeconds in BF16, or in
//     FP8 for the fp8_* dtypes, at the row's (m, n, k).
//   Attention rows (gpu, backend, direction, causal, head_dim, seq_len, batch, heads, seconds):
//     DeviceModel::AttentionSeconds on the backend's table (flash: FlashAttention-2's rows, cudnn:
//     cuDNN's), FLOPs by the FlashAttention convention (forward 4 b s^2 heads d, halved when
//     causal; backward 2.5x). forward+backward rows are scored by their two parts and listed.
//   Memory-bound rows (gpu, op, mode, direction, shape, bytes_min, seconds, kernels): the model's
//     own op (model.h: the norm, the activation, the rotary embedding, the loss) for the row's
//     shape, fused or eager as the row ran (sim/analytical.h, MemoryBoundOpSeconds); copy and add
//     as one kernel moving bytes_min; torchao's tensorwise FP8 cast as sim::Fp8CastSeconds runs
//     it; AdamW as sim::AdamStepSeconds (fused or, for the foreach row, unfused; bytes_min is the
//     fused step's 28 bytes a parameter). Softmax, which the model prices inside attention, is
//     listed with the reason.
// Kernels are priced as inside a training step: tensor-core kernels at the GPU's
// sustained_compute_fraction of the tables' throughput (the measured loops ran back to back at
// the card's power cap), every kernel with the framework's launch overhead. GEMM rows whose
// measured time is within twice the fastest call of their GPU and dtype over the whole table
// (PyTorch's per-call host overhead, about 13.5 us in BF16), where that call is under 50 us,
// measured the host, not the kernel, and are skipped with that reason. A weight-gradient GEMM
// row (out x in) is priced as the step model orders that GEMM (in x out). Bad cells, an unknown
// op, a mode or direction the op does not run in, and a table whose columns fit two kinds are
// errors naming the file, line and value.
#pragma once

#include <string>

#include "core/csv.h"
#include "core/status.h"
#include "validate/validate.h"

namespace scaleplan::validate {

// Whether the table's columns are those of a measured kernel table (GEMM, attention or
// memory-bound kernels).
bool IsKernelTable(const CsvTable& table);

Result<FileReport> ValidateKernelTable(const CsvTable& table, const std::string& origin,
                                       const Options& options);

}  // namespace scaleplan::validate
