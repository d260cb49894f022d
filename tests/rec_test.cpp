// The ranking-model library (src/rec): metrics, the synthetic generator, Criteo's reader,
// architectures and their FLOPs, baselines and the CPU trainer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "rec/arch.h"
#include "rec/baselines.h"
#include "rec/criteo.h"
#include "rec/data.h"
#include "rec/movielens.h"
#include "rec/synthetic.h"
#include "rec/train.h"

namespace scaleplan::rec {
namespace {

TEST(RecMetrics, LogLossNeAndAucByHand) {
  // p = 0.5 for one click and one non-click: log loss ln 2, ctr 0.5, H(0.5) = ln 2, so NE 1;
  // the two predictions tie, AUC 0.5.
  Metrics m = Evaluate({0.5, 0.5}, {1, 0});
  EXPECT_NEAR(m.log_loss, std::log(2.0), 1e-12);
  EXPECT_NEAR(m.ne, 1.0, 1e-12);
  EXPECT_NEAR(m.auc, 0.5, 1e-12);
  // Clicks predicted 0.9 and 0.4, non-clicks 0.2 and 0.6: of the 4 (click, non-click) pairs,
  // 0.9 > 0.2, 0.9 > 0.6, 0.4 > 0.2 are ordered right, 0.4 < 0.6 wrong: AUC 3/4.
  m = Evaluate({0.9, 0.2, 0.6, 0.4}, {1, 0, 0, 1});
  EXPECT_NEAR(m.auc, 0.75, 1e-12);
  // log loss = -(ln 0.9 + ln 0.8 + ln 0.4 + ln 0.4) / 4
  EXPECT_NEAR(m.log_loss, -(std::log(0.9) + std::log(0.8) + 2 * std::log(0.4)) / 4, 1e-12);
}

TEST(RecMetrics, ConstantAtTheBaseRateScoresExactlyOne) {
  // 3 clicks in 10: predicting 0.3 everywhere gives log loss = H(0.3), so NE 1.
  std::vector<float> y = {1, 0, 0, 1, 0, 0, 0, 1, 0, 0};
  Metrics m = Evaluate(std::vector<double>(10, 0.3), y);
  EXPECT_NEAR(m.ne, 1.0, 1e-12);
  EXPECT_NEAR(m.ctr, 0.3, 1e-12);
}

SyntheticSpec SmallSpec() {
  SyntheticSpec s;
  s.seed = 5;
  s.train = 20000;
  s.valid = 4000;
  s.test = 4000;
  s.base_ctr = 0.1;
  s.dense = 4;
  s.sparse = {{"a", 200, 1.1}, {"b", 50, 0.8}, {"c", 30, 1.0}};
  s.effects = {{EffectKind::kMain, "a", {}, "", "", 0, 0.8, "t"},
               {EffectKind::kPairwise, "", {"a", "b"}, "", "", 2, 0.8, "t"},
               {EffectKind::kGate, "", {}, "d1", "c", 0, 0.6, "t"},
               {EffectKind::kDenseNonlinear, "", {"d2", "d3"}, "", "", 0, 0.5, "t"},
               {EffectKind::kDenseLinear, "", {"d0"}, "", "", 0, 0.5, "t"}};
  return s;
}

TEST(RecSynthetic, MeetsTheBaseRateIsDeterministicAndKeepsSplitsApart) {
  SyntheticSpec spec = SmallSpec();
  Result<CtrData> a = GenerateSynthetic(spec, "small");
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(CheckData(*a).ok());
  EXPECT_EQ(a->train.n, 20000);
  EXPECT_EQ(a->test.n, 4000);
  // The bias is bisected to the base rate: the mean true probability over train is 0.1.
  double mean = 0;
  for (double p : a->train.prob) mean += p;
  EXPECT_NEAR(mean / 20000, 0.1, 1e-8);
  // The true probabilities beat the constant: bayes NE below 1 (the effects carry signal), above 0.
  Metrics bayes = BayesMetrics(a->test);
  EXPECT_LT(bayes.ne, 0.95);
  EXPECT_GT(bayes.ne, 0.3);
  // The same seed gives the same data; a larger train split leaves test alone (its own stream)
  // except for the bias, which is fitted on train: labels are drawn from their own stream too.
  Result<CtrData> b = GenerateSynthetic(spec, "small");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->test.sparse, b->test.sparse);
  EXPECT_EQ(a->test.label, b->test.label);
  spec.train = 30000;
  Result<CtrData> c = GenerateSynthetic(spec, "small");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(a->test.sparse, c->test.sparse);
  EXPECT_EQ(a->test.dense, c->test.dense);
  // Zipf 1.1 over 200 ids: id 0 is the most frequent.
  std::vector<int64_t> count(200, 0);
  for (int64_t i = 0; i < a->train.n; ++i) ++count[static_cast<size_t>(a->train.sparse[i * 3])];
  EXPECT_EQ(std::max_element(count.begin(), count.end()) - count.begin(), 0);
}

TEST(RecSynthetic, EmbeddedSpecsLoad) {
  for (const char* name : {"default", "heldout", "fresh"}) {
    Result<SyntheticSpec> s = LoadSyntheticSpec(name);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(s->train, 400000);
  }
  Result<SyntheticSpec> d = LoadSyntheticSpec("default");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->seed, 3u);
  EXPECT_EQ(d->dense, 13);
  EXPECT_EQ(d->effects.size(), 6u);
  EXPECT_EQ(d->effects[3].kind, EffectKind::kTriple);
}

void ExpectSpecError(const std::string& yaml, const std::string& needle) {
  Result<SyntheticSpec> s = ParseSyntheticSpec(yaml, "spec.yaml");
  ASSERT_FALSE(s.ok()) << yaml;
  EXPECT_NE(s.status().message().find(needle), std::string::npos) << s.status().message();
}

TEST(RecSynthetic, RejectsBadSpecsByName) {
  const std::string head = "dense: 2\nsparse:\n  - {name: s0, cardinality: 10}\n";
  ExpectSpecError(head + "effects:\n  - {kind: quadruple, features: [s0]}\n",
                  "synthetic.effects.kind = quadruple is not a known choice");
  ExpectSpecError(head + "effects:\n  - {kind: main, feature: s9}\n",
                  "effect main.feature = s9 names no sparse feature (allowed: s0)");
  // Left out, the feature is said to be missing, not to be named "".
  ExpectSpecError(head + "effects:\n  - {kind: main, scale: 1.0}\n",
                  "effect main.feature is missing (allowed: a sparse feature: s0)");
  ExpectSpecError(head + "effects:\n  - {kind: gate, sparse: s0}\n",
                  "effect gate.dense is missing (allowed: a dense feature: d0, d1)");
  ExpectSpecError(head + "effects:\n  - {kind: pairwise, features: [s0, d1]}\n",
                  "pairwise.features = d1 names no sparse feature");
  ExpectSpecError(head + "effects:\n  - {kind: triple, features: [s0, s0]}\n",
                  "has 2 names (allowed: 3)");
  ExpectSpecError(head + "effects:\n  - {kind: main, feature: s0, rank: 2}\n", "takes no rank");
  ExpectSpecError(head + "colour: red\n", "unknown key 'colour'");
  ExpectSpecError(head + "examples: {train: 0}\n", "synthetic.examples.train = 0");
  ExpectSpecError("sparse:\n  - {name: d0, cardinality: 3}\ndense: 1\n",
                  "d0 is the name of a dense feature");
  ExpectSpecError("sparse:\n  - {name: a, cardinality: 3}\n  - {name: a, cardinality: 4}\n",
                  "synthetic.sparse.name = a is used twice");
  // No dense features at all: the allowed list says so instead of being empty.
  ExpectSpecError("dense: 0\nsparse:\n  - {name: a, cardinality: 3}\neffects:\n"
                  "  - {kind: dense_linear, features: [d0]}\n",
                  "names no dense feature (allowed: none: the spec has no dense features)");
  ExpectSpecError(head + "effects:\n  - {feature: s0}\n", "has no kind");
  ExpectSpecError(head + "effects:\n  - {kind: dense_nonlinear, features: [d0, d0]}\n",
                  "dense_nonlinear.features names d0 twice");
  // A sparse feature paired with itself is a per-id (main) effect in disguise.
  ExpectSpecError(head + "effects:\n  - {kind: pairwise, features: [s0, s0]}\n",
                  "pairwise.features names s0 twice (allowed: distinct features)");
  ExpectSpecError(head + "effects:\n  - {kind: triple, features: [s1, s0, s1]}\n",
                  "triple.features names s1 twice");
  ExpectSpecError(
      "dense: 9\neffects:\n  - {kind: dense_nonlinear, features: [d0, d1, d2, d3, "
      "d4, d5, d6, d7, d8]}\n",
      "has 9 names (allowed: 2 to 8)");
  // 2e7 examples of 1,000 dense features: 2e7 * (4 * 1000 + 12) bytes = 8.0e10, over 4 GiB.
  ExpectSpecError("dense: 1000\nexamples: {train: 19000000, valid: 500000, test: 500000}\n",
                  "take 8.02e+10 bytes");
  ExpectSpecError(head + "effects:\n  - {kind: gate, dense: d7, sparse: s0}\n",
                  "gate.dense = d7 names no dense feature (allowed: d0, d1)");
  // The line of the effect is named.
  ExpectSpecError(head + "effects:\n  - {kind: main, feature: zz}\n", "spec.yaml:5");
}

std::string Fixture(const std::string& name) {
  return std::string(SCALEPLAN_TEST_DIR) + "/data/rec/" + name;
}

TEST(RecCriteo, ReadsTransformsAndSplitsInFileOrder) {
  CriteoOptions o;
  o.table_rows = 1000;
  o.valid_fraction = 0.2;
  o.test_fraction = 0.2;
  Result<CtrData> d = ReadCriteo(Fixture("criteo-10.tsv"), o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_TRUE(CheckData(*d).ok());
  // 10 lines: test round(10 * 0.2) = 2, valid 2, train 6, in file order.
  EXPECT_EQ(d->train.n, 6);
  EXPECT_EQ(d->valid.n, 2);
  EXPECT_EQ(d->test.n, 2);
  EXPECT_EQ(d->cardinality.size(), 26u);
  // Line 1: label 1, I1 = 18 -> ln(19), I2 empty -> 0; line 2: I1 = 20 -> ln 21.
  EXPECT_EQ(d->train.label[0], 1.0f);
  EXPECT_NEAR(d->train.dense[0], std::log(19.0), 1e-6);
  EXPECT_EQ(d->train.dense[1], 0.0f);
  EXPECT_NEAR(d->train.dense[13], std::log(21.0), 1e-6);
  // Line 1's C1 and C2 are aaaa0001 and aaaa0002; equal text hashes to the same row.
  EXPECT_NE(d->train.sparse[0], d->train.sparse[1]);
  EXPECT_EQ(d->train.sparse[1], d->train.sparse[10]);  // C2 and C11 are both aaaa0002
}

TEST(RecCriteo, BadLinesNameTheLineOrAreSkippedAndCounted) {
  const std::string path = ::testing::TempDir() + "/criteo-bad.tsv";
  {
    std::ifstream in(Fixture("criteo-10.tsv"));
    std::ofstream out(path);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (n == 3) out << "1\t2\t3\n";                                         // 3 fields
      if (n == 5) out << "0\tx7" << line.substr(line.find('\t', 2)) << "\n";  // I1 = x7
      out << line << "\n";
    }
  }
  Result<CtrData> d = ReadCriteo(path, CriteoOptions{});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("criteo-bad.tsv:3: has 3 tab-separated fields"),
            std::string::npos)
      << d.status().message();
  CriteoOptions skip;
  skip.skip_bad_lines = true;
  d = ReadCriteo(path, skip);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->skipped_lines, 2);
  EXPECT_EQ(d->train.n + d->valid.n + d->test.n, 10);
}

TEST(RecCriteo, ALineWithoutBreaksIsCutNotHeld) {
  // 70,000 bytes and no newline: one bad line (over 64 KiB), reported without reading it whole.
  std::istringstream in(std::string(70000, '7'));
  Result<CtrData> d = ReadCriteoStream(in, "huge.tsv", CriteoOptions{});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("huge.tsv:1: is longer than 65536 bytes"), std::string::npos)
      << d.status().message();
}

TEST(RecMovieLens, ReadsEmptyCellsAndRefusesImpossibleYears) {
  const std::string head = "user,movie,rating,timestamp,year,genres\n";
  std::istringstream ok(head + "1,10,4,100,,Drama\n2,11,3,200,1995,\n1,11,5,300,NA,A|B\n");
  Result<CtrData> d = ReadMovieLensStream(ok, "ml.csv", 1000, false);
  ASSERT_TRUE(d.ok()) << d.status().message();
  // 3 ratings in time order: 1 train, 1 valid, 1 test; ratings 4 and 5 are clicks.
  EXPECT_EQ(d->train.n + d->valid.n + d->test.n, 3);
  EXPECT_EQ(d->train.label[0], 1.0f);
  EXPECT_EQ(d->valid.label[0], 0.0f);
  EXPECT_EQ(d->cardinality[0], 2);  // users 1 and 2
  std::istringstream bad(head + "1,10,4,100,1e39,Drama\n2,11,3,200,1995,X\n1,11,5,300,NA,A\n");
  d = ReadMovieLensStream(bad, "ml.csv", 1000, false);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(
                "ml.csv:2: year = 1e39 (allowed: a year of digits, 1800 to 2200, or NA)"),
            std::string::npos)
      << d.status().message();
  // A fractional year, or one with a suffix, is no year (it would be another id than 1995).
  for (const char* year : {"1995.5", "1995.0", "1.995k"}) {
    std::istringstream odd(head + "1,10,4,100," + year + ",Drama\n");
    d = ReadMovieLensStream(odd, "ml.csv", 1000, false);
    ASSERT_FALSE(d.ok()) << year;
    EXPECT_NE(d.status().message().find(std::string("year = ") + year + " (allowed: a year of"),
              std::string::npos)
        << d.status().message();
  }
  std::istringstream no_user(head + ",10,4,100,1995,Drama\n");
  d = ReadMovieLensStream(no_user, "ml.csv", 1000, false);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("ml.csv:2: user is empty (allowed: an id"), std::string::npos)
      << d.status().message();
}

InputShape SmallInput() { return InputShape{13, {10000, 500, 2000, 50000, 100, 1000, 20000, 50}}; }

TEST(RecArch, DlrmSmallFlopsAndParamsByHand) {
  Result<Arch> a = MakeBaseline("dlrm-s", SmallInput());
  ASSERT_TRUE(a.ok());
  Result<ArchInfo> info = Analyze(*a, SmallInput());
  ASSERT_TRUE(info.ok()) << info.status().message();
  // E = 8. bottom mlp 13 -> 32 -> 8: (2*13*32 + 32) + (2*32*8 + 8) = 864 + 520 = 1384;
  // to3d 8 -> 1 x 8: 2*8*1*8 = 128; concat: [9 x 8]; dot: 2*9^2*8 = 1296, 36 outputs;
  // top_in = 8 + 36 = 44; top mlp 44 -> 64 -> 32: (2*44*64 + 64) + (2*64*32 + 32) = 5696 + 4128
  // = 9824; head 2*32 = 64. In all 1384 + 128 + 1296 + 9824 + 64 = 12696.
  EXPECT_DOUBLE_EQ(info->flops, 12696);
  // bottom (13*32 + 32) + (32*8 + 8) = 712; to3d 8*8 + 8 = 72; top (44*64 + 64) + (64*32 + 32)
  // = 4960; head 33: 5777. Embeddings (10000 + 500 + 2000 + 50000 + 100 + 1000 + 20000 + 50) * 8
  // = 83650 * 8 = 669200.
  EXPECT_DOUBLE_EQ(info->params, 5777);
  EXPECT_DOUBLE_EQ(info->embedding_params, 669200);
  // Its training's state: Adam 16 * 5777 + 8 * 669200 = 92432 + 5353600 = 5446032 bytes;
  // Adagrad 12 * 5777 + 5353600 = 5422924. Activations scale with the batch.
  TrainOptions adam, adagrad;
  adagrad.optimizer = DenseOptimizer::kAdagrad;
  adagrad.batch = 2 * adam.batch;
  const TrainBytes a_need = TrainMemory(*a, *info, adam), g_need = TrainMemory(*a, *info, adagrad);
  EXPECT_DOUBLE_EQ(a_need.state, 5446032);
  EXPECT_DOUBLE_EQ(g_need.state, 5422924);
  EXPECT_GT(a_need.activation_elements, 0);
  EXPECT_DOUBLE_EQ(a_need.activations, 12 * a_need.activation_elements * 256);
  EXPECT_DOUBLE_EQ(g_need.activations, 2 * a_need.activations);
}

TEST(RecArch, EveryBlockKindsFlopsByHand) {
  // sparse [3 x 4]; dense [5].
  InputShape in{5, {10, 10, 10}};
  Arch a;
  a.embedding_dim = 4;
  auto add = [&](std::string name, BlockKind kind, std::vector<std::string> inputs) -> Block& {
    Block b;
    b.name = std::move(name);
    b.kind = kind;
    b.inputs = std::move(inputs);
    a.blocks.push_back(b);
    return a.blocks.back();
  };
  add("fm", BlockKind::kFm, {"sparse"});                   // 3*3*4 + 4 = 40 -> [4]
  add("l3", BlockKind::kLinear3d, {"sparse"}).out = 2;     // 2*2*3*4 = 48 -> [2 x 4]
  Block& att = add("att", BlockKind::kAttention, {"l3"});  // N 2, E 4, h 2, 1 layer:
  att.layers = 1;                                          // 8*2*16 + 4*4*4 + 4*2*4 + 2*2*4
  att.heads = 2;                                           // = 256 + 64 + 32 + 16 = 368
  add("flat", BlockKind::kFlatten, {"att"});               // [8]
  Block& dcn = add("dcn", BlockKind::kDcn, {"flat"});      // rank 2, 2 layers:
  dcn.layers = 2;                                          // 2 * (4*8*2 + 2*8) = 160
  dcn.rank = 2;
  add("gate", BlockKind::kGating, {"fm", "dense"});  // 2*5*4 + 2*4 = 48 -> [4]
  add("s", BlockKind::kSum, {"fm", "gate"});         // 4
  add("out", BlockKind::kConcat, {"s", "dcn"});      // [12]; head 24
  a.output = "out";
  Result<ArchInfo> info = Analyze(a, in);
  ASSERT_TRUE(info.ok()) << info.status().message();
  // 40 + 48 + 368 + 0 + 160 + 48 + 4 + 0 + 24 = 692
  EXPECT_DOUBLE_EQ(info->flops, 692);
  // params: l3 2*3 + 2 = 8; att 4*16 = 64; dcn 2*(2*8*2 + 8) = 80; gate 5*4 + 4 = 24; head 13.
  EXPECT_DOUBLE_EQ(info->params, 8 + 64 + 80 + 24 + 13);
}

void ExpectArchError(const std::string& json, const std::string& needle) {
  Result<Arch> a = ParseArchJson(json, "a.json");
  Status s = a.ok() ? Analyze(*a, InputShape{4, {10, 10}}).status() : a.status();
  ASSERT_FALSE(s.ok()) << json;
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
}

TEST(RecArch, RejectsBadArchitecturesByName) {
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "mlp", "inputs": ["b"], "widths": [4]},
      {"name": "b", "kind": "mlp", "inputs": ["a"], "widths": [4]}]})",
                  "the blocks form a cycle: a -> b -> a");
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "mlp", "inputs": ["nowhere"], "widths": [4]}]})",
                  "block a (mlp) reads 'nowhere', which is no block");
  ExpectArchError(R"({"output": "s", "blocks": [
      {"name": "a", "kind": "mlp", "inputs": ["dense"], "widths": [4]},
      {"name": "b", "kind": "mlp", "inputs": ["dense"], "widths": [8]},
      {"name": "s", "kind": "sum", "inputs": ["a", "b"]}]})",
                  "block s (sum) with inputs [4], [8]: mismatched shapes");
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "attention", "inputs": ["sparse"], "heads": 3}]})",
                  "heads = 3 (allowed: a divisor of the vector dimension 16)");
  ExpectArchError(R"({"output": "f", "blocks": [
      {"name": "f", "kind": "linear3d", "inputs": ["sparse"], "out": 2}]})",
                  "output f is 3D [2 x 16]");
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "mlp", "inputs": ["dense"], "widths": [4], "heads": 2}]})",
                  "unknown key 'heads' for a mlp block");
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "conv", "inputs": ["dense"]}]})",
                  "blocks[0].kind = conv (allowed: mlp, dcn");
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "mlp", "inputs": ["dense"], "widths": [4, 0]}]})",
                  "blocks[0].widths[1] = 0");
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "mlp", "inputs": ["dense"], "widths": [4]},
      {"name": "b", "kind": "mlp", "inputs": ["dense"], "widths": [4]}]})",
                  "block b (mlp) does not lead to the output a");
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "mlp", "inputs": ["sparse"], "widths": [4]}]})",
                  "block a (mlp) with inputs [2 x 16]: needs one 2D input");
  // A key of the wrong type names its value and what is allowed.
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": 5, "kind": "mlp", "inputs": ["dense"], "widths": [4]}]})",
                  "blocks[0].name = 5 (allowed: a unique block name, as text)");
  ExpectArchError(R"({"output": "a", "blocks": [
      {"name": "a", "kind": "mlp", "inputs": ["dense"], "widths": "8"}]})",
                  "blocks[0].widths = \"8\" (allowed: a list of integers from 1 to");
  ExpectArchError(R"({"output": "a", "blocks": [[1, 2]]})",
                  "blocks[0] = [1,2] (allowed: an object of a block's keys");
  ExpectArchError("[1, 2]", "a.json: not a JSON object");
  ExpectArchError("{\"output\": \"a\", ", ": malformed JSON");
  ExpectArchError(R"({"output": "a", "output": "b", "blocks": []})",
                  "a.json: key \"output\" is given twice in one object (allowed: once)");
  // The file, then the key (it read "a.json.embedding_dim").
  ExpectArchError(R"({"output": "a", "embedding_dim": "4", "blocks": []})",
                  "a.json: arch.embedding_dim = \"4\" (allowed: an integer from 1 to");
}

TEST(RecArch, AMissingOutRoundTripsAndIsRefusedByAnalyze) {
  Result<Arch> a = ParseArchJson(
      R"({"output": "f", "blocks": [{"name": "v", "kind": "to3d", "inputs": ["dense"]},
          {"name": "f", "kind": "flatten", "inputs": ["v"]}]})",
      "a.json");
  ASSERT_TRUE(a.ok()) << a.status().message();
  Result<Arch> back = ParseArchJson(ArchToJson(*a).dump(), "b.json");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, *a);
  Result<ArchInfo> info = Analyze(*a, InputShape{3, {}});
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("out = 0 (allowed: 1 to 4096)"), std::string::npos)
      << info.status().message();
}

TEST(RecArch, BaselinesRoundTripThroughJsonAndAnalyze) {
  for (const std::string& name : BaselineNames()) {
    Result<Arch> a = MakeBaseline(name, SmallInput());
    ASSERT_TRUE(a.ok()) << name;
    Result<Arch> back = ParseArchJson(ArchToJson(*a).dump(), name);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, *a) << name;
    Result<ArchInfo> info = Analyze(*a, SmallInput());
    ASSERT_TRUE(info.ok()) << name << ": " << info.status().message();
    EXPECT_GT(info->flops, 0) << name;
  }
  // Sizes grow: s below m below l in FLOPs for every family.
  for (const BaselineInfo& f : BaselineFamilies()) {
    double prev = 0;
    for (std::string_view s : kBaselineSizes) {
      Result<Arch> a = MakeBaseline(f.family + "-" + std::string(s), SmallInput());
      ASSERT_TRUE(a.ok());
      double flops = Analyze(*a, SmallInput())->flops;
      EXPECT_GT(flops, prev) << f.family << "-" << s;
      prev = flops;
    }
  }
  EXPECT_FALSE(MakeBaseline("dlrm-xl", SmallInput()).ok());
  // Data with dense features only, or one sparse feature only: every baseline still builds a
  // valid architecture (no dot over a single vector, nothing left dangling).
  for (const InputShape& in : {InputShape{3, {}}, InputShape{0, {7}}, InputShape{2, {7}}}) {
    for (const std::string& name : BaselineNames()) {
      Result<Arch> a = MakeBaseline(name, in);
      ASSERT_TRUE(a.ok()) << name;
      Result<ArchInfo> info = Analyze(*a, in);
      EXPECT_TRUE(info.ok()) << name << ": " << info.status().message();
    }
  }
}

TEST(RecTrain, LearnsTheSyntheticSignalDeterministically) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  Result<CtrData> data = GenerateSynthetic(SmallSpec(), "small");
  ASSERT_TRUE(data.ok());
  InputShape in = InputOf(*data);
  Result<Arch> arch = MakeBaseline("dlrm-s", in);
  ASSERT_TRUE(arch.ok());
  TrainOptions o;
  o.seed = 9;
  Result<TrainResult> a = Train(*arch, *data, o);
  ASSERT_TRUE(a.ok()) << a.status().message();
  const double bayes = BayesMetrics(data->test).ne;
  // It learns: test NE below the constant's 1 and AUC above chance; it cannot beat the truth
  // beyond sampling noise.
  EXPECT_LT(a->test.ne, 0.98);
  EXPECT_GT(a->test.auc, 0.6);
  EXPECT_GT(a->test.ne, bayes - 0.02);
  EXPECT_EQ(a->steps, (20000 + 255) / 256);
  EXPECT_EQ(a->examples, 20000);
  EXPECT_FALSE(a->curve.empty());
  // The same seed gives the same model; another seed another.
  Result<TrainResult> b = Train(*arch, *data, o);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->test.log_loss, b->test.log_loss);
  o.seed = 10;
  Result<TrainResult> c = Train(*arch, *data, o);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->test.log_loss, c->test.log_loss);
}

// The trainer's products run on kernels the CPU can use well: Debian's libtorch calls OpenBLAS,
// whose fallback kernels (SSE3) on a CPU missing from its table are replaced where the CPU has
// AVX2 and FMA (core/blas.h); where they were replaced, what OpenBLAS chose was the fallback.
// Not where the user forces the kernels (OPENBLAS_CORETYPE: the set-up unsets what it set).
TEST(RecTrain, RunsOnKernelsTheCpuCanUse) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) GTEST_SKIP() << "OPENBLAS_CORETYPE is set";
  Result<blas::BlasState> state = TrainerBlas();
  ASSERT_TRUE(state.ok()) << state.status().message();
  if (state->library.empty()) GTEST_SKIP() << "this libtorch does not call OpenBLAS";
  EXPECT_FALSE(state->core.empty());
  if (!state->chose.empty()) {
    EXPECT_EQ(state->chose, blas::kFallbackCore);
  }
  if (blas::HostIsa().avx2_fma) {
    EXPECT_NE(state->core, blas::kFallbackCore);
  }
}

// SmallSpec at 3,000 / 500 / 500 examples: trainings of a fraction of a second.
SyntheticSpec TinySpec() {
  SyntheticSpec spec = SmallSpec();
  spec.train = 3000;
  spec.valid = 500;
  spec.test = 500;
  return spec;
}

TEST(RecTrain, EveryBaselineTrains) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  Result<CtrData> data = GenerateSynthetic(TinySpec(), "tiny");
  ASSERT_TRUE(data.ok());
  for (const std::string& name : BaselineNames()) {
    Result<Arch> arch = MakeBaseline(name, InputOf(*data));
    ASSERT_TRUE(arch.ok());
    Result<TrainResult> r = Train(*arch, *data, TrainOptions{});
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().message();
    EXPECT_TRUE(std::isfinite(r->test.ne)) << name;
    EXPECT_LT(r->test.ne, 1.2) << name;
  }
}

// The embedding rows start from a given table (a search's pretrained proxies, nas.h) and the
// trained table comes back. SmallSpec's three tables hold 200 + 50 + 30 = 280 rows; dlrm-s's
// dimension is 8, so a table is 280 x 8 = 2,240 values. At the smallest embedding rate, 1e-7, the
// rows barely move: 3,000 examples are ceil(3000 / 256) = 12 steps of sparse Adagrad, each at
// most the rate per value (its first step is lr g / |g|), so at most 1.2e-6 in all. So a start of
// 0.75 everywhere comes back within 1e-5 of 0.75, and fresh rows within DLRM's initial bound,
// sqrt(1 / 30) = 0.183 for the smallest table, plus 1e-5. A table of another dimension is not
// used (the run equals the fresh one); a table of the wrong size is refused by name.
TEST(RecTrain, StartsItsEmbeddingsFromATableAndReturnsThem) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  Result<CtrData> data = GenerateSynthetic(TinySpec(), "tiny");
  ASSERT_TRUE(data.ok());
  Result<Arch> arch = MakeBaseline("dlrm-s", InputOf(*data));
  ASSERT_TRUE(arch.ok());
  ASSERT_EQ(arch->embedding_dim, 8);
  TrainOptions o;
  o.embedding_lr = 1e-7;
  o.keep_embeddings = true;
  Result<TrainResult> fresh = Train(*arch, *data, o);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  ASSERT_EQ(fresh->embedding_table.size(), 2240u);
  for (float v : fresh->embedding_table) EXPECT_LE(std::abs(v), 0.1826 + 1e-5);

  auto start = std::make_shared<EmbeddingStart>();
  start->tables[8] = std::vector<float>(2240, 0.75f);
  o.embedding_start = start;
  Result<TrainResult> started = Train(*arch, *data, o);
  ASSERT_TRUE(started.ok()) << started.status().message();
  ASSERT_EQ(started->embedding_table.size(), 2240u);
  for (float v : started->embedding_table) EXPECT_NEAR(v, 0.75, 1e-5);
  EXPECT_NE(started->valid.log_loss, fresh->valid.log_loss);

  auto other = std::make_shared<EmbeddingStart>();
  other->tables[16] = std::vector<float>(280 * 16, 0.75f);
  o.embedding_start = other;
  Result<TrainResult> unused = Train(*arch, *data, o);
  ASSERT_TRUE(unused.ok()) << unused.status().message();
  EXPECT_EQ(unused->valid.log_loss, fresh->valid.log_loss);

  auto wrong = std::make_shared<EmbeddingStart>();
  wrong->tables[8] = std::vector<float>(2239, 0.75f);
  o.embedding_start = wrong;
  Result<TrainResult> refused = Train(*arch, *data, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(
                "the embedding start of dimension 8 holds 2239 values, not 280 rows x 8"),
            std::string::npos)
      << refused.status().message();
}

// A training the memory left cannot hold is refused by name, with both parts of its need: 1.6 GB
// of state and 0.4 GB of activations make 2 GB, against 1.5 GB left; at 2.5 GB left, or unknown,
// it goes ahead.
TEST(RecTrain, ATrainingTheMemoryLeftCannotHoldIsRefused) {
  const Status refused = CheckTrainMemory("big", 1.6e9, 0.4e9, 1.5e9);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.message().find("architecture big: training needs about 2 GB (1.6 GB of "
                                   "weights and optimizer state, 0.4 GB of activations) and this "
                                   "process may take 1.5 GB more (allowed: "),
            0u)
      << refused.message();
  EXPECT_TRUE(CheckTrainMemory("big", 1.6e9, 0.4e9, 2.5e9).ok());
  EXPECT_TRUE(CheckTrainMemory("big", 1.6e9, 0.4e9, std::nullopt).ok());
}

#ifndef SCALEPLAN_HAVE_TORCH
TEST(RecTrain, WithoutLibtorchTrainingIsOneClearError) {
  Result<CtrData> data = GenerateSynthetic(SmallSpec(), "small");
  ASSERT_TRUE(data.ok());
  Result<Arch> arch = MakeBaseline("dlrm-s", InputOf(*data));
  ASSERT_TRUE(arch.ok());
  Result<TrainResult> r = Train(*arch, *data, TrainOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rebuild with -DSCALEPLAN_TORCH=ON"), std::string::npos);
}
#endif

}  // namespace
}  // namespace scaleplan::rec
