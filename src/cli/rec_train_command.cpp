// scaleplan rec-train: one ranking model (an architecture file or a baseline) trained on the CPU
// and scored on held-out data (rec/run.h).
#include <fmt/format.h>

#include <algorithm>

#include "cli/command.h"
#include "cli/options.h"
#include "core/text.h"
#include "rec/baselines.h"
#include "rec/run.h"
#include "report/nas_report.h"
#include "report/output.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct RecTrainArgs {
  std::string arch = "dlrm-m";
  bool progress = false;
  bool json = false;
  std::string output;
};

const spec::Schema<RecTrainArgs>& RecTrainArgsSchema() {
  static const spec::Schema<RecTrainArgs> schema = [] {
    spec::Schema<RecTrainArgs> s("rec-train");
    s.Text("arch", &RecTrainArgs::arch,
           "an architecture file (JSON, rec/arch.h) or a baseline: " +
               Join(rec::BaselineNames(), ", "));
    s.Boolean("progress", &RecTrainArgs::progress, "draw a progress bar on standard error");
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

// A progress bar on `err`: "[#####.....] 52%  loss 0.1534".
std::function<void(int64_t, int64_t, double)> ProgressBar(std::ostream& err) {
  return [&err](int64_t done, int64_t total, double loss) {
    const int filled = static_cast<int>(30 * done / std::max<int64_t>(total, 1));
    err << "\r[" << std::string(static_cast<size_t>(filled), '#')
        << std::string(static_cast<size_t>(30 - filled), '.') << "] "
        << fmt::format("{:3d}%  loss {:.4f}", static_cast<int>(100 * done / total), loss)
        << (done == total ? "\n" : "") << std::flush;
  };
}

class RecTrainCmd final : public Command {
 public:
  std::string_view name() const override { return "rec-train"; }
  std::string_view summary() const override {
    return "Train a ranking model (an architecture file or a baseline) on the CPU and score it: "
           "NE, AUC, FLOPs";
  }
  void Register(CLI::App* app) override {
    data_.Register(app);
    train_.Register(app);
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<RecTrainArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<rec::DataOptions> data = data_.Parse();
    if (!data.ok()) return Fail(io.err, data.status());
    Result<rec::TrainOptions> train = train_.Parse();
    if (!train.ok()) return Fail(io.err, train.status());
    if (args->progress) train->progress = ProgressBar(io.err);
    Result<rec::TrainRun> run = rec::RunTrain(args->arch, *data, *train, FlagsOf(train_));
    if (!run.ok()) return Fail(io.err, run.status());
    return Emit(io, args->output,
                args->json ? report::JsonText(report::RecTrainJson(*run))
                           : Result<std::string>(report::RecTrainText(*run)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(rec::DataOptionsSchema()),
                                    report::OptionsMarkdown(rec::TrainOptionsSchema()),
                                    report::OptionsMarkdown(RecTrainArgsSchema())},
                                   "Blocks, their FLOPs and the architecture JSON: docs/NAS.md.");
  }

 private:
  Options<rec::DataOptions> data_{rec::DataOptionsSchema()};
  Options<rec::TrainOptions> train_{rec::TrainOptionsSchema()};
  Options<RecTrainArgs> options_{RecTrainArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> RecTrainCommand() { return std::make_unique<RecTrainCmd>(); }

}  // namespace scaleplan::cli
