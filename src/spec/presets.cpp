#include "spec/presets.h"

#include "core/text.h"

namespace scaleplan::spec {

std::vector<std::string> PresetNames(std::string_view kind) {
  std::vector<std::string> names;
  for (const EmbeddedFile& p : EmbeddedPresets()) {
    if (kind == p.kind) names.emplace_back(p.name);
  }
  return names;
}

Result<std::string> PresetText(std::string_view kind, std::string_view name) {
  for (const EmbeddedFile& p : EmbeddedPresets()) {
    if (kind == p.kind && name == p.name) return std::string(p.text);
  }
  // The folder's name as one preset is called: "models" -> "model", "ctr" and "ranking" stay.
  std::string singular(kind);
  if (singular.size() > 1 && singular.back() == 's') singular.pop_back();
  return Status::NotFound("unknown " + singular + " preset '" + std::string(name) + "' (allowed: " +
                          Join(PresetNames(kind), ", ") + ", or a path to a file)");
}

}  // namespace scaleplan::spec
