#include "plan/plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/checked.h"
#include "core/text.h"
#include "plan/recompute.h"
#include "schedule/schedule.h"

namespace scaleplan::plan {

using spec::Schedule;

namespace {

// A refusal about one input key (the first the message names): callers read the key, never the
// message.
Status Refuse(std::string key, std::string message) {
  return Status::Invalid(std::move(message)).WithKey(std::move(key));
}

std::string ListOf(const std::vector<int64_t>& values, size_t limit = 16) {
  std::vector<std::string> items;
  for (size_t i = 0; i < values.size() && i < limit; ++i)
    items.push_back(std::to_string(values[i]));
  if (values.size() > limit) items.push_back("...");
  return Join(items, ", ");
}

std::vector<int64_t> Multiples(int64_t of, int64_t count) {
  std::vector<int64_t> out;
  for (int64_t i = 1; i <= count; ++i) out.push_back(of * i);
  return out;
}

bool Interleaved(Schedule s) { return schedule::Info(s).chunked; }

}  // namespace

int64_t Stage::Layers() const {
  int64_t n = 0;
  for (const Chunk& c : chunks) n += c.layers;
  return n;
}

model::ShardShape Plan::Shape() const {
  model::ShardShape s;
  s.micro_batch = job.plan.micro_batch;
  s.seq_len = job.workload.seq_len;
  s.tp = tp;
  s.cp = cp;
  s.etp = etp;
  s.ep = ep;
  s.sequence_parallel = job.plan.sequence_parallel;
  s.flash_attention = job.plan.attention_kernel == spec::AttentionKernel::kFlash;
  const bool pytorch_code = job.framework.elementwise == spec::Elementwise::kEager;
  s.attention_repeats_kv = pytorch_code;
  s.swiglu_keeps_gate_output = pytorch_code && !job.framework.compile;
  s.saved_input_cast_bytes =
      spec::LowPrecision(job.plan.precision) && job.framework.fp8_saves_fp8_inputs
          ? spec::LowPrecisionBytes(job.plan.precision)
          : 0.0;
  s.lora_rank = job.workload.lora_rank;
  s.document_tokens = job.workload.document_tokens;
  return s;
}

std::string_view RecomputeModuleNeeds(const spec::ModelSpec& model, uint32_t module) {
  if (module == spec::kRecomputeMoeAct && !model.IsMoe()) return "a MoE model (model.experts > 0)";
  if (module == spec::kRecomputeSharedExperts && !(model.IsMoe() && model.shared_experts > 0))
    return "shared experts (model.shared_experts > 0)";
  if (module == spec::kRecomputeMlaUpProj && !model.IsMla())
    return "multi-head latent attention (model.kv_lora_rank > 0)";
  return "";
}

namespace {

// Layers over pipeline stages and virtual chunks (trimmed edge stages give the first and last
// chunk one layer less; an uneven split gives chunks 1 to r one more, r the remainder); chunk c
// of stage s is virtual stage c * pp + s, or in a V (zb-v) schedule::VirtualStage's.
Status LayOutLayers(const spec::ModelSpec& m, const spec::PlanSpec& p, Plan& plan) {
  if (p.trim_edge_stages && p.pp < 2) {
    return Refuse("plan.trim_edge_stages",
                  fmt::format("plan.trim_edge_stages = true needs plan.pp >= 2 (pp = {}) (allowed: "
                              "false with pp = 1)",
                              p.pp));
  }
  // More than a chunk holds recomputes the whole chunk (Megatron-LM's block method); more than
  // the model holds says something no layout can mean.
  if (p.recompute_layers > m.layers) {
    return Refuse("plan.recompute_layers",
                  fmt::format("plan.recompute_layers = {} is more than the model's {} layers "
                              "(allowed: 0 to {}; 0 recomputes every layer, as does a number at "
                              "least a chunk's layers)",
                              p.recompute_layers, m.layers, m.layers));
  }
  if (p.recompute_layers > 0 && p.recompute != spec::Recompute::kFull) {
    return Refuse("plan.recompute_layers",
                  fmt::format("plan.recompute_layers = {} needs plan.recompute = full (recompute = "
                              "{}) (allowed: 0, or recompute full)",
                              p.recompute_layers, spec::RecomputeName(p.recompute)));
  }
  // Modules the model has (Megatron-Core refuses the others under selective recomputation and
  // ignores the list otherwise).
  for (int i = 0; i < spec::kRecomputeModules && p.recompute == spec::Recompute::kSelective; ++i) {
    std::string_view needs = RecomputeModuleNeeds(m, 1u << i);
    if ((p.recompute_modules & (1u << i)) && !needs.empty()) {
      return Refuse(
          "plan.recompute_modules",
          fmt::format("plan.recompute_modules names {}, which needs {} (model {}) "
                      "(allowed: modules the model has)",
                      spec::RecomputeModuleNames()[static_cast<size_t>(i)], needs, m.name));
    }
  }
  if (p.recompute_modules != spec::kRecomputeCoreAttn &&
      p.recompute == spec::Recompute::kSelective &&
      plan.job.framework.selective_recompute == spec::SelectiveRecompute::kPerOp) {
    return Refuse("plan.recompute_modules",
                  fmt::format("plan.recompute_modules names Megatron-Core's modules ({}); "
                              "framework {} checkpoints per op (allowed: the default [core_attn], "
                              "or a framework with selective_recompute core_attention)",
                              spec::RecomputeText(p), plan.job.framework.name));
  }
  int64_t chunks = p.pp * p.vp;
  int64_t trim = p.trim_edge_stages ? 1 : 0;
  int64_t slots = m.layers + 2 * trim;
  if (slots / chunks < 1 && p.uneven_layers) {
    return Refuse("model.layers",
                  fmt::format("model.layers = {}{} are fewer than plan.pp * vp = {} * {} = {} "
                              "chunks (allowed: at least one layer a chunk, even unevenly split; "
                              "fewer stages or virtual stages)",
                              m.layers, trim ? " + 2 (trim_edge_stages)" : "", p.pp, p.vp, chunks));
  }
  if (slots / chunks < 1 || (slots % chunks != 0 && !p.uneven_layers)) {
    std::vector<int64_t> allowed;
    for (int64_t d : Divisors(slots)) {
      if (d % p.pp == 0) allowed.push_back(d / p.pp);
    }
    std::string hint = ListOf(allowed);
    if (allowed.empty()) {
      // No vp works for this pp: say which pp would, and what the other trimming allows.
      std::vector<int64_t> other;
      const int64_t other_slots = m.layers + 2 * (1 - trim);
      for (int64_t d : Divisors(other_slots)) {
        if (d % p.pp == 0 && (trim || p.pp >= 2)) other.push_back(d / p.pp);
      }
      std::vector<int64_t> pps;
      for (int64_t d : Divisors(slots)) {
        if (!trim || d >= 2) pps.push_back(d);  // trimming needs two stages
      }
      hint = fmt::format("none; pp dividing {}: {}", slots, ListOf(pps));
      if (!other.empty()) {
        hint += fmt::format("; or plan.trim_edge_stages = {}, with vp {}", trim ? "false" : "true",
                            ListOf(other));
      }
    }
    return Refuse(
        "model.layers",
        fmt::format(
            "model.layers = {}{} do not split evenly over plan.pp * vp = {} * {} = {} chunks "
            "(allowed vp for pp = {}: {}{})",
            m.layers, trim ? " + 2 (trim_edge_stages)" : "", p.pp, p.vp, chunks, p.pp, hint,
            slots >= chunks ? "; or plan.uneven_layers = true" : ""));
  }
  int64_t per_chunk = slots / chunks;
  const int64_t extra = slots % chunks;  // chunks 1 to extra take one layer more
  // Chunk v (chunk c of stage s: v = c * pp + s, or its V) in closed form: per_chunk layers, one
  // more for chunks 1 to extra, one fewer at each trimmed edge; it starts after the layers of
  // chunks 0 .. v-1. (Filled in place, one allocation per stage: a search builds many plans.)
  const bool v_shape = schedule::Info(p.schedule).v_shape;
  plan.stages.resize(static_cast<size_t>(p.pp));
  for (int64_t s = 0; s < p.pp; ++s) {
    Stage& stage = plan.stages[static_cast<size_t>(s)];
    stage.index = s;
    stage.chunks.resize(static_cast<size_t>(p.vp));
    for (int64_t ci = 0; ci < p.vp; ++ci) {
      const int64_t v = schedule::VirtualStage(p.pp, s, ci, v_shape);
      Chunk& c = stage.chunks[static_cast<size_t>(ci)];
      c.virtual_index = v;
      c.first_layer =
          v * per_chunk + std::max<int64_t>(0, std::min(v - 1, extra)) - (v >= 1 ? trim : 0);
      c.layers =
          per_chunk + ((v >= 1 && v <= extra) ? 1 : 0) - ((v == 0 || v == chunks - 1) ? trim : 0);
      if (m.IsMoe()) {
        for (int64_t l = c.first_layer; l < c.first_layer + c.layers; ++l)
          c.moe_layers += m.IsMoeLayer(l);
      }
      if (p.recompute == spec::Recompute::kFull) {
        c.recomputed_layers =
            p.recompute_layers > 0 ? std::min(p.recompute_layers, c.layers) : c.layers;
        if (m.IsMoe()) {
          for (int64_t l = c.first_layer; l < c.first_layer + c.recomputed_layers; ++l)
            c.recomputed_moe_layers += m.IsMoeLayer(l);
        }
      }
      c.has_embedding = v == 0;
      c.has_head = v == chunks - 1;
    }
  }
  return Status::Ok();
}

// The schedule's rules: chunks per rank, micro-batch multiples and groups (sets plan.pp_group).
Status CheckSchedule(const spec::PlanSpec& p, Plan& plan) {
  std::string_view schedule = spec::ScheduleName(p.schedule);
  if (p.vp > 1 && p.pp == 1) {
    return Refuse("plan.vp",
                  fmt::format("plan.vp = {} splits a pipeline stage into model chunks, and "
                              "plan.pp = 1 has no pipeline (allowed: vp = 1 with pp = 1, or pp >= 2)",
                              p.vp));
  }
  if (p.vp > 1 && !Interleaved(p.schedule)) {
    return Refuse(
        "plan.vp",
        fmt::format(
            "plan.vp = {} needs an interleaved schedule; plan.schedule = {} (allowed: schedule "
            "interleaved or llama3, zb-v with vp = 2, or vp = 1)",
            p.vp, schedule));
  }
  if (Interleaved(p.schedule) && p.pp > 1 && p.vp < 2) {
    return Refuse("plan.schedule", fmt::format("plan.schedule = {} needs plan.vp >= 2 model chunks "
                                               "per rank (vp = {}) (allowed: vp >= 2, "
                                               "or schedule 1f1b)",
                                               schedule, p.vp));
  }
  plan.pp_group = p.pp_microbatch_group > 0 ? p.pp_microbatch_group : p.pp;
  if (p.schedule == Schedule::kInterleaved && p.pp > 1 && plan.microbatches % p.pp != 0) {
    return Refuse(
        "plan.microbatches",
        fmt::format(
            "plan.microbatches = {} is not a multiple of plan.pp = {} as the interleaved schedule "
            "needs (allowed: {}, ...; or schedule llama3)",
            plan.microbatches, p.pp, ListOf(Multiples(p.pp, 4))));
  }
  // Only the llama3 schedule groups micro-batches; another (interleaved's groups are pp, zb-v
  // orders its passes by time, the others run one chunk a rank) would change nothing.
  if (p.schedule != Schedule::kLlama3 && p.pp_microbatch_group > 0 &&
      p.pp_microbatch_group != p.pp) {
    return Refuse("plan.pp_microbatch_group",
                  fmt::format("plan.pp_microbatch_group = {} applies to the llama3 schedule, not "
                              "{} (allowed: 0 or pp = {}, or schedule llama3)",
                              p.pp_microbatch_group, spec::ScheduleName(p.schedule), p.pp));
  }
  if (p.schedule == Schedule::kLlama3 && plan.microbatches % plan.pp_group != 0) {
    std::vector<int64_t> allowed = Divisors(plan.microbatches);
    return Refuse(
        "plan.pp_microbatch_group",
        fmt::format(
            "plan.pp_microbatch_group = {} does not divide plan.microbatches = {} for the llama3 "
            "schedule (allowed: {})",
            plan.pp_group, plan.microbatches, ListOf(allowed)));
  }
  return Status::Ok();
}

}  // namespace

Status CheckPrecision(const spec::JobSpec& job) {
  const spec::GpuSpec& gpu = job.cluster.gpu;
  const spec::Precision precision = job.plan.precision;
  if (job.plan.fp8_params && !spec::LowPrecision(precision)) {
    return Refuse("plan.fp8_params",
                  "plan.fp8_params = true holds the weights in FP8 or FP4 only, and plan.precision "
                  "= bf16 has no such cast (allowed: precision fp8 or fp4, or fp8_params false)");
  }
  if (!spec::LowPrecision(precision) || spec::LowPrecisionPeak(gpu, precision) > 0) {
    return Status::Ok();
  }
  if (precision == spec::Precision::kFp8) {
    return Refuse("plan.precision", fmt::format("plan.precision = fp8 needs a GPU with FP8; {} has "
                                                "gpu.peak_fp8_flops_per_s = 0 (allowed: bf16)",
                                                gpu.name));
  }
  return Refuse("plan.precision",
                fmt::format("plan.precision = fp4 needs a GPU with FP4 tensor cores; {} has "
                            "gpu.peak_fp4_flops_per_s = 0 (allowed: bf16{})",
                            gpu.name, gpu.peak_fp8_flops_per_s > 0 ? ", fp8" : ""));
}

Result<Plan> BuildPlan(const spec::JobSpec& job, Checks checks) {
  if (checks == Checks::kAll) {
    SP_RETURN_IF_ERROR(spec::ValidateModel(job.model));
    SP_RETURN_IF_ERROR(spec::ValidateCluster(job.cluster));
    SP_RETURN_IF_ERROR(spec::ValidateWorkload(job.workload));
    SP_RETURN_IF_ERROR(spec::ValidateSequence(job.model, job.workload));
  }
  SP_RETURN_IF_ERROR(spec::PlanSchema().CheckBounds(job.plan));
  const spec::ModelSpec& m = job.model;
  const spec::PlanSpec& p = job.plan;
  // A JobSpec built in code (or by a reader that assigns fields directly, like the Megatron
  // arguments) may not have gone through the schema: CheckBounds above refuses values outside a
  // field's range except 0, which is refused here for the sizes that must be set.
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"tp", p.tp},
                                    {"cp", p.cp},
                                    {"pp", p.pp},
                                    {"vp", p.vp},
                                    {"ep", p.ep},
                                    {"micro_batch", p.micro_batch},
                                    {"dp_replicate", p.dp_replicate}}) {
    if (value < 1) {
      return Refuse(
          std::string("plan.") + name,
          fmt::format("plan.{} = {} is out of range (allowed: integer >= 1)", name, value));
    }
  }
  if (p.dp < 0 || p.etp < 0 || p.microbatches < 0 || p.pp_microbatch_group < 0) {
    return Refuse(
        "plan.dp",
        "plan.dp, etp, microbatches and pp_microbatch_group must not be negative (allowed: 0 to "
        "derive, or >= 1)");
  }
  {
    std::vector<spec::Dim> sorted = p.placement;
    std::sort(sorted.begin(), sorted.end());
    if (sorted !=
        std::vector<spec::Dim>{spec::Dim::kTp, spec::Dim::kCp, spec::Dim::kPp, spec::Dim::kDp}) {
      return Refuse(
          "plan.placement",
          "plan.placement does not name each of tp, cp, pp, dp once (allowed: a permutation of tp, "
          "cp, pp, dp)");
    }
  }
  Plan plan;
  plan.job = job;

  // GPUs.
  int64_t capacity = job.cluster.CapacityGpus();
  plan.gpus = job.gpus > 0 ? job.gpus : capacity;
  if (plan.gpus > capacity) {
    return Refuse("job.gpus", fmt::format("gpus = {} exceeds cluster {}'s capacity of {} GPUs "
                                          "(allowed: 1 to {})",
                                          plan.gpus, job.cluster.name, capacity, capacity));
  }

  // Tensor parallelism against the attention heads.
  if (m.heads % p.tp != 0) {
    return Refuse("plan.tp",
                  fmt::format("plan.tp = {} does not divide model.heads = {} (allowed: {})", p.tp,
                              m.heads, ListOf(Divisors(m.heads))));
  }
  if (m.EffectiveKvHeads() % p.tp != 0) {
    return Refuse("plan.tp",
                  fmt::format("plan.tp = {} does not divide model.kv_heads = {} (allowed: {})",
                              p.tp, m.EffectiveKvHeads(), ListOf(Divisors(m.EffectiveKvHeads()))));
  }
  plan.tp = p.tp;
  plan.cp = p.cp;
  plan.pp = p.pp;
  plan.vp = p.vp;

  // Data parallelism: tp*cp*pp*dp = gpus. Each size is at most kMaxRanks, so that a product
  // above gpus is refused before it can wrap.
  std::optional<int64_t> product = BoundedProduct({p.tp, p.cp, p.pp}, plan.gpus);
  if (!product) {
    return Refuse("plan.tp",
                  fmt::format("plan.tp * cp * pp = {} * {} * {} = {:.0f} is more than gpus = {} "
                              "(allowed: tp * cp * pp among {})",
                              p.tp, p.cp, p.pp,
                              static_cast<double>(p.tp) * static_cast<double>(p.cp) *
                                  static_cast<double>(p.pp),
                              plan.gpus, ListOf(Divisors(plan.gpus), 24)));
  }
  int64_t model_parallel = *product;
  if (p.dp == 0) {
    if (plan.gpus % model_parallel != 0) {
      return Refuse("plan.tp", fmt::format("plan.tp * cp * pp = {} * {} * {} = {} does not divide "
                                           "gpus = {} (allowed: tp * cp * pp "
                                           "among {})",
                                           p.tp, p.cp, p.pp, model_parallel, plan.gpus,
                                           ListOf(Divisors(plan.gpus), 24)));
    }
    plan.dp = plan.gpus / model_parallel;
  } else {
    plan.dp = p.dp;
    if (BoundedProduct({model_parallel, p.dp}, plan.gpus) != plan.gpus) {
      return Refuse(
          "plan.tp",
          fmt::format(
              "plan.tp * cp * pp * dp = {} * {} * {} * {} = {} does not equal gpus = {} (allowed: "
              "dp = gpus / (tp * cp * pp), or dp = 0 to derive it)",
              p.tp, p.cp, p.pp, p.dp,
              static_cast<double>(model_parallel) * static_cast<double>(p.dp), plan.gpus));
    }
  }

  // Hybrid sharded data parallelism: dp_replicate groups of dp*cp / dp_replicate ranks.
  if (p.dp_replicate > 1) {
    if (p.zero == spec::ZeroMode::kZero0) {
      return Refuse(
          "plan.dp_replicate",
          fmt::format(
              "plan.dp_replicate = {} needs sharded data parallelism, but plan.zero = 0 shards "
              "nothing (allowed: dp_replicate 1 with zero 0, or zero 1, 2, 3 or fsdp)",
              p.dp_replicate));
    }
    // The replica groups split dp (CP ranks always shard together, as in torchtitan and
    // Megatron), into groups of two or more ranks.
    int64_t dp_cp = plan.dp * p.cp;
    if (plan.dp % p.dp_replicate != 0 || p.dp_replicate == dp_cp) {
      std::vector<int64_t> allowed;
      for (int64_t d : Divisors(plan.dp))
        if (d < dp_cp) allowed.push_back(d);
      return Refuse(
          "plan.dp_replicate",
          fmt::format("plan.dp_replicate = {} does not split dp = {} (cp = {}) into "
                      "replica groups of two or "
                      "more ranks (allowed: {})",
                      p.dp_replicate, plan.dp, p.cp,
                      allowed.size() > 1 ? ListOf(allowed)
                                         : fmt::format("only 1 at dp * cp = {}; more data-parallel "
                                                       "ranks to replicate over",
                                                       dp_cp)));
    }
    // The shard group is the innermost dp*cp / dp_replicate of the dp*cp ranks; with CP inside
    // DP it holds whole CP groups, as the launchers build it.
    if (p.cp > 1) {
      auto at = [&](spec::Dim d) {
        return std::find(p.placement.begin(), p.placement.end(), d) - p.placement.begin();
      };
      if (at(spec::Dim::kDp) < at(spec::Dim::kCp)) {
        return Refuse(
            "plan.dp_replicate",
            fmt::format(
                "plan.dp_replicate = {} with cp = {} needs cp placed inside dp (CP ranks shard "
                "together, as in torchtitan and Megatron); placement puts dp first (allowed: a "
                "placement with cp before dp, or dp_replicate 1)",
                p.dp_replicate, p.cp));
      }
    }
  }

  // Context parallelism: head-tail sharding cuts each sequence into 2*cp chunks.
  if (p.cp > 1 && job.workload.seq_len % (2 * p.cp) != 0) {
    return Refuse(
        "plan.cp",
        fmt::format(
            "plan.cp = {} needs workload.seq_len = {} to split into 2 * cp = {} equal chunks "
            "(allowed: cp with 2*cp dividing {})",
            p.cp, job.workload.seq_len, 2 * p.cp, job.workload.seq_len));
  }

  // Experts: sharded over the dp*cp ranks (Megatron-Core), each expert over etp ranks.
  plan.etp = p.etp > 0 ? p.etp : p.tp;
  plan.ep = p.ep;
  if (!m.IsMoe()) {
    if (p.ep > 1) {
      return Refuse(
          "plan.ep",
          fmt::format("plan.ep = {} needs a mixture-of-experts model; {} is dense (allowed: 1)",
                      p.ep, m.name));
    }
    if (p.etp > 0 && p.etp != p.tp) {
      return Refuse("plan.etp",
                    fmt::format("plan.etp = {} splits experts; {} is dense (allowed: 0, or tp = "
                                "{})",
                                p.etp, m.name, p.tp));
    }
    plan.etp = p.tp;
  } else {
    // Expert TP splits an expert over TP ranks that hold the same tokens; wider than tp, or not
    // dividing it, its groups would hold different tokens, which the step model does not price.
    if (plan.etp > p.tp || p.tp % plan.etp != 0) {
      return Refuse("plan.etp",
                    fmt::format("plan.etp = {} does not divide plan.tp = {} (allowed: 0 for tp, "
                                "or {})",
                                plan.etp, p.tp, ListOf(Divisors(p.tp))));
    }
    int64_t dp_cp = plan.dp * p.cp;
    // Megatron-Core lays experts out as etp, ep, expert-dp over the tp * cp * dp ranks of a
    // stage, TP innermost: with expert TP below tp, the expert-parallel group first takes the
    // spare = tp / etp TP ranks one expert shard does not need, then dp * cp ranks. So ep must
    // divide spare, or be spare times a divisor of dp * cp (spare = 1: ep divides dp * cp).
    const int64_t spare = plan.etp < p.tp && p.tp % plan.etp == 0 ? p.tp / plan.etp : 1;
    const int64_t span = std::min(p.ep, spare);
    if (spare % span != 0 || p.ep % span != 0 || dp_cp % (p.ep / span) != 0) {
      if (spare == 1) {
        return Refuse(
            "plan.ep",
            fmt::format("plan.ep = {} does not divide dp * cp = {} * {} = {} (allowed: {})", p.ep,
                        plan.dp, p.cp, dp_cp, ListOf(Divisors(dp_cp))));
      }
      std::vector<int64_t> allowed = Divisors(spare);
      for (int64_t d : Divisors(dp_cp)) {
        if (d > 1) allowed.push_back(spare * d);
      }
      return Refuse("plan.ep",
                    fmt::format("plan.ep = {} does not fit the stage: expert TP {} leaves tp / etp "
                                "= {} TP ranks, then dp * cp = {} * {} = {} ranks (allowed: {})",
                                p.ep, plan.etp, spare, plan.dp, p.cp, dp_cp, ListOf(allowed)));
    }
    plan.ep_tp_span = span;
    if (m.experts % p.ep != 0) {
      return Refuse("plan.ep", fmt::format("plan.ep = {} does not divide model.experts = {} "
                                           "(allowed: {})",
                                           p.ep, m.experts, ListOf(Divisors(m.experts))));
    }
    if ((dp_cp * p.tp) % (p.ep * plan.etp) != 0) {
      return Refuse("plan.etp", fmt::format("plan.etp = {} with plan.ep = {} does not divide tp * "
                                            "dp * cp = {} (allowed: etp * ep "
                                            "dividing {})",
                                            plan.etp, p.ep, dp_cp * p.tp, dp_cp * p.tp));
    }
  }

  // A schedule that runs a fixed number of chunks says so before the layers are split over them.
  const schedule::ScheduleInfo& info = schedule::Info(p.schedule);
  if (info.fixed_chunks > 0 && p.vp != info.fixed_chunks) {
    return Refuse(
        "plan.vp",
        fmt::format("plan.vp = {}: plan.schedule = {} runs exactly {} model chunks per "
                    "rank (allowed: vp = {})",
                    p.vp, spec::ScheduleName(p.schedule), info.fixed_chunks, info.fixed_chunks));
  }

  // Layers over pipeline stages and virtual chunks.
  SP_RETURN_IF_ERROR(LayOutLayers(m, p, plan));

  // Batch: global batch = dp * micro_batch * microbatches.
  const spec::WorkloadSpec& w = job.workload;
  plan.global_batch = w.global_batch > 0 ? w.global_batch : w.batch_tokens / w.seq_len;
  // Tokens per step fit in kMaxCount: ValidateWorkload checked global_batch x seq_len, and
  // batch_tokens / seq_len x seq_len <= batch_tokens.
  int64_t per_step = plan.dp * p.micro_batch;
  if (plan.global_batch % per_step != 0) {
    std::vector<int64_t> allowed;
    for (int64_t d : Divisors(plan.global_batch)) {
      if (d % plan.dp == 0) allowed.push_back(d / plan.dp);
    }
    return Refuse(
        "plan.micro_batch",
        fmt::format(
            "plan.micro_batch = {}: workload.global_batch = {} sequences does not split over dp * "
            "micro_batch = {} * {} = {} (allowed micro_batch: {})",
            p.micro_batch, plan.global_batch, plan.dp, p.micro_batch, per_step,
            allowed.empty() ? std::string("none; change dp or the batch") : ListOf(allowed)));
  }
  plan.microbatches = plan.global_batch / per_step;
  if (p.microbatches > 0 && p.microbatches != plan.microbatches) {
    return Refuse(
        "plan.microbatches",
        fmt::format(
            "plan.microbatches = {} disagrees with the global batch: {} sequences / (dp {} * "
            "micro_batch {}) = {} (allowed: {}, or 0 to derive it)",
            p.microbatches, plan.global_batch, plan.dp, p.micro_batch, plan.microbatches,
            plan.microbatches));
  }

  // Schedule.
  SP_RETURN_IF_ERROR(CheckSchedule(p, plan));

  SP_RETURN_IF_ERROR(CheckPrecision(job));

  plan.groups =
      topology::PlaceGroups(job.cluster, {plan.tp, plan.cp, plan.pp, plan.dp}, p.placement);
  return plan;
}

}  // namespace scaleplan::plan
