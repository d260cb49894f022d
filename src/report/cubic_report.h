// Reports of the CubicML loop: `scaleplan suggest` (the next jobs to run, each with its estimate,
// uncertainty and launch configuration) and `scaleplan testbed` (each method's curve against a
// truth).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "predict/suggest.h"
#include "predict/testbed.h"
#include "report/launch.h"

namespace scaleplan::report {

// `format` null: no launch configurations.
nlohmann::json SuggestJson(const spec::JobSpec& job, const predict::Suggestion& s,
                           const predict::SuggestOptions& options, const LaunchFormat* format);
std::string SuggestText(const spec::JobSpec& job, const predict::Suggestion& s,
                        const predict::SuggestOptions& options, const LaunchFormat* format);

nlohmann::json TestbedJson(const spec::JobSpec& job, const predict::TestbedReport& r);
std::string TestbedText(const spec::JobSpec& job, const predict::TestbedReport& r);

}  // namespace scaleplan::report
