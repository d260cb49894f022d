// scaleplan calibrate: fits the named factors on measured runs (validate/calibrate.h) and writes
// the calibration file that --calibration applies.
#include "cli/command.h"
#include "cli/options.h"
#include "core/text.h"
#include "report/calibrate_report.h"
#include "report/output.h"
#include "report/spec_reference.h"
#include "validate/calibrate.h"

namespace scaleplan::cli {

namespace {

struct CalibrateArgs {
  std::string out;
  std::string factors;
  std::string gpu_filter;
  std::string precision_filter;
  std::string match;
  int64_t min_gpus = 0;
  int64_t max_gpus = 0;
  std::string hold_out = "configuration";
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
    s.Text("factors", &CalibrateArgs::factors,
           "comma-separated factors to fit (default: every factor the runs determine; `scaleplan "
           "spec` lists them under calibrate)");
    s.Text("gpu_filter", &CalibrateArgs::gpu_filter,
           "keep rows whose GPU type contains TEXT (e.g. H100)", "gpu-type");
    s.Text("precision_filter", &CalibrateArgs::precision_filter,
           "keep rows whose precision contains TEXT (e.g. BF16)", "precision");
    s.Text("match", &CalibrateArgs::match,
           "keep rows whose source, title or model contains TEXT");
    s.Integer("min_gpus", &CalibrateArgs::min_gpus, 0, spec::kMaxRanks, "",
              "keep rows on at least N GPUs (0: no bound)");
    s.Integer("max_gpus", &CalibrateArgs::max_gpus, 0, spec::kMaxRanks, "",
              "keep rows on at most N GPUs (0: no bound)");
    s.OneOf("hold_out", &CalibrateArgs::hold_out, {"configuration", "model", "file"},
            "what cross-validation holds out together: one configuration (leave-one-out, 10-fold "
            "past 40), one model's runs, or one file's");
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
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<CalibrateArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    validate::CalibrateOptions options;
    options.filters.gpu_filter = args->gpu_filter;
    options.filters.precision_filter = args->precision_filter;
    options.filters.match = args->match;
    options.filters.min_gpus = args->min_gpus;
    options.filters.max_gpus = args->max_gpus;
    options.hold_out = args->hold_out == "model"  ? validate::HoldOut::kModel
                       : args->hold_out == "file" ? validate::HoldOut::kFile
                                                  : validate::HoldOut::kConfiguration;
    if (!args->factors.empty()) options.factors = SplitAndTrim(args->factors, ',');
    Result<validate::CalibrationReport> fitted = validate::Calibrate(files_, options);
    if (!fitted.ok()) return Fail(io.err, fitted.status());
    if (!args->out.empty()) {
      if (Status side = SideFile(args->out, "--out"); !side.ok()) return Fail(io.err, side);
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
                                   {report::OptionsMarkdown(CalibrateArgsSchema())},
                                   "Takes one or more files. " + factors + ".");
  }

 private:
  std::vector<std::string> files_;
  Options<CalibrateArgs> options_{CalibrateArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> CalibrateCommand() { return std::make_unique<CalibrateCmd>(); }

}  // namespace scaleplan::cli
