// What every fuzz harness checks besides "no crash, no sanitizer report, no uncaught exception,
// no hang": an error is a Status with a non-empty message, and a number a reader accepts or a model
// computes from accepted input is finite. A failed check aborts, which libFuzzer records as a crash.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/status.h"

namespace scaleplan::fuzz {

[[noreturn]] inline void Fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz check failed: %.*s: %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void CheckError(const Status& status) {
  if (!status.ok() && status.message().empty()) Fail("error without a message", "");
}

template <class T>
void CheckError(const Result<T>& result) {
  if (!result.ok()) CheckError(result.status());
}

inline void CheckFinite(double value, std::string_view what) {
  if (!std::isfinite(value)) Fail("not finite", what);
}

inline void CheckPositive(double value, std::string_view what) {
  if (!(std::isfinite(value) && value > 0)) Fail("not finite and positive", what);
}

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace scaleplan::fuzz
