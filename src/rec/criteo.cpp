#include "rec/criteo.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <string_view>

#include "core/file.h"
#include "core/text.h"
#include "rec/synthetic.h"

namespace scaleplan::rec {

namespace {

uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

struct Example {
  float label = 0;
  float dense[kCriteoDense] = {};
  int64_t sparse[kCriteoSparse] = {};
};

// Parses one line into `ex`; the error says which field is wrong.
Status ParseLine(std::string_view line, int64_t table_rows, Example* ex) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view fields[1 + kCriteoDense + kCriteoSparse];
  size_t count = 0, start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    std::string_view field = line.substr(start, tab == std::string_view::npos ? tab : tab - start);
    if (count < std::size(fields)) fields[count] = field;
    ++count;
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (count != std::size(fields)) {
    return Status::Parse(fmt::format(
        "has {} tab-separated fields (allowed: 40: label, 13 integers, 26 categories)", count));
  }
  if (fields[0] != "0" && fields[0] != "1") {
    return Status::Parse(fmt::format("label = {} (allowed: 0 or 1)", Printable(fields[0], 32)));
  }
  ex->label = fields[0] == "1" ? 1.0f : 0.0f;
  for (int64_t j = 0; j < kCriteoDense; ++j) {
    std::string_view f = fields[1 + j];
    if (f.empty()) {
      ex->dense[j] = 0;
      continue;
    }
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
    if (ec == std::errc::result_out_of_range) {
      return Status::Parse(
          fmt::format("integer field I{} = {} is out of range (allowed: an integer from "
                      "-2^63 to 2^63 - 1, or empty)",
                      j + 1, Printable(f, 32)));
    }
    if (ec != std::errc() || ptr != f.data() + f.size()) {
      return Status::Parse(
          fmt::format("integer field I{} = {} is not an integer (allowed: an "
                      "integer or empty)",
                      j + 1, Printable(f, 32)));
    }
    ex->dense[j] = static_cast<float>(std::log1p(static_cast<double>(std::max<int64_t>(v, 0))));
  }
  for (int64_t f = 0; f < kCriteoSparse; ++f) {
    ex->sparse[f] = static_cast<int64_t>(Fnv1a(fields[1 + kCriteoDense + f]) %
                                         static_cast<uint64_t>(table_rows));
  }
  return Status::Ok();
}

void Append(const Example& ex, CtrSplit* split) {
  ++split->n;
  split->label.push_back(ex.label);
  split->dense.insert(split->dense.end(), std::begin(ex.dense), std::end(ex.dense));
  split->sparse.insert(split->sparse.end(), std::begin(ex.sparse), std::end(ex.sparse));
}

}  // namespace

static Status CheckOptions(const CriteoOptions& options) {
  if (options.max_examples < 3 || options.max_examples > kMaxExamples) {
    return Status::Invalid(fmt::format("criteo max_examples = {} (allowed: 3 to {})",
                                       options.max_examples, kMaxExamples));
  }
  if (options.table_rows < 1 || options.table_rows > kMaxTableRows) {
    return Status::Invalid(fmt::format("criteo table_rows = {} (allowed: 1 to {})",
                                       options.table_rows, kMaxTableRows));
  }
  if (!(options.valid_fraction > 0 && options.test_fraction > 0 &&
        options.valid_fraction + options.test_fraction < 1)) {
    return Status::Invalid(fmt::format(
        "criteo valid_fraction = {}, test_fraction = {} (allowed: both above 0, summing below 1)",
        options.valid_fraction, options.test_fraction));
  }
  return Status::Ok();
}

Result<CtrData> ReadCriteo(const std::string& path, const CriteoOptions& options) {
  SP_RETURN_IF_ERROR(CheckOptions(options));
  SP_RETURN_IF_ERROR(CheckStreamedInput(path));
  const std::string name = StreamedInputName(path);
  SP_ASSIGN_OR_RETURN(std::unique_ptr<std::istream> stream, OpenStreamedInput(path));
  std::istream& in = *stream;
  try {
    SP_ASSIGN_OR_RETURN(CtrData data, ReadCriteoStream(in, name, options));
    data.name = "criteo:" + path;  // as given ("-" for standard input, which errors name in words)
    return data;
  } catch (const std::ios_base::failure& e) {  // a read error the stream reports by throwing
    return Status::Io(fmt::format("{}: cannot be read ({})", name, e.what()));
  }
}

Result<CtrData> ReadCriteoStream(std::istream& in, const std::string& path,
                                 const CriteoOptions& options) {
  SP_RETURN_IF_ERROR(CheckOptions(options));
  CtrData data;
  data.name = "criteo:" + path;
  data.dense_count = kCriteoDense;
  for (int64_t f = 0; f < kCriteoSparse; ++f) {
    data.sparse_names.push_back(fmt::format("C{}", f + 1));
    data.cardinality.push_back(options.table_rows);
  }
  CtrSplit all;
  std::string line;
  int64_t number = 0;
  SkipByteOrderMark(in);
  Example ex;
  bool too_long = false;
  while (all.n < options.max_examples && ReadLine(in, kMaxLineBytes, &line, &too_long)) {
    ++number;
    Status ok = too_long
                    ? Status::Parse(fmt::format("is longer than {} bytes (allowed: at most {})",
                                                kMaxLineBytes, kMaxLineBytes))
                    : ParseLine(line, options.table_rows, &ex);
    if (ok.ok()) ok = CheckText(line, "the line");
    if (!ok.ok()) {
      if (options.skip_bad_lines) {
        ++data.skipped_lines;
        continue;
      }
      // The field's message says what it allows; the hint is how to go on without the line.
      return Status::Parse(fmt::format("{}:{}: {} (--skip-bad-lines skips and counts bad lines)",
                                       path, number, ok.message()));
    }
    Append(ex, &all);
  }
  if (in.bad()) return Status::Io(fmt::format("{}: read failed after line {}", path, number));
  if (all.n < 3) {
    return Status::Invalid(fmt::format(
        "{}: {} good lines{} (allowed: at least 3, one for each of train, valid and test)", path,
        all.n,
        data.skipped_lines > 0 ? fmt::format(", {} bad lines skipped", data.skipped_lines) : ""));
  }
  const auto n = all.n;
  int64_t test = std::max<int64_t>(1, std::llround(static_cast<double>(n) * options.test_fraction));
  int64_t valid =
      std::max<int64_t>(1, std::llround(static_cast<double>(n) * options.valid_fraction));
  if (test + valid >= n) test = valid = 1;
  const int64_t train = n - valid - test;
  auto slice = [&](int64_t from, int64_t count, CtrSplit* out) {
    out->n = count;
    auto d = static_cast<size_t>(kCriteoDense), s = static_cast<size_t>(kCriteoSparse);
    auto f = static_cast<size_t>(from), c = static_cast<size_t>(count);
    out->label.assign(all.label.begin() + f, all.label.begin() + f + c);
    out->dense.assign(all.dense.begin() + f * d, all.dense.begin() + (f + c) * d);
    out->sparse.assign(all.sparse.begin() + f * s, all.sparse.begin() + (f + c) * s);
  };
  slice(0, train, &data.train);
  slice(train, valid, &data.valid);
  slice(train + valid, test, &data.test);
  return data;
}

}  // namespace scaleplan::rec
