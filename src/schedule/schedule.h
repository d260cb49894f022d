// Pipeline schedules as data: for every stage, the ordered list of passes it runs.
//
// A pass is a forward (F), a backward (B), or, for zero-bubble schedules, a backward split into its
// input-gradient half (B) and its weight-gradient half (W), of one micro-batch on one model chunk.
// Chunk c of stage s is virtual stage v = c * pp + s (Megatron-LM's interleaving, "looped"), or in
// a V (zb-v) v = c * pp + (pp - 1 - s) for odd c: chunk 1 runs back up the stages, so stage 0
// holds the first and the last layers and the turn at stage pp - 1 needs no send. Dependencies:
//   F(m, v) after F(m, v-1);  B(m, v) after B(m, v+1), or after F(m, V-1) on the last virtual
//   stage;  W(m, v) after B(m, v).
// Generators (a named registry; `scaleplan schedules` lists them):
//   gpipe        all forwards, then all backwards (Huang et al. 2019)
//   1f1b         pp-s-1 warm-up forwards, then one forward one backward, then the cool-down
//                (Narayanan et al. 2019, PipeDream-Flush)
//   interleaved  Megatron-LM's interleaved 1F1B: forwards in groups of pp micro-batches per chunk,
//                warm-up 2(pp-s-1) + (v-1) pp (Narayanan et al. 2021)
//   llama3       the same with a tunable group of N consecutive micro-batches (Llama 3, section
//                3.3.2), warm-up 2(pp-s-1) + (v-1) N, plus the fewest extra forwards that avoid a
//                deadlock when N < pp (the memory model counts Megatron's warm-up only)
//   zb-h1        1F1B with each backward split into B and W (Qi et al. 2023, ZB-H1): list
//                scheduling with unit passes, a ready B first, else a forward while fewer than pp-s
//                are held (1F1B's memory), else a deferred W, so that W passes fill 1F1B's idle
//                slots (a third of its bubble when F = B = W)
//   zb-v         two chunks a rank in a V with each backward split into B and W (Qi et al. 2024,
//                "Pipeline Parallelism with Controllable Memory", ZB-V), by list scheduling in
//                time (the plan's pass and send durations when given, else unit passes), not the
//                paper's hand-built pattern: the stage that can start soonest runs a ready B, else
//                a forward while it holds fewer than 2 pp chunk activations, else a pending W. A
//                chunk's activations count until its W, so the cap is 1F1B's peak (pp whole
//                micro-batches), on every stage. Which chunk's B and forward go first, whether
//                sends are planned for and whether a slot is kept for chunk-1 forwards (which
//                makes the order always complete) are rules: the orders they give (16, or 8
//                without send times) are timed and the shortest complete one is kept (a V with
//                "layout": "v" in a file). With F = B = W the bubble is near the
//                (pp - 1) chunk forwards the turn stage waits for its first input (a lower bound)
// A schedule can also be read from a JSON file: {"stages": [[["F", mb, chunk], ...], ...]}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "spec/specs.h"

namespace scaleplan::schedule {

enum class Pass : uint8_t { kForward, kBackward, kWeight };

struct Step {
  Pass pass = Pass::kForward;
  int32_t microbatch = 0;
  int32_t chunk = 0;
};

struct PipelineSchedule {
  std::string name;
  int64_t stages = 1;
  int64_t chunks = 1;  // virtual stages per rank
  int64_t microbatches = 1;
  bool split_backward = false;  // backward passes are B + W
  bool v_shape = false;         // chunks laid out in a V (VirtualStage)
  std::vector<std::vector<Step>> per_stage;
};

// What the cost models need to know of a schedule, stated once here.
struct ScheduleInfo {
  std::string name;
  std::string description;
  spec::Schedule kind = spec::Schedule::k1F1B;
  bool chunked = false;          // runs vp model chunks per rank (interleaved, llama3, zb-v)
  bool forwards_first = false;   // every forward before any backward (gpipe): all held at once
  bool splits_backward = false;  // backward as B (input gradient) and W (weights) (zb-h1, zb-v)
  bool v_shape = false;          // chunk 1 runs back up the stages (zb-v; VirtualStage below)
  int64_t fixed_chunks = 0;      // the vp it needs, pipeline or not (zb-v: 2); 0 = any
};
const std::vector<ScheduleInfo>& Schedules();
const ScheduleInfo& Info(spec::Schedule kind);

// Chunk `chunk` of stage `stage` is virtual stage c * pp + s, or, in a V and for odd c,
// c * pp + (pp - 1 - s); StageOf is the inverse's stage (the chunk is v / pp).
inline int64_t VirtualStage(int64_t pp, int64_t stage, int64_t chunk, bool v_shape) {
  return chunk * pp + ((v_shape && chunk % 2 == 1) ? pp - 1 - stage : stage);
}
inline int64_t StageOf(int64_t pp, int64_t v, bool v_shape) {
  return (v_shape && (v / pp) % 2 == 1) ? pp - 1 - v % pp : v % pp;
}

// "F", "B" or "W": how schedule files and traces name a pass.
std::string_view PassName(Pass pass);

// (micro-batch, chunk) forwards stage `stage` holds at its peak under `kind` with pp stages, vp
// chunks, m micro-batches and group N (llama3; interleaved uses pp): gpipe m; 1f1b and zb-h1
// min(pp - s, m); interleaved and llama3 min(m vp, 2 (pp - s - 1) + (vp - 1) N + 1), Megatron's
// warm-up plus the first steady-state forward (the memory model's count; llama3's extra
// deadlock-avoiding forwards at N < pp are not counted); zb-v min(2 m, 2 pp), its cap (counted
// until W, so an upper bound of what is held until B).
int64_t ForwardsHeld(spec::Schedule kind, int64_t pp, int64_t vp, int64_t m, int64_t group,
                     int64_t stage);

// The most passes a generated schedule may list over all stages (about 200 MB of steps).
inline constexpr int64_t kMaxSchedulePasses = int64_t{1} << 24;
// zb-v orders its passes by time under up to 16 rules: at most this many (a few seconds).
inline constexpr int64_t kMaxZbVPasses = int64_t{1} << 20;
// pp, vp and m at least 1, and 3 x pp x vp x m at most kMaxSchedulePasses (checked without
// overflow); Generate checks it first.
Status CheckScheduleSize(int64_t pp, int64_t vp, int64_t m);

// Seconds of each pass kind on each (stage, chunk), at index stage * vp + chunk: what a
// generator that schedules by time (zb-v) orders the passes by. Empty: unit passes.
struct PassTimes {
  std::vector<double> forward, backward, weight;  // backward: the input-gradient half (B)
  std::vector<double> hop;  // seconds to send a micro-batch over hop r (stage r to r + 1); may
                            // be empty (free sends)
};

// Generates `kind` for pp stages, vp chunks, m micro-batches and group n (llama3; 0 = pp); `times`
// (zb-v only; null or empty: unit passes) must hold pp * vp entries of each pass kind, and no or
// pp hops.
Result<PipelineSchedule> Generate(spec::Schedule kind, int64_t pp, int64_t vp, int64_t m, int64_t n,
                                  const PassTimes* times = nullptr);

// Every pass exactly once, dependencies satisfiable without deadlock (checked by running the
// schedule with unit times), and the peak of forwards held before their backward. Errors name the
// stage and pass.
struct ScheduleCheck {
  std::vector<int64_t> peak_in_flight;  // per stage: (micro-batch, chunk) forwards not yet backed
  int64_t unit_span = 0;                // when the last pass ends if every pass takes one unit
};
Result<ScheduleCheck> Validate(const PipelineSchedule& schedule);

// `scaleplan schedules`: every schedule generated for pp stages, m micro-batches and vp chunks
// (one for the schedules that are not chunked), and validated.
struct SurveyRow {
  ScheduleInfo info;
  int64_t vp = 1;
  bool valid = false;
  std::string verdict;  // "valid for ...; peak forwards held on stage 0: N", or why not
  std::optional<PipelineSchedule> schedule;  // when generated
};
Result<std::vector<SurveyRow>> Survey(int64_t pp, int64_t vp, int64_t m);

// The schedule as the JSON a --schedule-file holds (one line; "layout": "v" for a V).
std::string ScheduleJson(const PipelineSchedule& schedule);

// A user schedule: {"stages": [[["F", 0, 0], ["B", 0, 0]], ...]} with passes "F", "B", "W", and
// "layout": "v" for chunks in a V (zb-v; "looped", the default, otherwise), which must be the
// plan's (v_shape).
Result<PipelineSchedule> ParseSchedule(std::string_view json, const std::string& origin, int64_t pp,
                                       int64_t vp, int64_t m, bool v_shape = false);

}  // namespace scaleplan::schedule
