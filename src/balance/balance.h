// Workload balancing for packed variable-length documents (WLB-LLM, Wang et al., OSDI'25,
// arXiv 2503.17924).
//
// A document of d tokens costs W(d) = a*d + b*(d^2 + d)/2: the linear layers scale with its
// tokens, causal attention with its query-key pairs (model::CausalPairs). FlopWorkload takes a and
// b from the model's FLOPs (6N per token, 6 L (q + o) per pair, 12 L q when query and value
// widths agree; forward and backward).
//
// Packers (a named registry, Packers()):
//   original  concatenate and cut into micro-batches of exactly `context` tokens; a document that
//             crosses a boundary is split (its pieces attend separately), no delay
//   greedy    the iteration's documents, longest first, each to the micro-batch with the fewest
//             tokens that still has room (fixed capacity `context`); what does not fit waits
//   ffd       first-fit decreasing on tokens (capacity `context`)
//   bfd       best-fit decreasing on tokens (capacity `context`)
//   wlb       WLB-LLM's variable-length packer: documents of at least thresholds[0] tokens are
//             outliers, queued first-in first-out per length band (thresholds L1 < L2 < ...); while
//             a band's queue holds N documents (N = micro-batches) it releases N, each to the
//             least-loaded micro-batch with room (on drain, partial waves go out too); the rest,
//             longest first with the previous iteration's leftovers ahead, go each to the
//             micro-batch with the least workload if its tokens stay under s_max, else to the one
//             with the fewest tokens if that fits, else wait for the next iteration.
//             A queue whose oldest document has waited max_wait iterations also releases a
//             partial wave (max_wait 0: never, as in WLB-LLM).
//             With thresholds given, the bands and s_max are fixed. Without, wlb is adaptive:
//             it starts from one band at cap/2 (cap = min(context, s_max)) with s_max at its
//             limit, and every P iterations (P = adapt_window x max(1, floor(N/4)): a
//             large batch holds many documents per iteration, and the replays stay cheap) it
//             replays the last W iterations' documents (W = adapt_window, x 16/N above 16
//             micro-batches but at least min(8, adapt_window)), from empty queues, through its
//             setting and the neighbours: lowest threshold one step (cap/16) down or up; one band
//             more or fewer (bands spread evenly from the lowest threshold to cap); s_max a
//             quarter of cap down or up within [cap, limit]. Among the settings whose replayed
//             token-weighted mean delay is within scale x max_mean_delay it takes the lowest
//             mean layer imbalance, the smaller s_max when within 0.005 of it (less activation
//             memory), and moves only for a gain of 0.002 (hysteresis; 0.007 to a larger s_max,
//             which a move back to the smaller one may give up 0.005 of). The scale starts at 0.85
//             and follows the live delay (Little's law: the tokens held after each iteration over
//             the tokens packed, decayed over 4 adapt_windows) towards 0.85 x max_mean_delay,
//             by sqrt(target / live) per choice within [0.5, 1.5]: a replay from empty queues
//             misses the queues it starts without. Queued documents move to the new bands in
//             arrival order. max_wait defaults to 16 x max_mean_delay. Every iteration reports
//             the setting it was packed with.
// Every packer is deterministic; its state (queues, leftovers) can be saved and restored, so a
// restarted loader loses and repeats no document.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "spec/schema.h"
#include "spec/specs.h"

namespace scaleplan::balance {

struct Document {
  int64_t id = 0;
  int64_t tokens = 0;
  int64_t arrived = 0;  // iteration it entered the loader
};

struct WorkloadModel {
  double linear_per_token = 1.0;    // seconds (or any unit) per token
  double attention_per_pair = 0.0;  // per causal query-key pair
  // Sliding-window layers (model.h): their share of the layers and the window; a document's pairs
  // there are model::WindowPairs.
  double local_share = 0.0;
  double window = 0.0;
  double Attention(double d) const {
    const double pairs = local_share > 0 ? (1.0 - local_share) * model::CausalPairs(d) +
                                               local_share * model::WindowPairs(d, window)
                                         : model::CausalPairs(d);
    return attention_per_pair * pairs;
  }
  double Linear(double d) const { return linear_per_token * d; }
  double Total(double d) const { return Linear(d) + Attention(d); }
};

// FLOP weights of a token and of a causal query-key pair (model/model.h), forward and backward:
// linear layers 6N per token (N the matmul parameters), attention 6 L (q + o) per pair (model.h).
WorkloadModel FlopWorkload(const spec::ModelSpec& model);

// Document lengths: a JSON list of integers, one integer per line, or a Megatron-LM tokenized
// dataset index (.idx, recognized by its magic bytes). A length is an integer from 1 to
// kMaxDocumentLength; a file lists at most kMaxDocuments.
inline constexpr int64_t kMaxDocumentLength = int64_t{1} << 31;
inline constexpr int64_t kMaxDocuments = int64_t{1} << 28;
Result<std::vector<int64_t>> ReadLengths(const std::string& path);
Result<std::vector<int64_t>> ParseLengths(std::string_view bytes, const std::string& origin);

// Synthetic corpora, seeded, every length truncated at `context`. `spec` is a corpus name or
// "name:key=value,..." overriding the shape's parameters (SyntheticCorpora() lists them with their
// defaults): "lognormal" (short documents around 2K tokens and 10% long ones around 16K, as web
// text), "pareto" (a Pareto tail, alpha 1.2, from 256 tokens), "drift" (the lognormal mixture
// whose long documents become more frequent and longer half-way through).
struct SyntheticCorpus {
  std::string name;
  std::string description;
  std::vector<std::pair<std::string, double>> params;  // key, default
};
std::vector<SyntheticCorpus> SyntheticCorpora();
Result<std::vector<int64_t>> Synthetic(std::string_view spec, int64_t count, int64_t context,
                                       uint64_t seed);

struct PackerOptions {
  int64_t microbatches = 4;  // N: micro-batches per iteration
  int64_t context = 131072;  // tokens per micro-batch for fixed-length packers
  // wlb: the most tokens a micro-batch may hold (the activation-memory bound). With thresholds:
  // the fixed cap, 0 = context. Adaptive: the limit s_max is chosen under, 0 = 1.5 x context
  // (kAdaptiveSmaxLimit); set it from the memory the plan leaves for activations.
  int64_t s_max = 0;
  std::vector<int64_t> thresholds;  // wlb: fixed outlier length bands; empty = adaptive
  // wlb: a queue whose oldest document has waited this many iterations releases a partial wave
  // (0 = never: WLB-LLM's rule). Adaptive: 0 = kAdaptiveMaxWait x max_mean_delay.
  int64_t max_wait = 0;
  // wlb adaptive (these change the answer):
  double max_mean_delay = 0.5;  // token-weighted mean delay budget, iterations
  int64_t adapt_window = 32;    // iterations replayed per re-choice (x 16/N above N = 16, at
                                // least min(8, adapt_window)), and the re-choice period
                                // (x max(1, floor(N/4)))
};
// PackerOptions as input keys (section "packer"): flag, bounds and help of each, stated once; the
// pack command's flags and MakePacker's checks derive from it. `thresholds` reads a list of
// lengths ("65536,98304" on the command line).
const spec::Schema<PackerOptions>& PackerSchema();

// Keys given where the packer `packer` would not read them are refused: max_mean_delay and
// adapt_window apply to the adaptive wlb packer (wlb without thresholds), max_wait, s_max and
// thresholds to wlb.
// `given(key)` says whether the user gave a key; `name(key)` how the message names it (a flag,
// or "packing.<key>"); the error carries the key.
Status CheckGivenPackerKeys(const std::string& packer,
                            const std::function<bool(std::string_view)>& given,
                            const std::function<std::string(std::string_view)>& name);

inline constexpr double kAdaptiveSmaxLimit = 1.5;  // x context, when s_max is 0
inline constexpr double kAdaptiveMaxWait = 16;     // x max_mean_delay, when max_wait is 0

// What a packer packed an iteration with: the wlb outlier bands and s_max (empty bands and the
// context for the other packers).
struct PackerSetting {
  std::vector<int64_t> thresholds;
  int64_t s_max = 0;
};

using MicroBatch = std::vector<Document>;

class Packer {
 public:
  virtual ~Packer() = default;
  virtual std::string_view name() const = 0;
  // Packs one iteration into `out`: `incoming` are the documents the loader adds this iteration;
  // `out` becomes the N micro-batches, each emptied first (their vectors keep their capacity, so a
  // caller that hands the same `out` back each iteration packs without allocating).
  virtual void PackInto(const std::vector<Document>& incoming, int64_t iteration,
                        std::vector<MicroBatch>& out) = 0;
  // The same, into a new batch.
  std::vector<MicroBatch> Pack(const std::vector<Document>& incoming, int64_t iteration) {
    std::vector<MicroBatch> out;
    PackInto(incoming, iteration, out);
    return out;
  }
  // Documents held for a later iteration.
  virtual size_t Pending() const = 0;
  // The whole state (queues, leftovers, adaptive setting and the replay window): a packer
  // restored from it packs exactly what this one would have packed next.
  virtual nlohmann::json SaveState() const = 0;
  virtual Status RestoreState(const nlohmann::json& state) = 0;
  // The setting the next Pack uses.
  virtual PackerSetting Setting() const = 0;
};

struct PackerInfo {
  std::string name;
  std::string description;
  std::function<Result<std::unique_ptr<Packer>>(const PackerOptions&, const WorkloadModel&)> make;
};
// The registry: every packer with its factory.
const std::vector<PackerInfo>& Packers();
// Creates the packer called `name` for options that PackerSchema() allows; an unknown name is an
// error listing the registry.
Result<std::unique_ptr<Packer>> MakePacker(std::string_view name, const PackerOptions& options,
                                           const WorkloadModel& workload);

struct IterationStats {
  int64_t iteration = 0;
  double imbalance_attention = 1;  // max / mean attention workload over micro-batches
  double imbalance_layer = 1;      // max / mean whole-layer workload
  int64_t max_tokens = 0;
  double mean_tokens = 0;
  int64_t padding_tokens = 0;  // to bring every micro-batch to the longest one
  int64_t documents = 0;
  double mean_delay_iterations = 0;  // token-weighted
  int64_t max_delay_iterations = 0;
  double pack_time_s = 0;
  PackerSetting setting;  // what packed this iteration (the summary: the last iteration's)
};

// How a run cut the list: the documents it read (a document counts once its first piece is read
// into an iteration), those longer than the cap (at_tokens = min(context, s_max)) and the pieces
// of those that it read. Reports say so when any was cut: a piece packs and attends as a
// document of its own, so a long document's attention is not what ran.
struct DocumentCut {
  int64_t read = 0;
  int64_t cut = 0;
  int64_t pieces = 0;
  int64_t at_tokens = 0;
};

struct PackRun {
  std::vector<IterationStats> iterations;
  std::vector<std::vector<MicroBatch>> packed;  // per iteration (kept when asked)
  // Documents are counted as the pieces of at most min(context, s_max) tokens that loaders cut.
  int64_t documents_in = 0;    // pieces read from the stream
  int64_t documents_out = 0;   // pieces emitted
  int64_t pending_at_end = 0;  // pieces still waiting when the run ended (0 unless stuck)
  // The pieces' sum of squared lengths over their sum of lengths, E[d^2] / E[d]: documents all of
  // this length have the same causal pairs per token (d^2 / 2 a document, d / 2 a token, up to
  // the diagonal), so it is the length workload.document_tokens takes to price these documents
  // in the step model (0 when nothing was read).
  double attention_length_tokens = 0;
  DocumentCut cut;
  IterationStats summary;      // means over iterations; max for the max fields
  // Tokens packed by how many iterations they waited: entry k for k iterations, the last entry
  // for kDelayBuckets - 1 or more.
  std::vector<int64_t> tokens_by_delay;
};
inline constexpr size_t kDelayBuckets = 17;

// The most iterations one run packs (about 20 s at the adaptive packer's speed; every iteration's
// micro-batches are kept for the report).
inline constexpr int64_t kMaxPackIterations = 100000;
// The most micro-batch shards (iterations x micro-batches x CP ranks) one run packs.
inline constexpr int64_t kMaxPackShards = int64_t{1} << 28;

// Streams `lengths` through `packer`: each iteration reads documents worth N * min(context, s_max)
// tokens; then iterations without new documents drain what waits, until nothing does (or nothing
// moves for four iterations: pending_at_end then says how many pieces were left).
PackRun RunPacker(Packer& packer, const std::vector<int64_t>& lengths, const PackerOptions& options,
                  const WorkloadModel& workload, int64_t iterations, bool keep_packed);

IterationStats Measure(const std::vector<MicroBatch>& batch, const WorkloadModel& workload,
                       int64_t iteration);

// The optimal packing of a small instance (at most kExactMaxDocuments documents): every document
// placed, no micro-batch over s_max (or context) tokens, the largest micro-batch workload as small
// as possible. Depth-first branch and bound, longest documents first, equal micro-batches tried
// once. To measure the heuristics' gap.
inline constexpr size_t kExactMaxDocuments = 16;
Result<std::vector<MicroBatch>> ExactPack(const std::vector<Document>& documents,
                                          const PackerOptions& options,
                                          const WorkloadModel& workload);

// Offline tuning of the WLB packer's outlier thresholds: every pair (L1 < L2) from `candidates`
// (and each single threshold) run on the sample; imbalance against delay for each.
struct TuningPoint {
  std::vector<int64_t> thresholds;
  double imbalance_layer = 0;
  double mean_delay_iterations = 0;
};
std::vector<TuningPoint> TuneThresholds(const std::vector<int64_t>& lengths,
                                        const PackerOptions& options, const WorkloadModel& workload,
                                        const std::vector<int64_t>& candidates, int64_t iterations);

}  // namespace scaleplan::balance
