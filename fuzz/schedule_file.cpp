// User pipeline schedules (schedule/schedule.h): the first three bytes give pp, vp and m (1 to 8;
// the second byte's top bit asks for a plan whose chunks lie in a V, as zb-v's), the rest is the
// JSON file. An accepted schedule is validated (which runs it).
#include "fuzz/fuzz_check.h"
#include "schedule/schedule.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  int64_t pp = 1 + data[0] % 8, vp = 1 + data[1] % 8, m = 1 + data[2] % 8;
  Result<schedule::PipelineSchedule> parsed =
      schedule::ParseSchedule(fuzz::AsText(data + 3, size - 3), "schedule.json", pp, vp, m,
                              (data[1] & 0x80) != 0);
  fuzz::CheckError(parsed);
  if (parsed.ok()) fuzz::CheckError(schedule::Validate(*parsed));
  return 0;
}
