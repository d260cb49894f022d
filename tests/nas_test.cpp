// Ranking-model architecture search (src/nas): the spaces decode every choice to a valid
// architecture, and a small search runs, is deterministic and reports its front.
#include "nas/nas.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <set>

#include "nas/space.h"
#include "rec/baselines.h"
#include "rec/source.h"
#include "rec/supernet.h"
#include "report/nas_report.h"
#include "report/output.h"
#include "test_util.h"
#include "thread_ranks.h"

namespace scaleplan::nas {
namespace {

using scaleplan::testing::Must;

TEST(NasSpace, EveryChoiceDecodesToAValidArchitecture) {
  // Inputs with and without dense features, with one sparse feature (no dot possible) and many.
  const std::vector<rec::InputShape> inputs = {
      {13, {10000, 500, 2000, 50000, 100, 1000, 20000, 50}},
      {0, {100, 200, 300}},
      {4, {7}},
      {3, {671, 9066, 20, 100}},
      {3, {}},
      {0, {7}}};
  for (const SpaceInfo& info : Spaces()) {
    Space space = info.make();
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 400; ++trial) {
      Choice c(space.dims.size());
      for (size_t d = 0; d < c.size(); ++d) {
        c[d] = static_cast<uint32_t>(rng() % space.dims[d].values.size());
      }
      for (const rec::InputShape& in : inputs) {
        rec::Arch arch = space.Decode(c, in);
        Result<rec::ArchInfo> a = rec::Analyze(arch, in);
        ASSERT_TRUE(a.ok()) << info.name << " " << DescribeChoice(space, c) << ": "
                            << a.status().message();
      }
    }
  }
}

TEST(NasSpace, SizesAreTheProductOfTheDimensions) {
  Result<Space> engineer = MakeSpace("engineer");
  ASSERT_TRUE(engineer.ok());
  // embedding 3 x bottom 4 x interaction 4 x cross layers 4 x cross rank 3 x top depth 3 x top
  // width 5 = 8640
  EXPECT_DOUBLE_EQ(engineer->Size(), 8640);
  Result<Space> scratch = MakeSpace("scratch");
  ASSERT_TRUE(scratch.ok());
  // 3 x (3 * 3 * 4 * 4 * 5 * 2)^4 x depth 4 = 12 * 1440^4
  EXPECT_DOUBLE_EQ(scratch->Size(), 12 * std::pow(1440.0, 4));
  EXPECT_FALSE(MakeSpace("galaxy").ok());
}

TEST(NasSpace, PruneDropsBlocksOffTheOutputsPath) {
  rec::Arch a;
  rec::Block used, dead;
  used.name = "used";
  used.inputs = {"dense"};
  used.widths = {4};
  dead = used;
  dead.name = "dead";
  a.blocks = {dead, used};
  a.output = "used";
  rec::Arch p = rec::Prune(a);
  ASSERT_EQ(p.blocks.size(), 1u);
  EXPECT_EQ(p.blocks[0].name, "used");
  EXPECT_FALSE(rec::Analyze(a, rec::InputShape{3, {}}).ok());
  EXPECT_TRUE(rec::Analyze(p, rec::InputShape{3, {}}).ok());
}

// A synthetic spec written to a file of this process's own: ctest runs the tests that use one
// in parallel processes, and one rewriting it while another read it failed a run ("expected a
// YAML map"). The files are removed when the process ends (each ctest process wrote its own,
// and they piled up in the temporary directory, one per test run).
std::string SpecFile(const std::string& stem, const std::string& yaml) {
  struct Written {
    std::set<std::string> paths;
    ~Written() {
      for (const std::string& path : paths) std::remove(path.c_str());
    }
  };
  static Written written;
  const std::string path =
      ::testing::TempDir() + "/" + stem + "-" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << yaml;
  written.paths.insert(path);
  return path;
}

std::string TinySpec() {
  return SpecFile("tiny-ctr",
                  "seed: 2\nexamples: {train: 4000, valid: 1000, test: 1000}\n"
                  "base_ctr: 0.1\ndense: 3\nsparse:\n"
                  "  - {name: a, cardinality: 100}\n  - {name: b, cardinality: 20}\n"
                  "effects:\n  - {kind: main, feature: a, scale: 0.8}\n"
                  "  - {kind: pairwise, features: [a, b], rank: 2, scale: 0.6}\n");
}

// Two features of 20 ids, each with its own strong effect: a model that loses either shows it.
std::string TwoFeatureSpec() {
  return SpecFile("two-feature-ctr",
                  "seed: 5\nexamples: {train: 4000, valid: 1000, test: 1000}\n"
                  "base_ctr: 0.2\ndense: 2\nsparse:\n"
                  "  - {name: a, cardinality: 20}\n  - {name: b, cardinality: 20}\n"
                  "effects:\n  - {kind: main, feature: a, scale: 1.5}\n"
                  "  - {kind: main, feature: b, scale: 1.5}\n");
}

rec::LoadedData LoadSpec(const std::string& path) {
  rec::DataOptions d;
  d.data = "synthetic:" + path;
  return Must(rec::LoadData(d));
}

TEST(NasSearch, SmallSearchRunsIsDeterministicAndComparesWithBaselines) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  o.budget = 6;
  o.population = 4;
  o.tournament = 2;
  o.proxy_examples = 2000;
  o.proxy_eval = 500;
  o.retrain = 3;
  o.baselines = "dlrm-s,deepfm-m";
  o.space = "engineer";
  Result<NasResult> a = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->history.size(), 6u);
  ASSERT_EQ(a->baselines.size(), 2u);
  EXPECT_EQ(a->baselines[0].name, "dlrm-s");
  ASSERT_FALSE(a->pareto.empty());
  EXPECT_LE(a->pareto.size(), 3u);
  for (size_t i = 1; i < a->pareto.size(); ++i) {
    EXPECT_LE(a->pareto[i - 1].info.flops, a->pareto[i].info.flops);
  }
  ASSERT_EQ(a->versus.size(), 2u);
  EXPECT_TRUE(a->bayes_test.has_value());
  // The engineer space's start (the first 4 candidates, the population) holds its reference
  // model, the engineer's DLRM; the scratch space's holds no fixed model.
  Result<Space> engineer = MakeSpace("engineer");
  ASSERT_TRUE(engineer.ok());
  EXPECT_TRUE(engineer->start_from_reference);
  EXPECT_FALSE(MakeSpace("scratch")->start_from_reference);
  bool reference_tried = false;
  for (size_t i = 0; i < 4; ++i) reference_tried |= a->history[i].choice == engineer->reference;
  EXPECT_TRUE(reference_tried);
  // The proxy's rank correlation with full training: a Spearman coefficient when the front has
  // 3 models, none below.
  if (a->pareto.size() >= 3) {
    ASSERT_TRUE(a->proxy_spearman.has_value());
    EXPECT_GE(*a->proxy_spearman, -1);
    EXPECT_LE(*a->proxy_spearman, 1);
  } else {
    EXPECT_FALSE(a->proxy_spearman.has_value());
  }
  // The same seeds give the same search; REINFORCE runs on the same space.
  Result<NasResult> b = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->history.size(), a->history.size());
  for (size_t i = 0; i < a->history.size(); ++i) {
    EXPECT_EQ(a->history[i].choice, b->history[i].choice);
    EXPECT_EQ(a->history[i].proxy_ne, b->history[i].proxy_ne);
  }
  o.controller = "reinforce";
  o.baselines = "none";
  Result<NasResult> r = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->history.size(), 6u);
  EXPECT_TRUE(r->baselines.empty());
}

// Runners-up (NasOptions::runners_up) are retrained beside the front and leave it as it was:
// the search is the same, and the front's models train to the same test NEs, so one run with
// runners-up also says what the run without them would have found.
TEST(NasSearch, RunnersUpAreRetrainedBesideTheFrontWhichTheyLeaveAsItWas) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  o.budget = 8;
  o.population = 4;
  o.tournament = 2;
  o.proxy_examples = 2000;
  o.proxy_eval = 500;
  o.retrain = 2;
  o.final_seeds = 2;
  o.baselines = "dlrm-s,deepfm-m";
  o.space = "engineer";
  Result<NasResult> plain = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  o.runners_up = 1;
  Result<NasResult> with = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(with.ok()) << with.status().message();
  ASSERT_EQ(with->history.size(), plain->history.size());
  std::vector<std::string> front, extra;
  for (const Scored& s : with->pareto) {
    EXPECT_LE(s.runner_up, 1) << s.name;
    (s.runner_up == 0 ? front : extra).push_back(s.name);
  }
  ASSERT_EQ(front.size(), plain->pareto.size());
  for (size_t i = 0; i < front.size(); ++i) {
    EXPECT_EQ(front[i], plain->pareto[i].name);
    EXPECT_EQ(plain->pareto[i].runner_up, 0);
    const auto same = std::find_if(with->pareto.begin(), with->pareto.end(),
                                   [&](const Scored& s) { return s.name == front[i]; });
    EXPECT_EQ(same->test.ne, plain->pareto[i].test.ne) << front[i];
    EXPECT_EQ(same->valid.ne, plain->pareto[i].valid.ne) << front[i];
    EXPECT_EQ(same->test_ne_sd, plain->pareto[i].test_ne_sd) << front[i];
  }
  // Judged on the front's models alone, the run with runners-up is the run without them
  // (scripts/nas-table.py --runners-up 0), as is the proxy's correlation over the front.
  ASSERT_EQ(with->baselines.size(), plain->versus.size());
  for (size_t b = 0; b < with->baselines.size(); ++b) {
    const Scored* pick = nullptr;
    for (const Scored& s : with->pareto) {
      if (s.runner_up == 0 && s.info.flops <= with->baselines[b].info.flops &&
          (pick == nullptr || s.valid.ne < pick->valid.ne)) {
        pick = &s;
      }
    }
    const NasResult::Versus& was = plain->versus[b];
    if (pick == nullptr) {
      EXPECT_TRUE(was.model.empty());
      continue;
    }
    const NasResult::Versus now = Judge(with->baselines[b], *pick, o.final_seeds);
    EXPECT_EQ(now.model, was.model);
    EXPECT_EQ(now.margin, was.margin);
    EXPECT_EQ(now.Verdict(), was.Verdict());
  }
  EXPECT_EQ(with->proxy_spearman, plain->proxy_spearman);
  // 8 candidates in two bands (up to dlrm-s's FLOPs, then to deepfm-m's): one runner-up in each
  // band that holds a candidate the front does not; at least one here, at most two.
  EXPECT_GE(extra.size(), 1u);
  EXPECT_LE(extra.size(), 2u);
}

TEST(NasSearch, MoreParallelCandidatesThanThePopulationHolds) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  o.budget = 5;
  o.population = 2;
  o.parallel = 3;  // the first batch draws 3 candidates into a population of 2
  o.proxy_examples = 500;
  o.proxy_eval = 200;
  o.retrain = 2;
  o.final_seeds = 1;
  o.baselines = "none";
  Result<NasResult> r = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->history.size(), 5u);
}

// REINFORCE starts from evolution's spread; both take at most the budget of it. Budget 6,
// population 8: the start is the 6 levels a population of 6 starts from (spread over the whole
// FLOPs axis, not the cheapest 6 of 8 levels), which both controllers train first, in FLOPs
// order.
TEST(NasSearch, ReinforceStartsFromEvolutionsSpread) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  o.budget = 6;
  o.population = 8;
  o.proxy_examples = 500;
  o.proxy_eval = 200;
  o.retrain = 2;
  o.final_seeds = 1;
  o.baselines = "none";
  Result<NasResult> evolution = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(evolution.ok()) << evolution.status().message();
  o.controller = "reinforce";
  Result<NasResult> reinforce = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(reinforce.ok()) << reinforce.status().message();
  ASSERT_EQ(evolution->history.size(), 6u);
  ASSERT_EQ(reinforce->history.size(), 6u);
  for (size_t i = 1; i < 6; ++i) {
    EXPECT_LE(evolution->history[i - 1].flops, evolution->history[i].flops);
  }
  for (size_t k = 0; k < 6; ++k) {
    EXPECT_EQ(reinforce->history[k].choice, evolution->history[k].choice) << k;
  }
  NasOptions six = o;
  six.controller = "evolution";
  six.population = 6;
  Result<NasResult> capped = RunNas(data, rec::TrainOptions{}, six);
  ASSERT_TRUE(capped.ok()) << capped.status().message();
  ASSERT_EQ(capped->history.size(), 6u);
  for (size_t k = 0; k < 6; ++k) EXPECT_EQ(capped->history[k].choice, evolution->history[k].choice);
}

// Runs `o` alone and split across two ranks (threads standing in for mpirun's processes) and
// checks that every rank ends with the lone process's answer.
void SplitGivesOneProcesssAnswer(const rec::DataOptions& data, const NasOptions& o) {
  Result<NasResult> alone = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_TRUE(alone.ok()) << alone.status().message();
  testing::ThreadRanks ranks(2);
  std::vector<std::optional<Result<NasResult>>> split(2);
  ranks.Run([&](const Processes& processes) {
    NasOptions mine = o;
    mine.processes = &processes;
    split[static_cast<size_t>(processes.rank())] = RunNas(data, rec::TrainOptions{}, mine);
  });
  for (const auto& r : split) {
    ASSERT_TRUE(r.has_value() && r->ok()) << r->status().message();
    const NasResult& s = r->value();
    ASSERT_EQ(s.history.size(), alone->history.size());
    for (size_t i = 0; i < s.history.size(); ++i) {
      EXPECT_EQ(s.history[i].choice, alone->history[i].choice);
      EXPECT_EQ(s.history[i].proxy_ne, alone->history[i].proxy_ne);
      EXPECT_EQ(s.history[i].proxy_score, alone->history[i].proxy_score);
    }
    ASSERT_EQ(s.pareto.size(), alone->pareto.size());
    for (size_t i = 0; i < s.pareto.size(); ++i) {
      EXPECT_EQ(s.pareto[i].test.ne, alone->pareto[i].test.ne);
    }
    ASSERT_EQ(s.baselines.size(), 1u);
    EXPECT_EQ(s.baselines[0].test.ne, alone->baselines[0].test.ne);
  }
}

// Split across ranks (threads standing in for mpirun's processes), the candidates and the final
// models train where they are dealt and every rank ends with one process's answer: the same
// candidates with the same proxy scores, the same front and the same test NE; with either
// controller.
TEST(NasSearch, SplitAcrossRanksGivesOneProcesssAnswer) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  o.budget = 5;
  o.population = 3;
  o.parallel = 3;
  o.proxy_examples = 500;
  o.proxy_eval = 200;
  o.retrain = 2;
  o.final_seeds = 1;
  o.baselines = "dlrm-s";
  for (const char* controller : {"evolution", "reinforce"}) {
    SCOPED_TRACE(controller);
    o.controller = controller;
    SplitGivesOneProcesssAnswer(data, o);
  }
  o.controller = "auto";
  // Ranks that are processes of their own add their CPU time: every rank reports the same total
  // (each rank's own reading, taken at its own moment, differs).
  testing::ThreadRanks processes(2, /*separate=*/true);
  std::vector<std::optional<Result<NasResult>>> split(2);
  processes.Run([&](const Processes& p) {
    NasOptions mine = o;
    mine.processes = &p;
    split[static_cast<size_t>(p.rank())] = RunNas(data, rec::TrainOptions{}, mine);
  });
  ASSERT_TRUE(split[0]->ok() && split[1]->ok());
  EXPECT_GT(split[0]->value().search_cpu_s, 0);
  EXPECT_EQ(split[0]->value().search_cpu_s, split[1]->value().search_cpu_s);
}

#ifndef SCALEPLAN_HAVE_TORCH
TEST(NasSearch, WithoutLibtorchTheSearchSaysSoBeforeItStarts) {
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  Result<NasResult> r = RunNas(data, rec::TrainOptions{}, NasOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rebuild with -DSCALEPLAN_TORCH=ON"), std::string::npos)
      << r.status().message();
}
#endif

TEST(NasSearch, RejectsAnImpossibleFlopsLimitAndUnknownNames) {
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  Result<NasResult> r = Status::Invalid("not run");
#ifdef SCALEPLAN_HAVE_TORCH  // without a trainer the search stops earlier (the test above)
  o.flops_max = 10;          // every architecture's head alone costs more
  // The search's own error comes before the baselines train (they train when the time limit is
  // first asked, after the first population).
  std::vector<std::string> lines;
  r = RunNas(data, rec::TrainOptions{}, o, [&](const std::string& line) { lines.push_back(line); });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nas.flops_max = 10: 100 draws in a row were over it"),
            std::string::npos)
      << r.status().message();
  for (const std::string& line : lines)
    EXPECT_EQ(line.find("baselines in full"), std::string::npos);
#endif
  o = NasOptions{};
  o.baselines = "dlrm-s,wide-and-deep";
  r = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("wide-and-deep is unknown"), std::string::npos);
  o = NasOptions{};
  o.space = "galaxy";
  r = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nas.space = galaxy"), std::string::npos)
      << r.status().message();
}

TEST(NasSpace, CarriersNameTheBlocksOfTheirOwnStage) {
  const rec::InputShape in{3, {100, 20, 50}};
  Result<Space> engineer = MakeSpace("engineer");
  ASSERT_TRUE(engineer.ok());
  // The reference (DLRM: bottom 64,32, dot, no cross layers, top 64,32): embeddings, bottom,
  // dots, no block for the cross layers or their rank, top, top.
  std::vector<std::string> carriers;
  rec::Arch ref = engineer->Decode(engineer->reference, in, &carriers);
  EXPECT_TRUE(rec::Analyze(ref, in).ok());
  EXPECT_EQ(carriers, (std::vector<std::string>{"sparse", "bottom", "dots", "", "", "top", "top"}));
  // DCN-v2-s's shape: embeddings 8, no bottom, flatten, 2 cross layers of rank 8, top 64,32.
  // Both cross dimensions are carried by the cross block, which reads [dense, flattened].
  rec::Arch dcn = engineer->Decode({0, 0, 2, 2, 1, 1, 2}, in, &carriers);
  EXPECT_EQ(carriers[2], "flat");  // the flattened vectors carry the interaction "flatten"
  EXPECT_EQ(carriers[3], "cross");
  EXPECT_EQ(carriers[4], "cross");
  const rec::Block* cross = nullptr;
  for (const rec::Block& b : dcn.blocks) {
    if (b.name == "cross") cross = &b;
  }
  ASSERT_NE(cross, nullptr);
  EXPECT_EQ(cross->layers, 2);
  EXPECT_EQ(cross->rank, 8);
  EXPECT_EQ(cross->inputs, (std::vector<std::string>{"top_in"}));
  // Scratch: a dimension of stage k names a block "s<k>_..." or nothing; embedding_dim names
  // the embeddings.
  Result<Space> scratch = MakeSpace("scratch");
  ASSERT_TRUE(scratch.ok());
  EXPECT_TRUE(rec::Analyze(scratch->Decode(scratch->reference, in), in).ok());
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    Choice c(scratch->dims.size());
    for (size_t d = 0; d < c.size(); ++d) {
      c[d] = static_cast<uint32_t>(rng() % scratch->dims[d].values.size());
    }
    scratch->Decode(c, in, &carriers);
    ASSERT_EQ(carriers.size(), c.size());
    EXPECT_EQ(carriers[0], "sparse");
    const size_t depth_dim = c.size() - 1;
    ASSERT_EQ(scratch->dims[depth_dim].name, "depth");
    const size_t depth = c[depth_dim] + 1;
    for (size_t d = 1; d < depth_dim; ++d) {
      const size_t stage_index = (d - 1) / 6 + 1;
      // A stage past the depth makes no block.
      if (stage_index > depth) {
        EXPECT_EQ(carriers[d], "") << scratch->dims[d].name;
      }
      if (carriers[d].empty()) continue;
      const std::string stage = "s" + std::to_string(stage_index) + "_";
      EXPECT_EQ(carriers[d].rfind(stage, 0), 0u) << scratch->dims[d].name << " " << carriers[d];
    }
    // The depth is carried by the model's output, a block of a stage within the depth.
    const rec::Arch arch = scratch->Decode(c, in);
    EXPECT_EQ(carriers[depth_dim], arch.output);
    ASSERT_EQ(arch.output.size() > 3 && arch.output[0] == 's', true) << arch.output;
    EXPECT_LE(static_cast<size_t>(arch.output[1] - '0'), depth) << arch.output;
    // dense_op "none" makes no block: no carrier (but at the last stage, where the logit would
    // read the dense features themselves: an MLP there).
    for (size_t k = 0; k < depth; ++k) {
      if (c[1 + 6 * k + 3] == 3 && carriers[depth_dim] != "s" + std::to_string(k + 1) + "_mlp") {
        EXPECT_EQ(carriers[1 + 6 * k + 3], "");
      }
    }
  }
}

TEST(NasSpace, ScratchDepthDropsTheLaterStages) {
  // Embeddings 8; stage 1: identity, flatten, dcn at width 64 (rank 16); stage 2: identity, no
  // interaction, mlp 32; stages 3 and 4: attention, dot, mlp 256 with skips. At depth 2 the
  // logit reads s2_mlp and no block of stages 3 or 4 is made; at depth 4 they are.
  const rec::InputShape in{13, std::vector<int64_t>(26, 1000)};
  Result<Space> scratch = MakeSpace("scratch");
  ASSERT_TRUE(scratch.ok());
  Choice c = {0, 0, 0, 3, 1, 2, 0, 0, 0, 0, 1, 0, 0};
  for (int k = 3; k <= kStages; ++k) {
    for (uint32_t v : {2u, 0u, 1u, 0u, 4u, 1u}) c.push_back(v);
  }
  c.push_back(1);  // depth 2
  rec::Arch shallow = scratch->Decode(c, in);
  EXPECT_EQ(shallow.output, "s2_mlp");
  for (const rec::Block& b : shallow.blocks) {
    EXPECT_TRUE(b.name.rfind("s1_", 0) == 0 || b.name.rfind("s2_", 0) == 0) << b.name;
  }
  Result<rec::ArchInfo> info = rec::Analyze(shallow, in);
  ASSERT_TRUE(info.ok());
  c.back() = 3;  // depth 4
  rec::Arch deep = scratch->Decode(c, in);
  EXPECT_EQ(deep.output, "s4_mlp");
  Result<rec::ArchInfo> deep_info = rec::Analyze(deep, in);
  ASSERT_TRUE(deep_info.ok());
  // Stages 3 and 4 cost FLOPs (attention over 26 vectors, 256-wide MLPs): the deep model dearer.
  EXPECT_GT(deep_info->flops, 2 * info->flops);
}

TEST(NasSearch, MutationChangesTheArchitecture) {
  // A one-stage parent of the scratch space: the reference (embeddings 16; stage 1 identity, dot,
  // mlp 64) at depth 1. It uses 6 of the 26 dimensions: the embedding dim, stage 1's sparse op,
  // interaction, dense op and width, and the depth; stage 1's sparse_out (identity ignores it),
  // its skip (nothing two stages back) and stages 2-4 (18) it does not. Every other value of a
  // used dimension changes the model (dot -> none keeps the dense features as the MLP's input;
  // dense op none passes the concatenation on), so a draw is neutral with probability 20/26 and
  // a mutation takes 26/6 draws on average: 20/6 = 3.33 neutral draws per mutation.
  const rec::InputShape in{13, std::vector<int64_t>(26, 1000)};
  const Space scratch = Must(MakeSpace("scratch"));
  Choice parent = scratch.reference;
  parent.back() = 0;  // depth 1
  const std::string before = rec::ArchToJson(scratch.Decode(parent, in)).dump();
  std::mt19937_64 rng(7);
  int64_t neutral = 0;
  std::set<size_t> changed;
  const int mutations = 300;
  for (int i = 0; i < mutations; ++i) {
    const Choice child = Mutate(scratch, parent, in, &rng, &neutral);
    EXPECT_NE(rec::ArchToJson(scratch.Decode(child, in)).dump(), before);
    size_t differ = 0;
    for (size_t d = 0; d < child.size(); ++d) {
      if (child[d] != parent[d]) {
        ++differ;
        changed.insert(d);
      }
    }
    EXPECT_EQ(differ, 1u);
  }
  EXPECT_EQ(changed, (std::set<size_t>{0, 1, 3, 4, 5, scratch.dims.size() - 1}));
  // 300 mutations: about 1,000 neutral draws (a geometric count's sd per mutation is
  // sqrt(20/26) / (6/26) = 3.8, so 66 over 300): within 4 sd.
  EXPECT_NEAR(static_cast<double>(neutral) / mutations, 20.0 / 6, 4 * 3.8 / std::sqrt(300.0));
  // The reports carry the count.
  NasResult r;
  r.neutral_mutations = neutral;
  EXPECT_EQ(report::NasJson(r)["neutral_mutations"], neutral);
  EXPECT_NE(report::NasText(r).find(
                fmt::format("{} mutations redrawn as they left the model as it was", neutral)),
            std::string::npos);
}

rec::Arch Mlp(const std::string& name, std::vector<int64_t> widths) {
  rec::Arch a;
  a.embedding_dim = 4;
  rec::Block flat = rec::MakeBlock("flat", rec::BlockKind::kFlatten, {"sparse"});
  rec::Block in = rec::MakeBlock("in", rec::BlockKind::kConcat, {"dense", "flat"});
  rec::Block m = rec::MakeBlock(name, rec::BlockKind::kMlp, {"in"});
  m.widths = std::move(widths);
  a.blocks = {flat, in, m};
  a.output = name;
  return a;
}

// The supernet tests' set-up: the tiny spec's data, batch 64, and two one-layer MLPs over the
// flattened embeddings and the dense features under one block name, so the wide one's weights
// grow the narrow one's.
struct TinySupernet {
  rec::LoadedData data = LoadSpec(TinySpec());
  rec::InputShape in = rec::InputOf(data.data);
  rec::TrainOptions options = [] {
    rec::TrainOptions o;
    o.batch = 64;
    return o;
  }();
  rec::Arch narrow = Mlp("m", {8}), wide = Mlp("m", {16});
  rec::ArchInfo narrow_info = Must(rec::Analyze(narrow, in));
  rec::ArchInfo wide_info = Must(rec::Analyze(wide, in));
};

TEST(Supernet, SharesCornersGrowsWithoutChangingWhatWasThereAndGatesBlocks) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  const TinySupernet t;
  const rec::LoadedData& data = t.data;
  const rec::TrainOptions& o = t.options;
  Result<std::unique_ptr<rec::Supernet>> made = rec::MakeSupernet(data.data, o);
  ASSERT_TRUE(made.ok()) << made.status().message();
  rec::Supernet& net = **made;
  const rec::Arch &small = t.narrow, &big = t.wide;
  const rec::ArchInfo &small_info = t.narrow_info, &big_info = t.wide_info;
  Result<double> before = net.Loss(small, small_info, 0, 500);
  ASSERT_TRUE(before.ok()) << before.status().message();
  // The wider block grows m's weights (and the head's); the narrow one keeps its corner, so its
  // loss is the same to the bit.
  ASSERT_TRUE(net.Loss(big, big_info, 0, 500).ok());
  Result<double> after = net.Loss(small, small_info, 0, 500);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*before, *after);
  // Training the wide one moves the shared corner: the narrow one's loss changes.
  for (int64_t step = 0; step < 20; ++step) ASSERT_TRUE(net.TrainStep(big, big_info, step).ok());
  Result<double> trained = net.Loss(small, small_info, 0, 500);
  ASSERT_TRUE(trained.ok());
  EXPECT_NE(*trained, *before);
  // Gates: the block's and the embeddings' derivatives are finite and not zero; a name not in
  // the architecture gets 0.
  std::vector<double> grads;
  ASSERT_TRUE(net.Loss(small, small_info, 0, 500, {"m", "sparse", "nowhere", "m"}, &grads).ok());
  ASSERT_EQ(grads.size(), 4u);
  EXPECT_TRUE(std::isfinite(grads[0]) && grads[0] != 0);
  EXPECT_TRUE(std::isfinite(grads[1]) && grads[1] != 0);
  EXPECT_EQ(grads[2], 0);
  EXPECT_EQ(grads[3], grads[0]);  // one block, one gate
  // One architecture trained alone on a fresh supernet learns as the trainer does: four epochs
  // of the tiny spec (4000 examples, 63 steps each at batch 64) reach about the same valid log
  // loss (the initial draws and the example order differ, so not the same to the bit).
  Result<std::unique_ptr<rec::Supernet>> fresh = rec::MakeSupernet(data.data, o);
  ASSERT_TRUE(fresh.ok());
  for (int64_t step = 0; step < 4 * 63; ++step) {
    ASSERT_TRUE((*fresh)->TrainStep(small, small_info, step).ok());
  }
  Result<double> shared = (*fresh)->Loss(small, small_info, 0, 1000);
  rec::TrainOptions alone = o;
  alone.epochs = 4;
  alone.evaluate_test = false;
  Result<rec::TrainResult> trained_alone = rec::Train(small, data.data, alone);
  ASSERT_TRUE(shared.ok() && trained_alone.ok());
  EXPECT_NEAR(*shared, trained_alone->valid.log_loss, 0.05 * trained_alone->valid.log_loss);
  // ... and has learnt: below the constant predictor's loss (the entropy; on this small spec
  // both reach NE about 0.97).
  EXPECT_LT(*shared, 0.98 * rec::LabelEntropy(data.data.valid, 0, 1000));
  // A concatenation of a concatenation that meets one input twice (dense, then dense again, as
  // a skip would): split to its leaves, the second named apart; it trains and scores.
  rec::Arch nested = Mlp("m2", {8});
  rec::Block again = rec::MakeBlock("in2", rec::BlockKind::kConcat, {"in", "dense"});
  nested.blocks.insert(nested.blocks.begin() + 2, again);
  nested.blocks.back().inputs = {"in2"};
  Result<rec::ArchInfo> nested_info = rec::Analyze(nested, t.in);
  ASSERT_TRUE(nested_info.ok()) << nested_info.status().message();
  Result<double> nested_loss = net.TrainStep(nested, *nested_info, 0);
  ASSERT_TRUE(nested_loss.ok()) << nested_loss.status().message();
  EXPECT_TRUE(net.Loss(nested, *nested_info, 0, 500).ok());
  // Outside the valid split: a named error.
  Result<double> outside = net.Loss(small, small_info, 900, 500);
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().message().find("valid examples [900, 1400) asked for"),
            std::string::npos)
      << outside.status().message();
}

// A model with a smaller embedding dimension or fewer vectors takes the corner of a supernet's
// weights that reads the same vectors' same dimensions (rec/supernet.h): the columns over a
// flattened [N, E] tensor are stored [N, E], and the dot products' pairs come in an order whose
// first pairs are the first vectors'. Trained alone, a small model's weights are then the part of
// the larger model's that reads what the small one reads: the larger one, never trained itself,
// scores about as the small one (its extra embedding columns and pairs hold fresh draws), where
// by a flat corner the E 8 model's columns for feature a's dimensions 4-7 would hold what E 4
// learnt for feature b, and b's embeddings would meet fresh columns.
TEST(Supernet, ALargerModelReadsASmallerOnesWeightsWhereItReadsTheSame) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  const rec::LoadedData data = LoadSpec(TwoFeatureSpec());
  const rec::InputShape in = rec::InputOf(data.data);
  rec::TrainOptions o;
  o.batch = 64;
  const double entropy = rec::LabelEntropy(data.data.valid, 0, 1000);
  // (small, large): flatten at E 4 and E 8; dot products of 3 and of 4 mixed vectors (linear3d)
  // at E 4. (Three vectors' pairs by rows come (0,1), (0,2), (1,2); four vectors' by rows
  // (0,1), (0,2), (0,3), ...: the third column would read another pair.)
  auto flat = [](int64_t e) {
    rec::Arch a = Mlp("m", {8});
    a.embedding_dim = e;
    return a;
  };
  auto dot = [](int64_t vectors) {
    rec::Arch a;
    a.embedding_dim = 4;
    rec::Block mix = rec::MakeBlock("mix", rec::BlockKind::kLinear3d, {"sparse"});
    mix.out = vectors;
    rec::Block dots = rec::MakeBlock("dots", rec::BlockKind::kDot, {"mix"});
    rec::Block cat = rec::MakeBlock("in", rec::BlockKind::kConcat, {"dense", "dots"});
    rec::Block m = rec::MakeBlock("m", rec::BlockKind::kMlp, {"in"});
    m.widths = {8};
    a.blocks = {mix, dots, cat, m};
    a.output = "m";
    return a;
  };
  // And DCN's low-rank cross layer over the flattened embeddings and the dense input, whose rows
  // (U's, the bias's) follow the input's layout as its columns (V's) do.
  auto cross = [&](int64_t e) {
    rec::Arch a = flat(e);
    rec::Block c = rec::MakeBlock("cross", rec::BlockKind::kDcn, {"in"});
    c.layers = 1;
    c.rank = 2;
    a.blocks.back().inputs = {"cross"};
    a.blocks.insert(a.blocks.end() - 1, c);
    return a;
  };
  const std::pair<rec::Arch, rec::Arch> cases[] = {
      {flat(4), flat(8)}, {dot(3), dot(4)}, {cross(4), cross(8)}};
  for (const auto& [small, large] : cases) {
    Result<std::unique_ptr<rec::Supernet>> made = rec::MakeSupernet(data.data, o);
    ASSERT_TRUE(made.ok()) << made.status().message();
    rec::Supernet& net = **made;
    Result<rec::ArchInfo> small_info = rec::Analyze(small, in);
    Result<rec::ArchInfo> large_info = rec::Analyze(large, in);
    ASSERT_TRUE(small_info.ok() && large_info.ok());
    // The large model's weights exist (drawn fresh) before the small one trains.
    ASSERT_TRUE(net.Loss(large, *large_info, 0, 1000).ok());
    for (int64_t step = 0; step < 4 * 63; ++step) {
      ASSERT_TRUE(net.TrainStep(small, *small_info, step).ok());
    }
    const double small_loss = Must(net.Loss(small, *small_info, 0, 1000));
    const double large_loss = Must(net.Loss(large, *large_info, 0, 1000));
    // Both features' effects learnt: well under the constant predictor's loss (about 0.39 and
    // 0.40 against 0.50).
    EXPECT_LT(small_loss, 0.85 * entropy);
    // Aligned, the large model scores within 0.0005 (flatten), 0.011 (the fourth vector's pairs
    // read fresh columns) and 0.0008 (cross) of the small one; by flat corners (the MLP reading
    // the cross layer's output as one part, too) it scores 0.11, 0.16 and 0.10 worse: 0.49, 0.57
    // and 0.49 against the constant predictor's 0.50 (measured on this spec). 3% of the
    // entropy, 0.015, tells them apart.
    EXPECT_NEAR(large_loss, small_loss, 0.03 * entropy);
  }
  // A weight asked for with another number of dimensions than it is held with is a named error
  // (a block name that is a flatten in one model and an MLP in another).
  Result<std::unique_ptr<rec::Supernet>> made = rec::MakeSupernet(data.data, o);
  ASSERT_TRUE(made.ok());
  rec::Arch other = flat(4);
  other.blocks[0] = rec::MakeBlock("flat", rec::BlockKind::kMlp, {"dense"});
  other.blocks[0].widths = {8};
  Result<rec::ArchInfo> flat_info = rec::Analyze(flat(4), in), other_info = rec::Analyze(other, in);
  ASSERT_TRUE(flat_info.ok() && other_info.ok()) << other_info.status().message();
  ASSERT_TRUE((*made)->Loss(flat(4), *flat_info, 0, 100).ok());
  Result<double> clash = (*made)->Loss(other, *other_info, 0, 100);
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("asked for with 2 dimensions, held with 3"),
            std::string::npos)
      << clash.status().message();
}

// TunedLoss (rec/supernet.h): a few steps of the architecture's own, its loss, then the supernet
// put back as it was, weights and optimizer state both.
TEST(Supernet, TunedLossTrainsTheArchitectureThenPutsTheSupernetBack) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  const TinySupernet t;
  const rec::LoadedData& data = t.data;
  const rec::TrainOptions& o = t.options;
  const rec::Arch &small = t.narrow, &big = t.wide;
  const rec::ArchInfo &small_info = t.narrow_info, &big_info = t.wide_info;
  // The same history twice (a supernet seeds its draws when made, and every weight is drawn in
  // the same order), the first with a tuned score of the narrow model in the middle: the wide
  // model's loss after 5 more steps is the same to the bit, so the tuning left no trace in the
  // weights, Adam's moments and step counts, or the embedding rows.
  double with_tuning = 0, without = 0;
  for (bool tune : {true, false}) {
    std::unique_ptr<rec::Supernet> net = Must(rec::MakeSupernet(data.data, o));
    ASSERT_TRUE(net->Loss(big, big_info, 0, 1000).ok());
    for (int64_t step = 0; step < 10; ++step) ASSERT_TRUE(net->TrainStep(big, big_info, step).ok());
    if (tune) {
      const double before = Must(net->Loss(small, small_info, 0, 1000));
      const double tuned = Must(net->TunedLoss(small, small_info, 0, 1000, 20, 1.0));
      EXPECT_NE(tuned, before);  // it trained
      EXPECT_EQ(Must(net->Loss(small, small_info, 0, 1000)), before);
    }
    for (int64_t step = 10; step < 15; ++step) {
      ASSERT_TRUE(net->TrainStep(big, big_info, step).ok());
    }
    (tune ? with_tuning : without) = Must(net->Loss(big, big_info, 0, 1000));
  }
  EXPECT_EQ(with_tuning, without);
  // The narrow model as a corner of the wide one, trained two epochs (63 steps of 64 of the
  // 4000 examples each): one epoch of its own at the full rate lowers its loss (measured: 0.3200
  // to 0.3177, below the wide model's 0.3192).
  std::unique_ptr<rec::Supernet> net = Must(rec::MakeSupernet(data.data, o));
  for (int64_t step = 0; step < 2 * 63; ++step) {
    ASSERT_TRUE(net->TrainStep(big, big_info, step).ok());
  }
  const double corner = Must(net->Loss(small, small_info, 0, 1000));
  const double tuned = Must(net->TunedLoss(small, small_info, 0, 1000, 63, 1.0));
  EXPECT_LT(tuned, corner);
  EXPECT_EQ(Must(net->Loss(small, small_info, 0, 1000)), corner);
  // Bad steps or scale: named errors.
  Result<double> bad = net->TunedLoss(small, small_info, 0, 1000, -1, 0.3);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tuning steps = -1 (allowed: 0 to 100000)"),
            std::string::npos)
      << bad.status().message();
  bad = net->TunedLoss(small, small_info, 0, 1000, 5, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tuning learning-rate scale = 0"), std::string::npos)
      << bad.status().message();
  bad = net->TunedLoss(small, small_info, 900, 500, 5, 0.3);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("valid examples [900, 1400) asked for"), std::string::npos)
      << bad.status().message();
}

TEST(Supernet, DistillationFitsTheTeachersProbabilities) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  const TinySupernet t;
  const rec::LoadedData& data = t.data;
  rec::TrainOptions o = t.options;
  const rec::Arch &teacher = t.narrow, &student = t.wide;
  const rec::ArchInfo &teacher_info = t.narrow_info, &student_info = t.wide_info;
  // One step of the teacher, then one of the student, on fresh supernets that draw every weight
  // in the same order: the teacher fits the labels whatever the weight (the same loss to the
  // bit), and the student's loss is BCE(z, (1 - w) y + w p), linear in w: at w 0.5 the mean of
  // its losses at 0 and 1 (float32 sums: to 1e-5), and w 1 differs from w 0.
  std::vector<double> teacher_loss, student_loss;
  for (double w : {0.0, 0.5, 1.0}) {
    std::unique_ptr<rec::Supernet> net = Must(rec::MakeSupernet(data.data, o));
    ASSERT_TRUE(net->SetTeacher(teacher, teacher_info, w).ok());
    teacher_loss.push_back(Must(net->TrainStep(teacher, teacher_info, 0)));
    student_loss.push_back(Must(net->TrainStep(student, student_info, 0)));
  }
  EXPECT_EQ(teacher_loss[0], teacher_loss[1]);
  EXPECT_EQ(teacher_loss[0], teacher_loss[2]);
  EXPECT_NEAR(student_loss[1], (student_loss[0] + student_loss[2]) / 2, 1e-5);
  EXPECT_GT(std::abs(student_loss[2] - student_loss[0]), 1e-3);
  // A twin of the teacher (the same blocks, so the same weights; another name) that fits the
  // teacher's probabilities alone predicts them already: the gradient sigmoid(z) - p is 0, and
  // Adagrad (no momentum) leaves every weight and embedding row as it was, so the teacher's valid
  // loss is the same to the bit. Fitting the labels, the same step moves it.
  rec::Arch twin = teacher;
  twin.name = "twin";
  o.optimizer = rec::DenseOptimizer::kAdagrad;
  for (double w : {1.0, 0.0}) {
    std::unique_ptr<rec::Supernet> net = Must(rec::MakeSupernet(data.data, o));
    ASSERT_TRUE(net->SetTeacher(teacher, teacher_info, w).ok());
    for (int64_t step = 0; step < 5; ++step) {
      ASSERT_TRUE(net->TrainStep(teacher, teacher_info, step).ok());
    }
    const double before = Must(net->Loss(teacher, teacher_info, 0, 1000));
    ASSERT_TRUE(net->TrainStep(twin, teacher_info, 5).ok());
    if (w == 1.0) {
      EXPECT_EQ(Must(net->Loss(teacher, teacher_info, 0, 1000)), before);
    } else {
      EXPECT_NE(Must(net->Loss(teacher, teacher_info, 0, 1000)), before);
    }
  }
  // A tuned score with a teacher set puts the supernet back as it was: the teacher's and the
  // student's losses after it are those before it, to the bit.
  std::unique_ptr<rec::Supernet> net = Must(rec::MakeSupernet(data.data, o));
  ASSERT_TRUE(net->SetTeacher(teacher, teacher_info, 1).ok());
  for (int64_t step = 0; step < 5; ++step) {
    ASSERT_TRUE(net->TrainStep(student, student_info, step).ok());
    ASSERT_TRUE(net->TrainStep(teacher, teacher_info, step).ok());
  }
  const double teacher_before = Must(net->Loss(teacher, teacher_info, 0, 1000));
  const double student_before = Must(net->Loss(student, student_info, 0, 1000));
  EXPECT_NE(Must(net->TunedLoss(student, student_info, 0, 1000, 10, 1.0)), student_before);
  EXPECT_EQ(Must(net->Loss(teacher, teacher_info, 0, 1000)), teacher_before);
  EXPECT_EQ(Must(net->Loss(student, student_info, 0, 1000)), student_before);
  // A weight outside [0, 1]: a named error.
  const Status bad = net->SetTeacher(teacher, teacher_info, 1.5);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("distillation weight = 1.5 (allowed: a number from 0 to 1)"),
            std::string::npos)
      << bad.message();
}

// The DNAS gradient against finite differences of what it differentiates: the chosen soft
// weight y_c = softmax((alpha + g) / tau)_c times the gate's derivative, plus lambda times the
// expected cost sum_j softmax(alpha)_j F_j.
TEST(Dnas, LogitGradientIsTheDerivativeOfTheRelaxedLoss) {
  const std::vector<double> alpha = {0.3, -0.2, 0.9}, noise = {0.1, 1.2, -0.4},
                            cost = {-0.5, 0.1, 0.4};
  const double tau = 0.7, gate = 0.03, lambda = 0.01;
  auto soft = [&](const std::vector<double>& a) {
    std::vector<double> z;
    for (size_t j = 0; j < a.size(); ++j) z.push_back(std::exp((a[j] + noise[j]) / tau));
    double sum = z[0] + z[1] + z[2];
    for (double& v : z) v /= sum;
    return z;
  };
  auto relaxed = [&](const std::vector<double>& a, uint32_t c) {
    std::vector<double> p;
    for (double v : a) p.push_back(std::exp(v));
    const double sum = p[0] + p[1] + p[2];
    double expected = 0;
    for (size_t j = 0; j < 3; ++j) expected += p[j] / sum * cost[j];
    return gate * soft(a)[c] + lambda * expected;
  };
  const std::vector<double> y = soft(alpha);
  const auto chosen = static_cast<uint32_t>(std::max_element(y.begin(), y.end()) - y.begin());
  std::vector<double> g = DnasLogitGradient(alpha, y, chosen, gate, tau, lambda, cost);
  ASSERT_EQ(g.size(), 3u);
  for (size_t j = 0; j < 3; ++j) {
    std::vector<double> up = alpha, down = alpha;
    up[j] += 1e-6;
    down[j] -= 1e-6;
    const double numeric = (relaxed(up, chosen) - relaxed(down, chosen)) / 2e-6;
    EXPECT_NEAR(g[j], numeric, 1e-8) << j;
  }
  // The gradients of a softmax's logits sum to zero: a shift of all logits changes nothing.
  EXPECT_NEAR(g[0] + g[1] + g[2], 0, 1e-12);
}

// A toy space of two dimensions whose FLOPs add up: dimension 0 costs 1, 10 or 100, dimension 1
// costs 1 or 2. Logits favour the cheapest values: log-probabilities lost by a change, relative
// to the argmax, are the logit differences: dimension 0 {0, 1, 5}, dimension 1 {0, 0.5}.
TEST(Dnas, AnswerIsMovedIntoItsBandByTheLeastLogProbabilityLost) {
  const std::vector<std::vector<double>> alpha = {{0, -1, -5}, {0, -0.5}};
  auto flops = [](const Choice& c) -> Result<double> {
    const double d0[] = {1, 10, 100}, d1[] = {1, 2};
    return d0[c[0]] + d1[c[1]];
  };
  double f = 0;
  // Band [0, 50]: the argmax (0, 0), 2 FLOPs, is in it.
  EXPECT_EQ(Must(LikeliestInBand(alpha, 0, 50, flops, &f)), (Choice{0, 0}));
  EXPECT_EQ(f, 2);
  // Band [5, 50]: raise. From (0, 0) the changes that raise and stay <= 50 are (1, 0) = 11,
  // losing 1, and (0, 1) = 3, losing 0.5: (0, 1), still under 5. From (0, 1): (1, 1) = 12,
  // losing 1 (of dimension 0), or back to (0, 0), which lowers: (1, 1), 12 FLOPs, in the band.
  EXPECT_EQ(Must(LikeliestInBand(alpha, 5, 50, flops, &f)), (Choice{1, 1}));
  EXPECT_EQ(f, 12);
  // Band [50, 200]: (0, 1) = 3 first, then (1, 1) = 12 (losing 1, against (2, 1) = 102 losing
  // 5), then from (1, 1) the raises are (2, 1) = 102, losing 4 (from logit -1 to -5): in.
  EXPECT_EQ(Must(LikeliestInBand(alpha, 50, 200, flops, &f)), (Choice{2, 1}));
  EXPECT_EQ(f, 102);
  // Band [150, 200]: no choice costs more than 102; the dearest reached, under the floor.
  EXPECT_EQ(Must(LikeliestInBand(alpha, 150, 200, flops, &f)), (Choice{2, 1}));
  EXPECT_EQ(f, 102);
  // Over the target: logits favouring the dearest, {-5, -1, 0} and {-0.5, 0}: the argmax (2, 1)
  // costs 102; under a target of 20 the lowering changes are (1, 1) = 12, losing 1, (0, 1) = 3,
  // losing 5, and (2, 0) = 101, losing 0.5: (2, 0), still over; then (1, 0) = 11, losing 1:
  // in [0, 20].
  const std::vector<std::vector<double>> dear = {{-5, -1, 0}, {-0.5, 0}};
  EXPECT_EQ(Must(LikeliestInBand(dear, 0, 20, flops, &f)), (Choice{1, 0}));
  EXPECT_EQ(f, 11);
  // Under a target of 0.5 nothing fits: the cheapest reached, (0, 0) = 2.
  EXPECT_EQ(Must(LikeliestInBand(dear, 0, 0.5, flops, &f)), (Choice{0, 0}));
  EXPECT_EQ(f, 2);
}

// DNAS's targets, by hand. The 12 default baselines' FLOPs (docs/NAS.md), one target each, in
// ascending order (a FLOPs value given twice is one target).
// A baseline of mean test NE 0.9000 against models of 0.8950 to 0.9050, every sd 0.002 over 3
// seeds: the standard error sqrt((0.002^2 + 0.002^2) / 3) = 0.001633, times t(4 df) = 2.776:
// 0.004533 is the noise. Margins 0.005 and -0.005 are past it, 0.003 and -0.003 within.
TEST(NasReport, AVerdictSaysWhetherAWinOrAMissIsMoreThanTheSeedsNoise) {
  auto scored = [](const std::string& name, double ne) {
    Scored s;
    s.name = name;
    s.test.ne = ne;
    s.test_ne_sd = 0.002;
    return s;
  };
  const Scored base = scored("dlrm-s", 0.9000);
  NasResult r;
  r.options.final_seeds = 3;
  for (const auto& [name, ne] : std::vector<std::pair<std::string, double>>{
           {"nas-1", 0.8950}, {"nas-2", 0.8970}, {"nas-3", 0.9030}, {"nas-4", 0.9050}}) {
    r.versus.push_back(Judge(base, scored(name, ne), 3));
  }
  r.versus.push_back(NasResult::Versus{"dcnv2-s", "", 0, false, false, false});
  EXPECT_NEAR(r.versus[0].margin, 0.005, 1e-12);
  EXPECT_EQ(r.versus[0].Verdict(), "beaten_significant");
  EXPECT_EQ(r.versus[1].Verdict(), "beaten_within_noise");
  EXPECT_EQ(r.versus[2].Verdict(), "missed_within_noise");
  EXPECT_EQ(r.versus[3].Verdict(), "missed_significant");
  EXPECT_EQ(r.versus[4].Verdict(), "no_model");
  // Just past and just within the noise: margins 0.00454 and 0.00453.
  EXPECT_TRUE(Judge(base, scored("a", 0.9000 - 0.00454), 3).significant);
  EXPECT_FALSE(Judge(base, scored("b", 0.9000 - 0.00453), 3).significant);
  EXPECT_TRUE(Judge(base, scored("c", 0.9000 + 0.00454), 3).worse);
  // One seed has no spread to test against: no margin is called either way.
  EXPECT_EQ(Judge(base, scored("d", 0.8000), 1).Verdict(), "beaten_untested");
  EXPECT_EQ(Judge(base, scored("e", 0.9900), 1).Verdict(), "missed_untested");
  const nlohmann::json j = report::NasJson(r);
  ASSERT_EQ(j["versus"].size(), 5u);
  EXPECT_EQ(j["versus"][3]["verdict"], "missed_significant");
  EXPECT_EQ(j["versus"][3]["significantly_worse"], true);
  EXPECT_EQ(j["versus"][3]["significant"], false);  // a significant win, as before
  EXPECT_EQ(j["versus"][0]["significant"], true);
  const std::string text = report::NasText(r);
  EXPECT_NE(text.find("2 of 5 baselines beaten on mean test NE by a found model with no more "
                      "FLOPs (1 significantly: a two-sided 95% t test over the seeds); of the 2 "
                      "missed by a found model, 1 significantly, 1 within the seeds' noise; 1 "
                      "with no found model as cheap"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("nas-3 does not beat it by -0.0030 NE (within the seeds' noise)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("nas-4 does not beat it by -0.0050 NE (significant)"), std::string::npos);
  EXPECT_NE(text.find("dcnv2-s      no found model is as cheap"), std::string::npos);
  // The matrix kernels: none known (nulls, "not OpenBLAS"), then OpenBLAS's fallback replaced.
  EXPECT_TRUE(j["blas"]["library"].is_null());
  EXPECT_TRUE(j["blas"]["core"].is_null());
  EXPECT_NE(text.find("Kernels  not OpenBLAS; the NEs' low digits depend on them\n"),
            std::string::npos);
  r.blas = {"libopenblas.so.0", "SkylakeX", "Prescott"};
  const nlohmann::json k = report::NasJson(r)["blas"];
  EXPECT_EQ(k["core"], "SkylakeX");
  EXPECT_EQ(k["openblas_chose"], "Prescott");
  EXPECT_NE(report::NasText(r).find("Kernels  SkylakeX (OpenBLAS chose Prescott, its fallback "
                                    "for a CPU missing from its table)"),
            std::string::npos);  // A runner-up (NasOptions::runners_up) says so in the JSON and the
                                 // text; the front's pick 0.
  r.pareto = {scored("nas-1", 0.8950), scored("nas-2", 0.8970)};
  r.pareto[1].runner_up = 2;
  const nlohmann::json p = report::NasJson(r)["pareto"];
  EXPECT_EQ(p[0]["runner_up"], 0);
  EXPECT_EQ(p[1]["runner_up"], 2);
  const std::string with = report::NasText(r);
  EXPECT_NE(with.find("0.8970       -   0.0000  (runner-up 2) E16"), std::string::npos) << with;
  EXPECT_EQ(with.find("(runner-up 0)"), std::string::npos) << with;
}

// A space of two dimensions, embedding_dim 4 or 8 and an MLP of 4 or 16 over the flattened
// embeddings: SupernetMemory's parts by hand.
TEST(Supernet, MemoryIsTheLargestTableAndTwoArchitecturesState) {
  Space s;
  s.name = "two";
  s.dims = {{"embedding_dim", {"4", "8"}}, {"width", {"4", "16"}}};
  s.reference = {0, 0};
  s.decode = [](const Choice& c, const rec::InputShape&, std::vector<std::string>*) {
    rec::Arch a;
    a.embedding_dim = c[0] == 0 ? 4 : 8;
    rec::Block f = rec::MakeBlock("f", rec::BlockKind::kFlatten, {"sparse"});
    rec::Block m = rec::MakeBlock("m", rec::BlockKind::kMlp, {"f"});
    m.widths = {c[1] == 0 ? 4 : 16};
    a.blocks = {f, m};
    a.output = "m";
    return a;
  };
  const rec::InputShape input{3, {100, 20}};  // 120 embedding rows
  rec::TrainOptions t;
  t.batch = 10;
  t.optimizer = rec::DenseOptimizer::kAdam;
  const rec::TrainBytes need = Must(SupernetMemory(s, input, t, 256, 1));
  // 256 draws of 4 choices meet (E 8, MLP 16), the dearest, but for (3/4)^256.
  // Table: 120 rows x E 8 x 8 bytes (weight, Adagrad's sum) = 7,680.
  // Dense, Adam's 16 bytes a parameter: the reference's MLP 2 x 4 -> 4 (8 x 4 + 4 = 36) and
  // logit (4 + 1), 41; the dearest's 2 x 8 -> 16 (16 x 16 + 16 = 272) and logit (17), 289:
  // 16 x 330 = 5,280. State 12,960.
  EXPECT_DOUBLE_EQ(need.state, 12960.0);
  // Activations, every block's output: the reference's 8 + 4 = 12 elements, the dearest's
  // 16 + 16 = 32; 44 x 12 bytes x batch 10 = 5,280.
  EXPECT_DOUBLE_EQ(need.activation_elements, 44.0);
  EXPECT_DOUBLE_EQ(need.activations, 5280.0);
  // No draws: the reference alone, its table and state and activations once.
  const rec::TrainBytes alone = Must(SupernetMemory(s, input, t, 0, 1));
  EXPECT_DOUBLE_EQ(alone.state, 120.0 * 4 * 8 + 16.0 * 41);
  EXPECT_DOUBLE_EQ(alone.activations, 12.0 * 12 * 10);
  // The scratch space on the default spec's 26 tables would be refused long before a table of
  // 10^7 rows a feature: E 32 x 8 bytes x 2.6e8 rows = 66.6 GB.
  const rec::InputShape criteo{13, std::vector<int64_t>(26, 10000000)};
  const rec::TrainBytes big = Must(SupernetMemory(Must(MakeSpace("scratch")), criteo, t, 256, 1));
  EXPECT_GE(big.state, 26e7 * 32 * 8);
  EXPECT_LT(big.state, 26e7 * 32 * 8 * 1.01);  // the dense part is small beside it
}

TEST(Dnas, TargetsAreTheBaselinesFlopsOrQuantiles) {
  const std::vector<double> baselines = {285488, 12696, 14328, 19348, 36912, 42280,
                                         53232,  80718, 134192, 155120, 199472, 274820};
  EXPECT_EQ(DnasTargets(baselines, {}, 0),
            (std::vector<double>{12696, 14328, 19348, 36912, 42280, 53232, 80718, 134192, 155120,
                                 199472, 274820, 285488}));
  EXPECT_EQ(DnasTargets({300, 100, 300, 200}, {}, 0), (std::vector<double>{100, 200, 300}));
  // A FLOPs limit drops the targets over it; with none left the limit is the target.
  EXPECT_EQ(DnasTargets(baselines, {}, 50000),
            (std::vector<double>{12696, 14328, 19348, 36912, 42280}));
  EXPECT_EQ(DnasTargets(baselines, {}, 10000), (std::vector<double>{10000}));
  // Without baselines: the 10/30/50/70/90% points of the random choices' FLOPs. 11 values
  // 1..11 (shuffled): index q x 10 = 1, 3, 5, 7, 9 -> 2, 4, 6, 8, 10.
  EXPECT_EQ(DnasTargets({}, {7, 1, 11, 3, 5, 9, 2, 4, 6, 8, 10}, 0),
            (std::vector<double>{2, 4, 6, 8, 10}));
  // Equal quantiles make one target.
  EXPECT_EQ(DnasTargets({}, {5, 5, 5, 5}, 0), (std::vector<double>{5}));
}

// The candidates' low-fidelity runs start their embedding rows from the space's reference model
// trained as the final models train, with the seed train.seed + 1000, at the candidate's
// embedding dimension (NasOptions::proxy_embeddings). Checked by doing it by hand: the engineer
// space's reference (DLRM) with its embedding_dim set to the candidate's, trained on the whole
// training split (here 10 epochs of TwoFeatureSpec's 4,000 examples: two features of 20 ids, each
// with a main effect), its table kept; the candidate trained one epoch of the proxy's examples
// from that table gives the search's proxy NE to the last bit. The search's start (budget =
// population: no score steers it) is the same 4 architectures with fresh rows, and with the
// pretrained rows their proxy NE is lower on average (rows that already carry the ids' effects);
// the baseline, retrained in full, is the same run either way.
TEST(NasSearch, ProxiesStartFromPretrainedEmbeddings) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TwoFeatureSpec();
  NasOptions o;
  o.budget = 4;
  o.population = 4;
  o.proxy_examples = 4000;
  o.proxy_eval = 1000;
  o.retrain = 2;
  o.final_seeds = 1;
  o.baselines = "dlrm-s";
  o.space = "engineer";
  o.proxy_embeddings = "pretrained";
  rec::TrainOptions train;
  train.epochs = 10;
  Result<NasResult> pretrained = RunNas(data, train, o);
  ASSERT_TRUE(pretrained.ok()) << pretrained.status().message();
  ASSERT_EQ(pretrained->history.size(), 4u);

  const rec::LoadedData loaded = LoadSpec(TwoFeatureSpec());
  const Space space = Must(MakeSpace("engineer"));
  ASSERT_EQ(space.dims[0].name, "embedding_dim");
  const Candidate& last = pretrained->history[3];
  Choice reference = space.reference;
  reference[0] = last.choice[0];
  rec::TrainOptions pre = train;
  pre.max_eval_examples = 1000;
  pre.evaluate_test = false;
  pre.seed = train.seed + 1000;
  pre.keep_embeddings = true;
  const rec::Arch reference_arch = space.Decode(reference, rec::InputOf(loaded.data));
  ASSERT_EQ(reference_arch.embedding_dim, last.arch.embedding_dim);
  rec::TrainResult table = Must(rec::Train(reference_arch, loaded.data, pre));
  auto start = std::make_shared<rec::EmbeddingStart>();
  start->tables[last.arch.embedding_dim] = table.embedding_table;
  rec::TrainOptions proxy;
  proxy.max_train_examples = 4000;
  proxy.max_eval_examples = 1000;
  proxy.evaluate_test = false;
  proxy.embedding_start = start;
  EXPECT_EQ(Must(rec::Train(last.arch, loaded.data, proxy)).valid.ne, last.proxy_ne);

  o.proxy_embeddings = "fresh";
  Result<NasResult> fresh = RunNas(data, train, o);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  ASSERT_EQ(fresh->history.size(), 4u);
  double sum_pretrained = 0, sum_fresh = 0;
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(pretrained->history[i].choice, fresh->history[i].choice);
    sum_pretrained += pretrained->history[i].proxy_ne;
    sum_fresh += fresh->history[i].proxy_ne;
  }
  EXPECT_LT(sum_pretrained, sum_fresh);
  // The final models train from fresh rows either way: the baseline's runs are the same.
  ASSERT_EQ(pretrained->baselines.size(), 1u);
  ASSERT_EQ(fresh->baselines.size(), 1u);
  EXPECT_EQ(pretrained->baselines[0].test_ne, fresh->baselines[0].test_ne);
  // The fresh proxy is the candidate's run from fresh rows.
  proxy.embedding_start = nullptr;
  EXPECT_EQ(Must(rec::Train(fresh->history[3].arch, loaded.data, proxy)).valid.ne,
            fresh->history[3].proxy_ne);
}

// The caller's check once the data is read (the command's: no output overwrites an input) stops
// the run before anything trains: its error comes back and no progress line was written (every
// candidate, and the pretraining, writes one).
TEST(NasSearch, ACheckAfterTheDataIsReadStopsTheRunBeforeTraining) {
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  o.budget = 4;
  o.population = 4;
  std::vector<std::string> lines;
  int calls = 0;
  Result<NasResult> r = RunNas(
      data, rec::TrainOptions{}, o, [&](const std::string& line) { lines.push_back(line); },
      [&] {
        ++calls;
        return Status::Invalid("out.json: is also an input");
      });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "out.json: is also an input");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(lines.empty()) << lines.front();
}

TEST(NasSearch, AControllerMustDriveItsFamily) {
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  o.method = "dnas";
  o.controller = "evolution";
  Result<NasResult> r = RunNas(data, rec::TrainOptions{}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nas.controller = evolution does not drive nas.method = "
                                      "dnas (allowed: auto; sampling: evolution or reinforce; "
                                      "oneshot: reinforce; dnas: gumbel-softmax)"),
            std::string::npos)
      << r.status().message();
}

// A supernet family's search on the tiny spec (TinySpec) in the engineer space, beside dlrm-s,
// its front retrained once, without the refinement (DNAS's default trains 96 more candidates): a
// few seconds.
NasOptions TinySupernetSearch(const char* method) {
  NasOptions o;
  o.method = method;
  o.refine = 0;
  o.space = "engineer";
  o.proxy_examples = 1000;
  o.proxy_eval = 500;
  o.retrain = 2;
  o.final_seeds = 1;
  o.baselines = "dlrm-s";
  return o;
}

// The refinement goes on from the screen: `refine` more candidates trained at low fidelity,
// children of the screen's front, counted among the screened; a child the supernet never scored
// has no supernet NE; the same seeds give the same children.
TEST(NasSearch, TheRefinementTrainsChildrenOfTheScreensFront) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  for (const char* method : {"oneshot", "dnas"}) {
    SCOPED_TRACE(method);
    NasOptions o = TinySupernetSearch(method);
    if (std::string(method) == "oneshot") o.budget = 4;
    o.screen = 3;
    o.refine = 4;
    rec::TrainOptions t;
    t.batch = 64;
    const NasResult a = Must(RunNas(data, t, o));
    // The engineer space holds 8,640 choices: 4 children of a front of at most 3 are new or
    // scored on the supernet only, all 4 trained (the draws' cap, 40, is far).
    EXPECT_EQ(a.refined, 4);
    int64_t screened = 0, children = 0;
    for (const Candidate& c : a.history) {
      screened += c.screened ? 1 : 0;
      children += c.child ? 1 : 0;
      if (c.child) {
        EXPECT_TRUE(c.screened);
      }
    }
    EXPECT_EQ(screened, a.screened);
    EXPECT_GE(a.screened, 4 + 1);  // the screen's (at least one) and the 4 children
    EXPECT_LE(children, 4);
    const NasResult b = Must(RunNas(data, t, o));
    ASSERT_EQ(a.history.size(), b.history.size());
    for (size_t i = 0; i < a.history.size(); ++i) {
      EXPECT_EQ(a.history[i].choice, b.history[i].choice);
      EXPECT_EQ(a.history[i].proxy_score, b.history[i].proxy_score);
    }
    EXPECT_NE(report::NasText(a).find("4 of them its front's children, the refinement"),
              std::string::npos);
    const nlohmann::json j = report::NasJson(a);
    EXPECT_EQ(j["candidates_refined"], 4);
    // The JSON a user writes: a child's supernet NE is null, and the whole report is finite.
    Result<std::string> written = report::JsonText(j);
    ASSERT_TRUE(written.ok()) << written.status().message();
    for (const nlohmann::json& c : j["history"]) {
      if (c["supernet_ne"].is_null()) {
        EXPECT_EQ(c["screened"], true);
      }
    }
  }
  // The family's own by default (-1): DNAS's kDnasRefine with a screen, none without one or
  // under one-shot.
  NasOptions d = TinySupernetSearch("dnas");
  d.refine = -1;
  EXPECT_EQ(RefineOf(d), kDnasRefine);
  d.screen = 0;
  EXPECT_EQ(RefineOf(d), 0);
  d = TinySupernetSearch("oneshot");
  d.refine = -1;
  EXPECT_EQ(RefineOf(d), 0);
  d.refine = 5;
  EXPECT_EQ(RefineOf(d), 5);
  // Refused: under the sampling family, and without a screen to go on from.
  auto given = [](std::string_view key) { return key == "refine"; };
  NasOptions o = TinySupernetSearch("oneshot");
  o.refine = 4;
  o.screen = 0;
  const Status unscreened = CheckGivenOptionsApply(o, given);
  ASSERT_FALSE(unscreened.ok());
  EXPECT_NE(unscreened.message().find("a --screen other than 0"), std::string::npos)
      << unscreened.message();
  NasOptions s;
  s.refine = 4;
  const Status sampling = CheckGivenOptionsApply(s, given);
  ASSERT_FALSE(sampling.ok());
  EXPECT_NE(sampling.message().find("--method oneshot or dnas, whose screen it goes on from"),
            std::string::npos)
      << sampling.message();
}

// The time limit (NasOptions::time_limit_s). A limit of a millisecond is passed as soon as it is
// asked: evolution trains its first population (4, in batches of 2) and stops before its next
// batch, not at its budget of 10; the refinement, asked before its first batch, trains no child
// while the supernet and the screen run whole; a limit of 10^6 s stops nothing.
TEST(NasSearch, ATimeLimitStopsTheSearchAfterItsFirstPopulation) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o;
  o.budget = 10;
  o.population = 4;
  o.tournament = 2;
  o.proxy_examples = 1000;
  o.proxy_eval = 300;
  o.retrain = 2;
  o.final_seeds = 2;
  o.baselines = "dlrm-s";
  o.time_limit_s = 1e-3;
  const NasResult cut = Must(RunNas(data, rec::TrainOptions{}, o));
  EXPECT_EQ(cut.history.size(), 4u);
  EXPECT_TRUE(cut.time_limited);
  EXPECT_NE(cut.stop_reason.find("4 of 10 candidates trained when nas.time_limit_s = 0.001"),
            std::string::npos)
      << cut.stop_reason;
  ASSERT_EQ(cut.baselines.size(), 1u);  // the baselines and the front still train, whole
  EXPECT_FALSE(cut.pareto.empty());
  EXPECT_GT(cut.baselines_s, 0);
  EXPECT_GT(cut.front_s, 0);
  EXPECT_GT(cut.front_projected_s, 0);  // every front model trained at low fidelity
  EXPECT_GE(cut.wall_s, cut.baselines_s + cut.front_s);
  EXPECT_NE(report::NasText(cut).find("the time limit (0.001 s) stopped the search, so this answer "
                                      "depends on the machine's speed"),
            std::string::npos)
      << report::NasText(cut);
  EXPECT_EQ(report::NasJson(cut)["time_limited"], true);
  o.time_limit_s = 1e6;
  const NasResult whole = Must(RunNas(data, rec::TrainOptions{}, o));
  EXPECT_EQ(whole.history.size(), 10u);
  EXPECT_FALSE(whole.time_limited);
  EXPECT_EQ(whole.stop_reason, "budget of trained candidates");
  // The refinement.
  NasOptions d = TinySupernetSearch("oneshot");
  d.budget = 4;
  d.screen = 3;
  d.refine = 4;
  d.time_limit_s = 1e-3;
  rec::TrainOptions t;
  t.batch = 64;
  const NasResult refined = Must(RunNas(data, t, d));
  EXPECT_TRUE(refined.time_limited);
  EXPECT_EQ(refined.refined, 0);
  EXPECT_GE(refined.screened, 1);
  EXPECT_GT(refined.supernet_steps, 0);
  EXPECT_NE(refined.stop_reason.find("the refinement stopped after 0 of 4 children"),
            std::string::npos)
      << refined.stop_reason;
}

// A full training projected from a low-fidelity run: wall 3.0 s of which 2.0 s trained 1,000
// examples and 0.5 s scored 500, so 0.5 s of set-up, 0.002 s an example trained, 0.001 s one
// scored; a training of 10,000 scoring 3,000: 0.5 + 20 + 3 = 23.5 s.
TEST(NasTime, AFullTrainingIsProjectedFromItsLowFidelityRun) {
  rec::TrainResult low;
  low.wall_s = 3.0;
  low.train_s = 2.0;
  low.score_s = 0.5;
  low.examples = 1000;
  EXPECT_NEAR(ProjectedTrainingS(low, 500, 10000, 3000), 23.5, 1e-12);
  // Nothing trained or scored: the set-up alone.
  EXPECT_NEAR(ProjectedTrainingS(low, 500, 0, 0), 0.5, 1e-12);
}

// Jobs of 3, 1, 2, 5 and 4 s. One process, 2 at a time: groups (3, 1), (2, 5), (4): 3 + 5 + 4 =
// 12 s. Two processes, 2 threads: one at a time each; rank 0 jobs 0, 2, 4 (3 + 2 + 4 = 9), rank 1
// jobs 1, 3 (1 + 5 = 6): 9 s. Two processes, 4 threads: 2 at a time each; rank 0 (3, 2), (4):
// 7 s; rank 1 (1, 5): 5 s; 7 s.
TEST(NasTime, TrainingsAreDealtOutAsTrainAllDealsThem) {
  const std::vector<double> jobs = {3, 1, 2, 5, 4};
  EXPECT_DOUBLE_EQ(GroupedWallS(jobs, 2, 1), 12);
  EXPECT_DOUBLE_EQ(GroupedWallS(jobs, 2, 2), 9);
  EXPECT_DOUBLE_EQ(GroupedWallS(jobs, 4, 2), 7);
  EXPECT_DOUBLE_EQ(GroupedWallS({}, 2, 1), 0);
}

TEST(NasSearch, OneShotAndDnasRunOnTheSameSpaceDeterministically) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  const Choice reference = MakeSpace("engineer")->reference;
  for (const char* method : {"oneshot", "dnas"}) {
    for (const int64_t screen : {int64_t{0}, int64_t{3}}) {
      SCOPED_TRACE(fmt::format("{}, screen {}", method, screen));
      NasOptions o = TinySupernetSearch(method);
      o.budget = 4;
      o.screen = screen;
      rec::TrainOptions t;
      t.batch = 64;
      // The FLOPs limit sits between the engineer space's cheapest and dearest choices.
      o.flops_max = 20000;
      Result<NasResult> a = RunNas(data, t, o);
      ASSERT_TRUE(a.ok()) << a.status().message();
      // Steps: one epoch of the 4000 training examples at batch 64: ceil(4000 / 64) = 63.
      EXPECT_EQ(a->supernet_steps, 63);
      ASSERT_FALSE(a->history.empty());
      // The answer: one-shot 2 x budget draws (8); DNAS per FLOPs target (the one baseline,
      // dlrm-s, makes one: its FLOPs, or the limit if they are over it) its repaired argmax and,
      // with the screen, 4 x (max(1, 3 / 1) - 1) = 8 variants scored, the 2 of the best
      // supernet NE screened. Duplicates are scored once.
      const bool dnas = std::string(method) == "dnas";
      EXPECT_LE(a->history.size(), dnas ? (screen > 0 ? 9u : 1u) : 8u);
      ASSERT_EQ(a->baselines.size(), 1u);
      const double target = std::min(a->baselines[0].info.flops, 20000.0);
      int64_t screened = 0;
      for (const Candidate& c : a->history) {
        EXPECT_LE(c.flops, 20000) << c.arch.name;
        // A supernet NE for every answer; the proxy's scores replace it where the screen
        // trained the candidate.
        EXPECT_TRUE(c.failed || (c.supernet_ne > 0 && c.supernet_ne < 2)) << c.supernet_ne;
        EXPECT_TRUE(c.failed || (c.proxy_ne > 0 && c.proxy_ne < 2)) << c.proxy_ne;
        if (!c.screened) {
          EXPECT_EQ(c.proxy_ne, c.supernet_ne) << c.arch.name;
        }
        screened += c.screened ? 1 : 0;
        // One-shot's random answers are spread over FLOPs without the space's reference, the
        // in-place baseline the supernet trains on every step (its score would be flattered).
        if (dnas) {
          EXPECT_LE(c.flops, target) << c.arch.name;
        } else {
          EXPECT_NE(c.choice, reference) << c.arch.name;
        }
      }
      EXPECT_EQ(screened, a->screened);
      // The screen trains min(3, the answers) of them; without it nothing trains before the
      // front.
      EXPECT_EQ(a->screened, std::min<int64_t>(screen, static_cast<int64_t>(a->history.size())));
      if (dnas) {
        // DNAS's variants each change one dimension of the first answer, the repaired argmax.
        for (size_t i = 1; i < a->history.size(); ++i) {
          int changed = 0;
          for (size_t d = 0; d < a->history[i].choice.size(); ++d) {
            changed += a->history[i].choice[d] != a->history[0].choice[d] ? 1 : 0;
          }
          EXPECT_EQ(changed, 1) << a->history[i].arch.name;
        }
        if (screen == 0) {
          EXPECT_EQ(a->pareto.size(), a->history.size());
        } else {
          // The answer is screened, and no variant left out scored better on the supernet than
          // one the screen took (more variants were scored than screened: 9 on this spec).
          EXPECT_GT(a->history.size(), 3u);
          EXPECT_TRUE(a->history[0].screened);
          double worst_taken = 0, best_left = 2;
          for (size_t i = 1; i < a->history.size(); ++i) {
            const Candidate& c = a->history[i];
            if (c.screened) worst_taken = std::max(worst_taken, c.supernet_ne);
            if (!c.screened && !c.failed) best_left = std::min(best_left, c.supernet_ne);
          }
          EXPECT_LE(worst_taken, best_left);
        }
      }
      // With the screen the front comes from what it trained.
      ASSERT_FALSE(a->pareto.empty());
      for (const Scored& p : a->pareto) {
        bool was_screened = false;
        for (const Candidate& c : a->history) was_screened |= c.arch.name == p.name && c.screened;
        EXPECT_EQ(was_screened, screen > 0) << p.name;
      }
      Result<NasResult> b = RunNas(data, t, o);
      ASSERT_TRUE(b.ok());
      ASSERT_EQ(a->history.size(), b->history.size());
      for (size_t i = 0; i < a->history.size(); ++i) {
        EXPECT_EQ(a->history[i].choice, b->history[i].choice);
        EXPECT_EQ(a->history[i].proxy_ne, b->history[i].proxy_ne);
      }
    }
  }
}

TEST(NasSearch, AnUngivenBudgetIsTheFamilysOwn) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  // Budget 0 (the default) is the family's own: sampling trains 300 candidates, one-shot draws
  // 150 answers from its policies and spreads 150 random choices; the report gives the budget
  // that ran. One-shot on the tiny spec, its answers scored on the supernet as it stands (no
  // steps of their own, no screen): many more distinct answers than a budget of 4 could give
  // (2 x 4), at most the 300 drawn.
  EXPECT_EQ(NasOptions{}.budget, 0);
  EXPECT_EQ(DefaultBudget("sampling"), 300);
  EXPECT_EQ(DefaultBudget("oneshot"), 150);
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o = TinySupernetSearch("oneshot");
  o.tune_steps = 0;
  o.screen = 0;
  rec::TrainOptions t;
  t.batch = 64;
  const NasResult r = Must(RunNas(data, t, o));
  EXPECT_EQ(r.options.budget, 150);
  EXPECT_GT(r.history.size(), 8u);
  EXPECT_LE(r.history.size(), 300u);
}

TEST(NasSearch, DnasRestartsGoOnFromTheFirstSearch) {
#ifndef SCALEPLAN_HAVE_TORCH
  GTEST_SKIP() << "built without libtorch";
#endif
  rec::DataOptions data;
  data.data = "synthetic:" + TinySpec();
  NasOptions o = TinySupernetSearch("dnas");
  o.screen = 0;
  rec::TrainOptions t;
  t.batch = 64;
  Result<NasResult> one = RunNas(data, t, o);
  ASSERT_TRUE(one.ok()) << one.status().message();
  o.restarts = 2;
  std::vector<std::string> said;
  Result<NasResult> two =
      RunNas(data, t, o, [&](const std::string& line) { said.push_back(line); });
  ASSERT_TRUE(two.ok()) << two.status().message();
  // Two searches ran, one after the other.
  std::vector<std::string> starts;
  for (const std::string& line : said) {
    if (line.starts_with("DNAS, search ")) starts.push_back(line.substr(0, 22));
  }
  EXPECT_EQ(starts, (std::vector<std::string>{"DNAS, search 1 of 2: o", "DNAS, search 2 of 2: o"}));
  // The first of two searches is the single search (the search seed's draws go on from it):
  // its answers lead the history, scored alike; the second's follow (an architecture the first
  // already scored is not listed twice). Each supernet trains ceil(4000 / 64) = 63 steps.
  EXPECT_EQ(two->supernet_steps, 63);
  ASSERT_FALSE(one->history.empty());
  ASSERT_GE(two->history.size(), one->history.size());
  for (size_t i = 0; i < one->history.size(); ++i) {
    EXPECT_EQ(two->history[i].choice, one->history[i].choice) << i;
    EXPECT_EQ(two->history[i].supernet_ne, one->history[i].supernet_ne) << i;
  }
  EXPECT_NE(report::NasText(*two).find("scored on 2 supernets (searches one after another) "
                                       "trained 63 steps each"),
            std::string::npos);
  // With the screen the two searches share it: per target (dlrm-s's FLOPs make one) and search
  // max(1, 4 / (1 x 2)) = 2 answers, the argmax and its best variant, 4 at most in all (fewer
  // where the two searches pick one architecture twice); the first search's argmax among them.
  o.screen = 4;
  Result<NasResult> screened = RunNas(data, t, o);
  ASSERT_TRUE(screened.ok()) << screened.status().message();
  EXPECT_GE(screened->screened, 2);
  EXPECT_LE(screened->screened, 4);
  EXPECT_TRUE(screened->history[0].screened);
}

TEST(NasSearch, FirstPopulationIsSpreadInLogFlops) {
  // Draws costing 100, 110, 200, 1100, 5000, 10000 FLOPs, three picked: levels e^(ln 100 +
  // k (ln 10000 - ln 100) / 2) = 100, 1000, 10000 -> the first draw at or above each: indices
  // 0, 3 (1100), 5. Evenly spaced ranks would take index 2 (200 FLOPs) for the middle one.
  EXPECT_EQ(SpreadByLogFlops({100, 110, 200, 1100, 5000, 10000}, 3),
            (std::vector<size_t>{0, 3, 5}));
  // Crowded at the cheap end: 1, 1, 1, 1, 100 and four picks, levels 1, 4.6, 21.5, 100. The
  // second level would skip to 100, but three levels remain for the last three draws, so it
  // takes index 2, the third index 3 and the last index 4: four distinct draws.
  EXPECT_EQ(SpreadByLogFlops({1, 1, 1, 1, 100}, 4), (std::vector<size_t>{0, 2, 3, 4}));
  // More picks than draws: each draw once.
  EXPECT_EQ(SpreadByLogFlops({10, 20}, 5), (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(SpreadByLogFlops({}, 3).empty());
  EXPECT_EQ(SpreadByLogFlops({7, 9}, 1), (std::vector<size_t>{0}));
}

TEST(NasSearch, FrontKeepsTheBestModelUnderEachBaselinesFlops) {
  // (FLOPs, proxy score): C (3,000, 0.96) is beaten by the cheaper B and H failed, so the front
  // is A, B, D, E, F, G (indices 0-5).
  std::vector<Candidate> history;
  auto add = [&](const char* name, double flops, double score, bool failed = false) {
    Candidate c;
    c.arch.name = name;
    c.flops = flops;
    c.proxy_score = score;
    c.failed = failed;
    history.push_back(c);
  };
  add("A", 1000, 0.95);
  add("B", 2000, 0.94);
  add("C", 3000, 0.96);
  add("D", 5000, 0.93);
  add("E", 9000, 0.92);
  add("F", 20000, 0.91);
  add("G", 50000, 0.90);
  add("H", 500, 0.50, true);
  auto names = [](const std::vector<Candidate>& front) {
    std::string out;
    for (const Candidate& c : front) out += c.arch.name;
    return out;
  };
  EXPECT_EQ(names(Front(history, 8, {})), "ABDEFG");
  // Three of six: the best score (G); the last front model at no more than 6,000 FLOPs (D;
  // 100,000 gives G again); then rank 0 (A).
  EXPECT_EQ(names(Front(history, 3, {100000, 6000})), "ADG");
  // Without anchors: G, then the other five (A B D E F) at evenly spaced ranks, two slots:
  // ranks 0 and 4, A and F.
  EXPECT_EQ(names(Front(history, 3, {})), "AFG");
  // Four of six with the 6,000 anchor: G and D, then two slots over A B E F: ranks 0 and 3, A and
  // F (the cheapest of four evenly spaced ranks of the whole front would have taken E instead).
  EXPECT_EQ(names(Front(history, 4, {6000})), "ADFG");
  // An anchor equal to a model's FLOPs picks that model (no more FLOPs than the baseline).
  EXPECT_EQ(names(Front(history, 2, {9000})), "EG");
  // An anchor cheaper than every front model picks nothing.
  EXPECT_EQ(names(Front(history, 2, {10})), "AG");
  // FrontLayers: the front (6 models), then the front of what is left: C (H failed): 7 in all,
  // in FLOPs order. Within the front's size it is Front.
  EXPECT_EQ(names(FrontLayers(history, 8, {})), "ABCDEFG");
  EXPECT_EQ(names(FrontLayers(history, 3, {})), "AFG");
  // Two layers over one slot: a cheap best score dominates everything (I: 100 FLOPs, 0.80), so
  // the front is I alone; the second layer is the old front (A B D E F G), thinned to the two
  // slots left: the best score G, then the cheapest, A.
  add("I", 100, 0.80);
  EXPECT_EQ(names(Front(history, 3, {})), "I");
  EXPECT_EQ(names(FrontLayers(history, 3, {})), "IAG");
  // Anchors at 6,000 and 60,000 FLOPs. The band (0, 6,000] holds I, A, B, C, D: its best is I,
  // on the front. The band (6,000, 60,000] holds E, F, G, all dominated by I: its best score is
  // G (0.90), picked off the front. Front (I) and G make 2 of 3: both. FrontLayers then fills
  // the last slot from the rest's front (A B D E F), thinned to one: its best score, F (the
  // old code took the rest's front with G in it and its 6,000 anchor, D: "IDG").
  EXPECT_EQ(names(Front(history, 3, {6000, 60000})), "IG");
  EXPECT_EQ(names(FrontLayers(history, 3, {6000, 60000})), "IFG");
  // One slot: the best score alone, I (the band picks come after it).
  EXPECT_EQ(names(Front(history, 1, {6000, 60000})), "I");
  // Thinned with dominated picks: anchors 6,000, 20,000 and 60,000 pick I (on the front), F (the
  // best of E, F in (6,000, 20,000]) and G (alone in (20,000, 60,000]); F and G are off the
  // front, 1 + 2 > 2 slots: the best score I, then the anchors' picks in ascending order until
  // the slots are full: F. A repeated anchor adds no band of its own.
  EXPECT_EQ(names(Front(history, 2, {6000, 20000, 60000})), "IF");
  EXPECT_EQ(names(Front(history, 2, {60000, 6000, 20000, 20000})), "IF");
}

TEST(NasFront, RunnersUpAreEachBandsNextBestScores) {
  // (FLOPs, proxy score); each candidate its own model (an MLP of its own width) but E2, which is
  // E under other block names.
  std::vector<Candidate> pool;
  auto add = [&](const char* name, double flops, double score, int64_t width,
                 const char* block = "s1_mlp", bool failed = false) {
    Candidate c;
    c.arch.name = name;
    c.arch.blocks = {rec::MakeBlock(block, rec::BlockKind::kMlp, {"dense"})};
    c.arch.blocks[0].widths = {width};
    c.arch.output = block;
    c.flops = flops;
    c.proxy_score = score;
    c.failed = failed;
    pool.push_back(c);
  };
  add("A", 1000, 0.95, 1);
  add("B", 2000, 0.94, 2);
  add("C", 3000, 0.96, 3);
  add("D", 5000, 0.93, 4);
  add("E", 4000, 0.97, 5);
  add("E2", 4000, 0.97, 5, "s2_mlp");
  add("F", 9000, 0.92, 6);
  add("G", 20000, 0.91, 7);
  add("H", 1500, 0.50, 8, "s1_mlp", true);
  const std::vector<Candidate> picked = {pool[3], pool[7]};  // D and G, as a front might be
  auto names = [](const std::vector<Candidate>& front) {
    std::string out;
    for (const Candidate& c : front) {
      out += c.arch.name + (c.runner_up > 0 ? std::to_string(c.runner_up) : "") + " ";
    }
    return out;
  };
  // Anchors 6,000 and 30,000. Band (-inf, 6,000]: A B C D E E2 (H failed), by score D (picked)
  // B A C E; two runners-up: B (1), A (2). Band (6,000, 30,000]: F G, G picked: F (1). The
  // picks as given, then the runners-up band by band, by rank.
  EXPECT_EQ(names(WithRunnersUp(picked, pool, {30000, 6000}, 2)), "D G B1 A2 F1 ");
  // Five a band: B A C E, then E2 is E's model under another name: not again.
  EXPECT_EQ(names(WithRunnersUp(picked, pool, {6000, 30000}, 5)), "D G B1 A2 C3 E4 F1 ");
  // None: the picks as they were; no anchors: no bands.
  EXPECT_EQ(names(WithRunnersUp(picked, pool, {6000}, 0)), "D G ");
  EXPECT_EQ(names(WithRunnersUp(picked, pool, {}, 2)), "D G ");
  // An anchor under every candidate: an empty band; a band's runners-up stop at its anchor's
  // FLOPs (1,000: A is there, at equal FLOPs).
  EXPECT_EQ(names(WithRunnersUp(picked, pool, {500, 1000}, 2)), "D G A1 ");
}

// Refused where there are no proxy scores to rank runners-up by: DNAS without its screen.
TEST(NasFront, RunnersUpNeedProxyScores) {
  auto given = [](std::string_view key) { return key == "runners_up"; };
  NasOptions d = TinySupernetSearch("dnas");
  d.runners_up = 2;
  EXPECT_TRUE(CheckGivenOptionsApply(d, given).ok());
  d.screen = 0;
  const Status refused = CheckGivenOptionsApply(d, given);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("nas.runners_up"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("a --screen other than 0"), std::string::npos)
      << refused.message();
  // Nor without baselines, whose FLOPs make the bands.
  NasOptions none;
  none.runners_up = 1;
  none.baselines = "none";
  const Status no_bands = CheckGivenOptionsApply(none, given);
  ASSERT_FALSE(no_bands.ok());
  EXPECT_NE(no_bands.message().find("nas.runners_up changes nothing with --baselines none"),
            std::string::npos)
      << no_bands.message();
}

}  // namespace
}  // namespace scaleplan::nas
