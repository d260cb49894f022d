// The memory this process may still take, for checks that refuse work the machine cannot hold:
// the kernel's OOM killer ends a process without a word, which a user reads as a crash.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace scaleplan {

// Bytes this process may still allocate: the kernel's MemAvailable (/proc/meminfo), lowered to
// the room its cgroups leave where they set a limit (a limit less the group's anonymous memory;
// cgroup v2, every group up to the root, or v1's memory controller) and to an address-space
// limit (ulimit -v) less the process's virtual size. nullopt where none of it
// can be read (not Linux, /proc not mounted). `read` reads a file whole (nullopt: not there);
// null, the file system (tests pass their own).
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;
std::optional<double> AvailableMemoryBytes(const FileReader& read = nullptr);

// The parsers AvailableMemoryBytes reads its files with (exposed for the tests): MemAvailable of
// a /proc/meminfo text, in bytes; a cgroup memory limit file's bytes ("max": no limit, nullopt);
// the bytes of `key` in a cgroup's memory.stat ("anon 4096" lines); the soft "Max address
// space" of a /proc/self/limits text (nullopt: unlimited); the bytes of `key` in a
// /proc/self/status text ("VmSize:  1024 kB").
std::optional<double> MemAvailableBytes(std::string_view meminfo);
std::optional<double> CgroupBytes(std::string_view text);
std::optional<double> StatBytes(std::string_view stat, std::string_view key);
std::optional<double> AddressSpaceLimitBytes(std::string_view limits);
std::optional<double> StatusBytes(std::string_view status, std::string_view key);

}  // namespace scaleplan
