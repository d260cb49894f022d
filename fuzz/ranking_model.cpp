// Ranking-model files (spec/ranking.h: `scaleplan rec --model FILE`). An accepted model's counts
// are finite (its dense part from its keys or from the architecture `arch` names); a small one
// is planned on 2 GPUs by scaleplan's planner with one pass, and an accepted plan's step is
// finite and positive.
#include "fuzz/fuzz_check.h"
#include "model/ranking.h"
#include "recsys/cost.h"
#include "recsys/dense.h"
#include "recsys/planner.h"
#include "spec/ranking.h"
#include "spec/readers.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<spec::RankingModelSpec> model =
      spec::ParseRankingModelYaml(fuzz::AsText(data, size), "model.yaml");
  fuzz::CheckError(model);
  if (!model.ok()) return 0;
  Result<std::vector<model::DenseOp>> ops = recsys::DenseOpsOf(*model);  // `arch` read here
  fuzz::CheckError(ops);
  if (!ops.ok()) return 0;
  model::RankingCounts counts = model::CountRanking(*model, *ops);
  fuzz::CheckFinite(counts.embedding_params, "embedding_params");
  fuzz::CheckFinite(counts.dense_params, "dense_params");
  fuzz::CheckFinite(counts.dense_flops_per_sample, "dense_flops_per_sample");
  if (model->tables.size() > 32) return 0;  // planning time grows with the tables
  static const Result<spec::ClusterSpec> cluster = spec::ParseClusterYaml(
      "name: two\ngpu: h100-sxm\ntiers:\n  - {name: node, gpus: 2, bandwidth_bytes_per_s: 450e9, "
      "latency_s: 4e-6}\n",
      "cluster.yaml");
  if (!cluster.ok()) fuzz::Fail("cluster", cluster.status().message());
  spec::RecJobSpec spec;
  spec.model = *model;
  spec.cluster = *cluster;
  spec.gpus = 2;
  spec.global_batch = 256;
  Result<recsys::RecJob> job = recsys::ResolveRecJob(spec);
  fuzz::CheckError(job);
  if (!job.ok()) return 0;
  Result<recsys::CostModel> cost = recsys::CostModel::For(*job);
  fuzz::CheckError(cost);
  if (!cost.ok()) return 0;
  recsys::PlannerOptions options;
  options.max_passes = 1;
  Result<recsys::ShardingPlan> plan = recsys::RunPlanner(*cost, options);
  fuzz::CheckError(plan);
  if (!plan.ok()) return 0;
  Result<recsys::RecStep> step = cost->Evaluate(*plan);
  fuzz::CheckError(step);
  if (step.ok()) {
    fuzz::CheckPositive(step->step_s, "step_s");
    fuzz::CheckFinite(step->max_hbm_bytes, "max_hbm_bytes");
  }
  return 0;
}
