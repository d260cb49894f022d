#include "predict/rec_testbed.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "core/processes.h"
#include "core/text.h"
#include "predict/feasibility.h"
#include "predict/predictor.h"
#include "recsys/cost.h"
#include "search/search.h"

namespace scaleplan::predict {

namespace {

using Clock = std::chrono::steady_clock;
// Regularized evolution's population and tournament sizes (the transformer testbed's).
constexpr size_t kPopulation = 16, kTournament = 4;
// The least sustained compute fraction a GPU spec takes (spec/specs.h's bound).
constexpr double kMinComputeFraction = 0.1;

// One plan of the space on the physics (rec_space.h), and the truth's measurement of it.
struct RecPlan : RecPlanned {
  std::string true_status;  // ok, oom, failed
  double truth = 0;         // noiseless true samples/s/GPU (status ok)
  double measured = 0;      // with noise
};

bool Matches(const TruthEffect& e, const RecKnobs& k) {
  const auto& dims = RecSpaceDims();
  for (const auto& [key, value] : e.when) {
    for (size_t d = 0; d < kRecKnobs; ++d) {
      if (dims[d].first == key && nlohmann::json(RecKnobValue(k, d)) != value) return false;
    }
  }
  return true;
}

// The truth's run of plan `p`: the physics' sharding on the changed job and factors.
Status RunOnTruth(const Truth& truth, RecPlan& p) {
  spec::RecJobSpec job = p.job;
  recsys::RecFactors factors = recsys::FittedFactors();
  double margin = 0, overhead = 0, survive = 1;
  std::vector<std::string> compute_from, lookup_from;  // the effects that scaled them
  for (const TruthEffect& e : truth.effects) {
    if (!Matches(e, p.knobs)) continue;
    if (e.kind == "compute_scale") {
      job.cluster.gpu.sustained_compute_fraction *= e.factor;
      compute_from.push_back(fmt::format("{} (factor {:g})", e.origin, e.factor));
    }
    if (e.kind == "lookup_scale") {
      factors.lookup_bandwidth_fraction *= e.factor;
      lookup_from.push_back(fmt::format("{} (factor {:g})", e.origin, e.factor));
    }
    if (e.kind == "tier_bandwidth") {
      for (spec::TierSpec& t : job.cluster.tiers) {
        if (t.name == e.tier) t.bandwidth_bytes_per_s *= e.factor;
      }
    }
    if (e.kind == "step_overhead_s") overhead += e.value;
    if (e.kind == "memory_margin_bytes") margin += e.value;
    if (e.kind == "failure_rate") survive *= 1 - e.value;
  }
  // The scaled fractions stay what a GPU can do: tensor cores at kMinComputeFraction to all of
  // the kernel tables' throughput, lookups at most the HBM's bandwidth.
  const double compute = job.cluster.gpu.sustained_compute_fraction;
  if (compute < kMinComputeFraction || compute > 1) {
    return Status::Invalid(fmt::format(
        "{}: compute_scale makes {}'s sustained compute fraction {:g} for {} (allowed: factors "
        "whose product keeps it from {:g} to 1; the GPU's own is {:g})",
        Join(compute_from, ", "), job.cluster.gpu.name, compute, p.description, kMinComputeFraction,
        p.job.cluster.gpu.sustained_compute_fraction));
  }
  if (factors.lookup_bandwidth_fraction > 1) {
    return Status::Invalid(fmt::format(
        "{}: lookup_scale makes the lookups reach {:g} of the HBM's bandwidth for {} (allowed: "
        "factors whose product keeps it at most 1; the fitted fraction is {:g})",
        Join(lookup_from, ", "), factors.lookup_bandwidth_fraction, p.description,
        recsys::FittedFactors().lookup_bandwidth_fraction));
  }
  SP_ASSIGN_OR_RETURN(recsys::RecJob resolved, recsys::ResolveRecJob(job));
  SP_ASSIGN_OR_RETURN(recsys::CostModel cost, recsys::CostModel::For(resolved, factors));
  SP_ASSIGN_OR_RETURN(recsys::RecStep step, cost.Evaluate(p.sharding));
  // The draws, fixed by the truth's seed and the plan.
  std::mt19937_64 rng(truth.seed ^ Fingerprint(p.description));
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  const bool fails = uniform(rng) >= survive;
  const double noise = normal(rng);
  if (!step.fits || step.max_hbm_bytes > step.hbm_capacity_bytes - margin) {
    p.true_status = "oom";
    return Status::Ok();
  }
  if (fails) {
    p.true_status = "failed";
    return Status::Ok();
  }
  const double step_s = step.step_s + overhead;
  p.truth = static_cast<double>(resolved.spec.global_batch) / step_s /
            static_cast<double>(resolved.world);
  if (!std::isfinite(p.truth) || p.truth <= 0) {
    return Status::Invalid(
        fmt::format("truth: the effects give {} a step of {:g} s (allowed: a "
                    "finite, positive step)",
                    p.description, step_s));
  }
  p.true_status = "ok";
  p.measured = p.truth * std::exp(truth.noise_pct / 100.0 * noise);
  return Status::Ok();
}

// A method's run: the plans it launched, in order, and its curve.
class Run {
 public:
  Run(std::string name, const std::vector<RecPlan>& plans, double optimum)
      : plans_(plans), optimum_(optimum) {
    result_.name = std::move(name);
  }
  bool Ran(size_t i) const { return ran_.count(i) > 0; }
  size_t jobs() const { return order_.size(); }
  const std::vector<size_t>& order() const { return order_; }
  void Launch(size_t i) {
    ran_.insert(i);
    order_.push_back(i);
    const RecPlan& p = plans_[i];
    if (p.true_status == "oom") ++result_.oom_jobs;
    if (p.true_status == "failed") ++result_.failed_jobs;
    if (p.true_status == "ok" && (best_ < 0 || p.measured > plans_[best_].measured)) {
      best_ = static_cast<int64_t>(i);
    }
  }
  void Record(std::optional<double> tau) {
    RecCurvePoint point;
    point.jobs = static_cast<int64_t>(order_.size());
    if (best_ >= 0) {
      point.best_true_samples_per_s_per_gpu = plans_[static_cast<size_t>(best_)].truth;
      point.regret_pct = 100.0 * (1.0 - point.best_true_samples_per_s_per_gpu / optimum_);
      result_.best_plan = plans_[static_cast<size_t>(best_)].description;
    }
    point.kendall_tau = tau;
    result_.curve.push_back(point);
  }
  RecMethodResult Take() { return std::move(result_); }

 private:
  const std::vector<RecPlan>& plans_;
  double optimum_;
  std::set<size_t> ran_;
  std::vector<size_t> order_;
  int64_t best_ = -1;
  RecMethodResult result_;
};

// cubic's models, fitted on the jobs `ran` (in order): the predictor once kMinTrainingJobs
// configurations are measured, the feasibility model once some ran out of memory and some did not.
struct Learned {
  std::optional<Predictor> predictor;
  std::optional<Feasibility> feasibility;
};

Result<Learned> Learn(const std::vector<RecPlan>& plans, const std::vector<size_t>& ran,
                      const RecTestbedOptions& options, size_t jobs) {
  Dataset data;
  std::vector<std::vector<double>> fx;
  std::vector<bool> oom;
  std::set<std::vector<double>> configurations;
  for (size_t i : ran) {
    const RecPlan& p = plans[i];
    if (p.true_status == "ok") {
      data.x.push_back(p.x);
      data.y.push_back(std::log(p.measured / p.physics.samples_per_s_per_gpu));
      // Every plan answers one question (which runs this job fastest): one decision for a
      // ranking family, the physics' log throughput its base.
      data.group.emplace_back("space");
      data.base.push_back(std::log(p.physics.samples_per_s_per_gpu));
      configurations.insert(p.x);
    }
    if (p.true_status != "failed") {
      fx.push_back(p.x);
      oom.push_back(p.true_status == "oom");
    }
  }
  Learned learned;
  if (configurations.size() >= kMinTrainingJobs) {
    SP_ASSIGN_OR_RETURN(learned.predictor,
                        FitPredictor(data, options.family, options.members, options.seed + jobs));
  }
  learned.feasibility = Feasibility::Fit(fx, oom);
  return learned;
}

}  // namespace

const TruthVocabulary& RecTruthVocabulary() {
  static const TruthVocabulary vocabulary = {
      {"compute_scale", "lookup_scale", "tier_bandwidth", "step_overhead_s", "memory_margin_bytes",
       "failure_rate"},
      RecSpaceDims()};
  return vocabulary;
}

const std::vector<std::string>& RecTestbedMethods() {
  static const std::vector<std::string> methods = {"cubic", "physics", "random", "evolution",
                                                   "reinforce"};
  return methods;
}

const spec::Schema<RecTestbedOptions>& RecTestbedOptionsSchema() {
  static const spec::Schema<RecTestbedOptions> schema = [] {
    using O = RecTestbedOptions;
    spec::Schema<O> s("rec_testbed");
    s.Integer("budget", &O::budget, 1, 192, "",
              "true jobs each method may run (the space has 192 plans)");
    s.Integer("batch", &O::batch, 1, kRecSpacePlans, "",
              "jobs run at once (one round of a method)");
    s.Unsigned("seed", &O::seed, "seed of random, evolution, reinforce and cubic's predictor");
    AddMethodsOption(s, "rec_testbed", RecTestbedMethods(), &O::methods);
    s.OneOf("family", &O::family, FamilyNames(), "cubic's predictor family");
    s.Integer("members", &O::members, 1, kMaxMembers, "", "models in cubic's ensemble");
    s.Number("optimism", &O::optimism, 0, 10, "",
             "ensemble spreads cubic adds to the estimate when ranking");
    return s;
  }();
  return schema;
}

Result<RecTestbedReport> RunRecTestbed(const spec::RecJobSpec& base, const Truth& truth,
                                       const RecTestbedOptions& options) {
  const auto start = Clock::now();
  SP_RETURN_IF_ERROR(RecTestbedOptionsSchema().CheckValues(options));
  SP_RETURN_IF_ERROR(FindFamily(options.family, "rec_testbed.family").status());
  SP_ASSIGN_OR_RETURN(recsys::RecJob base_job, recsys::ResolveRecJob(base));
  for (const TruthEffect& e : truth.effects) {
    if (e.kind != "tier_bandwidth") continue;
    std::vector<std::string> names;
    for (const spec::TierSpec& t : base.cluster.tiers) names.push_back(t.name);
    if (std::find(names.begin(), names.end(), e.tier) == names.end()) {
      return Status::Invalid(fmt::format("{}: tier = {} is not a tier of cluster {} (allowed: {})",
                                         e.origin, Printable(e.tier, 40), base.cluster.name,
                                         Join(names, ", ")));
    }
  }
  RecTestbedReport report;
  report.truth_origin = truth.origin;
  report.job = fmt::format("{} on {} x {} ({}), global batch {}", base.model.name, base_job.world,
                           base.cluster.gpu.name, base.cluster.name, base.global_batch);

  // Every plan of the space, planned and priced on the physics, then run on the truth.
  const auto& dims = RecSpaceDims();
  std::vector<RecPlan> plans;
  for (const RecKnobs& k : AllRecKnobs()) {
    SP_ASSIGN_OR_RETURN(std::optional<RecPlanned> planned, PlanRecKnobs(base, k));
    if (!planned) {  // its planner found no sharding: not in the space, counted
      ++report.planner_failures;
      continue;
    }
    RecPlan p;
    static_cast<RecPlanned&>(p) = std::move(*planned);
    SP_RETURN_IF_ERROR(RunOnTruth(truth, p));
    plans.push_back(std::move(p));
  }
  report.plans = static_cast<int64_t>(plans.size());
  std::vector<size_t> physics_order;
  for (size_t i = 0; i < plans.size(); ++i) {
    if (plans[i].fits) physics_order.push_back(i);
  }
  report.fitting_plans = static_cast<int64_t>(physics_order.size());
  if (physics_order.empty()) {
    return Status::Invalid(
        fmt::format("rec-testbed: no plan of the space fits {} (allowed: a job "
                    "whose tables fit the GPUs' memory under some planner)",
                    report.job));
  }
  std::stable_sort(physics_order.begin(), physics_order.end(), [&](size_t a, size_t b) {
    return plans[a].physics.samples_per_s_per_gpu > plans[b].physics.samples_per_s_per_gpu;
  });
  // The truth's optimum and the plans a tau is measured on: every launchable plan that runs.
  std::vector<size_t> runnable;
  for (size_t i : physics_order) {
    if (plans[i].true_status == "ok") runnable.push_back(i);
  }
  report.runnable_plans = static_cast<int64_t>(runnable.size());
  if (runnable.empty()) {
    return Status::Invalid(
        fmt::format("{}: no plan of the space runs on this truth (every one is "
                    "out of memory or fails; allowed: a truth under which one "
                    "runs)",
                    truth.origin));
  }
  size_t optimum = runnable[0];
  for (size_t i : runnable) {
    if (plans[i].truth > plans[optimum].truth) optimum = i;
  }
  report.optimum_plan = plans[optimum].description;
  report.optimum_samples_per_s_per_gpu = plans[optimum].truth;
  report.physics_best_plan = plans[physics_order[0]].description;
  report.physics_best_true_samples_per_s_per_gpu = plans[physics_order[0]].truth;
  report.physics_best_status = plans[physics_order[0]].true_status;
  std::vector<double> truth_of(runnable.size()), physics_of(runnable.size());
  for (size_t j = 0; j < runnable.size(); ++j) {
    truth_of[j] = plans[runnable[j]].truth;
    physics_of[j] = plans[runnable[j]].physics.samples_per_s_per_gpu;
  }
  const std::optional<double> physics_tau = KendallTauA(physics_of, truth_of);
  const double best = plans[optimum].truth;
  const auto batch = static_cast<size_t>(options.batch);
  const auto budget = static_cast<size_t>(options.budget);
  const std::vector<std::string>& methods =
      options.methods.empty() ? RecTestbedMethods() : options.methods;

  std::map<RecKnobs, size_t> launchable;  // the plans that fit the memory model, by their knobs
  for (size_t i : physics_order) launchable.emplace(plans[i].knobs, i);

  for (const std::string& name : methods) {
    Run run(name, plans, best);
    std::vector<size_t> population;  // evolution's: the latest measured plans, oldest first
    Learned learned;                 // cubic's
    std::mt19937_64 rng(options.seed);
    // reinforce's policy.
    std::vector<std::vector<double>> theta(kRecKnobs);
    for (size_t d = 0; d < kRecKnobs; ++d) theta[d].assign(dims[d].second.size(), 0.0);
    double reference = 0, worst = 0, baseline = 0;
    bool have_reference = false, have_baseline = false;
    while (run.jobs() < budget) {
      const size_t want = std::min(batch, budget - run.jobs());
      std::vector<size_t> next;
      std::optional<double> tau;  // physics: the physics'; cubic: set after the batch
      auto unrun = [&](size_t i) {
        return !run.Ran(i) && std::find(next.begin(), next.end(), i) == next.end();
      };
      if (name == "physics") {
        for (size_t i : physics_order) {
          if (next.size() < want && unrun(i)) next.push_back(i);
        }
        tau = physics_tau;
      } else if (name == "random") {
        std::vector<size_t> left;
        for (size_t i : physics_order) {
          if (unrun(i)) left.push_back(i);
        }
        for (size_t n = 0; n < want && !left.empty(); ++n) {
          const size_t pick = static_cast<size_t>(rng() % left.size());
          next.push_back(left[pick]);
          left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
        }
      } else if (name == "reinforce") {
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        for (int draw = 0; draw < 1000 && next.size() < want; ++draw) {
          RecKnobs c{};
          for (size_t d = 0; d < kRecKnobs; ++d) {
            const std::vector<double>& t = theta[d];
            const double top = *std::max_element(t.begin(), t.end());
            double sum = 0;
            for (double v : t) sum += std::exp(v - top);
            double u = uniform(rng) * sum;
            uint32_t v = 0;
            for (; v + 1 < t.size(); ++v) {
              u -= std::exp(t[v] - top);
              if (u <= 0) break;
            }
            c[d] = v;
          }
          auto it = launchable.find(c);
          if (it != launchable.end() && unrun(it->second)) next.push_back(it->second);
        }
      } else if (name == "evolution") {
        for (int draw = 0; draw < 1000 && next.size() < want; ++draw) {
          size_t pick = physics_order[rng() % physics_order.size()];
          if (population.size() >= kTournament) {
            size_t parent = population[rng() % population.size()];
            for (size_t t = 1; t < kTournament; ++t) {
              const size_t rival = population[rng() % population.size()];
              if (plans[rival].measured > plans[parent].measured) parent = rival;
            }
            RecKnobs c = plans[parent].knobs;
            const size_t d = rng() % kRecKnobs;
            const auto count = static_cast<uint32_t>(dims[d].second.size());
            const auto v = static_cast<uint32_t>(rng() % (count - 1));
            c[d] = v >= c[d] ? v + 1 : v;
            auto it = launchable.find(c);
            if (it == launchable.end()) continue;
            pick = it->second;
          }
          if (unrun(pick)) next.push_back(pick);
        }
      } else {  // cubic: the model learned from every job so far (Learn, below)
        std::vector<std::pair<double, size_t>> ranked;
        for (size_t i : physics_order) {
          const RecPlan& p = plans[i];
          double score = std::log(p.physics.samples_per_s_per_gpu);
          if (learned.predictor) {
            const Estimate e = learned.predictor->Correct(p.x);
            score += e.correction + options.optimism * e.spread;
          }
          if (learned.feasibility && learned.feasibility->OomProbability(p.x) > 0.5) continue;
          ranked.emplace_back(-score, i);
        }
        std::stable_sort(ranked.begin(), ranked.end());
        for (const auto& [score, i] : ranked) {
          if (next.size() < want && unrun(i)) next.push_back(i);
        }
      }
      if (next.empty()) break;  // nothing left this method would run
      for (size_t i : next) {
        run.Launch(i);
        if (plans[i].true_status != "ok") continue;
        population.push_back(i);
        if (population.size() > kPopulation) population.erase(population.begin());
      }
      if (name == "reinforce") {
        std::vector<double> rewards(next.size());
        double mean = 0;
        for (size_t n = 0; n < next.size(); ++n) {
          const RecPlan& p = plans[next[n]];
          if (p.true_status != "ok") continue;
          if (!have_reference) {
            reference = p.measured;
            have_reference = true;
          }
          rewards[n] = std::log(p.measured / reference);
          worst = std::min(worst, rewards[n]);
        }
        for (size_t n = 0; n < next.size(); ++n) {
          if (plans[next[n]].true_status != "ok") rewards[n] = worst - 1;
          mean += rewards[n];
        }
        mean /= static_cast<double>(next.size());
        baseline = have_baseline ? 0.8 * baseline + 0.2 * mean : mean;
        have_baseline = true;
        for (size_t d = 0; d < kRecKnobs; ++d) {
          std::vector<uint32_t> chosen;
          for (size_t i : next) chosen.push_back(plans[i].knobs[d]);
          const std::vector<double> g =
              search::PolicyGradient(theta[d], chosen, rewards, baseline, 0.01);
          for (size_t v = 0; v < g.size(); ++v) theta[d][v] += 0.5 * g[v];
        }
      }
      if (name == "cubic") {
        // What the jobs so far teach: the next batch's ranking, and the tau recorded now.
        SP_ASSIGN_OR_RETURN(learned, Learn(plans, run.order(), options, run.jobs()));
        if (learned.predictor) {
          std::vector<double> predicted(runnable.size());
          for (size_t j = 0; j < runnable.size(); ++j) {
            const RecPlan& p = plans[runnable[j]];
            predicted[j] = p.physics.samples_per_s_per_gpu *
                           std::exp(learned.predictor->Correct(p.x).correction);
          }
          tau = KendallTauA(predicted, truth_of);
        }
      }
      run.Record(tau);
    }
    report.methods.push_back(run.Take());
  }
  report.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

}  // namespace scaleplan::predict
