// Writing results to files without ever leaving a half-written one.
#pragma once

#include <string>

#include "core/status.h"

namespace scaleplan::report {

// Writes `content` to a temporary file beside `path`, then renames it over `path`: readers see the
// old file or the whole new one. IoError names the path.
Status WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace scaleplan::report
