// scaleplan rec-suggest: the next ranking-model jobs to run, learned from a log of finished ones
// (predict/rec_suggest.h).
#include "cli/command.h"
#include "cli/options.h"
#include "cli/rec_job_args.h"
#include "predict/rec_suggest.h"
#include "report/cubic_report.h"
#include "report/output.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct RecSuggestArgs {
  bool json = false;
  std::string output;
};

const spec::Schema<RecSuggestArgs>& RecSuggestArgsSchema() {
  static const spec::Schema<RecSuggestArgs> schema = [] {
    spec::Schema<RecSuggestArgs> s("rec_suggest");
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

class RecSuggestCmd final : public Command {
 public:
  std::string_view name() const override { return "rec-suggest"; }
  std::string_view summary() const override {
    return "Propose the next ranking-model jobs to run from the ones measured so far (CubicML on "
           "the planner, dtype and pipelining knobs)";
  }
  void Register(CLI::App* app) override {
    app->add_option("--log", logs_,
                    "job logs of finished ranking jobs (JSON Lines; src/predict/rec_suggest.h); "
                    "repeat for several");
    args_.Register(app);
    job_.Register(app);
    suggest_.Register(app);
  }
  int Run(Io io) override {
    Result<RecSuggestArgs> args = args_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    if (logs_.empty()) {
      return Fail(io.err, Status::Invalid("rec-suggest: --log is missing (allowed: one or more "
                                          "job logs, e.g. examples/rec-job-log.jsonl)"));
    }
    Result<predict::RecSuggestOptions> options = suggest_.Parse();
    if (!options.ok()) return Fail(io.err, options.status());
    Result<std::vector<predict::RecLoggedJob>> jobs = predict::ReadRecJobLogs(logs_);
    if (!jobs.ok()) return Fail(io.err, jobs.status());
    Result<RecSpaceJobArgs> job_args = job_.Parse();
    if (!job_args.ok()) return Fail(io.err, job_args.status());
    Result<spec::RecJobSpec> base = LoadRecSpaceJob(*job_args);
    if (!base.ok()) return Fail(io.err, base.status());
    Result<predict::RecSuggestion> s = predict::RecSuggest(*base, *jobs, *options);
    if (!s.ok()) return Fail(io.err, s.status());
    return Emit(io, args->output,
                args->json ? report::JsonText(report::RecSuggestJson(*s, *options))
                           : Result<std::string>(report::RecSuggestText(*s, *options)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(RecSuggestArgsSchema()),
                                    report::OptionsMarkdown(RecSpaceJobArgsSchema()),
                                    report::OptionsMarkdown(predict::RecSuggestOptionsSchema())},
                                   "Takes --log files (repeat for several). The log format and "
                                   "the step are in src/predict/rec_suggest.h and docs/REC.md.");
  }

 private:
  std::vector<std::string> logs_;
  Options<RecSuggestArgs> args_{RecSuggestArgsSchema()};
  Options<RecSpaceJobArgs> job_{RecSpaceJobArgsSchema()};
  Options<predict::RecSuggestOptions> suggest_{predict::RecSuggestOptionsSchema()};
};

}  // namespace

std::unique_ptr<Command> RecSuggestCommand() { return std::make_unique<RecSuggestCmd>(); }

}  // namespace scaleplan::cli
