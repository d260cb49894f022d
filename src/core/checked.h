// Checked arithmetic on sizes users give (parallel sizes, counts, batch sizes): a product or sum
// that would leave int64 is reported, never wrapped. Callers bound the result as well, so that
// what they pass on is also small enough for the arithmetic after them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>

namespace scaleplan {

// a * b, or nullopt when it does not fit in int64.
inline std::optional<int64_t> CheckedMul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// a + b, or nullopt when it does not fit in int64.
inline std::optional<int64_t> CheckedAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// The product of `factors` when it fits in int64 and is at most `limit`; nullopt otherwise.
inline std::optional<int64_t> BoundedProduct(std::initializer_list<int64_t> factors, int64_t limit) {
  int64_t out = 1;
  for (int64_t f : factors) {
    std::optional<int64_t> next = CheckedMul(out, f);
    if (!next || *next > limit || *next < -limit) return std::nullopt;
    out = *next;
  }
  return out;
}

}  // namespace scaleplan
