// The event-driven step simulator: a step as it happens, for work that is not uniform.
//
// Actors are (data-parallel replica, pipeline stage) pairs; the TP and CP ranks of an actor run in
// lock step and are folded into it (a collective completes when its slowest member arrives, so a
// slow GPU slows its whole TP/CP group: its actor). Each actor runs its stage's pass list
// (schedule/schedule.h) in order; a pass starts when the actor is free and its dependency has
// arrived: the previous virtual stage's forward (or the next one's backward) plus one activation
// transfer between stages (h_r of the analytical model). A link (stage to stage, per direction)
// carries one message at a time: a message waits until the link has sent the previous one, holds
// it for its wire time (bytes / bandwidth) and arrives after the rest of h_r (latency, set-up),
// in the order the receiver takes them (NCCL matches a pair's sends and receives in issue order).
// Pass durations are the analytical model's per-chunk costs (sim/analytical.h: compute plus exposed
// TP/CP/EP), scaled
//   * per micro-batch by its packed work: attention by its query-key pairs (the backward's
//     recomputed forward attention too), the rest by its tokens, both relative to the uniform
//     micro-batch of the plan;
//   * per actor by 1 / speed for stragglers (speed 0.5 = twice as slow).
// The backward is split into B and W only for schedules that do it (zb-h1, zb-v). A schedule that
// is ordered by time (zb-v) is generated from this plan's nominal pass and send durations.
// After its last backward, every stage reduces gradients over its data-parallel group: the
// reduction completes when the slowest replica of the stage arrives, and its exposed part and the
// optimizer step are the analytical model's (same overlap rules; a delayed reduction hides behind
// the pipeline's length in this engine). The step ends when the last
// stage's reduction and optimizer step end, plus the analytical "other" costs.
// On uniform work the engine and the analytical closed form describe the same step: the tests hold
// them within 1% for gpipe, 1f1b, interleaved, llama3 (N = pp) and zb-h1, also with pipeline
// sends longer than a stage's work for the one-chunk schedules (zb-v's generated order: how far
// it is from the closed form is measured in docs/SIMULATOR.md); heterogeneous work, stragglers,
// llama3 with N < pp and slow sends in interleaved schedules are what the engine is for.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "plan/plan.h"
#include "schedule/schedule.h"
#include "sim/analytical.h"

namespace scaleplan::sim {

struct EventOptions {
  // Per micro-batch (index within a replica's step) packed documents' lengths in tokens; empty =
  // every micro-batch is micro_batch full sequences. Applies to every replica. A micro-batch may
  // hold at most the tokens the plan's memory holds (MaxMicroBatchTokens in packed.h; at least
  // micro_batch x seq_len).
  std::vector<std::vector<int64_t>> microbatch_documents;
  // Per replica instead (replica -> micro-batch -> document lengths), e.g. a packed global batch
  // spread over the data-parallel replicas; overrides microbatch_documents when given.
  std::vector<std::vector<std::vector<int64_t>>> replica_documents;
  // Per replica and micro-batch, how much longer the slowest context-parallel rank's attention
  // takes than an even share (balance/sharding.h: max rank work * cp / total work, >= 1); empty =
  // evenly sharded.
  std::vector<std::vector<double>> replica_attention_factor;
  // GPU rank -> speed factor in (0, 1]: its actor runs at that fraction of nominal speed.
  std::map<int64_t, double> straggler_speed;
  // A schedule to run instead of the plan's generated one.
  const schedule::PipelineSchedule* schedule = nullptr;
  // Record a trace of the replicas listed (default: replica 0 and every straggler's replica).
  bool trace = false;
};

struct TraceEvent {
  std::string name;   // "F mb3 c1"
  std::string track;  // "compute", "pp", "dp"
  int64_t replica = 0;
  int64_t stage = 0;
  double start_s = 0;
  double duration_s = 0;
};

struct EventResult {
  StepResult step;  // same fields and breakdown as the analytical engine
  // The pass that ended the pipeline last, and the chain of passes that led to it.
  int64_t critical_replica = 0;
  int64_t critical_stage = 0;
  std::string critical_pass;  // e.g. "B mb15 c0"
  int64_t critical_path_passes = 0;
  int64_t critical_path_transfers = 0;
  std::vector<std::vector<double>> idle_s;  // [replica][stage] idle time within the pipeline
  // Passes the engine ran: replicas with the same speeds and work share one timeline, simulated
  // once (distinct_timelines of them).
  int64_t simulated_passes = 0;
  int64_t distinct_timelines = 0;
  std::vector<TraceEvent> trace;
};

// The most passes one simulated step may run (dp x pp x vp x micro-batches x 2 or 3 passes):
// 134 million, about 3 s; the 102,400-GPU benchmark runs 3.3 million.
inline constexpr int64_t kMaxSimulatedPasses = int64_t{1} << 27;
// The most passes a trace may record (EventOptions::trace): about a million, some 170 MB of
// Chrome trace JSON and a few GB while it is built.
inline constexpr int64_t kMaxTracedPasses = int64_t{1} << 20;

Result<EventResult> SimulateEvents(const plan::Plan& plan, const EventOptions& options);

// Longest document a micro-batch list may name (2^31 tokens).
inline constexpr int64_t kMaxDocumentTokens = int64_t{1} << 31;

// `--microbatch-lengths`: a JSON list with one entry per micro-batch, each a non-empty list of
// document lengths (integers from 1 to kMaxDocumentTokens), e.g. [[4096, 4096], [8192]]. Errors
// name `origin` and the entry.
Result<std::vector<std::vector<int64_t>>> ParseMicrobatchLengths(std::string_view text,
                                                                 const std::string& origin);

// The slowest straggler: a GPU a thousand times slower than the others (slower ones would take
// the step's times past what the report prints).
inline constexpr double kMinStragglerSpeed = 0.001;
// `--stragglers`: "RANK:SPEED,..." (e.g. "17:0.5,40:0.8"); a rank from 0 to 2^24 - 1 (each once),
// a speed from kMinStragglerSpeed to 1. The rank is checked against the job by SimulateEvents.
Result<std::map<int64_t, double>> ParseStragglers(std::string_view text);

// Chrome / Perfetto trace JSON: one process per (replica, stage), one thread per track, times in
// microseconds of simulated time.
std::string ChromeTraceJson(const plan::Plan& plan, const EventResult& result);

}  // namespace scaleplan::sim
