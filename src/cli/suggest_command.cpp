// scaleplan suggest: the next jobs to run, from the jobs measured so far (predict/suggest.h);
// plan flags pin or restrict the searched dimensions as in search.
#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "predict/suggest.h"
#include "report/cubic_report.h"
#include "report/output.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct SuggestArgs {
  std::string emit;
  bool json = false;
  std::string output;
};

const spec::Schema<SuggestArgs>& SuggestArgsSchema() {
  static const spec::Schema<SuggestArgs> schema = [] {
    std::vector<std::string> formats;
    for (const report::LaunchFormat& f : report::LaunchFormats()) formats.push_back(f.name);
    spec::Schema<SuggestArgs> s("suggest");
    s.OneOf("emit", &SuggestArgs::emit, formats, "print each proposal's launch configuration",
            /*allow_empty=*/true);
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

class SuggestCmd final : public Command {
 public:
  std::string_view name() const override { return "suggest"; }
  std::string_view summary() const override {
    return "Propose the next jobs to run from the jobs measured so far (CubicML: fit, search, "
           "trade estimate against uncertainty)";
  }
  void Register(CLI::App* app) override {
    app->add_option("--log", logs_,
                    "job logs (JSON Lines) or CSV files of finished jobs; repeat for several "
                    "(none: the physics alone proposes)");
    job_.Register(app);
    suggest_.Register(app);
    options_.Register(app);
  }
  bool splits() const override { return true; }
  int Run(Io io) override {
    Result<SuggestArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<const report::LaunchFormat*> format =
        report::FindLaunchFormatIfAny(args->emit, "--emit");
    if (!format.ok()) return Fail(io.err, format.status());
    const report::LaunchFormat* launch = *format;
    Result<predict::SuggestOptions> options = suggest_.Parse();
    if (!options.ok()) return Fail(io.err, options.status());
    Result<search::PinnedSearch> pinned = job_.ResolveSearch();
    if (!pinned.ok()) return Fail(io.err, pinned.status());
    Result<std::vector<validate::TrainingCase>> jobs = predict::ReadJobs(logs_);
    if (!jobs.ok()) return Fail(io.err, jobs.status());
    options->processes = io.processes;
    options->pinned = &*pinned;
    Result<predict::Suggestion> s =
        predict::Suggest(pinned->job, pinned->space, std::move(jobs).value(), *options);
    if (!s.ok()) return Fail(io.err, s.status());
    return Emit(io, args->output,
                args->json
                    ? report::JsonText(report::SuggestJson(pinned->job, *s, *options, launch))
                    : Result<std::string>(report::SuggestText(pinned->job, *s, *options, launch)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(
        name(), summary(),
        {report::OptionsMarkdown(predict::SuggestOptionsSchema()),
         report::OptionsMarkdown(SuggestArgsSchema())},
        "Takes --log files and the job flags; a plan flag pins (one value) or restricts (a list) "
        "a search dimension, as in search. See docs/PREDICT.md.");
  }

 private:
  std::vector<std::string> logs_;
  JobFlags job_;
  Options<predict::SuggestOptions> suggest_{predict::SuggestOptionsSchema()};
  Options<SuggestArgs> options_{SuggestArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> SuggestCommand() { return std::make_unique<SuggestCmd>(); }

}  // namespace scaleplan::cli
