#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "balance/balance.h"
#include "core/text.h"

namespace scaleplan::balance {

double WorkloadModel::Attention(double d) const { return attention_per_pair * (d * d + d) / 2.0; }

Result<std::vector<int64_t>> ParseLengths(std::string_view text, const std::string& origin) {
  std::vector<int64_t> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '[') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      return Status::Parse(fmt::format("{}: malformed JSON: {}", origin, e.what()));
    }
    for (size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_number_integer() || j[i].get<int64_t>() < 1) {
        return Status::Invalid(
            fmt::format("{}: entry {} = {} is not a document length (allowed: integer >= 1)",
                        origin, i, j[i].dump()));
      }
      out.push_back(j[i].get<int64_t>());
    }
  } else {
    std::istringstream in{std::string(text)};
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (SplitAndTrim(line, ' ').empty()) continue;
      Result<int64_t> v = ParseInteger(line);
      if (!v.ok() || *v < 1) {
        return Status::Invalid(fmt::format(
            "{}:{}: {} is not a document length (allowed: integer >= 1)", origin, n, line));
      }
      out.push_back(*v);
    }
  }
  if (out.empty())
    return Status::Invalid(origin +
                           ": no document lengths (allowed: a JSON list or one length per line)");
  return out;
}

namespace {

// Megatron-LM's tokenized-dataset index (.idx, megatron/core/datasets/indexed_dataset.py): the
// 9-byte magic "MMIDIDX\0\0", a little-endian u64 version (1), a u8 dtype code, u64 sequence count
// S, u64 document-index count D, then int32 sequence lengths[S], int64 sequence pointers[S] and
// int64 document indices[D] (0, ..., S): document i is sequences [indices[i], indices[i+1]).
Result<std::vector<int64_t>> ParseMegatronIndex(const std::string& bytes,
                                                const std::string& origin) {
  auto fail = [&](const std::string& what) {
    return Status::Parse(origin + ": not a valid Megatron .idx file: " + what);
  };
  size_t at = 9;
  auto read = [&](size_t n, auto* out) -> bool {
    if (at + n > bytes.size()) return false;
    std::memcpy(out, bytes.data() + at, n);
    at += n;
    return true;
  };
  uint64_t version = 0, sequences = 0, documents = 0;
  uint8_t dtype = 0;
  if (!read(8, &version) || !read(1, &dtype) || !read(8, &sequences) || !read(8, &documents))
    return fail("truncated header");
  if (version != 1) return fail("version " + std::to_string(version) + " (allowed: 1)");
  size_t left = bytes.size() - at;
  if (documents < 1 || sequences > left / 12 || documents > (left - sequences * 12) / 8) {
    return fail("truncated arrays");
  }
  std::vector<int32_t> sizes(sequences);
  read(sequences * 4, sizes.data());
  at += sequences * 8;  // sequence pointers
  std::vector<int64_t> doc_index(documents);
  read(documents * 8, doc_index.data());
  std::vector<int64_t> out;
  for (size_t i = 0; i + 1 < doc_index.size(); ++i) {
    int64_t lo = doc_index[i], hi = doc_index[i + 1];
    if (lo < 0 || hi < lo || hi > static_cast<int64_t>(sequences))
      return fail("document index out of order");
    int64_t tokens = 0;
    for (int64_t s = lo; s < hi; ++s) {
      if (sizes[static_cast<size_t>(s)] < 0) return fail("negative sequence length");
      tokens += sizes[static_cast<size_t>(s)];
    }
    if (tokens > 0) out.push_back(tokens);
  }
  if (out.empty()) return fail("no documents");
  return out;
}

}  // namespace

Result<std::vector<int64_t>> ReadLengths(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": no such file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = buffer.str();
  static const std::string kMagic("MMIDIDX\0\0", 9);
  if (bytes.compare(0, kMagic.size(), kMagic) == 0) return ParseMegatronIndex(bytes, path);
  return ParseLengths(bytes, path);
}

Result<std::vector<int64_t>> Synthetic(std::string_view name, int64_t count, int64_t context,
                                       uint64_t seed) {
  if (count < 1 || context < 1) {
    return Status::Invalid(fmt::format(
        "synthetic corpus of {} documents, context {} (allowed: both >= 1)", count, context));
  }
  std::mt19937_64 rng(seed);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  if (name == "lognormal") {
    // 90% short documents around 2K tokens, 10% long ones around 16K (web-text-like).
    std::lognormal_distribution<double> short_docs(std::log(2048.0), 0.9),
        long_docs(std::log(16384.0), 1.0);
    std::bernoulli_distribution is_long(0.1);
    for (int64_t i = 0; i < count; ++i) {
      double d = is_long(rng) ? long_docs(rng) : short_docs(rng);
      out.push_back(std::clamp<int64_t>(static_cast<int64_t>(d), 1, context));
    }
  } else if (name == "pareto") {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int64_t i = 0; i < count; ++i) {
      double d = 256.0 / std::pow(1.0 - u(rng), 1.0 / 1.2);
      out.push_back(std::clamp<int64_t>(static_cast<int64_t>(d), 1, context));
    }
  } else {
    return Status::Invalid(fmt::format("synthetic corpus {} (allowed: lognormal, pareto)", name));
  }
  return out;
}

}  // namespace scaleplan::balance
