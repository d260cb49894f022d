#include "rec/movielens.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>

#include "core/file.h"
#include "core/text.h"
#include "rec/criteo.h"
#include "rec/synthetic.h"

namespace scaleplan::rec {

namespace {

struct Rating {
  std::string user, movie, genre, year;
  double rating = 0, timestamp = 0, year_value = 0, genres = 0;
};

Status ParseRating(std::string_view line, Rating* r) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // Cells split on every comma (an empty cell stays a cell).
  std::vector<std::string> cells;
  for (size_t from = 0;;) {
    const size_t comma = line.find(',', from);
    std::string_view cell =
        line.substr(from, comma == std::string_view::npos ? comma : comma - from);
    while (!cell.empty() && cell.front() == ' ') cell.remove_prefix(1);
    while (!cell.empty() && cell.back() == ' ') cell.remove_suffix(1);
    cells.emplace_back(cell);
    if (comma == std::string_view::npos) break;
    from = comma + 1;
  }
  if (cells.size() != 6) {
    return Status::Parse(fmt::format(
        "has {} comma-separated cells (allowed: 6: user,movie,rating,timestamp,year,genres)",
        cells.size()));
  }
  auto number = [&](size_t i, const char* name, const char* allowed, double* out) -> Status {
    Result<double> v = ParseNumber(cells[i]);
    if (!v.ok()) {
      return Status::Parse(fmt::format("{} = {} is not a number (allowed: {})", name,
                                       Printable(cells[i], 32), allowed));
    }
    *out = *v;
    return Status::Ok();
  };
  for (size_t i : {0, 1}) {
    if (cells[i].empty()) {
      return Status::Parse(fmt::format("{} is empty (allowed: an id, any text but a comma)",
                                       i == 0 ? "user" : "movie"));
    }
  }
  r->user = cells[0];
  r->movie = cells[1];
  SP_RETURN_IF_ERROR(number(2, "rating", "0 to 5", &r->rating));
  if (r->rating < 0 || r->rating > 5) {
    return Status::Parse(fmt::format("rating = {} (allowed: 0 to 5)", r->rating));
  }
  SP_RETURN_IF_ERROR(number(3, "timestamp", "0 to 1e10 seconds since 1970", &r->timestamp));
  if (r->timestamp < 0 || r->timestamp > 1e10) {
    return Status::Parse(
        fmt::format("timestamp = {} (allowed: 0 to 1e10 seconds since 1970)", r->timestamp));
  }
  r->year = cells[4];
  r->year_value = 0;
  if (cells[4] != "NA" && !cells[4].empty()) {
    // Digits only: the year is also a categorical feature, so "1995.0" or "1.995k" would be
    // another id than "1995".
    Result<int64_t> y = ParseDigits(cells[4]);
    if (!y.ok() || *y < 1800 || *y > 2200) {
      return Status::Parse(fmt::format("year = {} (allowed: a year of digits, 1800 to 2200, or NA)",
                                       Printable(cells[4], 32)));
    }
    r->year_value = (static_cast<double>(*y) - 1990) / 20;
  }
  const std::vector<std::string> genres = SplitAndTrim(cells[5], '|');
  r->genre = genres.empty() ? "" : genres[0];
  r->genres = static_cast<double>(genres.size());
  return Status::Ok();
}

}  // namespace

Result<CtrData> ReadMovieLens(const std::string& path, int64_t max_examples, bool skip_bad_lines) {
  if (max_examples < 3 || max_examples > kMaxExamples) {
    return Status::Invalid(
        fmt::format("movielens max_examples = {} (allowed: 3 to {})", max_examples, kMaxExamples));
  }
  SP_RETURN_IF_ERROR(CheckStreamedInput(path));
  const std::string name = StreamedInputName(path);
  SP_ASSIGN_OR_RETURN(std::unique_ptr<std::istream> stream, OpenStreamedInput(path));
  std::istream& in = *stream;
  try {
    SP_ASSIGN_OR_RETURN(CtrData data, ReadMovieLensStream(in, name, max_examples, skip_bad_lines));
    data.name =
        "movielens:" + path;  // as given ("-" for standard input, which errors name in words)
    return data;
  } catch (const std::ios_base::failure& e) {  // a read error the stream reports by throwing
    return Status::Io(fmt::format("{}: cannot be read ({})", name, e.what()));
  }
}

Result<CtrData> ReadMovieLensStream(std::istream& in, const std::string& path, int64_t max_examples,
                                    bool skip_bad_lines) {
  if (max_examples < 3 || max_examples > kMaxExamples) {
    return Status::Invalid(
        fmt::format("movielens max_examples = {} (allowed: 3 to {})", max_examples, kMaxExamples));
  }
  std::string line;
  bool header_long = false;
  SkipByteOrderMark(in);
  if (!ReadLine(in, kMaxLineBytes, &line, &header_long) ||
      Trim(line) != "user,movie,rating,timestamp,year,genres") {
    return Status::Parse(fmt::format(
        "{}:1: the header is not user,movie,rating,timestamp,year,genres (allowed: the file "
        "scripts/export-movielens.sh writes)",
        path));
  }
  std::vector<Rating> ratings;
  int64_t number = 1, skipped = 0;
  bool too_long = false;
  while (static_cast<int64_t>(ratings.size()) < max_examples &&
         ReadLine(in, kMaxLineBytes, &line, &too_long)) {
    ++number;
    Rating r;
    Status ok = too_long ? Status::Parse(fmt::format("is longer than {} bytes", kMaxLineBytes))
                         : CheckText(line, "the line");
    if (ok.ok()) ok = ParseRating(line, &r);
    if (!ok.ok()) {
      if (skip_bad_lines) {
        ++skipped;
        continue;
      }
      return Status::Parse(fmt::format("{}:{}: {}; --skip-bad-lines skips and counts such lines",
                                       path, number, ok.message()));
    }
    ratings.push_back(std::move(r));
  }
  const auto n = static_cast<int64_t>(ratings.size());
  if (n < 3) {
    return Status::Invalid(
        fmt::format("{}: {} good ratings{} (allowed: at least 3)", path, n,
                    skipped > 0 ? fmt::format(", {} bad lines skipped", skipped) : ""));
  }
  std::stable_sort(ratings.begin(), ratings.end(),
                   [](const Rating& a, const Rating& b) { return a.timestamp < b.timestamp; });
  const double t0 = ratings.front().timestamp, t1 = ratings.back().timestamp;
  CtrData data;
  data.name = "movielens:" + path;
  data.dense_count = 3;
  data.sparse_names = {"user", "movie", "genre", "year"};
  std::map<std::string, int64_t> ids[4];
  CtrSplit all;
  all.n = n;
  for (const Rating& r : ratings) {
    const std::string* keys[4] = {&r.user, &r.movie, &r.genre, &r.year};
    for (int f = 0; f < 4; ++f) {
      auto [it, added] = ids[f].emplace(*keys[f], static_cast<int64_t>(ids[f].size()));
      all.sparse.push_back(it->second);
    }
    all.dense.push_back(static_cast<float>(r.year_value));
    all.dense.push_back(static_cast<float>(r.genres));
    all.dense.push_back(static_cast<float>(t1 > t0 ? (r.timestamp - t0) / (t1 - t0) : 0));
    all.label.push_back(r.rating >= 4 ? 1.0f : 0.0f);
  }
  for (int f = 0; f < 4; ++f) data.cardinality.push_back(static_cast<int64_t>(ids[f].size()));
  data.skipped_lines = skipped;
  const int64_t test = std::max<int64_t>(1, n / 10), valid = std::max<int64_t>(1, n / 10);
  const int64_t train = n - valid - test;
  auto slice = [&](int64_t from, int64_t count, CtrSplit* out) {
    const auto f = static_cast<size_t>(from), c = static_cast<size_t>(count);
    out->n = count;
    out->label.assign(all.label.begin() + f, all.label.begin() + f + c);
    out->dense.assign(all.dense.begin() + f * 3, all.dense.begin() + (f + c) * 3);
    out->sparse.assign(all.sparse.begin() + f * 4, all.sparse.begin() + (f + c) * 4);
  };
  slice(0, train, &data.train);
  slice(train, valid, &data.valid);
  slice(train + valid, test, &data.test);
  return data;
}

}  // namespace scaleplan::rec
