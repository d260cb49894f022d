// The processes that compute one answer together: MPI ranks under `mpirun -np N` (mpi/mpi.h, built
// with -DSCALEPLAN_MPI=ON), or this process alone.
//
// The work that splits (the exhaustive and random search's candidates, the NAS candidates'
// training) is dealt out by index: item i is rank (i mod N)'s. Each process computes its share,
// then AllGather gives every process every share, in rank order, and every process merges them
// the same way, so that each holds the answer one process would have computed alone. The shares
// travel as bytes (Wire below): doubles bit for bit, so the merge sees exactly what was computed.
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
  virtual std::string_view transport() const = 0;  // "mpi", "one process", ...
  // Every process's `mine`, in rank order, on every process. Collective: every process calls it
  // the same number of times, in the same order.
  virtual Result<std::vector<std::string>> AllGather(const std::string& mine) const = 0;
};

// This process alone (rank 0 of 1).
const Processes& ThisProcessAlone();

// Whether item `index` of a dealt-out list is this process's (`processes` nullptr: alone).
inline bool IsMine(const Processes* processes, uint64_t index) {
  return processes == nullptr ||
         index % static_cast<uint64_t>(processes->size()) == static_cast<uint64_t>(processes->rank());
}
inline int ProcessCount(const Processes* processes) {
  return processes == nullptr ? 1 : processes->size();
}

// How many processes an MPI launcher (Open MPI's, MPICH's or a PMIx one) started this one as part
// of, from the variables it sets; 1 when none did.
int64_t LaunchedProcessCount();

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
  WireReader(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}
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
