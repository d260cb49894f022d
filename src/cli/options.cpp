#include "cli/options.h"

#include <fmt/format.h>

#include <vector>

#include "core/text.h"

namespace scaleplan::cli {

std::string_view TypeName(spec::ValueKind kind) {
  switch (kind) {
    case spec::ValueKind::kInteger:
      return "INT";
    case spec::ValueKind::kNumber:
      return "NUMBER";
    case spec::ValueKind::kChoice:
      return "NAME";
    case spec::ValueKind::kList:
      return "LIST";
    case spec::ValueKind::kBoolean:
      return "BOOL";
    default:
      return "TEXT";
  }
}

std::string OptionHelp(const spec::FieldInfo& info, const nlohmann::json& default_value) {
  std::string help = info.help;
  if (!info.unit.empty()) help += " [" + info.unit + "]";
  if (info.kind == spec::ValueKind::kBoolean) return help;
  bool shown = (default_value.is_string() && !default_value.get<std::string>().empty()) ||
               (default_value.is_number() && default_value.get<double>() != 0) ||
               (default_value.is_array() && !default_value.empty());
  std::vector<std::string> notes;
  if (info.kind != spec::ValueKind::kString) notes.push_back(info.allowed);  // not "any text"
  if (shown) {
    notes.push_back("default " + (default_value.is_string() ? default_value.get<std::string>()
                                                            : default_value.dump()));
  }
  return notes.empty() ? help : help + " (" + Join(notes, "; ") + ")";
}

}  // namespace scaleplan::cli
