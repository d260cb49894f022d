#include "core/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace scaleplan {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

namespace {

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

// Length of the valid UTF-8 sequence starting at text[i] (1 for ASCII), or 0 when the bytes there
// are not valid UTF-8 (stray continuation, overlong form, surrogate, above U+10FFFF, cut short).
size_t Utf8Length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

// The code point of the valid UTF-8 sequence of `length` bytes at text[i].
uint32_t CodePoint(std::string_view text, size_t i, size_t length) {
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(text[k])); };
  if (length == 1) return byte(i);
  uint32_t cp = byte(i) & (0xFFu >> (length + 1));
  for (size_t k = 1; k < length; ++k) cp = (cp << 6) | (byte(i + k) & 0x3F);
  return cp;
}

// Valid UTF-8 that changes how a terminal shows the rest of a line: the C1 controls (U+009B
// starts an escape sequence on some terminals), the line and paragraph separators, and the
// bidirectional formatting characters (U+202E shows what follows it reversed: "Trojan Source",
// CVE-2021-42574).
bool RedrawsTheLine(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

Status CheckText(std::string_view text, const std::string& origin) {
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = Utf8Length(text, i);
    bool allowed_control = c == '\t' || c == '\n' || c == '\r';
    if (length == 0 || (IsControl(c) && !allowed_control)) {
      return Status::Parse(fmt::format(
          "{}: binary content (byte 0x{:02X} at offset {}; allowed: UTF-8 text without control "
          "characters other than tab and line breaks)",
          Printable(origin, 200), c, i));
    }
    i += length;
  }
  return Status::Ok();
}

std::string NearMiss(std::string_view word, const std::vector<std::string>& candidates) {
  constexpr size_t kMaxLength = 256;
  const size_t limit = word.size() >= 16 ? 2 : 1;
  if (word.size() > kMaxLength) return "";
  std::string best;
  size_t best_distance = limit + 1;
  bool tied = false;
  std::vector<size_t> row, next;
  for (const std::string& c : candidates) {
    if (c == word || c.size() > kMaxLength ||
        (c.size() > word.size() ? c.size() - word.size() : word.size() - c.size()) > limit) {
      continue;
    }
    // Levenshtein distance, one row at a time.
    row.resize(c.size() + 1);
    next.resize(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
    bool beyond = false;
    for (size_t i = 1; i <= word.size() && !beyond; ++i) {
      next[0] = i;
      size_t least = next[0];
      for (size_t j = 1; j <= c.size(); ++j) {
        next[j] = std::min({row[j] + 1, next[j - 1] + 1,
                            row[j - 1] + (word[i - 1] == c[j - 1] ? 0 : 1)});
        least = std::min(least, next[j]);
      }
      std::swap(row, next);
      beyond = least > limit;  // a row's least never falls again
    }
    if (beyond) continue;
    const size_t d = row[c.size()];
    if (d < best_distance) {
      best = c, best_distance = d, tied = false;
    } else if (d == best_distance && c != best) {
      tied = true;
    }
  }
  return best_distance <= limit && !tied ? best : "";
}

std::string Printable(std::string_view text, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < text.size() && out.size() < max_bytes) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = Utf8Length(text, i);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (length == 0 || IsControl(c)) {
      out += fmt::format("\\x{:02X}", c);
      length = 1;
    } else if (const uint32_t cp = CodePoint(text, i, length); RedrawsTheLine(cp)) {
      out += fmt::format("\\u{:04X}", cp);
    } else {
      out.append(text.substr(i, length));
    }
    i += length == 0 ? 1 : length;
  }
  if (i < text.size()) out += fmt::format("... ({} more bytes)", text.size() - i);
  return out;
}

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
  // strtod also reads hexadecimal ("0x10", "0x1p4"), which no input here documents: decimal only.
  if (buffer.find_first_of("xX") != std::string::npos) {
    return Status::Invalid("is not a decimal number");
  }
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
  if (value != std::floor(value)) return Status::Invalid("is not an integer");
  if (std::fabs(value) > kLimit) return Status::Invalid("is out of range");
  return static_cast<int64_t>(value);
}

Result<int64_t> ParseDigits(std::string_view text) {
  constexpr int64_t kLimit = int64_t{1} << 53;
  if (text.empty() || text.size() > 16) {
    return Status::Invalid(text.empty() ? "is empty" : "is not a count of at most 2^53");
  }
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Status::Invalid("is not written in decimal digits");
    value = value * 10 + (c - '0');
  }
  if (value > kLimit) return Status::Invalid("is not a count of at most 2^53");
  return value;
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
  // Beyond a thousand T, and below one (a rate that rounds to 0), three significant digits.
  if (std::fabs(value) >= 1000.0 || (unit == 0 && count != 0 && std::fabs(count) < 1)) {
    return fmt::format("{:.3g}{}", value, units[unit]);
  }
  return unit == 0 ? fmt::format("{:.0f}", value) : fmt::format("{:.2f}{}", value, units[unit]);
}

std::string PlainCount(double count) {
  if (count != 0 && std::fabs(count) < 1) return fmt::format("{:.3g}", count);
  return fmt::format("{:.0f}", count);
}

std::string Fixed(double value, int decimals) {
  const double unit = std::pow(10.0, -decimals);
  if (value != 0 && std::fabs(value) < 0.5 * unit) return fmt::format("{:.2g}", value);
  return fmt::format("{:.{}f}", value, decimals);
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
