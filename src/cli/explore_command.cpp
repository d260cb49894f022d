// scaleplan explore: the scale-across ablation (explore/explore.h).
#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "core/text.h"
#include "explore/explore.h"
#include "report/explore_report.h"
#include "report/html_report.h"
#include "report/launch.h"
#include "report/output.h"
#include "report/spec_reference.h"
#include "spec/presets.h"

namespace scaleplan::cli {

namespace {

struct ExploreArgs {
  bool json = false;
  std::string output;  // empty: standard output
  std::string emit;
  std::string html;
};

const spec::Schema<ExploreArgs>& ExploreArgsSchema() {
  static const spec::Schema<ExploreArgs> schema = [] {
    std::vector<std::string> formats;
    for (const report::LaunchFormat& f : report::LaunchFormats()) formats.push_back(f.name);
    spec::Schema<ExploreArgs> s("explore");
    s.OneOf("emit", &ExploreArgs::emit, formats,
            "also print the joint optimum's launch configuration", /*allow_empty=*/true);
    AddReportOptions(s);
    AddHtmlOption(s);
    return s;
  }();
  return schema;
}

class ExploreCmd final : public Command {
 public:
  std::string_view name() const override { return "explore"; }
  std::string_view summary() const override {
    return "Scale-across ablation: placement, scheduling and network technology, alone and "
           "jointly";
  }
  void Register(CLI::App* app) override {
    job_.Register(app);
    explore_.Register(app);
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<ExploreArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    if (Status html = CheckHtmlPath(args->html, {args->output}); !html.ok()) {
      return Fail(io.err, html);
    }
    Result<explore::ExploreOptions> options = explore_.Parse();
    if (!options.ok()) return Fail(io.err, options.status());
    Result<spec::JobSpec> job = job_.Resolve();
    if (!job.ok()) return Fail(io.err, job.status());
    Result<explore::ExploreResult> result = explore::Explore(*job, *options);
    if (!result.ok()) return Fail(io.err, result.status());
    Result<report::LaunchText> launch = report::JointLaunch(*result, args->emit);
    if (!launch.ok()) return Fail(io.err, launch.status());
    const nlohmann::json json = report::ExploreJson(*result, *launch);
    if (int page = EmitHtml(io, args->html, json, report::ExploreHtml); page != kExitOk)
      return page;
    return Emit(io, args->output,
                args->json ? report::JsonText(json)
                           : Result<std::string>(report::ExploreText(*job, *result, *launch)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(explore::ExploreOptionsSchema()),
                                    report::OptionsMarkdown(ExploreArgsSchema())},
                                   "Takes the job flags; without --plan it starts from " +
                                       std::string(spec::kDefaultExploreJob) +
                                       " (Llama 3's job on two regions).");
  }

 private:
  JobFlags job_{std::string(spec::kDefaultExploreJob)};
  Options<explore::ExploreOptions> explore_{explore::ExploreOptionsSchema()};
  Options<ExploreArgs> options_{ExploreArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> ExploreCommand() { return std::make_unique<ExploreCmd>(); }

}  // namespace scaleplan::cli
