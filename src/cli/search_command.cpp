// scaleplan search: the fastest plans that fit (search/search.h); plan flags pin or restrict the
// dimensions (search::ApplyPins).
#include <fmt/format.h>

#include <unistd.h>

#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "core/text.h"
#include "plan/plan.h"
#include "predict/engine.h"
#include "report/html_report.h"
#include "report/launch.h"
#include "report/output.h"
#include "report/search_report.h"
#include "report/spec_reference.h"
#include "search/search.h"

namespace scaleplan::cli {

namespace {

struct SearchArgs {
  bool json = false;
  std::string output;  // empty: standard output
  std::string emit;
  std::string predictor;
  std::string html;
};

const spec::Schema<SearchArgs>& SearchArgsSchema() {
  static const spec::Schema<SearchArgs> schema = [] {
    std::vector<std::string> formats;
    for (const report::LaunchFormat& f : report::LaunchFormats()) formats.push_back(f.name);
    spec::Schema<SearchArgs> s("search");
    s.OneOf("emit", &SearchArgs::emit, formats, "print the best plan's launch configuration",
            /*allow_empty=*/true);
    s.Text("predictor", &SearchArgs::predictor,
           "rank by a predictor from `scaleplan fit --out` (the learned engine) instead of the "
           "analytical engine");
    AddReportOptions(s);
    AddHtmlOption(s);
    return s;
  }();
  return schema;
}

class SearchCmd final : public Command {
 public:
  std::string_view name() const override { return "search"; }
  std::string_view summary() const override {
    return "Find the fastest plans that fit: pin a dimension with --tp 8, restrict it with --pp "
           "8,16";
  }
  void Register(CLI::App* app) override {
    job_.Register(app);
    search_.Register(app);
    options_.Register(app);
  }
  bool splits() const override { return true; }
  int Run(Io io) override {
    Result<SearchArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<const report::LaunchFormat*> format =
        report::FindLaunchFormatIfAny(args->emit, "--emit");
    if (!format.ok()) return Fail(io.err, format.status());
    const report::LaunchFormat* launch = *format;
    if (Status html = CheckHtmlPath(args->html, {args->output}); !html.ok()) {
      return Fail(io.err, html);
    }
    Result<search::PinnedSearch> pinned = job_.ResolveSearch();
    if (!pinned.ok()) return Fail(io.err, pinned.status());

    Result<search::SearchOptions> parsed = search_.Parse();
    if (!parsed.ok()) return Fail(io.err, parsed.status());
    search::SearchOptions options = *parsed;
    if (Status given = search::CheckOptionsGiven(
            options, [this](const std::string& key) { return search_.Given(key); },
            [this](const std::string& key) { return search_.Flag(key); });
        !given.ok()) {
      return Fail(io.err, given);
    }
    std::optional<predict::LearnedEngine> learned;
    if (!args->predictor.empty()) {
      Result<predict::Predictor> predictor = predict::LoadPredictor(args->predictor);
      if (!predictor.ok()) return Fail(io.err, predictor.status());
      options.engine = &learned.emplace(std::move(predictor).value());
    }
    options.processes = io.processes;
    const bool tty = Reports(io) && !args->json && args->output.empty() && ::isatty(2);
    if (tty) {
      options.progress = [&io](double fraction) {
        int filled = static_cast<int>(fraction * 30);
        io.err << "\rsearching [" << std::string(static_cast<size_t>(filled), '#')
               << std::string(static_cast<size_t>(30 - filled), '.') << "] "
               << static_cast<int>(fraction * 100) << "%" << std::flush;
      };
    }
    Result<search::SearchResult> result = search::Search(pinned->job, pinned->space, options);
    if (tty) io.err << "\r" << std::string(48, ' ') << "\r" << std::flush;
    if (!result.ok()) return Fail(io.err, result.status());
    if (Status valid = search::CheckSomePlanValid(*result, &*pinned); !valid.ok()) {
      return Fail(io.err, valid);
    }
    std::optional<search::StartingPoint> start =
        search::EvaluateStart(pinned->start, options.engine);

    if (launch != nullptr && result->top.empty()) {
      // A script that asked for a launch configuration must not get success and nothing.
      return Fail(io.err, Status::Invalid(fmt::format(
                              "--emit {}: no plan fits, so there is no launch configuration "
                              "(allowed: --emit with a search that finds a plan; the search "
                              "without --emit says what pruned every plan)",
                              launch->name)));
    }
    const report::LaunchText best = report::BestPlanLaunch(pinned->job, *result, launch);
    const nlohmann::json json = report::SearchJson(pinned->job, *result, start, best);
    if (int page = EmitHtml(io, args->html, json, report::SearchHtml); page != kExitOk) return page;
    return Emit(io, args->output,
                args->json
                    ? report::JsonText(json)
                    : Result<std::string>(report::SearchText(pinned->job, *result, start, best)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(search::SearchOptionsSchema()),
                                    report::OptionsMarkdown(SearchArgsSchema())},
                                   "Takes the job flags; a plan flag pins (one value) or restricts "
                                   "(a list) a search dimension.");
  }

 private:
  JobFlags job_;
  Options<search::SearchOptions> search_{search::SearchOptionsSchema()};
  Options<SearchArgs> options_{SearchArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> SearchCommand() { return std::make_unique<SearchCmd>(); }

}  // namespace scaleplan::cli
