// Failure models: the interruptions a training job sees, by cause, each a Poisson process.
//
// A model is what was observed: `count` interruptions of each cause over `window_s` seconds on a
// job of `gpus` GPUs, `gpus_per_node` to a server. Each cause scales with a unit (`per`):
//   gpu    rate per GPU-second    = count / (window_s x gpus)
//   node   rate per node-second   = count / (window_s x ceil(gpus / gpus_per_node))
//   job    rate per job-second    = count / window_s   (a job-wide event, whatever the job's size)
// and a job of G GPUs on nodes (servers) of g GPUs sees rate x G, rate x ceil(G / g) or rate per
// second.
// Planned causes (maintenance, configuration changes) are announced: the job checkpoints before it
// stops and loses no work (goodput.h). The preset llama3-405b is Table 5 of the Llama 3 paper.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "spec/schema.h"

namespace scaleplan::goodput {

enum class FailureUnit { kGpu, kNode, kJob };

std::string_view FailureUnitName(FailureUnit unit);

struct FailureCause {
  std::string name;
  std::string category;  // gpu, host, network, software, planned, ... (free text, for grouping)
  FailureUnit per = FailureUnit::kGpu;
  double count = 0;  // interruptions observed over the model's window
  bool planned = false;
};

struct FailureModel {
  std::string name = "custom";
  std::string description;
  std::string source;
  double window_s = 0;        // the observation window
  int64_t gpus = 0;           // GPUs the observed job held
  int64_t gpus_per_node = 0;  // GPUs per node (server) of the observed job
  std::vector<FailureCause> causes;
};

// Bounds of a failure model file.
inline constexpr double kMaxFailureWindowS = 3.2e9;  // a century
inline constexpr int64_t kMaxCauses = 256;
inline constexpr double kMaxCauseCount = 1e9;

const spec::Schema<FailureModel>& FailureModelSchema();
const spec::Schema<FailureCause>& FailureCauseSchema();

// A failure model as YAML (the keys of FailureModelSchema, `causes` a list of FailureCauseSchema
// maps); `origin` names it in errors.
Result<FailureModel> ParseFailureModel(std::string_view text, const std::string& origin);
// A preset (presets/failures) by name, or a YAML file.
Result<FailureModel> LoadFailureModel(std::string_view ref);
// window_s, gpus and gpus_per_node given; causes named, unique, and at least one unplanned cause
// seen.
Status ValidateFailureModel(const FailureModel& model);

// The cause's rate on a job of `gpus` GPUs with `gpus_per_node` to a node, per second.
double CauseRatePerS(const FailureModel& model, const FailureCause& cause, int64_t gpus,
                     int64_t gpus_per_node);

}  // namespace scaleplan::goodput
