// The memory this process may still take, for checks that refuse work the machine cannot hold:
// the kernel's OOM killer ends a process without a word, which a user reads as a crash.
#pragma once

#include <optional>
#include <string_view>

namespace scaleplan {

// Bytes this process may still allocate: the kernel's MemAvailable (/proc/meminfo), lowered to
// its cgroup's room where the cgroup sets a limit (the limit less the group's anonymous memory,
// cgroup v2 or v1). nullopt where neither can be read (not Linux, /proc not mounted).
std::optional<double> AvailableMemoryBytes();

// The parsers AvailableMemoryBytes reads its files with (exposed for the tests): MemAvailable of
// a /proc/meminfo text, in bytes; a cgroup memory limit file's bytes ("max": no limit, nullopt);
// the bytes of `key` in a cgroup's memory.stat ("anon 4096" lines).
std::optional<double> MemAvailableBytes(std::string_view meminfo);
std::optional<double> CgroupBytes(std::string_view text);
std::optional<double> StatBytes(std::string_view stat, std::string_view key);

}  // namespace scaleplan
