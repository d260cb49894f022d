// Reading input files: every reader of a user-named file goes through ReadInputFile.
//
// An input must be a regular file (a device, a FIFO or a directory is refused: reading one could
// block forever or never end) or "-" for standard input, and at most `max_bytes` long (a larger one
// is refused before it is read, standard input as soon as it passes the cap). Errors name the path
// and say which of these failed: NotFound (no such path), Invalid (not a regular file, too large),
// IoError (exists but cannot be read).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace scaleplan {

inline constexpr int64_t kMaxSpecFileBytes = int64_t{64} << 20;   // YAML, JSON, CSV, text: 64 MiB
inline constexpr int64_t kMaxDataFileBytes = int64_t{4} << 30;    // document lengths, indexes: 4 GiB

Result<std::string> ReadInputFile(const std::string& path, int64_t max_bytes);

}  // namespace scaleplan
