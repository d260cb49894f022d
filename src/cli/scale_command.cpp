// scaleplan scale: the job at several GPU counts, each with its fastest plan and that plan's
// goodput and time to train (explore/scale.h).
#include "cli/command.h"
#include "cli/job_flags.h"
#include "cli/options.h"
#include "explore/scale.h"
#include "goodput/goodput.h"
#include "report/output.h"
#include "report/scale_report.h"
#include "report/spec_reference.h"
#include "search/search.h"

namespace scaleplan::cli {

namespace {

struct ScaleArgs {
  bool json = false;
  std::string output;
  std::string counts;  // empty: explore::RunScale's default
  double deadline_s = 0;
};

const spec::Schema<ScaleArgs>& ScaleArgsSchema() {
  static const spec::Schema<ScaleArgs> schema = [] {
    spec::Schema<ScaleArgs> s("scale");
    s.Text("counts", &ScaleArgs::counts,
           "GPU counts to plan the job at, e.g. 2048,4096,8192 (default: 1,024 to 131,072 in "
           "doublings, those the cluster holds, and the whole cluster; under 1,024 GPUs, "
           "doublings of one node)");
    s.Number("deadline_s", &ScaleArgs::deadline_s, 0, explore::kMaxDeadlineS, "s",
             "with --train-tokens: name the count with the fewest GPU-hours among those that "
             "train them within this wall clock (failures included); 0 = none");
    AddReportOptions(s);
    return s;
  }();
  return schema;
}

// The search keys that matter for one best plan per count (top is 1).
const std::vector<std::string>& SearchKeys() {
  static const std::vector<std::string> keys = {"optimizer", "seed",    "max_evaluations",
                                                "max_seconds", "threads", "fit_recompute"};
  return keys;
}

class ScaleCmd final : public Command {
 public:
  std::string_view name() const override { return "scale"; }
  std::string_view summary() const override {
    return "How many GPUs: the fastest plan at each GPU count, its goodput, and the days and "
           "GPU-hours to train";
  }
  void Register(CLI::App* app) override {
    job_.Register(app);
    search_.Register(app, SearchKeys());
    goodput_.Register(app, goodput::SectionKeys());
    options_.Register(app);
  }
  int Run(Io io) override {
    Result<ScaleArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    Result<search::SearchOptions> search = search_.Parse();
    if (!search.ok()) return Fail(io.err, search.status());
    if (Status given = search::CheckOptionsGiven(
            *search, [this](const std::string& key) { return search_.Given(key); },
            [this](const std::string& key) { return search_.Flag(key); });
        !given.ok()) {
      return Fail(io.err, given);
    }
    Result<goodput::GoodputOptions> goodput = goodput_.Parse();
    if (!goodput.ok()) return Fail(io.err, goodput.status());
    if (Status given = goodput::CheckSectionGiven(
            *goodput, [this](const std::string& key) { return goodput_.Given(key); },
            [this](const std::string& key) { return goodput_.Flag(key); });
        !given.ok()) {
      return Fail(io.err, given);
    }
    if (job_.GpusGiven()) {
      return Fail(io.err, Status::Invalid("--gpus: scale plans the job at each of --counts "
                                          "instead (allowed: --counts N,M,...)"));
    }
    Result<spec::JobSpec> job = job_.Resolve(/*apply_plan_keys=*/false);
    if (!job.ok()) return Fail(io.err, job.status());
    std::vector<int64_t> counts;
    if (options_.Given("counts")) {
      Result<std::vector<int64_t>> parsed =
          explore::ParseCounts(spec::ScalarValue(args->counts, "--counts"));
      if (!parsed.ok()) return Fail(io.err, parsed.status());
      counts = *parsed;
    }
    Result<explore::ScaleStudy> study =
        explore::RunScale(*job, job_.Pins(), counts, *search, *goodput, args->deadline_s);
    if (!study.ok()) return Fail(io.err, study.status());
    return Emit(io, args->output,
                args->json ? report::JsonText(report::ScaleJson(*job, *study, *goodput))
                           : Result<std::string>(report::ScaleText(*job, *study, *goodput)));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(
        name(), summary(),
        {report::OptionsMarkdown(ScaleArgsSchema()),
         report::OptionsMarkdown(search::SearchOptionsSchema(), SearchKeys()),
         report::OptionsMarkdown(goodput::GoodputOptionsSchema(), goodput::SectionKeys())},
        "Takes the job flags (its gpus are replaced by each count); a plan flag pins or "
        "restricts a search dimension at every count, as in `scaleplan search`. The global "
        "batch is the job's at every count (strong scaling). --failures none leaves goodput "
        "out.");
  }

 private:
  JobFlags job_;
  Options<search::SearchOptions> search_{search::SearchOptionsSchema()};
  Options<goodput::GoodputOptions> goodput_{goodput::GoodputOptionsSchema()};
  Options<ScaleArgs> options_{ScaleArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> ScaleCommand() { return std::make_unique<ScaleCmd>(); }

}  // namespace scaleplan::cli
