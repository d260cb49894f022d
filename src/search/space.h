// The plan search space: the values each parallel-plan dimension may take for one job.
//
// A candidate is one index per dimension; Decode turns it into a PlanSpec (dp is derived from the
// GPU count). The space is a cartesian product; validity (divisibility, the schedule's rules,
// memory) is decided by plan::BuildPlan and the memory model, never duplicated here, except for
// the cheap outer checks the exhaustive enumerator uses to skip whole sub-spaces (space.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "spec/specs.h"

namespace scaleplan::search {

enum Dimension {
  kTp,
  kCp,
  kPp,
  kVp,
  kMicroBatch,
  kEp,
  kZero,
  kRecompute,
  kCpAlgorithm,
  kPlacement,
  kSchedule,
  kTrim,
  kDpReplicate,
  kGradSync,
  kGradReduceDtype,
  kDimensions
};

const char* DimensionName(int dimension);

struct SearchSpace {
  std::vector<int64_t> tp, cp, pp, vp, micro_batch, ep;
  std::vector<spec::ZeroMode> zero;
  std::vector<spec::Recompute> recompute;
  std::vector<spec::CpAlgorithm> cp_algorithm;
  std::vector<std::vector<spec::Dim>> placement;
  std::vector<spec::Schedule> schedule;
  std::vector<bool> trim_edge_stages;
  std::vector<int64_t> dp_replicate;
  std::vector<spec::GradSync> grad_sync;
  std::vector<spec::GradReduceDtype> grad_reduce_dtype;

  size_t Count(int dimension) const;
  double Size() const;  // product of the counts (a double: it can exceed 2^64 in principle)
};

using Candidate = std::array<uint32_t, kDimensions>;

// The one table of the dimensions: calls f(dimension, key, values, field) for each, in Dimension
// order, with `values` the SearchSpace member holding its values and `field` the PlanSpec member
// it sets. Names, counts, restrictions and decoding all derive from it.
template <class F>
void ForEachDimension(F&& f) {
  using P = spec::PlanSpec;
  using S = SearchSpace;
  f(kTp, "tp", &S::tp, &P::tp);
  f(kCp, "cp", &S::cp, &P::cp);
  f(kPp, "pp", &S::pp, &P::pp);
  f(kVp, "vp", &S::vp, &P::vp);
  f(kMicroBatch, "micro_batch", &S::micro_batch, &P::micro_batch);
  f(kEp, "ep", &S::ep, &P::ep);
  f(kZero, "zero", &S::zero, &P::zero);
  f(kRecompute, "recompute", &S::recompute, &P::recompute);
  f(kCpAlgorithm, "cp_algorithm", &S::cp_algorithm, &P::cp_algorithm);
  f(kPlacement, "placement", &S::placement, &P::placement);
  f(kSchedule, "schedule", &S::schedule, &P::schedule);
  f(kTrim, "trim_edge_stages", &S::trim_edge_stages, &P::trim_edge_stages);
  f(kDpReplicate, "dp_replicate", &S::dp_replicate, &P::dp_replicate);
  f(kGradSync, "grad_sync", &S::grad_sync, &P::grad_sync);
  f(kGradReduceDtype, "grad_reduce_dtype", &S::grad_reduce_dtype, &P::grad_reduce_dtype);
}

// Every value that can be valid for the job: tp over the divisors of the heads, cp over powers of
// two that split the sequence, pp over the divisors of the layers (or layers + 2 when the edge
// stages are trimmed; with plan.uneven_layers also the powers of two up to the layers), vp in
// 1, 2, 4, 8, micro-batch in 1, 2, 4, 8, ep over the divisors of the
// experts, all ZeRO modes, recomputation modes, CP algorithms and schedules, and the six
// placements with tp innermost (TP's per-layer collectives belong on NVLink; other orders can be
// given explicitly); dp_replicate 1, grad_sync step and the job's grad_reduce_dtype (FP32 unless
// its framework or plan says BF16) (HSDP, delayed and the other reduction dtype are opened
// explicitly, e.g. by scaleplan explore). Expert TP is not a dimension: the search scores each
// MoE candidate split over TP with etp = tp and with etp = 1 (search.cpp, Scorer::ScorePlan).
SearchSpace DefaultSpace(const spec::JobSpec& job);

// Narrows one dimension to `values` (flag text, e.g. "8,16" or "fsdp"), each checked by the plan
// schema so that errors name the flag. An empty intersection is an error.
Status Restrict(SearchSpace& space, const std::string& key, const std::string& values,
                const std::string& origin);

// Whether plan.`key` is one of the dimensions above.
bool IsDimension(std::string_view key);

// Whether plan.`key` is derived per candidate (dp, etp, microbatches, pp_microbatch_group).
bool IsDerived(std::string_view key);

// The values plan.`key` can take over the space's candidates, as the plan schema writes them: a
// dimension's values, the job's own for a field every candidate shares; for the derived keys
// the values the dimensions allow (dp = gpus / (tp cp pp) where that divides, microbatches =
// sequences / (dp micro_batch) where that divides, etp = the tp values (and 1 for a MoE model)
// unless the job fixes it: a superset of what builds); empty for pp_microbatch_group and a key
// the plan schema lacks.
std::vector<nlohmann::json> KeyValues(const spec::JobSpec& base, const SearchSpace& space,
                                      std::string_view key);

// A plan key given to `scaleplan search` (e.g. --pp 8,16): a search dimension is narrowed to the
// values (one value also moves the starting plan there); any other plan field (precision,
// sequence_parallel, ...) is fixed for every candidate and the starting plan; fields the search
// derives (dp, etp, microbatches, pp_microbatch_group) are refused.
struct Pin {
  std::string key;     // plan key, e.g. "pp"
  std::string value;   // as typed, e.g. "8,16"
  std::string origin;  // e.g. "--pp"
};
struct PinnedSearch {
  spec::JobSpec job;    // what every candidate shares
  SearchSpace space;    // DefaultSpace(job) narrowed by the pins
  spec::JobSpec start;  // the job's own plan moved to the pinned values
};
// `job.gpus` 0 is read as the whole cluster.
Result<PinnedSearch> ApplyPins(const spec::JobSpec& job, const std::vector<Pin>& pins);

// The job with the candidate's plan fields (every other plan field as in `base`).
spec::JobSpec Decode(const spec::JobSpec& base, const SearchSpace& space, const Candidate& c);

// "TP 8 . CP 1 . PP 16 . VP 8 . mb 1 . llama3 . fsdp . recompute none . [tp, cp, pp, dp]".
std::string Describe(const spec::PlanSpec& plan, int64_t dp);

}  // namespace scaleplan::search
