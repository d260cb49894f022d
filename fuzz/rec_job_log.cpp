// Ranking job logs (predict/rec_suggest.h: `scaleplan rec-suggest --log`). A refusal is one named
// error; an accepted job has a known status, and a measured one a finite, positive throughput.
#include "fuzz/fuzz_check.h"
#include "predict/rec_suggest.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<std::vector<predict::RecLoggedJob>> jobs =
      predict::ParseRecJobLog(fuzz::AsText(data, size), "log.jsonl");
  fuzz::CheckError(jobs);
  if (!jobs.ok()) return 0;
  for (const predict::RecLoggedJob& j : *jobs) {
    if (j.status == "ok") {
      fuzz::CheckPositive(j.samples_per_s_per_gpu, "samples_per_s_per_gpu");
    } else if (j.status != "oom" && j.status != "failed" && j.status != "timeout") {
      fuzz::Fail("status", j.status);
    }
    for (size_t d = 0; d < predict::kRecKnobs; ++d) {
      if (j.knobs[d] >= predict::RecSpaceDims()[d].second.size())
        fuzz::Fail("knob", "out of range");
    }
  }
  return 0;
}
