// Reports of `scaleplan pack` and `scaleplan simulate --packer`: balance per iteration with the
// packer's setting (the wlb bands and s_max it packed with), and packed steps through the event
// engine against the original packing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "balance/balance.h"
#include "sim/packed.h"

namespace scaleplan::report {

// How the run was set up, for the report's header.
struct PackSetup {
  std::string packer;
  balance::PackerOptions options;
  int64_t cp = 1;
  std::string sharder;
  double cp_imbalance = 1;  // mean over micro-batches of the slowest rank's padded attention
};

nlohmann::json PackJson(const balance::PackRun& run, const PackSetup& setup);
std::string PackText(const balance::PackRun& run, const PackSetup& setup);

nlohmann::json PackedEventJson(const sim::PackedComparison& c);
std::string PackedEventText(const sim::PackedComparison& c);

}  // namespace scaleplan::report
