// Criteo's click logs (the Kaggle Display Advertising Challenge and the 1TB Click Logs): one
// example per line, 40 tab-separated fields:
//   label \t I1 .. I13 \t C1 .. C26
// label 0 or 1; I* integer counts, possibly empty or negative; C* hashed categories as 8 hex
// digits, possibly empty. As in DLRM's reader (Naumov et al., arXiv:1906.00091): an integer x
// becomes ln(1 + max(x, 0)) and an empty one 0; a category becomes FNV-1a-64(text) mod
// table_rows (the empty category is a category of its own).
//
// The file is streamed line by line, never held whole; the first `max_examples` good lines are
// kept and split in file order (Criteo's files are in time order: the tail is the future): the
// last `test_fraction` for test, the `valid_fraction` before it for validation.
#pragma once

#include <cstdint>
#include <istream>
#include <string>

#include "core/status.h"
#include "rec/data.h"

namespace scaleplan::rec {

inline constexpr int64_t kCriteoDense = 13;
inline constexpr int64_t kCriteoSparse = 26;
inline constexpr int64_t kMaxTableRows = 10'000'000;
inline constexpr size_t kMaxLineBytes = 65536;

struct CriteoOptions {
  int64_t max_examples = 1'000'000;  // good lines kept (at most kMaxExamples)
  int64_t table_rows = 100'000;      // rows of every hashed table
  double valid_fraction = 0.1;
  double test_fraction = 0.1;
  bool skip_bad_lines = false;  // skip and count bad lines instead of failing on the first
};

// Reads `path`; an error names the file, the line and the field. Fewer than 3 good lines (one per
// split) is an error.
Result<CtrData> ReadCriteo(const std::string& path, const CriteoOptions& options);
// The same from a stream; errors name `origin`.
Result<CtrData> ReadCriteoStream(std::istream& in, const std::string& origin,
                                 const CriteoOptions& options);

}  // namespace scaleplan::rec
