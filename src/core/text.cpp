#include "core/text.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace scaleplan {

namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

struct Suffix {
  std::string_view text;
  double factor;
};

// Longest suffixes first so that "Mi" is not read as "M" followed by garbage.
constexpr Suffix kSuffixes[] = {
    {"Ki", 1024.0},
    {"Mi", 1024.0 * 1024.0},
    {"Gi", 1024.0 * 1024.0 * 1024.0},
    {"Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0},
    {"k", 1e3},
    {"K", 1e3},
    {"M", 1e6},
    {"G", 1e9},
    {"T", 1e12},
};

}  // namespace

Result<double> ParseNumber(std::string_view raw) {
  std::string_view text = Trim(raw);
  if (text.empty()) return Status::Invalid("is empty (expected a number)");
  double factor = 1.0;
  for (const Suffix& s : kSuffixes) {
    if (text.size() > s.text.size() && text.substr(text.size() - s.text.size()) == s.text) {
      factor = s.factor;
      text.remove_suffix(s.text.size());
      break;
    }
  }
  std::string buffer(Trim(text));
  const char* begin = buffer.c_str();
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(begin, &end);
  if (end == begin || *end != '\0' || buffer.empty()) {
    return Status::Invalid("is not a number");
  }
  value *= factor;
  if (!std::isfinite(value)) return Status::Invalid("is not a finite number");
  return value;
}

Result<int64_t> ParseInteger(std::string_view text) {
  Result<double> number = ParseNumber(text);
  if (!number.ok()) {
    return Status::Invalid("is not an integer");
  }
  double value = *number;
  constexpr double kLimit = 9007199254740992.0;  // 2^53: every integer below is exact in a double
  if (std::fabs(value) > kLimit || value != std::floor(value)) {
    return Status::Invalid("is not an integer");
  }
  return static_cast<int64_t>(value);
}

Result<bool> ParseBool(std::string_view text) {
  std::string lower = ToLower(Trim(text));
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
  return Status::Invalid("is not a boolean (expected true or false)");
}

std::vector<std::string> SplitAndTrim(std::string_view text, char separator) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = Trim(text.substr(start, end - start));
    if (!item.empty()) items.emplace_back(item);
    start = end + 1;
  }
  return items;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int unit = 0;
  double value = bytes;
  while (std::fabs(value) >= 1024.0 && unit < 5) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", value) : fmt::format("{:.2f} {}", value, units[unit]);
}

std::string HumanCount(double count) {
  const char* units[] = {"", " K", " M", " B", " T"};
  int unit = 0;
  double value = count;
  while (std::fabs(value) >= 1000.0 && unit < 4) {
    value /= 1000.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f}", value) : fmt::format("{:.2f}{}", value, units[unit]);
}

std::string HumanFlops(double flops) {
  const char* units[] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP", "EFLOP"};
  int unit = 0;
  double value = flops;
  while (std::fabs(value) >= 1000.0 && unit < 6) {
    value /= 1000.0;
    ++unit;
  }
  return fmt::format("{:.2f} {}", value, units[unit]);
}

std::vector<int64_t> Divisors(int64_t n) {
  std::vector<int64_t> small;
  std::vector<int64_t> large;
  for (int64_t d = 1; d * d <= n; ++d) {
    if (n % d == 0) {
      small.push_back(d);
      if (d != n / d) large.push_back(n / d);
    }
  }
  small.insert(small.end(), large.rbegin(), large.rend());
  return small;
}

}  // namespace scaleplan
