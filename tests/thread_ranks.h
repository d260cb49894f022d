// Ranks as threads of the test process: what mpirun's processes do to a split computation
// (core/processes.h), without MPI, so that the split and merge logic runs in every build (the
// sanitizer build too). Run(body) runs body(rank's Processes) on n threads at once.
// A split that lets one rank skip an exchange would hang under mpirun; here the ranks waiting in
// that exchange get an error naming the rank that returned without it (and any exchange that
// waits longer than kExchangeTimeout fails the same way), so a test fails instead of hanging.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/processes.h"

namespace scaleplan::testing {

class ThreadRanks {
 public:
  // `separate`: the ranks claim to be processes of their own (Processes::separate_processes),
  // as mpirun's are, though they share this process's clock.
  explicit ThreadRanks(int n, bool separate = false)
      : slots_(static_cast<size_t>(n)), arrived_in_(static_cast<size_t>(n), false),
        finished_(static_cast<size_t>(n), false), separate_(separate) {}

  static constexpr std::chrono::seconds kExchangeTimeout{600};

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
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // A previous Run's ranks all finished, and may have left an exchange half joined.
      finished_.assign(slots_.size(), false);
      arrived_in_.assign(slots_.size(), false);
      arrived_ = 0;
    }
    std::vector<std::thread> threads;
    for (int r = 0; r < static_cast<int>(slots_.size()); ++r) {
      threads.emplace_back([this, r, &body] {
        Rank rank(this, r);
        body(rank);
        std::lock_guard<std::mutex> lock(mutex_);
        finished_[static_cast<size_t>(r)] = true;
        ready_.notify_all();
      });
    }
    for (std::thread& t : threads) t.join();
  }

 private:
  // A generation barrier: every rank deposits its share, the last one releases them all with a
  // copy of every share.
  Result<std::vector<std::string>> AllGather(int rank, const std::string& mine) {
    std::unique_lock<std::mutex> lock(mutex_);
    const uint64_t generation = generation_;
    slots_[static_cast<size_t>(rank)] = mine;
    arrived_in_[static_cast<size_t>(rank)] = true;
    if (++arrived_ == slots_.size()) {
      gathered_ = slots_;
      arrived_ = 0;
      arrived_in_.assign(slots_.size(), false);
      ++generation_;
      ready_.notify_all();
      return gathered_;
    }
    // A rank that finished without arriving will never arrive.
    auto deserter = [&]() -> int {
      for (size_t r = 0; r < finished_.size(); ++r) {
        if (finished_[r] && !arrived_in_[r]) return static_cast<int>(r);
      }
      return -1;
    };
    const bool released = ready_.wait_for(lock, kExchangeTimeout, [&] {
      return generation_ != generation || deserter() >= 0;
    });
    if (generation_ != generation) return gathered_;
    // This rank leaves the exchange it joined, so that a later one does not count it twice.
    --arrived_;
    arrived_in_[static_cast<size_t>(rank)] = false;
    if (released) {
      return Status::Invalid(fmt::format(
          "thread rank {} waits in exchange {} that rank {} returned without joining (a split "
          "that would hang under mpirun)",
          rank, generation, deserter()));
    }
    return Status::Invalid(fmt::format("thread rank {} waited {} s in exchange {}", rank,
                                       kExchangeTimeout.count(), generation));
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::string> slots_;
  std::vector<std::string> gathered_;
  std::vector<bool> arrived_in_;
  std::vector<bool> finished_;
  size_t arrived_ = 0;
  uint64_t generation_ = 0;
  bool separate_ = false;
};

}  // namespace scaleplan::testing
