#include "report/scale_report.h"

#include <fmt/format.h>

#include "core/text.h"
#include "report/goodput_report.h"
#include "report/search_report.h"
#include "report/step_report.h"

namespace scaleplan::report {

namespace {

nlohmann::json IndexOrNull(const explore::ScaleStudy& s, int64_t i) {
  return i < 0 ? nlohmann::json(nullptr) : nlohmann::json(s.rows[static_cast<size_t>(i)].gpus);
}

}  // namespace

nlohmann::json ScaleJson(const spec::JobSpec& job, const explore::ScaleStudy& study,
                         const goodput::GoodputOptions& goodput) {
  nlohmann::json out;
  out["model"] = job.model.name;
  out["cluster"] = job.cluster.name;
  out["gpu"] = job.cluster.gpu.name;
  out["seq_len"] = job.workload.seq_len;
  out["counts_given"] = study.counts_given;
  out["failure_model"] =
      goodput.failures == "none" ? nlohmann::json(nullptr) : nlohmann::json(goodput.failures);
  out["train_tokens"] = goodput.train_tokens;
  nlohmann::json rows = nlohmann::json::array();
  for (const explore::ScaleRow& r : study.rows) {
    nlohmann::json row;
    row["gpus"] = r.gpus;
    if (!r.best) {
      row["plan"] = nullptr;
      row["description"] = nullptr;
      row["pruned_by"] = r.pruned_by;
      row["pruned_why"] = r.pruned_why;
      row["stop_reason"] = r.stop_reason;
    } else {
      const search::Evaluation& e = *r.best;
      row["plan"] = PlanFields(e.plan);
      row["description"] = e.description;
      row["step_time_s"] = e.step.step_time_s;
      row["event_step_time_s"] = e.event_step_time_s;
      row["tokens_per_s_per_gpu"] = e.step.tokens_per_s_per_gpu;
      row["mfu_pct"] = 100 * e.step.mfu;
      row["memory_peak_bytes_per_gpu"] = e.peak_bytes_per_gpu;
    }
    row["goodput"] = r.goodput ? GoodputSectionJson(*r.goodput) : nlohmann::json(nullptr);
    rows.push_back(std::move(row));
  }
  out["rows"] = rows;
  out["soonest_gpus"] = IndexOrNull(study, study.soonest);
  out["cheapest_gpus"] = IndexOrNull(study, study.cheapest);
  out["deadline_s"] = study.deadline_s;
  out["within_deadline_gpus"] = IndexOrNull(study, study.within_deadline);
  out["elapsed_s"] = study.elapsed_s;
  return out;
}

std::string ScaleText(const spec::JobSpec& job, const explore::ScaleStudy& study,
                      const goodput::GoodputOptions& goodput) {
  const bool with_goodput = goodput.failures != "none";
  const bool train = with_goodput && goodput.train_tokens > 0;
  const int64_t batch_tokens =
      job.workload.batch_tokens > 0 ? job.workload.batch_tokens
                                    : job.workload.global_batch * job.workload.seq_len;
  std::string out = fmt::format(
      "{} on {} ({}): the fastest plan at each GPU count, {} tokens a step (strong scaling){}\n",
      job.model.name, job.cluster.name, job.cluster.gpu.name,
      HumanCount(static_cast<double>(batch_tokens)),
      with_goodput ? fmt::format(", goodput under {}", goodput.failures) : std::string());
  if (!study.counts_given) {
    out += "  counts: goodput's sweep where the cluster holds it (--counts to choose)\n";
  }
  out += fmt::format("\n  {:>7}  {:>9}  {:>12}  {:>6}  {:>8}", "GPUs", "step s", "tokens/s/GPU",
                     "MFU", "mem GiB");
  if (with_goodput) out += fmt::format("  {:>9}  {:>10}", "effective", "tokens/day");
  if (train) out += fmt::format("  {:>10}  {:>10}", "to train", "GPU-hours");
  out += "\n";
  for (size_t i = 0; i < study.rows.size(); ++i) {
    const explore::ScaleRow& r = study.rows[i];
    std::string mark;
    if (static_cast<int64_t>(i) == study.soonest) mark += " <- soonest";
    if (static_cast<int64_t>(i) == study.cheapest) mark += " <- least GPU time";
    if (static_cast<int64_t>(i) == study.within_deadline) mark += " <- least GPU time in time";
    if (!r.best) {
      // Every rule that pruned (its message where it refuses by key, else its name; not the
      // candidates left out as repeats of others, "no effect at ..."); a search a budget stopped
      // says so first: the space may hold plans it never reached.
      std::string why;
      for (const auto& [rule, count] : r.pruned_by) {
        const auto message = r.pruned_why.find(rule);
        if (rule.find("(no effect") != std::string::npos) continue;
        if (!why.empty()) why += "; ";
        why += fmt::format("{} ({} plans)", message != r.pruned_why.end() ? message->second : rule,
                           count);
      }
      const std::string stop = r.stop_reason.substr(0, r.stop_reason.find(';'));
      const bool stopped = stop == "evaluation budget" || stop == "time budget";
      out += fmt::format("  {:>7}  {}{}\n", r.gpus,
                         stopped ? fmt::format("no plan found before the search stopped ({}: a "
                                               "larger --budget or --time-limit)",
                                               stop)
                                 : std::string("no plan fits"),
                         why.empty() ? std::string() : " (" + Printable(why, 200) + ")");
      continue;
    }
    const search::Evaluation& e = *r.best;
    out += fmt::format("  {:>7}  {:>9}  {:>12}  {:>5}%  {:>8}", r.gpus,
                       Figure(e.step.step_time_s, 3), Figure(e.step.tokens_per_s_per_gpu, 1),
                       Figure(100 * e.step.mfu, 1), Figure(e.peak_bytes_per_gpu / (1 << 30), 1));
    if (r.goodput) {
      const goodput::GoodputPoint& p = r.goodput->point;
      out += fmt::format("  {:>8.1f}%  {:>10}", 100 * p.effective, HumanCount(p.tokens_per_day));
      if (train) {
        out += p.train_finishes ? fmt::format("  {:>10}  {:>10}", Duration(p.train_time_s),
                                              HumanCount(p.train_gpu_time_s / 3600))
                                : fmt::format("  {:>10}  {:>10}", "never", "-");
      }
    }
    out += mark + "\n";
    out += fmt::format("  {:>7}  {}\n", "", e.description);
  }
  if (train) {
    out += fmt::format(
        "\n  to train {} tokens: soonest is the least wall clock, least GPU time the fewest "
        "GPU-hours (failures, checkpoints and restarts included)\n",
        HumanCount(goodput.train_tokens));
    if (study.deadline_s > 0) {
      out += study.within_deadline < 0
                 ? fmt::format("  within {}: no count trains them in time\n",
                               Duration(study.deadline_s))
                 : fmt::format("  within {}: {} GPUs, the fewest GPU-hours of the counts in time\n",
                               Duration(study.deadline_s),
                               study.rows[static_cast<size_t>(study.within_deadline)].gpus);
    }
  } else if (with_goodput) {
    out += "\n  soonest: the most tokens a day; least GPU time: the most tokens a day per GPU "
           "(--train-tokens T gives days and GPU-hours)\n";
  } else {
    out += "\n  soonest: the most tokens a second; least GPU time: the most per GPU\n";
  }
  out += fmt::format("  searched in {:.1f} s\n", study.elapsed_s);
  return out;
}

}  // namespace scaleplan::report
