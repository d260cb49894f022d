// `scaleplan pack` as one call: documents (a file or a synthetic corpus) -> a packer -> micro-batches
// -> the context-parallel sharder, with the balance of each stage measured.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "balance/balance.h"
#include "balance/sharding.h"
#include "core/status.h"

namespace scaleplan::balance {

// Where the document lengths come from: a file (ReadLengths) or a synthetic corpus (Synthetic),
// exactly one of the two.
struct LengthSource {
  std::string file;
  std::string synthetic;  // a corpus name or "name:key=value,..."
  int64_t count = 50000;  // documents to generate
  uint64_t seed = 1;
};
Result<std::vector<int64_t>> LoadLengths(const LengthSource& source, int64_t context);

struct PackStudyOptions {
  std::string packer = "wlb";
  PackerOptions packing;
  int64_t iterations = 20;
  int64_t cp = 1;  // context-parallel ranks each micro-batch is sharded over
  std::string sharder = "per-document";
  bool keep_shards = false;  // keep every micro-batch and, at cp > 1, its sharding (pack --emit)
  // Also pack the same documents with the "original" packer (same options, nothing kept), the
  // baseline a report compares against (pack --html). Ignored when the packer is "original".
  bool compare_original = false;
};

struct PackStudy {
  PackRun run;  // micro-batches kept when cp > 1 or keep_shards
  // Mean over non-empty micro-batches of the slowest CP rank's padded attention work against the
  // mean rank's (1 at cp 1, by definition).
  double cp_imbalance = 1;
  // With keep_shards and cp > 1: per iteration, per micro-batch, its sharding (empty for an empty
  // micro-batch).
  std::vector<std::vector<Sharding>> shards;
  // With compare_original (and another packer): the original packer's study of the same
  // documents.
  std::shared_ptr<const PackStudy> original;
};

// The options are allowed: the packer's (PackerSchema, MakePacker), iterations, cp and the sharder.
Status CheckStudy(const PackStudyOptions& options);

// CheckStudy, then packs.
Result<PackStudy> StudyPacking(const std::vector<int64_t>& lengths, const PackStudyOptions& options,
                               const WorkloadModel& workload);

// Lengths from a text list ("16384,32768"): at most kMaxLengthListItems distinct integers from 1
// to kMaxDocumentLength (the threshold tuning runs every pair of them: 64 give 2,080 runs);
// errors name `origin`.
inline constexpr size_t kMaxLengthListItems = 64;
Result<std::vector<int64_t>> ParseLengthList(const std::string& text, const std::string& origin);

}  // namespace scaleplan::balance
