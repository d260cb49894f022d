#include "cli/commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <optional>

#include "balance/balance.h"
#include "balance/sharding.h"
#include "cli/job_flags.h"
#include "core/file.h"
#include "core/text.h"
#include "explore/explore.h"
#include "model/model.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "report/launch.h"
#include "report/output.h"
#include "report/pack_report.h"
#include "report/plan_report.h"
#include "report/search_report.h"
#include "report/spec_reference.h"
#include "report/step_report.h"
#include "report/validation_report.h"
#include "schedule/schedule.h"
#include "search/search.h"
#include "sim/analytical.h"
#include "sim/event.h"
#include "sim/packed.h"
#include "spec/readers.h"

namespace scaleplan::cli {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitWriteFailed = 1;
constexpr int kExitBadInput = 2;
// An error message longer than this is cut (it echoes a value that long).
constexpr size_t kMaxMessageBytes = 2000;

// Exit codes: 0 done, 2 the input is bad (a value, a file that is missing, unreadable or not
// allowed), 1 the output could not be written. Messages are one printable line.
int Fail(std::ostream& err, const Status& status) {
  err << "scaleplan: error: " << Printable(status.message(), kMaxMessageBytes) << "\n";
  return status.code() == StatusCode::kWriteError ? kExitWriteFailed : kExitBadInput;
}

// A second output beside the report (--trace, pack --emit) must be a file: standard output
// carries the report.
Status SideFile(const std::string& path, const char* flag) {
  if (path != "-") return Status::Ok();
  return Status::Invalid(fmt::format(
      "{} = - (allowed: a file path; the report itself goes to standard output)", flag));
}

Status CheckIterations(int64_t iterations) {
  if (iterations >= 1 && iterations <= balance::kMaxPackIterations) return Status::Ok();
  return Status::Invalid(fmt::format("--iterations = {} (allowed: 1 to {})", iterations,
                                     balance::kMaxPackIterations));
}

// Every integer and number option of `app` and its subcommands reads its value as spec values are
// read (core/text.h: "1e6", "16Mi"); an exact integer is taken as written (seeds go up to
// 2^64 - 1). A value that is not a number, is out of the type's range, or is negative for an
// unsigned option is an error that shows it as typed (CLI11 alone clamps 99999999999999999999 to
// 2^63 - 1 and reads -1 as 2^64 - 1).
void ReadNumbersAsSpecsDo(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    ReadNumbersAsSpecsDo(*sub);
  }
  for (CLI::Option* option : app.get_options()) {
    std::string type = option->get_type_name();
    bool is_unsigned = type == "UINT";
    bool integer = is_unsigned || type == "INT";
    if (!integer && type != "FLOAT") continue;
    option->transform(CLI::Validator(
        [integer, is_unsigned](std::string& value) -> std::string {
          std::string shown = Printable(value, 40);
          if (!integer) {
            Result<double> v = ParseNumber(value);
            if (!v.ok()) return shown + " is not a finite number (allowed: e.g. 0.5, 1e-3)";
            value = fmt::format("{}", *v);
            return "";
          }
          const char* end = value.data() + value.size();
          if (is_unsigned) {
            uint64_t exact = 0;
            auto [at, error] = std::from_chars(value.data(), end, exact);
            if (error == std::errc() && at == end && !value.empty()) return "";
          } else {
            int64_t exact = 0;
            auto [at, error] = std::from_chars(value.data(), end, exact);
            if (error == std::errc() && at == end && !value.empty()) return "";
          }
          Result<int64_t> v = ParseInteger(value);
          if (!v.ok()) {
            return shown + " is not an integer of at most 2^53 (allowed: e.g. 64, 1e6, 16Mi)";
          }
          if (is_unsigned && *v < 0) return shown + " is negative (allowed: 0 or more)";
          value = std::to_string(*v);
          return "";
        },
        ""));
  }
}

// Writes `text` to `path` (core/file.h: atomically for a file; "-" is `out`).
Status WriteTo(std::ostream& out, const std::string& path, const std::string& text) {
  if (path != "-") return WriteOutputFile(path, text);
  out << text;
  out.flush();
  if (!out) return Status::Write("standard output: write failed");
  return Status::Ok();
}

// Prints `text`, or writes it to `path` when one is given; a report that shows a non-finite
// number is an error instead (report/output.h).
int Emit(std::ostream& out, std::ostream& err, const std::string& path, const std::string& text) {
  Status finite = report::CheckFiniteText(text);
  if (!finite.ok()) return Fail(err, finite);
  Status written = WriteTo(out, path.empty() ? "-" : path, report::SafeText(text));
  if (!written.ok()) return Fail(err, written);
  return kExitOk;
}

int Emit(std::ostream& out, std::ostream& err, const std::string& path, const Result<std::string>& text) {
  if (!text.ok()) return Fail(err, text.status());
  return Emit(out, err, path, *text);
}

int RunExplore(const JobFlags& flags, const explore::ExploreOptions& options, bool json,
               const std::string& emit, std::ostream& out, std::ostream& err) {
  if (!emit.empty() && emit != "megatron" && emit != "torchtitan") {
    return Fail(err, Status::Invalid("--emit = " + emit +
                                     " is not a launch format (allowed: megatron, torchtitan)"));
  }
  Result<spec::JobSpec> job = flags.Resolve();
  if (!job.ok()) return Fail(err, job.status());
  Result<explore::ExploreResult> r = explore::Explore(*job, options);
  if (!r.ok()) return Fail(err, r.status());
  auto row_json = [](const explore::Row& row) {
    return nlohmann::json{{"name", row.name},
                          {"plan", row.plan},
                          {"network", row.network},
                          {"step_time_s", row.step_time_s},
                          {"event_step_time_s", row.event_step_time_s},
                          {"tokens_per_s_per_gpu", row.tokens_per_s_per_gpu},
                          {"speedup", row.speedup},
                          {"crossing", row.crossing},
                          {"crossing_exposed_s", row.crossing_exposed_s},
                          {"breakdown", report::BreakdownJson(row.breakdown)}};
  };
  // The joint optimum's launch configuration; the network stack is a fabric and collective-library
  // matter, said in a comment line after it.
  std::string launch;
  if (!emit.empty()) {
    Result<plan::Plan> joint = plan::BuildPlan(r->joint.job);
    if (!joint.ok()) return Fail(err, joint.status());
    launch = (emit == "megatron" ? report::MegatronArgs(*joint) : report::TorchtitanToml(*joint)) +
             "# network stack: " + r->joint.network +
             " (fabric and collective-library settings, not launcher arguments)\n";
  }
  if (json) {
    nlohmann::json j;
    j["boundary_tier"] = r->boundary_tier;
    j["engine"] = r->engine;
    j["baseline"] = row_json(r->baseline);
    nlohmann::json rows = nlohmann::json::array();
    for (const explore::Row& row : r->one_at_a_time) rows.push_back(row_json(row));
    j["one_at_a_time"] = rows;
    j["joint"] = row_json(r->joint);
    nlohmann::json techs = nlohmann::json::array();
    for (const explore::Technology& t : explore::Technologies()) {
      techs.push_back({{"name", t.name}, {"layer", t.layer}, {"description", t.description}});
    }
    j["technologies"] = techs;
    if (!emit.empty()) j["launch"] = {{"format", emit}, {"text", launch}};
    return Emit(out, err, "", report::JsonText(j));
  }
  std::string text =
      fmt::format("{} on {} x {} ({}), boundary tier: {}, ranked by the {} engine\n\n",
                  job->model.name, job->gpus > 0 ? job->gpus : job->cluster.CapacityGpus(),
                  job->cluster.gpu.name, job->cluster.name, r->boundary_tier, r->engine);
  text += fmt::format("  {:<11} {:>9} {:>9} {:>13} {:>8} {:<22} {:<10} {:>10}  {}\n", "optimized",
                      "step s", "event s", "tokens/s/GPU", "speedup", "network", "crossing",
                      "exposed s", "plan");
  auto line = [&](const explore::Row& row) {
    text +=
        fmt::format("  {:<11} {:>9.3f} {:>9.3f} {:>13.1f} {:>7.3f}x {:<22} {:<10} {:>10.3f}  {}\n",
                    row.name, row.step_time_s, row.event_step_time_s, row.tokens_per_s_per_gpu,
                    row.speedup, row.network, row.crossing, row.crossing_exposed_s, row.plan);
  };
  line(r->baseline);
  for (const explore::Row& row : r->one_at_a_time) line(row);
  line(r->joint);
  double best_single = 0;
  for (const explore::Row& row : r->one_at_a_time) best_single = std::max(best_single, row.speedup);
  text += fmt::format(
      "\n  joint optimum: {:.1f}% faster than the baseline, {:.1f}% faster than the best single "
      "dimension\n",
      100.0 * (r->joint.speedup - 1.0), 100.0 * (r->joint.speedup / best_single - 1.0));
  if (r->engine == "analytical") {
    text += fmt::format(
        "  event engine (the same plans pass by pass): joint {:.1f}% faster than the baseline\n",
        100.0 * (r->baseline.event_step_time_s / r->joint.event_step_time_s - 1.0));
  }
  text += fmt::format("\n  where the time goes ({} engine, s per step):\n", r->engine);
  text +=
      report::BreakdownComparison(r->baseline.breakdown, r->joint.breakdown, "baseline", "joint");
  text += "\n";
  text += "  network technologies, one per layer (assumptions):\n";
  for (const explore::Technology& t : explore::Technologies())
    text += "    " + t.layer + " " + t.name + ": " + t.description + "\n";
  if (!emit.empty())
    text += "\n  launch configuration (" + emit + ") of the joint optimum:\n" + launch;
  return Emit(out, err, "", text);
}

// "32768,65536" as token lengths (each an integer >= 1); `flag` names the option in the error.
Result<std::vector<int64_t>> ParseLengthList(const std::string& text, const char* flag) {
  std::vector<int64_t> out;
  for (const std::string& t : SplitAndTrim(text, ',')) {
    Result<int64_t> v = ParseInteger(t);
    if (!v.ok() || *v < 1) {
      return Status::Invalid(fmt::format("{}: {} is not a length (allowed: integers >= 1)", flag, t));
    }
    out.push_back(*v);
  }
  return out;
}

// The adaptive wlb packer's flags are refused where nothing would read them: --max-mean-delay and
// --adapt-window need --packer wlb without --thresholds, --max-wait needs --packer wlb.
Status AdaptiveFlagsApply(const CLI::App& cmd, const std::string& packer,
                          const std::string& thresholds) {
  const bool wlb = packer == "wlb", adaptive = wlb && thresholds.empty();
  for (const char* flag : {"--max-mean-delay", "--adapt-window"}) {
    if (cmd.get_option_no_throw(flag) != nullptr && cmd.count(flag) > 0 && !adaptive) {
      return Status::Invalid(fmt::format(
          "{} applies to the adaptive wlb packer (allowed: with --packer wlb and no --thresholds)",
          flag));
    }
  }
  if (cmd.get_option_no_throw("--max-wait") != nullptr && cmd.count("--max-wait") > 0 && !wlb) {
    return Status::Invalid("--max-wait applies to the wlb packer (allowed: with --packer wlb)");
  }
  return Status::Ok();
}

int RunPack(const std::string& lengths_file, const std::string& synthetic, int64_t count,
            uint64_t seed, const std::string& packer_name, const std::string& model_ref,
            const std::string& thresholds, balance::PackerOptions options, int64_t iterations,
            const std::string& emit, bool json, int64_t cp, const std::string& sharder,
            std::ostream& out, std::ostream& err) {
  if (Status side = SideFile(emit, "--emit"); !side.ok()) return Fail(err, side);
  if (lengths_file.empty() == synthetic.empty()) {
    return Fail(
        err, Status::Invalid(
                 "pack needs exactly one of --lengths FILE and --synthetic NAME (allowed: one)"));
  }
  if (Status ok = CheckIterations(iterations); !ok.ok()) return Fail(err, ok);
  Result<std::vector<int64_t>> bands = ParseLengthList(thresholds, "--thresholds");
  if (!bands.ok()) return Fail(err, bands.status());
  options.thresholds = *bands;
  if (Result<balance::Sharding> check = balance::Shard(sharder, {1}, cp); !check.ok())
    return Fail(err, check.status());  // the sharder and --cp, before any work
  Result<spec::ModelSpec> m = spec::LoadModel(model_ref);
  if (!m.ok()) return Fail(err, m.status());
  balance::WorkloadModel workload = sim::FlopWorkload(*m);
  Result<std::vector<int64_t>> lengths =
      lengths_file.empty() ? balance::Synthetic(synthetic, count, options.context, seed)
                           : balance::ReadLengths(lengths_file);
  if (!lengths.ok()) return Fail(err, lengths.status());
  Result<std::unique_ptr<balance::Packer>> packer =
      balance::MakePacker(packer_name, options, workload);
  if (!packer.ok()) return Fail(err, packer.status());
  balance::PackRun run =
      balance::RunPacker(**packer, *lengths, options, workload, iterations, true);
  // Context-parallel balance: per micro-batch, the slowest rank's padded attention work against
  // the mean rank's, averaged over the micro-batches (one rank: 1 by definition).
  double cp_imbalance = 0;
  int64_t cp_batches = 0;
  const std::vector<std::vector<balance::MicroBatch>> none;
  for (const auto& batch : cp > 1 ? run.packed : none) {
    for (const balance::MicroBatch& mb : batch) {
      if (mb.empty()) continue;
      std::vector<int64_t> docs;
      for (const balance::Document& d : mb) docs.push_back(d.tokens);
      Result<balance::Sharding> shards = balance::Shard(sharder, docs, cp);
      if (!shards.ok()) return Fail(err, shards.status());
      cp_imbalance += shards->imbalance;
      ++cp_batches;
    }
  }
  cp_imbalance = cp_batches > 0 ? cp_imbalance / static_cast<double>(cp_batches) : 1.0;
  if (!emit.empty()) {
    std::string lines;
    for (size_t i = 0; i < run.packed.size(); ++i) {
      nlohmann::json mbs = nlohmann::json::array();
      for (const balance::MicroBatch& mb : run.packed[i]) {
        nlohmann::json docs = nlohmann::json::array();
        std::vector<int64_t> lengths_of_mb;
        for (const balance::Document& d : mb) {
          docs.push_back(d.tokens);
          lengths_of_mb.push_back(d.tokens);
        }
        if (cp <= 1 || lengths_of_mb.empty()) {
          mbs.push_back(docs);
          continue;
        }
        // What a varlen attention kernel on each CP rank takes.
        Result<balance::Sharding> shards = balance::Shard(sharder, lengths_of_mb, cp);
        if (!shards.ok()) return Fail(err, shards.status());
        nlohmann::json ranks = nlohmann::json::array();
        for (const balance::RankShard& r : shards->ranks) {
          nlohmann::json query_starts = nlohmann::json::array(),
                         key_starts = nlohmann::json::array();
          for (const balance::Piece& piece : r.pieces) {
            query_starts.push_back(piece.key_start + piece.query_start);
            key_starts.push_back(piece.key_start);
          }
          ranks.push_back({{"cu_seqlens_q", r.cu_seqlens_q},
                           {"cu_seqlens_k", r.cu_seqlens_k},
                           {"query_starts", query_starts},
                           {"key_starts", key_starts}});
        }
        mbs.push_back({{"documents", docs}, {"sharder", shards->sharder}, {"ranks", ranks}});
      }
      lines += nlohmann::json{{"iteration", i}, {"microbatches", mbs}}.dump() + "\n";
    }
    Status written = WriteOutputFile(emit, lines);
    if (!written.ok()) return Fail(err, written);
  }
  report::PackSetup setup{packer_name, options, cp, sharder, cp_imbalance};
  if (json) return Emit(out, err, "", report::JsonText(report::PackJson(run, setup)));
  return Emit(out, err, "", report::PackText(run, setup));
}

int RunTune(const std::string& lengths_file, const std::string& synthetic, int64_t count,
            uint64_t seed, const std::string& model_ref, const std::string& candidates_text,
            balance::PackerOptions options, int64_t iterations, bool json, std::ostream& out,
            std::ostream& err) {
  if (Status ok = CheckIterations(iterations); !ok.ok()) return Fail(err, ok);
  {
    Result<std::unique_ptr<balance::Packer>> check =
        balance::MakePacker("wlb", options, balance::WorkloadModel{});
    if (!check.ok()) return Fail(err, check.status());
  }
  if (lengths_file.empty() == synthetic.empty()) {
    return Fail(
        err, Status::Invalid(
                 "pack needs exactly one of --lengths FILE and --synthetic NAME (allowed: one)"));
  }
  std::vector<int64_t> candidates;
  Result<std::vector<int64_t>> tune = ParseLengthList(candidates_text, "--tune");
  if (!tune.ok()) return Fail(err, tune.status());
  candidates = *tune;
  Result<spec::ModelSpec> m = spec::LoadModel(model_ref);
  if (!m.ok()) return Fail(err, m.status());
  Result<std::vector<int64_t>> lengths =
      lengths_file.empty() ? balance::Synthetic(synthetic, count, options.context, seed)
                           : balance::ReadLengths(lengths_file);
  if (!lengths.ok()) return Fail(err, lengths.status());
  std::vector<balance::TuningPoint> points =
      balance::TuneThresholds(*lengths, options, sim::FlopWorkload(*m), candidates, iterations);
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& p : points) {
      j.push_back({{"thresholds", p.thresholds},
                   {"imbalance_layer", p.imbalance_layer},
                   {"mean_delay_iterations", p.mean_delay_iterations}});
    }
    return Emit(out, err, "", report::JsonText(nlohmann::json{{"tuning", j}}));
  }
  std::string text = fmt::format(
      "wlb thresholds on {} documents, {} micro-batches of {} tokens, s_max {}\n", lengths->size(),
      options.microbatches, options.context, options.s_max > 0 ? options.s_max : options.context);
  text += fmt::format("  {:<20} {:>16} {:>22}\n", "thresholds", "layer imbalance",
                      "mean delay (iterations)");
  for (const auto& p : points) {
    std::vector<std::string> t;
    for (int64_t v : p.thresholds) t.push_back(std::to_string(v));
    text += fmt::format("  {:<20} {:>16.3f} {:>22.2f}\n", Join(t, ","), p.imbalance_layer,
                        p.mean_delay_iterations);
  }
  return Emit(out, err, "", text);
}

// Packs the documents with `packer` and with the original packing, runs each packed step through
// the event engine (sim/packed.h), and compares their throughput.
Result<std::string> RunPackedEvent(const plan::Plan& built, bool json, const std::string& lengths_file,
                                   const std::string& thresholds, sim::PackedOptions options) {
  SP_ASSIGN_OR_RETURN(std::vector<int64_t> lengths, balance::ReadLengths(lengths_file));
  SP_ASSIGN_OR_RETURN(options.packing.thresholds, ParseLengthList(thresholds, "--thresholds"));
  SP_ASSIGN_OR_RETURN(sim::PackedComparison c, sim::SimulatePacked(built, lengths, options));
  if (json) return report::JsonText(report::PackedEventJson(c));
  return report::PackedEventText(c);
}

Result<std::string> RunEvent(const plan::Plan& built, const plan::MemoryReport& memory, bool json,
                             const std::string& trace_file, const std::string& stragglers,
                             const std::string& microbatch_lengths,
                             const std::string& schedule_file) {
  SP_RETURN_IF_ERROR(SideFile(trace_file, "--trace"));
  sim::EventOptions options;
  options.trace = !trace_file.empty();
  SP_ASSIGN_OR_RETURN(options.straggler_speed, sim::ParseStragglers(stragglers));
  if (!microbatch_lengths.empty()) {
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(microbatch_lengths));
    SP_ASSIGN_OR_RETURN(options.microbatch_documents,
                        sim::ParseMicrobatchLengths(text, microbatch_lengths));
  }
  schedule::PipelineSchedule custom;
  if (!schedule_file.empty()) {
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(schedule_file));
    SP_ASSIGN_OR_RETURN(custom, schedule::ParseSchedule(text, schedule_file, built.pp, built.vp,
                                                        built.microbatches));
    options.schedule = &custom;
  }
  SP_ASSIGN_OR_RETURN(sim::EventResult result, sim::SimulateEvents(built, options));
  if (!trace_file.empty()) {
    SP_RETURN_IF_ERROR(
        WriteOutputFile(trace_file, sim::ChromeTraceJson(built, result)));
  }
  double worst = 0, total = 0;
  for (const auto& replica : result.idle_s) {
    for (double v : replica) {
      worst = std::max(worst, v);
      total += v;
    }
  }
  double mean = total / static_cast<double>(built.dp * built.pp);
  if (json) {
    nlohmann::json j = report::StepJson(built, memory, result.step);
    j["engine"] = "event";
    j["critical_path"] = {{"replica", result.critical_replica},
                          {"stage", result.critical_stage},
                          {"last_pass", result.critical_pass},
                          {"passes", result.critical_path_passes},
                          {"transfers", result.critical_path_transfers}};
    j["idle_s"] = {{"max_per_rank", worst}, {"mean_per_rank", mean}};
    j["simulated_passes"] = result.simulated_passes;
    return report::JsonText(j);
  }
  std::string text = report::StepText(built, memory, result.step);
  size_t at = text.find("step (analytical)");
  if (at != std::string::npos) text.replace(at, 17, "step (event)     ");
  text += fmt::format(
      "  critical path: ends with {} on stage {} of replica {}; {} passes, {} stage-to-stage "
      "transfers\n",
      result.critical_pass, result.critical_stage, result.critical_replica,
      result.critical_path_passes, result.critical_path_transfers);
  text += fmt::format(
      "  idle per rank within the pipeline: mean {:.4f} s, max {:.4f} s; {} passes simulated\n",
      mean, worst, result.simulated_passes);
  if (!trace_file.empty())
    text += "  trace written to " + trace_file + " (open in ui.perfetto.dev)\n";
  return text;
}

int RunSearch(const JobFlags& flags, search::SearchOptions options, bool json,
              const std::string& emit, const std::string& output, std::ostream& out,
              std::ostream& err) {
  if (!emit.empty() && emit != "megatron" && emit != "torchtitan") {
    return Fail(err, Status::Invalid("--emit = " + emit +
                                     " is not a launch format (allowed: megatron, torchtitan)"));
  }
  Result<spec::JobSpec> resolved = flags.Resolve(/*apply_plan_keys=*/false);
  if (!resolved.ok()) return Fail(err, resolved.status());
  spec::JobSpec job = *resolved;
  if (job.gpus == 0) job.gpus = job.cluster.CapacityGpus();
  search::SearchSpace space = search::DefaultSpace(job);
  spec::JobSpec baseline_job = job;
  for (const JobFlags::GivenKey& given : flags.GivenPlanKeys()) {
    if (given.key == "dp" || given.key == "etp" || given.key == "microbatches" ||
        given.key == "pp_microbatch_group") {
      return Fail(err,
                  Status::Invalid(given.flag + ": plan." + given.key +
                                  " is derived by the search (allowed: pin --tp, --cp, --pp, --vp, "
                                  "--micro-batch, --ep instead)"));
    }
    Status restricted = search::Restrict(space, given.key, given.value, given.flag);
    if (restricted.ok()) {
      // A single value also moves the starting plan there.
      if (given.value.find(',') == std::string::npos || given.key == "placement") {
        (void)spec::PlanSchema().Set(baseline_job.plan, given.key,
                                     spec::ScalarValue(given.value, given.flag));
      }
      continue;
    }
    if (restricted.message().find("is not a search dimension") != std::string::npos) {
      // A fixed field (sequence_parallel, precision, ...): applies to every candidate.
      Status set =
          spec::PlanSchema().Set(job.plan, given.key, spec::ScalarValue(given.value, given.flag));
      if (!set.ok()) return Fail(err, set);
      (void)spec::PlanSchema().Set(baseline_job.plan, given.key,
                                   spec::ScalarValue(given.value, given.flag));
      continue;
    }
    return Fail(err, restricted);
  }
  bool tty = !json && output.empty() && ::isatty(2);
  if (tty) {
    options.progress = [&err](double fraction) {
      int filled = static_cast<int>(fraction * 30);
      err << "\rsearching [" << std::string(static_cast<size_t>(filled), '#')
          << std::string(static_cast<size_t>(30 - filled), '.') << "] "
          << static_cast<int>(fraction * 100) << "%" << std::flush;
    };
  }
  Result<search::SearchResult> result = search::Search(job, space, options);
  if (tty) err << "\r" << std::string(48, ' ') << "\r" << std::flush;
  if (!result.ok()) return Fail(err, result.status());

  // The starting plan (the job's own, e.g. Llama 3's production plan), for comparison.
  std::optional<report::Baseline> baseline;
  Result<plan::Plan> base_plan = plan::BuildPlan(baseline_job);
  if (base_plan.ok()) {
    Result<sim::StepResult> step = sim::Evaluate(*base_plan);
    if (step.ok()) {
      baseline = report::Baseline{search::Describe(base_plan->spec(), base_plan->dp), *step,
                                  plan::ComputeMemory(*base_plan).fits};
    }
  }
  Result<std::string> report_text = json ? report::JsonText(report::SearchJson(job, *result, baseline))
                                         : Result<std::string>(report::SearchText(job, *result, baseline));
  if (!report_text.ok()) return Fail(err, report_text.status());
  std::string text = *report_text;
  if (!emit.empty() && !result->top.empty()) {
    spec::JobSpec best = job;
    best.plan = result->top.front().plan;
    best.plan.dp = 0;
    best.plan.microbatches = 0;
    Result<plan::Plan> best_plan = plan::BuildPlan(best);
    if (best_plan.ok()) {
      std::string launch = emit == "megatron" ? report::MegatronArgs(*best_plan)
                                              : report::TorchtitanToml(*best_plan);
      if (json) {
        nlohmann::json j = nlohmann::json::parse(text);
        j["launch"] = {{"format", emit}, {"text", launch}};
        text = j.dump(2) + "\n";  // checked above, before the launch text
      } else {
        text += "\n  launch configuration (" + emit + ") of the best plan:\n" + launch;
      }
    }
  }
  return Emit(out, err, output, text);
}

}  // namespace

int Run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "scaleplan: plan 4D-parallel training of large models: parameters, FLOPs, memory per GPU,\n"
      "step time. With no command, runs `scaleplan simulate` on the default job (Llama 3 405B on\n"
      "16,384 H100s)."};
  app.set_version_flag("--version", "scaleplan 0.1.0");
  app.require_subcommand(0, 1);

  // `plan` and `simulate` take the same job flags; each gets its own set.
  struct JobCommand {
    CLI::App* app = nullptr;
    JobFlags flags;
    bool json = false;
    bool ops = false;
    std::string output;
  };
  JobCommand plan_cmd, simulate_cmd;
  plan_cmd.app = app.add_subcommand(
      "plan", "Describe a plan: parameters, FLOPs per token, placement, memory per GPU, verdict");
  simulate_cmd.app = app.add_subcommand(
      "simulate", "Predict one training step: time, tokens/s/GPU, MFU, breakdown, memory");
  for (JobCommand* cmd : {&plan_cmd, &simulate_cmd}) {
    cmd->flags.Register(cmd->app);
    cmd->app->add_flag("--json", cmd->json, "Print the machine-readable report");
    cmd->app->add_option("--output,-o", cmd->output,
                         "Write the report to FILE (atomically) instead of stdout");
  }
  plan_cmd.app->add_flag("--ops", plan_cmd.ops,
                         "Add the per-op table (FLOPs, bytes, saved activations)");
  std::string engine = "analytical", trace_file, stragglers, microbatch_lengths, schedule_file;
  simulate_cmd.app->add_option("--engine", engine,
                               "analytical (closed form) or event (discrete events)");
  simulate_cmd.app->add_option("--trace", trace_file,
                               "event engine: write a Chrome/Perfetto trace to FILE");
  simulate_cmd.app->add_option(
      "--stragglers", stragglers,
      "event engine: slow GPUs as RANK:SPEED,... (speed in (0, 1], e.g. 17:0.5)");
  simulate_cmd.app->add_option(
      "--microbatch-lengths", microbatch_lengths,
      "event engine: JSON list, per micro-batch, of its documents' token lengths");
  simulate_cmd.app->add_option(
      "--schedule-file", schedule_file,
      "event engine: a pipeline schedule to run (JSON, see `scaleplan schedules`)");
  std::string sim_packer, sim_lengths, sim_thresholds;
  sim::PackedOptions sim_packed;
  simulate_cmd.app->add_option(
      "--packer", sim_packer,
      "event engine: pack --lengths with this packer and compare with the original packing");
  simulate_cmd.app->add_option("--lengths", sim_lengths,
                               "event engine: document lengths to pack (with --packer)");
  simulate_cmd.app->add_option(
      "--smax", sim_packed.packing.s_max,
      "event engine, wlb packer: most tokens per micro-batch (default: adaptive up to the "
      "plan's memory bound and 1.5 x the micro-batch; with --thresholds, the micro-batch)");
  simulate_cmd.app->add_option(
      "--thresholds", sim_thresholds,
      "event engine, wlb packer: fixed outlier length bands (default: chosen online)");
  simulate_cmd.app->add_option("--max-mean-delay", sim_packed.packing.max_mean_delay,
                               "event engine, adaptive wlb: mean delay budget, iterations");
  simulate_cmd.app->add_option(
      "--sharder", sim_packed.sharder,
      "event engine: CP sharder for --packer (head-tail, per-document, adaptive; "
      "the original packing always uses head-tail)");
  simulate_cmd.app->add_option("--pack-iterations", sim_packed.iterations,
                               "event engine: packed steps to simulate");
  std::string megatron_args;
  simulate_cmd.app->add_option(
      "--megatron-args", megatron_args,
      "Megatron-LM arguments to read the plan from (applied after the job and the other flags)");

  CLI::App* search_cmd = app.add_subcommand(
      "search",
      "Find the fastest plans that fit: pin a dimension with --tp 8, restrict it with --pp 8,16");
  JobFlags search_flags;
  search_flags.Register(search_cmd);
  search::SearchOptions search_options;
  bool search_json = false;
  std::string search_emit, search_output;
  search_cmd->add_option("--optimizer", search_options.optimizer,
                         "exhaustive, random or evolution");
  search_cmd->add_option("--seed", search_options.seed,
                         "Seed for random and evolution (default 1)");
  int64_t search_budget = 0;  // signed, so that a negative budget is an error, not 2^64 - 1
  search_cmd->add_option("--budget", search_budget,
                         "Most evaluations (default: all for exhaustive, 2000 otherwise)");
  search_cmd->add_option("--time-limit", search_options.max_seconds,
                         "Most seconds (default: none)");
  search_cmd->add_option("--threads", search_options.threads,
                         "Threads for exhaustive search (default 2)");
  search_cmd->add_option("--top", search_options.top_k, "Plans to report (default 10)");
  search_cmd->add_option("--emit", search_emit,
                         "Print the best plan's launch configuration: megatron or torchtitan");
  search_cmd->add_flag("--json", search_json, "Print the machine-readable report");
  search_cmd->add_option("--output,-o", search_output,
                         "Write the report to FILE (atomically) instead of stdout");

  CLI::App* presets_cmd = app.add_subcommand("presets", "List the embedded presets, one line each");
  bool presets_json = false;
  presets_cmd->add_flag("--json", presets_json, "Print as JSON");

  CLI::App* validate_cmd = app.add_subcommand(
      "validate",
      "Compare predictions with measured runs (training CSV files, nccl-tests outputs)");
  std::vector<std::string> validate_files;
  validate::Options validate_options;
  bool validate_json = false;
  bool validate_verbose = false;
  validate_cmd
      ->add_option("files", validate_files,
                   "CSV files in a calibration schema, or nccl-tests outputs")
      ->required();
  validate_cmd->add_option("--gpu-type", validate_options.gpu_filter,
                           "Keep rows whose GPU type contains TEXT (e.g. H100)");
  validate_cmd->add_option("--precision", validate_options.precision_filter,
                           "Keep rows whose precision contains TEXT (e.g. BF16)");
  validate_cmd->add_option("--match", validate_options.match,
                           "Keep rows whose source or title contains TEXT (e.g. 'Table 1')");
  validate_cmd->add_option("--cluster", validate_options.nccl_cluster,
                           "Cluster preset or file for nccl-tests outputs (default h200-node)");
  validate_cmd->add_option("--sustained-compute-fraction",
                           validate_options.sustained_compute_fraction,
                           "Override every row's gpu.sustained_compute_fraction (to refit it)");
  validate_cmd->add_flag("--json", validate_json, "Print the machine-readable report");
  validate_cmd->add_flag("--verbose", validate_verbose,
                         "List skipped rows and every row's assumptions");

  CLI::App* explore_cmd = app.add_subcommand(
      "explore",
      "Scale-across ablation: placement, scheduling and network technology, alone and jointly");
  JobFlags explore_flags;
  explore_flags.Register(explore_cmd);
  explore::ExploreOptions explore_options;
  bool explore_json = false;
  explore_cmd->add_option(
      "--boundary-tier", explore_options.boundary_tier,
      "Tier whose links are the scale-across boundary (default: the outermost)");
  explore_cmd->add_flag("--json", explore_json, "Print the machine-readable report");
  std::string explore_emit;
  explore_cmd->add_option("--emit", explore_emit,
                          "Also print the joint optimum's launch configuration: megatron or "
                          "torchtitan");
  explore_cmd->add_flag("--relaxed-sync", explore_options.relaxed_sync,
                        "Also try a delayed cross-replica gradient reduction and BF16 gradients "
                        "(both change training)");
  explore_cmd->add_option("--engine", explore_options.engine,
                          "What ranks the candidates: analytical, or event (re-runs each "
                          "search's best 16 pass by pass)");

  CLI::App* pack_cmd = app.add_subcommand(
      "pack",
      "Pack variable-length documents into micro-batches and measure the balance (WLB-LLM)");
  std::string pack_lengths, pack_synthetic, pack_packer = "wlb", pack_model = "llama3-8b",
                                            pack_emit, pack_thresholds;
  balance::PackerOptions pack_options;
  int64_t pack_iterations = 20, pack_count = 50000, pack_cp = 1;
  std::string pack_sharder = "per-document", pack_tune;
  uint64_t pack_seed = 1;
  bool pack_json = false;
  pack_cmd->add_option("--lengths", pack_lengths,
                       "Document lengths: a JSON list or one length per line");
  pack_cmd->add_option("--synthetic", pack_synthetic,
                       "Generate lengths instead: lognormal, pareto or drift, with optional "
                       "shape keys (e.g. pareto:alpha=1.0,min=512; see --count, --seed)");
  pack_cmd->add_option("--count", pack_count,
                       "Documents to generate with --synthetic (default 50000)");
  pack_cmd->add_option("--seed", pack_seed, "Seed for --synthetic (default 1)");
  pack_cmd->add_option("--context", pack_options.context,
                       "Tokens per micro-batch (default 131072)");
  pack_cmd->add_option("--microbatches", pack_options.microbatches,
                       "Micro-batches per iteration (default 4)");
  pack_cmd->add_option("--packer", pack_packer, "original, greedy, ffd, bfd or wlb (default wlb)");
  pack_cmd->add_option("--smax", pack_options.s_max,
                       "wlb: most tokens in a micro-batch, the activation-memory bound (default: "
                       "adaptive up to 1.5 x the context; with --thresholds, the context)");
  pack_cmd->add_option("--thresholds", pack_thresholds,
                       "wlb: fixed outlier length bands, e.g. 65536,98304 (default: chosen "
                       "online from the stream)");
  pack_cmd->add_option("--max-mean-delay", pack_options.max_mean_delay,
                       "wlb adaptive: token-weighted mean delay budget, iterations (default 0.5)");
  pack_cmd->add_option("--max-wait", pack_options.max_wait,
                       "wlb: iterations an outlier may wait before a partial wave goes out "
                       "(default: none with --thresholds, 16 x --max-mean-delay adaptive)");
  pack_cmd->add_option("--adapt-window", pack_options.adapt_window,
                       "wlb adaptive: iterations replayed per re-choice of bands and s_max "
                       "(default 32)");
  pack_cmd->add_option("--iterations", pack_iterations, "Iterations to pack (default 20)");
  pack_cmd->add_option("--model", pack_model,
                       "Model whose FLOPs weigh tokens and attention pairs (default llama3-8b)");
  pack_cmd->add_option("--emit", pack_emit,
                       "Write the packed micro-batches to FILE (JSON lines, one per iteration)");
  pack_cmd->add_option("--cp", pack_cp,
                       "Context-parallel ranks to shard each micro-batch over (default 1)");
  pack_cmd->add_option("--sharder", pack_sharder,
                       "CP sharder: head-tail, per-document or adaptive (default per-document)");
  pack_cmd->add_option("--tune", pack_tune,
                       "wlb: sweep outlier thresholds from these lengths (e.g. 16384,32768,65536): "
                       "imbalance vs delay");
  pack_cmd->add_flag("--json", pack_json, "Print the machine-readable report");

  CLI::App* schedules_cmd = app.add_subcommand(
      "schedules",
      "List the pipeline schedules; each is generated and validated for an example shape");
  int64_t sched_pp = 4, sched_vp = 2, sched_m = 8;
  std::string sched_print;
  schedules_cmd->add_option("--pp", sched_pp, "Stages of the example (default 4)");
  schedules_cmd->add_option("--vp", sched_vp,
                            "Chunks per stage for interleaved schedules (default 2)");
  schedules_cmd->add_option("--microbatches", sched_m, "Micro-batches of the example (default 8)");
  schedules_cmd->add_option("--print", sched_print,
                            "Print this schedule's pass lists as JSON (a --schedule-file)");

  CLI::App* spec_cmd =
      app.add_subcommand("spec", "Print the reference of every input key (Markdown)");

  ReadNumbersAsSpecsDo(app);
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion&) {
    out << "scaleplan 0.1.0\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    // A subcommand's own --help.
    if (e.get_exit_code() == 0) {
      for (CLI::App* sub : app.get_subcommands()) out << sub->help();
      return kExitOk;
    }
    err << "scaleplan: error: " << Printable(message, kMaxMessageBytes) << " (see scaleplan --help)\n";
    return kExitBadInput;
  }

  if (presets_cmd->parsed()) {
    return Emit(out, err, "",
                presets_json ? report::JsonText(report::PresetsJson())
                             : Result<std::string>(report::PresetsText()));
  }
  if (spec_cmd->parsed()) return Emit(out, err, "", report::SpecReferenceMarkdown());
  if (explore_cmd->parsed())
    return RunExplore(explore_flags, explore_options, explore_json, explore_emit, out, err);
  if (pack_cmd->parsed()) {
    Status fits = AdaptiveFlagsApply(*pack_cmd, pack_packer, pack_thresholds);
    if (!fits.ok()) return Fail(err, fits);
  }
  if (pack_cmd->parsed() && !pack_tune.empty()) {
    return RunTune(pack_lengths, pack_synthetic, pack_count, pack_seed, pack_model, pack_tune,
                   pack_options, pack_iterations, pack_json, out, err);
  }
  if (pack_cmd->parsed()) {
    return RunPack(pack_lengths, pack_synthetic, pack_count, pack_seed, pack_packer, pack_model,
                   pack_thresholds, pack_options, pack_iterations, pack_emit, pack_json, pack_cp,
                   pack_sharder, out, err);
  }
  if (schedules_cmd->parsed()) {
    if (Status size = schedule::CheckScheduleSize(sched_pp, sched_vp, sched_m); !size.ok())
      return Fail(err, size);
    std::string text;
    for (const schedule::ScheduleInfo& info : schedule::Schedules()) {
      spec::PlanSpec probe;
      Status known =
          spec::PlanSchema().Set(probe, "schedule", spec::ScalarValue(info.name, "schedules"));
      if (!known.ok()) return Fail(err, known);
      bool interleaved = probe.schedule == spec::Schedule::kInterleaved ||
                         probe.schedule == spec::Schedule::kLlama3;
      int64_t vp = interleaved ? sched_vp : 1;
      Result<schedule::PipelineSchedule> s =
          schedule::Generate(probe.schedule, sched_pp, vp, sched_m, 0);
      std::string verdict;
      if (!s.ok() && info.name == sched_print) return Fail(err, s.status());
      if (!s.ok()) {
        verdict = "not generated: " + s.status().message();
      } else {
        Result<schedule::ScheduleCheck> check = schedule::Validate(*s);
        verdict = check.ok()
                      ? fmt::format("valid for pp {} vp {} m {}; peak forwards held on stage 0: {}",
                                    sched_pp, vp, sched_m, check->peak_in_flight[0])
                      : "invalid: " + check.status().message();
        if (info.name == sched_print) {
          nlohmann::json stages = nlohmann::json::array();
          for (const auto& ops : s->per_stage) {
            nlohmann::json list = nlohmann::json::array();
            for (const schedule::Step& op : ops) {
              const char* pass = op.pass == schedule::Pass::kForward    ? "F"
                                 : op.pass == schedule::Pass::kBackward ? "B"
                                                                        : "W";
              list.push_back({pass, op.microbatch, op.chunk});
            }
            stages.push_back(list);
          }
          return Emit(out, err, "", nlohmann::json{{"stages", stages}}.dump() + "\n");
        }
      }
      text += fmt::format("  {:<12} {}\n  {:<12} {}\n", info.name, info.description, "", verdict);
    }
    if (!sched_print.empty()) {
      return Fail(
          err,
          Status::Invalid("--print = " + sched_print +
                          " is not a schedule (allowed: gpipe, 1f1b, interleaved, llama3, zb-h1)"));
    }
    return Emit(out, err, "", text);
  }
  if (search_cmd->parsed()) {
    if (search_budget < 0) {
      return Fail(err, Status::Invalid(fmt::format(
                           "--budget = {} (allowed: 0 for the default, or a number of evaluations)",
                           search_budget)));
    }
    search_options.max_evaluations = static_cast<uint64_t>(search_budget);
    return RunSearch(search_flags, search_options, search_json, search_emit, search_output, out,
                     err);
  }
  if (validate_cmd->parsed()) {
    if (validate_cmd->count("--sustained-compute-fraction") > 0) {
      // The override obeys the GPU key's own bounds (spec/specs.cpp).
      spec::GpuSpec probe;
      Status allowed = spec::GpuSchema().Set(
          probe, "sustained_compute_fraction",
          spec::ScalarValue(fmt::format("{}", validate_options.sustained_compute_fraction),
                            "--sustained-compute-fraction"));
      if (!allowed.ok()) return Fail(err, allowed);
    }
    std::vector<validate::FileReport> reports;
    for (const std::string& file : validate_files) {
      Result<validate::FileReport> r = validate::ValidateFile(file, validate_options);
      if (!r.ok()) return Fail(err, r.status());
      reports.push_back(std::move(r).value());
    }
    return Emit(out, err, "",
                validate_json ? report::JsonText(report::ValidationJson(reports))
                              : Result<std::string>(report::ValidationText(reports, validate_verbose)));
  }

  // `scaleplan plan`, `scaleplan simulate`, or no command at all (= simulate the default job).
  JobCommand& cmd = plan_cmd.app->parsed() ? plan_cmd : simulate_cmd;
  Result<spec::JobSpec> job = cmd.flags.Resolve();
  if (!job.ok()) return Fail(err, job.status());
  if (&cmd == &simulate_cmd && !megatron_args.empty()) {
    Result<report::MegatronParse> parsed = report::ApplyMegatronArgs(megatron_args, *job);
    if (!parsed.ok()) return Fail(err, parsed.status());
    if (!parsed->ignored.empty()) {
      err << "scaleplan: note: ignored Megatron arguments that do not describe the plan: "
          << Join(parsed->ignored, " ") << "\n";
    }
  }
  Result<plan::Plan> built = plan::BuildPlan(*job);
  if (!built.ok()) return Fail(err, built.status());
  plan::MemoryReport memory = plan::ComputeMemory(*built);
  std::string text;
  if (&cmd == &plan_cmd) {
    report::PlanReportOptions options;
    options.include_ops = cmd.ops;
    Result<std::string> plan_text = cmd.json ? report::JsonText(report::PlanJson(*built, memory, options))
                                             : Result<std::string>(report::PlanText(*built, memory, options));
    if (!plan_text.ok()) return Fail(err, plan_text.status());
    text = *plan_text;
  } else {
    if (engine != "analytical" && engine != "event") {
      return Fail(err, Status::Invalid("--engine = " + engine + " (allowed: analytical, event)"));
    }
    if (engine == "analytical" && (!trace_file.empty() || !stragglers.empty() ||
                                   !microbatch_lengths.empty() || !schedule_file.empty())) {
      return Fail(err, Status::Invalid(
                           "--trace, --stragglers, --microbatch-lengths and --schedule-file need "
                           "--engine event (allowed: add --engine event)"));
    }
    if (Status fits = AdaptiveFlagsApply(*simulate_cmd.app, sim_packer, sim_thresholds); !fits.ok())
      return Fail(err, fits);
    if (!sim_packer.empty() || !sim_lengths.empty()) {
      sim_packed.packer = sim_packer;
      if (engine != "event" || sim_packer.empty() || sim_lengths.empty()) {
        return Fail(err, Status::Invalid(
                             "--packer and --lengths go together, with --engine event (allowed: "
                             "--engine event --packer NAME --lengths FILE)"));
      }
      Result<std::string> packed =
          RunPackedEvent(*built, cmd.json, sim_lengths, sim_thresholds, sim_packed);
      if (!packed.ok()) return Fail(err, packed.status());
      return Emit(out, err, cmd.output, *packed);
    }
    if (engine == "event") {
      Result<std::string> event_text = RunEvent(*built, memory, cmd.json, trace_file, stragglers,
                                                microbatch_lengths, schedule_file);
      if (!event_text.ok()) return Fail(err, event_text.status());
      text = *event_text;
    } else {
      Result<sim::StepResult> step = sim::Evaluate(*built);
      if (!step.ok()) return Fail(err, step.status());
      Result<std::string> step_text = cmd.json ? report::JsonText(report::StepJson(*built, memory, *step))
                                               : Result<std::string>(report::StepText(*built, memory, *step));
      if (!step_text.ok()) return Fail(err, step_text.status());
      text = *step_text;
    }
  }
  return Emit(out, err, cmd.output, text);
}

}  // namespace scaleplan::cli
