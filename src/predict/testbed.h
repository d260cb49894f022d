// The testbed: a stand-in for a real cluster, to judge the CubicML loop (suggest.h) against other
// ways of spending the same number of real jobs (`scaleplan testbed`).
//
// The truth is the analytical engine plus effects the predictor cannot see, given as data (a
// YAML truth file; kinds below). A job "runs" on the truth: it builds, its true memory decides
// whether it runs out of memory, a seeded draw whether it fails, and its measured throughput is
// the true one times lognormal noise. Each effect may carry `when`, a map of plan keys to values
// (equality, e.g. {tp: 8}), and then applies only to plans that match every one. A setting
// without effect on a plan matches nothing (the schedule or edge trimming without a pipeline, the
// CP algorithm without CP, gradient sync settings without data parallelism of the weights or the
// experts), because a search folds plans that differ only there into one; a placement is compared
// as the order of the dimensions larger than 1.
//   compute_scale {factor}        compute runs at factor x the speed: the step's compute divided
//                                 by the factor
//   comm_scale {dim, factor}      the exposed communication of dim (tp, cp, pp, dp, ep) times
//                                 factor; with grad_sync delayed, dp scales what stays exposed
//   (the bubble is stages waiting on each other's work: the compute, TP, CP and EP shares of it
//   scale with those parts)
//   tier_bandwidth {tier, factor} the named network tier's bandwidth times factor (the plan is
//                                 priced again on the changed cluster)
//   step_overhead_s {value}       seconds added to every step
//   memory_margin_bytes {value}   out of memory when the peak exceeds usable memory - value
//   failure_rate {value}          this fraction of jobs fails with no measurement (several matching
//                                 rates are independent causes: 1 - prod(1 - rate))
// The measurement of a plan depends only on the truth's seed and the plan, not on which method ran
// it or when: every method meets the same cluster. Effects that combine into a step that is not
// finite and positive refuse the plan.

//
// Methods, each given `budget` true jobs in batches of `batch` (a method stops early when it has
// nothing left to run):
//   cubic      the loop: each batch is suggest's proposals given every job run so far (the first
//              batch, with nothing learned, is the physics' best plan of each of its best layouts)
//   physics    the analytical engine's best plans, run in order
//   random     candidates drawn uniformly from the space, kept when they build and fit (memory
//              model): a plan with several equivalent candidates is drawn more often
//   evolution  regularized evolution (search.h's) on the measured throughput: population 16,
//              tournament 4, one-dimension mutations, the batch bred from the population at once
// After each batch a method's curve records the jobs run, the true (noiseless) throughput of the
// plan it measured fastest and its regret against the true optimum (an exhaustive search of the
// truth, refusing plans whose failure draw fails them), and Kendall's tau of its model (the physics
// for physics, the latest predictor for cubic, none for the others) against the truth on a fixed
// sample of plans that run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/text.h"
#include "predict/suggest.h"
#include "search/search.h"
#include "sim/engine.h"

namespace scaleplan::predict {

struct TruthEffect {
  std::string kind;
  std::vector<std::pair<std::string, nlohmann::json>> when;  // plan key -> value (schema JSON)
  std::optional<std::vector<spec::Dim>> placement;           // when.placement
  std::string dim;                                           // comm_scale
  std::string tier;                                          // tier_bandwidth
  double factor = 1;
  double value = 0;
  std::string origin;  // "truth.yaml:7"
};

struct Truth {
  uint64_t seed = 1;
  double noise_pct = 0;  // sigma of the lognormal noise, in percent
  std::vector<TruthEffect> effects;
  std::string origin;
};

// Kendall's tau-a of `predicted` against `truth` over every pair (ties count 0); none for fewer
// than 2 values or lengths that differ. The testbeds' measure of a model's order.
std::optional<double> KendallTauA(const std::vector<double>& predicted,
                                  const std::vector<double>& truth);

// The effect kinds, for errors and docs.
const std::vector<std::string>& TruthEffectKinds();

// Another co-design space's words for a truth file (the ranking-model space's,
// predict/rec_testbed.h): the effect kinds it takes (with `lookup_scale {factor}` among them
// where the space has embedding lookups) and, for `when`, its dimensions with the values each
// takes, matched as text.
struct TruthVocabulary {
  std::vector<std::string> kinds;
  std::vector<std::pair<std::string, std::vector<std::string>>> dims;
};

// Bounds: at most 1,000 effects; factors in [0.01, 100]; noise_pct in [0, 100]; failure_rate in
// [0, 0.99]; step_overhead_s in [0, 3600]; memory_margin_bytes in [0, 1e15]. Errors name the
// file, line and key.
// `vocabulary`: another space's kinds and `when` keys (null: the transformer plan's).
Result<Truth> ParseTruth(std::string_view text, const std::string& origin,
                         const TruthVocabulary* vocabulary = nullptr);
Result<Truth> LoadTruth(const std::string& path, const TruthVocabulary* vocabulary = nullptr);

// The truth as a step engine ("truth"): the analytical step with the effects; a plan beyond the
// memory margin is refused (key "out of memory (truth)"). Failure and noise are not part of the
// step: Measure draws them.
class TruthEngine final : public sim::Engine {
 public:
  // Precondition: every tier an effect names exists in `cluster` (Check says).
  explicit TruthEngine(Truth truth) : truth_(std::move(truth)) {}
  // Every tier_bandwidth effect names a tier of `cluster`.
  Status Check(const spec::ClusterSpec& cluster) const;
  std::string_view name() const override { return "truth"; }
  std::string_view description() const override {
    return "a testbed's truth: the analytical engine plus the truth file's effects";
  }
  bool RunsPasses() const override { return false; }
  Result<sim::EventResult> Run(const plan::Plan& plan,
                               const sim::EventOptions& options) const override;
  Result<sim::StepResult> StepGiven(const plan::Plan& plan, const sim::StepResult& analytical,
                                    const plan::MemoryReport& memory) const override;

  // One run of `plan` on the truth: status ok (with the measured throughput), oom or failed.
  struct Measurement {
    std::string status;
    double true_tokens_per_s_per_gpu = 0;
    double measured_tokens_per_s_per_gpu = 0;
  };
  Measurement Measure(const plan::Plan& plan) const;
  const Truth& truth() const { return truth_; }
  // Refuse (key "failed (truth)") the plans whose failure draw fails them: what the search for
  // the true optimum ranks by, so that the optimum is a plan that can be measured.
  void RefuseFailures(bool refuse) { refuse_failures_ = refuse; }

 private:
  // A plan's draws, fixed by the truth's seed and the plan: whether it fails, and its noise (a
  // standard normal).
  struct Draws {
    bool fails = false;
    double noise = 0;
  };
  Draws DrawsOf(const plan::Plan& plan) const;

  Truth truth_;
  bool refuse_failures_ = false;
};

struct TestbedOptions {
  int64_t budget = 48;
  int64_t batch = 8;
  uint64_t seed = 1;
  std::vector<std::string> methods;  // empty: all
  int64_t tau_sample = 200;          // plans Kendall's tau is measured on
  // cubic's predictor and ranking (suggest.h; its count is the batch, its seed the testbed's)
  std::string family = "ridge";
  int64_t members = 8;
  double optimism = 1.0;
  int64_t threads = 2;  // of the exhaustive searches (the answer does not depend on it)
  // The processes the exhaustive searches (the truth's optimum, the physics' ranking, cubic's
  // suggestions) are split across (search.h); the methods' jobs run the same in every process.
  const Processes* processes = nullptr;
};
const spec::Schema<TestbedOptions>& TestbedOptionsSchema();

// A `methods` option of a testbed's schema: a list of `names` (each at most once; empty: all);
// an unknown name or an empty list is an error naming `section`.
template <typename O>
void AddMethodsOption(spec::Schema<O>& s, const std::string& section,
                      const std::vector<std::string>& names, std::vector<std::string> O::*member) {
  spec::FieldInfo methods;
  methods.key = "methods";
  methods.kind = spec::ValueKind::kList;
  methods.help = "the methods to compare (default: all)";
  methods.allowed = "a list of: " + Join(names, ", ");
  s.Custom(
      methods,
      [methods, section, names, member](O& o, const spec::RawValue& value) -> Status {
        std::vector<std::string> items =
            value.is_list ? value.items : SplitAndTrim(value.text, ',');
        std::vector<std::string>& chosen = o.*member;
        chosen.clear();
        for (const std::string& item : items) {
          if (std::find(names.begin(), names.end(), item) == names.end()) {
            return spec::FieldError(section, methods, value, "names an unknown method");
          }
          if (std::find(chosen.begin(), chosen.end(), item) != chosen.end()) {
            return spec::FieldError(section, methods, value, "names a method twice");
          }
          chosen.push_back(item);
        }
        if (chosen.empty()) return spec::FieldError(section, methods, value, "is empty");
        return Status::Ok();
      },
      [member](const O& o) { return nlohmann::json(o.*member); });
}
const std::vector<std::string>& TestbedMethods();

struct CurvePoint {
  int64_t jobs = 0;
  double best_true_tokens_per_s_per_gpu = 0;  // 0 before the first measured job
  double regret_pct = 100;
  std::optional<double> kendall_tau;
};

struct MethodResult {
  std::string name;
  std::vector<CurvePoint> curve;
  int64_t oom_jobs = 0;
  int64_t failed_jobs = 0;
  std::string best_plan;  // the description of the plan it measured fastest
  double elapsed_s = 0;
  // Per truth effect (in the file's order), the jobs it ran whose plan the effect matched: an
  // effect at 0 for every method changed nothing the methods saw (its `when` met no plan run).
  std::vector<int64_t> effect_jobs;
};

struct TestbedReport {
  std::string truth_origin;
  std::vector<std::string> effects;  // each truth effect as "kind (file:line)"
  std::string optimum_plan;
  double optimum_tokens_per_s_per_gpu = 0;
  std::string physics_best_plan;  // the analytical engine's best, for comparison
  double physics_best_true_tokens_per_s_per_gpu = 0;
  uint64_t runnable_plans = 0;  // plans the exhaustive truth search scored
  std::vector<MethodResult> methods;
  double elapsed_s = 0;
};

Result<TestbedReport> RunTestbed(const spec::JobSpec& base, const search::SearchSpace& space,
                                 const Truth& truth, const TestbedOptions& options);

}  // namespace scaleplan::predict
