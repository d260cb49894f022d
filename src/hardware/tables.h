// Calibration tables compiled into the binary (data/calibration/*.csv, sources in their headers)
// and a small reader for their comma-separated rows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/embedded.h"
#include "core/status.h"

namespace scaleplan::hardware {

// Generated: every data/calibration/*.csv, kind = sub-folder ("" at the top), name = file name.
const std::vector<EmbeddedFile>& EmbeddedTables();

// A CSV table: '#' lines are comments; the first other line is the header. No quoting (the
// embedded tables have none).
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  int Column(std::string_view name) const;  // -1 when absent
};

Result<CsvTable> ParseCsv(std::string_view text, const std::string& origin);
Result<CsvTable> EmbeddedTable(std::string_view name);

}  // namespace scaleplan::hardware
