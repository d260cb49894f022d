// How deep brackets nest in a text, checked before a parser recurses into it.
#pragma once

#include <string_view>

namespace scaleplan {

// The deepest nesting of lists and maps ([ and {) in `text`, outside double-quoted strings and,
// with `hash_comments` (YAML), outside # comments that start a line or follow a blank; counting
// stops past `limit`. What the JSON and YAML readers check before parsing: a parser's recursion
// on a document nested a million deep would overflow the stack, and yaml-cpp refuses a deep one
// as "bad file". (YAML's single quotes are not tracked: an apostrophe in a plain scalar would
// hide what follows, never count more.)
int BracketDepth(std::string_view text, int limit, bool hash_comments);

}  // namespace scaleplan
