#include "validate/job_log.h"

#include <fmt/format.h>

#include <cmath>

#include "core/file.h"
#include "core/json.h"
#include "core/text.h"
#include "plan/plan.h"
#include "spec/readers.h"
#include "validate/training_rows.h"

namespace scaleplan::validate {

namespace {

constexpr std::string_view kMeasuredKeys[] = {"status", "tokens_per_s_per_gpu", "step_time_s",
                                              "time"};

std::string StatusNames() {
  std::string out;
  for (std::string_view s : kJobStatuses) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

bool KnownStatus(std::string_view status) {
  for (std::string_view s : kJobStatuses) {
    if (s == status) return true;
  }
  return false;
}

// A measured value: absent (0), or a number from kMinMeasured to kMaxMeasured.
Result<double> Measured(const nlohmann::json& line, std::string_view key,
                        const std::string& where) {
  auto it = line.find(std::string(key));
  if (it == line.end()) return 0.0;
  if (!it->is_number() || !(it->get<double>() >= kMinMeasured) ||
      !(it->get<double>() <= kMaxMeasured)) {
    return Status::Invalid(fmt::format("{}: {} = {} (allowed: a number from {:g} to {:g})", where,
                                       key, JsonShown(*it), kMinMeasured, kMaxMeasured))
        .WithKey(std::string(key));
  }
  return it->get<double>();
}

// Both metrics given describe one step: tokens/s/GPU = the batch's tokens / (step time x GPUs).
// Figures further apart than kMeasuredAgreement are refused: one of them is wrong, and which one
// the learner would keep is an accident. A job whose plan does not build is not checked here (its
// own error comes where it is simulated).
Status CheckMeasurementsAgree(const spec::JobSpec& job, double tokens, double step,
                              std::string_view where) {
  if (tokens <= 0 || step <= 0) return Status::Ok();
  Result<plan::Plan> built = plan::BuildPlan(job);
  if (!built.ok()) return Status::Ok();
  const double implied = static_cast<double>(built->TokensPerStep()) /
                         (step * static_cast<double>(built->gpus));
  if (std::abs(std::log(tokens / implied)) <= std::log1p(kMeasuredAgreement)) return Status::Ok();
  return Status::Invalid(
             fmt::format("{}{}tokens_per_s_per_gpu = {} and step_time_s = {} disagree: {} tokens a "
                         "step on {} GPUs in {} s is {:.6g} tokens/s/GPU (allowed: one of the two, "
                         "or both with the larger at most {:.0f}% above the smaller)",
                         where, where.empty() ? "" : ": ", tokens, step, built->TokensPerStep(),
                         built->gpus, step, implied, 100 * kMeasuredAgreement))
      .WithKey("step_time_s");
}

Result<TrainingCase> ParseLine(std::string_view text, const std::string& origin, int64_t number) {
  const std::string where = fmt::format("{}:{}", origin, number);
  SP_ASSIGN_OR_RETURN(nlohmann::json line, ParseJson(text, origin, number));
  if (!line.is_object()) {
    return Status::Parse(fmt::format(
        "{}: a log line is {} (allowed: a JSON object of job keys and what was measured)", where,
        JsonShown(line)));
  }
  TrainingCase c;
  c.checkpointing_given = true;  // a job states its plan
  c.weights_given = true;
  std::string status = "ok";
  if (auto it = line.find("status"); it != line.end()) {
    if (!it->is_string() || !KnownStatus(it->get<std::string>())) {
      return Status::Invalid(
                 fmt::format("{}: status = {} (allowed: {})", where, JsonShown(*it), StatusNames()))
          .WithKey("status");
    }
    status = it->get<std::string>();
  }
  if (auto it = line.find("time"); it != line.end() && !it->is_string()) {
    return Status::Invalid(fmt::format("{}: time = {} (allowed: text, e.g. 2026-11-30T12:00:00Z)",
                                       where, JsonShown(*it)))
        .WithKey("time");
  }
  SP_ASSIGN_OR_RETURN(double tokens, Measured(line, "tokens_per_s_per_gpu", where));
  SP_ASSIGN_OR_RETURN(double step, Measured(line, "step_time_s", where));
  nlohmann::json job = line;
  for (std::string_view key : kMeasuredKeys) job.erase(std::string(key));
  // JSON is YAML: the job keys go through the job reader, with its checks and messages.
  Result<spec::JobSpec> parsed = spec::ParseJobYaml(job.dump(), where);
  if (!parsed.ok()) {
    // The job reader parsed the keys re-written as one line: its line and column point into that,
    // not into the file, so the message keeps the file's line only.
    const Status& s = parsed.status();
    if (s.message().rfind(where, 0) != 0) return s.WithContext(where);
    std::string message = s.message();
    // An unknown key: the allowed list names the log's own keys too.
    constexpr std::string_view kJobKeysEnd = ", framework, plan, workload)";
    if (message.find(": unknown key '") != std::string::npos && message.size() > kJobKeysEnd.size() &&
        message.compare(message.size() - kJobKeysEnd.size(), kJobKeysEnd.size(), kJobKeysEnd) ==
            0) {
      std::string own;
      for (std::string_view key : kMeasuredKeys) own += ", " + std::string(key);
      message.insert(message.size() - 1, own);
    }
    std::string_view rest = std::string_view(message).substr(where.size());
    for (int part = 0; part < 2 && rest.size() > 1 && rest[0] == ':' &&
                       rest[1] >= '0' && rest[1] <= '9';
         ++part) {
      rest.remove_prefix(1);
      while (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') rest.remove_prefix(1);
    }
    return s.WithMessage(where + std::string(rest));
  }
  c.job = std::move(parsed).value();
  if (status != "ok" && (tokens > 0 || step > 0)) {
    return Status::Invalid(fmt::format("{}: status = {} with a measurement (allowed: a "
                                       "measurement with status ok only; a job that did not "
                                       "finish measured nothing)",
                                       where, status))
        .WithKey("status");
  }
  SP_RETURN_IF_ERROR(CheckMeasurementsAgree(c.job, tokens, step, where));
  c.status = status;
  if (status != "ok") {
    c.skipped = "status " + status + ": the job gave no measurement";
  } else if (tokens > 0) {
    c.metric = "tokens_per_s_per_gpu";
    c.measured = tokens;
  } else if (step > 0) {
    c.metric = "step_time_s";
    c.measured = step;
  } else {
    return Status::Invalid(fmt::format("{}: a job with status ok measured nothing (allowed: "
                                       "tokens_per_s_per_gpu or step_time_s, a number from 1e-06 to 1e+12)",
                                       where))
        .WithKey("tokens_per_s_per_gpu");
  }
  if (auto it = line.find("source"); it != line.end() && it->is_string()) c.source = *it;
  return c;
}

}  // namespace

bool LooksLikeJobLog(std::string_view text) {
  size_t at = text.find_first_not_of(" \t\r\n");
  // A line that opens a JSON array is a job log's line gone wrong, not a CSV header.
  return at != std::string_view::npos && (text[at] == '{' || text[at] == '[');
}

Status ForEachLogLine(std::string_view text, const std::string& origin,
                      const std::function<Status(std::string_view line, int number)>& line) {
  SP_RETURN_IF_ERROR(CheckText(text, origin));
  size_t lines = 0;
  int number = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view one = text.substr(at, end - at);
    at = end + 1;
    ++number;
    if (one.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (one.size() > kMaxJobLogLineBytes) {
      return Status::Invalid(fmt::format("{}:{}: a line of {} bytes (allowed: at most {} bytes)",
                                         origin, number, one.size(), kMaxJobLogLineBytes));
    }
    if (++lines > kMaxJobLogLines) {
      return Status::Invalid(fmt::format("{}: more than {} jobs (allowed: at most {} a log)",
                                         origin, kMaxJobLogLines, kMaxJobLogLines));
    }
    SP_RETURN_IF_ERROR(line(one, number));
  }
  if (lines == 0) {
    return Status::Invalid(
        fmt::format("{}: a job log with no jobs (allowed: at least one line)", origin));
  }
  return Status::Ok();
}

Result<std::vector<TrainingCase>> JobLogCases(std::string_view text, const std::string& origin,
                                              const Options& options) {
  std::vector<TrainingCase> out;
  SP_RETURN_IF_ERROR(ForEachLogLine(text, origin, [&](std::string_view line, int number) -> Status {
    SP_ASSIGN_OR_RETURN(TrainingCase c, ParseLine(line, origin, number));
    c.line = number;
    const spec::JobSpec& job = c.job;
    if (!options.match.empty() && !Contains(c.source, options.match) &&
        !Contains(job.model.name, options.match))
      return Status::Ok();
    if (!options.gpu_filter.empty() && !Contains(job.cluster.gpu.name, options.gpu_filter))
      return Status::Ok();
    std::string precision = job.plan.precision == spec::Precision::kFp8   ? "FP8"
                            : job.plan.precision == spec::Precision::kFp4 ? "FP4"
                                                                          : "BF16";
    if (!options.precision_filter.empty() && !Contains(precision, options.precision_filter))
      return Status::Ok();
    if (!InGpuRange(job.gpus, options)) return Status::Ok();
    c.label = fmt::format("{} on {} {} ({} {})", job.model.name, job.gpus, job.cluster.gpu.name,
                          job.framework.name, precision);
    out.push_back(std::move(c));
    return Status::Ok();
  }));
  return out;
}

const spec::Schema<FinishedJob>& FinishedJobSchema() {
  static const spec::Schema<FinishedJob> schema = [] {
    using F = FinishedJob;
    spec::Schema<F> s("jobs");
    s.OneOf("status", &F::status, {std::begin(kJobStatuses), std::end(kJobStatuses)},
            "how the job ended");
    s.Number("tokens_per_s_per_gpu", &F::tokens_per_s_per_gpu, 0, 1e12, "tokens/s",
             "measured throughput per GPU (0: not measured)");
    s.Number("step_time_s", &F::step_time_s, 0, 1e12, "s", "measured step time (0: not measured)");
    s.Text("time", &F::time, "when the job ran (free text, e.g. 2026-11-30T12:00:00Z)");
    s.Text("source", &F::source, "where the measurement comes from (a cluster, a paper)",
           "job-source");
    return s;
  }();
  return schema;
}

Status AppendToJobLog(const std::string& path, const spec::JobSpec& job,
                      const FinishedJob& finished) {
  SP_RETURN_IF_ERROR(plan::BuildPlan(job).status());
  SP_ASSIGN_OR_RETURN(std::string line, JobLogLine(job, finished));
  if (line.size() > kMaxJobLogLineBytes) {
    return Status::Invalid(fmt::format(
        "{}: the job's log line would be {} bytes (allowed: at most {}; shorten the source or "
        "the job's descriptions)",
        path, line.size(), kMaxJobLogLineBytes));
  }
  // Another `jobs add` on the same log waits here, so neither loses the other's line.
  SP_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path));
  std::string text;
  if (Result<std::string> existing = ReadInputFile(path, kMaxSpecFileBytes); existing.ok()) {
    text = std::move(existing).value();
    if (text.find_first_not_of(" \t\r\n") != std::string::npos) {
      SP_RETURN_IF_ERROR(JobLogCases(text, path, Options{}).status());
    }
  } else if (existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += line + "\n";
  if (static_cast<int64_t>(text.size()) > kMaxSpecFileBytes) {
    return Status::Invalid(fmt::format("{}: the log would pass {} bytes (allowed: at most {})",
                                       path, kMaxSpecFileBytes, kMaxSpecFileBytes));
  }
  return UpdateFile(path, text);
}

Result<std::string> JobLogLine(const spec::JobSpec& job, const FinishedJob& finished) {
  if (!KnownStatus(finished.status)) {
    return Status::Invalid(fmt::format("status = '{}' (allowed: {})",
                                       Printable(finished.status, 60), StatusNames()))
        .WithKey("status");
  }
  for (double v : {finished.tokens_per_s_per_gpu, finished.step_time_s}) {
    if (v != 0 && !(v >= kMinMeasured && v <= kMaxMeasured)) {
      return Status::Invalid(fmt::format(
          "a measured value of {} (allowed: 0 for none, or a number from {:g} to {:g})", v,
          kMinMeasured, kMaxMeasured));
    }
  }
  if (finished.status != "ok" && (finished.tokens_per_s_per_gpu > 0 || finished.step_time_s > 0)) {
    return Status::Invalid(fmt::format("status = {} with a measurement (allowed: a measurement "
                                       "with status ok only; a job that did not finish measured "
                                       "nothing)",
                                       finished.status))
        .WithKey("status");
  }
  if (finished.status == "ok" && finished.tokens_per_s_per_gpu <= 0 && finished.step_time_s <= 0) {
    return Status::Invalid(
               "a job with status ok measured nothing (allowed: tokens_per_s_per_gpu or "
               "step_time_s, a number from 1e-06 to 1e+12)")
        .WithKey("tokens_per_s_per_gpu");
  }
  SP_RETURN_IF_ERROR(
      CheckMeasurementsAgree(job, finished.tokens_per_s_per_gpu, finished.step_time_s, ""));
  // A job whose plan does not build is not checked here (its own error comes where it is
  // simulated); one that does must have measured what its GPUs could do.
  if (Result<plan::Plan> built = plan::BuildPlan(job); built.ok()) {
    TrainingCase measured;
    measured.job = job;
    const bool tokens = finished.tokens_per_s_per_gpu > 0;
    measured.metric = tokens ? "tokens_per_s_per_gpu" : "step_time_s";
    measured.measured = tokens ? finished.tokens_per_s_per_gpu : finished.step_time_s;
    if (std::string reason = AbovePeakReason(measured, *built); !reason.empty()) {
      return Status::Invalid(reason).WithKey(measured.metric);
    }
  }
  nlohmann::json line;
  line["model"] = spec::ModelSchema().ToJson(job.model);
  nlohmann::json cluster = spec::ClusterSchema().ToJson(job.cluster);
  cluster["gpu"] = spec::GpuSchema().ToJson(job.cluster.gpu);
  line["cluster"] = cluster;
  line["gpus"] = job.gpus;
  line["framework"] = spec::FrameworkSchema().ToJson(job.framework);
  line["plan"] = spec::PlanSchema().ToJson(job.plan);
  line["workload"] = spec::WorkloadSchema().ToJson(job.workload);
  line["status"] = finished.status;
  if (finished.tokens_per_s_per_gpu > 0)
    line["tokens_per_s_per_gpu"] = finished.tokens_per_s_per_gpu;
  if (finished.step_time_s > 0) line["step_time_s"] = finished.step_time_s;
  if (!finished.time.empty()) line["time"] = finished.time;
  if (!finished.source.empty()) line["source"] = finished.source;
  return line.dump();
}

}  // namespace scaleplan::validate
