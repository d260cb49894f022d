// Ranking-model architecture files (rec/arch.h: `scaleplan rec-train --arch FILE`). An accepted
// architecture analyses against a fixed input or fails with a message; an analysed one has finite,
// non-negative FLOPs and parameters, and writes JSON that reads back to itself.
#include "fuzz/fuzz_check.h"
#include "rec/arch.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<rec::Arch> arch = rec::ParseArchJson(fuzz::AsText(data, size), "arch.json");
  fuzz::CheckError(arch);
  if (!arch.ok()) return 0;
  Result<rec::Arch> back = rec::ParseArchJson(rec::ArchToJson(*arch).dump(), "again.json");
  if (!back.ok()) fuzz::Fail("round trip", back.status().message());
  if (!(*back == *arch)) fuzz::Fail("round trip", "the architecture changed");
  const rec::InputShape input{13, {1000, 50, 7}};
  Result<rec::ArchInfo> info = rec::Analyze(*arch, input);
  fuzz::CheckError(info);
  if (!info.ok()) return 0;
  fuzz::CheckFinite(info->flops, "flops");
  fuzz::CheckFinite(info->params, "params");
  if (info->flops < 0 || info->params < 0) fuzz::Fail("cost", "negative FLOPs or parameters");
  if (info->order.size() > arch->blocks.size()) fuzz::Fail("order", "more blocks than given");
  return 0;
}
