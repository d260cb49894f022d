// scaleplan testbed: the CubicML loop and other methods against a truth (predict/testbed.h);
// plan flags pin or restrict the space as in search.
#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "predict/testbed.h"
#include "report/cubic_report.h"
#include "report/html_report.h"
#include "report/output.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct TestbedArgs {
  std::string truth;
  bool json = false;
  std::string output;
  std::string html;
};

const spec::Schema<TestbedArgs>& TestbedArgsSchema() {
  static const spec::Schema<TestbedArgs> schema = [] {
    spec::Schema<TestbedArgs> s("testbed");
    s.Text("truth", &TestbedArgs::truth,
           "the truth file (YAML: seed, noise_pct, effects; see examples/truth-*.yaml)");
    AddReportOptions(s);
    AddHtmlOption(s);
    return s;
  }();
  return schema;
}

class TestbedCmd final : public Command {
 public:
  std::string_view name() const override { return "testbed"; }
  std::string_view summary() const override {
    return "Judge the CubicML loop against physics, random and evolution on a simulated cluster "
           "with effects the predictor cannot see";
  }
  void Register(CLI::App* app) override {
    job_.Register(app);
    testbed_.Register(app);
    options_.Register(app);
  }
  bool splits() const override { return true; }
  int Run(Io io) override {
    Result<TestbedArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    if (args->truth.empty()) {
      return Fail(io.err, Status::Invalid("testbed: --truth is missing (allowed: a truth file, "
                                          "e.g. examples/truth-405b.yaml)"));
    }
    if (Status html = CheckHtmlPath(args->html, {args->output}); !html.ok()) {
      return Fail(io.err, html);
    }
    Result<predict::TestbedOptions> options = testbed_.Parse();
    if (!options.ok()) return Fail(io.err, options.status());
    Result<predict::Truth> truth = predict::LoadTruth(args->truth);
    if (!truth.ok()) return Fail(io.err, truth.status());
    Result<search::PinnedSearch> pinned = job_.ResolveSearch();
    if (!pinned.ok()) return Fail(io.err, pinned.status());
    options->processes = io.processes;
    Result<predict::TestbedReport> report =
        predict::RunTestbed(pinned->job, pinned->space, *truth, *options);
    if (!report.ok()) return Fail(io.err, report.status());
    const nlohmann::json json = report::TestbedJson(pinned->job, *report);
    if (int page = EmitHtml(io, args->html, json, report::TestbedHtml); page != kExitOk) {
      return page;
    }
    return Emit(io, args->output,
                args->json ? report::JsonText(json)
                           : Result<std::string>(report::TestbedText(pinned->job, *report)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(
        name(), summary(),
        {report::OptionsMarkdown(predict::TestbedOptionsSchema()),
         report::OptionsMarkdown(TestbedArgsSchema())},
        "Takes --truth and the job flags; a plan flag pins or restricts a dimension of the space, "
        "as in search. The truth file's kinds are in docs/PREDICT.md.");
  }

 private:
  JobFlags job_;
  Options<predict::TestbedOptions> testbed_{predict::TestbedOptionsSchema()};
  Options<TestbedArgs> options_{TestbedArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> TestbedCommand() { return std::make_unique<TestbedCmd>(); }

}  // namespace scaleplan::cli
