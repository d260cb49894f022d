#include "search/search.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "core/text.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/engine.h"
#include "sim/recompute_fit.h"
#include "topology/placement.h"

namespace scaleplan::search {

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// A total order: two candidates that describe alike (e.g. the CP algorithm of a plan without CP)
// are ordered by their indices, so which one a top K keeps does not depend on the order they
// arrive in (threads, processes, draws).
bool Better(const Evaluation& a, const Evaluation& b) {
  if (a.step.step_time_s != b.step.step_time_s) return a.step.step_time_s < b.step.step_time_s;
  if (a.description != b.description) return a.description < b.description;
  return a.candidate < b.candidate;
}

// What a rejection is about: the key its Status carries (plan::BuildPlan names one for every
// refusal).
std::string Reason(const Status& status) {
  return status.key().empty() ? std::string("other") : status.key();
}

std::vector<spec::Dim> Canonical(const std::vector<spec::Dim>& order, const spec::PlanSpec& p,
                                 int64_t dp);

// The same plan whatever the order of its size-1 dimensions, its schedule without a pipeline and
// its gradient synchronization without data parallelism: what TopK keeps once. Two spellings of
// one plan are one plan too: llama3 with N = pp is Megatron's interleaved schedule; and ZeRO-2 and
// FSDP, which this model prices alike (gradients reduce-scattered, parameters all-gathered once
// per step), are one plan when their step time and memory agree exactly.
std::string PlanKey(const Evaluation& e) {
  spec::PlanSpec p = e.plan;
  p.placement = Canonical(p.placement, p, p.dp);
  if (p.pp == 1) p.schedule = spec::Schedule::k1F1B;
  if (p.schedule == spec::Schedule::kLlama3 && p.pp_microbatch_group == p.pp) {
    p.schedule = spec::Schedule::kInterleaved;
  }
  // No gradient crosses ranks: dense ones reduce over dp * cp, experts' over
  // dp * cp * tp / (ep * etp) (Plan::ExpertDp; e.plan's etp is resolved).
  if (p.dp * p.cp == 1 && p.tp == p.ep * p.etp) p.grad_sync = spec::GradSync::kStep;
  std::string key = Describe(p, p.dp);
  if (p.zero == spec::ZeroMode::kFsdp || p.zero == spec::ZeroMode::kZero2) {
    p.zero = spec::ZeroMode::kZero2;
    key = fmt::format("{} @{:a} {:a}", Describe(p, p.dp), e.step.step_time_s, e.peak_bytes_per_gpu);
  }
  return key;
}

// Keeps the best k evaluations, each plan once (random sampling and evolution can meet a plan
// twice, or an equivalent of it); of equivalent ones the best by Better (the tie-break is the
// description) stays.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) {}
  // Whether a plan of this step time could enter (ties are decided by Add).
  bool MayKeep(double step_time_s) const {
    return items_.size() < k_ || step_time_s <= items_.back().step.step_time_s;
  }
  void Add(Evaluation e) {
    if (items_.size() == k_ && !Better(e, items_.back())) return;
    std::string key = PlanKey(e);
    for (size_t i = 0; i < items_.size(); ++i) {
      if (keys_[i] != key) continue;
      if (!Better(e, items_[i])) return;
      items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
      keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
    size_t at = static_cast<size_t>(std::upper_bound(items_.begin(), items_.end(), e, Better) -
                                    items_.begin());
    items_.insert(items_.begin() + static_cast<std::ptrdiff_t>(at), std::move(e));
    keys_.insert(keys_.begin() + static_cast<std::ptrdiff_t>(at), std::move(key));
    if (items_.size() > k_) {
      items_.pop_back();
      keys_.pop_back();
    }
  }
  void Merge(const TopK& other) {
    for (const Evaluation& e : other.items_) Add(e);
  }
  std::vector<Evaluation> Take() { return std::move(items_); }

 private:
  size_t k_;
  std::vector<Evaluation> items_;
  std::vector<std::string> keys_;  // PlanKey of each item
};

struct Counters {
  uint64_t evaluated = 0;
  uint64_t pruned = 0;
  std::map<std::string, uint64_t> pruned_by;
  std::map<std::string, std::string> pruned_why;  // reason -> one refusal's message (Why)
  void Prune(const std::string& reason, uint64_t count) {
    pruned += count;
    pruned_by[reason] += count;
  }
  // A refusal: counted under its key, one message kept per key (what the report shows when a
  // rule pruned everything: `plan.tp` alone does not say why tp 3 is refused). The least in text
  // order, so that a search split over threads or processes keeps the same one.
  void Prune(const Status& refusal, uint64_t count) {
    const std::string reason = Reason(refusal);
    Prune(reason, count);
    Why(reason, refusal.message());
  }
  void Why(const std::string& reason, const std::string& message) {
    auto it = pruned_why.find(reason);  // (no node built per pruned candidate: a hot path)
    if (it == pruned_why.end()) {
      pruned_why.emplace(reason, message);
    } else if (message < it->second) {
      it->second = message;
    }
  }
  void Merge(const Counters& o) {
    evaluated += o.evaluated;
    pruned += o.pruned;
    for (const auto& [reason, n] : o.pruned_by) pruned_by[reason] += n;
    for (const auto& [reason, why] : o.pruned_why) Why(reason, why);
  }
};

// What scoring a plan found.
struct Scored {
  enum Outcome { kStep, kOutOfMemory, kRefused } outcome = kStep;  // kRefused: by the engine
  double step_time_s = std::numeric_limits<double>::infinity();    // when kStep
};

// Scores one candidate: validity, memory, step time.
class Scorer {
 public:
  Scorer(const spec::JobSpec& base, const SearchSpace& space, const hardware::DeviceModel& device,
         const SearchOptions& options)
      : base_(base),
        space_(space),
        evaluator_(device),
        engine_(options.engine),
        derive_expert_tp_(options.derive_expert_tp),
        fit_recompute_(options.fit_recompute) {
    // The fill keeps to the space: modules only where selective recomputation is a value of it
    // and no module list is pinned; whole layers only where full recomputation is and no layer
    // count is pinned.
    auto allows = [&](spec::Recompute r) {
      return std::find(space.recompute.begin(), space.recompute.end(), r) != space.recompute.end();
    };
    fit_choices_.modules = allows(spec::Recompute::kSelective) &&
                           base.plan.recompute_modules == spec::PlanSpec{}.recompute_modules;
    fit_choices_.blocks = allows(spec::Recompute::kFull) && base.plan.recompute_layers == 0;
    fit_recompute_ = fit_recompute_ && (fit_choices_.modules || fit_choices_.blocks);
  }

  // The candidate's step time, offered to `top`; nullopt (and the reason counted) when it is
  // pruned.
  std::optional<double> Score(const Candidate& c, Counters& counters, TopK& top) {
    spec::JobSpec job = Decode(base_, space_, c);
    Result<plan::Plan> p = plan::BuildPlan(job, plan::Checks::kPlanOnly);
    if (!p.ok()) {
      counters.Prune(p.status(), 1);
      return std::nullopt;
    }
    Scored s = ScorePlan(*p, counters, top, c);
    if (s.outcome != Scored::kStep) return std::nullopt;
    return s.step_time_s;
  }

  // Scores the plan and, for a MoE layer split over TP, the same plan with its experts whole on
  // each rank: expert TP is derived, not searched. Megatron-Core's default, etp = tp, splits each
  // expert's GEMMs over the TP ranks and gathers the routed tokens there; etp = 1 spends those TP
  // ranks on expert parallelism or expert data parallelism instead (DeepSeek-V3's and Qwen3's
  // recipes). Both enter `top`; the candidate counts once, as the better of the two.
  Scored ScorePlan(const plan::Plan& p, Counters& counters, TopK& top, const Candidate& c) {
    if (!DerivesExpertTp(p)) return ScoreOne(p, counters, top, c);
    Counters split, whole;
    Scored a = ScoreOne(p, split, top, c);
    spec::JobSpec job = p.job;
    job.plan.etp = 1;
    Result<plan::Plan> q = plan::BuildPlan(job, plan::Checks::kPlanOnly);
    Scored b = q.ok() ? ScoreOne(*q, whole, top, c) : Scored{Scored::kRefused};
    const bool take_b =
        b.outcome == Scored::kStep && (a.outcome != Scored::kStep || b.step_time_s < a.step_time_s);
    counters.Merge(take_b ? whole : split);
    if (take_b) return b;
    if (a.outcome == Scored::kOutOfMemory && b.outcome != Scored::kOutOfMemory && q.ok()) {
      // Out of memory with split experts only: the other placements may still fit whole ones.
      return {Scored::kRefused};
    }
    return a;
  }

 private:
  // The analytical step time comes from the evaluator's reused buffers; only a plan that may
  // enter `top` is evaluated in full (with its data-parallel algorithm named), copied and
  // described. With an engine, the engine's step (given the analytical one) ranks instead.
  Scored ScoreOne(const plan::Plan& p, Counters& counters, TopK& top, const Candidate& c) {
    plan::MemoryReport memory = evaluator_.Memory(p);
    if (!memory.fits && fit_recompute_) {
      // The plan as built (its derived dp, microbatches, etp) with the fastest recomputation
      // that fits; scored as this candidate (the fitted plan fits, so this recursion ends).
      spec::JobSpec job = p.job;
      job.plan.etp = p.etp;
      std::optional<spec::PlanSpec> fitted = sim::FastestRecomputeThatFits(
          job, job.plan, evaluator_, plan::Checks::kPlanOnly, fit_choices_);
      if (fitted) {
        job.plan = *fitted;
        Result<plan::Plan> q = plan::BuildPlan(job, plan::Checks::kPlanOnly);
        if (q.ok() && evaluator_.Memory(*q).fits) return ScoreOne(*q, counters, top, c);
      }
    }
    if (!memory.fits) {
      counters.Prune("does not fit in memory", 1);
      return {Scored::kOutOfMemory};
    }
    std::optional<sim::StepResult> engine_step;
    if (engine_ != nullptr) {
      Result<sim::StepResult> step = engine_->StepGiven(p, evaluator_.EvaluateReused(p), memory);
      if (!step.ok()) {
        counters.Prune(step.status(), 1);
        return {Scored::kRefused};
      }
      engine_step = std::move(*step);
    }
    ++counters.evaluated;
    const double step_time_s =
        engine_step ? engine_step->step_time_s : evaluator_.EvaluateReused(p).step_time_s;
    if (!top.MayKeep(step_time_s)) return {Scored::kStep, step_time_s};
    Evaluation e;
    e.step = engine_step ? std::move(*engine_step) : evaluator_.Evaluate(p);
    e.plan = p.spec();
    e.plan.dp = p.dp;
    e.plan.microbatches = p.microbatches;
    e.plan.etp = p.etp;
    e.plan.pp_microbatch_group = p.pp_group;
    e.peak_bytes_per_gpu = memory.peak_bytes;
    e.description = Describe(e.plan, p.dp);
    e.candidate = c;
    top.Add(std::move(e));
    return {Scored::kStep, step_time_s};
  }

  const spec::JobSpec& base_;
  const SearchSpace& space_;
  sim::Evaluator evaluator_;
  const sim::Engine* engine_;
  bool derive_expert_tp_;
  bool fit_recompute_;
  sim::RecomputeChoices fit_choices_;

 public:
  // Whether ScorePlan also scores `p` with whole experts.
  bool DerivesExpertTp(const plan::Plan& p) const {
    return derive_expert_tp_ && p.model().IsMoe() && p.tp > 1 && p.etp == p.tp;
  }
};

// Placement orders that differ only in where size-1 dimensions sit are the same placement.
std::vector<spec::Dim> Canonical(const std::vector<spec::Dim>& order, const spec::PlanSpec& p,
                                 int64_t dp) {
  return topology::EffectiveOrder(order, p.tp, p.cp, p.pp, dp);
}

void Finish(SearchResult& result, const Counters& counters, TopK& top, Clock::time_point start) {
  result.top = top.Take();
  result.evaluated = counters.evaluated;
  result.pruned = counters.pruned;
  result.pruned_by = counters.pruned_by;
  result.pruned_why = counters.pruned_why;
  result.elapsed_s = Seconds(start);
}

class Exhaustive : public Optimizer {
 public:
  std::string_view name() const override { return "exhaustive"; }
  std::string_view description() const override {
    return "every candidate, invalid sub-spaces skipped in bulk, multi-threaded";
  }
  bool splits() const override { return true; }

  SearchResult Run(const spec::JobSpec& base, const SearchSpace& space,
                   const hardware::DeviceModel& device, const SearchOptions& options) override {
    Clock::time_point start = Clock::now();
    // The dimensions that decide validity form the outer space; each valid outer point is one
    // task whose inner points (zero, recomputation, CP algorithm, placement) share its layout.
    const int outer_dims[] = {kTp, kCp,       kPp,          kVp,       kTrim,           kMicroBatch,
                              kEp, kSchedule, kDpReplicate, kGradSync, kGradReduceDtype};
    const int inner_dims[] = {kZero, kRecompute, kCpAlgorithm, kPlacement};
    uint64_t inner_size = 1;
    for (int d : inner_dims) inner_size *= space.Count(d);

    std::vector<Candidate> outer;
    Counters counters;
    Candidate c{};
    // Split across processes, each process checks and scores the outer points dealt to it by a
    // hash of their index in the walk's order (a hash: dealing by the index itself would give
    // each process one value of the fastest-varying dimension, whose validity differs).
    uint64_t leaf = 0;
    std::function<void(size_t)> walk = [&](size_t level) {
      if (level == std::size(outer_dims)) {
        if (!IsMine(options.processes, (leaf++ * 0x9E3779B97F4A7C15ull) >> 32)) return;
        spec::JobSpec job = Decode(base, space, c);
        // HSDP needs a sharded ZeRO mode (an inner dimension): check validity with the first.
        if (job.plan.dp_replicate > 1 && job.plan.zero == spec::ZeroMode::kZero0) {
          for (const spec::ZeroMode z : space.zero) {
            if (z != spec::ZeroMode::kZero0) {
              job.plan.zero = z;
              break;
            }
          }
        }
        // Without a pipeline every schedule is the same plan: keep the space's first.
        if (job.plan.pp == 1 && c[kSchedule] != 0) {
          counters.Prune("plan.schedule (no effect at pp = 1)", inner_size);
          return;
        }
        Result<plan::Plan> p = plan::BuildPlan(job, plan::Checks::kPlanOnly);
        // HSDP's validity also depends on the placement (an inner dimension): try them all.
        for (size_t pl = 1; !p.ok() && job.plan.dp_replicate > 1 && pl < space.placement.size();
             ++pl) {
          spec::JobSpec other = job;
          other.plan.placement = space.placement[pl];
          Result<plan::Plan> q = plan::BuildPlan(other, plan::Checks::kPlanOnly);
          if (q.ok()) p = std::move(q);
        }
        // Without data parallelism, of dense weights or of experts, the gradient
        // synchronization changes nothing (the gradient dtype still sets the gradient buffer's
        // size). Whole experts (a derived etp = 1) are reduced over tp / ep ranks even then.
        if (p.ok() && p->dp * p->cp == 1 && p->ExpertDp() == 1 && c[kGradSync] != 0 &&
            !(options.derive_expert_tp && p->model().IsMoe() && p->tp > p->ep)) {
          counters.Prune("plan.grad_sync (no gradient reduced across ranks)", inner_size);
          return;
        }
        if (p.ok()) {
          outer.push_back(c);
        } else {
          counters.Prune(p.status(), inner_size);
        }
        return;
      }
      int d = outer_dims[level];
      for (uint32_t i = 0; i < space.Count(d); ++i) {
        c[static_cast<size_t>(d)] = i;
        walk(level + 1);
      }
    };
    walk(0);
    // A budget of evaluations is spent in equal shares.
    const uint64_t max_evaluations =
        options.max_evaluations == 0
            ? 0
            : (options.max_evaluations + static_cast<uint64_t>(ProcessCount(options.processes)) -
               1) /
                  static_cast<uint64_t>(ProcessCount(options.processes));

    std::atomic<size_t> next{0};
    std::atomic<uint64_t> evaluations{0};
    std::atomic<bool> out_of_time{false}, out_of_evals{false};
    int threads = static_cast<int>(std::max<int64_t>(1, options.threads));
    std::vector<TopK> tops(static_cast<size_t>(threads), TopK(static_cast<size_t>(options.top_k)));
    std::vector<Counters> thread_counters(static_cast<size_t>(threads));
    auto worker = [&](int t) {
      Scorer scorer(base, space, device, options);
      TopK& top = tops[static_cast<size_t>(t)];
      Counters& local = thread_counters[static_cast<size_t>(t)];
      for (size_t task = next++; task < outer.size(); task = next++) {
        if (options.max_seconds > 0 && Seconds(start) > options.max_seconds) {
          out_of_time = true;
          break;
        }
        if (max_evaluations > 0 && evaluations >= max_evaluations) {
          out_of_evals = true;
          break;
        }
        Candidate base_c = outer[task];
        spec::JobSpec job = Decode(base, space, base_c);
        std::set<std::vector<spec::Dim>> placements_seen;
        int64_t dp = 0;
        for (uint32_t z = 0; z < space.Count(kZero); ++z) {
          for (uint32_t r = 0; r < space.Count(kRecompute); ++r) {
            for (uint32_t a = 0; a < space.Count(kCpAlgorithm); ++a) {
              // Memory does not depend on the placement: once one placement of this point is out
              // of memory, so are the others (counted as such without building them).
              bool out_of_memory = false;
              for (uint32_t pl = 0; pl < space.Count(kPlacement); ++pl) {
                if (out_of_memory) {
                  local.Prune("does not fit in memory", 1);
                  continue;
                }
                Candidate cand = base_c;
                cand[kZero] = z;
                cand[kRecompute] = r;
                cand[kCpAlgorithm] = a;
                cand[kPlacement] = pl;
                spec::JobSpec j = Decode(base, space, cand);
                if (a > 0 && j.plan.cp == 1) {
                  local.Prune("plan.cp_algorithm (no effect at cp = 1)", 1);
                  continue;
                }
                Result<plan::Plan> p = plan::BuildPlan(j, plan::Checks::kPlanOnly);
                if (!p.ok()) {
                  local.Prune(p.status(), 1);
                  continue;
                }
                dp = p->dp;
                if (z == 0 && r == 0 && a == 0) {
                  if (!placements_seen.insert(Canonical(j.plan.placement, j.plan, dp)).second) {
                    local.Prune("plan.placement (equivalent order)", 1);
                    continue;
                  }
                } else {
                  // Same equivalence classes as for the first (z, r, a).
                  bool first = true;
                  for (uint32_t q = 0; q < pl; ++q) {
                    if (Canonical(space.placement[q], j.plan, dp) ==
                        Canonical(j.plan.placement, j.plan, dp)) {
                      first = false;
                      break;
                    }
                  }
                  if (!first) {
                    local.Prune("plan.placement (equivalent order)", 1);
                    continue;
                  }
                }
                Scored scored = scorer.ScorePlan(*p, local, top, cand);
                if (scored.outcome == Scored::kStep) ++evaluations;
                out_of_memory = scored.outcome == Scored::kOutOfMemory;
              }
            }
          }
        }
        (void)job;
        if (t == 0 && options.progress) {
          options.progress(static_cast<double>(std::min(next.load(), outer.size())) /
                           static_cast<double>(std::max<size_t>(1, outer.size())));
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (std::thread& th : pool) th.join();

    SearchResult result;
    TopK merged(static_cast<size_t>(options.top_k));
    for (size_t t = 0; t < tops.size(); ++t) {
      merged.Merge(tops[t]);
      counters.Merge(thread_counters[t]);
    }
    Finish(result, counters, merged, start);
    result.threads = threads;
    result.stop_reason = out_of_time    ? "time budget"
                         : out_of_evals ? "evaluation budget"
                                        : "space exhausted";
    return result;
  }
};

// softmax(logits), shifted by the largest logit so that exp cannot overflow.
std::vector<double> Softmax(const std::vector<double>& logits) {
  std::vector<double> p(logits.size());
  double top_logit = *std::max_element(logits.begin(), logits.end()), sum = 0;
  for (size_t v = 0; v < logits.size(); ++v) sum += p[v] = std::exp(logits[v] - top_logit);
  for (double& x : p) x /= sum;
  return p;
}

// The draws a sampling optimizer (random, evolution, reinforce) makes: the budget, or 2000.
uint64_t Budget(const SearchOptions& options) {
  return options.max_evaluations > 0 ? options.max_evaluations : 2000;
}

// Ends a sampling search that can find nothing new, whatever its budget: once every candidate of
// the space has been drawn ("space exhausted"), or after kStallDraws draws in a row that repeated
// earlier ones ("no new candidates": a converged population or policy). Neither happens within
// the default 2000 draws unless the space is that small.
class NewnessGuard {
 public:
  static constexpr uint64_t kStallDraws = 100000;

  explicit NewnessGuard(const SearchSpace& space) {
    for (int d = 0; d < kDimensions; ++d) size_ *= static_cast<double>(space.Count(d));
  }
  // After a draw: whether it was new, and the distinct candidates drawn so far. Returns the stop
  // reason, or nullptr to go on.
  const char* After(bool is_new, size_t distinct) {
    repeats_ = is_new ? 0 : repeats_ + 1;
    if (static_cast<double>(distinct) >= size_) return "space exhausted";
    if (repeats_ >= kStallDraws) return "no new candidates";
    return nullptr;
  }

 private:
  double size_ = 1;
  uint64_t repeats_ = 0;
};

Candidate RandomCandidate(const SearchSpace& space, std::mt19937_64& rng) {
  Candidate c{};
  for (int d = 0; d < kDimensions; ++d) {
    c[static_cast<size_t>(d)] = static_cast<uint32_t>(rng() % space.Count(d));
  }
  return c;
}

class RandomSampling : public Optimizer {
 public:
  std::string_view name() const override { return "random"; }
  std::string_view description() const override { return "uniform samples of the space"; }
  bool splits() const override { return true; }

  SearchResult Run(const spec::JobSpec& base, const SearchSpace& space,
                   const hardware::DeviceModel& device, const SearchOptions& options) override {
    uint64_t budget = Budget(options);
    if (static_cast<double>(budget) >= space.Size()) {
      // A sample as large as the space is the space, which the exhaustive walk prices without
      // drawing each candidate many times over (about ln N draws each to see all N).
      SearchOptions all = options;
      all.max_evaluations = 0;
      SearchResult result = Exhaustive().Run(base, space, device, all);
      if (result.stop_reason == "space exhausted") {
        result.stop_reason = fmt::format(
            "space exhausted (a budget of {} draws covers its {:.0f} candidates: walked in full)",
            budget, space.Size());
      }
      return result;
    }
    Clock::time_point start = Clock::now();
    std::mt19937_64 rng(options.seed);
    Scorer scorer(base, space, device, options);
    Counters counters;
    TopK top(static_cast<size_t>(options.top_k));
    SearchResult result;
    result.stop_reason = "evaluation budget";
    std::set<Candidate> seen;
    NewnessGuard guard(space);
    for (uint64_t i = 0; i < budget; ++i) {
      if (options.max_seconds > 0 && Seconds(start) > options.max_seconds) {
        result.stop_reason = "time budget";
        break;
      }
      Candidate c = RandomCandidate(space, rng);
      const bool is_new = seen.insert(c).second;
      // Split across processes: every process draws the same sequence and scores every N-th
      // distinct draw.
      if (is_new && IsMine(options.processes, seen.size() - 1)) scorer.Score(c, counters, top);
      if (const char* stop = guard.After(is_new, seen.size())) {
        result.stop_reason = stop;
        break;
      }
    }
    Finish(result, counters, top, start);
    return result;
  }
};

class Evolution : public Optimizer {
 public:
  static constexpr size_t kPopulation = 32;
  static constexpr size_t kTournament = 8;

  std::string_view name() const override { return "evolution"; }
  std::string_view description() const override {
    return "regularized evolution (Real et al. 2019): population 32, tournament 8, one mutation";
  }

  SearchResult Run(const spec::JobSpec& base, const SearchSpace& space,
                   const hardware::DeviceModel& device, const SearchOptions& options) override {
    Clock::time_point start = Clock::now();
    std::mt19937_64 rng(options.seed);
    Scorer scorer(base, space, device, options);
    Counters counters;
    TopK top(static_cast<size_t>(options.top_k));
    uint64_t budget = Budget(options);
    struct Member {
      Candidate candidate;
      double step_time_s;
    };
    std::vector<Member> population;      // oldest first
    std::map<Candidate, double> scored;  // every candidate tried; infinity when pruned
    uint64_t tries = 0;
    NewnessGuard guard(space);
    SearchResult result;
    result.stop_reason = "evaluation budget";
    bool stopped = false;  // on the clock or the guard (its reason in result.stop_reason)
    auto evaluate = [&](const Candidate& c) -> double {
      auto it = scored.find(c);
      if (it != scored.end()) return it->second;
      ++tries;
      double t = scorer.Score(c, counters, top).value_or(std::numeric_limits<double>::infinity());
      scored[c] = t;
      return t;
    };
    // Seed the population with valid random candidates (a repeated draw counts as a try too, so
    // that a space with few valid candidates ends at the budget instead of spinning).
    // A population still empty at the end stopped on the budget or the clock, which the stop
    // reason says (the report then asks for more of it, not for a wider space).
    while (population.size() < kPopulation && tries < budget) {
      if (options.max_seconds > 0 && Seconds(start) > options.max_seconds) {
        result.stop_reason = "time budget";
        stopped = true;
        break;
      }
      Candidate c = RandomCandidate(space, rng);
      const bool is_new = scored.count(c) == 0;
      if (!is_new) {
        ++tries;
      } else if (double t = evaluate(c); std::isfinite(t)) {
        population.push_back({c, t});
      }
      if (const char* stop = guard.After(is_new, scored.size())) {
        result.stop_reason = stop;
        stopped = true;
        break;
      }
    }
    while (tries < budget && !population.empty() && !stopped) {
      if (options.max_seconds > 0 && Seconds(start) > options.max_seconds) {
        result.stop_reason = "time budget";
        stopped = true;
        break;
      }
      const Member* parent = nullptr;
      for (size_t i = 0; i < kTournament; ++i) {
        const Member& m = population[rng() % population.size()];
        if (parent == nullptr || m.step_time_s < parent->step_time_s) parent = &m;
      }
      Candidate child = parent->candidate;
      // Mutate one dimension that has a choice.
      for (int attempt = 0; attempt < 32; ++attempt) {
        int d = static_cast<int>(rng() % kDimensions);
        size_t n = space.Count(d);
        if (n < 2) continue;
        uint32_t v = static_cast<uint32_t>(rng() % (n - 1));
        if (v >= child[static_cast<size_t>(d)]) ++v;
        child[static_cast<size_t>(d)] = v;
        break;
      }
      const bool is_new = scored.count(child) == 0;
      if (!is_new) {
        // Already known: count it as a step of the search, not as an evaluation.
        ++tries;
      } else if (double t = evaluate(child); std::isfinite(t)) {
        population.push_back({child, t});
        population.erase(population.begin());  // the oldest dies
      }
      if (const char* stop = guard.After(is_new, scored.size())) {
        result.stop_reason = stop;
        stopped = true;
        break;
      }
    }
    Finish(result, counters, top, start);
    return result;
  }
};

// REINFORCE (Williams 1992) over the space, as CubicML searches its co-design knobs
// (arXiv:2409.04585 §3.3): a factorised categorical policy, one softmax per dimension over its
// values (logits theta, all 0 at the start: uniform). Each round samples kBatch candidates; the
// reward of a valid plan is -ln(step / first valid step), of an invalid one (rejected or out of
// memory) the worst reward seen minus kPenalty. Each logit moves by
//   lr * [ mean over the batch of (R - b) * (1[v = a] - p_v)  +  beta * dH/dtheta_v ],
// with b a moving baseline (b <- 0.8 b + 0.2 mean R, starting at the first batch's mean) and
// dH/dtheta_v = -p_v (ln p_v + H) the entropy bonus's gradient (it keeps the policy exploring).
// A candidate already scored is not evaluated again but counts against the budget, so a policy
// that has converged ends the search.
class Reinforce : public Optimizer {
 public:
  static constexpr int kBatch = 16;
  static constexpr double kLearningRate = 0.5;
  static constexpr double kEntropyBonus = 0.01;
  static constexpr double kPenalty = 1.0;

  std::string_view name() const override { return "reinforce"; }
  std::string_view description() const override {
    return "REINFORCE with a factorised categorical policy (CubicML): batch 16, moving baseline, "
           "entropy bonus";
  }

  SearchResult Run(const spec::JobSpec& base, const SearchSpace& space,
                   const hardware::DeviceModel& device, const SearchOptions& options) override {
    Clock::time_point start = Clock::now();
    std::mt19937_64 rng(options.seed);
    Scorer scorer(base, space, device, options);
    Counters counters;
    TopK top(static_cast<size_t>(options.top_k));
    uint64_t budget = Budget(options);
    std::vector<std::vector<double>> theta(kDimensions);
    for (int d = 0; d < kDimensions; ++d) theta[static_cast<size_t>(d)].assign(space.Count(d), 0);
    std::map<Candidate, double> scored;  // step time; infinity when invalid
    double reference = 0, worst = 0, baseline = 0;
    bool have_baseline = false;
    uint64_t tries = 0;
    NewnessGuard guard(space);
    SearchResult result;
    result.stop_reason = "evaluation budget";
    bool stopped = false;  // by the guard (its reason in result.stop_reason)
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    auto probabilities = [&](int d) { return Softmax(theta[static_cast<size_t>(d)]); };
    while (tries < budget) {
      if (options.max_seconds > 0 && Seconds(start) > options.max_seconds) {
        result.stop_reason = "time budget";
        break;
      }
      std::vector<Candidate> batch;
      std::vector<double> steps;
      for (int k = 0; k < kBatch && tries < budget; ++k) {
        Candidate c{};
        for (int d = 0; d < kDimensions; ++d) {
          std::vector<double> p = probabilities(d);
          double u = uniform(rng), acc = 0;
          size_t v = 0;
          while (v + 1 < p.size() && (acc += p[v]) < u) ++v;
          c[static_cast<size_t>(d)] = static_cast<uint32_t>(v);
        }
        ++tries;
        auto it = scored.find(c);
        const bool is_new = it == scored.end();
        if (is_new) {
          double t =
              scorer.Score(c, counters, top).value_or(std::numeric_limits<double>::infinity());
          it = scored.emplace(c, t).first;
        }
        batch.push_back(c);
        steps.push_back(it->second);
        if (const char* stop = guard.After(is_new, scored.size())) {
          result.stop_reason = stop;
          stopped = true;
          break;
        }
      }
      if (stopped) break;
      // Rewards: -ln(step / reference) for valid plans, the worst so far minus a penalty else.
      std::vector<double> rewards(batch.size());
      for (size_t k = 0; k < batch.size(); ++k) {
        if (!std::isfinite(steps[k])) continue;
        if (reference == 0) reference = steps[k];
        rewards[k] = -std::log(steps[k] / reference);
        worst = std::min(worst, rewards[k]);
      }
      double mean = 0;
      for (size_t k = 0; k < batch.size(); ++k) {
        if (!std::isfinite(steps[k])) rewards[k] = worst - kPenalty;
        mean += rewards[k];
      }
      mean /= static_cast<double>(batch.size());
      baseline = have_baseline ? 0.8 * baseline + 0.2 * mean : mean;
      have_baseline = true;
      for (int d = 0; d < kDimensions; ++d) {
        if (theta[static_cast<size_t>(d)].size() < 2) continue;
        std::vector<uint32_t> chosen;
        for (const Candidate& c : batch) chosen.push_back(c[static_cast<size_t>(d)]);
        std::vector<double> g =
            PolicyGradient(theta[static_cast<size_t>(d)], chosen, rewards, baseline, kEntropyBonus);
        for (size_t v = 0; v < g.size(); ++v)
          theta[static_cast<size_t>(d)][v] += kLearningRate * g[v];
      }
    }
    Finish(result, counters, top, start);
    return result;
  }
};

// A process's share of a split search, as bytes: its counters, its time and stop reason, and the
// candidates of its top K (each process re-scores the others' candidates, so the evaluations
// themselves need not travel).
std::string EncodeShare(const SearchResult& r) {
  WireWriter w;
  w.U64(r.evaluated);
  w.U64(r.pruned);
  w.U64(r.pruned_by.size());
  for (const auto& [reason, n] : r.pruned_by) {
    w.Text(reason);
    w.U64(n);
    auto why = r.pruned_why.find(reason);
    w.Text(why == r.pruned_why.end() ? std::string() : why->second);
  }
  w.F64(r.elapsed_s);
  w.Text(r.stop_reason);
  w.U64(r.top.size());
  for (const Evaluation& e : r.top) {
    for (uint32_t v : e.candidate) w.U64(v);
  }
  return w.Take();
}

// Every process's share merged into `result` (which holds this process's): the counters summed,
// the top K of all the shares' candidates (re-scored here, exactly as where they were scored).
Status MergeShares(const spec::JobSpec& base, const SearchSpace& space,
                   const hardware::DeviceModel& device, const SearchOptions& options,
                   SearchResult& result) {
  const Processes& processes = *options.processes;
  // The tag names the search and fingerprints what it ran on (the job, the space's values through
  // the plans of its first and last candidates and its sizes, the options, the engine), so ranks
  // given different inputs stop with an error instead of merging shares of different searches.
  // A predictor or truth file that differs between nodes with the same engine name is not seen.
  std::string inputs = spec::ModelSchema().ToJson(base.model).dump() +
                       spec::ClusterSchema().ToJson(base.cluster).dump() +
                       spec::WorkloadSchema().ToJson(base.workload).dump() +
                       spec::FrameworkSchema().ToJson(base.framework).dump() +
                       std::to_string(base.gpus) + SearchOptionsSchema().ToJson(options).dump() +
                       (options.engine != nullptr ? std::string(options.engine->name()) : "");
  Candidate first{}, last{};
  for (int d = 0; d < kDimensions; ++d) {
    last[static_cast<size_t>(d)] = static_cast<uint32_t>(space.Count(d) - 1);
    inputs += fmt::format(" {}", space.Count(d));
  }
  inputs += spec::PlanSchema().ToJson(Decode(base, space, first).plan).dump() +
            spec::PlanSchema().ToJson(Decode(base, space, last).plan).dump();
  const std::string tag =
      fmt::format("search {} over {} candidates, top {} ({:016x})", options.optimizer, space.Size(),
                  options.top_k, Fingerprint(inputs));
  SP_ASSIGN_OR_RETURN(std::vector<std::string> shares,
                      processes.AllGather(tag, EncodeShare(result)));
  Clock::time_point start = Clock::now();
  Counters total;
  TopK top(static_cast<size_t>(options.top_k));
  Scorer scorer(base, space, device, options);
  result.shares.clear();
  result.elapsed_s = 0;
  std::set<std::string> reasons;
  for (size_t r = 0; r < shares.size(); ++r) {
    WireReader in(shares[r], fmt::format("search share of rank {}", r));
    ProcessShare share;
    share.rank = static_cast<int>(r);
    SP_ASSIGN_OR_RETURN(share.evaluated, in.U64());
    SP_ASSIGN_OR_RETURN(share.pruned, in.U64());
    SP_ASSIGN_OR_RETURN(uint64_t reasons_n, in.U64());
    Counters counters;
    counters.evaluated = share.evaluated;
    counters.pruned = share.pruned;
    for (uint64_t i = 0; i < reasons_n; ++i) {
      SP_ASSIGN_OR_RETURN(std::string reason, in.Text());
      SP_ASSIGN_OR_RETURN(counters.pruned_by[reason], in.U64());
      SP_ASSIGN_OR_RETURN(std::string why, in.Text());
      if (!why.empty()) counters.Why(reason, why);
    }
    SP_ASSIGN_OR_RETURN(share.elapsed_s, in.F64());
    SP_ASSIGN_OR_RETURN(share.stop_reason, in.Text());
    SP_ASSIGN_OR_RETURN(uint64_t top_n, in.U64());
    if (top_n > static_cast<uint64_t>(options.top_k)) {
      return Status::Parse(fmt::format(
          "search share of rank {}: {} plans (allowed: at most top {})", r, top_n, options.top_k));
    }
    for (uint64_t i = 0; i < top_n; ++i) {
      Candidate c{};
      for (int d = 0; d < kDimensions; ++d) {
        SP_ASSIGN_OR_RETURN(uint64_t v, in.U64());
        if (v >= space.Count(d)) {
          return Status::Parse(
              fmt::format("search share of rank {}: plan.{} value {} of {} "
                          "(allowed: a share of the same search)",
                          r, DimensionName(d), v, space.Count(d)));
        }
        c[static_cast<size_t>(d)] = static_cast<uint32_t>(v);
      }
      Counters scratch;
      scorer.Score(c, scratch, top);
    }
    SP_RETURN_IF_ERROR(in.Done());
    total.Merge(counters);
    reasons.insert(share.stop_reason);
    result.elapsed_s = std::max(result.elapsed_s, share.elapsed_s);
    result.shares.push_back(std::move(share));
  }
  result.top = top.Take();
  result.evaluated = total.evaluated;
  result.pruned = total.pruned;
  result.pruned_by = total.pruned_by;
  result.pruned_why = total.pruned_why;
  // A budget that stopped any process stopped the search short of the space.
  for (const char* reason : {"time budget", "evaluation budget"}) {
    if (reasons.count(reason) > 0) result.stop_reason = reason;
  }
  if (reasons.size() == 1) result.stop_reason = *reasons.begin();
  result.elapsed_s += Seconds(start);
  result.transport = std::string(processes.transport());
  return Status::Ok();
}

}  // namespace

std::vector<double> PolicyGradient(const std::vector<double>& logits,
                                   const std::vector<uint32_t>& chosen,
                                   const std::vector<double>& rewards, double baseline,
                                   double entropy_bonus) {
  std::vector<double> p = Softmax(logits);
  double entropy = 0;
  for (double x : p) entropy -= x > 0 ? x * std::log(x) : 0;
  std::vector<double> grad(p.size(), 0.0);
  for (size_t k = 0; k < chosen.size(); ++k) {
    double advantage = (rewards[k] - baseline) / static_cast<double>(chosen.size());
    for (size_t v = 0; v < p.size(); ++v) {
      grad[v] += advantage * ((chosen[k] == v ? 1.0 : 0.0) - p[v]);
    }
  }
  for (size_t v = 0; v < p.size(); ++v) {
    grad[v] += entropy_bonus * (p[v] > 0 ? -p[v] * (std::log(p[v]) + entropy) : 0);
  }
  return grad;
}

std::vector<double> RewardBaseline::Advantages(const std::vector<double>& rewards) {
  std::vector<double> finite;
  for (double r : rewards) {
    if (std::isfinite(r)) finite.push_back(r);
  }
  if (finite.empty()) return std::vector<double>(rewards.size(), -kMaxAdvantage);
  const auto n = static_cast<double>(finite.size());
  double mean = 0;
  for (double r : finite) mean += r / n;
  if (!started_) {
    mean_ = mean;
    variance_ = 0;
    for (double r : finite) variance_ += (r - mean) * (r - mean) / n;
    started_ = true;
  }
  const double sd = std::sqrt(variance_);
  std::vector<double> advantages;
  for (double r : rewards) {
    const double a = !std::isfinite(r) ? -kMaxAdvantage : sd > 0 ? (r - mean_) / sd : 0;
    advantages.push_back(std::clamp(a, -kMaxAdvantage, kMaxAdvantage));
  }
  double deviation = 0;
  for (double r : finite) deviation += (r - mean_) * (r - mean_) / n;
  variance_ = decay_ * variance_ + (1 - decay_) * deviation;
  mean_ = decay_ * mean_ + (1 - decay_) * mean;
  return advantages;
}

const std::vector<OptimizerInfo>& Optimizers() {
  static const std::vector<OptimizerInfo> optimizers = [] {
    std::vector<OptimizerInfo> all;
    for (std::unique_ptr<Optimizer> (*make)() :
         {+[]() -> std::unique_ptr<Optimizer> { return std::make_unique<Exhaustive>(); },
          +[]() -> std::unique_ptr<Optimizer> { return std::make_unique<RandomSampling>(); },
          +[]() -> std::unique_ptr<Optimizer> { return std::make_unique<Evolution>(); },
          +[]() -> std::unique_ptr<Optimizer> { return std::make_unique<Reinforce>(); }}) {
      std::unique_ptr<Optimizer> probe = make();
      all.push_back({std::string(probe->name()), std::string(probe->description()), make});
    }
    return all;
  }();
  return optimizers;
}

std::vector<std::string> OptimizerNames() {
  std::vector<std::string> names;
  for (const OptimizerInfo& o : Optimizers()) names.push_back(o.name);
  return names;
}

Result<std::unique_ptr<Optimizer>> MakeOptimizer(std::string_view name) {
  for (const OptimizerInfo& o : Optimizers()) {
    if (o.name == name) return o.make();
  }
  return Status::Invalid(fmt::format("search.optimizer = {} is not a known optimizer (allowed: {})",
                                     Printable(name, 40), Join(OptimizerNames(), ", ")))
      .WithKey("search.optimizer");
}

const spec::Schema<SearchOptions>& SearchOptionsSchema() {
  static const spec::Schema<SearchOptions> schema = [] {
    spec::Schema<SearchOptions> s("search");
    s.OneOf("optimizer", &SearchOptions::optimizer, OptimizerNames(), "the optimizer");
    s.Unsigned("seed", &SearchOptions::seed, "seed for random, evolution and reinforce");
    s.Unsigned("max_evaluations", &SearchOptions::max_evaluations,
               "most evaluations (0: all for exhaustive, 2000 otherwise; exhaustive checks it "
               "between layouts, so it may finish the layout it is in)",
               "budget");
    s.Number("max_seconds", &SearchOptions::max_seconds, 0, 1e9, "s", "most seconds (0: none)",
             "time-limit");
    s.Integer("threads", &SearchOptions::threads, 1, 256, "",
              "threads for exhaustive search (the answer does not depend on it)");
    s.Integer("top_k", &SearchOptions::top_k, 1, 100000, "", "plans to report", "top");
    s.Boolean("fit_recompute", &SearchOptions::fit_recompute,
              "score a candidate that does not fit with the fastest recomputation under which it "
              "fits (Megatron-Core's modules or the first n layers of each chunk) instead of "
              "pruning it");
    return s;
  }();
  return schema;
}

Status CheckOptionsGiven(const SearchOptions& options,
                         const std::function<bool(const std::string&)>& given,
                         const std::function<std::string(const std::string&)>& name) {
  const bool exhaustive = options.optimizer == "exhaustive";
  const char* unread = exhaustive ? "seed" : "threads";
  if (!given(unread)) return Status::Ok();
  return Status::Invalid(fmt::format("{} is not read by optimizer {} (allowed: {})", name(unread),
                                     options.optimizer,
                                     exhaustive ? "a seed with random, evolution or reinforce"
                                                : "threads with exhaustive"))
      .WithKey(std::string("search.") + unread);
}

Result<SearchResult> Search(const spec::JobSpec& base, const SearchSpace& space,
                            const SearchOptions& options) {
  for (int d = 0; d < kDimensions; ++d) {
    if (space.Count(d) == 0) {
      return Status::Invalid(fmt::format(
          "the search space has no value for plan.{} (allowed: at least one)", DimensionName(d)));
    }
  }
  if (!std::isfinite(options.max_seconds)) {
    return Status::Invalid(
        fmt::format("search.max_seconds = {} (allowed: a finite number)", options.max_seconds));
  }
  SP_RETURN_IF_ERROR(SearchOptionsSchema().CheckValues(options));
  // What no plan can change is checked once, before the search.
  SP_RETURN_IF_ERROR(spec::ValidateModel(base.model));
  SP_RETURN_IF_ERROR(spec::ValidateCluster(base.cluster));
  SP_RETURN_IF_ERROR(spec::ValidateWorkload(base.workload));
  SP_RETURN_IF_ERROR(spec::ValidateSequence(base.model, base.workload));
  SP_RETURN_IF_ERROR(plan::CheckPrecision(base));
  SP_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer, MakeOptimizer(options.optimizer));
  SP_ASSIGN_OR_RETURN(hardware::DeviceModel device, hardware::DeviceModel::For(base));
  const int processes = ProcessCount(options.processes);
  if (processes > 1 && !optimizer->splits()) {
    std::vector<std::string> splitting;
    for (const OptimizerInfo& o : Optimizers()) {
      if (o.make()->splits()) splitting.push_back(o.name);
    }
    return Status::Invalid(
               fmt::format("search.optimizer = {} runs in one process, not split across {} "
                           "(allowed under mpirun: {}; or run it without mpirun)",
                           optimizer->name(), processes, Join(splitting, ", ")))
        .WithKey("search.optimizer");
  }
  SearchResult result = optimizer->Run(base, space, device, options);
  if (processes > 1) SP_RETURN_IF_ERROR(MergeShares(base, space, device, options, result));
  result.optimizer = std::string(optimizer->name());
  result.engine = options.engine != nullptr ? std::string(options.engine->name()) : "analytical";
  if (options.rerank_with_events && options.engine == nullptr) {
    SP_ASSIGN_OR_RETURN(const sim::Engine* reranker, sim::FindEngine("event", ""));
    for (Evaluation& e : result.top) {
      spec::JobSpec job = base;
      job.plan = e.plan;
      job.plan.dp = 0;
      job.plan.microbatches = 0;
      Result<plan::Plan> p = plan::BuildPlan(job);
      if (!p.ok()) continue;
      Result<sim::StepResult> event = reranker->Step(*p);
      if (event.ok()) e.event_step_time_s = event->step_time_s;
    }
    std::stable_sort(
        result.top.begin(), result.top.end(), [](const Evaluation& a, const Evaluation& b) {
          double ta = a.event_step_time_s > 0 ? a.event_step_time_s : a.step.step_time_s;
          double tb = b.event_step_time_s > 0 ? b.event_step_time_s : b.step.step_time_s;
          return ta < tb;
        });
    result.stop_reason +=
        "; top " + std::to_string(result.top.size()) + " re-ranked by the event engine";
  }
  result.space_size = space.Size();
  return result;
}

Status CheckSomePlanValid(const SearchResult& result, const PinnedSearch* pinned) {
  if (!result.top.empty() || result.evaluated > 0 ||
      result.stop_reason.rfind("space exhausted", 0) != 0) {
    return Status::Ok();
  }
  // A rule with a refusal message is a rule of the plan; the others (memory, plans equivalent to
  // one kept) say nothing of validity. A single memory refusal means a valid plan exists.
  std::string top;
  uint64_t top_count = 0;
  std::vector<std::string> others;
  for (const auto& [reason, count] : result.pruned_by) {
    if (result.pruned_why.count(reason) == 0) {
      if (reason == "does not fit in memory") return Status::Ok();
      continue;
    }
    if (count > top_count) {
      if (!top.empty()) others.push_back(top);
      top = reason;
      top_count = count;
    } else {
      others.push_back(reason);
    }
  }
  if (top.empty()) return Status::Ok();
  std::sort(others.begin(), others.end());
  // The user's own plan at the pinned values: its refusal names what the pins contradict, where
  // the most frequent rule may be about values the user never chose. Only a plan of the space:
  // an unpinned value of the job file the search never tried says nothing of the candidates.
  bool in_space = pinned != nullptr;
  ForEachDimension([&](int, const char*, auto member, auto field) {
    if (!in_space) return;
    const auto& values = pinned->space.*member;
    in_space = std::find(values.begin(), values.end(), pinned->start.plan.*field) != values.end();
  });
  if (in_space) {
    if (Result<plan::Plan> own = plan::BuildPlan(pinned->start); !own.ok()) {
      return Status::Invalid(fmt::format("no candidate is a valid plan for this job; the job's "
                                         "plan at the pinned values: {}",
                                         own.status().message()))
          .WithKey(own.status().key());
    }
  }
  return Status::Invalid(fmt::format("no candidate is a valid plan for this job: {}; {} of the "
                                     "{:.0f} candidates broke {}{}",
                                     result.pruned_why.at(top), top_count, result.space_size, top,
                                     others.empty() ? std::string()
                                                    : fmt::format(", the rest {}",
                                                                  Join(others, ", "))))
      .WithKey(top);
}

std::optional<StartingPoint> EvaluateStart(const spec::JobSpec& start, const sim::Engine* engine) {
  Result<plan::Plan> p = plan::BuildPlan(start);
  if (!p.ok()) return std::nullopt;
  Result<sim::StepResult> step = sim::Evaluate(*p);
  if (!step.ok()) return std::nullopt;
  plan::MemoryReport memory = plan::ComputeMemory(*p);
  if (engine != nullptr) {
    step = engine->StepGiven(*p, *step, memory);
    if (!step.ok()) return std::nullopt;
  }
  return StartingPoint{Describe(p->spec(), p->dp), *step, memory.fits, memory.peak_bytes};
}

}  // namespace scaleplan::search
