// The processes that compute one answer together: MPI ranks under `mpirun -np N` (mpi/mpi.h, built
// with -DSCALEPLAN_MPI=ON); a library call given none (nullptr) runs in this process alone.
//
// The work that splits (the exhaustive and random search's candidates, the NAS candidates'
// training) is dealt out by index: item i is rank (i mod N)'s. Each process computes its share,
// then AllGather gives every process every share, in rank order, and every process merges them
// the same way, so that each holds the answer one process would have computed alone. The shares
// travel as bytes (Wire below): doubles bit for bit, so the merge sees exactly what was computed.
//
// Every process must reach the same collectives in the same order. Each AllGather names what it
// gathers (a tag: the step and its size); ranks whose tags differ have computed different things
// (different inputs or builds, or arithmetic that differs between machines) and get an error
// instead of waiting for each other forever; the entry point ends with a last AllGather tagged
// "end", so a rank that finished early meets a rank still gathering in an error, not a hang.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace scaleplan {

class Processes {
 public:
  virtual ~Processes() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string_view transport() const = 0;  // "mpi", "threads", ...
  // Whether each rank is an operating-system process of its own, so that its process CPU time
  // is its own (threads of one process share it).
  virtual bool separate_processes() const { return true; }
  // Every process's `mine`, in rank order, on every process; an error when a process called it
  // with another `tag` (Disagreement below). Collective: every process calls it the same number
  // of times, in the same order.
  Result<std::vector<std::string>> AllGather(const std::string& tag, const std::string& mine) const;

 protected:
  // Every process's bytes, in rank order (the transport).
  virtual Result<std::vector<std::string>> Exchange(const std::string& mine) const = 0;
};

// Whether item `index` of a dealt-out list is this process's (`processes` nullptr: alone).
inline bool IsMine(const Processes* processes, uint64_t index) {
  return processes == nullptr || index % static_cast<uint64_t>(processes->size()) ==
                                     static_cast<uint64_t>(processes->rank());
}
inline int ProcessCount(const Processes* processes) {
  return processes == nullptr ? 1 : processes->size();
}

// How many processes a launcher started this one as part of, from the variables it sets (Open
// MPI's mpirun, MPICH's and Intel MPI's hydra, Slurm's srun); 1 when none did, or when
// SCALEPLAN_ONE_PROCESS is set (a program the launcher started runs scaleplan alone: it inherits
// the launcher's variables).
int64_t LaunchedProcessCount();

// A 64-bit FNV-1a hash of `bytes`, the same on every platform (for tags that must agree across
// processes, and draws that must repeat). `basis` is FNV's offset basis unless a caller keeps
// another for its results' sake.
inline constexpr uint64_t kFnvOffsetBasis = 14695981039346656037ull;
uint64_t Fingerprint(std::string_view bytes, uint64_t basis = kFnvOffsetBasis);

// A share in bytes: fixed-width numbers (doubles bit for bit) and length-prefixed strings.
class WireWriter {
 public:
  void U64(uint64_t v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void F64(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    U64(bits);
  }
  void Text(std::string_view s) {
    U64(s.size());
    bytes_.append(s);
  }
  std::string Take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

// Reads what WireWriter wrote; a short or long share is an error naming `what`.
class WireReader {
 public:
  // Reads `bytes` in place: they must outlive the reader (a temporary string cannot be given).
  WireReader(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}
  WireReader(std::string&& bytes, std::string what) = delete;
  Result<uint64_t> U64();
  Result<double> F64();
  Result<std::string> Text();
  Status Done() const;  // an error unless every byte was read

 private:
  std::string_view bytes_;
  size_t at_ = 0;
  std::string what_;
};

}  // namespace scaleplan
