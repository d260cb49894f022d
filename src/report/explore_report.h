// Report of `scaleplan explore`: the baseline, each dimension alone and the joint optimum (step
// time by both engines, speedup, network stack, what crosses the boundary tier), where the time
// goes, the network technologies' assumptions and, when asked, the joint optimum's launch
// configuration.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "explore/explore.h"
#include "report/launch.h"
#include "spec/specs.h"

namespace scaleplan::report {

// The joint optimum's launch configuration in `format` (report/launch.h), with the network stack
// in a comment after it (fabric and collective-library settings, not launcher arguments).
Result<LaunchText> JointLaunch(const explore::ExploreResult& result, const std::string& format);

nlohmann::json ExploreJson(const explore::ExploreResult& result, const LaunchText& launch);
std::string ExploreText(const spec::JobSpec& job, const explore::ExploreResult& result,
                        const LaunchText& launch);

}  // namespace scaleplan::report
