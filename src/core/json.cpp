#include "core/json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/depth.h"
#include "core/text.h"

namespace scaleplan {

namespace {

struct DuplicateKey {
  std::string key;
};

// Line and column (from 1) of byte `at` in `text`.
std::pair<int, int> Position(std::string_view text, size_t at) {
  int line = 1, column = 1;
  for (size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// The token reading stopped in, whole: nlohmann's last byte read is a string's closing quote, a
// number's last digit or a bad word's first letter. At most 24 bytes, cut at a UTF-8
// character's start; "" past the end.
std::string TokenAt(std::string_view text, size_t at) {
  if (at >= text.size()) return "";
  auto word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.' ||
           c == '_';
  };
  size_t start = at, end = at + 1;
  if (text[at] == '"') {
    for (size_t k = at; k > 0; --k) {  // back to the opening quote (escaped ones skipped)
      if (text[k - 1] == '"' && (k < 2 || text[k - 2] != '\\')) {
        start = k - 1;
        break;
      }
    }
  } else if (word(text[at])) {
    while (start > 0 && word(text[start - 1])) --start;
    while (end < text.size() && word(text[end])) ++end;
  }
  if (end - start > 24) end = start + 24;
  while (end > start + 1 && end < text.size() &&
         (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(start, end - start));
}

}  // namespace

Result<nlohmann::json> ParseJson(std::string_view text, const std::string& file_origin,
                                 int64_t of_line) {
  const std::string origin =
      of_line > 0 ? fmt::format("{}:{}", file_origin, of_line) : file_origin;
  SP_RETURN_IF_ERROR(CheckText(text, origin));
  if (BracketDepth(text, kMaxJsonDepth, false) > kMaxJsonDepth) {
    return Status::Parse(fmt::format("{}: JSON nested deeper than {} levels (allowed: at most {})",
                                     origin, kMaxJsonDepth, kMaxJsonDepth));
  }
  // nlohmann keeps the last of a repeated key; a reader would silently see one of two values.
  std::vector<std::set<std::string>> keys;  // of each object being read, innermost last
  // The key whose value each open object is reading (a number out of range names the innermost).
  std::vector<std::string> reading;
  auto unique_keys = [&keys, &reading](int, nlohmann::json::parse_event_t event,
                                       nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      keys.emplace_back();
      reading.emplace_back();
    } else if (event == Event::object_end && !keys.empty()) {
      keys.pop_back();
      reading.pop_back();
    } else if (event == Event::key && !keys.empty()) {
      reading.back() = parsed.get<std::string>();
      if (!keys.back().insert(reading.back()).second) throw DuplicateKey{reading.back()};
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, unique_keys);
  } catch (const DuplicateKey& d) {
    return Status::Parse(fmt::format("{}: key \"{}\" is given twice in one object (allowed: once)",
                                     origin, Printable(d.key, 60)));
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is one past the last character read; the library's own text is not shown.
    const size_t at = e.byte > 0 ? e.byte - 1 : 0;
    auto [line, column] = Position(text, at);
    const std::string read = TokenAt(text, at);
    const std::string token = read.empty() ? std::string("the end of the text")
                                           : fmt::format("'{}'", Printable(read, 32));
    const std::string where = of_line > 0 ? fmt::format("{}:{}", origin, column)
                                          : fmt::format("{}:{}:{}", origin, line, column);
    return Status::Parse(
        fmt::format("{}: malformed JSON at {} (allowed: JSON as RFC 8259 has it: no NaN or "
                    "Infinity, comments or trailing commas)",
                    where, token));
  } catch (const nlohmann::json::out_of_range&) {
    return Status::Parse(fmt::format(
        "{}: {}a number is beyond the range of a double (allowed: at most about 1.8e308)", origin,
        reading.empty() || reading.back().empty()
            ? ""
            : fmt::format("key \"{}\": ", Printable(reading.back(), 60))));
  } catch (const nlohmann::json::exception&) {
    return Status::Parse(fmt::format("{}: malformed JSON", origin));
  }
}

std::string JsonShown(const nlohmann::json& value) {
  // A list or object of at most 8 scalars is shown as JSON (one level: dump cannot go deep).
  bool shallow = value.size() <= 8;
  if (value.is_structured()) {
    for (const nlohmann::json& item : value) shallow = shallow && item.is_primitive();
    if (!shallow) {
      return value.is_array() ? fmt::format("a list of {} items", value.size())
                              : fmt::format("an object of {} keys", value.size());
    }
  }
  return Printable(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 60);
}

int BracketDepth(std::string_view text, int limit, bool hash_comments) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false, comment = false;
  char previous = '\n';
  for (char c : text) {
    if (comment) {
      comment = c != '\n';
    } else if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (hash_comments && c == '#' &&
               (previous == ' ' || previous == '\t' || previous == '\n')) {
      comment = true;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
    previous = c;
  }
  return deepest;
}

}  // namespace scaleplan
