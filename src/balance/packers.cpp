// Packers and the packing driver; definitions in balance.h.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <functional>
#include <limits>
#include <numeric>

#include "balance/balance.h"
#include "core/text.h"

namespace scaleplan::balance {

namespace {

bool Longer(const Document& a, const Document& b) {
  return a.tokens != b.tokens ? a.tokens > b.tokens : a.id < b.id;
}

int64_t Tokens(const MicroBatch& mb) {
  int64_t t = 0;
  for (const Document& d : mb) t += d.tokens;
  return t;
}

// `out` as n empty micro-batches, keeping the capacity of those it already had.
void EmptyBatches(std::vector<MicroBatch>& out, size_t n) {
  out.resize(n);
  for (MicroBatch& mb : out) mb.clear();
}

// The slot with the smallest key (ties: the lower slot) among n whose keys only grow: a binary
// heap of (key, slot) entries with each slot's position; Best() in O(1), Grew(i, key) in
// O(log n). Keys are non-negative (work, tokens), so their bit patterns order as they do: an entry
// is one 128-bit integer, the key's bits above the slot, and (key, slot) order is one unsigned
// comparison that compiles without branches (the sift's choice of child was its mispredicted
// branch).
template <class Key>
class MinHeap {
 public:
  // Starts over from `keys` (the storage is kept).
  void Reset(const std::vector<Key>& keys) {
    heap_.resize(keys.size());
    pos_.resize(keys.size());
    for (size_t i = 0; i < heap_.size(); ++i) heap_[i] = Pack(keys[i], i);
    std::sort(heap_.begin(), heap_.end());
    for (size_t i = 0; i < heap_.size(); ++i) pos_[SlotOf(heap_[i])] = i;
  }
  size_t Best() const { return SlotOf(heap_.front()); }
  void Grew(size_t slot, Key key) {
    const Entry moving = Pack(key, slot);
    size_t at = pos_[slot];
    const size_t n = heap_.size();
    for (;;) {
      size_t child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n) child += heap_[child + 1] < heap_[child] ? 1 : 0;
      if (!(heap_[child] < moving)) break;
      heap_[at] = heap_[child];
      pos_[SlotOf(heap_[at])] = at;
      at = child;
    }
    heap_[at] = moving;
    pos_[slot] = at;
  }

 private:
  __extension__ using Entry = unsigned __int128;
  static_assert(sizeof(Key) == sizeof(uint64_t));
  static Entry Pack(Key key, size_t slot) {
    return (static_cast<Entry>(std::bit_cast<uint64_t>(key)) << 64) | static_cast<uint64_t>(slot);
  }
  static size_t SlotOf(Entry e) { return static_cast<size_t>(static_cast<uint64_t>(e)); }
  std::vector<Entry> heap_;  // a min-heap on (key, slot)
  std::vector<size_t> pos_;  // slot -> index in heap_
};

// Sorts into the Longer order. Documents already in increasing id order (as a loader hands them
// over) take a stable least-significant-digit radix sort on their lengths, 11 bits a pass: equal
// lengths keep their id order, which is Longer's tie-break. Others take a comparison sort.
// `buffer` and `count` are scratch space the caller keeps, so that repeated sorts do not allocate.
void SortLongestFirst(std::vector<Document>& docs, std::vector<Document>& buffer,
                      std::vector<size_t>& count) {
  bool by_id = true;
  int64_t longest = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (i > 0 && docs[i].id <= docs[i - 1].id) by_id = false;
    longest = std::max(longest, docs[i].tokens);
  }
  if (!by_id || docs.size() < 64) {
    std::sort(docs.begin(), docs.end(), Longer);
    return;
  }
  constexpr int kBits = 11;
  constexpr size_t kBuckets = size_t{1} << kBits;
  buffer.resize(docs.size());
  count.resize(kBuckets + 1);
  for (int shift = 0; (longest >> shift) > 0; shift += kBits) {
    std::fill(count.begin(), count.end(), 0);
    // Longest first: bucket by the complement of the digit.
    auto digit = [&](const Document& d) {
      return kBuckets - 1 - static_cast<size_t>((d.tokens >> shift) & (kBuckets - 1));
    };
    for (const Document& d : docs) ++count[digit(d) + 1];
    for (size_t b = 1; b <= kBuckets; ++b) count[b] += count[b - 1];
    for (const Document& d : docs) buffer[count[digit(d)]++] = d;
    docs.swap(buffer);
  }
}

nlohmann::json DocsJson(const std::vector<Document>& docs) {
  nlohmann::json out = nlohmann::json::array();
  for (const Document& d : docs) out.push_back({d.id, d.tokens, d.arrived});
  return out;
}

// A saved state must be an object naming the packer it came from.
Status CheckState(const nlohmann::json& s, std::string_view packer) {
  if (!s.is_object() || !s.contains("packer") || !s["packer"].is_string() ||
      s["packer"].get<std::string>() != packer) {
    return Status::Parse(fmt::format("packer state: not a saved state of the {} packer", packer));
  }
  return Status::Ok();
}

Result<std::vector<Document>> DocsFrom(const nlohmann::json& j) {
  std::vector<Document> docs;
  if (!j.is_array()) return Status::Parse("packer state: expected a list of [id, tokens, arrived]");
  for (const auto& d : j) {
    if (!d.is_array() || d.size() != 3 || !d[0].is_number_integer() || !d[1].is_number_integer() ||
        !d[2].is_number_integer() || d[1].get<int64_t>() < 1)
      return Status::Parse("packer state: expected [id, tokens >= 1, arrived], integers");
    docs.push_back({d[0].get<int64_t>(), d[1].get<int64_t>(), d[2].get<int64_t>()});
  }
  return docs;
}

class Original : public Packer {
 public:
  explicit Original(const PackerOptions& o) : o_(o) {}
  std::string_view name() const override { return "original"; }
  void PackInto(const std::vector<Document>& incoming, int64_t,
                std::vector<MicroBatch>& out) override {
    buffer_.insert(buffer_.end(), incoming.begin(), incoming.end());
    EmptyBatches(out, static_cast<size_t>(o_.microbatches));
    size_t at = 0;
    for (MicroBatch& mb : out) {
      int64_t room = o_.context;
      while (room > 0 && at < buffer_.size()) {
        Document& d = buffer_[at];
        if (d.tokens <= room) {
          mb.push_back(d);
          room -= d.tokens;
          ++at;
        } else {
          mb.push_back({d.id, room, d.arrived});
          d.tokens -= room;
          room = 0;
        }
      }
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at));
  }
  size_t Pending() const override { return buffer_.size(); }
  nlohmann::json SaveState() const override {
    return {{"packer", "original"}, {"buffer", DocsJson(buffer_)}};
  }
  Status RestoreState(const nlohmann::json& s) override {
    SP_RETURN_IF_ERROR(CheckState(s, name()));
    SP_ASSIGN_OR_RETURN(buffer_, DocsFrom(s.value("buffer", nlohmann::json::array())));
    return Status::Ok();
  }
  PackerSetting Setting() const override { return {{}, o_.context}; }

 private:
  PackerOptions o_;
  std::vector<Document> buffer_;
};

// greedy, ffd, bfd: whole documents into micro-batches of capacity `context`.
class FixedCapacity : public Packer {
 public:
  enum Rule { kGreedy, kFirstFit, kBestFit };
  FixedCapacity(const PackerOptions& o, Rule rule) : o_(o), rule_(rule) {}
  std::string_view name() const override {
    return rule_ == kGreedy ? "greedy" : rule_ == kFirstFit ? "ffd" : "bfd";
  }
  void PackInto(const std::vector<Document>& incoming, int64_t,
                std::vector<MicroBatch>& out) override {
    std::vector<Document> pool = std::move(leftovers_);
    leftovers_.clear();
    pool.insert(pool.end(), incoming.begin(), incoming.end());
    std::sort(pool.begin(), pool.end(), Longer);
    EmptyBatches(out, static_cast<size_t>(o_.microbatches));
    std::vector<int64_t> used(out.size(), 0);
    for (const Document& d : pool) {
      int best = -1;
      for (size_t i = 0; i < out.size(); ++i) {
        if (used[i] + d.tokens > o_.context) continue;
        if (best < 0) {
          best = static_cast<int>(i);
          if (rule_ == kFirstFit) break;
          continue;
        }
        bool better = rule_ == kGreedy ? used[i] < used[static_cast<size_t>(best)]
                                       : used[i] > used[static_cast<size_t>(best)];
        if (better) best = static_cast<int>(i);
      }
      if (best < 0) {
        leftovers_.push_back(d);
        continue;
      }
      out[static_cast<size_t>(best)].push_back(d);
      used[static_cast<size_t>(best)] += d.tokens;
    }
  }
  size_t Pending() const override { return leftovers_.size(); }
  nlohmann::json SaveState() const override {
    return {{"packer", std::string(name())}, {"leftovers", DocsJson(leftovers_)}};
  }
  Status RestoreState(const nlohmann::json& s) override {
    SP_RETURN_IF_ERROR(CheckState(s, name()));
    SP_ASSIGN_OR_RETURN(leftovers_, DocsFrom(s.value("leftovers", nlohmann::json::array())));
    return Status::Ok();
  }
  PackerSetting Setting() const override { return {{}, o_.context}; }

 private:
  PackerOptions o_;
  Rule rule_;
  std::vector<Document> leftovers_;
};

// WLB-LLM with fixed bands and s_max (the adaptive packer below re-chooses them).
class Wlb : public Packer {
 public:
  Wlb(const PackerOptions& o, const WorkloadModel& w) : o_(o), w_(w) {
    if (o_.s_max <= 0) o_.s_max = o_.context;
    if (o_.thresholds.empty()) o_.thresholds = {o_.context / 2};
    std::sort(o_.thresholds.begin(), o_.thresholds.end());
    queues_.resize(o_.thresholds.size());
  }
  std::string_view name() const override { return "wlb"; }
  PackerSetting Setting() const override { return {o_.thresholds, o_.s_max}; }
  // Calls f(document) for every document held for a later iteration.
  template <class F>
  void ForEachHeld(F f) const {
    for (const Document& d : leftovers_) f(d);
    for (const auto& q : queues_)
      for (const Document& d : q) f(d);
  }

  // Moves to new bands and s_max: queued outliers go to their new band in arrival order, those
  // under the new lowest threshold join the leftovers (ahead of new documents, as leftovers are).
  void Rebucket(std::vector<int64_t> thresholds, int64_t s_max) {
    std::vector<Document> held;
    for (const auto& q : queues_) held.insert(held.end(), q.begin(), q.end());
    std::sort(held.begin(), held.end(), [](const Document& a, const Document& b) {
      return a.arrived != b.arrived ? a.arrived < b.arrived : a.id < b.id;
    });
    o_.thresholds = std::move(thresholds);
    o_.s_max = s_max;
    queues_.assign(o_.thresholds.size(), {});
    for (const Document& d : held) Route(d, leftovers_);
  }

  void PackInto(const std::vector<Document>& incoming, int64_t iteration,
                std::vector<MicroBatch>& out) override {
    size_t n = static_cast<size_t>(o_.microbatches);
    EmptyBatches(out, n);
    const size_t expected = 2 * (incoming.size() + leftovers_.size()) / n + 4;
    for (MicroBatch& mb : out) mb.reserve(expected);
    // Scratch kept across calls (members), so that a stream of iterations does not allocate.
    std::vector<int64_t>& tokens = tokens_;
    std::vector<double>& work = work_;
    tokens.assign(n, 0);
    work.assign(n, 0);
    bool draining = incoming.empty();
    std::vector<Document>& regular = regular_;
    regular.clear();
    regular.reserve(incoming.size());
    for (const Document& d : incoming) Route(d, regular);
    // The least-loaded bin and the bin with the fewest tokens (ties: the lower index), each from a
    // binary heap: O(log n) per placed document.
    MinHeap<double>& by_work = by_work_;
    by_work.Reset(work);
    // Built when first needed: with s_max above the average micro-batch, the least-loaded bin
    // nearly always has room.
    bool by_tokens_built = false;
    auto add = [&](size_t bin, const Document& d) {
      out[bin].push_back(d);
      tokens[bin] += d.tokens;
      work[bin] += w_.Total(static_cast<double>(d.tokens));
      by_work.Grew(bin, work[bin]);
      if (by_tokens_built) by_tokens_.Grew(bin, tokens[bin]);
    };
    auto place = [&](const Document& d) -> bool {
      size_t least = by_work.Best();
      if (tokens[least] + d.tokens <= o_.s_max) {
        add(least, d);
        return true;
      }
      if (!by_tokens_built) {
        by_tokens_.Reset(tokens);
        by_tokens_built = true;
      }
      size_t fewest = by_tokens_.Best();
      if (tokens[fewest] + d.tokens > o_.s_max) return false;
      add(fewest, d);
      return true;
    };
    // Outlier bands, longest band first: a full queue (N documents) spreads one per micro-batch.
    for (size_t b = queues_.size(); b-- > 0;) {
      std::deque<Document>& q = queues_[b];
      auto overdue = [&] {
        return o_.max_wait > 0 && !q.empty() && iteration - q.front().arrived >= o_.max_wait;
      };
      while (q.size() >= n || ((draining || overdue()) && !q.empty())) {
        size_t take = std::min(q.size(), n);
        // The wave's queue positions, longest document first (equal documents in queue order).
        std::vector<size_t> wave(take);
        std::iota(wave.begin(), wave.end(), size_t{0});
        std::stable_sort(wave.begin(), wave.end(),
                         [&](size_t x, size_t y) { return Longer(q[x], q[y]); });
        size_t placed = 0;
        for (size_t at : wave) {
          if (!place(q[at])) break;
          ++placed;
        }
        // Placed documents leave the queue (by position: ids need not be unique); the others keep
        // their places at its front.
        std::vector<bool> gone(take, false);
        for (size_t i = 0; i < placed; ++i) gone[wave[i]] = true;
        std::vector<Document> kept;
        for (size_t i = 0; i < take; ++i) {
          if (!gone[i]) kept.push_back(q.front());
          q.pop_front();
        }
        q.insert(q.begin(), kept.begin(), kept.end());
        if (placed < take) break;
      }
    }
    // The rest: last iteration's leftovers first, then the new documents, each longest first.
    std::vector<Document>& order = order_;
    order.assign(leftovers_.begin(), leftovers_.end());
    leftovers_.clear();
    std::sort(order.begin(), order.end(), Longer);
    SortLongestFirst(regular, sort_buffer_, sort_count_);
    order.insert(order.end(), regular.begin(), regular.end());
    for (const Document& d : order) {
      if (!place(d)) leftovers_.push_back(d);
    }
  }
  size_t Pending() const override {
    size_t p = leftovers_.size();
    for (const auto& q : queues_) p += q.size();
    return p;
  }
  nlohmann::json SaveState() const override {
    nlohmann::json queues = nlohmann::json::array();
    for (const auto& q : queues_)
      queues.push_back(DocsJson(std::vector<Document>(q.begin(), q.end())));
    return {{"packer", "wlb"},
            {"thresholds", o_.thresholds},
            {"s_max", o_.s_max},
            {"leftovers", DocsJson(leftovers_)},
            {"queues", queues}};
  }
  Status RestoreState(const nlohmann::json& s) override {
    SP_RETURN_IF_ERROR(CheckState(s, "wlb"));
    if (s.contains("thresholds") &&
        (s["thresholds"] != nlohmann::json(o_.thresholds) ||
         s.value("s_max", nlohmann::json()) != nlohmann::json(o_.s_max))) {
      return Status::Invalid(fmt::format(
          "packer state: saved with thresholds {} and s_max {}; this packer has {} and {}",
          s["thresholds"].dump(), s.value("s_max", nlohmann::json()).dump(),
          nlohmann::json(o_.thresholds).dump(), o_.s_max));
    }
    SP_ASSIGN_OR_RETURN(std::vector<Document> leftovers,
                        DocsFrom(s.value("leftovers", nlohmann::json::array())));
    const nlohmann::json& queues = s.value("queues", nlohmann::json::array());
    if (!queues.is_array() || queues.size() != queues_.size()) {
      return Status::Invalid(fmt::format("packer state has {} queues; the packer has {} thresholds",
                                         queues.is_array() ? queues.size() : 0, queues_.size()));
    }
    std::vector<std::deque<Document>> restored;
    for (size_t i = 0; i < queues_.size(); ++i) {
      SP_ASSIGN_OR_RETURN(std::vector<Document> docs, DocsFrom(queues[i]));
      restored.emplace_back(docs.begin(), docs.end());
    }
    leftovers_ = std::move(leftovers);  // nothing changes until the whole state has been read
    queues_ = std::move(restored);
    return Status::Ok();
  }

 private:
  // An outlier joins the queue of its band (the highest threshold it reaches); a shorter
  // document goes to `regular`.
  void Route(const Document& d, std::vector<Document>& regular) {
    int band = -1;
    for (size_t i = 0; i < o_.thresholds.size(); ++i) {
      if (d.tokens >= o_.thresholds[i]) band = static_cast<int>(i);
    }
    if (band < 0) {
      regular.push_back(d);
    } else {
      queues_[static_cast<size_t>(band)].push_back(d);
    }
  }

  PackerOptions o_;
  WorkloadModel w_;
  std::vector<std::deque<Document>> queues_;
  std::vector<Document> leftovers_;
  // Scratch of PackInto (no state: nothing in them outlives a call).
  std::vector<int64_t> tokens_;
  std::vector<double> work_;
  std::vector<Document> regular_, order_, sort_buffer_;
  std::vector<size_t> sort_count_;
  MinHeap<double> by_work_;
  MinHeap<int64_t> by_tokens_;
};

// Replays recorded iterations through a fixed-band WLB packer from empty queues: the mean layer
// imbalance and the token-weighted mean delay, counting what is still held at the end as delayed
// until then (a lower bound on its delay).
struct Replay {
  double imbalance = 0;
  double delay = 0;
};
Replay ReplaySetting(const std::deque<std::vector<Document>>& history, const PackerOptions& o,
                     const WorkloadModel& w) {
  Wlb packer(o, w);
  Replay r;
  double delay_tokens = 0, tokens = 0;
  int64_t end = 0;
  std::vector<MicroBatch> batch;
  for (const std::vector<Document>& incoming : history) {
    int64_t it = incoming.front().arrived;
    end = it + 1;
    packer.PackInto(incoming, it, batch);
    IterationStats s = Measure(batch, w, it);
    r.imbalance += s.imbalance_layer;
    delay_tokens += s.mean_delay_iterations * s.mean_tokens;
    tokens += s.mean_tokens;
  }
  r.imbalance /= static_cast<double>(std::max<size_t>(1, history.size()));
  // Measure's mean_tokens is per micro-batch: weigh the held documents the same way.
  double n = static_cast<double>(o.microbatches);
  packer.ForEachHeld([&](const Document& d) {
    delay_tokens += static_cast<double>(end - d.arrived) * static_cast<double>(d.tokens) / n;
    tokens += static_cast<double>(d.tokens) / n;
  });
  r.delay = tokens > 0 ? delay_tokens / tokens : 0;
  return r;
}

// WLB-LLM with its bands and s_max re-chosen online (balance.h states the rule).
class AdaptiveWlb : public Packer {
 public:
  static constexpr int64_t kGridSteps = 16;  // thresholds on multiples of cap / 16
  static constexpr int64_t kMaxBands = 4;
  // The replayed delay must stay within budget_scale_ x max_mean_delay. A replay from empty queues
  // misjudges the live delay (it does not see the queues it starts without, and charges what it
  // holds at its end only until then), so the scale follows the live delay: it starts at
  // kInitialScale and moves by sqrt(kLiveTarget x max_mean_delay / live delay) at each choice,
  // within [kMinScale, kMaxScale]. The live delay is the tokens held after each iteration over the
  // tokens packed (Little's law: the token-weighted mean delay as it accrues), both decayed by 1 /
  // (4 x adapt_window) per iteration.
  static constexpr double kInitialScale = 0.85, kMinScale = 0.5, kMaxScale = 1.5;
  static constexpr double kLiveTarget = 0.85;       // of max_mean_delay: the live delay aimed at
  static constexpr double kSmaxPreference = 0.005;  // imbalance given up for a smaller s_max
  static constexpr double kHysteresis = 0.002;      // imbalance a move must gain

  AdaptiveWlb(const PackerOptions& o, const WorkloadModel& w) : o_(o), w_(w), live_(o, w) {
    cap_ = o_.s_max > 0 ? std::min(o_.context, o_.s_max) : o_.context;
    limit_ = o_.s_max > 0
                 ? o_.s_max
                 : static_cast<int64_t>(kAdaptiveSmaxLimit * static_cast<double>(o_.context));
    grid_ = std::max<int64_t>(1, cap_ / kGridSteps);
    if (o_.max_wait <= 0) {
      o_.max_wait = std::max<int64_t>(
          1, static_cast<int64_t>(std::lround(kAdaptiveMaxWait * o_.max_mean_delay)));
    }
    max_quarters_ = std::max<int64_t>(0, (limit_ - cap_) / std::max<int64_t>(1, cap_ / 4));
    current_ = {kGridSteps / 2, 1, max_quarters_};
    live_ = Wlb(Options(current_), w_);
  }
  std::string_view name() const override { return "wlb"; }
  PackerSetting Setting() const override { return live_.Setting(); }
  size_t Pending() const override { return live_.Pending(); }

  void PackInto(const std::vector<Document>& incoming, int64_t iteration,
                std::vector<MicroBatch>& out) override {
    if (!incoming.empty()) {
      // Only the adapt_window iterations before a choice are replayed: record just those.
      if (Period() - ++since_choice_ < Window()) {
        std::vector<Document> record = incoming;
        for (Document& d : record) d.arrived = iteration;
        history_.push_back(std::move(record));
        if (static_cast<int64_t>(history_.size()) > Window()) history_.pop_front();
      }
      if (since_choice_ >= Period() && static_cast<int64_t>(history_.size()) == Window()) {
        Choose();
        since_choice_ = 0;
      }
    }
    live_.PackInto(incoming, iteration, out);
    double decay = 1.0 - 1.0 / (4.0 * static_cast<double>(o_.adapt_window));
    live_delay_tokens_ *= decay;
    live_tokens_ *= decay;
    // Little's law: every token still held after this iteration has waited one more iteration.
    live_.ForEachHeld(
        [&](const Document& d) { live_delay_tokens_ += static_cast<double>(d.tokens); });
    for (const MicroBatch& mb : out)
      for (const Document& d : mb) live_tokens_ += static_cast<double>(d.tokens);
  }

  nlohmann::json SaveState() const override {
    nlohmann::json history = nlohmann::json::array();
    for (const auto& it : history_) history.push_back(DocsJson(it));
    return {{"packer", "wlb"},
            {"mode", "adaptive"},
            {"setting", {current_.theta_steps, current_.bands, current_.smax_quarters}},
            {"since_choice", since_choice_},
            {"budget_scale", budget_scale_},
            {"live_delay_tokens", live_delay_tokens_},
            {"live_tokens", live_tokens_},
            {"history", history},
            {"live", live_.SaveState()}};
  }
  Status RestoreState(const nlohmann::json& s) override {
    SP_RETURN_IF_ERROR(CheckState(s, "wlb"));
    if (!s.contains("mode") || s["mode"] != "adaptive" || !s.contains("setting") ||
        !s["setting"].is_array() || s["setting"].size() != 3 || !s.contains("live") ||
        !s.contains("history") || !s["history"].is_array()) {
      return Status::Parse(
          "packer state: not an adaptive wlb state (expected mode, setting, history, live)");
    }
    Setting3 setting;
    for (const auto& v : s["setting"])
      if (!v.is_number_integer()) return Status::Parse("packer state: setting must be integers");
    setting = {s["setting"][0].get<int64_t>(), s["setting"][1].get<int64_t>(),
               s["setting"][2].get<int64_t>()};
    if (!Valid(setting)) {
      return Status::Invalid(fmt::format("packer state: setting {} is outside this packer's range",
                                         s["setting"].dump()));
    }
    std::deque<std::vector<Document>> history;
    for (const auto& it : s["history"]) {
      SP_ASSIGN_OR_RETURN(std::vector<Document> docs, DocsFrom(it));
      if (docs.empty()) return Status::Parse("packer state: an empty history iteration");
      history.push_back(std::move(docs));
    }
    if (static_cast<int64_t>(history.size()) > Window())
      return Status::Invalid("packer state: a longer history than adapt_window");
    Wlb live(Options(setting), w_);
    SP_RETURN_IF_ERROR(live.RestoreState(s["live"]));
    auto number = [&](const char* key, double low, double high) -> Result<double> {
      if (!s.contains(key) || !s[key].is_number() || !(s[key].get<double>() >= low) ||
          !(s[key].get<double>() <= high)) {
        return Status::Parse(
            fmt::format("packer state: {} must be a number from {} to {}", key, low, high));
      }
      return s[key].get<double>();
    };
    SP_ASSIGN_OR_RETURN(double since, number("since_choice", 0, static_cast<double>(Period())));
    SP_ASSIGN_OR_RETURN(double scale, number("budget_scale", kMinScale, kMaxScale));
    SP_ASSIGN_OR_RETURN(double held, number("live_delay_tokens", 0, 1e30));
    SP_ASSIGN_OR_RETURN(double packed, number("live_tokens", 0, 1e30));
    if (!s["since_choice"].is_number_integer())
      return Status::Parse("packer state: since_choice must be an integer");
    // Nothing changes until the whole state has been read.
    current_ = setting;
    history_ = std::move(history);
    since_choice_ = static_cast<int64_t>(since);
    budget_scale_ = scale;
    live_delay_tokens_ = held;
    live_tokens_ = packed;
    live_ = std::move(live);
    return Status::Ok();
  }

 private:
  struct Setting3 {
    int64_t theta_steps = 0;    // lowest threshold, in grid steps
    int64_t bands = 1;          // spread evenly from the lowest threshold to cap
    int64_t smax_quarters = 0;  // s_max = cap + quarters * cap / 4
    bool operator==(const Setting3&) const = default;
  };
  // Iterations between choices: adapt_window, times N / 4 above 4 micro-batches. Iterations
  // replayed: adapt_window, fewer above 16 micro-batches (adapt_window x 16 / N, at least 8), so
  // that a replay covers about the same number of micro-batches. A large global batch holds many
  // documents per iteration; both keep the replays (up to seven settings) a small fraction of the
  // packing (at N = 128: 7 x 8 replayed iterations per 1,024 packed).
  int64_t Period() const { return o_.adapt_window * std::max<int64_t>(1, o_.microbatches / 4); }
  int64_t Window() const {
    return std::clamp<int64_t>(o_.adapt_window * 16 / o_.microbatches,
                               std::min<int64_t>(8, o_.adapt_window), o_.adapt_window);
  }
  bool Valid(const Setting3& c) const {
    return c.theta_steps >= 2 && c.theta_steps <= kGridSteps - 1 && c.bands >= 1 &&
           c.bands <= kMaxBands && c.smax_quarters >= 0 && c.smax_quarters <= max_quarters_;
  }
  PackerOptions Options(const Setting3& c) const {
    PackerOptions o = o_;
    int64_t theta = c.theta_steps * grid_;
    o.thresholds.clear();
    for (int64_t j = 0; j < c.bands; ++j) {
      int64_t t = (theta + j * (cap_ - theta) / c.bands) / grid_ * grid_;
      if (t >= 1 && (o.thresholds.empty() || t > o.thresholds.back())) o.thresholds.push_back(t);
    }
    o.s_max = c.smax_quarters == max_quarters_ ? limit_ : cap_ + c.smax_quarters * (cap_ / 4);
    return o;
  }
  void Choose() {
    std::vector<Setting3> candidates = {current_};
    for (int64_t step : {-1, 1}) {
      for (Setting3 c :
           {Setting3{current_.theta_steps + step, current_.bands, current_.smax_quarters},
            Setting3{current_.theta_steps, current_.bands + step, current_.smax_quarters},
            Setting3{current_.theta_steps, current_.bands, current_.smax_quarters + step}}) {
        if (Valid(c) && Options(c).thresholds != Options(current_).thresholds)
          candidates.push_back(c);
        else if (Valid(c) && c.smax_quarters != current_.smax_quarters)
          candidates.push_back(c);
      }
    }
    std::vector<Replay> scores;
    for (const Setting3& c : candidates) scores.push_back(ReplaySetting(history_, Options(c), w_));
    if (live_tokens_ > 0) {
      double live = live_delay_tokens_ / live_tokens_;
      budget_scale_ = std::clamp(
          budget_scale_ * std::sqrt(kLiveTarget * o_.max_mean_delay / std::max(live, 1e-3)),
          kMinScale, kMaxScale);
    }
    const double budget = budget_scale_ * o_.max_mean_delay;
    size_t best = 0;
    bool any_within = false;
    double best_imbalance = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (scores[i].delay <= budget) {
        any_within = true;
        best_imbalance = std::min(best_imbalance, scores[i].imbalance);
      }
    }
    for (size_t i = 1; i < candidates.size(); ++i) {
      const Replay& a = scores[i];
      const Replay& b = scores[best];
      bool better;
      if (!any_within) {
        better = a.delay < b.delay;
      } else if (a.delay > budget) {
        better = false;
      } else if (b.delay > budget) {
        better = true;
      } else {
        bool a_near = a.imbalance <= best_imbalance + kSmaxPreference;
        bool b_near = b.imbalance <= best_imbalance + kSmaxPreference;
        better = a_near != b_near ? a_near
                 : candidates[i].smax_quarters != candidates[best].smax_quarters
                     ? candidates[i].smax_quarters < candidates[best].smax_quarters
                     : a.imbalance < b.imbalance;
      }
      if (better) best = i;
    }
    if (best == 0) return;
    const Replay& now = scores[0];
    const Replay& next = scores[best];
    // A smaller s_max may cost up to kSmaxPreference; a larger one must gain that much more than
    // any other move, or the two would undo each other choice after choice.
    const int64_t smax_change = candidates[best].smax_quarters - current_.smax_quarters;
    const double gain_needed = kHysteresis + (smax_change > 0 ? kSmaxPreference : 0.0);
    bool move = now.delay > budget
                    ? next.delay < now.delay
                    : next.imbalance < now.imbalance - gain_needed ||
                          (smax_change < 0 && next.imbalance <= now.imbalance + kSmaxPreference);
    if (!move) return;
    current_ = candidates[best];
    PackerOptions o = Options(current_);
    live_.Rebucket(o.thresholds, o.s_max);
  }

  PackerOptions o_;
  WorkloadModel w_;
  int64_t cap_ = 0, limit_ = 0, grid_ = 1, max_quarters_ = 0;
  Setting3 current_;
  Wlb live_;
  std::deque<std::vector<Document>> history_;  // the last adapt_window iterations' documents
  int64_t since_choice_ = 0;
  double budget_scale_ = kInitialScale;
  double live_delay_tokens_ = 0, live_tokens_ = 0;
};

}  // namespace

const std::vector<PackerInfo>& Packers() {
  using Made = Result<std::unique_ptr<Packer>>;
  static const std::vector<PackerInfo> packers = {
      {"original",
       "concatenate and cut into context-length micro-batches (documents split at boundaries)",
       [](const PackerOptions& o, const WorkloadModel&) -> Made {
         return std::unique_ptr<Packer>(new Original(o));
       }},
      {"greedy",
       "longest first, each to the micro-batch with the fewest tokens (capacity = context)",
       [](const PackerOptions& o, const WorkloadModel&) -> Made {
         return std::unique_ptr<Packer>(new FixedCapacity(o, FixedCapacity::kGreedy));
       }},
      {"ffd", "first-fit decreasing (capacity = context)",
       [](const PackerOptions& o, const WorkloadModel&) -> Made {
         return std::unique_ptr<Packer>(new FixedCapacity(o, FixedCapacity::kFirstFit));
       }},
      {"bfd", "best-fit decreasing (capacity = context)",
       [](const PackerOptions& o, const WorkloadModel&) -> Made {
         return std::unique_ptr<Packer>(new FixedCapacity(o, FixedCapacity::kBestFit));
       }},
      {"wlb",
       "WLB-LLM: outlier queues per length band, least-workload placement under s_max; bands "
       "and s_max adapt online unless thresholds fix them",
       [](const PackerOptions& o, const WorkloadModel& w) -> Made {
         if (!o.thresholds.empty()) return std::unique_ptr<Packer>(new Wlb(o, w));
         if (std::min(o.context, o.s_max > 0 ? o.s_max : o.context) < 16) {
           return Status::Invalid(fmt::format(
               "packer.context = {}, packer.s_max = {}: adaptive bands need micro-batches of at "
               "least 16 tokens (allowed: 16 or more, or fixed thresholds)",
               o.context, o.s_max));
         }
         return std::unique_ptr<Packer>(new AdaptiveWlb(o, w));
       }}};
  return packers;
}

Status CheckGivenPackerKeys(const std::string& packer,
                            const std::function<bool(std::string_view)>& given,
                            const std::function<std::string(std::string_view)>& name) {
  const bool wlb = packer == "wlb", adaptive = wlb && !given("thresholds");
  for (const char* key : {"max_mean_delay", "adapt_window"}) {
    if (given(key) && !adaptive) {
      return Status::Invalid(name(key) +
                             " applies to the adaptive wlb packer (allowed: with packer wlb "
                             "and no thresholds)")
          .WithKey(std::string("packer.") + key);
    }
  }
  // The other packers fill micro-batches of `context` tokens: s_max and the bands are wlb's.
  for (const char* key : {"max_wait", "s_max", "thresholds"}) {
    if (given(key) && !wlb) {
      return Status::Invalid(name(key) + " applies to the wlb packer (allowed: with packer wlb)")
          .WithKey(std::string("packer.") + key);
    }
  }
  return Status::Ok();
}

const spec::Schema<PackerOptions>& PackerSchema() {
  static const spec::Schema<PackerOptions> schema = [] {
    constexpr int64_t kMaxTokens = int64_t{1} << 40;  // keeps N * context far from overflow
    spec::Schema<PackerOptions> s("packer");
    s.Integer("microbatches", &PackerOptions::microbatches, 1, int64_t{1} << 20, "",
              "micro-batches per iteration (N)");
    s.Integer("context", &PackerOptions::context, 1, kMaxTokens, "tokens",
              "tokens per micro-batch of the fixed-length packers");
    s.Integer("s_max", &PackerOptions::s_max, 0, kMaxTokens, "tokens",
              "wlb: most tokens in a micro-batch, the activation-memory bound (0: with "
              "thresholds the context; adaptive up to 1.5 x the context)",
              "smax");
    spec::FieldInfo thresholds{"thresholds",
                               "thresholds",
                               spec::ValueKind::kList,
                               "tokens",
                               "wlb: fixed outlier length bands, e.g. 65536,98304 (none: chosen "
                               "online from the stream)",
                               "distinct lengths from 1 to 2^40 (in any order)",
                               ""};
    s.Custom(
        thresholds,
        [thresholds](PackerOptions& o, const spec::RawValue& value) -> Status {
          if (value.quoted) {
            return spec::FieldError("packer", thresholds, value, "is quoted text, not lengths");
          }
          std::vector<std::string> items =
              value.is_list ? value.items : SplitAndTrim(value.text, ',');
          std::vector<int64_t> lengths;
          for (const std::string& item : items) {
            Result<int64_t> v = ParseInteger(item);
            if (!v.ok() || *v < 1 || *v > kMaxTokens) {
              return spec::FieldError("packer", thresholds, value, "is not a list of lengths");
            }
            lengths.push_back(*v);
          }
          if (lengths.empty()) {
            return spec::FieldError("packer", thresholds, value, "names no length");
          }
          // Bands in any order; a repeated length is likely a typo for another band, refused
          // as every other list of counts refuses one.
          std::sort(lengths.begin(), lengths.end());
          if (auto twice = std::adjacent_find(lengths.begin(), lengths.end());
              twice != lengths.end()) {
            return spec::FieldError("packer", thresholds, value,
                                    fmt::format("lists {} twice", *twice));
          }
          o.thresholds = lengths;
          return Status::Ok();
        },
        [](const PackerOptions& o) { return nlohmann::json(o.thresholds); });
    s.Integer("max_wait", &PackerOptions::max_wait, 0, 1000000, "iterations",
              "wlb: iterations an outlier may wait before a partial wave goes out (0: none with "
              "thresholds, 16 x max_mean_delay adaptive)");
    s.Number("max_mean_delay", &PackerOptions::max_mean_delay, 1e-6, 1000, "iterations",
             "wlb adaptive: token-weighted mean delay budget");
    s.Integer("adapt_window", &PackerOptions::adapt_window, 4, 4096, "iterations",
              "wlb adaptive: iterations replayed per re-choice of bands and s_max");
    return s;
  }();
  return schema;
}

Result<std::unique_ptr<Packer>> MakePacker(std::string_view name, const PackerOptions& o,
                                           const WorkloadModel& w) {
  SP_RETURN_IF_ERROR(PackerSchema().CheckValues(o));
  for (int64_t t : o.thresholds) {
    if (t < 1)
      return Status::Invalid(fmt::format("packer.thresholds: {} (allowed: lengths >= 1)", t));
  }
  std::vector<std::string> names;
  for (const PackerInfo& p : Packers()) {
    if (p.name == name) return p.make(o, w);
    names.push_back(p.name);
  }
  return Status::Invalid(
      fmt::format("packer = {} is not a known packer (allowed: {})", name, Join(names, ", ")));
}

IterationStats Measure(const std::vector<MicroBatch>& batch, const WorkloadModel& w,
                       int64_t iteration) {
  IterationStats s;
  s.iteration = iteration;
  double attn_max = 0, attn_sum = 0, layer_max = 0, layer_sum = 0, tokens_sum = 0, delay_tokens = 0;
  for (const MicroBatch& mb : batch) {
    double attn = 0, layer = 0;
    int64_t tokens = 0;
    for (const Document& d : mb) {
      attn += w.Attention(static_cast<double>(d.tokens));
      layer += w.Total(static_cast<double>(d.tokens));
      tokens += d.tokens;
      int64_t delay = iteration - d.arrived;
      delay_tokens += static_cast<double>(delay) * static_cast<double>(d.tokens);
      s.max_delay_iterations = std::max(s.max_delay_iterations, delay);
      ++s.documents;
    }
    attn_max = std::max(attn_max, attn);
    attn_sum += attn;
    layer_max = std::max(layer_max, layer);
    layer_sum += layer;
    s.max_tokens = std::max(s.max_tokens, tokens);
    tokens_sum += static_cast<double>(tokens);
  }
  double n = static_cast<double>(std::max<size_t>(1, batch.size()));
  s.imbalance_attention = attn_sum > 0 ? attn_max / (attn_sum / n) : 1.0;
  s.imbalance_layer = layer_sum > 0 ? layer_max / (layer_sum / n) : 1.0;
  s.mean_tokens = tokens_sum / n;
  for (const MicroBatch& mb : batch) s.padding_tokens += s.max_tokens - Tokens(mb);
  s.mean_delay_iterations = tokens_sum > 0 ? delay_tokens / tokens_sum : 0.0;
  return s;
}

namespace {

// Tokens still to emit of consecutive pieces (ids base, base + 1, ...), from the oldest piece not
// yet wholly emitted to the newest read: a ring buffer of power-of-two capacity that doubles when
// full. Emit and Push are O(1) amortized.
class PieceWindow {
 public:
  void Push(int64_t tokens) {
    if (size_ == left_.size()) Grow();
    left_[(head_ + size_) & (left_.size() - 1)] = tokens;
    ++size_;
  }
  // `tokens` of piece `id` leave; true when that was its last part. A piece the window does not
  // hold (never read, or already wholly emitted) counts nothing.
  bool Emit(int64_t id, int64_t tokens) {
    if (id < base_ || id - base_ >= static_cast<int64_t>(size_)) return false;
    const size_t at = static_cast<size_t>(id - base_);
    int64_t& left = left_[(head_ + at) & (left_.size() - 1)];
    left -= tokens;
    const bool done = left == 0;
    while (size_ > 0 && left_[head_] == 0) {
      head_ = (head_ + 1) & (left_.size() - 1);
      --size_;
      ++base_;
    }
    return done;
  }

 private:
  void Grow() {
    std::vector<int64_t> bigger(std::max<size_t>(1024, 2 * left_.size()));
    for (size_t i = 0; i < size_; ++i) bigger[i] = left_[(head_ + i) & (left_.size() - 1)];
    left_.swap(bigger);
    head_ = 0;
  }
  std::vector<int64_t> left_;
  size_t head_ = 0, size_ = 0;
  int64_t base_ = 0;
};

}  // namespace

PackRun RunPacker(Packer& packer, const std::vector<int64_t>& lengths, const PackerOptions& o,
                  const WorkloadModel& w, int64_t iterations, bool keep_packed) {
  PackRun run;
  run.tokens_by_delay.assign(kDelayBuckets, 0);
  // Loaders cut documents longer than a micro-batch into pieces of at most its length; only the
  // documents the iterations will read are cut (lazily, so a huge corpus costs nothing).
  const int64_t cap = std::max<int64_t>(1, o.s_max > 0 ? std::min(o.context, o.s_max) : o.context);
  // Each iteration reads what its micro-batches can hold: N * min(context, s_max) tokens.
  const int64_t per_iteration = o.microbatches * cap;
  size_t source = 0;
  int64_t source_left = 0;
  // The next piece of the stream, cut from the documents on demand (0 at the end).
  run.cut.at_tokens = cap;
  // What the next piece is: the first of its document, and of a document that was cut.
  bool first_piece = false, of_cut = false;
  auto cut = [&]() -> int64_t {
    first_piece = source_left == 0;
    while (source_left == 0) {
      if (source >= lengths.size()) return 0;
      source_left = lengths[source++];
      of_cut = source_left > cap;
    }
    int64_t piece = std::min(source_left, cap);
    source_left -= piece;
    return piece;
  };
  int64_t lookahead = 0;  // a piece cut but left for the next iteration (0: none)
  bool lookahead_first = false, lookahead_of_cut = false;
  int64_t next = 0;       // the id of the next piece read
  double read_tokens = 0, read_squares = 0;  // of the pieces read: sum d, sum d^2
  // Tokens still to emit of every piece from the oldest unfinished one on, so that a piece a
  // packer emits in parts (original splits at micro-batch boundaries) counts as out once, at its
  // last part. A window, not an array over the corpus: a long run touches no new memory per
  // iteration (page faults were a quarter of the per-iteration time).
  PieceWindow unfinished;
  // Read for `iterations`, then drain until nothing waits (or nothing moves for 4 iterations).
  int64_t idle = 0;
  // Both kept across iterations (the batch only when the run does not keep it), so that a long
  // run does not allocate per iteration.
  std::vector<Document> incoming;
  std::vector<MicroBatch> batch;
  for (int64_t it = 0; it < iterations || (packer.Pending() > 0 && idle < 4); ++it) {
    incoming.clear();
    if (it < iterations) {
      int64_t tokens = 0;
      while (tokens < per_iteration || incoming.empty()) {
        if (lookahead == 0) {
          lookahead = cut();
          lookahead_first = first_piece, lookahead_of_cut = of_cut;
        }
        const int64_t piece = lookahead;
        if (piece == 0 || (tokens + piece > per_iteration && !incoming.empty())) break;
        // The cut counts what the run read: documents and pieces pulled into an iteration.
        run.cut.read += lookahead_first ? 1 : 0;
        run.cut.cut += lookahead_first && lookahead_of_cut ? 1 : 0;
        run.cut.pieces += lookahead_of_cut ? 1 : 0;
        incoming.push_back({next, piece, it});
        unfinished.Push(piece);
        lookahead = 0;
        ++next;
        tokens += piece;
        read_tokens += static_cast<double>(piece);
        read_squares += static_cast<double>(piece) * static_cast<double>(piece);
      }
    }
    if (incoming.empty() && packer.Pending() == 0) break;
    auto start = std::chrono::steady_clock::now();
    packer.PackInto(incoming, it, batch);
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    IterationStats s = Measure(batch, w, it);
    s.pack_time_s = elapsed;
    s.setting = packer.Setting();
    run.iterations.push_back(s);
    idle = s.documents == 0 ? idle + 1 : 0;
    for (const MicroBatch& mb : batch) {
      for (const Document& d : mb) {
        size_t waited = static_cast<size_t>(std::max<int64_t>(0, it - d.arrived));
        run.tokens_by_delay[std::min(waited, kDelayBuckets - 1)] += d.tokens;
        if (unfinished.Emit(d.id, d.tokens)) ++run.documents_out;
      }
    }
    if (keep_packed) {
      run.packed.push_back(std::move(batch));
      batch = {};
    }
  }
  run.documents_in = next;  // pulled from the stream
  run.attention_length_tokens = read_tokens > 0 ? read_squares / read_tokens : 0.0;
  run.pending_at_end = static_cast<int64_t>(packer.Pending());
  // Summary: means over iterations, maxima for the max fields.
  IterationStats& sum = run.summary;
  double n = static_cast<double>(std::max<size_t>(1, run.iterations.size()));
  sum.imbalance_attention = sum.imbalance_layer = sum.mean_tokens = 0;
  double delay_tokens = 0, tokens = 0;
  for (const IterationStats& s : run.iterations) {
    sum.imbalance_attention += s.imbalance_attention / n;
    sum.imbalance_layer += s.imbalance_layer / n;
    sum.mean_tokens += s.mean_tokens / n;
    sum.max_tokens = std::max(sum.max_tokens, s.max_tokens);
    sum.padding_tokens += s.padding_tokens;
    sum.documents += s.documents;
    sum.max_delay_iterations = std::max(sum.max_delay_iterations, s.max_delay_iterations);
    sum.pack_time_s += s.pack_time_s / n;
    sum.setting = s.setting;
    delay_tokens += s.mean_delay_iterations * s.mean_tokens;
    tokens += s.mean_tokens;
  }
  sum.mean_delay_iterations = tokens > 0 ? delay_tokens / tokens : 0;
  return run;
}

Result<std::vector<MicroBatch>> ExactPack(const std::vector<Document>& documents,
                                          const PackerOptions& o, const WorkloadModel& w) {
  if (documents.size() > kExactMaxDocuments) {
    return Status::Invalid(fmt::format("exact packing of {} documents (allowed: at most {})",
                                       documents.size(), kExactMaxDocuments));
  }
  const int64_t cap = o.s_max > 0 ? o.s_max : o.context;
  std::vector<Document> docs = documents;
  std::sort(docs.begin(), docs.end(), Longer);
  size_t n = static_cast<size_t>(o.microbatches);
  std::vector<int64_t> tokens(n, 0), best_assign, assign(docs.size(), -1);
  std::vector<double> work(n, 0);
  double best = std::numeric_limits<double>::infinity();
  std::function<void(size_t, double)> dfs = [&](size_t i, double current_max) {
    if (current_max >= best) return;
    if (i == docs.size()) {
      best = current_max;
      best_assign = assign;
      return;
    }
    double dw = w.Total(static_cast<double>(docs[i].tokens));
    std::vector<std::pair<int64_t, double>> tried;  // equal bins give equal subtrees
    for (size_t b = 0; b < n; ++b) {
      if (tokens[b] + docs[i].tokens > cap) continue;
      std::pair<int64_t, double> state{tokens[b], work[b]};
      if (std::find(tried.begin(), tried.end(), state) != tried.end()) continue;
      tried.push_back(state);
      tokens[b] += docs[i].tokens;
      work[b] += dw;
      assign[i] = static_cast<int64_t>(b);
      dfs(i + 1, std::max(current_max, work[b]));
      tokens[b] -= docs[i].tokens;
      work[b] -= dw;
    }
  };
  dfs(0, 0.0);
  if (best_assign.empty() && !docs.empty()) {
    return Status::Invalid(fmt::format("the {} documents do not fit {} micro-batches of {} tokens",
                                       docs.size(), n, cap));
  }
  std::vector<MicroBatch> out(n);
  for (size_t i = 0; i < docs.size(); ++i)
    out[static_cast<size_t>(best_assign[i])].push_back(docs[i]);
  return out;
}

std::vector<TuningPoint> TuneThresholds(const std::vector<int64_t>& lengths,
                                        const PackerOptions& options, const WorkloadModel& workload,
                                        const std::vector<int64_t>& given,
                                        int64_t iterations) {
  // A length given twice is one candidate (it would repeat rows and pair with itself).
  std::vector<int64_t> candidates = given;
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<std::vector<int64_t>> settings;
  for (size_t i = 0; i < candidates.size(); ++i) {
    settings.push_back({candidates[i]});
    for (size_t j = i + 1; j < candidates.size(); ++j) {
      settings.push_back(
          {std::min(candidates[i], candidates[j]), std::max(candidates[i], candidates[j])});
    }
  }
  std::vector<TuningPoint> out;
  for (const std::vector<int64_t>& t : settings) {
    PackerOptions o = options;
    o.thresholds = t;
    Wlb packer(o, workload);
    PackRun run = RunPacker(packer, lengths, o, workload, iterations, false);
    out.push_back({t, run.summary.imbalance_layer, run.summary.mean_delay_iterations});
  }
  return out;
}

}  // namespace scaleplan::balance
