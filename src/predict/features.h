// The features a learned predictor sees of a job (CubicML, arXiv:2409.04585 §3: the knobs, the
// quantities derived from them, and here also the physics model's own prediction and breakdown,
// which is what makes the learner sample-efficient: it learns what the physics misses, not the
// physics).
//
// Every feature is a finite number; sizes enter as natural logarithms, flags as 0/1, the
// breakdown as fractions of the predicted step:
//   knobs       log tp, cp, pp, vp, dp, ep, micro-batch, micro-batches, sequence; ZeRO stage
//               (0-3, FSDP = 3); recompute (selective, full); the pipeline schedule (interleaved,
//               llama3, zb-h1, gpipe; 1f1b is none of them); edge-stage trimming; ring CP; log
//               HSDP replicas; delayed gradient sync; BF16 gradient reduction; FP8 (an FP4
//               plan reads 0 here: its speed reaches the learner through the physics features;
//               a flag of its own would change the feature set and every saved predictor; LoRA,
//               workload.lora_rank, likewise has none); sequence
//               parallel; TP overlap; the framework's eager memory-bound ops and torch.compile
//   derived     log GPUs, tokens per step, tokens per micro-batch per CP rank, parameters, active
//               parameters, parameters per model-parallel shard (total / (tp pp)), hidden size,
//               layers; MoE; the innermost tier holding each group (tp, cp, pp, dp: 0 for a
//               group of one rank, t + 1 for tier t)
//   hardware    log dense BF16 peak, HBM bandwidth and capacity; the power cap's clock fraction
//   physics     log tokens/s/GPU and MFU of the analytical engine; the fractions of its step in
//               compute, TP, CP, EP, PP and DP communication, bubble, optimizer and the rest;
//               predicted peak memory over capacity
// FeatureNames() is the feature set's identity: a predictor file records it, and a file written
// for another set is refused (predict.h).
#pragma once

#include <string>
#include <vector>

#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/analytical.h"

namespace scaleplan::predict {

const std::vector<std::string>& FeatureNames();

// The features of `plan` (built from its job) given the analytical engine's step and the memory
// model's report for it; FeatureNames().size() values, in that order.
std::vector<double> Features(const plan::Plan& plan, const sim::StepResult& step,
                             const plan::MemoryReport& memory);

}  // namespace scaleplan::predict
