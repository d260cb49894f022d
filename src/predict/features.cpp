#include "predict/features.h"

#include <cmath>

#include "model/model.h"

namespace scaleplan::predict {

namespace {

struct Feature {
  const char* name;
  double (*value)(const plan::Plan&, const sim::StepResult&, const plan::MemoryReport&);
};

double Log(double x) { return std::log(std::max(x, 1e-30)); }
double Log(int64_t x) { return Log(static_cast<double>(x)); }
double Flag(bool b) { return b ? 1.0 : 0.0; }

double Span(const plan::Plan& p, spec::Dim dim) {
  for (const topology::GroupPlacement& g : p.groups) {
    if (g.dim == dim) return static_cast<double>(g.span_tier + 1);
  }
  return 0;
}

double Fraction(const sim::StepResult& s, double part) {
  double total = s.breakdown.Total();
  return total > 0 ? part / total : 0;
}

using P = const plan::Plan&;
using S = const sim::StepResult&;
using M = const plan::MemoryReport&;

// The table: each feature once, its name beside its formula.
const Feature kFeatures[] = {
    {"log_tp", [](P p, S, M) { return Log(p.tp); }},
    {"log_cp", [](P p, S, M) { return Log(p.cp); }},
    {"log_pp", [](P p, S, M) { return Log(p.pp); }},
    {"log_vp", [](P p, S, M) { return Log(p.vp); }},
    {"log_dp", [](P p, S, M) { return Log(p.dp); }},
    {"log_ep", [](P p, S, M) { return Log(p.ep); }},
    {"log_micro_batch", [](P p, S, M) { return Log(p.spec().micro_batch); }},
    {"log_microbatches", [](P p, S, M) { return Log(p.microbatches); }},
    {"log_seq_len", [](P p, S, M) { return Log(p.job.workload.seq_len); }},
    {"zero_stage",
     [](P p, S, M) {
       switch (p.spec().zero) {
         case spec::ZeroMode::kZero0:
           return 0.0;
         case spec::ZeroMode::kZero1:
           return 1.0;
         case spec::ZeroMode::kZero2:
           return 2.0;
         default:
           return 3.0;
       }
     }},
    {"recompute_selective",
     [](P p, S, M) { return Flag(p.spec().recompute == spec::Recompute::kSelective); }},
    {"recompute_full",
     [](P p, S, M) { return Flag(p.spec().recompute == spec::Recompute::kFull); }},
    {"schedule_interleaved",
     [](P p, S, M) { return Flag(p.pp > 1 && p.spec().schedule == spec::Schedule::kInterleaved); }},
    {"schedule_llama3",
     [](P p, S, M) { return Flag(p.pp > 1 && p.spec().schedule == spec::Schedule::kLlama3); }},
    {"schedule_zb_h1",
     [](P p, S, M) { return Flag(p.pp > 1 && p.spec().schedule == spec::Schedule::kZbH1); }},
    {"schedule_gpipe",
     [](P p, S, M) { return Flag(p.pp > 1 && p.spec().schedule == spec::Schedule::kGpipe); }},
    {"trim_edge_stages", [](P p, S, M) { return Flag(p.pp > 1 && p.spec().trim_edge_stages); }},
    {"cp_ring",
     [](P p, S, M) { return Flag(p.cp > 1 && p.spec().cp_algorithm == spec::CpAlgorithm::kRing); }},
    {"log_dp_replicate", [](P p, S, M) { return Log(p.spec().dp_replicate); }},
    {"grad_sync_delayed",
     [](P p, S, M) { return Flag(p.spec().grad_sync == spec::GradSync::kDelayed); }},
    {"grad_reduce_bf16",
     [](P p, S, M) { return Flag(p.spec().grad_reduce_dtype == spec::GradReduceDtype::kBf16); }},
    {"fp8", [](P p, S, M) { return Flag(p.spec().precision == spec::Precision::kFp8); }},
    {"sequence_parallel", [](P p, S, M) { return Flag(p.SequenceParallel()); }},
    {"tp_comm_overlap", [](P p, S, M) { return Flag(p.spec().tp_comm_overlap && p.tp > 1); }},
    {"eager",
     [](P p, S, M) {
       return Flag(p.job.framework.elementwise == spec::Elementwise::kEager &&
                   !p.job.framework.compile);
     }},
    {"compile", [](P p, S, M) { return Flag(p.job.framework.compile); }},
    {"log_gpus", [](P p, S, M) { return Log(p.gpus); }},
    {"log_tokens_per_step", [](P p, S, M) { return Log(p.TokensPerStep()); }},
    {"log_tokens_per_microbatch_per_cp_rank",
     [](P p, S, M) {
       return Log(static_cast<double>(p.spec().micro_batch * p.job.workload.seq_len) /
                  static_cast<double>(p.cp));
     }},
    {"log_params", [](P p, S, M) { return Log(model::CountParams(p.model()).total); }},
    {"log_active_params", [](P p, S, M) { return Log(model::CountParams(p.model()).active); }},
    {"log_params_per_shard",
     [](P p, S, M) {
       return Log(model::CountParams(p.model()).total / static_cast<double>(p.tp * p.pp));
     }},
    {"log_hidden", [](P p, S, M) { return Log(p.model().hidden); }},
    {"log_layers", [](P p, S, M) { return Log(p.model().layers); }},
    {"moe", [](P p, S, M) { return Flag(p.model().IsMoe()); }},
    {"tp_tier", [](P p, S, M) { return Span(p, spec::Dim::kTp); }},
    {"cp_tier", [](P p, S, M) { return Span(p, spec::Dim::kCp); }},
    {"pp_tier", [](P p, S, M) { return Span(p, spec::Dim::kPp); }},
    {"dp_tier", [](P p, S, M) { return Span(p, spec::Dim::kDp); }},
    {"log_peak_bf16_flops_per_s",
     [](P p, S, M) { return Log(p.job.cluster.gpu.peak_bf16_flops_per_s); }},
    {"log_memory_bandwidth_bytes_per_s",
     [](P p, S, M) { return Log(p.job.cluster.gpu.memory_bandwidth_bytes_per_s); }},
    {"log_memory_bytes", [](P p, S, M) { return Log(p.job.cluster.gpu.memory_bytes); }},
    {"power_clock_fraction", [](P p, S, M) { return spec::PowerClockFraction(p.job.cluster.gpu); }},
    {"physics_log_tokens_per_s_per_gpu", [](P, S s, M) { return Log(s.tokens_per_s_per_gpu); }},
    {"physics_mfu", [](P, S s, M) { return s.mfu; }},
    {"physics_compute_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.compute_s); }},
    {"physics_tp_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.tp_comm_s); }},
    {"physics_cp_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.cp_comm_s); }},
    {"physics_ep_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.ep_comm_s); }},
    {"physics_pp_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.pp_comm_s); }},
    {"physics_dp_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.dp_comm_s); }},
    {"physics_bubble_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.bubble_s); }},
    {"physics_optimizer_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.optimizer_s); }},
    {"physics_other_fraction", [](P, S s, M) { return Fraction(s, s.breakdown.other_s); }},
    {"physics_memory_fraction",
     [](P, S, M m) { return m.capacity_bytes > 0 ? m.peak_bytes / m.capacity_bytes : 0; }},
};

}  // namespace

const std::vector<std::string>& FeatureNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Feature& f : kFeatures) out.emplace_back(f.name);
    return out;
  }();
  return names;
}

std::vector<double> Features(const plan::Plan& plan, const sim::StepResult& step,
                             const plan::MemoryReport& memory) {
  std::vector<double> out;
  out.reserve(std::size(kFeatures));
  for (const Feature& f : kFeatures) {
    double v = f.value(plan, step, memory);
    out.push_back(std::isfinite(v) ? v : 0.0);
  }
  return out;
}

}  // namespace scaleplan::predict
