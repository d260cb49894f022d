// Hugging Face config.json (spec/readers.h); an accepted model's parameter count must be finite.
#include "fuzz/fuzz_check.h"
#include "model/model.h"
#include "spec/readers.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<spec::ModelSpec> model = spec::ParseHfConfig(fuzz::AsText(data, size), "config.json");
  fuzz::CheckError(model);
  if (model.ok()) {
    model::ParamCounts counts = model::CountParams(*model);
    fuzz::CheckPositive(counts.total, "total parameters");
  }
  return 0;
}
