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

std::optional<double> AvailableMemoryBytes() {
  std::optional<double> room;
  if (std::optional<std::string> meminfo = Slurp("/proc/meminfo")) {
    room = MemAvailableBytes(*meminfo);
  }
  // The cgroup's limit less what its processes hold that cannot be reclaimed (anonymous memory:
  // the page cache, which a read of a large data file fills, is given back on demand): v2
  // ("0::/path": /sys/fs/cgroup/path/memory.max, memory.stat's anon) or v1's memory controller
  // ("N:memory:/path": /sys/fs/cgroup/memory/path/memory.limit_in_bytes, memory.stat's
  // total_rss). Inside a container the path may not be mounted as named: the mount's root is the
  // container's own group then.
  auto lower_to = [&](const std::string& dir, const char* limit_file, std::string_view held) {
    const std::optional<std::string> max = Slurp(dir + "/" + limit_file);
    const std::optional<std::string> stat = Slurp(dir + "/memory.stat");
    if (!max || !stat) return false;
    const std::optional<double> limit = CgroupBytes(*max), used = StatBytes(*stat, held);
    if (limit && used) {
      const double left = std::max(0.0, *limit - *used);
      room = room ? std::min(*room, left) : left;
    }
    return true;
  };
  const std::optional<std::string> groups = Slurp("/proc/self/cgroup");
  for (std::string_view line : SplitAndTrim(groups.value_or(""), '\n')) {
    const size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(line.substr(second + 1));
    if (path.find("..") != std::string::npos || !path.starts_with("/")) continue;
    if (path == "/") path.clear();
    if (controllers.empty() && line.starts_with("0:")) {
      if (!lower_to("/sys/fs/cgroup" + path, "memory.max", "anon")) {
        lower_to("/sys/fs/cgroup", "memory.max", "anon");
      }
    } else if (const std::vector<std::string> names = SplitAndTrim(controllers, ',');
               std::find(names.begin(), names.end(), "memory") != names.end()) {
      const std::string root = "/sys/fs/cgroup/" + std::string(controllers);
      if (!lower_to(root + path, "memory.limit_in_bytes", "total_rss")) {
        lower_to(root, "memory.limit_in_bytes", "total_rss");
      }
    }
  }
  return room;
}

}  // namespace scaleplan
