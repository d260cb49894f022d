#include "predict/testbed.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>

#include "core/processes.h"
#include "core/text.h"
#include "plan/memory.h"
#include "predict/engine.h"
#include "predict/features.h"
#include "predict/fit.h"
#include "search/space.h"
#include "spec/readers.h"
#include "spec/yaml.h"
#include "topology/placement.h"

namespace scaleplan::predict {

namespace {

constexpr size_t kMaxEffects = 1000;
constexpr const char* kTruthOom = "out of memory (truth)";
constexpr double kMinFactor = 0.01, kMaxFactor = 100;
const char* const kCommDims[] = {"tp", "cp", "pp", "dp", "ep"};

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// The keys each kind takes besides kind and when.
std::vector<std::string> KindKeys(const std::string& kind) {
  if (kind == "compute_scale" || kind == "lookup_scale") return {"factor"};
  if (kind == "comm_scale") return {"dim", "factor"};
  if (kind == "tier_bandwidth") return {"tier", "factor"};
  return {"value"};
}

// A number at `node` within [lo, hi]; errors name origin, key and the range.
Result<double> NumberIn(const YAML::Node& node, const std::string& origin, const std::string& key,
                        double lo, double hi) {
  Result<double> v = node.IsScalar() && !spec::IsQuoted(node)
                         ? ParseNumber(node.Scalar())
                         : Result<double>(Status::Invalid("not a number"));
  if (!v.ok() || !std::isfinite(*v) || *v < lo || *v > hi) {
    return Status::Invalid(fmt::format(
        "{}: {} = {} (allowed: a number from {:g} to {:g})", spec::Where(origin, node), key,
        !node.IsScalar()          ? std::string("(not a scalar)")
        : spec::IsQuoted(node)    ? "\"" + Printable(node.Scalar(), 40) + "\" (quoted text)"
                                  : Printable(node.Scalar(), 40),
        lo, hi));
  }
  return *v;
}

// `when` in another space's words: each key one of its dimensions, each value one the dimension
// takes (as text).
Status ParseWhen(const YAML::Node& when, const std::string& origin, const std::string& section,
                 const TruthVocabulary& vocabulary, TruthEffect& e) {
  std::vector<std::string> names;
  for (const auto& [name, values] : vocabulary.dims) names.push_back(name);
  for (const auto& w : when) {
    const std::string key = w.first.Scalar();
    auto dim = std::find_if(vocabulary.dims.begin(), vocabulary.dims.end(),
                            [&](const auto& d) { return d.first == key; });
    if (dim == vocabulary.dims.end()) {
      return Status::Invalid(fmt::format(
          "{}: {}.when: '{}' is not a dimension of the space "
          "(allowed: {})",
          spec::Where(origin, w.first), section, Printable(key, 40), Join(names, ", ")));
    }
    const std::string value = w.second.IsScalar() ? w.second.Scalar() : "";
    if (std::find(dim->second.begin(), dim->second.end(), value) == dim->second.end()) {
      return Status::Invalid(fmt::format(
          "{}: {}.when.{} = {} (allowed: {})", spec::Where(origin, w.second), section, key,
          w.second.IsScalar() ? Printable(value, 40) : std::string("(not a scalar)"),
          Join(dim->second, ", ")));
    }
    e.when.emplace_back(key, nlohmann::json(value));
  }
  return Status::Ok();
}

Result<TruthEffect> ParseEffect(const YAML::Node& node, const std::string& origin, size_t index,
                                const TruthVocabulary* vocabulary) {
  const std::string section = fmt::format("truth.effects[{}]", index);
  if (!node.IsMap()) {
    return Status::Invalid(
        fmt::format("{}: {} is not a map (allowed: a map with kind and its keys)",
                    spec::Where(origin, node), section));
  }
  SP_RETURN_IF_ERROR(spec::CheckKeys(node, origin, section));
  TruthEffect e;
  e.origin = spec::Where(origin, node);
  const YAML::Node kind = node["kind"];
  const std::vector<std::string>& kinds =
      vocabulary != nullptr ? vocabulary->kinds : TruthEffectKinds();
  // A missing key gives an invalid node, which throws on every question but its truth value.
  const bool named = kind && kind.IsScalar();
  if (!named || std::find(kinds.begin(), kinds.end(), kind.Scalar()) == kinds.end()) {
    return Status::Invalid(
        fmt::format("{}: {}.kind = {} (allowed: {})", spec::Where(origin, node), section,
                    named ? Printable(kind.Scalar(), 40) : std::string("(missing or not a name)"),
                    Join(kinds, ", ")));
  }
  e.kind = kind.Scalar();
  const std::vector<std::string> wanted = KindKeys(e.kind);
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (key == "kind") continue;
    if (key == "when") {
      if (!entry.second.IsMap()) {
        return Status::Invalid(
            fmt::format("{}: {}.when is not a map (allowed: {})", spec::Where(origin, entry.second),
                        section,
                        vocabulary != nullptr && !vocabulary->dims.empty()
                            ? "the space's dimensions and values, e.g. {" +
                                  vocabulary->dims.front().first + ": " +
                                  vocabulary->dims.front().second.front() + "}"
                            : std::string("plan keys and values, e.g. {tp: 8}")));
      }
      SP_RETURN_IF_ERROR(spec::CheckKeys(entry.second, origin, section + ".when"));
      if (vocabulary != nullptr) {
        SP_RETURN_IF_ERROR(ParseWhen(entry.second, origin, section, *vocabulary, e));
        continue;
      }
      for (const auto& w : entry.second) {
        const std::string plan_key = w.first.Scalar();
        const spec::Field<spec::PlanSpec>* field = spec::PlanSchema().Find(plan_key);
        if (field == nullptr || field->set == nullptr) {
          return Status::Invalid(fmt::format(
              "{}: {}.when: '{}' is not a plan key (allowed: {})", spec::Where(origin, w.first),
              section, Printable(plan_key, 40), Join(spec::PlanSchema().Keys(), ", ")));
        }
        SP_ASSIGN_OR_RETURN(spec::RawValue raw,
                            spec::ToRaw(w.second, origin, section + ".when", plan_key,
                                        spec::Where(origin, w.first), field->info.allowed));
        spec::PlanSpec scratch;
        SP_RETURN_IF_ERROR(field->set(scratch, raw));
        if (plan_key == "placement") {
          e.placement = scratch.placement;
        } else {
          e.when.emplace_back(plan_key, field->get(scratch));
        }
      }
      continue;
    }
    if (std::find(wanted.begin(), wanted.end(), key) == wanted.end()) {
      return Status::Invalid(
          fmt::format("{}: {}: '{}' is not a key of kind {} (allowed: kind, "
                      "when, {})",
                      spec::Where(origin, entry.first), section, Printable(key, 40), e.kind,
                      Join(wanted, ", ")));
    }
    const std::string name = section + "." + key;
    if (key == "factor") {
      SP_ASSIGN_OR_RETURN(e.factor, NumberIn(entry.second, origin, name, kMinFactor, kMaxFactor));
    } else if (key == "value") {
      double hi = e.kind == "failure_rate" ? 0.99 : e.kind == "step_overhead_s" ? 3600 : 1e15;
      SP_ASSIGN_OR_RETURN(e.value, NumberIn(entry.second, origin, name, 0, hi));
    } else if (key == "dim") {
      const std::string dim = entry.second.IsScalar() ? entry.second.Scalar() : "";
      if (std::find(std::begin(kCommDims), std::end(kCommDims), dim) == std::end(kCommDims)) {
        return Status::Invalid(fmt::format("{}: {} = {} (allowed: tp, cp, pp, dp, ep)",
                                           spec::Where(origin, entry.second), name,
                                           dim.empty() ? "(not a name)" : Printable(dim, 40)));
      }
      e.dim = dim;
    } else {  // tier
      if (!entry.second.IsScalar() || entry.second.Scalar().empty()) {
        return Status::Invalid(
            fmt::format("{}: {} is not a name (allowed: a tier of the job's cluster)",
                        spec::Where(origin, entry.second), name));
      }
      e.tier = entry.second.Scalar();
    }
  }
  for (const std::string& key : wanted) {
    if (!node[key]) {
      return Status::Invalid(fmt::format("{}: {} has no {} (allowed: kind {} takes {})", e.origin,
                                         section, key, e.kind, Join(wanted, ", ")));
    }
  }
  return e;
}

// Whether plan setting `key` changes `plan` at all: the schedule and edge trimming need a pipeline,
// the CP algorithm needs CP, the gradient sync needs a gradient reduced across ranks (data
// parallelism of the dense weights or of the experts; the gradient dtype always sets the gradient
// buffer's size). A search folds plans that differ only in such a setting into one, so a `when` on
// it must not tell them apart.
bool HasEffect(const std::string& key, const plan::Plan& plan) {
  if (key == "schedule" || key == "trim_edge_stages" || key == "pp_microbatch_group") {
    return plan.pp > 1;
  }
  if (key == "cp_algorithm") return plan.cp > 1;
  if (key == "grad_sync") return plan.dp * plan.cp > 1 || plan.ExpertDp() > 1;
  return true;
}

// Whether `plan` matches every (key, value) of the effect's `when`. A setting without effect on
// the plan matches nothing; placements are compared as the order of the dimensions larger than 1.
bool Matches(const TruthEffect& e, const plan::Plan& plan) {
  if (e.placement &&
      topology::EffectiveOrder(*e.placement, plan.tp, plan.cp, plan.pp, plan.dp) !=
          topology::EffectiveOrder(plan.spec().placement, plan.tp, plan.cp, plan.pp, plan.dp)) {
    return false;
  }
  if (e.when.empty()) return true;
  spec::PlanSpec resolved = plan.spec();
  resolved.dp = plan.dp;
  resolved.microbatches = plan.microbatches;
  resolved.etp = plan.etp;
  resolved.pp_microbatch_group = plan.pp_group;
  for (const auto& [key, value] : e.when) {
    if (!HasEffect(key, plan)) return false;
    if (spec::PlanSchema().Find(key)->get(resolved) != value) return false;
  }
  return true;
}

// An effect whose `when` asks for a value no candidate takes (tp 3 where the space has 1, 2, 4,
// 8; precision fp8 in a BF16 job; dp 3 on 64 GPUs) would silently apply to nothing: refused
// before any job runs, as is a pipeline setting where no candidate has a pipeline (HasEffect) or
// a CP algorithm without CP. A placement and pp_microbatch_group are not checked.
Status CheckWhenInSpace(const Truth& truth, const spec::JobSpec& base,
                        const search::SearchSpace& space) {
  auto any_above_one = [](const std::vector<int64_t>& values) {
    return std::any_of(values.begin(), values.end(), [](int64_t v) { return v > 1; });
  };
  for (size_t i = 0; i < truth.effects.size(); ++i) {
    const TruthEffect& e = truth.effects[i];
    for (const auto& [key, value] : e.when) {
      const bool pipeline_key =
          key == "schedule" || key == "trim_edge_stages" || key == "pp_microbatch_group";
      if ((pipeline_key && !any_above_one(space.pp)) ||
          (key == "cp_algorithm" && !any_above_one(space.cp))) {
        const std::string section = fmt::format("truth.effects[{}].when.{}", i, key);
        return Status::Invalid(
                   fmt::format("{}: {} applies only with {}, which no plan of the testbed's space "
                               "has (allowed: a `when` without it, or a space with {} > 1)",
                               e.origin, section,
                               pipeline_key ? "a pipeline" : "context parallelism",
                               pipeline_key ? "pp" : "cp"))
            .WithKey(section);
      }
      const std::vector<nlohmann::json> values = search::KeyValues(base, space, key);
      if (values.empty() || std::find(values.begin(), values.end(), value) != values.end()) {
        continue;
      }
      std::vector<std::string> shown;
      for (const nlohmann::json& v : values) {
        shown.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
      const std::string section = fmt::format("truth.effects[{}].when.{}", i, key);
      return Status::Invalid(
                 fmt::format("{}: {} = {} is taken by no plan of the testbed's space, so the "
                             "effect would apply to none (allowed: {})",
                             e.origin, section, value.is_string() ? value.get<std::string>()
                                                                  : value.dump(),
                             Join(shown, ", ")))
          .WithKey(section);
    }
  }
  return Status::Ok();
}

// FNV-1a (core's Fingerprint), the same on every platform, so that a truth's measurements are
// too. Its offset basis lacks a digit of FNV's (1469598103934665603, not 14695981039346656037):
// kept, since it fixes every truth's noise and failure draws, and so the measured figures in
// docs/PREDICT.md.
uint64_t Fnv1a(std::string_view text) { return Fingerprint(text, 1469598103934665603ull); }

}  // namespace

std::optional<double> KendallTauA(const std::vector<double>& predicted,
                                  const std::vector<double>& truth) {
  if (predicted.size() < 2 || predicted.size() != truth.size()) return std::nullopt;
  double concordant = 0, pairs = 0;
  for (size_t a = 0; a < predicted.size(); ++a) {
    for (size_t b = a + 1; b < predicted.size(); ++b) {
      const double sign = (predicted[a] - predicted[b]) * (truth[a] - truth[b]);
      concordant += sign > 0 ? 1 : sign < 0 ? -1 : 0;
      pairs += 1;
    }
  }
  return concordant / pairs;
}

const std::vector<std::string>& TruthEffectKinds() {
  static const std::vector<std::string> kinds = {"compute_scale",       "comm_scale",
                                                 "tier_bandwidth",      "step_overhead_s",
                                                 "memory_margin_bytes", "failure_rate"};
  return kinds;
}

Result<Truth> ParseTruth(std::string_view text, const std::string& origin,
                         const TruthVocabulary* vocabulary) {
  Result<YAML::Node> parsed = spec::ParseYaml(text, origin);
  if (!parsed.ok()) {
    return Status::Invalid(parsed.status().message() +
                           " (allowed: a truth file: a map with seed, noise_pct and effects)");
  }
  const YAML::Node root = *parsed;
  SP_RETURN_IF_ERROR(spec::CheckKeys(root, origin, "truth"));
  Truth truth;
  truth.origin = origin;
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (key == "seed") {
      Result<int64_t> seed = entry.second.IsScalar() && !spec::IsQuoted(entry.second)
                                 ? ParseInteger(entry.second.Scalar())
                                 : Result<int64_t>(Status::Invalid("not an integer"));
      if (!seed.ok() || *seed < 0) {
        return Status::Invalid(fmt::format(
            "{}: truth.seed = {} (allowed: an integer from 0 to 2^53)",
            spec::Where(origin, entry.second),
            entry.second.IsScalar() ? Printable(entry.second.Scalar(), 40) : "(not a scalar)"));
      }
      truth.seed = static_cast<uint64_t>(*seed);
    } else if (key == "noise_pct") {
      SP_ASSIGN_OR_RETURN(truth.noise_pct,
                          NumberIn(entry.second, origin, "truth.noise_pct", 0, 100));
    } else if (key == "effects") {
      if (!entry.second.IsSequence()) {
        return Status::Invalid(fmt::format(
            "{}: truth.effects is not a list (allowed: a list of "
            "effects, each a map with a kind: {})",
            spec::Where(origin, entry.second),
            Join(vocabulary != nullptr ? vocabulary->kinds : TruthEffectKinds(), ", ")));
      }
      if (entry.second.size() > kMaxEffects) {
        return Status::Invalid(fmt::format("{}: truth.effects has {} effects (allowed: at most {})",
                                           spec::Where(origin, entry.second), entry.second.size(),
                                           kMaxEffects));
      }
      size_t index = 0;
      for (const YAML::Node& e : entry.second) {
        SP_ASSIGN_OR_RETURN(TruthEffect effect, ParseEffect(e, origin, index++, vocabulary));
        truth.effects.push_back(std::move(effect));
      }
    } else {
      return Status::Invalid(
          fmt::format("{}: unknown key '{}' in truth (allowed: seed, noise_pct, effects)",
                      spec::Where(origin, entry.first), Printable(key, 60)));
    }
  }
  return truth;
}

Result<Truth> LoadTruth(const std::string& path, const TruthVocabulary* vocabulary) {
  SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
  return ParseTruth(text, path, vocabulary);
}

Status TruthEngine::Check(const spec::ClusterSpec& cluster) const {
  for (const TruthEffect& e : truth_.effects) {
    if (e.kind != "tier_bandwidth") continue;
    std::vector<std::string> names;
    for (const spec::TierSpec& t : cluster.tiers) names.push_back(t.name);
    if (std::find(names.begin(), names.end(), e.tier) == names.end()) {
      return Status::Invalid(fmt::format("{}: tier = {} is not a tier of cluster {} (allowed: {})",
                                         e.origin, Printable(e.tier, 40), cluster.name,
                                         Join(names, ", ")));
    }
  }
  return Status::Ok();
}

Result<sim::StepResult> TruthEngine::StepGiven(const plan::Plan& plan,
                                               const sim::StepResult& analytical,
                                               const plan::MemoryReport& memory) const {
  double margin = 0, compute_factor = 1, overhead = 0;
  std::map<std::string, double> comm;
  spec::JobSpec repriced = plan.job;
  bool tiers_changed = false;
  for (const TruthEffect& e : truth_.effects) {
    if (!Matches(e, plan)) continue;
    if (e.kind == "memory_margin_bytes") margin += e.value;
    if (e.kind == "compute_scale") compute_factor *= e.factor;
    if (e.kind == "step_overhead_s") overhead += e.value;
    if (e.kind == "comm_scale") comm[e.dim] = (comm.count(e.dim) ? comm[e.dim] : 1.0) * e.factor;
    if (e.kind == "tier_bandwidth") {
      for (spec::TierSpec& t : repriced.cluster.tiers) {
        if (t.name == e.tier) t.bandwidth_bytes_per_s *= e.factor;
      }
      tiers_changed = true;
    }
  }
  if (memory.peak_bytes > memory.usable_bytes - margin) {
    return Status::Invalid(fmt::format("peak {:.1f} GiB above usable {:.1f} GiB less the truth's "
                                       "margin {:.1f} GiB",
                                       memory.peak_bytes / 1073741824.0,
                                       memory.usable_bytes / 1073741824.0, margin / 1073741824.0))
        .WithKey(kTruthOom);
  }
  sim::StepResult step = analytical;
  if (tiers_changed) {
    SP_ASSIGN_OR_RETURN(plan::Plan p, plan::BuildPlan(repriced, plan::Checks::kPlanOnly));
    SP_ASSIGN_OR_RETURN(step, sim::Evaluate(p));
  }
  sim::Breakdown& b = step.breakdown;
  const double before = b.Total();
  // Each part of a stage's work is scaled; the bubble is stages waiting on each other's work, so
  // each part's share of it scales alike.
  auto scale_of = [&](const char* dim) {
    auto it = comm.find(dim);
    return it == comm.end() ? 1.0 : it->second;
  };
  const double work = b.compute_s + b.tp_comm_s + b.cp_comm_s + b.ep_comm_s;
  const double bubble = b.bubble_s;
  if (work > 0) {
    b.bubble_s +=
        bubble / work *
        (b.compute_s * (1.0 / compute_factor - 1.0) + b.tp_comm_s * (scale_of("tp") - 1.0) +
         b.cp_comm_s * (scale_of("cp") - 1.0) + b.ep_comm_s * (scale_of("ep") - 1.0));
  }
  b.compute_s /= compute_factor;
  b.tp_comm_s *= scale_of("tp");
  b.cp_comm_s *= scale_of("cp");
  b.ep_comm_s *= scale_of("ep");
  b.pp_comm_s *= scale_of("pp");
  b.dp_comm_s *= scale_of("dp");
  b.other_s += overhead;
  const double old_step = step.step_time_s;
  step.step_time_s = old_step + (b.Total() - before);
  if (!std::isfinite(step.step_time_s) || step.step_time_s <= 0) {
    return Status::Invalid(fmt::format("the truth's effects give a step of {} s (allowed: a finite "
                                       "step above 0; fewer or milder effects on one plan)",
                                       step.step_time_s))
        .WithKey("truth: step not finite");
  }
  const double speed = old_step / step.step_time_s;
  step.tokens_per_s_per_gpu *= speed;
  step.model_flops_per_s_per_gpu *= speed;
  step.mfu *= speed;
  step.engine = "truth";
  if (refuse_failures_ && DrawsOf(plan).fails) {
    return Status::Invalid("the plan's failure draw fails it").WithKey("failed (truth)");
  }
  return step;
}

Result<sim::EventResult> TruthEngine::Run(const plan::Plan& plan,
                                          const sim::EventOptions& options) const {
  std::string what;
  if (sim::NeedsPasses(options, &what)) {
    return Status::Invalid(fmt::format(
        "the truth engine prices uniform steps and cannot run {} (allowed: an engine that runs "
        "passes: event)",
        what));
  }
  SP_ASSIGN_OR_RETURN(sim::StepResult analytical, sim::Evaluate(plan));
  sim::EventResult result;
  SP_ASSIGN_OR_RETURN(result.step, StepGiven(plan, analytical, plan::ComputeMemory(plan)));
  return result;
}

TruthEngine::Measurement TruthEngine::Measure(const plan::Plan& plan) const {
  Measurement m;
  plan::MemoryReport memory = plan::ComputeMemory(plan);
  Result<sim::StepResult> analytical = sim::Evaluate(plan);
  if (!memory.fits) {
    m.status = "oom";
    return m;
  }
  Result<sim::StepResult> step =
      analytical.ok() ? StepGiven(plan, *analytical, memory) : analytical;
  if (!step.ok()) {
    // Only the truth's memory margin is an out-of-memory; anything else failed.
    m.status = step.status().key() == kTruthOom ? "oom" : "failed";
    return m;
  }
  const Draws d = DrawsOf(plan);
  if (d.fails) {
    m.status = "failed";
    return m;
  }
  m.status = "ok";
  m.true_tokens_per_s_per_gpu = step->tokens_per_s_per_gpu;
  m.measured_tokens_per_s_per_gpu =
      step->tokens_per_s_per_gpu * std::exp(truth_.noise_pct / 100 * d.noise);
  return m;
}

TruthEngine::Draws TruthEngine::DrawsOf(const plan::Plan& plan) const {
  // Keyed by the plan, not its spelling: the settings without effect on it normalized (the
  // spellings a search folds into one plan before any engine sees it draw alike; ZeRO-2/FSDP twins
  // and llama3 with N = pp against interleaved, which it folds after pricing, draw apart).
  spec::PlanSpec canonical = plan.spec();
  canonical.placement =
      topology::EffectiveOrder(canonical.placement, plan.tp, plan.cp, plan.pp, plan.dp);
  const spec::PlanSpec defaults;
  if (!HasEffect("schedule", plan)) {
    canonical.schedule = defaults.schedule;
    canonical.trim_edge_stages = defaults.trim_edge_stages;
  }
  if (!HasEffect("cp_algorithm", plan)) canonical.cp_algorithm = defaults.cp_algorithm;
  if (!HasEffect("grad_sync", plan)) canonical.grad_sync = defaults.grad_sync;
  std::mt19937_64 rng(truth_.seed ^ Fnv1a(search::Describe(canonical, plan.dp)));
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  // Independent causes: the job survives each with probability 1 - rate.
  double survival = 1;
  for (const TruthEffect& e : truth_.effects) {
    if (e.kind == "failure_rate" && Matches(e, plan)) survival *= 1 - e.value;
  }
  const double u = uniform(rng), z = normal(rng);
  return {u < 1 - survival, z};
}

const std::vector<std::string>& TestbedMethods() {
  static const std::vector<std::string> methods = {"cubic", "physics", "random", "evolution"};
  return methods;
}

const spec::Schema<TestbedOptions>& TestbedOptionsSchema() {
  static const spec::Schema<TestbedOptions> schema = [] {
    using O = TestbedOptions;
    spec::Schema<O> s("testbed");
    s.Integer("budget", &O::budget, 1, 100000, "", "true jobs each method may run");
    s.Integer("batch", &O::batch, 1, 1000, "", "jobs run at once (one round of a method)");
    s.Unsigned("seed", &O::seed, "seed of random, evolution, the tau sample and the predictor");
    AddMethodsOption(s, "testbed", TestbedMethods(), &O::methods);
    s.Integer("tau_sample", &O::tau_sample, 2, 2000, "",
              "plans that run on the truth, drawn once, on which Kendall's tau is measured");
    s.OneOf("family", &O::family, FamilyNames(), "cubic's predictor family");
    s.Integer("members", &O::members, 1, kMaxMembers, "", "models in cubic's ensemble");
    s.Number("optimism", &O::optimism, 0, 10, "",
             "ensemble spreads cubic adds to the estimate when ranking");
    s.Integer("threads", &O::threads, 1, 256, "",
              "threads of the exhaustive searches (the answer does not depend on it)");
    return s;
  }();
  return schema;
}

namespace {

// The plans a tau is measured on: their true throughput and what the physics says of them.
struct TauPlan {
  double truth = 0;
  double physics = 0;
  std::vector<double> x;
};

std::optional<double> KendallTau(const std::vector<TauPlan>& plans,
                                 const std::vector<double>& predicted) {
  std::vector<double> truth;
  for (const TauPlan& p : plans) truth.push_back(p.truth);
  return KendallTauA(predicted, truth);
}

search::Candidate RandomCandidate(const search::SearchSpace& space, std::mt19937_64& rng) {
  search::Candidate c{};
  for (int d = 0; d < search::kDimensions; ++d) {
    c[static_cast<size_t>(d)] = static_cast<uint32_t>(rng() % space.Count(d));
  }
  return c;
}

// The plan of `job` (dp and micro-batches left to the plan), if it builds and fits the memory
// model: what a method may launch.
std::optional<plan::Plan> Launchable(spec::JobSpec job) {
  job.plan.dp = 0;
  job.plan.microbatches = 0;
  Result<plan::Plan> p = plan::BuildPlan(job, plan::Checks::kPlanOnly);
  if (!p.ok() || !plan::ComputeMemory(*p).fits) return std::nullopt;
  return std::move(p).value();
}

// One method's jobs on the truth and its curve.
class Runner {
 public:
  Runner(const TruthEngine& truth, double optimum, MethodResult& result)
      : truth_(truth), optimum_(optimum), result_(result) {}

  bool Seen(const plan::Plan& p) const { return seen_.count(search::Describe(p.spec(), p.dp)) > 0; }
  // Runs `p` unless it was run; returns the measurement (nullopt when it was run before).
  std::optional<TruthEngine::Measurement> Run(const plan::Plan& p) {
    std::string description = search::Describe(p.spec(), p.dp);
    if (!seen_.insert(description).second) return std::nullopt;
    TruthEngine::Measurement m = truth_.Measure(p);
    const std::vector<TruthEffect>& effects = truth_.truth().effects;
    result_.effect_jobs.resize(effects.size());
    for (size_t i = 0; i < effects.size(); ++i) {
      if (Matches(effects[i], p)) ++result_.effect_jobs[i];
    }
    validate::TrainingCase c;
    c.line = static_cast<int>(log_.size() + 1);
    c.label = description;
    c.job = p.job;
    c.metric = "tokens_per_s_per_gpu";
    c.status = m.status;
    c.measured = m.measured_tokens_per_s_per_gpu;
    c.source = "testbed";
    c.weights_given = true;  // the job's plan holds its weights as it says (no FP8-weights fill)
    log_.push_back(std::move(c));
    if (m.status == "oom") ++result_.oom_jobs;
    if (m.status == "failed") ++result_.failed_jobs;
    if (m.status == "ok" && m.measured_tokens_per_s_per_gpu > best_measured_) {
      best_measured_ = m.measured_tokens_per_s_per_gpu;
      best_true_ = m.true_tokens_per_s_per_gpu;
      result_.best_plan = description;
    }
    return m;
  }
  void EndBatch(std::optional<double> tau) {
    CurvePoint point;
    point.jobs = static_cast<int64_t>(log_.size());
    point.best_true_tokens_per_s_per_gpu = best_true_;
    point.regret_pct = optimum_ > 0 ? 100.0 * (1.0 - best_true_ / optimum_) : 0;
    point.kendall_tau = tau;
    result_.curve.push_back(point);
  }
  int64_t jobs() const { return static_cast<int64_t>(log_.size()); }
  const std::vector<validate::TrainingCase>& log() const { return log_; }

 private:
  const TruthEngine& truth_;
  double optimum_;
  MethodResult& result_;
  std::vector<validate::TrainingCase> log_;
  std::set<std::string> seen_;
  double best_measured_ = 0, best_true_ = 0;
};

// Kendall's tau of what suggest learns from `log` (the physics when too few jobs ran).
std::optional<double> LearnedTau(const spec::JobSpec& base,
                                 const std::vector<validate::TrainingCase>& log,
                                 const std::vector<TauPlan>& plans, const SuggestOptions& options) {
  Result<Suggestion> learned = Learn(base, log, options);
  Predictor physics;
  const Predictor& predictor = learned.ok() && learned->predictor ? *learned->predictor : physics;
  std::vector<double> predicted;
  for (const TauPlan& t : plans) {
    predicted.push_back(t.physics * std::exp(predictor.Correct(t.x).correction));
  }
  return KendallTau(plans, predicted);
}

}  // namespace

Result<TestbedReport> RunTestbed(const spec::JobSpec& base, const search::SearchSpace& space,
                                 const Truth& truth, const TestbedOptions& options) {
  SP_RETURN_IF_ERROR(TestbedOptionsSchema().CheckValues(options));
  SP_RETURN_IF_ERROR(FindFamily(options.family, "testbed.family").status());
  Clock::time_point start = Clock::now();
  TruthEngine engine(truth);
  SP_RETURN_IF_ERROR(engine.Check(base.cluster));
  SP_RETURN_IF_ERROR(CheckWhenInSpace(truth, base, space));
  TestbedReport report;
  report.truth_origin = truth.origin;
  for (const TruthEffect& e : truth.effects) {
    report.effects.push_back(fmt::format("{} ({})", e.kind, e.origin));
  }

  // The true optimum: every candidate on the truth, those whose failure draw fails them refused
  // (a plan's draw is fixed by the truth's seed, so a failing plan is never measured).
  TruthEngine runnable(truth);
  runnable.RefuseFailures(true);
  search::SearchOptions exhaustive;
  exhaustive.top_k = 1;
  exhaustive.rerank_with_events = false;
  exhaustive.engine = &runnable;
  exhaustive.threads = options.threads;
  exhaustive.processes = options.processes;
  // Every method works on one space: the candidates as decoded (random draws and mutations
  // cannot reach a derived expert TP).
  exhaustive.derive_expert_tp = false;
  SP_ASSIGN_OR_RETURN(search::SearchResult optimum, search::Search(base, space, exhaustive));
  if (optimum.top.empty()) {
    return Status::Invalid(fmt::format(
        "testbed: no plan of the space runs on the truth {} (allowed: a space with a plan that "
        "fits the memory margin and passes its failure draw)",
        truth.origin));
  }
  report.optimum_plan = optimum.top.front().description;
  report.optimum_tokens_per_s_per_gpu = optimum.top.front().step.tokens_per_s_per_gpu;
  report.runnable_plans = optimum.evaluated;
  const double best = report.optimum_tokens_per_s_per_gpu;

  // The physics' ranking, as deep as the budget.
  search::SearchOptions physics_options = exhaustive;
  physics_options.engine = nullptr;
  physics_options.top_k = options.budget;
  SP_ASSIGN_OR_RETURN(search::SearchResult physics, search::Search(base, space, physics_options));
  if (!physics.top.empty()) {
    report.physics_best_plan = physics.top.front().description;
    spec::JobSpec job = base;
    job.plan = physics.top.front().plan;
    if (std::optional<plan::Plan> p = Launchable(job)) {
      Result<sim::StepResult> t = engine.Step(*p);
      if (t.ok()) report.physics_best_true_tokens_per_s_per_gpu = t->tokens_per_s_per_gpu;
    }
  }

  // The tau sample: plans that run on the truth, drawn uniformly.
  std::vector<TauPlan> tau_plans;
  {
    std::mt19937_64 rng(options.seed ^ 0x7a75u);
    std::set<std::string> drawn;
    const int64_t attempts = options.tau_sample * 500;
    for (int64_t i = 0; i < attempts && static_cast<int64_t>(tau_plans.size()) < options.tau_sample;
         ++i) {
      std::optional<plan::Plan> p =
          Launchable(search::Decode(base, space, RandomCandidate(space, rng)));
      if (!p || !drawn.insert(search::Describe(p->spec(), p->dp)).second) continue;
      Result<sim::StepResult> analytical = sim::Evaluate(*p);
      if (!analytical.ok()) continue;
      plan::MemoryReport memory = plan::ComputeMemory(*p);
      Result<sim::StepResult> t = runnable.StepGiven(*p, *analytical, memory);
      if (!t.ok()) continue;
      tau_plans.push_back({t->tokens_per_s_per_gpu, analytical->tokens_per_s_per_gpu,
                           Features(*p, *analytical, memory)});
    }
  }
  std::vector<double> physics_predicted;
  for (const TauPlan& t : tau_plans) physics_predicted.push_back(t.physics);
  const std::optional<double> physics_tau = KendallTau(tau_plans, physics_predicted);

  const std::vector<std::string> methods =
      options.methods.empty() ? TestbedMethods() : options.methods;
  const auto batch = static_cast<size_t>(options.batch);
  for (const std::string& name : methods) {
    Clock::time_point method_start = Clock::now();
    MethodResult result;
    result.name = name;
    result.effect_jobs.assign(truth.effects.size(), 0);
    Runner runner(engine, best, result);
    std::mt19937_64 rng(options.seed ^ Fnv1a(name));
    auto remaining = [&] { return static_cast<size_t>(options.budget - runner.jobs()); };
    auto job_of = [&](const spec::PlanSpec& plan) {
      spec::JobSpec job = base;
      job.plan = plan;
      return job;
    };
    // Up to `n` launchable plans not yet run, drawn uniformly (bounded tries).
    auto random_plans = [&](size_t n) {
      std::vector<plan::Plan> out;
      std::set<std::string> picked;
      for (int tries = 0; out.size() < n && tries < 200000; ++tries) {
        std::optional<plan::Plan> p =
            Launchable(search::Decode(base, space, RandomCandidate(space, rng)));
        if (!p || runner.Seen(*p) || !picked.insert(search::Describe(p->spec(), p->dp)).second) {
          continue;
        }
        out.push_back(std::move(*p));
      }
      return out;
    };

    if (name == "physics") {
      size_t next = 0;
      while (remaining() > 0 && next < physics.top.size()) {
        for (size_t k = 0; k < batch && remaining() > 0 && next < physics.top.size(); ++next) {
          std::optional<plan::Plan> p = Launchable(job_of(physics.top[next].plan));
          if (p && runner.Run(*p)) ++k;
        }
        runner.EndBatch(physics_tau);
      }
    } else if (name == "random") {
      while (remaining() > 0) {
        std::vector<plan::Plan> plans = random_plans(std::min(batch, remaining()));
        if (plans.empty()) break;
        for (const plan::Plan& p : plans) runner.Run(p);
        runner.EndBatch(std::nullopt);
      }
    } else if (name == "evolution") {
      constexpr size_t kPopulation = 16, kTournament = 4;
      struct Member {
        search::Candidate candidate;
        double measured;
      };
      std::vector<Member> population;  // oldest first
      while (remaining() > 0) {
        std::vector<std::pair<search::Candidate, plan::Plan>> children;
        std::set<std::string> picked;
        const size_t want = std::min(batch, remaining());
        for (int tries = 0; children.size() < want && tries < 200000; ++tries) {
          search::Candidate c;
          if (population.size() < kTournament) {
            c = RandomCandidate(space, rng);
          } else {
            const Member* parent = nullptr;
            for (size_t i = 0; i < kTournament; ++i) {
              const Member& m = population[rng() % population.size()];
              if (parent == nullptr || m.measured > parent->measured) parent = &m;
            }
            c = parent->candidate;
            for (int attempt = 0; attempt < 32; ++attempt) {
              int d = static_cast<int>(rng() % search::kDimensions);
              size_t n = space.Count(d);
              if (n < 2) continue;
              auto v = static_cast<uint32_t>(rng() % (n - 1));
              if (v >= c[static_cast<size_t>(d)]) ++v;
              c[static_cast<size_t>(d)] = v;
              break;
            }
          }
          std::optional<plan::Plan> p = Launchable(search::Decode(base, space, c));
          if (!p || runner.Seen(*p) || !picked.insert(search::Describe(p->spec(), p->dp)).second) {
            continue;
          }
          children.emplace_back(c, std::move(*p));
        }
        if (children.empty()) break;
        for (const auto& [c, p] : children) {
          std::optional<TruthEngine::Measurement> m = runner.Run(p);
          if (!m || m->status != "ok") continue;
          population.push_back({c, m->measured_tokens_per_s_per_gpu});
          if (population.size() > kPopulation) population.erase(population.begin());
        }
        runner.EndBatch(std::nullopt);
      }
    } else {  // cubic
      SuggestOptions suggest;
      suggest.family = options.family;
      suggest.members = options.members;
      suggest.optimism = options.optimism;
      suggest.threads = options.threads;
      suggest.processes = options.processes;
      suggest.seed = options.seed;
      suggest.derive_expert_tp = false;  // the space the other methods draw from
      while (remaining() > 0) {
        suggest.count = static_cast<int64_t>(std::min(batch, remaining()));
        SP_ASSIGN_OR_RETURN(Suggestion s, Suggest(base, space, runner.log(), suggest));
        const int64_t before = runner.jobs();
        for (const Proposal& proposal : s.proposals) {
          std::optional<plan::Plan> p = Launchable(job_of(proposal.evaluation.plan));
          if (p) runner.Run(*p);
        }
        if (runner.jobs() == before) break;  // nothing new to run
        runner.EndBatch(LearnedTau(base, runner.log(), tau_plans, suggest));
      }
    }
    result.elapsed_s = Seconds(method_start);
    report.methods.push_back(std::move(result));
  }
  report.elapsed_s = Seconds(start);
  return report;
}

}  // namespace scaleplan::predict
