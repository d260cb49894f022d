// scaleplan validate: predictions against measured runs (validate/validate.h).
#include <optional>

#include "cli/command.h"
#include "cli/options.h"
#include "predict/engine.h"
#include "recsys/validate.h"
#include "report/output.h"
#include "report/rec_report.h"
#include "report/spec_reference.h"
#include "report/validation_report.h"
#include "validate/calibrate.h"
#include "validate/validate.h"

namespace scaleplan::cli {

namespace {

struct ValidateArgs {
  std::string predictor;
  bool json = false;
  bool verbose = false;
};

const spec::Schema<ValidateArgs>& ValidateArgsSchema() {
  static const spec::Schema<ValidateArgs> schema = [] {
    spec::Schema<ValidateArgs> s("validate");
    s.Text("predictor", &ValidateArgs::predictor,
           "score a predictor from `scaleplan fit --out` (the learned engine) instead of --engine");
    s.Boolean("json", &ValidateArgs::json, "print the machine-readable report");
    s.Boolean("verbose", &ValidateArgs::verbose, "list skipped rows and every row's assumptions");
    return s;
  }();
  return schema;
}

class ValidateCmd final : public Command {
 public:
  std::string_view name() const override { return "validate"; }
  std::string_view summary() const override {
    return "Compare predictions with measured runs (training CSV files, nccl-tests outputs, XLA's "
           "collective table, measured kernel tables, MLPerf DLRM tables)";
  }
  void Register(CLI::App* app) override {
    app->add_option("files", files_,
                    "CSV files in a calibration schema, nccl-tests outputs, XLA's measured "
                    "collective table (data/calibration/xla-collectives.csv's columns), measured "
                    "kernel tables (data/calibration/h200-kernels/'s columns), or one table of "
                    "MLPerf DLRM runs")
        ->required();
    app->add_option("--calibration", calibrations_,
                    "Calibration file from `scaleplan calibrate --out` (may be repeated): applied "
                    "to the rows on its GPU and framework");
    validate_.Register(app);
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<ValidateArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<validate::Options> options = validate_.Parse();
    if (!options.ok()) return Fail(io.err, options.status());
    // A table of measured ranking-model runs (MLPerf DLRM) goes to the ranking-model validation;
    // the training tables' options do not apply to it.
    std::vector<std::string> given;
    for (const std::string& key : validate::OptionsSchema().Keys()) {
      if (validate_.Given(key)) given.push_back(validate_.Flag(key));
    }
    if (!calibrations_.empty()) given.push_back("--calibration");
    if (!args->predictor.empty()) given.push_back("--predictor");
    if (args->verbose) given.push_back("--verbose");
    Result<std::optional<recsys::RecValidation>> mlperf = recsys::ValidateIfMlperf(files_, given);
    if (!mlperf.ok()) return Fail(io.err, mlperf.status());
    if (mlperf->has_value()) {
      return Emit(io, "",
                  args->json ? report::JsonText(report::RecValidationJson(**mlperf))
                             : Result<std::string>(report::RecValidationText(**mlperf)));
    }
    Result<std::vector<validate::Calibration>> calibrations =
        validate::LoadCalibrations(calibrations_);
    if (!calibrations.ok()) return Fail(io.err, calibrations.status());
    options->calibrations = std::move(calibrations).value();
    std::optional<predict::LearnedEngine> learned;
    if (!args->predictor.empty()) {
      Result<predict::Predictor> predictor = predict::LoadPredictor(args->predictor);
      if (!predictor.ok()) return Fail(io.err, predictor.status());
      options->engine_override = &learned.emplace(std::move(predictor).value());
    }
    Result<std::vector<validate::FileReport>> reports = validate::ValidateFiles(files_, *options);
    if (!reports.ok()) return Fail(io.err, reports.status());
    return Emit(io, "",
                args->json ? report::JsonText(report::ValidationJson(*reports))
                           : Result<std::string>(report::ValidationText(*reports, args->verbose)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(validate::OptionsSchema()),
                                    report::OptionsMarkdown(ValidateArgsSchema())},
                                   "Takes one or more files. A table in the MLPerf DLRM schema "
                                   "(data/validation/mlperf-dlrm.csv) is validated alone, by the "
                                   "ranking-model step model, as `scaleplan rec-validate` does.");
  }

 private:
  std::vector<std::string> files_;
  std::vector<std::string> calibrations_;
  Options<validate::Options> validate_{validate::OptionsSchema()};
  Options<ValidateArgs> options_{ValidateArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> ValidateCommand() { return std::make_unique<ValidateCmd>(); }

}  // namespace scaleplan::cli
