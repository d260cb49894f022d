#include "sim/engine.h"

#include <fmt/format.h>

#include "sim/analytical.h"

namespace scaleplan::sim {

namespace {

class AnalyticalEngine final : public Engine {
 public:
  std::string_view name() const override { return "analytical"; }
  std::string_view description() const override {
    return "closed form per stage and schedule (microseconds per plan; what search ranks by)";
  }
  bool RunsPasses() const override { return false; }
  Result<EventResult> Run(const plan::Plan& plan, const EventOptions& options) const override {
    std::string what;
    if (NeedsPasses(options, &what)) {
      return Status::Invalid(fmt::format(
          "the analytical engine prices uniform steps and cannot run {} (allowed: an engine that "
          "runs passes: event)",
          what));
    }
    EventResult result;
    SP_ASSIGN_OR_RETURN(result.step, Evaluate(plan));
    return result;
  }
  Result<StepResult> StepGiven(const plan::Plan& /*plan*/, const StepResult& analytical,
                               const plan::MemoryReport& /*memory*/) const override {
    return analytical;
  }
};

class EventEngine final : public Engine {
 public:
  std::string_view name() const override { return "event"; }
  std::string_view description() const override {
    return "discrete events pass by pass: the real schedule, packed documents, stragglers, traces";
  }
  bool RunsPasses() const override { return true; }
  Result<EventResult> Run(const plan::Plan& plan, const EventOptions& options) const override {
    return SimulateEvents(plan, options);
  }
};

}  // namespace

Result<StepResult> Engine::Step(const plan::Plan& plan) const {
  SP_ASSIGN_OR_RETURN(EventResult result, Run(plan, {}));
  return std::move(result.step);
}

Result<StepResult> Engine::StepGiven(const plan::Plan& plan, const StepResult& /*analytical*/,
                                     const plan::MemoryReport& /*memory*/) const {
  return Step(plan);
}

const std::vector<const Engine*>& Engines() {
  static const AnalyticalEngine analytical;
  static const EventEngine event;
  static const std::vector<const Engine*> engines = {&analytical, &event};
  return engines;
}

Result<const Engine*> FindEngine(std::string_view name, std::string_view origin) {
  std::string known;
  for (const Engine* engine : Engines()) {
    if (engine->name() == name) return engine;
    known += (known.empty() ? "" : ", ") + std::string(engine->name());
  }
  return Status::Invalid(fmt::format("{} = {} is not an engine (allowed: {})",
                                     origin.empty() ? "engine" : origin, name, known));
}

Result<EventResult> TracedRun(const plan::Plan& plan) {
  SP_ASSIGN_OR_RETURN(const Engine* event, FindEngine("event", "engine"));
  EventOptions options;
  options.trace = true;
  return event->Run(plan, options);
}

bool NeedsPasses(const EventOptions& options, std::string* what) {
  const char* first = !options.microbatch_documents.empty() ? "per micro-batch documents"
                      : !options.replica_documents.empty()  ? "per replica documents"
                      : !options.replica_attention_factor.empty() ? "context-parallel imbalance"
                      : !options.straggler_speed.empty()          ? "stragglers"
                      : options.schedule != nullptr               ? "a schedule file"
                      : options.trace                             ? "a trace"
                                                                  : nullptr;
  if (first != nullptr && what != nullptr) *what = first;
  return first != nullptr;
}

}  // namespace scaleplan::sim
