#include <gtest/gtest.h>

#include "spec/presets.h"
#include "spec/readers.h"
#include "spec/yaml.h"
#include "test_util.h"

namespace scaleplan::spec {
namespace {

using scaleplan::testing::Fixture;
using scaleplan::testing::Must;

TEST(Presets, EveryPresetLoadsAndValidates) {
  int loaded = 0;
  for (const EmbeddedFile& p : EmbeddedPresets()) {
    std::string kind = p.kind;
    SCOPED_TRACE(kind + "/" + p.name);
    Status status;
    if (kind == "models") status = LoadModel(p.name).status();
    if (kind == "gpus") status = LoadGpu(p.name).status();
    if (kind == "clusters") status = LoadCluster(p.name).status();
    if (kind == "jobs") status = LoadJob(p.name).status();
    if (kind == "frameworks") status = LoadFramework(p.name).status();
    EXPECT_TRUE(status.ok()) << status.message();
    ++loaded;
  }
  // 15 models, 4 GPUs, 3 clusters, 1 job at the time of writing; more is fine, fewer is a loss.
  EXPECT_GE(loaded, 23);
}

// A job's plan starts from its framework's plan keys; the job's own keys override them, and
// --framework (LoadJob's second argument) swaps the framework under the same job keys.
TEST(Framework, PlanDefaultsUnderTheJobsKeys) {
  JobSpec job = Must(ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nframework: torchtitan\n"
      "plan: {tp: 2, sequence_parallel: false}\nworkload: {seq_len: 4096, global_batch: 8}\n",
      "job.yaml"));
  EXPECT_EQ(job.framework.name, "torchtitan");
  EXPECT_EQ(job.framework.elementwise, Elementwise::kEager);
  EXPECT_EQ(job.plan.zero, ZeroMode::kZero3);  // torchtitan's FSDP2
  EXPECT_FALSE(job.plan.sequence_parallel);    // the job's key wins
  EXPECT_EQ(job.plan.tp, 2);
  JobSpec swapped = Must(
      ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\nframework: torchtitan\nplan: {tp: 2}\n"
                   "workload: {seq_len: 4096, global_batch: 8}\n",
                   "job.yaml", "megatron-core"));
  EXPECT_EQ(swapped.framework.name, "megatron-core");
  EXPECT_EQ(swapped.plan.zero, ZeroMode::kZero1);
  EXPECT_TRUE(swapped.plan.tp_comm_overlap);
  EXPECT_EQ(swapped.plan.tp, 2);
  // Without a framework nothing changes: PlanSpec's defaults, the generic kernel model.
  JobSpec plain = Must(ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nworkload: {seq_len: 4096, global_batch: 8}\n",
      "job.yaml"));
  EXPECT_EQ(plain.framework, FrameworkSpec{});
  EXPECT_EQ(plain.plan, PlanSpec{});
}

// A framework may start from another (`base`): nemo-perf is megatron-core's kernels and plan
// with BF16 gradient reduction; an inline map overrides a key of its base and keeps the rest, and
// must name itself.
TEST(Framework, BaseSuppliesWhatTheMapLeavesOut) {
  FrameworkSpec core = Must(LoadFramework("megatron-core"));
  FrameworkSpec lm = Must(LoadFramework("nemo-perf"));
  EXPECT_EQ(lm.name, "nemo-perf");
  EXPECT_EQ(core.plan.grad_reduce_dtype, GradReduceDtype::kFp32);
  EXPECT_EQ(lm.plan.grad_reduce_dtype, GradReduceDtype::kBf16);
  EXPECT_TRUE(lm.fp8_saves_fp8_inputs);
  EXPECT_TRUE(lm.plan.tp_comm_overlap);
  EXPECT_EQ(lm.plan.zero, ZeroMode::kZero1);
  lm.name = core.name;
  lm.description = core.description;
  lm.source = core.source;
  lm.version = core.version;
  lm.plan.grad_reduce_dtype = core.plan.grad_reduce_dtype;
  EXPECT_EQ(lm, core);  // nothing else differs
  JobSpec job = Must(ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\n"
      "framework: {base: torchtitan, name: mine, compile: true, plan: {zero: 2}}\n"
      "workload: {seq_len: 4096, global_batch: 8}\n",
      "job.yaml"));
  EXPECT_EQ(job.framework.name, "mine");
  EXPECT_TRUE(job.framework.compile);
  EXPECT_EQ(job.framework.elementwise, Elementwise::kEager);  // torchtitan's
  EXPECT_EQ(job.plan.zero, ZeroMode::kZero2);
  EXPECT_TRUE(job.plan.dp_overlap);  // torchtitan's plan key
  Result<JobSpec> bad = ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nframework: {base: nosuch, name: x}\n", "job.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("nosuch"), std::string::npos) << bad.status().message();
  Result<JobSpec> unnamed = ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nframework: {base: torchtitan, compile: true}\n",
      "job.yaml");
  ASSERT_FALSE(unnamed.ok());
  EXPECT_NE(unnamed.status().message().find("framework.base needs framework.name"),
            std::string::npos)
      << unnamed.status().message();
}

TEST(Framework, BadKeysNameTheFileAndWhatIsAllowed) {
  Result<JobSpec> r = ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nframework: {name: x, elementwise: fast}\n",
      "job.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("framework.elementwise"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("eager"), std::string::npos);
  r = ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\nframework: nosuch\n", "job.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("torchtitan"), std::string::npos) << r.status().message();
  r = ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\nframework: {plan: {zero: 9}}\n",
                   "job.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("plan.zero"), std::string::npos) << r.status().message();
}

// min(1, limit / tdp)^(1/3): 500 W of 700 W leaves 0.8939 of the clock.
TEST(Gpu, PowerCapSlowsTheClockByTheCubeRoot) {
  GpuSpec gpu = Must(LoadGpu("h100-sxm"));
  EXPECT_DOUBLE_EQ(PowerClockFraction(gpu), 1.0);
  gpu.power_limit_w = 500;
  EXPECT_NEAR(PowerClockFraction(gpu), 0.893904, 1e-6);
  gpu.power_limit_w = 900;  // above the TDP: no boost beyond the tables, and refused in a spec
  EXPECT_DOUBLE_EQ(PowerClockFraction(gpu), 1.0);
  EXPECT_EQ(ValidateGpu(gpu).message(),
            "gpu.power_limit_w = 900 is above gpu.tdp_w = 700 (allowed: 0 for none, or from 175 "
            "to 700 W)");
  gpu.tdp_w = 0;  // unknown TDP: caps are ignored
  gpu.power_limit_w = 300;
  EXPECT_DOUBLE_EQ(PowerClockFraction(gpu), 1.0);
}

TEST(Presets, PresetNamesKeepDots) {
  EXPECT_TRUE(LoadModel("sc21-gpt-1.7b").ok());
  EXPECT_EQ(Must(LoadModel("sc21-gpt-1.7b")).hidden, 2304);
}

TEST(Presets, UnknownPresetListsKnownOnes) {
  Result<ModelSpec> model = LoadModel("llama4");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kNotFound);
  EXPECT_NE(model.status().message().find("unknown model preset 'llama4'"), std::string::npos);
  EXPECT_NE(model.status().message().find("llama3-405b"), std::string::npos);
}

// "-" names standard input wherever a preset or a file goes (as the data and log inputs take
// it), never a preset called "-"; a name that only starts with a dash is still a preset's.
TEST(Presets, DashIsStandardInputNotAPreset) {
  EXPECT_TRUE(LooksLikePath("-"));
  EXPECT_FALSE(LooksLikePath("-llama"));
  EXPECT_FALSE(LooksLikePath("llama3-8b"));
  EXPECT_TRUE(LooksLikePath("jobs/a.yaml"));
}

TEST(Presets, BaseInheritsAndOverrides) {
  ModelSpec m = Must(LoadModel(Fixture("custom-model.yaml")));
  EXPECT_EQ(m.name, "llama3-8b-deeper");
  EXPECT_EQ(m.layers, 40);
  EXPECT_EQ(m.hidden, 4096);  // from llama3-8b
  EXPECT_EQ(m.kv_heads, 8);
}

TEST(Presets, H200InheritsComputeFromH100) {
  GpuSpec h200 = Must(LoadGpu("h200"));
  GpuSpec h100 = Must(LoadGpu("h100-sxm"));
  EXPECT_EQ(h200.peak_bf16_flops_per_s, h100.peak_bf16_flops_per_s);
  EXPECT_GT(h200.memory_bytes, h100.memory_bytes);
  EXPECT_EQ(h200.memory_bandwidth_bytes_per_s, 4.8e12);
}

TEST(Yaml, MalformedNamesFileAndLine) {
  Result<JobSpec> job = LoadJob(Fixture("malformed.yaml"));
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kParseError);
  // The unterminated flow sequence opened on line 3 is reported where the parser gave up.
  EXPECT_NE(job.status().message().find("malformed.yaml:"), std::string::npos);
  EXPECT_NE(job.status().message().find("malformed YAML"), std::string::npos);
}

// Flow lists nested past 64 levels are refused by name, as JSON is (yaml-cpp says "bad file");
// brackets in a comment or a double-quoted string do not count.
TEST(Yaml, DeepNestingIsNamed) {
  Result<ModelSpec> deep =
      ParseModelYaml("name: x\nlayers: " + std::string(1000, '[') + "\n", "deep.yaml");
  EXPECT_EQ(deep.status().message(), "deep.yaml: nested deeper than 64 levels (allowed: at most 64)");
  Result<ModelSpec> quoted = ParseModelYaml(
      "name: x\ndescription: \"" + std::string(100, '[') + "\"  # " + std::string(100, '{') +
          "\nlayers: [\n",
      "q.yaml");
  EXPECT_EQ(quoted.status().message().find("nested deeper"), std::string::npos)
      << quoted.status().message();
}

// An empty value is named at its key's line (yaml-cpp places the empty node where the next key
// starts, or past the last line), with what the key takes (model.layers: 1 to kMaxLayers, 2^16).
TEST(Yaml, EmptyValueNamesItsKeysLine) {
  EXPECT_EQ(ParseModelYaml("name: x\nlayers:\nhidden: 4096\n", "m.yaml").status().message(),
            "m.yaml:2: model.layers has no value (allowed: integer from 1 to 65536)");
  EXPECT_EQ(ParseModelYaml("name: x\nhidden: 4096\nlayers:\n", "m.yaml").status().message(),
            "m.yaml:3: model.layers has no value (allowed: integer from 1 to 65536)");
  // A job's gpus, read apart from the schema, likewise (kMaxRanks, 2^24).
  EXPECT_EQ(ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\ngpus:\nplan: {tp: 2}\n", "j.yaml")
                .status()
                .message(),
            "j.yaml:3: job.gpus has no value (allowed: integer from 1 to 16777216)");
}

TEST(Yaml, UnknownKeyListsAllowedKeys) {
  Result<JobSpec> job = ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nplan:\n  tp: 1\n  tensor_parallel: 2\n", "job.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message().substr(0, 43), "job.yaml:5: unknown key 'tensor_parallel' i");
  EXPECT_NE(job.status().message().find("allowed: tp, cp, pp"), std::string::npos);
}

TEST(Yaml, BadValueNamesLineFieldAndAllowed) {
  Result<JobSpec> job =
      ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\nplan:\n  pp: -4\n", "job.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(),
            "job.yaml:4: plan.pp = -4 is out of range (allowed: integer from 1 to 16777216)");
}

// A quoted scalar is text, as in JSON: an integer, number or boolean field refuses it, showing
// the quotes; a choice ("1" for zero, as the JSON reports write it) still reads it.
TEST(Yaml, QuotedNumbersAreText) {
  Result<JobSpec> job =
      ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\nplan:\n  pp: \"4\"\n", "job.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(),
            "job.yaml:4: plan.pp = \"4\" is quoted text, not an integer (allowed: integer from 1 "
            "to 16777216)");
  EXPECT_EQ(job.status().key(), "plan.pp");
  job = ParseJobYaml(
      R"({"model": "llama3-8b", "cluster": "dgx-h100-ib", "plan": {"sequence_parallel": 'true'}})",
      "j");
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("= \"true\" is quoted text, not true or false"),
            std::string::npos)
      << job.status().message();
  Result<YAML::Node> node = ParseYaml("memory_bytes: '80e9'\n", "g.yaml");
  ASSERT_TRUE(node.ok());
  GpuSpec gpu;
  Status number = GpuSchema().Set(gpu, "memory_bytes",
                                  Must(ToRaw((*node)["memory_bytes"], "g.yaml", "gpu", "memory_bytes")));
  EXPECT_EQ(number.key(), "gpu.memory_bytes");
  EXPECT_NE(number.message().find("= \"80e9\" is quoted text, not a number"), std::string::npos)
      << number.message();
  job = ParseJobYaml(R"({"model": "llama3-8b", "cluster": "dgx-h100-ib", "gpus": "64"})", "j");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().key(), "job.gpus");
  // A one-item list is refused as every other single-valued key refuses it.
  job = ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\ngpus: [16]\n", "j.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("job.gpus = [16] is a list, not a single value"),
            std::string::npos)
      << job.status().message();
  EXPECT_TRUE(ParseJobYaml(R"({"model": "llama3-8b", "cluster": "dgx-h100-ib", "gpus": 64,
                               "workload": {"seq_len": 4096, "global_batch": 256},
                               "plan": {"zero": "1", "pp": 4}})",
                           "j")
                  .ok());
}

TEST(Yaml, MissingRequiredModelField) {
  Result<ModelSpec> m =
      ParseModelYaml("layers: 2\nhidden: 64\nheads: 4\nffn_hidden: 128\n", "m.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "m.yaml: model.vocab is missing (allowed: integer >= 1)");
}

TEST(Yaml, NegativeNumberRejected) {
  Result<ModelSpec> m = ParseModelYaml("base: llama3-8b\nhidden: -1\n", "m.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "m.yaml:2: model.hidden = -1 is out of range (allowed: integer from 1 to 1048576)");
}

TEST(Yaml, ChoiceRejectedWithChoices) {
  Result<JobSpec> job = ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nplan:\n  recompute: some\n", "job.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(),
            "job.yaml:4: plan.recompute = some is not a known choice (allowed: one of: none, "
            "selective, full)");
}

TEST(Yaml, PlacementMustBePermutation) {
  Result<JobSpec> job = ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nplan:\n  placement: [tp, tp, pp, dp]\n", "job.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("names a dimension twice"), std::string::npos);
  JobSpec ok = Must(
      ParseJobYaml("model: llama3-8b\ncluster: dgx-h100-ib\nplan:\n  placement: [dp, pp, cp, tp]\n",
                   "job.yaml"));
  EXPECT_EQ(ok.plan.placement, (std::vector<Dim>{Dim::kDp, Dim::kPp, Dim::kCp, Dim::kTp}));
}

TEST(Yaml, RecomputeModulesAreMegatronNames) {
  JobSpec ok = Must(ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nplan:\n  recompute_modules: [layernorm, mlp]\n",
      "job.yaml"));
  EXPECT_EQ(ok.plan.recompute_modules, kRecomputeLayernorm | kRecomputeMlp);
  EXPECT_EQ(PlanSpec{}.recompute_modules, kRecomputeCoreAttn);  // Megatron-Core's default
  Result<JobSpec> bad = ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\nplan:\n  recompute_modules: [layernorm, norm]\n",
      "job.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("names an unknown module"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("core_attn, layernorm, mlp, moe_act, mla_up_proj, "
                                        "shared_experts"),
            std::string::npos)
      << bad.status().message();
}

TEST(Cluster, TiersMustNest) {
  Result<ClusterSpec> c = ParseClusterYaml(
      "name: bad\ngpu: h100-sxm\ntiers:\n"
      "  - {name: node, gpus: 8, bandwidth_bytes_per_s: 450e9}\n"
      "  - {name: rack, gpus: 12, bandwidth_bytes_per_s: 50e9}\n",
      "c.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "c.yaml: cluster.tiers[1].gpus = 12 is not a multiple of the tier inside it (node = 8) "
            "(allowed: a multiple of 8 larger than it)");
}

TEST(Cluster, OversubscriptionBelowOneRejected) {
  Result<ClusterSpec> c = ParseClusterYaml(
      "name: bad\ngpu: h100-sxm\ntiers:\n"
      "  - {name: node, gpus: 8, bandwidth_bytes_per_s: 450e9, oversubscription: 0.5}\n",
      "c.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("oversubscription = 0.5 is out of range"), std::string::npos);
}

TEST(Workload, BatchMustBeWholeSequences) {
  WorkloadSpec w;
  w.seq_len = 8192;
  w.batch_tokens = 10000;
  EXPECT_EQ(ValidateWorkload(w).message(),
            "workload.batch_tokens = 10000 is not a whole number of sequences of "
            "workload.seq_len = 8192 (allowed: a multiple of 8192)");
  w.batch_tokens = 0;
  EXPECT_NE(ValidateWorkload(w).message().find("workload.batch_tokens is missing"),
            std::string::npos);
}

TEST(Model, KvHeadsMustDivideHeads) {
  ModelSpec m = Must(LoadModel("llama3-8b"));
  m.kv_heads = 5;
  EXPECT_EQ(ValidateModel(m).message(),
            "model.kv_heads = 5 does not divide model.heads = 32 (allowed: 1, 2, 4, 8, 16, 32)");
}

TEST(Model, MoeTopKBounded) {
  ModelSpec m = Must(LoadModel("mixtral-8x7b"));
  m.top_k = 9;
  EXPECT_EQ(ValidateModel(m).message(),
            "model.top_k = 9 is out of range for model.experts = 8 (allowed: 1 to 8)");
}

// A dense model with an expert key set: the key would change nothing, so it is refused (a MoE
// preset made dense by experts: 0 keeps its expert width from the base).
TEST(Model, ExpertKeysNeedExperts) {
  ModelSpec m = Must(LoadModel("mixtral-8x7b"));
  m.experts = 0;
  m.top_k = 0;
  m.expert_ffn_hidden = 14336;
  EXPECT_EQ(ValidateModel(m).message(),
            "model.expert_ffn_hidden = 14336 has no effect on a dense model (model.experts = 0) "
            "(allowed: leave it out, or give model.experts >= 2)");
  m.expert_ffn_hidden = 0;
  m.moe_layer_interval = 2;
  EXPECT_NE(ValidateModel(m).message().find("model.moe_layer_interval = 2 has no effect"),
            std::string::npos);
  m.moe_layer_interval = 1;
  EXPECT_TRUE(ValidateModel(m).ok()) << ValidateModel(m).message();
}

// The innermost tier has no tier inside it to run a two-level collective's first level in.
TEST(Cluster, HierarchicalCollectivesNeedATierInside) {
  Result<ClusterSpec> c = ParseClusterYaml(
      "name: bad\ngpu: h100-sxm\ntiers:\n"
      "  - {name: node, gpus: 8, bandwidth_bytes_per_s: 450e9, hierarchical_collectives: true}\n",
      "c.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "c.yaml: cluster.tiers[0].hierarchical_collectives = true on the innermost tier (node), "
            "which has no tier inside it for the first level (allowed: false here; true on an "
            "outer tier)");
}

// Every schema field that describes the architecture is equal; only name/description/source
// differ.
void ExpectSameArchitecture(const ModelSpec& hf, const ModelSpec& preset) {
  nlohmann::json a = ModelSchema().ToJson(hf);
  nlohmann::json b = ModelSchema().ToJson(preset);
  for (const char* meta : {"name", "description", "source"}) {
    a.erase(meta);
    b.erase(meta);
  }
  EXPECT_EQ(a, b);
}

TEST(HfConfig, LlamaMatchesPreset) {
  ExpectSameArchitecture(Must(LoadModel(Fixture("hf/llama3-8b-config.json"))),
                         Must(LoadModel("llama3-8b")));
}

// A config whose architectures and model_type disagree (a Llama class over Mixtral's keys) was
// read as the dense class, its expert keys dropped: refused, naming both.
TEST(HfConfig, ArchitecturesAndModelTypeMustAgree) {
  Result<ModelSpec> mixed = ParseHfConfig(
      R"({"architectures": ["LlamaForCausalLM"], "model_type": "mixtral", "hidden_size": 4096,
          "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
          "num_key_value_heads": 8, "vocab_size": 32000, "num_local_experts": 8,
          "num_experts_per_tok": 2})",
      "config.json");
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find(
                "architectures = LlamaForCausalLM and model_type = mixtral name different "
                "architectures (allowed: model_type llama with LlamaForCausalLM)"),
            std::string::npos)
      << mixed.status().message();
}

TEST(HfConfig, MixtralMatchesPreset) {
  ExpectSameArchitecture(Must(LoadModel(Fixture("hf/mixtral-8x7b-config.json"))),
                         Must(LoadModel("mixtral-8x7b")));
}

TEST(HfConfig, QwenFamiliesReadTheirExtras) {
  ModelSpec qwen2 = Must(LoadModel(Fixture("hf/qwen2-7b-config.json")));
  EXPECT_TRUE(qwen2.qkv_bias);
  EXPECT_FALSE(qwen2.qk_norm);
  EXPECT_EQ(qwen2.kv_heads, 4);
  ModelSpec qwen3 = Must(LoadModel(Fixture("hf/qwen3-30b-a3b-config.json")));
  EXPECT_TRUE(qwen3.qk_norm);
  EXPECT_EQ(qwen3.head_dim, 128);
  EXPECT_EQ(qwen3.experts, 128);
  EXPECT_EQ(qwen3.top_k, 8);
  EXPECT_EQ(qwen3.expert_ffn_hidden, 768);
  EXPECT_EQ(qwen3.moe_first_dense_layers, 0);
  // Qwen's optional local attention on the upper layers has no model key: refused, not dropped
  // (false, as every released Qwen config has it, reads as above).
  Result<ModelSpec> windowed = ParseHfConfig(
      R"({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
          "num_hidden_layers": 4, "num_attention_heads": 4, "vocab_size": 100,
          "use_sliding_window": true, "sliding_window": 4096, "max_window_layers": 2})",
      "config.json");
  EXPECT_EQ(windowed.status().message(),
            "config.json: use_sliding_window = true (local attention from layer max_window_layers "
            "on) is not supported (allowed: false; a Mistral-style window on every layer is "
            "model.sliding_window)");
  // The flag on, but no layer windowed (max_window_layers at the layer count, or no window): read.
  for (const char* harmless : {R"("sliding_window": 4096, "max_window_layers": 4)",
                               R"("sliding_window": null, "max_window_layers": 2)"}) {
    EXPECT_TRUE(ParseHfConfig(
                    std::string(R"({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64,
          "intermediate_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
          "vocab_size": 100, "use_sliding_window": true, )") +
                        harmless + "}",
                    "config.json")
                    .ok())
        << harmless;
  }
}

// A size written as text ("32") or a Boolean as "yes" is refused with the key, not read.
TEST(HfConfig, SizesAreJsonNumbers) {
  const std::string head =
      R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
          "num_attention_heads": 4, "vocab_size": 100, )";
  Result<ModelSpec> text = ParseHfConfig(head + R"("num_hidden_layers": "32"})", "config.json");
  EXPECT_NE(text.status().message().find(
                "config.json: num_hidden_layers = \"32\" is not a JSON number or Boolean"),
            std::string::npos)
      << text.status().message();
  Result<ModelSpec> yes = ParseHfConfig(
      head + R"("num_hidden_layers": 4, "tie_word_embeddings": "yes"})", "config.json");
  EXPECT_NE(yes.status().message().find("tie_word_embeddings = \"yes\" is not a JSON number"),
            std::string::npos)
      << yes.status().message();
  EXPECT_TRUE(ParseHfConfig(head + R"("num_hidden_layers": 4, "tie_word_embeddings": true})",
                            "config.json")
                  .ok());
  // hidden_act: a gated MLP's activation by transformers' name (any of them prices alike), not a
  // number or an unknown name; num_key_value_heads 0 is no config's (transformers divides by it).
  EXPECT_TRUE(
      ParseHfConfig(head + R"("num_hidden_layers": 4, "hidden_act": "gelu"})", "config.json").ok());
  for (const char* act : {"5", "\"swish2\""}) {
    Result<ModelSpec> r = ParseHfConfig(
        head + R"("num_hidden_layers": 4, "hidden_act": )" + act + "}", "config.json");
    ASSERT_FALSE(r.ok()) << act;
    EXPECT_NE(r.status().message().find(std::string("config.json: hidden_act = ") + act +
                                        " (allowed: gelu, gelu_10,"),
              std::string::npos)
        << r.status().message();
  }
  Result<ModelSpec> kv0 =
      ParseHfConfig(head + R"("num_hidden_layers": 4, "num_key_value_heads": 0})", "config.json");
  EXPECT_NE(kv0.status().message().find("config.json: num_key_value_heads = 0 (allowed: 1 or more"),
            std::string::npos)
      << kv0.status().message();
}

TEST(HfConfig, DeepSeekMatchesPresetAndRefusesWhatItCannotRead) {
  ModelSpec hf = Must(LoadModel(Fixture("hf/deepseek-v3-config.json")));
  ExpectSameArchitecture(hf, Must(LoadModel("deepseek-v3")));
  EXPECT_EQ(hf.head_dim, 128);  // qk_nope_head_dim, not the config's head_dim (the rotary part)
  EXPECT_EQ(hf.kv_heads, 0);
  Result<ModelSpec> freq = ParseHfConfig(
      R"({"architectures": ["DeepseekV3ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
          "num_hidden_layers": 4, "num_attention_heads": 4, "vocab_size": 100,
          "kv_lora_rank": 16, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16,
          "n_routed_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32,
          "moe_layer_freq": 2})",
      "config.json");
  ASSERT_FALSE(freq.ok());
  EXPECT_EQ(freq.status().message(),
            "config.json: moe_layer_freq = 2 is not supported (allowed: 1)");
}

TEST(Model, GlobalAttentionIntervalNeedsAWindow) {
  ModelSpec m = Must(LoadModel("llama3-8b"));
  m.global_attention_interval = 4;
  EXPECT_EQ(ValidateModel(m).message(),
            "model.global_attention_interval = 4 needs model.sliding_window (allowed: 0 without a "
            "sliding window)");
}

TEST(Model, LatentAttentionNeedsItsHeadWidths) {
  ModelSpec m = Must(LoadModel("deepseek-v3"));
  m.rope_head_dim = 0;
  Status s = ValidateModel(m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model.kv_lora_rank = 512 (multi-head latent attention) needs "
                             "model.head_dim and model.rope_head_dim"),
            std::string::npos)
      << s.message();
  m = Must(LoadModel("llama3-8b"));
  m.q_lora_rank = 256;
  s = ValidateModel(m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model.q_lora_rank = 256"), std::string::npos) << s.message();
  m = Must(LoadModel("deepseek-v3"));
  m.kv_heads = 16;
  s = ValidateModel(m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("model.kv_heads = 16 with multi-head latent attention"),
            std::string::npos)
      << s.message();
}

// Mistral 7B v0.1 attends over a 4,096-token window on every layer; a null window is none.
TEST(HfConfig, MistralReadsItsSlidingWindow) {
  const std::string base =
      R"({"architectures": ["MistralForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
          "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
          "vocab_size": 32000, "sliding_window": )";
  ModelSpec windowed = Must(ParseHfConfig(base + "4096}", "config.json"));
  EXPECT_EQ(windowed.sliding_window, 4096);
  EXPECT_TRUE(windowed.IsLocalAttentionLayer(31));
  EXPECT_EQ(Must(ParseHfConfig(base + "null}", "config.json")).sliding_window, 0);
}

TEST(HfConfig, MalformedJsonNamesLine) {
  Result<ModelSpec> m = LoadModel(Fixture("hf/malformed.json"));
  ASSERT_FALSE(m.ok());
  // The missing comma after line 4 is detected at the end of the next key: line 5, column 21
  // (the key "num_hidden_layers" spans columns 3 to 21).
  EXPECT_NE(m.status().message().find("malformed.json:5:21: malformed JSON"), std::string::npos)
      << m.status().message();
}

TEST(HfConfig, UnsupportedArchitectureListsSupported) {
  Result<ModelSpec> m = LoadModel(Fixture("hf/unsupported.json"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("architectures = GptOssForCausalLM is not supported"),
            std::string::npos);
  EXPECT_NE(m.status().message().find("LlamaForCausalLM"), std::string::npos);
}

TEST(HfConfig, MissingKeyNamed) {
  Result<ModelSpec> m =
      ParseHfConfig(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64})", "config.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "config.json: num_hidden_layers is missing (allowed: integer from 1 to 65536)");
}

TEST(Files, MissingFileIsNotFound) {
  Result<JobSpec> job = LoadJob("/no/such/job.yaml");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(), "/no/such/job.yaml: no such file");
}

}  // namespace
}  // namespace scaleplan::spec
