// Predictor files (predict/predictor.h: what `scaleplan fit --out` writes and --predictor
// reads). An accepted file writes back to a file that reads again with the same estimate, and
// the learned engine's step of a small job is finite and positive whatever the members hold.
#include "fuzz/fuzz_check.h"
#include "plan/plan.h"
#include "predict/engine.h"
#include "predict/features.h"
#include "spec/readers.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<predict::Predictor> p = predict::ParsePredictor(fuzz::AsText(data, size), "p.json");
  fuzz::CheckError(p);
  if (!p.ok()) return 0;
  static const Result<spec::JobSpec> job = spec::ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\ngpus: 8\nframework: torchtitan\n"
      "plan: {tp: 2, pp: 1, micro_batch: 1}\nworkload: {seq_len: 2048, global_batch: 16}\n",
      "job.yaml");
  if (!job.ok()) fuzz::Fail("base job", job.status().message());
  static const Result<plan::Plan> built = plan::BuildPlan(*job);
  if (!built.ok()) fuzz::Fail("base plan", built.status().message());
  predict::Estimate e;
  Result<sim::StepResult> step = predict::CorrectedStep(*p, *built, &e);
  if (!step.ok()) fuzz::Fail("learned step", step.status().message());
  fuzz::CheckPositive(step->step_time_s, "step_time_s");
  fuzz::CheckPositive(step->tokens_per_s_per_gpu, "tokens_per_s_per_gpu");
  fuzz::CheckFinite(e.spread, "spread");
  Result<predict::Predictor> again =
      predict::ParsePredictor(predict::PredictorJson(*p).dump(), "again.json");
  if (!again.ok()) fuzz::Fail("a written predictor does not read back", again.status().message());
  predict::Estimate e2;
  Result<sim::StepResult> step2 = predict::CorrectedStep(*again, *built, &e2);
  if (!step2.ok() || e2.correction != e.correction) {
    fuzz::Fail("a written predictor reads back different", p->family);
  }
  return 0;
}
