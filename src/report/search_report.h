// Reports of `scaleplan search`: the ranked plans, what the search did, and the best plan's
// breakdown next to the starting plan's.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "report/launch.h"
#include "search/search.h"

namespace scaleplan::report {

using Baseline = search::StartingPoint;

// A searched plan's fields as JSON: the plan keys plus what the search resolved (dp,
// microbatches, etp, pp_microbatch_group).
nlohmann::json PlanFields(const spec::PlanSpec& plan);

// `plan`'s launch configuration for `job` in `format` (none when null or when it does not build).
LaunchText PlanLaunch(const spec::JobSpec& job, const spec::PlanSpec& plan,
                      const LaunchFormat* format);

// The best plan's launch configuration in `format` (none when empty, or when there is no plan).
LaunchText BestPlanLaunch(const spec::JobSpec& job, const search::SearchResult& result,
                          const LaunchFormat* format);

nlohmann::json SearchJson(const spec::JobSpec& job, const search::SearchResult& result,
                          const std::optional<Baseline>& baseline, const LaunchText& launch = {});
std::string SearchText(const spec::JobSpec& job, const search::SearchResult& result,
                       const std::optional<Baseline>& baseline, const LaunchText& launch = {});

// The search's six largest pruning rules, one line each ("pruned N by RULE"), each with the
// rule's own words when no plan came back.
std::string PruningLines(const search::SearchResult& result);

}  // namespace scaleplan::report
