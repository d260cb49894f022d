// Ranks as threads of the test process: what mpirun's processes do to a split computation
// (core/processes.h), without MPI, so that the split and merge logic runs in every build (the
// sanitizer build too). RunRanks(n, body) runs body(rank's Processes) on n threads at once.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/processes.h"

namespace scaleplan::testing {

class ThreadRanks {
 public:
  // `separate`: the ranks claim to be processes of their own (Processes::separate_processes),
  // as mpirun's are, though they share this process's clock.
  explicit ThreadRanks(int n, bool separate = false)
      : slots_(static_cast<size_t>(n)), separate_(separate) {}

  class Rank final : public Processes {
   public:
    Rank(ThreadRanks* group, int rank) : group_(group), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return static_cast<int>(group_->slots_.size()); }
    std::string_view transport() const override { return "threads"; }
    bool separate_processes() const override { return group_->separate_; }

   protected:
    Result<std::vector<std::string>> Exchange(const std::string& mine) const override {
      return group_->AllGather(rank_, mine);
    }

   private:
    ThreadRanks* group_;
    int rank_;
  };

  // body(rank) on every rank at once; returns when all have.
  void Run(const std::function<void(const Processes&)>& body) {
    std::vector<std::thread> threads;
    for (int r = 0; r < static_cast<int>(slots_.size()); ++r) {
      threads.emplace_back([this, r, &body] {
        Rank rank(this, r);
        body(rank);
      });
    }
    for (std::thread& t : threads) t.join();
  }

 private:
  // A generation barrier: every rank deposits its share, the last one releases them all with a
  // copy of every share.
  std::vector<std::string> AllGather(int rank, const std::string& mine) {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t generation = generation_;
    slots_[static_cast<size_t>(rank)] = mine;
    if (++arrived_ == slots_.size()) {
      gathered_ = slots_;
      arrived_ = 0;
      ++generation_;
      ready_.notify_all();
    } else {
      ready_.wait(lock, [&] { return generation_ != generation; });
    }
    return gathered_;
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::string> slots_;
  std::vector<std::string> gathered_;
  size_t arrived_ = 0;
  uint64_t generation_ = 0;
  bool separate_ = false;
};

}  // namespace scaleplan::testing
