#include "mpi/mpi.h"

#include <fmt/format.h>
#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <iostream>

namespace scaleplan::mpi {

namespace {

class World final : public Processes {
 public:
  World() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~World() override { MPI_Finalize(); }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string_view transport() const override { return "mpi"; }

  Result<std::vector<std::string>> Exchange(const std::string& mine) const override {
    if (mine.size() > static_cast<size_t>(INT_MAX)) {
      return Status::Invalid(fmt::format(
          "a share of {} bytes is too large for one MPI message (allowed: at most {} bytes)",
          mine.size(), INT_MAX));
    }
    int length = static_cast<int>(mine.size());
    std::vector<int> lengths(static_cast<size_t>(size_));
    if (MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD) !=
        MPI_SUCCESS) {
      return Status::Io("MPI_Allgather of the share sizes failed");
    }
    std::vector<int> offsets(static_cast<size_t>(size_));
    long long total = 0;
    for (size_t r = 0; r < lengths.size(); ++r) {
      if (total > INT_MAX) break;
      offsets[r] = static_cast<int>(total);
      total += lengths[r];
    }
    if (total > INT_MAX) {
      return Status::Invalid(
          fmt::format("the ranks' shares total {} bytes (allowed: at most {} bytes in one gather)",
                      total, INT_MAX));
    }
    std::string all(static_cast<size_t>(total), '\0');
    if (MPI_Allgatherv(mine.data(), length, MPI_BYTE, all.data(), lengths.data(), offsets.data(),
                       MPI_BYTE, MPI_COMM_WORLD) != MPI_SUCCESS) {
      return Status::Io("MPI_Allgatherv of the shares failed");
    }
    std::vector<std::string> out;
    for (size_t r = 0; r < lengths.size(); ++r) {
      out.push_back(all.substr(static_cast<size_t>(offsets[r]), static_cast<size_t>(lengths[r])));
    }
    return out;
  }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

Result<std::unique_ptr<Processes>> JoinIfLaunched(int* argc, char*** argv) {
  const int64_t launched = LaunchedProcessCount();
  if (launched <= 1) return std::unique_ptr<Processes>();
  // One thread (the main one) calls MPI; worker threads only compute.
  int provided = 0;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    return Status::Io(
        "MPI_Init_thread failed (started by an MPI launcher, but MPI would not start)");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  auto world = std::make_unique<World>();
  if (provided < MPI_THREAD_FUNNELED || world->size() != launched) {
    // Every rank sees the same: end them all rather than run copies that each do the whole work.
    std::cerr << fmt::format(
        "scaleplan: error: the launcher started {} processes, MPI joined {} with thread level {} "
        "(allowed: one MPI world of all the launched processes, thread level funneled or more; "
        "this Open MPI build may not match the launcher; SCALEPLAN_ONE_PROCESS=1 runs each "
        "alone)\n",
        launched, world->size(), provided);
    AbortAll(2);
  }
  return std::unique_ptr<Processes>(std::move(world));
}

void AbortAll(int exit_status) {
  MPI_Abort(MPI_COMM_WORLD, exit_status);
  std::abort();  // not reached: MPI_Abort does not return
}

}  // namespace scaleplan::mpi
