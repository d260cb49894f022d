#include "core/processes.h"

#include <fmt/format.h>

#include <cstdlib>

namespace scaleplan {

Result<std::vector<std::string>> Processes::AllGather(const std::string& tag,
                                                      const std::string& mine) const {
  WireWriter w;
  w.Text(tag);
  w.Text(mine);
  SP_ASSIGN_OR_RETURN(std::vector<std::string> all, Exchange(w.Take()));
  std::vector<std::string> shares;
  for (size_t r = 0; r < all.size(); ++r) {
    WireReader in(all[r], fmt::format("the share of rank {}", r));
    SP_ASSIGN_OR_RETURN(std::string theirs, in.Text());
    if (theirs != tag) {
      return Status::Invalid(fmt::format(
          "rank {} is at '{}' while rank {} is at '{}': the ranks computed different things "
          "(allowed: ranks that run the same scaleplan build on the same inputs, on machines "
          "whose arithmetic agrees)",
          r, theirs, rank(), tag));
    }
    SP_ASSIGN_OR_RETURN(std::string share, in.Text());
    SP_RETURN_IF_ERROR(in.Done());
    shares.push_back(std::move(share));
  }
  return shares;
}

uint64_t Fingerprint(std::string_view bytes, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

int64_t LaunchedProcessCount() {
  // A program started by a launcher that runs scaleplan on its own inherits the variables.
  if (const char* alone = std::getenv("SCALEPLAN_ONE_PROCESS");
      alone != nullptr && *alone != '\0') {
    return 1;
  }
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}) {
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
    return Status::Parse(
        fmt::format("{}: the share ends after {} bytes (allowed: a share "
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
    return Status::Parse(
        fmt::format("{}: a text of {} bytes runs past the share's {} bytes "
                    "(allowed: a share written by the same scaleplan)",
                    what_, n, bytes_.size()));
  }
  std::string s(bytes_.substr(at_, n));
  at_ += n;
  return s;
}

Status WireReader::Done() const {
  if (at_ == bytes_.size()) return Status::Ok();
  return Status::Parse(
      fmt::format("{}: {} bytes left over after the share (allowed: a share "
                  "written by the same scaleplan)",
                  what_, bytes_.size() - at_));
}

}  // namespace scaleplan
