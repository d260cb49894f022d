#include "report/pack_report.h"

#include <fmt/format.h>

#include <cmath>

#include "core/text.h"

namespace scaleplan::report {

namespace {

std::string Bands(const balance::PackerSetting& s) {
  if (s.thresholds.empty()) return "-";
  std::vector<std::string> t;
  for (int64_t v : s.thresholds) t.push_back(std::to_string(v));
  return Join(t, ",");
}

// "0 iterations 91.2%, 1: 6.0%, 2-3: 2.1%, 4-7: 0.6%, 8-15: 0.1%, 16+: 0.0%".
std::string DelayShares(const std::vector<int64_t>& by_delay) {
  double total = 0;
  for (int64_t t : by_delay) total += static_cast<double>(t);
  auto share = [&](size_t from, size_t to) {  // [from, to)
    double t = 0;
    for (size_t k = from; k < std::min(to, by_delay.size()); ++k) t += static_cast<double>(by_delay[k]);
    return total > 0 ? 100.0 * t / total : 0.0;
  };
  size_t last = by_delay.size() - 1;
  return fmt::format("0 iterations {:.1f}%, 1: {:.1f}%, 2-3: {:.1f}%, 4-7: {:.1f}%, 8-{}: {:.1f}%, {}+: {:.1f}%",
                     share(0, 1), share(1, 2), share(2, 4), share(4, 8), last - 1, share(8, last),
                     last, share(last, last + 1));
}

nlohmann::json CutJson(const balance::DocumentCut& c) {
  return {{"documents_read", c.read},
          {"documents_cut", c.cut},
          {"pieces_of_cut_documents", c.pieces},
          {"cut_at_tokens", c.at_tokens}};
}

// One line when the run cut documents (none otherwise): how many, into what, and what it means.
std::string CutText(const balance::DocumentCut& c, std::string_view indent) {
  if (c.cut == 0) return "";
  return fmt::format(
      "{}cut: {} of {} documents read were longer than {} tokens (a micro-batch's cap, min(context, "
      "s_max)); their {} pieces read each packed and attended as a document of its own\n",
      indent, c.cut, c.read, c.at_tokens, c.pieces);
}

nlohmann::json StatsJson(const balance::IterationStats& s) {
  return nlohmann::json{{"iteration", s.iteration},
                        {"imbalance_attention", s.imbalance_attention},
                        {"imbalance_layer", s.imbalance_layer},
                        {"max_tokens_per_microbatch", s.max_tokens},
                        {"mean_tokens_per_microbatch", s.mean_tokens},
                        {"padding_tokens", s.padding_tokens},
                        {"documents", s.documents},
                        {"mean_delay_iterations", s.mean_delay_iterations},
                        {"max_delay_iterations", s.max_delay_iterations},
                        {"pack_time_s", s.pack_time_s},
                        {"thresholds_tokens", s.setting.thresholds},
                        {"s_max_tokens", s.setting.s_max}};
}

}  // namespace

nlohmann::json PackJson(const balance::PackRun& run, const PackSetup& setup) {
  nlohmann::json j;
  j["packer"] = setup.packer;
  j["adaptive"] = setup.packer == "wlb" && setup.options.thresholds.empty();
  j["max_mean_delay_iterations"] = setup.options.max_mean_delay;
  nlohmann::json its = nlohmann::json::array();
  for (const auto& s : run.iterations) its.push_back(StatsJson(s));
  j["iterations"] = its;
  nlohmann::json summary = StatsJson(run.summary);
  summary.erase("iteration");
  summary.erase("pack_time_s");  // the summary's is pack_time_s_per_batch
  summary["padding_tokens_total"] = summary["padding_tokens"];
  summary.erase("padding_tokens");
  summary["pack_time_s_per_batch"] = run.summary.pack_time_s;
  summary["documents_in"] = run.documents_in;
  summary["attention_length_tokens"] = run.attention_length_tokens;
  summary["documents_out"] = run.documents_out;
  summary["pending_at_end"] = run.pending_at_end;
  summary.update(CutJson(run.cut));
  summary["cp"] = setup.cp;
  summary["sharder"] = setup.sharder;
  summary["cp_imbalance_attention"] = setup.cp_imbalance;
  summary["tokens_by_delay_iterations"] = run.tokens_by_delay;  // last entry: that many or more
  j["summary"] = summary;
  return j;
}

std::string PackText(const balance::PackRun& run, const PackSetup& setup) {
  const balance::PackerOptions& o = setup.options;
  bool adaptive = setup.packer == "wlb" && o.thresholds.empty();
  std::string text = fmt::format("{} packer{}, {} micro-batches of {} tokens, {} documents{}\n",
                                 setup.packer,
                                 adaptive ? fmt::format(" (adaptive: bands and s_max chosen online, "
                                                        "mean delay budget {} iterations)",
                                                        o.max_mean_delay)
                                          : "",
                                 o.microbatches, o.context, run.documents_in,
                                 run.cut.cut > 0 ? fmt::format(" (pieces of {} read)", run.cut.read)
                                                 : "");
  text += CutText(run.cut, "  ");
  text += fmt::format("  {:>9} {:>10} {:>10} {:>10} {:>11} {:>7} {:>9} {:>9}  {}\n", "iteration",
                      "imb. attn", "imb. layer", "max tokens", "mean tokens", "delay", "pack us",
                      "s_max", "bands (tokens)");
  for (const auto& s : run.iterations) {
    text += fmt::format("  {:>9} {:>10.3f} {:>10.3f} {:>10} {:>11} {:>7.2f} {:>9.1f} {:>9}  {}\n",
                        s.iteration, s.imbalance_attention, s.imbalance_layer, s.max_tokens,
                        PlainCount(s.mean_tokens), s.mean_delay_iterations, s.pack_time_s * 1e6,
                        s.setting.s_max, Bands(s.setting));
  }
  const auto& s = run.summary;
  text += fmt::format(
      "  summary: attention imbalance {:.3f}, layer imbalance {:.3f}, max tokens {}, mean delay "
      "{:.2f} iterations (max {}), padding {} tokens, {} of {} documents out, {:.1f} us per batch\n",
      s.imbalance_attention, s.imbalance_layer, s.max_tokens, s.mean_delay_iterations,
      s.max_delay_iterations, s.padding_tokens, run.documents_out, run.documents_in,
      s.pack_time_s * 1e6);
  text += "  tokens by delay: " + DelayShares(run.tokens_by_delay) + "\n";
  text += fmt::format(
      "  attention length: {:.0f} tokens (sum of d^2 over sum of d of the pieces read: documents "
      "all this long cost the same attention a token; simulate --document-tokens {:.0f} prices "
      "them in the step)\n",
      run.attention_length_tokens, std::round(run.attention_length_tokens));
  if (setup.packer == "wlb") {
    text += fmt::format("  last setting: s_max {} tokens, bands {}\n", s.setting.s_max,
                        Bands(s.setting));
  }
  text += fmt::format(
      "  context parallel: {} ranks, {} sharder, mean imbalance of padded attention {:.3f}\n",
      setup.cp, setup.sharder, setup.cp_imbalance);
  return text;
}

nlohmann::json PackedEventJson(const sim::PackedComparison& c) {
  nlohmann::json rows = nlohmann::json::array();
  for (const sim::PackedRow& r : c.rows) {
    rows.push_back({{"packer", r.packer},
                    {"sharder", r.sharder},
                    {"steps", r.steps},
                    {"mean_step_time_s", r.mean_step_time_s},
                    {"tokens_per_s_per_gpu", r.tokens_per_s_per_gpu},
                    {"imbalance_layer", r.imbalance_layer},
                    {"mean_delay_iterations", r.mean_delay_iterations},
                    {"max_tokens_per_microbatch", r.max_tokens_per_microbatch},
                    {"thresholds_tokens", r.setting.thresholds},
                    {"s_max_tokens", r.setting.s_max},
                    {"speedup_vs_original", r.speedup_vs_original}});
    rows.back().update(CutJson(r.cut));
  }
  return {{"engine", "event"},
          {"microbatches_per_global_batch", c.microbatches},
          {"context_tokens", c.context},
          {"replicas", c.replicas},
          {"iterations", c.iterations},
          {"s_max_memory_bound_tokens", c.s_max_bound},
          {"packers", rows}};
}

std::string PackedEventText(const sim::PackedComparison& c) {
  std::string text = fmt::format(
      "packed global batches of {} micro-batches x {} tokens over {} replicas, up to {} "
      "iterations read (fewer where the lengths run out; steps below, drains included), event "
      "engine\n  memory bound on a micro-batch: {} tokens\n",
      c.microbatches, c.context, c.replicas, c.iterations, c.s_max_bound);
  for (const sim::PackedRow& r : c.rows) {
    text += fmt::format(
        "  {:<10} {} step{} of {:.3f} s  {:.1f} tokens/s/GPU  layer imbalance {:.3f}  delay {:.2f}  "
        "max tokens {}  speedup {:.3f}x\n",
        r.packer, r.steps, r.steps == 1 ? "" : "s", r.mean_step_time_s, r.tokens_per_s_per_gpu, r.imbalance_layer,
        r.mean_delay_iterations, r.max_tokens_per_microbatch, r.speedup_vs_original);
    if (r.packer == "wlb") {
      text += fmt::format("             last setting: s_max {} tokens, bands {}\n", r.setting.s_max,
                          Bands(r.setting));
    }
    text += CutText(r.cut, "             ");
  }
  return text;
}

std::string PackedBatchesJsonLines(const balance::PackStudy& study) {
  std::string lines;
  const bool sharded = !study.shards.empty();
  for (size_t i = 0; i < study.run.packed.size(); ++i) {
    nlohmann::json mbs = nlohmann::json::array();
    for (size_t j = 0; j < study.run.packed[i].size(); ++j) {
      nlohmann::json docs = nlohmann::json::array();
      for (const balance::Document& d : study.run.packed[i][j]) docs.push_back(d.tokens);
      if (!sharded || docs.empty()) {
        mbs.push_back(docs);
        continue;
      }
      const balance::Sharding& shards = study.shards[i][j];
      nlohmann::json ranks = nlohmann::json::array();
      for (const balance::RankShard& r : shards.ranks) {
        nlohmann::json query_starts = nlohmann::json::array(), key_starts = nlohmann::json::array();
        for (const balance::Piece& piece : r.pieces) {
          query_starts.push_back(piece.key_start + piece.query_start);
          key_starts.push_back(piece.key_start);
        }
        ranks.push_back({{"cu_seqlens_q", r.cu_seqlens_q},
                         {"cu_seqlens_k", r.cu_seqlens_k},
                         {"query_starts", query_starts},
                         {"key_starts", key_starts}});
      }
      mbs.push_back({{"documents", docs}, {"sharder", shards.sharder}, {"ranks", ranks}});
    }
    lines += nlohmann::json{{"iteration", i}, {"microbatches", mbs}}.dump() + "\n";
  }
  return lines;
}

nlohmann::json TuningJson(const std::vector<balance::TuningPoint>& points) {
  nlohmann::json j = nlohmann::json::array();
  for (const balance::TuningPoint& p : points) {
    j.push_back({{"thresholds_tokens", p.thresholds},
                 {"imbalance_layer", p.imbalance_layer},
                 {"mean_delay_iterations", p.mean_delay_iterations}});
  }
  return nlohmann::json{{"tuning", j}};
}

std::string TuningText(const std::vector<balance::TuningPoint>& points, size_t documents,
                       const balance::PackerOptions& options) {
  std::string text = fmt::format(
      "wlb thresholds on {} documents, {} micro-batches of {} tokens, s_max {} tokens\n",
      documents, options.microbatches, options.context,
      options.s_max > 0 ? options.s_max : options.context);
  text += fmt::format("  {:<20} {:>16} {:>22}\n", "thresholds tokens", "layer imbalance",
                      "mean delay iterations");
  for (const balance::TuningPoint& p : points) {
    std::vector<std::string> t;
    for (int64_t v : p.thresholds) t.push_back(std::to_string(v));
    text += fmt::format("  {:<20} {:>16.3f} {:>22.2f}\n", Join(t, ","), p.imbalance_layer,
                        p.mean_delay_iterations);
  }
  return text;
}

}  // namespace scaleplan::report
