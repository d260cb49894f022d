// Context-parallel sharding of one packed micro-batch (WLB-LLM section 5; Llama 3 section 3.3.2).
//
// The micro-batch is its documents concatenated (token positions 0..T-1). With causal attention
// inside each document, a query at position i of its document attends to the i + 1 keys before it.
//   head-tail     per sequence: T is cut into 2*cp equal chunks; rank r holds chunks r and
//                 2*cp-1-r (Llama 3, Megatron). Balanced for one long document, not for packed
//                 ones.
//   per-document  each document is cut into 2*cp chunks of floor(d / 2cp) tokens, rank r holding
//                 chunks r and 2*cp-1-r of every document; the d mod 2cp extra tokens go
//                 round-robin to the chunks by a pointer that persists across documents (WLB-LLM).
//   adaptive      per micro-batch, whichever of the two has the smaller largest per-rank attention
//                 work once every document piece's queries are padded to the kernel's 128-token
//                 tile.
// Per rank the result is what a variable-length attention kernel takes: the token positions it
// holds, and per document piece the query count (cu_seqlens_q) and the keys it attends to: the
// document's prefix up to the piece's last query (cu_seqlens_k, key_start).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace scaleplan::balance {

inline constexpr int64_t kAttentionTile = 128;  // query rows per attention kernel tile

struct Piece {
  int64_t document = 0;     // index in the micro-batch
  int64_t query_start = 0;  // position within the document of the first query
  int64_t queries = 0;
  int64_t key_start = 0;  // global position of the document's first token
  int64_t keys = 0;       // = query_start + queries: the causal prefix the piece attends to
};

struct RankShard {
  std::vector<int64_t> tokens;  // global positions held, increasing
  std::vector<Piece> pieces;
  std::vector<int32_t> cu_seqlens_q;  // 0, q1, q1+q2, ...
  std::vector<int32_t> cu_seqlens_k;  // 0, k1, k1+k2, ...
  double pairs = 0;                   // causal query-key pairs computed
  double padded_pairs = 0;            // with each piece's queries padded to the tile
};

struct Sharding {
  std::string sharder;  // the one used ("head-tail" or "per-document")
  std::vector<RankShard> ranks;
  double imbalance = 1;  // max / mean padded_pairs over ranks
};

// The registry: every sharder with what it does and how.
struct SharderInfo {
  std::string name;
  std::string description;
  Sharding (*shard)(const std::vector<int64_t>& documents, int64_t cp);
};
const std::vector<SharderInfo>& ShardersInfo();
std::vector<std::string> Sharders();  // their names: head-tail, per-document, adaptive

// The most context-parallel ranks a micro-batch is sharded over (each rank's shard is kept).
inline constexpr int64_t kMaxShardRanks = 65536;

// Shards one micro-batch of `documents` (token counts, in order) over `cp` ranks, 1 to
// kMaxShardRanks.
Result<Sharding> Shard(std::string_view sharder, const std::vector<int64_t>& documents, int64_t cp);

}  // namespace scaleplan::balance
