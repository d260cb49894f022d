#include "cli/options.h"

#include <fmt/format.h>

namespace scaleplan::cli {

std::string OptionHelp(const spec::FieldInfo& info, const nlohmann::json& default_value) {
  std::string help = info.help;
  if (!info.unit.empty()) help += " [" + info.unit + "]";
  if (info.kind == spec::ValueKind::kBoolean) return help;
  bool shown = (default_value.is_string() && !default_value.get<std::string>().empty()) ||
               (default_value.is_number() && default_value.get<double>() != 0) ||
               (default_value.is_array() && !default_value.empty());
  help += " (" + info.allowed;
  if (shown) {
    help += "; default " + (default_value.is_string() ? default_value.get<std::string>()
                                                      : default_value.dump());
  }
  return help + ")";
}

}  // namespace scaleplan::cli
