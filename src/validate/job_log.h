// Job logs: the finished jobs of a cluster, one JSON object a line (JSON Lines), what CubicML
// learns from (predict/predict.h) and what `scaleplan validate` and `calibrate` score like any
// table of measured runs.
//
//   {"model": "llama3-8b", "cluster": "h100-node", "gpus": 8, "framework": "torchtitan",
//    "plan": {"zero": 3, "recompute": "selective"},
//    "workload": {"seq_len": 8192, "global_batch": 16},
//    "status": "ok", "tokens_per_s_per_gpu": 5762, "time": "2026-11-30T12:00:00Z",
//    "source": "torchtitan benchmarks, 8 H100"}
//
// Keys: the job keys (spec/readers.h: model, cluster, gpu, gpus, framework, plan, workload,
// description, source), read and checked exactly as in a job file; `status` (ok, oom, failed,
// timeout; default ok); what was measured, `tokens_per_s_per_gpu` and/or `step_time_s` (a job
// with status ok needs one; tokens/s/GPU is the metric when both are given, and the two must agree
// within kMeasuredAgreement: the batch's tokens over step time and GPUs); `time` (free text).
// Blank lines are allowed. A line that is not such an object is an error naming the file, the
// line and the key, with what is allowed: a log is written by a program (`scaleplan jobs add`),
// so a bad line means a broken log, not a row to skip. Jobs whose status is not ok are cases
// with no measurement: validate lists them as skipped, with their status.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "spec/schema.h"
#include "spec/specs.h"
#include "validate/training_rows.h"

namespace scaleplan::validate {

inline constexpr size_t kMaxJobLogLineBytes = 64 * 1024;
inline constexpr size_t kMaxJobLogLines = 100000;
// How far apart a job's two measurements may be (the larger over the smaller, at most 1 + this;
// rounding and a step time taken from another average than the throughput fit well inside it; a
// unit slip does not.
inline constexpr double kMeasuredAgreement = 0.10;

// The statuses a job may end with, in the order the help lists them.
inline constexpr std::string_view kJobStatuses[] = {"ok", "oom", "failed", "timeout"};

// The lines of a JSON Lines log, each non-blank one handed to `line` with its number (from 1),
// after the bounds every log shares: text (core/text.h's CheckText), at most kMaxJobLogLineBytes
// a line, at most kMaxJobLogLines lines, at least one. Errors name origin (and the line).
Status ForEachLogLine(std::string_view text, const std::string& origin,
                      const std::function<Status(std::string_view line, int number)>& line);

// Whether `text` reads as a job log (its first non-blank character opens a JSON object, or an
// array: a line gone wrong that the log reader names).
bool LooksLikeJobLog(std::string_view text);

// The jobs of a log, filtered by options (match: source or model name; gpu_filter: the GPU
// name; precision_filter: bf16, fp8 or fp4; the GPU range).
Result<std::vector<TrainingCase>> JobLogCases(std::string_view text, const std::string& origin,
                                              const Options& options);

// One finished job as a log line (no newline); `status` one of kJobStatuses, and for ok a
// measured value above 0 in at least one of the two metrics (0: not measured).
struct FinishedJob {
  std::string status = "ok";
  double tokens_per_s_per_gpu = 0;
  double step_time_s = 0;
  std::string time;
  std::string source;
};
// Its keys (section "jobs"; `scaleplan jobs add`'s flags).
const spec::Schema<FinishedJob>& FinishedJobSchema();
Result<std::string> JobLogLine(const spec::JobSpec& job, const FinishedJob& finished);

// Appends the job to the log at `path` (created when missing), rewriting the file atomically:
// the log must read as one (JobLogCases) and the job's plan must build (plan::BuildPlan; it need
// not fit in memory: an oom job is worth logging).
Status AppendToJobLog(const std::string& path, const spec::JobSpec& job,
                      const FinishedJob& finished);

}  // namespace scaleplan::validate
