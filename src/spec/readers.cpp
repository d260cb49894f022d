#include "spec/readers.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "core/depth.h"
#include "core/file.h"
#include "core/json.h"
#include "core/text.h"
#include "spec/presets.h"
#include "spec/yaml.h"

namespace scaleplan::spec {

std::string Where(const std::string& origin, const YAML::Node& node) {
  if (node.Mark().is_null()) return origin;
  return fmt::format("{}:{}", origin, node.Mark().line + 1);
}

Result<YAML::Node> ParseYaml(std::string_view text, const std::string& origin) {
  SP_RETURN_IF_ERROR(CheckText(text, origin));
  if (BracketDepth(text, kMaxJsonDepth, /*hash_comments=*/true) > kMaxJsonDepth) {
    return Status::Parse(fmt::format("{}: nested deeper than {} levels (allowed: at most {})",
                                     origin, kMaxJsonDepth, kMaxJsonDepth));
  }
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    // An empty document (a trailing ---) holds nothing to ignore.
    std::erase_if(documents, [](const YAML::Node& d) { return d.IsNull(); });
    if (documents.size() > 1) {
      return Status::Parse(fmt::format(
          "{}: holds {} YAML documents (allowed: one; a line of --- starts another, as does a "
          "second top-level {{...}} line of JSON Lines)",
          origin, documents.size()));
    }
    YAML::Node root = documents.empty() ? YAML::Node() : documents[0];
    if (!root.IsMap()) {
      return Status::Parse(fmt::format("{}: expected a YAML map of keys at the top level", origin));
    }
    return root;
  } catch (const YAML::Exception& e) {
    return Status::Parse(fmt::format("{}:{}:{}: malformed YAML: {}", origin, e.mark.line + 1,
                                     e.mark.column + 1, e.msg));
  }
}

// Every key of `map` is a plain scalar and appears once (yaml-cpp keeps both entries of a repeated
// key, and a later one would be silently ignored by a lookup).
Status CheckKeys(const YAML::Node& map, const std::string& origin, std::string_view section) {
  std::set<std::string> seen;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) {
      return Status::Parse(
          fmt::format("{}: {} has a key that is not a plain name (allowed: key: value)",
                      Where(origin, entry.first), section));
    }
    if (!seen.insert(entry.first.Scalar()).second) {
      return Status::Invalid(fmt::format("{}: {}.{} is given twice (allowed: once)",
                                         Where(origin, entry.first), section,
                                         entry.first.Scalar()));
    }
  }
  return Status::Ok();
}

namespace {

constexpr int kMaxBaseDepth = 8;

// The scalar under `key`, e.g. `base: llama3-8b`.
Result<std::string> ScalarAt(const YAML::Node& map, const char* key, const std::string& origin,
                             std::string_view section) {
  const YAML::Node node = map[key];
  if (!node.IsScalar()) {
    return Status::Parse(fmt::format("{}: {}.{} expected a plain value (a preset name or a file)",
                                     Where(origin, node), section, key));
  }
  return node.Scalar();
}

}  // namespace

bool IsQuoted(const YAML::Node& node) {
  // yaml-cpp tags a quoted scalar "!", a plain one "?", an explicit !!str with its full name.
  return node.IsScalar() && (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str");
}

Result<RawValue> ToRaw(const YAML::Node& node, const std::string& origin, std::string_view section,
                       std::string_view key, const std::string& where, const std::string& allowed) {
  RawValue raw;
  raw.origin = where.empty() ? Where(origin, node) : where;
  if (node.IsScalar()) {
    raw.text = node.Scalar();
    raw.quoted = IsQuoted(node);
    return raw;
  }
  if (node.IsSequence()) {
    raw.is_list = true;
    for (const YAML::Node& item : node) {
      if (!item.IsScalar()) {
        return Status::Parse(
            fmt::format("{}: {}.{} expected a list of plain values", raw.origin, section, key));
      }
      raw.items.push_back(item.Scalar());
      raw.quoted = raw.quoted || IsQuoted(item);  // a list of numbers refuses a quoted item
    }
    raw.text = Join(raw.items, ", ");
    return raw;
  }
  if (node.IsNull()) {
    return Status::Parse(fmt::format("{}: {}.{} has no value{}", raw.origin, section, key,
                                     allowed.empty() ? "" : " (allowed: " + allowed + ")"));
  }
  return Status::Parse(
      fmt::format("{}: {}.{} expected a plain value, found a map", raw.origin, section, key));
}

namespace {

std::string Directory(const std::string& origin) {
  std::filesystem::path p(origin);
  return p.has_parent_path() ? p.parent_path().string() : std::string();
}

}  // namespace

std::string ResolveRef(std::string_view ref, const std::string& from_origin) {
  std::filesystem::path p{std::string(ref)};
  if (p.is_absolute() || from_origin.rfind("preset ", 0) == 0) return p.string();
  std::string dir = Directory(from_origin);
  if (dir.empty() || std::filesystem::exists(p)) return p.string();
  return (std::filesystem::path(dir) / p).string();
}

namespace {

struct Source {
  std::string text;
  std::string origin;
};

Result<Source> Fetch(std::string_view kind, std::string_view ref, const std::string& from_origin) {
  if (LooksLikePath(ref)) {
    std::string path = ResolveRef(ref, from_origin);
    SP_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    return Source{std::move(text), path};
  }
  Result<std::string> text = PresetText(kind, ref);
  if (!text.ok()) {
    // Named from a file (a cluster's gpu, a base): the file that names it.
    return from_origin.empty() ? text.status() : text.status().WithContext(from_origin);
  }
  return Source{std::move(text).value(), fmt::format("preset {}/{}.yaml", kind, ref)};
}

Result<ModelSpec> LoadModelFrom(std::string_view ref, const std::string& from_origin, int depth);
Result<GpuSpec> LoadGpuFrom(std::string_view ref, const std::string& from_origin, int depth);

Result<ModelSpec> ModelFromMap(const YAML::Node& map, const std::string& origin, int depth) {
  ModelSpec model;
  if (map["base"]) {
    if (depth >= kMaxBaseDepth) {
      return Status::Invalid(fmt::format("{}: model.base nests deeper than {} levels (a cycle?)",
                                         Where(origin, map["base"]), kMaxBaseDepth));
    }
    SP_ASSIGN_OR_RETURN(std::string base, ScalarAt(map, "base", origin, "model"));
    SP_ASSIGN_OR_RETURN(model, LoadModelFrom(base, origin, depth + 1));
  }
  SP_RETURN_IF_ERROR(ApplyMap(ModelSchema(), model, map, origin, {"base"}));
  return model;
}

Result<GpuSpec> GpuFromMap(const YAML::Node& map, const std::string& origin, int depth) {
  GpuSpec gpu;
  if (map["base"]) {
    if (depth >= kMaxBaseDepth) {
      return Status::Invalid(fmt::format("{}: gpu.base nests deeper than {} levels (a cycle?)",
                                         Where(origin, map["base"]), kMaxBaseDepth));
    }
    SP_ASSIGN_OR_RETURN(std::string base, ScalarAt(map, "base", origin, "gpu"));
    SP_ASSIGN_OR_RETURN(gpu, LoadGpuFrom(base, origin, depth + 1));
  }
  SP_RETURN_IF_ERROR(ApplyMap(GpuSchema(), gpu, map, origin, {"base"}));
  return gpu;
}

Result<ModelSpec> LoadModelFrom(std::string_view ref, const std::string& from_origin, int depth) {
  SP_ASSIGN_OR_RETURN(Source source, Fetch("models", ref, from_origin));
  std::string lower = ToLower(source.origin);
  if (lower.size() >= 5 && lower.substr(lower.size() - 5) == ".json") {
    return ParseHfConfig(source.text, source.origin);
  }
  SP_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(source.text, source.origin));
  return ModelFromMap(root, source.origin, depth);
}

Result<GpuSpec> LoadGpuFrom(std::string_view ref, const std::string& from_origin, int depth) {
  SP_ASSIGN_OR_RETURN(Source source, Fetch("gpus", ref, from_origin));
  SP_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(source.text, source.origin));
  return GpuFromMap(root, source.origin, depth);
}

Result<GpuSpec> GpuFromNode(const YAML::Node& node, const std::string& origin, std::string* name) {
  if (node.IsScalar()) {
    *name = node.Scalar();
    return LoadGpuFrom(node.Scalar(), origin, 0);
  }
  if (node.IsMap()) {
    SP_ASSIGN_OR_RETURN(GpuSpec gpu, GpuFromMap(node, origin, 0));
    *name = gpu.name;
    return gpu;
  }
  return Status::Parse(fmt::format("{}: gpu expected a preset name, a file or a map of gpu keys",
                                   Where(origin, node)));
}

Result<ClusterSpec> ClusterFromMap(const YAML::Node& map, const std::string& origin) {
  ClusterSpec cluster;
  SP_RETURN_IF_ERROR(ApplyMap(ClusterSchema(), cluster, map, origin, {"gpu", "tiers"}));
  if (!map["gpu"]) {
    return Status::Invalid(fmt::format("{}: cluster.gpu is missing (allowed: {})", origin,
                                       "a GPU preset name, a file or a map"));
  }
  SP_ASSIGN_OR_RETURN(cluster.gpu, GpuFromNode(map["gpu"], origin, &cluster.gpu_name));
  const YAML::Node tiers = map["tiers"];
  if (tiers) {
    if (!tiers.IsSequence()) {
      return Status::Parse(
          fmt::format("{}: cluster.tiers expected a list of tier maps", Where(origin, tiers)));
    }
    for (const YAML::Node& item : tiers) {
      if (!item.IsMap()) {
        return Status::Parse(
            fmt::format("{}: cluster.tiers expected a list of tier maps", Where(origin, item)));
      }
      TierSpec tier;
      SP_RETURN_IF_ERROR(ApplyMap(TierSchema(), tier, item, origin, {}));
      cluster.tiers.push_back(tier);
    }
  }
  return cluster;
}

// A framework map: its keys, and `plan`, a map of plan keys read over PlanSpec's defaults (or
// over those of the framework named by `base`, whose other keys it overrides likewise).
Result<FrameworkSpec> FrameworkFromMap(const YAML::Node& map, const std::string& origin,
                                       int depth = 0) {
  if (!map.IsMap()) {
    return Status::Parse(
        fmt::format("{}: framework expected a map of framework keys", Where(origin, map)));
  }
  FrameworkSpec framework;
  if (map["base"]) {
    if (depth >= kMaxBaseDepth) {
      return Status::Invalid(
          fmt::format("{}: framework.base nests deeper than {} levels (a cycle?)",
                      Where(origin, map["base"]), kMaxBaseDepth));
    }
    // A framework built on another is a different one: calibrations and reports tell frameworks
    // apart by name, so it must not carry its base's.
    if (!map["name"]) {
      return Status::Invalid(fmt::format(
          "{}: framework.base needs framework.name beside it (allowed: a name of the new "
          "framework, e.g. name: my-{})",
          Where(origin, map["base"]), map["base"].IsScalar() ? map["base"].Scalar() : "stack"));
    }
    SP_ASSIGN_OR_RETURN(std::string base, ScalarAt(map, "base", origin, "framework"));
    SP_ASSIGN_OR_RETURN(Source source, Fetch("frameworks", base, origin));
    SP_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(source.text, source.origin));
    SP_ASSIGN_OR_RETURN(framework, FrameworkFromMap(root, source.origin, depth + 1));
  }
  SP_RETURN_IF_ERROR(ApplyMap(FrameworkSchema(), framework, map, origin, {"plan", "base"}));
  const YAML::Node plan = map["plan"];
  if (plan) {
    if (!plan.IsMap()) {
      return Status::Parse(
          fmt::format("{}: framework.plan expected a map of plan keys", Where(origin, plan)));
    }
    SP_RETURN_IF_ERROR(ApplyMap(PlanSchema(), framework.plan, plan, origin, {}));
  }
  SP_RETURN_IF_ERROR(ValidateFramework(framework).WithContext(origin));
  return framework;
}

}  // namespace

bool LooksLikePath(std::string_view ref) {
  std::string lower = ToLower(ref);
  auto ends_with = [&](std::string_view suffix) {
    return lower.size() >= suffix.size() && lower.substr(lower.size() - suffix.size()) == suffix;
  };
  return ref == "-" || ref.find('/') != std::string_view::npos || ends_with(".yaml") ||
         ends_with(".yml") || ends_with(".json");
}

Result<int64_t> ParseGpuCount(std::string_view text, const std::string& origin, bool quoted) {
  Result<int64_t> gpus = quoted ? Result<int64_t>(Status::Invalid("quoted")) : ParseInteger(text);
  if (!gpus.ok() || *gpus < 1 || *gpus > kMaxRanks) {
    return Status::Invalid(fmt::format("{}: job.gpus = {}{} (allowed: integer from 1 to {})",
                                       origin,
                                       quoted ? "\"" + Printable(text, 60) + "\"" : Printable(text, 60),
                                       quoted ? " is quoted text, not an integer" : "", kMaxRanks))
        .WithKey("job.gpus");
  }
  return *gpus;
}

Result<std::string> ReadFile(const std::string& path) {
  return ReadInputFile(path, kMaxSpecFileBytes);
}

Result<ModelSpec> LoadModel(std::string_view ref) {
  SP_ASSIGN_OR_RETURN(ModelSpec model, LoadModelFrom(ref, "", 0));
  SP_RETURN_IF_ERROR(ValidateModel(model).WithContext(std::string(ref)));
  return model;
}

Result<GpuSpec> LoadGpu(std::string_view ref) {
  SP_ASSIGN_OR_RETURN(GpuSpec gpu, LoadGpuFrom(ref, "", 0));
  SP_RETURN_IF_ERROR(ValidateGpu(gpu).WithContext(std::string(ref)));
  return gpu;
}

Result<ClusterSpec> LoadCluster(std::string_view ref) {
  SP_ASSIGN_OR_RETURN(Source source, Fetch("clusters", ref, ""));
  return ParseClusterYaml(source.text, source.origin);
}

Result<ModelSpec> ParseModelYaml(std::string_view text, const std::string& origin) {
  SP_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(text, origin));
  SP_ASSIGN_OR_RETURN(ModelSpec model, ModelFromMap(root, origin, 0));
  SP_RETURN_IF_ERROR(ValidateModel(model).WithContext(origin));
  return model;
}

Result<ClusterSpec> ParseClusterYaml(std::string_view text, const std::string& origin) {
  SP_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(text, origin));
  SP_ASSIGN_OR_RETURN(ClusterSpec cluster, ClusterFromMap(root, origin));
  SP_RETURN_IF_ERROR(ValidateCluster(cluster).WithContext(origin));
  return cluster;
}

Result<JobSpec> ParseJobYaml(std::string_view text, const std::string& origin,
                             std::string_view framework) {
  SP_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(text, origin));
  JobSpec job;
  static constexpr std::string_view kKeys[] = {
      "description", "source", "model", "cluster", "gpu", "gpus", "framework", "plan", "workload"};
  SP_RETURN_IF_ERROR(CheckKeys(root, origin, "job"));
  for (const auto& entry : root) {
    std::string key = entry.first.Scalar();
    bool known = false;
    for (std::string_view k : kKeys) known = known || key == k;
    if (!known) {
      return Status::Invalid(fmt::format(
          "{}: unknown key '{}' in job (allowed: description, source, model, cluster, gpu, gpus, "
          "framework, plan, workload)",
          Where(origin, entry.first), Printable(key, 60)))
          .WithKey("job." + Printable(key, 60));
    }
    // Notes for the reader, not read further; still text, not a list or map.
    if ((key == "description" || key == "source") && !entry.second.IsScalar()) {
      return Status::Invalid(fmt::format("{}: job.{} must be text (a note), not a list or map",
                                         Where(origin, entry.second), key))
          .WithKey("job." + key);
    }
  }
  if (!root["model"])
    return Status::Invalid(
        origin + ": job.model is missing (allowed: a model preset name, a file or a map)");
  if (!root["cluster"])
    return Status::Invalid(
        origin + ": job.cluster is missing (allowed: a cluster preset name, a file or a map)");

  const YAML::Node model = root["model"];
  if (model.IsScalar()) {
    SP_ASSIGN_OR_RETURN(job.model, LoadModelFrom(model.Scalar(), origin, 0));
  } else if (model.IsMap()) {
    SP_ASSIGN_OR_RETURN(job.model, ModelFromMap(model, origin, 0));
  } else {
    return Status::Parse(
        fmt::format("{}: job.model expected a preset name, a file or a map", Where(origin, model)));
  }
  SP_RETURN_IF_ERROR(ValidateModel(job.model).WithContext(origin));

  const YAML::Node cluster = root["cluster"];
  if (cluster.IsScalar()) {
    SP_ASSIGN_OR_RETURN(Source source, Fetch("clusters", cluster.Scalar(), origin));
    SP_ASSIGN_OR_RETURN(YAML::Node cluster_root, ParseYaml(source.text, source.origin));
    SP_ASSIGN_OR_RETURN(job.cluster, ClusterFromMap(cluster_root, source.origin));
  } else if (cluster.IsMap()) {
    SP_ASSIGN_OR_RETURN(job.cluster, ClusterFromMap(cluster, origin));
  } else {
    return Status::Parse(fmt::format("{}: job.cluster expected a preset name, a file or a map",
                                     Where(origin, cluster)));
  }
  if (root["gpu"]) {
    SP_ASSIGN_OR_RETURN(job.cluster.gpu, GpuFromNode(root["gpu"], origin, &job.cluster.gpu_name));
  }
  SP_RETURN_IF_ERROR(ValidateCluster(job.cluster).WithContext(origin));

  if (root["gpus"]) {
    std::string key_at;  // the key's line: an empty value has the position of what follows it
    for (const auto& entry : root) {
      if (entry.first.IsScalar() && entry.first.Scalar() == "gpus") {
        key_at = Where(origin, entry.first);
      }
    }
    SP_ASSIGN_OR_RETURN(RawValue raw, ToRaw(root["gpus"], origin, "job", "gpus", key_at,
                                            fmt::format("integer from 1 to {}", kMaxRanks)));
    if (raw.is_list) {
      return Status::Invalid(fmt::format("{}: job.gpus = [{}] is a list, not a single value "
                                         "(allowed: integer from 1 to {})",
                                         raw.origin, Printable(raw.text, 60), kMaxRanks))
          .WithKey("job.gpus");
    }
    SP_ASSIGN_OR_RETURN(job.gpus, ParseGpuCount(raw.text, raw.origin, raw.quoted));
  }
  if (!framework.empty()) {
    SP_ASSIGN_OR_RETURN(job.framework, LoadFramework(framework));
  } else if (root["framework"]) {
    const YAML::Node node = root["framework"];
    if (node.IsScalar()) {
      SP_ASSIGN_OR_RETURN(Source source, Fetch("frameworks", node.Scalar(), origin));
      SP_ASSIGN_OR_RETURN(YAML::Node framework_root, ParseYaml(source.text, source.origin));
      SP_ASSIGN_OR_RETURN(job.framework, FrameworkFromMap(framework_root, source.origin));
    } else if (node.IsMap()) {
      SP_ASSIGN_OR_RETURN(job.framework, FrameworkFromMap(node, origin));
    } else {
      return Status::Parse(fmt::format("{}: job.framework expected a preset name, a file or a map",
                                       Where(origin, node)));
    }
  }
  job.plan = job.framework.plan;
  for (const char* section : {"plan", "workload"}) {
    const YAML::Node node = root[section];
    if (!node) continue;
    if (!node.IsMap()) {
      return Status::Parse(
          fmt::format("{}: job.{} expected a map of keys", Where(origin, node), section));
    }
    if (std::string_view(section) == "plan") {
      SP_RETURN_IF_ERROR(ApplyMap(PlanSchema(), job.plan, node, origin, {}));
    } else {
      SP_RETURN_IF_ERROR(ApplyMap(WorkloadSchema(), job.workload, node, origin, {}));
    }
  }
  return job;
}

Result<JobSpec> LoadJob(std::string_view ref, std::string_view framework) {
  SP_ASSIGN_OR_RETURN(Source source, Fetch("jobs", ref, ""));
  return ParseJobYaml(source.text, source.origin, framework);
}

Result<FrameworkSpec> LoadFramework(std::string_view ref) {
  SP_ASSIGN_OR_RETURN(Source source, Fetch("frameworks", ref, ""));
  SP_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(source.text, source.origin));
  return FrameworkFromMap(root, source.origin);
}

}  // namespace scaleplan::spec
