#include "explore/explore.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/text.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/engine.h"

namespace scaleplan::explore {

namespace {

std::vector<std::vector<spec::Dim>> AllOrders() {
  std::vector<spec::Dim> order = {spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kPp, spec::Dim::kDp};
  std::vector<std::vector<spec::Dim>> all;
  std::sort(order.begin(), order.end());
  do {
    all.push_back(order);
  } while (std::next_permutation(order.begin(), order.end()));
  return all;
}

// A space holding every dimension at the starting plan's value.
search::SearchSpace Pinned(const spec::PlanSpec& p) {
  search::SearchSpace s;
  search::ForEachDimension(
      [&](int, const char*, auto values, auto field) { (s.*values).assign(1, p.*field); });
  return s;
}

void OpenPlacement(search::SearchSpace& s) { s.placement = AllOrders(); }

template <typename T>
void AddIfMissing(std::vector<T>& list, const T& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

// Every schedule but zb-v (whose closed form is its ideal, docs/SIMULATOR.md), vp and micro-batch
// in {1, 2, 4, 8}, HSDP with 1, 2, 4, 8 or one replica group
// per site, and with `relaxed` delayed synchronization and BF16 gradients; plus the starting
// plan's own values, so each opened space contains the starting plan.
void OpenScheduling(search::SearchSpace& s, const spec::PlanSpec& start, int64_t sites,
                    bool relaxed) {
  s.schedule = {spec::Schedule::kGpipe, spec::Schedule::k1F1B, spec::Schedule::kInterleaved,
                spec::Schedule::kLlama3, spec::Schedule::kZbH1};
  s.vp = {1, 2, 4, 8};
  s.micro_batch = {1, 2, 4, 8};
  s.dp_replicate = {1, 2, 4, 8};
  AddIfMissing(s.vp, start.vp);
  AddIfMissing(s.micro_batch, start.micro_batch);
  AddIfMissing(s.dp_replicate, sites);
  AddIfMissing(s.dp_replicate, start.dp_replicate);
  if (relaxed) {
    s.grad_sync = {spec::GradSync::kStep, spec::GradSync::kDelayed};
    // The starting plan's dtype, then the other.
    s.grad_reduce_dtype = {start.grad_reduce_dtype,
                           start.grad_reduce_dtype == spec::GradReduceDtype::kBf16
                               ? spec::GradReduceDtype::kFp32
                               : spec::GradReduceDtype::kBf16};
  }
}

// Whether the ranking engine runs passes (then each search's best 16 are re-run by it).
bool ByEvents(const ExploreOptions& o) {
  Result<const sim::Engine*> engine = sim::FindEngine(o.engine, "explore.engine");
  return engine.ok() && (*engine)->RunsPasses();
}

// The step time the exploration ranks by (infinity when the plan is invalid).
double StepTime(const spec::JobSpec& job, const ExploreOptions& options) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Result<const sim::Engine*> engine = sim::FindEngine(options.engine, "explore.engine");
  Result<plan::Plan> p = plan::BuildPlan(job);
  if (!p.ok() || !engine.ok()) return kInf;
  Result<sim::StepResult> step = (*engine)->Step(*p);
  return step.ok() ? step->step_time_s : kInf;
}

// A row for `job`. `simulate` = false skips the event engine (a candidate row that may be thrown
// away; only possible when the analytical model ranks).
Result<Row> MakeRow(const std::string& name, const spec::JobSpec& job, const std::string& network,
                    size_t boundary, double baseline_s, bool events, bool simulate = true) {
  SP_ASSIGN_OR_RETURN(plan::Plan p, plan::BuildPlan(job));
  SP_ASSIGN_OR_RETURN(sim::StepResult step, sim::Evaluate(p));
  Row row;
  row.name = name;
  row.plan = search::Describe(p.spec(), p.dp);
  row.network = network;
  row.step_time_s = step.step_time_s;
  sim::EventResult event;
  if (simulate || events) {
    SP_ASSIGN_OR_RETURN(event, sim::SimulateEvents(p, {}));
    row.event_step_time_s = event.step.step_time_s;
  }
  double ranked_s = events ? row.event_step_time_s : row.step_time_s;
  row.tokens_per_s_per_gpu =
      static_cast<double>(p.TokensPerStep()) / ranked_s / static_cast<double>(p.gpus);
  row.speedup = baseline_s > 0 ? baseline_s / ranked_s : 1.0;
  row.breakdown = events ? event.step.breakdown : step.breakdown;
  row.job = job;
  std::vector<std::string> crossing;
  for (const topology::GroupPlacement& g : p.groups) {
    if (g.span_tier < 0 || static_cast<size_t>(g.span_tier) < boundary) continue;
    crossing.emplace_back(spec::DimName(g.dim));
    const sim::Breakdown& b = row.breakdown;
    switch (g.dim) {
      case spec::Dim::kTp:
        row.crossing_exposed_s += b.tp_comm_s;
        break;
      case spec::Dim::kCp:
        row.crossing_exposed_s += b.cp_comm_s;
        break;
      case spec::Dim::kPp:
        row.crossing_exposed_s += b.pp_comm_s;
        break;
      case spec::Dim::kDp:
        row.crossing_exposed_s += b.dp_comm_s;
        break;
    }
  }
  row.crossing = crossing.empty() ? "none" : Join(crossing, ", ");
  return row;
}

// The best plan of `space` for `base`'s model and cluster (exhaustive, analytical model; by
// events, the best 16 re-run pass by pass). `base` itself (which fits) is kept unless a plan of
// the space is strictly faster, so a row never reports a change that gains nothing.
Result<spec::JobSpec> Best(const spec::JobSpec& base, const search::SearchSpace& space,
                           const ExploreOptions& options) {
  const bool events = ByEvents(options);
  search::SearchOptions o;
  o.threads = options.threads;
  o.top_k = events ? 16 : 1;
  o.rerank_with_events = events;
  SP_ASSIGN_OR_RETURN(search::SearchResult r, search::Search(base, space, o));
  if (r.top.empty()) return base;
  const search::Evaluation& top = r.top.front();
  double top_s = events && top.event_step_time_s > 0 ? top.event_step_time_s : top.step.step_time_s;
  if (!(top_s < StepTime(base, options))) return base;
  spec::JobSpec best = base;
  best.plan = top.plan;
  best.plan.dp = 0;
  best.plan.microbatches = 0;
  if (best.plan.etp == best.plan.tp) best.plan.etp = 0;  // tp's default; a derived 1 stays
  best.plan.pp_microbatch_group = 0;
  return best;
}

}  // namespace

std::vector<Technology> Technologies() {
  std::vector<Technology> t(7);
  t[0].name = "ecmp";
  t[0].layer = "path";
  t[0].description =
      "per-flow ECMP hashing: a few large flows collide on the long links; 60% of their "
      "bandwidth (assumption)";
  t[0].bandwidth_efficiency = 0.60;
  t[1].name = "multi-qp";
  t[1].layer = "path";
  t[1].description =
      "ECMP with many queue pairs per connection: more, smaller flows; 80% (assumption)";
  t[1].bandwidth_efficiency = 0.80;
  t[2].name = "spray";
  t[2].layer = "path";
  t[2].description =
      "packet spraying over all paths, out-of-order delivery handled by the NIC; 95% and 2 us "
      "(assumption)";
  t[2].bandwidth_efficiency = 0.95;
  t[2].extra_latency_s = 2e-6;
  t[3].name = "flat";
  t[3].layer = "collective";
  t[3].description = "NCCL's flat ring or tree over the whole group (collective/collective.h)";
  t[4].name = "hierarchical";
  t[4].layer = "collective";
  t[4].description =
      "two-level collectives: reduce inside each site, exchange 1/m shards across, gather inside "
      "(the cheaper of that and flat)";
  t[4].hierarchical_collectives = true;
  t[5].name = "gbn";
  t[5].layer = "transport";
  t[5].description =
      "RoCE go-back-N, built for a lossless fabric; beyond one building PFC cannot cover the "
      "round trip, so drops happen (1e-4 of packets, assumption) and each resends the window in "
      "flight";
  t[5].packet_loss_rate = 1e-4;
  t[5].go_back_n = true;
  t[6].name = "sr";
  t[6].layer = "transport";
  t[6].description =
      "loss-tolerant transport with selective repeat: the same drops (1e-4, assumption) resend "
      "one packet each";
  t[6].packet_loss_rate = 1e-4;
  return t;
}

std::string NetworkStack::Name() const {
  std::vector<std::string> names;
  for (const Technology& t : layers) names.push_back(t.name);
  return Join(names, "+");
}

std::vector<NetworkStack> Stacks() {
  std::vector<std::string> order;  // layers in registry order
  std::map<std::string, std::vector<Technology>> by_layer;
  for (const Technology& t : Technologies()) {
    if (!by_layer.count(t.layer)) order.push_back(t.layer);
    by_layer[t.layer].push_back(t);
  }
  std::vector<NetworkStack> stacks = {NetworkStack{}};
  for (const std::string& layer : order) {
    std::vector<NetworkStack> next;
    for (const NetworkStack& s : stacks) {
      for (const Technology& t : by_layer[layer]) {
        NetworkStack n = s;
        n.layers.push_back(t);
        next.push_back(n);
      }
    }
    stacks = next;
  }
  return stacks;
}

spec::ClusterSpec Apply(const spec::ClusterSpec& cluster, size_t boundary,
                        const NetworkStack& stack) {
  spec::ClusterSpec out = cluster;
  for (const Technology& tech : stack.layers) {
    for (size_t t = boundary; t < out.tiers.size(); ++t) {
      spec::TierSpec& tier = out.tiers[t];
      tier.bandwidth_bytes_per_s *= tech.bandwidth_efficiency;
      tier.latency_s += tech.extra_latency_s;
      if (tech.hierarchical_collectives) tier.hierarchical_collectives = true;
      if (tech.packet_loss_rate > 0) {
        double window = 1.0;
        if (tech.go_back_n) {
          double rate = tier.bandwidth_bytes_per_s / tier.oversubscription;
          window = std::max(1.0, rate * 2.0 * tier.latency_s / kPacketBytes);
        }
        tier.bandwidth_bytes_per_s /= 1.0 + tech.packet_loss_rate * window;
      }
    }
  }
  return out;
}

Result<ExploreResult> Explore(const spec::JobSpec& start, const ExploreOptions& options) {
  const spec::ClusterSpec& c = start.cluster;
  if (c.tiers.size() < 2) {
    return Status::Invalid(
        fmt::format("cluster {} has one tier, so nothing crosses a boundary (allowed: a "
                    "cluster with two or more tiers, e.g. campus-2x8k, campus-4x8k, regions-2x8k)",
                    c.name));
  }
  size_t boundary = c.tiers.size() - 1;
  if (!options.boundary_tier.empty()) {
    std::vector<std::string> names;
    bool found = false;
    for (size_t t = 0; t < c.tiers.size(); ++t) {
      names.push_back(c.tiers[t].name);
      if (c.tiers[t].name == options.boundary_tier) {
        boundary = t;
        found = true;
      }
    }
    if (!found || boundary == 0) {
      return Status::Invalid(
          fmt::format("explore.boundary_tier = {} is not a tier above the first (allowed: {})",
                      options.boundary_tier,
                      Join(std::vector<std::string>(names.begin() + 1, names.end()), ", ")));
    }
  }
  SP_RETURN_IF_ERROR(ExploreOptionsSchema().CheckValues(options));
  SP_RETURN_IF_ERROR(sim::FindEngine(options.engine, "explore.engine").status());
  const bool events = ByEvents(options);
  std::vector<NetworkStack> stacks = Stacks();
  const NetworkStack& base_stack = stacks.front();  // the production baseline
  // The stacks scale the tiers from the boundary on (less bandwidth, more latency): a tier at the
  // edge of the allowed range can leave it, and that is the user's tier, not a value of theirs.
  SP_RETURN_IF_ERROR(spec::ValidateCluster(c));
  for (const NetworkStack& stack : stacks) {
    if (Status s = spec::ValidateCluster(Apply(c, boundary, stack)); !s.ok()) {
      return Status::Invalid(fmt::format(
          "cluster {}: the network stack {} scales its tiers from {} on out of range, to {}; "
          "the tiers at and above the boundary need room for every stack's bandwidth factor "
          "and added latency (docs/EXPLORE.md)",
          c.name, stack.Name(), c.tiers[boundary].name, s.message()));
    }
  }
  ExploreResult result;
  result.boundary_tier = c.tiers[boundary].name;
  result.engine = options.engine;

  spec::JobSpec baseline = start;
  if (baseline.gpus == 0) baseline.gpus = c.CapacityGpus();
  const spec::TierSpec& inside = c.tiers[boundary - 1];
  if (baseline.gpus <= inside.gpus) {
    return Status::Invalid(fmt::format(
        "gpus = {} fit inside one {} ({} GPUs), so nothing crosses the boundary tier {} "
        "(allowed: more than {})",
        baseline.gpus, inside.name, inside.gpus, c.tiers[boundary].name, inside.gpus));
  }
  baseline.cluster = Apply(c, boundary, base_stack);
  SP_ASSIGN_OR_RETURN(plan::Plan base_plan, plan::BuildPlan(baseline));
  plan::MemoryReport memory = plan::ComputeMemory(base_plan);
  if (!memory.fits) {
    return Status::Invalid(fmt::format(
        "starting plan needs {:.2f} GiB per GPU, {:.2f} GiB usable (allowed: a starting plan "
        "that fits; try --recompute full, more --pp or --tp)",
        memory.peak_bytes / std::pow(2, 30), memory.usable_bytes / std::pow(2, 30)));
  }
  SP_ASSIGN_OR_RETURN(result.baseline,
                      MakeRow("baseline", baseline, base_stack.Name(), boundary, 0, events));
  double t0 = events ? result.baseline.event_step_time_s : result.baseline.step_time_s;
  const int64_t sites = baseline.gpus / inside.gpus;
  result.baseline.speedup = 1.0;

  // One dimension at a time.
  auto ranked = [&](const Row& row) { return events ? row.event_step_time_s : row.step_time_s; };
  search::SearchSpace placement = Pinned(baseline.plan);
  OpenPlacement(placement);
  SP_ASSIGN_OR_RETURN(spec::JobSpec by_placement, Best(baseline, placement, options));
  SP_ASSIGN_OR_RETURN(Row row,
                      MakeRow("placement", by_placement, base_stack.Name(), boundary, t0, events));
  result.one_at_a_time.push_back(row);

  search::SearchSpace scheduling = Pinned(baseline.plan);
  OpenScheduling(scheduling, baseline.plan, sites, options.relaxed_sync);
  SP_ASSIGN_OR_RETURN(spec::JobSpec by_scheduling, Best(baseline, scheduling, options));
  SP_ASSIGN_OR_RETURN(
      row, MakeRow("scheduling", by_scheduling, base_stack.Name(), boundary, t0, events));
  result.one_at_a_time.push_back(row);

  Row best_network;
  for (const NetworkStack& stack : stacks) {
    spec::JobSpec job = start;
    job.gpus = baseline.gpus;
    job.cluster = Apply(c, boundary, stack);
    SP_ASSIGN_OR_RETURN(row, MakeRow("network", job, stack.Name(), boundary, t0, events, false));
    if (best_network.step_time_s == 0 || ranked(row) < ranked(best_network)) best_network = row;
  }
  // The event engine for the chosen row only (it ran for every candidate when it ranks).
  SP_ASSIGN_OR_RETURN(best_network, MakeRow("network", best_network.job, best_network.network,
                                            boundary, t0, events));
  result.one_at_a_time.push_back(best_network);

  // Jointly: for every stack, the best placement x scheduling.
  search::SearchSpace joint = Pinned(baseline.plan);
  OpenPlacement(joint);
  OpenScheduling(joint, baseline.plan, sites, options.relaxed_sync);
  for (const NetworkStack& stack : stacks) {
    spec::JobSpec job = start;
    job.gpus = baseline.gpus;
    job.cluster = Apply(c, boundary, stack);
    SP_ASSIGN_OR_RETURN(spec::JobSpec best, Best(job, joint, options));
    // The single-dimension winners are in the joint space; ranked by events they may fall outside
    // the analytical top 16, so try them directly.
    double best_s = StepTime(best, options);
    for (const spec::JobSpec* single : {&by_placement, &by_scheduling}) {
      spec::JobSpec candidate = job;
      candidate.plan = single->plan;
      double t = StepTime(candidate, options);
      if (t < best_s) {
        best = candidate;
        best_s = t;
      }
    }
    SP_ASSIGN_OR_RETURN(row, MakeRow("joint", best, stack.Name(), boundary, t0, events, false));
    if (result.joint.step_time_s == 0 || ranked(row) < ranked(result.joint)) result.joint = row;
  }
  SP_ASSIGN_OR_RETURN(
      result.joint, MakeRow("joint", result.joint.job, result.joint.network, boundary, t0, events));
  return result;
}

const spec::Schema<ExploreOptions>& ExploreOptionsSchema() {
  static const spec::Schema<ExploreOptions> schema = [] {
    std::vector<std::string> engines;
    for (const sim::Engine* e : sim::Engines()) engines.emplace_back(e->name());
    spec::Schema<ExploreOptions> s("explore");
    s.Text("boundary_tier", &ExploreOptions::boundary_tier,
           "tier whose links are the scale-across boundary (not given: the outermost)");
    s.Boolean("relaxed_sync", &ExploreOptions::relaxed_sync,
              "also try a delayed cross-replica gradient reduction and the other gradient dtype "
              "(BF16 for an FP32 job, FP32 for a BF16 one; both change training)");
    s.OneOf("engine", &ExploreOptions::engine, engines,
            "what ranks the candidates (an engine that runs passes re-runs each search's best 16)");
    s.Integer("threads", &ExploreOptions::threads, 1, 256, "", "threads for the searches");
    return s;
  }();
  return schema;
}

}  // namespace scaleplan::explore
