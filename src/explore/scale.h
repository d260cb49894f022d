// How many GPUs: the same job (model, cluster, global batch) at each of several GPU counts, each
// with the fastest plan that fits there (search/search.h, the job's pins applied at every count),
// and that plan's goodput under failures (goodput/goodput.h): effective time, tokens a day and,
// with train_tokens, the wall clock, GPU time and steps to train them (`scaleplan scale`).
//
// Strong scaling: the global batch is the job's at every count, so more GPUs mean fewer
// micro-batches per replica (a longer pipeline fill in relation to the step) until data
// parallelism runs out of sequences; a count where no plan fits says what pruned its plans. The
// goodput sweep (goodput.h) instead holds the job's per-GPU throughput at every count; here each
// count's throughput is its own best plan's. The counts are at most the cluster's GPUs.
//
// The answer rows: the count that trains T tokens soonest (least wall clock) and the one that
// spends the least GPU time on them, which the report names (without train_tokens: the most
// tokens a day, and the most tokens a day per GPU); with a deadline, the least GPU time among the
// counts that train T tokens within it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "goodput/goodput.h"
#include "search/search.h"

namespace scaleplan::explore {

struct ScaleRow {
  int64_t gpus = 0;
  std::optional<search::Evaluation> best;  // none: no plan of the space fits at this count
  // When none: the candidates each rule pruned, a message for the rules that refuse by key
  // (search::SearchResult's), and why the search stopped (a budget may end it before any fitted).
  std::map<std::string, uint64_t> pruned_by;
  std::map<std::string, std::string> pruned_why;
  std::string stop_reason;
  std::optional<goodput::GoodputStudy> goodput;   // when a plan was found and failures are given
};

struct ScaleStudy {
  std::vector<ScaleRow> rows;  // in the order of the counts
  bool counts_given = false;   // false: the goodput sweep's default counts the cluster holds
  // Indices into rows (-1: no row has a plan). With train_tokens: the least wall clock and the
  // least GPU time to train them; otherwise the most tokens a day and the most a day per GPU
  // (the same quantities: T divided by them).
  int64_t soonest = -1;
  int64_t cheapest = -1;
  double deadline_s = 0;         // 0: none
  int64_t within_deadline = -1;  // with deadline_s: the least GPU time that meets it (-1: none)
  double elapsed_s = 0;
};

// "1024,2048,4096" (the --counts flag) or a list as GPU counts (goodput::ParseGpuCounts's rules),
// at least one; errors name scale.counts.
Result<std::vector<int64_t>> ParseCounts(const spec::RawValue& value);

// `counts` empty: goodput's default sweep counts (1,024 to 131,072) that the cluster holds and the
// whole cluster (on a cluster under 1,024 GPUs, doublings of one node and the whole cluster);
// given counts must be distinct and at most the cluster's GPUs (at most kMaxGpuCounts). Goodput is skipped with
// failures = "none" (the rows then carry the step only); its sweep and Monte Carlo are not run.
// `pins` as `scaleplan search` takes them; every count searches the job at that count with them.
// deadline_s > 0 (wall clock, failures included) needs train_tokens and a failure model.
Result<ScaleStudy> RunScale(const spec::JobSpec& job, const std::vector<search::Pin>& pins,
                            const std::vector<int64_t>& counts,
                            const search::SearchOptions& search,
                            const goodput::GoodputOptions& goodput, double deadline_s = 0);

// The largest deadline (about 31,700 years).
inline constexpr double kMaxDeadlineS = 1e12;

}  // namespace scaleplan::explore
