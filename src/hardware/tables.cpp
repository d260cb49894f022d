#include "hardware/tables.h"

#include <fmt/format.h>

#include "core/text.h"

namespace scaleplan::hardware {

int CsvTable::Column(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

Result<CsvTable> ParseCsv(std::string_view text, const std::string& origin) {
  CsvTable table;
  size_t start = 0;
  int line = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view row = text.substr(start, end - start);
    start = end + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (row.empty() || row.front() == '#') continue;
    std::vector<std::string> cells;
    size_t cell_start = 0;
    while (true) {
      size_t comma = row.find(',', cell_start);
      cells.emplace_back(row.substr(cell_start, comma == std::string_view::npos ? std::string_view::npos : comma - cell_start));
      if (comma == std::string_view::npos) break;
      cell_start = comma + 1;
    }
    if (table.columns.empty()) {
      table.columns = std::move(cells);
      continue;
    }
    if (cells.size() != table.columns.size()) {
      return Status::Parse(fmt::format("{}:{}: expected {} columns, found {}", origin, line,
                                       table.columns.size(), cells.size()));
    }
    table.rows.push_back(std::move(cells));
  }
  if (table.columns.empty()) return Status::Parse(origin + ": no header line");
  return table;
}

Result<CsvTable> EmbeddedTable(std::string_view name) {
  for (const EmbeddedFile& f : EmbeddedTables()) {
    if (name == f.name) return ParseCsv(f.text, std::string("data/calibration/") + f.name);
  }
  return Status::NotFound(fmt::format("embedded table {} is missing", name));
}

}  // namespace scaleplan::hardware
