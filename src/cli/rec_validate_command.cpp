// scaleplan rec-validate: the ranking-model step model against measured MLPerf DLRM-DCNv2 runs,
// with its two factors fitted and cross-validated (recsys/validate.h).
#include "cli/command.h"
#include "cli/options.h"
#include "core/file.h"
#include "recsys/validate.h"
#include "report/output.h"
#include "report/rec_report.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct RecValidateArgs {
  std::string runs;  // empty: the compiled-in table
  bool json = false;
  std::string output;
};

const spec::Schema<RecValidateArgs>& RecValidateArgsSchema() {
  static const spec::Schema<RecValidateArgs> schema = [] {
    spec::Schema<RecValidateArgs> s("rec_validate");
    s.Text("runs", &RecValidateArgs::runs,
           "measured runs in the MLPerf DLRM schema (default: the four single-node runs of "
           "data/validation/mlperf-dlrm.csv, compiled in)");
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

class RecValidateCmd final : public Command {
 public:
  std::string_view name() const override { return "rec-validate"; }
  std::string_view summary() const override {
    return "Score the ranking-model step model on measured MLPerf DLRM-DCNv2 runs; fit its two "
           "factors with leave-one-out";
  }
  void Register(CLI::App* app) override { options_.Register(app); }
  int Run(Io io) override {
    Result<RecValidateArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    std::string origin(recsys::kMlperfRunsPath);
    Result<std::string> text = std::string(recsys::EmbeddedMlperfRuns().front().text);
    if (!args->runs.empty()) {
      origin = args->runs;
      text = ReadInputFile(args->runs, kMaxSpecFileBytes);
    }
    if (!text.ok()) return Fail(io.err, text.status());
    Result<std::vector<recsys::MlperfRun>> runs = recsys::ReadMlperfRuns(*text, origin);
    if (!runs.ok()) return Fail(io.err, runs.status());
    Result<recsys::RecValidation> v = recsys::ValidateMlperf(*runs);
    if (!v.ok()) return Fail(io.err, v.status());
    return Emit(io, args->output,
                args->json ? report::JsonText(report::RecValidationJson(*v))
                           : Result<std::string>(report::RecValidationText(*v)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(RecValidateArgsSchema())},
                                   "docs/REC.md shows the table this prints.");
  }

 private:
  Options<RecValidateArgs> options_{RecValidateArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> RecValidateCommand() { return std::make_unique<RecValidateCmd>(); }

}  // namespace scaleplan::cli
