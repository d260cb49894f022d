// Report of `scaleplan scale` (explore/scale.h): each GPU count's fastest plan, its step and its
// goodput, and the counts that train soonest and on the least GPU time.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "explore/scale.h"

namespace scaleplan::report {

nlohmann::json ScaleJson(const spec::JobSpec& job, const explore::ScaleStudy& study,
                         const goodput::GoodputOptions& goodput);
std::string ScaleText(const spec::JobSpec& job, const explore::ScaleStudy& study,
                      const goodput::GoodputOptions& goodput);

}  // namespace scaleplan::report
