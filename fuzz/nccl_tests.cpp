// nccl-tests text output (collective/nccl_tests.h). Accepted points are finite and positive.
#include "collective/nccl_tests.h"
#include "fuzz/fuzz_check.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<collective::NcclTestsRun> run =
      collective::ParseNcclTests(fuzz::AsText(data, size), "nccl.txt");
  fuzz::CheckError(run);
  if (!run.ok()) return 0;
  if (run->ranks < 1 || run->nodes < 1) fuzz::Fail("ranks or nodes below 1", "");
  for (const collective::NcclTestsPoint& point : run->points) {
    fuzz::CheckPositive(point.bytes, "bytes");
    fuzz::CheckPositive(point.time_s, "time_s");
    fuzz::CheckFinite(point.busbw_bytes_per_s, "busbw_bytes_per_s");
  }
  return 0;
}
