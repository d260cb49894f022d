#include "hardware/tables.h"

#include <fmt/format.h>

namespace scaleplan::hardware {

Result<CsvTable> EmbeddedTable(std::string_view name) {
  for (const EmbeddedFile& f : EmbeddedTables()) {
    if (name == f.name) return ParseCsv(f.text, std::string("data/calibration/") + f.name);
  }
  return Status::NotFound(fmt::format("embedded table {} is missing", name));
}

}  // namespace scaleplan::hardware
