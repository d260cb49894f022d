// Named presets: YAML files under presets/<kind>/<name>.yaml, embedded in the binary at build time
// (cmake/EmbedPresets.cmake), so that scaleplan runs anywhere without its source tree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/embedded.h"
#include "core/status.h"

namespace scaleplan::spec {

// Every embedded preset, sorted by kind then name (generated code): kind is "models", "gpus",
// "clusters" or "jobs", name the file name without .yaml (e.g. "llama3-405b").
const std::vector<EmbeddedFile>& EmbeddedPresets();

std::vector<std::string> PresetNames(std::string_view kind);

// The YAML text of a preset; NotFound lists the known names of that kind.
Result<std::string> PresetText(std::string_view kind, std::string_view name);

// The job `scaleplan` runs with no arguments: Llama 3 405B on 16,384 H100s.
inline constexpr std::string_view kDefaultJob = "llama3-405b-16k";
// The job `scaleplan explore` starts from: the same on two regions, so that the plan crosses sites.
inline constexpr std::string_view kDefaultExploreJob = "llama3-405b-2regions";

}  // namespace scaleplan::spec
