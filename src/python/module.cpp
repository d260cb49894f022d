// The Python module `scaleplan` (pybind11): plan, simulate, goodput, search, explore and pack on
// jobs given as dicts with the job schema's keys (or YAML text, or a preset name or job file),
// returning the dicts the commands print with --json. A bad input raises scaleplan.Error (a
// ValueError) whose `key` names the input key when the library names one.
//
// This layer only converts: Python values to spec values (through the same schemas as the job
// files and flags) and JSON reports to Python objects; the calls are the library's, as the CLI's.
#include <fmt/format.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "balance/balance.h"
#include "balance/study.h"
#include "core/json.h"
#include "core/text.h"
#include "explore/explore.h"
#include "explore/scale.h"
#include "goodput/goodput.h"
#include "plan/memory.h"
#include "plan/plan.h"
#include "report/explore_report.h"
#include "report/goodput_report.h"
#include "report/output.h"
#include "report/pack_report.h"
#include "report/plan_report.h"
#include "report/scale_report.h"
#include "report/search_report.h"
#include "report/step_report.h"
#include "search/search.h"
#include "search/space.h"
#include "sim/engine.h"
#include "spec/presets.h"
#include "spec/readers.h"

namespace py = pybind11;

namespace scaleplan::python {

namespace {

// scaleplan.Error, created when the module loads.
PyObject* error_type = nullptr;

[[noreturn]] void Raise(const Status& status) {
  py::object error = py::reinterpret_borrow<py::object>(error_type)(status.message());
  error.attr("key") = status.key().empty() ? py::none() : py::object(py::str(status.key()));
  PyErr_SetObject(error_type, error.ptr());
  throw py::error_already_set();
}

template <class T>
T Must(Result<T> result) {
  if (!result.ok()) Raise(result.status());
  return *std::move(result);
}

void Must(const Status& status) {
  if (!status.ok()) Raise(status);
}

// A report as Python objects (through its JSON text, which the finite-numbers gate checks).
py::object ToPython(const nlohmann::json& report) {
  std::string text = Must(report::JsonText(report, -1));
  return py::module_::import("json").attr("loads")(text);
}

// A Python string as UTF-8 text; anything else (bytes, a lone surrogate) is an input error.
std::string Text(const py::handle& value, const std::string& what) {
  try {
    return value.cast<std::string>();
  } catch (const std::exception&) {
    PyErr_Clear();
    Raise(Status::Invalid(what + " is not a text string (allowed: str, encodable as UTF-8)"));
  }
}

std::string TypeName(const py::handle& value) {
  return py::str(value.get_type().attr("__name__")).cast<std::string>();
}

// An integer: a Python int or what says it is one through __index__ (numpy's integer types),
// never a bool.
bool IsIndex(const py::handle& value) {
  return PyIndex_Check(value.ptr()) && !py::isinstance<py::bool_>(value);
}

// What json.dumps would refuse (with a traceback in its message) or change (a key that is not a
// string becomes one), refused first with the path to the value: `where` is "job", then
// "job.plan", "job.plan.tp" or "lengths[3]". Keys are at most 1,024 bytes, YAML's longest
// implicit key (the JSON is read by the YAML reader); nesting at most kMaxJsonDepth, as a file's
// (a dict that holds itself would never end).
void CheckJsonable(const py::handle& value, const std::string& where, int depth = 0) {
  if (depth > kMaxJsonDepth) {
    Raise(Status::Invalid(fmt::format("{} nests deeper than {} levels (allowed: at most {})",
                                      Printable(where, 200), kMaxJsonDepth, kMaxJsonDepth)));
  }
  if (value.is_none() || py::isinstance<py::bool_>(value) || IsIndex(value)) return;
  if (py::isinstance<py::str>(value)) {
    Text(value, Printable(where, 200));  // a lone surrogate has no UTF-8 form
    return;
  }
  if (py::isinstance<py::float_>(value)) {
    if (!std::isfinite(value.cast<double>())) {
      Raise(Status::Invalid(fmt::format("{} = {} (allowed: a finite number)",
                                        Printable(where, 200),
                                        py::str(value).cast<std::string>())));
    }
    return;
  }
  if (py::isinstance<py::dict>(value)) {
    for (const auto& [key, item] : value.cast<py::dict>()) {
      if (!py::isinstance<py::str>(key)) {
        Raise(Status::Invalid(fmt::format("{} has a key of type {} (allowed: string keys)",
                                          Printable(where, 200), TypeName(key))));
      }
      const std::string name = Text(key, where + " key");
      if (name.size() > 1024) {
        Raise(Status::Invalid(fmt::format("{} has a key of {} bytes, '{}' (allowed: at most 1024)",
                                          Printable(where, 200), name.size(),
                                          Printable(name, 40))));
      }
      CheckJsonable(item, where + "." + name, depth + 1);
    }
    return;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    size_t i = 0;
    for (const py::handle& item : value) {
      CheckJsonable(item, fmt::format("{}[{}]", where, i++), depth + 1);
    }
    return;
  }
  Raise(Status::Invalid(
      fmt::format("{} is a {} (allowed: a dict, a list, a string, a number, a boolean or None)",
                  Printable(where, 200), TypeName(value))));
}

// `value` as JSON text, for the readers of job files and lengths.
std::string Dumps(const py::handle& value, const std::string& where) {
  CheckJsonable(value, where);
  // json.dumps asks `default` for what it cannot write: here only integers through __index__.
  const py::cpp_function as_int([](const py::object& v) { return py::int_(v); });
  return py::module_::import("json").attr("dumps")(value, py::arg("default") = as_int)
      .cast<std::string>();
}

// A Python int (or an __index__ integer) as a C++ integer: a value out of the type's range (2**70)
// is an input error, not pybind's "incompatible function arguments".
template <class T>
T Integer(const py::object& value, const std::string& where) {
  if (!IsIndex(value)) {
    Raise(Status::Invalid(fmt::format("{} is a {} (allowed: an integer)", where, TypeName(value)))
              .WithKey(where));
  }
  try {
    return py::int_(value).cast<T>();
  } catch (const std::exception&) {
    PyErr_Clear();
    Raise(Status::Invalid(fmt::format("{} = {} is out of range (allowed: integer from {} to {})",
                                      where, Printable(py::str(value).cast<std::string>(), 40),
                                      std::numeric_limits<T>::min(),
                                      std::numeric_limits<T>::max()))
              .WithKey(where));
  }
}

// A job: None (the default job), a preset name or job file, YAML text, or a dict of the job
// schema's keys (written as JSON, which the YAML reader reads).
spec::JobSpec ResolveJob(const py::object& job) {
  if (job.is_none()) return Must(spec::LoadJob(spec::kDefaultJob));
  if (py::isinstance<py::str>(job)) {
    std::string text = Text(job, "job");
    // An existing file is a job file whatever its name; otherwise text with YAML's marks is YAML.
    bool file = py::module_::import("os").attr("path").attr("isfile")(job).cast<bool>();
    bool yaml =
        !file && (text.find('\n') != std::string::npos || text.find(':') != std::string::npos ||
                  text.find('{') != std::string::npos);
    return yaml ? Must(spec::ParseJobYaml(text, "job")) : Must(spec::LoadJob(text));
  }
  if (py::isinstance<py::dict>(job)) return Must(spec::ParseJobYaml(Dumps(job, "job"), "job"));
  Raise(Status::Invalid(
      "job is a " + py::str(job.get_type().attr("__name__")).cast<std::string>() +
      " (allowed: None, a preset name or job file, YAML text, or a dict of job keys)"));
}

// One Python value as a spec value: True/False as true/false, lists item by item.
spec::RawValue Raw(const py::handle& value, const std::string& origin) {
  spec::RawValue raw;
  raw.origin = origin;
  auto text = [&origin](const py::handle& v) -> std::string {
    if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? "true" : "false";
    if (py::isinstance<py::str>(v)) return Text(v, origin);
    if (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)) {
      return py::str(v).cast<std::string>();
    }
    if (IsIndex(v)) return py::str(py::int_(py::reinterpret_borrow<py::object>(v))).cast<std::string>();
    Raise(Status::Invalid(origin + " is a " +
                          py::str(v.get_type().attr("__name__")).cast<std::string>() +
                          " (allowed: a string, a number, a boolean, or a list of them)"));
  };
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    raw.is_list = true;
    for (const py::handle& item : value) {
      raw.items.push_back(text(item));
      raw.quoted = raw.quoted || py::isinstance<py::str>(item);  // a list of numbers refuses it
    }
    for (size_t i = 0; i < raw.items.size(); ++i) raw.text += (i ? ", " : "") + raw.items[i];
  } else {
    raw.text = text(value);
    raw.quoted = py::isinstance<py::str>(value);  // "8" is text, refused where a number is due
  }
  return raw;
}

// Sets every key of `options` (a dict, or None) through `schema`.
template <class T>
T Options(const spec::Schema<T>& schema, const py::object& options, T object = T{}) {
  if (options.is_none()) return object;
  if (!py::isinstance<py::dict>(options)) {
    Raise(Status::Invalid(schema.section() + " options are not a dict (allowed: a dict of " +
                          schema.section() + " keys)"));
  }
  for (const auto& [key, value] : options.cast<py::dict>()) {
    std::string name = Text(key, schema.section() + " option name");
    Must(schema.Set(object, name, Raw(value, Printable(name, 60))));
  }
  return object;
}

// Runs a library call that takes no Python object with the GIL released, so that other Python
// threads run meanwhile (a search takes seconds).
template <class F>
auto Unlocked(F&& call) {
  py::gil_scoped_release released;
  return call();
}

py::object Plan(const py::object& job, bool ops) {
  plan::Plan built = Must(plan::BuildPlan(ResolveJob(job)));
  report::PlanReportOptions shown;
  shown.include_ops = ops;
  return ToPython(report::PlanJson(built, plan::ComputeMemory(built), shown));
}

// One job's goodput options (simulate's section, scale's rows): the section keys only
// (goodput::SectionKeys; the Monte Carlo, the sweep and the target belong to goodput()), none
// beside failures = none, no Monte Carlo and no sweep.
goodput::GoodputOptions SectionGoodput(const py::object& goodput, const std::string& caller) {
  const py::dict given =
      py::isinstance<py::dict>(goodput) ? goodput.cast<py::dict>() : py::dict();
  const std::vector<std::string>& section = goodput::SectionKeys();
  for (const auto& [key, value] : given) {
    const std::string name = Text(key, "goodput option name");
    if (goodput::GoodputOptionsSchema().Find(name) != nullptr &&
        std::find(section.begin(), section.end(), name) == section.end()) {
      Raise(Status::Invalid("goodput." + name + " belongs to scaleplan.goodput(), not to " +
                            caller + "'s goodput (allowed: " + Join(section, ", ") + ")")
                .WithKey("goodput." + name));
    }
  }
  goodput::GoodputOptions options = Options(goodput::GoodputOptionsSchema(), goodput);
  Must(goodput::CheckSectionGiven(
      options, [&given](const std::string& key) { return given.contains(key); },
      [](const std::string& key) { return "goodput." + key; }));
  options.trials = 0;
  options.sweep_gpus.clear();
  return options;
}

// Plan keys to one value (a pin) or a list (a restriction), as the search flags.
std::vector<search::Pin> Pins(const py::object& pins) {
  std::vector<search::Pin> given;
  if (pins.is_none()) return given;
  if (!py::isinstance<py::dict>(pins)) {
    Raise(Status::Invalid("pins are not a dict (allowed: plan keys to one value or a list)"));
  }
  for (const auto& [key, value] : pins.cast<py::dict>()) {
    std::string name = Text(key, "pin name");
    given.push_back({name, Raw(value, name).text, name});
  }
  return given;
}

// Search options from a dict, refusing what the chosen optimizer would not read.
search::SearchOptions SearchOptionsFrom(const py::object& options) {
  search::SearchOptions parsed = Options(search::SearchOptionsSchema(), options);
  const py::dict set = py::isinstance<py::dict>(options) ? options.cast<py::dict>() : py::dict();
  Must(search::CheckOptionsGiven(
      parsed, [&set](const std::string& key) { return set.contains(key); },
      [](const std::string& key) { return "search." + key; }));
  return parsed;
}

py::object Simulate(const py::object& job, const std::string& engine_name,
                    const py::object& goodput) {
  plan::Plan built = Must(plan::BuildPlan(ResolveJob(job)));
  const sim::Engine* engine = Must(sim::FindEngine(engine_name, "engine"));
  sim::EventResult run = Must(Unlocked([&] { return engine->Run(built, sim::EventOptions{}); }));
  nlohmann::json out = report::StepJson(built, plan::ComputeMemory(built), run);
  goodput::GoodputOptions options = SectionGoodput(goodput, "simulate");
  if (options.failures != "none") {
    goodput::GoodputStudy study = Must(goodput::RunGoodput(built, run.step, options));
    out["goodput"] = report::GoodputSectionJson(study);
  }
  return ToPython(out);
}

py::object Goodput(const py::object& job, const py::object& options) {
  plan::Plan built = Must(plan::BuildPlan(ResolveJob(job)));
  sim::StepResult step = Must(sim::Engines().front()->Step(built));
  goodput::GoodputStudy study =
      Must(goodput::RunGoodput(built, step, Options(goodput::GoodputOptionsSchema(), options)));
  return ToPython(report::GoodputJson(built, study));
}

py::object Search(const py::object& job, const py::object& pins, const py::object& options) {
  search::PinnedSearch pinned = Must(search::ApplyPins(ResolveJob(job), Pins(pins)));
  search::SearchOptions parsed = SearchOptionsFrom(options);
  search::SearchResult result =
      Must(Unlocked([&] { return search::Search(pinned.job, pinned.space, parsed); }));
  Must(search::CheckSomePlanValid(result, &pinned));  // as the CLI: no valid plan is an error
  std::optional<search::StartingPoint> start = search::EvaluateStart(pinned.start, nullptr);
  report::LaunchText best = report::BestPlanLaunch(pinned.job, result, nullptr);
  return ToPython(report::SearchJson(pinned.job, result, start, best));
}

py::object Explore(const py::object& job, const py::object& options) {
  spec::JobSpec base =
      job.is_none() ? Must(spec::LoadJob(spec::kDefaultExploreJob)) : ResolveJob(job);
  const explore::ExploreOptions parsed = Options(explore::ExploreOptionsSchema(), options);
  explore::ExploreResult result = Must(Unlocked([&] { return explore::Explore(base, parsed); }));
  return ToPython(report::ExploreJson(result, report::LaunchText{}));
}

py::object Scale(const py::object& job, const py::object& counts, const py::object& pins,
                 const py::object& options, const py::object& goodput, double deadline_s) {
  if (py::isinstance<py::dict>(job) && job.cast<py::dict>().contains("gpus")) {
    Raise(Status::Invalid("job.gpus: scale plans the job at each of counts instead (allowed: a "
                          "job without gpus, and counts)")
              .WithKey("job.gpus"));
  }
  spec::JobSpec base = ResolveJob(job);
  std::vector<int64_t> sizes;
  if (!counts.is_none()) sizes = Must(explore::ParseCounts(Raw(counts, "counts")));
  const std::vector<search::Pin> given = Pins(pins);
  const search::SearchOptions parsed = SearchOptionsFrom(options);
  const goodput::GoodputOptions section = SectionGoodput(goodput, "scale");
  explore::ScaleStudy study =
      Must(Unlocked(
          [&] { return explore::RunScale(base, given, sizes, parsed, section, deadline_s); }));
  return ToPython(report::ScaleJson(base, study, section));
}

py::object Pack(const py::object& lengths, const std::string& synthetic, const py::object& count,
                const py::object& seed, const std::string& model, const std::string& packer,
                const py::object& iterations, const py::object& cp, const std::string& sharder,
                const py::object& packing) {
  balance::PackStudyOptions study;
  study.packer = packer;
  study.iterations = Integer<int64_t>(iterations, "pack.iterations");
  study.cp = Integer<int64_t>(cp, "pack.cp");
  study.sharder = sharder;
  study.packing = Options(balance::PackerSchema(), packing);
  const py::dict given_packing = packing.is_none() || !py::isinstance<py::dict>(packing)
                                     ? py::dict()
                                     : packing.cast<py::dict>();
  Must(balance::CheckGivenPackerKeys(
      study.packer, [&](std::string_view key) { return given_packing.contains(std::string(key)); },
      [](std::string_view key) { return "packing." + std::string(key); }));
  Must(balance::CheckStudy(study));
  std::vector<int64_t> documents;
  if (!lengths.is_none()) {
    if (!synthetic.empty()) {
      Raise(Status::Invalid("lengths and synthetic both give the documents (allowed: one)"));
    }
    for (const auto& [name, given] : {std::pair{"count", &count}, std::pair{"seed", &seed}}) {
      if (!given->is_none()) {
        Raise(Status::Invalid(fmt::format(
            "{} generates synthetic lengths; lengths are given (allowed: {} without lengths)",
            name, name)));
      }
    }
    std::string text = Dumps(lengths, "lengths");
    documents = Must(balance::ParseLengths(text, "lengths"));
  } else {
    if (synthetic.empty()) {
      Raise(Status::Invalid(
          "pack needs its documents: lengths (a list) or synthetic (a corpus name such as "
          "lognormal) (allowed: exactly one of the two)"));
    }
    balance::LengthSource source;
    source.synthetic = synthetic;
    if (!count.is_none()) source.count = Integer<int64_t>(count, "pack.count");
    if (!seed.is_none()) source.seed = Integer<uint64_t>(seed, "pack.seed");
    documents = Must(balance::LoadLengths(source, study.packing.context));
  }
  spec::ModelSpec spec_model = Must(spec::LoadModel(model));
  balance::PackStudy result = Must(Unlocked(
      [&] { return balance::StudyPacking(documents, study, balance::FlopWorkload(spec_model)); }));
  report::PackSetup setup{study.packer, study.packing, study.cp, study.sharder,
                          result.cp_imbalance};
  return ToPython(report::PackJson(result.run, setup));
}

}  // namespace

}  // namespace scaleplan::python

PYBIND11_MODULE(scaleplan, m) {
  using namespace scaleplan::python;
  namespace sp = scaleplan;
  m.doc() =
      "scaleplan: plan, simulate and search the parallel training of large models.\n"
      "Jobs are dicts with the job schema's keys (model, cluster, gpu, gpus, framework, plan, "
      "workload), YAML text, or a preset name / job file; results are the dicts the commands "
      "print with --json. Errors raise scaleplan.Error (a ValueError) with a `key` attribute.";
  // Kept for the interpreter's life (never released: no reference dropped after finalisation).
  auto* error = new py::exception<void>(m, "Error", PyExc_ValueError);
  error_type = error->ptr();
  m.attr("default_job") = std::string(sp::spec::kDefaultJob);
  m.def("plan", &Plan, py::arg("job") = py::none(), py::arg("ops") = false,
        "Parameters, FLOPs, placement and memory of a job's plan (scaleplan plan --json).");
  m.def("simulate", &Simulate, py::arg("job") = py::none(), py::arg("engine") = "analytical",
        py::arg("goodput") = py::none(),
        "One training step by an engine, with memory and the goodput section (scaleplan simulate "
        "--json); goodput: a dict of goodput keys, {'failures': 'none'} to leave it out.");
  m.def("goodput", &Goodput, py::arg("job") = py::none(), py::arg("options") = py::none(),
        "Effective training time under failures (scaleplan goodput --json).");
  m.def("search", &Search, py::arg("job") = py::none(), py::arg("pins") = py::none(),
        py::arg("options") = py::none(),
        "The fastest plans that fit (scaleplan search --json); pins: plan keys to one value (pin) "
        "or a list (restrict); options: search keys (optimizer, top_k, threads, ...).");
  m.def("explore", &Explore, py::arg("job") = py::none(), py::arg("options") = py::none(),
        "Scale-across ablation (scaleplan explore --json); without a job, Llama 3 on two regions.");
  m.def("scale", &Scale, py::arg("job") = py::none(), py::arg("counts") = py::none(),
        py::arg("pins") = py::none(), py::arg("options") = py::none(), py::arg("goodput") = py::none(),
        py::arg("deadline_s") = 0.0,
        "The job at several GPU counts, each with its fastest plan and its goodput and time to "
        "train (scaleplan scale --json); counts: a list of GPU counts; pins as search's; options: "
        "search keys; goodput: the goodput keys of one job (failures, train_tokens, ...); "
        "deadline_s: name the count with the fewest GPU-hours that trains them in time.");
  m.def("pack", &Pack, py::arg("lengths") = py::none(), py::arg("synthetic") = "",
        py::arg("count") = py::none(), py::arg("seed") = py::none(), py::arg("model") = "llama3-8b",
        py::arg("packer") = sp::balance::PackStudyOptions{}.packer,
        py::arg("iterations") = sp::balance::PackStudyOptions{}.iterations,
        py::arg("cp") = sp::balance::PackStudyOptions{}.cp,
        py::arg("sharder") = sp::balance::PackStudyOptions{}.sharder,
        py::arg("packing") = py::none(),
        "Pack documents into micro-batches (scaleplan pack --json): lengths (a list) or a "
        "synthetic corpus of count documents drawn with seed (defaults as the CLI's); packing: "
        "the packer's keys (context, microbatches, ...).");
}
