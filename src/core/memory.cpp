#include "core/memory.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/text.h"

namespace scaleplan {

namespace {

// A whole small file (a /proc or /sys entry), or nullopt.
std::optional<std::string> Slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> Digits(std::string_view text) {
  text = Trim(text);
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return static_cast<double>(v);
}

}  // namespace

std::optional<double> MemAvailableBytes(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemAvailable:";
  for (size_t from = 0; from < meminfo.size();) {
    const size_t end = std::min(meminfo.find('\n', from), meminfo.size());
    std::string_view line = meminfo.substr(from, end - from);
    from = end + 1;
    if (!line.starts_with(kKey)) continue;
    line.remove_prefix(kKey.size());
    line = Trim(line);
    if (!line.ends_with("kB")) return std::nullopt;
    line.remove_suffix(2);
    const std::optional<double> kib = Digits(line);
    return kib ? std::optional<double>(*kib * 1024) : std::nullopt;
  }
  return std::nullopt;
}

std::optional<double> CgroupBytes(std::string_view text) {
  if (Trim(text) == "max") return std::nullopt;
  return Digits(text);
}

std::optional<double> StatBytes(std::string_view stat, std::string_view key) {
  for (const std::string& line : SplitAndTrim(stat, '\n')) {
    const std::string_view l = line;
    if (l.size() > key.size() && l.starts_with(key) && l[key.size()] == ' ') {
      return Digits(l.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

std::optional<double> AddressSpaceLimitBytes(std::string_view limits) {
  constexpr std::string_view kKey = "Max address space";
  for (const std::string& line : SplitAndTrim(limits, '\n')) {
    const std::string_view l = line;
    if (!l.starts_with(kKey)) continue;
    // "Max address space  <soft> <hard> bytes": the soft limit binds.
    std::string_view rest = Trim(l.substr(kKey.size()));
    const std::string_view soft = rest.substr(0, rest.find_first_of(" \t"));
    if (soft == "unlimited") return std::nullopt;
    return Digits(soft);
  }
  return std::nullopt;
}

std::optional<double> StatusBytes(std::string_view status, std::string_view key) {
  for (const std::string& line : SplitAndTrim(status, '\n')) {
    std::string_view l = line;
    if (l.size() <= key.size() || !l.starts_with(key) || l[key.size()] != ':') continue;
    l = Trim(l.substr(key.size() + 1));
    if (!l.ends_with("kB")) return std::nullopt;
    l.remove_suffix(2);
    const std::optional<double> kib = Digits(l);
    return kib ? std::optional<double>(*kib * 1024) : std::nullopt;
  }
  return std::nullopt;
}

std::optional<double> AvailableMemoryBytes(const FileReader& read_file) {
  const FileReader read = read_file ? read_file : FileReader(Slurp);
  std::optional<double> room;
  if (std::optional<std::string> meminfo = read("/proc/meminfo")) {
    room = MemAvailableBytes(*meminfo);
  }
  auto lower = [&](double limit, std::optional<double> held) {
    if (!held) return;
    const double left = std::max(0.0, limit - *held);
    room = room ? std::min(*room, left) : left;
  };
  // A group's limit less what its processes hold that cannot be reclaimed (anonymous memory: the
  // page cache, which a read of a large data file fills, is given back on demand).
  //   v2 ("0::/path"): every group from /sys/fs/cgroup/path up to the mount's root, memory.max
  //     less memory.stat's anon (a parent's limit binds its children).
  //   v1 ("N:memory:/path", the controller possibly co-mounted: "N:cpu,memory:/path"): the
  //     group's memory.stat, hierarchical_memory_limit (the least limit of it and its parents)
  //     less total_rss.
  // Inside a container the path may not be mounted as named (the mount's root is the
  // container's own group then): the root is read where the path is not there.
  const std::optional<std::string> groups = read("/proc/self/cgroup");
  for (std::string_view line : SplitAndTrim(groups.value_or(""), '\n')) {
    const size_t first = line.find(':');
    const size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(line.substr(second + 1));
    if (path.find("..") != std::string::npos || !path.starts_with("/")) continue;
    if (path == "/") path.clear();
    if (controllers.empty() && line.starts_with("0:")) {
      const std::string root = "/sys/fs/cgroup";
      if (!read(root + path + "/memory.stat")) path.clear();
      for (;;) {
        const std::optional<std::string> max = read(root + path + "/memory.max");
        const std::optional<std::string> stat = read(root + path + "/memory.stat");
        if (max && stat) {
          if (const std::optional<double> limit = CgroupBytes(*max)) {
            lower(*limit, StatBytes(*stat, "anon"));
          }
        }
        if (path.empty()) break;
        path.resize(path.rfind('/'));
      }
    } else if (const std::vector<std::string> names = SplitAndTrim(controllers, ',');
               std::find(names.begin(), names.end(), "memory") != names.end()) {
      const std::string root = "/sys/fs/cgroup/" + std::string(controllers);
      std::optional<std::string> stat = read(root + path + "/memory.stat");
      if (!stat) stat = read(root + "/memory.stat");
      if (stat) {
        if (const std::optional<double> limit = StatBytes(*stat, "hierarchical_memory_limit")) {
          lower(*limit, StatBytes(*stat, "total_rss"));
        }
      }
    }
  }
  // An address-space limit (ulimit -v, RLIMIT_AS; common under batch schedulers): a larger
  // allocation fails at once rather than by the OOM killer, but as a crash of the library that
  // asked. The room is the soft limit less the process's virtual size.
  if (const std::optional<std::string> limits = read("/proc/self/limits")) {
    if (const std::optional<double> limit = AddressSpaceLimitBytes(*limits)) {
      if (const std::optional<std::string> status = read("/proc/self/status")) {
        lower(*limit, StatusBytes(*status, "VmSize"));
      }
    }
  }
  return room;
}

}  // namespace scaleplan
