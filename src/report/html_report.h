// The HTML pages of simulate, search, explore and pack (`--html FILE`; report/html.h draws them).
// Each page is drawn from the same JSON the command prints with --json, so the numbers in the plots
// are the report's; simulate's page adds the pipeline timeline of an event-engine run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sim/event.h"

namespace scaleplan::report {

// The step: summary, breakdown, memory per stage against capacity, the goodput section's lost
// time when present, and the timeline of one replica (`timeline`: an event-engine run with a
// trace; null, with `timeline_note` saying why, when there is none).
std::string StepHtml(const nlohmann::json& step, const sim::EventResult* timeline,
                     const std::string& timeline_note);
// Search candidates: step time against memory per GPU with the answer marked, step times of the
// top plans against the starting plan's.
std::string SearchHtml(const nlohmann::json& search);
// The scale-across ablation: speed-up and step breakdown of each row.
std::string ExploreHtml(const nlohmann::json& explore);
// Packing: imbalance and tokens per iteration, against the original packing when given.
std::string PackHtml(const nlohmann::json& pack, const nlohmann::json* original);

}  // namespace scaleplan::report
