#include "balance/study.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/text.h"

namespace scaleplan::balance {

Result<std::vector<int64_t>> LoadLengths(const LengthSource& source, int64_t context) {
  if (source.file.empty() == source.synthetic.empty()) {
    return Status::Invalid(
        "the documents need exactly one of a lengths file and a synthetic corpus (allowed: "
        "--lengths FILE or --synthetic NAME)");
  }
  if (!source.file.empty()) return ReadLengths(source.file);
  return Synthetic(source.synthetic, source.count, context, source.seed);
}

Result<std::vector<int64_t>> ParseLengthList(const std::string& text, const std::string& origin) {
  std::vector<int64_t> out;
  for (const std::string& t : SplitAndTrim(text, ',')) {
    Result<int64_t> v = ParseInteger(t);
    if (!v.ok() || *v < 1 || *v > kMaxDocumentLength) {
      return Status::Invalid(fmt::format("{}: {} is not a length (allowed: integers from 1 to {})",
                                         origin, Printable(t, 40), kMaxDocumentLength));
    }
    if (std::find(out.begin(), out.end(), *v) != out.end()) {
      return Status::Invalid(
          fmt::format("{}: {} is listed twice (allowed: distinct lengths)", origin, *v));
    }
    if (out.size() == kMaxLengthListItems) {
      return Status::Invalid(fmt::format("{}: more than {} lengths (allowed: at most {})", origin,
                                         kMaxLengthListItems, kMaxLengthListItems));
    }
    out.push_back(*v);
  }
  if (out.empty()) {  // ",," or blanks: separators only
    return Status::Invalid(fmt::format("{}: '{}' lists no length (allowed: integers from 1 to {})",
                                       origin, Printable(text, 40), kMaxDocumentLength));
  }
  return out;
}

Status CheckStudy(const PackStudyOptions& o) {
  if (o.iterations < 1 || o.iterations > kMaxPackIterations) {
    return Status::Invalid(
        fmt::format("iterations = {} (allowed: 1 to {})", o.iterations, kMaxPackIterations));
  }
  SP_RETURN_IF_ERROR(Shard(o.sharder, {1}, o.cp).status());
  return MakePacker(o.packer, o.packing, WorkloadModel{}).status();
}

namespace {

// Each iteration packs N micro-batches and shards each over the CP ranks (about 13M micro-batch
// shards a second on one core), and no single bound limits their product. The iterations that
// read are those the corpus fills (N * min(context, s_max) tokens each, as RunPacker reads), at
// most the requested ones; as many again are allowed for the drain.
Status CheckPackWork(const std::vector<int64_t>& lengths, const PackStudyOptions& o) {
  const PackerOptions& p = o.packing;
  const double cap = static_cast<double>(
      std::max<int64_t>(1, p.s_max > 0 ? std::min(p.context, p.s_max) : p.context));
  double tokens = 0;
  for (int64_t l : lengths) tokens += static_cast<double>(l);
  const double reading = std::min(static_cast<double>(o.iterations),
                                  std::ceil(tokens / (static_cast<double>(p.microbatches) * cap)));
  const double work =
      2 * std::max(1.0, reading) * static_cast<double>(p.microbatches) * static_cast<double>(o.cp);
  if (work <= static_cast<double>(kMaxPackShards)) return Status::Ok();
  return Status::Invalid(fmt::format(
      "{:.0f} iterations that read (of {} asked; {:.4g} tokens at {} micro-batches of {:.0f}) "
      "and as many to drain, x {} micro-batches x {} CP ranks = {:.4g} micro-batch shards "
      "(allowed: at most {}, a minute of packing or less; fewer micro-batches or CP ranks)",
      reading, o.iterations, tokens, p.microbatches, cap, p.microbatches, o.cp, work,
      kMaxPackShards));
}

}  // namespace

Result<PackStudy> StudyPacking(const std::vector<int64_t>& lengths, const PackStudyOptions& o,
                               const WorkloadModel& workload) {
  SP_RETURN_IF_ERROR(CheckStudy(o));
  SP_RETURN_IF_ERROR(CheckPackWork(lengths, o));
  SP_ASSIGN_OR_RETURN(std::unique_ptr<Packer> packer, MakePacker(o.packer, o.packing, workload));
  PackStudy study;
  if (o.compare_original && o.packer != "original") {
    PackStudyOptions plain = o;
    plain.packer = "original";
    plain.keep_shards = false;
    plain.compare_original = false;
    SP_ASSIGN_OR_RETURN(PackStudy base, StudyPacking(lengths, plain, workload));
    study.original = std::make_shared<const PackStudy>(std::move(base));
  }
  // The micro-batches are kept only when something reads them (CP sharding, --emit).
  study.run = RunPacker(*packer, lengths, o.packing, workload, o.iterations,
                        o.cp > 1 || o.keep_shards);
  if (o.cp <= 1) return study;
  double sum = 0;
  int64_t counted = 0;
  std::vector<int64_t> documents;
  for (const std::vector<MicroBatch>& batch : study.run.packed) {
    std::vector<Sharding> kept;
    for (const MicroBatch& mb : batch) {
      documents.clear();
      for (const Document& d : mb) documents.push_back(d.tokens);
      if (documents.empty()) {
        if (o.keep_shards) kept.emplace_back();
        continue;
      }
      SP_ASSIGN_OR_RETURN(Sharding sharding, Shard(o.sharder, documents, o.cp));
      sum += sharding.imbalance;
      ++counted;
      if (o.keep_shards) kept.push_back(std::move(sharding));
    }
    if (o.keep_shards) study.shards.push_back(std::move(kept));
  }
  study.cp_imbalance = counted > 0 ? sum / static_cast<double>(counted) : 1.0;
  return study;
}

}  // namespace scaleplan::balance
