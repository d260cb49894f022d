#include "schedule/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "test_util.h"

namespace scaleplan::schedule {
namespace {

using scaleplan::testing::Must;

TEST(Schedules, EveryGeneratorValidates) {
  struct Case {
    spec::Schedule kind;
    int64_t pp, vp, m, n;
  };
  for (const Case& c :
       {Case{spec::Schedule::kGpipe, 4, 1, 8, 0}, Case{spec::Schedule::k1F1B, 4, 1, 8, 0},
        Case{spec::Schedule::k1F1B, 8, 1, 3, 0}, Case{spec::Schedule::kInterleaved, 4, 2, 8, 0},
        Case{spec::Schedule::kInterleaved, 16, 8, 16, 0},
        Case{spec::Schedule::kLlama3, 8, 4, 12, 4}, Case{spec::Schedule::kZbH1, 4, 1, 8, 0},
        Case{spec::Schedule::kZbV, 4, 2, 8, 0}, Case{spec::Schedule::kZbV, 1, 2, 3, 0},
        Case{spec::Schedule::kZbV, 8, 2, 3, 0}}) {
    PipelineSchedule s = Must(Generate(c.kind, c.pp, c.vp, c.m, c.n));
    EXPECT_TRUE(Validate(s).ok()) << s.name << ": " << Validate(s).status().message();
  }
}

// The chunked schedules need two chunks a rank once there is a pipeline, as a plan does; the
// survey (`scaleplan schedules --vp 1`) then says so instead of calling them valid.
TEST(Schedules, ChunkedSchedulesNeedTwoChunks) {
  for (spec::Schedule kind : {spec::Schedule::kInterleaved, spec::Schedule::kLlama3}) {
    Result<PipelineSchedule> s = Generate(kind, 4, 1, 8, 0);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("runs vp >= 2 chunks per rank (vp = 1"), std::string::npos);
    EXPECT_TRUE(Generate(kind, 1, 1, 8, 0).ok());  // no pipeline: one chunk is the whole model
  }
  for (const SurveyRow& row : Must(Survey(4, 1, 8))) {
    // zb-v takes its own two chunks whatever vp the survey is asked for.
    EXPECT_EQ(row.valid, !row.info.chunked || row.info.fixed_chunks > 0)
        << row.info.name << ": " << row.verdict;
  }
  EXPECT_NE(Generate(spec::Schedule::kZbV, 4, 4, 8, 0)
                .status()
                .message()
                .find("zb-v runs two chunks per rank (vp = 4)"),
            std::string::npos);
}

// Looped (interleaved) and V layouts of 4 stages x 2 chunks: virtual stages 0-7 sit on stages
// 0 1 2 3 0 1 2 3 and 0 1 2 3 3 2 1 0; StageOf inverts VirtualStage for every shape.
TEST(Schedules, VirtualStagesLoopedAndInAV) {
  EXPECT_EQ(VirtualStage(4, 0, 1, false), 4);
  EXPECT_EQ(VirtualStage(4, 0, 1, true), 7);
  EXPECT_EQ(VirtualStage(4, 3, 1, true), 4);
  EXPECT_EQ(VirtualStage(4, 2, 0, true), 2);
  for (int64_t pp : {1, 2, 4, 5}) {
    for (bool v : {false, true}) {
      for (int64_t stage = 0; stage < pp; ++stage) {
        for (int64_t chunk = 0; chunk < 4; ++chunk) {
          const int64_t virt = VirtualStage(pp, stage, chunk, v);
          EXPECT_EQ(StageOf(pp, virt, v), stage) << pp << " " << v << " " << chunk;
          EXPECT_EQ(virt / pp, chunk);
        }
      }
    }
  }
}

// ZB-V (Qi et al. 2024) with unit passes: each stage runs 6 m passes (F, B, W of two chunks), and
// the turn stage pp - 1 cannot start before the first micro-batch's pp - 1 forwards reach it, so
// 6 m + pp - 1 is a lower bound on the span. ZB-H1 with the same passes on one chunk of twice the
// size (2 units each) spans 6 m + 2 (pp - 1) (its bubble (pp - 1)(F + B - W)): the V's must be
// shorter once m >= pp. No stage holds more than 2 pp chunk activations (1F1B's stage-0 peak), nor
// more than the 2 m there are.
TEST(Schedules, ZeroBubbleVBeatsZbH1AtOneFOneBMemory) {
  struct Case {
    int64_t pp, m;
  };
  for (const Case& c :
       {Case{4, 8}, Case{8, 16}, Case{4, 4}, Case{8, 8}, Case{16, 32}, Case{8, 3}}) {
    ScheduleCheck check = Must(Validate(Must(Generate(spec::Schedule::kZbV, c.pp, 2, c.m, 0))));
    EXPECT_GE(check.unit_span, 6 * c.m + c.pp - 1) << "pp " << c.pp << " m " << c.m;
    // With fewer micro-batches than stages there are too few weight passes to fill the warm-up.
    if (c.m >= c.pp) {
      EXPECT_LT(check.unit_span, 6 * c.m + 2 * (c.pp - 1)) << "pp " << c.pp << " m " << c.m;
    }
    // What the memory model charges: forwards held until their W, read off each stage's list in
    // order (a stage runs its list in order), never above min(2 m, 2 pp).
    PipelineSchedule s = Must(Generate(spec::Schedule::kZbV, c.pp, 2, c.m, 0));
    for (int64_t stage = 0; stage < c.pp; ++stage) {
      int64_t held = 0, peak = 0;
      for (const Step& op : s.per_stage[static_cast<size_t>(stage)]) {
        held += op.pass == Pass::kForward ? 1 : op.pass == Pass::kWeight ? -1 : 0;
        peak = std::max(peak, held);
      }
      EXPECT_LE(peak, ForwardsHeld(spec::Schedule::kZbV, c.pp, 2, c.m, 0, stage))
          << "pp " << c.pp << " m " << c.m << " stage " << stage;
      EXPECT_LE(check.peak_in_flight[static_cast<size_t>(stage)], peak);
    }
    EXPECT_EQ(ForwardsHeld(spec::Schedule::kZbV, c.pp, 2, c.m, 0, 0), std::min(2 * c.pp, 2 * c.m));
  }
  // pp 8, m 16: the unit run meets the bound.
  EXPECT_EQ(Must(Validate(Must(Generate(spec::Schedule::kZbV, 8, 2, 16, 0)))).unit_span, 103);
}

// Ordered by given pass times (a slow backward, a quick weight pass; stage 0 twice as slow): still
// every pass once and within the cap; pass times of the wrong size are refused.
TEST(Schedules, ZeroBubbleVOrderedByPassTimes) {
  PassTimes times;
  for (int64_t stage = 0; stage < 4; ++stage) {
    for (int64_t chunk = 0; chunk < 2; ++chunk) {
      const double slow = stage == 0 ? 2.0 : 1.0;
      times.forward.push_back(1.0 * slow);
      times.backward.push_back(1.5 * slow);
      times.weight.push_back(0.5 * slow);
    }
  }
  PipelineSchedule s = Must(Generate(spec::Schedule::kZbV, 4, 2, 16, 0, &times));
  EXPECT_TRUE(s.v_shape);
  ScheduleCheck check = Must(Validate(s));
  for (int64_t held : check.peak_in_flight) EXPECT_LE(held, 8);
  // A different order from the unit passes' (the times matter).
  EXPECT_NE(ScheduleJson(s), ScheduleJson(Must(Generate(spec::Schedule::kZbV, 4, 2, 16, 0))));
  // Held until W, as the memory model charges, under these times too.
  for (const auto& ops : s.per_stage) {
    int64_t held = 0;
    for (const Step& op : ops) {
      held += op.pass == Pass::kForward ? 1 : op.pass == Pass::kWeight ? -1 : 0;
      EXPECT_LE(held, 8);
    }
  }
  // The V's layout travels with the file, and a looped plan refuses it.
  const std::string json = ScheduleJson(s);
  EXPECT_NE(json.find("\"layout\":\"v\""), std::string::npos);
  EXPECT_TRUE(ParseSchedule(json, "v.json", 4, 2, 16, true).ok());
  EXPECT_NE(ParseSchedule(json, "v.json", 4, 2, 16, false)
                .status()
                .message()
                .find("layout = \"v\" but the plan's schedule lays its chunks out looped"),
            std::string::npos);
  EXPECT_NE(ParseSchedule(R"({"stages": [[["F",0,0],["B",0,0]]]})", "l.json", 1, 1, 1, true)
                .status()
                .message()
                .find("no layout, so its chunks are looped"),
            std::string::npos);
  // Times that are not finite seconds >= 0, or of the wrong count, are refused.
  PassTimes bad = times;
  bad.forward[3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_NE(Generate(spec::Schedule::kZbV, 4, 2, 16, 0, &bad)
                .status()
                .message()
                .find("(allowed: finite seconds >= 0)"),
            std::string::npos);
  bad = times;
  bad.hop = {1.0, -1.0, 0.0, 0.0};
  EXPECT_FALSE(Generate(spec::Schedule::kZbV, 4, 2, 16, 0, &bad).ok());
  times.weight.pop_back();
  EXPECT_NE(Generate(spec::Schedule::kZbV, 4, 2, 16, 0, &times)
                .status()
                .message()
                .find("8 forward, 8 backward, 7 weight and 0 hop entries"),
            std::string::npos);
  // Too many passes to order by time: refused, not minutes of work.
  EXPECT_NE(
      Generate(spec::Schedule::kZbV, 1024, 2, 2048, 0).status().message().find("more than it may"),
      std::string::npos);
}

// 1F1B holds pp - s forwards on stage s (m >= pp); GPipe all m; interleaved on stage 0
// 2(pp-1) + (v-1) pp + 1 (Megatron-LM), the numbers plan/memory.cpp uses.
TEST(Schedules, PeakInFlightMatchesTheMemoryModel) {
  ScheduleCheck one = Must(Validate(Must(Generate(spec::Schedule::k1F1B, 4, 1, 8, 0))));
  EXPECT_EQ(one.peak_in_flight, (std::vector<int64_t>{4, 3, 2, 1}));
  ScheduleCheck gpipe = Must(Validate(Must(Generate(spec::Schedule::kGpipe, 4, 1, 8, 0))));
  EXPECT_EQ(gpipe.peak_in_flight, (std::vector<int64_t>{8, 8, 8, 8}));
  ScheduleCheck inter = Must(Validate(Must(Generate(spec::Schedule::kInterleaved, 4, 2, 8, 0))));
  EXPECT_EQ(inter.peak_in_flight[0], 2 * 3 + 1 * 4 + 1);
  // ZB-H1 keeps 1F1B's memory.
  ScheduleCheck zb = Must(Validate(Must(Generate(spec::Schedule::kZbH1, 4, 1, 8, 0))));
  EXPECT_EQ(zb.peak_in_flight, one.peak_in_flight);
}

TEST(Schedules, ValidatorRejectsMissingAndDeadlockedPasses) {
  PipelineSchedule s = Must(Generate(spec::Schedule::k1F1B, 2, 1, 2, 0));
  PipelineSchedule missing = s;
  missing.per_stage[1].pop_back();
  EXPECT_NE(Validate(missing).status().message().find("runs micro-batch"), std::string::npos);
  PipelineSchedule deadlock = s;
  // Stage 0 lists [B1, F1, B0, F0]: the backward of micro-batch 1 first, before its own forward.
  std::swap(deadlock.per_stage[0][0], deadlock.per_stage[0].back());
  EXPECT_EQ(Validate(deadlock).status().message(),
            "schedule 1f1b deadlocks: stage 0 waits at B of micro-batch 1 chunk 0 for F of "
            "micro-batch 1 chunk 0, which its list puts later");
  // A cycle across stages, named where it is, not at the first stage left waiting: stage 1 lists
  // F1 before F0 and B0, stage 0 lists B0 before F1. Stage 0 runs F0 and waits at B0 for stage
  // 1's B0, behind stage 1's F1, which waits for stage 0's F1, behind stage 0's B0.
  PipelineSchedule cycle = s;
  cycle.per_stage[0] = {{Pass::kForward, 0, 0},
                        {Pass::kBackward, 0, 0},
                        {Pass::kForward, 1, 0},
                        {Pass::kBackward, 1, 0}};
  cycle.per_stage[1] = {{Pass::kForward, 1, 0},
                        {Pass::kForward, 0, 0},
                        {Pass::kBackward, 0, 0},
                        {Pass::kBackward, 1, 0}};
  EXPECT_EQ(Validate(cycle).status().message(),
            "schedule 1f1b deadlocks: stage 0 waits at B of micro-batch 0 chunk 0 for B of "
            "micro-batch 0 chunk 0 on stage 1; stage 1 waits at F of micro-batch 1 chunk 0 for F "
            "of micro-batch 1 chunk 0 on stage 0 (each stage's list puts the pass another waits "
            "for after the one it waits at)");
  // On four stages, the cycle between stages 2 and 3 is named, not stages 0 and 1, which are left
  // waiting on it: stage 2 lists F0 B0 F1 ..., stage 3 lists F1 first. The chain followed from
  // stage 0: 0 waits for 1's B0, 1 for 2's B0, 2 for 3's B0, 3 for 2's F1 (the cycle).
  PipelineSchedule four = Must(Generate(spec::Schedule::k1F1B, 4, 1, 4, 0));
  four.per_stage[2] = {{Pass::kForward, 0, 0},  {Pass::kBackward, 0, 0}, {Pass::kForward, 1, 0},
                       {Pass::kBackward, 1, 0}, {Pass::kForward, 2, 0},  {Pass::kBackward, 2, 0},
                       {Pass::kForward, 3, 0},  {Pass::kBackward, 3, 0}};
  four.per_stage[3] = {{Pass::kForward, 1, 0},  {Pass::kForward, 0, 0}, {Pass::kBackward, 0, 0},
                       {Pass::kBackward, 1, 0}, {Pass::kForward, 2, 0}, {Pass::kBackward, 2, 0},
                       {Pass::kForward, 3, 0},  {Pass::kBackward, 3, 0}};
  EXPECT_EQ(Validate(four).status().message(),
            "schedule 1f1b deadlocks: stage 2 waits at B of micro-batch 0 chunk 0 for B of "
            "micro-batch 0 chunk 0 on stage 3; stage 3 waits at F of micro-batch 1 chunk 0 for F "
            "of micro-batch 1 chunk 0 on stage 2 (each stage's list puts the pass another waits "
            "for after the one it waits at)");
}

TEST(Schedules, ReadsAUserSchedule) {
  std::string json = R"({"stages": [[["F",0,0],["F",1,0],["B",0,0],["B",1,0]],
                                    [["F",0,0],["B",0,0],["F",1,0],["B",1,0]]]})";
  PipelineSchedule s = Must(ParseSchedule(json, "mine.json", 2, 1, 2));
  EXPECT_EQ(s.per_stage[0].size(), 4u);
  EXPECT_EQ(
      ParseSchedule(R"({"stages": [[["X",0,0]]]})", "bad.json", 1, 1, 1).status().message(),
      "bad.json: stage 0: [\"X\",0,0] is not a pass (allowed: [\"F\"|\"B\"|\"W\", micro-batch 0 "
      "to 0, chunk 0 to 0])");
  EXPECT_NE(ParseSchedule(json, "mine.json", 3, 1, 2).status().message().find("2 stages listed"),
            std::string::npos);
  // 2^32 used to wrap to micro-batch 0 through int32 and be accepted; now out of range (m = 1).
  EXPECT_EQ(ParseSchedule(R"({"stages": [[["F",4294967296,0],["B",0,0]]]})", "wrap.json", 1, 1, 1)
                .status()
                .message(),
            "wrap.json: stage 0: [\"F\",4294967296,0] is not a pass (allowed: [\"F\"|\"B\"|\"W\", "
            "micro-batch 0 to 0, chunk 0 to 0])");
  // A stage that is not a list, and a list longer than 3 x vp x m passes, are refused up front.
  EXPECT_FALSE(ParseSchedule(R"({"stages": [7]})", "s.json", 1, 1, 1).ok());
  EXPECT_NE(
      ParseSchedule(R"({"stages": [[["F",0,0],["B",0,0],["W",0,0],["F",0,0]]]})", "s.json", 1, 1, 1)
          .status()
          .message()
          .find("a list of 4 passes"),
      std::string::npos);
  // A key beside "stages" (a misspelled option, a second list) is refused, not ignored.
  EXPECT_EQ(
      ParseSchedule(R"({"stages": [[["F",0,0],["B",0,0]]], "microbatches": 4})", "s.json", 1, 1, 1)
          .status()
          .message(),
      "s.json: key microbatches is not known (allowed: stages, layout)");
}

}  // namespace
}  // namespace scaleplan::schedule
