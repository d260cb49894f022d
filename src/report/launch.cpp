#include "report/launch.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "core/text.h"
#include "schedule/schedule.h"
#include "spec/fp8_weights.h"
#include "topology/placement.h"

namespace scaleplan::report {

namespace {

std::vector<spec::Dim> Effective(const std::vector<spec::Dim>& order, const plan::Plan& p) {
  return topology::EffectiveOrder(order, p.tp, p.cp, p.pp, p.dp);
}

// Llama 3 presets and torchtitan's llama3 flavours.
const std::vector<std::pair<std::string, std::string>>& TorchtitanFlavors() {
  static const std::vector<std::pair<std::string, std::string>> flavors = {
      {"llama3-8b", "8B"}, {"llama3-70b", "70B"}, {"llama3-405b", "405B"}};
  return flavors;
}

std::string TorchtitanFlavor(const std::string& model) {
  for (const auto& [preset, flavor] : TorchtitanFlavors()) {
    if (preset == model) return flavor;
  }
  return "";
}

}  // namespace

std::string MegatronArgs(const plan::Plan& p) {
  const spec::ModelSpec& m = p.model();
  const spec::PlanSpec& s = p.spec();
  std::vector<std::string> a;
  // Lines after the arguments: what Megatron-LM cannot express (comments, so that pasting the
  // arguments after a command's continuation still runs them all).
  std::vector<std::string> notes;
  auto add = [&](const std::string& flag, auto value) {
    a.push_back(fmt::format("{} {}", flag, value));
  };
  add("--tensor-model-parallel-size", p.tp);
  add("--pipeline-model-parallel-size", p.pp);
  // Rank order: Megatron-Core's default is tp-cp-ep-dp-pp (innermost first); with
  // --use-tp-pp-dp-mapping it is tp-cp-ep-pp-dp (Llama 3's).
  using spec::Dim;
  std::vector<Dim> order = Effective(s.placement, p);
  if (order == Effective({Dim::kTp, Dim::kCp, Dim::kPp, Dim::kDp}, p) &&
      order != Effective({Dim::kTp, Dim::kCp, Dim::kDp, Dim::kPp}, p)) {
    a.push_back("--use-tp-pp-dp-mapping");
  } else if (order != Effective({Dim::kTp, Dim::kCp, Dim::kDp, Dim::kPp}, p)) {
    std::vector<std::string> names;
    for (Dim d : s.placement) names.emplace_back(spec::DimName(d));
    notes.push_back(fmt::format(
        "# placement [{}] has no Megatron-LM rank order (tp-cp-ep-dp-pp, or tp-cp-ep-pp-dp with "
        "--use-tp-pp-dp-mapping): these arguments launch the default order",
        Join(names, ", ")));
  }
  if (s.grad_sync == spec::GradSync::kDelayed && p.dp * p.cp > 1)
    notes.push_back("# grad_sync = delayed has no Megatron-LM argument: reductions run in-step");
  if (const int64_t rank = p.job.workload.lora_rank; rank > 0) {
    notes.push_back(fmt::format(
        "# lora_rank = {} (LoRA) has no Megatron-LM argument: these arguments train every "
        "weight; NeMo and Megatron-Bridge run it as PEFT LoRA (dim {}, target modules "
        "linear_qkv, linear_proj, linear_fc1, linear_fc2)",
        rank, rank));
  }
  if (const int64_t d = p.job.workload.document_tokens; d > 0 && d < p.job.workload.seq_len) {
    notes.push_back(fmt::format(
        "# document_tokens = {} (packed documents, attention within each) is the data's, not an "
        "argument's: feed packed sequences (THD, with each document's boundaries) as Megatron's "
        "SFT datasets do",
        d));
  }
  if (s.fp8_params && !spec::Fp8ParamGatherApplies(s)) {
    notes.push_back(
        s.precision != spec::Precision::kFp8
            ? "# fp8_params with precision fp4 has no Megatron-LM argument here: these arguments "
              "keep BF16 weights beside the cast"
            : "# fp8_params with zero 0: Megatron-LM's --fp8-param-gather needs the distributed "
              "optimizer; these arguments keep BF16 weights beside the cast");
  }
  if (m.activation == spec::Activation::kRelu)
    notes.push_back(
        "# activation = relu has no Megatron-LM argument: these arguments train its default GeLU "
        "MLP (the same matrices and cost)");
  if (m.position_embedding == spec::PositionEmbedding::kAlibi)
    notes.push_back(
        "# position_embedding = alibi has no Megatron-LM argument (Megatron-DeepSpeed's is "
        "--position-embedding-type alibi): these arguments train without position information "
        "(none: the same cost, no bias on the scores)");
  if (m.sliding_window > 0)
    notes.push_back(fmt::format(
        "# sliding_window = {} (local attention) is not emitted: set the model's window in its "
        "Megatron-LM configuration",
        m.sliding_window));
  if (s.dp_replicate > 1 && s.zero != spec::ZeroMode::kZero1 && s.zero != spec::ZeroMode::kZero2)
    notes.push_back(
        "# dp_replicate (HSDP) is emitted only with the distributed optimizer (zero 1 or 2)");
  add("--context-parallel-size", p.cp);
  const int64_t slots = m.layers + (s.trim_edge_stages ? 2 : 0);
  if (slots % (p.pp * p.vp) != 0) {
    if (p.vp > 1) add("--num-virtual-stages-per-pipeline-rank", p.vp);
    notes.push_back(fmt::format(
        "# {} layers split unevenly over {} pipeline chunks (uneven_layers): give Megatron-LM a "
        "pipeline layout for it",
        m.layers, p.pp * p.vp));
  } else if (p.vp > 1) {
    add("--num-layers-per-virtual-pipeline-stage", slots / (p.pp * p.vp));
  }
  if (s.schedule == spec::Schedule::kLlama3)
    add("--microbatch-group-size-per-virtual-pipeline-stage", p.pp_group);
  if (schedule::Info(s.schedule).splits_backward && p.pp > 1) {
    notes.push_back(fmt::format(
        "# schedule {} has no Megatron-LM argument: these arguments launch {}",
        spec::ScheduleName(s.schedule), p.vp > 1 ? "interleaved 1F1B (looped chunks)" : "1F1B"));
  }
  if (s.trim_edge_stages) {
    a.push_back("--account-for-embedding-in-pipeline-split");
    a.push_back("--account-for-loss-in-pipeline-split");
  }
  if (p.SequenceParallel()) a.push_back("--sequence-parallel");
  add("--micro-batch-size", s.micro_batch);
  add("--global-batch-size", p.global_batch);
  add("--seq-length", p.job.workload.seq_len);
  if (s.recompute == spec::Recompute::kFull && s.recompute_layers > 0) {
    a.push_back(fmt::format(
        "--recompute-granularity full --recompute-method block --recompute-num-layers {}",
        s.recompute_layers));
  } else if (s.recompute == spec::Recompute::kFull) {
    a.push_back("--recompute-granularity full --recompute-method uniform --recompute-num-layers 1");
  } else if (s.recompute == spec::Recompute::kSelective) {
    std::string modules;
    if (s.recompute_modules != spec::kRecomputeCoreAttn) {
      modules = " --recompute-modules";
      for (int i = 0; i < spec::kRecomputeModules; ++i)
        if (s.recompute_modules & (1u << i)) modules += " " + spec::RecomputeModuleNames()[i];
    }
    a.push_back("--recompute-granularity selective" + modules);
  }
  switch (s.zero) {
    case spec::ZeroMode::kZero0:
      break;
    case spec::ZeroMode::kZero1:
    case spec::ZeroMode::kZero2:
      a.push_back("--use-distributed-optimizer");
      break;
    case spec::ZeroMode::kZero3:
    case spec::ZeroMode::kFsdp:
      a.push_back("--use-torch-fsdp2");
      break;
  }
  if (s.dp_overlap && p.dp * p.cp > 1) {
    // Megatron gathers parameters only with a sharded optimizer.
    a.push_back(s.zero == spec::ZeroMode::kZero0 ? "--overlap-grad-reduce"
                                                 : "--overlap-grad-reduce --overlap-param-gather");
  }
  // HSDP: Megatron-Core keeps one distributed-optimizer instance per replica group.
  bool distributed = s.zero == spec::ZeroMode::kZero1 || s.zero == spec::ZeroMode::kZero2;
  if (s.dp_replicate > 1 && distributed)
    add("--num-distributed-optimizer-instances", s.dp_replicate);
  if (s.grad_reduce_dtype == spec::GradReduceDtype::kBf16) a.push_back("--grad-reduce-in-bf16");
  // FP8 weights held alone (spec/fp8_weights.h).
  if (s.fp8_params && spec::Fp8ParamGatherApplies(s)) a.push_back("--fp8-param-gather");
  // Megatron's TP communication overlap needs sequence parallelism.
  if (s.tp_comm_overlap && p.SequenceParallel()) a.push_back("--tp-comm-overlap");
  if (p.cp > 1)
    add("--cp-comm-type", s.cp_algorithm == spec::CpAlgorithm::kRing ? "p2p" : "all_gather");
  if (m.IsMoe()) {
    add("--num-experts", m.experts);
    add("--moe-router-topk", m.top_k);
    add("--moe-ffn-hidden-size", m.EffectiveExpertFfn());
    if (m.shared_experts > 0) {
      add("--moe-shared-expert-intermediate-size", m.shared_experts * m.EffectiveSharedExpertFfn());
    }
    if (m.moe_first_dense_layers > 0 || m.moe_layer_interval > 1) {
      // Megatron-LM's per-layer pattern, 1 for a MoE layer.
      std::string pattern;
      for (int64_t l = 0; l < m.layers; ++l) {
        if (l > 0) pattern += ",";
        pattern += m.IsMoeLayer(l) ? "1" : "0";
      }
      add("--moe-layer-freq", "\"[" + pattern + "]\"");
    }
    add("--expert-model-parallel-size", p.ep);
    add("--expert-tensor-parallel-size", p.etp);
  }
  // NVFP4: Megatron-LM's --fp4-format and --fp4-recipe (recalled; Transformer Engine's recipe).
  a.push_back(s.precision == spec::Precision::kFp8   ? "--bf16 --fp8-format hybrid"
              : s.precision == spec::Precision::kFp4 ? "--bf16 --fp4-format e2m1 --fp4-recipe nvfp4"
                                                     : "--bf16");
  add("--num-layers", m.layers);
  add("--hidden-size", m.hidden);
  add("--ffn-hidden-size", m.ffn_hidden);
  add("--num-attention-heads", m.heads);
  if (m.EffectiveKvHeads() != m.heads) {
    a.push_back("--group-query-attention");
    add("--num-query-groups", m.EffectiveKvHeads());
  }
  if (m.IsMla()) {  // Megatron-LM's MLA arguments; --kv-channels does not apply
    a.push_back("--multi-latent-attention");
    if (m.q_lora_rank > 0) add("--q-lora-rank", m.q_lora_rank);
    add("--kv-lora-rank", m.kv_lora_rank);
    add("--qk-head-dim", m.EffectiveHeadDim());
    add("--qk-pos-emb-head-dim", m.rope_head_dim);
    add("--v-head-dim", m.EffectiveVHeadDim());
  } else if (m.head_dim > 0 && m.head_dim * m.heads != m.hidden) {
    add("--kv-channels", m.head_dim);
  }
  if (m.activation == spec::Activation::kSwiGlu) a.push_back("--swiglu");
  if (m.activation == spec::Activation::kSquaredRelu) a.push_back("--squared-relu");
  if (m.norm == spec::Norm::kRmsNorm) a.push_back("--normalization RMSNorm");
  add("--position-embedding-type", m.position_embedding == spec::PositionEmbedding::kRope ? "rope"
                                   : m.position_embedding == spec::PositionEmbedding::kLearned
                                       ? "learned_absolute"
                                       : "none");
  if (!m.tied_embeddings) a.push_back("--untie-embeddings-and-output-weights");
  if (!m.linear_bias) a.push_back("--disable-bias-linear");
  if (m.qkv_bias && !m.linear_bias) a.push_back("--add-qkv-bias");
  add("--max-position-embeddings", std::max(m.max_position_embeddings, p.job.workload.seq_len));
  add("--vocab-size", m.vocab);
  std::string out = Join(a, " \\\n  ") + "\n";
  for (const std::string& n : notes) out += n + "\n";
  return out;
}

std::string TorchtitanToml(const plan::Plan& p) {
  const spec::PlanSpec& s = p.spec();
  const spec::FrameworkSpec& f = p.job.framework;
  std::vector<std::string> notes;
  // torchtitan's device mesh is pp, dp_replicate, dp_shard, cp, tp (outermost first).
  {
    using spec::Dim;
    if (Effective(s.placement, p) != Effective({Dim::kTp, Dim::kCp, Dim::kDp, Dim::kPp}, p)) {
      std::vector<std::string> names;
      for (Dim d : s.placement) names.emplace_back(spec::DimName(d));
      notes.push_back(fmt::format(
          "# placement [{}] differs from torchtitan's mesh order: this file launches tp, cp, "
          "dp_shard, dp_replicate, pp (innermost first)",
          Join(names, ", ")));
    }
  }
  std::string out;
  // [model]: the torchtitan flavour of a Llama 3 preset; FP8 is a model converter.
  std::string flavor = TorchtitanFlavor(p.model().name);
  bool fp8 = s.precision == spec::Precision::kFp8;
  if (!flavor.empty() || fp8) {
    out += "[model]\n";
    if (!flavor.empty()) out += fmt::format("name = \"llama3\"\nflavor = \"{}\"\n", flavor);
    if (fp8) out += "converters = [\"quantize.linear.float8\"]\n";
    out += "\n";
  }
  if (s.precision == spec::Precision::kFp4) {
    notes.push_back(
        "# precision fp4 (NVFP4) has no torchtitan converter here: this file trains "
        "in BF16");
  }
  if (p.job.workload.lora_rank > 0) {
    notes.push_back(fmt::format(
        "# lora_rank = {} (LoRA) has no torchtitan setting here: this file trains every weight",
        p.job.workload.lora_rank));
  }
  if (const int64_t d = p.job.workload.document_tokens; d > 0 && d < p.job.workload.seq_len) {
    notes.push_back(fmt::format(
        "# document_tokens = {} (packed documents, attention within each) has no setting here: "
        "this file attends over whole sequences",
        d));
  }
  if (flavor.empty()) {
    notes.push_back(fmt::format(
        "# model {} has no torchtitan flavour here (llama3 8B, 70B, 405B): set [model] by hand",
        p.model().name));
  }
  std::string schedule = s.schedule == spec::Schedule::kGpipe ? "GPipe"
                         : s.schedule == spec::Schedule::kZbV ? "ZBVZeroBubble"
                         : p.vp > 1                           ? "Interleaved1F1B"
                                                              : "1F1B";
  if (s.schedule == spec::Schedule::kZbH1 && p.pp > 1) {
    notes.push_back("# schedule zb-h1 (one stage a rank) has no torchtitan schedule: 1F1B");
  }
  if (f.name != "torchtitan") {
    notes.push_back(fmt::format(
        "# the plan was evaluated under framework {}; torchtitan's kernels run differently",
        f.name));
  }
  if (p.SequenceParallel() == false && p.tp > 1) {
    notes.push_back("# sequence_parallel = false has no torchtitan setting: its TP shards norms");
  }
  if (s.attention_kernel == spec::AttentionKernel::kUnfused) {
    notes.push_back("# attention_kernel = unfused has no torchtitan setting: SDPA runs fused");
  }
  if (!s.dp_overlap && p.dp * p.cp > 1) {
    notes.push_back("# dp_overlap = false has no torchtitan setting: FSDP2 overlaps");
  }
  if (s.schedule == spec::Schedule::kLlama3 && p.pp > 1) {
    notes.push_back(
        "# schedule llama3 (micro-batch groups per virtual stage) runs as Interleaved1F1B");
  }
  out += "[parallelism]\n";
  // FSDP2 shards unless ZeRO 0 (DDP). HSDP: torchtitan's replicate degree (the plan checks that
  // dp_replicate divides dp; CP ranks shard together, as in torchtitan's mesh).
  bool shard = s.zero != spec::ZeroMode::kZero0;
  int64_t replicate = shard ? s.dp_replicate : p.dp;
  out += fmt::format("data_parallel_replicate_degree = {}\n", replicate);
  out += fmt::format("data_parallel_shard_degree = {}\n", shard ? p.dp / replicate : 1);
  if (shard) {
    // ZeRO 3 reshards the parameters after the forward pass; fsdp (Llama 3's) keeps them to the
    // backward, as do ZeRO 1 and 2, which FSDP2 has no closer setting for.
    bool reshard = s.zero == spec::ZeroMode::kZero3;
    out += fmt::format("fsdp_reshard_after_forward = \"{}\"\n", reshard ? "always" : "never");
    if (p.dp / replicate == 1 && p.cp == 1) {
      notes.push_back(
          "# one rank a shard group: torchtitan runs this as DDP (the plan's sharding does "
          "nothing)");
    }
    if (s.zero == spec::ZeroMode::kZero1 || s.zero == spec::ZeroMode::kZero2) {
      notes.push_back(fmt::format(
          "# zero {} runs as FSDP2 without resharding after the forward pass (ZeRO-2-like)",
          spec::ZeroModeName(s.zero)));
    }
  }
  out += fmt::format("tensor_parallel_degree = {}\n", p.tp);
  // torchtitan's async TP needs the model compiled.
  bool async_tp = s.tp_comm_overlap && p.tp > 1 && f.compile;
  out += fmt::format("enable_async_tensor_parallel = {}\n", async_tp ? "true" : "false");
  if (s.tp_comm_overlap && p.tp > 1 && !f.compile) {
    notes.push_back(
        "# tp_comm_overlap needs torch.compile in torchtitan (framework.compile = true): async "
        "TP left off");
  }
  if (s.zero == spec::ZeroMode::kZero0 && p.tp * p.cp * p.pp > 1) {
    notes.push_back("# zero 0 (DDP) with tp, cp or pp: torchtitan's DDP takes a 1-D mesh only");
  }
  out += fmt::format("context_parallel_degree = {}\n", p.cp);
  if (p.cp > 1) {
    out += fmt::format("context_parallel_rotate_method = \"{}\"\n",
                       s.cp_algorithm == spec::CpAlgorithm::kRing ? "alltoall" : "allgather");
  }
  out += fmt::format("pipeline_parallel_degree = {}\n", p.pp);
  if (p.pp > 1) {
    out += fmt::format("pipeline_parallel_schedule = \"{}\"\n", schedule);
    out += fmt::format("pipeline_parallel_microbatch_size = {}\n", s.micro_batch);
    // torchtitan's first and last stages hold one layer fewer by default (Llama 3's trimming).
    int64_t fewer = s.trim_edge_stages ? 1 : 0;
    out += fmt::format("pipeline_parallel_first_stage_less_layers = {}\n", fewer);
    out += fmt::format("pipeline_parallel_last_stage_less_layers = {}\n", fewer);
    int64_t slots = p.model().layers + 2 * fewer;
    if (slots % (p.pp * p.vp) == 0) {
      out += fmt::format("pipeline_parallel_layers_per_stage = {}\n", slots / (p.pp * p.vp));
    } else {
      notes.push_back(fmt::format(
          "# {} layers do not split evenly over {} stages: torchtitan splits them its own way, "
          "and chooses the stages per rank itself (this plan's vp {} is not kept)",
          slots, p.pp * p.vp, p.vp));
    }
  }
  if (p.model().IsMoe()) {
    out += fmt::format("expert_parallel_degree = {}\n", p.ep);
    out += fmt::format("expert_tensor_parallel_degree = {}\n", p.etp);
  }
  if (f.optimizer_step == spec::OptimizerStep::kUnfused) {
    out += "\n[optimizer]\nimplementation = \"foreach\"\n";
  }
  out += "\n[training]\n";
  out += fmt::format("seq_len = {}\n", p.job.workload.seq_len);
  out += fmt::format("global_batch_size = {}\n", p.global_batch);
  // Without pipelining a local batch is one micro-batch (gradient accumulation makes up the
  // global batch); with it, the replica's batch that the schedule splits into micro-batches.
  out += fmt::format("local_batch_size = {}\n", p.pp > 1 ? p.global_batch / p.dp : s.micro_batch);
  out += "mixed_precision_reduce = \"float32\"\n";
  if (s.grad_reduce_dtype == spec::GradReduceDtype::kBf16) {
    notes.push_back("# grad_reduce_dtype = bf16: torchtitan reduces gradients in FP32 only");
  }
  if (s.fp8_params) {
    notes.push_back(
        "# fp8_params: torchtitan keeps BF16 weights (float8's FSDP all-gather casts shards, "
        "not the weights held)");
  }
  if (s.grad_sync == spec::GradSync::kDelayed && p.dp * p.cp > 1)
    notes.push_back("# grad_sync = delayed has no torchtitan setting: reductions run in-step");
  out += "\n[activation_checkpoint]\n";
  out += fmt::format("mode = \"{}\"\n", s.recompute == spec::Recompute::kFull        ? "full"
                                        : s.recompute == spec::Recompute::kSelective ? "selective"
                                                                                     : "none");
  if (s.recompute == spec::Recompute::kFull && s.recompute_layers > 0) {
    notes.push_back(fmt::format(
        "# recompute_layers = {}: torchtitan cannot recompute only the first layers of a chunk "
        "(its layer policy takes every k-th); every layer is recomputed, slower than planned",
        s.recompute_layers));
  }
  if (s.recompute == spec::Recompute::kSelective) {
    out += fmt::format("selective_ac_option = \"op\"\n");
    if (f.selective_recompute != spec::SelectiveRecompute::kPerOp) {
      std::vector<std::string> modules;
      for (int i = 0; i < spec::kRecomputeModules; ++i)
        if (s.recompute_modules & (1u << i)) modules.push_back(spec::RecomputeModuleNames()[i]);
      notes.push_back(fmt::format(
          "# selective recomputation runs as torchtitan's per-op policy, not Megatron's "
          "recomputation of {}",
          Join(modules, ", ")));
    }
  }
  if (f.compile) {
    out += fmt::format("\n[compile]\nenable = true\ncomponents = [{}]\n",
                       f.compile_loss ? "\"model\", \"loss\"" : "\"model\"");
  }
  if (fp8) {
    // The FP8 all-gather goes with tensorwise scaling only; rowwise is named.
    out += "\n[quantize.linear.float8]\n";
    if (f.fp8_recipe == spec::Fp8Recipe::kRowwise) {
      out += "recipe_name = \"rowwise\"\n";
    } else {
      out += "enable_fsdp_float8_all_gather = true\n";
    }
    if (!f.fp8_lm_head) out += "filter_fqns = [\"output\"]\n";
    if (f.fp8_recipe == spec::Fp8Recipe::kDelayed) {
      notes.push_back(
          "# FP8 with delayed scaling (Transformer Engine) has no torchtitan recipe: tensorwise");
    }
  }
  for (const std::string& n : notes) out += n + "\n";
  return out;
}

Result<LaunchParse> ApplyMegatronArgs(const std::string& text, spec::JobSpec& job) {
  SP_RETURN_IF_ERROR(CheckText(text, "--megatron-args"));
  // Arguments, line by line; as in a shell, a word starting with '#' comments out the rest of its
  // line (MegatronArgs writes its notes so).
  std::istringstream lines(text);
  std::vector<std::string> tokens;
  std::string line, token;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    while (in >> token) {
      if (token[0] == '#') break;
      if (token == "\\") continue;
      // argparse's --flag=value is --flag value.
      const size_t eq = token.find('=');
      if (token.rfind("--", 0) == 0 && eq != std::string::npos) {
        tokens.push_back(token.substr(0, eq));
        tokens.push_back(token.substr(eq + 1));
        continue;
      }
      tokens.push_back(token);
    }
  }
  LaunchParse parse;
  const nlohmann::json before = spec::PlanSchema().ToJson(job.plan);
  spec::PlanSpec& p = job.plan;
  // What Megatron-LM does when an argument is absent: no SP, no overlap, p2p CP, no
  // recomputation, ZeRO 0, BF16, no trimming, ranks ordered tp-cp-ep-dp-pp. Whether layers may
  // split unevenly is the job's (a pipeline layout, which the arguments do not carry here).
  const bool uneven_layers = p.uneven_layers;
  p = spec::PlanSpec{};
  p.uneven_layers = uneven_layers;
  p.sequence_parallel = false;
  p.dp_overlap = false;
  p.cp_algorithm = spec::CpAlgorithm::kRing;
  p.placement = {spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kDp, spec::Dim::kPp};
  spec::ModelSpec& m = job.model;
  int64_t layers_per_virtual_stage = 0;
  bool fsdp = false, distributed_optimizer = false;
  // MLA's arguments count only with --multi-latent-attention; absent ones take Megatron-LM's
  // defaults (no query compression, kv_lora_rank 32, head dims 128, 64 and 128).
  bool mla = false;
  int64_t mla_q_rank = 0, mla_kv_rank = 32, mla_qk = 128, mla_rope = 64, mla_v = 128;
  std::string recompute_granularity, recompute_method;
  std::string low_format;  // the --fp8-format or --fp4-format given, if one was
  uint32_t recompute_modules = spec::kRecomputeCoreAttn;
  std::vector<bool> moe_pattern;  // --moe-layer-freq as a list
  int64_t moe_every = 0;          // --moe-layer-freq as an integer
  int64_t recompute_num_layers = 0;
  auto integer = [&](size_t& i, const std::string& flag) -> Result<int64_t> {
    if (i + 1 >= tokens.size()) {
      return Status::Invalid(
          fmt::format("--megatron-args: {} has no value (allowed: an integer)", flag));
    }
    // Decimal digits only, as Megatron-LM's argparse int() takes them (2.0 and 0x2 refused).
    Result<int64_t> v = ParseDigits(tokens[++i]);
    if (!v.ok() || *v < 1) {
      return Status::Invalid(
          fmt::format("--megatron-args: {} = {} is not a positive integer (allowed: integer >= 1, "
                      "in decimal digits)",
                      flag, Printable(tokens[i], 60)));
    }
    return *v;
  };
  // Integer flags and where they go.
  const std::map<std::string, int64_t*> integers = {
      {"--tensor-model-parallel-size", &p.tp},
      {"--pipeline-model-parallel-size", &p.pp},
      {"--context-parallel-size", &p.cp},
      {"--virtual-pipeline-model-parallel-size", &p.vp},
      {"--num-virtual-stages-per-pipeline-rank", &p.vp},
      {"--expert-model-parallel-size", &p.ep},
      {"--expert-tensor-parallel-size", &p.etp},
      {"--micro-batch-size", &p.micro_batch},
      {"--microbatch-group-size-per-virtual-pipeline-stage", &p.pp_microbatch_group},
      {"--global-batch-size", &job.workload.global_batch},
      {"--seq-length", &job.workload.seq_len},
      {"--num-layers-per-virtual-pipeline-stage", &layers_per_virtual_stage},
      {"--num-layers", &m.layers},
      {"--hidden-size", &m.hidden},
      {"--ffn-hidden-size", &m.ffn_hidden},
      {"--num-attention-heads", &m.heads},
      {"--num-query-groups", &m.kv_heads},
      {"--kv-channels", &m.head_dim},
      {"--num-experts", &m.experts},
      {"--moe-router-topk", &m.top_k},
      {"--moe-ffn-hidden-size", &m.expert_ffn_hidden},
      {"--max-position-embeddings", &m.max_position_embeddings},
      {"--vocab-size", &m.vocab},
      {"--num-distributed-optimizer-instances", &p.dp_replicate},
      {"--q-lora-rank", &mla_q_rank},
      {"--kv-lora-rank", &mla_kv_rank},
      {"--qk-head-dim", &mla_qk},
      {"--qk-pos-emb-head-dim", &mla_rope},
      {"--v-head-dim", &mla_v},
      {"--recompute-num-layers", &recompute_num_layers},
  };
  std::set<std::string> given;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t.rfind("--", 0) == 0 && !given.insert(t).second) {
      // argparse keeps the last; two values for one argument are a mistake in what was pasted.
      return Status::Invalid(fmt::format("--megatron-args: {} is given twice (allowed: each "
                                         "argument once)",
                                         Printable(t, 60)));
    }
    auto it = integers.find(t);
    if (it != integers.end()) {
      SP_ASSIGN_OR_RETURN(*it->second, integer(i, t));
      if (t == "--global-batch-size") job.workload.batch_tokens = 0;
      continue;
    }
    if (t == "--sequence-parallel")
      p.sequence_parallel = true;
    else if (t == "--use-distributed-optimizer")
      distributed_optimizer = true;
    else if (t == "--use-torch-fsdp2" || t == "--use-custom-fsdp" || t == "--use-megatron-fsdp")
      fsdp = true;
    else if (t == "--overlap-grad-reduce" || t == "--overlap-param-gather")
      p.dp_overlap = true;
    else if (t == "--tp-comm-overlap")
      p.tp_comm_overlap = true;
    else if (t == "--grad-reduce-in-bf16")
      p.grad_reduce_dtype = spec::GradReduceDtype::kBf16;
    else if (t == "--fp8-param-gather")
      p.fp8_params = true;
    else if (t == "--use-tp-pp-dp-mapping")
      p.placement = {spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kPp, spec::Dim::kDp};
    else if (t == "--account-for-embedding-in-pipeline-split" ||
             t == "--account-for-loss-in-pipeline-split")
      p.trim_edge_stages = true;
    else if (t == "--swiglu")
      m.activation = spec::Activation::kSwiGlu;
    else if (t == "--squared-relu")
      m.activation = spec::Activation::kSquaredRelu;
    else if (t == "--untie-embeddings-and-output-weights")
      m.tied_embeddings = false;
    else if (t == "--disable-bias-linear")
      m.linear_bias = false;
    else if (t == "--add-qkv-bias")
      m.qkv_bias = true;
    else if (t == "--multi-latent-attention")
      mla = true;
    else if (t == "--group-query-attention" || t == "--bf16") {
    } else if (t == "--recompute-activations") {
      recompute_granularity = "selective";
    } else if (t == "--moe-layer-freq" && i + 1 < tokens.size()) {
      // An integer n (every n-th layer is MoE) or a 0/1 list per layer, as Megatron-LM takes it;
      // the model says a dense prefix followed by every n-th layer.
      std::string v = tokens[++i];
      v.erase(std::remove_if(v.begin(), v.end(), [](char c) { return c == '"' || c == '\''; }),
              v.end());
      auto bad = [&](std::string_view why) {
        return Status::Invalid(fmt::format(
            "--megatron-args: --moe-layer-freq = {} {} (allowed: an integer n >= 1, or a list "
            "of 0 and 1 per layer: dense layers first, then every n-th layer MoE)",
            Printable(v, 60), why));
      };
      if (!v.empty() && v.front() == '[') {
        if (v.back() != ']') return bad("is not a list");
        moe_pattern.clear();
        for (const std::string& item : SplitAndTrim(v.substr(1, v.size() - 2), ',')) {
          if (item != "0" && item != "1") return bad("holds something other than 0 and 1");
          moe_pattern.push_back(item == "1");
        }
      } else {
        Result<int64_t> n = ParseDigits(v);
        if (!n.ok() || *n < 1) return bad("is neither an integer n >= 1 nor a list");
        moe_every = *n;
      }
    } else if (t == "--recompute-modules") {
      // One or more module names (Megatron-LM: nargs *).
      uint32_t mask = 0;
      while (i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0) {
        const std::string& v = tokens[++i];
        const std::vector<std::string>& names = spec::RecomputeModuleNames();
        auto found = std::find(names.begin(), names.end(), v);
        if (found == names.end()) {
          return Status::Invalid(fmt::format(
              "--megatron-args: --recompute-modules names {} (allowed: {})", v, Join(names, ", ")));
        }
        mask |= 1u << (found - names.begin());
      }
      if (mask == 0) {
        return Status::Invalid(fmt::format(
            "--megatron-args: --recompute-modules names no module (allowed: one or more of {})",
            Join(spec::RecomputeModuleNames(), ", ")));
      }
      recompute_modules = mask;
    } else if (t == "--fp8-format" || t == "--fp4-format" || t == "--fp4-recipe" ||
               t == "--recompute-granularity" || t == "--recompute-method" ||
               t == "--cp-comm-type" || t == "--normalization" ||
               t == "--position-embedding-type") {
      // Each takes one of Megatron-LM's choices (its argparse refuses anything else).
      if (i + 1 >= tokens.size() || tokens[i + 1].rfind("--", 0) == 0) {
        static const std::map<std::string, std::string> kChoices = {
            {"--fp8-format", "e4m3, hybrid"},
            {"--fp4-format", "e2m1"},
            {"--fp4-recipe", "nvfp4"},
            {"--recompute-granularity", "full, selective"},
            {"--recompute-method", "uniform, block"},
            {"--cp-comm-type", "p2p, all_gather"},
            {"--normalization", "LayerNorm, RMSNorm"},
            {"--position-embedding-type", "rope, learned_absolute"}};
        return Status::Invalid(
            fmt::format("--megatron-args: {} has no value (allowed: {})", t, kChoices.at(t)));
      }
      std::string v = tokens[++i];
      if ((t == "--fp8-format" || t == "--fp4-format") && !low_format.empty() && low_format != t) {
        return Status::Invalid(fmt::format(
            "--megatron-args: {} and {} are both given (allowed: one of them, FP8 or NVFP4 "
            "training)",
            low_format, t));
      }
      if (t == "--fp8-format" || t == "--fp4-format") low_format = t;
      if (t == "--fp8-format") {
        if (v != "e4m3" && v != "hybrid") {
          return Status::Invalid(fmt::format(
              "--megatron-args: --fp8-format = {} (allowed: e4m3, hybrid)", Printable(v, 60)));
        }
        p.precision = spec::Precision::kFp8;
      } else if (t == "--fp4-format") {
        if (v != "e2m1") {
          return Status::Invalid(
              fmt::format("--megatron-args: --fp4-format = {} (allowed: e2m1)", Printable(v, 60)));
        }
        p.precision = spec::Precision::kFp4;
      } else if (t == "--fp4-recipe") {
        // NVFP4 is the recipe priced; Megatron-LM's custom recipes are not modeled.
        if (v != "nvfp4") {
          return Status::Invalid(
              fmt::format("--megatron-args: --fp4-recipe = {} (allowed: nvfp4)", Printable(v, 60)));
        }
      } else if (t == "--recompute-granularity") {
        if (v != "full" && v != "selective") {
          return Status::Invalid(fmt::format(
              "--megatron-args: --recompute-granularity = {} (allowed: full, selective)", v));
        }
        recompute_granularity = v;
      } else if (t == "--recompute-method") {
        if (v != "uniform" && v != "block") {
          return Status::Invalid(
              fmt::format("--megatron-args: --recompute-method = {} (allowed: uniform, block)", v));
        }
        recompute_method = v;
      } else if (t == "--cp-comm-type") {
        if (v != "p2p" && v != "all_gather") {
          return Status::Invalid(
              fmt::format("--megatron-args: --cp-comm-type = {} (allowed: p2p, all_gather)", v));
        }
        p.cp_algorithm = v == "p2p" ? spec::CpAlgorithm::kRing : spec::CpAlgorithm::kAllGather;
      } else if (t == "--normalization") {
        if (v != "LayerNorm" && v != "RMSNorm") {
          return Status::Invalid(fmt::format(
              "--megatron-args: --normalization = {} (allowed: LayerNorm, RMSNorm, as Megatron-LM "
              "spells them)",
              Printable(v, 60)));
        }
        m.norm = v == "RMSNorm" ? spec::Norm::kRmsNorm : spec::Norm::kLayerNorm;
      } else {
        if (v != "rope" && v != "learned_absolute" && v != "none") {
          return Status::Invalid(fmt::format(
              "--megatron-args: --position-embedding-type = {} (allowed: rope, learned_absolute, "
              "none; Megatron-LM's other kinds are not modeled)",
              Printable(v, 60)));
        }
        m.position_embedding = v == "rope"               ? spec::PositionEmbedding::kRope
                               : v == "learned_absolute" ? spec::PositionEmbedding::kLearned
                                                         : spec::PositionEmbedding::kNone;
      }
    } else if (t.rfind("--", 0) == 0) {
      // Not about the plan: skip it and the value that follows, if any. One typo away from a size
      // flag it is refused (Megatron-LM's parser, without abbreviations, would refuse it too).
      std::vector<std::string> sizes;
      for (const auto& [flag, target] : integers) sizes.push_back(flag);
      // Underscores for dashes: Megatron-LM's parser would refuse the flag, and this one would
      // otherwise leave what it names (a size, SP, ZeRO, recomputation, FP8) at its default.
      static const std::vector<std::string> kOtherFlags = {
          "--sequence-parallel",
          "--use-distributed-optimizer",
          "--use-torch-fsdp2",
          "--use-custom-fsdp",
          "--use-megatron-fsdp",
          "--overlap-grad-reduce",
          "--overlap-param-gather",
          "--tp-comm-overlap",
          "--grad-reduce-in-bf16",
          "--fp8-param-gather",
          "--use-tp-pp-dp-mapping",
          "--account-for-embedding-in-pipeline-split",
          "--account-for-loss-in-pipeline-split",
          "--swiglu",
          "--squared-relu",
          "--untie-embeddings-and-output-weights",
          "--disable-bias-linear",
          "--add-qkv-bias",
          "--multi-latent-attention",
          "--group-query-attention",
          "--bf16",
          "--recompute-activations",
          "--moe-layer-freq",
          "--recompute-modules",
          "--fp8-format",
          "--fp4-format",
          "--fp4-recipe",
          "--recompute-granularity",
          "--recompute-method",
          "--cp-comm-type",
          "--normalization",
          "--position-embedding-type"};
      std::string dashed = t;
      std::replace(dashed.begin(), dashed.end(), '_', '-');
      if (dashed != t &&
          (std::find(sizes.begin(), sizes.end(), dashed) != sizes.end() ||
           std::find(kOtherFlags.begin(), kOtherFlags.end(), dashed) != kOtherFlags.end())) {
        return Status::Invalid(fmt::format(
            "--megatron-args: {} is not an argument of Megatron-LM (allowed: {}, with dashes)",
            Printable(t, 80), dashed));
      }
      if (std::string meant = NearMiss(t, sizes); !meant.empty()) {
        return Status::Invalid(fmt::format(
            "--megatron-args: {} is not an argument of Megatron-LM (allowed: {}, one typo away; "
            "an argument that does not describe the plan is ignored, but one this close to a "
            "size is refused rather than leaving that size at its default)",
            Printable(t, 80), meant));
      }
      parse.ignored.push_back(t);
      if (i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0) ++i;
    } else {
      return Status::Invalid(
          fmt::format("--megatron-args: {} is not an argument (allowed: --name [value] pairs)", t));
    }
  }
  if (mla) {
    m.q_lora_rank = mla_q_rank;
    m.kv_lora_rank = mla_kv_rank;
    m.head_dim = mla_qk;
    m.rope_head_dim = mla_rope;
    m.v_head_dim = mla_v;
    m.kv_heads = 0;
  }
  if (!recompute_granularity.empty()) {
    p.recompute =
        recompute_granularity == "full" ? spec::Recompute::kFull : spec::Recompute::kSelective;
  } else {
    p.recompute = spec::Recompute::kNone;
  }
  // The block method recomputes the first --recompute-num-layers layers of each model chunk;
  // uniform recomputes every layer (in groups of that many).
  p.recompute_layers = p.recompute == spec::Recompute::kFull && recompute_method == "block"
                           ? recompute_num_layers
                           : 0;
  p.recompute_modules = recompute_modules;
  if (moe_every > 0) {
    m.moe_first_dense_layers = 0;
    m.moe_layer_interval = moe_every;
  }
  if (!moe_pattern.empty()) {
    // The dense prefix, then a constant interval; anything else has no ModelSpec form.
    const auto first = std::find(moe_pattern.begin(), moe_pattern.end(), true);
    const int64_t dense = first - moe_pattern.begin();
    const auto second =
        first == moe_pattern.end() ? first : std::find(first + 1, moe_pattern.end(), true);
    const int64_t every = second == moe_pattern.end() ? 1 : second - first;
    bool regular =
        first != moe_pattern.end() && static_cast<int64_t>(moe_pattern.size()) == m.layers;
    for (int64_t l = 0; regular && l < m.layers; ++l) {
      regular = moe_pattern[static_cast<size_t>(l)] == (l >= dense && (l - dense) % every == 0);
    }
    if (!regular) {
      return Status::Invalid(fmt::format(
          "--megatron-args: --moe-layer-freq's list of {} entries is not, for --num-layers {}, "
          "dense layers followed by every n-th layer MoE (allowed: one 0 or 1 per layer, at "
          "least one 1, in that pattern)",
          moe_pattern.size(), m.layers));
    }
    m.moe_first_dense_layers = dense;
    m.moe_layer_interval = every;
  }
  p.zero = fsdp                    ? spec::ZeroMode::kFsdp
           : distributed_optimizer ? spec::ZeroMode::kZero1
                                   : spec::ZeroMode::kZero0;
  if (p.tp == 1) p.sequence_parallel = false;
  if (layers_per_virtual_stage > 0) {
    int64_t slots = m.layers + (p.trim_edge_stages ? 2 : 0);
    if (slots % (p.pp * layers_per_virtual_stage) != 0) {
      return Status::Invalid(
          fmt::format("--megatron-args: --num-layers-per-virtual-pipeline-stage = {} does not "
                      "split {} layers over "
                      "{} stages (allowed: a divisor of {})",
                      layers_per_virtual_stage, slots, p.pp, slots / p.pp));
    }
    p.vp = slots / (p.pp * layers_per_virtual_stage);
  }
  if (p.vp > 1) {
    if (p.schedule != spec::Schedule::kLlama3 || p.pp_microbatch_group == 0) {
      p.schedule =
          p.pp_microbatch_group > 0 ? spec::Schedule::kLlama3 : spec::Schedule::kInterleaved;
    }
  } else if (p.schedule == spec::Schedule::kInterleaved || p.schedule == spec::Schedule::kLlama3) {
    p.schedule = spec::Schedule::k1F1B;
  }
  // What Megatron-LM ignores here, the plan takes as unset: the micro-batch group without virtual
  // stages, expert TP on a dense model.
  if (p.vp <= 1) p.pp_microbatch_group = 0;
  if (!m.IsMoe()) p.etp = 0;
  p.dp = 0;
  p.microbatches = 0;
  const nlohmann::json after = spec::PlanSchema().ToJson(job.plan);
  for (const auto& [key, value] : after.items()) {
    if (before.contains(key) && before[key] != value)
      parse.changed.push_back(fmt::format("{}: {} -> {}", key, before[key].dump(), value.dump()));
  }
  return parse;
}

const std::vector<LaunchFormat>& LaunchFormats() {
  static const std::vector<LaunchFormat> formats = {
      {"megatron", "Megatron-LM command-line arguments", &MegatronArgs},
      {"torchtitan", "a torchtitan job TOML", &TorchtitanToml}};
  return formats;
}

Result<const LaunchFormat*> FindLaunchFormatIfAny(std::string_view name, std::string_view origin) {
  if (name.empty()) return static_cast<const LaunchFormat*>(nullptr);
  return FindLaunchFormat(name, origin);
}

Result<const LaunchFormat*> FindLaunchFormat(std::string_view name, std::string_view origin) {
  std::vector<std::string> names;
  for (const LaunchFormat& f : LaunchFormats()) {
    if (f.name == name) return &f;
    names.push_back(f.name);
  }
  return Status::Invalid(fmt::format("{} = {} is not a launch format (allowed: {})", origin,
                                     Printable(name, 40), Join(names, ", ")));
}

}  // namespace scaleplan::report
