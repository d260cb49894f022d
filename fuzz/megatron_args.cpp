// Megatron-LM arguments (report/launch.h) applied to the default job, then planned and evaluated.
#include "fuzz/fuzz_check.h"
#include "plan/plan.h"
#include "report/launch.h"
#include "sim/analytical.h"
#include "spec/readers.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const spec::JobSpec base = *spec::LoadJob("llama3-405b-16k");
  spec::JobSpec job = base;
  Result<report::LaunchParse> parsed =
      report::ApplyMegatronArgs(std::string(fuzz::AsText(data, size)), job);
  fuzz::CheckError(parsed);
  if (!parsed.ok()) return 0;
  Result<plan::Plan> built = plan::BuildPlan(job);
  fuzz::CheckError(built);
  if (!built.ok()) return 0;
  Result<sim::StepResult> step = sim::Evaluate(*built);
  fuzz::CheckError(step);
  if (step.ok()) fuzz::CheckPositive(step->step_time_s, "step_time_s");
  return 0;
}
