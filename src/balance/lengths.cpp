#include <fmt/format.h>

#include <cmath>
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

Result<std::vector<int64_t>> ReadLengths(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": no such file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseLengths(buffer.str(), path);
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
