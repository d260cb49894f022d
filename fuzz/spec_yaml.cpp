// Job, model and cluster YAML (spec/readers.h). The first byte picks the reader; an accepted job is
// planned and its step evaluated, so that sizes that pass the schema also pass the arithmetic.
#include "fuzz/fuzz_check.h"
#include "plan/plan.h"
#include "sim/analytical.h"
#include "spec/readers.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text = fuzz::AsText(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      fuzz::CheckError(spec::ParseModelYaml(text, "model.yaml"));
      break;
    case 1:
      fuzz::CheckError(spec::ParseClusterYaml(text, "cluster.yaml"));
      break;
    default: {
      Result<spec::JobSpec> job = spec::ParseJobYaml(text, "job.yaml");
      fuzz::CheckError(job);
      if (!job.ok()) break;
      Result<plan::Plan> built = plan::BuildPlan(*job);
      fuzz::CheckError(built);
      if (!built.ok()) break;
      Result<sim::StepResult> step = sim::Evaluate(*built);
      fuzz::CheckError(step);
      if (step.ok()) {
        fuzz::CheckPositive(step->step_time_s, "step_time_s");
        fuzz::CheckFinite(step->mfu, "mfu");
      }
    }
  }
  return 0;
}
