#include "report/html_report.h"

#include <fmt/format.h>

#include <map>

#include "report/html.h"

namespace scaleplan::report {

namespace {

std::string Num(const nlohmann::json& v) {
  if (v.is_null()) return "-";                 // no value (a method that ran no job)
  if (v.is_number_integer()) return v.dump();  // counts exactly
  return v.is_number()   ? fmt::format("{:.6g}", v.get<double>())
         : v.is_string() ? v.get<std::string>()
                         : v.dump();
}

// j[key], or null when j is not an object or has no such key (a report without an optional
// section draws without it).
const nlohmann::json& Field(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

double Get(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

std::string Name(const nlohmann::json& j) {
  if (j.is_object() && j.contains("name")) return j["name"].get<std::string>();
  return j.is_string() ? j.get<std::string>() : "";
}

// "compute_s" -> "compute", "detect_pct" -> "detect": a breakdown's (name, value) in the
// report's order (the unit is the axis's).
std::vector<std::pair<std::string, double>> Breakdown(const nlohmann::json& b) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [key, value] : b.items()) {
    std::string name = key;
    for (const std::string suffix : {"_s", "_pct"}) {
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        name.resize(name.size() - suffix.size());
      }
    }
    out.emplace_back(name, value.get<double>());
  }
  return out;
}

}  // namespace

std::string StepHtml(const nlohmann::json& step, const sim::EventResult* timeline,
                     const std::string& timeline_note) {
  HtmlPage page(fmt::format("scaleplan simulate: {} on {} GPUs", Name(Field(step, "model")),
                            Num(Field(step, "gpus"))));
  const nlohmann::json& plan = Field(step, "plan");
  page.Paragraph(fmt::format(
      "Plan: tp {}, cp {}, pp {}, vp {}, dp {}, micro-batch {}, {} micro-batches, schedule {}, "
      "zero {}, recomputation {}. Engine: {}.",
      Num(Field(plan, "tp")), Num(Field(plan, "cp")), Num(Field(plan, "pp")),
      Num(Field(plan, "vp")), Num(Field(plan, "dp")), Num(Field(plan, "micro_batch")),
      Num(Field(plan, "microbatches")), Num(Field(plan, "schedule")), Num(Field(plan, "zero")),
      Num(Field(plan, "recompute")), Num(Field(step, "engine"))));
  const nlohmann::json& memory = Field(step, "memory");
  std::vector<std::vector<std::string>> rows = {
      {"step_time_s", Num(Field(step, "step_time_s"))},
      {"tokens_per_s_per_gpu", Num(Field(step, "tokens_per_s_per_gpu"))},
      {"mfu_pct", fmt::format("{:.6g}", Get(step, "mfu_pct"))},
      {"memory.peak_bytes_per_gpu", Num(Field(memory, "peak_bytes_per_gpu"))},
      {"memory.fits", Num(Field(memory, "fits"))},
      {"memory.verdict", Num(Field(memory, "verdict"))}};
  if (step.contains("goodput")) {
    rows.push_back(
        {"goodput.effective_time_pct", Num(Field(Field(step, "goodput"), "effective_time_pct"))});
    rows.push_back(
        {"goodput.tokens_per_day", Num(Field(Field(step, "goodput"), "tokens_per_day"))});
  }
  page.Table({"quantity", "value"}, rows);

  page.Heading("Where the step goes");
  page.Bars("breakdown", "Step breakdown (adds up to the step time)", "seconds per step",
            Breakdown(Field(step, "breakdown")));

  page.Heading("Memory per pipeline stage");
  std::vector<std::pair<std::string, std::vector<double>>> stages;
  for (const nlohmann::json& s : Field(step, "stages")) {
    stages.push_back(
        {fmt::format("stage {}", Num(Field(s, "stage"))),
         {Get(s, "weights_bytes"), Get(s, "gradients_bytes"), Get(s, "optimizer_bytes"),
          Get(s, "activations_bytes"), Get(s, "transient_bytes")}});
  }
  page.StackedBars(
      "memory", "Memory per GPU by stage against capacity", "bytes per GPU",
      {"weights", "gradients", "optimizer", "activations", "transient"}, stages,
      {{"usable", Get(memory, "usable_bytes")}, {"capacity", Get(memory, "capacity_bytes")}});

  page.Heading("Pipeline timeline");
  if (timeline != nullptr && !timeline->trace.empty()) {
    // Replica 0's compute passes, one row per stage; gaps are the bubble. A very long step draws
    // the same number of its first passes on every stage.
    constexpr size_t kMaxBoxes = 20000;
    std::vector<HtmlBox> boxes;
    int64_t stages_seen = 0;
    for (const sim::TraceEvent& e : timeline->trace) {
      if (e.track == "compute" && e.replica == 0) stages_seen = std::max(stages_seen, e.stage + 1);
    }
    const size_t per_stage = kMaxBoxes / static_cast<size_t>(std::max<int64_t>(1, stages_seen));
    std::vector<size_t> drawn(static_cast<size_t>(stages_seen), 0);
    bool truncated = false;
    for (const sim::TraceEvent& e : timeline->trace) {
      if (e.track != "compute" || e.replica != 0) continue;
      if (drawn[static_cast<size_t>(e.stage)]++ >= per_stage) {
        truncated = true;
        continue;
      }
      std::string kind = e.name.empty() ? "other" : e.name.substr(0, 1);
      boxes.push_back({e.stage, e.start_s, e.start_s + e.duration_s, kind,
                       fmt::format("stage {} {}", e.stage, e.name)});
    }
    std::vector<std::string> names;
    for (int64_t s = 0; s < stages_seen; ++s) names.push_back(fmt::format("stage {}", s));
    page.Timeline(
        "timeline",
        fmt::format("One replica's passes by pipeline stage (event engine; step {:.6g} s)",
                    timeline->step.step_time_s),
        "seconds into the step", names, boxes);
    if (truncated) {
      page.Paragraph(fmt::format(
          "Each stage's first {} passes are drawn; the rest of the step is left out (blank is "
          "not idle time there).",
          per_stage));
    }
  } else {
    page.Paragraph(timeline_note);
  }

  if (step.contains("goodput")) {
    const nlohmann::json& g = Field(step, "goodput");
    page.Heading("Goodput under failures");
    page.Paragraph(fmt::format(
        "Failure model {}: {} interruptions a day; checkpoint every {} s; {}% of the wall clock "
        "trains.",
        Num(Field(g, "failure_model")), Num(Field(g, "interruptions_per_day")),
        Num(Field(g, "checkpoint_interval_s")), Num(Field(g, "effective_time_pct"))));
    page.Bars("goodput", "Lost wall-clock time by cause", "percent of wall-clock time",
              Breakdown(Field(g, "lost")));
  }
  return page.Render();
}

std::string SearchHtml(const nlohmann::json& search) {
  HtmlPage page(fmt::format("scaleplan search: {} on {} GPUs", Num(Field(search, "model")),
                            Num(Field(search, "gpus"))));
  page.Paragraph(fmt::format("{} of {} candidates evaluated by {} ({}), {} pruned; {}.",
                             Num(Field(search, "evaluated_plans")),
                             Num(Field(search, "space_size")), Num(Field(search, "optimizer")),
                             Num(Field(search, "engine")), Num(Field(search, "pruned_plans")),
                             Num(Field(search, "stop_reason"))));
  const nlohmann::json& plans = Field(search, "plans");
  std::vector<HtmlPoint> points;
  std::vector<std::pair<std::string, double>> times;
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < plans.size(); ++i) {
    const nlohmann::json& p = plans[i];
    std::string label = fmt::format("#{} {}", i + 1, Num(Field(p, "description")));
    points.push_back(
        {Get(p, "memory_peak_bytes_per_gpu"), Get(p, "step_time_s"), label, i == 0 ? "best" : ""});
    times.emplace_back(fmt::format("#{}", i + 1), Get(p, "step_time_s"));
    rows.push_back({fmt::format("{}", i + 1), Num(Field(p, "description")),
                    Num(Field(p, "step_time_s")), Num(Field(p, "tokens_per_s_per_gpu")),
                    fmt::format("{:.6g}", Get(p, "mfu_pct")),
                    Num(Field(p, "memory_peak_bytes_per_gpu"))});
  }
  std::vector<HtmlMarker> start;
  if (search.contains("baseline") && Field(search, "baseline").is_object()) {
    const nlohmann::json& b = Field(search, "baseline");
    page.Paragraph(fmt::format("Starting plan: {} ({} s a step{}).", Num(Field(b, "description")),
                               Num(Field(b, "step_time_s")),
                               b.value("fits", true) ? "" : ", does not fit"));
    start.push_back({"starting plan", Get(b, "step_time_s")});
    if (Get(b, "memory_peak_bytes_per_gpu") > 0) {
      points.push_back({Get(b, "memory_peak_bytes_per_gpu"), Get(b, "step_time_s"),
                        "starting plan " + Num(Field(b, "description")), "start"});
    }
  }
  page.Heading("Candidates");
  if (plans.empty()) {
    page.Paragraph("No plan fits: nothing to draw (the pruning counts above say why).");
    return page.Render();
  }
  page.Scatter("candidates",
               "The top plans: step time against memory (the answer in green, the starting plan "
               "in red)",
               "peak memory per GPU (bytes)", "step time (s)", points);
  page.Bars("top",
            start.empty() ? "Step time of the top plans"
                          : "Step time of the top plans (the starting plan dashed)",
            "seconds per step", times, start);
  page.Table({"rank", "plan", "step_time_s", "tokens_per_s_per_gpu", "mfu_pct",
              "memory_peak_bytes_per_gpu"},
             rows);
  return page.Render();
}

std::string ExploreHtml(const nlohmann::json& explore) {
  HtmlPage page("scaleplan explore: scale-across ablation");
  page.Paragraph(fmt::format("Boundary tier {}; ranked by the {} engine.",
                             Num(Field(explore, "boundary_tier")), Num(Field(explore, "engine"))));
  std::vector<nlohmann::json> rows = {Field(explore, "baseline")};
  for (const nlohmann::json& r : Field(explore, "one_at_a_time")) rows.push_back(r);
  rows.push_back(Field(explore, "joint"));
  std::vector<std::pair<std::string, double>> speedups;
  std::vector<std::string> categories;
  std::vector<std::pair<std::string, std::vector<double>>> breakdowns;
  std::vector<std::vector<std::string>> table;
  for (const nlohmann::json& r : rows) {
    std::string name = Num(Field(r, "name"));
    speedups.emplace_back(name, Get(r, "speedup"));
    std::vector<std::pair<std::string, double>> b = Breakdown(Field(r, "breakdown"));
    if (categories.empty()) {
      for (const auto& [category, value] : b) categories.push_back(category);
    }
    std::vector<double> values;
    for (const auto& [category, value] : b) values.push_back(value);
    breakdowns.emplace_back(name, values);
    table.push_back({name, Num(Field(r, "plan")), Num(Field(r, "network")),
                     Num(Field(r, "step_time_s")), Num(Field(r, "speedup"))});
  }
  page.Heading("Ablation");
  page.Bars("speedup", "Speed-up over the baseline, one change at a time and jointly",
            "speed-up (x)", speedups, {{"1x (no change)", 1.0}});
  page.StackedBars("breakdown", "Step breakdown of each row", "seconds per step", categories,
                   breakdowns);
  page.Table({"row", "plan", "network", "step_time_s", "speedup"}, table);
  return page.Render();
}

std::string PackHtml(const nlohmann::json& pack, const nlohmann::json* original) {
  HtmlPage page(fmt::format("scaleplan pack: {}", Num(Field(pack, "packer"))));
  auto series = [](const nlohmann::json& j, const char* key, const std::string& name) {
    HtmlSeries s{name, {}, {}};
    for (const nlohmann::json& it : Field(j, "iterations")) s.values.push_back(Get(it, key));
    return s;
  };
  std::string packer = Num(Field(pack, "packer"));
  std::vector<HtmlSeries> imbalance = {series(pack, "imbalance_attention", packer)};
  std::vector<HtmlSeries> tokens = {series(pack, "max_tokens_per_microbatch", packer)};
  if (original != nullptr) {
    imbalance.push_back(series(*original, "imbalance_attention", "original"));
    tokens.push_back(series(*original, "max_tokens_per_microbatch", "original"));
  }
  page.Heading("Balance per iteration");
  page.Lines("imbalance", "Attention-work imbalance across micro-batches (max / mean)", "iteration",
             "imbalance (max / mean)", imbalance);
  page.Lines("tokens", "Tokens in the largest micro-batch", "iteration", "tokens", tokens);
  std::vector<std::vector<std::string>> rows;
  auto summary = [&rows](const nlohmann::json& j, const std::string& name) {
    const nlohmann::json& s = Field(j, "summary");
    rows.push_back({name, Num(Field(s, "imbalance_attention")), Num(Field(s, "imbalance_layer")),
                    Num(Field(s, "mean_delay_iterations")), Num(Field(s, "padding_tokens_total"))});
  };
  summary(pack, packer);
  if (original != nullptr) summary(*original, "original");
  page.Table({"packer", "imbalance_attention", "imbalance_layer", "mean_delay_iterations",
              "padding_tokens_total"},
             rows);
  return page.Render();
}

std::string FitHtml(const nlohmann::json& fit) {
  HtmlPage page(fmt::format("scaleplan fit: {} predictor", Num(Field(fit, "family"))));
  page.Paragraph(fmt::format(
      "{} predictor, {} members, {} features, fitted on {} jobs from {} sources ({} without a "
      "measurement); {} folds.",
      Num(Field(fit, "family")), Num(Field(fit, "members")), Num(Field(fit, "features")),
      Num(Field(fit, "jobs")), Num(Field(fit, "sources")), Num(Field(fit, "failed_jobs")),
      Num(Field(fit, "folds"))));
  std::vector<std::pair<std::string, double>> errors, taus;
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& s : Field(fit, "scores")) {
    const std::string method = Num(Field(s, "method"));
    errors.emplace_back(method, Get(s, "mean_abs_error_pct"));
    taus.emplace_back(method, Get(s, "kendall_tau"));
    rows.push_back({method, Num(Field(s, "jobs")), Num(Field(s, "mean_abs_error_pct")),
                    Num(Field(s, "kendall_tau")), Num(Field(s, "spearman")),
                    Num(Field(s, "top1_regret_pct"))});
  }
  page.Heading("Scores");
  page.Bars("error", "Mean absolute error of each method", "percent of the measurement", errors);
  page.Bars("tau", "Kendall's tau of each method's ranking against the measurements",
            "Kendall's tau (1 = same order)", taus);
  page.Table({"method", "jobs", "mean_abs_error_pct", "kendall_tau", "spearman", "top1_regret_pct"},
             rows);
  // One metric per plot: the one most jobs were measured in.
  std::map<std::string, int> metrics;
  for (const nlohmann::json& j : Field(fit, "jobs_detail")) ++metrics[Num(Field(j, "metric"))];
  if (metrics.empty()) return page.Render();
  std::string metric = metrics.begin()->first;
  for (const auto& [m, n] : metrics) {
    if (n > metrics[metric]) metric = m;
  }
  std::vector<HtmlPoint> points;
  for (const nlohmann::json& j : Field(fit, "jobs_detail")) {
    if (Num(Field(j, "metric")) != metric) continue;
    const std::string label = fmt::format("{}:{} {}", Num(Field(j, "file")), Num(Field(j, "line")),
                                          Num(Field(j, "label")));
    points.push_back({Get(j, "measured"), Get(j, "physics"), "physics " + label, "start"});
    const char* learned = Field(j, "k_fold").is_number() ? "k_fold" : "in_sample";
    points.push_back(
        {Get(j, "measured"), Get(j, learned), fmt::format("{} {}", learned, label), "best"});
  }
  // The metrics of validate's training cases in words; another is shown by its name.
  const std::map<std::string, std::string> units = {
      {"step_time_s", "step time (s)"},
      {"tokens_per_s_per_gpu", "tokens per s per GPU"},
      {"tflops_per_gpu", "TFLOP/s per GPU"}};
  const std::string unit = units.count(metric) > 0 ? units.at(metric) : metric;
  page.Heading("Predictions against measurements");
  page.Paragraph(fmt::format(
      "Jobs measured in {} (the physics in red, the learned predictor in green: k-fold where the "
      "job was held out, in-sample otherwise); a perfect prediction has predicted = measured.",
      metric));
  page.Scatter("predictions", "Predicted against measured", "measured " + unit, "predicted " + unit,
               points);
  return page.Render();
}

std::string TestbedHtml(const nlohmann::json& testbed) {
  HtmlPage page(fmt::format("scaleplan testbed: {} on {} GPUs", Num(Field(testbed, "model")),
                            Num(Field(testbed, "gpus"))));
  const nlohmann::json& optimum = Field(testbed, "true_optimum");
  const nlohmann::json& physics = Field(testbed, "physics_best");
  page.Paragraph(fmt::format(
      "Truth {}: {} plans of the space run on it; the true optimum is {} at {} tokens/s/GPU; the "
      "physics' best is {}{}.",
      Num(Field(testbed, "truth")), Num(Field(testbed, "runnable_plans")),
      Num(Field(optimum, "plan")), Num(Field(optimum, "tokens_per_s_per_gpu")),
      Num(Field(physics, "plan")),
      Get(physics, "true_tokens_per_s_per_gpu") > 0
          ? fmt::format(" at {} tokens/s/GPU", Num(Field(physics, "true_tokens_per_s_per_gpu")))
          : std::string(" (it does not run on the truth)")));
  // Each method's curve over the jobs it ran (a batch can be short: a method may run out of
  // plans to propose), one colour per method.
  std::vector<HtmlSeries> regret, tau;
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& m : Field(testbed, "methods")) {
    const std::string name = Num(Field(m, "name"));
    const nlohmann::json& curve = Field(m, "curve");
    HtmlSeries r{name, {}, {}}, t{name, {}, {}};
    for (const nlohmann::json& point : curve) {
      if (Field(point, "regret_pct").is_number()) {  // null until a job ran
        r.values.push_back(Get(point, "regret_pct"));
        r.xs.push_back(Get(point, "jobs"));
      }
      if (Field(point, "kendall_tau").is_number()) {
        t.values.push_back(Get(point, "kendall_tau"));
        t.xs.push_back(Get(point, "jobs"));
      }
    }
    regret.push_back(std::move(r));
    if (!t.values.empty()) tau.push_back(std::move(t));
    const nlohmann::json& last = curve.empty() ? Field(curve, "") : curve.back();
    rows.push_back({name, curve.empty() ? "0" : Num(Field(last, "jobs")),
                    curve.empty() ? "" : Num(Field(last, "regret_pct")), Num(Field(m, "oom_jobs")),
                    Num(Field(m, "failed_jobs")), Num(Field(m, "best_plan"))});
  }
  page.Heading("Regret as the jobs run");
  if (!regret.empty()) {
    page.Lines("regret", "Regret of the best plan measured so far against the true optimum",
               "jobs run", "regret (percent of the optimum)", regret);
  }
  if (!tau.empty()) {
    page.Lines("tau", "Kendall's tau of the method's model against the truth", "jobs run",
               "Kendall's tau (1 = the truth's order)", tau);
  }
  page.Table({"method", "jobs", "regret_pct", "oom_jobs", "failed_jobs", "best_plan"}, rows);
  return page.Render();
}

std::string NasHtml(const nlohmann::json& nas) {
  HtmlPage page(
      fmt::format("scaleplan nas: {} on {}", Num(Field(nas, "method")), Num(Field(nas, "data"))));
  const bool supernet = Get(nas, "supernet_steps") > 0;
  page.Paragraph(fmt::format(
      "Method {} (controller {}) on the {} space ({} architectures); {} candidates {}; stopped: "
      "{}. Best: {}.{}",
      Num(Field(nas, "method")), Num(Field(nas, "controller")), Num(Field(nas, "space")),
      Num(Field(nas, "space_size")), Num(Field(nas, "candidates_scored")),
      supernet ? "scored by the supernet" : "trained", Num(Field(nas, "stop_reason")),
      Num(Field(nas, "best")),
      Field(nas, "bayes_ne").is_number()
          ? fmt::format(" The best achievable test NE (the true probabilities) is {}.",
                        Num(Field(nas, "bayes_ne")))
          : std::string()));
  // A supernet family's candidates carry their supernet NE; the ones its screen trained also a
  // proxy NE from short training (nas.h), drawn apart: the two scales differ.
  std::vector<HtmlPoint> candidates, screened;
  for (const nlohmann::json& c : Field(nas, "history")) {
    if (Field(c, "failed") == true) continue;
    // (A child of the refinement was never on the supernet: its supernet_ne is null.)
    if (!supernet || Field(c, "supernet_ne").is_number()) {
      candidates.push_back({Get(c, "flops"), Get(c, supernet ? "supernet_ne" : "proxy_ne"),
                            Num(Field(c, "name")), ""});
    }
    if (Field(c, "screened") == true) {
      screened.push_back({Get(c, "flops"), Get(c, "proxy_ne"), Num(Field(c, "name")), ""});
    }
  }
  page.Heading("Candidates");
  if (!candidates.empty()) {
    page.Scatter(
        "candidates",
        supernet ? "Supernet NE of each candidate against its FLOPs"
                 : "Proxy NE of each candidate against its FLOPs",
        "forward FLOPs per example",
        supernet ? "NE (validation, supernet weights)" : "proxy NE (validation, short training)",
        candidates);
  }
  if (!screened.empty()) {
    page.Scatter("screen",
                 fmt::format("The screen: {} candidates trained briefly, whose proxy NE picked "
                             "the front",
                             screened.size()),
                 "forward FLOPs per example", "proxy NE (validation, short training)", screened);
  }
  std::vector<HtmlPoint> final_models;
  std::vector<std::vector<std::string>> rows;
  for (const char* group : {"pareto", "baselines"}) {
    for (const nlohmann::json& m : Field(nas, group)) {
      final_models.push_back({Get(m, "flops"), Get(m, "ne"), Num(Field(m, "name")),
                              std::string(group) == "pareto" ? "best" : "start"});
      rows.push_back({Num(Field(m, "name")), group, Num(Field(m, "flops")), Num(Field(m, "params")),
                      Num(Field(m, "ne")), Num(Field(m, "ne_sd")), Num(Field(m, "auc"))});
    }
  }
  page.Heading("Retrained front and baselines");
  if (!final_models.empty()) {
    page.Scatter("front", "Test NE against FLOPs: the front in green, the baselines in red",
                 "forward FLOPs per example", "test NE (mean over seeds)", final_models);
  }
  page.Table({"model", "group", "flops", "params", "ne", "ne_sd", "auc"}, rows);
  return page.Render();
}

}  // namespace scaleplan::report
