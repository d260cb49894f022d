// Reports of `scaleplan search`: the ranked plans, what the search did, and the best plan's
// breakdown next to the starting plan's.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "search/search.h"

namespace scaleplan::report {

using Baseline = search::StartingPoint;

nlohmann::json SearchJson(const spec::JobSpec& job, const search::SearchResult& result,
                          const std::optional<Baseline>& baseline);
std::string SearchText(const spec::JobSpec& job, const search::SearchResult& result,
                       const std::optional<Baseline>& baseline);

}  // namespace scaleplan::report
