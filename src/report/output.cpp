#include "report/output.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <optional>

#include "core/text.h"

namespace scaleplan::report {

namespace {

// A key as a JSON pointer token (RFC 6901): ~ as ~0, / as ~1.
std::string PointerToken(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// The JSON pointer of the first non-finite number under `j` (at `path`), if any.
std::optional<std::string> FirstNonFinite(const nlohmann::json& j, const std::string& path) {
  if (j.is_number_float()) {
    if (!std::isfinite(j.get<double>())) return path.empty() ? "/" : path;
    return std::nullopt;
  }
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      std::optional<std::string> found =
          FirstNonFinite(value, path + "/" + PointerToken(key));
      if (found) return found;
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      std::optional<std::string> found = FirstNonFinite(j[i], path + "/" + std::to_string(i));
      if (found) return found;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> JsonText(const nlohmann::json& report, int indent) {
  if (std::optional<std::string> at = FirstNonFinite(report, "")) {
    return Status::Invalid(fmt::format(
        "the result at {} is not a finite number: the inputs are outside what the model covers",
        *at));
  }
  // A string that is not UTF-8 (only possible from a command-line argument: files are checked)
  // is written with U+FFFD in its place rather than failing.
  return report.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

// Where a number stands: after the start, a space, '(', '=', ':' or ',' (optionally then a
// sign), and before the end, a space, '%', ')' or ','. A word inside a name or a path
// ("llama-inf", "runs/inf/", "'NaN'", "Infinity Fabric") is not a number.
bool OpensNumber(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '(' || c == '=' || c == ':' || c == ',';
}
bool ClosesNumber(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '%' || c == ')' || c == ',';
}

}  // namespace

Status CheckFiniteText(std::string_view text) {
  // JSON text: JsonText checked its numbers, and JSON cannot write a non-finite one (nlohmann
  // writes null); an "inf" in it stands in a string, a name. Valid JSON as a whole, not a text
  // report that starts with a bracket (a model named "[x").
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[') &&
      nlohmann::json::accept(text)) {
    return Status::Ok();
  }
  auto opens = OpensNumber;
  auto closes = ClosesNumber;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') ++line;
    if (i + 3 > text.size()) break;
    std::string word = ToLower(text.substr(i, 3));
    if (word != "inf" && word != "nan") continue;
    size_t before = i;
    if (before > 0 && (text[before - 1] == '-' || text[before - 1] == '+')) --before;
    bool starts = before == 0 || opens(text[before - 1]);
    bool ends = i + 3 == text.size() || closes(text[i + 3]);
    if (!starts || !ends) continue;
    const size_t line_start =
        text.rfind('\n', i) == std::string_view::npos ? 0 : text.rfind('\n', i) + 1;
    const std::string_view shown = text.substr(line_start, text.find('\n', i) - line_start);
    return Status::Invalid(fmt::format(
        "line {} of the report shows a number that is not finite ({}): the inputs are outside what "
        "the model covers, or a name in them reads as a number (allowed: names without a word "
        "inf or nan); the line: {}",
        line, Printable(text.substr(before, i + 3 - before), 10), Printable(Trim(shown), 160)));
  }
  return Status::Ok();
}

std::string WithoutNegativeZeros(std::string_view text) {
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] != '-' || (i > 0 && !OpensNumber(out[i - 1]))) continue;
    size_t end = i + 1;
    bool zero = false;
    while (end < out.size() && (out[end] == '0' || out[end] == '.')) {
      zero = zero || out[end] == '0';
      ++end;
    }
    if (!zero || (end < out.size() && !ClosesNumber(out[end]))) continue;
    // Right-aligned columns keep their width: the sign becomes a space after a space.
    if (i > 0 && out[i - 1] == ' ') {
      out[i] = ' ';
    } else {
      out.erase(i, 1);
    }
  }
  return out;
}

std::string SafeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t start = 0;
  // Line by line, so that line breaks stay; each line is shown as Printable shows it.
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    bool plain = true;
    for (char c : line) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7F || u >= 0x80) plain = false;
    }
    out += plain ? std::string(line) : Printable(line, 4 * line.size() + 1);
    if (end == text.size()) break;
    out += '\n';
    start = end + 1;
  }
  return out;
}

}  // namespace scaleplan::report
