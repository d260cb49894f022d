// The system files a training's memory check reads (core/memory.h): /proc/meminfo, a cgroup's
// memory files (its limit, memory.stat), /proc/self/limits and /proc/self/status. A value read is
// finite and not negative; anything else reads as unknown.
#include <string>

#include "core/memory.h"
#include "core/text.h"
#include "fuzz/fuzz_check.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::AsText(data, size);
  for (const std::optional<double> bytes :
       {MemAvailableBytes(text), CgroupBytes(text), StatBytes(text, "anon"),
        StatBytes(text, "total_rss"), AddressSpaceLimitBytes(text), StatusBytes(text, "VmSize")}) {
    if (!bytes) continue;
    fuzz::CheckFinite(*bytes, "bytes");
    if (*bytes < 0) fuzz::Fail("negative bytes", Printable(text, 64));
  }
  // The text as /proc/self/cgroup (and as every group's memory.stat) over a few groups' files:
  // whatever it names, the room read is finite and not negative.
  const std::optional<double> room =
      AvailableMemoryBytes([&](const std::string& path) -> std::optional<std::string> {
        if (path == "/proc/meminfo") return std::string("MemAvailable: 1000 kB\n");
        if (path == "/proc/self/cgroup" || path.ends_with("/memory.stat")) {
          return std::string(text);
        }
        if (path.ends_with("/memory.max")) return std::string("4096\n");
        if (path == "/proc/self/limits" || path == "/proc/self/status") return std::string(text);
        return std::nullopt;
      });
  if (!room) fuzz::Fail("no room read beside a meminfo", Printable(text, 64));
  fuzz::CheckFinite(*room, "room");
  if (*room < 0 || *room > 1024000)
    fuzz::Fail("room outside [0, MemAvailable]", Printable(text, 64));
  // Printable's escapes are what every message shows of a file's text: they never grow a
  // message past six bytes an input byte (\uNNNN for a character of two or three bytes).
  if (Printable(text, 4096).size() > 6 * size + 64) fuzz::Fail("Printable grew", "");
  return 0;
}
