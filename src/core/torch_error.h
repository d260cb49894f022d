// The one line of a libtorch exception a user reads (for the libtorch plugins only: it includes
// c10). c10::Error's what() carries a C++ backtrace of a few KB; the message is its first line.
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace scaleplan {

inline std::string TorchErrorText(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10 != nullptr ? c10->what_without_backtrace() : e.what();
  if (size_t eol = text.find('\n'); eol != std::string::npos) text.resize(eol);
  if (text.size() > 400) text = text.substr(0, 400) + "...";
  return "libtorch: " + text;
}

}  // namespace scaleplan
