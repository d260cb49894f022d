#include "rec/run.h"

#include <fmt/format.h>

#include <utility>

#include "rec/baselines.h"

namespace scaleplan::rec {

Result<TrainRun> RunTrain(const std::string& arch_ref, const DataOptions& data,
                          const TrainOptions& options, const OptionName& name) {
  if (arch_ref == "-" && data.data.ends_with(":-")) {
    return Status::Invalid(fmt::format(
        "--arch - and --data {} both read standard input (allowed: one of them)", data.data));
  }
  SP_ASSIGN_OR_RETURN(LoadedData loaded, LoadData(data));
  TrainRun run;
  const InputShape input = InputOf(loaded.data);
  SP_ASSIGN_OR_RETURN(run.arch, ResolveArch(arch_ref, input));
  // The analysis names the architecture by its own name: the file it came from goes first.
  Result<ArchInfo> info = Analyze(run.arch, input);
  if (!info.ok()) return info.status().WithContext(arch_ref);
  run.info = std::move(info).value();
  // The labels, named as `name` gives the options (Train checks them too, by their keys, once
  // its trainer has loaded).
  SP_RETURN_IF_ERROR(CheckLabels(loaded.data, options, name));
  SP_ASSIGN_OR_RETURN(run.result, Train(run.arch, loaded.data, options));
  SP_ASSIGN_OR_RETURN(run.blas, TrainerBlas());
  run.data_name = loaded.data.name;
  run.train_examples = loaded.data.train.n;
  run.valid_examples = loaded.data.valid.n;
  run.test_examples = loaded.data.test.n;
  run.skipped_lines = loaded.data.skipped_lines;
  if (loaded.spec) {  // on the examples the model is scored on
    run.bayes_valid = BayesMetrics(loaded.data.valid, options.max_eval_examples);
    run.bayes_test = BayesMetrics(loaded.data.test, options.max_eval_examples);
  }
  return run;
}

}  // namespace scaleplan::rec
