// Scale-across exploration (ScaleAcross Explorer, Li et al., arXiv 2605.24326): one job across
// buildings or regions, optimizing three dimensions that interact:
//   placement   the order in which tp, cp, pp, dp are laid onto the tiers, i.e. which dimension's
//               groups cross the boundary tier (all 24 orders)
//   scheduling  pipeline schedule, virtual stages and micro-batch size (everything else as the
//               starting plan)
//   network     the technology of the links that cross the boundary (Technologies(): a named
//               registry of models, each an efficiency on the boundary tiers' bandwidth and an
//               added latency, every value an assumption stated with it)
// Explore evaluates the starting plan on the baseline technology (ECMP), each dimension optimized
// alone with the others held at the baseline, and the three jointly (for every technology, the best
// placement x scheduling), by exhaustive search with the analytical model (search/search.h). The
// joint optimum's space contains every one-at-a-time space and the baseline, so it is never worse;
// every row keeps the starting plan unless a candidate is strictly faster.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "search/search.h"

namespace scaleplan::explore {

struct Technology {
  std::string name;
  std::string description;          // the model and its assumption
  double bandwidth_efficiency = 1;  // multiplies the bandwidth of tiers at and above the boundary
  double extra_latency_s = 0;       // added to their latency
};

std::vector<Technology> Technologies();

// The cluster with `tech` applied to tier `boundary` and the tiers above it.
spec::ClusterSpec Apply(const spec::ClusterSpec& cluster, size_t boundary, const Technology& tech);

struct Row {
  std::string name;              // "baseline", "placement", "scheduling", "network", "joint"
  std::string plan;              // search::Describe of the plan
  std::string network;           // technology name
  double step_time_s = 0;        // analytical model (what the search ranks by)
  double event_step_time_s = 0;  // the same plan run pass by pass (sim/event.h): a check
  double tokens_per_s_per_gpu = 0;
  double speedup = 1;             // baseline step time / this step time
  std::string crossing;           // dimensions whose groups cross the boundary, e.g. "dp"
  double crossing_exposed_s = 0;  // their exposed communication per step
};

struct ExploreResult {
  std::string boundary_tier;
  Row baseline;
  std::vector<Row> one_at_a_time;
  Row joint;
};

struct ExploreOptions {
  std::string boundary_tier;  // empty: the outermost tier
  int threads = 2;
};

Result<ExploreResult> Explore(const spec::JobSpec& base, const ExploreOptions& options);

}  // namespace scaleplan::explore
