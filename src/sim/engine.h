// Step engines: what turns a plan into a step time, behind one interface and a named registry.
//
//   analytical  the closed form (sim/analytical.h): microseconds per plan, what search ranks by
//   event       discrete events pass by pass (sim/event.h): the real schedule, packed documents,
//               stragglers, custom schedules and traces
//
// simulate, search (its re-ranking), explore and validate pick an engine by name from Engines();
// every StepResult names the engine that produced it, and so does every report.
#pragma once

#include <string_view>
#include <vector>

#include "core/status.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "sim/event.h"

namespace scaleplan::sim {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view description() const = 0;
  // Whether the engine runs the step pass by pass and so reads EventOptions (per micro-batch
  // documents, stragglers, a custom schedule, a trace); one that does not refuses them.
  virtual bool RunsPasses() const = 0;
  // One training step of `plan`. The fields of EventResult beyond `step` (critical path, idle
  // time, passes, trace) are filled by engines that run passes and left empty by the others.
  virtual Result<EventResult> Run(const plan::Plan& plan, const EventOptions& options) const = 0;
  Result<StepResult> Step(const plan::Plan& plan) const;
  // The step of `plan` when the analytical engine's step and the memory model's report of it are
  // already in hand (a search has both): an engine built on the analytical step (learned) reuses
  // them, any other runs Step. An error prunes the plan in a search, under its key (e.g. a
  // predicted out-of-memory). Called from several search threads at once.
  virtual Result<StepResult> StepGiven(const plan::Plan& plan, const StepResult& analytical,
                                       const plan::MemoryReport& memory) const;
};

// Every engine, in the order the help lists them.
const std::vector<const Engine*>& Engines();

// The engine called `name`; an unknown name is an error naming `origin` (e.g. "--engine") and
// listing the engines.
Result<const Engine*> FindEngine(std::string_view name, std::string_view origin);

// The event engine's run of `plan` with the trace on: one replica's pipeline timeline, for a
// report whose own engine does not run passes. An error says why the event engine cannot run it.
Result<EventResult> TracedRun(const plan::Plan& plan);

// Whether `options` asks for anything beyond a uniform step (what only a pass-by-pass engine
// does); `what` is set to the first such option's description.
bool NeedsPasses(const EventOptions& options, std::string* what = nullptr);

}  // namespace scaleplan::sim
