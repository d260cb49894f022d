#include "goodput/failures.h"

#include <fmt/format.h>

#include <cmath>
#include <set>

#include "core/text.h"
#include "spec/presets.h"
#include "spec/readers.h"
#include "spec/specs.h"
#include "spec/yaml.h"

namespace scaleplan::goodput {

namespace {

const std::vector<std::pair<std::string, FailureUnit>>& UnitChoices() {
  static const std::vector<std::pair<std::string, FailureUnit>> choices = {
      {"gpu", FailureUnit::kGpu}, {"node", FailureUnit::kNode}, {"job", FailureUnit::kJob}};
  return choices;
}

}  // namespace

std::string_view FailureUnitName(FailureUnit unit) { return spec::ChoiceName(UnitChoices(), unit); }

const spec::Schema<FailureCause>& FailureCauseSchema() {
  static const spec::Schema<FailureCause> schema = [] {
    using C = FailureCause;
    spec::Schema<C> s("failures.causes");
    s.Text("name", &C::name, "the cause (unique in the model; required)")
        .Text("category", &C::category, "a group for the report (gpu, host, network, ...)")
        .Choice("per", &C::per, UnitChoices(),
                "what the rate scales with: gpu (per GPU), node (per server) or job (one per job; "
                "required)")
        .Number("count", &C::count, 0, kMaxCauseCount, "",
                "interruptions of this cause seen over the model's window (required)")
        .Boolean("planned", &C::planned,
                 "announced (maintenance): the job checkpoints first and loses no work");
    return s;
  }();
  return schema;
}

const spec::Schema<FailureModel>& FailureModelSchema() {
  static const spec::Schema<FailureModel> schema = [] {
    using M = FailureModel;
    spec::Schema<M> s("failures");
    s.Text("name", &M::name, "model name")
        .Text("description", &M::description, "one line")
        .Text("source", &M::source, "where the counts come from")
        .Number("window_s", &M::window_s, 60, kMaxFailureWindowS, "s",
                "the observation window the counts cover (required; 54 days = 4665600)")
        .Integer("gpus", &M::gpus, 1, spec::kMaxRanks, "", "GPUs the observed job held (required)")
        .Integer("gpus_per_node", &M::gpus_per_node, 1, 4096, "",
                 "GPUs per server of the observed job (required)");
    spec::FieldInfo causes;
    causes.key = "causes";
    causes.kind = spec::ValueKind::kTable;
    causes.help = "the causes, a list of maps (failures.causes keys)";
    causes.allowed = fmt::format("1 to {} maps", kMaxCauses);
    s.Custom(causes, nullptr, [](const M& m) {
      nlohmann::json out = nlohmann::json::array();
      for (const FailureCause& c : m.causes) out.push_back(FailureCauseSchema().ToJson(c));
      return out;
    });
    return s;
  }();
  return schema;
}

Result<FailureModel> ParseFailureModel(std::string_view text, const std::string& origin) {
  SP_ASSIGN_OR_RETURN(YAML::Node root, spec::ParseYaml(text, origin));
  FailureModel out;
  SP_RETURN_IF_ERROR(spec::ApplyMap(FailureModelSchema(), out, root, origin, {"causes"}));
  const YAML::Node causes = root["causes"];
  if (!causes || !causes.IsSequence()) {
    return Status::Parse(fmt::format(
        "{}: failures.causes expected a list of maps (allowed: - {{name: faulty_gpu, per: gpu, "
        "count: 148}})",
        causes ? spec::Where(origin, causes) : origin));
  }
  for (const YAML::Node& item : causes) {
    if (!item.IsMap()) {
      return Status::Parse(
          fmt::format("{}: failures.causes expected a list of maps", spec::Where(origin, item)));
    }
    if (static_cast<int64_t>(out.causes.size()) >= kMaxCauses) {
      return Status::Invalid(fmt::format("{}: failures.causes has more than {} causes",
                                         spec::Where(origin, item), kMaxCauses));
    }
    // Without them a cause would silently count 0 interruptions, or scale per GPU.
    for (const char* key : {"per", "count"}) {
      if (!item[key]) {
        return Status::Parse(fmt::format(
            "{}: failures.causes: a cause without {} (allowed: every cause gives name, per and "
            "count, e.g. {{name: faulty_gpu, per: gpu, count: 148}})",
            spec::Where(origin, item), key));
      }
    }
    FailureCause c;
    SP_RETURN_IF_ERROR(spec::ApplyMap(FailureCauseSchema(), c, item, origin, {}));
    out.causes.push_back(std::move(c));
  }
  SP_RETURN_IF_ERROR(ValidateFailureModel(out).WithContext(origin));
  return out;
}

Result<FailureModel> LoadFailureModel(std::string_view ref) {
  if (spec::LooksLikePath(ref)) {
    std::string path(ref);
    SP_ASSIGN_OR_RETURN(std::string text, spec::ReadFile(path));
    SP_ASSIGN_OR_RETURN(FailureModel model, ParseFailureModel(text, path));
    if (model.name == "custom") model.name = Printable(path, 200);
    return model;
  }
  SP_ASSIGN_OR_RETURN(std::string text, spec::PresetText("failures", ref));
  SP_ASSIGN_OR_RETURN(FailureModel model,
                      ParseFailureModel(text, fmt::format("preset failures/{}.yaml", ref)));
  if (model.name == "custom") model.name = std::string(ref);
  return model;
}

Status ValidateFailureModel(const FailureModel& model) {
  SP_RETURN_IF_ERROR(FailureModelSchema().CheckValues(model));
  if (model.causes.empty()) {
    return Status::Invalid(
        "failures.causes is empty (allowed: at least one cause, e.g. {name: faulty_gpu, per: "
        "gpu, count: 148})");
  }
  if (model.gpus_per_node > model.gpus) {
    return Status::Invalid(fmt::format(
        "failures.gpus_per_node = {} is more than failures.gpus = {} (allowed: at most the GPUs "
        "of the observed job)",
        model.gpus_per_node, model.gpus));
  }
  if (model.gpus % model.gpus_per_node != 0) {  // a per-node rate needs whole nodes
    return Status::Invalid(fmt::format(
        "failures.gpus = {} is not whole nodes of failures.gpus_per_node = {} (allowed: a "
        "multiple of {})",
        model.gpus, model.gpus_per_node, model.gpus_per_node));
  }
  std::set<std::string> names;
  double unplanned = 0;
  for (const FailureCause& c : model.causes) {
    if (c.name.empty()) {
      return Status::Invalid("failures.causes: a cause has no name (allowed: a unique name)");
    }
    if (!names.insert(c.name).second) {
      return Status::Invalid(
          fmt::format("failures.causes: name = {} appears twice (allowed: unique names)",
                      Printable(c.name, 64)));
    }
    SP_RETURN_IF_ERROR(FailureCauseSchema().CheckValues(c));
    if (!c.planned) unplanned += c.count;
  }
  if (unplanned <= 0) {
    return Status::Invalid(
        "failures.causes: no unplanned cause has a count above 0 (allowed: at least one "
        "unplanned cause seen; without failures there is nothing to model)");
  }
  return Status::Ok();
}

double CauseRatePerS(const FailureModel& model, const FailureCause& cause, int64_t gpus,
                     int64_t gpus_per_node) {
  double observed_units = 1, units = 1;
  switch (cause.per) {
    case FailureUnit::kGpu:
      observed_units = static_cast<double>(model.gpus);
      units = static_cast<double>(gpus);
      break;
    case FailureUnit::kNode:
      observed_units =
          std::ceil(static_cast<double>(model.gpus) / static_cast<double>(model.gpus_per_node));
      units = std::ceil(static_cast<double>(gpus) / static_cast<double>(gpus_per_node));
      break;
    case FailureUnit::kJob:
      break;
  }
  return cause.count / (model.window_s * observed_units) * units;
}

}  // namespace scaleplan::goodput
