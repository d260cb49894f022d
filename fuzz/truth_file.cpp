// Testbed truth files (predict/testbed.h: `scaleplan testbed --truth`). An accepted truth is
// checked against a cluster, and a fixed plan is stepped and measured on it: the step, when the
// truth lets the plan run, is finite and positive, and so is the measurement of a job that ran.
// The same bytes are also read in the ranking-model space's words (predict/rec_testbed.h:
// `scaleplan rec-testbed --truth`), where a refusal must be one named error too.
#include "fuzz/fuzz_check.h"
#include "plan/plan.h"
#include "predict/rec_testbed.h"
#include "predict/testbed.h"
#include "sim/analytical.h"
#include "spec/readers.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<predict::Truth> ranking =
      predict::ParseTruth(fuzz::AsText(data, size), "truth.yaml", &predict::RecTruthVocabulary());
  fuzz::CheckError(ranking);
  Result<predict::Truth> truth = predict::ParseTruth(fuzz::AsText(data, size), "truth.yaml");
  fuzz::CheckError(truth);
  if (!truth.ok()) return 0;
  static const Result<spec::JobSpec> base = spec::ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\ngpus: 16\n"
      "plan: {tp: 2, pp: 2, micro_batch: 1}\nworkload: {seq_len: 2048, global_batch: 32}\n",
      "job.yaml");
  if (!base.ok()) fuzz::Fail("base job", base.status().message());
  predict::TruthEngine engine(*truth);
  Status checked = engine.Check(base->cluster);
  fuzz::CheckError(checked);
  if (!checked.ok()) return 0;
  static const Result<plan::Plan> built = plan::BuildPlan(*base);
  if (!built.ok()) fuzz::Fail("base plan", built.status().message());
  Result<sim::StepResult> step = engine.Step(*built);
  fuzz::CheckError(step);
  if (step.ok()) {
    fuzz::CheckPositive(step->step_time_s, "step_time_s");
    fuzz::CheckPositive(step->tokens_per_s_per_gpu, "tokens_per_s_per_gpu");
  }
  predict::TruthEngine::Measurement m = engine.Measure(*built);
  if (m.status == "ok") {
    fuzz::CheckPositive(m.measured_tokens_per_s_per_gpu, "measured tokens_per_s_per_gpu");
    fuzz::CheckPositive(m.true_tokens_per_s_per_gpu, "true tokens_per_s_per_gpu");
  } else if (m.status != "oom" && m.status != "failed") {
    fuzz::Fail("measurement status", m.status);
  }
  return 0;
}
