// Reports of the ranking-model commands: `scaleplan rec-train` (one model trained and scored,
// its blocks' FLOPs with their formulas) and `scaleplan nas` (nas/nas.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "nas/nas.h"
#include "rec/run.h"

namespace scaleplan::report {

nlohmann::json MetricsJson(const rec::Metrics& m);
nlohmann::json ArchCostJson(const rec::ArchInfo& info);

nlohmann::json RecTrainJson(const rec::TrainRun& run);
std::string RecTrainText(const rec::TrainRun& run);

nlohmann::json NasJson(const nas::NasResult& result);
std::string NasText(const nas::NasResult& result);
// The best front model's architecture as a file (rec/arch.h's JSON, what rec-train --arch and
// rec --arch read); an error when the search left no front.
Result<nlohmann::json> NasBestArchFile(const nas::NasResult& result);

}  // namespace scaleplan::report
