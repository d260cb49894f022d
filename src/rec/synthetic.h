// A synthetic click-through-rate generator whose true click probabilities are known, so that every
// model's NE can be compared with the best achievable (`bayes_ne`, rec/data.h).
//
// A spec file is YAML:
//   seed: 3
//   examples: {train: 400000, valid: 50000, test: 100000}
//   base_ctr: 0.04
//   dense: 13                                   # standard-normal dense features d0 .. d12
//   sparse:                                     # categorical features, Zipf-distributed ids
//     - {name: s0, cardinality: 10000, zipf: 1.1}
//   effects:                                    # terms of the true logit
//     - {kind: main, feature: s0, scale: 0.5}
//
// Each example draws its dense features from N(0, 1) and each sparse id from a Zipf law over the
// feature's cardinality: id k (0-based, by popularity) with probability proportional to
// (k + 1)^-zipf (zipf 0 is uniform). Its true logit is
//   z = b + sum over effects of scale * t_effect
// with every term t of unit variance in expectation over the drawn parameters (a Zipf-skewed
// feature's realised variance is dominated by its few frequent ids):
//   main            {feature: s}            t = e_s[id_s],             e ~ N(0, 1) per id
//   dense_linear    {features: [d...]}      t = sum_j w_j d_j,         w ~ N(0, 1/k) (k features)
//   pairwise        {features: [s, s'], rank: r}
//                                           t = u[id_s] . v[id_s'],    u, v in R^r, entries
//                                                                      N(0, r^-1/2)
//   triple          {features: [s, s', s''], rank: r}
//                                           t = sum_q a_q[id] b_q[id'] c_q[id''], entries
//                                                                      N(0, r^-1/3)
//   gate            {dense: d, sparse: s}   t = sqrt(2) * 1[d > 0] * e_s[id_s]   (a sparse effect
//                                                                      switched by a dense feature)
//   dense_nonlinear {features: [d...]}      t = prod_j d_j             (2 to 8 distinct)
// and b is set by bisection so that the mean true probability over the training examples is
// base_ctr. The label is Bernoulli(p), p = sigmoid(z) clamped to [1e-15, 1 - 1e-15]; a logit that
// is not finite is an error.
//
// Determinism: the effects' parameters come from `seed`, and each split's features and ids from
// its own stream (seed + 1, + 2, + 3), so they do not change when another split's size does (the
// labels may: the bias is fitted on the training examples). The generator uses
// its own uniform and normal draws (not the standard library's distributions), so a seed gives the
// same data on every platform.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "rec/data.h"
#include "spec/schema.h"

namespace scaleplan::rec {

// Bounds on a spec (docs/RELIABILITY.md): what fits in memory on a laptop.
inline constexpr int64_t kMaxExamples = 20'000'000;  // all splits together
inline constexpr int64_t kMaxDense = 1000;
inline constexpr int64_t kMaxSparse = 1000;
inline constexpr int64_t kMaxCardinality = 10'000'000;
inline constexpr int64_t kMaxEffects = 1000;
inline constexpr int64_t kMaxEffectRank = 64;
inline constexpr int64_t kMaxEffectRows = 50'000'000;        // parameters the effects draw, in all
inline constexpr int64_t kMaxTotalCardinality = 50'000'000;  // sparse features' ids, in all
inline constexpr double kMaxDataBytes = 4.0 * (1 << 30);     // the examples in memory
inline constexpr int64_t kMaxProductFeatures = 8;            // dense_nonlinear

enum class EffectKind { kMain, kDenseLinear, kPairwise, kTriple, kGate, kDenseNonlinear };
std::string_view EffectKindName(EffectKind kind);

struct SparseFeatureSpec {
  std::string name;
  int64_t cardinality = 0;
  double zipf = 1.05;
};

struct EffectSpec {
  EffectKind kind = EffectKind::kMain;
  std::string feature;                // main
  std::vector<std::string> features;  // dense_linear, pairwise, triple, dense_nonlinear
  std::string dense, sparse;          // gate
  int64_t rank = 0;                   // pairwise (default 4), triple (default 1)
  double scale = 1;
  std::string origin;  // "spec.yaml:12", for errors found after parsing
};

struct SyntheticSpec {
  uint64_t seed = 1;
  int64_t train = 400000, valid = 50000, test = 100000;
  double base_ctr = 0.04;
  int64_t dense = 13;
  std::vector<SparseFeatureSpec> sparse;
  std::vector<EffectSpec> effects;
};

const spec::Schema<SyntheticSpec>& SyntheticSpecSchema();
const spec::Schema<SparseFeatureSpec>& SparseFeatureSchema();
const spec::Schema<EffectSpec>& EffectSchema();

// Reads a spec; errors name the origin's line and the key.
Result<SyntheticSpec> ParseSyntheticSpec(std::string_view text, const std::string& origin);
// A spec file, or the name of an embedded one (presets/ctr/: `default`, the spec,
// `heldout`, a second spec never used to choose any default, `fresh`, a third written after
// searches had seen the second, and `criteo-shaped`, a fourth, 16 sparse features at a 22%
// click rate, written after every default but the refinement's had been chosen).
Result<SyntheticSpec> LoadSyntheticSpec(std::string_view ref);
// Cross-field checks: names unique, effects name existing features of the right type.
Status ValidateSyntheticSpec(const SyntheticSpec& spec);

// Draws the data set; data.name is `name`.
Result<CtrData> GenerateSynthetic(const SyntheticSpec& spec, const std::string& name);

}  // namespace scaleplan::rec
