// Calibration tables compiled into the binary (data/calibration/*.csv, sources in their headers).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/csv.h"
#include "core/embedded.h"
#include "core/status.h"

namespace scaleplan::hardware {

// Generated: every data/calibration/*.csv, kind = sub-folder ("" at the top), name = file name.
const std::vector<EmbeddedFile>& EmbeddedTables();

Result<CsvTable> EmbeddedTable(std::string_view name);

}  // namespace scaleplan::hardware
