#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "balance/balance.h"
#include "core/file.h"
#include "core/text.h"
#include "model/model.h"

namespace scaleplan::balance {

WorkloadModel FlopWorkload(const spec::ModelSpec& m) {
  WorkloadModel w;
  w.linear_per_token = model::ModelFlopsPerToken(m, 1).matmul_term;
  // 2(q + o) FLOP per pair forward, 3x with backward (model.h): 12 L q when q = o.
  w.attention_per_pair =
      6.0 * static_cast<double>(m.layers) *
      static_cast<double>(m.heads * (m.QkHeadDim() + m.EffectiveVHeadDim()));
  if (m.sliding_window > 0) {
    w.local_share =
        static_cast<double>(m.LocalAttentionLayers()) / static_cast<double>(m.layers);
    w.window = static_cast<double>(m.sliding_window);
  }
  return w;
}

namespace {

// Megatron-LM's tokenized-dataset index (.idx, megatron/core/datasets/indexed_dataset.py): the
// 9-byte magic "MMIDIDX\0\0", a little-endian u64 version (1), a u8 dtype code (DType: 1 uint8,
// 2 int8, 3 int16, 4 int32, 5 int64, 6 float64, 7 float32, 8 uint16), u64 sequence count S, u64
// document-index count D, then int32 sequence lengths[S], int64 sequence pointers[S] (byte
// offsets into the .bin: 0, then each one the last plus its length times the dtype's size) and
// int64 document indices[D] (0, ..., S): document i is sequences [indices[i], indices[i+1]). A
// multimodal index ends with one int8 mode per sequence; nothing else may follow. Every one of
// these is checked: a file that breaks one is not what Megatron wrote, and its lengths would be
// guesses.
Result<std::vector<int64_t>> ParseMegatronIndex(std::string_view bytes, const std::string& origin) {
  auto fail = [&](const std::string& what) {
    return Status::Parse(origin + ": not a valid Megatron .idx file: " + what);
  };
  size_t at = 9;
  auto read = [&](size_t n, auto* out) -> bool {
    if (at + n > bytes.size()) return false;
    if (n > 0) std::memcpy(out, bytes.data() + at, n);  // an empty vector's data() may be null
    at += n;
    return true;
  };
  uint64_t version = 0, sequences = 0, documents = 0;
  if (bytes.size() > static_cast<size_t>(kMaxDataFileBytes)) return fail("larger than 4 GiB");
  uint8_t dtype = 0;
  if (!read(8, &version) || !read(1, &dtype) || !read(8, &sequences) || !read(8, &documents))
    return fail("truncated header");
  if (version != 1) return fail("version " + std::to_string(version) + " (allowed: 1)");
  static constexpr int64_t kItemBytes[] = {0, 1, 1, 2, 4, 8, 8, 4, 2};  // by DType code
  if (dtype < 1 || dtype > 8) {
    return fail(fmt::format("dtype code {} (allowed: 1 to 8)", static_cast<int>(dtype)));
  }
  const int64_t item = kItemBytes[dtype];
  if (documents > static_cast<uint64_t>(kMaxDocuments) + 1) {
    return fail(fmt::format("{} documents (allowed: at most {})", documents - 1, kMaxDocuments));
  }
  if (documents < 1) {
    return fail("0 document indices (allowed: at least 1, the 0 the first document starts at)");
  }
  size_t left = bytes.size() - at;
  if (sequences > left / 12 || documents > (left - sequences * 12) / 8) {
    return fail("truncated arrays");
  }
  const size_t trailing = left - sequences * 12 - documents * 8;
  if (trailing != 0 && trailing != sequences) {
    return fail(fmt::format("{} bytes after the document indices (allowed: none, or one mode "
                            "byte per sequence: {})",
                            trailing, sequences));
  }
  std::vector<int32_t> sizes(sequences);
  read(sequences * 4, sizes.data());
  std::vector<int64_t> pointers(sequences);
  read(sequences * 8, pointers.data());
  std::vector<int64_t> doc_index(documents);
  read(documents * 8, doc_index.data());
  int64_t offset = 0;  // at most 2^31 x 8 bytes per sequence, 2^29 sequences: no overflow
  for (size_t s = 0; s < sequences; ++s) {
    if (sizes[s] < 0) return fail(fmt::format("sequence {} has length {}", s, sizes[s]));
    if (pointers[s] != offset) {
      return fail(fmt::format("sequence {} points at byte {} (allowed: {}, where the sequences "
                              "before it end)",
                              s, pointers[s], offset));
    }
    offset += int64_t{sizes[s]} * item;
  }
  if (doc_index.front() != 0 || doc_index.back() != static_cast<int64_t>(sequences)) {
    return fail(fmt::format("document indices run from {} to {} (allowed: 0 to the {} sequences)",
                            doc_index.front(), doc_index.back(), sequences));
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i + 1 < doc_index.size(); ++i) {
    int64_t lo = doc_index[i], hi = doc_index[i + 1];
    // Checked before the sizes are read: an index past the sequences would read past them.
    if (hi < lo || hi > static_cast<int64_t>(sequences)) {
      return fail(fmt::format(
          "document index {} is {} after {} (allowed: non-decreasing indices from 0 to the {} "
          "sequences)",
          i + 1, hi, lo, sequences));
    }
    int64_t tokens = 0;
    for (int64_t s = lo; s < hi; ++s) {
      tokens += sizes[static_cast<size_t>(s)];  // at most 2^31 per sequence, 2^29 sequences
    }
    if (tokens > kMaxDocumentLength) {
      return fail(fmt::format("document {} has {} tokens (allowed: at most {})", i, tokens,
                              kMaxDocumentLength));
    }
    if (tokens > 0) out.push_back(tokens);
  }
  if (out.empty()) return fail("no documents");
  return out;
}

}  // namespace

Result<std::vector<int64_t>> ParseLengths(std::string_view bytes, const std::string& origin) {
  static constexpr std::string_view kMagic("MMIDIDX\0\0", 9);
  if (bytes.substr(0, kMagic.size()) == kMagic) return ParseMegatronIndex(bytes, origin);
  if (bytes.substr(0, 7) == kMagic.substr(0, 7)) {
    return Status::Parse(origin +
                         ": not a valid Megatron .idx file: its first 9 bytes are not the "
                         "magic \"MMIDIDX\\0\\0\"");
  }
  SP_RETURN_IF_ERROR(CheckText(bytes, origin));
  const std::string allowed = fmt::format("allowed: integer from 1 to {}", kMaxDocumentLength);
  auto too_many = [&] {
    return Status::Invalid(fmt::format("{}: more than {} document lengths (allowed: at most {})",
                                       origin, kMaxDocuments, kMaxDocuments));
  };
  std::vector<int64_t> out;
  // A length as written, in a list or on a line: digits only (1e3, 4096.0 or 0x1000 are not
  // lengths), 1 to the maximum.
  auto length = [&](std::string_view token) -> std::optional<int64_t> {
    Result<int64_t> v = ParseDigits(token);
    if (!v.ok() || *v < 1 || *v > kMaxDocumentLength) return std::nullopt;
    return *v;
  };
  size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && bytes[first] == '[') {
    // A JSON list of integers, scanned without building a document (a 4 GiB list would take
    // eight times that as nlohmann values).
    constexpr std::string_view kSpace = " \t\r\n";
    size_t at = first + 1;
    size_t close = std::string_view::npos;
    while (at < bytes.size()) {
      size_t start = bytes.find_first_not_of(kSpace, at);
      if (start == std::string_view::npos) break;
      if (bytes[start] == ']' && out.empty()) {
        close = start;
        break;
      }
      size_t end = bytes.find_first_of(",]", start);
      if (end == std::string_view::npos) break;
      size_t last = bytes.find_last_not_of(kSpace, end - 1);
      std::string_view token = last == std::string_view::npos || last < start
                                   ? ""
                                   : bytes.substr(start, last - start + 1);
      std::optional<int64_t> v = length(token);
      if (!v) {
        // The scan cuts at the first comma or bracket: a nested list or object is named, not
        // shown cut ("[1" of [[1]]).
        const std::string shown = token.empty()          ? std::string("nothing")
                                  : token.front() == '[' ? std::string("a nested list")
                                  : token.front() == '{' ? std::string("an object")
                                                         : Printable(token, 40);
        return Status::Invalid(fmt::format("{}: entry {} = {} is not a document length ({})",
                                           origin, out.size(), shown, allowed));
      }
      if (static_cast<int64_t>(out.size()) >= kMaxDocuments) return too_many();
      out.push_back(*v);
      at = end + 1;
      if (bytes[end] == ']') {
        close = end;
        break;
      }
    }
    if (close == std::string_view::npos ||
        bytes.find_first_not_of(kSpace, close + 1) != std::string_view::npos) {
      return Status::Parse(
          fmt::format("{}: not a valid JSON list of lengths ({})", origin, allowed));
    }
  } else {
    int64_t n = 0;
    size_t at = 0;
    while (at < bytes.size()) {
      size_t end = bytes.find('\n', at);
      if (end == std::string_view::npos) end = bytes.size();
      std::string_view line = bytes.substr(at, end - at);
      at = end + 1;
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      std::optional<int64_t> v = length(Trim(line));
      if (!v) {
        return Status::Invalid(fmt::format("{}:{}: {} is not a document length ({})", origin, n,
                                           Printable(line, 40), allowed));
      }
      if (static_cast<int64_t>(out.size()) >= kMaxDocuments) return too_many();
      out.push_back(*v);
    }
  }
  if (out.empty()) {
    return Status::Invalid(origin +
                           ": no document lengths (allowed: a JSON list or one length per line)");
  }
  return out;
}

Result<std::vector<int64_t>> ReadLengths(const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string bytes, ReadInputFile(path, kMaxDataFileBytes));
  return ParseLengths(bytes, path);
}

namespace {

// "name" or "name:key=value,key=value" (SyntheticCorpora() lists the keys and their defaults).
struct CorpusShape {
  std::string name;
  std::vector<std::pair<std::string, double>> params;  // the shape's keys, defaults overridden
};

Result<CorpusShape> ParseShape(std::string_view spec) {
  size_t colon = spec.find(':');
  CorpusShape shape;
  shape.name = std::string(spec.substr(0, colon));
  std::vector<std::string> names;
  for (const SyntheticCorpus& c : SyntheticCorpora()) {
    names.push_back(c.name);
    if (c.name == shape.name) shape.params = c.params;
  }
  if (shape.params.empty()) {
    return Status::Invalid(fmt::format("synthetic corpus {} is not known (allowed: {})", shape.name,
                                       Join(names, ", ")));
  }
  if (colon == std::string_view::npos) return shape;
  std::vector<std::string> keys, seen;
  for (const auto& kv : shape.params) keys.push_back(kv.first);
  std::vector<std::string> items = SplitAndTrim(std::string(spec.substr(colon + 1)), ',');
  if (items.empty()) {
    return Status::Invalid(fmt::format("synthetic corpus {}: nothing after ':' (allowed keys: {})",
                                       shape.name, Join(keys, ", ")));
  }
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    auto it = std::find_if(shape.params.begin(), shape.params.end(),
                           [&](const auto& kv) { return kv.first == key; });
    if (eq == std::string::npos || it == shape.params.end()) {
      return Status::Invalid(
          fmt::format("synthetic corpus {}: '{}' is not a key=value of this corpus "
                      "(allowed keys: {})",
                      shape.name, item, Join(keys, ", ")));
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return Status::Invalid(
          fmt::format("synthetic corpus {}: {} is given twice (allowed: once)", shape.name, key));
    }
    seen.push_back(key);
    // Fractions (of the documents) are at most 1; lengths and shapes are positive.
    const bool fraction = key == "long_fraction" || key == "at";
    const double high = fraction ? 1.0 : 1e9;
    Result<double> v = ParseNumber(item.substr(eq + 1));
    if (!v.ok() || !std::isfinite(*v) || *v <= 0 || *v > high) {
      return Status::Invalid(
          fmt::format("synthetic corpus {}: {} = {} (allowed: a number above 0 and at most {})",
                      shape.name, key, item.substr(eq + 1), fraction ? "1" : "1e9"));
    }
    it->second = *v;
  }
  return shape;
}

double Param(const CorpusShape& shape, std::string_view key) {
  for (const auto& kv : shape.params)
    if (kv.first == key) return kv.second;
  return 0;
}

// A two-lognormal mixture: `long_fraction` of the documents around `long_median`, the rest around
// `median` (web text with some books and code files).
double DrawMixture(std::mt19937_64& rng, double median, double sigma, double long_median,
                   double long_sigma, double long_fraction) {
  std::bernoulli_distribution is_long(long_fraction);
  if (is_long(rng))
    return std::lognormal_distribution<double>(std::log(long_median), long_sigma)(rng);
  return std::lognormal_distribution<double>(std::log(median), sigma)(rng);
}

}  // namespace

std::vector<SyntheticCorpus> SyntheticCorpora() {
  return {
      {"lognormal",
       "a mixture of two lognormals: short documents around `median` and a `long_fraction` "
       "around `long_median`",
       {{"median", 2048},
        {"sigma", 0.9},
        {"long_median", 16384},
        {"long_sigma", 1.0},
        {"long_fraction", 0.1}}},
      {"pareto",
       "a Pareto tail from `min` tokens with exponent `alpha`",
       {{"alpha", 1.2}, {"min", 256}}},
      {"drift",
       "the lognormal mixture whose long fraction and long median change at `at` (a fraction of "
       "the corpus): before, 0.1 around 16384 tokens; after, `long_fraction` around "
       "`long_median`",
       {{"at", 0.5}, {"long_fraction", 0.3}, {"long_median", 32768}}},
  };
}

Result<std::vector<int64_t>> Synthetic(std::string_view spec, int64_t count, int64_t context,
                                       uint64_t seed) {
  if (count < 1 || count > kMaxDocuments || context < 1) {
    return Status::Invalid(fmt::format(
        "synthetic corpus of {} documents, context {} (allowed: 1 to {} documents, context >= 1)",
        count, context, kMaxDocuments));
  }
  SP_ASSIGN_OR_RETURN(CorpusShape shape, ParseShape(spec));
  std::mt19937_64 rng(seed);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  auto push = [&](double d) {
    out.push_back(std::clamp<int64_t>(static_cast<int64_t>(std::min(d, 1e15)), 1, context));
  };
  if (shape.name == "lognormal") {
    for (int64_t i = 0; i < count; ++i) {
      push(DrawMixture(rng, Param(shape, "median"), Param(shape, "sigma"),
                       Param(shape, "long_median"), Param(shape, "long_sigma"),
                       Param(shape, "long_fraction")));
    }
  } else if (shape.name == "pareto") {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double alpha = Param(shape, "alpha"), min = Param(shape, "min");
    for (int64_t i = 0; i < count; ++i) push(min / std::pow(1.0 - u(rng), 1.0 / alpha));
  } else {  // drift
    int64_t at = static_cast<int64_t>(Param(shape, "at") * static_cast<double>(count));
    for (int64_t i = 0; i < count; ++i) {
      bool after = i >= at;
      push(DrawMixture(rng, 2048, 0.9, after ? Param(shape, "long_median") : 16384, 1.0,
                       after ? Param(shape, "long_fraction") : 0.1));
    }
  }
  return out;
}

}  // namespace scaleplan::balance
