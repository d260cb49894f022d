#include "goodput/goodput.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "core/text.h"
#include "model/model.h"
#include "plan/memory.h"

namespace scaleplan::goodput {

namespace {

constexpr double kSecondsPerDay = 86400.0;
constexpr double kMinIntervalS = 1.0;
// Monte Carlo work bound: trials x expected interruptions per window.
constexpr double kMaxDrawnInterruptions = 2e7;

spec::FieldInfo SweepInfo() {
  spec::FieldInfo info;
  info.key = "sweep_gpus";
  info.flag = "sweep-gpus";
  info.kind = spec::ValueKind::kList;
  info.help = "GPU counts to evaluate the same job at (weak scaling: per-GPU throughput held)";
  info.allowed =
      fmt::format("0 to {} distinct integers from 1 to {}", kMaxGpuCounts, spec::kMaxRanks);
  return info;
}

Status SetSweep(GoodputOptions& o, const spec::RawValue& value) {
  static const spec::FieldInfo info = SweepInfo();
  Result<std::vector<int64_t>> gpus = ParseGpuCounts(value);
  if (!gpus.ok()) return spec::FieldError("goodput", info, value, gpus.status().message());
  o.sweep_gpus = *std::move(gpus);
  return Status::Ok();
}

// The interval in [lo, hi] that maximises E_u (unimodal in tau): a scan of ln tau, then golden
// sections around the best point of the scan.
double BestInterval(double lo, double hi, double delta, double restart, double w, double mtbf) {
  // ln E_u, which stays finite where E_u underflows (a restart of many MTBFs).
  auto e = [&](double log_tau) {
    double tau = std::exp(log_tau);
    return log_tau - std::log(mtbf) - (restart + w * tau / (tau + delta)) / mtbf -
           std::log(std::expm1((tau + delta) / mtbf));
  };
  double a = std::log(lo), b = std::log(std::max(hi, lo));
  if (b - a < 1e-12) return lo;
  constexpr int kScan = 256;
  int best = 0;
  double best_e = -std::numeric_limits<double>::infinity();
  for (int i = 0; i <= kScan; ++i) {
    double v = e(a + (b - a) * i / kScan);
    if (v > best_e) best_e = v, best = i;
  }
  double step = (b - a) / kScan;
  double x0 = a + std::max(0, best - 1) * step, x1 = a + std::min(kScan, best + 1) * step;
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double c = x1 - phi * (x1 - x0), d = x0 + phi * (x1 - x0);
  double ec = e(c), ed = e(d);
  for (int i = 0; i < 100 && x1 - x0 > 1e-12; ++i) {
    if (ec >= ed) {
      x1 = d, d = c, ed = ec;
      c = x1 - phi * (x1 - x0), ec = e(c);
    } else {
      x0 = c, c = d, ec = ed;
      d = x0 + phi * (x1 - x0), ed = e(d);
    }
  }
  return std::exp((x0 + x1) / 2);
}

struct Rates {
  double unplanned = 0, planned = 0;
};

Rates SumRates(const FailureModel& model, int64_t gpus, int64_t gpus_per_node, double scale) {
  Rates r;
  for (const FailureCause& c : model.causes) {
    double rate = scale * CauseRatePerS(model, c, gpus, gpus_per_node);
    (c.planned ? r.planned : r.unplanned) += rate;
  }
  return r;
}

// Effective time (planned stops included) for a restart of `restart_s` and the interval chosen
// or given.
struct Timing {
  double tau = 0, effective_unplanned = 0, effective = 0;
};

Timing TimeFor(double restart_s, double planned_cost_s, double lambda_p, double delta, double w,
               double mtbf, double given_tau, double lo) {
  Timing t;
  t.tau = given_tau > 0 ? given_tau
                        : BestInterval(lo, std::max(lo, 100 * mtbf), delta, restart_s, w, mtbf);
  t.effective_unplanned = EffectiveUnplanned(t.tau, delta, restart_s, w, mtbf);
  t.effective = t.effective_unplanned * std::max(0.0, 1 - lambda_p * planned_cost_s);
  return t;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t i = static_cast<size_t>(pos);
  if (i + 1 >= v.size()) return v.back();
  double f = pos - static_cast<double>(i);
  return v[i] * (1 - f) + v[i + 1] * f;
}

// x rounded up to `digits` significant digits: the least value that, printed so, is allowed.
double CeilSignificant(double x, int digits) {
  if (!(x > 0) || !std::isfinite(x)) return x;
  const double scale = std::pow(10.0, digits - 1 - static_cast<int>(std::floor(std::log10(x))));
  return std::ceil(x * scale * (1 - 1e-15)) / scale;
}

}  // namespace

Result<std::vector<int64_t>> ParseGpuCounts(const spec::RawValue& value) {
  if (value.quoted) return Status::Invalid("is quoted text, not counts");
  std::vector<std::string> items = value.is_list ? value.items : SplitAndTrim(value.text, ',');
  if (!value.is_list && value.text.empty()) items.clear();
  if (!value.is_list && !value.text.empty() && items.empty()) {
    return Status::Invalid("has separators and no GPU count");
  }
  if (items.size() > kMaxGpuCounts) return Status::Invalid("has too many items");
  if (!value.is_list && !items.empty() &&
      static_cast<size_t>(std::count(value.text.begin(), value.text.end(), ',')) + 1 !=
          items.size()) {
    return Status::Invalid("has an empty entry");
  }
  std::vector<int64_t> gpus;
  for (const std::string& item : items) {
    Result<int64_t> n = ParseInteger(item);
    if (!n.ok() || *n < 1 || *n > spec::kMaxRanks) {
      return Status::Invalid(fmt::format("has a bad GPU count '{}'", Printable(item, 64)));
    }
    if (std::find(gpus.begin(), gpus.end(), *n) != gpus.end()) {
      return Status::Invalid(fmt::format("lists {} twice", *n));
    }
    gpus.push_back(*n);
  }
  return gpus;
}

const spec::Schema<GoodputOptions>& GoodputOptionsSchema() {
  static const spec::Schema<GoodputOptions> schema = [] {
    using O = GoodputOptions;
    spec::Schema<O> s("goodput");
    s.Text("failures", &O::failures,
           "failure model: a preset (presets/failures: llama3-405b) or a YAML file; simulate "
           "takes none (no goodput section)")
        .Number("failure_scale", &O::failure_scale, 1e-6, 1e3, "",
                "multiplies every cause's rate (0.5 = a fleet half as failure-prone)")
        .Number("detect_s", &O::detect_s, 0, 1e6, "s",
                "time from a failure to the job noticing it (an assumption: watchdogs, health "
                "checks)")
        .Number("restart_s", &O::restart_s, 0, 1e6, "s",
                "time to reschedule, replace the bad host and re-initialise (the reload is "
                "added from the checkpoint size)")
        .OneOf("checkpoint", &O::checkpoint, {"sync", "async"},
               "sync: training waits for the write; async: for a copy to host memory, the write "
               "runs behind")
        .Number("checkpoint_interval_s", &O::checkpoint_interval_s, 0, 1e8, "s",
                "training time between checkpoints; 0 = the interval that maximises effective "
                "time")
        .NumberOrZero("checkpoint_bytes", &O::checkpoint_bytes, 1, 1e18, "bytes",
                      "what one checkpoint writes; 0 = the model's training state (14 bytes per "
                      "parameter)")
        .Number("storage_bytes_per_s", &O::storage_bytes_per_s, 1e6, 1e16, "bytes/s",
                "the storage system's sustained bandwidth (default: Llama 3's, 2 TB/s)")
        .Number("node_storage_bytes_per_s", &O::node_storage_bytes_per_s, 1e6, 1e14, "bytes/s",
                "one server's path to storage (an assumption: 200 Gb/s)")
        .Integer("gpus_per_node", &O::gpus_per_node, 0, 4096, "",
                 "GPUs per node (a server: what host, NIC and storage-path faults take down); 0 = "
                 "the cluster's first tier")
        .Number("host_copy_bytes_per_s", &O::host_copy_bytes_per_s, 1e6, 1e14, "bytes/s",
                "async: one GPU's copy of its local state to host memory (an assumption)")
        .Number("target_effective_pct", &O::target_effective_pct, 1e-3, 100, "%",
                "the effective time to reach; the report gives the restart time it allows")
        .Number("horizon_s", &O::horizon_s, 0, 3.2e9, "s",
                "Monte Carlo window; 0 = the failure model's window")
        .Integer("trials", &O::trials, 0, 100000, "", "Monte Carlo windows to draw (0: none)")
        .Unsigned("seed", &O::seed, "Monte Carlo seed")
        .NumberOrZero(
            "train_tokens", &O::train_tokens, 1, 1e18, "tokens",
            "tokens to train on (e.g. 15.6e12): the report adds the wall clock, the time in "
            "steps and the GPU time they take at this job's throughput and effective time; 0 "
            "= not asked");
    s.Custom(SweepInfo(), &SetSweep, [](const O& o) { return nlohmann::json(o.sweep_gpus); });
    return s;
  }();
  return schema;
}

const std::vector<std::string>& SectionKeys() {
  static const std::vector<std::string> keys = {"failures",
                                                "failure_scale",
                                                "detect_s",
                                                "restart_s",
                                                "checkpoint",
                                                "checkpoint_interval_s",
                                                "checkpoint_bytes",
                                                "storage_bytes_per_s",
                                                "node_storage_bytes_per_s",
                                                "host_copy_bytes_per_s",
                                                "gpus_per_node",
                                                "train_tokens"};
  return keys;
}

Status CheckSectionGiven(const GoodputOptions& options,
                         const std::function<bool(const std::string&)>& given,
                         const std::function<std::string(const std::string&)>& name) {
  if (options.failures != "none") return Status::Ok();
  for (const std::string& key : SectionKeys()) {
    if (key != "failures" && given(key)) {
      return Status::Invalid(fmt::format(
                                 "{} sets the goodput, which failures = none leaves out (allowed: "
                                 "a failure model with it, or neither)",
                                 name(key)))
          .WithKey("goodput." + key);
    }
  }
  return Status::Ok();
}

double EffectiveUnplanned(double tau_s, double delta_s, double restart_s, double durable_after_s,
                          double mtbf_s) {
  double rework_extra = durable_after_s * tau_s / (tau_s + delta_s);
  double denominator = mtbf_s * std::exp((restart_s + rework_extra) / mtbf_s) *
                       std::expm1((tau_s + delta_s) / mtbf_s);
  if (!(denominator > 0) || !std::isfinite(denominator)) return 0;
  return tau_s / denominator;
}

Result<GoodputPoint> Evaluate(const FailureModel& model, const GoodputJob& job,
                              const GoodputOptions& o) {
  SP_RETURN_IF_ERROR(GoodputOptionsSchema().CheckValues(o));
  if (job.gpus < 1 || job.gpus_per_node < 1 || !(job.checkpoint_bytes > 0) ||
      !std::isfinite(job.checkpoint_bytes) || !(job.tokens_per_s_per_gpu >= 0) ||
      !std::isfinite(job.tokens_per_s_per_gpu)) {
    return Status::Invalid(fmt::format(
        "goodput: job of {} GPUs, {} per server, {} checkpoint bytes, {} tokens/s/GPU (allowed: "
        "at least one GPU and server, a positive checkpoint, a finite throughput)",
        job.gpus, job.gpus_per_node, job.checkpoint_bytes, job.tokens_per_s_per_gpu));
  }
  const bool async = o.checkpoint == "async";
  GoodputPoint p;
  p.gpus = job.gpus;
  p.nodes = std::ceil(static_cast<double>(job.gpus) / static_cast<double>(job.gpus_per_node));
  Rates rates = SumRates(model, job.gpus, job.gpus_per_node, o.failure_scale);
  p.failures_per_day = rates.unplanned * kSecondsPerDay;
  p.planned_per_day = rates.planned * kSecondsPerDay;
  p.mtbf_s = 1 / rates.unplanned;
  if (!(rates.unplanned > 0) || !std::isfinite(p.mtbf_s) || !std::isfinite(rates.planned)) {
    return Status::Invalid(fmt::format(
        "goodput.failures: model {} gives this job of {} GPUs an unplanned failure rate of {:g} "
        "per second (allowed: a positive rate whose inverse, the mean time between failures, is "
        "finite; raise the counts or failure_scale)",
        Printable(model.name, 64), job.gpus, rates.unplanned));
  }
  p.storage_bytes_per_s = std::min(o.storage_bytes_per_s, p.nodes * o.node_storage_bytes_per_s);
  p.write_s = job.checkpoint_bytes / p.storage_bytes_per_s;
  p.reload_s = p.write_s;
  // Asynchronous: each GPU stages its whole local state (replicated weights included) in host
  // memory before the deduplicated write.
  double local = job.local_state_bytes > 0 ? job.local_state_bytes
                                           : job.checkpoint_bytes / static_cast<double>(job.gpus);
  p.blocking_s = async ? local / o.host_copy_bytes_per_s : p.write_s;
  p.durable_after_s = async ? p.write_s : 0;
  p.restart_total_s = o.detect_s + o.restart_s + p.reload_s;
  const double planned_cost = p.write_s + o.restart_s + p.reload_s;
  const double delta = p.blocking_s, w = p.durable_after_s, m = p.mtbf_s;
  // The next asynchronous checkpoint is taken once the last one is durable, and checkpoints fall
  // between training steps.
  const double least = std::max({kMinIntervalS, w, job.step_time_s});
  p.least_interval_what =
      least == kMinIntervalS ? std::string("1 s")
      : least == w
          ? fmt::format("an asynchronous checkpoint's write on {} GPUs ({:g} s)", job.gpus, w)
          : fmt::format("one training step of {:.4g} s", job.step_time_s);
  if (o.checkpoint_interval_s > 0 && o.checkpoint_interval_s < least) {
    return Status::Invalid(fmt::format(
        "goodput.checkpoint_interval_s = {:g} is shorter than {} (allowed: 0 for the best "
        "interval, or at least {:.6g} s)",
        o.checkpoint_interval_s,
        least == job.step_time_s && least != w && least != kMinIntervalS
            ? fmt::format("one training step of {:.6g} s", least)
            : p.least_interval_what,
        CeilSignificant(least, 6)));
  }
  p.interval_chosen = o.checkpoint_interval_s <= 0;
  Timing t = TimeFor(p.restart_total_s, planned_cost, rates.planned, delta, w, m,
                     o.checkpoint_interval_s, least);
  p.interval_s = t.tau;
  p.least_interval_s = least;
  p.interval_at_least = p.interval_chosen && t.tau <= p.least_interval_s * (1 + 1e-9);
  p.effective = t.effective;
  p.young_s = std::sqrt(2 * delta * m);
  p.daly_s = delta < 2 * m
                 ? p.young_s * (1 + std::sqrt(delta / (2 * m)) / 3 + delta / (18 * m)) - delta
                 : m;
  p.tokens_per_day =
      p.effective * job.tokens_per_s_per_gpu * static_cast<double>(job.gpus) * kSecondsPerDay;
  p.train_tokens = o.train_tokens;
  if (o.train_tokens > 0 && p.tokens_per_day > 0) {
    const double step = static_cast<double>(job.tokens_per_step);
    const double tokens = step > 0 ? std::ceil(o.train_tokens / step) * step : o.train_tokens;
    p.train_time_s = tokens / p.tokens_per_day * kSecondsPerDay;
    p.train_step_time_s = p.train_time_s * p.effective;
    p.train_gpu_time_s = p.train_time_s * static_cast<double>(job.gpus);
    p.train_finishes = std::isfinite(p.train_gpu_time_s);
    if (!p.train_finishes) p.train_time_s = p.train_step_time_s = p.train_gpu_time_s = 0;
  }
  // First-order shares of the lost time, scaled to add up to 1 - E.
  const double tau = p.interval_s, lambda = rates.unplanned;
  LostTime raw;
  raw.checkpoint = delta / (tau + delta);
  raw.rework = lambda * ((tau + delta) / 2 + w * tau / (tau + delta));
  raw.detect = lambda * o.detect_s;
  raw.restart = lambda * o.restart_s;
  raw.reload = lambda * p.reload_s;
  raw.planned = rates.planned * planned_cost;
  double sum = raw.checkpoint + raw.rework + raw.detect + raw.restart + raw.reload + raw.planned;
  double scale = sum > 0 ? (1 - p.effective) / sum : 0;
  p.lost = {raw.checkpoint * scale, raw.rework * scale, raw.detect * scale,
            raw.restart * scale,    raw.reload * scale, raw.planned * scale};
  // The detect + restart budget for the target, the two in their given proportion (E falls as
  // they grow; a planned stop pays the restart share).
  const double target = o.target_effective_pct / 100;
  const double restart_share =
      o.detect_s + o.restart_s > 0 ? o.restart_s / (o.detect_s + o.restart_s) : 0.5;
  auto effective_at = [&](double detect_restart) {
    return TimeFor(detect_restart + p.reload_s,
                   p.write_s + restart_share * detect_restart + p.reload_s, rates.planned, delta, w,
                   m, o.checkpoint_interval_s, least)
        .effective;
  };
  p.target_reachable = effective_at(0) >= target;
  if (p.target_reachable) {
    // The options' own bound on detect_s + restart_s.
    constexpr double kMaxBudgetS = 2e6;
    if (effective_at(kMaxBudgetS) >= target) {
      p.detect_restart_unbounded = true;
      p.max_detect_restart_s = kMaxBudgetS;
      return p;
    }
    double lo = 0, hi = 60;
    while (effective_at(hi) >= target) lo = hi, hi *= 2;
    for (int i = 0; i < 60; ++i) {
      double mid = (lo + hi) / 2;
      (effective_at(mid) >= target ? lo : hi) = mid;
    }
    p.max_detect_restart_s = lo;
  }
  return p;
}

MonteCarlo Simulate(const FailureModel& model, const GoodputJob& job, const GoodputOptions& o,
                    const GoodputPoint& point) {
  MonteCarlo mc;
  mc.trials = o.trials;
  mc.horizon_s = o.horizon_s > 0 ? o.horizon_s : model.window_s;
  if (o.trials <= 0) return mc;
  Rates rates = SumRates(model, job.gpus, job.gpus_per_node, o.failure_scale);
  const double tau = point.interval_s, seg = point.interval_s + point.blocking_s;
  const double w = point.durable_after_s, h = mc.horizon_s;
  const double restart = point.restart_total_s;
  const double planned_cost = point.write_s + o.restart_s + point.reload_s;
  std::mt19937_64 rng(o.seed);
  auto draw = [&](double rate) {
    if (rate <= 0) return std::numeric_limits<double>::infinity();
    return std::exponential_distribution<double>(rate)(rng);
  };
  std::vector<double> effective, interruptions;
  for (int64_t trial = 0; trial < o.trials; ++trial) {
    double t = 0, useful = 0;
    int64_t n = 0;
    double next_planned = draw(rates.planned);
    while (t < h) {
      double failure = t + draw(rates.unplanned);
      if (next_planned < t) next_planned = t;
      if (std::min(failure, next_planned) >= h) {
        // The window ends with the job running: its work since the last checkpoint counts.
        double run = h - t;
        double k = std::floor(run / seg);
        useful += k * tau + std::min(run - k * seg, tau);
        break;
      }
      ++n;
      if (next_planned < failure) {
        // Announced: the work since the last checkpoint is saved, then the job restarts.
        double run = next_planned - t;
        double k = std::floor(run / seg);
        useful += k * tau + std::min(run - k * seg, tau);
        t = next_planned + planned_cost;
        next_planned += draw(rates.planned);
        continue;
      }
      double run = failure - t;
      double k = std::floor(run / seg);
      useful += k * tau;
      // An asynchronous checkpoint not yet durable (w after its copy) is lost with the interval
      // it saved; the state loaded at the last restart is durable.
      if (w > 0 && k >= 1 && run - k * seg < w) useful -= tau;
      t = failure;
      // Detect, restart and reload; a failure meanwhile starts them again.
      while (t < h) {
        double again = draw(rates.unplanned);
        if (again >= restart) {
          t += restart;
          break;
        }
        t += again;
        ++n;
      }
    }
    effective.push_back(useful / h);
    interruptions.push_back(static_cast<double>(n));
  }
  double mean = 0, sq = 0, count_mean = 0;
  for (double e : effective) mean += e;
  mean /= static_cast<double>(effective.size());
  for (double e : effective) sq += (e - mean) * (e - mean);
  for (double c : interruptions) count_mean += c;
  mc.effective_mean = mean;
  mc.effective_stderr = effective.size() > 1
                            ? std::sqrt(sq / static_cast<double>(effective.size() - 1) /
                                        static_cast<double>(effective.size()))
                            : 0;
  mc.effective_p5 = Percentile(effective, 0.05);
  mc.effective_p95 = Percentile(effective, 0.95);
  mc.interruptions_mean = count_mean / static_cast<double>(interruptions.size());
  mc.interruptions_p5 = Percentile(interruptions, 0.05);
  mc.interruptions_p95 = Percentile(interruptions, 0.95);
  return mc;
}

Result<GoodputStudy> RunGoodput(const plan::Plan& plan, const sim::StepResult& step,
                                const GoodputOptions& options) {
  GoodputStudy study;
  study.options = options;
  if (options.failures == "none") {
    return Status::Invalid(
        "goodput.failures = none (allowed: a failure model, a preset such as llama3-405b or a "
        "YAML file)");
  }
  {
    Result<FailureModel> model = LoadFailureModel(options.failures);
    if (!model.ok()) return model.status().WithContext("goodput.failures");
    study.model = *std::move(model);
  }
  study.params = model::CountParams(plan.model()).total;
  if (const int64_t rank = plan.job.workload.lora_rank; rank > 0) {
    // The adapters of the whole model: a layer's trained parameters unsharded (dense models only;
    // spec::ValidateSequence refuses LoRA on MoE).
    model::ShardShape whole;
    whole.lora_rank = rank;
    double adapters = 0;
    for (const model::Op& op : model::LayerOps(plan.model(), false, whole))
      adapters += op.frozen ? 0.0 : op.params;
    study.params = adapters * static_cast<double>(plan.model().layers);
    study.lora_adapters = true;
  }
  plan::BytesPerParam state = plan::ParamBytes(spec::ZeroMode::kZero0, 1, spec::Precision::kBf16);
  study.job.gpus = plan.gpus;
  const std::vector<spec::TierSpec>& tiers = plan.job.cluster.tiers;
  study.job.gpus_per_node = options.gpus_per_node > 0 ? options.gpus_per_node
                            : tiers.empty()           ? int64_t{1}
                                                      : tiers.front().gpus;
  // Nodes of goodput.gpus_per_node hold the job whole (or part of one node): otherwise its node
  // count, and so its per-node failures, are no job's. (On the cluster's own nodes a job of 12
  // GPUs on nodes of 8 takes two, as it would run.) A sweep's sizes are jobs this plan can run:
  // whole model-parallel replicas, on whole nodes when gpus_per_node is given. A sweep the user
  // gave is refused where a size is not; the default sweep rounds such sizes down (below).
  const int64_t replica = plan.job.plan.tp * plan.job.plan.cp * plan.job.plan.pp;
  auto whole = [&](int64_t gpus, std::string_view what) -> Status {
    if (options.gpus_per_node > 0 && gpus > options.gpus_per_node &&
        gpus % options.gpus_per_node != 0) {
      return Status::Invalid(fmt::format(
          "{} = {} is not whole nodes of goodput.gpus_per_node = {} (allowed: part of one node, "
          "or a multiple of {})",
          what, gpus, options.gpus_per_node, options.gpus_per_node));
    }
    if (what != "job.gpus" && gpus % replica != 0) {
      return Status::Invalid(fmt::format(
          "goodput.sweep_gpus = {} is not whole replicas of tp * cp * pp = {} GPUs (allowed: "
          "multiples of {})",
          gpus, replica, replica));
    }
    return Status::Ok();
  };
  SP_RETURN_IF_ERROR(whole(plan.gpus, "job.gpus"));
  // The default sweep's sizes a plan cannot run are rounded down to whole replicas (on whole
  // nodes when gpus_per_node is given): SC21's replicas of 96 GPUs take 960 for 1,024.
  const bool default_sweep = options.sweep_gpus == GoodputOptions{}.sweep_gpus;
  const int64_t unit =
      options.gpus_per_node > 0 ? std::lcm(replica, options.gpus_per_node) : replica;
  std::vector<int64_t> sweep_sizes;
  for (int64_t gpus : options.sweep_gpus) {
    Status runs = whole(gpus, "goodput.sweep_gpus");
    if (runs.ok()) {
      sweep_sizes.push_back(gpus);
    } else if (!default_sweep) {
      return runs;
    } else if (const int64_t down = gpus / unit * unit;
               down > 0 &&
               std::find(sweep_sizes.begin(), sweep_sizes.end(), down) == sweep_sizes.end()) {
      sweep_sizes.push_back(down);
      study.sweep_rounded_from.emplace_back(down, gpus);
    }
  }
  // What one GPU stages for an asynchronous checkpoint: its weights and optimizer state (the
  // stage that holds the most).
  const plan::MemoryReport memory = plan::ComputeMemory(plan);
  study.fits = memory.fits;
  study.memory_verdict = plan::Verdict(memory);
  for (const plan::StageMemory& s : memory.stages) {
    study.job.local_state_bytes =
        std::max(study.job.local_state_bytes, s.weights_bytes + s.optimizer_bytes);
  }
  study.job.checkpoint_bytes = options.checkpoint_bytes > 0
                                   ? options.checkpoint_bytes
                                   : study.params * (state.weights + state.optimizer);
  study.job.tokens_per_s_per_gpu = step.tokens_per_s_per_gpu;
  study.step_time_s = step.step_time_s;
  study.job.tokens_per_step = plan.TokensPerStep();
  study.job.step_time_s = step.step_time_s;
  if (options.train_tokens > 0) {
    // At most 1e18 / 1 token: an int64.
    study.train_steps = static_cast<int64_t>(
        std::ceil(options.train_tokens / static_cast<double>(plan.TokensPerStep())));
  }
  SP_ASSIGN_OR_RETURN(study.point, Evaluate(study.model, study.job, options));
  for (const FailureCause& c : study.model.causes) {
    study.causes.push_back(
        {c.name, c.category, c.per, c.planned,
         options.failure_scale *
             CauseRatePerS(study.model, c, study.job.gpus, study.job.gpus_per_node) *
             kSecondsPerDay});
  }
  if (options.trials > 0) {
    double horizon = options.horizon_s > 0 ? options.horizon_s : study.model.window_s;
    // A window shorter than one checkpoint interval and its write ends inside the first interval
    // of every draw: it says nothing of losses (its partial interval counts as work done).
    const double segment = study.point.interval_s + study.point.blocking_s;
    if (horizon < segment) {
      return Status::Invalid(fmt::format(
          "goodput.horizon_s = {:.4g} s{} is shorter than one checkpoint interval and its write, "
          "{:.4g} s (allowed: a Monte Carlo window of at least one interval: a longer horizon_s, "
          "a shorter checkpoint_interval_s, or trials = 0)",
          horizon, options.horizon_s > 0 ? "" : " (the failure model's window)", segment));
    }
    double expected = (study.point.failures_per_day + study.point.planned_per_day) /
                      kSecondsPerDay * horizon * static_cast<double>(options.trials);
    if (expected > kMaxDrawnInterruptions) {
      return Status::Invalid(fmt::format(
          "goodput.trials = {} draws about {:.3g} interruptions over {:.4g} s windows (allowed: "
          "trials x interruptions per window up to {:.0e}; fewer trials or a shorter horizon_s)",
          options.trials, expected, horizon, kMaxDrawnInterruptions));
    }
    study.monte_carlo = Simulate(study.model, study.job, options, study.point);
  }
  // Each sweep row takes its own best interval (the job's, when given, may not suit another size).
  GoodputOptions sweep_options = options;
  sweep_options.checkpoint_interval_s = 0;
  for (int64_t gpus : sweep_sizes) {
    GoodputJob scaled = study.job;
    scaled.gpus = gpus;
    SP_ASSIGN_OR_RETURN(GoodputPoint point, Evaluate(study.model, scaled, sweep_options));
    study.sweep.push_back(point);
  }
  return study;
}

}  // namespace scaleplan::goodput
