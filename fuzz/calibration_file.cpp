// Calibration files (validate/calibrate.h: what `scaleplan calibrate --out` writes and
// --calibration reads). An accepted file is applied to a torchtitan job on H100 when its scope
// matches, and the step is evaluated: every value the reader lets through must give a finite,
// positive step.
#include "fuzz/fuzz_check.h"
#include "plan/plan.h"
#include "report/calibrate_report.h"
#include "sim/analytical.h"
#include "spec/readers.h"
#include "validate/calibrate.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<validate::Calibration> cal =
      validate::ParseCalibration(fuzz::AsText(data, size), "cal.yaml");
  fuzz::CheckError(cal);
  if (!cal.ok()) return 0;
  // What the writer makes of an accepted calibration reads back to the same factors.
  Result<validate::Calibration> again =
      validate::ParseCalibration(report::CalibrationYaml(*cal), "again.yaml");
  if (!again.ok()) fuzz::Fail("written calibration does not read back", again.status().message());
  if (again->factors.size() != cal->factors.size() || again->gpu != cal->gpu ||
      again->framework != cal->framework) {
    fuzz::Fail("written calibration reads back different", cal->gpu);
  }
  static const Result<spec::JobSpec> base = spec::ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\ngpus: 8\nframework: torchtitan\n"
      "plan: {tp: 1, pp: 1, micro_batch: 1}\nworkload: {seq_len: 2048, global_batch: 16}\n",
      "job.yaml");
  if (!base.ok()) fuzz::Fail("base job", base.status().message());
  spec::JobSpec job = *base;
  Status applied = validate::ApplyCalibrations({*cal}, job);
  fuzz::CheckError(applied);
  if (!applied.ok()) return 0;
  Result<plan::Plan> built = plan::BuildPlan(job);
  if (!built.ok()) fuzz::Fail("calibrated job", built.status().message());
  Result<sim::StepResult> step = sim::Evaluate(*built);
  fuzz::CheckError(step);
  if (step.ok()) fuzz::CheckPositive(step->step_time_s, "step_time_s");
  return 0;
}
