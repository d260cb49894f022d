// The input specs of scaleplan: model, GPU, cluster, plan and workload, plus the job that ties
// them together. Plain structs; every field's name, unit, default, allowed values and help text is
// defined once in the schemas of specs.cpp (`scaleplan spec` prints them). Default member values
// here are the documented defaults; 0 marks "not given" where a field is required or derived.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/units.h"
#include "spec/schema.h"

namespace scaleplan::spec {

// Parallel sizes and GPU counts: at most 16,777,216, far above the largest cluster (the event
// engine's benchmark runs 1,048,576 GPUs). Products of them are checked (core/checked.h).
inline constexpr int64_t kMaxRanks = int64_t{1} << 24;
// Counts such as tokens per sequence or sequences per batch: a generous bound that rejects typos
// like 1e20.
inline constexpr int64_t kMaxCount = int64_t{1} << 40;
// A measured value (tokens/s/GPU, samples/s/GPU, TFLOP/s/GPU, a step time in seconds) of a run
// or a logged job: from a millionth to 10^12; outside, a typo, not a run (1e-300 s a step would
// be 10^303 tokens/s).
inline constexpr double kMinMeasured = 1e-6;
inline constexpr double kMaxMeasured = 1e12;

enum class Activation { kSwiGlu, kGelu, kRelu, kSquaredRelu };
enum class Norm { kRmsNorm, kLayerNorm };
enum class PositionEmbedding { kRope, kLearned, kAlibi, kNone };

// A decoder-only transformer, dense or mixture-of-experts.
struct ModelSpec {
  std::string name = "custom";
  std::string description;
  std::string source;      // where the architecture numbers come from
  int64_t layers = 0;      // transformer layers; required
  int64_t hidden = 0;      // model width; required
  int64_t ffn_hidden = 0;  // dense MLP inner width; required unless every layer is MoE
  int64_t heads = 0;       // query heads; required
  int64_t kv_heads = 0;    // key/value heads (GQA/MQA); 0 = heads (MHA)
  int64_t head_dim = 0;    // 0 = hidden / heads
  int64_t vocab = 0;       // vocabulary size; required
  Activation activation = Activation::kSwiGlu;
  Norm norm = Norm::kRmsNorm;
  bool tied_embeddings = false;  // LM head shares the input embedding matrix
  PositionEmbedding position_embedding = PositionEmbedding::kRope;
  int64_t max_position_embeddings = 0;   // learned position table rows (learned only)
  bool linear_bias = false;              // every linear layer has a bias (GPT-2/3 style)
  bool qkv_bias = false;                 // only the QKV projection has a bias (Qwen2)
  bool qk_norm = false;                  // RMSNorm on each query/key head (Qwen3)
  int64_t experts = 0;                   // routed experts; 0 = dense model
  int64_t top_k = 0;                     // experts per token
  int64_t expert_ffn_hidden = 0;         // inner width of one routed expert; 0 = ffn_hidden
  int64_t shared_experts = 0;            // always-active experts per MoE layer
  int64_t shared_expert_ffn_hidden = 0;  // inner width of one shared expert; 0 = expert width
  int64_t moe_layer_interval = 1;        // every n-th layer (after the dense prefix) is MoE
  int64_t moe_first_dense_layers = 0;    // leading dense layers before the first MoE layer
  // Multi-head latent attention (DeepSeek-V2/V3, Kimi K2; model.h): keys and values come from a
  // kv_lora_rank-wide compression of the input, queries from a q_lora_rank-wide one (0: projected
  // from the input directly); head_dim is then the per-head width of the part without rotary
  // embedding, and rope_head_dim the decoupled rotary part (queries per head, keys shared).
  int64_t q_lora_rank = 0;
  int64_t kv_lora_rank = 0;  // > 0 turns MLA on
  int64_t rope_head_dim = 0;
  int64_t v_head_dim = 0;  // width of one value head (and of the attention output); 0 = head_dim
  // Local (sliding-window) attention: a query sees itself and the sliding_window - 1 tokens
  // before it (0: every layer attends to the whole sequence); with global_attention_interval n,
  // layers n-1, 2n-1, ... still attend to the whole sequence (0: none does).
  int64_t sliding_window = 0;
  int64_t global_attention_interval = 0;

  int64_t EffectiveKvHeads() const { return kv_heads > 0 ? kv_heads : heads; }
  int64_t EffectiveHeadDim() const {
    return head_dim > 0 ? head_dim : (heads > 0 ? hidden / heads : 0);
  }
  bool IsMla() const { return kv_lora_rank > 0; }
  // Whether 0-based layer `index` attends over a sliding window.
  bool IsLocalAttentionLayer(int64_t index) const {
    if (sliding_window <= 0) return false;
    return !(global_attention_interval > 0 && (index + 1) % global_attention_interval == 0);
  }
  // How many of the layers attend over a sliding window: all but every n-th with
  // global_attention_interval n (0 without a window).
  int64_t LocalAttentionLayers() const {
    if (sliding_window <= 0) return 0;
    return layers - (global_attention_interval > 0 ? layers / global_attention_interval : 0);
  }
  // Width of one query (and key) head as the attention kernel sees it: with MLA, the part without
  // rotary embedding plus the rotary part.
  int64_t QkHeadDim() const { return EffectiveHeadDim() + (IsMla() ? rope_head_dim : 0); }
  int64_t EffectiveVHeadDim() const { return v_head_dim > 0 ? v_head_dim : EffectiveHeadDim(); }
  int64_t EffectiveExpertFfn() const {
    return expert_ffn_hidden > 0 ? expert_ffn_hidden : ffn_hidden;
  }
  int64_t EffectiveSharedExpertFfn() const {
    return shared_expert_ffn_hidden > 0 ? shared_expert_ffn_hidden : EffectiveExpertFfn();
  }
  bool IsMoe() const { return experts > 1; }
  // Every field, so that a cache keyed by the model can never miss a new one.
  bool operator==(const ModelSpec&) const = default;
  // Whether 0-based layer `index` is a mixture-of-experts layer.
  bool IsMoeLayer(int64_t index) const {
    if (!IsMoe() || index < moe_first_dense_layers) return false;
    return (index - moe_first_dense_layers) % moe_layer_interval == 0;
  }
};

enum class KernelTables { kSm90, kSm100 };

struct GpuSpec {
  std::string name = "custom";
  std::string description;
  std::string source;
  double peak_bf16_flops_per_s = 0;  // dense BF16 tensor-core peak
  double peak_fp8_flops_per_s = 0;   // dense FP8 peak; 0 = no FP8
  double peak_fp4_flops_per_s = 0;   // dense NVFP4 peak; 0 = no FP4
  double memory_bytes = 0;           // device memory as the CUDA driver reports its total
  double memory_bandwidth_bytes_per_s = 0;
  double usable_memory_fraction = 0.95;     // of memory_bytes, after CUDA context, NCCL and cuBLAS
                                            // buffers and allocator fragmentation (assumption)
  double nvlink_bandwidth_bytes_per_s = 0;  // per GPU, per direction
  KernelTables kernel_tables = KernelTables::kSm90;  // measured kernel tables to scale from
  double attention_efficiency_scale = 1.0;  // attention's fraction of peak relative to H100's
  double gemm_efficiency_scale = 1.0;  // BF16 GEMMs' fraction of peak relative to the table GPU's
  double sustained_compute_fraction = 1.0;  // of the kernel tables' throughput, in a long run
  bool nvlink_sharp = false;                // NVSwitch reduces in the switch (NVLS all-reduce)
  // NCCL's bus bandwidth on the node's NVLink as a fraction of the link, relative to Hopper's
  // (collective.h): scales every NVLink term (rings, NVLS, all-to-all, point-to-point).
  double nvlink_efficiency_scale = 1.0;
  double tdp_w = 0;          // board power the kernel tables ran at; 0 = unknown
  double power_limit_w = 0;  // power cap the job runs under; 0 = tdp_w
};

// One level of the network hierarchy. Tiers are ordered innermost (node) first.
struct TierSpec {
  std::string name;
  int64_t gpus = 0;                  // GPUs in one group at this tier (cumulative: rack = 16)
  double bandwidth_bytes_per_s = 0;  // per GPU, per direction, into this tier
  double latency_s = 0;              // one-way latency of a message crossing this tier
  double oversubscription = 1.0;     // >= 1; 7 means 1:7 for links that cross this tier
  // Collectives whose group crosses this tier may run two-level: reduce inside each group of the
  // tier below, then across (collective/collective.h); the cheaper of that and the flat ring wins.
  bool hierarchical_collectives = false;
};

struct ClusterSpec {
  std::string name = "custom";
  std::string description;
  std::string source;
  std::string gpu_name;  // the GPU preset the cluster was read with
  GpuSpec gpu;
  std::vector<TierSpec> tiers;

  int64_t CapacityGpus() const { return tiers.empty() ? 0 : tiers.back().gpus; }
};

enum class ZeroMode { kZero0, kZero1, kZero2, kZero3, kFsdp };
enum class Schedule { kGpipe, k1F1B, kInterleaved, kLlama3, kZbH1, kZbV };
enum class Recompute { kNone, kSelective, kFull };
// Megatron-Core's --recompute-modules, what recompute = selective re-runs in backward (one bit
// each): core attention; the input and pre-MLP norms; the dense MLP; the routed experts'
// activation function; MLA's up-projections and rotary embedding; the shared experts.
enum RecomputeModule : uint32_t {
  kRecomputeCoreAttn = 1u << 0,
  kRecomputeLayernorm = 1u << 1,
  kRecomputeMlp = 1u << 2,
  kRecomputeMoeAct = 1u << 3,
  kRecomputeMlaUpProj = 1u << 4,
  kRecomputeSharedExperts = 1u << 5,
};
inline constexpr int kRecomputeModules = 6;
// The modules' Megatron names, bit i at index i.
const std::vector<std::string>& RecomputeModuleNames();
enum class CpAlgorithm { kAllGather, kRing };
enum class AttentionKernel { kFlash, kUnfused };
// The format of the linears' GEMMs: BF16, FP8, or NVFP4 (kFp4). Weights, attention and the
// memory-bound kernels stay in BF16 in every case (Transformer Engine's recipes).
enum class Precision { kBf16, kFp8, kFp4 };
// Whether the linears run below BF16 (FP8 or FP4) and cast their operands to do so.
inline bool LowPrecision(Precision p) { return p != Precision::kBf16; }
// Bytes per element of a low-precision cast (FP8: 1; NVFP4: 0.5625 with its block scales).
inline double LowPrecisionBytes(Precision p) {
  return p == Precision::kFp4 ? kNvfp4Bytes : p == Precision::kFp8 ? kFp8Bytes : kBf16Bytes;
}
// The GPU's dense peak in the plan's low precision (gpu.peak_fp8_flops_per_s or
// peak_fp4_flops_per_s); 0 in BF16 or where the GPU lacks the format.
inline double LowPrecisionPeak(const GpuSpec& gpu, Precision p) {
  return p == Precision::kFp8   ? gpu.peak_fp8_flops_per_s
         : p == Precision::kFp4 ? gpu.peak_fp4_flops_per_s
                                : 0.0;
}
// The GPU's nameplate dense peak in a precision (BF16, or LowPrecisionPeak): what an MFU divides
// by; 0 where the GPU lacks the format.
inline double DensePeak(const GpuSpec& gpu, Precision p) {
  return p == Precision::kBf16 ? gpu.peak_bf16_flops_per_s : LowPrecisionPeak(gpu, p);
}
enum class Dim { kTp, kCp, kPp, kDp };
// When the gradient reduction across data-parallel replicas runs: within the step that computed
// the gradients, or during the next step (the optimizer applies one-step-old gradients).
enum class GradSync { kStep, kDelayed };
enum class GradReduceDtype { kFp32, kBf16 };

std::string_view ZeroModeName(ZeroMode mode);
std::string_view PrecisionName(Precision precision);  // bf16, fp8, fp4
std::string_view ScheduleName(Schedule schedule);
std::string_view GradSyncName(GradSync sync);
std::string_view GradReduceDtypeName(GradReduceDtype dtype);
std::string_view RecomputeName(Recompute recompute);
std::string_view DimName(Dim dim);

struct PlanSpec {
  int64_t tp = 1;                    // tensor parallel
  int64_t cp = 1;                    // context parallel
  int64_t pp = 1;                    // pipeline stages
  int64_t vp = 1;                    // virtual stages (model chunks) per pipeline rank
  int64_t dp = 0;                    // data parallel; 0 = gpus / (tp*cp*pp)
  int64_t ep = 1;                    // expert parallel (within dp*cp, as Megatron-Core)
  int64_t etp = 0;                   // expert tensor parallel; 0 = tp
  bool sequence_parallel = true;     // shard norms/residual activations over TP ranks
  ZeroMode zero = ZeroMode::kZero1;  // DP sharding of optimizer, gradients, parameters
  int64_t micro_batch = 1;           // sequences per micro-batch
  int64_t microbatches = 0;          // per step and replica; 0 = derived from the global batch
  Schedule schedule = Schedule::k1F1B;
  int64_t pp_microbatch_group = 0;  // Llama 3: consecutive micro-batches per chunk; 0 = pp
  Recompute recompute = Recompute::kNone;
  // With recompute = full: the layers of each model chunk that are recomputed, its first ones
  // (Megatron-LM's --recompute-method block --recompute-num-layers); the others keep every
  // activation. 0 = all of them.
  int64_t recompute_layers = 0;
  // With recompute = selective under a framework that recomputes modules (Megatron-Core): which
  // (RecomputeModule bits); Megatron-Core's default is core attention alone.
  uint32_t recompute_modules = kRecomputeCoreAttn;
  CpAlgorithm cp_algorithm = CpAlgorithm::kAllGather;
  std::vector<Dim> placement = {Dim::kTp, Dim::kCp, Dim::kPp, Dim::kDp};  // innermost first
  Precision precision = Precision::kBf16;
  bool trim_edge_stages = false;  // Llama 3: first and last stage carry one layer fewer
  // Layers that do not divide into pp * vp chunks split unevenly, k or k + 1 per chunk (the first
  // chunk, which holds the embedding, never takes an extra one); false refuses such a split.
  bool uneven_layers = false;
  bool tp_comm_overlap = false;  // hide TP collectives behind the layer's GEMMs
  bool dp_overlap = true;        // overlap gradient reduce / parameter gather with compute
  // Hybrid sharded data parallelism: the dp*cp ranks form dp_replicate groups of consecutive
  // ranks; sharded state is split inside a group and gradients are all-reduced across groups.
  int64_t dp_replicate = 1;
  GradSync grad_sync = GradSync::kStep;
  GradReduceDtype grad_reduce_dtype = GradReduceDtype::kFp32;
  AttentionKernel attention_kernel = AttentionKernel::kFlash;
  // Weights held only in the plan's low precision (Megatron-Core's --fp8-param-gather, Transformer
  // Engine's fp8_model_init): no BF16 copy beside the cast (the FP32 master weights stay in the
  // optimizer's state), and the data-parallel all-gather of parameters moves the low-precision
  // bytes. Needs precision fp8 or fp4.
  bool fp8_params = false;
  bool operator==(const PlanSpec&) const = default;
};

// The plan's recomputation in words: "none", "selective", "selective (core_attn, layernorm)",
// "full", or "full (first 5 layers of each chunk)".
std::string RecomputeText(const PlanSpec& plan);

// What a training framework does unless a job says otherwise, and how its kernels run. The plan
// defaults (`plan`) fill every plan key a job leaves out; the rest shapes the kernel model
// (hardware/efficiency.h, sim/analytical.h). The four factors (attention_fraction,
// memory_fraction, kernel_overhead_s, fp8_gemm_fraction) and gpu.sustained_compute_fraction are
// what `scaleplan calibrate` fits; every other field is a documented behaviour of the framework.
enum class Elementwise { kFused, kEager };
enum class SelectiveRecompute { kCoreAttention, kPerOp };
enum class Fp8Recipe { kDelayed, kTensorwise, kRowwise };
// How the Adam step runs (sim/analytical.h): one fused kernel per group of tensors, or one
// elementwise op at a time over every tensor.
enum class OptimizerStep { kFused, kUnfused };
// The measured attention kernel a framework's flash attention follows (hardware/efficiency.h):
// cuDNN's fused attention and FlashAttention-2 as FlashAttention's H100 benchmark figures show them
// (2023-24), or cuDNN 9.19's as this project measured it on one H200 (h200_attention.csv).
enum class AttentionTable { kCudnn, kFlash2, kCudnn919 };
std::string_view AttentionTableName(AttentionTable table);

struct FrameworkSpec {
  std::string name = "generic";
  std::string description;
  std::string source;
  std::string version;
  // Norms, activations, rotary embedding and loss: fused kernels (Transformer Engine, Apex,
  // torch.compile) or PyTorch eager, one kernel per primitive op (model.h, LayerOps' comment).
  Elementwise elementwise = Elementwise::kFused;
  bool compile = false;  // torch.compile: memory-bound ops fused whatever `elementwise` says
  // torch.compile also compiles the loss (torchtitan's compile.components since 2025); without it
  // the cross-entropy runs eager even when the blocks are compiled (December 2024's torchtitan).
  bool compile_loss = false;
  // The norms' backward computes the weight gradient in a second pass over the input and the
  // output gradient (PyTorch's native LayerNorm and RMSNorm kernels, Inductor's generated ones:
  // measured on one H200, h200_memops.csv), not beside the input gradient in one pass (Transformer
  // Engine's kernels, per-block partial sums).
  bool norm_weight_grad_pass = false;
  // What plan.recompute = selective re-runs: Megatron-Core's modules (plan.recompute_modules, core
  // attention by default), or PyTorch's per-op selective checkpointing (every other matmul and
  // every memory-bound op; torchtitan's "op" SAC).
  SelectiveRecompute selective_recompute = SelectiveRecompute::kCoreAttention;
  Fp8Recipe fp8_recipe = Fp8Recipe::kDelayed;
  bool fp8_lm_head = false;  // the output layer's GEMM also runs in FP8
  // FP8 linears keep their input for backward as the 1-byte FP8 cast (Transformer Engine), not
  // in BF16 (torchao's Float8Linear keeps the BF16 input and casts again in backward).
  bool fp8_saves_fp8_inputs = false;
  // FP8 weights are cast (with their transposes) on a step's first micro-batch and reused by the
  // others (Transformer Engine's is_first_microbatch, which Megatron-Core passes unless
  // disable_parameter_transpose_cache); otherwise every micro-batch casts them again.
  bool fp8_weight_cache = false;
  // The framework can hold the weights in FP8 alone (plan.fp8_params: Megatron-LM's
  // --fp8-param-gather with Transformer Engine's fp8_model_init, from a distributed optimizer's
  // shards): what validate may assume of an FP8 run that cannot run as stated. No FP4 option is
  // known; torchao's float8 keeps BF16 weights (its FSDP all-gather casts shards).
  bool fp8_param_gather = false;
  // Without plan.tp_comm_overlap, the backward still runs the column-parallel linears' input
  // re-gather (SP) and input-gradient reduction asynchronously behind their own data- and
  // weight-gradient GEMMs (Megatron-LM's linear layers since 2022, Transformer Engine).
  bool tp_async_backward = false;
  // ZeRO 3 shards the FP32 parameters themselves, which the optimizer updates in place: no BF16
  // copy is held beside them, and BF16 weights exist only gathered (PyTorch FSDP's mixed
  // precision: torchtitan's FSDP2, Composer's FSDP). Megatron's and DeepSpeed's keep BF16 shards
  // beside an FP32 master copy in the optimizer state.
  bool fp32_param_shards = false;
  // The optimizer's zero_grad frees the gradients (set_to_none), so backward creates them anew:
  // with one micro-batch a step they grow as the activations are freed and the two do not peak
  // together (measured on one H200, h200_step_memory.csv). Megatron's gradient buffer is
  // allocated once.
  bool gradients_per_step = false;
  // The Adam step: fused (Apex's and Transformer Engine's FusedAdam, DeepSpeed's, torch.optim's
  // fused=True) or unfused (torch.optim's foreach default, per-parameter loops such as Composer's
  // DecoupledAdamW).
  OptimizerStep optimizer_step = OptimizerStep::kFused;
  AttentionTable attention_table = AttentionTable::kCudnn;
  double attention_fraction = 1.0;  // of the attention table's throughput
  double memory_fraction = 0.80;    // of HBM bandwidth reached by memory-bound kernels
  double kernel_overhead_s = 4e-6;  // launch gap and tail per kernel
  double fp8_gemm_fraction = 1.0;   // of the FP8 GEMM table's throughput (FP4 GEMMs too)
  // Plan keys the framework sets by default (what a job's plan map is applied over).
  PlanSpec plan;
  bool operator==(const FrameworkSpec&) const = default;
};

struct WorkloadSpec {
  int64_t seq_len = 0;       // tokens per sequence; required
  int64_t batch_tokens = 0;  // tokens per global batch; 0 = global_batch * seq_len
  int64_t global_batch = 0;  // sequences per global batch; 0 = batch_tokens / seq_len
  // LoRA fine-tuning (Hu et al., arXiv:2106.09685): adapters of this rank beside every linear of
  // the transformer blocks (NeMo's default targets: QKV, attention output, fc1, fc2), every base
  // weight frozen; 0: every weight trained.
  int64_t lora_rank = 0;
  // Packed documents (supervised fine-tuning, Megatron's packed sequences in THD layout): each
  // sequence holds documents of this many tokens (the last one cut at the sequence's end), and
  // causal attention is masked to each document (model::PackedPairs); 0: one document per
  // sequence, attending over all of it (pre-training).
  int64_t document_tokens = 0;
};

// Everything one evaluation needs. `gpus` = 0 means the whole cluster.
struct JobSpec {
  ModelSpec model;
  ClusterSpec cluster;
  int64_t gpus = 0;
  PlanSpec plan;
  WorkloadSpec workload;
  FrameworkSpec framework;
};

const Schema<ModelSpec>& ModelSchema();
const Schema<GpuSpec>& GpuSchema();
const Schema<TierSpec>& TierSchema();
const Schema<ClusterSpec>& ClusterSchema();
const Schema<PlanSpec>& PlanSchema();
const Schema<WorkloadSpec>& WorkloadSchema();
const Schema<FrameworkSpec>& FrameworkSchema();

// Checks that need several fields of one spec (required fields present, kv_heads divides heads,
// tiers nested). Cross-spec checks (plan against model and cluster) live in the plan module.
Status ValidateModel(const ModelSpec& model);
Status ValidateGpu(const GpuSpec& gpu);
Status ValidateCluster(const ClusterSpec& cluster);
Status ValidateWorkload(const WorkloadSpec& workload);
// What a model and its workload need of each other: a learned position table holds a row per
// position of a sequence (seq_len <= max_position_embeddings); LoRA needs a dense model and a
// rank of at most the model's width.
Status ValidateSequence(const ModelSpec& model, const WorkloadSpec& workload);
Status ValidateFramework(const FrameworkSpec& framework);

// The tensor-core clock a power cap leaves, as a fraction of the uncapped one:
// min(1, power_limit_w / tdp_w)^(1/3). Dynamic power goes as f V^2 and the voltage follows the
// clock near the top of the DVFS curve, so power goes as f^3 (assumption; memory-bound kernels
// keep their speed). 1 when either is unknown.
double PowerClockFraction(const GpuSpec& gpu);
// The lowest power cap accepted, as a fraction of the TDP (nvidia-smi allows about 0.29 of an
// H100's 700 W and 0.25 of an A100's 400 W; assumption: no lower).
inline constexpr double kMinPowerLimitFraction = 0.25;

}  // namespace scaleplan::spec
