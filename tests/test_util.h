// Helpers shared by the tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/status.h"

namespace scaleplan::testing {

inline std::string Fixture(const std::string& relative) {
  return std::string(SCALEPLAN_TEST_DIR) + "/fixtures/" + relative;
}

// Unwraps a Result in a test, failing with its message when it is an error.
template <class T>
T Must(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error: " << result.status().message();
    std::abort();
  }
  return std::move(result).value();
}

}  // namespace scaleplan::testing
