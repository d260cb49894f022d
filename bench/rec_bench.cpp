// Speed of the ranking-model sharding planners (docs/BENCHMARKS.md records the results).
// Targets (issue 18): planning the 26 tables of MLPerf DLRM-DCNv2 in <= 1 s and an 800-table ads
// model in <= 10 s on 2 cores. Each call is scaleplan's planner: its greedy start, the TorchRec
// and HugeCTR emulations as seeds, and the local-search passes from each, on 8 or 128 H100s.
#include <benchmark/benchmark.h>

#include "recsys/planner.h"
#include "recsys/study.h"

namespace {

using namespace scaleplan;

void PlanOnce(benchmark::State& state, const std::string& model) {
  recsys::RecSource source;
  source.model = model;
  source.gpus = state.range(0);
  spec::RecJobSpec spec = *recsys::LoadRecJob(source, spec::RecJobSpec{});
  recsys::RecJob job = *recsys::ResolveRecJob(spec);
  recsys::CostModel cost = *recsys::CostModel::For(job);
  for (auto _ : state) {
    Result<recsys::ShardingPlan> plan = recsys::RunPlanner(cost, recsys::PlannerOptions{});
    if (!plan.ok()) state.SkipWithError(plan.status().message().c_str());
    benchmark::DoNotOptimize(plan);
  }
}

void BM_PlanMlperf26Tables(benchmark::State& state) { PlanOnce(state, "mlperf-dlrm-dcnv2"); }
void BM_PlanAds800Tables(benchmark::State& state) { PlanOnce(state, "ads-73b"); }

}  // namespace

BENCHMARK(BM_PlanMlperf26Tables)->Arg(8)->Arg(128)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PlanAds800Tables)->Arg(8)->Arg(128)->Arg(1024)->Unit(benchmark::kMillisecond)->Iterations(1);
