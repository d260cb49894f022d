// Launch configurations for a plan, and reading Megatron-LM arguments and torchtitan job files
// back into a job.
//
// Megatron-LM (megatron/training/arguments.py names): parallel sizes, virtual stages as
// --num-layers-per-virtual-pipeline-stage, --sequence-parallel, batch and sequence sizes,
// recomputation, --use-distributed-optimizer (ZeRO 1/2: Megatron's distributed optimizer shards
// optimizer state and gradients) or --use-torch-fsdp2 (ZeRO 3 / FSDP), overlap switches, CP
// communication type, expert parallelism, FP8, the rank order (--use-tp-pp-dp-mapping for
// tp-cp-pp-dp; other placements get a '#' note line, as do settings Megatron cannot express),
// Llama 3-style edge trimming
// (--account-for-embedding/loss-in-pipeline-split), the model's shape. ZeRO 0 emits neither
// optimizer flag. torchtitan: the [parallelism] table of its TOML job file (and the batch, sequence
// and activation-checkpoint settings that go with it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "plan/plan.h"
#include "spec/specs.h"

namespace scaleplan::report {

std::string MegatronArgs(const plan::Plan& plan);
std::string TorchtitanToml(const plan::Plan& plan);

// A launch configuration in one format, for a report (empty format: none asked for).
struct LaunchText {
  std::string format;
  std::string text;
};

// The launch formats (a named registry): megatron, torchtitan.
struct LaunchFormat {
  std::string name;
  std::string description;
  std::string (*render)(const plan::Plan& plan);
};
const std::vector<LaunchFormat>& LaunchFormats();
// The format called `name`; an unknown one is an error naming `origin` (e.g. "--emit").
Result<const LaunchFormat*> FindLaunchFormat(std::string_view name, std::string_view origin);
// As FindLaunchFormat, but an empty name (no --emit) is no format: nullptr.
Result<const LaunchFormat*> FindLaunchFormatIfAny(std::string_view name, std::string_view origin);

struct LaunchParse {
  std::vector<std::string> ignored;  // arguments or keys that do not describe the plan (--lr, ...)
  // Plan fields that differ from the job's plan, as "key: before -> after": what the input sets,
  // and what it leaves to the framework's defaults (vp 1, no edge trimming, ...).
  std::vector<std::string> changed;
  // What else the reader did or could not carry over (the model a flavour named, approximations).
  std::vector<std::string> notes;
};

// Replaces job.plan with the plan Megatron-LM arguments describe ("--tensor-model-parallel-size 8
// --sequence-parallel ..."; lines starting with '#' are comments; what they leave out takes
// Megatron's default, including its rank order tp-cp-ep-dp-pp) and applies the workload and model
// fields they name. Errors name the argument and its value.
Result<LaunchParse> ApplyMegatronArgs(const std::string& args, spec::JobSpec& job);

// Replaces job.plan with the plan a torchtitan job TOML describes (TorchtitanToml writes one; the
// keys of torchtitan v0.2's JobConfig, and v0.1's [float8] and training.batch_size): the
// [parallelism] degrees, FSDP2 resharding (ZeRO 3, or fsdp without resharding after the forward
// pass), async TP, CP rotation, the pipeline schedule, micro-batch and layers per stage (first and
// last stage one layer fewer: Llama 3's trimming), [training] sequence and batch sizes and
// gradient-reduction type, [activation_checkpoint], FP8 (a float8 converter in model.converters,
// or v0.1's training.enable_float8_linear) and compile. What the file leaves out takes
// torchtitan's default; ranks are ordered tp, cp, dp, pp (its mesh). The job's framework becomes
// torchtitan's preset with the file's compile and FP8 recipe; [model] llama3 8B/70B/405B replaces
// the model. A file that gives every degree (data_parallel_shard_degree not -1) states the GPU
// count, their product: it replaces job.gpus (in LaunchParse::changed), or, with `keep_gpus`
// (the user gave the count), a different product is an error. Errors name the file, line, key
// and value.
Result<LaunchParse> ApplyTorchtitanToml(std::string_view text, const std::string& origin,
                                        spec::JobSpec& job, bool keep_gpus = false);

}  // namespace scaleplan::report
