// Launch configurations for a plan, and reading Megatron-LM arguments back into a job.
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

struct MegatronParse {
  std::vector<std::string> ignored;  // arguments that do not describe the plan (--lr, ...)
  // Plan fields that differ from the job's plan, as "key: before -> after": what the arguments
  // set, and what they leave to Megatron-LM's defaults (vp 1, no edge trimming, ...).
  std::vector<std::string> changed;
};

// Replaces job.plan with the plan Megatron-LM arguments describe ("--tensor-model-parallel-size 8
// --sequence-parallel ..."; lines starting with '#' are comments; what they leave out takes
// Megatron's default, including its rank order tp-cp-ep-dp-pp) and applies the workload and model
// fields they name. Errors name the argument and its value.
Result<MegatronParse> ApplyMegatronArgs(const std::string& args, spec::JobSpec& job);

}  // namespace scaleplan::report
