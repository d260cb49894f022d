// MovieLens ratings as click data (issue 14's real public data set): Debian's r-cran-dslabs ships
// the MovieLens "latest-small" ratings (100,004 ratings by 671 users of 9,066 movies);
// scripts/export-movielens.sh writes them as CSV with the header
//   user,movie,rating,timestamp,year,genres
// (genres joined by '|', year NA when unknown). An example is one rating; the click is
// rating >= 4. Sparse features: user, movie, first genre, year (each id remapped to 0..n-1 in
// order of first appearance); dense features: (year - 1990) / 20 (0 when NA), the number of
// genres, and the rating's time scaled to [0, 1] over the file. Ratings are sorted by time and
// split in that order, the last 10% for test and the 10% before for validation (the future is
// predicted from the past).
#pragma once

#include <cstdint>
#include <istream>
#include <string>

#include "core/status.h"
#include "rec/data.h"

namespace scaleplan::rec {

Result<CtrData> ReadMovieLens(const std::string& path, int64_t max_examples, bool skip_bad_lines);
// The same from a stream; errors name `origin`.
Result<CtrData> ReadMovieLensStream(std::istream& in, const std::string& origin,
                                    int64_t max_examples, bool skip_bad_lines);

}  // namespace scaleplan::rec
