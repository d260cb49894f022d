// Bounds on what a measured collective may say (nccl-tests outputs, XLA's collective table): far
// outside any real run, but finite, so that every reader refuses the same values.
#pragma once

#include <cstdint>

namespace scaleplan::collective {

inline constexpr double kMaxMeasuredBytes = 1125899906842624.0;  // 2^50 bytes
inline constexpr double kMinMeasuredTimeUs = 1e-3;               // 1 ns
inline constexpr double kMaxMeasuredTimeUs = 1e10;               // about 3 hours
inline constexpr double kMaxMeasuredBandwidthGBs = 1e6;          // 1 PB/s
inline constexpr int64_t kMaxMeasuredRanks = int64_t{1} << 24;

}  // namespace scaleplan::collective
