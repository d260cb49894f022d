// The system files a training's memory check reads (core/memory.h): /proc/meminfo and a cgroup's
// memory files (its limit, memory.stat). A value read is finite and not negative; anything else
// reads as unknown.
#include "core/memory.h"
#include "core/text.h"
#include "fuzz/fuzz_check.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::AsText(data, size);
  for (const std::optional<double> bytes :
       {MemAvailableBytes(text), CgroupBytes(text), StatBytes(text, "anon"),
        StatBytes(text, "total_rss")}) {
    if (!bytes) continue;
    fuzz::CheckFinite(*bytes, "bytes");
    if (*bytes < 0) fuzz::Fail("negative bytes", Printable(text, 64));
  }
  // Printable's escapes are what every message shows of a file's text: they never grow a
  // message past six bytes an input byte (\uNNNN for a character of two or three bytes).
  if (Printable(text, 4096).size() > 6 * size + 64) fuzz::Fail("Printable grew", "");
  return 0;
}
