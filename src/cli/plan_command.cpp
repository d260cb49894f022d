// scaleplan plan: the job's plan described (parameters, FLOPs per token, placement, memory).
#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "report/output.h"
#include "report/plan_report.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct PlanArgs {
  bool json = false;
  std::string output;  // empty: standard output
  bool ops = false;
};

const spec::Schema<PlanArgs>& PlanArgsSchema() {
  static const spec::Schema<PlanArgs> schema = [] {
    spec::Schema<PlanArgs> s("plan");
    s.Boolean("ops", &PlanArgs::ops, "add the per-op table (FLOPs, bytes, saved activations)");
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

class PlanCmd final : public Command {
 public:
  std::string_view name() const override { return "plan"; }
  std::string_view summary() const override {
    return "Describe a plan: parameters, FLOPs per token, placement, memory per GPU, verdict";
  }
  void Register(CLI::App* app) override {
    job_.Register(app);
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<PlanArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<spec::JobSpec> job = job_.Resolve();
    if (!job.ok()) return Fail(io.err, job.status());
    Result<plan::Plan> built = plan::BuildPlan(*job);
    if (!built.ok()) return Fail(io.err, job_.Explain(built.status()));
    plan::MemoryReport memory = plan::ComputeMemory(*built);
    report::PlanReportOptions shown;
    shown.include_ops = args->ops;
    return Emit(io, args->output,
                args->json ? report::JsonText(report::PlanJson(*built, memory, shown))
                           : Result<std::string>(report::PlanText(*built, memory, shown)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(), {report::OptionsMarkdown(PlanArgsSchema())},
                                   "Takes the job flags.");
  }

 private:
  JobFlags job_;
  Options<PlanArgs> options_{PlanArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> PlanCommand() { return std::make_unique<PlanCmd>(); }

}  // namespace scaleplan::cli
