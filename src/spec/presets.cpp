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
  std::string singular(kind.substr(0, kind.size() - 1));
  return Status::NotFound("unknown " + singular + " preset '" + std::string(name) + "' (allowed: " +
                          Join(PresetNames(kind), ", ") + ", or a path to a file)");
}

}  // namespace scaleplan::spec
