// Reports of the CubicML loop: `scaleplan suggest` (the next jobs to run, each with its estimate,
// uncertainty and launch configuration) and `scaleplan testbed` / `rec-testbed` (each method's
// curve against a truth).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "predict/rec_suggest.h"
#include "predict/rec_testbed.h"
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

// `scaleplan rec-testbed`: the same curves on the ranking-model space (predict/rec_testbed.h).
nlohmann::json RecTestbedJson(const predict::RecTestbedReport& r);
std::string RecTestbedText(const predict::RecTestbedReport& r);

// `scaleplan rec-suggest`: the next ranking jobs to run (predict/rec_suggest.h).
nlohmann::json RecSuggestJson(const predict::RecSuggestion& s,
                              const predict::RecSuggestOptions& options);
std::string RecSuggestText(const predict::RecSuggestion& s,
                           const predict::RecSuggestOptions& options);

}  // namespace scaleplan::report
