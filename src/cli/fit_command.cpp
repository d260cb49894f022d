// scaleplan fit: a learned predictor fitted on measured jobs (predict/fit.h), scored against the
// physics, and the predictor file that `validate --predictor` reads.
#include "cli/command.h"
#include "cli/options.h"
#include "predict/fit.h"
#include "report/fit_report.h"
#include "report/html_report.h"
#include "report/output.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct FitArgs {
  std::string out;
  bool verbose = false;
  bool json = false;
  std::string output;
  std::string html;
};

const spec::Schema<FitArgs>& FitArgsSchema() {
  static const spec::Schema<FitArgs> schema = [] {
    spec::Schema<FitArgs> s("fit");
    s.Text("out", &FitArgs::out, "write the predictor (JSON) to FILE, for validate --predictor");
    s.Boolean("verbose", &FitArgs::verbose,
              "list every job's error: physics, in-sample and k-fold; and the skipped jobs");
    AddReportOptions(s);
    AddHtmlOption(s);
    return s;
  }();
  return schema;
}

class FitCmd final : public Command {
 public:
  std::string_view name() const override { return "fit"; }
  std::string_view summary() const override {
    return "Fit a learned correction of the physics on measured jobs (CubicML), with "
           "cross-validated scores";
  }
  void Register(CLI::App* app) override {
    app->add_option("files", files_,
                    "job logs (JSON Lines) or CSV files of measured runs (as validate reads)")
        ->required();
    fit_.Register(app);
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<FitArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<predict::FitOptions> options = fit_.Parse();
    if (!options.ok()) return Fail(io.err, options.status());
    if (!args->out.empty()) {
      if (Status side = SideFile(args->out, "--out"); !side.ok()) return Fail(io.err, side);
    }
    if (Status html = CheckHtmlPath(args->html, {args->output, args->out}); !html.ok()) {
      return Fail(io.err, html);
    }
    Result<predict::FitReport> fitted = predict::Fit(files_, *options);
    if (!fitted.ok()) return Fail(io.err, fitted.status());
    if (!args->out.empty()) {
      int written = Emit(io, args->out, report::PredictorFile(fitted->predictor));
      if (written != kExitOk) return written;
    }
    const nlohmann::json json = report::FitJson(*fitted);
    if (int page = EmitHtml(io, args->html, json, report::FitHtml); page != kExitOk) return page;
    return Emit(io, args->output,
                args->json ? report::JsonText(json)
                           : Result<std::string>(report::FitText(*fitted, args->verbose)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(
        name(), summary(),
        {report::OptionsMarkdown(predict::FitOptionsSchema()),
         report::OptionsMarkdown(FitArgsSchema())},
        "Takes one or more files: job logs (one JSON job a line, validate/job_log.h) or CSV "
        "tables of runs. The target is ln(measured / physics throughput); see docs/PREDICT.md.");
  }

 private:
  std::vector<std::string> files_;
  Options<predict::FitOptions> fit_{predict::FitOptionsSchema()};
  Options<FitArgs> options_{FitArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> FitCommand() { return std::make_unique<FitCmd>(); }

}  // namespace scaleplan::cli
