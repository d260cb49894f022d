// Validation CSV files (validate/validate.h): each row is parsed, planned and evaluated; inputs of
// odd length are also summarized by their `model` column (validate.group_by), which any schema
// may lack.
#include "fuzz/fuzz_check.h"
#include "validate/validate.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  validate::Options options;
  if (size % 2 == 1) options.group_by = "model";
  Result<validate::FileReport> report =
      validate::ValidateText(std::string(fuzz::AsText(data, size)), "runs.csv", options);
  fuzz::CheckError(report);
  return 0;
}
