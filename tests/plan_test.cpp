#include "plan/plan.h"

#include <gtest/gtest.h>

#include <functional>

#include "spec/readers.h"
#include "test_util.h"

namespace scaleplan::plan {
namespace {

using scaleplan::testing::Fixture;
using scaleplan::testing::Must;

spec::JobSpec DefaultJob() { return Must(spec::LoadJob("llama3-405b-16k")); }

// DeepSeek-V3 on 1,024 GPUs over 16 stages, EP 8, its 61 layers split unevenly.
spec::JobSpec DeepSeekOver16Stages() {
  spec::JobSpec job = DefaultJob();
  job.model = Must(spec::LoadModel("deepseek-v3"));
  job.gpus = 1024;
  job.plan = spec::PlanSpec{};
  job.plan.pp = 16;
  job.plan.ep = 8;
  job.plan.uneven_layers = true;
  return job;
}

std::string Error(const spec::JobSpec& job) {
  Result<Plan> p = BuildPlan(job);
  EXPECT_FALSE(p.ok());
  return p.ok() ? std::string() : p.status().message();
}

TEST(BuildPlan, DefaultJobResolves) {
  Plan p = Must(BuildPlan(DefaultJob()));
  EXPECT_EQ(p.gpus, 16384);
  EXPECT_EQ(p.dp, 128);             // 16384 / (8 * 1 * 16)
  EXPECT_EQ(p.global_batch, 2048);  // 16Mi tokens / 8192
  EXPECT_EQ(p.microbatches, 16);    // 2048 / (128 * 1)
  EXPECT_EQ(p.pp_group, 16);        // llama3 schedule, N defaults to pp
  EXPECT_EQ(p.TokensPerStep(), 16777216);
}

// 126 layers + 2 trimmed slots = 128 = 16 stages * 8 chunks of one layer. Virtual chunk 0 (stage 0,
// chunk 0) holds only the embedding; virtual chunk 127 (stage 15, chunk 7) only the output layer.
TEST(BuildPlan, Llama3TrimmedLayout) {
  Plan p = Must(BuildPlan(DefaultJob()));
  ASSERT_EQ(p.stages.size(), 16u);
  EXPECT_EQ(p.stages[0].chunks[0].layers, 0);
  EXPECT_TRUE(p.stages[0].chunks[0].has_embedding);
  EXPECT_EQ(p.stages[0].Layers(), 7);
  EXPECT_EQ(p.stages[15].chunks[7].layers, 0);
  EXPECT_TRUE(p.stages[15].chunks[7].has_head);
  EXPECT_EQ(p.stages[15].Layers(), 7);
  EXPECT_EQ(p.stages[5].Layers(), 8);
  // Chunk c of stage s is virtual stage c * 16 + s; stage 1's chunk 1 is virtual 17, whose one
  // layer is layer 16 (virtual 0 holds none).
  EXPECT_EQ(p.stages[1].chunks[1].virtual_index, 17);
  EXPECT_EQ(p.stages[1].chunks[1].first_layer, 16);
  int64_t total = 0;
  for (const Stage& s : p.stages) total += s.Layers();
  EXPECT_EQ(total, 126);
}

// In a V (zb-v) chunk 1 runs back up the stages: 126 layers + 2 trimmed slots = 128 = 16 stages x
// 2 chunks of 4 slots. Stage 0 holds virtual stages 0 (the embedding and layers 0-2) and 31 (layers
// 123-125 and the output layer); stage 15 holds 15 and 16, the turn (layers 59-62 and 63-66);
// stage 1's chunk 1 is virtual 30 (layers 119-122).
TEST(BuildPlan, ZeroBubbleVLaysChunksInAV) {
  spec::JobSpec job = DefaultJob();
  job.plan.schedule = spec::Schedule::kZbV;
  job.plan.vp = 2;
  Plan p = Must(BuildPlan(job));
  const Chunk& first = p.stages[0].chunks[0];
  const Chunk& last = p.stages[0].chunks[1];
  EXPECT_EQ(first.virtual_index, 0);
  EXPECT_TRUE(first.has_embedding);
  EXPECT_EQ(first.layers, 3);
  EXPECT_EQ(last.virtual_index, 31);
  EXPECT_TRUE(last.has_head);
  EXPECT_EQ(last.first_layer, 123);
  EXPECT_EQ(last.layers, 3);
  EXPECT_EQ(p.stages[15].chunks[0].virtual_index, 15);
  EXPECT_EQ(p.stages[15].chunks[0].first_layer, 59);
  EXPECT_EQ(p.stages[15].chunks[1].virtual_index, 16);
  EXPECT_EQ(p.stages[15].chunks[1].first_layer, 63);
  EXPECT_EQ(p.stages[1].chunks[1].virtual_index, 30);
  EXPECT_EQ(p.stages[1].chunks[1].first_layer, 119);
  int64_t total = 0;
  for (const Stage& s : p.stages) total += s.Layers();
  EXPECT_EQ(total, 126);
}

// DeepSeek-V3's 61 layers over 16 stages, unevenly: 61 = 16 x 3 + 13, so chunks 1 to 13 hold 4
// layers and chunks 0 (with the embedding), 14 and 15 (with the output layer) hold 3. Over 2 x 16
// chunks, 61 = 32 + 29: chunks 1 to 29 hold 2 (virtual chunk 16 is stage 0's second), the others 1.
TEST(BuildPlan, UnevenLayersGoToTheChunksAfterTheFirst) {
  spec::JobSpec job = DeepSeekOver16Stages();
  Plan p = Must(BuildPlan(job));
  EXPECT_EQ(p.stages[0].Layers(), 3);
  EXPECT_EQ(p.stages[1].Layers(), 4);
  EXPECT_EQ(p.stages[13].Layers(), 4);
  EXPECT_EQ(p.stages[14].Layers(), 3);
  EXPECT_EQ(p.stages[15].Layers(), 3);
  EXPECT_EQ(p.stages[4].chunks[0].first_layer, 3 + 3 * 4);
  job.plan.vp = 2;
  job.plan.schedule = spec::Schedule::kInterleaved;
  p = Must(BuildPlan(job));
  EXPECT_EQ(p.stages[0].chunks[0].layers, 1);
  EXPECT_EQ(p.stages[0].chunks[1].layers, 2);   // virtual 16
  EXPECT_EQ(p.stages[13].chunks[1].layers, 2);  // virtual 29
  EXPECT_EQ(p.stages[14].chunks[1].layers, 1);  // virtual 30
  int64_t total = 0;
  for (const Stage& s : p.stages) total += s.Layers();
  EXPECT_EQ(total, 61);
  job.plan.uneven_layers = false;
  EXPECT_NE(Error(job).find("model.layers = 61 do not split evenly over plan.pp * vp = 16 * 2 = 32 "
                            "chunks"),
            std::string::npos);
}

// Recomputing the first 2 layers of each chunk (recompute_layers 2) on DeepSeek-V3 over 16 stages
// (as above): stage 0 holds layers 0-2, all dense (the first three are), so it recomputes 2 dense
// layers; stage 1 holds layers 3-6, all MoE, and recomputes 2 MoE layers. With 5 a chunk
// recomputes all it holds (3 and 4, as Megatron-LM's block method does); more than the model's 61
// layers is refused; without full recomputation nothing is recomputed.
TEST(BuildPlan, RecomputeLayersAreEachChunksFirst) {
  spec::JobSpec job = DeepSeekOver16Stages();
  job.plan.recompute = spec::Recompute::kFull;
  job.plan.recompute_layers = 2;
  Plan p = Must(BuildPlan(job));
  EXPECT_EQ(p.stages[0].chunks[0].recomputed_layers, 2);
  EXPECT_EQ(p.stages[0].chunks[0].recomputed_moe_layers, 0);
  EXPECT_EQ(p.stages[1].chunks[0].recomputed_layers, 2);
  EXPECT_EQ(p.stages[1].chunks[0].recomputed_moe_layers, 2);
  job.plan.recompute_layers = 5;
  p = Must(BuildPlan(job));
  EXPECT_EQ(p.stages[0].chunks[0].recomputed_layers, 3);
  EXPECT_EQ(p.stages[1].chunks[0].recomputed_layers, 4);
  EXPECT_EQ(p.stages[1].chunks[0].recomputed_moe_layers, 4);
  job.plan.recompute_layers = 62;
  EXPECT_EQ(BuildPlan(job).status().message(),
            "plan.recompute_layers = 62 is more than the model's 61 layers (allowed: 0 to 61; 0 "
            "recomputes every layer, as does a number at least a chunk's layers)");
  job.plan.recompute_layers = 0;
  job.plan.recompute = spec::Recompute::kSelective;
  p = Must(BuildPlan(job));
  EXPECT_EQ(p.stages[1].chunks[0].recomputed_layers, 0);
}

// ---- One test per rejected input (issue: bad input). ----

TEST(Reject, RecomputeModulesTheModelDoesNotHave) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.plan.recompute = spec::Recompute::kSelective;
  job.plan.recompute_modules = spec::kRecomputeLayernorm | spec::kRecomputeMoeAct;
  EXPECT_EQ(Error(job),
            "plan.recompute_modules names moe_act, which needs a MoE model (model.experts > 0) "
            "(model llama3-8b) (allowed: modules the model has)");
  job.plan.recompute_modules = spec::kRecomputeLayernorm;
  job.framework = Must(spec::LoadFramework("torchtitan"));
  EXPECT_NE(Error(job).find("framework torchtitan checkpoints per op"), std::string::npos)
      << Error(job);
}

TEST(Reject, RecomputeLayersNeedFullRecomputation) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.plan.recompute_layers = 4;
  job.plan.recompute = spec::Recompute::kSelective;
  EXPECT_EQ(Error(job),
            "plan.recompute_layers = 4 needs plan.recompute = full (recompute = selective) "
            "(allowed: 0, or recompute full)");
}

TEST(Reject, TpNotDividingHeads) {
  spec::JobSpec job = DefaultJob();
  job.plan.tp = 3;
  EXPECT_EQ(Error(job),
            "plan.tp = 3 does not divide model.heads = 128 (allowed: 1, 2, 4, 8, 16, 32, 64, 128)");
}

TEST(Reject, TpNotDividingKvHeads) {
  spec::JobSpec job = DefaultJob();
  job.plan.tp = 16;
  job.plan.pp = 8;
  EXPECT_EQ(Error(job), "plan.tp = 16 does not divide model.kv_heads = 8 (allowed: 1, 2, 4, 8)");
}

TEST(Reject, ProductNotEqualToGpus) {
  spec::JobSpec job = DefaultJob();
  job.plan.dp = 64;
  EXPECT_EQ(Error(job),
            "plan.tp * cp * pp * dp = 8 * 1 * 16 * 64 = 8192 does not equal gpus = 16384 "
            "(allowed: dp = gpus / (tp * cp * pp), or dp = 0 to derive it)");
}

TEST(Reject, ModelParallelNotDividingGpus) {
  spec::JobSpec job = DefaultJob();
  job.plan.pp = 6;
  job.plan.vp = 1;
  EXPECT_NE(Error(job).find("plan.tp * cp * pp = 8 * 1 * 6 = 48 does not divide gpus = 16384"),
            std::string::npos);
}

TEST(Reject, GpusOverCapacity) {
  spec::JobSpec job = DefaultJob();
  job.gpus = 30000;
  EXPECT_EQ(
      Error(job),
      "gpus = 30000 exceeds cluster llama3-cluster's capacity of 24576 GPUs (allowed: 1 to 24576)");
}

TEST(Reject, EpNotDividingDpTimesCp) {
  spec::JobSpec job = DefaultJob();
  job.model = Must(spec::LoadModel("mixtral-8x7b"));
  job.plan = {};
  job.plan.tp = 8;
  job.plan.ep = 3;
  job.gpus = 64;  // dp = 8
  EXPECT_EQ(Error(job), "plan.ep = 3 does not divide dp * cp = 8 * 1 = 8 (allowed: 1, 2, 4, 8)");
}

// Expert parallelism wider than the data-parallel ranks of a stage (Megatron-Core: experts over
// etp x ep x expert-dp of the tp * cp * dp ranks). Qwen3 30B-A3B (128 experts) on 32 GPUs, TP 2,
// DP 16: EP 32 needs the two TP ranks, which only expert TP 1 leaves free (tp / etp = 2, and
// 32 / 2 = 16 divides dp * cp = 16). With etp = tp the same EP is refused.
TEST(Plan, ExpertParallelismSpansTheTpRanksExpertTpLeaves) {
  spec::JobSpec job = DefaultJob();
  job.model = Must(spec::LoadModel("qwen3-30b-a3b"));
  job.plan = {};
  job.plan.tp = 2;
  job.plan.ep = 32;
  job.gpus = 32;
  EXPECT_NE(Error(job).find("plan.ep = 32 does not divide dp * cp = 16 * 1 = 16"),
            std::string::npos);
  job.plan.etp = 1;
  plan::Plan p = Must(plan::BuildPlan(job));
  EXPECT_EQ(p.ep, 32);
  EXPECT_EQ(p.etp, 1);
  EXPECT_EQ(p.ep_tp_span, 2);
  // Each expert's gradients: tp * dp * cp / (ep * etp) = 32 / 32 = 1 rank.
  EXPECT_EQ(p.ExpertDp(), 1);
  // With expert TP = tp nothing is spare: EP 16 stays inside dp * cp.
  job.plan.etp = 0;
  job.plan.ep = 16;
  EXPECT_EQ(Must(plan::BuildPlan(job)).ep_tp_span, 1);
  job.plan.etp = 1;
  // EP 64 (which divides the 128 experts) with tp / etp = 2: 64 / 2 = 32 does not divide 16.
  job.plan.ep = 64;
  EXPECT_EQ(Error(job),
            "plan.ep = 64 does not fit the stage: expert TP 1 leaves tp / etp = 2 TP ranks, then "
            "dp * cp = 16 * 1 = 16 ranks (allowed: 1, 2, 4, 8, 16, 32)");
  // EP 2 fits inside the two TP ranks (Megatron-Core's layout takes them first).
  job.plan.ep = 2;
  EXPECT_EQ(Must(plan::BuildPlan(job)).ep_tp_span, 2);
}

// Expert TP wider than TP, or not dividing it, would split an expert over ranks holding different
// tokens.
TEST(Reject, ExpertTpNotDividingTp) {
  spec::JobSpec job = DefaultJob();
  job.model = Must(spec::LoadModel("mixtral-8x7b"));
  job.gpus = 64;
  job.plan = spec::PlanSpec{};
  job.plan.tp = 2;
  job.plan.ep = 4;
  job.plan.etp = 4;
  EXPECT_EQ(Error(job), "plan.etp = 4 does not divide plan.tp = 2 (allowed: 0 for tp, or 1, 2)");
  job.plan.tp = 4;
  job.plan.etp = 3;
  EXPECT_EQ(Error(job), "plan.etp = 3 does not divide plan.tp = 4 (allowed: 0 for tp, or 1, 2, 4)");
}

TEST(Reject, EpOnDenseModel) {
  spec::JobSpec job = DefaultJob();
  job.plan.ep = 2;
  EXPECT_EQ(Error(job),
            "plan.ep = 2 needs a mixture-of-experts model; llama3-405b is dense (allowed: 1)");
}

// Expert TP on a dense model splits nothing: any etp but 0 (derive) or tp itself is refused,
// as ep is. The default job is dense at TP 8.
TEST(Reject, EtpOnDenseModel) {
  spec::JobSpec job = DefaultJob();
  job.plan.etp = 1;
  EXPECT_EQ(Error(job),
            "plan.etp = 1 splits experts; llama3-405b is dense (allowed: 0, or tp = 8)");
  job.plan.etp = 8;
  EXPECT_TRUE(plan::BuildPlan(job).ok());
}

// Only the llama3 schedule groups micro-batches: under another a group other than 0 or pp would
// change nothing. The default job at PP 16, vp 1 under 1F1B with groups of 4.
TEST(Reject, MicrobatchGroupOutsideLlama3Schedule) {
  spec::JobSpec job = DefaultJob();
  job.plan.schedule = spec::Schedule::k1F1B;
  job.plan.vp = 1;
  job.plan.pp_microbatch_group = 4;
  EXPECT_EQ(Error(job),
            "plan.pp_microbatch_group = 4 applies to the llama3 schedule, not 1f1b (allowed: 0 or "
            "pp = 16, or schedule llama3)");
}

TEST(Reject, LayersNotDivisibleOverChunks) {
  spec::JobSpec job = DefaultJob();
  job.plan.vp = 3;
  EXPECT_EQ(Error(job),
            "model.layers = 126 + 2 (trim_edge_stages) do not split evenly over plan.pp * vp = "
            "16 * 3 = 48 chunks (allowed vp for pp = 16: 1, 2, 4, 8; or plan.uneven_layers = "
            "true)");
}

TEST(Reject, LayersNotDivisibleWithoutTrim) {
  spec::JobSpec job = DefaultJob();
  job.plan.trim_edge_stages = false;
  // 126 = 2 * 3^2 * 7: no multiple of 16 divides it, so no vp works at PP 16; its divisors are
  // the pp values that would, and trimming (126 + 2 = 128 = 16 * 8) allows vp 1, 2, 4, 8. An
  // uneven split is not offered: 126 layers cannot fill 128 chunks.
  EXPECT_NE(
      Error(job).find("model.layers = 126 do not split evenly over plan.pp * vp = 16 * 8 = 128 "
                      "chunks (allowed vp for pp = 16: none; pp dividing 126: 1, 2, 3, 6, 7, 9, "
                      "14, 18, 21, 42, 63, 126; or plan.trim_edge_stages = true, with vp 1, 2, 4, "
                      "8)"),
      std::string::npos);
}

TEST(Reject, InterleavedNeedsMicrobatchesMultipleOfPp) {
  // Llama 3 70B, 1024 GPUs, TP 8 PP 8 DP 16, 256 sequences -> 16 micro-batches: allowed.
  // With 2 sequences per micro-batch, 8 micro-batches: not a multiple of 16 stages.
  spec::JobSpec job = DefaultJob();
  job.plan.schedule = spec::Schedule::kInterleaved;
  job.plan.micro_batch = 2;  // 2048 / (128 * 2) = 8 micro-batches
  EXPECT_EQ(Error(job),
            "plan.microbatches = 8 is not a multiple of plan.pp = 16 as the interleaved schedule "
            "needs (allowed: 16, 32, 48, 64, ...; or schedule llama3)");
}

TEST(Reject, Llama3GroupMustDivideMicrobatches) {
  spec::JobSpec job = DefaultJob();
  job.plan.pp_microbatch_group = 5;
  EXPECT_EQ(Error(job),
            "plan.pp_microbatch_group = 5 does not divide plan.microbatches = 16 for the llama3 "
            "schedule (allowed: 1, 2, 4, 8, 16)");
  job.plan.pp_microbatch_group = 8;  // Llama 3 allows N < pp
  EXPECT_TRUE(BuildPlan(job).ok());
}

TEST(Reject, VirtualStagesNeedInterleavedSchedule) {
  spec::JobSpec job = DefaultJob();
  job.plan.schedule = spec::Schedule::k1F1B;
  EXPECT_EQ(Error(job),
            "plan.vp = 8 needs an interleaved schedule; plan.schedule = 1f1b (allowed: schedule "
            "interleaved or llama3, zb-v with vp = 2, or vp = 1)");
}

// ZB-V runs exactly two chunks a rank, with or without a pipeline.
TEST(Reject, ZeroBubbleVNeedsTwoChunks) {
  spec::JobSpec job = DefaultJob();
  job.plan.schedule = spec::Schedule::kZbV;
  EXPECT_EQ(Error(job),
            "plan.vp = 8: plan.schedule = zb-v runs exactly 2 model chunks per rank (allowed: vp "
            "= 2)");
  job.plan.vp = 2;
  EXPECT_TRUE(BuildPlan(job).ok());
}

TEST(Reject, InterleavedNeedsChunks) {
  spec::JobSpec job = DefaultJob();
  job.plan.vp = 1;
  job.plan.trim_edge_stages = false;
  job.model.layers = 128;
  EXPECT_NE(Error(job).find("plan.schedule = llama3 needs plan.vp >= 2"), std::string::npos);
}

TEST(Reject, MicroBatchNotDividingBatch) {
  spec::JobSpec job = DefaultJob();
  job.plan.micro_batch = 3;
  EXPECT_EQ(Error(job),
            "plan.micro_batch = 3: workload.global_batch = 2048 sequences does not split over dp * "
            "micro_batch = 128 * 3 = 384 (allowed micro_batch: 1, 2, 4, 8, 16)");
}

TEST(Reject, MicrobatchCountDisagrees) {
  spec::JobSpec job = DefaultJob();
  job.plan.microbatches = 12;
  EXPECT_NE(Error(job).find("plan.microbatches = 12 disagrees"), std::string::npos);
}

TEST(Reject, ContextParallelNeedsEvenChunks) {
  spec::JobSpec job = DefaultJob();
  job.plan.cp = 2;
  job.plan.pp = 8;
  job.plan.vp = 16;
  job.workload.seq_len = 8190;  // 8190 / 4 is not whole
  job.workload.batch_tokens = 0;
  job.workload.global_batch = 2048;
  EXPECT_EQ(Error(job),
            "plan.cp = 2 needs workload.seq_len = 8190 to split into 2 * cp = 4 equal chunks "
            "(allowed: cp with 2*cp dividing 8190)");
}

TEST(Reject, TrimNeedsPipeline) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.plan.trim_edge_stages = true;
  EXPECT_EQ(
      Error(job),
      "plan.trim_edge_stages = true needs plan.pp >= 2 (pp = 1) (allowed: false with pp = 1)");
}

TEST(Reject, Fp8OnGpuWithoutFp8) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.cluster.gpu = Must(spec::LoadGpu("a100-80gb"));
  job.plan.precision = spec::Precision::kFp8;
  EXPECT_NE(Error(job).find("plan.precision = fp8 needs a GPU with FP8"), std::string::npos);
}

// FP4 needs FP4 tensor cores: an H100 (FP8, no FP4) is refused with what it allows.
TEST(Reject, Fp4OnGpuWithoutFp4) {
  spec::JobSpec job = Must(spec::LoadJob(Fixture("small-job.yaml")));
  job.cluster.gpu = Must(spec::LoadGpu("h100-sxm"));
  job.plan.precision = spec::Precision::kFp4;
  EXPECT_NE(Error(job).find("plan.precision = fp4 needs a GPU with FP4 tensor cores; h100-sxm has "
                            "gpu.peak_fp4_flops_per_s = 0 (allowed: bf16, fp8)"),
            std::string::npos)
      << Error(job);
  job.cluster.gpu = Must(spec::LoadGpu("b200"));
  EXPECT_TRUE(plan::BuildPlan(job).ok());
}

TEST(Reject, MissingModelFieldReachesPlan) {
  spec::JobSpec job = DefaultJob();
  job.model.vocab = 0;
  EXPECT_EQ(Error(job), "model.vocab is missing (allowed: integer >= 1)");
}

}  // namespace
}  // namespace scaleplan::plan

namespace scaleplan::plan {
namespace {

// A JobSpec built in code skips the schema's range checks; BuildPlan must still refuse it.
TEST(Reject, ZeroSizesBuiltInCode) {
  spec::JobSpec job = scaleplan::testing::Must(spec::LoadJob("llama3-405b-16k"));
  job.plan.tp = 0;
  EXPECT_EQ(BuildPlan(job).status().message(),
            "plan.tp = 0 is out of range (allowed: integer >= 1)");
  job.plan.tp = 8;
  job.plan.placement = {spec::Dim::kTp, spec::Dim::kTp, spec::Dim::kPp, spec::Dim::kDp};
  EXPECT_NE(BuildPlan(job).status().message().find("plan.placement"), std::string::npos);
}

}  // namespace
}  // namespace scaleplan::plan

namespace scaleplan::plan {
namespace {

// Every refusal names the key it is about (Status::key()), the key its message starts with: a
// search counts its prunings by it without reading messages.
TEST(Reject, EveryRefusalCarriesItsKey) {
  spec::JobSpec base = Must(spec::LoadJob("llama3-405b-16k"));
  std::vector<std::pair<std::string, std::function<void(spec::JobSpec&)>>> cases = {
      {"plan.tp", [](spec::JobSpec& j) { j.plan.tp = 3; }},
      {"plan.tp", [](spec::JobSpec& j) { j.plan.dp = 64; }},  // tp*cp*pp*dp != gpus
      {"model.layers", [](spec::JobSpec& j) { j.plan.trim_edge_stages = false; }},
      {"plan.vp", [](spec::JobSpec& j) { j.plan.schedule = spec::Schedule::k1F1B; }},
      {"plan.micro_batch", [](spec::JobSpec& j) { j.plan.micro_batch = 3; }},
      {"plan.pp_microbatch_group", [](spec::JobSpec& j) { j.plan.pp_microbatch_group = 3; }},
      {"plan.placement", [](spec::JobSpec& j) { j.plan.placement = {spec::Dim::kTp}; }},
      {"plan.etp", [](spec::JobSpec& j) { j.plan.etp = 2; }},
      {"plan.cp", [](spec::JobSpec& j) { j.plan.cp = 0; }},
      {"job.gpus", [](spec::JobSpec& j) { j.gpus = 1 << 20; }},
  };
  for (auto& [key, change] : cases) {
    spec::JobSpec job = base;
    change(job);
    Result<Plan> p = BuildPlan(job);
    ASSERT_FALSE(p.ok()) << key;
    EXPECT_EQ(p.status().key(), key) << p.status().message();
  }
}

}  // namespace
}  // namespace scaleplan::plan
