// Gradient-boosted regression trees through xgboost's C API (Debian's libxgboost-dev).
#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <random>

#include "core/json.h"
#include "core/text.h"
#include "predict/families.h"

namespace scaleplan::predict {

namespace {

constexpr int kRounds = 300;
// name, value: small trees and a slow rate, so a few dozen jobs do not overfit; one thread, so a
// seed gives the same trees on any machine.
constexpr std::pair<const char*, const char*> kParams[] = {
    {"max_depth", "3"},        {"eta", "0.05"}, {"subsample", "0.8"}, {"colsample_bytree", "0.8"},
    {"min_child_weight", "1"}, {"lambda", "1"}, {"nthread", "1"},     {"verbosity", "0"},
};

Status XgbError(const std::string& what) {
  return Status::Invalid(fmt::format("xgboost: {}: {}", what, XGBGetLastError()));
}

struct MatrixDeleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterDeleter {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using MatrixPtr = std::unique_ptr<void, MatrixDeleter>;
using BoosterPtr = std::unique_ptr<void, BoosterDeleter>;

Result<MatrixPtr> Matrix(const std::vector<std::vector<double>>& rows, size_t columns) {
  std::vector<float> flat;
  flat.reserve(rows.size() * columns);
  for (const auto& row : rows) {
    for (size_t j = 0; j < columns; ++j) flat.push_back(static_cast<float>(row[j]));
  }
  DMatrixHandle h = nullptr;
  if (XGDMatrixCreateFromMat(flat.data(), rows.size(), columns, NAN, &h) != 0) {
    return XgbError("creating a matrix");
  }
  return MatrixPtr(h);
}

// A booster's trees plus `offset`: 0 for gbt; for gbt-rank the level its pairwise loss leaves
// free.
// Predict walks the trees itself (what xgboost does for a dense row without missing values:
// left when the feature, as a float, is below the split's threshold; the leaves' values summed on
// the base score): no DMatrix per call and no lock, so a search can ask it for every plan from
// several threads. XgboostPredict asks xgboost, for the load-time check and the tests that the
// two agree.
class Gbt final : public Model {
 public:
  // Precondition: `saved` passed CheckModel for `features` features.
  Gbt(BoosterPtr booster, nlohmann::json saved, size_t features)
      : booster_(std::move(booster)), saved_(std::move(saved)), features_(features) {
    const nlohmann::json& learner = saved_["learner"];
    // CheckModel saw it parse.
    base_score_ = *ParseNumber(learner["learner_model_param"]["base_score"].get<std::string>());
    for (const nlohmann::json& t : learner["gradient_booster"]["model"]["trees"]) {
      Tree tree;
      for (const nlohmann::json& v : t["left_children"]) tree.left.push_back(v.get<int32_t>());
      for (const nlohmann::json& v : t["right_children"]) tree.right.push_back(v.get<int32_t>());
      for (const nlohmann::json& v : t["split_indices"]) tree.feature.push_back(v.get<uint32_t>());
      for (const nlohmann::json& v : t["split_conditions"]) tree.value.push_back(v.get<float>());
      trees_.push_back(std::move(tree));
    }
  }
  double Predict(const std::vector<double>& x) const override { return offset_ + Trees(x); }
  // The trees' sum on the base score, as xgboost predicts without a base margin (the features
  // are finite: Features() makes them so, so no default direction is taken).
  double Trees(const std::vector<double>& x) const {
    if (x.size() != features_) return 0;
    double sum = base_score_;
    for (const Tree& t : trees_) {
      size_t node = 0;
      while (t.left[node] != -1) {
        const float v = static_cast<float>(x[t.feature[node]]);
        node = static_cast<size_t>(v < t.value[node] ? t.left[node] : t.right[node]);
      }
      sum += t.value[node];
    }
    return sum;
  }
  // xgboost's own prediction (before the calibration).
  Result<double> XgboostPredict(const std::vector<double>& x) const {
    if (x.size() != features_) return Status::Invalid("gbt: wrong feature count");
    SP_ASSIGN_OR_RETURN(MatrixPtr m, Matrix({x}, features_));
    // XGBoosterPredict keeps its output in the booster: one call at a time (a search calls from
    // several threads).
    std::lock_guard<std::mutex> lock(mutex_);
    bst_ulong len = 0;
    const float* out = nullptr;
    if (XGBoosterPredict(booster_.get(), m.get(), 0, 0, 0, &len, &out) != 0 || len != 1) {
      return XgbError("predicting");
    }
    return static_cast<double>(out[0]);
  }
  nlohmann::json ToJson() const override {
    nlohmann::json j = {{"xgboost", saved_}};
    if (offset_ != 0) j["offset"] = offset_;
    return j;
  }
  double offset() const { return offset_; }
  void set_offset(double offset) { offset_ = offset; }

 private:
  // One tree as CheckModel left it: children after their parent, -1 for a leaf; a leaf's value
  // in `value`.
  struct Tree {
    std::vector<int32_t> left, right;
    std::vector<uint32_t> feature;
    std::vector<float> value;  // split threshold, or the leaf's value
  };
  BoosterPtr booster_;
  mutable std::mutex mutex_;
  nlohmann::json saved_;
  size_t features_;
  double base_score_ = 0.5;
  std::vector<Tree> trees_;
  double offset_ = 0;
};

Result<nlohmann::json> Save(BoosterHandle booster) {
  bst_ulong len = 0;
  const char* buf = nullptr;
  if (XGBoosterSaveModelToBuffer(booster, R"({"format": "json"})", &len, &buf) != 0) {
    return XgbError("saving the model");
  }
  return ParseJson(std::string_view(buf, len), "xgboost model");
}

constexpr int64_t kMaxTrees = 100000;
constexpr int64_t kMaxNodes = 1 << 20;

// An integer xgboost writes as text ("46"), in [lo, hi].
std::optional<int64_t> TextInteger(const nlohmann::json& j, int64_t lo, int64_t hi) {
  if (!j.is_string()) return std::nullopt;
  Result<double> v = ParseNumber(j.get<std::string>());
  if (!v.ok() || *v != std::floor(*v) || *v < static_cast<double>(lo) ||
      *v > static_cast<double>(hi)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(*v);
}

// xgboost trusts its own files: a child index out of range or a node that is its own child
// crashes it. So the trees are checked before xgboost sees them: one regression target,
// gbtree, and per tree: every array as long as the node count, children -1 (a leaf, both) or
// after their parent and within the tree, each child's parent recorded, numerical splits on
// features below the count, finite thresholds and leaf values.
Status CheckModel(const nlohmann::json& m, size_t features, const std::string& origin) {
  auto bad = [&](const std::string& what,
                 const std::string& allowed = "the model `scaleplan fit` wrote") {
    return Status::Invalid(
        fmt::format("{}: the gbt member's xgboost model {} (allowed: {})", origin, what, allowed));
  };
  const nlohmann::json* learner = m.is_object() && m.contains("learner") ? &m["learner"] : nullptr;
  if (learner == nullptr || !learner->is_object()) return bad("has no learner");
  const nlohmann::json& param = learner->value("learner_model_param", nlohmann::json());
  if (!param.is_object() ||
      TextInteger(param.value("num_target", nlohmann::json("1")), 1, 1) != 1 ||
      TextInteger(param.value("num_class", nlohmann::json("0")), 0, 0) != 0 ||
      TextInteger(param.value("num_feature", nlohmann::json()), 0, kMaxNodes) !=
          static_cast<int64_t>(features)) {
    return bad(fmt::format("is not one regression target over {} features", features));
  }
  const nlohmann::json& base_score = param.value("base_score", nlohmann::json());
  Result<double> base =
      base_score.is_string() ? ParseNumber(base_score.get<std::string>()) : Status::Invalid("");
  if (!base.ok() || !std::isfinite(*base)) return bad("has no base score (a number as text)");
  const nlohmann::json& booster = learner->value("gradient_booster", nlohmann::json());
  if (!booster.is_object() || booster.value("name", nlohmann::json()) != "gbtree") {
    return bad("is not a gbtree");
  }
  const nlohmann::json& model = booster.value("model", nlohmann::json());
  const nlohmann::json& trees =
      model.is_object() ? model.value("trees", nlohmann::json()) : nlohmann::json();
  if (!trees.is_array() || trees.size() > static_cast<size_t>(kMaxTrees)) {
    return bad(fmt::format("has no list of at most {} trees", kMaxTrees));
  }
  // The counts xgboost sizes its arrays by must agree with the trees (it indexes by them
  // unchecked): one tree a round, as many as the list holds, scalar leaves, each tree's id its
  // place, every tree in group 0.
  const auto count = static_cast<int64_t>(trees.size());
  const nlohmann::json& gbtree = model.value("gbtree_model_param", nlohmann::json());
  if (!gbtree.is_object() ||
      TextInteger(gbtree.value("num_trees", nlohmann::json()), 0, kMaxTrees) != count ||
      TextInteger(gbtree.value("num_parallel_tree", nlohmann::json("1")), 1, 1) != 1 ||
      TextInteger(gbtree.value("size_leaf_vector", nlohmann::json("0")), 0, 0) != 0) {
    return bad(fmt::format("has gbtree_model_param {}", JsonShown(gbtree)),
               fmt::format("num_trees \"{}\", as many as its trees, one parallel tree, leaf "
                           "vectors of size 0",
                           count));
  }
  const nlohmann::json& info = model.value("tree_info", nlohmann::json());
  if (!info.is_array() || info.size() != trees.size() ||
      !std::all_of(info.begin(), info.end(), [](const nlohmann::json& g) { return g == 0; })) {
    return bad(fmt::format("has tree_info {}", JsonShown(info)),
               fmt::format("{} zeros, one per tree", count));
  }
  for (size_t t = 0; t < trees.size(); ++t) {
    const nlohmann::json& tree = trees[t];
    std::string where = fmt::format("tree {}", t);
    if (!tree.is_object()) return bad(where + " is not an object");
    if (tree.value("id", nlohmann::json()) != t) {
      return bad(fmt::format("{}: id = {}", where, JsonShown(tree.value("id", nlohmann::json()))),
                 fmt::format("{}, its place in the list", t));
    }
    const nlohmann::json& tree_param = tree.value("tree_param", nlohmann::json::object());
    if (!tree_param.is_object()) return bad(where + ": tree_param is not an object");
    std::optional<int64_t> nodes =
        TextInteger(tree_param.value("num_nodes", nlohmann::json()), 1, kMaxNodes);
    if (!nodes) return bad(where + " has no node count from 1 to 2^20");
    if (TextInteger(tree_param.value("num_feature", nlohmann::json()), 0, kMaxNodes) !=
            static_cast<int64_t>(features) ||
        TextInteger(tree_param.value("size_leaf_vector", nlohmann::json("0")), 0, 0) != 0 ||
        TextInteger(tree_param.value("num_deleted", nlohmann::json("0")), 0, 0) != 0) {
      return bad(
          fmt::format("{}: tree_param {}", where, JsonShown(tree_param)),
          fmt::format("num_feature \"{}\", no deleted nodes, leaf vectors of size 0", features));
    }
    // Numerical splits only: no categories.
    for (const char* key :
         {"categories", "categories_nodes", "categories_segments", "categories_sizes"}) {
      const nlohmann::json& a = tree.value(key, nlohmann::json::array());
      if (!a.is_array() || !a.empty()) {
        return bad(fmt::format("{}: {} = {}", where, key, JsonShown(a)),
                   "[], numerical splits only");
      }
    }
    const size_t n = static_cast<size_t>(*nodes);
    for (const char* key :
         {"left_children", "right_children", "parents", "split_indices", "split_conditions",
          "default_left", "base_weights", "split_type", "loss_changes", "sum_hessian"}) {
      const nlohmann::json& a = tree.value(key, nlohmann::json());
      if (!a.is_array() || a.size() != n)
        return bad(fmt::format("{}: {} is not {} long", where, key, n));
      for (const nlohmann::json& v : a) {
        if (!v.is_number() || !std::isfinite(v.get<double>())) {
          return bad(fmt::format("{}: {} holds {}", where, key, JsonShown(v)));
        }
      }
    }
    const nlohmann::json &left = tree["left_children"], &right = tree["right_children"],
                         &parents = tree["parents"], &split = tree["split_indices"],
                         &type = tree["split_type"];
    for (size_t i = 0; i < n; ++i) {
      double l = left[i].get<double>(), r = right[i].get<double>();
      if (l == -1 && r == -1) continue;
      auto child_ok = [&](double c) {
        return c == std::floor(c) && c > static_cast<double>(i) && c < static_cast<double>(n) &&
               parents[static_cast<size_t>(c)].get<double>() == static_cast<double>(i);
      };
      if (!child_ok(l) || !child_ok(r) || l == r) {
        return bad(fmt::format("{}: node {} has children {} and {}", where, i, l, r));
      }
      double f = split[i].get<double>();
      if (f != std::floor(f) || f < 0 || f >= static_cast<double>(features) ||
          type[i].get<double>() != 0) {
        return bad(fmt::format("{}: node {} splits on feature {}", where, i, f));
      }
    }
  }
  return Status::Ok();
}

// Trains kRounds rounds of `objective` on `train` (its labels, groups and margins set).
Result<std::unique_ptr<Gbt>> Train(DMatrixHandle train, const char* objective, size_t p,
                                   uint64_t seed) {
  DMatrixHandle handles[] = {train};
  BoosterHandle raw = nullptr;
  if (XGBoosterCreate(handles, 1, &raw) != 0) return XgbError("creating a booster");
  BoosterPtr booster(raw);
  for (const auto& [name, value] : kParams) {
    if (XGBoosterSetParam(raw, name, value) != 0) return XgbError(name);
  }
  if (XGBoosterSetParam(raw, "objective", objective) != 0) return XgbError("objective");
  std::string seed_text = std::to_string(seed % 2147483647);
  if (XGBoosterSetParam(raw, "seed", seed_text.c_str()) != 0) return XgbError("seed");
  for (int round = 0; round < kRounds; ++round) {
    if (XGBoosterUpdateOneIter(raw, round, train) != 0) return XgbError("training");
  }
  SP_ASSIGN_OR_RETURN(nlohmann::json saved, Save(raw));
  // The trees are walked by hand (Gbt::Trees): what xgboost wrote must be what that walk reads.
  SP_RETURN_IF_ERROR(CheckModel(saved, p, "xgboost"));
  return std::make_unique<Gbt>(std::move(booster), std::move(saved), p);
}

}  // namespace

Result<std::unique_ptr<Model>> FitGbt(const Dataset& data, uint64_t seed) {
  size_t p = data.x.empty() ? 0 : data.x[0].size();
  SP_ASSIGN_OR_RETURN(MatrixPtr train, Matrix(data.x, p));
  std::vector<float> labels(data.y.begin(), data.y.end());
  if (XGDMatrixSetFloatInfo(train.get(), "label", labels.data(), labels.size()) != 0) {
    return XgbError("setting the targets");
  }
  SP_ASSIGN_OR_RETURN(std::unique_ptr<Gbt> model, Train(train.get(), "reg:squarederror", p, seed));
  return std::unique_ptr<Model>(std::move(model));
}

// gbt-rank: xgboost's rank:pairwise within decisions on the measured log throughput t = base + y,
// with the physics' log throughput `base` as each row's base margin, so that the trees learn f
// with base + f ordered like t; the correction is offset + f (see below).
Result<std::unique_ptr<Model>> FitGbtRank(const Dataset& data, uint64_t seed) {
  const size_t n = data.x.size();
  if (data.group.size() != n || data.base.size() != n) {
    return Status::Invalid(
        "gbt-rank: the jobs carry no decisions to rank within (allowed: jobs read by fit or "
        "suggest)");
  }
  size_t p = n > 0 ? data.x[0].size() : 0;
  // xgboost wants each group's rows together.
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return data.group[a] < data.group[b]; });
  std::vector<std::vector<double>> rows;
  std::vector<float> labels, margins;
  std::vector<unsigned> sizes;
  for (size_t k = 0; k < n; ++k) {
    size_t i = order[k];
    rows.push_back(data.x[i]);
    labels.push_back(static_cast<float>(data.base[i] + data.y[i]));
    margins.push_back(static_cast<float>(data.base[i]));
    if (k == 0 || data.group[i] != data.group[order[k - 1]]) sizes.push_back(0);
    ++sizes.back();
  }
  SP_ASSIGN_OR_RETURN(MatrixPtr train, Matrix(rows, p));
  if (XGDMatrixSetFloatInfo(train.get(), "label", labels.data(), labels.size()) != 0 ||
      XGDMatrixSetFloatInfo(train.get(), "base_margin", margins.data(), margins.size()) != 0 ||
      XGDMatrixSetUIntInfo(train.get(), "group", sizes.data(), sizes.size()) != 0) {
    return XgbError("setting the targets, margins and decisions");
  }
  SP_ASSIGN_OR_RETURN(std::unique_ptr<Gbt> model, Train(train.get(), "rank:pairwise", p, seed));
  // A pairwise loss sees differences only and leaves the level free: it is set so that the mean
  // training residual is 0. The scale stays the trees' (1), so the order within a decision is
  // theirs, base + f. It is not the target's: the loss keeps widening the margins of the pairs it
  // orders right, so the corrections run larger than the measured ones (a ranker, not a speed;
  // docs/PREDICT.md). A uniform rescaling would not repair that and would change the order.
  double offset = 0;
  for (size_t i = 0; i < n; ++i) offset += data.y[i] - model->Trees(data.x[i]);
  model->set_offset(offset / static_cast<double>(std::max<size_t>(n, 1)));
  return std::unique_ptr<Model>(std::move(model));
}

Result<double> GbtXgboostPrediction(const Model& model, const std::vector<double>& x) {
  const Gbt* gbt = dynamic_cast<const Gbt*>(&model);
  if (gbt == nullptr) return Status::Invalid("not a gbt member");
  SP_ASSIGN_OR_RETURN(double y, gbt->XgboostPredict(x));
  return gbt->offset() + y;
}

Result<std::unique_ptr<Model>> LoadGbt(const nlohmann::json& json, size_t features,
                                       const std::string& origin) {
  auto it = json.find("xgboost");
  if (it == json.end() || !it->is_object()) {
    return Status::Invalid(fmt::format(
        "{}: a gbt member lacks its 'xgboost' model (allowed: the object fit wrote)", origin));
  }
  SP_RETURN_IF_ERROR(CheckModel(*it, features, origin));
  BoosterHandle raw = nullptr;
  if (XGBoosterCreate(nullptr, 0, &raw) != 0) return XgbError("creating a booster");
  BoosterPtr booster(raw);
  std::string text = it->dump();
  if (XGBoosterLoadModelFromBuffer(raw, text.data(), text.size()) != 0) {
    return Status::Invalid(fmt::format("{}: the gbt member's xgboost model does not load: {}",
                                       origin, XGBGetLastError()));
  }
  bst_ulong n = 0;
  if (XGBoosterGetNumFeature(raw, &n) != 0 || n != features) {
    return Status::Invalid(
        fmt::format("{}: the gbt member reads {} features (allowed: {}, this feature set's)",
                    origin, n, features));
  }
  double offset = 0;
  if (json.contains("offset")) {
    SP_ASSIGN_OR_RETURN(offset, FiniteNumber(json, "offset", origin));
    if (!(std::fabs(offset) <= kMaxCorrectionReach)) {
      return Status::Invalid(fmt::format("{}: offset = {:g} (allowed: at most {:g} in size, a "
                                         "correction in ln of throughput; refit with `scaleplan "
                                         "fit`)",
                                         origin, offset, kMaxCorrectionReach))
          .WithKey("offset");
    }
  }
  auto model = std::make_unique<Gbt>(std::move(booster), *it, features);
  model->set_offset(offset);
  // Predictions on a few rows, to refuse a model xgboost loads but cannot run, or one whose trees
  // the walk reads differently from xgboost: all zeros and 8 seeded rows in [-3, 3].
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> wide(-3.0, 3.0);
  for (int row = 0; row < 9; ++row) {
    std::vector<double> x(features, 0.0);
    if (row > 0) {
      for (double& v : x) v = wide(rng);
    }
    Result<double> xgb = model->XgboostPredict(x);
    if (!xgb.ok()) {
      return Status::Invalid(fmt::format("{}: the gbt member's xgboost model does not predict: {}",
                                         origin, XGBGetLastError()));
    }
    if (!std::isfinite(*xgb)) {
      return Status::Invalid(fmt::format(
          "{}: the gbt member's xgboost model predicts {} (allowed: a finite number)", origin,
          *xgb));
    }
    const double walked = model->Trees(x);
    if (!(std::fabs(walked - *xgb) <= 1e-4 * (1 + std::fabs(*xgb)))) {
      return Status::Invalid(fmt::format(
          "{}: the gbt member's trees predict {} where xgboost predicts {} (allowed: the model "
          "`scaleplan fit` wrote)",
          origin, walked, *xgb));
    }
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace scaleplan::predict
