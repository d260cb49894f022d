#include "report/plan_report.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <optional>
#include <utility>

#include "core/text.h"
#include "core/units.h"
#include "hardware/efficiency.h"
#include "sim/recompute_fit.h"
#include "spec/presets.h"

namespace scaleplan::report {

namespace {

// The most keys one query of an attention op sees: its window, or the sequence (model.h).
double KeyLen(const model::Op& op, int64_t seq_len) {
  return op.key_len > 0 ? op.key_len : static_cast<double>(seq_len);
}

nlohmann::json OpJson(const model::Op& op, int64_t seq_len) {
  nlohmann::json out = {{"name", op.name},
                        {"kind", std::string(model::OpKindName(op.kind))},
                        {"m", op.m},
                        {"n", op.n},
                        {"k", op.k},
                        {"fwd_flops", op.fwd_flops},
                        {"bwd_flops", op.bwd_flops},
                        {"fwd_bytes", op.fwd_bytes},
                        {"bwd_bytes", op.bwd_bytes},
                        {"saved_bytes", op.saved_bytes},
                        {"params", op.params}};
  if (op.kind == model::OpKind::kAttention) out["key_len_tokens"] = KeyLen(op, seq_len);
  return out;
}

std::string ScheduleText(const plan::Plan& p) {
  const spec::PlanSpec& s = p.spec();
  std::string text(spec::ScheduleName(s.schedule));
  if (p.vp > 1) text += fmt::format(", vp {}", p.vp);
  if (s.schedule == spec::Schedule::kLlama3) text += fmt::format(", N {}", p.pp_group);
  if (s.trim_edge_stages) text += ", edge stages trimmed";
  if (s.uneven_layers && (p.model().layers + (s.trim_edge_stages ? 2 : 0)) % (p.pp * p.vp) != 0)
    text += ", layers split unevenly";
  return text;
}

void AppendOps(std::string& out, const std::string& title, const std::vector<model::Op>& ops,
               int64_t seq_len) {
  out += fmt::format("  {}\n", title);
  for (const model::Op& op : ops) {
    std::string shape = op.kind == model::OpKind::kGemm
                            ? fmt::format("{:.0f}x{:.0f}x{:.0f}", op.m, op.n, op.k)
                        : op.kind == model::OpKind::kAttention
                            ? fmt::format("{:.0f} keys", KeyLen(op, seq_len))
                            : std::string("-");
    out += fmt::format("    {:<16} {:<11} {:>22} {:>12} {:>12} {:>11} {:>11} {:>11}\n", op.name,
                       model::OpKindName(op.kind), shape, HumanFlops(op.fwd_flops),
                       HumanFlops(op.bwd_flops), HumanBytes(op.fwd_bytes),
                       HumanBytes(op.saved_bytes), HumanCount(op.params));
  }
}

}  // namespace

namespace {

// A plan that does not fit (tight or out of memory): the fastest recomputation under which it fits
// (sim/recompute_fit.h), its peak and its analytical step against the plan's own; nullopt where
// none fits or the plan fits.
struct RecomputeThatFits {
  spec::PlanSpec plan;
  double peak_bytes = 0;
  double step_time_s = 0, unfitted_step_time_s = 0;
};
std::optional<RecomputeThatFits> FindRecomputeThatFits(const plan::Plan& p,
                                                       const plan::MemoryReport& mem) {
  if (mem.fits) return std::nullopt;
  Result<hardware::DeviceModel> device = hardware::DeviceModel::For(p.job);
  if (!device.ok()) return std::nullopt;
  sim::Evaluator evaluator(std::move(*device));
  std::optional<spec::PlanSpec> fitted =
      sim::FastestRecomputeThatFits(p.job, p.job.plan, evaluator);
  if (!fitted) return std::nullopt;
  spec::JobSpec job = p.job;
  job.plan = *fitted;
  Result<plan::Plan> q = plan::BuildPlan(job);
  if (!q.ok()) return std::nullopt;
  RecomputeThatFits r;
  r.plan = *fitted;
  r.peak_bytes = evaluator.Memory(*q).peak_bytes;
  r.step_time_s = evaluator.Evaluate(*q).step_time_s;
  r.unfitted_step_time_s = evaluator.Evaluate(p).step_time_s;
  return r;
}

}  // namespace

nlohmann::json PlanJson(const plan::Plan& p, const plan::MemoryReport& mem,
                        const PlanReportOptions& options) {
  const spec::ModelSpec& m = p.model();
  model::ParamCounts params = model::CountParams(m);
  model::ModelFlops flops =
      model::ModelFlopsPerToken(m, p.job.workload);
  nlohmann::json out;
  out["model"] = spec::ModelSchema().ToJson(m);
  out["gpu"] = spec::GpuSchema().ToJson(p.job.cluster.gpu);
  out["cluster"] = spec::ClusterSchema().ToJson(p.job.cluster);
  out["gpus"] = p.gpus;
  out["framework"] = spec::FrameworkSchema().ToJson(p.job.framework);
  out["framework"].erase("plan");  // its plan keys are already in "plan"
  out["plan"] = spec::PlanSchema().ToJson(p.spec());
  out["plan"]["dp"] = p.dp;
  out["plan"]["etp"] = p.etp;
  out["plan"]["microbatches"] = p.microbatches;
  out["plan"]["pp_microbatch_group"] = p.pp_group;
  out["workload"] = spec::WorkloadSchema().ToJson(p.job.workload);
  out["workload"]["global_batch"] = p.global_batch;
  out["workload"]["batch_tokens"] = p.TokensPerStep();

  out["params_total"] = params.total;
  out["params_active"] = params.active;
  out["params_embedding"] = params.embedding;
  out["params_lm_head"] = params.lm_head;
  out["params_per_dense_layer"] = params.dense_layer.Total();
  out["params_per_moe_layer"] = params.moe_layer.Total();
  out["dense_layers"] = params.dense_layers;
  out["moe_layers"] = params.moe_layers;
  out["model_flops_per_token"] = flops.per_token_causal;
  out["model_flops_per_token_noncausal"] = flops.per_token_noncausal;
  out["model_flops_formula"] = flops.formula;
  out["model_flops_per_step"] = flops.per_token_causal * static_cast<double>(p.TokensPerStep());

  nlohmann::json stages = nlohmann::json::array();
  for (size_t i = 0; i < p.stages.size(); ++i) {
    const plan::Stage& st = p.stages[i];
    const plan::StageMemory& sm = mem.stages[i];
    nlohmann::json chunks = nlohmann::json::array();
    for (const plan::Chunk& c : st.chunks) {
      chunks.push_back({{"virtual_index", c.virtual_index},
                        {"first_layer", c.first_layer},
                        {"layers", c.layers},
                        {"moe_layers", c.moe_layers},
                        {"embedding", c.has_embedding},
                        {"head", c.has_head}});
    }
    stages.push_back({{"stage", st.index},
                      {"layers", st.Layers()},
                      {"chunks", chunks},
                      {"params_per_gpu", sm.params_per_gpu},
                      {"weights_bytes", sm.weights_bytes},
                      {"gradients_bytes", sm.gradients_bytes},
                      {"optimizer_bytes", sm.optimizer_bytes},
                      {"activations_bytes", sm.activations_bytes},
                      {"transient_bytes", sm.transient_bytes},
                      {"total_bytes", sm.total_bytes},
                      {"chunks_in_flight", sm.chunks_in_flight}});
  }
  out["stages"] = stages;

  nlohmann::json groups = nlohmann::json::array();
  for (const topology::GroupPlacement& g : p.groups) {
    nlohmann::json tiers = nlohmann::json::object();
    for (size_t t = 0; t < p.job.cluster.tiers.size(); ++t) {
      tiers[p.job.cluster.tiers[t].name] = g.groups_at_tier[t];
    }
    groups.push_back(
        {{"dim", std::string(spec::DimName(g.dim))},
         {"size", g.size},
         {"stride", g.stride},
         {"span_tier",
          g.span_tier < 0
              ? nlohmann::json(nullptr)
              : nlohmann::json(p.job.cluster.tiers[static_cast<size_t>(g.span_tier)].name)},
         {"groups_at_tier", tiers},
         {"description", topology::DescribeSpan(p.job.cluster, g)}});
  }
  out["groups"] = groups;

  const plan::StageMemory& peak = mem.stages[static_cast<size_t>(mem.peak_stage)];
  out["memory"] = {{"peak_bytes_per_gpu", mem.peak_bytes},
                   {"peak_stage", mem.peak_stage},
                   {"weights_bytes", peak.weights_bytes},
                   {"gradients_bytes", peak.gradients_bytes},
                   {"optimizer_bytes", peak.optimizer_bytes},
                   {"activations_bytes", peak.activations_bytes},
                   {"transient_bytes", peak.transient_bytes},
                   {"capacity_bytes", mem.capacity_bytes},
                   {"usable_bytes", mem.usable_bytes},
                   {"headroom_bytes", mem.usable_bytes - mem.peak_bytes},
                   {"activation_bytes_per_layer", mem.activation_bytes_per_layer},
                   {"fits", mem.fits},
                   {"verdict", plan::VerdictName(plan::Verdict(mem))}};
  // Not fitting (tight or out of memory): the fastest recomputation that fits (null where none
  // does, absent where the plan fits).
  if (!mem.fits) {
    std::optional<RecomputeThatFits> fit = FindRecomputeThatFits(p, mem);
    out["memory"]["recompute_that_fits"] =
        fit ? nlohmann::json{{"engine", "analytical"},
                             {"recompute", spec::RecomputeText(fit->plan)},
                             {"recompute_layers", fit->plan.recompute_layers},
                             {"peak_bytes_per_gpu", fit->peak_bytes},
                             {"step_time_s", fit->step_time_s},
                             {"step_time_s_as_given", fit->unfitted_step_time_s}}
            : nlohmann::json(nullptr);
  }
  if (options.include_ops) {
    model::ShardShape shape = p.Shape();
    nlohmann::json ops;
    for (const char* part : {"dense_layer", "moe_layer", "embedding", "head"}) {
      std::vector<model::Op> list;
      std::string name(part);
      if (name == "dense_layer") list = model::LayerOps(m, false, shape);
      if (name == "moe_layer" && m.IsMoe()) list = model::LayerOps(m, true, shape);
      if (name == "embedding") list = model::EmbeddingOps(m, shape);
      if (name == "head") list = model::HeadOps(m, shape);
      nlohmann::json arr = nlohmann::json::array();
      for (const model::Op& op : list) arr.push_back(OpJson(op, p.job.workload.seq_len));
      ops[name] = arr;
    }
    out["ops"] = ops;
  }
  return out;
}

std::string PlanText(const plan::Plan& p, const plan::MemoryReport& mem,
                     const PlanReportOptions& options) {
  const spec::ModelSpec& m = p.model();
  const spec::PlanSpec& s = p.spec();
  const spec::ClusterSpec& c = p.job.cluster;
  model::ParamCounts params = model::CountParams(m);
  model::ModelFlops flops =
      model::ModelFlopsPerToken(m, p.job.workload);
  std::string out;
  out += fmt::format("{} on {} x {} ({})\n\n", m.name, p.gpus, c.gpu.name, c.name);
  out += fmt::format("  plan       TP {} . CP {} . PP {} . DP {} . EP {}   schedule {}\n", p.tp,
                     p.cp, p.pp, p.dp, p.ep, ScheduleText(p));
  out += fmt::format(
      "             zero {} . sequence parallel {} . recompute {} . {} . placement [{}]\n",
      spec::ZeroModeName(s.zero), s.sequence_parallel ? "on" : "off", spec::RecomputeText(s),
      std::string(spec::PrecisionName(s.precision)) +
          (s.fp8_params ? " (weights held as the cast alone)" : ""),
      Join(
          [&] {
            std::vector<std::string> d;
            for (spec::Dim dim : s.placement) d.emplace_back(spec::DimName(dim));
            return d;
          }(),
          ", "));
  const spec::FrameworkSpec& fw = p.job.framework;
  const spec::GpuSpec& gpu = c.gpu;
  out += fmt::format(
      "  framework  {}: {} kernels . selective = {} . {}{}{} . attention {} x{:.2f} . Adam {} . "
      "HBM {:.0f}% . {:.1f} us per kernel . tensor cores {:.0f}%{}\n",
      fw.name,
      fw.compile                                    ? "compiled"
      : fw.elementwise == spec::Elementwise::kEager ? "eager"
                                                    : "fused",
      fw.selective_recompute == spec::SelectiveRecompute::kPerOp ? "per-op" : "modules",
      s.precision == spec::Precision::kFp4            ? "nvfp4"
      : fw.fp8_recipe == spec::Fp8Recipe::kDelayed    ? "fp8 delayed"
      : fw.fp8_recipe == spec::Fp8Recipe::kTensorwise ? "fp8 tensorwise"
                                                      : "fp8 rowwise",
      fw.fp8_lm_head ? " (LM head too)" : "",
      fw.fp8_weight_cache ? ", weights cast once a step" : "",
      spec::AttentionTableName(fw.attention_table),
      fw.attention_fraction,
      fw.optimizer_step == spec::OptimizerStep::kFused ? "fused" : "unfused",
      100.0 * fw.memory_fraction, 1e6 * fw.kernel_overhead_s,
      100.0 * gpu.sustained_compute_fraction,
      spec::PowerClockFraction(gpu) < 1.0
          ? fmt::format(" x {:.3f} at {:.0f} W", spec::PowerClockFraction(gpu), gpu.power_limit_w)
          : std::string());
  const spec::WorkloadSpec& w = p.job.workload;
  out += fmt::format(
      "  batch      {} sequences x {} tokens = {} tokens per step; {} micro-batches "
      "of {} per replica{}{}\n",
      p.global_batch, w.seq_len, p.TokensPerStep(), p.microbatches, s.micro_batch,
      w.document_tokens > 0 && w.document_tokens < w.seq_len
          ? fmt::format("; packed documents of {} tokens (attention within each)",
                        w.document_tokens)
          : std::string(),
      w.lora_rank > 0
          ? fmt::format("; LoRA rank {} (adapters trained, base weights frozen)", w.lora_rank)
          : std::string());
  out += fmt::format("  params     {} total", HumanCount(params.total));
  if (m.IsMoe()) out += fmt::format(", {} active per token", HumanCount(params.active));
  out += fmt::format(" (embedding {}, output layer {}, {} per dense layer",
                     HumanCount(params.embedding),
                     m.tied_embeddings ? std::string("tied") : HumanCount(params.lm_head),
                     HumanCount(params.dense_layer.Total()));
  if (m.IsMoe()) out += fmt::format(", {} per MoE layer", HumanCount(params.moe_layer.Total()));
  out += fmt::format("; {} layers)\n", m.layers);
  out += fmt::format("  FLOPs      {} per token ({} without causal halving), {} per step\n",
                     HumanFlops(flops.per_token_causal), HumanFlops(flops.per_token_noncausal),
                     HumanFlops(flops.per_token_causal * static_cast<double>(p.TokensPerStep())));
  out += fmt::format("             formula: {}\n\n", flops.formula);

  out += "  placement  (ranks numbered in topology order; innermost dimension first)\n";
  for (const topology::GroupPlacement& g : p.groups) {
    out += fmt::format("    {:<3} {:>6} ranks  stride {:>6}  {}\n", spec::DimName(g.dim), g.size,
                       g.stride, topology::DescribeSpan(c, g));
  }

  out += fmt::format("\n  memory per GPU by pipeline stage (GiB)\n");
  out += fmt::format("    {:>5} {:>6} {:>11} {:>8} {:>8} {:>9} {:>11} {:>9} {:>8} {:>9}\n", "stage",
                     "layers", "params/GPU", "weights", "grads", "optimizer", "activations",
                     "transient", "total", "in flight");
  auto row = [&](const plan::StageMemory& sm) {
    out += fmt::format(
        "    {:>5} {:>6} {:>11} {:>8.2f} {:>8.2f} {:>9.2f} {:>11.2f} {:>9.2f} {:>8.2f} {:>9}{}\n",
        sm.stage, sm.layers, HumanCount(sm.params_per_gpu), sm.weights_bytes / kGi,
        sm.gradients_bytes / kGi, sm.optimizer_bytes / kGi, sm.activations_bytes / kGi,
        sm.transient_bytes / kGi, sm.total_bytes / kGi, sm.chunks_in_flight,
        sm.stage == mem.peak_stage ? "  <- peak" : "");
  };
  size_t n = mem.stages.size();
  for (size_t i = 0; i < n; ++i) {
    bool show = n <= 16 || i < 2 || i + 2 >= n || static_cast<int64_t>(i) == mem.peak_stage;
    if (show) {
      row(mem.stages[i]);
    } else if (i == 2) {
      out += "    ...\n";
    }
  }
  const double margin = mem.usable_bytes - mem.peak_bytes;
  const std::string against =
      fmt::format("peak {} on stage {} against {} usable ({} x {:.2f})", HumanBytes(mem.peak_bytes),
                  mem.peak_stage, HumanBytes(mem.usable_bytes), HumanBytes(mem.capacity_bytes),
                  c.gpu.usable_memory_fraction);
  switch (plan::Verdict(mem)) {
    case plan::MemoryVerdict::kFits:
      out += fmt::format("\n  verdict    fits: {}; {} to spare\n", against, HumanBytes(margin));
      break;
    case plan::MemoryVerdict::kTight:
      out += fmt::format(
          "\n  verdict    TIGHT: {}; {} over, inside the GPU's reserve: by this count it leaves {} "
          "for what is not counted (CUDA context, NCCL and cuBLAS workspaces, allocator "
          "fragmentation, docs/MEMORY.md's unmodeled buffers); the reserve assumed is {}\n",
          against, HumanBytes(-margin), HumanBytes(mem.capacity_bytes - mem.peak_bytes),
          HumanBytes(mem.capacity_bytes - mem.usable_bytes));
      break;
    case plan::MemoryVerdict::kOutOfMemory:
      out += fmt::format("\n  verdict    OUT OF MEMORY: {}; {} over, {} more than the GPU holds\n",
                         against, HumanBytes(-margin),
                         HumanBytes(mem.peak_bytes - mem.capacity_bytes));
      break;
  }
  if (!mem.fits) {
    std::optional<RecomputeThatFits> fit = FindRecomputeThatFits(p, mem);
    out += fit ? fmt::format(
                     "             fits with recompute {}: peak {}, step {:+.1f}% (the fastest "
                     "recomputation that fits, analytical)\n",
                     spec::RecomputeText(fit->plan), HumanBytes(fit->peak_bytes),
                     100.0 * (fit->step_time_s / fit->unfitted_step_time_s - 1.0))
               : fmt::format("             no recomputation fits (whole layers or {})\n",
                             p.job.framework.selective_recompute == spec::SelectiveRecompute::kPerOp
                                 ? "per-op checkpointing"
                                 : "Megatron-Core's modules");
  }

  if (options.include_ops) {
    model::ShardShape shape = p.Shape();
    out += fmt::format("\n  ops of one micro-batch on one rank ({} tokens after CP; TP {})\n",
                       shape.Tokens(), p.tp);
    out +=
        fmt::format("    {:<16} {:<11} {:>22} {:>12} {:>12} {:>11} {:>11} {:>11}\n", "op", "kind",
                    "gemm m x n x k / keys", "fwd FLOP", "bwd FLOP", "fwd bytes", "saved", "params");
    const int64_t seq = p.job.workload.seq_len;
    AppendOps(out, "dense layer", model::LayerOps(m, false, shape), seq);
    if (m.IsMoe()) AppendOps(out, "MoE layer", model::LayerOps(m, true, shape), seq);
    AppendOps(out, "embedding (first stage)", model::EmbeddingOps(m, shape), seq);
    AppendOps(out, "output layer and loss (last stage)", model::HeadOps(m, shape), seq);
  }
  return out;
}

namespace {
std::string PresetDescription(const EmbeddedFile& p) {
  try {
    YAML::Node node = YAML::Load(p.text);
    if (node["description"]) return node["description"].as<std::string>();
  } catch (const YAML::Exception&) {
  }
  return "";
}
}  // namespace

std::string PresetsText() {
  std::string out;
  std::string kind;
  for (const EmbeddedFile& p : spec::EmbeddedPresets()) {
    if (kind != p.kind) {
      kind = p.kind;
      out += fmt::format("{}{}:\n", out.empty() ? "" : "\n", kind);
    }
    out += fmt::format("  {:<20} {}\n", p.name, PresetDescription(p));
  }
  return out;
}

nlohmann::json PresetsJson() {
  nlohmann::json out = nlohmann::json::array();
  for (const EmbeddedFile& p : spec::EmbeddedPresets()) {
    out.push_back({{"kind", p.kind}, {"name", p.name}, {"description", PresetDescription(p)}});
  }
  return out;
}

std::string SchedulesText(const std::vector<schedule::SurveyRow>& rows) {
  std::string text;
  for (const schedule::SurveyRow& row : rows) {
    text += fmt::format("  {:<12} {}\n  {:<12} {}\n", row.info.name, row.info.description, "",
                        row.verdict);
  }
  return text;
}

}  // namespace scaleplan::report
