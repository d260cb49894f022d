#include "report/output.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace scaleplan::report {

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::Io(fmt::format("{}: folder {} does not exist", path, dir.string()));
  }
  std::string temp = fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::Io(fmt::format("{}: cannot be opened for writing", path));
    out << content;
    out.flush();
    if (!out) {
      out.close();
      std::remove(temp.c_str());
      return Status::Io(fmt::format("{}: write failed", path));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    std::remove(temp.c_str());
    return Status::Io(fmt::format("{}: cannot be replaced ({})", path, reason));
  }
  return Status::Ok();
}

}  // namespace scaleplan::report
