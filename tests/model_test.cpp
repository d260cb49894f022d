#include "model/model.h"

#include <gtest/gtest.h>

#include <utility>

#include "spec/readers.h"
#include "test_util.h"

namespace scaleplan::model {
namespace {

using scaleplan::testing::Fixture;
using scaleplan::testing::Must;

double Total(const char* ref) { return CountParams(Must(spec::LoadModel(ref))).total; }

const Op& Find(const std::vector<Op>& ops, const std::string& name) {
  for (const Op& op : ops) {
    if (op.name == name) return op;
  }
  ADD_FAILURE() << "no op " << name;
  static Op none;
  return none;
}

// Llama 3 8B: h = 4096, kv = 8 * 128 = 1024, f = 14336, V = 128256, 32 layers, untied.
//   attention = 4096 * (4096 + 2 * 1024) + 4096 * 4096 = 41,943,040
//   MLP       = 3 * 4096 * 14336 = 176,160,768;  norms = 2 * 4096 = 8,192
//   layer     = 218,112,000;  32 layers = 6,979,584,000
//   embedding + output = 2 * 128256 * 4096 = 1,050,673,152;  final norm 4,096
//   total     = 8,030,261,248  (published: 8.03B)
TEST(Params, Llama3_8B) {
  EXPECT_EQ(Total("llama3-8b"), 8030261248.0);
  EXPECT_NEAR(Total("llama3-8b") / 8.03e9, 1.0, 0.005);
}

// Llama 3 70B: h = 8192, kv = 1024, f = 28672, 80 layers.
//   layer = 8192 * 10240 + 8192 * 8192 + 3 * 8192 * 28672 + 16384 = 855,654,400
//   80 layers = 68,452,352,000; embeddings 2 * 128256 * 8192 = 2,101,346,304; final norm 8,192
//   total = 70,553,706,496 (published: 70.6B)
TEST(Params, Llama3_70B) {
  EXPECT_EQ(Total("llama3-70b"), 70553706496.0);
  EXPECT_NEAR(Total("llama3-70b") / 70.6e9, 1.0, 0.005);
}

// Llama 3 405B: h = 16384, kv = 1024, f = 53248, 126 layers.
//   layer = 16384 * 18432 + 16384^2 + 3 * 16384 * 53248 + 32768 = 3,187,703,808
//   126 layers = 401,650,679,808; embeddings 2 * 128256 * 16384 = 4,202,692,608; final 16,384
//   total = 405,853,388,800 (published: 405.9B... "405B")
TEST(Params, Llama3_405B) {
  EXPECT_EQ(Total("llama3-405b"), 405853388800.0);
  EXPECT_NEAR(Total("llama3-405b") / 405.9e9, 1.0, 0.005);
}

// SC21 (Narayanan et al., eq. in section 5.1): P = 12 l h^2 (1 + 13/(12h) + (V + s)/(12 l h)),
// which is exactly our count for a GPT with biases, LayerNorm, learned positions (s = 2048) and a
// tied output layer, except the final LayerNorm (2h) that the formula omits.
TEST(Params, Gpt3MatchesSc21Formula) {
  double l = 96, h = 12288, V = 51200, s = 2048;
  double sc21 = 12 * l * h * h * (1 + 13 / (12 * h) + (V + s) / (12 * l * h));
  EXPECT_NEAR(Total("gpt3-175b"), sc21 + 2 * h, 1.0);
  EXPECT_NEAR(Total("gpt3-175b") / 174.6e9, 1.0, 0.005);  // SC21 Table 1 lists 174.6B
}

TEST(Params, Sc21TableSizes) {
  // Table 1 of SC21 lists the model sizes; our exact counts agree to its rounding.
  EXPECT_NEAR(Total("sc21-gpt-1t") / 1008.0e9, 1.0, 0.005);
  EXPECT_NEAR(Total("sc21-gpt-529.6b") / 529.6e9, 1.0, 0.005);
  EXPECT_NEAR(Total("sc21-gpt-39.1b") / 39.1e9, 1.0, 0.005);
}

// Mixtral 8x7B: attention 41,943,040 + norms 8,192 + router 4096 * 8 = 32,768
//   + 8 experts * 176,160,768 = 1,409,286,144 -> layer 1,451,270,144; 32 layers 46,440,644,608
//   + embeddings 2 * 32000 * 4096 = 262,144,000 + final 4,096 = 46,702,792,704 (published 46.7B)
//   active: 2 of 8 experts -> layer 41,943,040 + 8,192 + 32,768 + 352,321,536 = 394,305,536;
//   32 layers 12,617,777,152 + 262,148,096 = 12,879,925,248 (published 12.9B)
TEST(Params, MixtralTotalAndActive) {
  ParamCounts c = CountParams(Must(spec::LoadModel("mixtral-8x7b")));
  EXPECT_EQ(c.total, 46702792704.0);
  EXPECT_EQ(c.active, 12879925248.0);
  EXPECT_EQ(c.moe_layers, 32);
  EXPECT_EQ(c.dense_layers, 0);
}

// The presets of widely benchmarked open models, counted by hand from their architectures (each
// preset's source states the numbers) against the totals their authors publish:
//   llama3.2-1b: layer = attention 2048*(2048 + 2*512) + 2048*2048 = 10,485,760 + MLP 3*2048*8192
//     = 50,331,648 + norms 4,096 = 60,821,504; x16 = 973,144,064; tied embedding 128256*2048 =
//     262,668,288; final 2,048 -> 1,235,814,400 (published 1.23B)
//   llama3.2-3b: 3072*(3072 + 2*1024) + 3072^2 = 25,165,824 + 3*3072*8192 = 75,497,472 + 6,144
//     = 100,669,440; x28 = 2,818,744,320 + 128256*3072 = 394,002,432 + 3,072 -> 3,212,749,824
//   llama1-65b: 4*8192^2 = 268,435,456 + 3*8192*22016 = 541,065,216 + 16,384 = 809,517,056;
//     x80 = 64,761,364,480 + 2*32000*8192 = 524,288,000 + 8,192 -> 65,285,660,672 (65.2B)
//   mistral-7b: 4096*(4096 + 2*1024) + 4096^2 = 41,943,040 + 3*4096*14336 = 176,160,768 + 8,192
//     = 218,112,000; x32 = 6,979,584,000 + 2*32000*4096 = 262,144,000 + 4,096 -> 7,241,732,096
//   qwen2.5-72b: 8192*(8192 + 2*1024) + 8192^2 + bias 8192 + 2*1024 = 151,005,184
//     + 3*8192*29568 = 726,663,168 + 16,384 = 877,684,736; x80 = 70,214,778,880
//     + 2*152064*8192 = 2,491,416,576 + 8,192 -> 72,706,203,648 (published 72.7B)
//   qwen3-8b: 4096*(4096 + 2*1024) + 4096*4096 = 41,943,040 + 3*4096*12288 = 150,994,944
//     + norms 8,192 + q/k norms 256 = 192,946,432; x36 = 6,946,071,552 + 2*151936*4096 =
//     1,244,659,712 + 4,096 -> 8,190,735,360 (published 8.2B)
//   qwen3-32b: 5120*(8192 + 2*1024) + 8192*5120 = 94,371,840 + 3*5120*25600 = 393,216,000
//     + 10,240 + 256 = 487,598,336; x64 = 31,206,293,504 + 2*151936*5120 = 1,555,824,640
//     + 5,120 -> 32,762,123,264 (published 32.8B)
//   bloom-176b: 12h^2 + 13h with h = 14336 = 2,466,437,120; x70 = 172,650,598,400 + tied
//     250880*14336 = 3,596,615,680 + final LayerNorm 28,672 -> 176,247,242,752 (published
//     176,247,271,424, which adds the embedding LayerNorm's 2h = 28,672)
//   opt-175b: 12h^2 + 13h with h = 12288 = 1,812,099,072; x96 = 173,961,510,912 + tied
//     50272*12288 = 617,742,336 + positions 2050*12288 = 25,190,400 + 24,576 -> 174,604,468,224
//   deepseek-v2 (MLA, h = 5120): 5120*1536 + 1536*128*192 + 5120*576 + 512*128*256
//     + 128*128*5120 = 149,225,472; norms 2*5120 + 1536 + 512 = 12,288; dense layer
//     + 3*5120*12288 = 188,743,680 -> 337,981,440; MoE layer + router 5120*160 = 819,200
//     + 162 experts * 3*5120*1536 = 3,822,059,520 -> 3,972,116,480 (59 layers)
//     + 2*102400*5120 = 1,048,576,000 + 5,120 -> 235,741,434,880 (published 236B);
//     active: 149,225,472 + 12,288 + 819,200 + 8 * 23,592,960 = 338,800,640 per MoE layer
//     -> 19,989,237,760 + 337,981,440 + 1,048,581,120 = 21,375,800,320 (published 21B)
TEST(Params, OpenModelPresetsMatchTheirPublishedTotals) {
  EXPECT_EQ(Total("llama3.2-1b"), 1235814400.0);
  EXPECT_EQ(Total("llama3.2-3b"), 3212749824.0);
  EXPECT_EQ(Total("llama1-65b"), 65285660672.0);
  EXPECT_EQ(Total("mistral-7b"), 7241732096.0);
  EXPECT_EQ(Total("qwen2.5-7b"),
            CountParams(Must(spec::LoadModel(Fixture("hf/qwen2-7b-config.json")))).total);
  EXPECT_EQ(Total("qwen2.5-72b"), 72706203648.0);
  EXPECT_EQ(Total("qwen3-8b"), 8190735360.0);
  EXPECT_EQ(Total("qwen3-32b"), 32762123264.0);
  EXPECT_EQ(Total("bloom-176b"), 176247242752.0);
  EXPECT_EQ(Total("opt-175b"), 174604468224.0);
  ParamCounts v2 = CountParams(Must(spec::LoadModel("deepseek-v2")));
  EXPECT_EQ(v2.total, 235741434880.0);
  EXPECT_EQ(v2.active, 21375800320.0);
  EXPECT_EQ(v2.dense_layers, 1);
}

// BLOOM's ALiBi biases the scores inside the attention kernel: its layer has no rotary pass, and
// otherwise the same ops as the same layer under RoPE. OPT's ReLU MLP is two matrices, as GeLU's.
TEST(Ops, AlibiAddsNoPassAndReluIsUngated) {
  spec::ModelSpec bloom = Must(spec::LoadModel("bloom-176b"));
  ShardShape s;
  s.micro_batch = 1;
  s.seq_len = 2048;
  s.tp = 8;
  std::vector<Op> alibi = LayerOps(bloom, false, s);
  bloom.position_embedding = spec::PositionEmbedding::kRope;
  std::vector<Op> rope = LayerOps(bloom, false, s);
  ASSERT_EQ(rope.size(), alibi.size() + 1);
  for (const Op& op : alibi) EXPECT_NE(op.name, "rope");
  EXPECT_EQ(Find(rope, "attention").fwd_flops, Find(alibi, "attention").fwd_flops);
  spec::ModelSpec opt = Must(spec::LoadModel("opt-175b"));
  EXPECT_EQ(opt.activation, spec::Activation::kRelu);
  // fc1: 2048 tokens x 49152 / 8 x 12288 -> 2 x 2048 x 6144 x 12288 FLOP.
  EXPECT_EQ(Find(LayerOps(opt, false, s), "mlp_fc1").fwd_flops, 2.0 * 2048 * 6144 * 12288);
}

// Mixtral 8x22B: attention 6144*(6144 + 2*1024) + 6144^2 = 88,080,384 + norms 12,288 + router
//   6144*8 = 49,152 + 8 experts * 3*6144*16384 (301,989,888) = 2,415,919,104 -> 2,504,060,928;
//   x56 = 140,227,411,968 + 2*32000*6144 = 393,216,000 + 6,144 -> 140,620,634,112 (141B);
//   active: 88,080,384 + 12,288 + 49,152 + 2 * 301,989,888 = 692,121,600; x56 = 38,758,809,600
//   + 393,222,144 -> 39,152,031,744 (published 39B)
TEST(Params, Mixtral8x22bTotalAndActive) {
  ParamCounts c = CountParams(Must(spec::LoadModel("mixtral-8x22b")));
  EXPECT_EQ(c.total, 140620634112.0);
  EXPECT_EQ(c.active, 39152031744.0);
}

// Qwen2 7B from config.json: attention 3584*(3584+1024) + 3584^2 + QKV bias 4608 = 29,364,736;
// MLP 3 * 3584 * 18944 = 203,685,888; norms 7,168 -> layer 233,057,792; 28 layers 6,525,618,176;
// embeddings 2 * 152064 * 3584 = 1,089,994,752; final 3,584 -> 7,615,616,512 (published 7.6B).
TEST(Params, Qwen2FromHfConfig) {
  ParamCounts c = CountParams(Must(spec::LoadModel(Fixture("hf/qwen2-7b-config.json"))));
  EXPECT_EQ(c.total, 7615616512.0);
}

// Qwen3-30B-A3B: attention 2048*(4096+1024) + 4096*2048 = 18,874,368; norms 4,096 + qk 256;
// router 262,144; 128 experts * 3 * 2048 * 768 = 603,979,776 -> layer 623,120,640; 48 layers
// 29,909,790,720; embeddings 622,329,856; final 2,048 -> 30,532,122,624 (published 30.5B).
// Active: 18,874,368 + 4,352 + 262,144 + 8 * 4,718,592 = 56,889,600 per layer -> 3,353,032,704.
TEST(Params, Qwen3MoeFromHfConfig) {
  ParamCounts c = CountParams(Must(spec::LoadModel(Fixture("hf/qwen3-30b-a3b-config.json"))));
  EXPECT_EQ(c.total, 30532122624.0);
  EXPECT_EQ(c.active, 3353032704.0);
}

// DeepSeek-V3 (MLA: h = 7168, 128 heads of 128 + 64 rotary, values 128, r_q = 1536, r_kv = 512):
//   attention = 7168*1536 + 1536*128*192 + 7168*(512 + 64) + 512*128*256 + 128*128*7168
//             = 11,010,048 + 37,748,736 + 4,128,768 + 16,777,216 + 117,440,512 = 187,105,280
//   norms     = 2*7168 + 1536 + 512 = 16,384
//   dense layer (f = 18432): + 3*7168*18432 = 396,361,728 -> 583,483,392 (layers 0-2)
//   MoE layer: router 7168*256 = 1,835,008; 257 experts (256 routed + 1 shared) of
//             3*7168*2048 = 44,040,192 -> 11,507,286,016 (58 layers)
//   embeddings 2*129280*7168 = 1,853,358,080; final norm 7,168
//   total = 3*583,483,392 + 58*11,507,286,016 + 1,853,358,080 + 7,168 = 671,026,404,352
//           (published: 671B, without the multi-token-prediction module)
//   active: MoE layer 187,105,280 + 16,384 + 1,835,008 + 9*44,040,192 = 585,318,400
//           -> 1,750,450,176 + 33,948,467,200 + 1,853,365,248 = 37,552,282,624 (published: 37B)
TEST(Params, DeepSeekV3WithLatentAttention) {
  ParamCounts c = CountParams(Must(spec::LoadModel("deepseek-v3")));
  EXPECT_EQ(c.dense_layer.attention, 187105280.0);
  EXPECT_EQ(c.dense_layer.norms, 16384.0);
  EXPECT_EQ(c.total, 671026404352.0);
  EXPECT_EQ(c.active, 37552282624.0);
  // The same from its Hugging Face config.json (head_dim there is the rotary part; ignored).
  EXPECT_EQ(CountParams(Must(spec::LoadModel(Fixture("hf/deepseek-v3-config.json")))).total,
            671026404352.0);
}

// DeepSeek-V3 at s = 4096: N_matmul = 61 * 187,105,280 + 3 * 396,361,728
//   + 58 * (1,835,008 + 9 * 44,040,192) + 129280 * 7168 = 36,624,596,992; 6N = 219,747,581,952
//   attention: q = 128 * 192 = 24,576 (scores), o = 128 * 128 = 16,384 (values):
//   3 * 61 * (24,576 + 16,384) * 4097 = 30,709,800,960 -> 250,457,382,912 FLOP per token
TEST(Flops, LatentAttentionCountsScoreAndValueWidths) {
  ModelFlops f = ModelFlopsPerToken(Must(spec::LoadModel("deepseek-v3")), 4096);
  EXPECT_EQ(f.matmul_term, 219747581952.0);
  EXPECT_EQ(f.per_token_causal, 250457382912.0);
  EXPECT_NE(f.formula.find("2*(q+o) FLOP per query-key pair"), std::string::npos) << f.formula;
}

// gpt-oss-120b: h = 2880, 64 query heads and 8 KV heads of 64 (q = 4096, kv = 512), biases on
// every linear, 128 experts of width 2880, untied, vocab 201088:
//   attention 2880 x (4096 + 1024) + 4096 x 2880 + (4096 + 1024) + 2880 = 26,550,080
//   norms 2 x 2880 = 5,760; router 2880 x 128 = 368,640
//   one expert 3 x 2880 x 2880 + 2 x 2880 + 2880 = 24,891,840; 128 of them 3,186,155,520
//   layer 3,213,080,000; 36 layers 115,670,880,000; embeddings 2 x 201088 x 2880 =
//   1,158,266,880; final norm 2,880 -> 116,829,149,760 (published: 116.8B)
TEST(Params, GptOss120b) {
  EXPECT_EQ(Total("gpt-oss-120b"), 116829149760.0);
}

// Sliding windows: a query sees itself and the W - 1 tokens before it. 10 tokens under a window
// of 4: 4 x 5 / 2 + 6 x 4 = 34 pairs; a document no longer than the window is fully causal.
// gpt-oss-120b at s = 4096 alternates 128-token windows (layers 0, 2, ...) and full attention
// (q = o = 4096): 18 global layers at 4097 keys a token, 18 local at 2 x WindowPairs(4096, 128) /
// 4096 = 2 x (128 x 129 / 2 + 3968 x 128) / 4096 = 252.03125:
//   3 x 8192 x (18 x 4097 + 18 x 252.03125) = 1,923,872,256 FLOP per token of attention.
TEST(Flops, SlidingWindowsCountThePairsInsideTheWindow) {
  EXPECT_EQ(WindowPairs(10, 4), 34.0);
  EXPECT_EQ(WindowPairs(3, 4), CausalPairs(3));
  EXPECT_EQ(WindowPairs(4096, 0), CausalPairs(4096));
  spec::ModelSpec m = Must(spec::LoadModel("gpt-oss-120b"));
  EXPECT_TRUE(m.IsLocalAttentionLayer(0));
  EXPECT_FALSE(m.IsLocalAttentionLayer(1));
  EXPECT_EQ(m.LocalAttentionLayers(), 18);  // 36 layers, every 2nd global
  // The closed-form count agrees with the per-layer rule, also where the interval does not
  // divide the layers (37 layers, every 3rd global: 37 - 12 = 25) and without an interval.
  for (auto [layers, interval] : {std::pair<int64_t, int64_t>{37, 3}, {36, 0}, {5, 7}}) {
    spec::ModelSpec w = m;
    w.layers = layers;
    w.global_attention_interval = interval;
    int64_t count = 0;
    for (int64_t l = 0; l < layers; ++l) count += w.IsLocalAttentionLayer(l);
    EXPECT_EQ(w.LocalAttentionLayers(), count) << layers << " " << interval;
  }
  EXPECT_EQ([&] {
    spec::ModelSpec w = m;
    w.layers = 37;
    w.global_attention_interval = 3;
    return w.LocalAttentionLayers();
  }(), 25);
  ModelFlops f = ModelFlopsPerToken(m, 4096);
  EXPECT_EQ(f.attention_term_causal, 1923872256.0);
  // One layer on one rank, one sequence of 4096: the full causal pairs (8,390,656) at half the
  // layers' share on "attention", the windowed ones (516,160) on "attention_local", read at 128
  // keys; 2 x pairs x (q + o) x 1/2 each.
  ShardShape s;
  s.seq_len = 4096;
  std::vector<Op> ops = LayerOps(m, true, s);
  EXPECT_EQ(Find(ops, "attention").fwd_flops, 2.0 * 8390656 * 8192 * 0.5);
  const Op& local = Find(ops, "attention_local");
  EXPECT_EQ(local.fwd_flops, 2.0 * 516160 * 8192 * 0.5);
  EXPECT_EQ(local.key_len, 128);
  EXPECT_EQ(local.saved_bytes, 0);
}

// Packed documents (workload.document_tokens): 10 tokens in documents of 4 are two whole ones and
// a cut one of 2: 2 x 10 + 3 = 23 pairs; under a window of 2, 2 x (3 + 2 x 2) + 3 = 17. A length
// of 0, or at least the sequence, is one document.
// Llama 3 8B at s = 8192 in documents of 256: 32 documents of 256 x 257 / 2 = 32,896 pairs,
// 1,052,672 in all, 2 x 1,052,672 / 8192 = 257 keys a token (d + 1, as s + 1 for one document):
//   attention 6 x 32 x 4096 x 257 = 202,113,024; with 6N = 45,027,950,592 (Flops.Llama3_8b
//   below): 45,230,063,616 FLOP per token;
//   without the causal mask 256 keys a token: 12 x 32 x 4096 x 256 = 402,653,184 ->
//   45,430,603,776.
// One layer's attention op on one rank: 2 x 1,052,672 x (4096 + 4096) FLOP forward, read at 256
// keys; what it keeps for backward does not change (the same tokens).
TEST(Flops, PackedDocumentsCountThePairsWithinEach) {
  EXPECT_EQ(PackedPairs(10, 4), 23.0);
  EXPECT_EQ(PackedPairs(10, 4, [](double d) { return WindowPairs(d, 2); }), 17.0);
  EXPECT_EQ(PackedPairs(10, 0), CausalPairs(10));
  EXPECT_EQ(PackedPairs(10, 10), CausalPairs(10));
  EXPECT_EQ(PackedPairs(10, 12), CausalPairs(10));
  spec::ModelSpec m = Must(spec::LoadModel("llama3-8b"));
  ModelFlops f = ModelFlopsPerToken(m, 8192, false, 256);
  EXPECT_EQ(f.attention_term_causal, 202113024.0);
  EXPECT_EQ(f.per_token_causal, 45230063616.0);
  EXPECT_EQ(f.per_token_noncausal, 45430603776.0);
  EXPECT_NE(f.formula.find("packed documents of 256 tokens"), std::string::npos) << f.formula;
  spec::WorkloadSpec w;
  w.seq_len = 8192;
  w.document_tokens = 256;
  EXPECT_EQ(ModelFlopsPerToken(m, w).per_token_causal, f.per_token_causal);
  ShardShape one, packed;
  one.seq_len = packed.seq_len = 8192;
  packed.document_tokens = 256;
  const std::vector<Op> whole_ops = LayerOps(m, false, one);
  const std::vector<Op> packed_ops = LayerOps(m, false, packed);
  const Op& whole = Find(whole_ops, "attention");
  const Op& documents = Find(packed_ops, "attention");
  EXPECT_EQ(documents.fwd_flops, 2.0 * 1052672 * 8192);
  EXPECT_EQ(documents.bwd_flops, 2.5 * documents.fwd_flops);
  EXPECT_EQ(documents.key_len, 256);
  EXPECT_EQ(whole.key_len, 0);  // the sequence
  EXPECT_EQ(documents.saved_bytes, whole.saved_bytes);
}

TEST(Params, MoeLayerPattern) {
  spec::ModelSpec m = Must(spec::LoadModel("mixtral-8x7b"));
  m.moe_first_dense_layers = 3;
  m.moe_layer_interval = 2;
  // Layers 0,1,2 dense; then 3,5,7,... MoE: of 32 layers, (32 - 3 + 1) / 2 = 15 MoE.
  ParamCounts c = CountParams(m);
  EXPECT_EQ(c.moe_layers, 15);
  EXPECT_EQ(c.dense_layers, 17);
  EXPECT_TRUE(m.IsMoeLayer(3));
  EXPECT_FALSE(m.IsMoeLayer(4));
}

TEST(Flops, CausalPairs) {
  EXPECT_EQ(CausalPairs(1), 1.0);
  EXPECT_EQ(CausalPairs(4), 10.0);  // 4 + 3 + 2 + 1
  EXPECT_EQ(CausalPairs(8192), 8192.0 * 8193.0 / 2.0);
}

// Llama 3 8B at s = 8192: N_matmul = 32 * (41,943,040 + 176,160,768) + 128256 * 4096
//   = 6,979,321,856 + 525,336,576 = 7,504,658,432;  6N = 45,027,950,592
//   attention: 6 * 32 * 4096 * 8193 = 6,443,237,376 -> 51,471,187,968 FLOP per token
//   without causal halving: 12 * 32 * 4096 * 8192 = 12,884,901,888 -> 57,912,852,480
TEST(Flops, Llama3_8BPerToken) {
  ModelFlops f = ModelFlopsPerToken(Must(spec::LoadModel("llama3-8b")), 8192);
  EXPECT_EQ(f.matmul_term, 45027950592.0);
  EXPECT_EQ(f.per_token_causal, 51471187968.0);
  EXPECT_EQ(f.per_token_noncausal, 57912852480.0);
  EXPECT_FALSE(f.formula.empty());
}

TEST(Flops, MoeCountsOnlyRoutedExperts) {
  // Mixtral: N_matmul = 32 * (41,943,040 + 32,768 + 2 * 176,160,768) + 32000 * 4096
  //   = 32 * 394,297,344 + 131,072,000 = 12,748,587,008; 6N = 76,491,522,048.
  ModelFlops f = ModelFlopsPerToken(Must(spec::LoadModel("mixtral-8x7b")), 4096);
  EXPECT_EQ(f.matmul_term, 76491522048.0);
}

TEST(Ops, GemmShapesAndFlopsUnderTp) {
  spec::ModelSpec m = Must(spec::LoadModel("llama3-8b"));
  ShardShape s;
  s.micro_batch = 2;
  s.seq_len = 4096;
  s.tp = 4;
  s.cp = 2;
  std::vector<Op> ops = LayerOps(m, false, s);
  // Tokens on the rank: 2 * 4096 / 2 (CP) = 4096. QKV: n = (4096 + 2048) / 4 = 1536, k = 4096.
  const Op& qkv = Find(ops, "qkv_proj");
  EXPECT_EQ(qkv.m, 4096);
  EXPECT_EQ(qkv.n, 1536);
  EXPECT_EQ(qkv.k, 4096);
  EXPECT_EQ(qkv.fwd_flops, 2.0 * 4096 * 1536 * 4096);
  EXPECT_EQ(qkv.bwd_flops, 2.0 * qkv.fwd_flops);
  // Attention: 2 sequences * 4096*4097/2 pairs / 2 CP ranks = 8,390,656 pairs;
  // 4 * pairs * 4096 / 4 (TP) = 34,368,126,976 FLOP forward; backward 2.5x.
  const Op& attn = Find(ops, "attention");
  EXPECT_EQ(attn.fwd_flops, 4.0 * 8390656.0 * 4096.0 / 4.0);
  EXPECT_EQ(attn.bwd_flops, 2.5 * attn.fwd_flops);
  // fc1 (gate and up): n = 2 * 14336 / 4 = 7168; fc2: k = 3584.
  EXPECT_EQ(Find(ops, "mlp_fc1").n, 7168);
  EXPECT_EQ(Find(ops, "mlp_fc2").k, 3584);
}

// One DeepSeek-V3 layer on a rank of TP 8 with SP, one sequence of 4096 tokens (512 per SP shard):
//   down-projections on the shard, weights whole: q_down 512 x 1536 x 7168, kv_down 512 x 576 x 7168
//   up-projections split by head: q_up 4096 x 24576/8 = 3072 x 1536, kv_up 4096 x 32768/8 = 4096
//   x 512, both on the attention side; out_proj 4096 x 7168 x 16384/8 = 2048
//   attention: 4096*4097/2 = 8,390,656 pairs x 2 x (24,576 + 16,384) / 8 = 85,920,317,440 FLOP
//   rotary: 4096 tokens x (128*64/8 + 64) = 4,456,448 elements
//   saved: q_down 2 x 512 x 7168 (the shard of the layer input), kv_down none (same input),
//   q_up 2 x 512 x 1536 and kv_up 2 x 512 x 512 (the normed compressions' shards); the kernel Q,
//   K, V 2 x 4096 x (24,576 + 24,576 + 16,384) / 8 + O 2 x 4096 x 16,384 / 8 + LSE 4 x 4096 x 16.
TEST(Ops, LatentAttentionShapesUnderTp) {
  spec::ModelSpec m = Must(spec::LoadModel("deepseek-v3"));
  ShardShape s;
  s.seq_len = 4096;
  s.tp = 8;
  std::vector<Op> ops = LayerOps(m, false, s);
  const Op& q_down = Find(ops, "q_down_proj");
  EXPECT_EQ(q_down.m, 512);
  EXPECT_EQ(q_down.n, 1536);
  EXPECT_EQ(q_down.k, 7168);
  EXPECT_EQ(q_down.params, 7168.0 * 1536);
  EXPECT_EQ(q_down.saved_bytes, 2.0 * 512 * 7168);
  EXPECT_FALSE(q_down.column_parallel);
  EXPECT_EQ(Find(ops, "kv_down_proj").n, 576);
  EXPECT_EQ(Find(ops, "kv_down_proj").saved_bytes, 0);
  const Op& q_up = Find(ops, "q_up_proj");
  EXPECT_EQ(q_up.m, 4096);
  EXPECT_EQ(q_up.n, 3072);
  EXPECT_EQ(q_up.k, 1536);
  EXPECT_EQ(q_up.saved_bytes, 2.0 * 512 * 1536);
  EXPECT_TRUE(q_up.column_parallel && q_up.attention_side);
  const Op& kv_up = Find(ops, "kv_up_proj");
  EXPECT_EQ(kv_up.n, 4096);
  EXPECT_EQ(kv_up.k, 512);
  EXPECT_EQ(kv_up.saved_bytes, 2.0 * 512 * 512);
  EXPECT_TRUE(kv_up.column_parallel && kv_up.attention_side);
  EXPECT_EQ(Find(ops, "out_proj").k, 2048);
  EXPECT_EQ(Find(ops, "q_norm").params, 1536);
  EXPECT_EQ(Find(ops, "kv_norm").params, 512);
  const Op& attn = Find(ops, "attention");
  EXPECT_EQ(attn.fwd_flops, 85920317440.0);
  EXPECT_EQ(attn.saved_bytes,
            2.0 * 4096 * (24576 + 24576 + 16384) / 8 + 2.0 * 4096 * 16384 / 8 + 4.0 * 4096 * 16);
  EXPECT_EQ(Find(ops, "rope").fwd_flops, 6.0 * 4096 * (128 * 64 / 8 + 64));
  EXPECT_FALSE(Find(ops, "mlp_fc1").attention_side);
}

// Saved activations per token of one Llama 3 8B layer, TP 1 (h = 4096, q = 4096, kv = 1024,
// f = 14336, 32 heads), following Korthikanti et al. 2022 adapted to GQA/SwiGLU/flash attention:
//   norm inputs 2 * 2h = 16,384 + FP32 rstd 2 * 4 = 8; QKV and fc1 inputs 2 * 2h = 16,384;
//   Q, K, V: 2 * (4096 + 2048) = 12,288; O: 2 * 4096 = 8,192; LSE: 4 * 32 = 128;
//   SwiGLU input 2 * 2f = 57,344; fc2 input 2f = 28,672  ->  139,400 bytes per token.
TEST(Ops, SavedActivationsLlama) {
  spec::ModelSpec m = Must(spec::LoadModel("llama3-8b"));
  ShardShape s;
  s.micro_batch = 1;
  s.seq_len = 8192;
  double saved = 0;
  for (const Op& op : LayerOps(m, false, s)) saved += op.saved_bytes;
  EXPECT_EQ(saved, 139400.0 * 8192);
  // TP 8 with sequence parallelism divides every term by 8: 17,425 bytes per token.
  s.tp = 8;
  s.sequence_parallel = true;
  saved = 0;
  for (const Op& op : LayerOps(m, false, s)) saved += op.saved_bytes;
  EXPECT_EQ(saved, 17425.0 * 8192);
  // Without SP the four 2h tensors (32,768 bytes) and the 8 bytes of statistics stay whole:
  // 32,776 + (139,400 - 32,776) / 8 = 46,104 bytes per token.
  s.sequence_parallel = false;
  saved = 0;
  for (const Op& op : LayerOps(m, false, s)) saved += op.saved_bytes;
  EXPECT_EQ(saved, 46104.0 * 8192);
}

// FP8 linears that keep their input as the FP8 cast (Transformer Engine) save, per token of the
// same Llama 3 8B layer at TP 1: QKV in 2h -> h (-4,096), fc1 in 2h -> h (-4,096), fc2 in
// 2f -> f (-14,336), and the output projection's own FP8 copy of O, q = +4,096 (the attention
// kernel still keeps the BF16 O): 139,400 - 18,432 = 120,968 bytes. At TP 8 with SP every term is
// divided by 8: 17,425 - 2,304 = 15,121.
TEST(Ops, Fp8LinearsSaveFp8Inputs) {
  spec::ModelSpec m = Must(spec::LoadModel("llama3-8b"));
  ShardShape s;
  s.micro_batch = 1;
  s.seq_len = 8192;
  s.saved_input_cast_bytes = kFp8Bytes;
  auto saved = [&] {
    double total = 0;
    for (const Op& op : LayerOps(m, false, s)) total += op.saved_bytes;
    return total;
  };
  EXPECT_EQ(saved(), 120968.0 * 8192);
  EXPECT_EQ(Find(LayerOps(m, false, s), "out_proj").saved_bytes, 4096.0 * 8192);
  s.tp = 8;
  s.sequence_parallel = true;
  EXPECT_EQ(saved(), 15121.0 * 8192);
}

// A MoE layer: Qwen3 30B-A3B (h = 2048, 128 experts of width 768, top-8) given one shared expert of
// width 768, at TP 4 with SP, EP 8, 4096 tokens (1024 on a rank outside the TP region), FP8 inputs.
// - The routed experts run as a grouped GEMM of 128 / 8 = 16 local experts: gemm_groups 16 over
//   m = 1024 x 8 = 8192 rows; fc1 (n = 2 x 768 = 1536, k = 2048) reads every local expert's weight:
//   fwd_bytes = 2 (m k + 16 k n + m n) = 2 (16,777,216 + 50,331,648 + 12,582,912) = 159,383,552.
// - The shared expert's fc1 keeps an FP8 copy of its input's sequence-parallel shard, like QKV:
//   1024 x 2048 = 2,097,152 bytes (not the gathered 4096 rows).
TEST(Ops, MoeExpertsAreAGroupedGemmAndSharedInputsAreSharded) {
  spec::ModelSpec m = Must(spec::LoadModel("qwen3-30b-a3b"));
  m.shared_experts = 1;
  m.shared_expert_ffn_hidden = 768;
  ShardShape s;
  s.micro_batch = 1;
  s.seq_len = 4096;
  s.tp = 4;
  s.ep = 8;
  s.sequence_parallel = true;
  s.saved_input_cast_bytes = kFp8Bytes;
  std::vector<Op> ops = LayerOps(m, true, s);
  const Op& fc1 = Find(ops, "expert_fc1");
  EXPECT_EQ(fc1.gemm_groups, 16);
  EXPECT_EQ(fc1.m, 8192);
  EXPECT_EQ(fc1.fwd_bytes, 159383552.0);
  EXPECT_EQ(Find(ops, "expert_fc2").gemm_groups, 16);
  EXPECT_EQ(Find(ops, "router").gemm_groups, 1);
  EXPECT_EQ(Find(ops, "shared_fc1").saved_bytes, 2097152.0);
  EXPECT_EQ(Find(ops, "qkv_proj").saved_bytes, 2097152.0);
}

// For a GPT layer (MHA, GeLU, f = 4h, LayerNorm) the same accounting reproduces Korthikanti's
// 34 s b h bytes less the two dropout masks (sbh each; our models have no dropout): 32 s b h,
// plus 16 bytes of LayerNorm statistics and the FP32 log-sum-exp, 4 bytes per head.
TEST(Ops, SavedActivationsMatchKorthikantiForGpt) {
  spec::ModelSpec m = Must(spec::LoadModel("gpt3-175b"));
  ShardShape s;
  s.micro_batch = 1;
  s.seq_len = 2048;
  double saved = 0;
  for (const Op& op : LayerOps(m, false, s)) saved += op.saved_bytes;
  double h = 12288, a = 96, tokens = 2048;
  EXPECT_EQ(saved, tokens * (32 * h + 16 + 4 * a));
}

TEST(Ops, HeadAndEmbedding) {
  spec::ModelSpec m = Must(spec::LoadModel("llama3-8b"));
  ShardShape s;
  s.micro_batch = 1;
  s.seq_len = 8192;
  s.tp = 8;
  std::vector<Op> head = HeadOps(m, s);
  // LM head: 2 * 8192 * 4096 * 128256 / 8 FLOP forward; parameters 128256 * 4096 / 8.
  const Op& lm = Find(head, "lm_head");
  EXPECT_EQ(lm.fwd_flops, 2.0 * 8192 * 4096 * 128256 / 8);
  EXPECT_EQ(lm.params, 128256.0 * 4096 / 8);
  // Cross entropy keeps the FP32 softmax of the rank's vocabulary slice.
  EXPECT_EQ(Find(head, "cross_entropy").saved_bytes, 4.0 * 8192 * 128256 / 8);
  EXPECT_EQ(EmbeddingOps(m, s)[0].params, 128256.0 * 4096 / 8);
}

}  // namespace
}  // namespace scaleplan::model
