#include "recsys/cost.h"

#include <algorithm>
#include <cmath>

#include "collective/collective.h"
#include "model/ranking.h"

namespace scaleplan::recsys {

namespace {

// Ids 1..R in geometric buckets: ids 1..64 one by one, then buckets growing by 10% each, each
// represented by its geometric midpoint (Zipf probabilities change slowly inside one).
struct Bucket {
  double count = 0;
  double p = 0;  // probability of one id of the bucket
};

// TorchRec's dimension penalty (shard_estimators.py): narrow rows use memory transactions badly.
double WidthPenalty(double width) {
  if (width >= 128) return 1;
  if (width >= 64) return 1.15;
  return 1.75;
}

std::vector<Bucket> ZipfBuckets(double rows, double zipf) {
  std::vector<Bucket> buckets;
  rows = std::max(1.0, std::floor(rows));
  double lo = 1;
  while (lo <= rows) {
    double hi = lo < 64 ? lo : std::min(rows, std::floor(lo * 1.1));
    hi = std::min(std::max(hi, lo), rows);
    double mid = std::sqrt(lo * hi);
    buckets.push_back(Bucket{hi - lo + 1, std::pow(mid, -zipf)});
    lo = hi + 1;
  }
  double total = 0;
  for (const Bucket& b : buckets) total += b.count * b.p;
  for (Bucket& b : buckets) b.p /= total;
  return buckets;
}

double Unique(const std::vector<Bucket>& buckets, double draws) {
  double u = 0;
  for (const Bucket& b : buckets) u += b.count * -std::expm1(-draws * b.p);
  return u;
}

}  // namespace

RecFactors FittedFactors() {
  // Fitted by `scaleplan rec-validate` on the four single-node runs of
  // data/validation/mlperf-dlrm.csv (docs/REC.md); tests/recsys_test.cpp refits and compares.
  RecFactors f;
  f.lookup_bandwidth_fraction = 0.27;
  f.step_overhead_s = 60e-6;
  return f;
}

double ZipfUniqueRows(double rows, double zipf, double draws) {
  if (rows <= 0 || draws <= 0) return 0;
  return std::min(rows, Unique(ZipfBuckets(rows, zipf), draws));
}

double ZipfCacheHitRatio(double rows, double zipf, double cache_rows) {
  if (cache_rows >= rows) return 1;
  if (cache_rows <= 0) return 0;
  std::vector<Bucket> buckets = ZipfBuckets(rows, zipf);
  // Characteristic time T: the cache holds the rows referenced within the last T draws.
  double lo = 0;
  double hi = cache_rows;
  while (Unique(buckets, hi) < cache_rows && hi < 1e300) hi *= 2;
  for (int i = 0; i < 100; ++i) {
    double mid = 0.5 * (lo + hi);
    (Unique(buckets, mid) < cache_rows ? lo : hi) = mid;
  }
  double hit = 0;
  for (const Bucket& b : buckets) hit += b.count * b.p * -std::expm1(-b.p * hi);
  return std::clamp(hit, 0.0, 1.0);
}

Result<CostModel> CostModel::For(const RecJob& job, const RecFactors& factors) {
  CostModel m;
  m.job_ = job;
  m.factors_ = factors;
  spec::FrameworkSpec framework;  // generic fused kernels (hardware/efficiency.h)
  SP_ASSIGN_OR_RETURN(m.device_, hardware::DeviceModel::For(job.spec.cluster.gpu,
                                                            spec::Precision::kBf16, framework));
  const spec::RankingModelSpec& model = job.spec.model;
  m.weight_bytes_ = spec::EmbeddingDtypeBytes(model.embedding_dtype);
  m.hbm_bw_ = job.spec.cluster.gpu.memory_bandwidth_bytes_per_s;
  const double batch = static_cast<double>(job.spec.global_batch);
  for (const spec::TableSpec& t : model.tables) {
    TableInfo info;
    info.rows = static_cast<double>(t.rows);
    info.dim = static_cast<double>(model.DimOf(t));
    info.pooling = t.pooling;
    info.zipf = t.zipf;
    info.unique_rows = ZipfUniqueRows(info.rows, t.zipf, batch * t.pooling);
    info.dp_unique_rows = ZipfUniqueRows(info.rows, t.zipf, job.local_batch * t.pooling);
    m.tables_.push_back(info);
  }
  m.hit_memo_.resize(m.tables_.size());
  // Dense part on b rows.
  const double b = job.local_batch;
  const double act = model::kDenseActivationBytes;
  double activation_per_sample = 0;
  for (const model::DenseOp& op : job.dense_ops) {
    m.dense_params_ += op.params;
    double fwd = 0;
    double dgrad = 0;
    double wgrad = 0;
    if (op.kind == model::DenseOpKind::kGemm) {
      double rows = b * op.rows_per_sample;
      double k = static_cast<double>(op.k);
      double n = static_cast<double>(op.n);
      double flops = b * op.flops_per_sample;
      double bytes = (rows * k + k * n + rows * n) * act;
      fwd = m.device_.GemmSeconds(flops, bytes, rows, n, k);
      dgrad = m.device_.GemmSeconds(flops, bytes, rows, k, n);
      // A layer's weight gradient reduces over the batch's rows (k x n from k x rows by rows x
      // n). The dot interaction's and attention's products have no weights: they are batched
      // per sample, so both backward GEMMs are input gradients of the forward's shape.
      if (op.params > 0) {
        wgrad = m.device_.GemmSeconds(flops, bytes, k, n, rows);
      } else {
        dgrad += m.device_.GemmSeconds(flops, bytes, rows, k, n);
      }
      activation_per_sample += 2 * op.rows_per_sample * n * act;
    } else {
      fwd = m.device_.MemoryBoundSeconds(b * op.flops_per_sample, b * op.bytes_per_sample);
      dgrad = m.device_.MemoryBoundSeconds(2 * b * op.flops_per_sample,
                                           b * op.backward_bytes_per_sample);
      activation_per_sample += op.bytes_per_sample;
    }
    if (op.bottom) {
      m.bottom_fwd_s_ += fwd;
      m.bottom_bwd_s_ += dgrad + wgrad;
    } else {
      m.top_fwd_s_ += fwd;
      m.top_dgrad_s_ += dgrad;
      m.top_wgrad_s_ += wgrad;
    }
  }
  double dense_states = 0;
  switch (job.spec.optimizer) {
    case spec::EmbeddingOptimizer::kSgd:
      dense_states = 0;
      break;
    case spec::EmbeddingOptimizer::kRowWiseAdagrad:
    case spec::EmbeddingOptimizer::kAdagrad:
      dense_states = 1;
      break;
    case spec::EmbeddingOptimizer::kAdam:
      dense_states = 2;
      break;
  }
  // FP32 weights, gradients and states: read weight, gradient and states, write weight and states.
  m.dense_optimizer_s_ = m.device_.MemoryBoundSeconds(m.dense_params_ * 4 * (1 + dense_states),
                                                      m.dense_params_ * 4 * (3 + 2 * dense_states));
  m.static_bytes_ = m.dense_params_ * 4 * (2 + dense_states);
  m.activation_bytes_ = b * activation_per_sample;
  const spec::GpuSpec& gpu = job.spec.cluster.gpu;
  m.capacity_bytes_ =
      gpu.memory_bytes * gpu.usable_memory_fraction * (1 - job.spec.hbm_reserve_fraction);
  return m;
}

double CostModel::OptimizerBytesPerRow(double width) const {
  switch (job_.spec.optimizer) {
    case spec::EmbeddingOptimizer::kSgd:
      return 0;
    case spec::EmbeddingOptimizer::kRowWiseAdagrad:
      return 4;
    case spec::EmbeddingOptimizer::kAdagrad:
      return 4 * width;
    case spec::EmbeddingOptimizer::kAdam:
      return 8 * width;
  }
  return 0;
}

double CostModel::TableBytes(size_t index) const {
  const TableInfo& t = tables_[index];
  return t.rows * (t.dim * weight_bytes_ + OptimizerBytesPerRow(t.dim));
}

double CostModel::TableLookupBytes(size_t index) const {
  const TableInfo& t = tables_[index];
  return static_cast<double>(job_.spec.global_batch) * t.pooling * t.dim * weight_bytes_;
}

double CostModel::HitRatio(size_t index, const TableSharding& s) const {
  switch (s.kernel) {
    case Kernel::kFused:
      return 1;
    case Kernel::kUvm:
      return 0;
    case Kernel::kUvmCaching: {
      for (const auto& [ratio, hit] : hit_memo_[index]) {
        if (ratio == s.cache_ratio) return hit;
      }
      const TableInfo& t = tables_[index];
      double hit = ZipfCacheHitRatio(t.rows, t.zipf, s.cache_ratio * t.rows);
      hit_memo_[index].emplace_back(s.cache_ratio, hit);
      return hit;
    }
  }
  return 1;
}

Loads CostModel::Empty() const {
  Loads loads;
  loads.ranks.resize(static_cast<size_t>(job_.world));
  return loads;
}

void CostModel::Apply(size_t index, const TableSharding& s, double sign, Loads& loads) const {
  const TableInfo& t = tables_[index];
  const spec::RecJobSpec& js = job_.spec;
  const double batch = static_cast<double>(js.global_batch);
  const double b = job_.local_batch;
  const double sw = weight_bytes_;
  const double si = js.index_bytes;
  const double sp = js.pooled_bytes;
  const double lookup_bw = hbm_bw_ * factors_.lookup_bandwidth_fraction;
  // A row fetched from host memory is never faster than one in HBM.
  const double host_bw = std::min(js.host_bandwidth_bytes_per_s, lookup_bw);
  if (s.type == ShardingType::kDataParallel) {
    double ids = b * t.pooling;
    double unique = t.dp_unique_rows;
    double fwd = ids * (t.dim * sw + si) + b * t.dim * sp;
    // The backward only accumulates the rows' gradients (FP32, read and written); the
    // optimizer steps the whole table in the dense optimizer phase.
    double bwd = b * t.dim * sp + ids * (si + t.dim * sp) + unique * t.dim * 4 * 2;
    loads.dp_lookup_fwd_s += sign * fwd * WidthPenalty(t.dim) / lookup_bw;
    loads.dp_lookup_bwd_s += sign * bwd * WidthPenalty(t.dim) / lookup_bw;
    loads.dp_grad_bytes += sign * t.rows * t.dim * js.dense_grad_bytes;
    loads.dp_update_bytes +=
        sign * t.rows * (2 * t.dim * sw + 4 * t.dim + 2 * OptimizerBytesPerRow(t.dim));
    loads.dp_memory_bytes += sign * (TableBytes(index) + t.rows * t.dim * 4);
    return;
  }
  const double hit = HitRatio(index, s);
  const double in_hbm =
      s.kernel == Kernel::kFused ? 1 : (s.kernel == Kernel::kUvm ? 0 : s.cache_ratio);
  const spec::TableSpec& table = js.model.tables[index];
  for (const Block& block : BlocksOf(job_, table, s)) {
    const double g = static_cast<double>(block.group.size());
    const double w = static_cast<double>(block.width);
    const double ids = batch * t.pooling / g;
    const double unique = t.unique_rows / g;
    const double row_bytes = w * sw;
    const double update = unique * (2 * row_bytes + 2 * OptimizerBytesPerRow(w));
    // Prefetched: every id's row is read from HBM; the missing distinct rows were fetched ahead.
    const bool prefetched = js.prefetch_pipeline && s.kernel == Kernel::kUvmCaching;
    const double read_hit = prefetched ? 1 : hit;
    const double fwd_hbm = read_hit * ids * row_bytes + ids * si + batch * w * sp;
    const double fwd_host = (1 - read_hit) * ids * row_bytes;
    const double prefetch = prefetched ? (1 - hit) * unique * row_bytes : 0;
    const double bwd_hbm = batch * w * sp + ids * (si + w * sp) + hit * update;
    const double bwd_host = (1 - hit) * update;
    const double shard_bytes = (t.rows / g) * (row_bytes + OptimizerBytesPerRow(w));
    const double penalty = WidthPenalty(w);
    for (int64_t r : block.group) {
      RankLoad& rank = loads.ranks[static_cast<size_t>(r)];
      rank.lookup_fwd_s += sign * (fwd_hbm * penalty / lookup_bw + fwd_host / host_bw);
      rank.lookup_bwd_s += sign * (bwd_hbm * penalty / lookup_bw + bwd_host / host_bw);
      rank.prefetch_s += sign * prefetch / host_bw;
      rank.hbm_bytes += sign * shard_bytes * in_hbm;
      rank.host_bytes += sign * shard_bytes * (1 - in_hbm);
      rank.pooled_send_bytes += sign * (block.node_reduce ? batch * w * sp / g : batch * w * sp);
      rank.node_reduce_bytes += sign * (block.node_reduce ? batch * w * sp : 0);
      rank.ids_recv_bytes += sign * ids * si;
      rank.blocks += sign > 0 ? 1 : -1;
    }
    loads.pooled_recv_bytes += sign * b * w * sp * (block.node_reduce ? 1 : g);
    loads.ids_send_bytes += sign * b * t.pooling * si;
  }
}

Loads CostModel::LoadsOf(const ShardingPlan& plan) const {
  Loads loads = Empty();
  for (size_t i = 0; i < plan.tables.size(); ++i) Apply(i, plan.tables[i], 1, loads);
  return loads;
}

RecStep CostModel::Step(const Loads& loads) const {
  RecStep out;
  const spec::ClusterSpec& cluster = job_.spec.cluster;
  const collective::GroupShape all = collective::ConsecutiveGroup(job_.world, cluster);
  const collective::GroupShape node = collective::ConsecutiveGroup(job_.local_world, cluster);
  double ids_bytes = loads.ids_send_bytes;
  double pooled_bytes = loads.pooled_recv_bytes;
  double node_bytes = 0;
  double lookup_fwd = 0;
  double lookup_bwd = 0;
  double slowest_total = -1;
  out.rank_hbm_bytes.resize(loads.ranks.size());
  const double buffers_common =
      (job_.spec.pipeline_input_dist ? 2 : 1) * loads.ids_send_bytes + 2 * loads.pooled_recv_bytes;
  for (size_t r = 0; r < loads.ranks.size(); ++r) {
    const RankLoad& rank = loads.ranks[r];
    ids_bytes = std::max(ids_bytes, rank.ids_recv_bytes);
    pooled_bytes = std::max(pooled_bytes, rank.pooled_send_bytes);
    node_bytes = std::max(node_bytes, rank.node_reduce_bytes);
    if (rank.lookup_fwd_s + rank.lookup_bwd_s > slowest_total) {
      slowest_total = rank.lookup_fwd_s + rank.lookup_bwd_s;
      out.slowest_lookup_rank = static_cast<int64_t>(r);
    }
    lookup_fwd = std::max(lookup_fwd, rank.lookup_fwd_s);
    lookup_bwd = std::max(lookup_bwd, rank.lookup_bwd_s);
    const double buffers = buffers_common +
                           (job_.spec.pipeline_input_dist ? 2 : 1) * rank.ids_recv_bytes +
                           2 * rank.pooled_send_bytes + rank.node_reduce_bytes;
    double hbm =
        static_bytes_ + loads.dp_memory_bytes + activation_bytes_ + rank.hbm_bytes + buffers;
    out.rank_hbm_bytes[r] = hbm;
    if (hbm > out.max_hbm_bytes) {
      out.max_hbm_bytes = hbm;
      out.fullest_rank = static_cast<int64_t>(r);
      out.fullest = RecStep::MemoryParts{rank.hbm_bytes, loads.dp_memory_bytes, static_bytes_,
                                         activation_bytes_, buffers};
    }
    out.max_host_bytes = std::max(out.max_host_bytes, rank.host_bytes);
  }
  auto a2a = [&](double bytes) {
    return collective::Estimate(cluster, all, collective::Op::kAllToAll, bytes).seconds;
  };
  const spec::RecJobSpec& js = job_.spec;
  out.ids_s = a2a(ids_bytes);
  out.lookup_fwd_s = loads.dp_lookup_fwd_s + lookup_fwd;
  out.lookup_bwd_s = loads.dp_lookup_bwd_s + lookup_bwd;
  out.node_reduce_s =
      collective::Estimate(cluster, node, collective::Op::kReduceScatter, node_bytes).seconds;
  out.node_gather_s =
      collective::Estimate(cluster, node, collective::Op::kAllGather, node_bytes).seconds;
  out.pooled_fwd_s = a2a(pooled_bytes);
  out.pooled_bwd_s = out.pooled_fwd_s;
  out.bottom_fwd_s = bottom_fwd_s_;
  out.top_fwd_s = top_fwd_s_;
  out.top_dgrad_s = top_dgrad_s_;
  out.dense_rest_s = top_wgrad_s_ + bottom_bwd_s_;
  out.dense_optimizer_s =
      dense_optimizer_s_ + device_.MemoryBoundSeconds(0, loads.dp_update_bytes, 0);
  out.allreduce_s = collective::Estimate(cluster, all, collective::Op::kAllReduce,
                                         dense_params_ * js.dense_grad_bytes + loads.dp_grad_bytes)
                        .seconds;
  for (const RankLoad& rank : loads.ranks)
    out.prefetch_s = std::max(out.prefetch_s, rank.prefetch_s);
  // Without the input pipeline the ids, and so the prefetch, come at the head of the step.
  const double embed_fwd = (js.pipeline_input_dist ? 0 : out.ids_s + out.prefetch_s) +
                           out.lookup_fwd_s + out.node_reduce_s + out.pooled_fwd_s;
  const double embed_bwd = out.pooled_bwd_s + out.node_gather_s + out.lookup_bwd_s;
  if (js.overlap_embeddings) {
    out.forward_s = std::max(out.bottom_fwd_s, embed_fwd) + out.top_fwd_s;
    out.backward_s = out.top_dgrad_s + std::max(embed_bwd, out.dense_rest_s);
  } else {
    out.forward_s = out.bottom_fwd_s + embed_fwd + out.top_fwd_s;
    out.backward_s = out.top_dgrad_s + embed_bwd + out.dense_rest_s;
  }
  const double compute = out.forward_s + out.backward_s;
  out.ids_exposed_s = js.pipeline_input_dist ? std::max(0.0, out.ids_s - compute) : 0;
  out.prefetch_exposed_s =
      js.pipeline_input_dist
          ? std::max(0.0, out.ids_s + out.prefetch_s - compute) - out.ids_exposed_s
          : 0;
  out.allreduce_exposed_s = std::max(0.0, out.allreduce_s - (out.backward_s - out.top_dgrad_s));
  out.overhead_s = factors_.step_overhead_s;
  out.step_s = out.ids_exposed_s + out.prefetch_exposed_s + out.forward_s + out.backward_s +
               out.allreduce_exposed_s + out.dense_optimizer_s + out.overhead_s;
  out.samples_per_s = static_cast<double>(job_.spec.global_batch) / out.step_s;
  out.samples_per_s_per_gpu = out.samples_per_s / static_cast<double>(job_.world);
  out.hbm_capacity_bytes = capacity_bytes_;
  out.fits =
      out.max_hbm_bytes <= capacity_bytes_ && out.max_host_bytes <= job_.spec.host_memory_bytes;
  return out;
}

Result<RecStep> CostModel::Evaluate(const ShardingPlan& plan) const {
  SP_RETURN_IF_ERROR(CheckPlan(job_, plan));
  return Step(LoadsOf(plan));
}

}  // namespace scaleplan::recsys
