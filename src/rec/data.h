// Click-through-rate data in memory and the metrics every ranking model is judged by.
//
// A data set has `dense_count` real features and one categorical id per sparse feature per
// example (one-hot, as in Criteo and the synthetic generator), a 0/1 label and, for synthetic
// data, the true click probability the label was drawn from.
//
// Metrics, on n examples with labels y_i in {0, 1} and predictions p_i:
//   log loss  L  = -1/n sum_i [y_i ln p_i + (1 - y_i) ln(1 - p_i)]        (p clamped to [1e-7, 1 -
//   1e-7]) NE           = L / H(c),  H(c) = -c ln c - (1 - c) ln(1 - c),  c = mean_i y_i
//                  (He et al., ADKDD'14: log loss over the entropy of the background CTR; the
//                  background is the evaluated split's own rate, so a constant prediction at that
//                  rate scores exactly 1)
//   AUC          = P(p_pos > p_neg) + P(p_pos = p_neg) / 2 (Mann-Whitney, ties shared)
//   bayes NE     = the NE of the true probabilities: the best NE any model can expect.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/status.h"

namespace scaleplan::rec {

struct CtrSplit {
  int64_t n = 0;
  std::vector<float> dense;     // n x dense_count, row-major
  std::vector<int64_t> sparse;  // n x sparse_count, row-major; id in [0, cardinality[f])
  std::vector<float> label;     // n, 0 or 1
  std::vector<double> prob;     // n true click probabilities (synthetic data), else empty
};

struct CtrData {
  std::string name;  // "synthetic:default", "criteo:day_0.tsv", ...
  int64_t dense_count = 0;
  std::vector<std::string> sparse_names;
  std::vector<int64_t> cardinality;  // rows of each sparse feature's table
  CtrSplit train, valid, test;
  int64_t skipped_lines = 0;  // input lines skipped as bad (criteo with skip_bad_lines)

  int64_t sparse_count() const { return static_cast<int64_t>(cardinality.size()); }
};

struct Metrics {
  double log_loss = 0;
  double ne = 0;
  double auc = 0;
  double ctr = 0;  // the split's click rate
  int64_t examples = 0;
};

// Metrics of predictions `p` against `label` (same length, at least one example). A split whose
// labels are all equal has no entropy: its NE is reported as the log loss over H(c) with c
// clamped to [1e-7, 1 - 1e-7], its AUC as 0.5.
Metrics Evaluate(const std::vector<double>& p, const std::vector<float>& label);

// The entropy (nats) of a click rate, clamped away from 0 and 1: NE's denominator.
double CtrEntropy(double c);
// CtrEntropy of the click rate of examples [from, from + n) of `split` (in range).
double LabelEntropy(const CtrSplit& split, int64_t from, int64_t n);

// The metrics of the true probabilities of the first n examples (0 or more than the split: all);
// requires split.prob.
Metrics BayesMetrics(const CtrSplit& split, int64_t n = 0);

// Reads one line (without its '\n') into `line`, keeping at most `max_bytes`: a longer line is
// consumed to its end and flagged by `too_long`, so a file without line breaks never fills
// memory. False at the end of the input.
bool ReadLine(std::istream& in, size_t max_bytes, std::string* line, bool* too_long);

// Checks the data's shapes (every split's arrays sized by n, ids within their tables); an internal
// invariant for readers, and the trainer's guard against a hand-built data set.
Status CheckData(const CtrData& data);

}  // namespace scaleplan::rec
