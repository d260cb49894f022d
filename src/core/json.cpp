#include "core/json.h"

#include <fmt/format.h>

#include <algorithm>
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
  std::string last_key;  // the key whose value is being read, for a number out of range
  auto unique_keys = [&keys, &last_key](int, nlohmann::json::parse_event_t event,
                                        nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      keys.emplace_back();
    } else if (event == Event::object_end && !keys.empty()) {
      keys.pop_back();
    } else if (event == Event::key && !keys.empty()) {
      last_key = parsed.get<std::string>();
      if (!keys.back().insert(last_key).second) throw DuplicateKey{last_key};
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, unique_keys);
  } catch (const DuplicateKey& d) {
    return Status::Parse(fmt::format("{}: key \"{}\" is given twice in one object (allowed: once)",
                                     origin, Printable(d.key, 60)));
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is one past the offending character; the library's own text is not shown.
    const size_t at = e.byte > 0 ? e.byte - 1 : 0;
    auto [line, column] = Position(text, at);
    // The text where reading stopped: to the next space or delimiter, at most 24 bytes.
    size_t start = std::min(at, text.size()), end = start;
    while (end < text.size() && end - start < 24 &&
           std::string_view(" \t\r\n,:]}").find(text[end]) == std::string_view::npos) {
      ++end;
    }
    if (end == start && start < text.size()) ++end;
    const std::string token =
        end > start ? fmt::format("'{}'", Printable(text.substr(start, end - start), 24))
                    : std::string("the end of the text");
    const std::string where = of_line > 0 ? fmt::format("{}:{}", origin, column)
                                          : fmt::format("{}:{}:{}", origin, line, column);
    return Status::Parse(
        fmt::format("{}: malformed JSON at {} (allowed: JSON as RFC 8259 has it: no NaN or "
                    "Infinity, comments or trailing commas)",
                    where, token));
  } catch (const nlohmann::json::out_of_range&) {
    return Status::Parse(fmt::format(
        "{}: {}a number is beyond the range of a double (allowed: at most about 1.8e308)", origin,
        last_key.empty() ? "" : fmt::format("key \"{}\": ", Printable(last_key, 60))));
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
