// Goodput under failures: the share of wall-clock time a job trains, the checkpoint interval that
// maximises it, and what that leaves of the tokens a day (`scaleplan goodput`, a section of
// `scaleplan simulate`).
//
// Symbols (rates per second; failures.h gives each cause's rate on this job):
//   G GPUs on ceil(G/g) nodes (servers) of g GPUs; f = failure_scale
//   lambda   = f x sum of the unplanned causes' rates,   M = 1 / lambda (mean time between
//   failures) lambda_p = f x sum of the planned causes' rates
// Checkpoint: the training state, written once per job (each rank its share, deduplicated as
// torch.distributed.checkpoint does):
//   S = checkpoint_bytes, or P x (2 + 12) bytes (BF16 weights; FP32 master weights and Adam's two
//       moments; plan/memory.h's ParamBytes)
//   B = min(storage_bytes_per_s, nodes x node_storage_bytes_per_s)   (the storage the job reaches)
//   write_s = S / B
//   sync:  delta = write_s (training waits),               w = 0
//   async: delta = L / host_copy_bytes_per_s (training waits while each GPU copies its local
//          state L, replicated weights included, to host memory), w = write_s (the checkpoint is
//          durable w after the copy)
// Restart after an unplanned failure: R = detect_s + restart_s + S / B (the reload).
// Effective time with tau seconds of training between checkpoints (Daly, "A higher order estimate
// of the optimum checkpoint interval for restart dumps", Future Generation Computer Systems 22,
// 2006: exponential failures, which may also strike during checkpoints and restarts):
//   E_u(tau) = tau / ( M e^(R'/M) (e^((tau + delta)/M) - 1) ),   R' = R + w tau / (tau + delta)
//   (async: a failure within w of a checkpoint finds it not yet durable and loses one more
//   interval, with probability about w / (tau + delta): w tau / (tau + delta) more rework)
// Planned interruptions each cost a synchronous checkpoint and a restart, and lose no work:
//   E = E_u (1 - lambda_p (write_s + R))
// tau is given (checkpoint_interval_s) or maximises E_u (in logs) over tau >= max(w, 1 s, step)
// (the next asynchronous checkpoint is taken once the last is durable, and a checkpoint falls
// between training steps, so an interval holds at least one; a step longer than the time between
// failures then leaves little effective time); Young's sqrt(2 delta M) and
// Daly's
// sqrt(2 delta M) (1 + sqrt(delta / (2M)) / 3 + delta / (18 M)) - delta are reported beside it.
// Interruptions per day = (lambda + lambda_p) x 86,400; tokens per day = E x tokens/s/GPU x G x
// 86,400. The lost time is split, to first order, into checkpoints delta/(tau + delta), rework
// lambda ((tau + delta)/2 + w tau/(tau + delta)), detection, restart and reload lambda x each,
// and planned stops lambda_p (write_s + R), scaled to add up to 1 - E.
// Monte Carlo: the same process drawn failure by failure (Simulate below), `trials` times over
// horizon_s, gives the spread a real window shows. Where it departs from the closed form: a
// planned stop saves the work since the last checkpoint (the closed form ignores that save, which
// matters only when tau nears 1/lambda_p), the first interval after a restart cannot lose an
// earlier checkpoint, and failures while the job is down for a planned stop are not counted.
// Training time for T = train_tokens (when given), run in whole steps: T' = ceil(T / tokens per
// step) x tokens per step; the wall clock T' / (tokens per day / 86,400), of which the steps take
// E x that (T' / (tokens/s/GPU x G)), and G x the wall clock of GPU time. A batch-size ramp (Llama
// 3's 4M -> 8M -> 16M tokens) or a change of job size during the run is not modeled: every token
// runs at the job's throughput. Scale sweep: the same failure model, checkpoint size, storage and
// per-GPU throughput at other GPU counts (weak scaling: the plan's per-GPU throughput is held, an
// assumption), each with its best interval.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "goodput/failures.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/analytical.h"
#include "spec/schema.h"

namespace scaleplan::goodput {

struct GoodputOptions {
  std::string failures = "llama3-405b";  // a failure model: preset (presets/failures) or file
  double failure_scale = 1;
  double detect_s = 300;
  double restart_s = 300;
  std::string checkpoint = "sync";    // sync or async
  double checkpoint_interval_s = 0;   // 0: the interval that maximises effective time
  double checkpoint_bytes = 0;        // 0: the model's training state
  double storage_bytes_per_s = 2e12;  // Llama 3's storage, sustained (arXiv 2407.21783 3.3.1)
  double node_storage_bytes_per_s = 25e9;
  int64_t gpus_per_node = 0;  // 0: the cluster's first tier
  double host_copy_bytes_per_s = 25e9;
  double target_effective_pct = 90;  // Llama 3: "higher than 90% effective training time"
  double horizon_s = 0;              // Monte Carlo window; 0: the failure model's window
  int64_t trials = 200;              // Monte Carlo windows drawn; 0: none
  uint64_t seed = 1;
  std::vector<int64_t> sweep_gpus = {1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072};
  double train_tokens = 0;  // tokens the run trains on; 0: not asked
};

const spec::Schema<GoodputOptions>& GoodputOptionsSchema();

// GPU counts as a list or "1024,2048" (sweep_gpus, `scaleplan scale --counts`): at most
// kMaxGpuCounts, each from 1 to spec::kMaxRanks, distinct, no empty entry, not quoted; empty
// text is no count. An error says what is wrong with the list ("lists 8 twice"), for the caller
// to name its key.
inline constexpr size_t kMaxGpuCounts = 64;
Result<std::vector<int64_t>> ParseGpuCounts(const spec::RawValue& value);

// The keys that set one job's goodput (simulate's section, each row of `scaleplan scale`): every
// key but the Monte Carlo's, the sweep's and the restart target's.
const std::vector<std::string>& SectionKeys();

// With failures = "none" there is no goodput section: a section key given beside it would be
// ignored, so it is an error. `given(key)` says whether the user set a key, `name(key)` how to
// call it (a flag, a dict key).
Status CheckSectionGiven(const GoodputOptions& options,
                         const std::function<bool(const std::string&)>& given,
                         const std::function<std::string(const std::string&)>& name);

// What a job brings: its size, its servers, its state and its speed.
struct GoodputJob {
  int64_t gpus = 0;
  int64_t gpus_per_node = 0;
  double checkpoint_bytes = 0;
  double tokens_per_s_per_gpu = 0;
  double local_state_bytes = 0;  // what one GPU stages for an async checkpoint; 0: S / G
  int64_t tokens_per_step = 0;   // train_tokens run in whole steps of these; 0: not rounded
  double step_time_s = 0;        // one training step: checkpoints fall between steps (0: no bound)
};

// Lost time as fractions of the wall clock (they add up to 1 - effective).
struct LostTime {
  double checkpoint = 0, rework = 0, detect = 0, restart = 0, reload = 0, planned = 0;
};

// One job size under the failure model.
struct GoodputPoint {
  int64_t gpus = 0;
  double nodes = 0;
  double failures_per_day = 0;  // unplanned
  double planned_per_day = 0;
  double mtbf_s = 0;               // M
  double storage_bytes_per_s = 0;  // B
  double write_s = 0;
  double blocking_s = 0;       // delta
  double durable_after_s = 0;  // w
  double reload_s = 0;
  double restart_total_s = 0;    // R
  double interval_s = 0;         // tau
  bool interval_chosen = false;  // tau maximises E (not given)
  // Chosen, and held at the shortest interval allowed, max(w, 1 s, one step): E would rise with a
  // shorter one (a checkpoint that blocks next to nothing, or failures minutes apart).
  bool interval_at_least = false;
  double least_interval_s = 0;      // max(w, 1 s, one step)
  std::string least_interval_what;  // which of the three sets it
  double young_s = 0, daly_s = 0;
  double effective = 0;  // E, a fraction
  LostTime lost;
  double tokens_per_day = 0;
  // The largest detect_s + restart_s (the two in their given proportion, the reload kept) at
  // which E reaches the target, tau chosen again; `target_reachable` is false when even an
  // instant restart misses it.
  double max_detect_restart_s = 0;
  bool target_reachable = false;
  bool detect_restart_unbounded = false;  // the target holds at the options' largest values
  // With train_tokens: the wall clock to train them, the part of it spent in steps, and the GPU
  // time the wall clock occupies. All 0, and train_finishes false, when not asked or when nothing
  // trains (E or the throughput is 0).
  double train_tokens = 0;  // the options' train_tokens
  bool train_finishes = false;
  double train_time_s = 0, train_step_time_s = 0, train_gpu_time_s = 0;
};

struct CauseShare {
  std::string name, category;
  FailureUnit per = FailureUnit::kGpu;
  bool planned = false;
  double per_day = 0;  // on this job
};

struct MonteCarlo {
  int64_t trials = 0;
  double horizon_s = 0;
  double effective_mean = 0, effective_p5 = 0, effective_p95 = 0;
  double effective_stderr = 0;                                                 // of the mean
  double interruptions_mean = 0, interruptions_p5 = 0, interruptions_p95 = 0;  // per window
};

struct GoodputStudy {
  FailureModel model;
  GoodputOptions options;
  GoodputJob job;
  // The parameters a checkpoint saves with their optimizer state: every one, or under LoRA the
  // adapters alone (the frozen base is saved once, not at each checkpoint).
  double params = 0;
  bool lora_adapters = false;  // params counts LoRA adapters
  double step_time_s = 0;
  int64_t train_steps = 0;  // ceil(train_tokens / tokens per step); 0 when not asked
  // Whether the plan fits in GPU memory (plan/memory.h); when it does not, every figure is what
  // the job would give if it did, and the reports say so.
  bool fits = true;
  plan::MemoryVerdict memory_verdict = plan::MemoryVerdict::kFits;  // fits or tight or neither
  GoodputPoint point;                                               // the job itself
  std::vector<CauseShare> causes;
  MonteCarlo monte_carlo;           // trials == 0: not run
  std::vector<GoodputPoint> sweep;  // one per sweep_gpus entry kept
  // The default sweep's sizes this plan cannot run (not whole replicas or nodes), rounded down to
  // ones it can: (rounded, default) pairs; a repeat or 0 is left out. A sweep the user gave is
  // refused instead.
  std::vector<std::pair<int64_t, int64_t>> sweep_rounded_from;
};

// E_u(tau) above; M may be large (few failures), never 0.
double EffectiveUnplanned(double tau_s, double delta_s, double restart_s, double durable_after_s,
                          double mtbf_s);

// One job size: rates, checkpoint, interval, effective time, lost time, the restart budget.
Result<GoodputPoint> Evaluate(const FailureModel& model, const GoodputJob& job,
                              const GoodputOptions& options);

// The process of Evaluate drawn over options.horizon_s, options.trials times (seeded).
MonteCarlo Simulate(const FailureModel& model, const GoodputJob& job, const GoodputOptions& options,
                    const GoodputPoint& point);

// `scaleplan goodput` as one call: the plan's state and its step (from any engine) under the
// failure model, the Monte Carlo and the sweep as options ask.
Result<GoodputStudy> RunGoodput(const plan::Plan& plan, const sim::StepResult& step,
                                const GoodputOptions& options);

}  // namespace scaleplan::goodput
