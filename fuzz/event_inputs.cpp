// The event engine's text inputs (sim/event.h): the first line is --stragglers, the rest the
// --microbatch-lengths JSON. Accepted lengths run on a small job.
#include "fuzz/fuzz_check.h"
#include "plan/plan.h"
#include "sim/event.h"
#include "spec/readers.h"

using namespace scaleplan;

namespace {

plan::Plan SmallPlan() {
  Result<spec::JobSpec> job = spec::ParseJobYaml(
      "model: llama3-8b\ncluster: dgx-h100-ib\ngpus: 16\n"
      "plan: {tp: 2, cp: 1, pp: 2, dp: 4}\nworkload: {seq_len: 4096, global_batch: 16}\n",
      "fuzz job");
  if (!job.ok()) fuzz::Fail("fuzz job", job.status().message());
  Result<plan::Plan> built = plan::BuildPlan(*job);
  if (!built.ok()) fuzz::Fail("fuzz plan", built.status().message());
  return *built;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const plan::Plan plan = SmallPlan();
  std::string_view text = fuzz::AsText(data, size);
  size_t newline = text.find('\n');
  std::string_view stragglers = text.substr(0, newline);
  std::string_view lengths = newline == std::string_view::npos ? "" : text.substr(newline + 1);
  sim::EventOptions options;
  Result<std::map<int64_t, double>> speeds = sim::ParseStragglers(stragglers);
  fuzz::CheckError(speeds);
  if (speeds.ok()) options.straggler_speed = *speeds;
  Result<std::vector<std::vector<int64_t>>> docs = sim::ParseMicrobatchLengths(lengths, "mb.json");
  fuzz::CheckError(docs);
  if (docs.ok()) options.microbatch_documents = *docs;
  if (!speeds.ok() && !docs.ok()) return 0;
  Result<sim::EventResult> result = sim::SimulateEvents(plan, options);
  fuzz::CheckError(result);
  if (result.ok()) fuzz::CheckPositive(result->step.step_time_s, "step_time_s");
  return 0;
}
