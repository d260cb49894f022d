// Turning rows of the training calibration schemas into jobs (internal to validate).
#pragma once

#include <string>
#include <vector>

#include "core/csv.h"
#include "spec/specs.h"
#include "validate/validate.h"

namespace scaleplan::validate {

enum class FlopsFormula { kNone, kSc21, kMegatron };

struct TrainingCase {
  int line = 0;
  std::string label;
  spec::JobSpec job;
  std::string metric;  // "tokens_per_s_per_gpu" or "tflops_per_gpu"
  FlopsFormula formula = FlopsFormula::kNone;
  double measured = 0;
  std::vector<std::string> assumptions;
  std::string skipped;
  bool schedule_given = false;  // the row's schedule column named it
};

// megatron.csv / nemo.csv (the common training schema).
std::vector<TrainingCase> CommonSchemaCases(const CsvTable& table, const Options& options);
// dgxc.csv (NVIDIA DGX Cloud recipes: configuration in the title or a matched config row).
std::vector<TrainingCase> DgxcCases(const CsvTable& table, const Options& options);

}  // namespace scaleplan::validate
