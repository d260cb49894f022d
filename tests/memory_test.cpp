#include "plan/memory.h"

#include <gtest/gtest.h>

#include "sim/analytical.h"
#include "spec/presets.h"
#include "spec/readers.h"
#include "test_util.h"

namespace scaleplan::plan {
namespace {

using scaleplan::testing::Fixture;
using scaleplan::testing::Must;
using spec::ZeroMode;

// Bytes per parameter over N = 8 shard ranks (BF16 weights 2, FP32 gradients 4, Adam 12):
//   ZeRO-0: 2 + 4 + 12 = 18;  ZeRO-1: 2 + 4 + 12/8 = 7.5;  ZeRO-2: 2 + 16/8 = 4;
//   ZeRO-3: 18/8 = 2.25;  FSDP (Llama 3: params kept after forward): 2 + 16/8 = 4.
TEST(ParamBytes, ZeroStagesAndFsdp) {
  auto bf16 = spec::Precision::kBf16;
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero0, 8, bf16).Total(), 18.0);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero1, 8, bf16).Total(), 7.5);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero2, 8, bf16).Total(), 4.0);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero3, 8, bf16).Total(), 2.25);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kFsdp, 8, bf16).Total(), 4.0);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kFsdp, 8, bf16).weights, 2.0);
  // FP8 keeps a 1-byte cast copy of each weight, NVFP4 a 0.5625-byte one (0.5 + a scale byte per
  // 16); under ZeRO 3 of the shard: (2 + 0.5625) / 8 = 0.3203125.
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero1, 8, spec::Precision::kFp8).weights, 3.0);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero1, 8, spec::Precision::kFp4).weights, 2.5625);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero3, 8, spec::Precision::kFp4).weights, 0.3203125);
  // With one rank nothing is sharded.
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero3, 1, bf16).Total(), 18.0);
  // plan.fp8_params: the cast is the only copy: 1 byte (FP8), 0.5625 (NVFP4); 1 / 8 under ZeRO 3.
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero1, 8, spec::Precision::kFp8, true).weights, 1.0);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero1, 8, spec::Precision::kFp4, true).weights, 0.5625);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero3, 8, spec::Precision::kFp8, true).weights, 0.125);
  EXPECT_DOUBLE_EQ(ParamBytes(ZeroMode::kZero1, 8, spec::Precision::kFp8, true).optimizer, 1.5);
}

// FP8 weights held alone (plan.fp8_params) on Llama 3 8B, one node, ZeRO 1: the weights drop
// from 3 bytes a parameter (BF16 and the FP8 cast) to 1, 2 x 8,030,261,248 = 16,060,522,496
// bytes less at the peak; gradients, optimizer and activations do not move. The data-parallel
// all-gather of the updated weights moves 1 byte a parameter, not 2 (sim_test's DP tests give
// the bytes; here the step only gets no slower). BF16 has no cast to hold: refused.
TEST(Memory, Fp8ParamsHoldTheCastAlone) {
  spec::JobSpec job;
  job.model = Must(spec::LoadModel("llama3-8b"));
  job.cluster = Must(spec::LoadCluster("dgx-h100-ib"));
  job.gpus = 8;
  job.plan.zero = ZeroMode::kZero1;
  job.plan.precision = spec::Precision::kFp8;
  job.workload.seq_len = 8192;
  job.workload.global_batch = 64;
  const Plan both = Must(BuildPlan(job));
  job.plan.fp8_params = true;
  const Plan alone = Must(BuildPlan(job));
  const MemoryReport a = ComputeMemory(both), b = ComputeMemory(alone);
  EXPECT_DOUBLE_EQ(a.stages[0].weights_bytes - b.stages[0].weights_bytes, 2.0 * 8030261248.0);
  EXPECT_DOUBLE_EQ(a.stages[0].gradients_bytes, b.stages[0].gradients_bytes);
  EXPECT_DOUBLE_EQ(a.stages[0].optimizer_bytes, b.stages[0].optimizer_bytes);
  EXPECT_DOUBLE_EQ(a.stages[0].activations_bytes, b.stages[0].activations_bytes);
  EXPECT_LE(Must(sim::Evaluate(alone)).step_time_s, Must(sim::Evaluate(both)).step_time_s);
  job.plan.precision = spec::Precision::kBf16;
  Result<Plan> bf16 = BuildPlan(job);
  ASSERT_FALSE(bf16.ok());
  EXPECT_EQ(bf16.status().key(), "plan.fp8_params");
}

// Mixtral 8x7B on 64 H100s: TP 2, EP 8, 256 sequences of 4,096 tokens.
spec::JobSpec MixtralOn64() {
  spec::JobSpec job;
  job.model = Must(spec::LoadModel("mixtral-8x7b"));
  job.cluster = Must(spec::LoadCluster("dgx-h100-ib"));
  job.gpus = 64;
  job.plan.tp = 2;
  job.plan.ep = 8;
  job.workload.seq_len = 4096;
  job.workload.global_batch = 256;
  return job;
}

// Llama 3 8B on 8 GPUs, TP 1, PP 1, DP 8, ZeRO-1, 64 sequences of 8192 -> 8 micro-batches of 1.
//   weights etc: 8,030,261,248 params * 7.5 = 60,226,959,360 bytes
//   activations: 1F1B with one stage holds 1 micro-batch: 32 layers * 139,400 * 8192
//     = 36,542,873,600 bytes (per-token figure derived in model_test)
//   head: final norm 2*8192*4096 + 4*8192 = 67,141,632; LM head input 67,108,864;
//     FP32 softmax 4 * 8192 * 128256 = 4,202,692,608  -> 4,336,943,104
//   total 101,106,776,064 bytes > 0.95 * 84,943,715,697: out of memory.
TEST(Memory, Llama8BOnOneNodeByHand) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  Plan plan = Must(BuildPlan(job));
  MemoryReport mem = ComputeMemory(plan);
  ASSERT_EQ(mem.stages.size(), 1u);
  const StageMemory& s = mem.stages[0];
  EXPECT_EQ(s.params_per_gpu, 8030261248.0);
  EXPECT_DOUBLE_EQ(s.weights_bytes + s.gradients_bytes + s.optimizer_bytes, 60226959360.0);
  EXPECT_EQ(s.chunks_in_flight, 1);
  EXPECT_DOUBLE_EQ(s.activations_bytes, 36542873600.0 + 4336943104.0);
  EXPECT_DOUBLE_EQ(mem.peak_bytes, 101106776064.0);
  EXPECT_FALSE(mem.fits);
  EXPECT_FALSE(mem.within_capacity);
  EXPECT_EQ(Verdict(mem), MemoryVerdict::kOutOfMemory);
}

// The same job as LoRA of rank 32 (workload.lora_rank): every base weight frozen, adapters of
// r (k + n) parameters beside each linear of a layer (Llama 3 8B, TP 1):
//   QKV 32 (4096 + 6144) = 327,680;  attention output 32 (4096 + 4096) = 262,144;
//   fc1 32 (4096 + 28672) = 1,048,576;  fc2 32 (14336 + 4096) = 589,824;
//   2,228,224 a layer, 71,303,168 over 32 layers: the only trained parameters.
//   weights (BF16, all) 2 x (8,030,261,248 + 71,303,168) = 16,203,128,832
//   gradients (FP32, trained only) 4 x 71,303,168 = 285,212,672
//   Adam (ZeRO 1 over 8) 12 / 8 x 71,303,168 = 106,954,752
//   activations: each adapter keeps its 8192 x 32 BF16 intermediate, 4 x 524,288 = 2,097,152
//   more a layer: 36,542,873,600 + 32 x 2,097,152 = 36,609,982,464, plus the head's
//   4,336,943,104 -> peak 57,542,221,824 bytes, which fits (full training did not).
TEST(Memory, LoraTrainsOnlyTheAdapters) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.workload.lora_rank = 32;
  Plan plan = Must(BuildPlan(job));
  const LayerParamSums sums = ParamSums(plan);
  EXPECT_DOUBLE_EQ(sums.dense_layer_trainable, 2228224.0);
  EXPECT_EQ(sums.embedding_trainable, 0.0);
  EXPECT_EQ(sums.head_trainable, 0.0);
  MemoryReport mem = ComputeMemory(plan);
  ASSERT_EQ(mem.stages.size(), 1u);
  const StageMemory& s = mem.stages[0];
  EXPECT_DOUBLE_EQ(s.params_per_gpu, 8030261248.0 + 71303168.0);
  EXPECT_DOUBLE_EQ(s.weights_bytes, 16203128832.0);
  EXPECT_DOUBLE_EQ(s.gradients_bytes, 285212672.0);
  EXPECT_DOUBLE_EQ(s.optimizer_bytes, 106954752.0);
  EXPECT_DOUBLE_EQ(s.activations_bytes, 36609982464.0 + 4336943104.0);
  EXPECT_DOUBLE_EQ(mem.peak_bytes, 57542221824.0);
  EXPECT_TRUE(mem.fits);
  // A tied output layer (its weights counted with the embedding) is frozen too: GPT-3 175B.
  job.model = Must(spec::LoadModel("gpt3-175b"));
  job.workload.seq_len = 2048;  // its learned position table's length
  ASSERT_TRUE(job.model.tied_embeddings);
  for (const model::Op& op : model::HeadOps(job.model, Must(BuildPlan(job)).Shape())) {
    if (op.kind == model::OpKind::kGemm) EXPECT_TRUE(op.frozen) << op.name;
  }
}

// The verdict on the same 101,106,776,064-byte peak (above) as the GPU grows, usable 0.95 of it:
//   capacity 101,106,776,063: one byte short of the peak: out of memory;
//   capacity 101,106,776,064: the peak exactly, above usable (96,051,437,261): tight;
//   capacity 106,428,185,400: usable 101,106,776,130 >= the peak: fits.
TEST(Memory, VerdictAgainstUsableAndCapacity) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  ASSERT_DOUBLE_EQ(job.cluster.gpu.usable_memory_fraction, 0.95);
  auto verdict = [&](double capacity) {
    job.cluster.gpu.memory_bytes = capacity;
    return Verdict(ComputeMemory(Must(BuildPlan(job))));
  };
  EXPECT_EQ(verdict(101106776063.0), MemoryVerdict::kOutOfMemory);
  EXPECT_EQ(verdict(101106776064.0), MemoryVerdict::kTight);
  EXPECT_EQ(verdict(106428185400.0), MemoryVerdict::kFits);
  EXPECT_EQ(VerdictName(MemoryVerdict::kTight), "tight");
  EXPECT_EQ(VerdictName(MemoryVerdict::kOutOfMemory), "out_of_memory");
}

// The same job with full recomputation keeps 2h = 8,192 bytes per token per layer
// (32 * 8192 * 8192 = 2,147,483,648) plus, while one layer is recomputed, its full 139,400 * 8192
// = 1,141,964,800 bytes (transient). ZeRO-3 then brings weights etc to 18/8 bytes per parameter
// plus two unsharded layers of BF16 weights in flight: 2 * 218,112,000 * 2 = 872,448,000.
TEST(Memory, FullRecomputeAndZero3) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.plan.recompute = spec::Recompute::kFull;
  job.plan.zero = ZeroMode::kZero3;
  MemoryReport mem = ComputeMemory(Must(BuildPlan(job)));
  const StageMemory& s = mem.stages[0];
  EXPECT_DOUBLE_EQ(s.activations_bytes, 2147483648.0 + 4336943104.0);
  EXPECT_DOUBLE_EQ(s.transient_bytes, 1141964800.0 + 872448000.0);
  EXPECT_DOUBLE_EQ(s.weights_bytes + s.gradients_bytes + s.optimizer_bytes, 8030261248.0 * 2.25);
  // 18,068,087,808 + 6,484,426,752 + 2,014,412,800 = 26,566,927,360 bytes: fits.
  EXPECT_DOUBLE_EQ(mem.peak_bytes, 26566927360.0);
  EXPECT_TRUE(mem.fits);
}

// Recomputing only the first 10 of the 32 layers (recompute_layers 10): those keep their input,
// 10 * 8192 * 8192 = 671,088,640 bytes; the other 22 keep everything, 22 * 1,141,964,800 =
// 25,123,225,600; the head's 4,336,943,104 as without recomputation: 30,131,257,344. One layer's
// 1,141,964,800 bytes are transient while it is recomputed (ZeRO 1: no prefetch).
TEST(Memory, RecomputeLayersKeepTheOthersWhole) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.plan.recompute = spec::Recompute::kFull;
  job.plan.recompute_layers = 10;
  MemoryReport mem = ComputeMemory(Must(BuildPlan(job)));
  const StageMemory& s = mem.stages[0];
  EXPECT_DOUBLE_EQ(s.activations_bytes, 671088640.0 + 25123225600.0 + 4336943104.0);
  EXPECT_DOUBLE_EQ(s.transient_bytes, 1141964800.0);
  // 32 or more is every layer: what recompute_layers 0 keeps.
  job.plan.recompute_layers = 32;
  double all = ComputeMemory(Must(BuildPlan(job))).stages[0].activations_bytes;
  job.plan.recompute_layers = 0;
  EXPECT_DOUBLE_EQ(ComputeMemory(Must(BuildPlan(job))).stages[0].activations_bytes, all);
  EXPECT_DOUBLE_EQ(all, 2147483648.0 + 4336943104.0);
}

// Megatron-Core's recompute modules on the same job (TP 1, 8,192 tokens, BF16): mlp drops, per
// layer, SwiGLU's input 4f and fc2's input 2f, 6 x 14336 x 8192 = 704,643,072 bytes, 32 layers
// 22,548,578,304, and holds one layer's 704,643,072 again while that layer's backward runs.
// layernorm drops nothing here: Transformer Engine fuses both norms of a dense layer into the next
// linear (model.h).
TEST(Memory, RecomputeModulesDropTheirTensors) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  const StageMemory none = ComputeMemory(Must(BuildPlan(job))).stages[0];
  job.plan.recompute = spec::Recompute::kSelective;
  job.plan.recompute_modules = spec::kRecomputeLayernorm | spec::kRecomputeMlp;
  const StageMemory modules = ComputeMemory(Must(BuildPlan(job))).stages[0];
  EXPECT_DOUBLE_EQ(none.activations_bytes - modules.activations_bytes, 22548578304.0);
  EXPECT_DOUBLE_EQ(modules.transient_bytes - none.transient_bytes, 704643072.0);
  job.plan.recompute_modules = spec::kRecomputeLayernorm;
  EXPECT_DOUBLE_EQ(ComputeMemory(Must(BuildPlan(job))).stages[0].activations_bytes,
                   none.activations_bytes);
}

// MoE modules on Mixtral 8x7B over 64 GPUs (TP 2 with SP, EP 8, expert TP 2, 4,096 tokens): a rank
// holds 2,048 tokens of the sequence. layernorm re-runs the norm before the router, which keeps
// it: 2 x 2048 x 4096 = 16,777,216 bytes a layer, 536,870,912 over 32 layers. moe_act re-runs the
// experts' SwiGLU and drops fc2's input: 2,048 tokens x top-2 x expert TP 2 = 8,192 rows of
// 14336 / 2 = 7,168, 2 x 8192 x 7168 = 117,440,512 bytes a layer, 3,758,096,384 in all, one
// layer's held again during its backward.
TEST(Memory, MoeRecomputeModules) {
  spec::JobSpec job = MixtralOn64();
  const StageMemory none = ComputeMemory(Must(BuildPlan(job))).stages[0];
  job.plan.recompute = spec::Recompute::kSelective;
  job.plan.recompute_modules = spec::kRecomputeLayernorm;
  EXPECT_DOUBLE_EQ(
      none.activations_bytes - ComputeMemory(Must(BuildPlan(job))).stages[0].activations_bytes,
      536870912.0);
  job.plan.recompute_modules = spec::kRecomputeMoeAct;
  const StageMemory act = ComputeMemory(Must(BuildPlan(job))).stages[0];
  EXPECT_DOUBLE_EQ(none.activations_bytes - act.activations_bytes, 3758096384.0);
  EXPECT_DOUBLE_EQ(act.transient_bytes - none.transient_bytes, 117440512.0);
}

TEST(Memory, SelectiveFreesOnlyAttentionStatistics) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  double none = ComputeMemory(Must(BuildPlan(job))).stages[0].activations_bytes;
  job.plan.recompute = spec::Recompute::kSelective;
  double selective = ComputeMemory(Must(BuildPlan(job))).stages[0].activations_bytes;
  // 32 layers * 8192 tokens * 4 bytes * 32 heads of log-sum-exp = 33,554,432 bytes.
  EXPECT_DOUBLE_EQ(none - selective, 33554432.0);
}

// The plan asks for FP8 inputs only where both the precision and the framework say so: a
// Megatron-Core FP8 plan keeps 120,968 bytes per token of a Llama 3 8B layer (Ops test), the same
// plan in BF16 139,400; on torchtitan (torchao keeps BF16 inputs) 139,400 too, plus what PyTorch
// model code keeps (ShardShape): K and V repeated to the 32 query heads, 2 (4096 - 1024) x 2 =
// 12,288, eager or compiled, and in eager SwiGLU silu's output, 2 x 14336 = 28,672: 180,360
// eager, 151,688 compiled (the tensors one H200 kept, h200_layer_audit.csv, with the layer's
// input: 172,168 + 8,192 and 143,496 + 8,192). In NVFP4 (on a B200) each
// cast element keeps 0.5625 bytes: the QKV and fc1 inputs (h each) and fc2's (f) drop from 2 bytes,
// the output projection adds its q: 139,400 + (0.5625 - 2)(4096 + 4096 + 14336) + 0.5625 x 4096
// = 139,400 - 32,384 + 2,304 = 109,320.
TEST(Memory, Fp8SavedInputsFollowTheFramework) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.framework = Must(spec::LoadFramework("megatron-core"));
  EXPECT_DOUBLE_EQ(ParamSums(Must(BuildPlan(job))).dense_saved_bytes, 139400.0 * 8192);
  job.plan.precision = spec::Precision::kFp8;
  EXPECT_DOUBLE_EQ(ParamSums(Must(BuildPlan(job))).dense_saved_bytes, 120968.0 * 8192);
  spec::JobSpec fp4 = job;
  fp4.cluster.gpu = Must(spec::LoadGpu("b200"));
  fp4.plan.precision = spec::Precision::kFp4;
  EXPECT_DOUBLE_EQ(ParamSums(Must(BuildPlan(fp4))).dense_saved_bytes, 109320.0 * 8192);
  job.framework = Must(spec::LoadFramework("torchtitan"));
  EXPECT_DOUBLE_EQ(ParamSums(Must(BuildPlan(job))).dense_saved_bytes, 180360.0 * 8192);
  job.framework.compile = true;  // Inductor recomputes silu's output, keeps the repeated K, V
  EXPECT_DOUBLE_EQ(ParamSums(Must(BuildPlan(job))).dense_saved_bytes, 151688.0 * 8192);
}

// A torchtitan step on one H200 as data/calibration/h200-kernels/h200_step_memory.csv measured
// it: Llama 3 8B cut to 8 layers, one sequence of 8,192 tokens, FSDP2 on one rank, no
// recomputation, eager. 2,795,573,248 parameters (8 x 218,112,000 in the layers, 525,336,576 in
// the embedding, 525,340,672 in the final norm and output layer).
//   weights: none held (framework.fp32_param_shards: the FP32 shards are the parameters);
//   optimizer: 12 bytes a parameter (FP32 weights, two moments) = 33,546,878,976 (measured before
//     a step: 33,581 MB in the two-micro-batch run, with the rotary tables' 34 MB; 33,648 in the
//     one-micro-batch run);
//   gradients: 4 bytes a parameter = 11,182,292,992;
//   activations: 8 x 180,360 x 8192 = 11,820,072,960, the final norm's and output layer's inputs
//     (8196 + 8192) x 8192 = 134,250,496, the FP32 log-probabilities 4 x 8192 x 128256 =
//     4,202,692,608: 16,157,016,064;
//   transient: two gathered layers 2 x 2 x 218,112,000 = 872,448,000, the gathered root (embedding
//     and head) 2 x 1,050,677,248 = 2,101,354,496, the eager loss's backward 8 x 8192 x 128256 =
//     8,405,385,216: 11,379,187,712.
// With one micro-batch a step (framework.gradients_per_step) the peak is the larger of the
// backward's start, 16,157,016,064 + 11,379,187,712 = 27,536,203,776, and its end, 11,182,292,992
// + 180,360 x 8192 = 12,659,802,112: 33,546,878,976 + 27,536,203,776 = 61,083,082,752 (measured
// 60,748 MB allocated at the peak: +0.55%). With two, the first one's gradients are held beside the
// second one's activations: + 11,182,292,992 = 72,265,375,744 (measured 71,863 MB: +0.56%).
TEST(Memory, PytorchFsdpStepMatchesTheMeasuredOne) {
  spec::JobSpec job;
  job.model = Must(spec::ParseModelYaml("base: llama3-8b\nlayers: 8\n", "m.yaml"));
  job.cluster = Must(spec::LoadCluster("h200-node"));
  job.framework = Must(spec::LoadFramework("torchtitan"));
  ASSERT_TRUE(job.framework.fp32_param_shards);
  ASSERT_TRUE(job.framework.gradients_per_step);
  job.gpus = 1;
  job.plan = job.framework.plan;
  job.plan.tp = job.plan.cp = job.plan.pp = job.plan.vp = 1;
  job.plan.schedule = spec::Schedule::k1F1B;
  job.plan.zero = spec::ZeroMode::kZero3;
  job.plan.micro_batch = 1;
  job.plan.recompute = spec::Recompute::kNone;
  job.plan.trim_edge_stages = false;
  job.workload.seq_len = 8192;
  job.workload.global_batch = 1;
  MemoryReport one = ComputeMemory(Must(BuildPlan(job)));
  const StageMemory& s = one.stages[0];
  EXPECT_DOUBLE_EQ(s.weights_bytes, 0.0);
  EXPECT_DOUBLE_EQ(s.optimizer_bytes, 33546878976.0);
  EXPECT_DOUBLE_EQ(s.activations_bytes, 16157016064.0);
  EXPECT_DOUBLE_EQ(s.transient_bytes, 11379187712.0);
  EXPECT_DOUBLE_EQ(s.gradients_bytes, 0.0);
  EXPECT_DOUBLE_EQ(one.peak_bytes, 61083082752.0);
  EXPECT_NEAR(one.peak_bytes / 60.748e9, 1.0, 0.02);
  job.workload.global_batch = 2;
  MemoryReport two = ComputeMemory(Must(BuildPlan(job)));
  EXPECT_DOUBLE_EQ(two.stages[0].gradients_bytes, 11182292992.0);
  EXPECT_DOUBLE_EQ(two.peak_bytes, 72265375744.0);
  EXPECT_NEAR(two.peak_bytes / 71.863e9, 1.0, 0.02);
  // At 512 tokens the backward's end is the peak: every gradient, 11,182,292,992, one layer's
  // activations, 180,360 x 512 = 92,344,320, and the gathered weights (two layers and the root),
  // 872,448,000 + 2,101,354,496 = 2,973,802,496: 14,248,439,808, against the start's activations
  // and transient buffers (about 4.5 GB). Peak: 33,546,878,976 + 14,248,439,808 = 47,795,318,784.
  spec::JobSpec short_job = job;
  short_job.workload.seq_len = 512;
  short_job.workload.global_batch = 1;
  MemoryReport late = ComputeMemory(Must(BuildPlan(short_job)));
  const StageMemory& l = late.stages[0];
  EXPECT_LT(l.activations_bytes + l.transient_bytes, 14248439808.0);
  EXPECT_DOUBLE_EQ(l.gradients_bytes + l.activations_bytes + l.transient_bytes, 14248439808.0);
  EXPECT_DOUBLE_EQ(late.peak_bytes, 47795318784.0);
  // LoRA freezes the base: its FP32 shards have no optimizer state and are counted as weights,
  // 4 bytes a frozen parameter.
  spec::JobSpec lora = job;
  lora.workload.global_batch = 1;
  lora.workload.lora_rank = 16;
  Plan lora_plan = Must(BuildPlan(lora));
  const LayerParamSums lora_sums = ParamSums(lora_plan);
  const StageParams lora_params = ParamsOnStage(lora_plan.stages[0], lora_sums);
  EXPECT_GT(lora_params.dense, lora_params.dense_trainable);
  EXPECT_DOUBLE_EQ(ComputeMemory(lora_plan).stages[0].weights_bytes,
                   4.0 * (lora_params.dense - lora_params.dense_trainable));
  // Megatron's and DeepSpeed's ZeRO 3 hold a BF16 shard beside the FP32 master copy, and their
  // gradient buffer for the whole step: 2 bytes a parameter more, and the gradients counted.
  job.framework.fp32_param_shards = false;
  job.framework.gradients_per_step = false;
  job.workload.global_batch = 1;
  MemoryReport held = ComputeMemory(Must(BuildPlan(job)));
  EXPECT_DOUBLE_EQ(held.stages[0].weights_bytes, 2.0 * 2795573248.0);
  EXPECT_DOUBLE_EQ(held.stages[0].gradients_bytes, 11182292992.0);
}

// Per-op selective checkpointing (torchtitan's policy; model.h) keeps, per token of a Llama 3 8B
// layer on one GPU (h = q = 4096, kv = 1024, f = 14336, 32 heads): input 2h = 8192, Q and V
// 2(q + kv) = 10240, attention output 2q = 8192 and log-sum-exp 4 * 32 = 128, w1's output
// 2f = 28672, w2's output 2h = 8192: 63,616 bytes, against 139,400 without recomputation
// (model.h's list: 2h + 2h + 2(q + 2kv) + 2q + 4 * heads + 2h + 2h + 4f + 2f = 139,392, plus the
// two RMSNorms' FP32 statistics, 8), 180,360 with what eager PyTorch code keeps (above).
// PyTorch eager cross-entropy adds 8 bytes per logit while the loss runs (its backward's FP32
// gradients of the log-probabilities and of the logits), compiled 2 (the BF16 logits) where the
// framework compiles the loss (compile_loss): 6 bytes x 8192 tokens x 128256 logits apart; with
// the blocks compiled and the loss not, nothing.
TEST(Memory, PerOpCheckpointingAndEagerLoss) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.framework = Must(spec::LoadFramework("torchtitan"));
  job.plan.recompute = spec::Recompute::kSelective;
  Plan plan = Must(BuildPlan(job));
  LayerParamSums sums = ParamSums(plan);
  EXPECT_DOUBLE_EQ(sums.dense_per_op_saved_bytes, 63616.0 * 8192);
  EXPECT_DOUBLE_EQ(sums.dense_saved_bytes, 180360.0 * 8192);
  MemoryReport eager = ComputeMemory(plan);
  job.plan.recompute = spec::Recompute::kNone;
  MemoryReport none = ComputeMemory(Must(BuildPlan(job)));
  EXPECT_DOUBLE_EQ(none.stages[0].activations_bytes - eager.stages[0].activations_bytes,
                   32.0 * (180360.0 - 63616.0) * 8192);
  job.plan.recompute = spec::Recompute::kSelective;
  job.framework.compile = true;
  EXPECT_DOUBLE_EQ(ComputeMemory(Must(BuildPlan(job))).stages[0].transient_bytes,
                   eager.stages[0].transient_bytes);
  job.framework.compile_loss = true;
  MemoryReport compiled = ComputeMemory(Must(BuildPlan(job)));
  EXPECT_DOUBLE_EQ(eager.stages[0].transient_bytes - compiled.stages[0].transient_bytes,
                   6.0 * 8192 * 128256);
}

// 1F1B holds min(pp - s, M) micro-batches on stage s; GPipe all M.
TEST(InFlight, OneFOneBAndGpipe) {
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  job.plan.schedule = spec::Schedule::k1F1B;
  job.plan.vp = 1;
  job.plan.trim_edge_stages = false;
  job.model.layers = 128;
  job.plan.micro_batch = 2;  // M = 2048 / (128 * 2) = 8 < pp = 16
  Plan plan = Must(BuildPlan(job));
  EXPECT_EQ(ForwardsInFlight(plan, 0), 8);   // min(16, 8)
  EXPECT_EQ(ForwardsInFlight(plan, 10), 6);  // min(6, 8)
  EXPECT_EQ(ForwardsInFlight(plan, 15), 1);
  EXPECT_EQ(ForwardsInFlightOnChunk(plan, 15, 0), 1);  // one chunk: all on chunk 0
  job.plan.schedule = spec::Schedule::kGpipe;
  plan = Must(BuildPlan(job));
  EXPECT_EQ(ForwardsInFlight(plan, 15), 8);
}

// Interleaved, pp = 4, vp = 2, M = 8 (N = pp = 4). Stage 0: warmup 2*(4-0-1) + (2-1)*4 = 10,
// plus the first steady-state forward = 11 of the 16 (micro-batch, chunk) forwards. In forward
// order, k = 0..3 run chunk 0, 4..7 chunk 1, 8..10 chunk 0: 7 on chunk 0 and 4 on chunk 1.
// Stage 3: 2*0 + 4 + 1 = 5.
TEST(InFlight, InterleavedFollowsMegatronWarmup) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.plan.tp = 1;
  job.plan.pp = 4;
  job.plan.vp = 2;
  job.plan.schedule = spec::Schedule::kInterleaved;
  job.workload.global_batch = 16;  // dp 2 -> 8 micro-batches
  Plan plan = Must(BuildPlan(job));
  ASSERT_EQ(plan.microbatches, 8);
  ASSERT_EQ(ForwardsInFlight(plan, 0), 11);
  EXPECT_EQ(ForwardsInFlightOnChunk(plan, 0, 0), 7);
  EXPECT_EQ(ForwardsInFlightOnChunk(plan, 0, 1), 4);
  // Stage 3: k = 0..3 on chunk 0, k = 4 on chunk 1.
  EXPECT_EQ(ForwardsInFlight(plan, 3), 5);
  EXPECT_EQ(ForwardsInFlightOnChunk(plan, 3, 0), 4);
  EXPECT_EQ(ForwardsInFlightOnChunk(plan, 3, 1), 1);
}

// The closed form against the forward order listed one by one: forward k of a stage's warm-up runs
// chunk (k / N) mod vp, for every valid interleaved shape of a small job.
TEST(InFlight, ClosedFormMatchesTheForwardOrder) {
  int checked = 0;
  for (int64_t pp : {2, 4}) {
    for (int64_t vp : {2, 4}) {
      for (int64_t batch : {8, 16, 48}) {
        for (int64_t group : {0, 2, 4}) {
          spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
          job.plan.tp = 1;
          job.plan.pp = pp;
          job.plan.vp = vp;
          job.plan.schedule = spec::Schedule::kLlama3;
          job.plan.pp_microbatch_group = group;
          job.workload.global_batch = batch;
          Result<Plan> plan = BuildPlan(job);
          if (!plan.ok()) continue;
          for (int64_t stage = 0; stage < pp; ++stage) {
            const int64_t count = ForwardsInFlight(*plan, stage);
            std::vector<int64_t> listed(static_cast<size_t>(vp), 0);
            for (int64_t k = 0; k < count; ++k)
              ++listed[static_cast<size_t>((k / plan->pp_group) % vp)];
            for (int64_t c = 0; c < vp; ++c) {
              EXPECT_EQ(ForwardsInFlightOnChunk(*plan, stage, c), listed[static_cast<size_t>(c)])
                  << "pp " << pp << " vp " << vp << " batch " << batch << " N " << plan->pp_group
                  << " stage " << stage << " chunk " << c;
            }
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 20);
}

// Narayanan et al. 2021: interleaving multiplies stage-0 activation memory by 1 + (p-1)/(p v)
// when M is large. p = 4, v = 2, M = 64 (dp 2, 128 sequences): 1F1B holds 4 micro-batches of
// 8 layers = 32 layer-activations; interleaved 11 chunks of 4 layers = 44 = 32 * (1 + 3/8).
TEST(InFlight, InterleavedMatchesNarayananFactor) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.plan.pp = 4;
  job.workload.global_batch = 128;
  job.plan.schedule = spec::Schedule::k1F1B;
  double one_f_one_b = ComputeMemory(Must(BuildPlan(job))).stages[0].activations_bytes;
  job.plan.vp = 2;
  job.plan.schedule = spec::Schedule::kInterleaved;
  double interleaved = ComputeMemory(Must(BuildPlan(job))).stages[0].activations_bytes;
  EXPECT_NEAR(interleaved / one_f_one_b, 1.0 + 3.0 / 8.0, 1e-12);
}

// Every configuration in the calibration tables ran, so the model must say it fits. SC21 Table 1
// (A100 80GB, full recomputation, no sequence parallelism yet in 2021; micro-batch 1 and 1F1B
// assumed): the 1T model on 3072 GPUs with TP 8, PP 64, DP 6, global batch 3072.
TEST(Calibration, Sc21TrillionModelFits) {
  spec::JobSpec job;
  job.model = Must(spec::LoadModel("sc21-gpt-1t"));
  job.cluster = Must(spec::LoadCluster("selene"));
  job.gpus = 3072;
  job.plan.tp = 8;
  job.plan.pp = 64;
  job.plan.recompute = spec::Recompute::kFull;
  job.plan.zero = ZeroMode::kZero0;
  job.plan.sequence_parallel = false;
  job.workload.seq_len = 2048;
  job.workload.global_batch = 3072;
  MemoryReport mem = ComputeMemory(Must(BuildPlan(job)));
  EXPECT_TRUE(mem.fits) << mem.peak_bytes;
  // Without recomputation the same plan cannot hold 64 micro-batches of 2 layers on stage 0.
  job.plan.recompute = spec::Recompute::kNone;
  EXPECT_FALSE(ComputeMemory(Must(BuildPlan(job))).fits);
}

TEST(Memory, ExpertsShardOverEp) {
  // Mixtral on 64 GPUs: TP 2 (etp = tp), DP 32, EP 8. Routed expert parameters per GPU per layer
  // = 8 experts * 176,160,768 / (8 * 2) = 88,080,384; the other layer weights are split by TP.
  spec::JobSpec job = MixtralOn64();
  Plan plan = Must(BuildPlan(job));
  MemoryReport mem = ComputeMemory(plan);
  // Per layer on a GPU: attention 41,943,040 / 2 + norms 8,192 + router 32,768 + experts
  // 88,080,384 = 109,092,864; 32 layers 3,490,971,648; embedding and output layer
  // 2 * 32000 * 4096 / 2 = 131,072,000; final norm 4,096 -> 3,622,047,744.
  EXPECT_EQ(mem.stages[0].params_per_gpu, 3622047744.0);
  job.plan.ep = 1;
  EXPECT_GT(ComputeMemory(Must(BuildPlan(job))).stages[0].params_per_gpu, 3622047744.0 * 5);
}

TEST(Memory, MoreUsableMemoryFlipsVerdict) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.cluster.gpu = Must(spec::LoadGpu("b200"));
  // 101,106,776,064 bytes against 0.95 * 178 GiB = 181,569,742,438: fits on a B200.
  EXPECT_TRUE(ComputeMemory(Must(BuildPlan(job))).fits);
}

}  // namespace
}  // namespace scaleplan::plan
