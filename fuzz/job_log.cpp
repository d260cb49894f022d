// Job logs (validate/job_log.h: JSON Lines of finished jobs, what validate, calibrate and fit
// read). Every accepted job whose plan builds is written back as a log line that reads again to the
// same job, and an accepted job with a measurement is modeled: its physics step, if any, is finite.
#include "validate/job_log.h"

#include "fuzz/fuzz_check.h"
#include "plan/plan.h"
#include "validate/training_rows.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<std::vector<validate::TrainingCase>> cases =
      validate::JobLogCases(fuzz::AsText(data, size), "jobs.jsonl", validate::Options{});
  fuzz::CheckError(cases);
  if (!cases.ok()) return 0;
  for (validate::TrainingCase c : *cases) {
    // What `jobs add` writes: jobs whose plan builds, measured at most at the GPU's peak (one
    // above it is refused there, and skipped with the same reason by validate).
    Result<plan::Plan> built = plan::BuildPlan(c.job);
    if (!built.ok()) continue;
    validate::FinishedJob finished;
    finished.status = c.status;
    if (c.metric == "tokens_per_s_per_gpu") finished.tokens_per_s_per_gpu = c.measured;
    if (c.metric == "step_time_s") finished.step_time_s = c.measured;
    Result<std::string> line = validate::JobLogLine(c.job, finished);
    if (!c.metric.empty() && !validate::AbovePeakReason(c, *built).empty()) {
      if (line.ok()) fuzz::Fail("a measurement above the peak is written", *line);
      continue;
    }
    if (!line.ok()) fuzz::Fail("an accepted job does not write", line.status().message());
    Result<std::vector<validate::TrainingCase>> again =
        validate::JobLogCases(*line, "again.jsonl", validate::Options{});
    if (!again.ok()) fuzz::Fail("a written job does not read back", again.status().message());
    if (again->size() != 1 || (*again)[0].job.plan != c.job.plan ||
        (*again)[0].job.gpus != c.job.gpus || (*again)[0].measured != c.measured) {
      fuzz::Fail("a written job reads back different", *line);
    }
    if (!c.skipped.empty()) continue;
    Result<validate::Modeled> modeled = validate::ModelCase(c);
    fuzz::CheckError(modeled);
    if (modeled.ok()) fuzz::CheckPositive(modeled->step.step_time_s, "step_time_s");
  }
  return 0;
}
