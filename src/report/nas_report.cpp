#include "report/nas_report.h"

#include <fmt/format.h>

#include "core/text.h"

namespace scaleplan::report {

using nlohmann::json;

json MetricsJson(const rec::Metrics& m) {
  return {{"ne", m.ne},
          {"auc", m.auc},
          {"log_loss", m.log_loss},
          {"ctr", m.ctr},
          {"examples", m.examples}};
}

json ArchCostJson(const rec::ArchInfo& info) {
  json blocks = json::array();
  for (const rec::BlockCost& c : info.costs) {
    blocks.push_back({{"name", c.name},
                      {"kind", c.kind},
                      {"shape", rec::ShapeText(c.shape)},
                      {"flops", c.flops},
                      {"params", c.params},
                      {"formula", c.formula}});
  }
  return {{"flops", info.flops},
          {"params", info.params},
          {"embedding_params", info.embedding_params},
          {"blocks", blocks}};
}

json RecTrainJson(const rec::TrainRun& run) {
  json out = {
      {"data", run.data_name},
      {"examples",
       {{"train", run.train_examples}, {"valid", run.valid_examples}, {"test", run.test_examples}}},
      {"skipped_lines", run.skipped_lines},
      {"arch", rec::ArchToJson(run.arch)},
      {"cost", ArchCostJson(run.info)},
      {"valid", MetricsJson(run.result.valid)},
      {"test", MetricsJson(run.result.test)},
      {"curve_log_loss", run.result.curve},
      {"steps", run.result.steps},
      {"train_s", run.result.train_s},
      {"examples_per_s", run.result.examples_per_s}};
  if (run.bayes_test) {
    out["bayes_ne"] = run.bayes_test->ne;
    out["ne_gap_to_bayes"] = run.result.test.ne - run.bayes_test->ne;
  }
  return out;
}

std::string RecTrainText(const rec::TrainRun& run) {
  std::string out = fmt::format("Model    {} ({})\n", run.arch.name.empty() ? "-" : run.arch.name,
                                rec::DescribeArch(run.arch));
  out += fmt::format("Data     {}: {} train, {} valid, {} test examples", run.data_name,
                     run.train_examples, run.valid_examples, run.test_examples);
  if (run.skipped_lines > 0) out += fmt::format(" ({} bad lines skipped)", run.skipped_lines);
  out += "\n\n";
  out += fmt::format("{:<12} {:<10} {:>12} {:>14} {:>12}  {}\n", "block", "kind", "output", "flops",
                     "params", "FLOPs formula");
  for (const rec::BlockCost& c : run.info.costs) {
    out += fmt::format("{:<12} {:<10} {:>12} {:>14.0f} {:>12.0f}  {}\n", Printable(c.name, 12),
                       c.kind, rec::ShapeText(c.shape), c.flops, c.params, c.formula);
  }
  out += fmt::format("{:<12} {:<10} {:>12} {:>14.0f} {:>12.0f}  (dense params; embeddings {})\n\n",
                     "total", "", "", run.info.flops, run.info.params,
                     HumanCount(run.info.embedding_params));
  out += fmt::format("{:<8} {:>8} {:>8} {:>10}\n", "split", "NE", "AUC", "log loss");
  out += fmt::format("{:<8} {:>8.4f} {:>8.4f} {:>10.5f}\n", "valid", run.result.valid.ne,
                     run.result.valid.auc, run.result.valid.log_loss);
  out += fmt::format("{:<8} {:>8.4f} {:>8.4f} {:>10.5f}\n", "test", run.result.test.ne,
                     run.result.test.auc, run.result.test.log_loss);
  if (run.bayes_test) {
    out += fmt::format(
        "{:<8} {:>8.4f} {:>8.4f} {:>10.5f}   (the true probabilities: bayes NE; "
        "gap {:+.4f})\n",
        "bayes", run.bayes_test->ne, run.bayes_test->auc, run.bayes_test->log_loss,
        run.result.test.ne - run.bayes_test->ne);
  }
  out += fmt::format("\nTrained {} steps in {:.2f} s ({:.0f} examples/s)\n", run.result.steps,
                     run.result.train_s, run.result.examples_per_s);
  return out;
}

}  // namespace scaleplan::report
