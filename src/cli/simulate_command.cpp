// scaleplan simulate: one training step of the job by an engine (sim/engine.h); with --packer,
// packed global batches against the original packing (sim/packed.h).
#include <optional>

#include "balance/balance.h"
#include "balance/sharding.h"
#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "cli/packer_keys.h"
#include "core/file.h"
#include "core/text.h"
#include "goodput/goodput.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "report/goodput_report.h"
#include "report/html_report.h"
#include "report/launch.h"
#include "report/output.h"
#include "report/pack_report.h"
#include "report/spec_reference.h"
#include "report/step_report.h"
#include "schedule/schedule.h"
#include "sim/engine.h"
#include "sim/packed.h"
#include "spec/readers.h"

namespace scaleplan::cli {

namespace {

struct SimulateArgs {
  bool json = false;
  std::string output;  // empty: standard output
  std::string engine = "analytical";
  std::string trace;
  std::string stragglers;
  std::string microbatch_lengths;
  std::string schedule_file;
  std::string packer;
  std::string lengths;
  std::string sharder = sim::PackedOptions{}.sharder;
  int64_t pack_iterations = sim::PackedOptions{}.iterations;
  std::string megatron_args;
  std::string torchtitan_config;
  std::string html;
};

const spec::Schema<SimulateArgs>& SimulateArgsSchema() {
  static const spec::Schema<SimulateArgs> schema = [] {
    std::string engines;
    std::vector<std::string> names, packers;
    for (const sim::Engine* e : sim::Engines()) {
      engines += (engines.empty() ? "" : "; ") + std::string(e->name()) + ": " +
                 std::string(e->description());
      names.emplace_back(e->name());
    }
    for (const balance::PackerInfo& p : balance::Packers()) packers.push_back(p.name);
    spec::Schema<SimulateArgs> s("simulate");
    s.OneOf("engine", &SimulateArgs::engine, names, "the step engine (" + engines + ")");
    s.Text("trace", &SimulateArgs::trace,
           "engines that run passes: write a Chrome/Perfetto trace to FILE");
    s.Text("stragglers", &SimulateArgs::stragglers,
           "engines that run passes: slow GPUs as RANK:SPEED,... (speed from 0.001 to 1, e.g. "
           "17:0.5)");
    s.Text("microbatch_lengths", &SimulateArgs::microbatch_lengths,
           "engines that run passes: a JSON file listing, per micro-batch, its documents' token "
           "lengths");
    s.Text("schedule_file", &SimulateArgs::schedule_file,
           "engines that run passes: a pipeline schedule to run (JSON, see `scaleplan schedules "
           "--print`)");
    s.OneOf("packer", &SimulateArgs::packer, packers,
            "engines that run passes: pack --lengths with this packer and compare with the "
            "original packing",
            /*allow_empty=*/true);
    s.Text("lengths", &SimulateArgs::lengths, "document lengths to pack (with --packer)");
    s.OneOf("sharder", &SimulateArgs::sharder, balance::Sharders(),
            "CP sharder for --packer (the original packing always uses head-tail)");
    s.Integer("pack_iterations", &SimulateArgs::pack_iterations, 1, balance::kMaxPackIterations, "",
              "packed global batches to simulate (with --packer)");
    s.Text("megatron_args", &SimulateArgs::megatron_args,
           "Megatron-LM arguments to read the plan from (applied after the job and the other "
           "flags)");
    s.Text("torchtitan_config", &SimulateArgs::torchtitan_config,
           "a torchtitan job TOML to read the plan from (applied after the job and the other "
           "flags)");
    AddReportOptions(s);
    AddHtmlOption(s);
    return s;
  }();
  return schema;
}

// The packer keys simulate takes (micro-batches and context come from the plan).
const std::vector<std::string>& PackerKeys() {
  static const std::vector<std::string> keys = {"s_max", "thresholds", "max_wait", "max_mean_delay",
                                                "adapt_window"};
  return keys;
}

class SimulateCmd final : public Command {
 public:
  std::string_view name() const override { return "simulate"; }
  std::string_view summary() const override {
    return "Predict one training step: time, tokens/s/GPU, MFU, breakdown, memory";
  }
  void Register(CLI::App* app) override {
    job_.Register(app);
    options_.Register(app);
    packer_.Register(app, PackerKeys());
    goodput_.Register(app, goodput::SectionKeys());
  }
  int Run(Io io) override {
    Result<SimulateArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<spec::JobSpec> job = job_.Resolve();
    if (!job.ok()) return Fail(io.err, job.status());
    Status launch = ApplyLaunchInputs(args->megatron_args, args->torchtitan_config,
                                      job_.GpusGiven(), *job, io.err);
    if (!launch.ok()) return Fail(io.err, launch);
    Result<const sim::Engine*> engine = sim::FindEngine(args->engine, "--engine");
    if (!engine.ok()) return Fail(io.err, engine.status());
    Result<plan::Plan> built = plan::BuildPlan(*job);
    if (!built.ok()) {
      // A launch configuration states the plan: its keys are not the default job's.
      const bool launch_given = !args->megatron_args.empty() || !args->torchtitan_config.empty();
      return Fail(io.err, launch_given ? built.status() : job_.Explain(built.status()));
    }
    if (!args->packer.empty() || !args->lengths.empty()) {
      return Emit(io, args->output, Packed(*args, **engine, *built));
    }
    return Emit(io, args->output, Step(*args, **engine, *built));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(
        name(), summary(),
        {report::OptionsMarkdown(SimulateArgsSchema()),
         report::OptionsMarkdown(balance::PackerSchema(), PackerKeys()),
         report::OptionsMarkdown(goodput::GoodputOptionsSchema(), goodput::SectionKeys())},
        "Takes the job flags; the packer's keys (second table) apply with --packer; the goodput "
        "keys (third table) set the step report's goodput section (docs/GOODPUT.md).");
  }

 private:
  Result<std::string> Packed(const SimulateArgs& args, const sim::Engine& engine,
                             const plan::Plan& built) const {
    if (!args.html.empty()) {
      return Status::Invalid(
          "--html draws one step's report and does not apply to --packer (allowed: one of the "
          "two)");
    }
    if (!engine.RunsPasses() || args.packer.empty() || args.lengths.empty()) {
      return Status::Invalid(
          "--packer and --lengths go together, with an engine that runs passes (allowed: "
          "--engine event --packer NAME --lengths FILE)");
    }
    SP_RETURN_IF_ERROR(PackerKeysApply(packer_, args.packer));
    for (const std::string& key : goodput::SectionKeys()) {
      if (goodput_.Given(key)) {
        return Status::Invalid(goodput_.Flag(key) +
                               " sets the goodput section of one step's report and does not "
                               "apply to --packer (allowed: one of the two)");
      }
    }
    // Packed batches are steps of their own: one step's inputs do not apply to them.
    for (const auto& [given, flag] : {std::pair<bool, const char*>{!args.trace.empty(), "--trace"},
                                      {!args.stragglers.empty(), "--stragglers"},
                                      {!args.microbatch_lengths.empty(), "--microbatch-lengths"},
                                      {!args.schedule_file.empty(), "--schedule-file"}}) {
      if (given) {
        return Status::Invalid(std::string(flag) +
                               " describes one step and does not apply to --packer (allowed: "
                               "one of the two)");
      }
    }
    sim::PackedOptions options;
    options.packer = args.packer;
    options.sharder = args.sharder;
    options.iterations = args.pack_iterations;
    SP_ASSIGN_OR_RETURN(options.packing, packer_.Parse());
    SP_ASSIGN_OR_RETURN(std::vector<int64_t> lengths, balance::ReadLengths(args.lengths));
    SP_ASSIGN_OR_RETURN(sim::PackedComparison c, sim::SimulatePacked(built, lengths, options));
    if (args.json) return report::JsonText(report::PackedEventJson(c));
    return report::PackedEventText(c);
  }

  Result<std::string> Step(const SimulateArgs& args, const sim::Engine& engine,
                           const plan::Plan& built) const {
    // Every refusal before the step runs and its trace is written.
    {
      SP_ASSIGN_OR_RETURN(goodput::GoodputOptions goodput, goodput_.Parse());
      SP_RETURN_IF_ERROR(goodput::CheckSectionGiven(
          goodput, [this](const std::string& key) { return goodput_.Given(key); },
          [this](const std::string& key) { return goodput_.Flag(key); }));
    }
    SP_RETURN_IF_ERROR(SideFile(args.trace, "--trace"));
    SP_RETURN_IF_ERROR(SideFile(args.html, "--html"));
    SP_RETURN_IF_ERROR(DistinctOutputs({args.output, args.trace, args.html}));
    for (const std::string& key : PackerKeys()) {
      if (packer_.Given(key)) {
        return Status::Invalid(packer_.Flag(key) + " applies to packed batches (allowed: with " +
                               "--packer NAME --lengths FILE)");
      }
    }
    for (const char* key : {"sharder", "pack_iterations"}) {
      if (options_.Given(key)) {
        return Status::Invalid(options_.Flag(key) + " applies to packed batches (allowed: with " +
                               "--packer NAME --lengths FILE)");
      }
    }
    sim::EventOptions options;
    // The page's timeline is the trace of replica 0.
    options.trace = !args.trace.empty() || (!args.html.empty() && engine.RunsPasses());
    SP_ASSIGN_OR_RETURN(options.straggler_speed, sim::ParseStragglers(args.stragglers));
    if (!args.microbatch_lengths.empty()) {
      SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(args.microbatch_lengths));
      SP_ASSIGN_OR_RETURN(options.microbatch_documents,
                          sim::ParseMicrobatchLengths(text, args.microbatch_lengths));
    }
    schedule::PipelineSchedule custom;
    if (!args.schedule_file.empty()) {
      SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(args.schedule_file));
      SP_ASSIGN_OR_RETURN(
          custom,
          schedule::ParseSchedule(text, args.schedule_file, built.pp, built.vp, built.microbatches,
                                  schedule::Info(built.spec().schedule).v_shape));
      options.schedule = &custom;
    }
    SP_ASSIGN_OR_RETURN(sim::EventResult run, engine.Run(built, options));
    const bool trace_file = !args.trace.empty();
    if (trace_file) {
      SP_RETURN_IF_ERROR(WriteOutput(args.trace, sim::ChromeTraceJson(built, run)));
    }
    plan::MemoryReport memory = plan::ComputeMemory(built);
    SP_ASSIGN_OR_RETURN(goodput::GoodputOptions goodput, goodput_.Parse());
    goodput.trials = 0;
    goodput.sweep_gpus.clear();
    std::optional<goodput::GoodputStudy> study;
    if (goodput.failures != "none") {
      SP_ASSIGN_OR_RETURN(study, goodput::RunGoodput(built, run.step, goodput));
    }
    nlohmann::json json = report::StepJson(built, memory, run);
    if (study) json["goodput"] = report::GoodputSectionJson(*study);
    // The passes ran from the file, not the plan's schedule (which the plan line still names).
    if (!args.schedule_file.empty()) json["schedule_file"] = args.schedule_file;
    json.update(report::EventInputsJson(args.microbatch_lengths, options));
    if (!args.html.empty()) {
      SP_RETURN_IF_ERROR(report::JsonText(json).status());
      // An engine that does not run passes has no timeline: the event engine draws it.
      const sim::EventResult* timeline = options.trace ? &run : nullptr;
      std::optional<sim::EventResult> traced;
      std::string note;
      if (timeline == nullptr) {
        Result<sim::EventResult> r = sim::TracedRun(built);
        if (r.ok()) {
          timeline = &traced.emplace(*std::move(r));
        } else {
          note =
              "No timeline: the event engine cannot run this plan (" + r.status().message() + ").";
        }
      }
      std::string page = report::StepHtml(json, timeline, note);
      SP_RETURN_IF_ERROR(report::CheckFiniteText(page));
      SP_RETURN_IF_ERROR(WriteOutput(args.html, page));
    }
    if (args.json) return report::JsonText(json);
    std::string text = report::StepText(built, memory, run);
    if (study) text += report::GoodputSectionText(*study);
    if (!args.schedule_file.empty()) text += report::ScheduleFileText(built, args.schedule_file);
    text += report::EventInputsText(built, args.microbatch_lengths, options);
    if (trace_file) text += "  trace written to " + args.trace + " (open in ui.perfetto.dev)\n";
    return text;
  }

  JobFlags job_;
  Options<SimulateArgs> options_{SimulateArgsSchema()};
  Options<balance::PackerOptions> packer_{balance::PackerSchema()};
  Options<goodput::GoodputOptions> goodput_{goodput::GoodputOptionsSchema()};
};

}  // namespace

std::unique_ptr<Command> SimulateCommand() { return std::make_unique<SimulateCmd>(); }

}  // namespace scaleplan::cli
