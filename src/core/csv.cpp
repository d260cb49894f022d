#include "core/csv.h"

#include <fmt/format.h>

#include <cmath>
#include <string_view>
#include <unordered_map>

#include "core/text.h"

namespace scaleplan {

int CsvTable::Column(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  return -1;
}

const std::string& CsvTable::Cell(size_t row, std::string_view name) const {
  static const std::string kEmpty;
  int c = Column(name);
  return c < 0 ? kEmpty : rows[row][static_cast<size_t>(c)];
}

Result<CsvTable> ParseCsv(std::string_view text, const std::string& origin) {
  SP_RETURN_IF_ERROR(CheckText(text, origin));
  CsvTable table;
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  bool at_line_start = true;
  int line = 1;
  int record_line = 1;
  auto finish_record = [&]() -> Status {
    cells.push_back(std::move(cell));
    cell.clear();
    bool blank = cells.size() == 1 && cells[0].empty();
    if (!blank) {
      if (table.columns.empty()) {
        // A column named twice: which cell a reader takes would be a guess.
        std::unordered_map<std::string_view, size_t> first;
        for (size_t b = 0; b < cells.size(); ++b) {
          if (cells[b].empty()) continue;
          auto [at, added] = first.emplace(cells[b], b);
          if (!added) {
            return Status::Parse(fmt::format(
                "{}:{}: column {} is named twice, columns {} and {} (allowed: one column per "
                "name)",
                origin, record_line, Printable(cells[b], 64), at->second + 1, b + 1));
          }
        }
        table.columns = std::move(cells);
      } else if (cells.size() != table.columns.size()) {
        return Status::Parse(fmt::format("{}:{}: expected {} cells, found {}", origin, record_line,
                                         table.columns.size(), cells.size()));
      } else {
        table.rows.push_back(std::move(cells));
        table.lines.push_back(record_line);
      }
    }
    cells.clear();
    return Status::Ok();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (at_line_start && !quoted && table.columns.empty() && ch == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      ++line;
      continue;
    }
    if (at_line_start) record_line = line;
    at_line_start = false;
    if (quoted) {
      if (ch == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (ch == '\n') ++line;
        cell += ch;
      }
      continue;
    }
    if (ch == '"' && cell.empty()) {
      quoted = true;
    } else if (ch == ',') {
      cells.push_back(std::move(cell));
      cell.clear();
    } else if (ch == '\n') {
      SP_RETURN_IF_ERROR(finish_record());
      ++line;
      at_line_start = true;
    } else if (ch == '\r') {
      // CRLF, and CR CR LF (a CSV writer in text mode on Windows), end a line; a CR before
      // anything else is a classic Mac line ending.
      size_t next = i + 1;
      while (next < text.size() && text[next] == '\r') ++next;
      if (next < text.size() && text[next] != '\n') {
        return Status::Parse(fmt::format(
            "{}:{}: a carriage return not followed by a line feed, outside quotes (classic Mac "
            "line endings; allowed: LF or CRLF line endings)",
            origin, line));
      }
    } else {
      cell += ch;
    }
  }
  if (quoted)
    return Status::Parse(fmt::format("{}:{}: unterminated quoted cell", origin, record_line));
  if (!at_line_start || !cell.empty() || !cells.empty()) SP_RETURN_IF_ERROR(finish_record());
  if (table.columns.empty()) return Status::Parse(origin + ": no header line");
  return table;
}

Result<double> BoundedCell(std::string_view cell, std::string_view where, std::string_view column,
                           double lo, double hi, std::string_view allowed) {
  Result<double> v = ParseNumber(cell);
  if (!v.ok() || !(*v >= lo && *v <= hi)) {
    return Status::Invalid(
        fmt::format("{}: {} = '{}' (allowed: {})", where, column, Printable(cell, 40), allowed));
  }
  return *v;
}

Result<int64_t> BoundedWholeCell(std::string_view cell, std::string_view where,
                                 std::string_view column, int64_t lo, int64_t hi) {
  Result<int64_t> v = ParseInteger(cell);
  if (!v.ok() || *v < lo || *v > hi) {
    return Status::Invalid(fmt::format("{}: {} = '{}' (allowed: a whole number from {} to {})",
                                       where, column, Printable(cell, 40), lo, hi));
  }
  return *v;
}

double WrittenRelativePrecision(std::string_view cell) {
  const std::string_view text = Trim(cell);
  // Plain decimal text only: [+-]digits[.digits][(e|E)[+-]digits] (no suffixes such as k).
  for (char ch : text) {
    if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' ||
          ch == '-'))
      return 0.0;
  }
  Result<double> value = ParseNumber(text);
  if (!value.ok() || *value == 0.0 || !std::isfinite(*value)) return 0.0;
  const size_t e = text.find_first_of("eE");
  const std::string_view mantissa = text.substr(0, e);
  int exponent = 0;
  if (e != std::string_view::npos) {
    Result<int64_t> read = ParseInteger(text.substr(e + 1));
    if (!read.ok() || *read < -400 || *read > 400) return 0.0;
    exponent = static_cast<int>(*read);
  }
  const size_t dot = mantissa.find('.');
  const int decimals =
      dot == std::string_view::npos ? 0 : static_cast<int>(mantissa.size() - dot - 1);
  return 0.5 * std::pow(10.0, exponent - decimals) / std::fabs(*value);
}

Status CheckDerivedCell(std::string_view cell, std::string_view where, std::string_view column,
                        double derived, double derived_precision, std::string_view formula) {
  if (Trim(cell).empty()) return Status::Ok();
  Result<double> v = ParseNumber(cell);
  const double allowed_gap = WrittenRelativePrecision(cell) + derived_precision + 1e-3;
  if (v.ok() && std::isfinite(*v) && *v > 0 &&
      std::fabs(*v - derived) <= allowed_gap * std::fabs(*v)) {
    return Status::Ok();
  }
  return Status::Invalid(fmt::format(
      "{}: {} = '{}' disagrees with {} = {:.6g} (allowed: that value to the digits written, "
      "within {:.2g}%, or blank)",
      where, column, Printable(cell, 40), formula, derived, 100.0 * allowed_gap));
}

}  // namespace scaleplan
