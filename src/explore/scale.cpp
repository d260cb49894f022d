#include "explore/scale.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "core/text.h"
#include "plan/plan.h"

namespace scaleplan::explore {

namespace {

// The default counts: goodput's sweep (1,024 to 131,072 in doublings) where the cluster holds
// them, else doublings of one node up to the cluster, and the whole cluster.
std::vector<int64_t> DefaultCounts(const spec::ClusterSpec& cluster) {
  const int64_t capacity = cluster.CapacityGpus();
  std::vector<int64_t> out;
  for (int64_t n : goodput::GoodputOptions{}.sweep_gpus) {
    if (n <= capacity) out.push_back(n);
  }
  if (out.empty()) {
    const int64_t node = cluster.tiers.empty() ? 1 : cluster.tiers.front().gpus;
    for (int64_t n = std::max<int64_t>(1, node);
         n <= capacity && out.size() + 1 < goodput::kMaxGpuCounts; n *= 2) {
      out.push_back(n);
    }
  }
  if (out.empty() || out.back() != capacity) out.push_back(capacity);
  return out;
}

}  // namespace

Result<std::vector<int64_t>> ParseCounts(const spec::RawValue& value) {
  Result<std::vector<int64_t>> counts = goodput::ParseGpuCounts(value);
  if (counts.ok() && counts->empty()) counts = Status::Invalid("lists no GPU count");
  if (!counts.ok()) {
    return Status::Invalid(fmt::format("scale.counts = '{}' {} (allowed: up to {} distinct "
                                       "integers from 1 to {}, separated by commas)",
                                       Printable(value.text, 40), counts.status().message(),
                                       goodput::kMaxGpuCounts, spec::kMaxRanks))
        .WithKey("scale.counts");
  }
  return counts;
}

Result<ScaleStudy> RunScale(const spec::JobSpec& job, const std::vector<search::Pin>& pins,
                            const std::vector<int64_t>& counts,
                            const search::SearchOptions& search,
                            const goodput::GoodputOptions& goodput, double deadline_s) {
  const auto start = std::chrono::steady_clock::now();
  if (!(deadline_s >= 0 && deadline_s <= kMaxDeadlineS)) {
    return Status::Invalid(fmt::format("scale.deadline_s = {} (allowed: 0 for none, or seconds "
                                       "up to {:g})",
                                       deadline_s, kMaxDeadlineS))
        .WithKey("scale.deadline_s");
  }
  if (deadline_s > 0 && (goodput.train_tokens <= 0 || goodput.failures == "none")) {
    return Status::Invalid(
               "scale.deadline_s asks which count trains train_tokens in time (allowed: with "
               "train_tokens and a failure model)")
        .WithKey("scale.deadline_s");
  }
  // What no GPU count changes is said once, without a count ("at 1024 GPUs: workload...").
  SP_RETURN_IF_ERROR(spec::ValidateWorkload(job.workload));
  SP_RETURN_IF_ERROR(spec::ValidateSequence(job.model, job.workload));
  const int64_t capacity = job.cluster.CapacityGpus();
  ScaleStudy study;
  study.counts_given = !counts.empty();
  const std::vector<int64_t> sizes = counts.empty() ? DefaultCounts(job.cluster) : counts;
  if (sizes.size() > goodput::kMaxGpuCounts) {
    return Status::Invalid(fmt::format("scale.counts lists {} GPU counts (allowed: at most {})",
                                       sizes.size(), goodput::kMaxGpuCounts))
        .WithKey("scale.counts");
  }
  std::set<int64_t> seen;
  for (int64_t n : sizes) {
    if (n < 1 || n > capacity) {
      return Status::Invalid(fmt::format("scale.counts = {} is more GPUs than cluster {} holds "
                                         "(allowed: 1 to {})",
                                         n, job.cluster.name, capacity))
          .WithKey("scale.counts");
    }
    if (!seen.insert(n).second) {
      return Status::Invalid(fmt::format("scale.counts lists {} twice (allowed: distinct counts)",
                                         n))
          .WithKey("scale.counts");
    }
  }
  // Ranked as `scaleplan search` ranks (its top K re-ranked by the event engine by default);
  // the row is its first plan.
  const search::SearchOptions& options = search;
  goodput::GoodputOptions section = goodput;
  section.trials = 0;
  section.sweep_gpus.clear();
  const bool with_goodput = goodput.failures != "none";

  Status first_invalid = Status::Ok();  // the first count's, when no count has a valid plan
  bool some_valid = false;
  for (int64_t n : sizes) {
    ScaleRow row;
    row.gpus = n;
    spec::JobSpec at = job;
    at.gpus = n;
    Result<search::PinnedSearch> pinned = search::ApplyPins(at, pins);
    if (!pinned.ok()) return pinned.status().WithContext(fmt::format("at {} GPUs", n));
    Result<search::SearchResult> found = search::Search(pinned->job, pinned->space, options);
    if (!found.ok()) return found.status().WithContext(fmt::format("at {} GPUs", n));
    if (Status valid = search::CheckSomePlanValid(*found, &*pinned); valid.ok()) {
      some_valid = true;
    } else if (first_invalid.ok()) {
      first_invalid = valid.WithContext(fmt::format("at {} GPUs", n));
    }
    if (found->top.empty()) {
      row.pruned_by = found->pruned_by;
      row.pruned_why = found->pruned_why;
      row.stop_reason = found->stop_reason;
    } else {
      row.best = found->top.front();
      if (with_goodput) {
        spec::JobSpec chosen = pinned->job;
        chosen.plan = row.best->plan;
        SP_ASSIGN_OR_RETURN(plan::Plan built, plan::BuildPlan(chosen));
        Result<goodput::GoodputStudy> g = goodput::RunGoodput(built, row.best->step, section);
        if (!g.ok()) return g.status().WithContext(fmt::format("at {} GPUs", n));
        row.goodput = *std::move(g);
      }
    }
    study.rows.push_back(std::move(row));
  }
  // A count without a valid plan is an answer (too few or too many GPUs for the job); no count
  // with one means the pins or the job contradict the model.
  if (!some_valid) return first_invalid;

  // The answer rows. Less is better for both keys; a row without a plan (or, with train_tokens,
  // that never finishes) takes no part.
  auto pick = [&](auto key) {
    int64_t best = -1;
    double best_value = 0;
    for (size_t i = 0; i < study.rows.size(); ++i) {
      std::optional<double> v = key(study.rows[i]);
      if (v && (best < 0 || *v < best_value)) {
        best = static_cast<int64_t>(i);
        best_value = *v;
      }
    }
    return best;
  };
  const bool train = with_goodput && goodput.train_tokens > 0;
  study.soonest = pick([&](const ScaleRow& r) -> std::optional<double> {
    if (!r.best) return std::nullopt;
    if (!with_goodput) return -r.best->step.tokens_per_s_per_gpu * static_cast<double>(r.gpus);
    const goodput::GoodputPoint& p = r.goodput->point;
    if (train) return p.train_finishes ? std::optional<double>(p.train_time_s) : std::nullopt;
    return -p.tokens_per_day;
  });
  study.cheapest = pick([&](const ScaleRow& r) -> std::optional<double> {
    if (!r.best) return std::nullopt;
    if (!with_goodput) return -r.best->step.tokens_per_s_per_gpu;
    const goodput::GoodputPoint& p = r.goodput->point;
    if (train) return p.train_finishes ? std::optional<double>(p.train_gpu_time_s) : std::nullopt;
    return -p.tokens_per_day / static_cast<double>(r.gpus);
  });
  study.deadline_s = deadline_s;
  if (deadline_s > 0) {
    study.within_deadline = pick([&](const ScaleRow& r) -> std::optional<double> {
      if (!r.best || !r.goodput->point.train_finishes ||
          r.goodput->point.train_time_s > deadline_s) {
        return std::nullopt;
      }
      return r.goodput->point.train_gpu_time_s;
    });
  }
  study.elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return study;
}

}  // namespace scaleplan::explore
