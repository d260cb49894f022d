// scaleplan rec: shard a ranking model's embedding tables over a cluster and predict the step
// (recsys/study.h); every planner's plan rated by every engine.
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/options.h"
#include "recsys/study.h"
#include "report/output.h"
#include "report/rec_report.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct RecArgs {
  bool json = false;
  std::string output;
  std::string emit_plan;
};

const spec::Schema<RecArgs>& RecArgsSchema() {
  static const spec::Schema<RecArgs> schema = [] {
    spec::Schema<RecArgs> s("rec");
    AddReportOptions(s);
    s.Text("emit_plan", &RecArgs::emit_plan,
           "write the answer's sharding plan (TorchRec-style JSON) and its per-rank stats to "
           "FILE");
    return s;
  }();
  return schema;
}

class RecCmd final : public Command {
 public:
  std::string_view name() const override { return "rec"; }
  std::string_view summary() const override {
    return "Shard a ranking model's embedding tables over GPUs and predict its step; compare "
           "with TorchRec's and HugeCTR's planners";
  }
  void Register(CLI::App* app) override {
    source_.Register(app);
    keys_.Register(app);
    planner_.Register(app);
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<RecArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<recsys::RecSource> source = source_.Parse();
    if (!source.ok()) return Fail(io.err, source.status());
    Result<spec::RecJobSpec> keys = keys_.Parse();
    if (!keys.ok()) return Fail(io.err, keys.status());
    Result<recsys::PlannerOptions> planner = planner_.Parse();
    if (!planner.ok()) return Fail(io.err, planner.status());
    if (Status apply = recsys::CheckGivenPlannerOptions(
            *planner, source->compare, source->sharding,
            [&](std::string_view key) { return planner_.Given(key); });
        !apply.ok()) {
      return Fail(io.err, apply);
    }
    if (!args->emit_plan.empty()) {
      Status side = SideFile(args->emit_plan, "--emit-plan");
      if (side.ok()) side = DistinctOutputs({args->output, args->emit_plan});
      if (!side.ok()) return Fail(io.err, side);
    }
    Result<spec::RecJobSpec> job = recsys::LoadRecJob(*source, *keys);
    if (!job.ok()) return Fail(io.err, job.status());
    Result<recsys::RecStudy> study = recsys::RunRecStudy(*job, *planner, *source);
    if (!study.ok()) return Fail(io.err, study.status());
    if (!args->emit_plan.empty()) {
      Result<std::string> plan = report::JsonText(report::RecPlanFile(*study));
      int status = Emit(io, args->emit_plan, plan);
      if (status != kExitOk) return status;
    }
    return Emit(io, args->output,
                args->json ? report::JsonText(report::RecJson(*study))
                           : Result<std::string>(report::RecText(*study)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(
        name(), summary(),
        {report::OptionsMarkdown(recsys::RecSourceSchema()),
         report::OptionsMarkdown(spec::RecJobSchema()),
         report::OptionsMarkdown(recsys::PlannerOptionsSchema()),
         report::OptionsMarkdown(RecArgsSchema())},
        "Without options: MLPerf DLRM-DCNv2 on one 8-GPU DGX H100 node at global batch 55296. "
        "The ranking-model keys are in this reference's ranking_model and table sections; the "
        "model, the planners and the engines are in docs/REC.md.");
  }

 private:
  Options<recsys::RecSource> source_{recsys::RecSourceSchema()};
  Options<spec::RecJobSpec> keys_{spec::RecJobSchema()};
  Options<recsys::PlannerOptions> planner_{recsys::PlannerOptionsSchema()};
  Options<RecArgs> options_{RecArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> RecCommand() { return std::make_unique<RecCmd>(); }

}  // namespace scaleplan::cli
