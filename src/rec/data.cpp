#include "rec/data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace scaleplan::rec {

namespace {

constexpr double kClamp = 1e-7;

}  // namespace

double CtrEntropy(double c) {
  c = std::clamp(c, kClamp, 1 - kClamp);
  return -c * std::log(c) - (1 - c) * std::log(1 - c);
}

double LabelEntropy(const CtrSplit& split, int64_t from, int64_t n) {
  double clicks = 0;
  for (int64_t i = from; i < from + n; ++i) {
    clicks += split.label[static_cast<size_t>(i)] > 0.5f ? 1 : 0;
  }
  return CtrEntropy(n > 0 ? clicks / static_cast<double>(n) : 0);
}

Metrics Evaluate(const std::vector<double>& p, const std::vector<float>& label) {
  Metrics m;
  const size_t n = std::min(p.size(), label.size());
  m.examples = static_cast<int64_t>(n);
  if (n == 0) return m;
  double loss = 0, clicks = 0;
  for (size_t i = 0; i < n; ++i) {
    double q = std::clamp(p[i], kClamp, 1 - kClamp);
    loss -= label[i] > 0.5f ? std::log(q) : std::log(1 - q);
    clicks += label[i] > 0.5f ? 1 : 0;
  }
  m.log_loss = loss / static_cast<double>(n);
  m.ctr = clicks / static_cast<double>(n);
  m.ne = m.log_loss / CtrEntropy(m.ctr);
  // AUC by ranks: sort by prediction, give tied predictions their mean rank.
  const double positives = clicks, negatives = static_cast<double>(n) - clicks;
  if (positives == 0 || negatives == 0) {
    m.auc = 0.5;
    return m;
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  double rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && p[order[j + 1]] == p[order[i]]) ++j;
    const double mean_rank = 0.5 * static_cast<double>(i + j) + 1;  // 1-based ranks i+1 .. j+1
    for (size_t k = i; k <= j; ++k) {
      if (label[order[k]] > 0.5f) rank_sum += mean_rank;
    }
    i = j + 1;
  }
  m.auc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
  return m;
}

bool ReadLine(std::istream& in, size_t max_bytes, std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  std::streambuf* buffer = in.rdbuf();
  if (buffer == nullptr) return false;
  bool any = false;
  for (int c = buffer->sbumpc(); c != std::char_traits<char>::eof(); c = buffer->sbumpc()) {
    any = true;
    if (c == '\n') return true;
    if (line->size() < max_bytes) {
      line->push_back(static_cast<char>(c));
    } else {
      *too_long = true;
    }
  }
  in.setstate(std::ios::eofbit);
  return any;
}

Metrics BayesMetrics(const CtrSplit& split, int64_t n) {
  if (n <= 0 || n >= split.n) return Evaluate(split.prob, split.label);
  const auto k = static_cast<size_t>(n);
  return Evaluate(std::vector<double>(split.prob.begin(), split.prob.begin() + k),
                  std::vector<float>(split.label.begin(), split.label.begin() + k));
}

Status CheckData(const CtrData& data) {
  const int64_t d = data.dense_count, s = data.sparse_count();
  if (static_cast<int64_t>(data.sparse_names.size()) != s) {
    return Status::Invalid(fmt::format("{}: {} sparse names for {} sparse features", data.name,
                                       data.sparse_names.size(), s));
  }
  for (int64_t f = 0; f < s; ++f) {
    if (data.cardinality[f] < 1) {
      return Status::Invalid(fmt::format("{}: sparse feature {} has {} rows (allowed: >= 1)",
                                         data.name, data.sparse_names[f], data.cardinality[f]));
    }
  }
  const std::pair<const char*, const CtrSplit*> splits[] = {
      {"train", &data.train}, {"valid", &data.valid}, {"test", &data.test}};
  for (const auto& [name, split] : splits) {
    const auto n = static_cast<size_t>(split->n);
    if (split->n < 0 || split->dense.size() != n * d || split->sparse.size() != n * s ||
        split->label.size() != n || (!split->prob.empty() && split->prob.size() != n)) {
      return Status::Invalid(fmt::format("{}: the {} split's arrays do not match its {} examples",
                                         data.name, name, split->n));
    }
    for (size_t i = 0; i < split->sparse.size(); ++i) {
      int64_t id = split->sparse[i];
      if (id < 0 || id >= data.cardinality[i % s]) {
        return Status::Invalid(fmt::format("{}: {} example {} has id {} in feature {} of {} rows",
                                           data.name, name, i / s, id, data.sparse_names[i % s],
                                           data.cardinality[i % s]));
      }
    }
  }
  return Status::Ok();
}

}  // namespace scaleplan::rec
