// Sharding plan files (recsys/sharding.h: `scaleplan rec --sharding FILE`) against MLPerf
// DLRM-DCNv2 on two 8-GPU nodes. An accepted plan is rated: the step is finite and positive, the
// memory finite, and every engine's score finite.
#include "fuzz/fuzz_check.h"
#include "recsys/cost.h"
#include "recsys/planner.h"
#include "recsys/study.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Result<recsys::RecJob> job = [] {
    recsys::RecSource source;
    source.gpus = 16;
    Result<spec::RecJobSpec> spec = recsys::LoadRecJob(source, spec::RecJobSpec{});
    if (!spec.ok()) return Result<recsys::RecJob>(spec.status());
    return recsys::ResolveRecJob(*spec);
  }();
  if (!job.ok()) fuzz::Fail("job", job.status().message());
  static const Result<recsys::CostModel> cost = recsys::CostModel::For(*job);
  if (!cost.ok()) fuzz::Fail("cost", cost.status().message());
  Result<recsys::ShardingPlan> plan =
      recsys::ParsePlanJson(*job, fuzz::AsText(data, size), "plan.json");
  fuzz::CheckError(plan);
  if (!plan.ok()) return 0;
  Result<recsys::RecStep> step = cost->Evaluate(*plan);
  fuzz::CheckError(step);
  if (!step.ok()) return 0;
  fuzz::CheckPositive(step->step_s, "step_s");
  fuzz::CheckFinite(step->max_hbm_bytes, "max_hbm_bytes");
  for (const recsys::EngineInfo& e : recsys::Engines()) {
    fuzz::CheckFinite(e.score(*cost, *plan, recsys::PlannerOptions{}).value, e.name);
  }
  return 0;
}
