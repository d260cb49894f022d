// scaleplan rec-testbed: the CubicML loop and other methods against a truth on the ranking-model
// co-design space (predict/rec_testbed.h).
#include "cli/command.h"
#include "cli/options.h"
#include "cli/rec_job_args.h"
#include "predict/rec_testbed.h"
#include "report/cubic_report.h"
#include "report/output.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct RecTestbedArgs {
  std::string truth;
  bool json = false;
  std::string output;
};

const spec::Schema<RecTestbedArgs>& RecTestbedArgsSchema() {
  static const spec::Schema<RecTestbedArgs> schema = [] {
    using A = RecTestbedArgs;
    spec::Schema<A> s("rec_testbed");
    s.Text("truth", &A::truth,
           "the truth file (YAML: seed, noise_pct, effects; `when` takes the space's dimensions; "
           "see examples/truth-rec.yaml)");
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

class RecTestbedCmd final : public Command {
 public:
  std::string_view name() const override { return "rec-testbed"; }
  std::string_view summary() const override {
    return "Judge the CubicML loop against physics, random, evolution and REINFORCE on the "
           "ranking-model co-design space (planner, dtypes, pipelining) under a truth";
  }
  void Register(CLI::App* app) override {
    args_.Register(app);
    job_.Register(app);
    testbed_.Register(app);
  }
  int Run(Io io) override {
    Result<RecTestbedArgs> args = args_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    if (args->truth.empty()) {
      return Fail(io.err, Status::Invalid("rec-testbed: --truth is missing (allowed: a truth "
                                          "file, e.g. examples/truth-rec.yaml)"));
    }
    Result<predict::RecTestbedOptions> options = testbed_.Parse();
    if (!options.ok()) return Fail(io.err, options.status());
    Result<predict::Truth> truth = predict::LoadTruth(args->truth, &predict::RecTruthVocabulary());
    if (!truth.ok()) return Fail(io.err, truth.status());
    Result<RecSpaceJobArgs> job_args = job_.Parse();
    if (!job_args.ok()) return Fail(io.err, job_args.status());
    Result<spec::RecJobSpec> job = LoadRecSpaceJob(*job_args);
    if (!job.ok()) return Fail(io.err, job.status());
    Result<predict::RecTestbedReport> report = predict::RunRecTestbed(*job, *truth, *options);
    if (!report.ok()) return Fail(io.err, report.status());
    return Emit(io, args->output,
                args->json ? report::JsonText(report::RecTestbedJson(*report))
                           : Result<std::string>(report::RecTestbedText(*report)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(RecTestbedArgsSchema()),
                                    report::OptionsMarkdown(RecSpaceJobArgsSchema()),
                                    report::OptionsMarkdown(predict::RecTestbedOptionsSchema())},
                                   "The space, the truth's effect kinds and the methods are in "
                                   "src/predict/rec_testbed.h and docs/REC.md.");
  }

 private:
  Options<RecTestbedArgs> args_{RecTestbedArgsSchema()};
  Options<RecSpaceJobArgs> job_{RecSpaceJobArgsSchema()};
  Options<predict::RecTestbedOptions> testbed_{predict::RecTestbedOptionsSchema()};
};

}  // namespace

std::unique_ptr<Command> RecTestbedCommand() { return std::make_unique<RecTestbedCmd>(); }

}  // namespace scaleplan::cli
