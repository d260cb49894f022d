// torchtitan job files both ways (report/launch.h): the emitted TOML reads back to the same plan,
// a torchtitan-style file reads to the plan its keys say, bad files name the key.
#include "report/launch.h"

#include <gtest/gtest.h>

#include "core/text.h"
#include "plan/plan.h"
#include "spec/readers.h"
#include "test_util.h"

namespace scaleplan::report {
namespace {

using scaleplan::testing::Fixture;
using scaleplan::testing::Must;

spec::JobSpec Job(const std::string& model, const std::string& cluster, int64_t gpus) {
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  job.model = Must(spec::LoadModel(model));
  job.cluster = Must(spec::LoadCluster(cluster));
  job.gpus = gpus;
  job.framework = Must(spec::LoadFramework("torchtitan"));
  job.plan = job.framework.plan;
  job.plan.placement = {spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kDp, spec::Dim::kPp};
  return job;
}

void ExpectSamePlan(const plan::Plan& a, const plan::Plan& b) {
  EXPECT_EQ(b.model().name, a.model().name);
  EXPECT_EQ(b.tp, a.tp);
  EXPECT_EQ(b.cp, a.cp);
  EXPECT_EQ(b.pp, a.pp);
  EXPECT_EQ(b.vp, a.vp);
  EXPECT_EQ(b.dp, a.dp);
  EXPECT_EQ(b.global_batch, a.global_batch);
  EXPECT_EQ(b.microbatches, a.microbatches);
  EXPECT_EQ(b.job.workload.seq_len, a.job.workload.seq_len);
  const spec::PlanSpec& x = a.spec();
  const spec::PlanSpec& y = b.spec();
  EXPECT_EQ(y.micro_batch, x.micro_batch);
  EXPECT_EQ(y.zero, x.zero);
  EXPECT_EQ(y.dp_replicate, x.dp_replicate);
  EXPECT_EQ(y.schedule, x.schedule);
  EXPECT_EQ(y.trim_edge_stages, x.trim_edge_stages);
  EXPECT_EQ(b.SequenceParallel(), a.SequenceParallel());
  EXPECT_EQ(y.tp_comm_overlap && b.tp > 1, x.tp_comm_overlap && a.tp > 1);
  if (a.cp > 1) {
    EXPECT_EQ(y.cp_algorithm, x.cp_algorithm);
  }
  EXPECT_EQ(y.recompute, x.recompute);
  EXPECT_EQ(y.precision, x.precision);
  EXPECT_EQ(y.grad_reduce_dtype, x.grad_reduce_dtype);
  EXPECT_EQ(y.placement, x.placement);
  EXPECT_EQ(b.job.framework.compile, a.job.framework.compile);
  if (x.precision == spec::Precision::kFp8) {
    EXPECT_EQ(b.job.framework.fp8_recipe, a.job.framework.fp8_recipe);
    EXPECT_EQ(b.job.framework.fp8_lm_head, a.job.framework.fp8_lm_head);
  }
  EXPECT_EQ(b.job.framework.selective_recompute, a.job.framework.selective_recompute);
  EXPECT_EQ(b.spec().attention_kernel, a.spec().attention_kernel);
  EXPECT_EQ(b.spec().dp_overlap, a.spec().dp_overlap);
}

// Plans torchtitan can run (its mesh order, FSDP2 or DDP, its schedules) read back unchanged.
TEST(Torchtitan, EmittedConfigReadsBackToTheSamePlan) {
  std::vector<spec::JobSpec> jobs;
  {
    // 8B on one host: TP 2 inside FSDP (ZeRO 3), compiled, full recomputation, 4 micro-batches of
    // 2 sequences per replica (global 32 over dp 4).
    spec::JobSpec j = Job("llama3-8b", "dgx-h100-ib", 8);
    j.plan.tp = 2;
    j.plan.zero = spec::ZeroMode::kZero3;
    j.plan.micro_batch = 2;
    j.plan.recompute = spec::Recompute::kFull;
    j.framework.compile = true;
    j.workload.seq_len = 4096;
    j.workload.global_batch = 32;
    j.workload.batch_tokens = 0;
    jobs.push_back(j);
  }
  {
    // 405B on 16,384 GPUs: Llama 3's pipeline (interleaved, trimmed edges) with fsdp, async TP
    // (which torchtitan runs compiled), FP8 rowwise with the LM head in BF16.
    spec::JobSpec j = Must(spec::LoadJob("llama3-405b-16k"));
    j.framework = Must(spec::LoadFramework("torchtitan"));
    j.framework.fp8_recipe = spec::Fp8Recipe::kRowwise;
    j.framework.compile = true;
    j.plan.schedule = spec::Schedule::kInterleaved;
    j.plan.zero = spec::ZeroMode::kFsdp;
    j.plan.placement = {spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kDp, spec::Dim::kPp};
    j.plan.tp_comm_overlap = true;
    j.plan.precision = spec::Precision::kFp8;
    j.plan.recompute = spec::Recompute::kSelective;
    j.framework.selective_recompute = spec::SelectiveRecompute::kPerOp;
    jobs.push_back(j);
  }
  {
    // 70B on 128 GPUs: 1F1B over 4 untrimmed stages, CP 2 by all-to-all rotation, HSDP: dp 4 as
    // 2 replicas of ZeRO 3 over 2.
    spec::JobSpec j = Job("llama3-70b", "dgx-h100-ib", 128);
    j.plan.tp = 4;
    j.plan.pp = 4;
    j.plan.cp = 2;
    j.plan.cp_algorithm = spec::CpAlgorithm::kRing;
    j.plan.zero = spec::ZeroMode::kZero3;
    j.plan.dp_replicate = 2;
    j.plan.schedule = spec::Schedule::k1F1B;
    j.plan.trim_edge_stages = false;
    j.workload.seq_len = 8192;
    j.workload.global_batch = 64;
    j.workload.batch_tokens = 0;
    jobs.push_back(j);
  }
  for (const spec::JobSpec& job : jobs) {
    SCOPED_TRACE(job.model.name);
    plan::Plan original = Must(plan::BuildPlan(job));
    std::string toml = TorchtitanToml(original);
    // Start from another model and plan: everything must come from the file.
    spec::JobSpec read = Must(spec::LoadJob("llama3-405b-16k"));
    read.model = Must(spec::LoadModel("gpt3-175b"));
    read.cluster = job.cluster;
    read.gpus = job.gpus;
    LaunchParse parse = Must(ApplyTorchtitanToml(toml, "emitted.toml", read));
    // Every plan setting is read (the FP8 all-gather is not a plan setting).
    for (const std::string& key : parse.ignored) {
      EXPECT_TRUE(key == "quantize.linear.float8.enable_fsdp_float8_all_gather")
          << key << "\n"
          << toml;
    }
    // A plan torchtitan runs as it is gets no note.
    EXPECT_EQ(toml.find("\n# "), std::string::npos) << toml;
    ExpectSamePlan(original, Must(plan::BuildPlan(read)));
  }
}

// A torchtitan-style file for 8B on one host (tests/fixtures/torchtitan-llama3-8b.toml): FSDP over
// the 8 GPUs (shard -1: dp = 8 / 1), ZeRO 3 (reshard "default" without PP), micro-batch = the
// local batch 1, global = 1 x 8 (no global_batch_size: no accumulation), sequence 8192, per-op
// selective recomputation, BF16 (the float8 table is there but no converter), not compiled.
TEST(Torchtitan, ReadsATorchtitanJobFile) {
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  job.cluster = Must(spec::LoadCluster("dgx-h100-ib"));
  job.gpus = 8;
  std::string text = Must(spec::ReadFile(Fixture("torchtitan-llama3-8b.toml")));
  LaunchParse parse = Must(ApplyTorchtitanToml(text, "llama3_8b.toml", job));
  plan::Plan p = Must(plan::BuildPlan(job));
  EXPECT_EQ(p.model().name, "llama3-8b");
  EXPECT_EQ(p.tp * p.cp * p.pp, 1);
  EXPECT_EQ(p.dp, 8);
  EXPECT_EQ(p.spec().zero, spec::ZeroMode::kZero3);
  EXPECT_EQ(p.spec().micro_batch, 1);
  EXPECT_EQ(p.global_batch, 8);
  EXPECT_EQ(p.microbatches, 1);
  EXPECT_EQ(p.job.workload.seq_len, 8192);
  EXPECT_EQ(p.spec().recompute, spec::Recompute::kSelective);
  EXPECT_EQ(p.job.framework.selective_recompute, spec::SelectiveRecompute::kPerOp);
  EXPECT_EQ(p.spec().precision, spec::Precision::kBf16);
  EXPECT_FALSE(p.job.framework.compile);
  EXPECT_EQ(p.job.framework.name, "torchtitan");
  // Settings that do not describe the plan are listed, not silently dropped.
  std::string ignored = Join(parse.ignored, " ");
  for (const char* key : {"optimizer.lr", "training.steps", "checkpoint.interval",
                          "quantize.linear.float8.enable_fsdp_float8_all_gather"}) {
    EXPECT_NE(ignored.find(key), std::string::npos) << key << " not in: " << ignored;
  }
  EXPECT_EQ(ignored.find("parallelism."), std::string::npos) << ignored;
  EXPECT_NE(Join(parse.notes, " ").find("model llama3 8B is the preset llama3-8b"),
            std::string::npos);
}

TEST(Torchtitan, BadFilesNameTheKeyAndWhatIsAllowed) {
  std::string deep = "[a";
  for (int i = 0; i < 200; ++i) deep += ".a";
  deep += "]\n";
  struct Case {
    const char* toml;
    const char* expect;
  };
  const Case cases[] = {
      {"[parallelism]\ntensor_parallel_degree = \"8\"\n",
       "t.toml:2:26: parallelism.tensor_parallel_degree = \"8\" (allowed: an integer from 1 to "
       "16777216)"},
      {"[parallelism]\ntensor_parallel_degree = 0\n",
       "parallelism.tensor_parallel_degree = 0 (allowed: an integer from 1 to 16777216)"},
      {"[parallelism]\npipeline_parallel_schedule = \"InterleavedZeroBubble\"\n",
       "parallelism.pipeline_parallel_schedule = \"InterleavedZeroBubble\" (allowed: one of: 1F1B, "
       "GPipe, Interleaved1F1B, ZBVZeroBubble)"},
      // A header of 200 dotted parts would recurse the parser deep (thousands crash it).
      {deep.c_str(), "nests more than 64 levels"},
      {"[model]\nconverters = [\"quantize.linear.mx\"]\n",
       "model.converters holds \"quantize.linear.mx\" (allowed: quantize.linear.float8"},
      {"[activation_checkpoint]\nmode = \"selective\"\nselective_ac_option = 0\n",
       "selective_ac_option = 0 (allowed: op, or a positive integer"},
      {"parallelism = 3\n", "t.toml:1: parallelism is not a table"},
      {"[parallelism]\ntensor_parallel_degree = 8\npipeline_parallel_degree = 16\n[training]\n"
       "local_batch_size = 6\nglobal_batch_size = 2048\n",
       "t.toml:6:21: training.global_batch_size = 2048 is not a multiple of local_batch_size x "
       "data parallel ranks = 6 x 128"},
      {"[training]\nmixed_precision_reduce = \"bfloat16\"\n",
       "training.mixed_precision_reduce = \"bfloat16\" (allowed: one of: float32)"},
      {"[parallelism]\ndata_parallel_shard_degree = 0\n",
       "parallelism.data_parallel_shard_degree = 0 (allowed: -1 for the rest, or 1 to"},
      {"[parallelism]\npipeline_parallel_degree = 4\npipeline_parallel_layers_per_stage = 5\n",
       "pipeline_parallel_layers_per_stage = 5 does not split 128 layers over 4 pipeline ranks"},
      {"[parallelism]\ntensor_parallel_degree = 8\n[parallelism]\n", "t.toml:3:"},
      {"[training]\nseq_len = 1.5\n", "training.seq_len = 1.5 (allowed: an integer"},
      // A whole float is shown as written, not as the integer it is not.
      {"[training]\nseq_len = 8192.0\n", "training.seq_len = 8192.0 (allowed: an integer"},
      {"[training]\nglobal_batch_size = 0\n",
       "t.toml:2:21: training.global_batch_size = 0 (allowed: -1, one local batch a data-parallel "
       "rank, or an integer from 1 to 1099511627776)"},
      {"[activation_checkpoint]\nmode = \"sometimes\"\n",
       "activation_checkpoint.mode = \"sometimes\" (allowed: one of: none, selective, full, "
       "memory_budget)"},
      // A llama3 flavour in the wrong case is no torchtitan flavour (it kept the job's model).
      {"[model]\nname = \"llama3\"\nflavor = \"8b\"\n",
       "t.toml:3:10: model.flavor = \"8b\" is no llama3 flavour (allowed: \"8B\""},
      // Degrees whose product passes 2^63 (and any cluster): refused, not wrapped or divided by
      // zero (4194304 x 2097152 x 2097152 = 2^64).
      {"[parallelism]\ntensor_parallel_degree = 4194304\ncontext_parallel_degree = 2097152\n"
       "pipeline_parallel_degree = 2097152\n",
       "= 18446744073709551616 GPUs (allowed: at most the cluster's"},
      // A typo of a key the reader asks for is refused (ignored, TP would stay 1).
      {"[parallelism]\ntensor_paralel_degree = 8\n",
       "t.toml:2:25: parallelism.tensor_paralel_degree is one typo away from "
       "parallelism.tensor_parallel_degree, which the file does not give"},
  };
  for (const Case& c : cases) {
    spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
    Result<LaunchParse> r = ApplyTorchtitanToml(c.toml, "t.toml", job);
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
  }
}

// A file that gives every degree states the GPU count: tensor 2 x context 1 x pipeline 2 x
// data_parallel_replicate 2 x data_parallel_shard 4 = 32 GPUs replaces the job's 16,384 (and
// says so); where the caller keeps the job's count, 32 against 16,384 is an error; shard -1
// keeps the job's count.
TEST(Torchtitan, EveryDegreeGivenStatesTheGpuCount) {
  const std::string toml =
      "[parallelism]\ntensor_parallel_degree = 2\npipeline_parallel_degree = 2\n"
      "data_parallel_replicate_degree = 2\ndata_parallel_shard_degree = 4\n";
  spec::JobSpec job = Must(spec::LoadJob("llama3-405b-16k"));
  ASSERT_EQ(job.gpus, 16384);
  LaunchParse parse = Must(ApplyTorchtitanToml(toml, "t.toml", job));
  EXPECT_EQ(job.gpus, 32);
  ASSERT_FALSE(parse.changed.empty());
  EXPECT_EQ(parse.changed[0],
            "gpus: 16384 -> 32 (tensor 2 x context 1 x pipeline 2 x data_parallel_replicate 2 x "
            "data_parallel_shard 4)");
  plan::Plan p = Must(plan::BuildPlan(job));
  EXPECT_EQ(p.dp, 8);
  spec::JobSpec kept = Must(spec::LoadJob("llama3-405b-16k"));
  Result<LaunchParse> refused = ApplyTorchtitanToml(toml, "t.toml", kept, /*keep_gpus=*/true);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("t.toml:5:30: parallelism degrees tensor 2 x context "
                                            "1 x pipeline 2 x data_parallel_replicate 2 x "
                                            "data_parallel_shard 4 = 32 GPUs, but the job is "
                                            "given 16384"),
            std::string::npos)
      << refused.status().message();
  spec::JobSpec rest = Must(spec::LoadJob("llama3-405b-16k"));
  Must(ApplyTorchtitanToml("[parallelism]\ntensor_parallel_degree = 8\n", "t.toml", rest,
                           /*keep_gpus=*/true));
  EXPECT_EQ(rest.gpus, 16384);
}

// Without pipelining a torchtitan local batch is one micro-batch; the emitter writes the
// micro-batch there (not the replica's whole batch), and global_batch_size for the accumulation.
TEST(Torchtitan, LocalBatchIsTheMicroBatchWithoutPipelining) {
  spec::JobSpec j = Job("llama3-8b", "dgx-h100-ib", 8);
  j.plan.micro_batch = 1;
  j.workload.global_batch = 256;
  j.workload.batch_tokens = 0;
  std::string toml = TorchtitanToml(Must(plan::BuildPlan(j)));
  EXPECT_NE(toml.find("local_batch_size = 1\n"), std::string::npos) << toml;
  EXPECT_NE(toml.find("global_batch_size = 256\n"), std::string::npos) << toml;
  EXPECT_EQ(toml.find("pipeline_parallel_schedule"), std::string::npos) << toml;
}

// compile.components names what torchtitan compiles (its default, since 2025: the model and the
// loss); the older training.compile compiled the blocks only. The emitter writes what the
// framework says.
TEST(Torchtitan, CompileComponentsSayWhetherTheLossIsCompiled) {
  auto read = [](const char* toml) {
    spec::JobSpec job = Job("llama3-8b", "dgx-h100-ib", 8);
    Must(ApplyTorchtitanToml(toml, "t.toml", job));
    return job.framework;
  };
  spec::FrameworkSpec whole = read("[compile]\nenable = true\n");
  EXPECT_TRUE(whole.compile);
  EXPECT_TRUE(whole.compile_loss);
  spec::FrameworkSpec blocks = read("[compile]\nenable = true\ncomponents = [\"model\"]\n");
  EXPECT_TRUE(blocks.compile);
  EXPECT_FALSE(blocks.compile_loss);
  spec::FrameworkSpec legacy = read("[training]\ncompile = true\n");
  EXPECT_TRUE(legacy.compile);
  EXPECT_FALSE(legacy.compile_loss);
  spec::JobSpec job = Job("llama3-8b", "dgx-h100-ib", 8);
  job.framework = Must(spec::LoadFramework("torchtitan"));
  job.framework.compile = true;
  EXPECT_NE(TorchtitanToml(Must(plan::BuildPlan(job))).find("components = [\"model\"]\n"),
            std::string::npos);
  job.framework.compile_loss = true;
  EXPECT_NE(TorchtitanToml(Must(plan::BuildPlan(job))).find("components = [\"model\", \"loss\"]"),
            std::string::npos);
}

// optimizer.implementation: fused by default (torchtitan's), foreach and for-loop unfused; the
// emitter writes foreach for an unfused step and leaves the default otherwise.
TEST(Torchtitan, OptimizerImplementationIsTheAdamStep) {
  auto read = [](const char* toml) {
    spec::JobSpec job = Job("llama3-8b", "dgx-h100-ib", 8);
    job.framework.optimizer_step = spec::OptimizerStep::kUnfused;  // the file decides
    Must(ApplyTorchtitanToml(toml, "t.toml", job));
    return job.framework.optimizer_step;
  };
  EXPECT_EQ(read("[optimizer]\nname = \"AdamW\"\n"), spec::OptimizerStep::kFused);
  EXPECT_EQ(read("[optimizer]\nimplementation = \"foreach\"\n"), spec::OptimizerStep::kUnfused);
  EXPECT_EQ(read("[optimizer]\nimplementation = \"for-loop\"\n"),
            spec::OptimizerStep::kUnfused);
  spec::JobSpec job = Job("llama3-8b", "dgx-h100-ib", 8);
  job.framework = Must(spec::LoadFramework("torchtitan"));
  EXPECT_EQ(TorchtitanToml(Must(plan::BuildPlan(job))).find("implementation"), std::string::npos);
  job.framework.optimizer_step = spec::OptimizerStep::kUnfused;
  EXPECT_NE(TorchtitanToml(Must(plan::BuildPlan(job))).find("[optimizer]\nimplementation = \"foreach\""),
            std::string::npos);
}

}  // namespace
}  // namespace scaleplan::report

namespace scaleplan::report {
namespace {

// What torchtitan cannot run as planned is said in '#' notes, and reads back as torchtitan runs
// it: zb-h1 as 1F1B, a BF16 reduction in FP32, async TP without compile off, ZeRO 1 as fsdp.
TEST(Torchtitan, TheEmitterNotesWhatTorchtitanRunsDifferently) {
  spec::JobSpec j = Job("llama3-70b", "dgx-h100-ib", 64);
  j.plan.tp = 8;
  j.plan.pp = 4;
  j.plan.schedule = spec::Schedule::kZbH1;
  j.plan.trim_edge_stages = false;
  j.plan.zero = spec::ZeroMode::kZero1;
  j.plan.grad_reduce_dtype = spec::GradReduceDtype::kBf16;
  j.plan.tp_comm_overlap = true;
  j.framework.compile = false;
  j.workload.global_batch = 64;
  j.workload.batch_tokens = 0;
  std::string toml = TorchtitanToml(Must(plan::BuildPlan(j)));
  for (const char* note : {"# schedule zb-h1", "# grad_reduce_dtype = bf16",
                           "# tp_comm_overlap needs torch.compile", "# zero 1 runs as FSDP2"}) {
    EXPECT_NE(toml.find(note), std::string::npos) << note << "\n" << toml;
  }
  spec::JobSpec read = j;
  Must(ApplyTorchtitanToml(toml, "emitted.toml", read));
  EXPECT_EQ(read.plan.schedule, spec::Schedule::k1F1B);
  EXPECT_EQ(read.plan.grad_reduce_dtype, spec::GradReduceDtype::kFp32);
  EXPECT_FALSE(read.plan.tp_comm_overlap);
  EXPECT_EQ(read.plan.zero, spec::ZeroMode::kFsdp);
}

// ZB-V is torchtitan's ZBVZeroBubble (two stages a rank in a V) and reads back as zb-v with vp 2;
// Megatron-LM has no such schedule, and its arguments say what they launch instead.
TEST(Torchtitan, ZeroBubbleVRoundTrips) {
  spec::JobSpec j = Job("llama3-70b", "dgx-h100-ib", 64);
  j.plan.tp = 8;
  j.plan.pp = 4;
  j.plan.vp = 2;
  j.plan.schedule = spec::Schedule::kZbV;
  j.plan.trim_edge_stages = false;
  j.workload.global_batch = 64;
  j.workload.batch_tokens = 0;
  const plan::Plan p = Must(plan::BuildPlan(j));
  std::string toml = TorchtitanToml(p);
  EXPECT_NE(toml.find("pipeline_parallel_schedule = \"ZBVZeroBubble\""), std::string::npos) << toml;
  spec::JobSpec read = j;
  read.plan.schedule = spec::Schedule::k1F1B;
  read.plan.vp = 1;
  Must(ApplyTorchtitanToml(toml, "emitted.toml", read));
  EXPECT_EQ(read.plan.schedule, spec::Schedule::kZbV);
  EXPECT_EQ(read.plan.vp, 2);
  EXPECT_NE(MegatronArgs(p).find("# schedule zb-v has no Megatron-LM argument: these arguments "
                                 "launch interleaved 1F1B (looped chunks)"),
            std::string::npos);
}

// What Megatron-LM cannot express of a model is said, not silently replaced: BLOOM's ALiBi is
// launched as no position embedding (Megatron-LM's default is a learned table), OPT's ReLU MLP as
// GeLU's (same matrices); both say so.
TEST(Launch, MegatronArgumentsSayWhatTheyCannotExpress) {
  spec::JobSpec bloom = Job("bloom-176b", "selene", 56);
  bloom.plan.tp = 8;
  bloom.plan.pp = 7;  // 70 layers
  std::string args = MegatronArgs(Must(plan::BuildPlan(bloom)));
  // Megatron-LM's default would be a learned table: "none" keeps the cost without it.
  EXPECT_NE(args.find("--position-embedding-type none"), std::string::npos) << args;
  EXPECT_NE(args.find("# position_embedding = alibi has no Megatron-LM argument"),
            std::string::npos)
      << args;
  spec::JobSpec opt = Job("opt-175b", "selene", 64);
  opt.plan.tp = 8;
  opt.plan.pp = 8;
  opt.workload.seq_len = 2048;  // OPT's learned table has 2,050 rows
  args = MegatronArgs(Must(plan::BuildPlan(opt)));
  EXPECT_NE(args.find("--position-embedding-type learned_absolute"), std::string::npos) << args;
  EXPECT_NE(args.find("# activation = relu has no Megatron-LM argument"), std::string::npos)
      << args;
}

// The job's torchtitan framework (its calibrated factors) is kept; another becomes torchtitan's
// preset, with a note. A pipelined file that accumulates gradients says the bubble is smaller.
TEST(Torchtitan, KeepsATorchtitanFrameworkAndNotesAccumulation) {
  spec::JobSpec job = Job("llama3-70b", "dgx-h100-ib", 64);
  job.framework.memory_fraction = 0.4;  // as a calibration would set it
  const char* toml =
      "[parallelism]\ntensor_parallel_degree = 8\npipeline_parallel_degree = 4\n"
      "pipeline_parallel_first_stage_less_layers = 0\npipeline_parallel_last_stage_less_layers = "
      "0\n[training]\nlocal_batch_size = 4\nglobal_batch_size = 32\n";
  // dp = 64 / 32 = 2; 32 / (4 x 2) = 4 accumulation passes of 4 micro-batches.
  LaunchParse parse = Must(ApplyTorchtitanToml(toml, "t.toml", job));
  EXPECT_DOUBLE_EQ(job.framework.memory_fraction, 0.4);
  EXPECT_NE(Join(parse.notes, " ")
                .find("torchtitan runs 4 accumulation passes of 4 "
                      "micro-batches"),
            std::string::npos)
      << Join(parse.notes, " | ");
  spec::JobSpec other = Job("llama3-70b", "dgx-h100-ib", 64);
  other.framework = Must(spec::LoadFramework("megatron-core"));
  LaunchParse swapped = Must(ApplyTorchtitanToml(toml, "t.toml", other));
  EXPECT_EQ(other.framework.name, "torchtitan");
  EXPECT_NE(Join(swapped.notes, " ").find("framework megatron-core becomes torchtitan's preset"),
            std::string::npos);
}

}  // namespace
}  // namespace scaleplan::report
