// One ranking model trained and scored on one data set: what `scaleplan rec-train` runs.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "rec/arch.h"
#include "rec/baselines.h"
#include "rec/source.h"
#include "rec/train.h"

namespace scaleplan::rec {

struct TrainRun {
  std::string data_name;
  blas::BlasState blas;  // the trainer's matrix kernels
  int64_t train_examples = 0, valid_examples = 0, test_examples = 0;
  int64_t skipped_lines = 0;
  std::optional<Metrics> bayes_valid, bayes_test;
  Arch arch;
  ArchInfo info;
  TrainResult result;
};

// The data read, the architecture resolved and checked, the labels checked (CheckLabels, its
// errors naming options as `name` gives them), then Train.
Result<TrainRun> RunTrain(const std::string& arch_ref, const DataOptions& data,
                          const TrainOptions& options, const OptionName& name = nullptr);

}  // namespace scaleplan::rec
