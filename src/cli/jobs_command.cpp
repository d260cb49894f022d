// scaleplan jobs add: appends a finished job to a job log (validate/job_log.h), what fit learns
// from. The job comes from the job flags (or --megatron-args), what was measured from the flags
// of validate::FinishedJobSchema.
#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "report/launch.h"
#include "report/spec_reference.h"
#include "validate/job_log.h"

namespace scaleplan::cli {

namespace {

struct JobsArgs {
  std::string log;
  std::string megatron_args;
  std::string torchtitan_config;
};

const spec::Schema<JobsArgs>& JobsArgsSchema() {
  static const spec::Schema<JobsArgs> schema = [] {
    spec::Schema<JobsArgs> s("jobs");
    s.Text("log", &JobsArgs::log, "the job log (JSON Lines) to append to; created when missing");
    s.Text("megatron_args", &JobsArgs::megatron_args,
           "the job's plan as Megatron-LM arguments, applied over the job flags");
    s.Text("torchtitan_config", &JobsArgs::torchtitan_config,
           "the job's plan as a torchtitan job TOML file, applied over the job flags");
    return s;
  }();
  return schema;
}

class JobsCmd final : public Command {
 public:
  std::string_view name() const override { return "jobs"; }
  std::string_view summary() const override {
    return "Keep a job log: `jobs add` appends a finished job and what it measured";
  }
  void Register(CLI::App* app) override {
    app->require_subcommand(1);
    CLI::App* add = app->add_subcommand("add", "append a finished job to --log");
    job_.Register(add);
    finished_.Register(add);
    options_.Register(add);
  }
  int Run(Io io) override {
    Result<JobsArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    if (args->log.empty()) {
      return Fail(io.err, Status::Invalid("jobs add: --log is missing (allowed: a file path)"));
    }
    if (Status side = SideFile(args->log, "--log"); !side.ok()) return Fail(io.err, side);
    Result<validate::FinishedJob> finished = finished_.Parse();
    if (!finished.ok()) return Fail(io.err, finished.status());
    Result<spec::JobSpec> job = job_.Resolve();
    if (!job.ok()) return Fail(io.err, job.status());
    Status launch = ApplyLaunchInputs(args->megatron_args, args->torchtitan_config,
                                      job_.GpusGiven(), *job, io.err);
    if (!launch.ok()) return Fail(io.err, launch);
    if (Status s = validate::AppendToJobLog(args->log, *job, *finished); !s.ok()) {
      return Fail(io.err, s);
    }
    io.out << "appended the job (status " << finished->status << ") to " << args->log << "\n";
    return kExitOk;
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(validate::FinishedJobSchema()),
                                    report::OptionsMarkdown(JobsArgsSchema())},
                                   "Subcommand `add`; takes the job flags.");
  }

 private:
  JobFlags job_;
  Options<validate::FinishedJob> finished_{validate::FinishedJobSchema()};
  Options<JobsArgs> options_{JobsArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> JobsCommand() { return std::make_unique<JobsCmd>(); }

}  // namespace scaleplan::cli
