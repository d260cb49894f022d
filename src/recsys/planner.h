// Sharding planners behind one registry, and the engines that rate a plan.
//
// Planners:
//   scaleplan  greedy then local search on this project's step model (recsys/cost.h): tables in
//              decreasing lookup bytes each take the placement that lowers the modelled step
//              most (data_parallel for tables up to 1% of HBM; table_wise on the 8 least-loaded
//              ranks and the 8 with the most free HBM; column_wise and row_wise over the 2, 4,
//              ... least-loaded ranks, row_wise over all; table_row_wise on any node and grid on
//              the least-loaded nodes; fused, or uvm_caching with the largest cache that fits
//              when no fused placement does), then passes that move one table at a time while
//              the objective improves (the step, ties broken by the root mean square of the
//              ranks' own work, so plateaus still move). The same passes start from TorchRec's
//              and HugeCTR's plans and the best wins, so the answer is never worse on this model
//              than theirs; then iterated local search (kicks of three tables drawn by lookup
//              bytes, descent, keep the better; seeded) leaves single-table optima.
//   torchrec   an emulation of TorchRec's EmbeddingShardingPlanner with its own estimators
//              (torchrec/distributed/planner at a48cef79: enumerator, shard estimators with the
//              V100-era constants of constants.py, uniform and greedy proposers, the greedy perf
//              partitioner, NoopPerfModel's rating; ../shared/rec-facts.md section 3 lists the
//              formulas). Column-wise shards are 128 columns (MIN_CW_DIM); grid is not offered.
//   hugectr    an emulation of NVIDIA's HugeCTR MLPerf sharding planner (hotness balance): tables
//              under hugectr_dp_threshold_bytes (32 MiB) are data-parallel; the rest are placed on
//              the GPU of lowest cost, cost = sum of hotness / split + (comm ratio / 2) x tables,
//              within 60 GB per GPU at 8 bytes per weight (Adagrad); 20 rounds split the hottest
//              table over twice the GPUs (row-wise) and keep the best plan.
//   exact      the optimum of the step model over a fixed space, for small instances: every table
//              data_parallel (up to 1% of HBM), table_wise on any rank, column_wise and row_wise
//              over each run of 2, 4, ... consecutive ranks (cyclically; column blocks >= 32
//              columns) and row_wise over all, table_row_wise on any node; fused kernels.
//              Depth-first in decreasing lookup bytes, pruned by the partial plan's step less its
//              exposed all-reduce (adding a table never shortens that) and memory; on one node the
//              first table starts at rank 0 (rotating the ranks maps the space onto itself). More
//              than 64 tables or 64 GPUs, or more than exact_max_plans partial plans (at most 10^8,
//              about a minute), is an error.
// Engines: `scaleplan` rates a plan by recsys/cost.h's step (seconds); `torchrec` by TorchRec's
// NoopPerfModel (the slowest rank's sum of shard estimates, seconds, V100-era constants);
// `hugectr` by the highest GPU cost (hotness units, no time).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "recsys/cost.h"
#include "recsys/sharding.h"
#include "spec/schema.h"

namespace scaleplan::recsys {

inline constexpr int64_t kMaxExactPlans = 100000000;  // planner.exact_max_plans' bound

struct PlannerOptions {
  std::string planner = "scaleplan";
  int64_t max_passes = 20;            // scaleplan: local-search passes over the tables
  int64_t kicks = 40;                 // scaleplan: iterated local search's perturbations
  uint64_t seed = 1;                  // scaleplan: their seed
  int64_t exact_max_plans = 5000000;  // exact: partial plans visited at most (kMaxExactPlans)
  // hugectr: tables at most this large (weights) are data-parallel (assumption: 32 MiB; the
  // MLPerf submission's value is a command-line flag not in the published logs).
  double hugectr_dp_threshold_bytes = 33554432.0;
  // hugectr: mem_comm_bw_ratio; 0 = 7 on one node, 67 across nodes (NVIDIA's DGX H100 values).
  double hugectr_comm_ratio = 0;
};

const spec::Schema<PlannerOptions>& PlannerOptionsSchema();
// The one planner that reads an option of PlannerOptionsSchema; "" for `planner` itself and for
// the hugectr_* options, which every run reads (the scaleplan planner's start, the hugectr score).
std::string_view PlannerOfOption(std::string_view key);

struct PlannerInfo {
  std::string name;
  std::string description;
  Result<ShardingPlan> (*plan)(const CostModel& cost, const PlannerOptions& options);
  bool compared = true;  // `scaleplan rec` runs it beside the chosen planner
};
const std::vector<PlannerInfo>& Planners();
std::vector<std::string> PlannerNames();
// Planner options given (`given(key)`) that change nothing in this run are an error naming the
// option's flag and what is allowed: with a plan file (`sharding`, rated, not planned) --planner,
// and any planner option without `compare`; otherwise an option of a planner that does not run
// (only the chosen planner runs, and under `compare` every compared one, not exact).
Status CheckGivenPlannerOptions(const PlannerOptions& options, bool compare,
                                const std::string& sharding,
                                const std::function<bool(std::string_view key)>& given);
// Planning work grows with tables x GPUs (each table tries every rank; below 64 GPUs the
// per-table work dominates), and faster than that in the tables: on the 2-core development
// machine (2026-12-03, `build/test`, idle) 32,768 tables on 128 GPUs (4.2 M) took 39 s, and at
// 2^21 about 5.5 s (32,768 tables on 64 GPUs, 16,384 on 128, 2,048 on 1,024); 10,000 tables on
// 1,024 GPUs (10.2 M) took 45 s, loaded. At most kMaxPlannerWork of tables x max(GPUs, 64), a
// few seconds; more is refused up front by RunPlanner; rating a plan file (--sharding) has no
// such bound.
inline constexpr int64_t kMaxPlannerWork = int64_t{1} << 21;
Result<ShardingPlan> RunPlanner(const CostModel& cost, const PlannerOptions& options);

struct EngineScore {
  std::string engine;
  std::string unit;  // "s" or "cost"
  double value = 0;
  std::vector<double> per_rank;
};
struct EngineInfo {
  std::string name;
  std::string description;
  EngineScore (*score)(const CostModel& cost, const ShardingPlan& plan,
                       const PlannerOptions& options);
};
const std::vector<EngineInfo>& Engines();

// TorchRec's estimate of one table's sharding, per rank (seconds); for tests and the report.
std::vector<double> TorchRecShardPerf(const RecJob& job, size_t table, const TableSharding& s);

}  // namespace scaleplan::recsys
