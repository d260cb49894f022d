// scaleplan pack: documents packed into micro-batches and sharded over context-parallel ranks,
// with the balance measured (balance/study.h); --tune sweeps the wlb packer's thresholds.
#include <fmt/format.h>

#include <optional>

#include "balance/study.h"
#include "cli/command.h"
#include "cli/options.h"
#include "cli/packer_keys.h"
#include "core/file.h"
#include "core/text.h"
#include "report/html_report.h"
#include "report/output.h"
#include "report/pack_report.h"
#include "report/spec_reference.h"
#include "spec/readers.h"
#include "spec/specs.h"

namespace scaleplan::cli {

namespace {

struct PackArgs {
  bool json = false;
  std::string output;  // empty: standard output
  std::string lengths;
  std::string synthetic;
  int64_t count = balance::LengthSource{}.count;
  uint64_t seed = balance::LengthSource{}.seed;
  std::string packer = balance::PackStudyOptions{}.packer;
  int64_t iterations = balance::PackStudyOptions{}.iterations;
  std::string model = "llama3-8b";
  std::string emit;
  int64_t cp = balance::PackStudyOptions{}.cp;
  std::string sharder = balance::PackStudyOptions{}.sharder;
  std::string tune;
  std::string html;
};

const spec::Schema<PackArgs>& PackArgsSchema() {
  static const spec::Schema<PackArgs> schema = [] {
    std::vector<std::string> packers, corpora;
    for (const balance::PackerInfo& p : balance::Packers()) packers.push_back(p.name);
    for (const balance::SyntheticCorpus& c : balance::SyntheticCorpora()) corpora.push_back(c.name);
    spec::Schema<PackArgs> s("pack");
    s.Text("lengths", &PackArgs::lengths,
           "document lengths: a JSON list, one length per line, or a Megatron .idx file");
    s.Text("synthetic", &PackArgs::synthetic,
           "generate the lengths instead: " + Join(corpora, ", ") +
               ", with optional shape keys (e.g. pareto:alpha=1.0,min=512)");
    s.Integer("count", &PackArgs::count, 1, balance::kMaxDocuments, "",
              "documents to generate with --synthetic");
    s.Unsigned("seed", &PackArgs::seed, "seed for --synthetic");
    s.OneOf("packer", &PackArgs::packer, packers, "the packer");
    s.Integer("iterations", &PackArgs::iterations, 1, balance::kMaxPackIterations, "",
              "iterations to pack");
    s.Text("model", &PackArgs::model,
           "model whose FLOPs weigh tokens and attention pairs (a preset or a file)");
    s.Text("emit", &PackArgs::emit,
           "write the packed micro-batches to FILE (JSON lines, one per iteration)");
    s.Integer("cp", &PackArgs::cp, 1, balance::kMaxShardRanks, "",
              "context-parallel ranks to shard each micro-batch over");
    s.OneOf("sharder", &PackArgs::sharder, balance::Sharders(),
            "how each micro-batch is sharded over the CP ranks");
    s.Text("tune", &PackArgs::tune,
           "wlb: sweep outlier thresholds from these lengths (e.g. 16384,32768,65536): "
           "imbalance against delay");
    AddReportOptions(s);
    AddHtmlOption(s);
    return s;
  }();
  return schema;
}

class PackCmd final : public Command {
 public:
  std::string_view name() const override { return "pack"; }
  std::string_view summary() const override {
    return "Pack variable-length documents into micro-batches and measure the balance (WLB-LLM)";
  }
  void Register(CLI::App* app) override {
    options_.Register(app);
    packer_.Register(app);
  }
  int Run(Io io) override { return Emit(io, output_, Report()); }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(PackArgsSchema()),
                                    report::OptionsMarkdown(balance::PackerSchema())},
                                   "The packer's keys are the second table.");
  }

 private:
  Result<std::string> Report() {
    SP_ASSIGN_OR_RETURN(PackArgs args, options_.Parse());
    output_ = args.output;
    balance::PackStudyOptions study;
    SP_ASSIGN_OR_RETURN(study.packing, packer_.Parse());
    SP_RETURN_IF_ERROR(PackerKeysApply(packer_, args.packer));
    SP_RETURN_IF_ERROR(SideFile(args.emit, "--emit"));
    SP_RETURN_IF_ERROR(SideFile(args.html, "--html"));
    SP_RETURN_IF_ERROR(DistinctOutputs({args.output, args.emit, args.html}));
    study.packer = args.packer;
    study.iterations = args.iterations;
    study.cp = args.cp;
    study.sharder = args.sharder;
    study.keep_shards = !args.emit.empty();
    study.compare_original = !args.html.empty();  // the page draws the original packing too
    for (const char* key : {"count", "seed"}) {
      if (!args.lengths.empty() && options_.Given(key)) {
        return Status::Invalid(fmt::format(
            "--{} applies to synthetic lengths; --lengths gives them (allowed: one of the two)",
            key));
      }
    }
    balance::LengthSource source{args.lengths, args.synthetic, args.count, args.seed};
    SP_ASSIGN_OR_RETURN(spec::ModelSpec model, spec::LoadModel(args.model));
    balance::WorkloadModel workload = balance::FlopWorkload(model);
    if (!args.tune.empty()) {
      if (!args.html.empty()) {
        return Status::Invalid(
            "--html draws a packing run and does not apply to --tune (allowed: one of the two)");
      }
      if (options_.Given("packer") && args.packer != "wlb") {
        return Status::Invalid(fmt::format(
            "--tune sweeps the wlb packer's thresholds; --packer = {} (allowed: wlb, or not given)",
            args.packer));
      }
      if (packer_.Given("thresholds")) {
        return Status::Invalid(
            "--thresholds fixes the bands --tune sweeps (allowed: one of the two)");
      }
      study.packer = "wlb";
      SP_RETURN_IF_ERROR(balance::CheckStudy(study));
      SP_ASSIGN_OR_RETURN(std::vector<int64_t> candidates,
                          balance::ParseLengthList(args.tune, "--tune"));
      SP_ASSIGN_OR_RETURN(std::vector<int64_t> lengths,
                          balance::LoadLengths(source, study.packing.context));
      std::vector<balance::TuningPoint> points =
          balance::TuneThresholds(lengths, study.packing, workload, candidates, study.iterations);
      if (args.json) return report::JsonText(report::TuningJson(points));
      return report::TuningText(points, lengths.size(), study.packing);
    }
    SP_RETURN_IF_ERROR(balance::CheckStudy(study));
    SP_ASSIGN_OR_RETURN(std::vector<int64_t> lengths,
                        balance::LoadLengths(source, study.packing.context));
    SP_ASSIGN_OR_RETURN(balance::PackStudy result, balance::StudyPacking(lengths, study, workload));
    if (!args.emit.empty()) {
      SP_RETURN_IF_ERROR(WriteOutput(args.emit, report::PackedBatchesJsonLines(result)));
    }
    report::PackSetup setup{study.packer, study.packing, study.cp, study.sharder,
                            result.cp_imbalance};
    if (!args.html.empty()) {
      SP_RETURN_IF_ERROR(report::JsonText(report::PackJson(result.run, setup)).status());
      std::optional<nlohmann::json> original;
      if (result.original) {
        const balance::PackStudy& base = *result.original;
        original = report::PackJson(base.run, {"original", study.packing, study.cp, study.sharder,
                                               base.cp_imbalance});
      }
      std::string page =
          report::PackHtml(report::PackJson(result.run, setup), original ? &*original : nullptr);
      SP_RETURN_IF_ERROR(report::CheckFiniteText(page));
      SP_RETURN_IF_ERROR(WriteOutput(args.html, page));
    }
    if (args.json) return report::JsonText(report::PackJson(result.run, setup));
    return report::PackText(result.run, setup);
  }

  Options<PackArgs> options_{PackArgsSchema()};
  Options<balance::PackerOptions> packer_{balance::PackerSchema()};
  std::string output_;
};

}  // namespace

Status PackerKeysApply(const Options<balance::PackerOptions>& given, const std::string& packer) {
  return balance::CheckGivenPackerKeys(
      packer, [&given](std::string_view key) { return given.Given(key); },
      [&given](std::string_view key) { return given.Flag(key); });
}

std::unique_ptr<Command> PackCommand() { return std::make_unique<PackCmd>(); }

}  // namespace scaleplan::cli
