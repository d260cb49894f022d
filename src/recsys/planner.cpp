#include "recsys/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "core/text.h"
#include "core/units.h"
#include "model/ranking.h"

namespace scaleplan::recsys {

namespace {

std::vector<int64_t> AllRanks(const RecJob& job) {
  std::vector<int64_t> ranks(static_cast<size_t>(job.world));
  std::iota(ranks.begin(), ranks.end(), 0);
  return ranks;
}

std::vector<int64_t> NodeRanks(const RecJob& job, int64_t node) {
  std::vector<int64_t> ranks;
  for (int64_t j = 0; j < job.local_world; ++j) ranks.push_back(node * job.local_world + j);
  return ranks;
}

// Indices sorted by `key` ascending (stable: ties keep index order, so plans are deterministic).
template <class F>
std::vector<int64_t> SortedBy(int64_t n, F key) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return key(a) < key(b); });
  return idx;
}

Status DoesNotFit(const CostModel& cost, size_t table, const Loads& loads) {
  const RecJob& job = cost.job();
  RecStep step = cost.Step(loads);
  return Status::Invalid(
             fmt::format("no sharding of table {} fits: {:.1f} GiB in HBM on rank {} against "
                         "{:.1f} GiB usable, host memory {:.1f} of {:.1f} GiB (allowed: "
                         "more GPUs, uvm kernels, a smaller model or batch)",
                         Printable(job.spec.model.tables[table].name, 64), step.max_hbm_bytes / kGi,
                         step.fullest_rank, step.hbm_capacity_bytes / kGi,
                         step.max_host_bytes / kGi, job.spec.host_memory_bytes / kGi))
      .WithKey("sharding." + job.spec.model.tables[table].name);
}

// ---------------------------------------------------------------------------------------------
// scaleplan: greedy + local search on the step model.

// Column blocks narrower than this are not proposed: each block repeats the table's ids on the
// wire and narrow rows waste memory transactions (a plan file may still ask for them).
constexpr int64_t kMinColumns = 32;
// Table-wise candidates: this many least-loaded ranks and this many with the most free HBM.
constexpr int64_t kTableWiseCandidates = 8;

class LocalSearch {
 public:
  explicit LocalSearch(const CostModel& cost) : cost_(cost), job_(cost.job()) {}

  // What the search minimises: the step, then, to move on plateaus where several ranks tie
  // for the slowest, the root mean square of the ranks' own work (lookups and pooled sends at
  // the all-to-all's current seconds per byte); a plan that does not fit costs its overflow on
  // top of anything that fits.
  struct Rating {
    double value = 0;
    bool fits = true;
  };
  Rating Objective(const Loads& loads) const {
    RecStep step = cost_.Step(loads);
    double max_send = 0;
    for (const RankLoad& r : loads.ranks) max_send = std::max(max_send, r.pooled_send_bytes);
    const double s_per_byte = max_send > 0 ? step.pooled_fwd_s / max_send : 0;
    double squares = 0;
    for (const RankLoad& r : loads.ranks) {
      double work = r.lookup_fwd_s + r.lookup_bwd_s + 2 * r.pooled_send_bytes * s_per_byte;
      squares += work * work;
    }
    double value = step.step_s + 1e-2 * std::sqrt(squares / static_cast<double>(job_.world));
    if (!step.fits) {
      double over =
          std::max(0.0, step.max_hbm_bytes / step.hbm_capacity_bytes - 1) +
          std::max(0.0, step.max_host_bytes / std::max(1.0, job_.spec.host_memory_bytes) - 1);
      value += 1e6 * (1 + over);
    }
    return {value, step.fits};
  }

  std::vector<TableSharding> Candidates(size_t table, const Loads& loads) const {
    const spec::RankingModelSpec& model = job_.spec.model;
    const int64_t dim = model.DimOf(model.tables[table]);
    std::vector<double> busy(static_cast<size_t>(job_.world));
    for (int64_t r = 0; r < job_.world; ++r) {
      const RankLoad& load = loads.ranks[static_cast<size_t>(r)];
      busy[static_cast<size_t>(r)] = load.lookup_fwd_s + load.lookup_bwd_s;
    }
    std::vector<int64_t> by_busy =
        SortedBy(job_.world, [&](int64_t r) { return busy[static_cast<size_t>(r)]; });
    std::vector<TableSharding> out;
    std::vector<TableSharding> placements;
    // Small tables may be replicated: at most 1% of HBM.
    if (cost_.TableBytes(table) <= 0.01 * cost_.capacity_bytes()) {
      placements.push_back(TableSharding{ShardingType::kDataParallel, {}, 1, Kernel::kFused, 0});
    }
    // Table-wise on the least-loaded ranks and on those with the most free HBM (all ranks on
    // small clusters): a table never goes to a busier rank with less room.
    std::vector<int64_t> by_memory = SortedBy(
        job_.world, [&](int64_t r) { return loads.ranks[static_cast<size_t>(r)].hbm_bytes; });
    std::vector<bool> offered(static_cast<size_t>(job_.world), false);
    for (int64_t i = 0; i < job_.world && i < kTableWiseCandidates; ++i) {
      for (int64_t r : {by_busy[static_cast<size_t>(i)], by_memory[static_cast<size_t>(i)]}) {
        if (offered[static_cast<size_t>(r)]) continue;
        offered[static_cast<size_t>(r)] = true;
        placements.push_back(TableSharding{ShardingType::kTableWise, {r}, 1, Kernel::kFused, 0});
      }
    }
    for (int64_t k = 2; k <= job_.world && dim % k == 0 && dim / k >= kMinColumns; k *= 2) {
      std::vector<int64_t> ranks(by_busy.begin(), by_busy.begin() + k);
      placements.push_back(TableSharding{ShardingType::kColumnWise, ranks, 1, Kernel::kFused, 0});
    }
    // Row-wise over every rank, and over the 2, 4, ... least-loaded ranks (HugeCTR's splits).
    for (int64_t k = 2; k <= job_.world && k <= model.tables[table].rows; k *= 2) {
      std::vector<int64_t> ranks(by_busy.begin(), by_busy.begin() + k);
      std::sort(ranks.begin(), ranks.end());
      placements.push_back(TableSharding{ShardingType::kRowWise, ranks, 1, Kernel::kFused, 0});
    }
    if (job_.world > 1 && (job_.world & (job_.world - 1)) != 0 &&
        model.tables[table].rows >= job_.world) {
      placements.push_back(
          TableSharding{ShardingType::kRowWise, AllRanks(job_), 1, Kernel::kFused, 0});
    }
    if (job_.nodes > 1) {
      std::vector<double> node_busy(static_cast<size_t>(job_.nodes), 0);
      for (int64_t r = 0; r < job_.world; ++r) {
        node_busy[static_cast<size_t>(r / job_.local_world)] += busy[static_cast<size_t>(r)];
      }
      std::vector<int64_t> nodes =
          SortedBy(job_.nodes, [&](int64_t n) { return node_busy[static_cast<size_t>(n)]; });
      if (model.tables[table].rows >= job_.local_world) {
        for (int64_t i = 0; i < job_.nodes && i < kTableWiseCandidates; ++i) {
          placements.push_back(TableSharding{ShardingType::kTableRowWise,
                                             NodeRanks(job_, nodes[static_cast<size_t>(i)]), 1,
                                             Kernel::kFused, 0});
        }
      }
      for (int64_t k = 2; k <= job_.nodes && dim % k == 0 && dim / k >= kMinColumns &&
                          model.tables[table].rows >= job_.local_world;
           k *= 2) {
        std::vector<int64_t> ranks;
        for (int64_t i = 0; i < k; ++i) {
          std::vector<int64_t> node = NodeRanks(job_, nodes[static_cast<size_t>(i)]);
          ranks.insert(ranks.end(), node.begin(), node.end());
        }
        placements.push_back(TableSharding{ShardingType::kGrid, ranks, k, Kernel::kFused, 0});
      }
    }
    // Fused placements first; the host-memory variants after them (Best tries those only when
    // no fused placement fits).
    out = placements;
    for (const TableSharding& p : placements) {
      if (p.type == ShardingType::kDataParallel) continue;
      for (double ratio : {0.5, 0.2, 0.1, 0.05, 0.02}) {
        TableSharding cached = p;
        cached.kernel = Kernel::kUvmCaching;
        cached.cache_ratio = ratio;
        out.push_back(cached);
      }
    }
    return out;
  }

  // The best candidate for `table` given the other tables in `loads` (without this one).
  std::pair<TableSharding, double> Best(size_t table, Loads& loads,
                                        const TableSharding* current) const {
    std::vector<TableSharding> candidates = Candidates(table, loads);
    if (current != nullptr) candidates.push_back(*current);
    TableSharding best = candidates.front();  // kept if every rating were NaN
    double best_value = std::numeric_limits<double>::infinity();
    bool fused_fits = false;
    for (const TableSharding& c : candidates) {
      // UVM only where no fused placement fits: a cache is never faster than HBM.
      if (c.kernel != Kernel::kFused && fused_fits) continue;
      cost_.Apply(table, c, 1, loads);
      Rating rating = Objective(loads);
      cost_.Apply(table, c, -1, loads);
      if (c.kernel == Kernel::kFused && rating.fits) fused_fits = true;
      if (rating.value < best_value) {
        best_value = rating.value;
        best = c;
      }
    }
    return {best, best_value};
  }

  // The greedy start: tables in decreasing lookup and storage bytes, each at its best place.
  ShardingPlan Greedy() const {
    const size_t n = job_.spec.model.tables.size();
    ShardingPlan plan;
    plan.tables.resize(n);
    Loads loads = cost_.Empty();
    for (int64_t i : Order()) {
      auto [choice, value] = Best(static_cast<size_t>(i), loads, nullptr);
      plan.tables[static_cast<size_t>(i)] = choice;
      cost_.Apply(static_cast<size_t>(i), choice, 1, loads);
    }
    return plan;
  }

  // Moves one table at a time to its best place while the objective improves; returns the
  // objective of the plan it leaves.
  double Improve(ShardingPlan& plan, int64_t max_passes) const {
    Loads loads = cost_.LoadsOf(plan);
    double current = Objective(loads).value;
    std::vector<int64_t> order = Order();
    for (int64_t pass = 0; pass < max_passes; ++pass) {
      bool moved = false;
      for (int64_t i : order) {
        size_t t = static_cast<size_t>(i);
        TableSharding was = plan.tables[t];
        cost_.Apply(t, was, -1, loads);
        auto [choice, value] = Best(t, loads, &was);
        if (value < current * (1 - 1e-9) && !(choice == was)) {
          plan.tables[t] = choice;
          current = value;
          moved = true;
        }
        cost_.Apply(t, plan.tables[t], 1, loads);
      }
      if (!moved) break;
    }
    return current;
  }

  Result<ShardingPlan> Run(const PlannerOptions& options, const std::vector<ShardingPlan>& seeds) {
    const size_t n = job_.spec.model.tables.size();
    ShardingPlan plan = Greedy();
    double best = Improve(plan, options.max_passes);
    for (ShardingPlan seed : seeds) {
      double value = Improve(seed, options.max_passes);
      if (value < best) {
        best = value;
        plan = std::move(seed);
      }
    }
    // Iterated local search: kick the best plan (three tables, drawn by lookup bytes, to random
    // candidates of theirs), descend again, keep what is better. Seeded, so plans are
    // reproducible; fewer kicks where passes cost more: x 100 / tables beyond 100 tables and
    // x 128 / GPUs beyond 128 GPUs.
    std::mt19937_64 rng(options.seed);
    // Tables are kicked in proportion to their lookup bytes: the heavy ones shape the step.
    std::vector<double> weights(n);
    for (size_t t = 0; t < n; ++t) weights[t] = cost_.TableLookupBytes(t);
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    const double scale = std::min(1.0, 100.0 / static_cast<double>(n)) *
                         std::min(1.0, 128.0 / static_cast<double>(job_.world));
    const auto kicks = static_cast<int64_t>(static_cast<double>(options.kicks) * scale);
    for (int64_t kick = 0; kick < kicks; ++kick) {
      ShardingPlan trial = plan;
      Loads loads = cost_.LoadsOf(trial);
      for (int moved = 0; moved < 3; ++moved) {
        size_t t = pick(rng);
        cost_.Apply(t, trial.tables[t], -1, loads);
        std::vector<TableSharding> candidates = Candidates(t, loads);
        std::erase_if(candidates,
                      [](const TableSharding& c) { return c.kernel != Kernel::kFused; });
        if (!candidates.empty()) {
          trial.tables[t] =
              candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng)];
        }
        cost_.Apply(t, trial.tables[t], 1, loads);
      }
      double value = Improve(trial, options.max_passes);
      if (value < best * (1 - 1e-9)) {
        best = value;
        plan = std::move(trial);
      }
    }
    // The objective breaks ties by balance; the answer must not be slower than a seed.
    for (const ShardingPlan& seed : seeds) {
      RecStep mine = cost_.Step(cost_.LoadsOf(plan));
      RecStep theirs = cost_.Step(cost_.LoadsOf(seed));
      if (theirs.fits && (!mine.fits || theirs.step_s < mine.step_s)) plan = seed;
    }
    Loads loads = cost_.LoadsOf(plan);
    if (!cost_.Step(loads).fits) {
      // Name the table on the fullest rank with the most bytes.
      RecStep step = cost_.Step(loads);
      size_t worst = 0;
      double worst_bytes = -1;
      for (size_t t = 0; t < n; ++t) {
        const TableSharding& s = plan.tables[t];
        bool on_rank =
            s.type == ShardingType::kDataParallel ||
            std::find(s.ranks.begin(), s.ranks.end(), step.fullest_rank) != s.ranks.end();
        if (on_rank && cost_.TableBytes(t) > worst_bytes) {
          worst_bytes = cost_.TableBytes(t);
          worst = t;
        }
      }
      return DoesNotFit(cost_, worst, loads);
    }
    return plan;
  }

 private:
  std::vector<int64_t> Order() const {
    return SortedBy(static_cast<int64_t>(job_.spec.model.tables.size()), [&](int64_t i) {
      return -cost_.TableLookupBytes(static_cast<size_t>(i)) -
             cost_.TableBytes(static_cast<size_t>(i));
    });
  }

  const CostModel& cost_;
  const RecJob& job_;
};

Result<ShardingPlan> PlanTorchRec(const CostModel& cost, const PlannerOptions&);
Result<ShardingPlan> PlanHugeCtr(const CostModel& cost, const PlannerOptions& options);

// Local search from the greedy start and from the other planners' plans: the answer is never
// worse, on this model, than any plan they make.
Result<ShardingPlan> PlanScaleplan(const CostModel& cost, const PlannerOptions& options) {
  if (cost.fixed_bytes() > cost.capacity_bytes()) {
    const RecJob& job = cost.job();
    return Status::Invalid(
               fmt::format("the dense part alone needs {:.1f} GiB of HBM per GPU (FP32 weights, "
                           "gradients and optimizer state of {:.1f}M parameters, activations of "
                           "{:.0f} samples) against {:.1f} GiB usable (allowed: a smaller batch "
                           "per GPU, a smaller dense part or a larger GPU)",
                           cost.fixed_bytes() / kGi, cost.dense_params() / 1e6, job.local_batch,
                           cost.capacity_bytes() / kGi))
        .WithKey("rec_job.global_batch");
  }
  std::vector<ShardingPlan> seeds;
  for (auto* planner : {PlanTorchRec, PlanHugeCtr}) {
    Result<ShardingPlan> seed = planner(cost, options);
    if (seed.ok()) seeds.push_back(std::move(*seed));
  }
  LocalSearch search(cost);
  return search.Run(options, seeds);
}

// ---------------------------------------------------------------------------------------------
// TorchRec's estimators (constants.py, shard_estimators.py at a48cef79).

constexpr double kTrHbmBw = 897 * kGi;
constexpr double kTrIntraBw = 600 * kGi;
constexpr double kTrCrossBw = 12.5 * kGi;
constexpr double kTrBwdMultiplier = 2;
constexpr double kTrBatchedCopyFactor = 2.455;
constexpr double kTrDpElementwiseFactor = 9.22;
constexpr double kTrReservation = 0.15;
constexpr int64_t kTrMinCwDim = 128;
// Proposals the greedy proposer rates at most (each is partitioned over every rank).
constexpr int64_t kMaxTorchRecProposals = 256;

double TrPenalty(double dim) {
  if (dim >= 128) return 1;
  if (dim >= 64) return 1.15;
  return 1.75;
}

double TableOptimizerFactor(const RecJob& job, double dim) {
  switch (job.spec.optimizer) {
    case spec::EmbeddingOptimizer::kSgd:
      return 0;
    case spec::EmbeddingOptimizer::kRowWiseAdagrad:
      return 1 / dim;
    case spec::EmbeddingOptimizer::kAdagrad:
      return 1;
    case spec::EmbeddingOptimizer::kAdam:
      return 2;
  }
  return 0;
}

}  // namespace

std::vector<double> TorchRecShardPerf(const RecJob& job, size_t index, const TableSharding& s) {
  const spec::TableSpec& table = job.spec.model.tables[index];
  const double dim = static_cast<double>(job.spec.model.DimOf(table));
  const double sw = spec::EmbeddingDtypeBytes(job.spec.model.embedding_dtype);
  const double w = static_cast<double>(job.world);
  const double wl = static_cast<double>(job.local_world);
  const double b = job.local_batch;
  const double in = table.pooling * b;
  const double out = b;
  const double a2a_bw = job.world <= job.local_world ? kTrIntraBw : kTrCrossBw;
  const double ar_bw = job.world <= job.local_world ? kTrIntraBw : kTrCrossBw * wl;
  std::vector<double> perf(static_cast<size_t>(job.world), 0);
  auto shard = [&](double ids, double width, double fo, double fwd_comms, double bwd_comms) {
    double read = ids * 8;
    double lookup = ids * std::max(width, 32.0) * sw;
    double fwd_compute = (read + lookup + fo) * TrPenalty(width) / kTrHbmBw;
    return fwd_compute * (1 + kTrBwdMultiplier) + fwd_comms + bwd_comms;
  };
  switch (s.type) {
    case ShardingType::kDataParallel: {
      double fwd_compute = (in * 8 + in * dim * sw + out * dim * sw) / kTrHbmBw;
      double bytes = static_cast<double>(table.rows) * dim * sw;
      double n = std::min(w / wl, 2.0);
      double allreduce = bytes * (2 * n - 1) / n / ar_bw * (w > 2 * wl ? 2 : 1);
      double total = fwd_compute * (1 + kTrBwdMultiplier) + allreduce +
                     bytes * kTrDpElementwiseFactor / kTrHbmBw;
      for (double& p : perf) p += total;
      break;
    }
    case ShardingType::kTableWise:
    case ShardingType::kColumnWise: {
      for (const Block& block : BlocksOf(job, table, s)) {
        double width = static_cast<double>(block.width);
        double fo = out * w * width * sw;
        perf[static_cast<size_t>(block.group.front())] +=
            shard(in * w, width, fo, fo / a2a_bw, fo / a2a_bw);
      }
      break;
    }
    case ShardingType::kRowWise: {
      double g = static_cast<double>(s.ranks.size());
      double fo = out * w * dim * sw;
      double t = shard(in * w / g, dim, fo, fo / a2a_bw,
                       fo / a2a_bw + fo * kTrBatchedCopyFactor / kTrHbmBw);
      for (int64_t r : s.ranks) perf[static_cast<size_t>(r)] += t;
      break;
    }
    case ShardingType::kTableRowWise:
    case ShardingType::kGrid: {
      for (const Block& block : BlocksOf(job, table, s)) {
        double width = static_cast<double>(block.width);
        double g = static_cast<double>(block.group.size());
        double fo = out * w * width * sw;
        double cross = out * (w / wl) * width * sw;
        double comms = fo / kTrIntraBw + (job.nodes > 1 ? cross / kTrCrossBw : 0);
        double t = shard(in * w / g, width, fo, comms, comms);
        for (int64_t r : block.group) perf[static_cast<size_t>(r)] += t;
      }
      break;
    }
  }
  return perf;
}

namespace {

// TorchRec's storage of a table's sharding per rank (weights and optimizer state).
std::vector<double> TorchRecStorage(const RecJob& job, size_t index, const TableSharding& s) {
  const spec::TableSpec& table = job.spec.model.tables[index];
  const double dim = static_cast<double>(job.spec.model.DimOf(table));
  const double sw = spec::EmbeddingDtypeBytes(job.spec.model.embedding_dtype);
  std::vector<double> bytes(static_cast<size_t>(job.world), 0);
  const double factor = 1 + TableOptimizerFactor(job, dim);
  if (s.type == ShardingType::kDataParallel) {
    for (double& b : bytes) b += static_cast<double>(table.rows) * dim * sw * factor;
    return bytes;
  }
  for (const Block& block : BlocksOf(job, table, s)) {
    double per = static_cast<double>(table.rows) / static_cast<double>(block.group.size()) *
                 static_cast<double>(block.width) * sw * factor;
    for (int64_t r : block.group) bytes[static_cast<size_t>(r)] += per;
  }
  return bytes;
}

double TorchRecCapacity(const CostModel& cost) {
  const RecJob& job = cost.job();
  const spec::GpuSpec& gpu = job.spec.cluster.gpu;
  double dense = 0;
  for (const model::DenseOp& op : job.dense_ops) dense += op.params;
  return gpu.memory_bytes * (1 - kTrReservation) - 6 * 4 * dense;
}

// One of TorchRec's enumerated options for a table, before the partitioner picks ranks.
struct TrOption {
  ShardingType type;
  int64_t column_shards = 1;
  double perf = 0;     // sum over shards
  double storage = 0;  // sum over shards
};

std::vector<TrOption> TorchRecOptions(const RecJob& job, size_t index) {
  const spec::TableSpec& table = job.spec.model.tables[index];
  const int64_t dim = job.spec.model.DimOf(table);
  std::vector<TrOption> options;
  auto add = [&](ShardingType type, int64_t shards, const TableSharding& probe) {
    TrOption o{type, shards, 0, 0};
    std::vector<double> perf = TorchRecShardPerf(job, index, probe);
    std::vector<double> storage = TorchRecStorage(job, index, probe);
    if (type == ShardingType::kDataParallel) {
      o.perf = perf.front();
      o.storage = storage.front();
    } else {
      o.perf = std::accumulate(perf.begin(), perf.end(), 0.0);
      o.storage = std::accumulate(storage.begin(), storage.end(), 0.0);
    }
    options.push_back(o);
  };
  add(ShardingType::kDataParallel, 1, TableSharding{ShardingType::kDataParallel, {}, 1});
  add(ShardingType::kTableWise, 1, TableSharding{ShardingType::kTableWise, {0}, 1});
  if (job.world > 1 && table.rows >= job.world) {
    add(ShardingType::kRowWise, job.world, TableSharding{ShardingType::kRowWise, AllRanks(job), 1});
  }
  if (dim >= 2 * kTrMinCwDim && dim % kTrMinCwDim == 0) {
    int64_t k = std::min(dim / kTrMinCwDim, job.world);
    if (dim % k == 0) {
      std::vector<int64_t> ranks(static_cast<size_t>(k));
      std::iota(ranks.begin(), ranks.end(), 0);
      add(ShardingType::kColumnWise, k, TableSharding{ShardingType::kColumnWise, ranks, 1});
    }
  }
  if (job.nodes > 1 && table.rows >= job.local_world) {
    add(ShardingType::kTableRowWise, job.local_world,
        TableSharding{ShardingType::kTableRowWise, NodeRanks(job, 0), 1});
  }
  std::stable_sort(options.begin(), options.end(),
                   [](const TrOption& a, const TrOption& b) { return a.perf < b.perf; });
  return options;
}

// GreedyPerfPartitioner: uniform options (data_parallel, row_wise) first, then the other tables'
// shards by perf, largest first, each on the rank (or node) of least perf that has room.
// Returns false when a shard fits nowhere.
bool TorchRecPartition(const CostModel& cost, const std::vector<TrOption>& chosen,
                       ShardingPlan& plan) {
  const RecJob& job = cost.job();
  const size_t n = chosen.size();
  const double capacity = TorchRecCapacity(cost);
  std::vector<double> perf(static_cast<size_t>(job.world), 0);
  std::vector<double> storage(static_cast<size_t>(job.world), 0);
  plan.tables.assign(n, TableSharding{});
  auto add = [&](size_t t, const TableSharding& s) {
    std::vector<double> p = TorchRecShardPerf(job, t, s);
    std::vector<double> st = TorchRecStorage(job, t, s);
    for (size_t r = 0; r < p.size(); ++r) {
      perf[r] += p[r];
      storage[r] += st[r];
    }
  };
  for (size_t t = 0; t < n; ++t) {
    if (chosen[t].type == ShardingType::kDataParallel) {
      plan.tables[t] = TableSharding{ShardingType::kDataParallel, {}, 1};
    } else if (chosen[t].type == ShardingType::kRowWise) {
      plan.tables[t] = TableSharding{ShardingType::kRowWise, AllRanks(job), 1};
    } else {
      continue;
    }
    add(t, plan.tables[t]);
  }
  for (double s : storage) {
    if (s > capacity) return false;
  }
  struct Shard {
    size_t table;
    int64_t column;  // column shard index (column_wise), else 0
    double perf;
  };
  std::vector<Shard> shards;
  for (size_t t = 0; t < n; ++t) {
    const TrOption& o = chosen[t];
    if (o.type == ShardingType::kDataParallel || o.type == ShardingType::kRowWise) continue;
    int64_t k = o.type == ShardingType::kColumnWise ? o.column_shards : 1;
    for (int64_t c = 0; c < k; ++c) shards.push_back(Shard{t, c, o.perf / static_cast<double>(k)});
  }
  std::stable_sort(shards.begin(), shards.end(),
                   [](const Shard& a, const Shard& b) { return a.perf > b.perf; });
  for (const Shard& sh : shards) {
    const TrOption& o = chosen[sh.table];
    const spec::TableSpec& table = job.spec.model.tables[sh.table];
    double dim = static_cast<double>(job.spec.model.DimOf(table));
    double factor = 1 + TableOptimizerFactor(job, dim);
    double sw = spec::EmbeddingDtypeBytes(job.spec.model.embedding_dtype);
    if (o.type == ShardingType::kTableRowWise) {
      int64_t best = -1;
      double best_perf = std::numeric_limits<double>::infinity();
      double per = static_cast<double>(table.rows) / static_cast<double>(job.local_world) * dim *
                   sw * factor;
      for (int64_t node = 0; node < job.nodes; ++node) {
        double node_perf = 0;
        bool room = true;
        for (int64_t r : NodeRanks(job, node)) {
          node_perf += perf[static_cast<size_t>(r)];
          room = room && storage[static_cast<size_t>(r)] + per <= capacity;
        }
        if (room && node_perf < best_perf) {
          best_perf = node_perf;
          best = node;
        }
      }
      if (best < 0) return false;
      plan.tables[sh.table] = TableSharding{ShardingType::kTableRowWise, NodeRanks(job, best), 1};
      add(sh.table, plan.tables[sh.table]);
      continue;
    }
    int64_t k = o.type == ShardingType::kColumnWise ? o.column_shards : 1;
    double per = static_cast<double>(table.rows) * dim / static_cast<double>(k) * sw * factor;
    int64_t best = -1;
    for (int64_t r = 0; r < job.world; ++r) {
      const std::vector<int64_t>& taken = plan.tables[sh.table].ranks;
      if (std::find(taken.begin(), taken.end(), r) != taken.end()) continue;
      if (storage[static_cast<size_t>(r)] + per > capacity) continue;
      if (best < 0 || perf[static_cast<size_t>(r)] < perf[static_cast<size_t>(best)]) best = r;
    }
    if (best < 0) return false;
    plan.tables[sh.table].type = o.type;
    plan.tables[sh.table].ranks.push_back(best);
    perf[static_cast<size_t>(best)] += sh.perf;
    storage[static_cast<size_t>(best)] += per;
  }
  return true;
}

double NoopPerfRating(const RecJob& job, const ShardingPlan& plan, std::vector<double>* per_rank) {
  std::vector<double> perf(static_cast<size_t>(job.world), 0);
  for (size_t t = 0; t < plan.tables.size(); ++t) {
    std::vector<double> p = TorchRecShardPerf(job, t, plan.tables[t]);
    for (size_t r = 0; r < p.size(); ++r) perf[r] += p[r];
  }
  if (per_rank != nullptr) *per_rank = perf;
  return *std::max_element(perf.begin(), perf.end());
}

Result<ShardingPlan> PlanTorchRec(const CostModel& cost, const PlannerOptions&) {
  const RecJob& job = cost.job();
  const size_t n = job.spec.model.tables.size();
  if (TorchRecCapacity(cost) <= 0) {
    return Status::Invalid(fmt::format(
        "torchrec: the dense part's reservation (6 x its {:.1f} GiB of weights) leaves no HBM for "
        "tables on a {:.1f} GiB GPU (allowed: a smaller dense part or a larger GPU)",
        cost.dense_params() * 4 / kGi, job.spec.cluster.gpu.memory_bytes / kGi));
  }
  std::vector<std::vector<TrOption>> options(n);
  for (size_t t = 0; t < n; ++t) options[t] = TorchRecOptions(job, t);
  std::vector<std::vector<TrOption>> proposals;
  // Uniform proposals: every table the same sharding type, where every table offers it.
  for (ShardingType type :
       {ShardingType::kDataParallel, ShardingType::kTableWise, ShardingType::kRowWise,
        ShardingType::kTableRowWise, ShardingType::kColumnWise}) {
    std::vector<TrOption> proposal;
    for (size_t t = 0; t < n; ++t) {
      for (const TrOption& o : options[t]) {
        if (o.type == type) {
          proposal.push_back(o);
          break;
        }
      }
    }
    if (proposal.size() == n) proposals.push_back(std::move(proposal));
  }
  // Greedy (TorchRec's GreedyProposer, static feedback): every table at its best-perf option;
  // after each proposal the table whose current option stores most moves to its next option,
  // until no table has one left or kMaxTorchRecProposals were rated; the best rating wins.
  std::vector<size_t> at(n, 0);
  ShardingPlan best_plan;
  double best_rating = std::numeric_limits<double>::infinity();
  auto consider = [&](const std::vector<TrOption>& proposal) {
    ShardingPlan plan;
    if (!TorchRecPartition(cost, proposal, plan)) return;
    double rating = NoopPerfRating(job, plan, nullptr);
    if (rating < best_rating) {
      best_rating = rating;
      best_plan = std::move(plan);
    }
  };
  for (int64_t round = 0; round < kMaxTorchRecProposals; ++round) {
    std::vector<TrOption> proposal;
    for (size_t t = 0; t < n; ++t) proposal.push_back(options[t][at[t]]);
    consider(proposal);
    size_t largest = n;
    for (size_t t = 0; t < n; ++t) {
      if (at[t] + 1 >= options[t].size()) continue;
      if (largest == n || options[t][at[t]].storage > options[largest][at[largest]].storage) {
        largest = t;
      }
    }
    if (largest == n) break;
    ++at[largest];
  }
  for (const auto& proposal : proposals) consider(proposal);
  if (best_rating == std::numeric_limits<double>::infinity()) {
    return Status::Invalid(fmt::format(
        "torchrec: no proposal fits {:.1f} GiB per GPU (allowed: more GPUs or a smaller model)",
        TorchRecCapacity(cost) / kGi));
  }
  return best_plan;
}

// ---------------------------------------------------------------------------------------------
// HugeCTR's MLPerf planner.

constexpr double kHugeCtrMemoryBytes = 60e9;
constexpr int kHugeCtrRounds = 20;

double HugeCtrRatio(const RecJob& job, const PlannerOptions& options) {
  double bw_ratio =
      options.hugectr_comm_ratio > 0 ? options.hugectr_comm_ratio : (job.nodes > 1 ? 67.0 : 7.0);
  return bw_ratio / 2.0;  // mem_comm_work_ratio = 2
}

bool HugeCtrDataParallel(const CostModel& cost, size_t t, const PlannerOptions& options) {
  const RecJob& job = cost.job();
  const spec::TableSpec& table = job.spec.model.tables[t];
  double bytes = static_cast<double>(table.rows) *
                 static_cast<double>(job.spec.model.DimOf(table)) *
                 spec::EmbeddingDtypeBytes(job.spec.model.embedding_dtype);
  return bytes <= options.hugectr_dp_threshold_bytes;
}

// Places every table with its split on the cheapest GPUs with room; false when one fits nowhere.
bool HugeCtrPlace(const CostModel& cost, const PlannerOptions& options,
                  const std::vector<int64_t>& split, ShardingPlan& plan, double* max_cost) {
  const RecJob& job = cost.job();
  const size_t n = split.size();
  const double ratio = HugeCtrRatio(job, options);
  const double capacity =
      std::min(kHugeCtrMemoryBytes,
               job.spec.cluster.gpu.memory_bytes * job.spec.cluster.gpu.usable_memory_fraction);
  std::vector<double> gpu_cost(static_cast<size_t>(job.world), 0);
  std::vector<double> memory(static_cast<size_t>(job.world), 0);
  plan.tables.assign(n, TableSharding{});
  std::vector<int64_t> order = SortedBy(static_cast<int64_t>(n), [&](int64_t t) {
    return -job.spec.model.tables[static_cast<size_t>(t)].pooling /
           static_cast<double>(split[static_cast<size_t>(t)]);
  });
  for (int64_t ti : order) {
    size_t t = static_cast<size_t>(ti);
    if (HugeCtrDataParallel(cost, t, options)) {
      plan.tables[t] = TableSharding{ShardingType::kDataParallel, {}, 1};
      continue;
    }
    const spec::TableSpec& table = job.spec.model.tables[t];
    double per = static_cast<double>(table.rows) / static_cast<double>(split[t]) *
                 static_cast<double>(job.spec.model.DimOf(table)) * 8;
    double c = table.pooling / static_cast<double>(split[t]) + ratio;
    std::vector<int64_t> by_cost =
        SortedBy(job.world, [&](int64_t r) { return gpu_cost[static_cast<size_t>(r)]; });
    std::vector<int64_t> ranks;
    for (int64_t r : by_cost) {
      if (static_cast<int64_t>(ranks.size()) == split[t]) break;
      if (memory[static_cast<size_t>(r)] + per <= capacity) ranks.push_back(r);
    }
    if (static_cast<int64_t>(ranks.size()) < split[t]) return false;
    std::sort(ranks.begin(), ranks.end());
    for (int64_t r : ranks) {
      gpu_cost[static_cast<size_t>(r)] += c;
      memory[static_cast<size_t>(r)] += per;
    }
    plan.tables[t] = split[t] == 1 ? TableSharding{ShardingType::kTableWise, ranks, 1}
                                   : TableSharding{ShardingType::kRowWise, ranks, 1};
  }
  *max_cost = *std::max_element(gpu_cost.begin(), gpu_cost.end());
  return true;
}

Result<ShardingPlan> PlanHugeCtr(const CostModel& cost, const PlannerOptions& options) {
  const RecJob& job = cost.job();
  const size_t n = job.spec.model.tables.size();
  std::vector<int64_t> split(n, 1);
  ShardingPlan best;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int round = 0; round <= kHugeCtrRounds; ++round) {
    ShardingPlan plan;
    double max_cost = 0;
    if (HugeCtrPlace(cost, options, split, plan, &max_cost) && max_cost < best_cost) {
      best_cost = max_cost;
      best = std::move(plan);
    }
    // Halve the hottest model-parallel table's share: twice the GPUs.
    size_t hottest = n;
    for (size_t t = 0; t < n; ++t) {
      if (HugeCtrDataParallel(cost, t, options) || split[t] * 2 > job.world) continue;
      if (job.spec.model.tables[t].rows < split[t] * 2) continue;
      double h = job.spec.model.tables[t].pooling / static_cast<double>(split[t]);
      if (hottest == n ||
          h > job.spec.model.tables[hottest].pooling / static_cast<double>(split[hottest])) {
        hottest = t;
      }
    }
    if (hottest == n) break;
    split[hottest] *= 2;
  }
  if (best_cost == std::numeric_limits<double>::infinity()) {
    return Status::Invalid(
        "hugectr: no placement fits 60 GB per GPU at 8 bytes per weight (allowed: more GPUs)");
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// exact: depth-first search with the partial plan's step as the bound.

// The exact search recurses once per table; far fewer tables than this already take longer than
// anyone waits.
constexpr int64_t kMaxExactTables = 64;
// Its choices per table are runs of 2, 4, ... ranks from every rank: about GPUs^2 rank ids,
// rebuilt at every node of the search (16,384 GPUs took over 24 GB).
constexpr int64_t kMaxExactGpus = 64;

class ExactSearch {
 public:
  ExactSearch(const CostModel& cost, const PlannerOptions& options)
      : cost_(cost), job_(cost.job()), options_(options) {}

  Result<ShardingPlan> Run() {
    const size_t n = job_.spec.model.tables.size();
    if (static_cast<int64_t>(n) > kMaxExactTables) {
      return Status::Invalid(fmt::format("exact: {} tables (allowed: at most {}; the search "
                                         "grows as choices^tables: use the scaleplan planner)",
                                         n, kMaxExactTables))
          .WithKey("planner.planner");
    }
    if (job_.world > kMaxExactGpus) {
      return Status::Invalid(fmt::format("exact: {} GPUs (allowed: at most {}; its choices per "
                                         "table grow as GPUs^2: use the scaleplan planner)",
                                         job_.world, kMaxExactGpus))
          .WithKey("planner.planner");
    }
    order_ = SortedBy(static_cast<int64_t>(n), [&](int64_t i) {
      return -cost_.TableLookupBytes(static_cast<size_t>(i)) -
             cost_.TableBytes(static_cast<size_t>(i));
    });
    current_.tables.resize(n);
    Loads loads = cost_.Empty();
    SP_RETURN_IF_ERROR(Visit(0, loads, 0));
    if (best_step_ == std::numeric_limits<double>::infinity()) {
      return Status::Invalid(
          "exact: no plan of its space fits (allowed: more GPUs, or the scaleplan planner, which "
          "also tries host-memory kernels)");
    }
    return best_;
  }

 private:
  std::vector<TableSharding> Choices(size_t table, int64_t ranks_used) const {
    const spec::RankingModelSpec& model = job_.spec.model;
    const int64_t dim = model.DimOf(model.tables[table]);
    const int64_t rows = model.tables[table].rows;
    std::vector<TableSharding> out;
    if (cost_.TableBytes(table) <= 0.01 * cost_.capacity_bytes()) {
      out.push_back(TableSharding{ShardingType::kDataParallel, {}, 1});
    }
    // On one node the space is the same after rotating the ranks (r -> r + 1 mod W maps every
    // choice to a choice), so the first table may start at rank 0 only.
    const bool first = ranks_used == 0 && job_.nodes == 1;
    const int64_t open = first ? 1 : job_.world;
    for (int64_t r = 0; r < open; ++r) {
      out.push_back(TableSharding{ShardingType::kTableWise, {r}, 1});
    }
    // Runs of k consecutive ranks (cyclically): column_wise in k blocks and row_wise over k.
    for (int64_t k = 2; k <= job_.world; k *= 2) {
      const int64_t starts = k == job_.world || first ? 1 : job_.world;
      for (int64_t start = 0; start < starts; ++start) {
        std::vector<int64_t> ranks;
        for (int64_t i = 0; i < k; ++i) ranks.push_back((start + i) % job_.world);
        if (dim % k == 0 && dim / k >= kMinColumns) {
          out.push_back(TableSharding{ShardingType::kColumnWise, ranks, 1});
        }
        if (rows >= k) {
          std::sort(ranks.begin(), ranks.end());
          out.push_back(TableSharding{ShardingType::kRowWise, ranks, 1});
        }
      }
    }
    if (job_.world > 1 && (job_.world & (job_.world - 1)) != 0 && rows >= job_.world) {
      out.push_back(TableSharding{ShardingType::kRowWise, AllRanks(job_), 1});
    }
    if (job_.nodes > 1 && rows >= job_.local_world) {
      for (int64_t node = 0; node < job_.nodes; ++node) {
        out.push_back(TableSharding{ShardingType::kTableRowWise, NodeRanks(job_, node), 1});
      }
    }
    return out;
  }

  Status Visit(size_t depth, Loads& loads, int64_t ranks_used) {
    if (++visited_ > options_.exact_max_plans) {
      return Status::Invalid(
                 fmt::format("exact: more than {} partial plans for {} tables on {} GPUs "
                             "(allowed: a smaller instance, {}or the scaleplan planner)",
                             options_.exact_max_plans, job_.spec.model.tables.size(), job_.world,
                             options_.exact_max_plans < kMaxExactPlans
                                 ? fmt::format("a larger planner.exact_max_plans (up to {}), ",
                                               kMaxExactPlans)
                                 : std::string()))
          .WithKey("planner.exact_max_plans");
    }
    RecStep step = cost_.Step(loads);
    // The bound: the step without the exposed all-reduce, max(ids, forward + backward) + the
    // optimizer + the overhead, never shrinks as tables are added (the exposed all-reduce can:
    // a longer backward hides more of it), nor does the memory.
    if (!step.fits || step.step_s - step.allreduce_exposed_s >= best_step_) return Status::Ok();
    if (depth == order_.size()) {
      if (step.step_s >= best_step_) return Status::Ok();
      best_step_ = step.step_s;
      best_ = current_;
      return Status::Ok();
    }
    const size_t table = static_cast<size_t>(order_[depth]);
    for (const TableSharding& choice : Choices(table, ranks_used)) {
      int64_t used = ranks_used;
      for (int64_t r : choice.ranks) used = std::max(used, r + 1);
      cost_.Apply(table, choice, 1, loads);
      current_.tables[table] = choice;
      Status status = Visit(depth + 1, loads, used);
      cost_.Apply(table, choice, -1, loads);
      SP_RETURN_IF_ERROR(status);
    }
    return Status::Ok();
  }

  const CostModel& cost_;
  const RecJob& job_;
  const PlannerOptions& options_;
  std::vector<int64_t> order_;
  ShardingPlan current_;
  ShardingPlan best_;
  double best_step_ = std::numeric_limits<double>::infinity();
  int64_t visited_ = 0;
};

Result<ShardingPlan> PlanExact(const CostModel& cost, const PlannerOptions& options) {
  ExactSearch search(cost, options);
  return search.Run();
}

EngineScore ScoreScaleplan(const CostModel& cost, const ShardingPlan& plan, const PlannerOptions&) {
  Loads loads = cost.LoadsOf(plan);
  RecStep step = cost.Step(loads);
  EngineScore score{"scaleplan", "s", step.step_s, {}};
  for (const RankLoad& r : loads.ranks) score.per_rank.push_back(r.lookup_fwd_s + r.lookup_bwd_s);
  return score;
}

EngineScore ScoreTorchRec(const CostModel& cost, const ShardingPlan& plan, const PlannerOptions&) {
  EngineScore score{"torchrec", "s", 0, {}};
  score.value = NoopPerfRating(cost.job(), plan, &score.per_rank);
  return score;
}

EngineScore ScoreHugeCtr(const CostModel& cost, const ShardingPlan& plan,
                         const PlannerOptions& options) {
  const RecJob& job = cost.job();
  const double ratio = HugeCtrRatio(job, options);
  EngineScore score{"hugectr", "cost", 0, std::vector<double>(static_cast<size_t>(job.world), 0)};
  for (size_t t = 0; t < plan.tables.size(); ++t) {
    const TableSharding& s = plan.tables[t];
    if (s.type == ShardingType::kDataParallel) continue;
    const double pooling = job.spec.model.tables[t].pooling;
    for (const Block& block : BlocksOf(job, job.spec.model.tables[t], s)) {
      for (int64_t r : block.group) {
        score.per_rank[static_cast<size_t>(r)] +=
            pooling / static_cast<double>(block.group.size()) + ratio;
      }
    }
  }
  score.value = *std::max_element(score.per_rank.begin(), score.per_rank.end());
  return score;
}

}  // namespace

const spec::Schema<PlannerOptions>& PlannerOptionsSchema() {
  static const spec::Schema<PlannerOptions> kSchema = [] {
    using O = PlannerOptions;
    spec::Schema<O> s("planner");
    s.OneOf("planner", &O::planner, PlannerNames(),
            "sharding planner: scaleplan, exact (small instances), or an emulation of torchrec's "
            "or hugectr's")
        .Integer("max_passes", &O::max_passes, 0, 1000, "",
                 "scaleplan: local-search passes over the tables")
        .Integer("kicks", &O::kicks, 0, 1000, "",
                 "scaleplan: perturbations of the best plan, each followed by local search "
                 "(times 100 / tables beyond 100 tables and 128 / GPUs beyond 128 GPUs)")
        .Unsigned("seed", &O::seed, "scaleplan: seed of the perturbations")
        .Integer("exact_max_plans", &O::exact_max_plans, 1, kMaxExactPlans, "",
                 "exact: partial plans visited at most before giving up")
        .Number("hugectr_dp_threshold_bytes", &O::hugectr_dp_threshold_bytes, 0, 1e30, "bytes",
                "hugectr: tables this small are data-parallel (assumption: 32 MiB)")
        .Number("hugectr_comm_ratio", &O::hugectr_comm_ratio, 0, 1e6, "",
                "hugectr: mem_comm_bw_ratio; 0 = 7 on one node, 67 across nodes");
    return s;
  }();
  return kSchema;
}

const std::vector<PlannerInfo>& Planners() {
  static const std::vector<PlannerInfo> kPlanners = {
      {"scaleplan", "greedy then local search on scaleplan's step model", PlanScaleplan},
      {"torchrec", "TorchRec's planner (estimators, proposers, greedy partitioner), emulated",
       PlanTorchRec},
      {"hugectr", "HugeCTR's MLPerf hotness-balancing planner, emulated", PlanHugeCtr},
      {"exact", "the step model's optimum over a fixed space, for small instances", PlanExact,
       false}};
  return kPlanners;
}

std::string_view PlannerOfOption(std::string_view key) {
  if (key == "max_passes" || key == "kicks" || key == "seed") return "scaleplan";
  if (key == "exact_max_plans") return "exact";
  // hugectr_*: the scaleplan planner starts from HugeCTR's plan, and every plan is scored by the
  // hugectr engine too: they apply whatever the planner.
  return "";
}

Status CheckGivenPlannerOptions(const PlannerOptions& options, bool compare,
                                const std::string& sharding,
                                const std::function<bool(std::string_view key)>& given) {
  auto runs = [&](std::string_view owner) {  // whether the planner that owns an option runs
    if (owner == options.planner) return true;
    if (!compare) return false;
    for (const PlannerInfo& p : Planners()) {
      if (p.name == owner) return p.compared;
    }
    return false;
  };
  for (const spec::Field<PlannerOptions>& f : PlannerOptionsSchema().fields()) {
    if (!f.set || !given(f.info.key)) continue;
    const std::string flag = "--" + f.info.flag;
    const std::string_view owner = PlannerOfOption(f.info.key);
    if (!sharding.empty()) {
      if (f.info.key != "planner" && compare && (owner.empty() || runs(owner))) continue;
      return Status::Invalid(
                 fmt::format("{} does not apply to --sharding {}: the plan file is rated, not "
                             "planned (allowed: {})",
                             flag, sharding,
                             f.info.key == "planner" ? "--sharding alone; --compare also runs "
                                                       "every planner"
                             : compare ? "leave it out: --compare does not run the exact planner"
                                       : "--compare, which runs the planners beside it"))
          .WithKey("planner." + f.info.key);
    }
    if (owner.empty() || runs(owner)) continue;
    return Status::Invalid(fmt::format("{} does not apply to --planner {}: it is the {} planner's "
                                       "(allowed: --planner {}{})",
                                       flag, options.planner, owner, owner,
                                       compare ? "; --compare does not run it"
                                               : ", or --compare, which runs every planner but "
                                                 "exact"))
        .WithKey("planner." + f.info.key);
  }
  return Status::Ok();
}

std::vector<std::string> PlannerNames() {
  std::vector<std::string> names;
  for (const PlannerInfo& p : Planners()) names.push_back(p.name);
  return names;
}

Result<ShardingPlan> RunPlanner(const CostModel& cost, const PlannerOptions& options) {
  SP_RETURN_IF_ERROR(PlannerOptionsSchema().CheckValues(options));
  const auto tables = static_cast<int64_t>(cost.job().spec.model.tables.size());
  const int64_t world = cost.job().world;
  if (tables * std::max<int64_t>(world, 64) > kMaxPlannerWork) {
    return Status::Invalid(
               fmt::format(
                   "planning {} tables on {} GPUs is {} tables x max(GPUs, 64) = {} (allowed: up "
                   "to {}, a few seconds: fewer tables, such as small ones merged, fewer "
                   "GPUs, or a plan file rated with --sharding)",
                   tables, world, tables, tables * std::max<int64_t>(world, 64), kMaxPlannerWork))
        .WithKey("planner.planner");
  }
  for (const PlannerInfo& p : Planners()) {
    if (p.name == options.planner) return p.plan(cost, options);
  }
  return Status::Invalid(fmt::format("planner.planner = {} (allowed: {})",
                                     Printable(options.planner, 64), Join(PlannerNames(), ", ")));
}

const std::vector<EngineInfo>& Engines() {
  static const std::vector<EngineInfo> kEngines = {
      {"scaleplan", "scaleplan's step model (recsys/cost.h), seconds", ScoreScaleplan},
      {"torchrec", "TorchRec's NoopPerfModel over its shard estimates, seconds", ScoreTorchRec},
      {"hugectr", "HugeCTR's planner cost, the busiest GPU's hotness units", ScoreHugeCtr}};
  return kEngines;
}

}  // namespace scaleplan::recsys
