// Reports of `scaleplan simulate`: the step-time breakdown with the memory block.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/analytical.h"
#include "sim/event.h"

namespace scaleplan::report {

nlohmann::json StepJson(const plan::Plan& plan, const plan::MemoryReport& memory,
                        const sim::StepResult& step);
std::string StepText(const plan::Plan& plan, const plan::MemoryReport& memory,
                     const sim::StepResult& step);
// A step from an engine (sim/engine.h); one that ran passes adds the critical path, the idle time
// per rank and the passes simulated.
nlohmann::json StepJson(const plan::Plan& plan, const plan::MemoryReport& memory,
                        const sim::EventResult& run);
std::string StepText(const plan::Plan& plan, const plan::MemoryReport& memory,
                     const sim::EventResult& run);

// The line saying that the passes of `--schedule-file` `path` ran, not the plan's schedule (which
// the plan line still names).
std::string ScheduleFileText(const plan::Plan& plan, const std::string& path);

// The lines saying what else changed the passes: micro-batches read from `--microbatch-lengths`
// `path` (their tokens against the plan's) and slowed GPUs (`--stragglers`); empty when neither
// was given. The JSON: {"microbatch_lengths_file", "microbatch_tokens", "stragglers": {rank:
// speed}} with the keys that apply.
std::string EventInputsText(const plan::Plan& plan, const std::string& path,
                            const sim::EventOptions& options);
nlohmann::json EventInputsJson(const std::string& path, const sim::EventOptions& options);

// {"compute_s": ..., "tp_comm_s": ..., ...}: the breakdown's categories.
nlohmann::json BreakdownJson(const sim::Breakdown& breakdown);

// `value` to `decimals` places, or to three significant digits where those places would show a
// nonzero value as 0 (a GPU described a million times too slow: 0.0123 tokens/s/GPU, not 0.0).
std::string Figure(double value, int decimals);
// Two breakdowns side by side with the change per category and the totals (seconds per step),
// one row per line, indented by four spaces.
std::string BreakdownComparison(const sim::Breakdown& a, const sim::Breakdown& b,
                                const std::string& a_name, const std::string& b_name);

}  // namespace scaleplan::report
