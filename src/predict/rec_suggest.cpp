#include "predict/rec_suggest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/text.h"
#include "recsys/study.h"
#include "validate/job_log.h"
#include "validate/training_rows.h"

namespace scaleplan::predict {

namespace {

const char* const kLogKeys[] = {
    "model",  "cluster", "gpus", "global_batch", "plan", "status", "samples_per_s_per_gpu",
    "source", "time"};

std::string Shown(const nlohmann::json& v) { return Printable(v.dump(), 60); }

// An integer key within [lo, hi].
Result<int64_t> IntegerIn(const nlohmann::json& line, const char* key, int64_t lo, int64_t hi,
                          const std::string& where) {
  const nlohmann::json& v = line.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Status::Invalid(fmt::format("{}: {} = {} (allowed: an integer from {} to {})", where,
                                       key, Shown(v), lo, hi))
        .WithKey(key);
  }
  return v.get<int64_t>();
}

Result<std::string> TextOf(const nlohmann::json& line, const char* key, const std::string& where) {
  const nlohmann::json& v = line.at(key);
  if (!v.is_string() || v.get<std::string>().empty()) {
    return Status::Invalid(
               fmt::format("{}: {} = {} (allowed: a non-empty text)", where, key, Shown(v)))
        .WithKey(key);
  }
  return v.get<std::string>();
}

// The knobs of `plan` (a map of the space's knobs); a knob left out takes its first value,
// embedding_dtype the model's own.
Result<RecKnobs> KnobsOf(const nlohmann::json& plan, const spec::RecJobSpec& job,
                         const std::string& where) {
  const auto& dims = RecSpaceDims();
  RecKnobs k{};
  k[1] = job.model.embedding_dtype == spec::EmbeddingDtype::kFp16 ? 1 : 0;
  if (!plan.is_object()) {
    return Status::Invalid(fmt::format("{}: plan = {} (allowed: a map of the space's knobs, e.g. "
                                       "{{\"planner\": \"hugectr\"}})",
                                       where, Shown(plan)))
        .WithKey("plan");
  }
  std::vector<std::string> names;
  for (const auto& d : dims) names.push_back(d.first);
  for (const auto& [key, value] : plan.items()) {
    auto dim = std::find(names.begin(), names.end(), key);
    if (dim == names.end()) {
      return Status::Invalid(fmt::format("{}: plan.{} is not a knob of the ranking space "
                                         "(allowed: {})",
                                         where, Printable(key, 40), Join(names, ", ")))
          .WithKey("plan." + key);
    }
    const size_t d = static_cast<size_t>(dim - names.begin());
    const std::string text = value.is_string()    ? value.get<std::string>()
                             : value.is_boolean() ? (value.get<bool>() ? "true" : "false")
                                                  : std::string();
    const auto& values = dims[d].second;
    auto v = std::find(values.begin(), values.end(), text);
    if (v == values.end()) {
      return Status::Invalid(fmt::format("{}: plan.{} = {} (allowed: {})", where, key, Shown(value),
                                         Join(values, ", ")))
          .WithKey("plan." + key);
    }
    k[d] = static_cast<uint32_t>(v - values.begin());
  }
  return k;
}

// The base jobs of a log, loaded once each.
using JobKey = std::tuple<std::string, std::string, int64_t, int64_t>;

Result<RecLoggedJob> ParseLine(std::string_view text, const std::string& where,
                               std::map<JobKey, spec::RecJobSpec>& loaded) {
  nlohmann::json line = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (line.is_discarded() || !line.is_object()) {
    return Status::Invalid(fmt::format(
        "{}: not a JSON object (allowed: one finished ranking job a line, e.g. {{\"model\": "
        "\"mlperf-dlrm-dcnv2\", \"cluster\": \"dgx-h100-ib\", \"gpus\": 8, \"plan\": {{...}}, "
        "\"samples_per_s_per_gpu\": 1.6e6}})",
        where));
  }
  for (const auto& [key, value] : line.items()) {
    if (std::find(std::begin(kLogKeys), std::end(kLogKeys), key) == std::end(kLogKeys)) {
      return Status::Invalid(
                 fmt::format(
                     "{}: unknown key '{}' (allowed: {})", where, Printable(key, 40),
                     Join(std::vector<std::string>(std::begin(kLogKeys), std::end(kLogKeys)),
                          ", ")))
          .WithKey(key);
    }
  }
  for (const char* key : {"model", "cluster", "gpus"}) {
    if (!line.contains(key)) {
      return Status::Invalid(fmt::format("{}: {} is missing (allowed: a ranking job names its "
                                         "model, cluster and gpus)",
                                         where, key))
          .WithKey(key);
    }
  }
  RecLoggedJob out;
  out.where = where;
  SP_ASSIGN_OR_RETURN(std::string model, TextOf(line, "model", where));
  SP_ASSIGN_OR_RETURN(std::string cluster, TextOf(line, "cluster", where));
  SP_ASSIGN_OR_RETURN(int64_t gpus, IntegerIn(line, "gpus", 1, kMaxRecLogGpus, where));
  int64_t batch = spec::RecJobSpec{}.global_batch;
  if (line.contains("global_batch")) {
    SP_ASSIGN_OR_RETURN(batch, IntegerIn(line, "global_batch", 1, kMaxRecLogBatch, where));
  }
  const JobKey key{model, cluster, gpus, batch};
  auto it = loaded.find(key);
  if (it == loaded.end()) {
    recsys::RecSource source;
    source.model = model;
    source.cluster = cluster;
    source.gpus = gpus;
    spec::RecJobSpec keys;
    keys.global_batch = batch;
    Result<spec::RecJobSpec> job = recsys::LoadRecJob(source, keys);
    if (!job.ok()) return Status::Invalid(where + ": " + job.status().message());
    it = loaded.emplace(key, *job).first;
  }
  out.job = it->second;
  SP_ASSIGN_OR_RETURN(
      out.knobs,
      KnobsOf(line.contains("plan") ? line["plan"] : nlohmann::json::object(), out.job, where));
  if (line.contains("status")) {
    SP_ASSIGN_OR_RETURN(out.status, TextOf(line, "status", where));
    if (std::find(std::begin(validate::kJobStatuses), std::end(validate::kJobStatuses),
                  out.status) == std::end(validate::kJobStatuses)) {
      return Status::Invalid(fmt::format("{}: status = {} (allowed: ok, oom, failed, timeout)",
                                         where, Shown(line["status"])))
          .WithKey("status");
    }
  }
  const bool measured = line.contains("samples_per_s_per_gpu");
  if (out.status == "ok") {
    const nlohmann::json& v = measured ? line["samples_per_s_per_gpu"] : nlohmann::json();
    if (!v.is_number() || !(v.get<double>() >= kMinRecMeasured) ||
        !(v.get<double>() <= validate::kMaxMeasured)) {
      return Status::Invalid(fmt::format("{}: samples_per_s_per_gpu = {} (allowed: a job with "
                                         "status ok gives a number from {:g} to {:g})",
                                         where, measured ? Shown(v) : "(missing)", kMinRecMeasured,
                                         validate::kMaxMeasured))
          .WithKey("samples_per_s_per_gpu");
    }
    out.samples_per_s_per_gpu = v.get<double>();
  } else if (measured) {
    return Status::Invalid(fmt::format("{}: samples_per_s_per_gpu given for a job with status {} "
                                       "(allowed: a measurement only for status ok)",
                                       where, out.status))
        .WithKey("samples_per_s_per_gpu");
  }
  if (line.contains("source")) {
    SP_ASSIGN_OR_RETURN(out.source, TextOf(line, "source", where));
  }
  if (line.contains("time")) SP_RETURN_IF_ERROR(TextOf(line, "time", where).status());
  return out;
}

bool SameJob(const spec::RecJobSpec& a, const spec::RecJobSpec& b) {
  return a.model.name == b.model.name && a.cluster.name == b.cluster.name &&
         a.cluster.gpu.name == b.cluster.gpu.name && a.gpus == b.gpus &&
         a.global_batch == b.global_batch;
}

}  // namespace

Result<std::vector<RecLoggedJob>> ParseRecJobLog(std::string_view text, const std::string& origin) {
  std::vector<RecLoggedJob> out;
  std::map<JobKey, spec::RecJobSpec> loaded;
  SP_RETURN_IF_ERROR(
      validate::ForEachLogLine(text, origin, [&](std::string_view line, int number) -> Status {
        SP_ASSIGN_OR_RETURN(RecLoggedJob job,
                            ParseLine(line, fmt::format("{}:{}", origin, number), loaded));
        out.push_back(std::move(job));
        return Status::Ok();
      }));
  return out;
}

const spec::Schema<RecSuggestOptions>& RecSuggestOptionsSchema() {
  static const spec::Schema<RecSuggestOptions> schema = [] {
    using O = RecSuggestOptions;
    spec::Schema<O> s("rec_suggest");
    s.OneOf("family", &O::family, FamilyNames(), "the predictor family (predict/predictor.h)");
    s.Integer("members", &O::members, 1, kMaxMembers, "",
              "models in the ensemble; their spread is what the optimism trades on");
    s.Unsigned("seed", &O::seed, "seed of the bootstrap samples");
    s.Integer("count", &O::count, 1, kRecSpacePlans, "", "jobs to propose").Alias("k");
    s.Number("optimism", &O::optimism, 0, 10, "",
             "ensemble spreads added to the estimate when ranking (0: the estimate alone)");
    return s;
  }();
  return schema;
}

Result<RecSuggestion> RecSuggest(const spec::RecJobSpec& base,
                                 const std::vector<RecLoggedJob>& jobs,
                                 const RecSuggestOptions& options) {
  SP_RETURN_IF_ERROR(RecSuggestOptionsSchema().CheckValues(options));
  SP_RETURN_IF_ERROR(FindFamily(options.family, "rec_suggest.family").status());
  RecSuggestion out;
  // 1. Learn.
  Dataset data;
  std::vector<std::vector<double>> fx;
  std::vector<bool> oom;
  std::set<std::vector<double>> configurations;
  std::set<RecKnobs> run;
  for (const RecLoggedJob& j : jobs) {
    if (j.status == "failed" || j.status == "timeout") {
      ++out.other_failed_jobs;
      continue;
    }
    Result<RecPlanned> p = PlanRecKnobs(j.job, j.knobs);
    if (!p.ok()) {
      out.skipped.push_back(fmt::format("{}: {}", j.where, p.status().message()));
      continue;
    }
    if (SameJob(j.job, base) && run.insert(j.knobs).second) ++out.already_run;
    fx.push_back(p->x);
    oom.push_back(j.status == "oom");
    if (j.status == "oom") {
      ++out.oom_jobs;
      continue;
    }
    ++out.measured_jobs;
    data.x.push_back(p->x);
    data.y.push_back(std::log(j.samples_per_s_per_gpu / p->physics.samples_per_s_per_gpu));
    data.group.push_back(fmt::format("{}|{}|{}|{}", j.job.model.name, j.job.cluster.name,
                                     j.job.gpus, j.job.global_batch));
    data.base.push_back(std::log(p->physics.samples_per_s_per_gpu));
    configurations.insert(p->x);
  }
  out.measured_configurations = static_cast<int64_t>(configurations.size());
  std::optional<Predictor> predictor;
  if (configurations.size() >= kMinTrainingJobs) {
    SP_ASSIGN_OR_RETURN(predictor,
                        FitPredictor(data, options.family, options.members, options.seed));
  }
  const std::optional<Feasibility> feasibility = Feasibility::Fit(fx, oom);
  out.has_predictor = predictor.has_value();
  out.has_feasibility = feasibility.has_value();
  // 2. Rank the base job's plans. 3. Propose the best not yet run.
  std::vector<std::pair<double, RecProposal>> ranked;
  for (const RecKnobs& k : AllRecKnobs()) {
    if (run.count(k) > 0) continue;
    Result<RecPlanned> p = PlanRecKnobs(base, k);
    if (!p.ok() || !p->fits) continue;
    RecProposal proposal;
    proposal.description = p->description;
    proposal.knobs = k;
    proposal.physics_samples_per_s_per_gpu = p->physics.samples_per_s_per_gpu;
    double score = std::log(proposal.physics_samples_per_s_per_gpu), correction = 0;
    if (predictor) {
      const Estimate e = predictor->Correct(p->x);
      correction = e.correction;
      proposal.spread = e.spread;
      score += e.correction + options.optimism * e.spread;
    }
    proposal.estimated_samples_per_s_per_gpu =
        proposal.physics_samples_per_s_per_gpu * std::exp(correction);
    if (feasibility) {
      proposal.oom_probability = feasibility->OomProbability(p->x);
      if (proposal.oom_probability > 0.5) continue;
    }
    ranked.emplace_back(-score, std::move(proposal));
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [score, proposal] : ranked) {
    if (static_cast<int64_t>(out.proposals.size()) >= options.count) break;
    out.proposals.push_back(std::move(proposal));
  }
  return out;
}

}  // namespace scaleplan::predict
