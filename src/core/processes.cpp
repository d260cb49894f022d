#include "core/processes.h"

#include <fmt/format.h>

#include <cstdlib>

namespace scaleplan {

namespace {

class Alone final : public Processes {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string_view transport() const override { return "one process"; }
  Result<std::vector<std::string>> AllGather(const std::string& mine) const override {
    return std::vector<std::string>{mine};
  }
};

}  // namespace

const Processes& ThisProcessAlone() {
  static const Alone alone;
  return alone;
}

int64_t LaunchedProcessCount() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) {
    const char* value = std::getenv(name);
    if (value == nullptr) continue;
    char* end = nullptr;
    const long long n = std::strtoll(value, &end, 10);
    if (end != value && *end == '\0' && n >= 1) return n;
  }
  return 1;
}

Result<uint64_t> WireReader::U64() {
  if (bytes_.size() - at_ < sizeof(uint64_t)) {
    return Status::Parse(fmt::format("{}: the share ends after {} bytes (allowed: a share "
                                     "written by the same scaleplan)",
                                     what_, bytes_.size()));
  }
  uint64_t v = 0;
  std::memcpy(&v, bytes_.data() + at_, sizeof v);
  at_ += sizeof v;
  return v;
}

Result<double> WireReader::F64() {
  SP_ASSIGN_OR_RETURN(uint64_t bits, U64());
  double v = 0;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

Result<std::string> WireReader::Text() {
  SP_ASSIGN_OR_RETURN(uint64_t n, U64());
  if (n > bytes_.size() - at_) {
    return Status::Parse(fmt::format("{}: a text of {} bytes runs past the share's {} bytes "
                                     "(allowed: a share written by the same scaleplan)",
                                     what_, n, bytes_.size()));
  }
  std::string s(bytes_.substr(at_, n));
  at_ += n;
  return s;
}

Status WireReader::Done() const {
  if (at_ == bytes_.size()) return Status::Ok();
  return Status::Parse(fmt::format("{}: {} bytes left over after the share (allowed: a share "
                                   "written by the same scaleplan)",
                                   what_, bytes_.size() - at_));
}

}  // namespace scaleplan
