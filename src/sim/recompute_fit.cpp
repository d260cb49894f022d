#include "sim/recompute_fit.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "plan/memory.h"
#include "plan/recompute.h"

namespace scaleplan::sim {

namespace {

// `job` with `plan`: its peak memory and step time; nullopt where it does not build.
struct Measured {
  double peak_bytes = 0, step_s = 0;
};

class Fitter {
 public:
  Fitter(const spec::JobSpec& job, Evaluator& evaluator, plan::Checks checks, bool tight_fits)
      : job_(job), evaluator_(evaluator), checks_(checks), tight_fits_(tight_fits) {}

  std::optional<Measured> Measure(const spec::PlanSpec& plan) {
    spec::JobSpec job = job_;
    job.plan = plan;
    Result<plan::Plan> p = plan::BuildPlan(job, checks_);
    if (!p.ok()) return std::nullopt;
    const plan::MemoryReport memory = evaluator_.Memory(*p);
    return Measured{memory.peak_bytes, evaluator_.EvaluateReused(*p).step_time_s};
  }

  bool Fits(const plan::MemoryReport& memory) const {
    return tight_fits_ ? memory.within_capacity : memory.fits;
  }

  bool Fits(const spec::PlanSpec& plan) {
    spec::JobSpec job = job_;
    job.plan = plan;
    Result<plan::Plan> p = plan::BuildPlan(job, checks_);
    return p.ok() && Fits(evaluator_.Memory(*p));
  }

  std::optional<spec::PlanSpec> Modules(spec::PlanSpec plan) {
    if (job_.framework.selective_recompute == spec::SelectiveRecompute::kPerOp) {
      // A framework that checkpoints per op has one selective policy, its own.
      plan.recompute = spec::Recompute::kSelective;
      plan.recompute_modules = spec::PlanSpec{}.recompute_modules;
      plan.recompute_layers = 0;
      return Fits(plan) ? std::optional(plan) : std::nullopt;
    }
    // Every module the model has: the least memory of any set (recompute_fit.h).
    spec::PlanSpec every = plan;
    every.recompute = spec::Recompute::kSelective;
    every.recompute_layers = 0;
    every.recompute_modules = 0;
    for (int i = 0; i < spec::kRecomputeModules; ++i) {
      if (plan::RecomputeModuleNeeds(job_.model, 1u << i).empty())
        every.recompute_modules |= 1u << i;
    }
    if (!Fits(every)) return std::nullopt;
    std::optional<Measured> base = Measure(plan);
    if (!base) return std::nullopt;
    std::vector<std::pair<double, uint32_t>> order;  // seconds per byte freed, module
    for (int i = 0; i < spec::kRecomputeModules; ++i) {
      const uint32_t module = 1u << i;
      if (!plan::RecomputeModuleNeeds(job_.model, module).empty()) continue;
      spec::PlanSpec alone = plan;
      alone.recompute = spec::Recompute::kSelective;
      alone.recompute_modules = module;
      alone.recompute_layers = 0;
      std::optional<Measured> with = Measure(alone);
      if (!with || with->peak_bytes >= base->peak_bytes) continue;  // frees nothing here
      order.emplace_back(std::max(0.0, with->step_s - base->step_s) /
                             (base->peak_bytes - with->peak_bytes),
                         module);
    }
    std::sort(order.begin(), order.end());
    plan.recompute = spec::Recompute::kSelective;
    plan.recompute_modules = 0;
    plan.recompute_layers = 0;
    for (const auto& [cost, module] : order) {
      plan.recompute_modules |= module;
      if (Fits(plan)) return plan;
    }
    return std::nullopt;
  }

  std::optional<spec::PlanSpec> Blocks(spec::PlanSpec plan) {
    plan.recompute = spec::Recompute::kFull;
    plan.recompute_layers = 0;
    spec::JobSpec all = job_;
    all.plan = plan;
    Result<plan::Plan> built = plan::BuildPlan(all, checks_);
    if (!built.ok() || !Fits(evaluator_.Memory(*built))) return std::nullopt;
    int64_t most = 0;  // the longest chunk: recompute_layers beyond it recompute everything
    for (const plan::Stage& s : built->stages)
      for (const plan::Chunk& ch : s.chunks) most = std::max(most, ch.layers);
    // Memory falls as n grows: the least n in [1, most) that fits, or all of them.
    int64_t lo = 1, hi = most;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      spec::PlanSpec trial = plan;
      trial.recompute_layers = mid;
      if (Fits(trial)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    if (lo < most) plan.recompute_layers = lo;
    return plan;
  }

 private:
  const spec::JobSpec& job_;
  Evaluator& evaluator_;
  plan::Checks checks_;
  bool tight_fits_;
};

}  // namespace

std::optional<spec::PlanSpec> FastestRecomputeThatFits(const spec::JobSpec& job,
                                                       const spec::PlanSpec& plan,
                                                       Evaluator& evaluator, plan::Checks checks,
                                                       RecomputeChoices choices) {
  Fitter fitter(job, evaluator, checks, choices.tight_fits);
  if (fitter.Fits(plan)) return plan;
  std::optional<spec::PlanSpec> best;
  double best_s = INFINITY;
  for (std::optional<spec::PlanSpec> candidate :
       {choices.modules ? fitter.Modules(plan) : std::nullopt,
        choices.blocks ? fitter.Blocks(plan) : std::nullopt}) {
    if (!candidate) continue;
    std::optional<Measured> measured = fitter.Measure(*candidate);
    if (measured && measured->step_s < best_s) {
      best_s = measured->step_s;
      best = candidate;
    }
  }
  return best;
}

}  // namespace scaleplan::sim
