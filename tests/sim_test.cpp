#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>

#include "collective/collective.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/analytical.h"
#include "sim/recompute_fit.h"
#include "spec/readers.h"
#include "test_util.h"

namespace scaleplan::sim {
namespace {

using scaleplan::testing::Fixture;
using scaleplan::testing::Must;

StepResult Simulate(const spec::JobSpec& job) { return Must(Evaluate(Must(plan::BuildPlan(job)))); }

spec::JobSpec Job(const char* model, int64_t gpus, int64_t tp, int64_t pp, int64_t vp,
                  int64_t batch) {
  spec::JobSpec job;
  job.model = Must(spec::LoadModel(model));
  job.cluster = Must(spec::LoadCluster("dgx-h100-ib"));
  job.gpus = gpus;
  job.plan.tp = tp;
  job.plan.pp = pp;
  job.plan.vp = vp;
  job.plan.schedule = vp > 1 ? spec::Schedule::kInterleaved : spec::Schedule::k1F1B;
  job.workload.seq_len = 4096;
  job.workload.global_batch = batch;
  return job;
}

// Two tiers: nodes of `node_gpus` H100s on NVLink, joined into `gpus` by a slow tier of
// `slow_bandwidth` bytes/s per GPU and `slow_latency` seconds.
spec::ClusterSpec TwoNodes(int node_gpus, int gpus, const char* slow_bandwidth,
                           const char* slow_latency) {
  return Must(spec::ParseClusterYaml(
      fmt::format("name: two-nodes\ngpu: h100-sxm\ntiers:\n"
                  "  - {{name: node, gpus: {}, bandwidth_bytes_per_s: 450e9, latency_s: 4e-6}}\n"
                  "  - {{name: slow, gpus: {}, bandwidth_bytes_per_s: {}, latency_s: {}}}\n",
                  node_gpus, gpus, slow_bandwidth, slow_latency),
      "test"));
}

// Pipeline sends are priced per hop on the innermost tier holding both ends. TP 4 inside 8-GPU
// nodes, PP 4 at stride 4: PP ranks sit on GPUs 0, 4, 8, 12, so hop 0 (0-4) and hop 2 (8-12) stay
// in a node, hop 1 (4-8) and the wrap-around hop 3 (12-0) cross the 1 GB/s, 1 ms tier. Critical
// path: 2 (vp (h0 + h1 + h2) + (vp - 1) h3) = 2 (2 h_node + h_slow) for vp 1, and
// 2 (2 (2 h_node + h_slow) + h_slow) for vp 2; pricing every hop at the slow tier (as before) would
// give 2 (4 vp - 1) h_slow.
TEST(Analytical, PipelineHopsArePricedOnTheTierTheyCross) {
  for (int64_t vp : {1, 2}) {
    spec::JobSpec job = Job("llama3-8b", 16, 4, 4, vp, 8);
    job.cluster = Must(spec::ParseClusterYaml(
        "name: two-nodes\ngpu: h100-sxm\ntiers:\n"
        "  - {name: node, gpus: 8, bandwidth_bytes_per_s: 450e9, latency_s: 4e-6}\n"
        "  - {name: slow, gpus: 16, bandwidth_bytes_per_s: 1e9, latency_s: 1e-3}\n",
        "test"));
    StepResult r = Simulate(job);
    ASSERT_EQ(r.p2p_hop_s.size(), 4u);
    double node = r.p2p_hop_s[0], slow = r.p2p_hop_s[1];
    EXPECT_DOUBLE_EQ(r.p2p_hop_s[2], node);
    EXPECT_DOUBLE_EQ(r.p2p_hop_s[3], slow);
    EXPECT_GT(slow, node + 1e-3);  // at least the 1 ms latency more
    double v = static_cast<double>(vp);
    double fill = 2 * (v * (2 * node + slow) + (v - 1) * slow);
    if (vp == 1) {
      // With one chunk per rank the slow sends (about 10 ms) outlast a stage's work, so the
      // steady state waits too (its bound is checked against the event engine in
      // EventEngine.SlowSendsAgreeWithTheSteadyStateBound).
      EXPECT_GT(r.breakdown.pp_comm_s, fill + 1e-3);
    } else {
      EXPECT_NEAR(r.breakdown.pp_comm_s, fill, 1e-12) << "vp " << vp;
    }
  }
}

// Every replica's copy of a pipeline hop sends at once. TP 8 fills each 8-GPU node, PP 2 puts the
// two stages in the two nodes of a 16-GPU site tier with 1:4 oversubscription: the senders of hop
// 0 are all 8 GPUs of node 0 (one stage fills the group below), so each gets 1/4 of its 10 GB/s:
//   h = 5 us + 20 us + S / (0.94 * 10e9 * 0.25), S = 4096 * 4096 * 2 / 8 bytes (sequence-parallel).
// Without oversubscription the same hop gets the whole link.
TEST(Analytical, PipelineSendersShareAnOversubscribedTier) {
  for (double o : {1.0, 4.0}) {
    spec::JobSpec job = Job("llama3-8b", 16, 8, 2, 1, 8);
    job.cluster = Must(spec::ParseClusterYaml(
        fmt::format("name: site\ngpu: h100-sxm\ntiers:\n"
                    "  - {{name: node, gpus: 8, bandwidth_bytes_per_s: 450e9, latency_s: 4e-6}}\n"
                    "  - {{name: site, gpus: 16, bandwidth_bytes_per_s: 10e9, latency_s: 20e-6, "
                    "oversubscription: {}}}\n",
                    o),
        "test"));
    StepResult r = Simulate(job);
    ASSERT_EQ(r.p2p_hop_s.size(), 2u);
    double bytes = 4096.0 * 4096.0 * 2.0 / 8.0;
    EXPECT_NEAR(r.p2p_hop_s[0], 5e-6 + 20e-6 + bytes / (0.94 * 10e9 / o), 1e-12) << "o " << o;
    EXPECT_NEAR(r.p2p_hop_transfer_s[0], bytes / (0.94 * 10e9 / o), 1e-12) << "o " << o;
  }
}

// HSDP, delayed and BF16 gradient reduction by hand. Llama 3 8B on 4 GPUs (TP 1, PP 1, DP 4,
// fsdp, no overlap): nodes of 2 GPUs, a 1 GB/s, 1 ms tier above. P parameters per GPU, all on the
// one stage.
//   flat (dp_replicate 1): reduce-scatter 4P bytes and all-gather 2P over the 4 ranks.
//   HSDP 2: reduce-scatter 4P inside the node {0, 1}, all-reduce of the 4P / 2 shard across
//     {0, 2} (one rank per node, the slow tier), all-gather 2P inside the node.
//   delayed: that all-reduce runs behind the next step's pipeline (here the compute): exposed is
//     max(0, AR - compute).
//   bf16: 2P instead of 4P in the reduce-scatter and the all-reduce.
// LoRA (workload.lora_rank) on the same FSDP job: the data-parallel group reduce-scatters the
// adapters' gradients and all-gathers their update, nothing of the frozen base; the optimizer
// updates the adapters' shard only; the base linears' backward drops its weight gradient, so the
// step is shorter though the adapters add work; and MFU counts 4N, not 6N.
TEST(Analytical, LoraReducesAndUpdatesOnlyTheAdapters) {
  spec::JobSpec job = Job("llama3-8b", 4, 1, 1, 1, 4);
  job.cluster = TwoNodes(2, 4, "1e9", "1e-3");
  job.plan.zero = spec::ZeroMode::kFsdp;
  job.plan.dp_overlap = false;
  const StepResult full = Simulate(job);
  job.workload.lora_rank = 32;
  plan::Plan lora_plan = Must(plan::BuildPlan(job));
  const plan::StageParams params =
      plan::ParamsOnStage(lora_plan.stages[0], plan::ParamSums(lora_plan));
  EXPECT_DOUBLE_EQ(params.dense_trainable, 32 * 2228224.0);  // memory_test derives it
  const spec::ClusterSpec& c = job.cluster;
  collective::GroupShape all = collective::ConsecutiveGroup(4, c);
  const double trained = params.dense_trainable;
  const StepResult lora = Simulate(job);
  EXPECT_NEAR(lora.breakdown.dp_comm_s,
              collective::Estimate(c, all, collective::Op::kReduceScatter, 4 * trained).seconds +
                  collective::Estimate(c, all, collective::Op::kAllGather, 2 * trained).seconds,
              1e-9);
  EXPECT_LT(lora.breakdown.optimizer_s, 0.02 * full.breakdown.optimizer_s);
  // Compute: forward and input gradient remain (more than 2/3 of the GEMMs' time, attention and
  // the memory-bound ops unchanged). The step: the slow network made the full job's gradient
  // traffic most of it.
  EXPECT_LT(lora.breakdown.compute_s, full.breakdown.compute_s);
  EXPECT_GT(lora.breakdown.compute_s, 0.6 * full.breakdown.compute_s);
  EXPECT_LT(lora.step_time_s, 0.1 * full.step_time_s);
  EXPECT_NE(lora.flops_formula.find("4*N"), std::string::npos) << lora.flops_formula;
}

// Packed documents (workload.document_tokens): attention covers the pairs within each document,
// so only attention's time changes. Llama 3 8B, one GPU, 8,192 tokens in documents of 1,024: the
// pairs fall from 8192 x 8193 / 2 to 8 x 1024 x 1025 / 2, to 1025/8193 = 12.5%, read at 1,024
// keys (a lower efficiency than at 8,192, hardware/efficiency.h). At 8K tokens causal attention is
// a sizeable part of an 8B layer's time (the per-op times: about a quarter), so the compute falls
// by 5% to 50%; the memory is the same (the same tokens are kept); MFU counts the pairs within
// documents.
TEST(Analytical, PackedDocumentsShortenOnlyAttention) {
  spec::JobSpec job = Job("llama3-8b", 1, 1, 1, 1, 4);
  job.workload.seq_len = 8192;
  plan::Plan whole_plan = Must(plan::BuildPlan(job));
  const StepResult whole = Must(Evaluate(whole_plan));
  job.workload.document_tokens = 1024;
  plan::Plan packed_plan = Must(plan::BuildPlan(job));
  const StepResult packed = Must(Evaluate(packed_plan));
  const double attention = whole.breakdown.compute_s - packed.breakdown.compute_s;
  EXPECT_GT(attention, 0);
  EXPECT_LT(packed.step_time_s, whole.step_time_s);
  EXPECT_EQ(plan::ComputeMemory(packed_plan).peak_bytes,
            plan::ComputeMemory(whole_plan).peak_bytes);
  EXPECT_NE(packed.flops_formula.find("packed documents of 1024 tokens"), std::string::npos);
  const double gone = attention / whole.breakdown.compute_s;
  EXPECT_GT(gone, 0.05);
  EXPECT_LT(gone, 0.5);
  // Documents as long as the sequence are the sequence.
  job.workload.document_tokens = 8192;
  EXPECT_EQ(Must(Evaluate(Must(plan::BuildPlan(job)))).step_time_s, whole.step_time_s);
}

// Under LoRA the frozen base has no weight-gradient pass for a zero-bubble schedule to defer:
// only the adapters' weight gradients fill ZB-H1's bubble, which so stays near 1F1B's (full
// training: about half of it, sim_test's bubble tests). Same plan, Llama 3 8B on 4 stages.
TEST(Analytical, LoraLeavesZeroBubbleLittleToDefer) {
  spec::JobSpec job = Job("llama3-8b", 4, 1, 4, 1, 16);
  job.workload.lora_rank = 16;
  const double one_f_one_b = Simulate(job).breakdown.bubble_s;
  job.plan.schedule = spec::Schedule::kZbH1;
  const double zb = Simulate(job).breakdown.bubble_s;
  EXPECT_GT(zb, 0.9 * one_f_one_b);
  job.workload.lora_rank = 0;
  EXPECT_LT(Simulate(job).breakdown.bubble_s, 0.7 * one_f_one_b);
}

// The Adam step fused moves 28 bytes a parameter (read gradient, weight and two moments; write
// three) and 2 more for the BF16 copy beside the FP32 weight; unfused, as PyTorch's foreach AdamW
// runs its eight ops, 80 (20 FP32 accesses) and the same 2: a ratio of 82 / 30 under FSDP, and of
// 80 / 28 under ZeRO 3 with FP32 shards, which hold no BF16 copy (the fixed launch overhead of a
// few microseconds against tens of milliseconds aside).
TEST(Analytical, UnfusedAdamMovesItsEightOpsBytes) {
  spec::JobSpec job = Job("llama3-8b", 4, 1, 1, 1, 4);
  job.plan.zero = spec::ZeroMode::kFsdp;
  const double fused = Simulate(job).breakdown.optimizer_s;
  job.framework.optimizer_step = spec::OptimizerStep::kUnfused;
  EXPECT_NEAR(Simulate(job).breakdown.optimizer_s / fused, 82.0 / 30.0, 1e-3);
  job.plan.zero = spec::ZeroMode::kZero3;
  job.framework.fp32_param_shards = true;
  const double unfused_shards = Simulate(job).breakdown.optimizer_s;
  job.framework.optimizer_step = spec::OptimizerStep::kFused;
  EXPECT_NEAR(unfused_shards / Simulate(job).breakdown.optimizer_s, 80.0 / 28.0, 1e-3);
}

TEST(Analytical, HybridShardedDelayedAndBf16GradientReduction) {
  spec::JobSpec job = Job("llama3-8b", 4, 1, 1, 1, 4);
  job.cluster = TwoNodes(2, 4, "1e9", "1e-3");
  job.plan.zero = spec::ZeroMode::kFsdp;
  job.plan.dp_overlap = false;
  plan::Plan flat_plan = Must(plan::BuildPlan(job));
  const double params = plan::ParamsOnStage(flat_plan.stages[0], plan::ParamSums(flat_plan)).dense;
  const spec::ClusterSpec& c = job.cluster;
  using collective::Estimate;
  using collective::Op;
  collective::GroupShape all = collective::ConsecutiveGroup(4, c);
  collective::GroupShape node = collective::ConsecutiveGroup(2, c);
  collective::GroupShape across;  // ranks 0 and 2: one per node
  across.size = 2;
  across.span_tier = 1;
  across.members_per_group = {1, 2};

  StepResult flat = Simulate(job);
  EXPECT_NEAR(flat.breakdown.dp_comm_s,
              Estimate(c, all, Op::kReduceScatter, 4 * params).seconds +
                  Estimate(c, all, Op::kAllGather, 2 * params).seconds,
              1e-9);

  job.plan.dp_replicate = 2;
  StepResult hsdp = Simulate(job);
  const double rs = Estimate(c, node, Op::kReduceScatter, 4 * params).seconds;
  const double ar = Estimate(c, across, Op::kAllReduce, 2 * params).seconds;
  const double ag = Estimate(c, node, Op::kAllGather, 2 * params).seconds;
  EXPECT_NEAR(hsdp.breakdown.dp_comm_s, rs + ar + ag, 1e-9);
  EXPECT_EQ(hsdp.dp_algorithm.rfind("hsdp reduce-scatter/", 0), 0u) << hsdp.dp_algorithm;
  // The optimizer updates a shard over 2 ranks instead of 4: twice the bytes (the fixed launch
  // overhead of a few microseconds aside).
  EXPECT_NEAR(hsdp.breakdown.optimizer_s / flat.breakdown.optimizer_s, 2.0, 1e-3);
  // And the sharded state takes more memory.
  EXPECT_GT(plan::ComputeMemory(Must(plan::BuildPlan(job))).peak_bytes,
            plan::ComputeMemory(flat_plan).peak_bytes);

  job.plan.grad_sync = spec::GradSync::kDelayed;
  StepResult delayed = Simulate(job);
  EXPECT_NEAR(delayed.breakdown.dp_comm_s,
              rs + ag + std::max(0.0, ar - delayed.breakdown.compute_s), 1e-9);
  EXPECT_LT(delayed.step_time_s, hsdp.step_time_s);

  // Memory: the delayed reduction keeps last step's reduced shard, 4 P / 2 bytes more gradients.
  job.plan.grad_sync = spec::GradSync::kStep;
  const double grads_step =
      plan::ComputeMemory(Must(plan::BuildPlan(job))).stages[0].gradients_bytes;
  job.plan.grad_sync = spec::GradSync::kDelayed;
  EXPECT_NEAR(plan::ComputeMemory(Must(plan::BuildPlan(job))).stages[0].gradients_bytes,
              grads_step + 4 * params / 2, 1.0);

  job.plan.grad_sync = spec::GradSync::kStep;
  job.plan.grad_reduce_dtype = spec::GradReduceDtype::kBf16;
  // BF16 reduction keeps a BF16 gradient buffer: half the gradient bytes.
  EXPECT_NEAR(plan::ComputeMemory(Must(plan::BuildPlan(job))).stages[0].gradients_bytes,
              grads_step / 2, 1.0);
  StepResult bf16 = Simulate(job);
  EXPECT_NEAR(bf16.breakdown.dp_comm_s,
              Estimate(c, node, Op::kReduceScatter, 2 * params).seconds +
                  Estimate(c, across, Op::kAllReduce, params).seconds + ag,
              1e-9);

  // HSDP needs sharding and a split into groups of two or more ranks.
  job.plan.zero = spec::ZeroMode::kZero0;
  EXPECT_NE(plan::BuildPlan(job).status().message().find("plan.dp_replicate = 2 needs sharded"),
            std::string::npos);
  job.plan.zero = spec::ZeroMode::kFsdp;
  // With CP, the shard groups hold whole CP groups: CP must sit inside DP.
  job.plan.cp = 2;  // dp 2
  job.plan.dp_replicate = 2;
  EXPECT_TRUE(plan::BuildPlan(job).ok());
  job.plan.placement = {spec::Dim::kTp, spec::Dim::kDp, spec::Dim::kCp, spec::Dim::kPp};
  EXPECT_NE(plan::BuildPlan(job).status().message().find("needs cp placed inside dp"),
            std::string::npos);
  job.plan.placement = {spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kPp, spec::Dim::kDp};
  job.plan.cp = 1;
  job.plan.dp_replicate = 4;
  EXPECT_EQ(plan::BuildPlan(job).status().message(),
            "plan.dp_replicate = 4 does not split dp = 4 (cp = 1) into replica groups of two or "
            "more ranks (allowed: 1, 2)");
}

// Data-parallel overlap under interleaving. Llama 3 8B on 8 GPUs: PP 4 (GPUs 0-3 of a 4-GPU node),
// DP 2 across a 1 GB/s tier, ZeRO 0 (one all-reduce of the stage's FP32 gradients, AR, about 8 s
// against a backward pass of about 0.1 s, so the link never waits). Global batch 16 = 8
// micro-batches per replica.
//   vp 1: the gradients are final in the last micro-batch's backward: exposed = AR - B.
//   vp 2, interleaved (N = pp = 4): the last group's backward runs chunk 1 four times (b1 each),
//   then chunk 0 four times (b0). Chunk 1's part of AR joins the link at the start of its last
//   pass, (N - 1) b1; chunk 0's part follows it at once (AR is long); the backward ends at
//   N (b1 + b0). Exposed = (N - 1) b1 + AR - N (b1 + b0) = AR - b1 - 4 b0, per stage with its own
//   chunk costs (on a middle stage b0 = b1 = B / 2: AR - 2.5 B). Without overlap the whole AR is
//   exposed, which gives AR per stage.
TEST(Analytical, InterleavingWidensTheDataParallelOverlapWindow) {
  for (int64_t vp : {1, 2}) {
    spec::JobSpec job = Job("llama3-8b", 8, 1, 4, vp, 16);
    job.cluster = TwoNodes(4, 8, "1e9", "1e-3");
    job.plan.zero = spec::ZeroMode::kZero0;
    job.plan.dp_overlap = false;
    StepResult off = Simulate(job);
    job.plan.dp_overlap = true;
    StepResult on = Simulate(job);
    ASSERT_EQ(on.stages.size(), 4u);
    for (size_t s = 0; s < on.stages.size(); ++s) {
      const StageCost& st = on.stages[s];
      const double all_reduce = off.stages[s].dp_exposed_s;
      ASSERT_GT(all_reduce, 10 * st.backward_s) << "the test needs the reduction to outlast it";
      ASSERT_EQ(st.chunks.size(), static_cast<size_t>(vp));
      const double want = vp == 1
                              ? all_reduce - st.chunks[0].backward_s
                              : all_reduce - st.chunks[1].backward_s - 4 * st.chunks[0].backward_s;
      EXPECT_NEAR(st.dp_exposed_s, want, 1e-9) << "vp " << vp << " stage " << s;
      if (vp == 2 && s == 1) {  // a middle stage: two equal chunks
        EXPECT_NEAR(st.dp_exposed_s, all_reduce - 2.5 * st.backward_s, 1e-9);
      }
    }
  }
}

// The same queue where the link keeps up, so each chunk's share shows. Middle stage (stage 1) of
// Llama 3 8B, PP 4, VP 2, DP 2 across a 35 GB/s tier, ZeRO 1: reduce-scatter R of the FP32
// gradients and all-gather A of the BF16 weights, each split evenly over the two equal chunks.
// Backward (N = 4, chunk passes b): chunk 1's half joins at 3b and ends by 7b when R/2 <= 4b;
// chunk 0's joins at 7b and ends at 7b + R/2 >= 8b when R/2 >= b: exposed R/2 - b. Forward
// (passes f): chunk 0's half must arrive by the end of its first pass, A/2 - f late; chunk 1's
// by 4f + f, which A - 5f <= A/2 - f holds when A/2 <= 4f: exposed A/2 - f. The old one-pass
// window would give (R - 2b) + (A - 2f).
TEST(Analytical, InterleavedDataParallelQueueChargesTheEdgeChunks) {
  spec::JobSpec job = Job("llama3-8b", 8, 1, 4, 2, 16);
  job.cluster = TwoNodes(4, 8, "35e9", "1e-5");
  job.plan.zero = spec::ZeroMode::kZero1;
  job.plan.dp_overlap = true;
  plan::Plan p = Must(plan::BuildPlan(job));
  StepResult r = Must(Evaluate(p));
  const double params = plan::ParamsOnStage(p.stages[1], plan::ParamSums(p)).dense;
  collective::GroupShape across;  // ranks s and s + 4: one per node
  across.size = 2;
  across.span_tier = 1;
  across.members_per_group = {1, 2};
  using collective::Estimate;
  using collective::Op;
  const double rs = Estimate(job.cluster, across, Op::kReduceScatter, 4 * params).seconds;
  const double ag = Estimate(job.cluster, across, Op::kAllGather, 2 * params).seconds;
  const StageCost& st = r.stages[1];
  ASSERT_EQ(st.chunks.size(), 2u);
  const double b = st.chunks[0].backward_s, f = st.chunks[0].forward_s;
  ASSERT_NEAR(st.chunks[1].backward_s, b, 1e-12);  // a middle stage: equal chunks
  ASSERT_GE(rs / 2, b);
  ASSERT_LE(rs / 2, 4 * b);
  ASSERT_GE(ag / 2, f);
  ASSERT_LE(ag / 2, 4 * f);
  EXPECT_NEAR(st.dp_exposed_s, (rs / 2 - b) + (ag / 2 - f), 1e-9);
  // Without overlap both collectives are exposed whole (checks the group shape above).
  job.plan.dp_overlap = false;
  EXPECT_NEAR(Simulate(job).stages[1].dp_exposed_s, rs + ag, 1e-9);
}

// One GPU: no communication of any kind, so the step is exactly compute plus the optimizer.
TEST(Analytical, NoCommunicationGivesExactlyTheComputeTime) {
  StepResult r = Simulate(Job("llama3-8b", 1, 1, 1, 1, 4));
  const Breakdown& b = r.breakdown;
  EXPECT_EQ(b.tp_comm_s, 0.0);
  EXPECT_EQ(b.cp_comm_s, 0.0);
  EXPECT_EQ(b.pp_comm_s, 0.0);
  EXPECT_EQ(b.dp_comm_s, 0.0);
  EXPECT_EQ(b.bubble_s, 0.0);
  EXPECT_EQ(b.other_s, 0.0);
  EXPECT_GT(b.compute_s, 0.0);
  EXPECT_DOUBLE_EQ(r.step_time_s, b.compute_s + b.optimizer_s);
  // Four micro-batches of the same work: compute = 4 * one micro-batch's forward + backward.
  EXPECT_NEAR(b.compute_s, 4.0 * r.stages[0].compute_s, 1e-12);
}

// 1F1B bubble fraction (p-1)/m and interleaved (p-1)/(v m) on near-homogeneous stages (a tiny
// vocabulary makes the embedding and output layer negligible): bubble / steady state.
TEST(Analytical, PipelineBubbleMatchesClosedForms) {
  for (int64_t vp : {1, 2}) {
    spec::JobSpec job = Job("llama3-8b", 8, 1, 4, vp, 16);  // dp 2 -> m = 8 micro-batches
    job.model.vocab = 8;
    StepResult r = Simulate(job);
    double steady = r.breakdown.compute_s + r.breakdown.tp_comm_s;
    double expected = 3.0 / (static_cast<double>(vp) * 8.0);
    EXPECT_NEAR(r.breakdown.bubble_s / steady, expected, 0.01 * expected) << "vp " << vp;
  }
  // ZB-H1 shrinks the 1F1B bubble (p-1)(F + B + W) to (p-1)(F + B - W) (Qi et al. 2023), B the
  // input-gradient pass and W the weight-gradient pass (half the backward GEMMs): a third when
  // F = B = W. Here attention's backward belongs to B, so W < B and the bubble is larger.
  spec::JobSpec job = Job("llama3-8b", 8, 1, 4, 1, 16);
  job.model.vocab = 8;
  job.plan.schedule = spec::Schedule::kZbH1;
  StepResult zb = Simulate(job);
  double f = 0, b = 0, w = 0;
  for (const StageCost& sc : zb.stages) {
    f += sc.forward_s;
    b += sc.backward_s;
    for (const ChunkCost& cc : sc.chunks) w += cc.weight_s;
  }
  b -= w;
  EXPECT_GT(w, 0.3 * b);  // a real split: W is most of B
  EXPECT_LT(w, b);
  double ratio = (f + b - w) / (f + b + w);
  double steady = zb.breakdown.compute_s;
  EXPECT_NEAR(zb.breakdown.bubble_s / steady, 3.0 / 8.0 * ratio, 0.01 * 3.0 / 8.0 * ratio);
  EXPECT_GT(ratio, 1.0 / 3.0);
  EXPECT_TRUE(zb.warnings.empty());
  // With M < pp micro-batches only M - 1 W passes fill holes: (p-1)(F + B) - (M-1) W, i.e. the
  // fill (p-1)(F + B + W) times (F + B - (M-1)/(p-1) W) / (F + B + W). M = 2, p = 4: a third of
  // W. (f, b and w above are one micro-batch's passes summed over the 4 stages, the same in this
  // job: a stage's F + B + W is (f + b + w) / 4.)
  spec::JobSpec few = Job("llama3-8b", 8, 1, 4, 1, 4);  // dp 2, M = 2 < pp = 4
  few.model.vocab = 8;
  few.plan.schedule = spec::Schedule::kZbH1;
  StepResult f2 = Simulate(few);
  EXPECT_TRUE(f2.warnings.empty());
  double fill = 3.0 * (f + b + w) / 4.0;  // (p-1) of a stage's F + B + W on equal stages
  EXPECT_NEAR(f2.breakdown.bubble_s, fill * (f + b - w / 3.0) / (f + b + w), 0.01 * fill);
  // ZB-V: the same share of a fill that its two chunks halve, 3 / (2 x 8) of the steady state.
  spec::JobSpec v = Job("llama3-8b", 8, 1, 4, 2, 16);
  v.model.vocab = 8;
  v.plan.schedule = spec::Schedule::kZbV;
  StepResult zv = Simulate(v);
  EXPECT_NEAR(zv.breakdown.bubble_s / zv.breakdown.compute_s, 3.0 / 16.0 * ratio,
              0.01 * 3.0 / 16.0 * ratio);
  EXPECT_TRUE(zv.warnings.empty());
  // With one micro-batch nothing overlaps: the pipeline is the micro-batch's forwards and input
  // gradients through all 8 chunks in turn, then stage 0's first chunk's W (analytical.h).
  spec::JobSpec one = Job("llama3-8b", 4, 1, 4, 2, 1);  // dp 1, M = 1
  one.plan.schedule = spec::Schedule::kZbV;
  StepResult z1 = Simulate(one);
  double serial = 0, worst = 0;
  for (const StageCost& sc : z1.stages) {
    serial += sc.forward_s + sc.backward_s;
    worst = std::max(worst, sc.forward_s + sc.backward_s);
    for (const ChunkCost& cc : sc.chunks) serial -= cc.weight_s;
  }
  serial += z1.stages[0].chunks[0].weight_s;
  EXPECT_NEAR(z1.breakdown.bubble_s, serial - worst, 1e-9 * serial);
}

TEST(Analytical, BreakdownSumsToStepTime) {
  for (const spec::JobSpec& job :
       {Job("llama3-70b", 64, 4, 4, 5, 128), Job("llama3-8b", 16, 2, 1, 1, 64),
        Must(spec::LoadJob("llama3-405b-16k")), Must(spec::LoadJob(Fixture("small-job.yaml")))}) {
    StepResult r = Simulate(job);
    EXPECT_NEAR(r.breakdown.Total(), r.step_time_s, 1e-12 * r.step_time_s);
    EXPECT_NEAR(r.tokens_per_s_per_gpu,
                static_cast<double>(job.workload.global_batch > 0
                                        ? job.workload.global_batch * job.workload.seq_len
                                        : job.workload.batch_tokens) /
                    r.step_time_s / static_cast<double>(job.gpus),
                1e-9 * r.tokens_per_s_per_gpu);
  }
}

// Property: more bandwidth or less latency on any tier never makes a step slower.
TEST(Analytical, FasterNetworkNeverSlowsAStep) {
  std::mt19937 rng(20261127);
  const int64_t tps[] = {1, 2, 4, 8};
  const int64_t pps[] = {1, 2, 4};
  int checked = 0;
  for (int trial = 0; trial < 60; ++trial) {
    int64_t tp = tps[rng() % 4], pp = pps[rng() % 3];
    int64_t dp = int64_t{1} << (rng() % 6);
    spec::JobSpec job = Job("llama3-70b", tp * pp * dp, tp, pp, 1, dp * 16);
    job.plan.cp = 1;
    job.plan.zero = static_cast<spec::ZeroMode>(rng() % 5);
    job.plan.dp_overlap = rng() % 2 == 0;
    Result<plan::Plan> p = plan::BuildPlan(job);
    if (!p.ok()) continue;
    double before = Must(Evaluate(*p)).step_time_s;
    size_t tier = rng() % job.cluster.tiers.size();
    if (rng() % 2 == 0) {
      job.cluster.tiers[tier].bandwidth_bytes_per_s *= 2;
    } else {
      job.cluster.tiers[tier].latency_s *= 0.5;
    }
    double after = Simulate(job).step_time_s;
    EXPECT_LE(after, before * (1 + 1e-12)) << "trial " << trial;
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

TEST(Analytical, TensorParallelInsideANodeIgnoresTheNetwork) {
  spec::JobSpec job = Job("llama3-8b", 8, 8, 1, 1, 8);
  double before = Simulate(job).step_time_s;
  for (size_t t = 1; t < job.cluster.tiers.size(); ++t)
    job.cluster.tiers[t].bandwidth_bytes_per_s /= 100;
  EXPECT_EQ(Simulate(job).step_time_s, before);
}

// Full recomputation runs each layer's forward again, collectives included; selective does not.
// With pp 1 and M micro-batches, a layer's TP time is 2 w per micro-batch (forward and backward,
// w = one way) and 3 w under full recomputation, plus the embedding and head terms E, alike in
// both: tp(full, L) - tp(sel, L) = M L w = tp(sel, L) - tp(sel, L / 2).
TEST(Analytical, FullRecomputeRunsTheForwardCollectivesAgain) {
  auto tp_comm = [](int64_t layers, spec::Recompute recompute) {
    spec::JobSpec job = Job("llama3-8b", 8, 8, 1, 1, 4);
    job.model.layers = layers;
    job.plan.sequence_parallel = true;
    job.plan.tp_comm_overlap = false;
    job.plan.recompute = recompute;
    return Simulate(job).breakdown.tp_comm_s;
  };
  const double full = tp_comm(32, spec::Recompute::kFull);
  const double selective = tp_comm(32, spec::Recompute::kSelective);
  const double half = tp_comm(16, spec::Recompute::kSelective);
  EXPECT_GT(full, selective * 1.3);
  EXPECT_NEAR(full - selective, selective - half, 1e-9 * full);
  EXPECT_EQ(tp_comm(32, spec::Recompute::kNone), selective);
}

// Recomputing the first 10 of 32 layers pays 10/32 of what recomputing all of them adds, in
// compute and in TP communication alike (every layer costs the same): full - part = 22/32 of
// full - none.
TEST(Analytical, RecomputeLayersPayTheirShare) {
  auto step = [](spec::Recompute recompute, int64_t layers) {
    spec::JobSpec job = Job("llama3-8b", 8, 8, 1, 1, 4);
    job.plan.sequence_parallel = true;
    job.plan.recompute = recompute;
    job.plan.recompute_layers = layers;
    return Simulate(job).breakdown;
  };
  const Breakdown none = step(spec::Recompute::kNone, 0);
  const Breakdown part = step(spec::Recompute::kFull, 10);
  const Breakdown full = step(spec::Recompute::kFull, 0);
  EXPECT_GT(full.compute_s, part.compute_s);
  EXPECT_GT(part.compute_s, none.compute_s);
  EXPECT_NEAR(full.compute_s - part.compute_s, 22.0 / 32.0 * (full.compute_s - none.compute_s),
              1e-9 * full.compute_s);
  EXPECT_NEAR(full.tp_comm_s - part.tp_comm_s, 22.0 / 32.0 * (full.tp_comm_s - none.tp_comm_s),
              1e-9 * full.tp_comm_s);
  EXPECT_GT(full.tp_comm_s, part.tp_comm_s);
}

// Selective recomputation by modules re-runs each module's forward: the extra compute of two
// modules is the sum of each one's, the MLP costs less than the whole layer (full recomputation)
// and a dense layer's norms, fused into the linears, cost nothing. The MLP's forward TP
// collectives run again too: with TP 8, SP and no overlap each way of a layer moves the same
// activation four times (gather before QKV and fc1, reduce-scatter after the output projection
// and fc2), the MLP two of them, so its re-run adds half of what full recomputation adds.
TEST(Analytical, RecomputeModulesAddTheirForward) {
  auto step = [](spec::Recompute recompute, uint32_t modules) {
    spec::JobSpec job = Job("llama3-8b", 8, 8, 1, 1, 4);
    job.plan.sequence_parallel = true;
    job.plan.tp_comm_overlap = false;
    job.plan.recompute = recompute;
    job.plan.recompute_modules = modules;
    return Simulate(job).breakdown;
  };
  const Breakdown none = step(spec::Recompute::kNone, spec::kRecomputeCoreAttn);
  auto extra = [&](spec::Recompute recompute, uint32_t modules) {
    Breakdown b = step(recompute, modules);
    return std::pair(b.compute_s - none.compute_s, b.tp_comm_s - none.tp_comm_s);
  };
  const auto attention = extra(spec::Recompute::kSelective, spec::kRecomputeCoreAttn);
  const auto mlp = extra(spec::Recompute::kSelective, spec::kRecomputeMlp);
  const auto both =
      extra(spec::Recompute::kSelective, spec::kRecomputeCoreAttn | spec::kRecomputeMlp);
  const auto full = extra(spec::Recompute::kFull, spec::kRecomputeCoreAttn);
  const auto norms = extra(spec::Recompute::kSelective, spec::kRecomputeLayernorm);
  EXPECT_GT(attention.first, 0);
  EXPECT_LT(mlp.first, full.first);
  EXPECT_NEAR(both.first, attention.first + mlp.first, 1e-9 * full.first);
  EXPECT_EQ(norms.first, 0.0);
  EXPECT_EQ(attention.second, 0.0);  // core attention holds no collective
  EXPECT_GT(full.second, 0);
  EXPECT_NEAR(mlp.second, 0.5 * full.second, 1e-9 * full.second);
}

// Megatron's linear layers (since 2022) and Transformer Engine run part of the backward's TP
// collectives behind the column-parallel linears' own GEMMs (FrameworkSpec::tp_async_backward).
// Llama 3 405B (8 of its layers), TP 4 in one node, 4096 tokens a micro-batch, no TP overlap. Per
// layer the activation is A = 2 x 4096 x 16384 bytes; forward 2 AG(A) + 2 RS(A) with SP, 2 AR(A)
// without. The backward without the flag repeats the forward's; with it, under SP: 2 AG exposed
// (the row-parallel linears' output-gradient gathers) + for each column-parallel linear i (QKV,
// fc1) max(0, AG - G_i/2) + max(0, RS - G_i/2), G_i its backward GEMMs. The smaller, QKV, is
// 4 x 4096 x 16384 x (16384 + 2048) / 4 = 1.24 TFLOP, about 2 ms on an H100, so G_i/2 exceeds
// even an AR of 134 MB over 4 NVLink ranks (about 0.5 ms; at TP 8 or at 8B's or 70B's width QKV's
// half is shorter than its all-reduce), every maximum is 0 and the flag saves 2 RS per layer and
// micro-batch: 8 layers x 4 micro-batches x 2 RS(A); without SP the backward's 2 AR(A) hide
// behind the weight-gradient GEMMs: 8 x 4 x 2 AR(A). (The embedding's and output layer's TP
// collectives are the same either way.) TP overlap (userbuffers) hides both ways whatever the
// flag.
// One collective over `ranks` consecutive GPUs of dgx-h100-ib (a TP group in one node), seconds.
double NodeCollective_s(int64_t ranks, collective::Op op, double bytes) {
  const spec::ClusterSpec c = Must(spec::LoadCluster("dgx-h100-ib"));
  return collective::Estimate(c, collective::ConsecutiveGroup(ranks, c), op, bytes).seconds;
}

TEST(Analytical, AsyncBackwardHidesTheColumnParallelCollectives) {
  auto tp_comm = [](bool sp, bool async, bool overlap) {
    spec::JobSpec job = Job("llama3-405b", 4, 4, 1, 1, 4);
    job.model.layers = 8;
    job.plan.sequence_parallel = sp;
    job.plan.tp_comm_overlap = overlap;
    job.framework.tp_async_backward = async;
    return Simulate(job).breakdown.tp_comm_s;
  };
  const double a = 2.0 * 4096 * 16384;
  const double rs = NodeCollective_s(4, collective::Op::kReduceScatter, a);
  const double ar = NodeCollective_s(4, collective::Op::kAllReduce, a);
  EXPECT_NEAR(tp_comm(true, false, false) - tp_comm(true, true, false), 8 * 4 * 2 * rs, 1e-12);
  EXPECT_NEAR(tp_comm(false, false, false) - tp_comm(false, true, false), 8 * 4 * 2 * ar, 1e-12);
  EXPECT_EQ(tp_comm(true, true, true), tp_comm(true, false, true));
}

// A MoE layer whose routed experts are not split over TP (etp 1) and that has no shared expert
// keeps its tokens in their sequence-parallel shard: only the attention side's all-gather and
// reduce-scatter run, each way. Qwen3 30B-A3B (48 MoE layers, h = 2048, top 8) on 8 GPUs, TP 2,
// EP 4, SP, one micro-batch of 4096 tokens per replica, no TP overlap nor async backward: etp 2
// gathers each rank's routed rows over the 2 expert-TP ranks before the experts and
// reduce-scatters them after, 8 per token of the 2 ranks' shards of 2048 tokens, i.e.
// 2 x 8 x 2048 x 2 x 2048 bytes = 8 A with A = 2 x 4096 x 2048 (the layer's activation), each
// way; so etp 1 saves 48 layers x 2 directions x (AG + RS) of 8 A (the embedding's and output
// layer's TP collectives are the same).
TEST(Analytical, MoeLayersWithoutExpertTpSkipTheMlpSideTpCollectives) {
  auto tp_comm = [](int64_t etp, bool overlap) {
    spec::JobSpec job = Job("qwen3-30b-a3b", 8, 2, 1, 1, 4);
    job.plan.ep = 4;
    job.plan.etp = etp;
    job.plan.sequence_parallel = true;
    job.plan.tp_comm_overlap = overlap;
    return Simulate(job).breakdown.tp_comm_s;
  };
  const double a = 2.0 * 4096 * 2048;
  const double ag = NodeCollective_s(2, collective::Op::kAllGather, 8 * a);
  const double rs = NodeCollective_s(2, collective::Op::kReduceScatter, 8 * a);
  EXPECT_NEAR(tp_comm(2, false) - tp_comm(1, false), 48 * 2 * (ag + rs), 1e-12);
  // Under TP overlap the routed rows' collectives stay exposed: the same difference.
  EXPECT_NEAR(tp_comm(2, true) - tp_comm(1, true), 48 * 2 * (ag + rs), 1e-12);
}

// MLA's down-projections run on the sequence shard, so the attention side gathers (forward) and
// reduces the input gradient of (backward) the compressions and the shared rotary key, r_q + r_kv
// + d_r wide, not the layer's input. DeepSeek-V3 cut to 2 dense layers on 2 GPUs, TP 2 with SP,
// one micro-batch of 4096 tokens, no TP overlap nor async backward: with r_q = 1536 the latent is
// 1536 + 512 + 64 = 2,112 wide, with r_q = 512 it is 1,088; everything else (the row-parallel
// collectives, the MLP side, the embedding and output layer) is the same, so the TP time differs
// by 2 layers x (AG + RS) of 2 x 4096 x 2,112 bytes against 2 x 4096 x 1,088.
TEST(Analytical, LatentAttentionGathersTheCompressionsNotTheInput) {
  auto tp_comm = [](int64_t q_lora_rank) {
    spec::JobSpec job = Job("deepseek-v3", 2, 2, 1, 1, 1);
    job.model.layers = 2;
    job.model.experts = job.model.top_k = job.model.shared_experts = 0;
    job.model.moe_first_dense_layers = job.model.expert_ffn_hidden = 0;  // dense: no expert keys
    job.model.q_lora_rank = q_lora_rank;
    job.plan.sequence_parallel = true;
    job.plan.tp_comm_overlap = false;
    job.framework.tp_async_backward = false;
    return Simulate(job).breakdown.tp_comm_s;
  };
  auto both = [](double width) {
    const double bytes = 2.0 * 4096 * width;
    return NodeCollective_s(2, collective::Op::kAllGather, bytes) +
           NodeCollective_s(2, collective::Op::kReduceScatter, bytes);
  };
  EXPECT_NEAR(tp_comm(1536) - tp_comm(512), 2 * (both(2112) - both(1088)), 1e-12);
  EXPECT_GT(both(2112), both(1088));
}

// A GPU slower than the table's reads a GEMM at the rows that run as long on the table GPU: an
// A100 (312 of the table H100's 989.4 TFLOP/s, so x 3.171) GEMM of 1,024 rows reads the table at
// 3,247 rows, times the A100's best-GEMM ratio gemm_efficiency_scale (86.9% / 80.3%). Both read
// the same sm_90 table, so the identity is exact; a large GEMM (rows past the table's edge on
// both) only gains the scale.
TEST(Device, SlowerGpusReadGemmsAtTheShapeThatRunsAsLong) {
  spec::GpuSpec h100 = Must(spec::LoadGpu("h100-sxm"));
  spec::GpuSpec a100 = Must(spec::LoadGpu("a100-80gb"));
  ASSERT_EQ(a100.peak_bf16_flops_per_s, 312e12);
  ASSERT_NEAR(a100.gemm_efficiency_scale, 0.869 / 0.803, 1e-3);
  hardware::DeviceModel fast = Must(hardware::DeviceModel::For(h100, spec::Precision::kBf16, {}));
  hardware::DeviceModel slow = Must(hardware::DeviceModel::For(a100, spec::Precision::kBf16, {}));
  const double rows = 1024 * 989.4 / 312;
  EXPECT_NEAR(slow.GemmEfficiency(1024, 2048, 2048),
              a100.gemm_efficiency_scale * fast.GemmEfficiency(rows, 2048, 2048), 1e-12);
  EXPECT_GT(slow.GemmEfficiency(1024, 2048, 2048), fast.GemmEfficiency(1024, 2048, 2048));
  EXPECT_NEAR(slow.GemmEfficiency(65536, 4096, 4096),
              a100.gemm_efficiency_scale * fast.GemmEfficiency(65536, 4096, 4096), 1e-12);
}

// framework.attention_table = cudnn-9.19 reads cuDNN 9.19's kernels as this project measured them
// on one H200 (h200_attention.csv): causal, head dim 128, 8,192 keys ran at 613.825 TFLOP/s
// forward and 520.604 backward, 0.6204 and 0.5262 of the 989.4 TFLOP/s peak; faster than the
// cuDNN figures of FlashAttention's 2023-24 benchmark that the default table holds.
TEST(Device, MeasuredCudnn919AttentionTable) {
  spec::GpuSpec gpu = Must(spec::LoadGpu("h200"));
  spec::FrameworkSpec fw;
  fw.attention_table = spec::AttentionTable::kCudnn919;
  hardware::DeviceModel d = Must(hardware::DeviceModel::For(gpu, spec::Precision::kBf16, fw));
  EXPECT_NEAR(d.AttentionForwardEfficiency(8192, 128, true), 613.825 / 989.4, 1e-9);
  EXPECT_NEAR(d.AttentionBackwardEfficiency(8192, 128, true), 520.604 / 989.4, 1e-9);
  fw.attention_table = spec::AttentionTable::kCudnn;
  hardware::DeviceModel old = Must(hardware::DeviceModel::For(gpu, spec::Precision::kBf16, fw));
  EXPECT_LT(old.AttentionForwardEfficiency(8192, 128, true),
            d.AttentionForwardEfficiency(8192, 128, true));
  EXPECT_LT(old.AttentionBackwardEfficiency(8192, 128, true),
            d.AttentionBackwardEfficiency(8192, 128, true));
}

// Llama 3 reports 41% BF16 MFU for this job (arXiv 2407.21783, Table 4); it was not used to fit
// anything, so it checks the model out of sample.
TEST(Analytical, Llama3ProductionJobNearReportedMfu) {
  StepResult r = Simulate(Must(spec::LoadJob("llama3-405b-16k")));
  EXPECT_NEAR(r.mfu, 0.41, 0.41 * 0.15);
}

// The H100 FP8 GEMM table is rescaled to the best measured FP8 GEMM (70.9% of the FP8 peak):
// no shape reaches more, so FP8 GEMMs are at most 1.42x... of 2x BF16's speed at equal efficiency.
TEST(Device, Fp8GemmsStayBelowTheMeasuredBest) {
  spec::GpuSpec gpu = Must(spec::LoadGpu("h100-sxm"));
  hardware::DeviceModel d = Must(hardware::DeviceModel::For(gpu, spec::Precision::kFp8, {}));
  ASSERT_TRUE(d.has_low_precision());
  double best = 0;
  for (double m : {256.0, 1024.0, 4096.0, 16384.0}) {
    for (double n : {256.0, 1024.0, 4096.0}) {
      for (double k : {256.0, 1024.0, 4096.0})
        best = std::max(best, d.GemmEfficiency(m, n, k, true));
    }
  }
  EXPECT_LE(best, 1402.6 / 1979.0 + 1e-9);
  EXPECT_GT(best, 0.6);
}

// NVFP4 GEMMs have no table of their own: on B200 an FP4 GEMM reads the FP8 table where an FP8 GEMM
// runs as long, at half its rows (the FP8 table's 4.5 PFLOP/s over the 9 PFLOP/s FP4 peak), and
// runs at the FP4 peak: a compute-bound 16384 x 8192 x 8192 GEMM (2.2e12 FLOP, a byte of traffic)
// takes F / (9e15 x sustained x eff_fp8(8192, 8192, 8192)) plus the kernel overhead. Hopper has no
// FP4: a model built for it has no low-precision GEMMs.
TEST(Device, Fp4GemmsReadTheFp8TableWhereTheyRunAsLong) {
  spec::GpuSpec gpu = Must(spec::LoadGpu("b200"));
  ASSERT_EQ(gpu.peak_fp4_flops_per_s, 9e15);
  spec::FrameworkSpec fw;
  hardware::DeviceModel fp4 = Must(hardware::DeviceModel::For(gpu, spec::Precision::kFp4, fw));
  hardware::DeviceModel fp8 = Must(hardware::DeviceModel::For(gpu, spec::Precision::kFp8, fw));
  ASSERT_TRUE(fp4.has_low_precision());
  for (double m : {1024.0, 16384.0}) {
    EXPECT_NEAR(fp4.GemmEfficiency(m, 8192, 8192, true),
                fp8.GemmEfficiency(m / 2, 8192, 8192, true), 1e-12);
  }
  const double flops = 2.0 * 16384 * 8192 * 8192;
  const double expected =
      flops / (9e15 * gpu.sustained_compute_fraction * fp8.GemmEfficiency(8192, 8192, 8192, true));
  EXPECT_NEAR(fp4.GemmSeconds(flops, 1, 16384, 8192, 8192, true) - fw.kernel_overhead_s, expected,
              expected * 1e-12);
  EXPECT_FALSE(
      Must(hardware::DeviceModel::For(Must(spec::LoadGpu("h100-sxm")), spec::Precision::kFp4, fw))
          .has_low_precision());
}

// A power cap slows tensor-core kernels (GEMMs, attention) by the clock fraction.
// A 16384 x 4096 x 4096 GEMM is compute-bound: (t - overhead) grows by 1 / 0.893904.
TEST(Device, PowerCapSlowsComputeNotMemory) {
  spec::GpuSpec gpu = Must(spec::LoadGpu("h100-sxm"));
  spec::FrameworkSpec fw;
  hardware::DeviceModel full = Must(hardware::DeviceModel::For(gpu, spec::Precision::kBf16, fw));
  gpu.power_limit_w = 500;
  hardware::DeviceModel capped = Must(hardware::DeviceModel::For(gpu, spec::Precision::kBf16, fw));
  double flops = 2.0 * 16384 * 4096 * 4096, bytes = 2.0 * (16384.0 * 4096 * 2 + 4096.0 * 4096);
  double a = full.GemmSeconds(flops, bytes, 16384, 4096, 4096) - fw.kernel_overhead_s;
  double b = capped.GemmSeconds(flops, bytes, 16384, 4096, 4096) - fw.kernel_overhead_s;
  EXPECT_NEAR(b / a, 1.0 / 0.893904, 1e-5);
  // Attention kernels run on the same tensor cores.
  double fa = full.AttentionSeconds(1e12, 1e6, 4096, 128, false) - fw.kernel_overhead_s;
  double fb = capped.AttentionSeconds(1e12, 1e6, 4096, 128, false) - fw.kernel_overhead_s;
  EXPECT_NEAR(fb / fa, 1.0 / 0.893904, 1e-5);
}

// Framework kernels, Llama 3 8B at 8192 tokens on one H100:
//  * eager memory-bound ops (RMSNorm, SwiGLU, RoPE, loss decomposed) are slower than compiled;
//  * per-op selective checkpointing (every other matmul and every memory-bound op re-run) costs
//    about 13% (the fidelity issue), between 8% and 20% here, and more than Megatron's
//    core-attention recomputation;
//  * in FP8, keeping the LM head in BF16 (the default of every framework) is slower than not.
TEST(Analytical, FrameworkKernelsMoveTheStep) {
  spec::JobSpec job = Job("llama3-8b", 1, 1, 1, 1, 2);
  job.workload.seq_len = 8192;
  job.framework = Must(spec::LoadFramework("torchtitan"));
  job.plan.zero = spec::ZeroMode::kZero1;
  double eager = Simulate(job).step_time_s;
  job.framework.compile = true;
  double compiled = Simulate(job).step_time_s;
  EXPECT_GT(eager, compiled * 1.02);
  job.plan.recompute = spec::Recompute::kSelective;
  double per_op = Simulate(job).step_time_s;
  EXPECT_GT(per_op, compiled * 1.08);
  EXPECT_LT(per_op, compiled * 1.20);
  job.framework.selective_recompute = spec::SelectiveRecompute::kCoreAttention;
  EXPECT_LT(Simulate(job).step_time_s, per_op);
  job.plan.recompute = spec::Recompute::kNone;
  job.plan.precision = spec::Precision::kFp8;
  double bf16_head = Simulate(job).step_time_s;
  job.framework.fp8_lm_head = true;
  EXPECT_LT(Simulate(job).step_time_s, bf16_head);
  EXPECT_LT(bf16_head, compiled);
}

// PyTorch's and Inductor's norm kernels reduce the weight gradient in a second backward pass
// (framework.norm_weight_grad_pass, on in torchtitan): Llama 3 8B on one H100, 4 micro-batches of
// 4,096 tokens, compiled (every RMSNorm one kernel each way): 2 x 32 + 1 = 65 norms, each pass
// re-reading the input and the output gradient, 4 bytes x 4,096 tokens x 4,096 wide, plus one
// kernel:
//   4 x 65 x (67,108,864 / (3.35e12 B/s x 0.80) + 4e-6 s) = 4 x 65 x 2.904062e-5 = 0.00755056 s.
// Eager, torchtitan's RMSNorm is the composite whose backward kernels already reduce it, and under
// LoRA the norms' weights are frozen: no change either way.
TEST(Analytical, NormWeightGradientPassWhereTheFrameworkRunsOne) {
  spec::JobSpec job = Job("llama3-8b", 1, 1, 1, 1, 4);
  job.framework = Must(spec::LoadFramework("torchtitan"));
  job.plan.zero = spec::ZeroMode::kZero1;
  ASSERT_TRUE(job.framework.norm_weight_grad_pass);
  ASSERT_FALSE(Must(spec::LoadFramework("megatron-core")).norm_weight_grad_pass);
  job.framework.compile = true;
  const double two_pass = Simulate(job).step_time_s;
  job.framework.norm_weight_grad_pass = false;
  EXPECT_NEAR(two_pass - Simulate(job).step_time_s, 0.00755056, 1e-7);
  job.framework.compile = false;
  const double eager_one_pass = Simulate(job).step_time_s;
  job.framework.norm_weight_grad_pass = true;
  EXPECT_EQ(Simulate(job).step_time_s, eager_one_pass);
  // LoRA freezes the norms' weights: no gradient to reduce, no pass.
  job.framework.compile = true;
  job.workload.lora_rank = 16;
  const double lora_two_pass = Simulate(job).step_time_s;
  job.framework.norm_weight_grad_pass = false;
  EXPECT_EQ(Simulate(job).step_time_s, lora_two_pass);
}

// Transformer Engine casts FP8 weights (and their transposed copies) on a step's first
// micro-batch only (framework.fp8_weight_cache, on in megatron-core). Llama 3 8B on one H100, 4
// micro-batches, delayed scaling (3 bytes per weight element to cast, 1 to transpose): the FP8
// linears hold per layer QKV 4096 x 6144 + proj 4096 x 4096 + fc1 4096 x 28672 + fc2 14336 x
// 4096 = 218,103,808 elements, 6,979,321,856 over 32 layers (the LM head stays BF16). The cache
// spares 3 of the 4 micro-batches' casts:
//   3 x 4 bytes x 6,979,321,856 / (3.35e12 B/s x 0.80) = 0.0312507 s a step.
TEST(Analytical, Fp8WeightCacheSparesAllButTheFirstMicroBatchsCasts) {
  spec::JobSpec job = Job("llama3-8b", 1, 1, 1, 1, 4);
  job.framework = Must(spec::LoadFramework("megatron-core"));
  job.plan.precision = spec::Precision::kFp8;
  ASSERT_TRUE(job.framework.fp8_weight_cache);
  const double cached = Simulate(job).step_time_s;
  job.framework.fp8_weight_cache = false;
  const double uncached = Simulate(job).step_time_s;
  EXPECT_NEAR(uncached - cached, 0.0312507, 1e-6);
  // ZeRO 3 gathers the weights for every pass: nothing is cached.
  job.plan.zero = spec::ZeroMode::kZero3;
  const double zero3_uncached = Simulate(job).step_time_s;
  job.framework.fp8_weight_cache = true;
  EXPECT_EQ(Simulate(job).step_time_s, zero3_uncached);
  // BF16 has no casts to cache.
  job.plan.zero = spec::ZeroMode::kZero1;
  job.plan.precision = spec::Precision::kBf16;
  const double bf16 = Simulate(job).step_time_s;
  job.framework.fp8_weight_cache = false;
  EXPECT_EQ(Simulate(job).step_time_s, bf16);
  // torchtitan (torchao) casts in every forward.
  EXPECT_FALSE(Must(spec::LoadFramework("torchtitan")).fp8_weight_cache);
}

// NVFP4 casts each weight element once a micro-batch (sim/analytical.cpp, CastWorkOf): an amax
// pass and a cast into 16 x 16 blocks, 2 + 2 + 0.5625 = 4.5625 bytes, which also serve the
// transposed layout. Llama 3 8B on one B200 (8e12 B/s HBM at 80%), 4 micro-batches, 6,979,321,856
// FP8-or-FP4 weight elements (the FP8 test above): the weight cache spares 3 micro-batches of it,
//   3 x 4.5625 x 6,979,321,856 / (8e12 x 0.80) = 95,529,467,904 / 6.4e12 = 0.0149265 s a step.
// And FP4 runs faster than FP8, FP8 than BF16.
TEST(Analytical, Nvfp4CastsAndSpeed) {
  spec::JobSpec job = Job("llama3-8b", 1, 1, 1, 1, 4);
  job.cluster = Must(spec::LoadCluster("dgx-b200-ib"));
  job.framework = Must(spec::LoadFramework("megatron-core"));
  job.plan.precision = spec::Precision::kFp4;
  ASSERT_EQ(job.cluster.gpu.memory_bandwidth_bytes_per_s, 8e12);
  ASSERT_EQ(job.framework.memory_fraction, 0.80);
  const double cached = Simulate(job).step_time_s;
  job.framework.fp8_weight_cache = false;
  EXPECT_NEAR(Simulate(job).step_time_s - cached, 0.0149265, 1e-6);
  job.framework.fp8_weight_cache = true;
  job.plan.precision = spec::Precision::kFp8;
  const double fp8 = Simulate(job).step_time_s;
  job.plan.precision = spec::Precision::kBf16;
  EXPECT_LT(cached, fp8);
  EXPECT_LT(fp8, Simulate(job).step_time_s);
}

// torchao's dynamic casts without torch.compile run as eager PyTorch ops (sim/analytical.cpp,
// CastWorkOf): 33 bytes an element a cast, 11 kernels, and backward casts dY a second time and X
// and W again, besides the three FP8 copies to the GEMMs' layouts. Per linear of m x k input, k x n
// weight and m x n output:
//   eager:    forward 33 (mk + kn); backward 33 mn + (2 + 33)(mk + mn) + (2 + 33) kn; both
//             together 68 (mk + kn + mn) bytes, 22 + 47 = 69 kernels;
//   compiled: forward 5 (mk + kn); backward 5 mn + 2 (mk + mn) + 2 kn; both together
//             7 (mk + kn + mn), 4 + 4 kernels.
// Llama 3 8B, one micro-batch of 4,096 tokens on one H100 (QKV 4096 x 6144, proj 4096 x 4096,
// fc1 4096 x 28672, fc2 14336 x 4096): mk = 4096 x 26,624 = 109,051,904, kn = 218,103,808,
// mn = 4096 x 43,008 = 176,160,768; 503,316,480 elements. Over 32 layers the eager casts cost
//   61 x 503,316,480 x 32 / (3.35e12 x 0.80) + 61 x 4 x 32 x 4e-6
//   = 982,473,768,960 / 2.68e12 + 0.031232 = 0.3978267 s
// more than the compiled ones. Everything else FP8 changes is the same eager or compiled, so that
// is the difference of the FP8-over-BF16 differences.
TEST(Analytical, EagerTorchaoCastsRunAsPyTorchOps) {
  spec::JobSpec job = Job("llama3-8b", 1, 1, 1, 1, 1);
  job.framework = Must(spec::LoadFramework("torchtitan"));
  job.plan.recompute = spec::Recompute::kNone;
  ASSERT_EQ(job.framework.fp8_recipe, spec::Fp8Recipe::kTensorwise);
  ASSERT_FALSE(job.framework.fp8_lm_head);
  auto fp8_minus_bf16 = [&](bool compile) {
    job.framework.compile = compile;
    job.plan.precision = spec::Precision::kFp8;
    const double fp8 = Simulate(job).step_time_s;
    job.plan.precision = spec::Precision::kBf16;
    return fp8 - Simulate(job).step_time_s;
  };
  const double eager = fp8_minus_bf16(false);
  const double compiled = fp8_minus_bf16(true);
  EXPECT_NEAR(eager - compiled, 0.3978267, 1e-6);
  // Eager FP8 is slower than eager BF16 here (measured on one H200, h200_fp8_layer.csv: 38.5 ms
  // a layer against 21.6); compiled, faster.
  EXPECT_GT(eager, 0);
  EXPECT_LT(compiled, 0);
}

TEST(Analytical, Fp8IsFasterThanBf16OnH100) {
  spec::JobSpec job = Job("llama3-70b", 64, 4, 4, 5, 128);
  double bf16 = Simulate(job).step_time_s;
  job.plan.precision = spec::Precision::kFp8;
  EXPECT_LT(Simulate(job).step_time_s, bf16);
}

}  // namespace
}  // namespace scaleplan::sim

namespace scaleplan::sim {
namespace {

// An all-MoE model may leave ffn_hidden at 0 (ValidateModel allows it): no NaN anywhere.
TEST(Analytical, AllMoeModelWithoutDenseMlpIsFinite) {
  spec::JobSpec job;
  job.model = scaleplan::testing::Must(
      spec::ParseModelYaml("base: mixtral-8x7b\nexpert_ffn_hidden: 14336\n", "m.yaml"));
  job.model.ffn_hidden = 0;
  job.cluster = scaleplan::testing::Must(spec::LoadCluster("dgx-h100-ib"));
  job.gpus = 16;
  job.plan.tp = 2;
  job.plan.ep = 8;
  job.workload.seq_len = 4096;
  job.workload.global_batch = 64;
  StepResult r = scaleplan::testing::Must(Evaluate(scaleplan::testing::Must(plan::BuildPlan(job))));
  EXPECT_TRUE(std::isfinite(r.step_time_s));
  EXPECT_GT(r.step_time_s, 0);
  EXPECT_GT(r.breakdown.ep_comm_s, 0);
}

}  // namespace
}  // namespace scaleplan::sim

namespace scaleplan::sim {
namespace {

// One Evaluator over plans of two models, and of two layer shapes, gives each plan the answer a
// fresh evaluation gives: its caches never serve another model's or shape's layer costs (a model
// differing only in moe_layer_interval, which the old hand-made cache key left out, included).
// EvaluateReused agrees with Evaluate except for the algorithm's name.
TEST(Evaluator, CachesNeverServeAnotherModelOrShape) {
  spec::JobSpec base = Must(spec::LoadJob("llama3-405b-16k"));
  spec::JobSpec wider = base;
  wider.model.hidden = 18432;  // 144 heads of 128
  wider.model.heads = 144;
  spec::JobSpec tp4 = base;
  tp4.plan.tp = 4;
  tp4.plan.dp = 0;
  tp4.plan.pp_microbatch_group = 8;  // dp 256: 8 micro-batches per replica
  spec::JobSpec moe = Must(spec::LoadJob(Fixture("small-job.yaml")));
  moe.model.experts = 8;
  moe.model.top_k = 2;
  spec::JobSpec moe_sparse = moe;
  moe_sparse.model.moe_layer_interval = 2;
  Evaluator shared(Must(hardware::DeviceModel::For(base)));
  for (const spec::JobSpec* job : {&base, &wider, &tp4, &base, &moe, &moe_sparse, &moe}) {
    plan::Plan p = Must(plan::BuildPlan(*job));
    StepResult fresh = Must(Evaluate(p));
    StepResult cached = shared.Evaluate(p);
    EXPECT_EQ(cached.step_time_s, fresh.step_time_s) << job->model.name;
    EXPECT_EQ(cached.dp_algorithm, fresh.dp_algorithm);
    const StepResult& reused = shared.EvaluateReused(p);
    EXPECT_EQ(reused.step_time_s, fresh.step_time_s);
    EXPECT_EQ(reused.stages.size(), fresh.stages.size());
    EXPECT_TRUE(reused.dp_algorithm.empty());
  }
}

// With FP8 weights cast once a step (megatron-core), a layer's cost depends on the micro-batches
// per replica: two plans that differ only in the global batch (1 and 8 micro-batches on 8 data-
// parallel ranks) keep two cached layer costs in one Evaluator, each giving what a fresh
// evaluation gives, in either order.
TEST(Evaluator, Fp8WeightCacheKeysOnTheMicroBatches) {
  spec::JobSpec one = Job("llama3-8b", 8, 1, 1, 1, 8);
  one.framework = Must(spec::LoadFramework("megatron-core"));
  one.plan.precision = spec::Precision::kFp8;
  spec::JobSpec eight = one;
  eight.workload.global_batch = 64;
  Evaluator shared(Must(hardware::DeviceModel::For(one)));
  for (const spec::JobSpec* job : {&one, &eight, &one}) {
    plan::Plan p = Must(plan::BuildPlan(*job));
    EXPECT_EQ(shared.Evaluate(p).step_time_s, Must(Evaluate(p)).step_time_s);
  }
  EXPECT_EQ(shared.cached_layer_shapes(), 2u);
}

// Full recomputation does not always keep the least. Llama 2 7B over 32 pipeline stages of one
// layer each (Megatron-Core, 8,192-token sequences, 3 micro-batches): on the last stage, which
// holds one micro-batch, full recomputation keeps the layer's input (2 s h bytes = 2 * 8192 *
// 4096 = 67,108,864) and holds the whole layer's activations again while it reruns, while
// selective recomputation of the MLP keeps what the MLP does not drop and holds the MLP's part
// again: 2 s h bytes less. With the GPU's usable memory set between the two, whole layers do
// not fit and the MLP module does, and the fill must find it (an early exit on "full does not
// fit" once missed it).
TEST(RecomputeFit, ModulesFitWhereWholeLayersDoNot) {
  spec::JobSpec job = Job("llama2-7b", 32, 1, 32, 1, 3);
  job.framework = Must(spec::LoadFramework("megatron-core"));
  job.workload.seq_len = 8192;
  job.plan.trim_edge_stages = false;
  job.plan.cp = 1;
  job.plan.micro_batch = 1;
  auto last_stage = [&](spec::Recompute recompute, uint32_t modules) {
    spec::JobSpec j = job;
    j.plan.recompute = recompute;
    j.plan.recompute_modules = modules;
    plan::MemoryReport m = plan::ComputeMemory(Must(plan::BuildPlan(j)));
    return m.stages.back().total_bytes;
  };
  const double full = last_stage(spec::Recompute::kFull, spec::kRecomputeCoreAttn);
  const double mlp = last_stage(spec::Recompute::kSelective, spec::kRecomputeMlp);
  EXPECT_DOUBLE_EQ(full - mlp, 2.0 * 8192 * 4096);
  // Usable memory halfway between the two on the last stage; the other stages must fit too.
  job.cluster.gpu.usable_memory_fraction = (full + mlp) / 2 / job.cluster.gpu.memory_bytes;
  Evaluator evaluator(Must(hardware::DeviceModel::For(job)));
  spec::JobSpec every = job;
  every.plan.recompute = spec::Recompute::kFull;
  ASSERT_FALSE(plan::ComputeMemory(Must(plan::BuildPlan(every))).fits);
  std::optional<spec::PlanSpec> fitted = FastestRecomputeThatFits(job, job.plan, evaluator);
  ASSERT_TRUE(fitted.has_value());
  EXPECT_EQ(fitted->recompute, spec::Recompute::kSelective);
  EXPECT_TRUE(fitted->recompute_modules & spec::kRecomputeMlp) << spec::RecomputeText(*fitted);
  spec::JobSpec chosen = job;
  chosen.plan = *fitted;
  EXPECT_TRUE(plan::ComputeMemory(Must(plan::BuildPlan(chosen))).fits);
  // Without the modules among the choices nothing fits.
  EXPECT_FALSE(FastestRecomputeThatFits(job, job.plan, evaluator, plan::Checks::kAll,
                                        RecomputeChoices{.modules = false, .blocks = true})
                   .has_value());
}

}  // namespace
}  // namespace scaleplan::sim
