// scaleplan rec-testbed: the CubicML loop and other methods against a truth on the ranking-model
// co-design space (predict/rec_testbed.h).
#include "cli/command.h"
#include "cli/options.h"
#include "predict/rec_testbed.h"
#include "recsys/study.h"
#include "report/cubic_report.h"
#include "report/output.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct RecTestbedArgs {
  std::string truth;
  std::string model = "mlperf-dlrm-dcnv2";
  std::string cluster = "dgx-h100-ib";
  int64_t gpus = 64;
  int64_t global_batch = 55296;
  bool json = false;
  std::string output;
};

const spec::Schema<RecTestbedArgs>& RecTestbedArgsSchema() {
  static const spec::Schema<RecTestbedArgs> schema = [] {
    using A = RecTestbedArgs;
    spec::Schema<A> s("rec_testbed_job");
    s.Text("truth", &A::truth,
           "the truth file (YAML: seed, noise_pct, effects; `when` takes the space's dimensions; "
           "see examples/truth-rec.yaml)");
    s.Text("model", &A::model, "a ranking-model preset or YAML file");
    s.Text("cluster", &A::cluster, "a cluster preset or YAML file");
    s.Integer("gpus", &A::gpus, 1, int64_t{1} << 20, "", "GPUs the model trains on");
    s.Integer("global_batch", &A::global_batch, 1, int64_t{1} << 40, "",
              "samples per step over all GPUs (fixed: it sets the model's quality)");
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
    recsys::RecSource source;
    source.model = args->model;
    source.cluster = args->cluster;
    source.gpus = args->gpus;
    spec::RecJobSpec keys;
    keys.global_batch = args->global_batch;
    Result<spec::RecJobSpec> job = recsys::LoadRecJob(source, keys);
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
                                    report::OptionsMarkdown(predict::RecTestbedOptionsSchema())},
                                   "The space, the truth's effect kinds and the methods are in "
                                   "src/predict/rec_testbed.h and docs/REC.md.");
  }

 private:
  Options<RecTestbedArgs> args_{RecTestbedArgsSchema()};
  Options<predict::RecTestbedOptions> testbed_{predict::RecTestbedOptionsSchema()};
};

}  // namespace

std::unique_ptr<Command> RecTestbedCommand() { return std::make_unique<RecTestbedCmd>(); }

}  // namespace scaleplan::cli
