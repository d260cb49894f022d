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

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

Result<std::string> JsonText(const nlohmann::json& report, int indent) {
  if (std::optional<std::string> at = FirstNonFinite(report, "")) {
    return Status::Invalid(fmt::format(
        "the result at {} is not a finite number: the inputs are outside what the model covers",
        *at));
  }
  return report.dump(indent) + "\n";
}

Status CheckFiniteText(std::string_view text) {
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') ++line;
    if (i + 3 > text.size() || (i > 0 && IsWordChar(text[i - 1]))) continue;
    std::string word = ToLower(text.substr(i, 3));
    if (word != "inf" && word != "nan") continue;
    // "inf" may go on as "infinity"; anything else that continues the word is another word.
    size_t end = i + 3;
    if (word == "inf" && ToLower(text.substr(i, 8)) == "infinity") end = i + 8;
    if (end < text.size() && IsWordChar(text[end])) continue;
    return Status::Invalid(fmt::format(
        "line {} of the report shows a number that is not finite ({}): the inputs are outside what "
        "the model covers",
        line, Printable(text.substr(i, end - i), 10)));
  }
  return Status::Ok();
}

}  // namespace scaleplan::report
