#include "report/nas_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"

namespace scaleplan::report {

using nlohmann::json;

json MetricsJson(const rec::Metrics& m) {
  return {{"ne", m.ne},
          {"auc", m.auc},
          {"log_loss", m.log_loss},
          {"ctr", m.ctr},
          {"examples", m.examples}};
}

json ArchCostJson(const rec::ArchInfo& info) {
  json blocks = json::array();
  for (const rec::BlockCost& c : info.costs) {
    blocks.push_back({{"name", c.name},
                      {"kind", c.kind},
                      {"shape", rec::ShapeText(c.shape)},
                      {"flops", c.flops},
                      {"params", c.params},
                      {"formula", c.formula}});
  }
  return {{"flops", info.flops},
          {"params", info.params},
          {"embedding_params", info.embedding_params},
          {"blocks", blocks}};
}

namespace {

json BlasJson(const blas::BlasState& b) {
  return {{"library", b.library.empty() ? json(nullptr) : json(b.library)},
          {"core", b.core.empty() ? json(nullptr) : json(b.core)},
          // null: the kernels OpenBLAS chose itself run
          {"openblas_chose", b.chose.empty() ? json(nullptr) : json(b.chose)}};
}

// The matrix kernels a run trained on: a model's NE depends on them in its low digits.
std::string KernelsLine(const blas::BlasState& b) {
  return fmt::format("Kernels  {}; the NEs' low digits depend on them\n", blas::DescribeBlas(b));
}

}  // namespace

json RecTrainJson(const rec::TrainRun& run) {
  json out = {
      {"data", run.data_name},
      {"examples",
       {{"train", run.train_examples}, {"valid", run.valid_examples}, {"test", run.test_examples}}},
      {"skipped_lines", run.skipped_lines},
      {"arch", rec::ArchToJson(run.arch)},
      {"cost", ArchCostJson(run.info)},
      {"valid", MetricsJson(run.result.valid)},
      {"test", MetricsJson(run.result.test)},
      {"curve_log_loss", run.result.curve},
      {"steps", run.result.steps},
      {"train_s", run.result.train_s},
      {"examples_per_s", run.result.examples_per_s},
      {"blas", BlasJson(run.blas)}};
  if (run.bayes_test) {
    out["bayes_ne"] = run.bayes_test->ne;
    out["ne_gap_to_bayes"] = run.result.test.ne - run.bayes_test->ne;
  }
  return out;
}

std::string RecTrainText(const rec::TrainRun& run) {
  std::string out = fmt::format("Model    {} ({})\n", run.arch.name.empty() ? "-" : run.arch.name,
                                rec::DescribeArch(run.arch));
  out += fmt::format("Data     {}: {} train, {} valid, {} test examples", run.data_name,
                     run.train_examples, run.valid_examples, run.test_examples);
  if (run.skipped_lines > 0) out += fmt::format(" ({} bad lines skipped)", run.skipped_lines);
  out += "\n\n";
  out += fmt::format("{:<12} {:<10} {:>12} {:>14} {:>12}  {}\n", "block", "kind", "output", "flops",
                     "params", "FLOPs formula");
  for (const rec::BlockCost& c : run.info.costs) {
    out += fmt::format("{:<12} {:<10} {:>12} {:>14.0f} {:>12.0f}  {}\n", Printable(c.name, 12),
                       c.kind, rec::ShapeText(c.shape), c.flops, c.params, c.formula);
  }
  out += fmt::format("{:<12} {:<10} {:>12} {:>14.0f} {:>12.0f}  (dense params; embeddings {})\n\n",
                     "total", "", "", run.info.flops, run.info.params,
                     HumanCount(run.info.embedding_params));
  out += fmt::format("{:<8} {:>8} {:>8} {:>10}\n", "split", "NE", "AUC", "log loss");
  out += fmt::format("{:<8} {:>8.4f} {:>8.4f} {:>10.5f}\n", "valid", run.result.valid.ne,
                     run.result.valid.auc, run.result.valid.log_loss);
  out += fmt::format("{:<8} {:>8.4f} {:>8.4f} {:>10.5f}\n", "test", run.result.test.ne,
                     run.result.test.auc, run.result.test.log_loss);
  if (run.bayes_test) {
    out += fmt::format(
        "{:<8} {:>8.4f} {:>8.4f} {:>10.5f}   (the true probabilities: bayes NE; "
        "gap {:+.4f})\n",
        "bayes", run.bayes_test->ne, run.bayes_test->auc, run.bayes_test->log_loss,
        run.result.test.ne - run.bayes_test->ne);
  }
  out += fmt::format("\nTrained {} steps in {:.2f} s ({:.0f} examples/s)\n", run.result.steps,
                     run.result.train_s, run.result.examples_per_s);
  out += KernelsLine(run.blas);
  return out;
}

namespace {

json ScoredJson(const nas::Scored& s) {
  return {{"name", s.name},
          {"arch", rec::ArchToJson(s.arch)},
          {"ne", s.test.ne},
          // A spread needs two seeds: none (null) from one, not a zero that reads as measured.
          {"ne_sd", s.test_ne.size() > 1 ? nlohmann::json(s.test_ne_sd) : nlohmann::json()},
          {"ne_per_seed", s.test_ne},
          {"auc", s.test.auc},
          {"log_loss", s.test.log_loss},
          {"valid_ne", s.valid.ne},
          {"flops", s.info.flops},
          {"params", s.info.params},
          {"embedding_params", s.info.embedding_params},
          {"train_s", s.train_s}};
}

}  // namespace

json NasJson(const nas::NasResult& r) {
  json out = {
      {"data", r.data_name},
      {"method", r.options.method},
      {"controller", r.controller},
      {"space", r.options.space},
      {"space_size", r.space_size},
      {"examples", {{"train", r.train_examples}, {"test", r.test_examples}}},
      {"candidates_scored", r.history.size()},
      {"candidates_trained",
       r.supernet_steps > 0 ? static_cast<size_t>(r.screened) : r.history.size()},
      {"supernet_steps", r.supernet_steps},
      {"candidates_refined", r.refined},
      {"draws_over_flops_max", r.over_flops},
      {"neutral_mutations", r.neutral_mutations},
      {"stop_reason", r.stop_reason},
      {"time_limited", r.time_limited},
      {"best", r.best},
      {"search_cpu_s", r.search_cpu_s},
      {"blas", BlasJson(r.blas)},
      {"wall_s", r.wall_s},
      {"baselines_s", r.baselines_s},
      {"front_s", r.front_s},
      // null: the front's models had no low-fidelity runs to project from
      {"front_projected_s", r.front_projected_s > 0 ? json(r.front_projected_s) : json(nullptr)}};
  out["options"] = {{"data", rec::DataOptionsSchema().ToJson(r.data_options)},
                    {"train", rec::TrainOptionsSchema().ToJson(r.train)},
                    {"nas", nas::NasOptionsSchema().ToJson(r.options)}};
  if (r.bayes_test) out["bayes_ne"] = r.bayes_test->ne;
  out["proxy_spearman"] = r.proxy_spearman ? json(*r.proxy_spearman) : json(nullptr);
  out["failed"] = r.failed;
  out["baselines"] = json::array();
  for (const nas::Scored& s : r.baselines) out["baselines"].push_back(ScoredJson(s));
  out["pareto"] = json::array();
  for (const nas::Scored& s : r.pareto) {
    out["pareto"].push_back(ScoredJson(s));
    // 0: the front's pick; k: its FLOPs band's k-th runner-up (nas.runners_up).
    out["pareto"].back()["runner_up"] = s.runner_up;
  }
  out["versus"] = json::array();
  for (const auto& v : r.versus) {
    out["versus"].push_back({{"baseline", v.baseline},
                             {"model", v.model.empty() ? json(nullptr) : json(v.model)},
                             {"margin_ne", v.model.empty() ? json(nullptr) : json(v.margin)},
                             {"beats", v.beats},
                             {"significant", v.significant},
                             {"significantly_worse", v.worse},
                             {"verdict", v.Verdict()}});
  }
  json history = json::array();
  for (const nas::Candidate& c : r.history) {
    json item = {{"name", c.arch.name},
                 {"proxy_ne", c.proxy_ne},
                 {"proxy_score", c.proxy_score},
                 {"failed", c.failed},
                 {"flops", c.flops},
                 // a full training's wall projected from its low-fidelity run (null: none)
                 {"full_s_projected", c.full_s > 0 ? json(c.full_s) : json(nullptr)}};
    if (r.supernet_steps > 0) {  // the supernet's NE; proxy_* the screen's where it trained one
      // (null: a child of the refinement, never on the supernet)
      item["supernet_ne"] = c.child ? json(nullptr) : json(c.supernet_ne);
      item["screened"] = c.screened;
    }
    // A candidate that trained at low fidelity carries its architecture, so that it can be
    // retrained (`rec-train --arch`); the supernet's scored draws (up to 2 x budget) do not, or
    // the report would grow by a few kilobytes per draw.
    if (r.supernet_steps == 0 || c.screened) item["arch"] = rec::ArchToJson(c.arch);
    history.push_back(std::move(item));
  }
  out["history"] = history;
  return out;
}

std::string NasText(const nas::NasResult& r) {
  std::string out = fmt::format("NAS      {} ({}) on the {} space ({} choices)\n", r.options.method,
                                r.controller, r.options.space, HumanCount(r.space_size));
  out += fmt::format("Data     {}: {} train, {} test examples\n", r.data_name, r.train_examples,
                     r.test_examples);
  const std::string how =
      r.supernet_steps > 0
          ? fmt::format(
                "scored on {} trained {} steps{}{}",
                r.options.restarts > 1
                    ? fmt::format("{} supernets (searches one after another)", r.options.restarts)
                    : std::string("a supernet"),
                r.supernet_steps, r.options.restarts > 1 ? " each" : "",
                r.screened > 0
                    ? fmt::format(
                          ", {} of them then trained at low fidelity (the screen{})", r.screened,
                          r.refined > 0 ? fmt::format(", {} of them its front's children, the "
                                                      "refinement",
                                                      r.refined)
                                        : std::string())
                    : std::string())
          : std::string("trained at low fidelity");
  const std::string redrawn =
      r.neutral_mutations > 0
          ? fmt::format(", {} mutations redrawn as they left the model as it was",
                        r.neutral_mutations)
          : std::string();
  out += fmt::format(
      "Search   {} candidates {} ({} draws over the FLOPs limit{}); stopped: {}; {:.1f} CPU s "
      "in all\n",
      r.history.size(), how, r.over_flops, redrawn, r.stop_reason, r.search_cpu_s);
  out += fmt::format(
      "Time     {:.0f} s in all: the baselines {:.0f} s, the front's retraining {:.0f} s{}{}\n",
      r.wall_s, r.baselines_s, r.front_s,
      r.front_projected_s > 0 ? fmt::format(" (projected {:.0f} s)", r.front_projected_s)
                              : std::string(),
      r.time_limited ? fmt::format("; the time limit ({:g} s) stopped the search, so this "
                                   "answer depends on the machine's speed",
                                   r.options.time_limit_s)
                     : std::string());
  out += KernelsLine(r.blas) + "\n";
  std::vector<const nas::Scored*> rows;
  for (const auto& s : r.baselines) rows.push_back(&s);
  for (const auto& s : r.pareto) rows.push_back(&s);
  std::stable_sort(rows.begin(), rows.end(), [](const nas::Scored* a, const nas::Scored* b) {
    return a->info.flops < b->info.flops;
  });
  out += fmt::format("{:<12} {:>10} {:>9} {:>8} {:>7} {:>8}  {}\n", "model", "flops", "params",
                     "test NE", "+-sd", "AUC", "architecture");
  for (const nas::Scored* s : rows) {
    const bool found = s->name.rfind("nas-", 0) == 0;
    const std::string role = !found             ? std::string("(baseline) ")
                             : s->runner_up > 0 ? fmt::format("(runner-up {}) ", s->runner_up)
                                                : std::string();
    const std::string sd =
        s->test_ne.size() > 1 ? fmt::format("{:.4f}", s->test_ne_sd) : std::string("-");
    out += fmt::format("{:<12} {:>10.0f} {:>9} {:>8.4f} {:>7} {:>8.4f}  {}{}\n",
                       Printable(s->name, 12), s->info.flops, HumanCount(s->info.params),
                       s->test.ne, sd, s->test.auc, role, rec::DescribeArch(s->arch));
  }
  if (r.bayes_test) {
    out += fmt::format("{:<12} {:>10} {:>9} {:>8.4f} {:>7} {:>8.4f}  the true probabilities\n",
                       "bayes", "", "", r.bayes_test->ne, "", r.bayes_test->auc);
  }
  out += fmt::format("\nBest     {}\n", r.best);
  if (r.proxy_spearman) {
    out += fmt::format(
        "Proxy    Spearman {:.2f} between the proxy score and the mean test NE of the {} front "
        "models (1: ranked as full training ranks them)\n",
        *r.proxy_spearman,
        std::count_if(r.pareto.begin(), r.pareto.end(),
                      [](const nas::Scored& s) { return s.runner_up == 0; }));
  }
  int beaten = 0, significant = 0, worse = 0, missed = 0, none = 0, tested = 0;
  for (const auto& v : r.versus) {
    beaten += v.beats ? 1 : 0;
    significant += v.significant ? 1 : 0;
    worse += v.worse ? 1 : 0;
    missed += v.beats || v.model.empty() ? 0 : 1;
    none += v.model.empty() ? 1 : 0;
    tested += v.tested ? 1 : 0;
  }
  out += fmt::format(
      "Versus   {} of {} baselines beaten on mean test NE by a found model with no more FLOPs "
      "({} significantly: a two-sided 95% t test over the seeds)",
      beaten, r.versus.size(), significant);
  if (missed > 0 && tested > 0) {
    // A miss within the seeds' noise is one these seeds cannot tell from a win.
    out += fmt::format(
        "; of the {} missed by a found model, {} significantly, {} within the "
        "seeds' noise",
        missed, worse, missed - worse);
  }
  if (none > 0) out += fmt::format("; {} with no found model as cheap", none);
  out += "\n";
  for (const auto& v : r.versus) {
    std::string noise;
    if (v.tested) {
      noise = v.significant || v.worse ? " (significant)" : " (within the seeds' noise)";
    }
    out += fmt::format("  {:<12} {}\n", v.baseline,
                       v.model.empty()
                           ? std::string("no found model is as cheap")
                           : fmt::format("{} {} it by {:+.4f} NE{}", v.model,
                                         v.beats ? "beats" : "does not beat", v.margin, noise));
  }
  for (const std::string& f : r.failed) out += fmt::format("Failed in full: {}\n", f);
  return out;
}

Result<nlohmann::json> NasBestArchFile(const nas::NasResult& result) {
  for (const nas::Scored& s : result.pareto) {
    if (s.name == result.best) {
      rec::Arch arch = s.arch;
      arch.name = s.name;
      return rec::ArchToJson(arch);
    }
  }
  return Status::Invalid(
      "--emit-arch: the search kept no architecture on its front (every candidate failed or was "
      "refused; allowed: a search that retrains at least one)");
}

}  // namespace scaleplan::report
