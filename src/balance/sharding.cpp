#include "balance/sharding.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "core/text.h"
#include "model/model.h"

namespace scaleplan::balance {

namespace {

double Pairs(int64_t q0, int64_t q1) {
  // Queries q0..q1-1 of a document, query i attending to i + 1 keys.
  return model::CausalPairs(static_cast<double>(q1)) - model::CausalPairs(static_cast<double>(q0));
}

void AddPiece(RankShard& r, int64_t doc, int64_t doc_start, int64_t q0, int64_t q1) {
  if (q1 <= q0) return;
  for (int64_t i = q0; i < q1; ++i) r.tokens.push_back(doc_start + i);
  Piece p{doc, q0, q1 - q0, doc_start, q1};
  r.pieces.push_back(p);
  double pairs = Pairs(q0, q1);
  r.pairs += pairs;
  double padded_rows =
      static_cast<double>((p.queries + kAttentionTile - 1) / kAttentionTile * kAttentionTile);
  r.padded_pairs += pairs * padded_rows / static_cast<double>(p.queries);
}

void Finish(Sharding& s) {
  double max = 0, sum = 0;
  for (RankShard& r : s.ranks) {
    // Pieces arrive in document order, and within a document in chunk order: already increasing
    // for both sharders; the check keeps the contract if a sharder ever adds them otherwise.
    if (!std::is_sorted(r.tokens.begin(), r.tokens.end()))
      std::sort(r.tokens.begin(), r.tokens.end());
    r.cu_seqlens_q = {0};
    r.cu_seqlens_k = {0};
    for (const Piece& p : r.pieces) {
      r.cu_seqlens_q.push_back(r.cu_seqlens_q.back() + static_cast<int32_t>(p.queries));
      r.cu_seqlens_k.push_back(r.cu_seqlens_k.back() + static_cast<int32_t>(p.keys));
    }
    max = std::max(max, r.padded_pairs);
    sum += r.padded_pairs;
  }
  double mean = sum / static_cast<double>(s.ranks.size());
  s.imbalance = mean > 0 ? max / mean : 1.0;
}

Sharding HeadTail(const std::vector<int64_t>& docs, int64_t cp) {
  Sharding s;
  s.sharder = "head-tail";
  s.ranks.resize(static_cast<size_t>(cp));
  int64_t total = std::accumulate(docs.begin(), docs.end(), int64_t{0});
  int64_t chunks = 2 * cp;
  // Chunk c covers [c*T/2cp, (c+1)*T/2cp): the remainder spreads one token to the first chunks.
  std::vector<int64_t> bounds(static_cast<size_t>(chunks + 1), 0);
  for (int64_t c = 0; c < chunks; ++c) {
    bounds[static_cast<size_t>(c + 1)] =
        bounds[static_cast<size_t>(c)] + total / chunks + (c < total % chunks ? 1 : 0);
  }
  int64_t doc_start = 0;
  for (size_t d = 0; d < docs.size(); ++d) {
    int64_t doc_end = doc_start + docs[d];
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t lo = std::max(doc_start, bounds[static_cast<size_t>(c)]);
      int64_t hi = std::min(doc_end, bounds[static_cast<size_t>(c + 1)]);
      if (hi <= lo) continue;
      int64_t rank = c < cp ? c : chunks - 1 - c;
      AddPiece(s.ranks[static_cast<size_t>(rank)], static_cast<int64_t>(d), doc_start,
               lo - doc_start, hi - doc_start);
    }
    doc_start = doc_end;
  }
  Finish(s);
  return s;
}

Sharding PerDocument(const std::vector<int64_t>& docs, int64_t cp) {
  Sharding s;
  s.sharder = "per-document";
  s.ranks.resize(static_cast<size_t>(cp));
  int64_t chunks = 2 * cp;
  int64_t pointer = 0;  // next chunk slot to receive an extra token; persists across documents
  int64_t doc_start = 0;
  for (size_t d = 0; d < docs.size(); ++d) {
    int64_t len = docs[d];
    std::vector<int64_t> sizes(static_cast<size_t>(chunks), len / chunks);
    for (int64_t extra = 0; extra < len % chunks; ++extra) {
      ++sizes[static_cast<size_t>(pointer)];
      pointer = (pointer + 1) % chunks;
    }
    int64_t q = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t rank = c < cp ? c : chunks - 1 - c;
      AddPiece(s.ranks[static_cast<size_t>(rank)], static_cast<int64_t>(d), doc_start, q,
               q + sizes[static_cast<size_t>(c)]);
      q += sizes[static_cast<size_t>(c)];
    }
    doc_start += len;
  }
  Finish(s);
  return s;
}

Sharding Adaptive(const std::vector<int64_t>& documents, int64_t cp) {
  Sharding a = HeadTail(documents, cp), b = PerDocument(documents, cp);
  auto worst = [](const Sharding& s) {
    double m = 0;
    for (const RankShard& r : s.ranks) m = std::max(m, r.padded_pairs);
    return m;
  };
  return worst(b) < worst(a) ? b : a;
}

}  // namespace

const std::vector<SharderInfo>& ShardersInfo() {
  static const std::vector<SharderInfo> sharders = {
      {"head-tail", "2 cp chunks per sequence, rank r holding chunks r and 2 cp - 1 - r",
       &HeadTail},
      {"per-document", "the same cut inside every document (WLB-LLM)", &PerDocument},
      {"adaptive", "per micro-batch, whichever of the two has the smaller padded largest rank",
       &Adaptive}};
  return sharders;
}

std::vector<std::string> Sharders() {
  std::vector<std::string> names;
  for (const SharderInfo& s : ShardersInfo()) names.push_back(s.name);
  return names;
}

Result<Sharding> Shard(std::string_view sharder, const std::vector<int64_t>& documents,
                       int64_t cp) {
  if (cp < 1 || cp > kMaxShardRanks) {
    return Status::Invalid(fmt::format("cp = {} ranks (allowed: 1 to {})", cp, kMaxShardRanks));
  }
  for (int64_t d : documents) {
    if (d < 1) return Status::Invalid(fmt::format("a document of {} tokens (allowed: >= 1)", d));
  }
  for (const SharderInfo& s : ShardersInfo()) {
    if (s.name == sharder) return s.shard(documents, cp);
  }
  return Status::Invalid(fmt::format("sharder = {} is not a known sharder (allowed: {})", sharder,
                                     Join(Sharders(), ", ")));
}

}  // namespace scaleplan::balance
