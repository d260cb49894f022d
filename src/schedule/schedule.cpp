#include "schedule/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <deque>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "core/json.h"
#include "core/text.h"

namespace scaleplan::schedule {

namespace {

// Megatron-LM's interleaved order with groups of n consecutive micro-batches per chunk; `extra`
// warm-up forwards beyond Megatron's count.
void Interleaved(PipelineSchedule& s, int64_t n, int64_t extra) {
  int64_t pp = s.stages, vp = s.chunks, m = s.microbatches;
  int64_t total = m * vp;
  for (int64_t stage = 0; stage < pp; ++stage) {
    auto forward = [&](int64_t k) {
      return Step{Pass::kForward, static_cast<int32_t>((k / (n * vp)) * n + k % n),
                  static_cast<int32_t>((k / n) % vp)};
    };
    auto backward = [&](int64_t k) {
      return Step{Pass::kBackward, static_cast<int32_t>((k / (n * vp)) * n + k % n),
                  static_cast<int32_t>(vp - 1 - (k / n) % vp)};
    };
    int64_t warmup = std::min(total, 2 * (pp - stage - 1) + (vp - 1) * n + extra);
    std::vector<Step>& ops = s.per_stage[static_cast<size_t>(stage)];
    int64_t f = 0, b = 0;
    for (; f < warmup; ++f) ops.push_back(forward(f));
    while (f < total) {
      ops.push_back(forward(f++));
      ops.push_back(backward(b++));
    }
    while (b < total) ops.push_back(backward(b++));
  }
}

void OneFOneB(PipelineSchedule& s) {
  int64_t pp = s.stages, m = s.microbatches;
  for (int64_t stage = 0; stage < pp; ++stage) {
    std::vector<Step>& ops = s.per_stage[static_cast<size_t>(stage)];
    int64_t warmup = std::min(pp - stage - 1, m);
    int32_t f = 0, b = 0;
    for (; f < warmup; ++f) ops.push_back({Pass::kForward, f, 0});
    while (f < m) {
      ops.push_back({Pass::kForward, f++, 0});
      ops.push_back({Pass::kBackward, b++, 0});
    }
    while (b < m) ops.push_back({Pass::kBackward, b++, 0});
  }
}

// ZB-H1 by list scheduling with unit-time passes: at every step each stage runs a ready B first,
// else a forward while fewer than pp - s are held (1F1B's memory), else a pending W; the order
// each stage ran is its schedule. W passes thus fill the slots where 1F1B would idle.
void ZeroBubbleH1(PipelineSchedule& s) {
  int64_t pp = s.stages, m = s.microbatches;
  std::vector<int64_t> f_done(static_cast<size_t>(pp * m), -1),
      b_done(static_cast<size_t>(pp * m), -1);
  auto at = [&](int64_t stage, int64_t mb) { return static_cast<size_t>(stage * m + mb); };
  std::vector<int32_t> next_f(static_cast<size_t>(pp), 0), next_b(static_cast<size_t>(pp), 0);
  std::vector<std::deque<int32_t>> pending_w(static_cast<size_t>(pp));
  int64_t remaining = 3 * pp * m;
  for (int64_t t = 0; remaining > 0; ++t) {
    std::vector<std::pair<size_t, Step>> ran;
    for (int64_t stage = 0; stage < pp; ++stage) {
      size_t si = static_cast<size_t>(stage);
      int32_t b = next_b[si], f = next_f[si];
      bool b_ready =
          b < m && b < f && f_done[at(stage, b)] >= 0 && f_done[at(stage, b)] < t &&
          (stage == pp - 1 || (b_done[at(stage + 1, b)] >= 0 && b_done[at(stage + 1, b)] < t));
      bool f_ready =
          f < m && (f - b) < pp - stage &&
          (stage == 0 || (f_done[at(stage - 1, f)] >= 0 && f_done[at(stage - 1, f)] < t));
      if (b_ready) {
        ran.push_back({si, {Pass::kBackward, b, 0}});
      } else if (f_ready) {
        ran.push_back({si, {Pass::kForward, f, 0}});
      } else if (!pending_w[si].empty()) {
        ran.push_back({si, {Pass::kWeight, pending_w[si].front(), 0}});
      }
    }
    for (const auto& [si, op] : ran) {
      int64_t stage = static_cast<int64_t>(si);
      s.per_stage[si].push_back(op);
      --remaining;
      if (op.pass == Pass::kForward) {
        f_done[at(stage, op.microbatch)] = t;
        ++next_f[si];
      } else if (op.pass == Pass::kBackward) {
        b_done[at(stage, op.microbatch)] = t;
        ++next_b[si];
        pending_w[si].push_back(op.microbatch);
      } else {
        pending_w[si].pop_front();
      }
    }
  }
}

// ZB-V by list scheduling in time (schedule.h): passes of (micro-batch, chunk) on a V of 2 pp
// virtual stages. The stage that can start a pass soonest (the lowest on a tie) runs, at that
// moment, a ready B, else a ready forward if it holds fewer than 2 pp chunk activations (counted
// until their W), else its oldest pending W; which chunk's B and forward go first is a rule the
// caller picks. With `hop_aware`, a pass from the next or previous stage waits for its send too.
// The cap can leave every stage waiting (each full of micro-batches whose chunk-1 forward cannot
// come back up): with `reserve`, a chunk-0 forward never takes the last slot from the micro-batches
// waiting here for their chunk-1 forward, so one always can, and the order is always complete;
// without, the order stops there and false is returned (the caller keeps another).
struct VRules {
  bool hop_aware = false;
  int32_t first_forward_chunk = 1, first_backward_chunk = 1;
  bool reserve = false;
};
bool ZeroBubbleV(PipelineSchedule& s, const PassTimes* times, const VRules& rules) {
  const bool hop_aware = rules.hop_aware;
  const int32_t first_forward_chunk = rules.first_forward_chunk;
  const int32_t first_backward_chunk = rules.first_backward_chunk;
  const int64_t pp = s.stages, m = s.microbatches, v_total = 2 * pp;
  const int64_t cap = 2 * pp;
  auto duration = [&](Pass pass, int64_t stage, int64_t chunk) {
    if (times == nullptr || times->forward.empty()) return 1.0;
    const size_t at = static_cast<size_t>(stage * 2 + chunk);
    return pass == Pass::kForward    ? times->forward[at]
           : pass == Pass::kBackward ? times->backward[at]
                                     : times->weight[at];
  };
  auto at = [&](int64_t mb, int64_t v) { return static_cast<size_t>(mb * v_total + v); };
  // When a pass's input can be used on `stage`: its dependency's end on virtual stage `from`,
  // plus the send when that ran on the next or previous stage (< 0: not run yet).
  auto arrives = [&](double end, int64_t from, int64_t stage) {
    const int64_t other = StageOf(pp, from, true);
    if (end < 0 || other == stage || !hop_aware || times == nullptr || times->hop.empty()) {
      return end;
    }
    return end + times->hop[static_cast<size_t>(std::min(other, stage))];
  };
  std::vector<double> f_end(static_cast<size_t>(m * v_total), -1.0), b_end(f_end);
  std::vector<double> free_at(static_cast<size_t>(pp), 0.0);
  std::vector<std::array<int32_t, 2>> next_f(static_cast<size_t>(pp), {0, 0}),
      next_b(static_cast<size_t>(pp), {0, 0});
  std::vector<std::deque<std::pair<int32_t, int32_t>>> pending_w(static_cast<size_t>(pp));
  std::vector<int64_t> held(static_cast<size_t>(pp), 0);
  constexpr double kNever = std::numeric_limits<double>::infinity();
  struct Choice {
    double start = kNever;
    Step step;
  };
  // The pass stage `stage` would run soonest, and when: B before F before W at the same moment.
  auto choose = [&](int64_t stage) {
    const size_t si = static_cast<size_t>(stage);
    const double free = free_at[si];
    Choice best;
    int rank = 3;  // 0 B, 1 F, 2 W
    auto offer = [&](double ready, int r, Step step) {
      if (ready < 0) return;
      const double start = std::max(free, ready);
      if (start < best.start || (start == best.start && r < rank)) {
        best = {start, step};
        rank = r;
      }
    };
    for (int32_t chunk : {first_backward_chunk, 1 - first_backward_chunk}) {
      const int32_t k = next_b[si][static_cast<size_t>(chunk)];
      const int64_t v = VirtualStage(pp, stage, chunk, true);
      if (k < next_f[si][static_cast<size_t>(chunk)]) {
        offer(v + 1 < v_total ? arrives(b_end[at(k, v + 1)], v + 1, stage) : f_end[at(k, v)], 0,
              {Pass::kBackward, k, chunk});
      }
    }
    for (int32_t chunk : {first_forward_chunk, 1 - first_forward_chunk}) {
      const int32_t k = next_f[si][static_cast<size_t>(chunk)];
      const int64_t v = VirtualStage(pp, stage, chunk, true);
      const int64_t waiting = next_f[si][0] - next_f[si][1];
      const bool room = held[si] < cap && (chunk == 1 || !rules.reserve || waiting < cap - 1);
      if (k < m && room) {
        offer(v == 0 ? 0.0 : arrives(f_end[at(k, v - 1)], v - 1, stage), 1,
              {Pass::kForward, k, chunk});
      }
    }
    if (!pending_w[si].empty()) {
      offer(0.0, 2, {Pass::kWeight, pending_w[si].front().first, pending_w[si].front().second});
    }
    return best;
  };
  // Each stage's next choice, queued by (start, stage). A pass changes what its own stage and the
  // two next to it can run (a V's dependencies are on the same or an adjacent stage), so only
  // those are chosen again: O(passes log pp).
  std::vector<Choice> chosen(static_cast<size_t>(pp));
  std::set<std::pair<double, int64_t>> queue;
  auto rechoose = [&](int64_t stage) {
    if (stage < 0 || stage >= pp) return;
    Choice& c = chosen[static_cast<size_t>(stage)];
    if (c.start < kNever) queue.erase({c.start, stage});
    c = choose(stage);
    if (c.start < kNever) queue.insert({c.start, stage});
  };
  for (int64_t st = 0; st < pp; ++st) rechoose(st);
  for (int64_t remaining = 6 * pp * m; remaining > 0;) {
    if (queue.empty()) return false;  // stuck at the cap (not with `reserve`)
    const int64_t stage = queue.begin()->second;
    const size_t si = static_cast<size_t>(stage);
    const Choice pick = chosen[si];
    const Step& op = pick.step;
    const int64_t v = VirtualStage(pp, stage, op.chunk, true);
    const double end = pick.start + duration(op.pass, stage, op.chunk);
    free_at[si] = end;
    s.per_stage[si].push_back(op);
    --remaining;
    if (op.pass == Pass::kForward) {
      f_end[at(op.microbatch, v)] = end;
      ++next_f[si][static_cast<size_t>(op.chunk)];
      ++held[si];
    } else if (op.pass == Pass::kBackward) {
      b_end[at(op.microbatch, v)] = end;
      ++next_b[si][static_cast<size_t>(op.chunk)];
      pending_w[si].push_back({op.microbatch, op.chunk});
    } else {
      pending_w[si].pop_front();
      --held[si];
    }
    for (int64_t st : {stage - 1, stage, stage + 1}) rechoose(st);
  }
  return true;
}

// When the last pass of a generated V ends, each stage running its list as soon as the passes it
// waits for (and their sends) are done: how two orders of the same passes are compared.
double TimedSpan(const PipelineSchedule& s, const PassTimes& times) {
  const int64_t pp = s.stages, vp = s.chunks, v_total = pp * vp;
  auto at = [&](int64_t mb, int64_t v) { return static_cast<size_t>(mb * v_total + v); };
  std::vector<double> f_end(static_cast<size_t>(s.microbatches * v_total), -1.0), b_end(f_end);
  std::vector<size_t> next(static_cast<size_t>(pp), 0);
  std::vector<double> free_at(static_cast<size_t>(pp), 0.0);
  auto arrives = [&](double end, int64_t from, int64_t stage) {
    const int64_t other = StageOf(pp, from, s.v_shape);
    if (end < 0 || other == stage || times.hop.empty()) return end;
    return end + times.hop[static_cast<size_t>(std::min(other, stage))];
  };
  for (bool progress = true; progress;) {
    progress = false;
    for (int64_t stage = 0; stage < pp; ++stage) {
      const auto& ops = s.per_stage[static_cast<size_t>(stage)];
      size_t& i = next[static_cast<size_t>(stage)];
      for (; i < ops.size(); ++i) {
        const Step& op = ops[i];
        const int64_t v = VirtualStage(pp, stage, op.chunk, s.v_shape);
        const size_t cost = static_cast<size_t>(stage * vp + op.chunk);
        double ready = 0, duration = times.weight[cost];
        if (op.pass == Pass::kForward) {
          ready = v == 0 ? 0.0 : arrives(f_end[at(op.microbatch, v - 1)], v - 1, stage);
          duration = times.forward[cost];
        } else if (op.pass == Pass::kBackward) {
          ready = v + 1 < v_total ? arrives(b_end[at(op.microbatch, v + 1)], v + 1, stage)
                                  : f_end[at(op.microbatch, v)];
          duration = times.backward[cost];
        } else {
          ready = b_end[at(op.microbatch, v)];
        }
        if (ready < 0) break;
        double& free = free_at[static_cast<size_t>(stage)];
        free = std::max(free, ready) + duration;
        if (op.pass == Pass::kForward) f_end[at(op.microbatch, v)] = free;
        if (op.pass == Pass::kBackward) b_end[at(op.microbatch, v)] = free;
        progress = true;
      }
    }
  }
  return *std::max_element(free_at.begin(), free_at.end());
}

}  // namespace

const std::vector<ScheduleInfo>& Schedules() {
  using spec::Schedule;
  static const std::vector<ScheduleInfo> schedules = {
      {"gpipe", "all forwards, then all backwards (Huang et al. 2019)", Schedule::kGpipe, false,
       true, false},
      {"1f1b", "one forward one backward after pp-s-1 warm-up forwards (PipeDream-Flush)",
       Schedule::k1F1B, false, false, false},
      {"interleaved",
       "Megatron-LM interleaved 1F1B, vp chunks per rank, groups of pp micro-batches",
       Schedule::kInterleaved, true, false, false},
      {"llama3", "interleaved 1F1B with N consecutive micro-batches per chunk (Llama 3)",
       Schedule::kLlama3, true, false, false},
      {"zb-h1", "1F1B with backward split into B and W; W fills the idle slots (Qi et al. 2023)",
       Schedule::kZbH1, false, false, true},
      {"zb-v",
       "two chunks a rank in a V, backward split into B and W, at most 1F1B's peak memory (Qi "
       "et al. 2024)",
       Schedule::kZbV, true, false, true, true, 2}};
  return schedules;
}

const ScheduleInfo& Info(spec::Schedule kind) {
  for (const ScheduleInfo& info : Schedules()) {
    if (info.kind == kind) return info;
  }
  assert(false && "every schedule kind is in Schedules()");
  return Schedules().front();
}

int64_t ForwardsHeld(spec::Schedule kind, int64_t pp, int64_t vp, int64_t m, int64_t group,
                     int64_t stage) {
  switch (kind) {
    case spec::Schedule::kGpipe:
      return m;
    case spec::Schedule::k1F1B:
    case spec::Schedule::kZbH1:
      return std::min(pp - stage, m);
    case spec::Schedule::kInterleaved:
    case spec::Schedule::kLlama3:
      return std::min(m * vp, 2 * (pp - stage - 1) + (vp - 1) * group + 1);
    case spec::Schedule::kZbV:
      return std::min(m * vp, 2 * pp);
  }
  return m;
}

std::string_view PassName(Pass p) {
  return p == Pass::kForward ? "F" : p == Pass::kBackward ? "B" : "W";
}

std::string ScheduleJson(const PipelineSchedule& schedule) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& ops : schedule.per_stage) {
    nlohmann::json list = nlohmann::json::array();
    for (const Step& op : ops) list.push_back({PassName(op.pass), op.microbatch, op.chunk});
    stages.push_back(list);
  }
  nlohmann::json out{{"stages", stages}};
  if (schedule.v_shape) out["layout"] = "v";  // chunk 1 runs back up the stages
  return out.dump() + "\n";
}

Result<std::vector<SurveyRow>> Survey(int64_t pp, int64_t vp, int64_t m) {
  // The one-chunk schedules must fit (else the error cites the vp given); a chunked one too
  // large for its vp is its row's verdict.
  if (!CheckScheduleSize(pp, 1, m).ok()) return CheckScheduleSize(pp, vp, m);
  std::vector<SurveyRow> rows;
  for (const ScheduleInfo& info : Schedules()) {
    SurveyRow row;
    row.info = info;
    row.vp = info.fixed_chunks > 0 ? info.fixed_chunks : info.chunked ? vp : 1;
    Result<PipelineSchedule> s = Generate(info.kind, pp, row.vp, m, 0);
    if (!s.ok()) {
      row.verdict = "not generated: " + s.status().message();
    } else {
      Result<ScheduleCheck> check = Validate(*s);
      row.valid = check.ok();
      row.verdict =
          check.ok() ? fmt::format("valid for pp {} vp {} m {}; peak forwards held on stage 0: {}",
                                   pp, row.vp, m, check->peak_in_flight[0])
                     : "invalid: " + check.status().message();
      row.schedule = std::move(s).value();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Status CheckScheduleSize(int64_t pp, int64_t vp, int64_t m) {
  if (pp < 1 || vp < 1 || m < 1) {
    return Status::Invalid(fmt::format(
        "schedule needs pp, vp and micro-batches >= 1 (pp = {}, vp = {}, m = {})", pp, vp, m));
  }
  // Each factor is checked first, so the product cannot wrap.
  if (pp > kMaxSchedulePasses || vp > kMaxSchedulePasses || m > kMaxSchedulePasses ||
      3 * pp * vp > kMaxSchedulePasses || 3 * pp * vp * m > kMaxSchedulePasses) {
    return Status::Invalid(fmt::format(
        "schedule of pp {} x vp {} x {} micro-batches: more passes than it may list (allowed: "
        "3 x pp x vp x micro-batches <= {})",
        pp, vp, m, kMaxSchedulePasses));
  }
  return Status::Ok();
}

Result<PipelineSchedule> Generate(spec::Schedule kind, int64_t pp, int64_t vp, int64_t m, int64_t n,
                                  const PassTimes* times) {
  SP_RETURN_IF_ERROR(CheckScheduleSize(pp, vp, m));
  PipelineSchedule s;
  s.name = std::string(spec::ScheduleName(kind));
  s.stages = pp;
  s.chunks = vp;
  s.microbatches = m;
  s.per_stage.resize(static_cast<size_t>(pp));
  switch (kind) {
    case spec::Schedule::kGpipe:
      if (vp != 1)
        return Status::Invalid(fmt::format("gpipe runs one chunk per rank (vp = {})", vp));
      for (auto& ops : s.per_stage) {
        for (int32_t i = 0; i < m; ++i) ops.push_back({Pass::kForward, i, 0});
        for (int32_t i = 0; i < m; ++i) ops.push_back({Pass::kBackward, i, 0});
      }
      break;
    case spec::Schedule::k1F1B:
      if (vp != 1)
        return Status::Invalid(fmt::format("1f1b runs one chunk per rank (vp = {})", vp));
      OneFOneB(s);
      break;
    case spec::Schedule::kZbH1:
      if (vp != 1)
        return Status::Invalid(fmt::format("zb-h1 runs one chunk per rank (vp = {})", vp));
      s.split_backward = true;
      ZeroBubbleH1(s);
      break;
    case spec::Schedule::kZbV: {
      if (vp != 2) {
        return Status::Invalid(fmt::format("zb-v runs two chunks per rank (vp = {})", vp));
      }
      // Each of its rule variants schedules every pass (about 3 us a pass over all of them).
      if (6 * pp * m > kMaxZbVPasses) {
        return Status::Invalid(fmt::format(
            "zb-v for pp {} and {} micro-batches orders {} passes by time, more than it may "
            "(allowed: 6 x pp x micro-batches <= {})",
            pp, m, 6 * pp * m, kMaxZbVPasses));
      }
      const size_t want = static_cast<size_t>(pp * vp);
      if (times != nullptr && !times->forward.empty() &&
          (times->forward.size() != want || times->backward.size() != want ||
           times->weight.size() != want ||
           (!times->hop.empty() && times->hop.size() != static_cast<size_t>(pp)))) {
        return Status::Invalid(fmt::format(
            "zb-v pass times hold {} forward, {} backward, {} weight and {} hop entries (allowed: "
            "pp x vp = {} of each pass, and 0 or pp = {} hops)",
            times->forward.size(), times->backward.size(), times->weight.size(), times->hop.size(),
            want, pp));
      }
      if (times != nullptr) {
        for (const std::vector<double>* list :
             {&times->forward, &times->backward, &times->weight, &times->hop}) {
          for (double t : *list) {
            if (!std::isfinite(t) || t < 0) {
              return Status::Invalid(
                  fmt::format("zb-v pass time {} (allowed: finite seconds >= 0)", t));
            }
          }
        }
      }
      s.split_backward = true;
      s.v_shape = true;
      // The greedy order depends on its rules (which chunk's forward and backward go first,
      // whether sends are planned for, the reserved slot): try each and keep the complete order
      // that runs shortest with the pass times (unit passes without them). The reserved slot
      // always completes, so one order is always found.
      PassTimes unit;
      if (times == nullptr || times->forward.empty()) {
        unit.forward.assign(static_cast<size_t>(pp * 2), 1.0);
        unit.backward = unit.weight = unit.forward;
        times = &unit;
      }
      double best = std::numeric_limits<double>::infinity();
      PipelineSchedule candidate = s;
      for (int rule = 0; rule < 16; ++rule) {
        VRules rules{(rule & 4) != 0, (rule & 1) ? 0 : 1, (rule & 2) ? 0 : 1, (rule & 8) != 0};
        if (rules.hop_aware && times->hop.empty()) continue;
        for (auto& ops : candidate.per_stage) ops.clear();
        if (!ZeroBubbleV(candidate, times, rules)) continue;
        const double span = TimedSpan(candidate, *times);
        if (span < best) {
          best = span;
          s.per_stage = candidate.per_stage;
        }
      }
      if (!(best < std::numeric_limits<double>::infinity())) {
        // Not reached: the reserved slot always completes, and the times are finite.
        return Status::Invalid("zb-v: no rule gave a complete order");
      }
      break;
    }
    case spec::Schedule::kInterleaved:
    case spec::Schedule::kLlama3: {
      // As a plan (plan.cpp) refuses it: with one chunk a rank the warm-up rule is neither 1F1B's
      // nor any framework's.
      if (pp > 1 && vp < 2) {
        return Status::Invalid(fmt::format(
            "{} runs vp >= 2 chunks per rank (vp = {}; allowed: vp >= 2, pp = 1, or 1f1b)", s.name,
            vp));
      }
      int64_t group = kind == spec::Schedule::kLlama3 && n > 0 ? n : pp;
      if (m % group != 0) {
        return Status::Invalid(
            fmt::format("{} needs micro-batches ({}) in whole groups of {}", s.name, m, group));
      }
      // Megatron's warm-up count is deadlock-free for groups of pp; with fewer consecutive
      // micro-batches (Llama 3's N < pp) a stage may need a few more forwards before its first
      // backward: add the fewest that make the schedule run.
      for (int64_t extra = 0;; ++extra) {
        for (auto& ops : s.per_stage) ops.clear();
        Interleaved(s, group, extra);
        if (Validate(s).ok() || extra >= m * vp) break;
      }
      break;
    }
  }
  return s;
}

namespace {

// Why a schedule that stopped with passes left cannot go on, told where it goes wrong. Each
// stage's next pass waits for another pass: a forward for the previous virtual stage's forward,
// a backward for its own forward or else the next virtual stage's backward, a weight-gradient
// pass for its backward. A stage that lists the pass it waits for after the pass that waits is
// named alone; otherwise the waits are followed from stage to stage until they close a cycle,
// and the cycle is named. `next` is each stage's first pass not run; `f_end` (by micro-batch x
// virtual stages + virtual stage) is < 0 for a forward not run.
std::string Deadlock(const PipelineSchedule& s, const std::vector<size_t>& next,
                     const std::vector<double>& f_end) {
  const int64_t pp = s.stages;
  const int64_t v_total = pp * s.chunks;
  struct Wait {
    const Step* at = nullptr;  // the pass that waits
    Pass pass{};               // the pass it waits for
    int64_t v = 0;             // on this virtual stage
  };
  auto wait_of = [&](int64_t stage) -> std::optional<Wait> {
    const auto& ops = s.per_stage[static_cast<size_t>(stage)];
    size_t at = next[static_cast<size_t>(stage)];
    if (at >= ops.size()) return std::nullopt;
    const Step& op = ops[at];
    const int64_t v = VirtualStage(pp, stage, op.chunk, s.v_shape);
    if (op.pass == Pass::kForward) return Wait{&op, Pass::kForward, v - 1};
    if (op.pass == Pass::kBackward) {
      if (f_end[static_cast<size_t>(op.microbatch * v_total + v)] < 0) {
        return Wait{&op, Pass::kForward, v};
      }
      return Wait{&op, Pass::kBackward, v + 1};
    }
    return Wait{&op, Pass::kBackward, v};
  };
  auto pass_text = [&](Pass pass, int64_t microbatch, int64_t v) {
    return fmt::format("{} of micro-batch {} chunk {}", PassName(pass), microbatch, v / pp);
  };
  auto stage_of = [&](int64_t v) { return StageOf(pp, v, s.v_shape); };
  auto step_text = [&](int64_t stage, const Wait& w) {
    return fmt::format(
        "stage {} waits at {} for {}{}", stage,
        pass_text(w.at->pass, w.at->microbatch, VirtualStage(pp, stage, w.at->chunk, s.v_shape)),
        pass_text(w.pass, w.at->microbatch, w.v),
        stage_of(w.v) == stage ? "" : fmt::format(" on stage {}", stage_of(w.v)));
  };
  // A stage waiting for a pass of its own list.
  for (int64_t stage = 0; stage < pp; ++stage) {
    std::optional<Wait> w = wait_of(stage);
    if (w && stage_of(w->v) == stage) {
      return fmt::format("schedule {} deadlocks: {}, which its list puts later", s.name,
                         step_text(stage, *w));
    }
  }
  int64_t start = 0;
  while (start < pp && !wait_of(start)) ++start;
  std::vector<int64_t> order;
  std::vector<int> seen(static_cast<size_t>(pp), -1);
  int64_t stage = start;
  while (stage < pp && seen[static_cast<size_t>(stage)] < 0) {
    seen[static_cast<size_t>(stage)] = static_cast<int>(order.size());
    order.push_back(stage);
    std::optional<Wait> w = wait_of(stage);
    if (!w) break;  // not reached: a stage with nothing left never holds another up
    stage = stage_of(w->v);
  }
  std::vector<std::string> steps;
  const size_t first = stage < pp && seen[static_cast<size_t>(stage)] >= 0
                           ? static_cast<size_t>(seen[static_cast<size_t>(stage)])
                           : 0;
  for (size_t k = first; k < order.size(); ++k) {
    steps.push_back(step_text(order[k], *wait_of(order[k])));
  }
  return fmt::format(
      "schedule {} deadlocks: {} (each stage's list puts the pass another waits for after the one "
      "it waits at)",
      s.name, Join(steps, "; "));
}

}  // namespace

Result<ScheduleCheck> Validate(const PipelineSchedule& s) {
  int64_t pp = s.stages, vp = s.chunks, m = s.microbatches, v_total = pp * vp;
  auto index = [&](int64_t mb, int64_t v) { return static_cast<size_t>(mb * v_total + v); };
  size_t n = static_cast<size_t>(m * v_total);
  std::vector<int> f_seen(n, 0), b_seen(n, 0), w_seen(n, 0);
  for (int64_t stage = 0; stage < pp; ++stage) {
    for (const Step& op : s.per_stage[static_cast<size_t>(stage)]) {
      if (op.microbatch < 0 || op.microbatch >= m || op.chunk < 0 || op.chunk >= vp) {
        return Status::Invalid(
            fmt::format("schedule {}: stage {} has {} of micro-batch {} chunk {} out of range "
                        "(allowed: micro-batch 0..{}, chunk 0..{})",
                        s.name, stage, PassName(op.pass), op.microbatch, op.chunk, m - 1, vp - 1));
      }
      size_t i = index(op.microbatch, VirtualStage(pp, stage, op.chunk, s.v_shape));
      (op.pass == Pass::kForward ? f_seen : op.pass == Pass::kBackward ? b_seen : w_seen)[i]++;
    }
  }
  for (int64_t mb = 0; mb < m; ++mb) {
    for (int64_t v = 0; v < v_total; ++v) {
      size_t i = index(mb, v);
      int want_w = s.split_backward ? 1 : 0;
      if (f_seen[i] != 1 || b_seen[i] != 1 || w_seen[i] != want_w) {
        return Status::Invalid(
            fmt::format("schedule {}: stage {} runs micro-batch {} chunk {} {} forward(s), {} "
                        "backward(s), {} weight "
                        "pass(es) (allowed: exactly 1, 1 and {})",
                        s.name, StageOf(pp, v, s.v_shape), mb, v / pp, f_seen[i], b_seen[i],
                        w_seen[i], want_w));
      }
    }
  }
  // Run with unit times: each stage in order, a pass waits for its dependency.
  std::vector<double> f_end(n, -1), b_end(n, -1);
  std::vector<size_t> next(static_cast<size_t>(pp), 0);
  std::vector<double> free_at(static_cast<size_t>(pp), 0);
  ScheduleCheck check;
  check.peak_in_flight.assign(static_cast<size_t>(pp), 0);
  std::vector<int64_t> in_flight(static_cast<size_t>(pp), 0);
  size_t remaining = 0;
  for (const auto& ops : s.per_stage) remaining += ops.size();
  while (remaining > 0) {
    bool progress = false;
    for (int64_t stage = 0; stage < pp; ++stage) {
      auto& at = next[static_cast<size_t>(stage)];
      const auto& ops = s.per_stage[static_cast<size_t>(stage)];
      while (at < ops.size()) {
        const Step& op = ops[at];
        int64_t v = VirtualStage(pp, stage, op.chunk, s.v_shape);
        size_t i = index(op.microbatch, v);
        double ready = 0;
        if (op.pass == Pass::kForward) {
          if (v > 0) ready = f_end[index(op.microbatch, v - 1)];
        } else if (op.pass == Pass::kBackward) {
          ready = v + 1 < v_total ? b_end[index(op.microbatch, v + 1)] : f_end[i];
          if (f_end[i] < 0) ready = -1;
        } else {
          ready = b_end[i];
        }
        if (ready < 0) break;
        double end = std::max(ready, free_at[static_cast<size_t>(stage)]) + 1;
        free_at[static_cast<size_t>(stage)] = end;
        if (op.pass == Pass::kForward) {
          f_end[i] = end;
          int64_t& held = in_flight[static_cast<size_t>(stage)];
          check.peak_in_flight[static_cast<size_t>(stage)] =
              std::max(check.peak_in_flight[static_cast<size_t>(stage)], ++held);
        } else if (op.pass == Pass::kBackward) {
          b_end[i] = end;
          --in_flight[static_cast<size_t>(stage)];
        }
        ++at;
        --remaining;
        progress = true;
      }
    }
    if (!progress) return Status::Invalid(Deadlock(s, next, f_end));
  }
  for (double end : free_at) check.unit_span = std::max(check.unit_span, static_cast<int64_t>(end));
  return check;
}

Result<PipelineSchedule> ParseSchedule(std::string_view json, const std::string& origin, int64_t pp,
                                       int64_t vp, int64_t m, bool v_shape) {
  SP_RETURN_IF_ERROR(CheckScheduleSize(pp, vp, m));
  const std::string shape = "expected {\"stages\": [[[\"F\", micro-batch, chunk], ...], ...]}";
  SP_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(json, origin));
  if (!j.is_object() || !j.contains("stages") || !j["stages"].is_array()) {
    return Status::Parse(fmt::format("{}: {}", origin, shape));
  }
  for (const auto& item : j.items()) {
    if (item.key() != "stages" && item.key() != "layout") {
      return Status::Invalid(fmt::format("{}: key {} is not known (allowed: stages, layout)",
                                         origin, Printable(item.key(), 64)));
    }
  }
  // The chunks' layout the file was written for (zb-v's V; looped when absent) must be the plan's.
  const std::string plan_layout = v_shape ? "v" : "looped";
  if (j.contains("layout")) {
    const nlohmann::json& layout = j["layout"];
    if (!layout.is_string() || (layout != "v" && layout != "looped")) {
      return Status::Invalid(
          fmt::format("{}: layout = {} (allowed: \"looped\" or \"v\")", origin, JsonShown(layout)));
    }
    if (layout.get<std::string>() != plan_layout) {
      return Status::Invalid(fmt::format(
          "{}: layout = \"{}\" but the plan's schedule lays its chunks out {} (allowed: \"{}\", "
          "a schedule written for the plan's schedule)",
          origin, layout.get<std::string>(), v_shape ? "in a V" : "looped", plan_layout));
    }
  } else if (v_shape) {
    return Status::Invalid(fmt::format(
        "{}: no layout, so its chunks are looped; the plan's schedule (zb-v) lays them out in a V "
        "(allowed: a file with \"layout\": \"v\", as `scaleplan schedules --print zb-v` writes)",
        origin));
  }
  PipelineSchedule s;
  s.name = origin;
  s.stages = pp;
  s.chunks = vp;
  s.microbatches = m;
  s.v_shape = v_shape;
  const nlohmann::json& stages = j["stages"];
  if (static_cast<int64_t>(stages.size()) != pp) {
    return Status::Invalid(fmt::format("{}: {} stages listed, the plan has pp = {} (allowed: {})",
                                       origin, stages.size(), pp, pp));
  }
  // Each pass at most once per stage: a longer list cannot be valid.
  const auto max_passes = static_cast<size_t>(3 * vp * m);
  for (size_t stage = 0; stage < stages.size(); ++stage) {
    const nlohmann::json& list = stages[stage];
    if (!list.is_array() || list.size() > max_passes) {
      return Status::Parse(fmt::format(
          "{}: stage {} is {} (allowed: a list of at most {} passes; {})", origin, stage,
          list.is_array() ? fmt::format("a list of {} passes", list.size()) : "not a list",
          max_passes, shape));
    }
    std::vector<Step> ops;
    for (const auto& op : list) {
      auto index = [&](size_t k, int64_t limit) -> int64_t {
        if (!op[k].is_number_integer()) return -1;
        if (op[k].is_number_unsigned()) {
          return op[k].get<uint64_t>() < static_cast<uint64_t>(limit) ? op[k].get<int64_t>() : -1;
        }
        int64_t v = op[k].get<int64_t>();
        return v < limit ? v : -1;
      };
      bool shaped = op.is_array() && op.size() == 3 && op[0].is_string();
      int64_t mb = shaped ? index(1, m) : -1;
      int64_t chunk = shaped ? index(2, vp) : -1;
      std::string p = shaped ? op[0].get<std::string>() : "";
      std::optional<Pass> pass;
      for (Pass candidate : {Pass::kForward, Pass::kBackward, Pass::kWeight}) {
        if (p == PassName(candidate)) pass = candidate;
      }
      if (!shaped || mb < 0 || chunk < 0 || !pass) {
        return Status::Parse(fmt::format(
            "{}: stage {}: {} is not a pass (allowed: [\"F\"|\"B\"|\"W\", micro-batch 0 to {}, "
            "chunk 0 to {}])",
            origin, stage, JsonShown(op), m - 1, vp - 1));
      }
      if (*pass == Pass::kWeight) s.split_backward = true;
      ops.push_back({*pass, static_cast<int32_t>(mb), static_cast<int32_t>(chunk)});
    }
    s.per_stage.push_back(std::move(ops));
  }
  Result<ScheduleCheck> check = Validate(s);
  if (!check.ok()) return check.status();
  return s;
}

}  // namespace scaleplan::schedule
