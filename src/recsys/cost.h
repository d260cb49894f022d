// The step time and memory of training a ranking model under a sharding plan (scaleplan's own
// model; TorchRec's and HugeCTR's cost formulas are beside it in engines.h).
//
// Notation: W ranks, n ranks per node, B the global batch, b = B / W the local batch; a table has
// R rows, dim d, pooling L (ids per sample), s_w bytes per weight, zipf skew a; a block of it has
// w columns on a row group of g ranks (recsys/sharding.h). s_i = index_bytes, s_p = pooled_bytes.
//
// Ids. U(N, R, a) = sum_i (1 - exp(-N p_i)), p_i = i^-a / H_R(a): the distinct rows N Zipf draws
// touch (independent reference model; sums over geometric buckets of ids). A software cache of
// C rows hits with Che's approximation (Che, Tung, Wang 2002): T solves U(T, R, a) = C and
// hit = sum_i p_i (1 - exp(-p_i T)); fused tables hit 1, uvm 0.
//
// Lookups, per rank, summed over its blocks (forward reads every id's row; the backward reads
// the pooled gradients, expands them per id, and updates each touched row and its optimizer
// state once, fused, as FBGEMM and HugeCTR do):
//   ids            N_b = B L / g
//   forward bytes  h N_b w s_w + N_b s_i + B w s_p                 (HBM)  + (1-h) N_b w s_w (host)
//   backward bytes B w s_p + N_b (s_i + w s_p) + h U_b (2 w s_w + 2 o(w))  + (1-h) U_b (...) (host)
//   with U_b = U(B L, R, a) / g and o(w) the optimizer state per row: rowwise_adagrad 4,
//   adagrad 4w, adam 8w, sgd 0 (bytes).
//   time = HBM bytes x penalty(w) / (hbm_bw * lookup_bandwidth_fraction) + host bytes / host_bw,
//   penalty(w) = 1 for w >= 128 columns, 1.15 for 64 <= w < 128, 1.75 below: narrow rows waste
//   memory transactions (the dimension penalty of TorchRec's estimator, shard_estimators.py).
// Host bytes move at min(host_bw, HBM lookup bandwidth): a row in host memory is never faster.
// With prefetch_pipeline, a uvm_caching block's forward reads every row from HBM, and the distinct
// rows it misses, (1-h) U_b w s_w, cross the host link ahead of the step, after the ids arrive:
//   prefetch_exposed = max(0, ids + prefetch - (forward + backward)) - ids_exposed.
// Data-parallel tables: every rank looks up its b samples locally (the forward bytes with B -> b,
// g = 1, h = 1); the backward reads the pooled gradients, expands them per id and accumulates the
// touched rows' FP32 gradients (b w s_p + N_b (s_i + d s_p) + 8 d U(b L, R, a)); the table's
// gradient (R d dense_grad_bytes) is all-reduced with the dense gradients, and the optimizer
// steps the whole table (read weights, gradient and state, write weights and state:
// R (2 d s_w + 4 d + 2 o(d)) bytes, streamed at the memory-bound kernels' bandwidth, in the dense
// optimizer phase).
//
// Communication, each collective on all W ranks priced by collective::Estimate on the cluster
// (the slowest rank's bytes decide: a rank sending or receiving more waits for its links):
//   ids all-to-all   send b sum_blocks L s_i, receive sum_{blocks on r} N_b s_i
//   pooled a2a       send B w s_p per block member (the whole pooled output when g = 1, partial
//                    sums when g > 1; B w s_p / n after the node's reduction for table_row_wise
//                    and grid), receive b w s_p per block (times g for row-wise partial sums);
//                    the backward sends the same bytes back (gradients)
//   node reduce      table_row_wise / grid: reduce-scatter of B w s_p inside the node forward,
//                    all-gather backward
//   all-reduce       dense parameters x dense_grad_bytes + data-parallel tables' gradients
// Dense compute: the model's dense ops (recsys/dense.h) on the GPU's GEMM tables
// (hardware/efficiency.h) with b rows: each GEMM's forward, input gradient (dgrad) and weight
// gradient (wgrad, reducing over the b rows) priced by shape; a product without weights (the dot
// interaction, attention's scores) is batched per sample, so both its backward GEMMs are dgrads
// of the forward's shape; memory-bound ops by their forward and backward bytes; the dense optimizer (Adagrad or Adam
// state per the job's optimizer) streams FP32 weights, gradients and state once.
//
// The step is the critical path; each collective is a barrier, so each phase is its slowest rank:
//   embed_fwd = lookup_fwd + node_reduce + pooled_fwd        (+ ids when not pipelined)
//   forward   = max(bottom_fwd, embed_fwd) + top_fwd          (overlap_embeddings; else the sum)
//   embed_bwd = pooled_bwd + node_gather + lookup_bwd
//   dense_rest = top_wgrad + bottom_bwd                       (not on the path to the tables)
//   backward  = top_dgrad + max(embed_bwd, dense_rest)        (overlap_embeddings; else the sum)
//   step = ids_exposed + prefetch_exposed + forward + backward + allreduce_exposed
//        + dense_optimizer + step_overhead_s
//   ids_exposed = max(0, ids - (forward + backward)) with pipeline_input_dist, else 0 (the ids
//   are then in embed_fwd); allreduce_exposed = max(0, allreduce - (backward - top_dgrad)): the
//   gradient all-reduce starts with the first weight gradients.
// "top" is the interaction, the top MLP and the loss; "bottom" the bottom MLP.
//
// Memory per rank: its shards (weights and optimizer state; uvm_caching keeps cache_ratio of them
// in HBM and the rest in host memory, uvm all of them), data-parallel tables (weights, state and a
// gradient), dense weights, gradients and state in FP32, activations (b x each GEMM's output
// rows x width, twice: saved and its gradient; b x each memory-bound op's forward bytes) and the
// communication buffers (ids twice when pipelined, pooled embeddings forward and backward).
// Capacity: gpu.memory_bytes x usable_memory_fraction x (1 - hbm_reserve_fraction); host:
// host_memory_bytes.
//
// Two named factors are fitted on the single-node MLPerf DLRM-DCNv2 runs (recsys/validate.h,
// docs/REC.md): lookup_bandwidth_fraction, the fraction of HBM bandwidth the embedding kernels
// reach on random rows, and step_overhead_s, what a step costs beyond the modelled work (kernel
// launches, data loading, synchronisation).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "hardware/efficiency.h"
#include "recsys/sharding.h"

namespace scaleplan::recsys {

struct RecFactors {
  double lookup_bandwidth_fraction = 0.5;
  double step_overhead_s = 0;
};

// The factors as fitted (recsys/validate.h; docs/REC.md has the fit and its cross-validation).
RecFactors FittedFactors();

// Distinct rows `draws` Zipf(a) draws touch among `rows` (a = 0: uniform).
double ZipfUniqueRows(double rows, double zipf, double draws);
// Che's approximation of the hit ratio of an LRU cache of `cache_rows` rows.
double ZipfCacheHitRatio(double rows, double zipf, double cache_rows);

// What one rank carries (sums over its blocks).
struct RankLoad {
  double lookup_fwd_s = 0;
  double lookup_bwd_s = 0;
  double prefetch_s = 0;  // prefetch_pipeline: the next batch's missing rows over the host link
  double hbm_bytes = 0;   // shards' weights and optimizer state in HBM
  double host_bytes = 0;  // shards' weights and state in host memory (UVM)
  double pooled_send_bytes = 0;
  double node_reduce_bytes = 0;
  double ids_recv_bytes = 0;
  int64_t blocks = 0;
};

// Everything the step depends on, summed over the tables as they are placed; tables can be added
// and removed (CostModel::Apply with sign -1), which is how the planner moves them.
struct Loads {
  std::vector<RankLoad> ranks;
  double pooled_recv_bytes = 0;  // per rank (equal on every rank: the batch is split evenly)
  double ids_send_bytes = 0;     // per rank
  double dp_lookup_fwd_s = 0;    // data-parallel tables, on every rank
  double dp_lookup_bwd_s = 0;
  double dp_grad_bytes = 0;
  double dp_update_bytes = 0;  // data-parallel tables' optimizer step over the whole table
  double dp_memory_bytes = 0;
};

struct RecStep {
  double step_s = 0;
  double forward_s = 0;   // critical path of the forward
  double backward_s = 0;  // critical path of the backward
  double ids_s = 0;
  double ids_exposed_s = 0;
  double prefetch_s = 0;          // the slowest rank's cache prefetch (prefetch_pipeline)
  double prefetch_exposed_s = 0;  // what of it the step does not hide
  double lookup_fwd_s = 0;
  double node_reduce_s = 0;
  double pooled_fwd_s = 0;
  double bottom_fwd_s = 0;
  double top_fwd_s = 0;
  double top_dgrad_s = 0;
  double pooled_bwd_s = 0;
  double node_gather_s = 0;
  double lookup_bwd_s = 0;
  double dense_rest_s = 0;  // top weight gradients and the bottom MLP backward
  double allreduce_s = 0;
  double allreduce_exposed_s = 0;
  double dense_optimizer_s = 0;
  double overhead_s = 0;
  double samples_per_s = 0;
  double samples_per_s_per_gpu = 0;
  int64_t slowest_lookup_rank = 0;
  // Memory.
  double hbm_capacity_bytes = 0;
  double max_hbm_bytes = 0;
  int64_t fullest_rank = 0;
  // The fullest rank's HBM by part (they sum to max_hbm_bytes).
  struct MemoryParts {
    double shards_bytes = 0;         // its table shards' weights and optimizer state in HBM
    double data_parallel_bytes = 0;  // data-parallel tables: weights, state, gradient
    double dense_state_bytes = 0;    // dense weights, gradients and optimizer state (FP32)
    double activation_bytes = 0;     // dense activations and their gradients
    double buffer_bytes = 0;         // ids and pooled embeddings in flight
  } fullest;
  double max_host_bytes = 0;
  bool fits = true;
  std::vector<double> rank_hbm_bytes;
};

class CostModel {
 public:
  static Result<CostModel> For(const RecJob& job, const RecFactors& factors = FittedFactors());

  const RecJob& job() const { return job_; }
  Loads Empty() const;
  // Adds (sign +1) or removes (-1) table `index` placed as `sharding`.
  void Apply(size_t index, const TableSharding& sharding, double sign, Loads& loads) const;
  Loads LoadsOf(const ShardingPlan& plan) const;
  RecStep Step(const Loads& loads) const;
  // The plan's step and memory; CheckPlan first.
  Result<RecStep> Evaluate(const ShardingPlan& plan) const;

  // Bytes a table's weights and optimizer state take (all of it, one copy).
  double TableBytes(size_t index) const;
  // Lookup bytes per step of a table (B L w s_w): the planner's measure of a table's work.
  double TableLookupBytes(size_t index) const;
  double HitRatio(size_t index, const TableSharding& sharding) const;
  // Usable HBM per GPU (bytes), after the reservation.
  double capacity_bytes() const { return capacity_bytes_; }
  // Dense parameters, and the HBM every rank needs before any table: dense weights, gradients and
  // optimizer state, and the dense activations.
  double dense_params() const { return dense_params_; }
  double fixed_bytes() const { return static_bytes_ + activation_bytes_; }

 private:
  struct TableInfo {
    double rows = 0;
    double dim = 0;
    double pooling = 0;
    double zipf = 0;
    double unique_rows = 0;     // U(B L, R, a)
    double dp_unique_rows = 0;  // U(b L, R, a): a data-parallel copy's rows touched
  };
  double OptimizerBytesPerRow(double width) const;

  RecJob job_;
  RecFactors factors_;
  hardware::DeviceModel device_;
  std::vector<TableInfo> tables_;
  // Che's hit ratio per table, memoised by cache ratio (the planner asks for a few ratios often).
  mutable std::vector<std::vector<std::pair<double, double>>> hit_memo_;
  double weight_bytes_ = 4;
  double hbm_bw_ = 0;
  double bottom_fwd_s_ = 0;
  double bottom_bwd_s_ = 0;
  double top_fwd_s_ = 0;
  double top_dgrad_s_ = 0;
  double top_wgrad_s_ = 0;
  double dense_optimizer_s_ = 0;
  double dense_params_ = 0;
  double static_bytes_ = 0;      // dense state on every rank
  double activation_bytes_ = 0;  // dense activations per rank
  double capacity_bytes_ = 0;
};

}  // namespace scaleplan::recsys
