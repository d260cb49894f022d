#include "report/rec_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "core/text.h"
#include "core/units.h"

namespace scaleplan::report {

namespace {

using recsys::PlannerRun;
using recsys::RecStep;

nlohmann::json StepJson(const RecStep& s) {
  return {{"step_s", s.step_s},
          {"forward_s", s.forward_s},
          {"backward_s", s.backward_s},
          {"samples_per_s", s.samples_per_s},
          {"samples_per_s_per_gpu", s.samples_per_s_per_gpu},
          {"ids_all_to_all_s", s.ids_s},
          {"ids_exposed_s", s.ids_exposed_s},
          {"prefetch_s", s.prefetch_s},
          {"prefetch_exposed_s", s.prefetch_exposed_s},
          {"lookup_forward_s", s.lookup_fwd_s},
          {"node_reduce_s", s.node_reduce_s},
          {"pooled_forward_s", s.pooled_fwd_s},
          {"bottom_forward_s", s.bottom_fwd_s},
          {"top_forward_s", s.top_fwd_s},
          {"top_dgrad_s", s.top_dgrad_s},
          {"dense_rest_s", s.dense_rest_s},
          {"pooled_backward_s", s.pooled_bwd_s},
          {"node_gather_s", s.node_gather_s},
          {"lookup_backward_s", s.lookup_bwd_s},
          {"allreduce_s", s.allreduce_s},
          {"allreduce_exposed_s", s.allreduce_exposed_s},
          {"dense_optimizer_s", s.dense_optimizer_s},
          {"overhead_s", s.overhead_s},
          {"slowest_lookup_rank", s.slowest_lookup_rank},
          {"memory",
           {{"hbm_capacity_bytes", s.hbm_capacity_bytes},
            {"max_hbm_bytes", s.max_hbm_bytes},
            {"fullest_rank", s.fullest_rank},
            {"fullest_rank_parts",
             {{"shards_bytes", s.fullest.shards_bytes},
              {"data_parallel_bytes", s.fullest.data_parallel_bytes},
              {"dense_state_bytes", s.fullest.dense_state_bytes},
              {"activation_bytes", s.fullest.activation_bytes},
              {"buffer_bytes", s.fullest.buffer_bytes}}},
            {"max_host_bytes", s.max_host_bytes},
            {"fits", s.fits},
            {"rank_hbm_bytes", s.rank_hbm_bytes}}}};
}

// Samples per second with a unit: three decimals in millions (1.811M), two in thousands
// (12.50k), one below (314.2).
std::string Rate(double per_s) {
  if (per_s >= 1e6) return fmt::format("{:.3f}M", per_s / 1e6);
  if (per_s >= 1e3) return fmt::format("{:.2f}k", per_s / 1e3);
  return fmt::format("{:.1f}", per_s);
}

nlohmann::json RankStatsJson(const PlannerRun& run) {
  nlohmann::json ranks = nlohmann::json::array();
  for (size_t r = 0; r < run.loads.ranks.size(); ++r) {
    const recsys::RankLoad& load = run.loads.ranks[r];
    ranks.push_back(
        {{"rank", r},
         {"lookup_forward_s", load.lookup_fwd_s + run.loads.dp_lookup_fwd_s},
         {"lookup_backward_s", load.lookup_bwd_s + run.loads.dp_lookup_bwd_s},
         {"pooled_send_bytes", load.pooled_send_bytes},
         {"ids_receive_bytes", load.ids_recv_bytes},
         {"node_reduce_bytes", load.node_reduce_bytes},
         {"shard_hbm_bytes", load.hbm_bytes},
         {"shard_host_bytes", load.host_bytes},
         {"hbm_bytes", r < run.step.rank_hbm_bytes.size() ? run.step.rank_hbm_bytes[r] : 0},
         {"blocks", load.blocks}});
  }
  return ranks;
}

std::string TypeCounts(const recsys::ShardingPlan& plan) {
  std::map<std::string, int> counts;
  for (const recsys::TableSharding& s : plan.tables) {
    std::string key(recsys::ShardingTypeName(s.type));
    if (s.kernel != recsys::Kernel::kFused) key += "/" + std::string(recsys::KernelName(s.kernel));
    ++counts[key];
  }
  std::string out;
  for (const auto& [name, n] : counts)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, name);
  return out;
}

std::string RanksText(const recsys::RecJob& job, const recsys::TableSharding& s) {
  if (s.type == recsys::ShardingType::kDataParallel) return "all";
  if (static_cast<int64_t>(s.ranks.size()) == job.world && job.world > 1) return "all";
  std::string out;
  for (size_t i = 0; i < s.ranks.size() && i < 8; ++i) {
    out += fmt::format("{}{}", i ? "," : "", s.ranks[i]);
  }
  if (s.ranks.size() > 8) out += fmt::format(",.. ({})", s.ranks.size());
  return out;
}

}  // namespace

nlohmann::json RecJson(const recsys::RecStudy& study) {
  const recsys::RecJob& job = study.job;
  const spec::RankingModelSpec& model = job.spec.model;
  nlohmann::json runs = nlohmann::json::array();
  for (const PlannerRun& run : study.runs) {
    nlohmann::json scores = nlohmann::json::array();
    for (const recsys::EngineScore& s : run.scores) {
      scores.push_back({{"engine", s.engine}, {"unit", s.unit}, {"value", s.value}});
    }
    runs.push_back({{"planner", run.planner},
                    {"plan_cpu_s", run.plan_cpu_s},
                    {"step", StepJson(run.step)},
                    {"scores", scores},
                    {"plan", recsys::PlanJson(job, run.plan)},
                    {"ranks", RankStatsJson(run)}});
  }
  nlohmann::json batches = nlohmann::json::array();
  for (const auto& [batch, rate] : study.batches) {
    // No plan fits at this batch: no rate (null) rather than a zero that reads as measured.
    batches.push_back({{"global_batch", batch},
                       {"fits", rate > 0},
                       {"samples_per_s", rate > 0 ? nlohmann::json(rate) : nlohmann::json()}});
  }
  return {{"model",
           {{"name", model.name},
            {"tables", model.tables.size()},
            // A model whose dense part is an architecture has no interaction key.
            {"interaction", model.arch.empty()
                                ? nlohmann::json(spec::InteractionName(model.interaction))
                                : nlohmann::json()},
            {"arch", model.arch.empty() ? nlohmann::json() : nlohmann::json(model.arch)},
            {"embedding_params", study.counts.embedding_params},
            {"dense_params", study.counts.dense_params},
            {"lookups_per_sample", study.counts.lookups_per_sample},
            {"dense_forward_flops_per_sample", study.counts.dense_flops_per_sample}}},
          {"job",
           {{"cluster", job.spec.cluster.name},
            {"gpu", job.spec.cluster.gpu.name},
            {"gpus", job.world},
            {"gpus_per_node", job.local_world},
            {"global_batch", job.spec.global_batch},
            {"local_batch", job.local_batch},
            {"optimizer", spec::EmbeddingOptimizerName(job.spec.optimizer)}}},
          {"factors",
           {{"lookup_bandwidth_fraction", study.factors.lookup_bandwidth_fraction},
            {"step_overhead_s", study.factors.step_overhead_s}}},
          {"runs", runs},
          {"batches", batches},
          {"failures", study.failures}};
}

std::string RecText(const recsys::RecStudy& study) {
  const recsys::RecJob& job = study.job;
  const spec::RankingModelSpec& model = job.spec.model;
  const double weight_bytes = spec::EmbeddingDtypeBytes(model.embedding_dtype);
  double rows = 0;
  for (const spec::TableSpec& t : model.tables) rows += static_cast<double>(t.rows);
  std::string out = fmt::format(
      "Ranking model {}: {} tables, {}M rows, {}B embedding parameters ({} GB {}), "
      "{} ids per sample; {}, {}M dense parameters, {} MFLOP per sample "
      "forward\n",
      Printable(model.name, 64), model.tables.size(), Fixed(rows / 1e6, 1),
      Fixed(study.counts.embedding_params / 1e9, 2),
      Fixed(study.counts.embedding_params * weight_bytes / 1e9, 1),
      spec::EmbeddingDtypeName(model.embedding_dtype), PlainCount(study.counts.lookups_per_sample),
      model.arch.empty() ? fmt::format("{} interaction", spec::InteractionName(model.interaction))
                         : fmt::format("dense part {}", Printable(model.arch, 64)),
      Fixed(study.counts.dense_params / 1e6, 1),
      Fixed(study.counts.dense_flops_per_sample / 1e6, 1));
  out += fmt::format(
      "Job: {} x {} ({} node{} of {}) on {}, global batch {} ({:.0f} per GPU), optimizer {}\n",
      job.world, job.spec.cluster.gpu.name, job.nodes, job.nodes == 1 ? "" : "s", job.local_world,
      job.spec.cluster.name, job.spec.global_batch, job.local_batch,
      spec::EmbeddingOptimizerName(job.spec.optimizer));
  if (!study.batches.empty()) {
    out +=
        "\nGlobal batch chosen by the planner (samples/s of its plan at each; - where none "
        "fits):\n";
    size_t width = 10;  // the widest batch sets the column
    for (const auto& entry : study.batches) {
      width = std::max(width, fmt::format("{}", entry.first).size());
    }
    for (const auto& [batch, rate] : study.batches) {
      out += fmt::format("  {:>{}} {:>12}{}\n", batch, width, rate > 0 ? Rate(rate) : "-",
                         batch == job.spec.global_batch ? "  <- chosen" : "");
    }
  }
  const PlannerRun& answer = study.runs.front();
  const RecStep& s = answer.step;
  out += fmt::format(
      "\nPlan by {}{}: step {:.3f} ms, {} samples/s ({} per GPU)\n",
      answer.planner == "file" ? "the given file" : answer.planner,
      answer.planner == "file" ? "" : fmt::format(" (planned in {:.2f} s)", answer.plan_cpu_s),
      s.step_s * 1e3, Rate(s.samples_per_s), Rate(s.samples_per_s_per_gpu));
  const bool overlap = study.job.spec.overlap_embeddings;
  out += fmt::format("  {:<52} {:>10}\n", "phase (slowest rank each)", "time_ms");
  auto row = [&](const std::string& name, double v, const std::string& note = "") {
    out += fmt::format("  {:<52} {:>10.3f}{}\n", name, v * 1e3, note);
  };
  row("forward (critical path)", s.forward_s);
  if (!study.job.spec.pipeline_input_dist) row("  ids all-to-all", s.ids_s);
  row(fmt::format("  lookup forward (rank {})", s.slowest_lookup_rank), s.lookup_fwd_s);
  if (s.node_reduce_s > 0) row("  node reduce-scatter", s.node_reduce_s);
  row("  pooled all-to-all forward", s.pooled_fwd_s);
  row(overlap ? "  bottom MLP forward (beside the tables)" : "  bottom MLP forward",
      s.bottom_fwd_s);
  row("  interaction + top MLP forward", s.top_fwd_s);
  row("backward (critical path)", s.backward_s);
  row("  interaction + top MLP input gradients", s.top_dgrad_s);
  row("  pooled all-to-all backward", s.pooled_bwd_s);
  if (s.node_gather_s > 0) row("  node all-gather", s.node_gather_s);
  row("  lookup backward + optimizer", s.lookup_bwd_s);
  row(overlap ? "  weight gradients + bottom MLP (beside the tables)"
              : "  weight gradients + bottom MLP backward",
      s.dense_rest_s);
  if (study.job.spec.pipeline_input_dist) {
    row("ids all-to-all, exposed", s.ids_exposed_s,
        fmt::format("   of {:.3f} ms; pipelined behind the previous step", s.ids_s * 1e3));
  }
  if (s.prefetch_s > 0) {
    row("cache prefetch, exposed", s.prefetch_exposed_s,
        fmt::format("   of {:.3f} ms; fetched during the previous step", s.prefetch_s * 1e3));
  }
  row("gradient all-reduce, exposed", s.allreduce_exposed_s,
      fmt::format("   of {:.3f} ms", s.allreduce_s * 1e3));
  row("dense optimizer", s.dense_optimizer_s);
  row("step overhead (fitted)", s.overhead_s);
  row("step", s.step_s);
  out += fmt::format("  memory: {:.1f} GiB on rank {} (fullest) of {:.1f} GiB usable{}: {}\n",
                     s.max_hbm_bytes / kGi, s.fullest_rank, s.hbm_capacity_bytes / kGi,
                     s.max_host_bytes > 0
                         ? fmt::format(", {:.1f} GiB in host memory", s.max_host_bytes / kGi)
                         : "",
                     s.fits ? "fits" : "DOES NOT FIT");
  out += fmt::format(
      "    rank {}: shards {:.1f} GiB, data-parallel tables {:.1f}, dense state {:.1f}, "
      "activations {:.1f}, buffers {:.1f}\n",
      s.fullest_rank, s.fullest.shards_bytes / kGi, s.fullest.data_parallel_bytes / kGi,
      s.fullest.dense_state_bytes / kGi, s.fullest.activation_bytes / kGi,
      s.fullest.buffer_bytes / kGi);
  out += fmt::format("  sharding: {}\n", TypeCounts(answer.plan));
  bool sharded = false;
  for (const recsys::TableSharding& sh : answer.plan.tables) {
    sharded = sharded || sh.type != recsys::ShardingType::kDataParallel;
  }
  if (sharded) {
    // The busiest ranks by their own lookups, with what they hold.
    std::vector<size_t> ranks(answer.loads.ranks.size());
    std::iota(ranks.begin(), ranks.end(), 0);
    auto busy = [&](size_t r) {
      return answer.loads.ranks[r].lookup_fwd_s + answer.loads.ranks[r].lookup_bwd_s;
    };
    std::stable_sort(ranks.begin(), ranks.end(),
                     [&](size_t a, size_t b) { return busy(a) > busy(b); });
    const size_t shown = std::min<size_t>(ranks.size(), 4);
    out += fmt::format(
        "  busiest ranks (lookup forward + backward, besides {:.3f} ms of "
        "data-parallel lookups on every rank):\n",
        (answer.loads.dp_lookup_fwd_s + answer.loads.dp_lookup_bwd_s) * 1e3);
    for (size_t i = 0; i < shown; ++i) {
      const size_t r = ranks[i];
      std::string held;
      int count = 0;
      for (size_t t = 0; t < answer.plan.tables.size(); ++t) {
        const recsys::TableSharding& sh = answer.plan.tables[t];
        if (sh.type == recsys::ShardingType::kDataParallel) continue;
        if (std::find(sh.ranks.begin(), sh.ranks.end(), static_cast<int64_t>(r)) ==
            sh.ranks.end()) {
          continue;
        }
        if (count++ < 4) held += (held.empty() ? "" : ", ") + Printable(model.tables[t].name, 32);
      }
      if (count > 4) held += fmt::format(" and {} more", count - 4);
      out += fmt::format("    rank {:<5} {:>8.3f} ms  pooled out {:>8.1f} MB  {}\n", r,
                         busy(r) * 1e3, answer.loads.ranks[r].pooled_send_bytes / 1e6,
                         held.empty() ? "(no shards)" : held);
    }
  }
  // The tables with the most lookup bytes (all of them when there are few).
  std::vector<size_t> order(model.tables.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return model.tables[a].pooling * static_cast<double>(model.DimOf(model.tables[a])) >
           model.tables[b].pooling * static_cast<double>(model.DimOf(model.tables[b]));
  });
  const size_t shown = std::min<size_t>(order.size(), 30);
  out += fmt::format("\n  {:<16} {:>12} {:>5} {:>8}  {:<15} {:<20} {}\n", "table", "rows", "dim",
                     "pooling", "sharding", "ranks", "kernel");
  for (size_t i = 0; i < shown; ++i) {
    size_t t = order[i];
    const spec::TableSpec& table = model.tables[t];
    const recsys::TableSharding& sh = answer.plan.tables[t];
    std::string kernel(recsys::KernelName(sh.kernel));
    if (sh.kernel == recsys::Kernel::kUvmCaching) kernel += fmt::format(" {:.2f}", sh.cache_ratio);
    std::string type(recsys::ShardingTypeName(sh.type));
    if (sh.type == recsys::ShardingType::kGrid) type += fmt::format(" x{}", sh.column_blocks);
    out += fmt::format("  {:<16} {:>12} {:>5} {:>8.1f}  {:<15} {:<20} {}\n",
                       Printable(table.name, 64), table.rows, model.DimOf(table), table.pooling,
                       type, RanksText(job, sh), kernel);
  }
  if (shown < order.size()) {
    out += fmt::format("  ... {} more tables (--json lists every one)\n", order.size() - shown);
  }
  if (study.runs.size() > 1 || !study.failures.empty()) {
    out +=
        "\nEvery plan rated by every engine (scaleplan's step is the prediction; torchrec's and "
        "hugectr's are what those planners optimise):\n";
    out += fmt::format("  {:<10} {:>12} {:>14} {:>16} {:>13} {:>6}  {}\n", "planner", "step_ms",
                       "samples/s/GPU", "torchrec_est_ms", "hugectr_cost", "fits", "sharding");
    for (const PlannerRun& run : study.runs) {
      double tr = 0;
      double hc = 0;
      for (const recsys::EngineScore& e : run.scores) {
        if (e.engine == "torchrec") tr = e.value;
        if (e.engine == "hugectr") hc = e.value;
      }
      out += fmt::format("  {:<10} {:>12.3f} {:>14} {:>16.3f} {:>13.1f} {:>6}  {}\n", run.planner,
                         run.step.step_s * 1e3, Rate(run.step.samples_per_s_per_gpu), tr * 1e3, hc,
                         run.step.fits ? "yes" : "no", TypeCounts(run.plan));
    }
    for (const std::string& f : study.failures) out += fmt::format("  {}\n", f);
  }
  return out;
}

nlohmann::json RecValidationJson(const recsys::RecValidation& v) {
  auto factors = [](const recsys::RecFactors& f) {
    return nlohmann::json{{"lookup_bandwidth_fraction", f.lookup_bandwidth_fraction},
                          {"step_overhead_s", f.step_overhead_s}};
  };
  nlohmann::json rows = nlohmann::json::array();
  for (const recsys::RecValidationRow& r : v.rows) {
    rows.push_back({{"run", r.run.label},
                    {"gpu_type", r.run.gpu_type},
                    {"gpus", r.run.gpus},
                    {"global_batch", r.run.global_batch},
                    {"measured_samples_per_s", r.run.samples_per_s},
                    {"predicted_samples_per_s", r.predicted_samples_per_s},
                    {"error_pct", r.error_pct},
                    {"loo_predicted_samples_per_s", r.loo_predicted_samples_per_s},
                    {"loo_error_pct", r.loo_error_pct},
                    {"loo_factors", factors(r.loo_factors)},
                    {"step", StepJson(r.step)}});
  }
  nlohmann::json scaling = nlohmann::json::array();
  for (const recsys::RecScaling& s : v.scaling) {
    scaling.push_back(
        {{"gpus", s.gpus},
         {"hugectr_plan_samples_per_s_per_gpu", s.hugectr_plan_samples_per_s_per_gpu},
         {"scaleplan_plan_samples_per_s_per_gpu", s.scaleplan_plan_samples_per_s_per_gpu},
         {"hugectr_plan_step", StepJson(s.hugectr_step)}});
  }
  return {{"fitted", factors(v.fitted)},
          {"built_in", factors(v.built_in)},
          {"mean_abs_error_pct", v.mean_abs_error_pct},
          {"max_abs_error_pct", v.max_abs_error_pct},
          {"loo_mean_abs_error_pct", v.loo_mean_abs_error_pct},
          {"loo_max_abs_error_pct", v.loo_max_abs_error_pct},
          {"rows", rows},
          {"scaling", scaling}};
}

std::string RecValidationText(const recsys::RecValidation& v) {
  std::string out = fmt::format(
      "Fitted on these runs: lookup_bandwidth_fraction {:.2f}, step_overhead_s {:.6f} (built in: "
      "{:.2f}, {:.6f})\n\n",
      v.fitted.lookup_bandwidth_fraction, v.fitted.step_overhead_s,
      v.built_in.lookup_bandwidth_fraction, v.built_in.step_overhead_s);
  out += fmt::format("  {:<34} {:>5} {:>14} {:>14} {:>8} {:>14} {:>8}\n", "run", "gpus",
                     "measured/s", "predicted/s", "err_%", "loo_pred/s", "loo_%");
  for (const recsys::RecValidationRow& r : v.rows) {
    out += fmt::format("  {:<34} {:>5} {:>13.3f}M {:>13.3f}M {:>+8.1f} {:>13.3f}M {:>+8.1f}\n",
                       r.run.label.substr(0, 34), r.run.gpus, r.run.samples_per_s / 1e6,
                       r.predicted_samples_per_s / 1e6, r.error_pct,
                       r.loo_predicted_samples_per_s / 1e6, r.loo_error_pct);
  }
  out += fmt::format("  mean |error| {:.1f}% (max {:.1f}%); leave-one-out {:.1f}% (max {:.1f}%)\n",
                     v.mean_abs_error_pct, v.max_abs_error_pct, v.loo_mean_abs_error_pct,
                     v.loo_max_abs_error_pct);
  if (!v.scaling.empty()) {
    out +=
        "\nStrong scaling at the same global batch on DGX H100 nodes (a prediction: no "
        "multi-node run was fitted):\n";
    out += fmt::format("  {:>5} {:>22} {:>22} {:>10} {:>10}\n", "gpus", "hugectr_plan_per_gpu/s",
                       "scaleplan_plan_per_gpu/s", "a2a_ms", "lookup_ms");
    for (const recsys::RecScaling& s : v.scaling) {
      out += fmt::format("  {:>5} {:>21.3f}M {:>23.3f}M {:>10.3f} {:>10.3f}\n", s.gpus,
                         s.hugectr_plan_samples_per_s_per_gpu / 1e6,
                         s.scaleplan_plan_samples_per_s_per_gpu / 1e6,
                         (s.hugectr_step.pooled_fwd_s + s.hugectr_step.pooled_bwd_s) * 1e3,
                         (s.hugectr_step.lookup_fwd_s + s.hugectr_step.lookup_bwd_s) * 1e3);
    }
  }
  return out;
}

nlohmann::json RecPlanFile(const recsys::RecStudy& study) {
  const PlannerRun& answer = study.runs.front();
  nlohmann::json file = recsys::PlanJson(study.job, answer.plan);
  file["rank_stats"] = RankStatsJson(answer);
  return file;
}

}  // namespace scaleplan::report
