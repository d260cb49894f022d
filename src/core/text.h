// Small text helpers shared by the readers and the reports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace scaleplan {

// Parses a number as users write it in specs and flags: "8192", "1.5e9", "16Mi", "50G", "0.9".
// Suffixes: k/K, M, G, T (powers of 1000) and Ki, Mi, Gi, Ti (powers of 1024), case-sensitive
// except k/K. Rejects empty text, trailing garbage, NaN and infinities. The error message is a
// short predicate ("is not a number"); the caller adds which input it was and what is allowed.
Result<double> ParseNumber(std::string_view text);

// As ParseNumber, then requires an exact integer in [-2^53, 2^53].
Result<int64_t> ParseInteger(std::string_view text);

// A count or an index as written in a list (a rank, a document length): decimal digits only, no
// sign, exponent, fraction or suffix ("1e1", "10.0", "16Ki" and "0x10" are refused), at most
// 2^53. Surrounding spaces are the caller's to trim.
Result<int64_t> ParseDigits(std::string_view text);

// "true/false/yes/no/on/off/1/0" (case-insensitive).
Result<bool> ParseBool(std::string_view text);

// `text` without the white space (isspace) at either end.
std::string_view Trim(std::string_view text);
std::vector<std::string> SplitAndTrim(std::string_view text, char separator);
std::string Join(const std::vector<std::string>& items, std::string_view separator);
std::string ToLower(std::string_view text);

// Human-readable renderings for reports (never for machine-readable output).
std::string HumanBytes(double bytes);  // "78.2 GiB"
std::string HumanCount(double count);  // "405.9 B", "16.8 M"
// A count written whole ("1234"), but below one with three significant digits ("0.25"), so that a
// small positive value never reads as 0.
std::string PlainCount(double count);
// `value` with `decimals` decimals ("0.42"), but a nonzero value that would read as zero keeps two
// significant digits ("0.0042", "3.1e-07"), so that a small positive value never reads as 0.
std::string Fixed(double value, int decimals);
std::string HumanFlops(double flops);  // "2.43 TFLOP"

// Text inputs (YAML, JSON, CSV, nccl-tests output, argument files) must be text: no NUL byte, no
// control character other than tab, CR and LF, and valid UTF-8. Otherwise the error names
// `origin`, the byte offset and the byte, so that binary content is reported, never echoed.
Status CheckText(std::string_view text, const std::string& origin);

// `text` as one printable line for a message: a control character or a byte that is not part of
// valid UTF-8 becomes \xNN (newline \n, tab \t), a character that would redraw the line (a C1
// control, U+2028/U+2029, a bidirectional override such as U+202E) \uNNNN, and past `max_bytes`
// the rest is cut and counted ("... (1234 more bytes)").
std::string Printable(std::string_view text, size_t max_bytes);

// The known name `word` was most likely meant to be, for a "did you mean" in a message: the one
// candidate (other than `word` itself) within the edit distance a typo makes (Levenshtein: one
// edit below 16 bytes, two from 16 on); empty when there is none or two are as close. Words and
// candidates longer than 256 bytes are never near.
std::string NearMiss(std::string_view word, const std::vector<std::string>& candidates);

// All positive divisors of n in increasing order (n >= 1).
std::vector<int64_t> Divisors(int64_t n);

}  // namespace scaleplan
