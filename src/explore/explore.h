// Scale-across exploration (ScaleAcross Explorer, Li et al., arXiv 2605.24326): one job across
// buildings or regions, optimizing three dimensions that interact:
//   placement   the order in which tp, cp, pp, dp are laid onto the tiers, i.e. which dimension's
//               groups cross the boundary tier (all 24 orders)
//   scheduling  pipeline schedule, virtual stages, micro-batch size, and how data parallelism
//               meets the boundary: HSDP replica groups (plan.dp_replicate); with
//               relaxed_sync also a delayed cross-replica reduction and the other gradient
//               dtype (BF16 for an FP32 job), which change training and are therefore opt-in
//   network     the technology of the links that cross the boundary: one choice per layer of a
//               named registry (Technologies()): path selection (ECMP, more queue pairs, packet
//               spraying), collectives (flat ring/tree or hierarchical), transport (go-back-N or
//               selective repeat); every model states its assumption
// Explore evaluates the starting plan on the baseline stack (the first technology of each layer:
// ecmp + flat + gbn), each dimension optimized alone with the others held at the baseline, and the
// three jointly (for every stack, the best placement x scheduling), by exhaustive search with the
// analytical model (search/search.h); with engine = event, the best 16 of each search are re-run
// pass by pass and the event engine's step decides. The joint optimum's space contains every
// one-at-a-time space and the baseline, so it is never worse; every row keeps the starting plan
// unless a candidate is strictly faster.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "search/search.h"

namespace scaleplan::explore {

struct Technology {
  std::string name;
  std::string layer;        // "path", "collective" or "transport"
  std::string description;  // the model and its assumption
  // path: multiplies the bandwidth of the tiers at and above the boundary; adds to their latency
  double bandwidth_efficiency = 1;
  double extra_latency_s = 0;
  // collective: collectives crossing those tiers may run two-level (collective/collective.h)
  bool hierarchical_collectives = false;
  // transport: a dropped packet (probability packet_loss_rate) resends the whole window in flight
  // (go-back-N) or only itself (selective repeat); bandwidth efficiency 1 / (1 + p * W), W the
  // packets in flight at the flow's rate (tier bandwidth / oversubscription, after the path's
  // efficiency) over a round trip of twice the tier latency, or 1 / (1 + p)
  double packet_loss_rate = 0;
  bool go_back_n = false;
};

inline constexpr double kPacketBytes = 4096;  // RoCE MTU

// Every technology, grouped by layer in the order path, collective, transport; the first of each
// layer is the production baseline.
std::vector<Technology> Technologies();

// One technology per layer, e.g. "spray+hierarchical+sr".
struct NetworkStack {
  std::vector<Technology> layers;
  std::string Name() const;
};
// Every combination of one technology per layer, the baseline first.
std::vector<NetworkStack> Stacks();

// The cluster with `stack` applied to tier `boundary` and the tiers above it (path, then
// collective, then transport, whose efficiency depends on the path-adjusted bandwidth).
spec::ClusterSpec Apply(const spec::ClusterSpec& cluster, size_t boundary,
                        const NetworkStack& stack);

struct Row {
  std::string name;                 // "baseline", "placement", "scheduling", "network", "joint"
  std::string plan;                 // search::Describe of the plan
  std::string network;              // network stack name
  double step_time_s = 0;           // analytical model
  double event_step_time_s = 0;     // the same plan run pass by pass (sim/event.h)
  double tokens_per_s_per_gpu = 0;  // by the ranking engine's step time
  double speedup = 1;               // baseline step time / this step time, by the ranking engine
  std::string crossing;             // dimensions whose groups cross the boundary, e.g. "dp"
  double crossing_exposed_s = 0;    // their exposed communication per step
  sim::Breakdown breakdown;         // where the step goes, by the ranking engine
  spec::JobSpec job;                // what was evaluated: the plan, the cluster with its stack
};

struct ExploreResult {
  std::string boundary_tier;
  std::string engine;  // what ranked the candidates: "analytical" or "event"
  Row baseline;
  std::vector<Row> one_at_a_time;
  Row joint;
};

struct ExploreOptions {
  std::string boundary_tier;  // empty: the outermost tier
  // Also open grad_sync = delayed and the job's other grad_reduce_dtype (they change training).
  bool relaxed_sync = false;
  std::string engine = "analytical";  // or "event": re-rank each search's best 16 pass by pass
  int64_t threads = 2;
};

// ExploreOptions as input keys (section "explore"; `scaleplan explore`'s flags).
const spec::Schema<ExploreOptions>& ExploreOptionsSchema();

Result<ExploreResult> Explore(const spec::JobSpec& base, const ExploreOptions& options);

}  // namespace scaleplan::explore
