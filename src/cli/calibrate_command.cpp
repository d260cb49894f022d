// scaleplan calibrate: fits the named factors on measured runs (validate/calibrate.h) and writes
// the calibration file that --calibration applies.
#include "cli/command.h"
#include "cli/options.h"
#include "report/calibrate_report.h"
#include "report/output.h"
#include "report/spec_reference.h"
#include "validate/calibrate.h"

namespace scaleplan::cli {

namespace {

struct CalibrateArgs {
  std::string out;
  bool verbose = false;
  bool json = false;
  std::string output;
};

const spec::Schema<CalibrateArgs>& CalibrateArgsSchema() {
  static const spec::Schema<CalibrateArgs> schema = [] {
    spec::Schema<CalibrateArgs> s("calibrate");
    s.Text("out", &CalibrateArgs::out,
           "write the calibration (YAML) to FILE, for --calibration on simulate, search, explore "
           "and validate");
    s.Boolean("verbose", &CalibrateArgs::verbose,
              "list every row before, after and cross-validated, and the skipped rows");
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

class CalibrateCmd final : public Command {
 public:
  std::string_view name() const override { return "calibrate"; }
  std::string_view summary() const override {
    return "Fit the model's named factors on measured runs, with cross-validated error";
  }
  void Register(CLI::App* app) override {
    app->add_option("files", files_, "CSV files of measured runs (common training schema)")
        ->required();
    keys_.Register(app);
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<CalibrateArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<validate::CalibrateKeys> keys = keys_.Parse();
    if (!keys.ok()) return Fail(io.err, keys.status());
    if (!args->out.empty()) {
      Status side = SideFile(args->out, "--out");
      if (side.ok()) side = DistinctOutputs({args->output, args->out});
      if (!side.ok()) return Fail(io.err, side);
    }
    Result<validate::CalibrationReport> fitted =
        validate::Calibrate(files_, validate::ToOptions(*keys));
    if (!fitted.ok()) return Fail(io.err, fitted.status());
    if (!args->out.empty()) {
      int written = Emit(io, args->out, report::CalibrationYaml(fitted->calibration));
      if (written != kExitOk) return written;
    }
    return Emit(io, args->output,
                args->json ? report::JsonText(report::CalibrationJson(*fitted))
                           : Result<std::string>(report::CalibrationText(*fitted, args->verbose)));
  }
  std::string Reference() const override {
    std::string factors = "Factors it fits: ";
    for (const validate::FactorDef& f : validate::Factors()) {
      factors += fmt::format("`{}` ({}; searched from {:g} to {:g}), ", f.key, f.what, f.lo, f.hi);
    }
    factors.resize(factors.size() - 2);
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(validate::CalibrateKeysSchema()),
                                    report::OptionsMarkdown(CalibrateArgsSchema())},
                                   "Takes one or more files. " + factors + ".");
  }

 private:
  std::vector<std::string> files_;
  Options<validate::CalibrateKeys> keys_{validate::CalibrateKeysSchema()};
  Options<CalibrateArgs> options_{CalibrateArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> CalibrateCommand() { return std::make_unique<CalibrateCmd>(); }

}  // namespace scaleplan::cli
