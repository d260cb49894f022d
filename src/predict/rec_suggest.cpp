#include "predict/rec_suggest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/file.h"
#include "core/json.h"
#include "core/text.h"
#include "model/ranking.h"
#include "recsys/sharding.h"
#include "spec/readers.h"
#include "validate/job_log.h"
#include "validate/training_rows.h"

namespace scaleplan::predict {

namespace {

const char* const kLogKeys[] = {
    "model",  "cluster", "gpus", "global_batch", "plan", "status", "samples_per_s_per_gpu",
    "source", "time"};

// An integer key within [lo, hi].
Result<int64_t> IntegerIn(const nlohmann::json& line, const char* key, int64_t lo, int64_t hi,
                          const std::string& where) {
  const nlohmann::json& v = line.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Status::Invalid(fmt::format("{}: {} = {} (allowed: an integer from {} to {})", where,
                                       key, JsonShown(v), lo, hi))
        .WithKey(key);
  }
  return v.get<int64_t>();
}

Result<std::string> TextOf(const nlohmann::json& line, const char* key, const std::string& where) {
  const nlohmann::json& v = line.at(key);
  if (!v.is_string() || v.get<std::string>().empty()) {
    return Status::Invalid(
               fmt::format("{}: {} = {} (allowed: a non-empty text)", where, key, JsonShown(v)))
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
                                       where, JsonShown(plan)))
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
      return Status::Invalid(fmt::format("{}: plan.{} = {} (allowed: {})", where, key,
                                         JsonShown(value), Join(values, ", ")))
          .WithKey("plan." + key);
    }
    k[d] = static_cast<uint32_t>(v - values.begin());
  }
  return k;
}

// The base jobs of a log, loaded once each.
using JobKey = std::tuple<std::string, std::string, int64_t, int64_t>;
struct LoadedJob {
  spec::RecJobSpec spec;
  // A measurement must not exceed what one GPU can train: the dense part's training FLOPs a
  // sample (3x the forward's) at the GPU's highest dense peak (BF16, FP8 or FP4).
  double training_flops_per_sample = 0;
  double peak_flops_per_s = 0;
};

Result<RecLoggedJob> ParseLine(std::string_view text, const std::string& origin, int number,
                               std::map<JobKey, LoadedJob>& loaded) {
  const std::string where = fmt::format("{}:{}", origin, number);
  SP_ASSIGN_OR_RETURN(nlohmann::json line, ParseJson(text, origin, number));
  if (!line.is_object()) {
    return Status::Invalid(fmt::format(
        "{}: a log line is {} (allowed: one finished ranking job a line, a JSON object, e.g. "
        "{{\"model\": \"mlperf-dlrm-dcnv2\", \"cluster\": \"dgx-h100-ib\", \"gpus\": 8, "
        "\"plan\": {{...}}, \"samples_per_s_per_gpu\": 1.6e6}})",
        where, JsonShown(line)));
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
    // Model and cluster read as `rec --model/--cluster` reads them (presets or files, paths from
    // the working directory), each error naming its key; the job must resolve on its cluster.
    spec::RecJobSpec job;
    job.global_batch = batch;
    job.gpus = gpus;
    Result<spec::RankingModelSpec> m = spec::LoadRankingModel(model);
    if (!m.ok()) {
      return Status::Invalid(fmt::format("{}: model = \"{}\": {}", where, Printable(model, 60),
                                         m.status().message()))
          .WithKey("model");
    }
    job.model = std::move(*m);
    Result<spec::ClusterSpec> c = spec::LoadCluster(cluster);
    if (!c.ok()) {
      return Status::Invalid(fmt::format("{}: cluster = \"{}\": {}", where, Printable(cluster, 60),
                                         c.status().message()))
          .WithKey("cluster");
    }
    job.cluster = std::move(*c);
    Result<recsys::RecJob> resolved = recsys::ResolveRecJob(job);
    if (!resolved.ok()) {
      return Status::Invalid(fmt::format("{}: {}", where, resolved.status().message()))
          .WithKey("gpus");
    }
    const spec::GpuSpec& gpu = job.cluster.gpu;
    const double training_flops =
        3 * model::CountRanking(job.model, resolved->dense_ops).dense_flops_per_sample;
    const double peak =
        std::max({gpu.peak_bf16_flops_per_s, gpu.peak_fp8_flops_per_s, gpu.peak_fp4_flops_per_s});
    LoadedJob entry{std::move(job), training_flops, peak};
    it = loaded.emplace(key, std::move(entry)).first;
  }
  out.job = it->second.spec;
  SP_ASSIGN_OR_RETURN(
      out.knobs,
      KnobsOf(line.contains("plan") ? line["plan"] : nlohmann::json::object(), out.job, where));
  if (line.contains("status")) {
    SP_ASSIGN_OR_RETURN(out.status, TextOf(line, "status", where));
    if (std::find(std::begin(validate::kJobStatuses), std::end(validate::kJobStatuses),
                  out.status) == std::end(validate::kJobStatuses)) {
      return Status::Invalid(fmt::format("{}: status = {} (allowed: ok, oom, failed, timeout)",
                                         where, JsonShown(line["status"])))
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
                                         where, measured ? JsonShown(v) : "(missing)",
                                         kMinRecMeasured, validate::kMaxMeasured))
          .WithKey("samples_per_s_per_gpu");
    }
    out.samples_per_s_per_gpu = v.get<double>();
    const LoadedJob& loaded_job = it->second;
    if (loaded_job.training_flops_per_sample > 0 &&
        out.samples_per_s_per_gpu * loaded_job.training_flops_per_sample >
            loaded_job.peak_flops_per_s) {
      return Status::Invalid(
                 fmt::format("{}: samples_per_s_per_gpu = {} is faster than one {} trains this "
                             "model at its dense peak (allowed: at most {:.4g}: {:.4g} FLOP a "
                             "sample, 3x the forward's, at {:.4g} FLOP/s)",
                             where, JsonShown(v), Printable(loaded_job.spec.cluster.gpu.name, 40),
                             loaded_job.peak_flops_per_s / loaded_job.training_flops_per_sample,
                             loaded_job.training_flops_per_sample, loaded_job.peak_flops_per_s))
          .WithKey("samples_per_s_per_gpu");
    }
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

// Which job a plan ran: the model, the cluster and its GPU, the GPUs and the global batch.
std::string JobOf(const spec::RecJobSpec& job) {
  return fmt::format("{}|{}|{}|{}|{}", job.model.name, job.cluster.name, job.cluster.gpu.name,
                     job.gpus, job.global_batch);
}

}  // namespace

Result<std::vector<RecLoggedJob>> ParseRecJobLog(std::string_view text, const std::string& origin) {
  std::vector<RecLoggedJob> out;
  std::map<JobKey, LoadedJob> loaded;
  SP_RETURN_IF_ERROR(
      validate::ForEachLogLine(text, origin, [&](std::string_view line, int number) -> Status {
        SP_ASSIGN_OR_RETURN(RecLoggedJob job, ParseLine(line, origin, number, loaded));
        out.push_back(std::move(job));
        return Status::Ok();
      }));
  return out;
}

Result<std::vector<RecLoggedJob>> ReadRecJobLogs(const std::vector<std::string>& paths) {
  SP_RETURN_IF_ERROR(DistinctInputs(paths, "rec-suggest --log"));
  std::vector<RecLoggedJob> jobs;
  for (const std::string& path : paths) {
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
    SP_ASSIGN_OR_RETURN(std::vector<RecLoggedJob> logged,
                        ParseRecJobLog(text, StreamedInputName(path)));
    jobs.insert(jobs.end(), logged.begin(), logged.end());
  }
  return jobs;
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
  SP_ASSIGN_OR_RETURN(recsys::RecJob resolved, recsys::ResolveRecJob(base));
  RecSuggestion out;
  out.job = fmt::format("{} on {} x {} ({}), global batch {}", base.model.name, resolved.world,
                        base.cluster.gpu.name, base.cluster.name, base.global_batch);
  // Each (job, knobs) is planned once, however often the log holds it.
  std::map<std::pair<std::string, RecKnobs>, std::optional<RecPlanned>> planned;
  auto plan = [&](const spec::RecJobSpec& job,
                  const RecKnobs& k) -> Result<const std::optional<RecPlanned>*> {
    const auto key = std::make_pair(JobOf(job), k);
    auto it = planned.find(key);
    if (it == planned.end()) {
      SP_ASSIGN_OR_RETURN(std::optional<RecPlanned> p, PlanRecKnobs(job, k));
      it = planned.emplace(key, std::move(p)).first;
    }
    return &it->second;
  };
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
    SP_ASSIGN_OR_RETURN(const std::optional<RecPlanned>* p, plan(j.job, j.knobs));
    if (!*p) {
      out.skipped.push_back(fmt::format("{}: planner {} found no sharding for this job", j.where,
                                        RecKnobValue(j.knobs, 0)));
      continue;
    }
    const RecPlanned& q = **p;
    if (JobOf(j.job) == JobOf(base) && run.insert(j.knobs).second) ++out.already_run;
    fx.push_back(q.x);
    oom.push_back(j.status == "oom");
    if (j.status == "oom") {
      ++out.oom_jobs;
      continue;
    }
    ++out.measured_jobs;
    data.x.push_back(q.x);
    data.y.push_back(std::log(j.samples_per_s_per_gpu / q.physics.samples_per_s_per_gpu));
    data.group.push_back(JobOf(j.job));
    data.base.push_back(std::log(q.physics.samples_per_s_per_gpu));
    configurations.insert(q.x);
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
    SP_ASSIGN_OR_RETURN(const std::optional<RecPlanned>* p, plan(base, k));
    if (!*p || !(*p)->fits) continue;
    ++out.fitting_plans;
    if (run.count(k) > 0) continue;
    const RecPlanned& q = **p;
    RecProposal proposal;
    proposal.description = q.description;
    proposal.knobs = k;
    proposal.physics_samples_per_s_per_gpu = q.physics.samples_per_s_per_gpu;
    double score = std::log(proposal.physics_samples_per_s_per_gpu), correction = 0;
    if (predictor) {
      const Estimate e = predictor->Correct(q.x);
      correction = e.correction;
      proposal.spread = e.spread;
      score += e.correction + options.optimism * e.spread;
    }
    proposal.estimated_samples_per_s_per_gpu =
        proposal.physics_samples_per_s_per_gpu * std::exp(correction);
    if (feasibility) {
      proposal.oom_probability = feasibility->OomProbability(q.x);
      if (proposal.oom_probability > 0.5) {
        ++out.likely_oom;
        continue;
      }
    }
    ranked.emplace_back(-score, std::move(proposal));
  }
  if (out.fitting_plans == 0) {
    return Status::Invalid(
        fmt::format("rec-suggest: no plan of the space fits {} (allowed: a job "
                    "whose tables fit the GPUs' memory under some planner)",
                    out.job));
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
