// scaleplan nas: ranking-model architecture search (nas/nas.h) against the hand-designed
// baselines, on synthetic, Criteo or MovieLens data.
#include "cli/command.h"
#include "cli/options.h"
#include "nas/nas.h"
#include "report/html_report.h"
#include "report/nas_report.h"
#include "report/output.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct NasArgs {
  bool progress = false;
  bool json = false;
  std::string output;
  std::string html;
  std::string emit_arch;
};

const spec::Schema<NasArgs>& NasArgsSchema() {
  static const spec::Schema<NasArgs> schema = [] {
    spec::Schema<NasArgs> s("nas-output");
    s.Boolean("progress", &NasArgs::progress, "print each candidate on standard error");
    AddReportOptions(s);
    AddHtmlOption(s);
    s.Text("emit_arch", &NasArgs::emit_arch,
           "write the best architecture found (the front's lowest test NE) to FILE as JSON, for "
           "rec-train --arch and for rec --arch (its cost at scale)");
    return s;
  }();
  return schema;
}

class NasCmd final : public Command {
 public:
  std::string_view name() const override { return "nas"; }
  std::string_view summary() const override {
    return "Search ranking-model architectures (Rankitect) and compare them with DLRM, DCN-v2, "
           "DeepFM and AutoInt on NE against FLOPs";
  }
  void Register(CLI::App* app) override {
    data_.Register(app);
    train_.Register(app);
    nas_.Register(app);
    options_.Register(app);
  }
  bool splits() const override { return true; }
  int Run(Io io) override {
    Result<NasArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    if (Status html = CheckHtmlPath(args->html, {args->output, args->emit_arch}); !html.ok()) {
      return Fail(io.err, html);
    }
    if (!args->emit_arch.empty()) {
      Status side = SideFile(args->emit_arch, "--emit-arch");
      if (side.ok()) side = DistinctOutputs({args->output, args->emit_arch});
      if (!side.ok()) return Fail(io.err, side);
    }
    Result<rec::DataOptions> data = data_.Parse();
    if (!data.ok()) return Fail(io.err, data.status());
    Result<rec::TrainOptions> train = train_.Parse();
    if (!train.ok()) return Fail(io.err, train.status());
    Result<nas::NasOptions> options = nas_.Parse();
    if (!options.ok()) return Fail(io.err, options.status());
    if (Status apply = nas::CheckGivenOptionsApply(
            *options, [&](std::string_view key) { return nas_.Given(key); });
        !apply.ok()) {
      return Fail(io.err, apply);
    }
    nas::NasProgress progress;
    if (args->progress && Reports(io))
      progress = [&io](const std::string& line) { io.err << line << "\n"; };
    options->processes = io.processes;
    // Checked again once the data is read: an output that is also an input stops the run now,
    // not after the search.
    auto outputs_checked = [&] {
      return DistinctOutputs({args->output, args->emit_arch, args->html});
    };
    Result<nas::NasResult> result =
        nas::RunNas(*data, *train, *options, progress, outputs_checked, FlagsOf(train_, nas_));
    if (!result.ok()) return Fail(io.err, result.status());
    const nlohmann::json json = report::NasJson(*result);
    if (!args->emit_arch.empty()) {
      Result<nlohmann::json> best = report::NasBestArchFile(*result);
      Result<std::string> text =
          best.ok() ? report::JsonText(*best) : Result<std::string>(best.status());
      if (int status = Emit(io, args->emit_arch, text); status != kExitOk) return status;
    }
    if (int page = EmitHtml(io, args->html, json, report::NasHtml); page != kExitOk) return page;
    return Emit(
        io, args->output,
        args->json ? report::JsonText(json) : Result<std::string>(report::NasText(*result)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(
        name(), summary(),
        {report::OptionsMarkdown(rec::DataOptionsSchema()),
         report::OptionsMarkdown(rec::TrainOptionsSchema()),
         report::OptionsMarkdown(nas::NasOptionsSchema()),
         report::OptionsMarkdown(NasArgsSchema())},
        "The train options set the final retraining of the front and the baselines; candidates "
        "train one epoch on --proxy-examples. See docs/NAS.md.");
  }

 private:
  Options<rec::DataOptions> data_{rec::DataOptionsSchema()};
  Options<rec::TrainOptions> train_{rec::TrainOptionsSchema()};
  Options<nas::NasOptions> nas_{nas::NasOptionsSchema()};
  Options<NasArgs> options_{NasArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> NasCommand() { return std::make_unique<NasCmd>(); }

}  // namespace scaleplan::cli
