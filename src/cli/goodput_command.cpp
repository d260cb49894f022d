// scaleplan goodput: how much of the wall clock the job trains under failures, the checkpoint
// interval that maximises it, the Monte Carlo spread and a sweep over scale (goodput/goodput.h).
#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "goodput/goodput.h"
#include "plan/plan.h"
#include "report/goodput_report.h"
#include "report/output.h"
#include "report/spec_reference.h"
#include "sim/engine.h"

namespace scaleplan::cli {

namespace {

struct GoodputArgs {
  bool json = false;
  std::string output;
  std::string engine = "analytical";
};

const spec::Schema<GoodputArgs>& GoodputArgsSchema() {
  static const spec::Schema<GoodputArgs> schema = [] {
    std::vector<std::string> names;
    for (const sim::Engine* e : sim::Engines()) names.emplace_back(e->name());
    spec::Schema<GoodputArgs> s("goodput_command");
    s.OneOf("engine", &GoodputArgs::engine, names, "the engine that predicts the step");
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

class GoodputCmd final : public Command {
 public:
  std::string_view name() const override { return "goodput"; }
  std::string_view summary() const override {
    return "Effective training time under failures: checkpoint interval, restarts, tokens a day, "
           "a sweep over scale";
  }
  void Register(CLI::App* app) override {
    job_.Register(app);
    goodput_.Register(app);
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<GoodputArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<goodput::GoodputOptions> goodput = goodput_.Parse();
    if (!goodput.ok()) return Fail(io.err, goodput.status());
    Result<spec::JobSpec> job = job_.Resolve();
    if (!job.ok()) return Fail(io.err, job.status());
    Result<const sim::Engine*> engine = sim::FindEngine(args->engine, "--engine");
    if (!engine.ok()) return Fail(io.err, engine.status());
    Result<plan::Plan> built = plan::BuildPlan(*job);
    if (!built.ok()) return Fail(io.err, built.status());
    Result<sim::StepResult> step = (*engine)->Step(*built);
    if (!step.ok()) return Fail(io.err, step.status());
    Result<goodput::GoodputStudy> study = goodput::RunGoodput(*built, *step, *goodput);
    if (!study.ok()) return Fail(io.err, study.status());
    return Emit(io, args->output,
                args->json ? report::JsonText(report::GoodputJson(*built, *study))
                           : Result<std::string>(report::GoodputText(*built, *study)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(
        name(), summary(),
        {report::OptionsMarkdown(goodput::GoodputOptionsSchema()),
         report::OptionsMarkdown(GoodputArgsSchema())},
        "Takes the job flags. Without options: Llama 3 405B on 16,384 H100s under the failures "
        "Llama 3 saw (presets/failures/llama3-405b); the model is in docs/GOODPUT.md.");
  }

 private:
  JobFlags job_;
  Options<goodput::GoodputOptions> goodput_{goodput::GoodputOptionsSchema()};
  Options<GoodputArgs> options_{GoodputArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> GoodputCommand() { return std::make_unique<GoodputCmd>(); }

}  // namespace scaleplan::cli
