// Turning rows of the training calibration schemas into jobs (internal to validate).
#pragma once

#include <string>
#include <vector>

#include "core/csv.h"
#include "plan/plan.h"
#include "sim/analytical.h"
#include "spec/specs.h"
#include "validate/validate.h"

namespace scaleplan::validate {

// How a row's TFLOP/s (or MFU) counts a step's model FLOPs: SC21's formula (with recomputation),
// Megatron-Core's 6N + 12 L q s a token (full attention, as PaLM's MFU), or 6N with causal
// attention (scaleplan's own MFU).
enum class FlopsFormula { kNone, kSc21, kMegatron, kCausal };

struct TrainingCase {
  int line = 0;
  std::string label;
  spec::JobSpec job;
  std::string metric;  // "tokens_per_s_per_gpu", "tflops_per_gpu" or "step_time_s"
  FlopsFormula formula = FlopsFormula::kNone;
  double measured = 0;
  // The measurement as the row wrote it, where it is scored as another metric ("mfu = 45%",
  // scored as TFLOP/s): what messages name.
  std::string stated;
  std::vector<std::string> assumptions;
  std::string skipped;
  bool schedule_given = false;  // the row's schedule column named it
  // The row says how activations were checkpointed (a recompute or checkpointing cell, or a
  // source known to use full recomputation); a job log's job states its plan.
  bool checkpointing_given = false;
  // Where the weights lived is stated (a job log's job states its plan); no row's column says.
  bool weights_given = false;
  std::string source;           // the row's source column, or a job log line's source
  std::string status = "ok";    // how the job ended (job_log.h); not ok: skipped, no measurement
  // When a recipe row (dgxc.csv) leaves vp out on a pipeline: the interleaved plans a tuned run
  // could have used (ChooseTunedPlan picks among them and the vp-1 plan in `job`).
  std::vector<spec::PlanSpec> alternatives;
};

// SC21 eq. (3): F = 96 B s l h^2 (1 + s/(6h) + V/(16 l h)) FLOP per step (with recomputation).
double Sc21FlopsPerStep(const spec::ModelSpec& m, double batch, double seq);
// The model FLOPs of one step under the case's formula (how its TFLOP/s or MFU counted).
double FormulaFlopsPerStep(const TrainingCase& c, const plan::Plan& p);
// The measurement's step time, from whichever metric the case gives; 0 when it measured nothing.
double MeasuredStepSeconds(const TrainingCase& c, const plan::Plan& p);
// A measurement no GPU could make: at the measured step time, the model's FLOPs (causal
// attention, the least work the step does) per GPU above the GPU's nameplate dense peak at the
// job's precision. The reason, naming the measurement as the row wrote it, or "" when at most
// 100% of the peak.
std::string AbovePeakReason(const TrainingCase& c, const plan::Plan& p);

// Whether `text` contains `what`, ignoring case.
bool Contains(const std::string& text, std::string_view what);
// Whether a row on `gpus` GPUs passes options' GPU range.
bool InGpuRange(int64_t gpus, const Options& options);

// A measured value of a row or a logged job: spec/specs.h's bounds.
using spec::kMaxMeasured;
using spec::kMinMeasured;

// The most virtual stages tried for a row that does not give vp.
inline constexpr int64_t kMaxTunedVp = 16;

// A row with alternatives runs the fastest of its plan and its alternatives that could run (its
// peak within the GPU's capacity, tight included: plan/memory.h; analytical engine, the row's own
// factors); its assumptions say which vp was chosen. A row that does not say how it checkpointed
// and whose plan cannot run as stated (above the capacity) ran with some recomputation (it ran):
// each plan takes the fastest under which it could run of two kinds, selective recomputation of
// modules (Megatron-Core's; the model's modules added cheapest per byte freed first) and full
// recomputation of the first n layers of each chunk (the least n; n = all if need be), and the
// assumptions say which. Under FP8, on a framework that can hold the weights in FP8 alone
// (framework.fp8_param_gather) where the plan allows it (spec/fp8_weights.h), a plan that cannot
// run as stated is also tried so (plan.fp8_params, which no row states: 2 bytes a parameter
// fewer; its only effect on the step is the data-parallel parameter all-gather's FP8 bytes),
// checkpointing stated or not, and the fastest wins; a job log's plan is as stated
// (weights_given). A plan the memory model calls tight as stated is taken as stated: it could
// have run, and the reserve it dips into is an assumption (usable_memory_fraction), not a
// measurement; the report calls it tight. Until 2026-12-05 every choice kept the usable memory,
// and a tight plan was filled: measured on 2026-12-03, before the FP8-weights assumption,
// filling only plans above the capacity moved Megatron-Bridge's H100 rows from 22.1% to 23.9%;
// measured on 2026-12-05 with it, the H100 rows stay at 22.8%, the Blackwell ones gain 0.02 to
// 1.1 points and NeMo's 0.3 (docs/ACCURACY.md).
void ChooseTunedPlan(TrainingCase& c);

// A case run after ChooseTunedPlan by `engine` (null: the analytical engine): its plan and step.
// An error is why the case cannot be modeled (its skip reason, the plan's rejection, the
// engine's error), what a report lists for the row.
struct Modeled {
  plan::Plan plan;
  sim::StepResult step;
};
Result<Modeled> ModelCase(TrainingCase& c, const sim::Engine* engine = nullptr);

// The training rows of a CSV in either schema; `kind` is set to "common" or "dgxc". Errors: the
// text matches no schema.
Result<std::vector<TrainingCase>> TrainingCases(const std::string& text, const std::string& origin,
                                                const Options& options, std::string* kind);

// The row's metric predicted from a plan of its job and the step the engine gave.
double PredictedMetric(const TrainingCase& c, const plan::Plan& plan, const sim::StepResult& step);

// megatron.csv / nemo.csv (the common training schema).
std::vector<TrainingCase> CommonSchemaCases(const CsvTable& table, const Options& options);
// dgxc.csv (NVIDIA DGX Cloud recipes: configuration in the title or a matched config row).
std::vector<TrainingCase> DgxcCases(const CsvTable& table, const Options& options);

}  // namespace scaleplan::validate
