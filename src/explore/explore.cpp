#include "explore/explore.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/text.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/event.h"

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
  s.tp = {p.tp};
  s.cp = {p.cp};
  s.pp = {p.pp};
  s.vp = {p.vp};
  s.micro_batch = {p.micro_batch};
  s.ep = {p.ep};
  s.zero = {p.zero};
  s.recompute = {p.recompute};
  s.cp_algorithm = {p.cp_algorithm};
  s.placement = {p.placement};
  s.schedule = {p.schedule};
  s.trim_edge_stages = {p.trim_edge_stages};
  return s;
}

void OpenPlacement(search::SearchSpace& s) { s.placement = AllOrders(); }

// Every schedule, vp in {1, 2, 4, 8} and micro-batch in {1, 2, 4, 8}, plus the starting plan's own
// values, so each opened space contains the starting plan.
void OpenScheduling(search::SearchSpace& s, const spec::PlanSpec& start) {
  s.schedule = {spec::Schedule::kGpipe, spec::Schedule::k1F1B, spec::Schedule::kInterleaved,
                spec::Schedule::kLlama3, spec::Schedule::kZbH1};
  s.vp = {1, 2, 4, 8};
  s.micro_batch = {1, 2, 4, 8};
  if (std::find(s.vp.begin(), s.vp.end(), start.vp) == s.vp.end()) s.vp.push_back(start.vp);
  if (std::find(s.micro_batch.begin(), s.micro_batch.end(), start.micro_batch) ==
      s.micro_batch.end())
    s.micro_batch.push_back(start.micro_batch);
}

double StepTime(const spec::JobSpec& job) {
  Result<plan::Plan> p = plan::BuildPlan(job);
  if (!p.ok()) return std::numeric_limits<double>::infinity();
  Result<sim::StepResult> step = sim::Evaluate(*p);
  return step.ok() ? step->step_time_s : std::numeric_limits<double>::infinity();
}

Result<Row> MakeRow(const std::string& name, const spec::JobSpec& job, const std::string& network,
                    size_t boundary, double baseline_s) {
  SP_ASSIGN_OR_RETURN(plan::Plan p, plan::BuildPlan(job));
  SP_ASSIGN_OR_RETURN(sim::StepResult step, sim::Evaluate(p));
  Row row;
  row.name = name;
  row.plan = search::Describe(p.spec(), p.dp);
  row.network = network;
  row.step_time_s = step.step_time_s;
  SP_ASSIGN_OR_RETURN(sim::EventResult event, sim::SimulateEvents(p, {}));
  row.event_step_time_s = event.step.step_time_s;
  row.tokens_per_s_per_gpu = step.tokens_per_s_per_gpu;
  row.speedup = baseline_s > 0 ? baseline_s / step.step_time_s : 1.0;
  std::vector<std::string> crossing;
  for (const topology::GroupPlacement& g : p.groups) {
    if (g.span_tier < 0 || static_cast<size_t>(g.span_tier) < boundary) continue;
    crossing.emplace_back(spec::DimName(g.dim));
    const sim::Breakdown& b = step.breakdown;
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

// The best plan of `space` for `base`'s model and cluster (analytical model, exhaustive). `base`
// itself (which fits) is kept unless a plan of the space is strictly faster, so a row never reports
// a change that gains nothing.
Result<spec::JobSpec> Best(const spec::JobSpec& base, const search::SearchSpace& space,
                           int threads) {
  search::SearchOptions o;
  o.threads = threads;
  o.top_k = 1;
  o.rerank_with_events = false;
  SP_ASSIGN_OR_RETURN(search::SearchResult r, search::Search(base, space, o));
  if (r.top.empty() || !(r.top.front().step.step_time_s < StepTime(base))) return base;
  spec::JobSpec best = base;
  best.plan = r.top.front().plan;
  best.plan.dp = 0;
  best.plan.microbatches = 0;
  best.plan.etp = 0;
  best.plan.pp_microbatch_group = 0;
  return best;
}

}  // namespace

std::vector<Technology> Technologies() {
  return {{"ecmp",
           "per-flow ECMP hashing: a few large flows collide on the long links; 60% of their "
           "bandwidth (assumption)",
           0.60, 0.0},
          {"multi-qp",
           "ECMP with many queue pairs per connection: more, smaller flows; 80% (assumption)", 0.80,
           0.0},
          {"spray",
           "packet spraying over all paths with out-of-order delivery handled by the NIC; 95% "
           "(assumption)",
           0.95, 2e-6}};
}

spec::ClusterSpec Apply(const spec::ClusterSpec& cluster, size_t boundary, const Technology& tech) {
  spec::ClusterSpec out = cluster;
  for (size_t t = boundary; t < out.tiers.size(); ++t) {
    out.tiers[t].bandwidth_bytes_per_s *= tech.bandwidth_efficiency;
    out.tiers[t].latency_s += tech.extra_latency_s;
  }
  return out;
}

Result<ExploreResult> Explore(const spec::JobSpec& start, const ExploreOptions& options) {
  const spec::ClusterSpec& c = start.cluster;
  if (c.tiers.size() < 2) {
    return Status::Invalid(
        fmt::format("--cluster = {} has one tier, so nothing crosses a boundary (allowed: a "
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
          fmt::format("--boundary-tier = {} (allowed: {})", options.boundary_tier,
                      Join(std::vector<std::string>(names.begin() + 1, names.end()), ", ")));
    }
  }
  std::vector<Technology> techs = Technologies();
  const Technology& base_tech = techs.front();  // the baseline technology (ecmp)
  ExploreResult result;
  result.boundary_tier = c.tiers[boundary].name;

  spec::JobSpec baseline = start;
  if (baseline.gpus == 0) baseline.gpus = c.CapacityGpus();
  const spec::TierSpec& inside = c.tiers[boundary - 1];
  if (baseline.gpus <= inside.gpus) {
    return Status::Invalid(fmt::format(
        "--gpus = {} fits inside one {} ({} GPUs), so nothing crosses the boundary tier {} "
        "(allowed: more than {})",
        baseline.gpus, inside.name, inside.gpus, c.tiers[boundary].name, inside.gpus));
  }
  baseline.cluster = Apply(c, boundary, base_tech);
  SP_ASSIGN_OR_RETURN(plan::Plan base_plan, plan::BuildPlan(baseline));
  plan::MemoryReport memory = plan::ComputeMemory(base_plan);
  if (!memory.fits) {
    return Status::Invalid(fmt::format(
        "starting plan needs {:.2f} GiB per GPU, {:.2f} GiB usable (allowed: a starting plan "
        "that fits; try --recompute full, more --pp or --tp)",
        memory.peak_bytes / std::pow(2, 30), memory.usable_bytes / std::pow(2, 30)));
  }
  SP_ASSIGN_OR_RETURN(result.baseline, MakeRow("baseline", baseline, base_tech.name, boundary, 0));
  double t0 = result.baseline.step_time_s;
  result.baseline.speedup = 1.0;

  // One dimension at a time.
  search::SearchSpace placement = Pinned(baseline.plan);
  OpenPlacement(placement);
  SP_ASSIGN_OR_RETURN(spec::JobSpec by_placement, Best(baseline, placement, options.threads));
  SP_ASSIGN_OR_RETURN(Row row, MakeRow("placement", by_placement, base_tech.name, boundary, t0));
  result.one_at_a_time.push_back(row);

  search::SearchSpace scheduling = Pinned(baseline.plan);
  OpenScheduling(scheduling, baseline.plan);
  SP_ASSIGN_OR_RETURN(spec::JobSpec by_scheduling, Best(baseline, scheduling, options.threads));
  SP_ASSIGN_OR_RETURN(row, MakeRow("scheduling", by_scheduling, base_tech.name, boundary, t0));
  result.one_at_a_time.push_back(row);

  Row best_network;
  for (const Technology& tech : techs) {
    spec::JobSpec job = start;
    job.gpus = baseline.gpus;
    job.cluster = Apply(c, boundary, tech);
    SP_ASSIGN_OR_RETURN(row, MakeRow("network", job, tech.name, boundary, t0));
    if (best_network.step_time_s == 0 || row.step_time_s < best_network.step_time_s)
      best_network = row;
  }
  result.one_at_a_time.push_back(best_network);

  // Jointly: for every technology, the best placement x scheduling.
  search::SearchSpace joint = Pinned(baseline.plan);
  OpenPlacement(joint);
  OpenScheduling(joint, baseline.plan);
  for (const Technology& tech : techs) {
    spec::JobSpec job = start;
    job.gpus = baseline.gpus;
    job.cluster = Apply(c, boundary, tech);
    SP_ASSIGN_OR_RETURN(spec::JobSpec best, Best(job, joint, options.threads));
    SP_ASSIGN_OR_RETURN(row, MakeRow("joint", best, tech.name, boundary, t0));
    if (result.joint.step_time_s == 0 || row.step_time_s < result.joint.step_time_s)
      result.joint = row;
  }
  return result;
}

}  // namespace scaleplan::explore
