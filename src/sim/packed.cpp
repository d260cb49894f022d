// Packed training through the event engine; definitions in packed.h.
#include "sim/packed.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "balance/sharding.h"
#include "model/model.h"
#include "sim/event.h"

namespace scaleplan::sim {

int64_t MaxMicroBatchTokens(const plan::Plan& plan, const plan::MemoryReport& memory,
                            double max_scale) {
  const double context =
      static_cast<double>(plan.spec().micro_batch * plan.job.workload.seq_len);
  double scale = std::numeric_limits<double>::infinity();
  for (const plan::StageMemory& s : memory.stages) {
    double fixed = s.weights_bytes + s.gradients_bytes + s.optimizer_bytes;
    double growing = s.activations_bytes + s.transient_bytes;
    if (fixed >= memory.usable_bytes) return 0;
    if (growing > 0) scale = std::min(scale, (memory.usable_bytes - fixed) / growing);
  }
  const double tokens = std::floor(std::min(scale, max_scale) * context);
  constexpr double kMost = static_cast<double>(int64_t{1} << 62);
  return tokens >= kMost ? int64_t{1} << 62 : static_cast<int64_t>(tokens);
}

Result<PackedComparison> SimulatePacked(const plan::Plan& built, const std::vector<int64_t>& lengths,
                                        const PackedOptions& po) {
  if (po.iterations < 1 || po.iterations > balance::kMaxPackIterations) {
    return Status::Invalid(
        fmt::format("pack iterations = {} (allowed: 1 to {})", po.iterations,
                    balance::kMaxPackIterations));
  }
  PackedComparison out;
  balance::PackerOptions options = po.packing;
  options.microbatches = built.microbatches * built.dp;  // the global batch over the replicas
  options.context = built.spec().micro_batch * built.job.workload.seq_len;
  out.microbatches = options.microbatches;
  out.context = options.context;
  out.replicas = built.dp;
  out.iterations = po.iterations;
  out.s_max_bound = MaxMicroBatchTokens(built, plan::ComputeMemory(built));
  if (options.s_max > out.s_max_bound && po.packer == "wlb") {
    return Status::Invalid(fmt::format(
        "s_max = {} tokens per micro-batch does not fit this plan's memory (allowed: at most {})",
        options.s_max, out.s_max_bound));
  }
  // The adaptive packer chooses s_max up to the memory bound (and kAdaptiveSmaxLimit x context);
  // at a bound of the context or below (the plan's own micro-batch does not fit, or just does),
  // it gets no room above the context. Fixed bands keep s_max = context unless it is given.
  if (options.s_max == 0 && po.packer == "wlb" && options.thresholds.empty()) {
    options.s_max = std::clamp<int64_t>(
        out.s_max_bound, options.context,
        static_cast<int64_t>(balance::kAdaptiveSmaxLimit * static_cast<double>(options.context)));
  }
  balance::WorkloadModel workload = balance::FlopWorkload(built.model());
  // The original packing reads and cuts context-length micro-batches whatever the packer's s_max.
  balance::PackerOptions original = options;
  original.s_max = 0;
  for (const std::string& name : {std::string("original"), po.packer}) {
    const balance::PackerOptions& o = name == "original" ? original : options;
    SP_ASSIGN_OR_RETURN(std::unique_ptr<balance::Packer> packer,
                        balance::MakePacker(name, o, workload));
    balance::PackRun run = balance::RunPacker(*packer, lengths, o, workload, po.iterations, true);
    const std::string sharder = name == "original" ? "head-tail" : po.sharder;
    double time = 0, tokens = 0;
    for (const auto& batch : run.packed) {
      EventOptions event;
      event.replica_documents.resize(static_cast<size_t>(built.dp));
      event.replica_attention_factor.resize(static_cast<size_t>(built.dp));
      for (size_t j = 0; j < batch.size(); ++j) {
        std::vector<int64_t> docs;
        for (const balance::Document& d : batch[j]) docs.push_back(d.tokens);
        if (docs.empty()) docs.push_back(1);  // an empty micro-batch still runs its (tiny) passes
        SP_ASSIGN_OR_RETURN(balance::Sharding shards, balance::Shard(sharder, docs, built.cp));
        double total = 0, worst = 0;
        for (const balance::RankShard& r : shards.ranks) {
          total += r.pairs;
          worst = std::max(worst, r.padded_pairs);
        }
        size_t replica = j % static_cast<size_t>(built.dp);
        event.replica_attention_factor[replica].push_back(
            total > 0 ? worst * static_cast<double>(built.cp) / total : 1.0);
        event.replica_documents[replica].push_back(std::move(docs));
      }
      SP_ASSIGN_OR_RETURN(EventResult r, SimulateEvents(built, event));
      time += r.step.step_time_s;
      tokens += r.step.tokens_per_s_per_gpu * r.step.step_time_s * static_cast<double>(built.gpus);
    }
    PackedRow row;
    row.packer = name;
    row.sharder = sharder;
    row.steps = static_cast<int64_t>(run.packed.size());
    row.mean_step_time_s = time / static_cast<double>(std::max<int64_t>(1, row.steps));
    row.tokens_per_s_per_gpu = time > 0 ? tokens / time / static_cast<double>(built.gpus) : 0;
    row.imbalance_layer = run.summary.imbalance_layer;
    row.mean_delay_iterations = run.summary.mean_delay_iterations;
    row.max_tokens_per_microbatch = run.summary.max_tokens;
    row.setting = run.summary.setting;
    row.cut = run.cut;
    row.speedup_vs_original =
        out.rows.empty() || out.rows.front().tokens_per_s_per_gpu <= 0
            ? 1.0
            : row.tokens_per_s_per_gpu / out.rows.front().tokens_per_s_per_gpu;
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace scaleplan::sim
