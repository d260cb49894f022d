// The last check before a report leaves the program: every number in it is finite.
//
// A non-finite result means the inputs took the model outside what it covers; printing it ("inf",
// "nan", or JSON null, which nlohmann writes for both silently) would be a wrong answer with exit
// 0. Both checks return an error that names where the number stands.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace scaleplan::report {

// `report` as JSON text (indented by `indent`, ending in a newline), or an error naming the JSON
// pointer of the first number that is not finite.
Result<std::string> JsonText(const nlohmann::json& report, int indent = 2);

// An error when `text` prints a non-finite number: "inf" or "nan" (any case, as fmt and printf
// write them, with a sign or a % after it) where a number stands, with its line. JSON text passes
// (JsonText checks its numbers). A name that is the word inf or nan reads as a number here.
Status CheckFiniteText(std::string_view text);

// `text` with each number that rounds to zero printed without a minus sign ("-0.0000" after a
// space becomes " 0.0000", keeping a column's width): a negative zero says nothing a zero does not.
std::string WithoutNegativeZeros(std::string_view text);

// `text` with every line as Printable shows it (core/text.h): a control character other than tab,
// or a byte that is not part of UTF-8, is escaped (a model name read from a file may hold one).
std::string SafeText(std::string_view text);

}  // namespace scaleplan::report
