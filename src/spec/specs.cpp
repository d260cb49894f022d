#include "spec/specs.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/checked.h"
#include "core/text.h"

namespace scaleplan::spec {

namespace {

// Rates, sizes and bandwidths (FLOP/s, bytes, bytes/s): 10^30, about 10^15 times today's largest,
// so that products over 2^24 GPUs stay finite.
constexpr double kMaxPhysical = 1e30;

// Architecture bounds, each far above any published model (Llama 3 405B: 126 layers, hidden 16,384,
// FFN 53,248, 128 heads of 128, vocabulary 128,256): they keep every product of sizes the model
// forms (heads x head_dim, hidden x ffn x layers, ...) far from overflow and every per-layer loop
// short, so a typo is an error instead of a silent absurd answer or a hang.
constexpr int64_t kMaxLayers = int64_t{1} << 16;   // 65,536
constexpr int64_t kMaxWidth = int64_t{1} << 20;    // hidden, 1,048,576
constexpr int64_t kMaxFfn = int64_t{1} << 22;      // 4,194,304
constexpr int64_t kMaxHeads = int64_t{1} << 16;    // 65,536
constexpr int64_t kMaxHeadDim = int64_t{1} << 14;  // 16,384
constexpr int64_t kMaxVocab = int64_t{1} << 26;    // 67,108,864 (also position rows)

const std::vector<std::pair<std::string, ZeroMode>>& ZeroChoices() {
  static const std::vector<std::pair<std::string, ZeroMode>> kChoices = {{"0", ZeroMode::kZero0},
                                                                         {"1", ZeroMode::kZero1},
                                                                         {"2", ZeroMode::kZero2},
                                                                         {"3", ZeroMode::kZero3},
                                                                         {"fsdp", ZeroMode::kFsdp}};
  return kChoices;
}
const std::vector<std::pair<std::string, Schedule>>& ScheduleChoices() {
  static const std::vector<std::pair<std::string, Schedule>> kChoices = {
      {"gpipe", Schedule::kGpipe},
      {"1f1b", Schedule::k1F1B},
      {"interleaved", Schedule::kInterleaved},
      {"llama3", Schedule::kLlama3},
      {"zb-h1", Schedule::kZbH1},
      {"zb-v", Schedule::kZbV}};
  return kChoices;
}
const std::vector<std::pair<std::string, Recompute>>& RecomputeChoices() {
  static const std::vector<std::pair<std::string, Recompute>> kChoices = {
      {"none", Recompute::kNone}, {"selective", Recompute::kSelective}, {"full", Recompute::kFull}};
  return kChoices;
}
const std::vector<std::pair<std::string, Precision>>& PrecisionChoices() {
  static const std::vector<std::pair<std::string, Precision>> kChoices = {
      {"bf16", Precision::kBf16}, {"fp8", Precision::kFp8}, {"fp4", Precision::kFp4}};
  return kChoices;
}
const std::vector<std::pair<std::string, AttentionTable>>& AttentionTableChoices() {
  static const std::vector<std::pair<std::string, AttentionTable>> kChoices = {
      {"cudnn", AttentionTable::kCudnn},
      {"flash2", AttentionTable::kFlash2},
      {"cudnn-9.19", AttentionTable::kCudnn919}};
  return kChoices;
}
const std::vector<std::pair<std::string, Dim>>& DimChoices() {
  static const std::vector<std::pair<std::string, Dim>> kChoices = {
      {"tp", Dim::kTp}, {"cp", Dim::kCp}, {"pp", Dim::kPp}, {"dp", Dim::kDp}};
  return kChoices;
}

}  // namespace

std::string_view ZeroModeName(ZeroMode mode) { return ChoiceName(ZeroChoices(), mode); }
std::string_view AttentionTableName(AttentionTable table) {
  return ChoiceName(AttentionTableChoices(), table);
}
std::string_view ScheduleName(Schedule schedule) { return ChoiceName(ScheduleChoices(), schedule); }
std::string_view PrecisionName(Precision precision) {
  return ChoiceName(PrecisionChoices(), precision);
}
std::string_view RecomputeName(Recompute recompute) {
  return ChoiceName(RecomputeChoices(), recompute);
}

const std::vector<std::string>& RecomputeModuleNames() {
  static const std::vector<std::string> kNames = {"core_attn", "layernorm",   "mlp",
                                                  "moe_act",   "mla_up_proj", "shared_experts"};
  return kNames;
}

std::string RecomputeText(const PlanSpec& plan) {
  std::string text(RecomputeName(plan.recompute));
  if (plan.recompute == Recompute::kSelective && plan.recompute_modules != kRecomputeCoreAttn) {
    std::vector<std::string> names;
    for (int i = 0; i < kRecomputeModules; ++i)
      if (plan.recompute_modules & (1u << i)) names.push_back(RecomputeModuleNames()[i]);
    text += " (" + Join(names, ", ") + ")";
  }
  if (plan.recompute == Recompute::kFull && plan.recompute_layers > 0) {
    text += fmt::format(" (first {} layer{} of each chunk)", plan.recompute_layers,
                        plan.recompute_layers == 1 ? "" : "s");
  }
  return text;
}
std::string_view DimName(Dim dim) { return ChoiceName(DimChoices(), dim); }
const std::vector<std::pair<std::string, GradSync>>& GradSyncChoices() {
  static const std::vector<std::pair<std::string, GradSync>> kChoices = {
      {"step", GradSync::kStep}, {"delayed", GradSync::kDelayed}};
  return kChoices;
}
const std::vector<std::pair<std::string, GradReduceDtype>>& GradReduceDtypeChoices() {
  static const std::vector<std::pair<std::string, GradReduceDtype>> kChoices = {
      {"fp32", GradReduceDtype::kFp32}, {"bf16", GradReduceDtype::kBf16}};
  return kChoices;
}
std::string_view GradSyncName(GradSync sync) { return ChoiceName(GradSyncChoices(), sync); }
std::string_view GradReduceDtypeName(GradReduceDtype dtype) {
  return ChoiceName(GradReduceDtypeChoices(), dtype);
}

const Schema<ModelSpec>& ModelSchema() {
  static const Schema<ModelSpec> kSchema = [] {
    using M = ModelSpec;
    Schema<M> s("model");
    s.Text("name", &M::name, "Short name shown in reports.", "model-name")
        .Text("description", &M::description, "One line shown by `scaleplan presets`.",
              "model-description")
        .Text("source", &M::source, "Where the architecture numbers come from.", "model-source")
        .Integer("layers", &M::layers, 1, kMaxLayers, "", "Transformer layers.", "model-layers")
        .Integer("hidden", &M::hidden, 1, kMaxWidth, "", "Model width (residual stream).",
                 "model-hidden")
        .Integer("ffn_hidden", &M::ffn_hidden, 1, kMaxFfn, "",
                 "Inner width of the dense MLP (per gate/up projection for SwiGLU).",
                 "model-ffn-hidden")
        .Integer("heads", &M::heads, 1, kMaxHeads, "", "Query attention heads.", "model-heads")
        .Integer("kv_heads", &M::kv_heads, 0, kMaxHeads, "",
                 "Key/value heads (GQA; 1 = MQA). 0 means equal to heads (MHA).", "model-kv-heads")
        .Integer("head_dim", &M::head_dim, 0, kMaxHeadDim, "",
                 "Width of one attention head (with multi-head latent attention, its part without "
                 "rotary embedding, required). 0 means hidden / heads.",
                 "model-head-dim")
        .Integer("vocab", &M::vocab, 1, kMaxVocab, "", "Vocabulary size (rows of the embedding).",
                 "model-vocab")
        .Choice("activation", &M::activation,
                {{"swiglu", Activation::kSwiGlu},
                 {"gelu", Activation::kGelu},
                 {"relu", Activation::kRelu},
                 {"squared_relu", Activation::kSquaredRelu}},
                "MLP activation: swiglu (gated, three matrices), gelu, relu or squared_relu (two "
                "matrices).",
                "model-activation")
        .Choice("norm", &M::norm, {{"rmsnorm", Norm::kRmsNorm}, {"layernorm", Norm::kLayerNorm}},
                "Normalization: rmsnorm (weight only) or layernorm (weight and bias).",
                "model-norm")
        .Boolean("tied_embeddings", &M::tied_embeddings,
                 "The output layer shares the input embedding matrix.", "model-tied-embeddings")
        .Choice("position_embedding", &M::position_embedding,
                {{"rope", PositionEmbedding::kRope},
                 {"learned", PositionEmbedding::kLearned},
                 {"alibi", PositionEmbedding::kAlibi},
                 {"none", PositionEmbedding::kNone}},
                "rope (no parameters; one rotation pass over queries and keys), learned (a table "
                "of max_position_embeddings rows), alibi (a bias on the attention scores, fused "
                "in the attention kernel: no parameters, no pass of its own) or none (NoPE).",
                "model-position-embedding")
        .Integer("max_position_embeddings", &M::max_position_embeddings, 0, kMaxVocab, "",
                 "Rows of a learned position table; required when position_embedding is learned.",
                 "model-max-position-embeddings")
        .Boolean("linear_bias", &M::linear_bias, "Every linear layer has a bias (GPT-3 style).",
                 "model-linear-bias")
        .Boolean("qkv_bias", &M::qkv_bias, "Only the QKV projection has a bias (Qwen2).",
                 "model-qkv-bias")
        .Boolean("qk_norm", &M::qk_norm, "RMSNorm over each query and key head (Qwen3).",
                 "model-qk-norm")
        .Integer("experts", &M::experts, 0, kMaxHeads, "",
                 "Routed experts per MoE layer; 0 for a dense model.", "model-experts")
        .Integer("top_k", &M::top_k, 0, kMaxHeads, "", "Routed experts each token is sent to.",
                 "model-top-k")
        .Integer("expert_ffn_hidden", &M::expert_ffn_hidden, 0, kMaxFfn, "",
                 "Inner width of one routed expert. 0 means ffn_hidden.", "model-expert-ffn-hidden")
        .Integer("shared_experts", &M::shared_experts, 0, kMaxHeads, "",
                 "Always-active shared experts per MoE layer.", "model-shared-experts")
        .Integer("shared_expert_ffn_hidden", &M::shared_expert_ffn_hidden, 0, kMaxFfn, "",
                 "Inner width of one shared expert. 0 means expert_ffn_hidden.",
                 "model-shared-expert-ffn-hidden")
        .Integer("moe_layer_interval", &M::moe_layer_interval, 1, kMaxLayers, "",
                 "After the dense prefix, every n-th layer is MoE (1 = all, 2 = alternate).",
                 "model-moe-layer-interval")
        .Integer("moe_first_dense_layers", &M::moe_first_dense_layers, 0, kMaxLayers, "",
                 "Leading dense layers before the first MoE layer (DeepSeek style).",
                 "model-moe-first-dense-layers")
        .Integer("q_lora_rank", &M::q_lora_rank, 0, kMaxWidth, "",
                 "Multi-head latent attention: width of the query compression (0: queries "
                 "projected from the input directly).",
                 "model-q-lora-rank")
        .Integer("kv_lora_rank", &M::kv_lora_rank, 0, kMaxWidth, "",
                 "Multi-head latent attention (DeepSeek-V2/V3): width of the key/value "
                 "compression; 0 = standard attention. With it, head_dim is each head's part "
                 "without rotary embedding.",
                 "model-kv-lora-rank")
        .Integer("rope_head_dim", &M::rope_head_dim, 0, kMaxHeadDim, "",
                 "Multi-head latent attention: the decoupled rotary part of each query and key "
                 "head (the keys share one).",
                 "model-rope-head-dim")
        .Integer("v_head_dim", &M::v_head_dim, 0, kMaxHeadDim, "",
                 "Width of one value head and of the attention output per head. 0 means "
                 "head_dim.",
                 "model-v-head-dim")
        .Integer("sliding_window", &M::sliding_window, 0, kMaxCount, "tokens",
                 "Local attention: on local layers a query sees itself and the sliding_window - 1 "
                 "tokens before it. 0 means every layer attends to the whole sequence.",
                 "model-sliding-window")
        .Integer("global_attention_interval", &M::global_attention_interval, 0, kMaxLayers, "",
                 "With sliding_window: every n-th layer (layers n-1, 2n-1, ...) attends to the "
                 "whole sequence, the others locally (2 = alternating, 6 = five local then one "
                 "global). 0 means every layer is local.",
                 "model-global-attention-interval");
    return s;
  }();
  return kSchema;
}

const Schema<GpuSpec>& GpuSchema() {
  static const Schema<GpuSpec> kSchema = [] {
    using G = GpuSpec;
    Schema<G> s("gpu");
    s.Text("name", &G::name, "Short name shown in reports.", "gpu-name")
        .Text("description", &G::description, "One line shown by `scaleplan presets`.",
              "gpu-description")
        .Text("source", &G::source, "Where the numbers come from.", "gpu-source")
        .Number("peak_bf16_flops_per_s", &G::peak_bf16_flops_per_s, 1, kMaxPhysical, "FLOP/s",
                "Dense BF16 tensor-core peak.", "gpu-peak-bf16-flops-per-s")
        .Number("peak_fp8_flops_per_s", &G::peak_fp8_flops_per_s, 0, kMaxPhysical, "FLOP/s",
                "Dense FP8 tensor-core peak; 0 if the GPU has no FP8.", "gpu-peak-fp8-flops-per-s")
        .Number("peak_fp4_flops_per_s", &G::peak_fp4_flops_per_s, 0, kMaxPhysical, "FLOP/s",
                "Dense NVFP4 tensor-core peak; 0 if the GPU has no FP4 (plan.precision = fp4 "
                "needs it).",
                "gpu-peak-fp4-flops-per-s")
        .Number("memory_bytes", &G::memory_bytes, 1, kMaxPhysical, "bytes",
                "Device memory, as the CUDA driver reports its total.", "gpu-memory-bytes")
        .Number("memory_bandwidth_bytes_per_s", &G::memory_bandwidth_bytes_per_s, 1, kMaxPhysical,
                "bytes/s", "HBM bandwidth.", "gpu-memory-bandwidth-bytes-per-s")
        .Number("usable_memory_fraction", &G::usable_memory_fraction, 0.01, 1.0, "",
                "Fraction of memory_bytes a training job can fill (the rest: CUDA context, NCCL "
                "and cuBLAS buffers, allocator fragmentation).",
                "gpu-usable-memory-fraction")
        .Number(
            "nvlink_bandwidth_bytes_per_s", &G::nvlink_bandwidth_bytes_per_s, 0, kMaxPhysical,
            "bytes/s",
            "NVLink bandwidth per GPU, per direction, for nodes built from the GPU alone "
            "(rec-validate's DGX nodes); a cluster's node tier states its own "
            "(tiers[0].bandwidth_bytes_per_s in a --cluster file), which simulate and search use.",
            "gpu-nvlink-bandwidth-bytes-per-s")
        .Choice("kernel_tables", &G::kernel_tables,
                std::vector<std::pair<std::string, KernelTables>>{{"sm_90", KernelTables::kSm90},
                                                                  {"sm_100", KernelTables::kSm100}},
                "Measured GEMM tables whose fraction of peak this GPU follows: sm_90 (Hopper and "
                "earlier) or sm_100 (Blackwell).",
                "gpu-kernel-tables")
        .Number("attention_efficiency_scale", &G::attention_efficiency_scale, 0.1, 10.0, "",
                "Attention kernels' fraction of peak on this GPU relative to the H100 table.",
                "gpu-attention-efficiency-scale")
        .Number("gemm_efficiency_scale", &G::gemm_efficiency_scale, 0.5, 2.0, "",
                "BF16 GEMMs' fraction of peak on this GPU relative to its kernel tables' GPU (the "
                "best measured GEMM of each, as a ratio); the result is capped at the peak.",
                "gpu-gemm-efficiency-scale")
        .Number("sustained_compute_fraction", &G::sustained_compute_fraction, 0.1, 1.0, "",
                "Fraction of the kernel tables' throughput that tensor-core kernels keep over a "
                "training step (power-limited clocks, back-to-back kernels); fitted per GPU on the "
                "calibration runs (docs/ACCURACY.md).",
                "gpu-sustained-compute-fraction")
        .Boolean("nvlink_sharp", &G::nvlink_sharp,
                 "The node's NVSwitch can reduce in the switch (NVLink SHARP; H100 and later).",
                 "gpu-nvlink-sharp")
        .Number(
            "nvlink_efficiency_scale", &G::nvlink_efficiency_scale, 0.5, 1.5, "",
            "NCCL's bus bandwidth on this GPU's NVLink as a fraction of the link, relative to "
            "Hopper's (0.82 of the link for rings, 480/450 for NVLS all-reduce); measured ratios "
            "in docs/ACCURACY.md.",
            "gpu-nvlink-efficiency-scale")
        .Number("tdp_w", &G::tdp_w, 0, 1e5, "W",
                "Board power at which the kernel tables were measured (the GPU's TDP). 0 means "
                "unknown: power caps are then ignored.",
                "gpu-tdp-w")
        .Number("power_limit_w", &G::power_limit_w, 0, 1e5, "W",
                "Power cap the job runs under (nvidia-smi -pl). 0 means tdp_w. Tensor-core "
                "throughput scales as min(1, power_limit_w / tdp_w)^(1/3).",
                "gpu-power-limit-w");
    return s;
  }();
  return kSchema;
}

const Schema<TierSpec>& TierSchema() {
  static const Schema<TierSpec> kSchema = [] {
    using T = TierSpec;
    Schema<T> s("tier");
    s.Text("name", &T::name, "Tier name (node, rack, pod, cluster, building, region).")
        .Integer("gpus", &T::gpus, 1, kMaxRanks, "",
                 "GPUs in one group at this tier, counting all tiers inside it (rack = 16).")
        .Number("bandwidth_bytes_per_s", &T::bandwidth_bytes_per_s, 1, kMaxPhysical, "bytes/s",
                "Bandwidth per GPU, per direction, for traffic that crosses this tier.")
        .Number("latency_s", &T::latency_s, 0, 10.0, "s",
                "One-way latency of a message that crosses this tier.")
        .Number(
            "oversubscription", &T::oversubscription, 1.0, 1e6, "",
            "Oversubscription of the links that cross this tier, i.e. leave a group of the tier "
            "below (7 means 1:7).")
        .Boolean("hierarchical_collectives", &T::hierarchical_collectives,
                 "Collectives crossing this tier may run two-level: reduce-scatter inside each "
                 "group of the tier below, reduce the shards across, all-gather inside (the "
                 "cheaper of that and the flat ring is used).");
    return s;
  }();
  return kSchema;
}

const Schema<ClusterSpec>& ClusterSchema() {
  static const Schema<ClusterSpec> kSchema = [] {
    using C = ClusterSpec;
    Schema<C> s("cluster");
    s.Text("name", &C::name, "Short name shown in reports.", "cluster-name")
        .Text("description", &C::description, "One line shown by `scaleplan presets`.",
              "cluster-description")
        .Text("source", &C::source, "Where the numbers come from.", "cluster-source");
    FieldInfo gpu;
    gpu.key = "gpu";
    gpu.flag = "gpu";
    gpu.kind = ValueKind::kString;
    gpu.help = "GPU preset name, a GPU YAML file, or an inline map of gpu keys.";
    gpu.allowed = "a GPU preset name or file";
    s.Custom(gpu, nullptr, [](const C& c) { return nlohmann::json(c.gpu_name); });
    FieldInfo tiers;
    tiers.key = "tiers";
    tiers.kind = ValueKind::kTable;
    tiers.help = "Network tiers, innermost first; each a map of tier keys.";
    tiers.allowed = "a list of tier maps";
    s.Custom(tiers, nullptr, [](const C& c) {
      nlohmann::json out = nlohmann::json::array();
      for (const TierSpec& t : c.tiers) out.push_back(TierSchema().ToJson(t));
      return out;
    });
    return s;
  }();
  return kSchema;
}

const Schema<PlanSpec>& PlanSchema() {
  static const Schema<PlanSpec> kSchema = [] {
    using P = PlanSpec;
    Schema<P> s("plan");
    s.Integer("tp", &P::tp, 1, kMaxRanks, "", "Tensor-parallel size.")
        .Integer("cp", &P::cp, 1, kMaxRanks, "", "Context-parallel size.")
        .Integer("pp", &P::pp, 1, kMaxRanks, "", "Pipeline stages.")
        .Integer(
            "vp", &P::vp, 1, kMaxRanks, "",
            "Virtual stages (model chunks) per pipeline rank; > 1 for interleaved schedules, 2 "
            "for zb-v.")
        .Integer("dp", &P::dp, 0, kMaxRanks, "",
                 "Data-parallel size. 0 means gpus / (tp * cp * pp).")
        .Integer("ep", &P::ep, 1, kMaxRanks, "",
                 "Expert-parallel size; experts are sharded over the dp*cp ranks, and first over "
                 "the tp / etp TP ranks expert TP leaves when etp < tp (Megatron-Core).")
        .Integer("etp", &P::etp, 0, kMaxRanks, "", "Expert tensor-parallel size. 0 means tp.")
        .Boolean("sequence_parallel", &P::sequence_parallel,
                 "Shard norm and residual activations over the TP ranks (Korthikanti et al.).")
        .Choice(
            "zero", &P::zero, ZeroChoices(),
            "Data-parallel sharding: ZeRO stage 0-3 (optimizer; +gradients; +parameters) or "
            "fsdp as in Llama 3 (optimizer state and gradients sharded, parameters not resharded "
            "after the forward pass).")
        .Integer("micro_batch", &P::micro_batch, 1, (int64_t{1} << 20), "",
                 "Sequences per micro-batch.")
        .Integer("microbatches", &P::microbatches, 0, kMaxRanks, "",
                 "Micro-batches per step on each replica. 0 means derived from the global batch.")
        .Choice(
            "schedule", &P::schedule, ScheduleChoices(),
            "Pipeline schedule: gpipe, 1f1b, interleaved (Megatron, vp > 1), llama3 "
            "(interleaved with pp_microbatch_group consecutive micro-batches), zb-h1, zb-v (two "
            "chunks a rank in a V, vp = 2).")
        .Integer("pp_microbatch_group", &P::pp_microbatch_group, 0, kMaxRanks, "",
                 "Consecutive micro-batches a rank runs on one chunk (Llama 3's N). 0 means pp.")
        .Choice("recompute", &P::recompute, RecomputeChoices(),
                "Activation recomputation: none, selective (core attention), full (whole layer).")
        .Integer("recompute_layers", &P::recompute_layers, 0, 65536, "",
                 "With recompute = full: layers of each model chunk recomputed, its first ones "
                 "(Megatron-LM's --recompute-method block); the rest keep every activation. 0 "
                 "means all.")
        .Choice("cp_algorithm", &P::cp_algorithm,
                std::vector<std::pair<std::string, CpAlgorithm>>{
                    {"allgather", CpAlgorithm::kAllGather}, {"ring", CpAlgorithm::kRing}},
                "Context parallelism: allgather of K/V (Llama 3) or ring exchange.");
    FieldInfo modules;
    modules.key = "recompute_modules";
    modules.kind = ValueKind::kList;
    modules.help =
        "With recompute = selective on a framework that recomputes modules (Megatron-Core's "
        "--recompute-modules): what is re-run in backward. core_attn: the attention kernel; "
        "layernorm: the two norms (their outputs not kept); mlp: the dense MLP; moe_act: the "
        "routed experts' activation; mla_up_proj: MLA's up-projections and rotary embedding (Q, "
        "K, V not kept); shared_experts: the shared experts' MLP.";
    modules.allowed = "a list of core_attn, layernorm, mlp, moe_act, mla_up_proj, shared_experts";
    s.Custom(
        modules,
        [modules](P& plan, const RawValue& value) -> Status {
          std::vector<std::string> items =
              value.is_list ? value.items : SplitAndTrim(value.text, ',');
          uint32_t mask = 0;
          for (const std::string& item : items) {
            const std::vector<std::string>& names = RecomputeModuleNames();
            auto it = std::find(names.begin(), names.end(), ToLower(item));
            if (it == names.end()) {
              return FieldError("plan", modules, value, "names an unknown module");
            }
            const uint32_t bit = 1u << (it - names.begin());
            if (mask & bit) return FieldError("plan", modules, value, "names a module twice");
            mask |= bit;
          }
          if (mask == 0) return FieldError("plan", modules, value, "names no module");
          plan.recompute_modules = mask;
          return Status::Ok();
        },
        [](const P& plan) {
          nlohmann::json out = nlohmann::json::array();
          for (int i = 0; i < kRecomputeModules; ++i)
            if (plan.recompute_modules & (1u << i)) out.push_back(RecomputeModuleNames()[i]);
          return out;
        });
    FieldInfo placement;
    placement.key = "placement";
    placement.kind = ValueKind::kList;
    placement.help =
        "Order in which the parallel dimensions are laid onto ranks, innermost (fastest tier) "
        "first.";
    placement.allowed = "a permutation of tp, cp, pp, dp";
    s.Custom(
        placement,
        [placement](P& plan, const RawValue& value) -> Status {
          std::vector<std::string> items =
              value.is_list ? value.items : SplitAndTrim(value.text, ',');
          std::vector<Dim> order;
          for (const std::string& item : items) {
            bool found = false;
            for (const auto& [name, dim] : DimChoices()) {
              if (name == ToLower(item)) {
                order.push_back(dim);
                found = true;
              }
            }
            if (!found) return FieldError("plan", placement, value, "names an unknown dimension");
          }
          if (order.size() != 4) {
            return FieldError("plan", placement, value, "does not name each dimension once");
          }
          for (size_t i = 0; i < order.size(); ++i) {
            for (size_t j = i + 1; j < order.size(); ++j) {
              if (order[i] == order[j]) {
                return FieldError("plan", placement, value, "names a dimension twice");
              }
            }
          }
          plan.placement = order;
          return Status::Ok();
        },
        [](const P& plan) {
          nlohmann::json out = nlohmann::json::array();
          for (Dim d : plan.placement) out.push_back(std::string(DimName(d)));
          return out;
        });
    s.Choice("precision", &P::precision, PrecisionChoices(),
             "GEMM precision of the linears: bf16, fp8, or fp4 (NVFP4, on a GPU with "
             "gpu.peak_fp4_flops_per_s); weights kept in BF16, attention in BF16, as Transformer "
             "Engine.")
        .Boolean("trim_edge_stages", &P::trim_edge_stages,
                 "Llama 3: the first and the last pipeline stage each carry one transformer layer "
                 "fewer (the first chunk holds the embedding, the last the output layer and loss; "
                 "under zb-v both are on stage 0).")
        .Boolean("uneven_layers", &P::uneven_layers,
                 "Layers that do not divide into pp * vp chunks split unevenly: k or k + 1 per "
                 "chunk, the extra layers on the chunks after the first (which holds the "
                 "embedding). false refuses such a split (Megatron-LM needs a pipeline layout "
                 "for it).")
        .Boolean("tp_comm_overlap", &P::tp_comm_overlap,
                 "Hide tensor-parallel collectives behind the layer's GEMMs (Transformer Engine's "
                 "userbuffers overlap).")
        .Boolean("dp_overlap", &P::dp_overlap,
                 "Overlap the gradient reduce-scatter with backward and the parameter all-gather "
                 "with forward (Megatron's overlap_grad_reduce / overlap_param_gather).")
        .Integer("dp_replicate", &P::dp_replicate, 1, kMaxRanks, "",
                 "Hybrid sharded data parallelism (HSDP): the dp*cp ranks form dp_replicate groups "
                 "of consecutive ranks; sharded state is split inside a group and gradients are "
                 "all-reduced across groups. 1 means sharded over all dp*cp ranks. Needs zero 1, "
                 "2, 3 or fsdp when > 1.")
        .Choice("grad_sync", &P::grad_sync, GradSyncChoices(),
                "When gradients are reduced across replicas (across dp_replicate groups with "
                "HSDP, else over all dp*cp ranks): step (within the step), or delayed (during the "
                "next step's forward and backward; the optimizer applies one-step-old gradients, "
                "which changes training).")
        .Choice("grad_reduce_dtype", &P::grad_reduce_dtype, GradReduceDtypeChoices(),
                "Element type of the gradient reduction: fp32, or bf16 (half the bytes, less "
                "precise accumulation).")
        .Choice("attention_kernel", &P::attention_kernel,
                std::vector<std::pair<std::string, AttentionKernel>>{
                    {"flash", AttentionKernel::kFlash}, {"unfused", AttentionKernel::kUnfused}},
                "Attention kernel: flash (FlashAttention/cuDNN, no s^2 tensors) or unfused (scores "
                "materialized, as Megatron-LM before flash attention).")
        .Boolean(
            "fp8_params", &P::fp8_params,
            "Weights held only in the plan's low precision (Megatron-Core's "
            "--fp8-param-gather, Transformer Engine's fp8_model_init): no BF16 copy beside the "
            "FP8 or FP4 cast, the FP32 master weights in the optimizer state, and the "
            "data-parallel all-gather of parameters in the low precision. Needs precision "
            "fp8 or fp4.");
    return s;
  }();
  return kSchema;
}

const Schema<WorkloadSpec>& WorkloadSchema() {
  static const Schema<WorkloadSpec> kSchema = [] {
    using W = WorkloadSpec;
    Schema<W> s("workload");
    s.Integer("seq_len", &W::seq_len, 1, kMaxCount, "tokens", "Tokens per sequence.", "seq")
        .Integer("batch_tokens", &W::batch_tokens, 0, kMaxCount, "tokens",
                 "Tokens per global batch (e.g. 16Mi). 0 means global_batch * seq_len.")
        .Integer("global_batch", &W::global_batch, 0, kMaxCount, "sequences",
                 "Sequences per global batch. 0 means batch_tokens / seq_len.")
        .Integer("lora_rank", &W::lora_rank, 0, 65536, "",
                 "LoRA fine-tuning: adapters of this rank on every linear of the transformer "
                 "blocks (QKV, attention output, fc1, fc2), the base weights frozen (no weight "
                 "gradients, gradient reduction or optimizer state for them). 0 means every "
                 "weight is trained.",
                 "lora-rank")
        .Integer("document_tokens", &W::document_tokens, 0, kMaxCount, "tokens",
                 "Packed documents (fine-tuning): every sequence holds documents of this many "
                 "tokens, the last one cut at the sequence's end, and causal attention is masked "
                 "to each document (Megatron's packed sequences), so attention costs the pairs "
                 "within documents. For lengths that vary, give E[d^2] / E[d] (`scaleplan pack` "
                 "prints it). 0 means one document per sequence.",
                 "document-tokens");
    return s;
  }();
  return kSchema;
}

const Schema<FrameworkSpec>& FrameworkSchema() {
  static const Schema<FrameworkSpec> kSchema = [] {
    using F = FrameworkSpec;
    Schema<F> s("framework");
    s.Text("name", &F::name, "Short name shown in reports.", "framework-name")
        .Text("description", &F::description, "One line shown by `scaleplan presets`.",
              "framework-description")
        .Text("source", &F::source, "Where the defaults come from (documentation, commit).",
              "framework-source")
        .Text("version", &F::version, "The release the defaults were read from.",
              "framework-version")
        .Choice("elementwise", &F::elementwise,
                std::vector<std::pair<std::string, Elementwise>>{{"fused", Elementwise::kFused},
                                                                 {"eager", Elementwise::kEager}},
                "Memory-bound ops (norms, activations, rotary, loss): fused kernels (Transformer "
                "Engine, Apex, torch.compile) or PyTorch eager, one kernel per primitive op.",
                "framework-elementwise")
        .Boolean("compile", &F::compile,
                 "torch.compile per block: pointwise ops, norms and RoPE fused (GEMMs stay "
                 "cuBLAS); memory-bound ops are then priced as fused (the loss only with "
                 "compile_loss), and so are the dynamic FP8 recipes' casts, which eager PyTorch "
                 "runs as separate ops.",
                 "framework-compile")
        .Boolean("compile_loss", &F::compile_loss,
                 "With compile, the loss is compiled too (torchtitan's compile.components "
                 "since 2025): the FP32 cross-entropy fused; otherwise it runs eager beside the "
                 "compiled blocks (December 2024's torchtitan left it uncompiled).",
                 "framework-compile-loss")
        .Boolean("norm_weight_grad_pass", &F::norm_weight_grad_pass,
                 "The norms' backward reduces the weight gradient in a second pass over the "
                 "input and the output gradient (PyTorch's native and torch.compile's norm "
                 "kernels: 4 more bytes an element and a kernel), not beside the input gradient "
                 "in one pass (Transformer Engine).",
                 "framework-norm-weight-grad-pass")
        .Choice("selective_recompute", &F::selective_recompute,
                std::vector<std::pair<std::string, SelectiveRecompute>>{
                    {"core_attention", SelectiveRecompute::kCoreAttention},
                    {"per_op", SelectiveRecompute::kPerOp}},
                "What plan.recompute = selective re-runs: core_attention (Megatron-Core's "
                "modules, plan.recompute_modules, core attention by default) or per_op (PyTorch "
                "selective activation checkpointing as torchtitan's 'op' policy: every other "
                "matmul and every memory-bound op).",
                "framework-selective-recompute")
        .Choice(
            "fp8_recipe", &F::fp8_recipe,
            std::vector<std::pair<std::string, Fp8Recipe>>{{"delayed", Fp8Recipe::kDelayed},
                                                           {"tensorwise", Fp8Recipe::kTensorwise},
                                                           {"rowwise", Fp8Recipe::kRowwise}},
            "FP8 scaling with plan.precision = fp8: delayed (Transformer Engine: amax from "
            "history, fused into the cast), tensorwise (dynamic: an amax pass before each "
            "cast) or rowwise (dynamic per row: an amax pass and a slower scaled GEMM). "
            "plan.precision = fp4 has one recipe, NVFP4's.",
            "framework-fp8-recipe")
        .Boolean("fp8_lm_head", &F::fp8_lm_head,
                 "The output layer's GEMM also runs in FP8 (or FP4 under plan.precision = fp4; by "
                 "default it stays BF16, as in Transformer Engine recipes and torchtitan's Float8 "
                 "conversion).",
                 "framework-fp8-lm-head")
        .Boolean("fp8_saves_fp8_inputs", &F::fp8_saves_fp8_inputs,
                 "With plan.precision = fp8 (or fp4), each FP8 linear keeps its input for backward "
                 "as the 1-byte FP8 cast (0.5625 bytes in NVFP4; Transformer Engine) instead of in "
                 "BF16 (torchao).",
                 "framework-fp8-saves-fp8-inputs")
        .Boolean("fp8_weight_cache", &F::fp8_weight_cache,
                 "With plan.precision = fp8 (or fp4), each FP8 linear casts its weight (and the "
                 "transposed "
                 "copy its backward reads) on a step's first micro-batch only and reuses them for "
                 "the others (Transformer Engine's is_first_microbatch, as Megatron-Core passes "
                 "it); otherwise every micro-batch casts again (torchao; Transformer Engine "
                 "called without it). Not under ZeRO 3, which gathers the weights each pass.",
                 "framework-fp8-weight-cache")
        .Boolean("fp8_param_gather", &F::fp8_param_gather,
                 "The framework can hold the weights in FP8 alone (plan.fp8_params; Megatron-LM's "
                 "--fp8-param-gather with Transformer Engine's fp8_model_init, which needs the "
                 "distributed optimizer): validate may then assume it of an FP8 run that exceeds "
                 "the GPU's memory as stated. No FP4 option is known.",
                 "framework-fp8-param-gather")
        .Boolean("tp_async_backward", &F::tp_async_backward,
                 "Without plan.tp_comm_overlap, the backward of each column-parallel linear "
                 "(QKV, fc1) still hides its input re-gather (sequence parallelism) behind its "
                 "data-gradient GEMM and its input-gradient reduce-scatter or all-reduce behind "
                 "its weight-gradient GEMM (Megatron-LM since 2022, Transformer Engine).",
                 "framework-tp-async-backward")
        .Boolean("fp32_param_shards", &F::fp32_param_shards,
                 "Under ZeRO 3 the FP32 parameters are the shards, updated in place by the "
                 "optimizer: no BF16 copy is held beside them, BF16 weights exist only while "
                 "gathered (PyTorch FSDP with a mixed-precision policy: torchtitan, Composer). "
                 "Otherwise a BF16 shard is held beside the FP32 master copy (Megatron, "
                 "DeepSpeed).",
                 "framework-fp32-param-shards")
        .Boolean("gradients_per_step", &F::gradients_per_step,
                 "zero_grad frees the gradients after each step, so with one micro-batch a step "
                 "they are created as backward frees the activations and the two do not peak "
                 "together; otherwise the gradient buffer is allocated once (Megatron).",
                 "framework-gradients-per-step")
        .Choice("optimizer_step", &F::optimizer_step,
                std::vector<std::pair<std::string, OptimizerStep>>{
                    {"fused", OptimizerStep::kFused}, {"unfused", OptimizerStep::kUnfused}},
                "The Adam step: fused (one kernel reads the gradient, weight and moments and "
                "writes the three, 28 bytes a parameter: Apex's and Transformer Engine's "
                "FusedAdam, DeepSpeed's, torch.optim's fused=True) or unfused (one elementwise op "
                "at a time, 80 bytes a parameter in 8 kernels as PyTorch's foreach AdamW runs its "
                "eight ops: torch.optim's default, per-parameter loops such as Composer's "
                "DecoupledAdamW, whose loop without weight decay makes the same accesses)",
                "framework-optimizer-step")
        .Choice("attention_table", &F::attention_table, AttentionTableChoices(),
                "Measured attention kernel the framework's flash attention follows: cudnn "
                "(Transformer Engine's fused attention, as FlashAttention's 2023-24 H100 "
                "figures show cuDNN), flash2 (FlashAttention-2, and PyTorch's SDPA flash "
                "backend) or cudnn-9.19 (cuDNN 9.19's, forward and backward, measured by this "
                "project on one H200: data/calibration/h200-kernels/h200_attention.csv).",
                "framework-attention-table")
        .Number("attention_fraction", &F::attention_fraction, 0.1, 2.0, "",
                "Fraction of the attention table's throughput the framework's kernel reaches "
                "(a calibrated factor; 1 means the table).",
                "framework-attention-fraction")
        .Number("memory_fraction", &F::memory_fraction, 0.1, 1.0, "",
                "Fraction of HBM bandwidth reached by memory-bound kernels (a calibrated factor).",
                "framework-memory-fraction")
        .Number("kernel_overhead_s", &F::kernel_overhead_s, 0, 1e-3, "s",
                "Launch gap and tail added to every kernel (a calibrated factor).",
                "framework-kernel-overhead-s")
        .Number("fp8_gemm_fraction", &F::fp8_gemm_fraction, 0.1, 1.0, "",
                "Fraction of the FP8 GEMM table's throughput reached by FP8 GEMMs in training, and "
                "by NVFP4 GEMMs, which are read from the same table (a calibrated factor).",
                "framework-fp8-gemm-fraction");
    FieldInfo plan;
    plan.key = "plan";
    plan.kind = ValueKind::kTable;
    plan.help = "Plan keys the framework sets by default; a job's own plan keys override them.";
    plan.allowed = "a map of plan keys";
    s.Custom(plan, nullptr, [](const F& f) { return PlanSchema().ToJson(f.plan); });
    return s;
  }();
  return kSchema;
}

namespace {
Status Missing(std::string_view section, std::string_view key, std::string_view allowed) {
  return Status::Invalid(fmt::format("{}.{} is missing (allowed: {})", section, key, allowed));
}
}  // namespace

Status ValidateModel(const ModelSpec& m) {
  SP_RETURN_IF_ERROR(ModelSchema().CheckBounds(m));
  if (m.layers <= 0) return Missing("model", "layers", "integer >= 1");
  if (m.hidden <= 0) return Missing("model", "hidden", "integer >= 1");
  if (m.heads <= 0) return Missing("model", "heads", "integer >= 1");
  if (m.vocab <= 0) return Missing("model", "vocab", "integer >= 1");
  bool every_layer_moe = m.IsMoe() && m.moe_first_dense_layers == 0 && m.moe_layer_interval == 1;
  if (m.ffn_hidden <= 0 && !(every_layer_moe && m.expert_ffn_hidden > 0)) {
    return Missing("model", "ffn_hidden", "integer >= 1");
  }
  if (m.head_dim == 0 && m.hidden % m.heads != 0) {
    return Status::Invalid(fmt::format(
        "model.heads = {} does not divide model.hidden = {} (allowed: a divisor of hidden, or "
        "set model.head_dim)",
        m.heads, m.hidden));
  }
  if (m.heads % m.EffectiveKvHeads() != 0) {
    std::vector<std::string> allowed;
    for (int64_t d : Divisors(m.heads)) allowed.push_back(std::to_string(d));
    return Status::Invalid(
        fmt::format("model.kv_heads = {} does not divide model.heads = {} "
                    "(allowed: {})",
                    m.kv_heads, m.heads, Join(allowed, ", ")));
  }
  if (m.IsMla()) {
    if (m.head_dim <= 0 || m.rope_head_dim <= 0) {
      return Status::Invalid(fmt::format(
          "model.kv_lora_rank = {} (multi-head latent attention) needs model.head_dim and "
          "model.rope_head_dim (head_dim = {}, rope_head_dim = {}; allowed: both >= 1)",
          m.kv_lora_rank, m.head_dim, m.rope_head_dim));
    }
    if (m.kv_heads != 0 && m.kv_heads != m.heads) {
      return Status::Invalid(fmt::format(
          "model.kv_heads = {} with multi-head latent attention (model.kv_lora_rank = {}) "
          "(allowed: 0 or model.heads = {}: every head has its own up-projected key and value)",
          m.kv_heads, m.kv_lora_rank, m.heads));
    }
    if (m.qkv_bias || m.linear_bias) {
      return Status::Invalid(
          fmt::format("model.qkv_bias / model.linear_bias = true with multi-head latent attention "
                      "(model.kv_lora_rank = {}) (allowed: false)",
                      m.kv_lora_rank));
    }
    if (m.position_embedding != PositionEmbedding::kRope) {
      return Status::Invalid(fmt::format(
          "model.position_embedding = {} with multi-head latent attention (model.kv_lora_rank "
          "= {}) (allowed: rope)",
          m.position_embedding == PositionEmbedding::kLearned ? "learned"
          : m.position_embedding == PositionEmbedding::kAlibi ? "alibi"
                                                              : "none",
          m.kv_lora_rank));
    }
  } else if (m.q_lora_rank != 0 || m.rope_head_dim != 0) {
    return Status::Invalid(fmt::format(
        "model.q_lora_rank = {} / model.rope_head_dim = {} need multi-head latent attention "
        "(allowed: 0 unless model.kv_lora_rank >= 1)",
        m.q_lora_rank, m.rope_head_dim));
  }
  if (m.global_attention_interval > 0 && m.sliding_window == 0) {
    return Status::Invalid(fmt::format(
        "model.global_attention_interval = {} needs model.sliding_window (allowed: 0 without a "
        "sliding window)",
        m.global_attention_interval));
  }
  if (m.position_embedding == PositionEmbedding::kLearned && m.max_position_embeddings <= 0) {
    return Missing("model", "max_position_embeddings",
                   "integer >= 1 when position_embedding is learned");
  }
  if (m.experts == 1) {
    return Status::Invalid(
        "model.experts = 1 is not a mixture of experts (allowed: 0 for a "
        "dense model, or >= 2)");
  }
  if (m.IsMoe()) {
    if (m.top_k < 1 || m.top_k > m.experts) {
      return Status::Invalid(
          fmt::format("model.top_k = {} is out of range for model.experts = {} (allowed: 1 to {})",
                      m.top_k, m.experts, m.experts));
    }
    if (m.moe_first_dense_layers >= m.layers) {
      return Status::Invalid(
          fmt::format("model.moe_first_dense_layers = {} leaves no MoE layer in model.layers = {} "
                      "(allowed: 0 to {})",
                      m.moe_first_dense_layers, m.layers, m.layers - 1));
    }
  } else if (m.top_k != 0 || m.shared_experts != 0) {
    return Status::Invalid(fmt::format(
        "model.top_k = {} / model.shared_experts = {} need model.experts >= 2 (allowed: 0 for a "
        "dense model)",
        m.top_k, m.shared_experts));
  } else {
    // The other expert keys would change nothing on a dense model: a model meant to be MoE that
    // lost its experts, or one derived from a MoE base without clearing them.
    for (const auto& [key, value] :
         {std::pair<const char*, int64_t>{"expert_ffn_hidden", m.expert_ffn_hidden},
          {"shared_expert_ffn_hidden", m.shared_expert_ffn_hidden},
          {"moe_first_dense_layers", m.moe_first_dense_layers},
          {"moe_layer_interval", m.moe_layer_interval == 1 ? 0 : m.moe_layer_interval}}) {
      if (value != 0) {
        return Status::Invalid(fmt::format(
            "model.{} = {} has no effect on a dense model (model.experts = {}) (allowed: leave it "
            "out, or give model.experts >= 2)",
            key, value, m.experts));
      }
    }
  }
  return Status::Ok();
}

Status ValidateGpu(const GpuSpec& g) {
  SP_RETURN_IF_ERROR(GpuSchema().CheckBounds(g));
  if (g.power_limit_w > 0 && g.tdp_w > 0 && g.power_limit_w < kMinPowerLimitFraction * g.tdp_w) {
    return Status::Invalid(fmt::format(
        "gpu.power_limit_w = {:g} is below {:.0f}% of gpu.tdp_w = {:g} (allowed: 0 for none, or "
        "from {:g} W)",
        g.power_limit_w, 100.0 * kMinPowerLimitFraction, g.tdp_w,
        kMinPowerLimitFraction * g.tdp_w));
  }
  // nvidia-smi -pl refuses a cap above the board's maximum power.
  if (g.power_limit_w > 0 && g.tdp_w > 0 && g.power_limit_w > g.tdp_w) {
    return Status::Invalid(fmt::format(
        "gpu.power_limit_w = {:g} is above gpu.tdp_w = {:g} (allowed: 0 for none, or from {:g} to "
        "{:g} W)",
        g.power_limit_w, g.tdp_w, kMinPowerLimitFraction * g.tdp_w, g.tdp_w));
  }
  if (g.peak_bf16_flops_per_s <= 0) return Missing("gpu", "peak_bf16_flops_per_s", "number > 0");
  if (g.memory_bytes <= 0) return Missing("gpu", "memory_bytes", "number > 0");
  if (g.memory_bandwidth_bytes_per_s <= 0) {
    return Missing("gpu", "memory_bandwidth_bytes_per_s", "number > 0");
  }
  return Status::Ok();
}

Status ValidateCluster(const ClusterSpec& c) {
  SP_RETURN_IF_ERROR(ValidateGpu(c.gpu).WithContext("cluster " + c.name));
  SP_RETURN_IF_ERROR(ClusterSchema().CheckBounds(c));
  for (const TierSpec& tier : c.tiers) SP_RETURN_IF_ERROR(TierSchema().CheckBounds(tier));
  if (c.tiers.empty()) return Missing("cluster", "tiers", "a list of at least one tier");
  for (size_t i = 0; i < c.tiers.size(); ++i) {
    const TierSpec& t = c.tiers[i];
    std::string where = fmt::format("cluster.tiers[{}]", i);
    if (t.name.empty()) return Missing(where, "name", "a tier name");
    if (t.gpus <= 0) return Missing(where, "gpus", "integer >= 1");
    if (t.bandwidth_bytes_per_s <= 0) return Missing(where, "bandwidth_bytes_per_s", "number > 0");
    // Tiers are named by flags and truth files (explore --boundary-tier, tier_bandwidth): two of
    // one name would make the second unreachable.
    for (size_t j = 0; j < i; ++j) {
      if (c.tiers[j].name == t.name) {
        return Status::Invalid(fmt::format(
            "{}.name = {} is also cluster.tiers[{}]'s (allowed: a different name for each tier)",
            where, Printable(t.name, 60), j));
      }
    }
    if (i == 0 && t.hierarchical_collectives) {
      return Status::Invalid(fmt::format(
          "{}.hierarchical_collectives = true on the innermost tier ({}), which has no tier "
          "inside it for the first level (allowed: false here; true on an outer tier)",
          where, Printable(t.name, 60)));
    }
    if (i > 0) {
      const TierSpec& inner = c.tiers[i - 1];
      if (t.gpus <= inner.gpus || t.gpus % inner.gpus != 0) {
        return Status::Invalid(fmt::format(
            "{}.gpus = {} is not a multiple of the tier inside it ({} = {}) (allowed: a multiple "
            "of {} larger than it)",
            where, t.gpus, inner.name, inner.gpus, inner.gpus));
      }
    }
  }
  return Status::Ok();
}

Status ValidateFramework(const FrameworkSpec& f) {
  SP_RETURN_IF_ERROR(FrameworkSchema().CheckBounds(f));
  return PlanSchema().CheckBounds(f.plan);
}

double PowerClockFraction(const GpuSpec& gpu) {
  if (gpu.tdp_w <= 0 || gpu.power_limit_w <= 0 || gpu.power_limit_w >= gpu.tdp_w) return 1.0;
  return std::cbrt(gpu.power_limit_w / gpu.tdp_w);
}

Status ValidateSequence(const ModelSpec& m, const WorkloadSpec& w) {
  if (m.position_embedding == PositionEmbedding::kLearned &&
      w.seq_len > m.max_position_embeddings) {
    return Status::Invalid(
               fmt::format("workload.seq_len = {} is longer than model.max_position_embeddings = "
                           "{}, the rows of the model's learned position table (allowed: "
                           "sequences of at most {} tokens, or a table of at least {} rows)",
                           w.seq_len, m.max_position_embeddings, m.max_position_embeddings,
                           w.seq_len))
        .WithKey("workload.seq_len");
  }
  if (w.lora_rank > 0 && m.IsMoe()) {
    return Status::Invalid(fmt::format("workload.lora_rank = {}: LoRA on a MoE model (its routed "
                                       "experts' adapters) is not modeled (allowed: 0 with a MoE "
                                       "model, or a dense model)",
                                       w.lora_rank))
        .WithKey("workload.lora_rank");
  }
  if (w.lora_rank > m.hidden) {
    return Status::Invalid(fmt::format("workload.lora_rank = {} is more than model.hidden = {} "
                                       "(allowed: a rank of at most {}; LoRA's are 8 to 256)",
                                       w.lora_rank, m.hidden, m.hidden))
        .WithKey("workload.lora_rank");
  }
  return Status::Ok();
}

Status ValidateWorkload(const WorkloadSpec& w) {
  SP_RETURN_IF_ERROR(WorkloadSchema().CheckBounds(w));
  if (w.seq_len <= 0) return Missing("workload", "seq_len", "integer >= 1");
  if (w.batch_tokens == 0 && w.global_batch == 0) {
    return Missing("workload", "batch_tokens", "integer >= 1, or set workload.global_batch");
  }
  if (w.document_tokens > w.seq_len) {
    return Status::Invalid(fmt::format("workload.document_tokens = {} is longer than "
                                       "workload.seq_len = {} (allowed: 0, one document per "
                                       "sequence, or 1 to {})",
                                       w.document_tokens, w.seq_len, w.seq_len))
        .WithKey("workload.document_tokens");
  }
  if (w.batch_tokens > 0 && w.batch_tokens % w.seq_len != 0) {
    return Status::Invalid(fmt::format(
        "workload.batch_tokens = {} is not a whole number of sequences of workload.seq_len = {} "
        "(allowed: a multiple of {})",
        w.batch_tokens, w.seq_len, w.seq_len));
  }
  // Tokens per step, like every count, at most kMaxCount (so that it is an int64 everywhere).
  if (w.global_batch > 0 && !BoundedProduct({w.global_batch, w.seq_len}, kMaxCount)) {
    return Status::Invalid(fmt::format(
        "workload.global_batch x seq_len = {} x {} tokens per step (allowed: at most {} tokens)",
        w.global_batch, w.seq_len, kMaxCount));
  }
  if (w.batch_tokens > 0 && w.global_batch > 0 && w.batch_tokens != w.global_batch * w.seq_len) {
    return Status::Invalid(fmt::format(
        "workload.batch_tokens = {} disagrees with workload.global_batch = {} sequences of {} "
        "tokens (allowed: {}, or give only one of the two)",
        w.batch_tokens, w.global_batch, w.seq_len, w.global_batch * w.seq_len));
  }
  return Status::Ok();
}

}  // namespace scaleplan::spec
