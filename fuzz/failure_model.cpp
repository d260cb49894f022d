// Failure-model files (goodput/failures.h: `scaleplan goodput --failures FILE`). An accepted model
// evaluates on a fixed job to finite numbers: rates, the interval, the effective time in [0, 1],
// and a short Monte Carlo whose mean is in [0, 1] too.
#include "fuzz/fuzz_check.h"
#include "goodput/failures.h"
#include "goodput/goodput.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<goodput::FailureModel> model =
      goodput::ParseFailureModel(fuzz::AsText(data, size), "failures.yaml");
  fuzz::CheckError(model);
  if (!model.ok()) return 0;
  goodput::GoodputJob job{64, 8, 1e12, 1000};
  goodput::GoodputOptions options;
  options.sweep_gpus.clear();
  Result<goodput::GoodputPoint> point = goodput::Evaluate(*model, job, options);
  fuzz::CheckError(point);
  if (!point.ok()) return 0;
  fuzz::CheckFinite(point->failures_per_day, "failures_per_day");
  fuzz::CheckFinite(point->mtbf_s, "mtbf_s");
  fuzz::CheckPositive(point->interval_s, "interval_s");
  fuzz::CheckFinite(point->effective, "effective");
  if (point->effective < 0 || point->effective > 1) fuzz::Fail("effective", "outside [0, 1]");
  // A short Monte Carlo where the draws stay few.
  double per_window = (point->failures_per_day + point->planned_per_day) / 86400.0 * 3600.0;
  if (per_window < 1e4) {
    options.trials = 2;
    options.horizon_s = 3600;
    goodput::MonteCarlo mc = goodput::Simulate(*model, job, options, *point);
    if (!(mc.effective_mean >= 0 && mc.effective_mean <= 1)) {
      fuzz::Fail("monte carlo effective", "outside [0, 1]");
    }
  }
  return 0;
}
