// Reading JSON that users give: every JSON reader parses through ParseJson and echoes values
// through JsonShown.
//
// nlohmann-json parses and destroys without recursion, but dump() recurses: a value nested a
// million deep (a 2 MB file) would overflow the stack when a message shows it. So documents nest
// at most kMaxJsonDepth levels (checked before parsing), and messages show a scalar, or a list or
// an object by its size, never a dump of a nested value.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace scaleplan {

inline constexpr int kMaxJsonDepth = 64;

// `text` as JSON, after CheckText. Errors name `origin` and say what failed: binary content,
// nesting deeper than kMaxJsonDepth, malformed JSON (with line and column), a number beyond the
// range of a double, a key given twice in one object. Never throws. With `of_line` above 0,
// `text` is that line of `origin` (a JSON Lines file): messages name "origin:line" and a position
// in it "origin:line:column".
Result<nlohmann::json> ParseJson(std::string_view text, const std::string& origin,
                                 int64_t of_line = 0);

// A value as a message shows it: a scalar, or a list or object of at most 8 scalars, as JSON text
// (cut at 60 bytes); otherwise "a list of N items" or "an object of N keys".
std::string JsonShown(const nlohmann::json& value);

}  // namespace scaleplan
