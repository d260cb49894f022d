// Plan search: the best plans for a model, cluster and batch.
//
// Optimizers (a named registry, `scaleplan search --optimizer NAME`; OptimizerNames lists them):
//   exhaustive  every candidate of the space; sub-spaces that cannot be valid are skipped in bulk
//               (the plan rules are plan::BuildPlan's, applied to the dimensions that decide
//               validity), equivalent placements are evaluated once, plans that do not fit in
//               memory are pruned before their step time is computed. Multi-threaded.
//   random      uniform samples of the space, a fixed number of evaluations.
//   evolution   regularized evolution (Real et al. 2019, arXiv 1802.01548): a population aged
//               first-in first-out, tournament selection, one-dimension mutations.
//   reinforce   REINFORCE with a factorised categorical policy over the dimensions, a moving
//               baseline and an entropy bonus (CubicML, arXiv:2409.04585), rewarded by the
//               negative log step time; invalid plans are penalised.
// Every optimizer is deterministic for a seed and reports how many candidates it evaluated and
// pruned (by reason), how long it took and why it stopped. The ranking is by predicted step time
// (the analytical model, sim/analytical.h, or the engine SearchOptions names, e.g. a learned
// predictor); the analytical ranking's top K are then re-ranked by the event engine's step time
// (sim/event.h), which runs the generated schedule pass by pass.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/processes.h"
#include "core/status.h"
#include "search/space.h"
#include "sim/analytical.h"
#include "sim/engine.h"

namespace scaleplan::search {

struct Evaluation {
  spec::PlanSpec plan;  // dp and micro-batch count resolved
  sim::StepResult step;
  double peak_bytes_per_gpu = 0;
  std::string description;       // Describe(plan): also the deterministic tie-break
  double event_step_time_s = 0;  // the event engine's step time (0 when not re-ranked)
  Candidate candidate{};         // its values' indices in the space (Decode's input; with
                                 // fit_recompute, the candidate whose plan was filled)
};

struct SearchOptions {
  // Changes the answer:
  std::string optimizer = "exhaustive";
  uint64_t seed = 1;
  uint64_t max_evaluations = 0;  // 0: exhaustive has no limit; the others use 2000
  // Expert TP is derived: a MoE candidate split over TP is also scored with whole experts
  // (etp = 1), and both plans may enter the top K. Off: every candidate as decoded (etp = tp),
  // the space that random draws and mutations reach (the testbed's methods share it).
  bool derive_expert_tp = true;
  // A candidate that does not fit in memory as decoded is scored with the fastest recomputation
  // under which it fits (sim::FastestRecomputeThatFits: Megatron-Core's recompute modules, or
  // full recomputation of the first n layers of each chunk), instead of being pruned. The step
  // model chooses it (the analytical engine, whatever engine ranks). It keeps to the space:
  // modules only where selective recomputation is one of its values and no module list is
  // pinned, whole layers only where full recomputation is and no layer count is pinned (with
  // neither, nothing is filled). Several candidates of one layout may fill to the same plan; it
  // is kept once.
  bool fit_recompute = false;
  // Changes only the speed (and, when a limit is hit, how much of the space was seen):
  double max_seconds = 0;  // 0: no time limit
  int64_t threads = 2;     // exhaustive only; results do not depend on it
  int64_t top_k = 10;
  // What ranks the candidates: nullptr is the analytical engine through the search's cached
  // evaluator (the fast path). Another engine (a learned predictor, a testbed's truth) is asked
  // for each candidate that fits in memory, given the analytical step (Engine::StepGiven); an
  // error from it prunes the candidate under its key. It must be safe to call from `threads`
  // threads at once.
  const sim::Engine* engine = nullptr;
  // Re-rank the top K with the event engine (sim/event.h), which runs the real schedule (only
  // when the analytical engine ranks: the event engine would undo another engine's ranking).
  bool rerank_with_events = true;
  // Called now and then with the fraction done (exhaustive only), from one thread.
  std::function<void(double)> progress;
  // The processes the search is split across (core/processes.h; nullptr: this one alone).
  // exhaustive deals out the layouts it checks and scores (by a hash of their index in its walk),
  // random its distinct draws (every process
  // draws the same sequence); every process returns the merged answer, the same as one
  // process's, except where exhaustive stops on a budget (each process spends an equal share of
  // max_evaluations, and max_seconds, on its own layouts). The other optimizers are sequential:
  // asked to split, Search refuses them.
  const Processes* processes = nullptr;
};

// One process's share of a split search.
struct ProcessShare {
  int rank = 0;
  uint64_t evaluated = 0;
  uint64_t pruned = 0;
  double elapsed_s = 0;
  std::string stop_reason;
};

struct SearchResult {
  std::string optimizer;
  std::string engine;           // what ranked the candidates (SearchOptions::engine's name)
  std::string stop_reason;      // "space exhausted", "evaluation budget", "time budget", "no new
                                // candidates" (a sampling search that converged)
  std::vector<Evaluation> top;  // best first
  double space_size = 0;
  uint64_t evaluated = 0;  // candidates scored (a derived expert TP scores a candidate twice)
  uint64_t pruned = 0;                        // candidates rejected before their step time
  std::map<std::string, uint64_t> pruned_by;  // reason -> candidates
  // reason -> a refusal's message under that key (the least in text order: the same however
  // the search was split)
  std::map<std::string, std::string> pruned_why;
  double elapsed_s = 0;                       // the slowest process's, when split
  int threads = 1;                            // per process
  std::string transport = "one process";      // Processes::transport()
  std::vector<ProcessShare> shares;           // one per process, in rank order, when split
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  // Whether it can deal its candidates out to several processes (SearchOptions::processes).
  virtual bool splits() const { return false; }
  // Precondition: base's model, cluster and workload are valid (Search checks them once; the
  // candidates are built with plan::Checks::kPlanOnly). Call Search, not Run, from outside.
  virtual SearchResult Run(const spec::JobSpec& base, const SearchSpace& space,
                           const hardware::DeviceModel& device, const SearchOptions& options) = 0;
};

// One dimension's REINFORCE step direction (what reinforce moves its logits by, times the learning
// rate): the gradient with respect to `logits` of
//   J = mean over the batch k of (rewards_k - baseline) * ln softmax(logits)[chosen_k]
//       + entropy_bonus * H(softmax(logits)),
// that is mean_k (R_k - b) (1[v = a_k] - p_v) - entropy_bonus * p_v (ln p_v + H).
std::vector<double> PolicyGradient(const std::vector<double>& logits,
                                   const std::vector<uint32_t>& chosen,
                                   const std::vector<double>& rewards, double baseline,
                                   double entropy_bonus);

// A REINFORCE baseline that also sets the step's scale: moving means (weight `decay`, in [0, 1),
// on the old value per batch) of the rewards and of their squared deviation from the mean.
// Advantages gives a batch's rewards less the mean over the deviation's square root, clipped to
// [-kMaxAdvantage, kMaxAdvantage], then moves both means to the batch; the first batch is its own
// mean and deviation. So a policy's step on a logit is at most the learning rate times
// kMaxAdvantage, typically a fraction of it, whatever the rewards' units (an NE of 0.01, a
// ln(FLOPs) of 2). An outlier's own advantage is clipped, but its deviation enters the moving
// mean in full: the next batches' advantages are smaller until it decays (by `decay` a batch).
// While the deviation's mean is zero (a first batch of equal rewards) the advantages are zero. A
// reward that is not finite gets -kMaxAdvantage and is left out of both means.
class RewardBaseline {
 public:
  static constexpr double kMaxAdvantage = 3;
  explicit RewardBaseline(double decay) : decay_(decay) {}
  std::vector<double> Advantages(const std::vector<double>& rewards);

 private:
  double decay_;
  bool started_ = false;
  double mean_ = 0, variance_ = 0;
};

// The registry: every optimizer with its factory.
struct OptimizerInfo {
  std::string name;
  std::string description;
  std::unique_ptr<Optimizer> (*make)();
};
const std::vector<OptimizerInfo>& Optimizers();
std::vector<std::string> OptimizerNames();
Result<std::unique_ptr<Optimizer>> MakeOptimizer(std::string_view name);

// SearchOptions as input keys (section "search"; `scaleplan search`'s flags): optimizer, seed,
// budget (max_evaluations), time_limit (max_seconds), threads, top (top_k). Search checks them.
const spec::Schema<SearchOptions>& SearchOptionsSchema();

// A setting the chosen optimizer does not read would be ignored, so it is an error: seed for
// exhaustive (which draws nothing), threads for the others (which run on one). `given(key)` says
// whether the user set a key, `name(key)` how to call it (a flag, a dict key).
Status CheckOptionsGiven(const SearchOptions& options,
                         const std::function<bool(const std::string&)>& given,
                         const std::function<std::string(const std::string&)>& name);

// The plan a search started from (e.g. Llama 3's production plan), for comparison.
struct StartingPoint {
  std::string description;  // Describe(plan)
  sim::StepResult step;     // the engine's
  bool fits = false;
  double peak_bytes_per_gpu = 0;  // the memory model's, as for the candidates
};
// Its evaluation by `engine` (nullptr: the analytical engine), or nothing when it is not a valid
// plan or the engine refuses it.
std::optional<StartingPoint> EvaluateStart(const spec::JobSpec& start,
                                           const sim::Engine* engine = nullptr);

// An error when the search proved that no candidate is a valid plan for the job: the whole space
// walked, nothing evaluated and nothing refused for memory, so every candidate broke a rule of
// the plan (the pins or the job contradict the model, the GPU count or the batch). That is bad
// input, not an answer (a space whose plans exist but do not fit is one: "no plan fits"). The
// message gives the refusal of `pinned`'s start (the job's own plan at the pinned values: what
// `simulate` would say of it) when it is given, lies in the searched space and is refused; else
// the rule that pruned the most candidates, one of its refusals (which says what is allowed) and
// how many candidates that rule pruned. Ok otherwise.
Status CheckSomePlanValid(const SearchResult& result, const PinnedSearch* pinned = nullptr);

// Runs options.optimizer on the space around `base` (its model, cluster, GPU count, workload and
// the plan fields that are not search dimensions).
Result<SearchResult> Search(const spec::JobSpec& base, const SearchSpace& space,
                            const SearchOptions& options);

}  // namespace scaleplan::search
