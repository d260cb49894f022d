#include "cli/commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cli/job_flags.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "report/output.h"
#include "report/plan_report.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitWriteFailed = 1;
constexpr int kExitBadInput = 2;

int Fail(std::ostream& err, const Status& status) {
  err << "scaleplan: error: " << status.message() << "\n";
  return status.code() == StatusCode::kIoError ? kExitWriteFailed : kExitBadInput;
}

// Prints `text` or writes it to `path` atomically.
int Emit(std::ostream& out, std::ostream& err, const std::string& path, const std::string& text) {
  if (path.empty()) {
    out << text;
    return kExitOk;
  }
  Status written = report::WriteFileAtomically(path, text);
  if (!written.ok()) return Fail(err, written);
  return kExitOk;
}

}  // namespace

int Run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "scaleplan: plan 4D-parallel training of large models (parameters, FLOPs, memory per GPU).\n"
      "With no command, runs `scaleplan plan` on the default job (Llama 3 405B on 16,384 H100s)."};
  app.set_version_flag("--version", "scaleplan 0.1.0");
  app.require_subcommand(0, 1);

  CLI::App* plan_cmd = app.add_subcommand(
      "plan", "Describe a plan: parameters, FLOPs per token, placement, memory per GPU, verdict");
  JobFlags flags;
  flags.Register(plan_cmd);
  bool json = false;
  bool ops = false;
  std::string output;
  plan_cmd->add_flag("--json", json, "Print the machine-readable report");
  plan_cmd->add_flag("--ops", ops, "Add the per-op table (FLOPs, bytes, saved activations)");
  plan_cmd->add_option("--output,-o", output,
                       "Write the report to FILE (atomically) instead of stdout");

  CLI::App* presets_cmd = app.add_subcommand("presets", "List the embedded presets, one line each");
  bool presets_json = false;
  presets_cmd->add_flag("--json", presets_json, "Print as JSON");

  CLI::App* spec_cmd =
      app.add_subcommand("spec", "Print the reference of every input key (Markdown)");

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
    err << "scaleplan: error: " << message << " (see scaleplan --help)\n";
    return kExitBadInput;
  }

  if (presets_cmd->parsed()) {
    return Emit(out, err, "",
                presets_json ? report::PresetsJson().dump(2) + "\n" : report::PresetsText());
  }
  if (spec_cmd->parsed()) return Emit(out, err, "", report::SpecReferenceMarkdown());

  // `scaleplan plan`, or no command at all.
  Result<spec::JobSpec> job = flags.Resolve();
  if (!job.ok()) return Fail(err, job.status());
  Result<plan::Plan> built = plan::BuildPlan(*job);
  if (!built.ok()) return Fail(err, built.status());
  plan::MemoryReport memory = plan::ComputeMemory(*built);
  report::PlanReportOptions options;
  options.include_ops = ops;
  std::string text = json ? report::PlanJson(*built, memory, options).dump(2) + "\n"
                          : report::PlanText(*built, memory, options);
  return Emit(out, err, output, text);
}

}  // namespace scaleplan::cli
