// Units and naming.
//
// Every quantity in scaleplan is in base SI units: seconds, bytes, FLOP (floating-point
// operations), FLOP/s, bytes/s. Names carry the unit as a suffix (`_s`, `_bytes`, `_flops`,
// `_bytes_per_s`,
// `_flops_per_s`); counts (parameters, tokens, layers) carry none. Never cycles.
#pragma once

#include <cstdint>

namespace scaleplan {

inline constexpr double kKilo = 1e3;
inline constexpr double kMega = 1e6;
inline constexpr double kGiga = 1e9;
inline constexpr double kTera = 1e12;
inline constexpr double kKi = 1024.0;
inline constexpr double kMi = 1024.0 * 1024.0;
inline constexpr double kGi = 1024.0 * 1024.0 * 1024.0;

// Bytes per element of the number formats used in training.
inline constexpr double kBf16Bytes = 2.0;
inline constexpr double kFp32Bytes = 4.0;
inline constexpr double kFp8Bytes = 1.0;
// NVFP4: a 4-bit E2M1 value and one E4M3 scale byte per block of 16 (NVIDIA, "Pretraining Large
// Language Models with NVFP4", arXiv:2509.25149, section 2); the per-tensor FP32 scale is
// negligible.
inline constexpr double kNvfp4Bytes = 0.5 + 1.0 / 16.0;

}  // namespace scaleplan
