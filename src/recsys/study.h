// `scaleplan rec` as one call: resolve the job, plan with the chosen planner (or read a plan),
// and, to show where each loses, plan with every other planner and rate every plan with every
// engine (recsys/planner.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "model/ranking.h"
#include "recsys/cost.h"
#include "recsys/planner.h"
#include "recsys/sharding.h"

namespace scaleplan::recsys {

// Where the job comes from: presets or files, and the plan to rate instead of planning.
struct RecSource {
  std::string model = "mlperf-dlrm-dcnv2";
  std::string cluster = "dgx-h100-ib";
  std::string gpu;       // "" = the cluster's GPU
  // The model's dense part replaced by a Rankitect architecture (ranking_model.arch: a JSON file
  // or a baseline); "" = the model's own.
  std::string arch;
  int64_t gpus = 8;      // 0 = the whole cluster
  std::string sharding;  // a plan file (JSON) to rate; "" = plan
  bool compare = true;   // also plan with the other planners
  // The largest global batch the planner may choose: it tries the job's batch and its doublings
  // up to this one and keeps the fastest per sample that fits; 0 = the job's batch only.
  int64_t max_global_batch = 0;
};

const spec::Schema<RecSource>& RecSourceSchema();

// The job spec: the model and cluster references loaded, the GPU and the dense part replaced
// when given.
Result<spec::RecJobSpec> LoadRecJob(const RecSource& source, const spec::RecJobSpec& keys);

struct PlannerRun {
  std::string planner;  // a planner's name, or "file" for --sharding
  ShardingPlan plan;
  RecStep step;
  Loads loads;                      // per rank: lookups, sends, memory (the per-rank stats)
  std::vector<EngineScore> scores;  // one per engine, in Engines() order
  double plan_cpu_s = 0;
};

struct RecStudy {
  RecJob job;  // with the global batch chosen
  // Global batches tried (max_global_batch) and the samples/s of the chosen planner's plan at
  // each (0 where no plan fits); empty when the batch was fixed.
  std::vector<std::pair<int64_t, double>> batches;
  model::RankingCounts counts;
  RecFactors factors;
  std::vector<PlannerRun> runs;       // runs[0] is the answer: the chosen planner or the file
  std::vector<std::string> failures;  // "planner: why" for planners that found no plan
};

Result<RecStudy> RunRecStudy(const spec::RecJobSpec& spec, const PlannerOptions& options,
                             const RecSource& source);

}  // namespace scaleplan::recsys
