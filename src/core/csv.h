// Reading comma-separated tables: quoted cells ("a, b" and "" for a quote), '#' comment lines
// before the header, CRLF line ends. The calibration tables and users' own CSV files use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace scaleplan {

struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // 1-based source line of each row, for messages

  int Column(std::string_view name) const;  // -1 when absent
  // The cell of `row` in column `name`, or "" when the column is absent.
  const std::string& Cell(size_t row, std::string_view name) const;
};

// Errors name `origin` and the line: an unterminated quote, a header naming a column twice, or a
// row whose cell count differs from the header's.
Result<CsvTable> ParseCsv(std::string_view text, const std::string& origin);

// A cell's number in [lo, hi] (NaN never), or an error "where: column = 'cell' (allowed:
// allowed)"; `where` names the file and line.
Result<double> BoundedCell(std::string_view cell, std::string_view where, std::string_view column,
                           double lo, double hi, std::string_view allowed);
// A cell's whole number in [lo, hi], or an error naming where, the column, the cell and the range.
Result<int64_t> BoundedWholeCell(std::string_view cell, std::string_view where,
                                 std::string_view column, int64_t lo, int64_t hi);

// Half a unit in the last digit a number is written with, relative to its value ("0.156" ->
// 0.0005 / 0.156, "1.94867e-05" -> 0.000005e-05 / 1.94867e-05); 0 for text that is not a plain
// decimal number or for zero.
double WrittenRelativePrecision(std::string_view cell);

// A column a table gives beside the ones it is read from, derived from them (a throughput beside
// a time): blank, or within the two values' written digits (and 0.1% for the writer's own
// rounding) of `derived`, which the row's other cells give with relative precision
// `derived_precision`. Otherwise an error "where: column = 'cell' disagrees with formula =
// derived (allowed: ...)", so a row whose columns contradict each other is not scored by one.
Status CheckDerivedCell(std::string_view cell, std::string_view where, std::string_view column,
                        double derived, double derived_precision, std::string_view formula);

}  // namespace scaleplan
