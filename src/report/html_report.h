// The HTML pages of simulate, search, explore, pack, fit, testbed and nas (`--html FILE`;
// report/html.h draws them). Each page is drawn from the same JSON the command prints with --json,
// so the numbers in the plots are the report's; simulate's page adds the pipeline timeline of an
// event-engine run.
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
// A fitted predictor: its scores beside the physics', and each job's prediction (physics and
// out-of-sample learned) against its measurement.
std::string FitHtml(const nlohmann::json& fit);
// The CubicML testbed: each method's regret against the true optimum, batch after batch.
std::string TestbedHtml(const nlohmann::json& testbed);
// Architecture search: the candidates' proxy NE against FLOPs, and the retrained front against
// the baselines (test NE against FLOPs).
std::string NasHtml(const nlohmann::json& nas);

}  // namespace scaleplan::report
