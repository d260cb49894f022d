// Packers and the packing driver; definitions in balance.h.
#include <fmt/format.h>

#include <algorithm>
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

nlohmann::json DocsJson(const std::vector<Document>& docs) {
  nlohmann::json out = nlohmann::json::array();
  for (const Document& d : docs) out.push_back({d.id, d.tokens, d.arrived});
  return out;
}

Result<std::vector<Document>> DocsFrom(const nlohmann::json& j) {
  std::vector<Document> docs;
  if (!j.is_array()) return Status::Parse("packer state: expected a list of [id, tokens, arrived]");
  for (const auto& d : j) {
    if (!d.is_array() || d.size() != 3)
      return Status::Parse("packer state: expected [id, tokens, arrived]");
    docs.push_back({d[0].get<int64_t>(), d[1].get<int64_t>(), d[2].get<int64_t>()});
  }
  return docs;
}

class Original : public Packer {
 public:
  explicit Original(const PackerOptions& o) : o_(o) {}
  std::string_view name() const override { return "original"; }
  std::vector<MicroBatch> Pack(std::vector<Document> incoming, int64_t) override {
    buffer_.insert(buffer_.end(), incoming.begin(), incoming.end());
    std::vector<MicroBatch> out(static_cast<size_t>(o_.microbatches));
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
    return out;
  }
  size_t Pending() const override { return buffer_.size(); }
  nlohmann::json SaveState() const override {
    return {{"packer", "original"}, {"buffer", DocsJson(buffer_)}};
  }
  Status RestoreState(const nlohmann::json& s) override {
    SP_ASSIGN_OR_RETURN(buffer_, DocsFrom(s.value("buffer", nlohmann::json::array())));
    return Status::Ok();
  }

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
  std::vector<MicroBatch> Pack(std::vector<Document> incoming, int64_t) override {
    std::vector<Document> pool = std::move(leftovers_);
    leftovers_.clear();
    pool.insert(pool.end(), incoming.begin(), incoming.end());
    std::sort(pool.begin(), pool.end(), Longer);
    std::vector<MicroBatch> out(static_cast<size_t>(o_.microbatches));
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
    return out;
  }
  size_t Pending() const override { return leftovers_.size(); }
  nlohmann::json SaveState() const override {
    return {{"packer", std::string(name())}, {"leftovers", DocsJson(leftovers_)}};
  }
  Status RestoreState(const nlohmann::json& s) override {
    SP_ASSIGN_OR_RETURN(leftovers_, DocsFrom(s.value("leftovers", nlohmann::json::array())));
    return Status::Ok();
  }

 private:
  PackerOptions o_;
  Rule rule_;
  std::vector<Document> leftovers_;
};

class Wlb : public Packer {
 public:
  Wlb(const PackerOptions& o, const WorkloadModel& w) : o_(o), w_(w) {
    if (o_.s_max <= 0) o_.s_max = o_.context;
    if (o_.thresholds.empty()) o_.thresholds = {o_.context / 2};
    std::sort(o_.thresholds.begin(), o_.thresholds.end());
    queues_.resize(o_.thresholds.size());
  }
  std::string_view name() const override { return "wlb"; }

  std::vector<MicroBatch> Pack(std::vector<Document> incoming, int64_t) override {
    size_t n = static_cast<size_t>(o_.microbatches);
    std::vector<MicroBatch> out(n);
    for (MicroBatch& mb : out) mb.reserve(2 * (incoming.size() + leftovers_.size()) / n + 4);
    std::vector<int64_t> tokens(n, 0);
    std::vector<double> work(n, 0);
    bool draining = incoming.empty();
    std::vector<Document> regular;
    for (const Document& d : incoming) {
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
    // Bins in a min-heap on workload (ties: lower index): the least-loaded bin in O(log n); the
    // fewest-tokens fallback scans, and rebuilds the heap, only when that bin is full.
    std::vector<size_t> heap(n);
    for (size_t i = 0; i < n; ++i) heap[i] = i;
    auto after = [&](size_t a, size_t b) { return work[a] != work[b] ? work[a] > work[b] : a > b; };
    std::make_heap(heap.begin(), heap.end(), after);
    auto add = [&](size_t bin, const Document& d) {
      out[bin].push_back(d);
      tokens[bin] += d.tokens;
      work[bin] += w_.Total(static_cast<double>(d.tokens));
    };
    auto place = [&](const Document& d) -> bool {
      size_t least = heap.front();
      if (tokens[least] + d.tokens <= o_.s_max) {
        std::pop_heap(heap.begin(), heap.end(), after);
        add(least, d);
        std::push_heap(heap.begin(), heap.end(), after);
        return true;
      }
      size_t fewest = 0;
      for (size_t i = 1; i < n; ++i) fewest = tokens[i] < tokens[fewest] ? i : fewest;
      if (tokens[fewest] + d.tokens > o_.s_max) return false;
      add(fewest, d);
      std::make_heap(heap.begin(), heap.end(), after);
      return true;
    };
    // Outlier bands, longest band first: a full queue (N documents) spreads one per micro-batch.
    for (size_t b = queues_.size(); b-- > 0;) {
      std::deque<Document>& q = queues_[b];
      while (q.size() >= n || (draining && !q.empty())) {
        size_t take = std::min(q.size(), n);
        std::vector<Document> wave(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(take));
        std::sort(wave.begin(), wave.end(), Longer);
        size_t placed = 0;
        for (const Document& d : wave) {
          if (!place(d)) break;
          ++placed;
        }
        // Placed documents leave the queue; the first one that did not fit stays at its front.
        for (size_t i = 0; i < placed; ++i) {
          auto it = std::find_if(q.begin(), q.end(),
                                 [&](const Document& x) { return x.id == wave[i].id; });
          q.erase(it);
        }
        if (placed < take) break;
      }
    }
    // The rest: last iteration's leftovers first, then the new documents, each longest first.
    std::vector<Document> order = std::move(leftovers_);
    leftovers_.clear();
    std::sort(order.begin(), order.end(), Longer);
    std::sort(regular.begin(), regular.end(), Longer);
    order.insert(order.end(), regular.begin(), regular.end());
    for (const Document& d : order) {
      if (!place(d)) leftovers_.push_back(d);
    }
    return out;
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
    return {{"packer", "wlb"}, {"leftovers", DocsJson(leftovers_)}, {"queues", queues}};
  }
  Status RestoreState(const nlohmann::json& s) override {
    SP_ASSIGN_OR_RETURN(leftovers_, DocsFrom(s.value("leftovers", nlohmann::json::array())));
    const nlohmann::json& queues = s.value("queues", nlohmann::json::array());
    if (queues.size() != queues_.size()) {
      return Status::Invalid(fmt::format("packer state has {} queues; the packer has {} thresholds",
                                         queues.size(), queues_.size()));
    }
    for (size_t i = 0; i < queues_.size(); ++i) {
      SP_ASSIGN_OR_RETURN(std::vector<Document> docs, DocsFrom(queues[i]));
      queues_[i] = std::deque<Document>(docs.begin(), docs.end());
    }
    return Status::Ok();
  }

 private:
  PackerOptions o_;
  WorkloadModel w_;
  std::vector<std::deque<Document>> queues_;
  std::vector<Document> leftovers_;
};

}  // namespace

std::vector<PackerInfo> Packers() {
  return {{"original",
           "concatenate and cut into context-length micro-batches (documents split at boundaries)"},
          {"greedy",
           "longest first, each to the micro-batch with the fewest tokens (capacity = context)"},
          {"ffd", "first-fit decreasing (capacity = context)"},
          {"bfd", "best-fit decreasing (capacity = context)"},
          {"wlb", "WLB-LLM: outlier queues per length band, least-workload placement under s_max"}};
}

Result<std::unique_ptr<Packer>> MakePacker(std::string_view name, const PackerOptions& o,
                                           const WorkloadModel& w) {
  constexpr int64_t kMaxTokens = int64_t{1} << 40;  // keeps N * context far from overflow
  if (o.microbatches < 1 || o.microbatches > (int64_t{1} << 20)) {
    return Status::Invalid(
        fmt::format("--microbatches = {} (allowed: 1 to 1048576)", o.microbatches));
  }
  if (o.context < 1 || o.context > kMaxTokens) {
    return Status::Invalid(fmt::format("--context = {} (allowed: 1 to 2^40 tokens)", o.context));
  }
  if (o.s_max < 0 || o.s_max > kMaxTokens) {
    return Status::Invalid(
        fmt::format("--smax = {} (allowed: 0 for the context, or up to 2^40 tokens)", o.s_max));
  }
  for (int64_t t : o.thresholds) {
    if (t < 1) return Status::Invalid(fmt::format("--thresholds: {} (allowed: lengths >= 1)", t));
  }
  if (name == "original") return std::unique_ptr<Packer>(new Original(o));
  if (name == "greedy")
    return std::unique_ptr<Packer>(new FixedCapacity(o, FixedCapacity::kGreedy));
  if (name == "ffd") return std::unique_ptr<Packer>(new FixedCapacity(o, FixedCapacity::kFirstFit));
  if (name == "bfd") return std::unique_ptr<Packer>(new FixedCapacity(o, FixedCapacity::kBestFit));
  if (name == "wlb") return std::unique_ptr<Packer>(new Wlb(o, w));
  std::vector<std::string> names;
  for (const PackerInfo& p : Packers()) names.push_back(p.name);
  return Status::Invalid(
      fmt::format("--packer = {} is not a known packer (allowed: {})", name, Join(names, ", ")));
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

PackRun RunPacker(Packer& packer, const std::vector<int64_t>& lengths, const PackerOptions& o,
                  const WorkloadModel& w, int64_t iterations, bool keep_packed) {
  PackRun run;
  // Loaders cut documents longer than a micro-batch into pieces of at most its length; only the
  // documents the iterations will read are cut (lazily, so a huge corpus costs nothing).
  const int64_t cap = std::max<int64_t>(1, o.s_max > 0 ? std::min(o.context, o.s_max) : o.context);
  // Each iteration reads what its micro-batches can hold: N * min(context, s_max) tokens.
  const int64_t per_iteration = o.microbatches * cap;
  std::vector<Document> stream;
  size_t source = 0;
  int64_t source_left = 0;
  auto more = [&]() -> bool {
    while (source_left == 0) {
      if (source >= lengths.size()) return false;
      source_left = lengths[source++];
    }
    int64_t piece = std::min(source_left, cap);
    source_left -= piece;
    stream.push_back({static_cast<int64_t>(stream.size()), piece, 0});
    return true;
  };
  std::vector<int64_t> emitted;
  size_t next = 0;
  // Read for `iterations`, then drain until nothing waits (or nothing moves for 4 iterations).
  int64_t idle = 0;
  for (int64_t it = 0; it < iterations || (packer.Pending() > 0 && idle < 4); ++it) {
    std::vector<Document> incoming;
    if (it < iterations) {
      int64_t tokens = 0;
      while ((next < stream.size() || more()) && (tokens < per_iteration || incoming.empty())) {
        Document d = stream[next++];
        if (tokens + d.tokens > per_iteration && !incoming.empty()) {
          --next;
          break;
        }
        d.arrived = it;
        tokens += d.tokens;
        incoming.push_back(d);
      }
    }
    if (incoming.empty() && packer.Pending() == 0) break;
    emitted.resize(stream.size(), 0);
    auto start = std::chrono::steady_clock::now();
    std::vector<MicroBatch> batch = packer.Pack(std::move(incoming), it);
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    IterationStats s = Measure(batch, w, it);
    s.pack_time_s = elapsed;
    run.iterations.push_back(s);
    idle = s.documents == 0 ? idle + 1 : 0;
    for (const MicroBatch& mb : batch) {
      for (const Document& d : mb) {
        emitted[static_cast<size_t>(d.id)] += d.tokens;
        if (emitted[static_cast<size_t>(d.id)] == stream[static_cast<size_t>(d.id)].tokens)
          ++run.documents_out;
      }
    }
    if (keep_packed) run.packed.push_back(std::move(batch));
  }
  run.documents_in = static_cast<int64_t>(next);  // pulled from the stream
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
                                        const std::vector<int64_t>& candidates,
                                        int64_t iterations) {
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
