#include "validate/validate.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "report/calibrate_report.h"
#include "test_util.h"
#include "validate/calibrate.h"

namespace scaleplan::validate {
namespace {

using scaleplan::testing::Must;

std::string Data(const std::string& file) {
  return std::string(SCALEPLAN_TEST_DIR) + "/../data/validation/" + file;
}

// Ranks of [1,2,3,4] and [1,3,2,4] differ by 1 in two places: rho = 1 - 6*2/(4*15) = 0.8.
TEST(Spearman, HandValues) {
  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8, 1e-12);
  EXPECT_NEAR(Spearman({1, 2, 3}, {30, 20, 10}), -1.0, 1e-12);
  EXPECT_EQ(Spearman({1, 2}, {1, 2}), 0.0);  // too few rows to rank
}

TEST(Validate, CommonSchemaRowsAreModeledOrExplained) {
  std::string csv =
      "model,params_b,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "dp,ep,fsdp,"
      "seq_len,micro_batch,global_batch,tokens_per_batch,precision,recompute,tokens_per_s_per_gpu,"
      "tflops_per_gpu,"
      "mfu,other_metric,notes,row_quote,source\n"
      "LLAMA3-8B,,32,4096,14336,32,8,128256,H100,8,1,1,1,,,,,8192,1,64,,BF16,,10000,,,,,,test\n"
      "Mystery-7B,,,,,,,,H100,8,1,1,1,,,,,4096,1,64,,BF16,,9000,,,,,,test\n";
  FileReport report = Must(ValidateText(csv, "rows.csv", {}));
  ASSERT_EQ(report.rows.size(), 2u);
  const Row& modeled = report.rows[0];
  EXPECT_TRUE(modeled.skipped.empty()) << modeled.skipped;
  EXPECT_EQ(modeled.metric, "tokens_per_s_per_gpu");
  EXPECT_NEAR(modeled.error_pct, 100.0 * (modeled.predicted - 10000.0) / 10000.0, 1e-9);
  EXPECT_FALSE(modeled.assumptions.empty());
  // The step the row is explained by: 64 sequences of 8,192 tokens over 8 GPUs in step_time_s
  // give the predicted tokens/s/GPU, and the breakdown's parts add up to that step.
  ASSERT_TRUE(modeled.step_modeled);
  EXPECT_NEAR(modeled.predicted, 64.0 * 8192 / 8 / modeled.step_time_s, 1e-6 * modeled.predicted);
  EXPECT_NEAR(modeled.breakdown.Total(), modeled.step_time_s, 1e-9 * modeled.step_time_s);
  EXPECT_GT(modeled.breakdown.compute_s, 0);
  EXPECT_FALSE(report.rows[1].step_modeled);
  EXPECT_NE(report.rows[1].skipped.find("architecture not given"), std::string::npos);
  EXPECT_EQ(report.summary.modeled, 1);
  EXPECT_EQ(report.summary.skipped, 1);
}

// A row that ran but cannot run as stated (its peak above the GPU's capacity, plan/memory.h), and
// does not say how it checkpointed, ran with the fastest recomputation under which it could: its
// peak within the capacity, tight included (it is known to have run; the reserve is an
// assumption). Llama 3 8B on 8 H100s, TP 1, 8,192 tokens, micro-batch 2, ZeRO 2 (fsdp
// SHARD_GRAD_OP), against 84,943,715,697 bytes of capacity (0.95 x that usable, 80,696,529,912):
//   state 8,030,261,248 x 4 bytes (2 + 16/8) = 32,121,044,992; head (norm, LM head input, FP32
//   softmax) 2 x 4,336,943,104 = 8,673,886,208; a layer keeps 139,400 x 16,384 = 2,283,929,600
//   (Memory tests): 116,164,608,000 - 2,283,929,600 = 113,880,678,400 bytes as stated.
// - Whole layers (Megatron's block method): the first n recomputed keep their input, 2 x 16384 x
//   4096 = 134,217,728, and one layer's 2,283,929,600 is held while it re-runs:
//   116,164,608,000 - 2,149,711,872 n is within the capacity from n = 14.52, so n = 15:
//   83,918,929,920 bytes, tight (above the usable 80,696,529,912; n = 17 would fit under it).
// - Modules: the norms free nothing (fused into the linears, model.h); the MLP frees 2 x
//   704,643,072 a layer and fits (70,192,807,936 bytes), but re-running 32 MLPs costs more than
//   15 whole layers (an MLP is about 64% of a layer's forward here): the blocks win.
// A row that says "none" stays out of memory, as stated.
TEST(Validate, UnstatedCheckpointingTakesTheFastestThatFits) {
  std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,recompute,fsdp,tokens_per_s_per_gpu,source\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,2,64,BF16,,SHARD_GRAD_OP,10000,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,2,64,BF16,none,SHARD_GRAD_OP,10000,"
      "x\n";
  FileReport r = Must(ValidateText(csv, "rows.csv", {}));
  ASSERT_EQ(r.rows.size(), 2u);
  const Row& filled = r.rows[0];
  ASSERT_TRUE(filled.memory_checked);
  EXPECT_FALSE(filled.fits);
  EXPECT_EQ(filled.memory_verdict, plan::MemoryVerdict::kTight);
  EXPECT_DOUBLE_EQ(filled.peak_memory_bytes, 83918929920.0);
  bool said = false;
  for (const std::string& a : filled.assumptions)
    said = said || a.find("recompute full (first 15 layers of each chunk)") != std::string::npos;
  EXPECT_TRUE(said);
  const Row& stated = r.rows[1];
  EXPECT_FALSE(stated.fits);
  EXPECT_DOUBLE_EQ(stated.peak_memory_bytes, 113880678400.0);
  EXPECT_EQ(stated.memory_verdict, plan::MemoryVerdict::kOutOfMemory);  // above 84,943,715,697
  // Recomputing costs time: the filled row predicts less throughput.
  EXPECT_LT(filled.predicted, stated.predicted);
}

// Under FP8 a row that cannot run as stated may also have held its weights in FP8 alone
// (plan.fp8_params; no row states it). Llama 2 70B LoRA on 8 H100s, TP 4, 8,192 tokens (as
// MLPerf's): with the BF16 copy beside the FP8 cast it is above the GPU's capacity, and FP8
// weights alone fit with no recomputation, which is faster than any recomputation: the fill
// holds them so, and says it, whether or not the row states its checkpointing (line 3 says
// none). In BF16 the weights have no lower precision to live in and the row as stated is tight
// (80,814,039,040 bytes of 84,943,715,697; the test above), so it runs as stated, with neither
// assumption, and is called tight. FP8 alone holds each
// frozen block linear in one byte, not BF16's two: per layer QKV 8192 x 10240, output 8192 x
// 8192, MLP 3 x 8192 x 28672 = 855,638,016 parameters, x 80 / TP 4 = 17,112,760,320 bytes fewer
// than the BF16 row as stated (line 5), whose activations FP8 only shrinks further.
TEST(Validate, Fp8RowThatDoesNotFitHoldsItsWeightsInFp8Alone) {
  const std::string head =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,recompute,lora_rank,tokens_per_s_per_gpu,"
      "source\n";
  const std::string row =
      "LLAMA2-70B,80,8192,28672,64,8,32000,H100,8,4,1,1,,8192,1,8,{},{},16,2000,x\n";
  std::string csv = head;
  for (auto [precision, recompute] : std::vector<std::pair<const char*, const char*>>{
           {"FP8", ""}, {"FP8", "none"}, {"BF16", ""}, {"BF16", "none"}}) {
    csv += fmt::format(fmt::runtime(row), precision, recompute);
  }
  FileReport r = Must(ValidateText(csv, "lora.csv", {}));
  ASSERT_EQ(r.rows.size(), 4u);
  auto said = [](const Row& row, const std::string& what) {
    for (const std::string& a : row.assumptions) {
      if (a.find(what) != std::string::npos) return true;
    }
    return false;
  };
  const Row& fp8 = r.rows[0];
  const Row& fp8_none = r.rows[1];
  const Row& bf16 = r.rows[2];
  const Row& bf16_none = r.rows[3];
  ASSERT_TRUE(fp8.memory_checked && bf16_none.memory_checked);
  EXPECT_TRUE(fp8.fits);
  EXPECT_TRUE(said(fp8, "weights held in fp8 alone"));
  EXPECT_FALSE(said(fp8, "recompute "));
  EXPECT_TRUE(said(fp8_none, "weights held in fp8 alone"));
  EXPECT_DOUBLE_EQ(fp8_none.predicted, fp8.predicted);
  EXPECT_DOUBLE_EQ(fp8_none.peak_memory_bytes, fp8.peak_memory_bytes);
  EXPECT_FALSE(said(bf16, "alone"));
  EXPECT_FALSE(said(bf16, "recompute "));
  EXPECT_EQ(bf16.memory_verdict, plan::MemoryVerdict::kTight);
  EXPECT_DOUBLE_EQ(bf16.predicted, bf16_none.predicted);
  EXPECT_GT(fp8.predicted, bf16.predicted);
  EXPECT_LE(fp8.peak_memory_bytes, bf16_none.peak_memory_bytes - 17112760320.0);
  // Neither a framework that cannot hold FP8 weights alone (torchtitan: torchao's float8 keeps
  // BF16 weights; framework.fp8_param_gather false) nor ZeRO 0 (Megatron's --fp8-param-gather
  // needs the distributed optimizer) gets the assumption: both rows, out of memory as stated,
  // recompute instead.
  FileReport other = Must(ValidateText("framework,zero," + head + "torchtitan,," +
                                           fmt::format(fmt::runtime(row), "FP8", "") + ",0," +
                                           fmt::format(fmt::runtime(row), "FP8", ""),
                                       "other.csv", {}));
  ASSERT_EQ(other.rows.size(), 2u);
  for (const Row& o : other.rows) {
    ASSERT_TRUE(o.skipped.empty()) << o.skipped;
    EXPECT_TRUE(said(o, "fastest recomputation under which it could run"));
    EXPECT_FALSE(said(o, "alone"));
  }
}

// An H800 row runs on the H800 cluster: the H100's compute with NVLink at 200 GB/s a direction,
// so the same TP 8 plan that moves its activations over NVLink predicts less than on an H100.
// PCIe cards are not modeled as the SXM part of their name: skipped, with what is allowed.
TEST(Validate, GpuTypesMapToTheirOwnSystems) {
  const std::string head =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tokens_per_s_per_gpu,source\n";
  const std::string row = "LLAMA3-8B,32,4096,14336,32,8,128256,{},8,8,1,1,,8192,1,64,BF16,10000,x\n";
  std::string csv = head;
  for (const char* gpu :
       {"H100 SXM NVLink", "H800 SXM", "H100 PCIe", "A100 80GB PCIe", "H100 NVL", "H200 NVL"}) {
    csv += fmt::format(fmt::runtime(row), gpu);
  }
  FileReport r = Must(ValidateText(csv, "gpus.csv", {}));
  ASSERT_EQ(r.rows.size(), 6u);
  const Row& h100 = r.rows[0];
  const Row& h800 = r.rows[1];
  ASSERT_TRUE(h100.skipped.empty()) << h100.skipped;
  ASSERT_TRUE(h800.skipped.empty()) << h800.skipped;
  EXPECT_NE(std::find(h800.assumptions.begin(), h800.assumptions.end(), "cluster dgx-h800-ib"),
            h800.assumptions.end());
  EXPECT_LT(h800.predicted, h100.predicted);
  for (size_t i = 2; i < 6; ++i) {
    EXPECT_NE(r.rows[i].skipped.find("no cluster preset for GPU type "), std::string::npos)
        << r.rows[i].skipped;
    EXPECT_NE(r.rows[i].skipped.find("no PCIe card"), std::string::npos) << r.rows[i].skipped;
  }
}

// --by release: four rows of one configuration (so one prediction P tokens/s/GPU) measured at
// 10,000 (release a), 8,000 (b), 12,500 (a) and 10,000 (blank). Errors 100 (P - m) / m:
// e1 = P/100 - 100, e2 = P/80 - 100, e3 = P/125 - 100, e4 = e1. Group a (first seen, then b, then
// the blank): signed mean (e1 + e3) / 2 = 0.009 P - 100, |e| mean likewise when P exceeds both
// measurements; group b: e2 alone; the file: (2 e1 + e2 + e3) / 4.
TEST(Validate, RowsSummarizedByAColumn) {
  const std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tokens_per_s_per_gpu,release,source\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,8,1,1,,8192,1,64,BF16,10000,a,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,8,1,1,,8192,1,64,BF16,8000,b,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,8,1,1,,8192,1,64,BF16,12500,a,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,8,1,1,,8192,1,64,BF16,10000,,x\n";
  Options options;
  options.group_by = "release";
  FileReport r = Must(ValidateText(csv, "releases.csv", options));
  ASSERT_EQ(r.rows.size(), 4u);
  const double p = r.rows[0].predicted;
  for (const Row& row : r.rows) {
    ASSERT_TRUE(row.skipped.empty()) << row.skipped;
    EXPECT_DOUBLE_EQ(row.predicted, p);
  }
  EXPECT_EQ(r.group_by, "release");
  ASSERT_EQ(r.groups.size(), 3u);
  EXPECT_EQ(r.groups[0].value, "a");
  EXPECT_EQ(r.groups[1].value, "b");
  EXPECT_EQ(r.groups[2].value, "");
  const double e1 = p / 100 - 100, e2 = p / 80 - 100, e3 = p / 125 - 100;
  EXPECT_EQ(r.groups[0].summary.modeled, 2);
  EXPECT_NEAR(r.groups[0].summary.mean_error_pct, 0.009 * p - 100, 1e-9);
  EXPECT_NEAR(r.groups[0].summary.mean_abs_error_pct, (std::fabs(e1) + std::fabs(e3)) / 2, 1e-9);
  EXPECT_NEAR(r.groups[1].summary.mean_error_pct, e2, 1e-9);
  EXPECT_EQ(r.groups[2].summary.modeled, 1);
  EXPECT_NEAR(r.summary.mean_error_pct, (2 * e1 + e2 + e3) / 4, 1e-9);

  // A column the file does not have is an error naming it and what the file has; so is --by on
  // a file without columns.
  options.group_by = "relase";
  Result<FileReport> typo = ValidateText(csv, "releases.csv", options);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("no column relase"), std::string::npos);
  EXPECT_NE(typo.status().message().find("did you mean release?"), std::string::npos);
  EXPECT_NE(typo.status().message().find("tokens_per_s_per_gpu, release, source"),
            std::string::npos);
}

// Cells the reader could misread are skipped with the reason, never read as some other number:
// a step time under two names that disagree (10 and 5 once were read as "105"), a name's digit
// before the number ("v2 5762" once read as 2), a second point, an FSDP mode it does not know.
TEST(Validate, AmbiguousCellsAreSkippedWithTheirReason) {
  const std::string head =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,fsdp,tokens_per_s_per_gpu,step_time_s,"
      "iteration_time_s,source\n";
  const std::string row = "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,8,1,1,,8192,1,64,BF16,{},x\n";
  std::string csv = head;
  for (const char* cells :
       {",,10,5", ",,4.5,4.5", ",v2 5762,,", ",5.762.1,,", "HYBRID_SHARD,9000,,", ",,,4"}) {
    csv += fmt::format(fmt::runtime(row), cells);
  }
  FileReport r = Must(ValidateText(csv, "cells.csv", {}));
  ASSERT_EQ(r.rows.size(), 6u);
  EXPECT_NE(r.rows[0].skipped.find("step_time_s = 10 and iteration_time_s = 5 disagree"),
            std::string::npos)
      << r.rows[0].skipped;
  ASSERT_TRUE(r.rows[1].skipped.empty()) << r.rows[1].skipped;
  EXPECT_EQ(r.rows[1].measured, 4.5);
  EXPECT_NE(r.rows[2].skipped.find("'v2 5762' has text stuck to its number"), std::string::npos)
      << r.rows[2].skipped;
  EXPECT_NE(r.rows[3].skipped.find("'5.762.1' has text stuck to its number"), std::string::npos)
      << r.rows[3].skipped;
  EXPECT_NE(r.rows[4].skipped.find("fsdp = 'HYBRID_SHARD' is not a sharding this reader knows"),
            std::string::npos)
      << r.rows[4].skipped;
  ASSERT_TRUE(r.rows[5].skipped.empty()) << r.rows[5].skipped;
  EXPECT_EQ(r.rows[5].measured, 4.0);  // iteration_time_s alone
}

// Three rows whose measurements all tie have no rank correlation: undefined, not 0. Rows 1 and 2
// differ only in the micro-batch, so their predictions differ and only the measurements tie.
TEST(Validate, SpearmanOfTiedMeasurementsIsUndefined) {
  const std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tokens_per_s_per_gpu,source\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,8,1,1,,8192,1,64,BF16,6000,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,8,1,1,,8192,2,64,BF16,6000,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,4,1,1,,8192,1,64,BF16,6000,x\n";
  FileReport r = Must(ValidateText(csv, "ties.csv", {}));
  EXPECT_EQ(r.summary.modeled, 3);
  EXPECT_FALSE(r.summary.spearman_defined);
  FileReport untied =
      Must(ValidateText(csv.substr(0, csv.rfind("6000,x")) + "7000,x\n", "ties.csv", {}));
  EXPECT_TRUE(untied.summary.spearman_defined);
}

TEST(Validate, UnknownSchemaIsAnError) {
  Result<FileReport> r = ValidateText("a,b\n1,2\n", "x.csv", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("matches no known schema"), std::string::npos);
}

// The accuracy targets of docs/ACCURACY.md, held as regression checks: the BF16 H100 rows of
// dgxc.csv and the SC21 Table 1 rows of megatron.csv.
TEST(Accuracy, DgxcH100Bf16) {
  Options o;
  o.gpu_filter = "H100";
  o.precision_filter = "BF16";
  FileReport r = Must(ValidateFile(Data("dgxc.csv"), o));
  EXPECT_GE(r.summary.modeled, 100);
  EXPECT_LE(r.summary.mean_abs_error_pct, 10.0);
  EXPECT_GE(r.summary.spearman, 0.9);
}

// NVIDIA's recipes run with the nemo-perf framework's plan: its BF16 gradient buffer (NeMo's
// performance scripts, recalled) and Transformer Engine's FP8 input casts. dgxc.csv line 42,
// Llama 3.1 8B FP8 on 8 H100s (TP 1, CP 2, DP 4, micro-batch 1, 8192 tokens), P = 8,030,261,248
// parameters:
//   weights (BF16 + FP8 copy) 3P = 24,090,783,744; gradients 2P = 16,060,522,496;
//   Adam 12P / 8 = 12,045,391,872; one micro-batch of 4,096 tokens (8192 / CP 2) through 32 layers
//   at 120,968 bytes a token (Ops.Fp8LinearsSaveFp8Inputs) = 15,855,517,696; output layer: norm
//   input and statistics 33,570,816, LM head input 33,554,432, FP32 softmax 4 x 4096 x 128256 =
//   2,101,346,304; ring CP buffers 2 x 2 x 1024 x 8192 = 33,554,432: 70,254,241,792 bytes
//   (65.4 GiB) against 75.15 GiB usable. With FP32 gradients and BF16 inputs it was 82.6 GiB.
// Of the 326 modeled rows, 6 exceed the usable memory as stated: Nemotron-4 340B on 128 GPUs
// (DP 2; 79.4 and 80.3 GiB, above the GPU's 79.1) and DeepSeek-V3 on 512 H100s (86 GiB), which
// the table does not say how they checkpointed, take the fastest recomputation (or FP8 weights)
// under which they could run (UnstatedCheckpointingTakesTheFastestThatFits); DeepSeek-V3 on 1,024
// (77.9 GiB) is tight and runs as stated. None is called out of memory.
TEST(Validate, NvidiaRecipesFitWithTheirFrameworkPlan) {
  FileReport r = Must(ValidateFile(Data("dgxc.csv"), {}));
  bool found = false;
  for (const Row& row : r.rows) {
    if (row.line != 42) continue;
    found = true;
    ASSERT_TRUE(row.memory_checked);
    EXPECT_TRUE(row.fits);
    EXPECT_DOUBLE_EQ(row.peak_memory_bytes, 70254241792.0);
    bool said = false;
    for (const std::string& a : row.assumptions)
      said = said || a.find("BF16 gradients") != std::string::npos;
    EXPECT_TRUE(said);
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(r.summary.out_of_memory, 0);
  EXPECT_EQ(r.summary.tight, 1);
  for (const Row& row : r.rows) {
    if (row.line != 2) continue;  // DeepSeek-V3 BF16 on 1,024 H100s
    EXPECT_EQ(row.memory_verdict, plan::MemoryVerdict::kTight);
    for (const std::string& a : row.assumptions) EXPECT_EQ(a.find("recompute"), std::string::npos);
  }
}

// A DGX Cloud recipe's expert layout is read from its configuration: Grok-1 on 128 GB200s states
// "EP=8; ETP=4" (dgxc.csv line 27), so each rank holds 8 / 8 = 1 expert split 4 ways, not all 8:
// 64 layers x 3 x 6144 x 32768 / 4 = 9.7B expert parameters, and the plan fits in the 186 GB.
// Llama 4 Maverick on 512 H100s (line 208) states EP=128 with ETP=4.
TEST(Validate, RecipesReadTheirExpertLayout) {
  FileReport r = Must(ValidateFile(Data("dgxc.csv"), {}));
  int found = 0;
  for (const Row& row : r.rows) {
    if (row.line == 27) {
      ++found;
      EXPECT_NE(row.label.find("EP 8 ETP 4"), std::string::npos) << row.label;
      EXPECT_TRUE(row.memory_checked && row.fits);
    }
    if (row.line == 208) {
      ++found;
      EXPECT_NE(row.label.find("EP 128 ETP 4"), std::string::npos) << row.label;
    }
  }
  EXPECT_EQ(found, 2);
}

// NVIDIA's recipes that leave vp out ("VP NA") run the fastest interleaving that fits, and say so:
// Nemotron-4 340B on 256 H100s (PP 8, 96 layers) chooses vp 12, the value the same recipe gives
// where it states vp (dgxc.csv rows 307 and 368-382), not vp 1's 7/16 bubble.
TEST(Validate, RecipesWithoutVpRunTheTunedChoice) {
  Options o;
  o.gpu_filter = "H100";
  o.precision_filter = "BF16";
  FileReport r = Must(ValidateFile(Data("dgxc.csv"), o));
  bool found = false;
  for (const Row& row : r.rows) {
    if (row.line != 297) continue;
    found = true;
    EXPECT_NE(row.label.find("VP 12 (chosen)"), std::string::npos) << row.label;
    bool said = false;
    for (const std::string& a : row.assumptions)
      said = said || a.find("vp 12 (the row does not give vp") == 0;
    EXPECT_TRUE(said);
    EXPECT_LT(std::fabs(row.error_pct), 10.0);
  }
  EXPECT_TRUE(found);
}

TEST(Accuracy, Sc21Table1) {
  Options o;
  o.match = "Table 1 weak";
  FileReport r = Must(ValidateFile(Data("megatron.csv"), o));
  EXPECT_EQ(r.summary.modeled, 10);
  EXPECT_LE(r.summary.mean_abs_error_pct, 10.0);
}

// The Selene runs of Korthikanti et al. 2022 fitted nothing (the A100 factor comes from SC21
// Table 1): the fidelity issue's goal for them is <= 4% mean error (2.2% on 2026-12-01; 4.5%
// before the backward's asynchronous TP collectives were modeled).
TEST(Accuracy, SeleneHeldOut) {
  FileReport r = Must(ValidateFile(Data("korthikanti2022.csv"), {}));
  EXPECT_EQ(r.summary.modeled, 8);
  EXPECT_LE(r.summary.mean_abs_error_pct, 4.0);
}

// FP8 is priced per recipe on the block's linears only, with H100's FP8 GEMM table rescaled to the
// best measured FP8 GEMM: uncalibrated, the FP8 rows of NeMo and the DGX Cloud recipes (none used
// to fit anything) land near their BF16 accuracy. Before this model they were off by 27% and 45%.
TEST(Accuracy, Fp8RowsWithoutFitting) {
  FileReport nemo = Must(ValidateFile(Data("nemo.csv"), {}));
  EXPECT_LE(nemo.summary.mean_abs_error_pct, 10.0);
  Options o;
  o.gpu_filter = "H100";
  o.precision_filter = "FP8";
  FileReport dgxc = Must(ValidateFile(Data("dgxc.csv"), o));
  EXPECT_GE(dgxc.summary.modeled, 100);
  EXPECT_LE(dgxc.summary.mean_abs_error_pct, 12.0);
}

// NVFP4 (no FP4 measurement fitted anything: the FP4 peaks are the datasheets', the GEMM
// efficiency the FP8 table's): Megatron-Bridge's 18 Llama 3 70B and 405B NVFP4 rows on GB200 and
// GB300 land at 9.9% mean error (2026-12-03); Nemotron 3 Super's stay skipped (no architecture).
TEST(Accuracy, MegatronBridgeNvfp4RowsWithoutFitting) {
  Options o;
  o.precision_filter = "FP4";
  FileReport r = Must(ValidateFile(Data("megatron-bridge.csv"), o));
  EXPECT_EQ(r.summary.modeled, 18);
  EXPECT_LE(r.summary.mean_abs_error_pct, 12.0);
}

// FP8 over BF16 on the DGX Cloud recipes' H100 configurations that ran in both precisions (the
// same label but for the precision; the first row of each label): measured 1.15-1.60x over 84
// pairs, mean 1.409 (the fidelity issue: only the converted GEMMs gain, casts cost). Every
// predicted ratio lands inside the measured range, and their mean within 4% of the measured mean:
// 1.378 with FP8 weights cast once a step (framework.fp8_weight_cache), 1.334 (-5.3%) before.
// (Those figures are of 2026-12-03.) Pairs whose FP8 row holds its weights in FP8 alone
// (validate's fill for a row that does not fit as stated, since 2026-12-04) are left out: they
// compare a BF16 plan that recomputes with an FP8 one that need not, not two precisions:
// Nemotron-4 340B on 128 GPUs (1.73x predicted). Pairs with a recomputation fill on either side
// stay, as before.
TEST(Accuracy, Fp8OverBf16RatiosInsideTheMeasuredRange) {
  Options o;
  o.gpu_filter = "H100";
  FileReport dgxc = Must(ValidateFile(Data("dgxc.csv"), o));
  auto key = [](std::string label) {
    for (const char* p : {"BF16", "FP8"}) {
      if (size_t at = label.find(p); at != std::string::npos) label.replace(at, std::strlen(p), "*");
    }
    return label;
  };
  auto filled = [](const Row& r) {
    for (const std::string& a : r.assumptions) {
      if (a.find("alone, no BF16 copy") != std::string::npos) return true;
    }
    return false;
  };
  std::map<std::string, const Row*> bf16, fp8;
  for (const Row& r : dgxc.rows) {
    if (!r.skipped.empty() || filled(r)) continue;
    auto& side = r.label.find("FP8") != std::string::npos ? fp8 : bf16;
    side.emplace(key(r.label), &r);
  }
  double lo = 1e9, hi = 0, measured_sum = 0, predicted_sum = 0;
  int pairs = 0;
  for (const auto& [k, f] : fp8) {
    auto b = bf16.find(k);
    if (b == bf16.end()) continue;
    const double measured = f->measured / b->second->measured;
    lo = std::min(lo, measured);
    hi = std::max(hi, measured);
    measured_sum += measured;
    predicted_sum += f->predicted / b->second->predicted;
    ++pairs;
  }
  ASSERT_GE(pairs, 80);
  for (const auto& [k, f] : fp8) {
    auto b = bf16.find(k);
    if (b == bf16.end()) continue;
    const double predicted = f->predicted / b->second->predicted;
    EXPECT_GE(predicted, lo) << k;
    EXPECT_LE(predicted, hi) << k;
  }
  EXPECT_NEAR(predicted_sum / measured_sum, 1.0, 0.04);
}

// Rows map through their framework: llm-foundry's FSDP FULL_SHARD is ZeRO 3, torchtitan's rows
// get per-op selective checkpointing, the 500 W cap and (row 2, 3) torch.compile.
TEST(Validate, RowsMapThroughTheirFramework) {
  FileReport tt = Must(ValidateFile(Data("torchtitan-8gpu.csv"), {}));
  ASSERT_EQ(tt.rows.size(), 3u);
  auto has = [](const Row& row, const std::string& what) {
    for (const std::string& a : row.assumptions) {
      if (a.find(what) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(tt.rows[0], "framework torchtitan"));
  EXPECT_TRUE(has(tt.rows[0], "power limit 500 W"));
  EXPECT_FALSE(has(tt.rows[0], "torch.compile"));
  EXPECT_TRUE(has(tt.rows[1], "torch.compile"));
  // Measured: compile 1.157x eager, FP8 1.280x compiled BF16. The model sees both gains, the FP8
  // one inside the range measured across torchtitan's FP8 runs (1.16-1.44x, the fidelity issue).
  double compile_gain = tt.rows[1].predicted / tt.rows[0].predicted;
  double fp8_gain = tt.rows[2].predicted / tt.rows[1].predicted;
  // 1.09 while the model read eager RMSNorm's intermediates as BF16; 1.127 with FP32 and the
  // complex RoPE left eager under torch.compile (model.h).
  EXPECT_GT(compile_gain, 1.10);
  EXPECT_LT(compile_gain, 1.25);
  EXPECT_GT(fp8_gain, 1.16);
  EXPECT_LT(fp8_gain, 1.44);
  FileReport lf = Must(ValidateFile(Data("llmfoundry.csv"), {}));
  EXPECT_EQ(lf.summary.modeled, 137);
  EXPECT_TRUE(has(lf.rows[0], "framework llm-foundry"));
}

// A row may give the step time instead of a throughput (Korthikanti et al. report iteration
// times). Its source selects Megatron-LM as that paper ran it. The step predicted is the one whose
// tokens/s/GPU the same job reports: tokens per step / (step time x GPUs). (The measured value
// below is a placeholder: only the mapping and the metric are checked.)
TEST(Validate, StepTimeRowsAndTheirFramework) {
  std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,recompute,step_time_s,source\n"
      "GPT 22B,48,6144,24576,64,,51200,A100 80GB,8,8,1,1,,2048,1,4,BF16,selective,1.0,"
      "\"Korthikanti et al., arXiv:2205.05198\"\n";
  FileReport r = Must(ValidateText(csv, "selene.csv", {}));
  ASSERT_EQ(r.rows.size(), 1u);
  const Row& row = r.rows[0];
  ASSERT_TRUE(row.skipped.empty()) << row.skipped;
  EXPECT_EQ(row.metric, "step_time_s");
  bool framework = false;
  for (const std::string& a : row.assumptions)
    framework =
        framework || a.find("framework megatron-lm-2022 (from the source): ZeRO 0, SP,") == 0;
  EXPECT_TRUE(framework);
  std::string as_tokens = csv;
  as_tokens.replace(as_tokens.find("step_time_s"), 11, "tokens_per_s_per_gpu");
  FileReport t = Must(ValidateText(as_tokens, "selene.csv", {}));
  EXPECT_NEAR(t.rows[0].predicted * row.predicted * 8.0, 4.0 * 2048.0, 1e-6 * 4.0 * 2048.0);
}

// Megatron-Bridge's columns (data/validation/megatron-bridge.csv): the task names fine-tuning,
// which is skipped; ep is read (and an EP wider than the stage's dp * cp ranks takes expert TP 1);
// a numeric fsdp is Megatron FSDP (ZeRO 3); FP8-CS is current (tensorwise) scaling; NVFP4 is FP4,
// refused on an H100 (no FP4 tensor cores) and modeled on a GB200; a model without architecture
// columns finds its preset by name (Qwen3_30B_a3B -> qwen3-30b-a3b). Measured values are
// placeholders: only the mapping is checked.
TEST(Validate, MegatronBridgeColumnsMapToThePlan) {
  std::string csv =
      "task,model,gpu_type,num_gpus,precision,global_batch,micro_batch,seq_len,fsdp,tp,pp,cp,vp,"
      "ep,tokens_per_s_per_gpu,layers,hidden,ffn_hidden,heads,kv_heads,vocab\n"
      "LoRA,LLAMA3_70B,H100,8,FP8,32,1,4096,,2,4,1,20,n/a,2643,80,8192,28672,64,8,128256\n"
      "Pre-Training,Qwen3_30B_a3B,H100,16,FP8,1024,1,4096,0,1,1,1,n/a,16,8826,,,,,,\n"
      "Pre-Training,Qwen3_235B_a22B,H100,256,FP8,8192,1,4096,0,2,8,1,4,32,1712,,,,,,\n"
      "Pre-Training,LLAMA3_8B,H100,8,FP8-CS,128,1,8192,8,1,1,1,n/a,1,14451,32,4096,14336,32,8,"
      "128256\n"
      "Pre-Training,LLAMA3_70B,H100,64,NVFP4,256,1,8192,0,4,8,1,5,n/a,1664,80,8192,28672,64,8,"
      "128256\n"
      "Pre-Training,LLAMA3_70B,GB200,64,NVFP4,256,1,8192,0,2,4,1,5,n/a,4864,80,8192,28672,64,8,"
      "128256\n";
  FileReport r = Must(ValidateText(csv, "bridge.csv", {}));
  ASSERT_EQ(r.rows.size(), 6u);
  auto has = [](const Row& row, const std::string& what) {
    for (const std::string& a : row.assumptions) {
      if (a.find(what) != std::string::npos) return true;
    }
    return false;
  };
  // LoRA is modeled with the recipes' rank (the table does not give one).
  ASSERT_TRUE(r.rows[0].skipped.empty()) << r.rows[0].skipped;
  EXPECT_TRUE(has(r.rows[0], "LoRA rank 32 on QKV, attention output, fc1 and fc2"));
  ASSERT_TRUE(r.rows[1].skipped.empty()) << r.rows[1].skipped;
  EXPECT_NE(r.rows[1].label.find("EP 16"), std::string::npos) << r.rows[1].label;
  EXPECT_TRUE(has(r.rows[1], "architecture of preset qwen3-30b-a3b"));
  ASSERT_TRUE(r.rows[2].skipped.empty()) << r.rows[2].skipped;
  EXPECT_NE(r.rows[2].label.find("EP 32"), std::string::npos) << r.rows[2].label;
  // 256 GPUs / (TP 2 x PP 8) = 16 data-parallel ranks, fewer than EP 32.
  EXPECT_TRUE(has(r.rows[2], "expert TP 1 (ep 32 does not divide the 16 data-parallel ranks"));
  ASSERT_TRUE(r.rows[3].skipped.empty()) << r.rows[3].skipped;
  EXPECT_TRUE(has(r.rows[3], "fsdp 8: parameters, gradients and optimizer state sharded"));
  EXPECT_TRUE(has(r.rows[3], "FP8 with current scaling"));
  EXPECT_NE(r.rows[4].skipped.find("plan.precision = fp4 needs a GPU with FP4 tensor cores"),
            std::string::npos)
      << r.rows[4].skipped;
  ASSERT_TRUE(r.rows[5].skipped.empty()) << r.rows[5].skipped;
  EXPECT_TRUE(has(r.rows[5], "NVFP4: the transformer blocks' linears in FP4"));
}

// A row without architecture columns finds its preset by name, spelled as papers and tables do.
// Every row is modeled (TP 4 divides each model's heads); the measured value is a placeholder, low
// enough for the largest (MT-NLG: 3.2e12 FLOP a token, 100 tokens/s/GPU is 32% of an H100).
TEST(Validate, ModelNamesFindTheirPresets) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"Llama 3.3 70B", "llama3-70b"},    {"LLaMA-65B", "llama1-65b"},
      {"LLaMA 7B", "llama2-7b"},          {"Llama-3.2-1B", "llama3.2-1b"},
      {"Llama 3.2 3B", "llama3.2-3b"},    {"Mistral 7B", "mistral-7b"},
      {"Mixtral 8x22B", "mixtral-8x22b"}, {"Qwen2.5-72B", "qwen2.5-72b"},
      {"Qwen2.5 7B", "qwen2.5-7b"},       {"Qwen3-32B", "qwen3-32b"},
      {"BLOOM-176B", "bloom-176b"},       {"OPT-175B", "opt-175b"},
      {"MT-NLG 530B", "sc21-gpt-529.6b"}, {"DeepSeek-V2", "deepseek-v2"}};
  std::string csv =
      "model,gpu_type,num_gpus,tp,pp,seq_len,micro_batch,global_batch,precision,"
      "tokens_per_s_per_gpu\n";
  for (const auto& [name, preset] : names) csv += name + ",H100,64,4,4,2048,1,512,BF16,100\n";
  // DeepSeek-V2-Lite (16B) is not DeepSeek-V2 (236B): no preset, skipped with the reason.
  csv += "DeepSeek-V2-Lite,H100,64,4,4,2048,1,512,BF16,100\n";
  FileReport r = Must(ValidateText(csv, "names.csv", {}));
  ASSERT_EQ(r.rows.size(), names.size() + 1);
  EXPECT_EQ(r.rows.back().skipped,
            "architecture not given and no preset named like DeepSeek-V2-Lite");
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_TRUE(r.rows[i].skipped.empty()) << names[i].first << ": " << r.rows[i].skipped;
    bool found = false;
    for (const std::string& a : r.rows[i].assumptions) {
      found = found || a.find("architecture of preset " + names[i].second) != std::string::npos;
    }
    EXPECT_TRUE(found) << names[i].first;
  }
}

// A file whose only measurement is MFU (as papers report it) is read in the common schema: the
// MFU is scored as the TFLOP/s it states, mfu x the H100's dense BF16 peak of 989.4 TFLOP/s:
// 40% -> 395.76, the same row as one stating tflops_per_gpu 395.76 (same prediction, same error).
// An FP8 row's MFU is of the FP8 peak (1,978.9 TFLOP/s: 20% -> 395.78); above 100% is skipped.
// flops_formula says how the row counted: Llama 3 8B at 2,048 tokens is 6N = 6 x 7,504,658,432
// (its weight matrices: 8,030,261,248 less the input embedding 525,336,576 and the norms'
// 266,240) = 45,027,950,592 FLOP a token, + 12 x 32 x 4096 x 2048 = 3,221,225,472 with full
// attention (Megatron-Core's, the default) or + 6 x 32 x 4096 x 2049 = 1,611,399,168 causal: the
// causal row's predicted TFLOP/s are 46,639,349,760 / 48,249,176,064 of the default's.
TEST(Validate, MfuAloneIsScoredAsTheTflopsItStates) {
  const std::string row = "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,2048,1,64,";
  const std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tflops_per_gpu,mfu,flops_formula,mfu_peak\n" +
      row + "BF16,,40%,,\n" + row + "BF16,395.76,,,\n" + row + "FP8,,20,,\n" + row +
      "BF16,,140%,,\n" + row + "BF16,,40%,causal,\n" + row + "BF16,,40%,hfu,\n" + row +
      "BF16,,0.4,,\n" + row + "FP8,,40,,bf16\n" + row + "BF16,,60,,fp8\n";
  FileReport r = Must(ValidateText(csv, "mfu.csv", {}));
  ASSERT_EQ(r.rows.size(), 9u);
  ASSERT_TRUE(r.rows[0].skipped.empty()) << r.rows[0].skipped;
  EXPECT_EQ(r.rows[0].metric, "tflops_per_gpu");
  EXPECT_NEAR(r.rows[0].measured, 0.40 * 989.4, 0.05);
  EXPECT_DOUBLE_EQ(r.rows[0].predicted, r.rows[1].predicted);
  EXPECT_NEAR(r.rows[0].error_pct, r.rows[1].error_pct, 0.02);
  auto has = [](const Row& row, const std::string& what) {
    return std::find(row.assumptions.begin(), row.assumptions.end(), what) != row.assumptions.end();
  };
  EXPECT_TRUE(has(r.rows[0],
                  "tflops_per_gpu 395.8 from mfu 40% of the h100-sxm's dense bf16 peak (989.4 "
                  "TFLOP/s)"));
  EXPECT_TRUE(has(r.rows[0],
                  "model FLOPs 6N + 12 L q s a token (full attention: Megatron-Core's, "
                  "PaLM's MFU)"));
  ASSERT_TRUE(r.rows[2].skipped.empty()) << r.rows[2].skipped;
  EXPECT_NEAR(r.rows[2].measured, 0.20 * 1978.9, 0.1);
  EXPECT_EQ(r.rows[3].skipped, "mfu = 140% is above the peak (allowed: 0% to 100%, or blank)");
  ASSERT_TRUE(r.rows[4].skipped.empty()) << r.rows[4].skipped;
  EXPECT_TRUE(has(r.rows[4], "model FLOPs 6N + 6 L q (s + 1) a token (causal attention)"));
  EXPECT_NEAR(r.rows[4].predicted / r.rows[0].predicted, 46639349760.0 / 48249176064.0, 1e-12);
  EXPECT_EQ(
      r.rows[5].skipped.rfind("flops_formula = 'hfu' is not understood (allowed: megatron", 0), 0u)
      << r.rows[5].skipped;
  // A fraction is not read as a percent (0.4 would be 0.4%, some 4 TFLOP/s).
  EXPECT_EQ(
      r.rows[6].skipped.rfind("mfu = 0.4 reads as 0.4% (allowed: a percentage from 1 to 100", 0),
      0u)
      << r.rows[6].skipped;
  // An FP8 run's MFU of the BF16 peak (as torchtitan reports it): the BF16 row's TFLOP/s.
  ASSERT_TRUE(r.rows[7].skipped.empty()) << r.rows[7].skipped;
  EXPECT_DOUBLE_EQ(r.rows[7].measured, r.rows[0].measured);
  // A BF16 run said to reach 60% of the FP8 peak: 0.6 x 1,978.9 = 1,187.3 TFLOP/s in full-attention
  // FLOPs, x 46,639,349,760 / 48,249,176,064 = 1,147.7 in causal ones, 116.0% of the BF16 peak the
  // run had: skipped, the message naming the column the row wrote.
  EXPECT_EQ(r.rows[8].skipped.rfind("mfu = 60 is not a measurement a GPU could make", 0), 0u)
      << r.rows[8].skipped;
  EXPECT_NE(r.rows[8].skipped.find("116.0% of the h100-sxm's nameplate dense bf16 peak"),
            std::string::npos)
      << r.rows[8].skipped;
  // An A100 has no FP8 peak to divide by.
  std::string a100 = csv.substr(0, csv.find('\n') + 1) + row + "BF16,,40,,fp8\n";
  a100.replace(a100.find(",H100,"), 6, ",A100 80GB,");
  FileReport none = Must(ValidateText(a100, "a100.csv", {}));
  ASSERT_EQ(none.rows.size(), 1u);
  EXPECT_EQ(none.rows[0].skipped,
            "mfu of the fp8 peak: the a100-80gb has none (allowed: mfu_peak bf16, or a GPU with "
            "fp8 tensor cores)");
}

// A measurement above what the GPU could do is skipped with the reason, whichever metric states
// it. Llama 3 8B at 2,048 tokens: 6 x 7,504,658,432 (its weight matrices, as in
// MfuAloneIsScoredAsTheTflopsItStates above) = 45,027,950,592 + 6 x 32 x 4096 x 2049 =
// 1,611,399,168 (causal attention, ModelFlopsPerToken) = 46,639,349,760 FLOP a token; 1e6
// tokens/s/GPU would be 4.66e16 FLOP/s, 4,714% of the H100's 9.894e14. 22,000 tokens/s/GPU
// (1.026e15 FLOP/s, 103.7%) is refused too; 20,000 (94.3%) is modeled. 1e6 TFLOP/s is 1e18 FLOP/s
// by any formula.
TEST(Validate, MeasurementsAboveThePeakAreSkipped) {
  std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tokens_per_s_per_gpu,tflops_per_gpu,source\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,2048,1,64,BF16,1e6,,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,2048,1,64,BF16,22000,,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,2048,1,64,BF16,20000,,x\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,2048,1,64,BF16,,1e6,x\n";
  FileReport r = Must(ValidateText(csv, "peak.csv", {}));
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_NE(r.rows[0].skipped.find("tokens_per_s_per_gpu = 1e+06 is not a measurement a GPU "
                                   "could make"),
            std::string::npos)
      << r.rows[0].skipped;
  EXPECT_NE(r.rows[0].skipped.find("(allowed: a measurement of at most 100% of the peak)"),
            std::string::npos);
  EXPECT_NE(r.rows[1].skipped.find("103.7% of the h100-sxm's nameplate dense bf16 peak"),
            std::string::npos)
      << r.rows[1].skipped;
  EXPECT_TRUE(r.rows[2].skipped.empty()) << r.rows[2].skipped;
  EXPECT_NE(r.rows[3].skipped.find("tflops_per_gpu = 1e+06 is not a measurement"),
            std::string::npos)
      << r.rows[3].skipped;
}

// Each modeled training row carries the memory model's verdict on its plan, and the summary counts
// the published plans it calls out of memory. Llama 3 8B on 8 GPUs, 2,048-token sequences, ZeRO 1
// (the generic framework's default): 16 GB of BF16 weights, 32 GB of FP32 gradients, 12 / 8 x 8 =
// 12 GB of sharded Adam state and about 34 x 2048 x 4096 x 32 = 9 GB of activations, some 69 GB
// (64 GiB) against 75 GiB usable: fits. Llama 3 405B on 8 GPUs with TP 8 holds 405e9 x 2 / 8 =
// 101 GB of BF16 weights per GPU alone, more than an 80 GB H100 has.
TEST(Validate, RowsCarryTheMemoryVerdict) {
  std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tokens_per_s_per_gpu,source\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,2048,1,64,BF16,10000,x\n"
      "LLAMA3-405B,126,16384,53248,128,8,128256,H100,8,8,1,1,,8192,1,8,BF16,100,x\n";
  FileReport r = Must(ValidateText(csv, "memory.csv", {}));
  ASSERT_EQ(r.rows.size(), 2u);
  ASSERT_TRUE(r.rows[0].skipped.empty()) << r.rows[0].skipped;
  ASSERT_TRUE(r.rows[1].skipped.empty()) << r.rows[1].skipped;
  EXPECT_TRUE(r.rows[0].memory_checked);
  EXPECT_TRUE(r.rows[0].fits);
  EXPECT_TRUE(r.rows[1].memory_checked);
  EXPECT_FALSE(r.rows[1].fits);
  EXPECT_GT(r.rows[1].peak_memory_bytes, 405e9 * 2 / 8);
  EXPECT_GT(r.rows[1].peak_memory_bytes, r.rows[1].usable_memory_bytes);
  EXPECT_EQ(r.rows[0].memory_verdict, plan::MemoryVerdict::kFits);
  EXPECT_EQ(r.rows[1].memory_verdict, plan::MemoryVerdict::kOutOfMemory);
  EXPECT_EQ(r.summary.out_of_memory, 1);
  EXPECT_EQ(r.summary.tight, 0);
}

// A published run whose counted tensors take part of the GPU's reserve is tight, not a miss of
// the memory model. Llama 3 8B on 8 H100s, 10,240-token sequences, micro-batch 1, ZeRO 2
// (SHARD_GRAD_OP), no recomputation:
//   weights, gradients, Adam: 8,030,261,248 params x (2 + 16 / 8) = 32,121,044,992 bytes
//   activations: 32 layers x 139,400 bytes a token (memory_test) x 10,240 = 45,678,592,000
//   head: final norm 2 x 10,240 x 4096 + 4 x 10,240 = 83,927,040; LM head input 83,886,080;
//     FP32 softmax 4 x 10,240 x 128,256 = 5,253,365,760
//   peak 83,220,815,872 bytes: above 0.95 x 84,943,715,697 = 80,696,529,912 usable, under the
//   84,943,715,697 the GPU has.
TEST(Validate, TightRowIsNotAMiss) {
  std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,recompute,fsdp,tokens_per_s_per_gpu,source\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,10240,1,64,BF16,none,SHARD_GRAD_OP,10000,"
      "x\n";
  FileReport r = Must(ValidateText(csv, "tight.csv", {}));
  ASSERT_EQ(r.rows.size(), 1u);
  ASSERT_TRUE(r.rows[0].skipped.empty()) << r.rows[0].skipped;
  EXPECT_DOUBLE_EQ(r.rows[0].peak_memory_bytes, 83220815872.0);
  EXPECT_FALSE(r.rows[0].fits);
  EXPECT_EQ(r.rows[0].memory_verdict, plan::MemoryVerdict::kTight);
  EXPECT_EQ(r.summary.out_of_memory, 0);
  EXPECT_EQ(r.summary.tight, 1);
}

// A precision or recompute cell the model cannot read skips its row with the value and what is
// allowed; it is not run as BF16 or without recomputation. Prose the tables use still reads.
TEST(Validate, UnknownPrecisionOrRecomputeSkipsTheRow) {
  const std::string head =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,recompute,tokens_per_s_per_gpu,source\n";
  const std::string row = "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,2048,1,64,";
  std::string csv = head + row + "FP32,,10000,x\n" + row + "BF16,sometimes,10000,x\n" + row +
                    ",,10000,x\n" + row + "mixed (16-bit),off,10000,x\n";
  FileReport r = Must(ValidateText(csv, "runs.csv", {}));
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_EQ(r.rows[0].skipped,
            "precision = 'FP32' is not modeled (allowed: BF16, FP16, 16-bit or mixed precision, "
            "FP8 and its recipes, FP4 (NVFP4), or blank for BF16)");
  EXPECT_EQ(r.rows[1].skipped,
            "recompute = 'sometimes' (allowed: none, full or selective, or blank)");
  ASSERT_TRUE(r.rows[2].skipped.empty()) << r.rows[2].skipped;
  EXPECT_NE(std::find(r.rows[2].assumptions.begin(), r.rows[2].assumptions.end(),
                      "BF16 (the row gives no precision)"),
            r.rows[2].assumptions.end());
  EXPECT_TRUE(r.rows[3].skipped.empty()) << r.rows[3].skipped;
  // Both modeled rows are the same run: BF16 without recomputation.
  EXPECT_DOUBLE_EQ(r.rows[2].predicted, r.rows[3].predicted);
}

// dgxc.csv's header: the DGX Cloud recipes' columns.
constexpr const char* kDgxcHeader =
    "source,table_title,gpu_type,num_gpus,precision,title_config,config_table_row,"
    "layers_override,gbs_override,tp_override,pp_override,vp_override,cp_override,step_time_s,"
    "tokens_per_s_total,tokens_per_s_per_gpu_derived,mfu,tflops_per_gpu,notes\n";

// A DGX Cloud recipe's parallel configuration must read: a key that is not a whole number (NA
// only where a recipe has none) or a key given twice skips the row; it is not run as TP 1 or as
// the last TP.
TEST(Validate, RecipeConfigurationMustRead) {
  const std::string head = kDgxcHeader;
  auto row = [](const std::string& config) {
    return "x,Llama 3.1 8b BF16,H100,8,BF16,,\"" + config +
           "\",,,,,,,12.27,85459,10682.4,62.47%,,\n";
  };
  const std::string good =
      "Size=8b; GPUs=8; SeqLen=8192; Layers=32; TP=1; PP=1; CP=2; EP=NA; DP=4; VP=NA; MBS=1; "
      "GBS=128; GA=32";
  std::string bad_tp = good, twice = good, other_gpus = good, other_dp = good;
  bad_tp.replace(bad_tp.find("TP=1"), 4, "TP=abc");
  twice += "; TP=4";
  other_gpus.replace(other_gpus.find("GPUs=8"), 6, "GPUs=1024");
  other_dp.replace(other_dp.find("DP=4"), 4, "DP=2");
  const std::string fp8 = good + "; Precision=FP8";
  FileReport r = Must(ValidateText(head + row(good) + row(bad_tp) + row(twice) + row(other_gpus) +
                                       row(fp8) + row(other_dp),
                                   "dgxc.csv", {}));
  ASSERT_EQ(r.rows.size(), 6u);
  EXPECT_TRUE(r.rows[0].skipped.empty()) << r.rows[0].skipped;
  EXPECT_EQ(r.rows[1].skipped,
            "config_table_row TP = 'abc' (allowed: a whole number from 1 to 2^31)");
  EXPECT_EQ(r.rows[2].skipped, "config_table_row gives TP twice (allowed: each key once)");
  // A configuration of another GPU count or precision describes another run.
  EXPECT_EQ(r.rows[3].skipped,
            "config_table_row GPUs = 1024 contradicts num_gpus = 8 (allowed: the row's own count)");
  EXPECT_EQ(r.rows[4].skipped,
            "config_table_row Precision = 'FP8' contradicts precision = 'BF16' (allowed: the "
            "row's own precision)");
  // A stated DP the GPUs do not leave (8 / (TP 1 x CP 2 x PP 1) = 4, not 2) is the recipe's at
  // another count: the plan follows the GPUs, and says so; the prediction is the good row's.
  EXPECT_TRUE(r.rows[5].skipped.empty()) << r.rows[5].skipped;
  EXPECT_NE(std::find(r.rows[5].assumptions.begin(), r.rows[5].assumptions.end(),
                      "dp 4 from the GPUs, not the config_table_row's DP = 2"),
            r.rows[5].assumptions.end());
  EXPECT_DOUBLE_EQ(r.rows[5].predicted, r.rows[0].predicted);
}

// A recipe row that states the sequence but not the batch gives it through its own cells: the
// good row of the test below without GBS and GA has 85,459 tokens/s x 12.27 s / 8,192 = 128.0
// sequences a step, 32 micro-batches of 1 on each of 4 replicas: modeled as the stated row is,
// with the assumption named. At 12.37 s the same cells give 129.04: not whole micro-batches on
// every replica (to 0.5%), so still skipped; so is a row whose mfu contradicts its throughput.
TEST(Validate, RecipeBatchFollowsFromThroughputAndStepTime) {
  const std::string head = kDgxcHeader;
  auto row = [](const std::string& config, const std::string& measured) {
    return "x,Llama 3.1 8b BF16,H100,8,BF16,,\"" + config + "\",,,,,,," + measured + ",,\n";
  };
  const std::string stated =
      "Size=8b; GPUs=8; SeqLen=8192; Layers=32; TP=1; PP=1; CP=2; EP=NA; DP=4; VP=NA; MBS=1; "
      "GBS=128; GA=32";
  const std::string unstated =
      "Size=8b; GPUs=8; SeqLen=8192; Layers=32; TP=1; PP=1; CP=2; EP=NA; DP=4; VP=NA; MBS=1";
  FileReport r = Must(ValidateText(
      head + row(stated, "12.27,85459,10682.4,") + row(unstated, "12.27,85459,10682.4,") +
          row(unstated, "12.37,85459,10682.4,") + row(unstated, "12.27,85459,10682.4,62.47%") +
          row(unstated, "12.27,85459,10682.4,20%"),
      "dgxc.csv", {}));
  ASSERT_EQ(r.rows.size(), 5u);
  ASSERT_TRUE(r.rows[1].skipped.empty()) << r.rows[1].skipped;
  EXPECT_DOUBLE_EQ(r.rows[1].predicted, r.rows[0].predicted);
  EXPECT_NE(std::find(r.rows[1].assumptions.begin(), r.rows[1].assumptions.end(),
                      "global batch 128 from the row's throughput and step time (85459 tokens/s "
                      "x 12.27 s / sequence 8192; the row does not state it)"),
            r.rows[1].assumptions.end());
  EXPECT_EQ(r.rows[2].skipped, "global batch not given");
  // Where the row has an mfu, it must side with the throughput (0.7 to 1.4 of it): 62.47% does
  // (RecipeRowsAreReconciled... below), 20% says 10,682.4 x 20 / 62.47 = 3,420 tokens/s, a third.
  EXPECT_TRUE(r.rows[3].skipped.empty()) << r.rows[3].skipped;
  EXPECT_EQ(r.rows[4].skipped, "global batch not given");
}

// A recipe row states its measurement three ways: tokens/s, step time (with the batch and
// sequence) and MFU. The good row agrees with itself: 128 x 8192 / 12.27 s / 8 GPUs = 10,682.3
// tokens/s/GPU, and MFU 62.47% of 989.4 TFLOP/s over this model's 6N + attention FLOPs per token
// (about 6.1e10) is about 10,100, within the 0.7-1.4 that counts as agreement.
//   - half the throughput at the same step time and MFU: the throughput cell is wrong, the row
//     is skipped with the three rates;
//   - a configuration saying GBS 32 (GA 8) under the good row's measurement: the MFU confirms
//     the throughput, so the batch is 10,682.4 x 8 x 12.27 / 8192 = 128.0, and the prediction
//     is the good row's.
TEST(Validate, RecipeRowsAreReconciledWithTheirStepTimeAndMfu) {
  const std::string head = kDgxcHeader;
  auto row = [](const std::string& config, const std::string& measured) {
    return "x,Llama 3.1 8b BF16,H100,8,BF16,,\"" + config + "\",,,,,,," + measured + ",,\n";
  };
  const std::string config =
      "Size=8b; GPUs=8; SeqLen=8192; Layers=32; TP=1; PP=1; CP=2; EP=NA; DP=4; VP=NA; MBS=1; "
      "GBS=128; GA=32";
  std::string small_batch = config;
  small_batch.replace(small_batch.find("GBS=128; GA=32"), 14, "GBS=32; GA=8");
  FileReport r = Must(ValidateText(head + row(config, "12.27,85459,10682.4,62.47%") +
                                       row(config, "12.27,42729.5,5341.2,62.47%") +
                                       row(small_batch, "12.27,85459,10682.4,62.47%"),
                                   "dgxc.csv", {}));
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_TRUE(r.rows[0].skipped.empty()) << r.rows[0].skipped;
  EXPECT_EQ(r.rows[1].skipped.rfind(
                "the row contradicts itself: tokens_per_s_per_gpu_derived 5341.2 against 10682.3 "
                "from the step time (global batch 128 x sequence 8192 / step_time_s 12.27 / 8 "
                "GPUs) and ",
                0),
            0u)
      << r.rows[1].skipped;
  EXPECT_TRUE(r.rows[2].skipped.empty()) << r.rows[2].skipped;
  EXPECT_NE(std::find(r.rows[2].assumptions.begin(), r.rows[2].assumptions.end(),
                      "global batch 128 from the row's throughput and step time (the mfu "
                      "agrees), not the matched configuration's 32"),
            r.rows[2].assumptions.end());
  EXPECT_DOUBLE_EQ(r.rows[2].predicted, r.rows[0].predicted);
  EXPECT_NE(r.rows[2].label.find("GBS 128"), std::string::npos) << r.rows[2].label;
  // The total must be the per-GPU value times the GPUs (8 x 10,682.4 = 85,459), an MFU is at most
  // 100%, and the overrides and the GPU count are whole numbers from 1.
  auto with = [&](const std::string& measured, const std::string& overrides) {
    return "x,Llama 3.1 8b BF16,H100,8,BF16,,\"" + config + "\"," + overrides + "," + measured +
           ",,\n";
  };
  FileReport bad = Must(ValidateText(head + with("12.27,170918,10682.4,62.47%", ",,,,,") +
                                         with("12.27,85459,10682.4,200%", ",,,,,") +
                                         with("12.27,85459,10682.4,62.47%", ",,abc,,,") +
                                         with("12.27,85459,10682.4,62.47%", ",,,0,,") +
                                         with("12.27,85459,10682.4,62.47%", ",,,,2.5,"),
                                     "dgxc.csv", {}));
  ASSERT_EQ(bad.rows.size(), 5u);
  EXPECT_EQ(bad.rows[0].skipped,
            "the row contradicts itself: tokens_per_s_per_gpu_derived 10682.4 against "
            "tokens_per_s_total 170918 / 8 GPUs = 21364.8 (allowed: the total over the GPUs)");
  EXPECT_EQ(bad.rows[1].skipped, "mfu = 200% is above the peak (allowed: 0% to 100%, or blank)");
  EXPECT_EQ(bad.rows[2].skipped, "tp_override = 'abc' is not a number");
  EXPECT_EQ(bad.rows[3].skipped, "pp_override = 0 is out of range (allowed: 1 to 2^31, or blank)");
  EXPECT_EQ(bad.rows[4].skipped, "vp_override = 2.5 is not a whole number (allowed: a count)");
}

// Fine-tuning rows run on packed documents: NVIDIA's SFT and LoRA rows without a
// document_tokens cell take its recipes' data (SQuAD examples, 256 tokens), a cell states the
// length (0: one document a sequence), a bad one skips the row, and anyone else's row without one
// is priced as one document a sequence. The recipe's SFT row is modeled (it
// was skipped before documents were priced) and predicts faster than the same run as one
// document a sequence (the cell 0).
TEST(Validate, FineTuningRowsRunOnPackedDocuments) {
  const std::string csv =
      "model,task,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tokens_per_s_per_gpu,document_tokens,source\n"
      "LLAMA3-8B,SFT,32,4096,14336,32,8,128256,H100,8,1,1,1,,4096,1,64,BF16,10000,,NVIDIA/NeMo\n"
      "LLAMA3-8B,SFT,32,4096,14336,32,8,128256,H100,8,1,1,1,,4096,1,64,BF16,10000,0,x\n"
      "LLAMA3-8B,SFT,32,4096,14336,32,8,128256,H100,8,1,1,1,,4096,1,64,BF16,10000,512,x\n"
      "LLAMA3-8B,SFT,32,4096,14336,32,8,128256,H100,8,1,1,1,,4096,1,64,BF16,10000,5000,x\n"
      "LLAMA3-8B,SFT,32,4096,14336,32,8,128256,H100,8,1,1,1,,4096,1,64,BF16,10000,1.5,x\n"
      "LLAMA3-8B,SFT,32,4096,14336,32,8,128256,H100,8,1,1,1,,4096,1,64,BF16,10000,abc,x\n"
      "LLAMA3-8B,SFT,32,4096,14336,32,8,128256,H100,8,1,1,1,,4096,1,64,BF16,10000,,x\n";
  FileReport r = Must(ValidateText(csv, "ft.csv", {}));
  ASSERT_EQ(r.rows.size(), 7u);
  // Text is not a length (it read as 0, one document a sequence, before).
  EXPECT_EQ(r.rows[5].skipped, "document_tokens = 'abc' is not a number");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(r.rows[i].skipped.empty()) << r.rows[i].skipped;
  auto has = [](const Row& row, const std::string& text) {
    return std::any_of(row.assumptions.begin(), row.assumptions.end(),
                       [&](const std::string& a) { return a.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has(r.rows[0], "packed documents of 256 tokens")) << r.rows[0].label;
  EXPECT_FALSE(has(r.rows[1], "packed documents"));
  EXPECT_TRUE(has(r.rows[2], "packed documents of 512 tokens (the row's)"));
  EXPECT_GT(r.rows[0].predicted, 1.05 * r.rows[1].predicted);
  // 256 and 512 tokens predict alike: the kernel's time stops shrinking below 512 keys.
  EXPECT_NEAR(r.rows[0].predicted, r.rows[2].predicted, 0.01 * r.rows[2].predicted);
  EXPECT_EQ(r.rows[3].skipped,
            "document_tokens = 5000 (allowed: 0, one document a sequence, to the sequence's 4096 "
            "tokens)");
  EXPECT_NE(r.rows[4].skipped.find("document_tokens = 1.5 is not a whole number"),
            std::string::npos)
      << r.rows[4].skipped;
  // Anyone else's fine-tuning row without the cell: one document a sequence, said so.
  EXPECT_EQ(r.rows[6].predicted, r.rows[1].predicted);
  EXPECT_TRUE(has(r.rows[6], "fine-tuning priced as one document a sequence"));
}

// Filters that keep no row are an error, not an empty report.
TEST(Validate, FiltersKeepingNoRowAreAnError) {
  std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tokens_per_s_per_gpu,source\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,2048,1,64,BF16,10000,x\n";
  const std::string path = ::testing::TempDir() + "/no_rows.csv";
  {
    std::ofstream out(path);
    out << csv;
  }
  Options o;
  EXPECT_TRUE(ValidateFiles({path}, o).ok());
  o.gpu_filter = "B200";
  Result<std::vector<FileReport>> r = ValidateFiles({path}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no row to model: the filters keep none"), std::string::npos)
      << r.status().message();
}

// A bad value in an optional run column skips the row with the column, the value and what is
// allowed; it never silently falls back.
TEST(Validate, BadRunColumnsSkipTheRow) {
  std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,recompute,tokens_per_s_per_gpu,source,"
      "framework,tp_comm_overlap,checkpointing\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,1,64,BF16,,10000,x,torchtitan,"
      "maybe,\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,1,64,BF16,,10000,x,nosuch,,\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,1,64,BF16,,10000,x,,,per_op\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,1,64,BF16,,10000,x,NeMo 24.07,,\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,1,64,BF16,,10000,x,DeepSpeed,,\n";
  FileReport r = Must(ValidateText(csv, "runs.csv", {}));
  ASSERT_EQ(r.rows.size(), 5u);
  // DeepSpeed's config defaults: ZeRO 0, the gradient reduction not overlapped, BF16 on the wire.
  ASSERT_TRUE(r.rows[4].skipped.empty()) << r.rows[4].skipped;
  bool deepspeed = false;
  for (const std::string& a : r.rows[4].assumptions)
    deepspeed = deepspeed || a.find("framework deepspeed (framework column): ZeRO 0, no SP, TP "
                                    "overlap off, DP overlap off, flash attention, BF16 "
                                    "gradients") == 0;
  EXPECT_TRUE(deepspeed);
  // Names as runs write them map to the presets (NeMo: its performance scripts' defaults).
  ASSERT_TRUE(r.rows[3].skipped.empty()) << r.rows[3].skipped;
  bool megatron = false;
  for (const std::string& a : r.rows[3].assumptions)
    megatron = megatron || a.find("framework nemo-perf (framework column)") == 0;
  EXPECT_TRUE(megatron);
  EXPECT_NE(r.rows[0].skipped.find("tp_comm_overlap = 'maybe'"), std::string::npos)
      << r.rows[0].skipped;
  EXPECT_NE(r.rows[1].skipped.find("nosuch"), std::string::npos) << r.rows[1].skipped;
  EXPECT_NE(r.rows[1].skipped.find("torchtitan"), std::string::npos) << r.rows[1].skipped;
  EXPECT_TRUE(r.rows[2].skipped.empty()) << r.rows[2].skipped;
}

// Numbers in cells read as written: an exponent counts (5.762e3 = 5762), a sign too, so a negative
// or absurd measurement and a negative size skip the row with the column and the value instead of
// being read as another number (the sign dropped, the exponent cut off: 1e3 as 1).
TEST(Validate, CellNumbersKeepTheirSignAndExponent) {
  const std::string head =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,tokens_per_s_per_gpu,source\n";
  const std::string run = "LLAMA3-8B,32,4096,14336,32,8,128256,H100,";
  std::string csv = head + run + "8,1,1,1,,8192,1,64,BF16,5.762e3,x\n" + run +
                    "8,1,1,1,,8192,1,64,BF16,\"5,762\",x\n" + run +
                    "8,1,1,1,,8192,1,64,BF16,-5762,x\n" + run +
                    "8,1,1,1,,8192,1,64,BF16,1e308,x\n" + run + "-8,1,1,1,,8192,1,64,BF16,5762,x\n";
  FileReport r = Must(ValidateText(csv, "cells.csv", {}));
  ASSERT_EQ(r.rows.size(), 5u);
  ASSERT_TRUE(r.rows[0].skipped.empty()) << r.rows[0].skipped;
  ASSERT_TRUE(r.rows[1].skipped.empty()) << r.rows[1].skipped;
  EXPECT_DOUBLE_EQ(r.rows[0].measured, 5762);
  EXPECT_DOUBLE_EQ(r.rows[1].measured, 5762);
  EXPECT_EQ(r.rows[2].skipped,
            "tokens_per_s_per_gpu = -5762 is out of range (allowed: 1e-06 to 1e+12)");
  EXPECT_EQ(r.rows[3].skipped,
            "tokens_per_s_per_gpu = 1e308 is out of range (allowed: 1e-06 to 1e+12)");
  EXPECT_EQ(r.rows[4].skipped, "num_gpus = -8 is out of range (allowed: 1 to 2^31, or blank)");
  // A size of 0 is no architecture: blank means "not given" (the preset's), 0 is refused.
  FileReport z = Must(ValidateText(
      head + "LLAMA3-8B,0,4096,14336,32,8,128256,H100,8,1,1,1,,8192,1,64,BF16,5762,x\n", "z.csv",
      {}));
  ASSERT_EQ(z.rows.size(), 1u);
  EXPECT_EQ(z.rows[0].skipped, "layers = 0 is out of range (allowed: 1 to 2^31, or blank)");
  // A stated dp must be what the GPUs leave: 8 / (1 x 1 x 1) = 8, not 3.
  std::string with_dp = head;
  with_dp.replace(with_dp.find(",tp,"), 4, ",tp,dp,");
  FileReport d = Must(ValidateText(
      with_dp + run + "8,1,3,1,1,,8192,1,64,BF16,5762,x\n" + run + "8,1,8,1,1,,8192,1,64,BF16,5762,x\n",
      "dp.csv", {}));
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0].skipped,
            "dp = 3 does not match num_gpus / (tp x cp x pp) = 8 / (1 x 1 x 1) (allowed: the "
            "quotient, or blank)");
  EXPECT_TRUE(d.rows[1].skipped.empty()) << d.rows[1].skipped;
}

// Calibration on torchtitan's three single-host runs: the factors the runs determine (three
// configurations determine at most two), a better fit than the presets, and leave-one-out.
TEST(Calibrate, TorchtitanHostRuns) {
  CalibrationReport r = Must(Calibrate({Data("torchtitan-8gpu.csv")}, {}));
  const Calibration& c = r.calibration;
  EXPECT_EQ(c.gpu, "h100-sxm");
  EXPECT_EQ(c.framework, "torchtitan");
  EXPECT_EQ(c.configurations, 3);
  EXPECT_EQ(c.cross_validation, "leave-one-out");
  EXPECT_LE(c.factors.size(), 2u);
  ASSERT_GE(c.factors.size(), 1u);
  EXPECT_EQ(c.factors[0].first, "gpu.sustained_compute_fraction");
  EXPECT_LT(c.after_mean_abs_error_pct, c.before_mean_abs_error_pct);
  EXPECT_LE(c.cross_validated_mean_abs_error_pct, 10.0);
  // Every factor left out says why; one fitted at an end of its range says so (torchtitan's FP8
  // runs ask for FP8 GEMMs at least as fast as the table's best: fp8_gemm_fraction at its upper
  // end, 1, as docs/ACCURACY.md reports), one inside it does not.
  for (const FactorReport& f : r.factors) {
    if (!f.fitted) {
      EXPECT_FALSE(f.note.empty()) << f.key;
      EXPECT_FALSE(f.at_bound) << f.key;
    } else if (f.key == "framework.fp8_gemm_fraction") {
      EXPECT_TRUE(f.at_bound);
      EXPECT_NE(f.note.find("stopped at the upper end of its range [0.3, 1]"), std::string::npos)
          << f.note;
    } else {
      EXPECT_FALSE(f.at_bound) << f.key << " = " << f.value;
    }
  }
  // Asking for a factor no run measures is refused, naming it.
  CalibrateOptions o;
  o.factors = {"framework.kernel_overhead_s"};
  Result<CalibrationReport> refused = Calibrate({Data("torchtitan-8gpu.csv")}, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("framework.kernel_overhead_s cannot be fitted"),
            std::string::npos)
      << refused.status().message();
}

// The fidelity issue's out-of-sample targets on llm-foundry, per GPU type: calibrated on the
// single-node runs, the multi-node runs (16-128 GPUs) are predicted within 10%; leave-one-model-
// out over all runs is within 10% too.
TEST(Calibrate, LlmFoundrySingleNodePredictsMultiNode) {
  for (const char* gpu : {"A100", "H100"}) {
    CalibrateOptions o;
    o.filters.gpu_filter = gpu;
    o.filters.max_gpus = 8;
    CalibrationReport fit = Must(Calibrate({Data("llmfoundry.csv")}, o));
    Options v;
    v.gpu_filter = gpu;
    v.min_gpus = 16;
    FileReport before = Must(ValidateFile(Data("llmfoundry.csv"), v));
    v.calibrations = {fit.calibration};
    FileReport after = Must(ValidateFile(Data("llmfoundry.csv"), v));
    EXPECT_GE(after.summary.modeled, 15) << gpu;
    EXPECT_LE(after.summary.mean_abs_error_pct, 10.0) << gpu;
    EXPECT_LT(after.summary.mean_abs_error_pct, before.summary.mean_abs_error_pct) << gpu;
    CalibrateOptions m;
    m.filters.gpu_filter = gpu;
    m.hold_out = HoldOut::kModel;
    CalibrationReport by_model = Must(Calibrate({Data("llmfoundry.csv")}, m));
    EXPECT_EQ(by_model.calibration.cross_validation, "leave-one-model-out");
    EXPECT_LE(by_model.calibration.cross_validated_mean_abs_error_pct, 10.0) << gpu;
  }
}

// What `calibrate --out` writes reads back to the same factors (paths with quotes included), and
// applies to the rows it was fitted on; a calibration for no row of the files is an error.
TEST(Calibrate, WrittenFileReadsBackAndMustApply) {
  CalibrationReport fit = Must(Calibrate({Data("torchtitan-8gpu.csv")}, {}));
  Calibration written = fit.calibration;
  written.runs.push_back("odd \"name\": with colon.csv");
  Calibration read = Must(ParseCalibration(report::CalibrationYaml(written), "cal.yaml"));
  EXPECT_EQ(read.gpu, written.gpu);
  EXPECT_EQ(read.framework, written.framework);
  ASSERT_EQ(read.factors.size(), written.factors.size());
  for (size_t i = 0; i < read.factors.size(); ++i) {
    EXPECT_EQ(read.factors[i].first, written.factors[i].first);
    EXPECT_NEAR(read.factors[i].second, written.factors[i].second,
                1e-5 * written.factors[i].second);
  }
  Options o;
  o.calibrations = {read};
  std::vector<FileReport> applied = Must(ValidateFiles({Data("torchtitan-8gpu.csv")}, o));
  EXPECT_NEAR(applied[0].summary.mean_abs_error_pct, fit.calibration.after_mean_abs_error_pct,
              0.01);
  Result<std::vector<FileReport>> unused = ValidateFiles({Data("megatron.csv")}, o);
  ASSERT_FALSE(unused.ok());
  EXPECT_NE(unused.status().message().find("no modeled row ran there"), std::string::npos);
}

// A quoted factor is text: "0.5" was applied as 0.5.
TEST(Calibrate, QuotedFactorIsRefused) {
  const std::string head = "gpu: h100-sxm\nframework: torchtitan\nfactors:\n";
  Result<Calibration> quoted =
      ParseCalibration(head + "  gpu.sustained_compute_fraction: \"0.5\"\n", "cal.yaml");
  ASSERT_FALSE(quoted.ok());
  EXPECT_NE(quoted.status().message().find("= \"0.5\" (allowed: a number from"),
            std::string::npos)
      << quoted.status().message();
  EXPECT_TRUE(
      ParseCalibration(head + "  gpu.sustained_compute_fraction: 0.5\n", "cal.yaml").ok());
}

// Runs that determine no factor (one configuration) are an error, not an empty calibration.
TEST(Calibrate, NothingDeterminedIsAnError) {
  CalibrateOptions o;
  o.filters.match = "Table 1: FSDP |";  // no row's source or model matches: nothing modeled
  EXPECT_FALSE(Calibrate({Data("torchtitan-8gpu.csv")}, o).ok());
  std::string csv =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,recompute,tokens_per_s_per_gpu,source\n"
      "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,1,64,BF16,,10000,x\n";
  std::string path = ::testing::TempDir() + "/one-row.csv";
  {
    std::ofstream out(path);
    out << csv;
  }
  Result<CalibrationReport> r = Calibrate({path}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("determine no factor"), std::string::npos)
      << r.status().message();
  CalibrateOptions bounds;
  bounds.filters.min_gpus = 64;
  bounds.filters.max_gpus = 8;
  Result<CalibrationReport> crossed = Calibrate({path}, bounds);
  ASSERT_FALSE(crossed.ok());
  EXPECT_NE(crossed.status().message().find("min_gpus = 64 is above"), std::string::npos);
}

// The power cap column is read strictly: a sign, an exponent or text is not silently misread.
TEST(Validate, PowerColumnIsStrict) {
  std::string head =
      "model,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "seq_len,micro_batch,global_batch,precision,recompute,tokens_per_s_per_gpu,source,"
      "gpu_power_w\n";
  std::string row = "LLAMA3-8B,32,4096,14336,32,8,128256,H100,8,1,1,1,,8192,1,64,BF16,,10000,x,";
  FileReport r = Must(ValidateText(
      head + row + "-500\n" + row + "abc\n" + row + "1e3\n" + row + "100\n" + row + "500\n",
      "runs.csv", {}));
  ASSERT_EQ(r.rows.size(), 5u);
  EXPECT_NE(r.rows[0].skipped.find("gpu_power_w = '-500'"), std::string::npos) << r.rows[0].skipped;
  EXPECT_NE(r.rows[1].skipped.find("gpu_power_w = 'abc'"), std::string::npos);
  EXPECT_TRUE(r.rows[2].skipped.empty()) << r.rows[2].skipped;  // 1000 W: above the TDP, no cap
  EXPECT_NE(r.rows[3].skipped.find("watts from 175"), std::string::npos) << r.rows[3].skipped;
  EXPECT_TRUE(r.rows[4].skipped.empty());
  EXPECT_LT(r.rows[4].predicted, r.rows[2].predicted);
}

TEST(Calibrate, MixedGpusAreRefused) {
  Result<CalibrationReport> r = Calibrate({Data("llmfoundry.csv")}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("runs of one GPU type and one framework"), std::string::npos);
}

// The calibration file: what CalibrationYaml writes reads back; bad files get one error naming
// the key and what is allowed; a calibration applies only to its GPU and framework.
TEST(Calibrate, FileRoundTripAndErrors) {
  Calibration c = Must(ParseCalibration(
      "gpu: h100-sxm\nframework: torchtitan\nfactors:\n  gpu.sustained_compute_fraction: 0.7\n"
      "fitted: {rows: 3}\n",
      "cal.yaml"));
  ASSERT_EQ(c.factors.size(), 1u);
  EXPECT_DOUBLE_EQ(c.factors[0].second, 0.7);
  auto error = [](const std::string& text) {
    Result<Calibration> r = ParseCalibration(text, "cal.yaml");
    return r.ok() ? std::string("accepted") : r.status().message();
  };
  EXPECT_NE(error("gpu: a\nframework: b\nfactors: {gpu.sustained_compute_fraction: 7}\n")
                .find("(allowed: a number from 0.3 to 1)"),
            std::string::npos);
  EXPECT_NE(error("gpu: a\nframework: b\nfactors: {speed: 1}\n").find("'speed' is not a factor"),
            std::string::npos);
  EXPECT_NE(error("gpu: a\nfactors: {}\n").find("calibration.framework is missing"),
            std::string::npos);
  EXPECT_NE(error("[1, 2]").find("a calibration file"), std::string::npos);
  EXPECT_NE(error("gpu: a\nframework: b\nfactors: {}\n").find("factors is missing or empty"),
            std::string::npos);
  EXPECT_NE(error("gpu: a\ngpu: c\nframework: b\n").find("calibration.gpu is given twice"),
            std::string::npos);
  EXPECT_NE(error("gpu: a\nframework: b\nfactors: {gpu.sustained_compute_fraction: nan}\n")
                .find("allowed"),
            std::string::npos);
  spec::JobSpec job;
  job.cluster.gpu.name = "h100-sxm";
  job.framework.name = "megatron-core";
  Status wrong = ApplyCalibration(c, job);
  EXPECT_NE(wrong.message().find("the calibration is for h100-sxm under torchtitan"),
            std::string::npos);
  job.framework.name = "torchtitan";
  ASSERT_TRUE(ApplyCalibration(c, job).ok());
  EXPECT_DOUBLE_EQ(job.cluster.gpu.sustained_compute_fraction, 0.7);
}

}  // namespace
}  // namespace scaleplan::validate

namespace scaleplan::validate {
namespace {

using scaleplan::testing::Must;

// XLA's collective table: each row is priced on its GPU's cluster. A 72-rank all-gather of
// 2^30 bytes on GB200 runs in one NVL72 domain (the preset's NVLink tier of 64 is widened to 72):
// 20 us + 71 x 1.4 us + 71/72 x 2^30 / (0.82 x 0.94 x 900e9 B/s) = 119.4 us + 1,526.3 us =
// 1,645.7 us.
// An unknown device key is skipped with the reason; a collective-permute row is not read.
TEST(Validate, CollectiveTableRowsArePricedOnTheirGpu) {
  const std::string csv =
      "# a comment\n"
      "device_key,opcode,tensor_size_bytes,num_replica_groups,devices_per_group,throughput_GBps,"
      "implied_time_us\n"
      "sm_100_GB200,all-gather,1073741824,1,72,700,1533.9\n"
      "sm_200,all-reduce,1024,1,8,1,1.0\n"
      "sm_90,collective-permute,1024,,,1,1.0\n"
      "sm_90,reduce-scatter,1073741824,1,8,,\n";
  // The last row has neither time nor throughput: an error naming the line.
  Result<FileReport> bad = ValidateText(csv, "t.csv", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.status().message().find("t.csv:6: implied_time_us and throughput_GBps are both blank"),
      std::string::npos)
      << bad.status().message();
  FileReport r = Must(ValidateText(csv.substr(0, csv.rfind("sm_90,reduce")), "t.csv", {}));
  EXPECT_EQ(r.kind, "collective-table");
  ASSERT_EQ(r.rows.size(), 3u);
  const double expected = 20e-6 + 71 * 1.4e-6 + 71.0 / 72.0 * 1073741824.0 / (0.82 * 0.94 * 900e9);
  EXPECT_NEAR(r.rows[0].predicted, expected, 1e-9);
  EXPECT_NEAR(r.rows[0].measured, 1533.9e-6, 1e-12);
  EXPECT_EQ(r.rows[0].label, "all-gather 72 ranks, 1073741824 bytes (GB200)");
  EXPECT_NE(r.rows[1].skipped.find("no cluster for device_key sm_200"), std::string::npos);
  EXPECT_EQ(r.rows[2].label, "collective-permute (H100)");
  EXPECT_NE(r.rows[2].skipped.find("is not priced"), std::string::npos);
  EXPECT_EQ(r.summary.modeled, 1);
  EXPECT_EQ(r.summary.skipped, 2);
  // Filters: the GPU type, the label, the group size; a precision keeps nothing.
  Options h100;  // keeps the H100 permute row alone
  h100.gpu_filter = "H100";
  EXPECT_EQ(Must(ValidateText(csv.substr(0, csv.rfind("sm_90,reduce")), "t.csv", h100)).rows.size(),
            1u);
  Options small;
  small.max_gpus = 8;
  EXPECT_EQ(
      Must(ValidateText(csv.substr(0, csv.rfind("sm_90,reduce")), "t.csv", small)).rows.size(), 1u);
}

// The collective model on XLA's measured table (data/calibration/xla-collectives.csv), messages
// of 64 MiB and more, where bandwidth rules: mean |error| per GPU (measured 2026-12-03: H100
// 18.7%, B200 17.2%, GB200 8.5%, GB300 8.8%; XLA's H100 rows run slower than nccl-tests' H200
// ones, which the model tracks within a few percent, so H100 and B200 read about as far off).
// Small messages are not held: the model's 20 us base (nccl-tests) is about twice the 8-11 us
// intercept of XLA's small all-gathers on NVL72 (docs/ACCURACY.md).
TEST(Accuracy, XlaCollectiveTableLargeMessages) {
  const std::string path =
      std::string(SCALEPLAN_TEST_DIR) + "/../data/calibration/xla-collectives.csv";
  const FileReport r = Must(ValidateFile(path, {}));
  EXPECT_EQ(r.summary.modeled, 2610);
  for (const auto& [gpu, bound] : std::vector<std::pair<std::string, double>>{
           {"(H100)", 21}, {"(B200)", 22}, {"(GB200)", 11}, {"(GB300)", 11}}) {
    double sum = 0;
    int n = 0;
    for (const Row& row : r.rows) {
      const size_t at = row.label.find(", ");
      if (row.label.find(gpu) == std::string::npos || at == std::string::npos) continue;
      if (std::stod(row.label.substr(at + 2)) < 67108864.0) continue;
      sum += std::fabs(row.error_pct);
      ++n;
    }
    ASSERT_GT(n, 70) << gpu;  // 72 rows on H100 and B200, 380 on GB200 and GB300
    EXPECT_LT(sum / n, bound) << gpu;
  }
}

TEST(Validate, CollectiveTableRefusesBadCells) {
  const std::string head =
      "device_key,opcode,tensor_size_bytes,num_replica_groups,devices_per_group,implied_time_us\n";
  struct Case {
    const char* row;
    const char* message;
  };
  const Case cases[] = {
      {"sm_90,broadcast,1024,1,8,10\n", "t.csv:2: opcode = 'broadcast' (allowed: all-reduce"},
      {"sm_90,all-gather,0,1,8,10\n", "t.csv:2: tensor_size_bytes = '0' (allowed: a whole number"},
      {"sm_90,all-gather,1024,1,1,10\n", "devices_per_group = '1' (allowed: a whole number from 2"},
      {"sm_90,all-gather,1024,0,8,10\n", "num_replica_groups = '0' (allowed: a whole number"},
      // 2^23 groups of 8 = 2^26 devices at once, above the 2^24 one run can hold.
      {"sm_90,all-gather,1024,8388608,8,10\n",
       "num_replica_groups x devices_per_group = 8388608 x 8 = 67108864 devices (allowed: at most "
       "16777216"},
      {"sm_90,all-gather,1024,1,8,nan\n", "implied_time_us = 'nan' (allowed: microseconds"},
      {",all-gather,1024,1,8,10\n", "t.csv:2: device_key is blank"},
      {"sm_90,all-gather,1.5,1,8,10\n", "tensor_size_bytes = '1.5' (allowed: a whole number"},
      {"sm_90,all-gather,1024,1,8\n", "t.csv:2: expected 6 cells, found 5"},
  };
  for (const Case& c : cases) {
    Result<FileReport> r = ValidateText(head + c.row, "t.csv", {});
    ASSERT_FALSE(r.ok()) << c.row;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos) << r.status().message();
  }
  // A throughput beside the time must agree with it: 1,024 bytes in 10.00 us = 0.1024 GB/s.
  const std::string both =
      "device_key,opcode,tensor_size_bytes,num_replica_groups,devices_per_group,throughput_GBps,"
      "implied_time_us\n";
  Result<FileReport> contradicted =
      ValidateText(both + "sm_90,all-gather,1024,1,8,5,10.00\n", "t.csv", {});
  ASSERT_FALSE(contradicted.ok());
  EXPECT_NE(contradicted.status().message().find(
                "t.csv:2: throughput_GBps = '5' disagrees with tensor_size_bytes / implied_time_us "
                "/ 1000 (GB/s) = 0.1024"),
            std::string::npos)
      << contradicted.status().message();
  EXPECT_TRUE(ValidateText(both + "sm_90,all-gather,1024,1,8,0.1024,10.00\n", "t.csv", {}).ok());
  // A header with device_key and opcode is the table's, and its missing columns are named.
  Result<FileReport> missing =
      ValidateText("device_key,opcode,devices_per_group\nsm_90,all-gather,8\n", "t.csv", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(
                "a collective table without tensor_size_bytes, implied_time_us or throughput_GBps"),
            std::string::npos)
      << missing.status().message();
  // --cluster is nccl-tests' option: each row's device_key picks its cluster here.
  Options cluster;
  cluster.nccl_cluster = "dgx-h100-ib";
  Result<FileReport> with_cluster =
      ValidateText(head + "sm_90,all-gather,1024,1,8,10\n", "t.csv", cluster);
  ASSERT_FALSE(with_cluster.ok());
  EXPECT_NE(with_cluster.status().message().find("--cluster dgx-h100-ib applies to nccl-tests"),
            std::string::npos)
      << with_cluster.status().message();
}

// Measured kernel tables (validate/kernel_tables.h; data/calibration/h200-kernels/).
std::string KernelTable(const std::string& file) {
  return std::string(SCALEPLAN_TEST_DIR) + "/../data/calibration/h200-kernels/" + file;
}

const Row* FindRow(const FileReport& r, const std::string& label) {
  for (const Row& row : r.rows) {
    if (row.label == label) return &row;
  }
  return nullptr;
}

// Memory-bound rows are priced by the model's own ops on the H200 preset: 4.8 TB/s at the
// generic framework's 80%, 4 us a kernel.
//   copy 16384x8192 BF16: 536,870,912 bytes / 3.84e12 + 4 us = 143.81 us
//   eager RMSNorm (FP32 intermediates, model.h): 36 bytes x 134,217,728 elements / 3.84e12
//     + 8 kernels x 4 us = 1,258.29 + 32 = 1,290.29 us (measured 1,710 us; 513 us before the
//     recount)
//   eager cross-entropy on FP32 logits: 22 bytes x 4,096 x 128,256 logits / 3.84e12 + 3 kernels
//     x 4 us = 3,009.74 + 12 = 3,021.74 us (measured 3,525 us; 1,927 us at the old 14 bytes)
//   complex-multiply RoPE under torch.compile runs eager (Inductor has no complex codegen):
//     20 bytes x 2 x 8192 x 32 x 128 elements / 3.84e12 + 3 x 4 us = 349.53 + 12 = 361.53 us
//     (measured 361.9 us; 74 us if priced fused)
//   norms as PyTorch's kernels run them reduce the weight gradient in a second backward pass
//     (FrameworkSpec::norm_weight_grad_pass): torch's rms_norm compiled, forward + backward =
//     (4 + 6 + 4) bytes x 16384 x 8192 / 3.84e12 + (1 + 2) x 4 us = 489.33 + 12 = 501.33 us
//     (measured 622.6 us; 357.5 us without the pass); the eager composite RMSNorm's backward
//     counts its own reduction: (36 + 64) bytes, 8 + 17 kernels, no pass added
// Ops the model prices elsewhere are listed, not modeled.
TEST(KernelTables, MemoryBoundRowsPricedByTheModelsOps) {
  FileReport r = Must(ValidateFile(KernelTable("h200_memops.csv"), {}));
  EXPECT_EQ(r.kind, "kernel-table");
  const Row* copy = FindRow(r, "copy eager forward 16384x8192 (h200)");
  ASSERT_NE(copy, nullptr);
  EXPECT_NEAR(copy->predicted, 536870912.0 / 3.84e12 + 4e-6, 1e-12);
  EXPECT_NEAR(copy->measured, 138.795e-6, 1e-12);
  const Row* norm = FindRow(r, "rmsnorm_manual eager forward 16384x8192 (h200)");
  ASSERT_NE(norm, nullptr);
  EXPECT_NEAR(norm->predicted, 36.0 * 134217728.0 / 3.84e12 + 8 * 4e-6, 1e-12);
  const Row* fused = FindRow(r, "rmsnorm_torch compiled forward+backward 16384x8192 (h200)");
  ASSERT_NE(fused, nullptr);
  EXPECT_NEAR(fused->predicted, 14.0 * 134217728.0 / 3.84e12 + 3 * 4e-6, 1e-12);
  const Row* composite = FindRow(r, "rmsnorm_manual eager forward+backward 16384x8192 (h200)");
  ASSERT_NE(composite, nullptr);
  EXPECT_NEAR(composite->predicted, 100.0 * 134217728.0 / 3.84e12 + 25 * 4e-6, 1e-12);
  const Row* loss = FindRow(r, "cross_entropy_fp32 eager forward 4096x128256 (h200)");
  ASSERT_NE(loss, nullptr);
  EXPECT_NEAR(loss->predicted, 22.0 * 4096 * 128256 / 3.84e12 + 3 * 4e-6, 1e-12);
  // Compiled, the row is the compiled loss itself (framework.compile_loss): one fused kernel
  // reading the BF16 logits and writing FP32, 6 bytes a logit.
  const Row* compiled_loss = FindRow(r, "cross_entropy_fp32 compiled forward 4096x128256 (h200)");
  ASSERT_NE(compiled_loss, nullptr);
  EXPECT_NEAR(compiled_loss->predicted, 6.0 * 4096 * 128256 / 3.84e12 + 4e-6, 1e-12);
  const Row* rope = FindRow(r, "rope_complex compiled forward 2x8192x32x128 (h200)");
  ASSERT_NE(rope, nullptr);
  EXPECT_NEAR(rope->predicted, 20.0 * 2 * 8192 * 32 * 128 / 3.84e12 + 3 * 4e-6, 1e-12);
  // torchao's tensorwise cast as eager PyTorch ops: 33 bytes an element (abs 4, amax 2, upcast 6,
  // scale 8, clamp 8, cast 5) in 11 kernels; compiled, an amax pass and the cast: 5 bytes, 2.
  const Row* cast = FindRow(r, "fp8_cast_tensorwise eager forward 16384x8192 (h200)");
  ASSERT_NE(cast, nullptr);
  EXPECT_NEAR(cast->predicted, 33.0 * 134217728.0 / 3.84e12 + 11 * 4e-6, 1e-12);
  const Row* cast_compiled = FindRow(r, "fp8_cast_tensorwise compiled forward 16384x8192 (h200)");
  ASSERT_NE(cast_compiled, nullptr);
  EXPECT_NEAR(cast_compiled->predicted, 5.0 * 134217728.0 / 3.84e12 + 2 * 4e-6, 1e-12);
  EXPECT_GT(r.summary.modeled, 20);
}

// A GEMM row within twice the fastest call of its dtype timed PyTorch's launch, not the kernel:
// here the fastest BF16 call is 15 us, so it and the 25 us row are skipped and the 200 us one
// priced; FP8 calls have their own floor (17 us).
TEST(KernelTables, GemmRowsNearTheHostFloorAreSkipped) {
  // (tflops blank: a derived column, checked against the seconds where given.)
  std::string csv =
      "gpu,set,dtype,layout,m,n,k,seconds,tflops\n"
      "h200,grid,bf16,fwd,256,256,256,15e-6,\n"
      "h200,grid,bf16,fwd,512,256,256,25e-6,\n"
      "h200,grid,bf16,fwd,4096,4096,4096,200e-6,\n"
      "h200,grid,fp8_tensorwise,fwd,256,256,256,17e-6,\n"
      "h200,grid,fp8_tensorwise,fwd,4096,4096,4096,110e-6,\n";
  FileReport r = Must(ValidateText(csv, "g.csv", {}));
  ASSERT_EQ(r.rows.size(), 5u);
  EXPECT_NE(r.rows[0].skipped.find("PyTorch's per-call overhead"), std::string::npos);
  EXPECT_NE(r.rows[1].skipped.find("within 2x of the fastest h200 bf16 call (15.0 us)"),
            std::string::npos)
      << r.rows[1].skipped;
  EXPECT_TRUE(r.rows[2].skipped.empty());
  EXPECT_FALSE(r.rows[3].skipped.empty());
  EXPECT_TRUE(r.rows[4].skipped.empty());
  EXPECT_EQ(r.summary.modeled, 2);
  // The FP8 GEMM is priced faster than the BF16 one of the same shape.
  EXPECT_LT(r.rows[4].predicted, r.rows[2].predicted);
  // The floor is the whole table's, whatever the filters keep: the 200 us row is still priced
  // when --match keeps it alone.
  Options only;
  only.match = "4096x4096x4096";
  FileReport one = Must(ValidateText(csv, "g.csv", only));
  ASSERT_EQ(one.rows.size(), 2u);
  EXPECT_EQ(one.summary.modeled, 2);
  // A table whose fastest call is over 50 us timed kernels only: nothing is skipped.
  FileReport slow =
      Must(ValidateText("gpu,set,dtype,layout,m,n,k,seconds,tflops\n"
                        "h200,grid,bf16,fwd,4096,4096,4096,200e-6,\n"
                        "h200,grid,bf16,fwd,4096,4096,8192,390e-6,\n",
                        "g.csv", {}));
  EXPECT_EQ(slow.summary.modeled, 2);
}

TEST(KernelTables, BadCellsNameTheFileLineAndValue) {
  std::string head = "gpu,set,dtype,layout,m,n,k,seconds,tflops\n";
  Result<FileReport> dtype =
      ValidateText(head + "h200,grid,fp4,fwd,256,256,256,1e-5,1\n", "g.csv", {});
  ASSERT_FALSE(dtype.ok());
  EXPECT_NE(dtype.status().message().find(
                "g.csv:2: dtype = 'fp4' (allowed: bf16, fp8_tensorwise, fp8_rowwise)"),
            std::string::npos)
      << dtype.status().message();
  Result<FileReport> m = ValidateText(head + "h200,grid,bf16,fwd,0,256,256,1e-5,1\n", "g.csv", {});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("g.csv:2: m = '0' (allowed: a whole number from 1 to"),
            std::string::npos)
      << m.status().message();
  Result<FileReport> gpu =
      ValidateText(head + "tpu9,grid,bf16,fwd,256,256,256,1e-5,1\n", "g.csv", {});
  ASSERT_FALSE(gpu.ok());
  EXPECT_NE(gpu.status().message().find("g.csv:2: gpu = 'tpu9'"), std::string::npos)
      << gpu.status().message();
  Result<FileReport> shape = ValidateText(
      "gpu,op,mode,direction,shape,bytes_min,seconds,kernels\n"
      "h200,rope_complex,eager,forward,2x8192x32,1,0.001,3\n",
      "m.csv", {});
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("m.csv:2: shape = '2x8192x32' (allowed: 4 whole numbers"),
            std::string::npos)
      << shape.status().message();
  const std::string mem = "gpu,op,mode,direction,shape,bytes_min,seconds,kernels\n";
  Result<FileReport> op =
      ValidateText(mem + "h200,rmsnorm,eager,forward,16x16,1,0.001,1\n", "m.csv", {});
  ASSERT_FALSE(op.ok());
  EXPECT_NE(op.status().message().find("m.csv:2: op = 'rmsnorm' (allowed: copy, add,"),
            std::string::npos)
      << op.status().message();
  // A copy has no backward; a norm does not run "fused" (AdamW's modes).
  Result<FileReport> direction =
      ValidateText(mem + "h200,copy,eager,forward+backward,16x16,1,0.001,1\n", "m.csv", {});
  ASSERT_FALSE(direction.ok());
  EXPECT_NE(direction.status().message().find("direction = 'forward+backward' (allowed: forward)"),
            std::string::npos)
      << direction.status().message();
  Result<FileReport> mode =
      ValidateText(mem + "h200,layernorm,fused,forward,16x16,1,0.001,1\n", "m.csv", {});
  ASSERT_FALSE(mode.ok());
  EXPECT_NE(mode.status().message().find("mode = 'fused' (allowed: eager, compiled)"),
            std::string::npos)
      << mode.status().message();
  Result<FileReport> odd =
      ValidateText(mem + "h200,rope_complex,eager,forward,2x16x3x5,1,0.001,3\n", "m.csv", {});
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("odd head dim 5"), std::string::npos)
      << odd.status().message();
  Result<FileReport> empty = ValidateText(mem, "m.csv", {});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("m.csv: a header and no data rows"), std::string::npos)
      << empty.status().message();
  // Columns of two kinds at once: which kind the file is cannot be told.
  Result<FileReport> both = ValidateText(
      "gpu,op,mode,direction,shape,bytes_min,seconds,dtype,layout,m,n,k\n"
      "h200,copy,eager,forward,16x16,1,0.001,bf16,fwd,1,1,1\n",
      "m.csv", {});
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("match more than one kind of kernel table"),
            std::string::npos)
      << both.status().message();
  // A derived column that contradicts the seconds is refused; to its written digits it passes.
  // 2 x 256^3 / 1.0000e-05 s = 3.3554432 TFLOP/s: '1' is off by 70%, '3.355' within 0.1% of the
  // seconds' 0.005% and its own 0.015%. FlashAttention's convention: 4 x 1 x 512^2 x 16 x 128 /
  // 2 (causal) = 1,073,741,824 FLOP in 1.0000e-04 s = 10.7374 TFLOP/s ('5.37' is half of it).
  // 1,024 bytes / 0.001 s = 1.024e6 bytes/s.
  Result<FileReport> tflops =
      ValidateText(head + "h200,grid,bf16,fwd,256,256,256,1.0000e-05,1\n", "g.csv", {});
  ASSERT_FALSE(tflops.ok());
  EXPECT_NE(
      tflops.status().message().find(
          "g.csv:2: tflops = '1' disagrees with 2 m n k / seconds x 1e-12 (TFLOP/s) = 3.35544 "
          "(allowed: that value to the digits written"),
      std::string::npos)
      << tflops.status().message();
  EXPECT_TRUE(
      ValidateText(head + "h200,grid,bf16,fwd,256,256,256,1.0000e-05,3.355\n", "g.csv", {}).ok());
  EXPECT_TRUE(
      ValidateText(head + "h200,grid,bf16,fwd,256,256,256,1.0000e-05,\n", "g.csv", {}).ok());
  const std::string attention =
      "gpu,backend,direction,causal,head_dim,seq_len,batch,heads,seconds,tflops\n"
      "h200,flash,forward,True,128,512,1,16,1.0000e-04,{}\n";
  Result<FileReport> attention_flops =
      ValidateText(fmt::format(fmt::runtime(attention), "5.37"), "a.csv", {});
  ASSERT_FALSE(attention_flops.ok());
  EXPECT_NE(attention_flops.status().message().find("a.csv:2: tflops = '5.37' disagrees with 4 b "
                                                    "s^2 heads d (/2 causal; x2.5 backward, x3.5 "
                                                    "both) / seconds x 1e-12 (TFLOP/s) = 10.7374"),
            std::string::npos)
      << attention_flops.status().message();
  EXPECT_TRUE(ValidateText(fmt::format(fmt::runtime(attention), "10.74"), "a.csv", {}).ok());
  Result<FileReport> bandwidth = ValidateText(
      "gpu,op,mode,direction,shape,bytes_min,seconds,bytes_per_s\n"
      "h200,copy,eager,forward,16x16,1024,0.0010000,2.048e6\n",
      "m.csv", {});
  ASSERT_FALSE(bandwidth.ok());
  EXPECT_NE(bandwidth.status().message().find("m.csv:2: bytes_per_s = '2.048e6' disagrees with "
                                              "bytes_min / seconds (bytes/s) = 1.024e+06"),
            std::string::npos)
      << bandwidth.status().message();
  Options event;
  event.engine = "event";
  Result<FileReport> engine =
      ValidateText(mem + "h200,copy,eager,forward,16x16,1,0.001,1\n", "m.csv", event);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("--engine and --predictor predict training steps"),
            std::string::npos)
      << engine.status().message();
}

// The kernel model on the GEMMs of Llama 3 layers (8B, 70B, 405B at TP 1-8; forward, data- and
// weight-gradient layouts) measured on one H200: BF16 within 10% on average (5-8% on
// 2026-12-04; the model prices them about 6% slow).
TEST(Accuracy, KernelModelOnMeasuredLlamaGemms) {
  Options o;
  o.match = "llama3";
  o.precision_filter = "BF16";
  FileReport r = Must(ValidateFile(KernelTable("h200_gemm.csv"), o));
  EXPECT_GE(r.summary.modeled, 130);
  EXPECT_LT(r.summary.mean_abs_error_pct, 10.0);
  EXPECT_GT(r.summary.spearman, 0.95);
}

}  // namespace
}  // namespace scaleplan::validate
