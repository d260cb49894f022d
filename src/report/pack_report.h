// Reports of `scaleplan pack` and `scaleplan simulate --packer`: balance per iteration with the
// packer's setting (the wlb bands and s_max it packed with), and packed steps through the event
// engine against the original packing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "balance/balance.h"
#include "balance/study.h"
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

// pack --emit: one JSON line per iteration, {"iteration": i, "microbatches": [...]}, each
// micro-batch its documents' lengths, or at cp > 1 {"documents", "sharder", "ranks"} with what a
// varlen attention kernel on each CP rank takes (cu_seqlens_q/k, query and key starts).
std::string PackedBatchesJsonLines(const balance::PackStudy& study);

// pack --tune: layer imbalance against mean delay per threshold setting.
nlohmann::json TuningJson(const std::vector<balance::TuningPoint>& points);
std::string TuningText(const std::vector<balance::TuningPoint>& points, size_t documents,
                       const balance::PackerOptions& options);

nlohmann::json PackedEventJson(const sim::PackedComparison& c);
std::string PackedEventText(const sim::PackedComparison& c);

}  // namespace scaleplan::report
