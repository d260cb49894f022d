// How a ranking model's embedding tables are split over the GPUs: TorchRec's sharding types and
// compute kernels, read and written as a TorchRec-style plan (JSON).
//
// Every sharding is, internally, a set of column blocks, each held by a row group of ranks that
// splits its rows evenly (ids are hashed, so lookups spread evenly over the row shards):
//   data_parallel    a full copy on every rank (no blocks; gradients all-reduced)
//   table_wise       one block, the whole table, on ranks[0]
//   column_wise      k = ranks.size() blocks of dim/k columns, block i on ranks[i]
//   row_wise         one block whose rows are split over `ranks` (TorchRec: every rank; any set
//                    is accepted, which is how HugeCTR's "split over n GPUs" is written)
//   table_row_wise   one block whose rows are split over the ranks of one node; pooled partial
//                    sums are reduced inside the node before they cross it
//   grid             column_blocks blocks, block i row-split over the i-th node's ranks in `ranks`
// Kernels: fused (weights and optimizer state in HBM), uvm_caching (in host memory, a software
// cache of cache_ratio of the rows in HBM), uvm (in host memory, no cache).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/ranking.h"
#include "spec/ranking.h"
#include "spec/specs.h"

namespace scaleplan::recsys {

enum class ShardingType { kDataParallel, kTableWise, kColumnWise, kRowWise, kTableRowWise, kGrid };
enum class Kernel { kFused, kUvmCaching, kUvm };

std::string_view ShardingTypeName(ShardingType type);
std::string_view KernelName(Kernel kernel);
std::vector<std::string> ShardingTypeNames();
std::vector<std::string> KernelNames();

struct TableSharding {
  ShardingType type = ShardingType::kTableWise;
  std::vector<int64_t> ranks;  // see above; data_parallel: empty (every rank)
  int64_t column_blocks = 1;   // grid only: blocks; column_wise: ranks.size()
  Kernel kernel = Kernel::kFused;
  double cache_ratio = 0;  // uvm_caching: fraction of the table's rows cached in HBM
  bool operator==(const TableSharding&) const = default;
};

// One entry per table of the model, in the model's order.
struct ShardingPlan {
  std::vector<TableSharding> tables;
};

// A training job for a ranking model, resolved: the model, the cluster cut to `gpus`, the batch.
struct RecJob {
  spec::RecJobSpec spec;
  int64_t world = 0;        // GPUs
  int64_t local_world = 0;  // GPUs per node (tier 0), at most world
  int64_t nodes = 0;        // world / local_world
  double local_batch = 0;   // samples per GPU per step
  std::vector<model::DenseOp> dense_ops;  // the model's dense part (recsys/dense.h)
};

// Checks the spec against its cluster: the model is valid, gpus fit the cluster and fill whole
// nodes (or one node partly), the global batch divides over the GPUs.
Result<RecJob> ResolveRecJob(const spec::RecJobSpec& spec);

// One column block of a table's sharding: `width` columns starting at `offset`, rows split
// evenly over `group` (size 1: the whole block on one rank).
struct Block {
  int64_t offset = 0;
  int64_t width = 0;
  std::vector<int64_t> group;
  bool node_reduce = false;  // partial sums reduced inside the node first (table_row_wise, grid)
};

// The blocks of a non-data-parallel sharding of `table` (empty for data_parallel). The sharding
// must have passed CheckSharding (as must every sharding given to recsys/cost.h and the engines).
std::vector<Block> BlocksOf(const RecJob& job, const spec::TableSpec& table,
                            const TableSharding& sharding);

// The sharding is one `table` can take on `job`: ranks exist, are distinct and fit the type
// (table_row_wise: one whole node; grid: whole nodes; column_wise: each block >= 4 columns and
// the dim divides), the kernel fits (data_parallel is fused; uvm_caching has 0 < ratio <= 1).
// The error names the table, the key and what is allowed.
Status CheckSharding(const RecJob& job, const spec::TableSpec& table, int64_t dim,
                     const TableSharding& sharding);
Status CheckPlan(const RecJob& job, const ShardingPlan& plan);

// TorchRec-style plan JSON:
//   {"tables": [{"name": "t0", "sharding_type": "table_wise", "compute_kernel": "fused",
//                "ranks": [3]}, {"name": "t1", "sharding_type": "grid", "column_blocks": 2,
//                "ranks": [0,1,..,15], "compute_kernel": "uvm_caching", "cache_ratio": 0.2}]}
// Every table of the model appears once, by name; world_size, when given, is the job's GPUs;
// rank_stats (what `scaleplan rec --emit-plan` writes beside the plan) is not read.
nlohmann::json PlanJson(const RecJob& job, const ShardingPlan& plan);
Result<ShardingPlan> ParsePlanJson(const RecJob& job, std::string_view text,
                                   const std::string& origin);
Result<ShardingPlan> LoadPlan(const RecJob& job, const std::string& path);

}  // namespace scaleplan::recsys
