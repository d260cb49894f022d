// The event-driven step simulator; model and assumptions in event.h.
#include "sim/event.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/checked.h"
#include "core/json.h"
#include "core/text.h"
#include "model/model.h"
#include "plan/memory.h"
#include "sim/packed.h"

namespace scaleplan::sim {

namespace {

using schedule::Pass;

struct PassRecord {
  double start = 0;
  double end = -1;
  // The pass this one waited for: the previous pass of the actor, or its dependency.
  int64_t pred_stage = -1;
  int64_t pred_index = -1;
  bool pred_transfer = false;
  double transfer_s = 0;  // when pred_transfer: from the sender's end to the arrival
};

std::string PassLabel(const schedule::Step& op) {
  return fmt::format("{} mb{} c{}", schedule::PassName(op.pass), op.microbatch, op.chunk);
}

// Per replica (or one list for all), each micro-batch's work relative to the plan's uniform one:
// linear layers by its tokens, attention by its causal query-key pairs. Checks the options' shapes.
Status WorkScales(const plan::Plan& p, const EventOptions& options,
                  std::vector<std::vector<double>>& token_scales,
                  std::vector<std::vector<double>>& pair_scales) {
  const int64_t dp = p.dp, m = p.microbatches;
  const bool per_replica = !options.replica_documents.empty();
  if (!options.replica_attention_factor.empty() &&
      options.replica_attention_factor.size() != (per_replica ? static_cast<size_t>(dp) : 1)) {
    return Status::Invalid(
        fmt::format("attention factors for {} replicas; the plan has dp = {} (allowed: {})",
                    options.replica_attention_factor.size(), dp, per_replica ? dp : 1));
  }
  for (const auto& factors : options.replica_attention_factor) {
    for (double f : factors) {
      if (!(f >= 1.0) || !std::isfinite(f)) {
        return Status::Invalid(fmt::format("attention factor {} (allowed: finite and >= 1)", f));
      }
    }
  }
  if (per_replica && static_cast<int64_t>(options.replica_documents.size()) != dp) {
    return Status::Invalid(
        fmt::format("packed documents for {} replicas; the plan has dp = {} (allowed: {})",
                    options.replica_documents.size(), dp, dp));
  }
  // The lengths scale attention from one document a sequence; documents of one length priced
  // into the ops already (workload.document_tokens) would be counted twice.
  if ((per_replica || !options.microbatch_documents.empty()) &&
      p.job.workload.document_tokens > 0 &&
      p.job.workload.document_tokens < p.job.workload.seq_len) {
    return Status::Invalid(
        fmt::format("workload.document_tokens = {} with the documents' own lengths (--lengths or "
                    "--microbatch-lengths), which say where each ends (allowed: one of the two: "
                    "document_tokens 0 with lengths)",
                    p.job.workload.document_tokens))
        .WithKey("workload.document_tokens");
  }
  auto scales = [&](const std::vector<std::vector<int64_t>>& docs, std::vector<double>& token_scale,
                    std::vector<double>& pair_scale) -> Status {
    token_scale.assign(static_cast<size_t>(m), 1.0);
    pair_scale.assign(static_cast<size_t>(m), 1.0);
    if (docs.empty()) return Status::Ok();
    if (static_cast<int64_t>(docs.size()) != m) {
      return Status::Invalid(fmt::format(
          "--microbatch-lengths lists {} micro-batches; the plan runs {} per replica (allowed: {})",
          docs.size(), m, m));
    }
    double seq = static_cast<double>(p.job.workload.seq_len);
    double mb = static_cast<double>(p.spec().micro_batch);
    // A user's list (not the packers', which keep to s_max) may not hold more tokens in a
    // micro-batch than this plan's memory does (the plan's own micro-batch always passes: when
    // that does not fit, the report's memory verdict says so).
    const int64_t most_tokens =
        per_replica ? std::numeric_limits<int64_t>::max()
                    : std::max(p.spec().micro_batch * p.job.workload.seq_len,
                               MaxMicroBatchTokens(p, plan::ComputeMemory(p),
                                                   std::numeric_limits<double>::infinity()));
    // Attention scales with the documents' query-key pairs; in sliding-window layers (with a
    // flash kernel, model.h) with their windowed pairs, weighted by those layers' share of the
    // full sequence's attention work.
    const spec::ModelSpec& model = p.model();
    const double window = static_cast<double>(model.sliding_window);
    const double local =
        window > 0 && p.Shape().flash_attention
            ? static_cast<double>(model.LocalAttentionLayers()) / static_cast<double>(model.layers)
            : 0.0;
    const double full_pairs = model::CausalPairs(seq),
                 window_pairs = model::WindowPairs(seq, window);
    const double windowed_share =
        local > 0 ? local * window_pairs / ((1.0 - local) * full_pairs + local * window_pairs)
                  : 0.0;
    for (size_t i = 0; i < docs.size(); ++i) {
      if (docs[i].empty()) {
        return Status::Invalid(fmt::format(
            "--microbatch-lengths: micro-batch {} has no documents (allowed: at least one)", i));
      }
      double tokens = 0, pairs = 0, windowed = 0;
      for (int64_t d : docs[i]) {
        if (d < 1 || d > kMaxDocumentTokens) {
          return Status::Invalid(
              fmt::format("--microbatch-lengths: micro-batch {} has a document of {} tokens "
                          "(allowed: 1 to {})",
                          i, d, kMaxDocumentTokens));
        }
        tokens += static_cast<double>(d);
        pairs += model::CausalPairs(static_cast<double>(d));
        windowed += model::WindowPairs(static_cast<double>(d), window);
      }
      if (tokens > static_cast<double>(most_tokens)) {
        return Status::Invalid(fmt::format(
            "--microbatch-lengths: micro-batch {} holds {} tokens, more than this plan's memory "
            "holds in one micro-batch (allowed: at most {} tokens; the plan's micro-batch is {} "
            "tokens)",
            i, static_cast<int64_t>(tokens), most_tokens,
            p.spec().micro_batch * p.job.workload.seq_len));
      }
      token_scale[i] = tokens / (mb * seq);
      pair_scale[i] = (1.0 - windowed_share) * pairs / (mb * full_pairs) +
                      windowed_share * windowed / (mb * window_pairs);
    }
    return Status::Ok();
  };
  token_scales.assign(per_replica ? static_cast<size_t>(dp) : 1, {});
  pair_scales.assign(per_replica ? static_cast<size_t>(dp) : 1, {});
  for (size_t r = 0; r < token_scales.size(); ++r) {
    SP_RETURN_IF_ERROR(
        scales(per_replica ? options.replica_documents[r] : options.microbatch_documents,
               token_scales[r], pair_scales[r]));
  }
  return Status::Ok();
}

// Speed per (replica, stage) from the stragglers (the slowest GPU of an actor sets its speed);
// adds each straggler's replica to `traced`.
Result<std::vector<std::vector<double>>> Speeds(const plan::Plan& p, const EventOptions& options,
                                                std::set<int64_t>& traced_replicas) {
  const int64_t pp = p.pp, dp = p.dp;
  std::vector<std::vector<double>> speed(static_cast<size_t>(dp),
                                         std::vector<double>(static_cast<size_t>(pp), 1.0));
  const topology::GroupPlacement& pp_group = p.groups[static_cast<size_t>(spec::Dim::kPp)];
  const topology::GroupPlacement& dp_group = p.groups[static_cast<size_t>(spec::Dim::kDp)];
  for (const auto& [rank, factor] : options.straggler_speed) {
    if (rank < 0 || rank >= p.gpus) {
      return Status::Invalid(fmt::format(
          "--stragglers: rank {} is not in the job (allowed: 0 to {})", rank, p.gpus - 1));
    }
    if (!(factor >= kMinStragglerSpeed && factor <= 1)) {
      return Status::Invalid(
          fmt::format("--stragglers: rank {} speed {} (allowed: a factor from {} to 1)", rank,
                      factor, kMinStragglerSpeed));
    }
    int64_t stage = (rank / pp_group.stride) % pp;
    int64_t replica = (rank / dp_group.stride) % dp;
    double& s = speed[static_cast<size_t>(replica)][static_cast<size_t>(stage)];
    s = std::min(s, factor);
    traced_replicas.insert(replica);
  }
  return speed;
}

// The schedule the step runs: the options' (of the plan's shape) or the plan's, generated into
// `generated`; refused when it would run more than kMaxSimulatedPasses passes.
Result<const schedule::PipelineSchedule*> ScheduleToRun(const plan::Plan& p,
                                                        const EventOptions& options,
                                                        const StepResult& analytical,
                                                        schedule::PipelineSchedule& generated) {
  const int64_t pp = p.pp, vp = p.vp, m = p.microbatches, dp = p.dp;
  const schedule::PipelineSchedule* sched = options.schedule;
  // Refuse up front, before a schedule is generated, what would run for minutes (about 25 ns per
  // pass, docs/BENCHMARKS.md).
  const bool split =
      sched != nullptr ? sched->split_backward : schedule::Info(p.spec().schedule).splits_backward;
  const int64_t passes_per_chunk = split ? 3 : 2;
  if (!BoundedProduct({dp, pp, vp, m, passes_per_chunk}, kMaxSimulatedPasses)) {
    return Status::Invalid(fmt::format(
        "the event engine would simulate dp {} x pp {} x vp {} x {} micro-batches x {} passes, "
        "more than {} (allowed: at most {} passes; use the analytical engine, or a smaller global "
        "batch)",
        dp, pp, vp, m, passes_per_chunk, kMaxSimulatedPasses, kMaxSimulatedPasses));
  }
  // A trace records the passes of replica 0 and of each straggler's replica.
  const int64_t traced =
      std::min<int64_t>(dp, 1 + static_cast<int64_t>(options.straggler_speed.size()));
  if (options.trace && !BoundedProduct({traced, pp, vp, m, passes_per_chunk}, kMaxTracedPasses)) {
    return Status::Invalid(fmt::format(
        "a trace of {} replica{} x pp {} x vp {} x {} micro-batches x {} passes would record more "
        "than {} passes (allowed: at most {}; leave out --trace and --html, or a smaller global "
        "batch)",
        traced, traced == 1 ? "" : "s", pp, vp, m, passes_per_chunk, kMaxTracedPasses,
        kMaxTracedPasses));
  }
  const bool v_shape = schedule::Info(p.spec().schedule).v_shape;
  if (sched == nullptr) {
    // A schedule ordered by time (zb-v) is ordered by this plan's nominal passes and sends.
    schedule::PassTimes times;
    for (const StageCost& stage : analytical.stages) {
      for (const ChunkCost& c : stage.chunks) {
        times.forward.push_back(c.forward_s);
        times.backward.push_back(c.backward_s - c.weight_s);
        times.weight.push_back(c.weight_s);
      }
    }
    if (pp > 1) times.hop = analytical.p2p_hop_s;
    SP_ASSIGN_OR_RETURN(generated,
                        schedule::Generate(p.spec().schedule, pp, vp, m, p.pp_group, &times));
    sched = &generated;
  } else if (sched->v_shape != v_shape) {
    return Status::Invalid(fmt::format(
        "schedule {} lays its chunks out {}; the plan's schedule {} lays them {} (allowed: a "
        "schedule file read for the plan's schedule)",
        sched->name, sched->v_shape ? "in a V" : "looped", spec::ScheduleName(p.spec().schedule),
        v_shape ? "in a V" : "looped"));
  } else if (sched->stages != pp || sched->chunks != vp || sched->microbatches != m) {
    return Status::Invalid(
        fmt::format("schedule {} is for pp {}, vp {}, {} micro-batches; the plan has pp {}, vp {}, "
                    "{} (allowed: a "
                    "schedule of the plan's shape)",
                    sched->name, sched->stages, sched->chunks, sched->microbatches, pp, vp, m));
  }
  return sched;
}

// What the pass-by-pass pipeline left: when each stage ended, when the whole pipeline did, the
// sends on its critical path and each actor's busy time.
struct PipelineEnd {
  const std::vector<double>& stage_end;
  double pipeline_end;
  double critical_transfer_s;
  const std::vector<std::vector<double>>& busy;  // [replica][stage]
};

// The step after the pipeline: each stage's data-parallel reduction once its slowest replica is
// done, then the optimizer; the breakdown (the most loaded actor's busy time split like the
// analytical stage, its idle time into the critical path's transfers and the bubble), throughput
// and MFU.
void FinishStep(const plan::Plan& p, const EventOptions& options, const StepResult& analytical,
                const PipelineEnd& pipe, EventResult& out) {
  const int64_t pp = p.pp, dp = p.dp;
  const bool per_replica = !options.replica_documents.empty();
  const std::vector<double>& stage_end = pipe.stage_end;
  const double pipeline_end = pipe.pipeline_end;
  const double critical_transfer_s = pipe.critical_transfer_s;
  const std::vector<std::vector<double>>& busy = pipe.busy;
  // Data-parallel reduction per stage once its slowest replica is done, then the optimizer.
  double step_end = 0;
  int64_t last_stage = 0;
  for (int64_t s = 0; s < pp; ++s) {
    const StageCost& sc = analytical.stages[static_cast<size_t>(s)];
    // A delayed reduction (plan.grad_sync = delayed) runs behind the next step's pipeline.
    double exposed = sc.dp_exposed_s + std::max(0.0, sc.dp_delayed_s - pipeline_end);
    double end = stage_end[static_cast<size_t>(s)] + exposed + sc.optimizer_s;
    if (options.trace && exposed > 0) {
      out.trace.push_back({"dp reduce", "dp", 0, s, stage_end[static_cast<size_t>(s)], exposed});
    }
    if (end > step_end) {
      step_end = end;
      last_stage = s;
    }
  }
  StepResult& r = out.step;
  r = analytical;
  r.warnings.clear();  // the closed form's caveats are what this engine resolves
  r.engine = "event";
  Breakdown& b = r.breakdown;
  // Split the most loaded actor's busy time like the analytical stage, its idle time into the
  // critical path's transfers and the bubble.
  int64_t br = 0, bs = 0;
  for (int64_t rep = 0; rep < dp; ++rep) {
    for (int64_t s = 0; s < pp; ++s) {
      if (busy[static_cast<size_t>(rep)][static_cast<size_t>(s)] >
          busy[static_cast<size_t>(br)][static_cast<size_t>(bs)]) {
        br = rep;
        bs = s;
      }
    }
  }
  const StageCost& bsc = analytical.stages[static_cast<size_t>(bs)];
  double parts = bsc.compute_s + bsc.tp_s + bsc.cp_s + bsc.ep_s;
  double load = busy[static_cast<size_t>(br)][static_cast<size_t>(bs)];
  b.compute_s = load * bsc.compute_s / parts;
  b.tp_comm_s = load * bsc.tp_s / parts;
  b.cp_comm_s = load * bsc.cp_s / parts;
  b.ep_comm_s = load * bsc.ep_s / parts;
  double idle = pipeline_end - load;
  b.pp_comm_s = std::min(idle, critical_transfer_s);
  b.bubble_s = idle - b.pp_comm_s;
  // After the pipeline: the last stage's optimizer, the rest data-parallel communication (the
  // stage that ends the step may have finished its pipeline before pipeline_end).
  double after = std::max(0.0, step_end - pipeline_end);
  b.optimizer_s = std::min(after, analytical.stages[static_cast<size_t>(last_stage)].optimizer_s);
  b.dp_comm_s = after - b.optimizer_s;
  // b.other_s as in the analytical model.
  r.step_time_s = b.Total();
  r.bottleneck_stage = bs;
  double tokens = static_cast<double>(p.TokensPerStep());
  if (per_replica) {
    tokens = 0;
    for (const auto& replica : options.replica_documents) {
      for (const auto& docs : replica) {
        for (int64_t d : docs) tokens += static_cast<double>(d);
      }
    }
  } else if (!options.microbatch_documents.empty()) {
    double per_replica_tokens = 0;
    for (const auto& docs : options.microbatch_documents) {
      for (int64_t d : docs) per_replica_tokens += static_cast<double>(d);
    }
    tokens = per_replica_tokens * static_cast<double>(dp);
  }
  r.tokens_per_s_per_gpu = tokens / r.step_time_s / static_cast<double>(p.gpus);
  double flops_per_token =
model::ModelFlopsPerToken(p.model(), p.job.workload).per_token_causal;
  r.model_flops_per_s_per_gpu = flops_per_token * r.tokens_per_s_per_gpu;
  r.mfu = r.model_flops_per_s_per_gpu / p.job.cluster.gpu.peak_bf16_flops_per_s;
}

}  // namespace

Result<EventResult> SimulateEvents(const plan::Plan& p, const EventOptions& options) {
  SP_ASSIGN_OR_RETURN(StepResult analytical, Evaluate(p));
  const int64_t pp = p.pp, vp = p.vp, m = p.microbatches, dp = p.dp;
  const int64_t v_total = pp * vp;

  schedule::PipelineSchedule generated;
  SP_ASSIGN_OR_RETURN(const schedule::PipelineSchedule* sched,
                      ScheduleToRun(p, options, analytical, generated));

  // Work of each micro-batch relative to the uniform one, per replica (one shared list when the
  // documents are the same everywhere).
  const bool per_replica = !options.replica_documents.empty();
  std::vector<std::vector<double>> token_scales, pair_scales;
  SP_RETURN_IF_ERROR(WorkScales(p, options, token_scales, pair_scales));

  // Straggler speed per (replica, stage); the replicas to trace.
  std::set<int64_t> traced_replicas = {0};
  SP_ASSIGN_OR_RETURN(std::vector<std::vector<double>> speed, Speeds(p, options, traced_replicas));

  EventResult out;
  out.idle_s.assign(static_cast<size_t>(dp), std::vector<double>(static_cast<size_t>(pp), 0));
  std::vector<double> stage_end(static_cast<size_t>(pp), 0);
  double pipeline_end = 0;
  double critical_transfer_s = 0;  // sends on the critical path
  std::vector<std::vector<double>> busy(static_cast<size_t>(dp),
                                        std::vector<double>(static_cast<size_t>(pp), 0));
  // Send time into stage s from an adjacent stage: from s - 1 (mod pp) over hop s - 1, from
  // s + 1 over hop s (with pp = 2 both are the same pair of ranks and cost the same).
  std::vector<double> from_prev_s(static_cast<size_t>(pp), 0.0), from_next_s(from_prev_s);
  std::vector<int64_t> prev_stage(static_cast<size_t>(pp), 0);
  for (int64_t s = 0; s < pp && pp > 1; ++s) {
    prev_stage[static_cast<size_t>(s)] = (s + pp - 1) % pp;
    from_prev_s[static_cast<size_t>(s)] =
        analytical.p2p_hop_s[static_cast<size_t>(prev_stage[static_cast<size_t>(s)])];
    from_next_s[static_cast<size_t>(s)] = analytical.p2p_hop_s[static_cast<size_t>(s)];
  }
  // A send into stage s takes from_prev_s[s] or from_next_s[s]; the part that occupies the link
  // (one message at a time per link and direction, in the order the receiver takes them, as NCCL
  // matches a pair's sends and receives in issue order) is the hop's p2p_hop_transfer_s.
  const bool split = sched->split_backward;

  // Replicas with the same speed profile (and documents) run the same timeline: simulate each
  // profile once.
  std::map<std::vector<double>, std::vector<int64_t>> profiles;
  for (int64_t r = 0; r < dp; ++r) {
    std::vector<double> key = speed[static_cast<size_t>(r)];
    if (per_replica) key.push_back(static_cast<double>(r));
    profiles[key].push_back(r);
  }

  auto index = [&](int64_t mb, int64_t v) { return static_cast<size_t>(mb * v_total + v); };
  // One profile's timeline; the buffers are reused from profile to profile (a fresh set per
  // replica was half of a 100,000-GPU run, in page faults).
  std::vector<std::vector<PassRecord>> rec(static_cast<size_t>(pp));
  for (int64_t s = 0; s < pp; ++s)
    rec[static_cast<size_t>(s)].resize(sched->per_stage[static_cast<size_t>(s)].size());
  // (stage, index) of each F and B pass by (micro-batch, virtual stage).
  std::vector<std::pair<int64_t, int64_t>> f_at(static_cast<size_t>(m * v_total)),
      b_at(static_cast<size_t>(m * v_total));
  std::vector<size_t> next(static_cast<size_t>(pp));
  std::vector<double> free_at(static_cast<size_t>(pp));
  // When each directed link (from * pp + to) finishes its last message.
  std::vector<double> link_free(static_cast<size_t>(pp * pp));
  // Each pass's duration at nominal speed, for one replica's work (the same for every replica
  // unless work is given per replica): priced once, not once per profile.
  std::vector<std::vector<double>> nominal(static_cast<size_t>(pp));
  size_t nominal_for = std::numeric_limits<size_t>::max();
  auto price_passes = [&](size_t work_index) {
    const std::vector<double>& token_scale = token_scales[work_index];
    const std::vector<double>& pair_scale = pair_scales[work_index];
    const std::vector<double>* factors =
        options.replica_attention_factor.empty()
            ? nullptr
            : &options.replica_attention_factor[per_replica ? work_index : 0];
    for (int64_t s = 0; s < pp; ++s) {
      const auto& ops = sched->per_stage[static_cast<size_t>(s)];
      const std::vector<ChunkCost>& chunks = analytical.stages[static_cast<size_t>(s)].chunks;
      std::vector<double>& durations = nominal[static_cast<size_t>(s)];
      durations.resize(ops.size());
      for (size_t at = 0; at < ops.size(); ++at) {
        const schedule::Step& op = ops[at];
        const ChunkCost& cc = chunks[static_cast<size_t>(op.chunk)];
        const size_t mb = static_cast<size_t>(op.microbatch);
        double ts = token_scale[mb];
        double ps = pair_scale[mb];
        if (factors != nullptr && mb < factors->size()) ps *= (*factors)[mb];
        double duration = 0;
        if (op.pass == Pass::kForward) {
          duration = (cc.forward_s - cc.attention_fwd_s) * ts + cc.attention_fwd_s * ps;
        } else {
          double whole = (cc.backward_s - cc.attention_bwd_s) * ts + cc.attention_bwd_s * ps;
          double weight = cc.weight_s * ts;
          duration = !split ? whole : op.pass == Pass::kBackward ? whole - weight : weight;
        }
        durations[at] = duration;
      }
    }
    nominal_for = work_index;
  };
  for (const auto& [profile, replicas] : profiles) {
    const size_t work_index = per_replica ? static_cast<size_t>(replicas.front()) : 0;
    if (work_index != nominal_for) price_passes(work_index);
    std::fill(f_at.begin(), f_at.end(), std::pair<int64_t, int64_t>{-1, -1});
    std::fill(b_at.begin(), b_at.end(), std::pair<int64_t, int64_t>{-1, -1});
    std::fill(next.begin(), next.end(), 0);
    std::fill(free_at.begin(), free_at.end(), 0.0);
    std::fill(link_free.begin(), link_free.end(), 0.0);
    size_t remaining = 0;
    for (const auto& ops : sched->per_stage) remaining += ops.size();
    out.simulated_passes += static_cast<int64_t>(remaining);
    ++out.distinct_timelines;
    while (remaining > 0) {
      bool progress = false;
      for (int64_t s = 0; s < pp; ++s) {
        const auto& ops = sched->per_stage[static_cast<size_t>(s)];
        size_t& at = next[static_cast<size_t>(s)];
        const std::vector<double>& durations = nominal[static_cast<size_t>(s)];
        const double speed_s = profile[static_cast<size_t>(s)];
        while (at < ops.size()) {
          const schedule::Step& op = ops[at];
          int64_t v = schedule::VirtualStage(pp, s, op.chunk, sched->v_shape);
          std::pair<int64_t, int64_t> dep{-1, -1};
          bool transfer = false;
          if (op.pass == Pass::kForward) {
            if (v > 0) {
              dep = f_at[index(op.microbatch, v - 1)];
              transfer = true;
              if (dep.first < 0) break;
            }
          } else if (op.pass == Pass::kBackward) {
            if (v + 1 < v_total) {
              dep = b_at[index(op.microbatch, v + 1)];
              transfer = true;
            } else {
              dep = f_at[index(op.microbatch, v)];
            }
            if (dep.first < 0) break;
          } else {
            dep = b_at[index(op.microbatch, v)];
            if (dep.first < 0) break;
          }
          double ready = 0;
          double transfer_s = 0;
          if (dep.first >= 0) {
            ready = rec[static_cast<size_t>(dep.first)][static_cast<size_t>(dep.second)].end;
            if (transfer && dep.first != s) {
              // The message waits for the link, occupies it for its bytes, then arrives after the
              // rest of the send (latency, set-up).
              double& link = link_free[static_cast<size_t>(dep.first * pp + s)];
              const bool from_prev = dep.first == prev_stage[static_cast<size_t>(s)];
              const size_t hop = static_cast<size_t>(from_prev ? dep.first : s);
              double on_wire = pp < 2 ? 0.0 : analytical.p2p_hop_transfer_s[hop];
              double start = std::max(ready, link);
              link = start + on_wire;
              transfer_s = start +
                           (from_prev ? from_prev_s[static_cast<size_t>(s)]
                                      : from_next_s[static_cast<size_t>(s)]) -
                           ready;
              ready += transfer_s;
            }
          }
          const double duration = durations[at] / speed_s;
          // Every field is written: the buffer holds the previous profile's record.
          PassRecord& r = rec[static_cast<size_t>(s)][at];
          double free = free_at[static_cast<size_t>(s)];
          r.start = std::max(free, ready);
          r.end = r.start + duration;
          if (ready > free && dep.first >= 0) {
            r.pred_stage = dep.first;
            r.pred_index = dep.second;
            r.pred_transfer = transfer && dep.first != s;
            r.transfer_s = transfer_s;
          } else {
            r.pred_stage = at > 0 ? s : -1;
            r.pred_index = static_cast<int64_t>(at) - 1;
            r.pred_transfer = false;
            r.transfer_s = 0;
          }
          free_at[static_cast<size_t>(s)] = r.end;
          if (op.pass == Pass::kForward)
            f_at[index(op.microbatch, v)] = {s, static_cast<int64_t>(at)};
          if (op.pass == Pass::kBackward)
            b_at[index(op.microbatch, v)] = {s, static_cast<int64_t>(at)};
          ++at;
          --remaining;
          progress = true;
        }
      }
      if (!progress) {
        return Status::Invalid(
            fmt::format("schedule {} deadlocks in the event engine", sched->name));
      }
    }
    // Results of this profile, for each of its replicas.
    for (int64_t s = 0; s < pp; ++s) {
      double total_busy = 0;
      for (const PassRecord& r : rec[static_cast<size_t>(s)]) total_busy += r.end - r.start;
      double end = free_at[static_cast<size_t>(s)];
      for (int64_t replica : replicas) {
        busy[static_cast<size_t>(replica)][static_cast<size_t>(s)] = total_busy;
        out.idle_s[static_cast<size_t>(replica)][static_cast<size_t>(s)] = end - total_busy;
      }
      stage_end[static_cast<size_t>(s)] = std::max(stage_end[static_cast<size_t>(s)], end);
      if (end > pipeline_end) {
        pipeline_end = end;
        out.critical_replica = replicas.front();
        out.critical_stage = s;
        // Walk the binding predecessors back to the start.
        int64_t cs = s, ci = static_cast<int64_t>(rec[static_cast<size_t>(s)].size()) - 1;
        out.critical_pass =
            PassLabel(sched->per_stage[static_cast<size_t>(s)][static_cast<size_t>(ci)]);
        out.critical_path_passes = 0;
        out.critical_path_transfers = 0;
        critical_transfer_s = 0;
        while (cs >= 0 && ci >= 0) {
          const PassRecord& r = rec[static_cast<size_t>(cs)][static_cast<size_t>(ci)];
          ++out.critical_path_passes;
          out.critical_path_transfers += r.pred_transfer ? 1 : 0;
          if (r.pred_transfer) critical_transfer_s += r.transfer_s;
          cs = r.pred_stage;
          ci = r.pred_index;
        }
      }
    }
    if (options.trace) {
      for (int64_t replica : replicas) {
        if (!traced_replicas.count(replica)) continue;
        for (int64_t s = 0; s < pp; ++s) {
          const auto& ops = sched->per_stage[static_cast<size_t>(s)];
          for (size_t i = 0; i < ops.size(); ++i) {
            const PassRecord& r = rec[static_cast<size_t>(s)][i];
            out.trace.push_back(
                {PassLabel(ops[i]), "compute", replica, s, r.start, r.end - r.start});
            if (r.pred_transfer) {
              out.trace.push_back({"recv " + PassLabel(ops[i]), "pp", replica, s,
                                   r.start - r.transfer_s, r.transfer_s});
            }
          }
        }
      }
    }
  }

  FinishStep(p, options, analytical, {stage_end, pipeline_end, critical_transfer_s, busy}, out);
  return out;
}

std::string ChromeTraceJson(const plan::Plan& p, const EventResult& result) {
  nlohmann::json events = nlohmann::json::array();
  std::set<std::pair<int64_t, int64_t>> actors;
  auto tid = [](const std::string& track) {
    return track == "compute" ? 0 : track == "pp" ? 1 : 2;
  };
  for (const TraceEvent& e : result.trace) {
    int64_t pid = e.replica * p.pp + e.stage;
    actors.insert({e.replica, e.stage});
    events.push_back({{"name", e.name},
                      {"cat", e.track},
                      {"ph", "X"},
                      {"ts", e.start_s * 1e6},
                      {"dur", e.duration_s * 1e6},
                      {"pid", pid},
                      {"tid", tid(e.track)}});
  }
  for (const auto& [replica, stage] : actors) {
    int64_t pid = replica * p.pp + stage;
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"args", {{"name", fmt::format("replica {} stage {}", replica, stage)}}}});
    events.push_back({{"name", "process_sort_index"},
                      {"ph", "M"},
                      {"pid", pid},
                      {"args", {{"sort_index", pid}}}});
    for (const char* track : {"compute", "pp", "dp"}) {
      events.push_back({{"name", "thread_name"},
                        {"ph", "M"},
                        {"pid", pid},
                        {"tid", tid(track)},
                        {"args", {{"name", track}}}});
    }
  }
  nlohmann::json out = {{"traceEvents", events},
                        {"displayTimeUnit", "ms"},
                        {"otherData",
                         {{"generator", "scaleplan simulate --engine event"},
                          {"model", p.model().name},
                          {"time_unit", "microseconds of simulated time"}}}};
  return out.dump() + "\n";
}

Result<std::vector<std::vector<int64_t>>> ParseMicrobatchLengths(std::string_view text,
                                                                 const std::string& origin) {
  const std::string allowed =
      "allowed: a JSON list with one non-empty list of document lengths per micro-batch, each an "
      "integer from 1 to " +
      std::to_string(kMaxDocumentTokens) + ", e.g. [[4096, 4096], [8192]]";
  SP_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(text, origin));
  if (!j.is_array() || j.empty()) {
    return Status::Invalid(fmt::format("{}: not a non-empty list ({})", origin, allowed));
  }
  std::vector<std::vector<int64_t>> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& docs = j[i];
    if (!docs.is_array() || docs.empty()) {
      return Status::Invalid(fmt::format("{}: micro-batch {} is {} ({})", origin, i,
                                         docs.is_array() ? "an empty list" : "not a list",
                                         allowed));
    }
    std::vector<int64_t>& lengths = out.emplace_back();
    lengths.reserve(docs.size());
    for (const nlohmann::json& d : docs) {
      // nlohmann reads a non-negative integer as unsigned: both kinds are checked from 1 up.
      bool fits = d.is_number_unsigned()
                      ? d.get<uint64_t>() >= 1 && d.get<uint64_t>() <= uint64_t{kMaxDocumentTokens}
                      : d.is_number_integer() && d.get<int64_t>() >= 1 &&
                            d.get<int64_t>() <= kMaxDocumentTokens;
      if (!fits) {
        return Status::Invalid(fmt::format("{}: micro-batch {} has the length {} ({})", origin, i,
                                           JsonShown(d), allowed));
      }
      lengths.push_back(d.get<int64_t>());
    }
  }
  return out;
}

Result<std::map<int64_t, double>> ParseStragglers(std::string_view text) {
  std::map<int64_t, double> out;
  if (!Trim(text).empty() && SplitAndTrim(text, ',').empty()) {  // ",,": separators only
    return Status::Invalid(fmt::format(
        "--stragglers: '{}' lists no RANK:SPEED (allowed: a comma list such as 17:0.5,40:0.8)",
        Printable(text, 80)));
  }
  // SplitAndTrim drops empty items; "17:0.5," is refused rather than read as one straggler.
  size_t items = 0;
  for (char ch : text) items += ch == ',' ? 1 : 0;
  if (!Trim(text).empty() && SplitAndTrim(text, ',').size() != items + 1) {
    return Status::Invalid(fmt::format(
        "--stragglers: '{}' has an empty item (allowed: a comma list such as 17:0.5,40:0.8)",
        Printable(text, 80)));
  }
  for (const std::string& item : SplitAndTrim(text, ',')) {
    size_t colon = item.find(':');
    Result<int64_t> rank = ParseDigits(Trim(std::string_view(item).substr(0, colon)));
    Result<double> speed = colon == std::string::npos ? Result<double>(Status::Invalid("no speed"))
                                                      : ParseNumber(item.substr(colon + 1));
    if (!rank.ok() || !speed.ok() || *rank < 0 || *rank >= (int64_t{1} << 24) ||
        !(*speed >= kMinStragglerSpeed && *speed <= 1)) {
      return Status::Invalid(fmt::format(
          "--stragglers: {} is not RANK:SPEED (allowed: a rank from 0 to 16777215 and a speed "
          "from {} to 1, e.g. 17:0.5)",
          Printable(item, 80), kMinStragglerSpeed));
    }
    if (!out.emplace(*rank, *speed).second) {
      return Status::Invalid(
          fmt::format("--stragglers: rank {} is given twice (allowed: each rank once)", *rank));
    }
  }
  return out;
}

}  // namespace scaleplan::sim
