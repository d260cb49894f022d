// MLPerf DLRM-DCNv2 runs (recsys/validate.h: `scaleplan rec-validate --runs FILE`, and
// `scaleplan validate` of a file in that schema). An accepted row is a run with positive counts
// and a rate within the measured bounds, and maps to a job (its GPU type has a preset).
#include "fuzz/fuzz_check.h"
#include "recsys/validate.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<std::vector<recsys::MlperfRun>> runs =
      recsys::ReadMlperfRuns(fuzz::AsText(data, size), "runs.csv");
  fuzz::CheckError(runs);
  if (!runs.ok()) return 0;
  for (const recsys::MlperfRun& run : *runs) {
    if (run.gpus < 1 || run.gpus_per_node < 1 || run.global_batch < 1) {
      fuzz::Fail("a count below 1", run.label);
    }
    fuzz::CheckPositive(run.samples_per_s, "samples_per_s");
    Result<spec::RecJobSpec> job = recsys::MlperfJob(run);
    if (!job.ok()) fuzz::Fail("an accepted run maps to no job", job.status().message());
  }
  return 0;
}
