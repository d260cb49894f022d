#include "rec/synthetic.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>

#include "core/file.h"
#include "core/text.h"
#include "spec/presets.h"
#include "spec/readers.h"
#include "spec/yaml.h"

namespace scaleplan::rec {

namespace {

using spec::FieldInfo;
using spec::RawValue;
using spec::ValueKind;

const std::vector<std::pair<std::string, EffectKind>>& EffectChoices() {
  static const std::vector<std::pair<std::string, EffectKind>> choices = {
      {"main", EffectKind::kMain},         {"dense_linear", EffectKind::kDenseLinear},
      {"pairwise", EffectKind::kPairwise}, {"triple", EffectKind::kTriple},
      {"gate", EffectKind::kGate},         {"dense_nonlinear", EffectKind::kDenseNonlinear}};
  return choices;
}

const spec::Schema<SyntheticSpec>& ExamplesSchema() {
  static const spec::Schema<SyntheticSpec> schema = [] {
    spec::Schema<SyntheticSpec> s("synthetic.examples");
    s.Integer("train", &SyntheticSpec::train, 1, kMaxExamples, "", "training examples")
        .Integer("valid", &SyntheticSpec::valid, 1, kMaxExamples, "",
                 "validation examples (search scores candidates on them)")
        .Integer("test", &SyntheticSpec::test, 1, kMaxExamples, "",
                 "test examples (the reported NE and AUC)");
    return s;
  }();
  return schema;
}

// Random draws that do not depend on the standard library's distributions (synthetic.h).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  // splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit generator.
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double Normal() {                                                           // Box-Muller
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = 1 - Uniform(), v = Uniform();  // u in (0, 1]
    double r = std::sqrt(-2 * std::log(u));
    spare_ = r * std::sin(2 * std::numbers::pi * v);
    has_spare_ = true;
    return r * std::cos(2 * std::numbers::pi * v);
  }

 private:
  uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

std::vector<double> Normals(Rng& rng, int64_t count, double sd) {
  std::vector<double> v(static_cast<size_t>(count));
  for (double& x : v) x = sd * rng.Normal();
  return v;
}

// An effect with its features resolved to column indices and its parameters drawn.
struct Term {
  EffectKind kind;
  double scale;
  std::vector<int64_t> cols;  // dense or sparse columns, in the spec's order
  int64_t rank = 0;
  int64_t gate_dense = 0, gate_sparse = 0;
  std::vector<std::vector<double>> tables;  // per sparse column: cardinality x rank (main: x 1)
  std::vector<double> weights;              // dense_linear
};

double Logit(const Term& t, const float* dense, const int64_t* sparse) {
  switch (t.kind) {
    case EffectKind::kMain:
      return t.tables[0][static_cast<size_t>(sparse[t.cols[0]])];
    case EffectKind::kDenseLinear: {
      double s = 0;
      for (size_t j = 0; j < t.cols.size(); ++j) s += t.weights[j] * dense[t.cols[j]];
      return s;
    }
    case EffectKind::kPairwise:
    case EffectKind::kTriple: {
      double s = 0;
      for (int64_t q = 0; q < t.rank; ++q) {
        double prod = 1;
        for (size_t j = 0; j < t.cols.size(); ++j) {
          prod *= t.tables[j][static_cast<size_t>(sparse[t.cols[j]] * t.rank + q)];
        }
        s += prod;
      }
      return s;
    }
    case EffectKind::kGate:
      return dense[t.gate_dense] > 0
                 ? std::numbers::sqrt2 * t.tables[0][static_cast<size_t>(sparse[t.gate_sparse])]
                 : 0.0;
    case EffectKind::kDenseNonlinear: {
      double prod = 1;
      for (int64_t c : t.cols) prod *= dense[c];
      return prod;
    }
  }
  return 0;
}

double Sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

constexpr double kProbClamp = 1e-15;

// Zipf sampler over [0, n): the cumulative weights and a binary search.
struct Zipf {
  std::vector<double> cdf;
  Zipf(int64_t n, double s) : cdf(static_cast<size_t>(n)) {
    double acc = 0;
    for (int64_t k = 0; k < n; ++k) {
      acc += std::pow(static_cast<double>(k + 1), -s);
      cdf[static_cast<size_t>(k)] = acc;
    }
    for (double& c : cdf) c /= acc;
  }
  int64_t Draw(Rng& rng) const {
    double u = rng.Uniform();
    auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
    return std::min<int64_t>(it - cdf.begin(), static_cast<int64_t>(cdf.size()) - 1);
  }
};

void Draw(const SyntheticSpec& spec, const std::vector<Zipf>& zipf, uint64_t seed, int64_t n,
          CtrSplit* out) {
  Rng rng(seed);
  const auto d = static_cast<size_t>(spec.dense), s = spec.sparse.size();
  out->n = n;
  out->dense.resize(static_cast<size_t>(n) * d);
  out->sparse.resize(static_cast<size_t>(n) * s);
  for (int64_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < d; ++j) {
      out->dense[static_cast<size_t>(i) * d + j] = static_cast<float>(rng.Normal());
    }
    for (size_t f = 0; f < s; ++f) out->sparse[static_cast<size_t>(i) * s + f] = zipf[f].Draw(rng);
  }
}

Result<std::vector<double>> Logits(const std::vector<Term>& terms, const SyntheticSpec& spec,
                                   const CtrSplit& split) {
  const auto d = static_cast<size_t>(spec.dense), s = spec.sparse.size();
  std::vector<double> z(static_cast<size_t>(split.n), 0.0);
  for (size_t i = 0; i < z.size(); ++i) {
    for (const Term& t : terms) {
      z[i] += t.scale * Logit(t, split.dense.data() + i * d, split.sparse.data() + i * s);
    }
    if (!std::isfinite(z[i])) {
      return Status::Invalid(
          "synthetic: an example's true logit is not finite (allowed: smaller scales)");
    }
  }
  return z;
}

void Label(const std::vector<double>& z, double bias, uint64_t seed, CtrSplit* out) {
  Rng rng(seed);
  out->prob.resize(z.size());
  out->label.resize(z.size());
  for (size_t i = 0; i < z.size(); ++i) {
    // Clamped inside (0, 1): a logit past +-35 would round to exactly 0 or 1.
    out->prob[i] = std::clamp(Sigmoid(bias + z[i]), kProbClamp, 1 - kProbClamp);
    out->label[i] = rng.Uniform() < out->prob[i] ? 1.0f : 0.0f;
  }
}

Status NameError(const EffectSpec& e, std::string_view key, const std::string& value,
                 std::string_view wanted, const std::vector<std::string>& allowed) {
  const std::string names = allowed.empty()
                                ? fmt::format("none: the spec has no {} features", wanted)
                                : Printable(Join(allowed, ", "), 400);
  if (value.empty()) {
    return Status::Invalid(fmt::format("{}: effect {}.{} is missing (allowed: a {} feature: {})",
                                       e.origin, EffectKindName(e.kind), key, wanted, names));
  }
  return Status::Invalid(fmt::format("{}: effect {}.{} = {} names no {} feature (allowed: {})",
                                     e.origin, EffectKindName(e.kind), key, Printable(value, 64),
                                     wanted, names));
}

}  // namespace

std::string_view EffectKindName(EffectKind kind) { return spec::ChoiceName(EffectChoices(), kind); }

const spec::Schema<SyntheticSpec>& SyntheticSpecSchema() {
  static const spec::Schema<SyntheticSpec> schema = [] {
    spec::Schema<SyntheticSpec> s("synthetic");
    s.Unsigned("seed", &SyntheticSpec::seed, "seed of the effects and the examples")
        .Number("base_ctr", &SyntheticSpec::base_ctr, 1e-4, 0.5, "",
                "mean true click probability over the training examples")
        .Integer("dense", &SyntheticSpec::dense, 0, kMaxDense, "",
                 "standard-normal dense features, named d0, d1, ...");
    FieldInfo examples;
    examples.key = "examples";
    examples.kind = ValueKind::kTable;
    examples.help = "examples per split: {train, valid, test}";
    examples.allowed = fmt::format("a map of train, valid, test; at most {} in all", kMaxExamples);
    s.Custom(examples, nullptr, [](const SyntheticSpec& v) {
      return nlohmann::json{{"train", v.train}, {"valid", v.valid}, {"test", v.test}};
    });
    FieldInfo sparse;
    sparse.key = "sparse";
    sparse.kind = ValueKind::kTable;
    sparse.help = "categorical features, each {name, cardinality, zipf}";
    sparse.allowed = fmt::format("a list of maps, at most {}", kMaxSparse);
    s.Custom(sparse, nullptr, [](const SyntheticSpec& v) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& f : v.sparse) out.push_back(SparseFeatureSchema().ToJson(f));
      return out;
    });
    FieldInfo effects;
    effects.key = "effects";
    effects.kind = ValueKind::kTable;
    effects.help = "terms of the true logit, each a map of effect keys";
    effects.allowed = fmt::format("a list of maps, at most {}", kMaxEffects);
    s.Custom(effects, nullptr, [](const SyntheticSpec& v) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : v.effects) out.push_back(EffectSchema().ToJson(e));
      return out;
    });
    return s;
  }();
  return schema;
}

const spec::Schema<SparseFeatureSpec>& SparseFeatureSchema() {
  static const spec::Schema<SparseFeatureSpec> schema = [] {
    spec::Schema<SparseFeatureSpec> s("synthetic.sparse");
    s.Text("name", &SparseFeatureSpec::name, "feature name, unique among all features")
        .Integer("cardinality", &SparseFeatureSpec::cardinality, 1, kMaxCardinality, "",
                 "distinct ids (rows of its embedding table)")
        .Number("zipf", &SparseFeatureSpec::zipf, 0, 10, "",
                "skew: id k drawn with probability proportional to (k + 1)^-zipf");
    return s;
  }();
  return schema;
}

const spec::Schema<EffectSpec>& EffectSchema() {
  static const spec::Schema<EffectSpec> schema = [] {
    spec::Schema<EffectSpec> s("synthetic.effects");
    s.Choice("kind", &EffectSpec::kind, EffectChoices(), "the term's form (rec/synthetic.h)")
        .Text("feature", &EffectSpec::feature, "main: the sparse feature")
        .Text("dense", &EffectSpec::dense, "gate: the dense feature that switches it")
        .Text("sparse", &EffectSpec::sparse, "gate: the sparse feature it switches")
        .Integer("rank", &EffectSpec::rank, 1, kMaxEffectRank, "",
                 "pairwise (default 4) and triple (default 1): rank of the interaction")
        .Number("scale", &EffectSpec::scale, 0, 100, "", "the term's standard deviation");
    FieldInfo features;
    features.key = "features";
    features.kind = ValueKind::kList;
    features.help =
        "dense_linear, dense_nonlinear: dense features; pairwise: 2 and triple: 3 sparse features";
    features.allowed = "a list of feature names";
    s.Custom(
        features,
        [](EffectSpec& e, const RawValue& v) -> Status {
          e.features = v.is_list ? v.items : std::vector<std::string>{v.text};
          return Status::Ok();
        },
        [](const EffectSpec& e) { return nlohmann::json(e.features); });
    return s;
  }();
  return schema;
}

Result<SyntheticSpec> ParseSyntheticSpec(std::string_view text, const std::string& origin) {
  SP_ASSIGN_OR_RETURN(YAML::Node root, spec::ParseYaml(text, origin));
  SyntheticSpec out;
  SP_RETURN_IF_ERROR(
      spec::ApplyMap(SyntheticSpecSchema(), out, root, origin, {"examples", "sparse", "effects"}));
  if (const YAML::Node ex = root["examples"]) {
    if (!ex.IsMap()) {
      return Status::Parse(fmt::format(
          "{}: synthetic.examples expected a map of train, valid, test", spec::Where(origin, ex)));
    }
    SP_RETURN_IF_ERROR(spec::ApplyMap(ExamplesSchema(), out, ex, origin, {}));
  }
  auto list = [&](const char* key, auto&& each) -> Status {
    const YAML::Node node = root[key];
    if (!node) return Status::Ok();
    if (!node.IsSequence()) {
      return Status::Parse(
          fmt::format("{}: synthetic.{} expected a list of maps", spec::Where(origin, node), key));
    }
    for (const YAML::Node& item : node) {
      if (!item.IsMap()) {
        return Status::Parse(fmt::format("{}: synthetic.{} expected a list of maps",
                                         spec::Where(origin, item), key));
      }
      SP_RETURN_IF_ERROR(each(item));
    }
    return Status::Ok();
  };
  Status sparse_ok = list("sparse", [&](const YAML::Node& item) -> Status {
    if (static_cast<int64_t>(out.sparse.size()) >= kMaxSparse) {
      return Status::Invalid(fmt::format("{}: synthetic.sparse has more than {} features",
                                         spec::Where(origin, item), kMaxSparse));
    }
    SparseFeatureSpec f;
    SP_RETURN_IF_ERROR(spec::ApplyMap(SparseFeatureSchema(), f, item, origin, {}));
    if (f.name.empty() || f.cardinality == 0) {
      return Status::Invalid(fmt::format(
          "{}: synthetic.sparse item needs a name and a cardinality (allowed: {{name: s0, "
          "cardinality: 1000, zipf: 1.05}})",
          spec::Where(origin, item)));
    }
    out.sparse.push_back(std::move(f));
    return Status::Ok();
  });
  if (!sparse_ok.ok()) return sparse_ok;
  Status effects_ok = list("effects", [&](const YAML::Node& item) -> Status {
    if (static_cast<int64_t>(out.effects.size()) >= kMaxEffects) {
      return Status::Invalid(fmt::format("{}: synthetic.effects has more than {} effects",
                                         spec::Where(origin, item), kMaxEffects));
    }
    if (!item["kind"]) {
      return Status::Invalid(fmt::format(
          "{}: synthetic.effects item has no kind (allowed: main, dense_linear, pairwise, triple, "
          "gate, dense_nonlinear)",
          spec::Where(origin, item)));
    }
    EffectSpec e;
    e.origin = spec::Where(origin, item);
    SP_RETURN_IF_ERROR(spec::ApplyMap(EffectSchema(), e, item, origin, {}));
    out.effects.push_back(std::move(e));
    return Status::Ok();
  });
  if (!effects_ok.ok()) return effects_ok;
  // An effect's errors name its file and line already; the spec's own do not.
  if (Status valid = ValidateSyntheticSpec(out); !valid.ok()) {
    return valid.message().starts_with(origin + ":") ? valid : valid.WithContext(origin);
  }
  return out;
}

Result<SyntheticSpec> LoadSyntheticSpec(std::string_view ref) {
  if (spec::LooksLikePath(ref)) {
    std::string path(ref);
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
    return ParseSyntheticSpec(text, StreamedInputName(path));
  }
  SP_ASSIGN_OR_RETURN(std::string text, spec::PresetText("ctr", ref));
  return ParseSyntheticSpec(text, fmt::format("preset ctr/{}.yaml", ref));
}

Status ValidateSyntheticSpec(const SyntheticSpec& spec) {
  if (spec.dense == 0 && spec.sparse.empty()) {
    return Status::Invalid(
        "synthetic: dense = 0 and sparse is empty: the spec has no feature (allowed: at least "
        "one dense or sparse feature)");
  }
  if (spec.train + spec.valid + spec.test > kMaxExamples) {
    return Status::Invalid(
        fmt::format("synthetic.examples: {} + {} + {} examples (allowed: at most {} in all)",
                    spec.train, spec.valid, spec.test, kMaxExamples));
  }
  std::vector<std::string> dense_names, sparse_names;
  for (int64_t j = 0; j < spec.dense; ++j) dense_names.push_back(fmt::format("d{}", j));
  std::map<std::string, int> seen;
  for (const std::string& n : dense_names) seen[n] = 1;
  for (const SparseFeatureSpec& f : spec.sparse) {
    if (seen.count(f.name) > 0) {
      return Status::Invalid(fmt::format(
          "synthetic.sparse.name = {} {} (allowed: unique names; dense features are d0 .. d{})",
          Printable(f.name, 64),
          seen[f.name] == 1 ? "is the name of a dense feature" : "is used twice", spec.dense - 1));
    }
    seen[f.name] = 2;
    sparse_names.push_back(f.name);
  }
  auto is = [&](const std::string& name, int type) {
    auto it = seen.find(name);
    return it != seen.end() && it->second == type;
  };
  int64_t rows = 0;
  auto card = [&](const std::string& name) {
    for (const auto& f : spec.sparse) {
      if (f.name == name) return f.cardinality;
    }
    return int64_t{0};
  };
  for (const EffectSpec& e : spec.effects) {
    const std::string_view kind = EffectKindName(e.kind);
    auto count_error = [&](std::string_view wanted) {
      return Status::Invalid(fmt::format("{}: effect {}.features has {} names (allowed: {})",
                                         e.origin, kind, e.features.size(), wanted));
    };
    auto unused = [&](bool bad, std::string_view key) {
      return bad ? Status::Invalid(fmt::format(
                       "{}: effect {} takes no {} (allowed keys: {})", e.origin, kind, key,
                       e.kind == EffectKind::kMain   ? "feature, scale"
                       : e.kind == EffectKind::kGate ? "dense, sparse, scale"
                       : e.kind == EffectKind::kPairwise || e.kind == EffectKind::kTriple
                           ? "features, rank, scale"
                           : "features, scale"))
                 : Status::Ok();
    };
    auto distinct = [&] {
      std::vector<std::string> sorted = e.features;
      std::sort(sorted.begin(), sorted.end());
      const auto twice = std::adjacent_find(sorted.begin(), sorted.end());
      return twice == sorted.end()
                 ? Status::Ok()
                 : Status::Invalid(fmt::format(
                       "{}: effect {}.features names {} twice (allowed: distinct features)",
                       e.origin, kind, Printable(*twice, 64)));
    };
    const bool takes_rank = e.kind == EffectKind::kPairwise || e.kind == EffectKind::kTriple;
    SP_RETURN_IF_ERROR(unused(!takes_rank && e.rank != 0, "rank"));
    SP_RETURN_IF_ERROR(unused(e.kind != EffectKind::kMain && !e.feature.empty(), "feature"));
    SP_RETURN_IF_ERROR(
        unused(e.kind != EffectKind::kGate && (!e.dense.empty() || !e.sparse.empty()),
               e.dense.empty() ? "sparse" : "dense"));
    SP_RETURN_IF_ERROR(
        unused((e.kind == EffectKind::kMain || e.kind == EffectKind::kGate) && !e.features.empty(),
               "features"));
    switch (e.kind) {
      case EffectKind::kMain:
        if (!is(e.feature, 2)) return NameError(e, "feature", e.feature, "sparse", sparse_names);
        rows += card(e.feature);
        break;
      case EffectKind::kGate:
        if (!is(e.dense, 1)) return NameError(e, "dense", e.dense, "dense", dense_names);
        if (!is(e.sparse, 2)) return NameError(e, "sparse", e.sparse, "sparse", sparse_names);
        rows += card(e.sparse);
        break;
      case EffectKind::kDenseLinear:
      case EffectKind::kDenseNonlinear: {
        const bool linear = e.kind == EffectKind::kDenseLinear;
        if (e.features.size() < (linear ? 1u : 2u) ||
            (!linear && e.features.size() > static_cast<size_t>(kMaxProductFeatures))) {
          return count_error(linear ? "at least 1" : fmt::format("2 to {}", kMaxProductFeatures));
        }
        SP_RETURN_IF_ERROR(distinct());
        for (const std::string& f : e.features) {
          if (!is(f, 1)) return NameError(e, "features", f, "dense", dense_names);
        }
        break;
      }
      case EffectKind::kPairwise:
      case EffectKind::kTriple: {
        const size_t want = e.kind == EffectKind::kPairwise ? 2 : 3;
        if (e.features.size() != want) return count_error(want == 2 ? "2" : "3");
        SP_RETURN_IF_ERROR(distinct());  // a feature with itself is a main effect in disguise
        const int64_t rank = e.rank > 0 ? e.rank : (want == 2 ? 4 : 1);
        for (const std::string& f : e.features) {
          if (!is(f, 2)) return NameError(e, "features", f, "sparse", sparse_names);
          rows += card(f) * rank;
        }
        break;
      }
    }
  }
  int64_t cardinalities = 0;
  for (const SparseFeatureSpec& f : spec.sparse) cardinalities += f.cardinality;
  if (cardinalities > kMaxTotalCardinality) {
    return Status::Invalid(
        fmt::format("synthetic.sparse: the cardinalities sum to {} (allowed: at most {} in all)",
                    cardinalities, kMaxTotalCardinality));
  }
  // The examples in memory: 4 bytes a dense feature, 8 an id, 12 for the label and truth.
  const double bytes =
      static_cast<double>(spec.train + spec.valid + spec.test) *
      static_cast<double>(4 * spec.dense + 8 * static_cast<int64_t>(spec.sparse.size()) + 12);
  if (bytes > kMaxDataBytes) {
    return Status::Invalid(fmt::format(
        "synthetic: {} examples of {} dense and {} sparse features take {:.3g} bytes (allowed: at "
        "most {:.3g}; fewer examples or features)",
        spec.train + spec.valid + spec.test, spec.dense, spec.sparse.size(), bytes, kMaxDataBytes));
  }
  if (rows > kMaxEffectRows) {
    return Status::Invalid(fmt::format(
        "synthetic.effects draw {} parameters (allowed: at most {}; lower ranks or cardinalities)",
        rows, kMaxEffectRows));
  }
  return Status::Ok();
}

Result<CtrData> GenerateSynthetic(const SyntheticSpec& spec, const std::string& name) {
  SP_RETURN_IF_ERROR(ValidateSyntheticSpec(spec));
  std::map<std::string, int64_t> dense_col, sparse_col;
  for (int64_t j = 0; j < spec.dense; ++j) dense_col[fmt::format("d{}", j)] = j;
  for (size_t f = 0; f < spec.sparse.size(); ++f) {
    sparse_col[spec.sparse[f].name] = static_cast<int64_t>(f);
  }
  Rng params(spec.seed);
  std::vector<Term> terms;
  for (const EffectSpec& e : spec.effects) {
    Term t{e.kind, e.scale, {}, 0, 0, 0, {}, {}};
    auto table = [&](int64_t col, int64_t width, double sd) {
      t.tables.push_back(
          Normals(params, spec.sparse[static_cast<size_t>(col)].cardinality * width, sd));
    };
    switch (e.kind) {
      case EffectKind::kMain:
        t.cols = {sparse_col[e.feature]};
        table(t.cols[0], 1, 1.0);
        break;
      case EffectKind::kGate:
        t.gate_dense = dense_col[e.dense];
        t.gate_sparse = sparse_col[e.sparse];
        table(t.gate_sparse, 1, 1.0);
        break;
      case EffectKind::kDenseLinear:
        for (const auto& f : e.features) t.cols.push_back(dense_col[f]);
        t.weights = Normals(params, static_cast<int64_t>(t.cols.size()),
                            1 / std::sqrt(static_cast<double>(t.cols.size())));
        break;
      case EffectKind::kDenseNonlinear:
        for (const auto& f : e.features) t.cols.push_back(dense_col[f]);
        break;
      case EffectKind::kPairwise:
      case EffectKind::kTriple: {
        const bool pair = e.kind == EffectKind::kPairwise;
        t.rank = e.rank > 0 ? e.rank : (pair ? 4 : 1);
        // Entries of variance r^(-1/k) give the sum of r products of k entries unit variance.
        const double sd = std::pow(static_cast<double>(t.rank), pair ? -0.25 : -1.0 / 6);
        for (const auto& f : e.features) {
          t.cols.push_back(sparse_col[f]);
          table(t.cols.back(), t.rank, sd);
        }
        break;
      }
    }
    terms.push_back(std::move(t));
  }
  std::vector<Zipf> zipf;
  for (const SparseFeatureSpec& f : spec.sparse) zipf.emplace_back(f.cardinality, f.zipf);

  CtrData data;
  data.name = name;
  data.dense_count = spec.dense;
  for (const SparseFeatureSpec& f : spec.sparse) {
    data.sparse_names.push_back(f.name);
    data.cardinality.push_back(f.cardinality);
  }
  Draw(spec, zipf, spec.seed + 1, spec.train, &data.train);
  Draw(spec, zipf, spec.seed + 2, spec.valid, &data.valid);
  Draw(spec, zipf, spec.seed + 3, spec.test, &data.test);
  SP_ASSIGN_OR_RETURN(const std::vector<double> z_train, Logits(terms, spec, data.train));
  SP_ASSIGN_OR_RETURN(const std::vector<double> z_valid, Logits(terms, spec, data.valid));
  SP_ASSIGN_OR_RETURN(const std::vector<double> z_test, Logits(terms, spec, data.test));
  // The bias: the mean of sigmoid(b + z) rises with b, from 0 at b = -60 - max |z| to 1 at
  // 60 + max |z| (every term's sigmoid within e^-60 of its limit); bisection to base_ctr within
  // 1e-10 (the effects' scales may move a logit by hundreds, beyond a fixed bracket).
  double largest = 0;
  for (double z : z_train) largest = std::max(largest, std::fabs(z));
  auto mean_at = [&](double b) {
    double mean = 0;
    for (double z : z_train) mean += Sigmoid(b + z);
    return mean / static_cast<double>(z_train.size());
  };
  double lo = -60 - largest, hi = 60 + largest;
  for (int it = 0; it < 200 && hi - lo > 1e-10; ++it) {
    const double mid = 0.5 * (lo + hi);
    (mean_at(mid) < spec.base_ctr ? lo : hi) = mid;
  }
  const double bias = 0.5 * (lo + hi);
  if (const double reached = mean_at(bias);
      std::fabs(reached - spec.base_ctr) > 1e-3 * spec.base_ctr) {
    return Status::Invalid(fmt::format(
        "{}: base_ctr = {:g} cannot be met under these effects (the training split reaches {:g}; "
        "allowed: smaller effect scales, or a base_ctr the effects leave reachable)",
        name, spec.base_ctr, reached));
  }
  Label(z_train, bias, spec.seed + 4, &data.train);
  Label(z_valid, bias, spec.seed + 5, &data.valid);
  Label(z_test, bias, spec.seed + 6, &data.test);
  return data;
}

}  // namespace scaleplan::rec
