#include "rec/run.h"

#include "rec/baselines.h"

namespace scaleplan::rec {

Result<TrainRun> RunTrain(const std::string& arch_ref, const DataOptions& data,
                          const TrainOptions& options) {
  SP_ASSIGN_OR_RETURN(LoadedData loaded, LoadData(data));
  TrainRun run;
  const InputShape input = InputOf(loaded.data);
  SP_ASSIGN_OR_RETURN(run.arch, ResolveArch(arch_ref, input));
  SP_ASSIGN_OR_RETURN(run.info, Analyze(run.arch, input));
  SP_ASSIGN_OR_RETURN(run.result, Train(run.arch, loaded.data, options));
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
