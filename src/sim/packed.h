// Packed training (WLB-LLM, arXiv 2503.17924): document lengths -> packer -> micro-batches -> CP
// sharder -> per-rank attention work -> the event engine, against the original packing
// (concatenate and split into context-length micro-batches, head-tail CP sharding).
//
// A global batch is the plan's micro-batches over all replicas (M x dp micro-batches of
// micro_batch x seq_len tokens); packed micro-batches go to the replicas round-robin. Each packed
// iteration is one event-engine step, drain iterations included (what the packer held back costs
// too). The slowest CP rank sets a micro-batch's attention time: its padded work against an even
// share (balance/sharding.h). Throughput is tokens over time summed over the steps.
//
// Activation memory bounds how many tokens a packed micro-batch may hold: MaxMicroBatchTokens
// scales each stage's activations and transient buffers (the parts that grow with the
// micro-batch's tokens, flash attention assumed) from the plan's uniform micro-batch and keeps
// the weights, gradients and optimizer state; the adaptive wlb packer without an s_max gets that
// bound as its limit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "balance/balance.h"
#include "core/status.h"
#include "plan/memory.h"
#include "plan/plan.h"

namespace scaleplan::sim {

struct PackedOptions {
  std::string packer = "wlb";
  std::string sharder = "adaptive";  // for the packer; the original packing always uses head-tail
  // Packer settings; microbatches and context come from the plan. s_max 0: for wlb, the memory
  // bound (MaxMicroBatchTokens, at most kAdaptiveSmaxLimit x context for the adaptive packer).
  balance::PackerOptions packing;
  int64_t iterations = 8;  // packed global batches read from the lengths
};

struct PackedRow {
  std::string packer;
  std::string sharder;
  int64_t steps = 0;  // drains included
  double mean_step_time_s = 0;
  double tokens_per_s_per_gpu = 0;
  double imbalance_layer = 0;
  double mean_delay_iterations = 0;
  int64_t max_tokens_per_microbatch = 0;
  double speedup_vs_original = 1;
  balance::PackerSetting setting;  // the last iteration's
  balance::DocumentCut cut;        // over-long documents cut into pieces
};

struct PackedComparison {
  int64_t microbatches = 0;  // per global batch
  int64_t context = 0;       // tokens of the plan's micro-batch
  int64_t replicas = 0;
  int64_t iterations = 0;
  int64_t s_max_bound = 0;     // the memory bound on a micro-batch's tokens
  std::vector<PackedRow> rows;  // original first
};

// The most tokens a micro-batch can hold on every stage (see the header comment), at most
// `max_scale` x the plan's micro-batch (the packers' bound looks no further than 4x; infinity:
// memory alone, up to 2^62 tokens); 0 if even the weights do not fit.
int64_t MaxMicroBatchTokens(const plan::Plan& plan, const plan::MemoryReport& memory,
                            double max_scale = 4.0);

Result<PackedComparison> SimulatePacked(const plan::Plan& plan, const std::vector<int64_t>& lengths,
                                        const PackedOptions& options);

}  // namespace scaleplan::sim
