#include "search/space.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/text.h"

namespace scaleplan::search {

const char* DimensionName(int d) {
  const char* name = "?";
  ForEachDimension([&](int dimension, const char* key, auto, auto) {
    if (dimension == d) name = key;
  });
  return name;
}

size_t SearchSpace::Count(int d) const {
  size_t count = 0;
  ForEachDimension([&](int dimension, const char*, auto values, auto) {
    if (dimension == d) count = (this->*values).size();
  });
  return count;
}

double SearchSpace::Size() const {
  double size = 1;
  for (int d = 0; d < kDimensions; ++d) size *= static_cast<double>(Count(d));
  return size;
}

SearchSpace DefaultSpace(const spec::JobSpec& job) {
  const spec::ModelSpec& m = job.model;
  SearchSpace s;
  int64_t heads_gcd = std::gcd(m.heads, m.EffectiveKvHeads());
  s.tp = Divisors(heads_gcd);
  for (int64_t cp = 1; cp <= 64; cp *= 2) {
    if (cp == 1 || job.workload.seq_len % (2 * cp) == 0) s.cp.push_back(cp);
  }
  std::vector<int64_t> pp = Divisors(m.layers);
  for (int64_t d : Divisors(m.layers + 2)) {
    if (d >= 2 && std::find(pp.begin(), pp.end(), d) == pp.end()) pp.push_back(d);
  }
  // A job that lets layers split unevenly also tries the powers of two up to the layer count.
  for (int64_t d = 2; job.plan.uneven_layers && d <= m.layers; d *= 2) {
    if (std::find(pp.begin(), pp.end(), d) == pp.end()) pp.push_back(d);
  }
  std::sort(pp.begin(), pp.end());
  s.pp = pp;
  s.vp = {1, 2, 4, 8};
  s.micro_batch = {1, 2, 4, 8};
  s.ep = m.IsMoe() ? Divisors(m.experts) : std::vector<int64_t>{1};
  s.zero = {spec::ZeroMode::kZero0, spec::ZeroMode::kZero1, spec::ZeroMode::kZero2,
            spec::ZeroMode::kZero3, spec::ZeroMode::kFsdp};
  s.recompute = {spec::Recompute::kNone, spec::Recompute::kSelective, spec::Recompute::kFull};
  s.cp_algorithm = {spec::CpAlgorithm::kAllGather, spec::CpAlgorithm::kRing};
  using spec::Dim;
  s.placement = {
      {Dim::kTp, Dim::kCp, Dim::kPp, Dim::kDp}, {Dim::kTp, Dim::kCp, Dim::kDp, Dim::kPp},
      {Dim::kTp, Dim::kPp, Dim::kCp, Dim::kDp}, {Dim::kTp, Dim::kPp, Dim::kDp, Dim::kCp},
      {Dim::kTp, Dim::kDp, Dim::kCp, Dim::kPp}, {Dim::kTp, Dim::kDp, Dim::kPp, Dim::kCp}};
  s.schedule = {spec::Schedule::k1F1B, spec::Schedule::kZbH1, spec::Schedule::kInterleaved,
                spec::Schedule::kLlama3};
  s.trim_edge_stages = {false, true};
  s.dp_replicate = {1};
  s.grad_sync = {spec::GradSync::kStep};
  s.grad_reduce_dtype = {job.plan.grad_reduce_dtype};  // the framework's or the job's
  return s;
}

bool IsDimension(std::string_view key) {
  for (int d = 0; d < kDimensions; ++d) {
    if (key == DimensionName(d)) return true;
  }
  return false;
}

bool IsDerived(std::string_view key) {
  return key == "dp" || key == "etp" || key == "microbatches" || key == "pp_microbatch_group";
}

std::vector<nlohmann::json> KeyValues(const spec::JobSpec& base, const SearchSpace& space,
                                      std::string_view key) {
  const spec::Field<spec::PlanSpec>* field = spec::PlanSchema().Find(key);
  if (field == nullptr || field->get == nullptr || key == "pp_microbatch_group") return {};
  std::vector<nlohmann::json> out;
  if (key == "etp") {
    if (base.plan.etp > 0) return {nlohmann::json(base.plan.etp)};
    std::set<int64_t> values(space.tp.begin(), space.tp.end());
    if (base.model.IsMoe()) values.insert(1);  // a search that derives expert TP also tries 1
    for (int64_t v : values) out.emplace_back(v);
    return out;
  }
  if (key == "dp" || key == "microbatches") {
    const int64_t gpus = base.gpus > 0 ? base.gpus : base.cluster.CapacityGpus();
    const int64_t sequences = base.workload.global_batch > 0
                                  ? base.workload.global_batch
                                  : (base.workload.seq_len > 0
                                         ? base.workload.batch_tokens / base.workload.seq_len
                                         : 0);
    std::set<int64_t> values;
    for (int64_t tp : space.tp) {
      for (int64_t cp : space.cp) {
        for (int64_t pp : space.pp) {
          // tp x cp x pp checked against gpus factor by factor, so the product cannot wrap.
          if (tp > gpus || cp > gpus / tp || pp > gpus / (tp * cp)) continue;
          const int64_t model = tp * cp * pp;
          if (gpus % model != 0) continue;
          const int64_t dp = gpus / model;
          if (key == "dp") {
            values.insert(dp);
            continue;
          }
          for (int64_t mb : space.micro_batch) {
            if (mb <= sequences && sequences % (dp * mb) == 0) values.insert(sequences / (dp * mb));
          }
        }
      }
    }
    for (int64_t v : values) out.emplace_back(v);
    return out;
  }
  if (!IsDimension(key)) {
    out.push_back(field->get(base.plan));
    return out;
  }
  ForEachDimension([&](int, const char* name, auto values, auto member) {
    if (key != name) return;
    for (const auto& v : space.*values) {
      spec::PlanSpec p = base.plan;
      p.*member = v;
      out.push_back(field->get(p));
    }
  });
  return out;
}

Result<PinnedSearch> ApplyPins(const spec::JobSpec& job, const std::vector<Pin>& pins) {
  PinnedSearch out;
  out.job = job;
  if (out.job.gpus == 0) out.job.gpus = out.job.cluster.CapacityGpus();
  out.start = out.job;
  const spec::Schema<spec::PlanSpec>& schema = spec::PlanSchema();
  // Fixed fields first: they apply to every candidate, and the space depends on some of them
  // (plan.uneven_layers adds pipeline sizes).
  for (const Pin& pin : pins) {
    if (IsDerived(pin.key)) {
      return Status::Invalid(fmt::format(
                                 "{}: plan.{} is derived by the search (allowed: pin --tp, --cp, "
                                 "--pp, --vp, --micro-batch, --ep instead)",
                                 pin.origin, pin.key))
          .WithKey("plan." + pin.key);
    }
    if (IsDimension(pin.key)) continue;
    spec::RawValue value = spec::ScalarValue(pin.value, pin.origin);
    SP_RETURN_IF_ERROR(schema.Set(out.job.plan, pin.key, value));
    SP_RETURN_IF_ERROR(schema.Set(out.start.plan, pin.key, value));
  }
  out.space = DefaultSpace(out.job);
  for (const Pin& pin : pins) {
    if (!IsDimension(pin.key)) continue;
    spec::RawValue value = spec::ScalarValue(pin.value, pin.origin);
    SP_RETURN_IF_ERROR(Restrict(out.space, pin.key, pin.value, pin.origin));
    // A single value also moves the starting plan there (a placement is itself a list).
    if (pin.value.find(',') == std::string::npos || pin.key == "placement") {
      SP_RETURN_IF_ERROR(schema.Set(out.start.plan, pin.key, value));
    }
  }
  return out;
}

Status Restrict(SearchSpace& space, const std::string& key, const std::string& values,
                const std::string& origin) {
  const spec::Schema<spec::PlanSpec>& schema = spec::PlanSchema();
  std::vector<spec::PlanSpec> parsed;
  // A placement is itself a comma list: one placement per flag.
  std::vector<std::string> items =
      key == "placement" ? std::vector<std::string>{values} : SplitAndTrim(values, ',');
  if (items.empty()) {
    return Status::Invalid(fmt::format("{}: plan.{} = \"\" names no value", origin, key));
  }
  if (key != "placement" &&
      items.size() != static_cast<size_t>(std::count(values.begin(), values.end(), ',')) + 1) {
    // SplitAndTrim drops empty items: ",8" or "1,,2" would search what was not meant.
    return Status::Invalid(fmt::format(
        "{}: plan.{} = \"{}\" has an empty entry (allowed: a comma-separated list of values)",
        origin, key, Printable(values, 60)));
  }
  for (const std::string& item : items) {
    spec::PlanSpec p;
    SP_RETURN_IF_ERROR(schema.Set(p, key, spec::ScalarValue(item, origin)));
    parsed.push_back(p);
  }
  bool found = false;
  std::string duplicate;  // the first item naming a value an earlier item named
  ForEachDimension([&](int, const char* name, auto member, auto field) {
    if (key != name) return;
    found = true;
    auto& list = space.*member;
    std::decay_t<decltype(list)> kept;
    for (size_t i = 0; i < parsed.size(); ++i) {
      auto v = parsed[i].*field;
      if (std::find(kept.begin(), kept.end(), v) == kept.end()) {
        kept.push_back(v);
      } else if (duplicate.empty()) {
        duplicate = items[i];
      }
    }
    list = kept;
  });
  if (!duplicate.empty()) {
    return Status::Invalid(fmt::format("{}: plan.{} = \"{}\" lists {} twice (allowed: each value "
                                       "once)",
                                       origin, key, Printable(values, 60),
                                       Printable(duplicate, 40)))
        .WithKey("plan." + key);
  }
  if (!found) {
    std::vector<std::string> names;
    for (int d = 0; d < kDimensions; ++d) names.emplace_back(DimensionName(d));
    return Status::Invalid(fmt::format("{}: plan.{} is not a search dimension (allowed: {}; other "
                                       "plan fields are fixed at their value)",
                                       origin, key, Join(names, ", ")))
        .WithKey("plan." + key);
  }
  return Status::Ok();
}

spec::JobSpec Decode(const spec::JobSpec& base, const SearchSpace& s, const Candidate& c) {
  spec::JobSpec job = base;
  spec::PlanSpec& p = job.plan;
  ForEachDimension([&](int d, const char*, auto values, auto field) {
    p.*field = (s.*values)[c[static_cast<size_t>(d)]];
  });
  p.dp = 0;
  p.microbatches = 0;
  p.etp = 0;
  p.pp_microbatch_group = 0;
  // A job's recompute_layers applies to the candidates that recompute fully.
  if (p.recompute != spec::Recompute::kFull) p.recompute_layers = 0;
  return job;
}

std::string Describe(const spec::PlanSpec& p, int64_t dp) {
  std::vector<std::string> order;
  for (spec::Dim d : p.placement) order.emplace_back(spec::DimName(d));
  std::string text = fmt::format("TP {} CP {} PP {} VP {} DP {}", p.tp, p.cp, p.pp, p.vp, dp);
  if (p.ep > 1) text += fmt::format(" EP {}", p.ep);
  if (p.etp > 0 && p.etp != p.tp) text += fmt::format(" ETP {}", p.etp);
  text += fmt::format(" mb {} {} zero {} rc {}", p.micro_batch, spec::ScheduleName(p.schedule),
                      spec::ZeroModeName(p.zero), spec::RecomputeText(p));
  if (p.cp > 1) text += p.cp_algorithm == spec::CpAlgorithm::kRing ? " cp-ring" : " cp-allgather";
  if (p.trim_edge_stages) text += " trim";
  if (p.dp_replicate > 1) text += fmt::format(" hsdp {}", p.dp_replicate);
  if (p.grad_sync == spec::GradSync::kDelayed) text += " delayed-sync";
  if (p.grad_reduce_dtype == spec::GradReduceDtype::kBf16) text += " bf16-grads";
  text += " [" + Join(order, ",") + "]";
  return text;
}

}  // namespace scaleplan::search
