#include "core/file.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

namespace scaleplan {

namespace {

Result<std::string> ReadCapped(std::istream& in, const std::string& name, int64_t max_bytes) {
  std::string bytes;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    bytes.append(chunk, static_cast<size_t>(in.gcount()));
    if (static_cast<int64_t>(bytes.size()) > max_bytes) {
      return Status::Invalid(
          fmt::format("{}: longer than {} bytes (allowed: at most {} bytes)", name, max_bytes, max_bytes));
    }
  }
  if (in.bad()) return Status::Io(fmt::format("{}: read error", name));
  return bytes;
}

}  // namespace

Result<std::string> ReadInputFile(const std::string& path, int64_t max_bytes) {
  if (path == "-") return ReadCapped(std::cin, "standard input", max_bytes);
  std::error_code ec;
  std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return Status::NotFound(fmt::format("{}: no such file", path));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return Status::Invalid(fmt::format(
        "{}: not a regular file (allowed: a regular file, or - for standard input)", path));
  }
  std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > static_cast<std::uintmax_t>(max_bytes)) {
    return Status::Invalid(fmt::format("{}: {} bytes (allowed: at most {} bytes)", path, size, max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(fmt::format("{}: cannot be opened for reading", path));
  return ReadCapped(in, path, max_bytes);
}

}  // namespace scaleplan
