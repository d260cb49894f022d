// Readers for every input: presets by name, YAML files, Hugging Face config.json, job files.
//
// A reference `ref` names either a preset ("llama3-405b") or a file: anything containing '/' or
// ending in .yaml, .yml or .json is a path. Model, GPU and framework YAML maps may start from
// another with `base: <ref>` and override keys (a framework must then give its own name).
// Errors name the file and line where the bad value stands.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"
#include "spec/specs.h"

namespace scaleplan::spec {

Result<ModelSpec> LoadModel(std::string_view ref);
Result<GpuSpec> LoadGpu(std::string_view ref);
Result<ClusterSpec> LoadCluster(std::string_view ref);
// A training framework (presets/frameworks): its kernel behaviour and the plan keys it sets.
Result<FrameworkSpec> LoadFramework(std::string_view ref);

// A job: a preset from presets/jobs or a YAML file with keys model, cluster, gpu, gpus, framework,
// plan, workload (model/cluster/gpu/framework each a reference or an inline map). The plan starts
// from the framework's plan keys, then the job's own apply. A non-empty `framework` replaces the
// job's framework (the --framework flag) before its plan keys are applied.
Result<JobSpec> LoadJob(std::string_view ref, std::string_view framework = "");

// Parses YAML text as a model/GPU/cluster/job; `origin` names it in errors (e.g. a file path).
Result<ModelSpec> ParseModelYaml(std::string_view text, const std::string& origin);
Result<ClusterSpec> ParseClusterYaml(std::string_view text, const std::string& origin);
Result<JobSpec> ParseJobYaml(std::string_view text, const std::string& origin,
                             std::string_view framework = "");

// A Hugging Face transformers config.json for LlamaForCausalLM, MistralForCausalLM,
// MixtralForCausalLM, Qwen2ForCausalLM, Qwen2MoeForCausalLM, Qwen3ForCausalLM or
// Qwen3MoeForCausalLM.
Result<ModelSpec> ParseHfConfig(std::string_view text, const std::string& origin);

// The GPUs a job uses, as written in a job file (`gpus:`) or a flag (--gpus): an integer from 1 to
// kMaxRanks. `origin` names where it stands in the error.
// `quoted`: the value was written as text ("64"), which is refused as the schema's integers are.
Result<int64_t> ParseGpuCount(std::string_view text, const std::string& origin,
                              bool quoted = false);

// A file reference written inside the file `from_origin`: relative to that file's folder (an
// absolute path, a path that exists from here, or one inside a preset, as written).
std::string ResolveRef(std::string_view ref, const std::string& from_origin);

// True when `ref` should be read as a path rather than a preset name ("-": standard input).
bool LooksLikePath(std::string_view ref);

// Reads a whole spec-sized input file (core/file.h: a regular file or "-", at most
// kMaxSpecFileBytes); the error names the path.
Result<std::string> ReadFile(const std::string& path);

}  // namespace scaleplan::spec
