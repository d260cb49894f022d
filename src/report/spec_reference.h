// The reference of every input key, generated from the schemas (`scaleplan spec`,
// docs/SPEC.md): one table per section with key, flag, kind, unit, default and allowed values,
// and one table per command of its own options (cli/options.h).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "spec/schema.h"

namespace scaleplan::report {

// `commands`: the commands' sections (CommandMarkdown), appended after the job keys.
std::string SpecReferenceMarkdown(const std::string& commands = "");

// A command's section: its name and summary, then its options' tables.
std::string CommandMarkdown(std::string_view name, std::string_view summary,
                            const std::vector<std::string>& tables, std::string_view note);

// The options of one schema (only the keys in `only`, when given): flag, kind, unit, default,
// allowed, meaning.
template <class T>
std::string OptionsMarkdown(const spec::Schema<T>& schema, const std::vector<std::string>& only = {}) {
  std::string out =
      "| flag | kind | unit | default | allowed | meaning |\n|---|---|---|---|---|---|\n";
  const T defaults{};
  for (const spec::Field<T>& f : schema.fields()) {
    if (!f.set) continue;
    if (!only.empty() && std::find(only.begin(), only.end(), f.info.key) == only.end()) continue;
    std::string def = f.get ? f.get(defaults).dump() : "";
    if (def == "\"\"" || def == "null" || def == "[]" || def == "false") def = "";
    std::string flag = "`--" + f.info.flag + "`";
    if (!f.info.short_flag.empty()) flag += ", `-" + f.info.short_flag + "`";
    const bool is_flag = f.info.kind == spec::ValueKind::kBoolean;
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", flag,
                       is_flag ? "flag" : spec::ValueKindName(f.info.kind), f.info.unit, def,
                       is_flag ? "no value" : f.info.allowed, f.info.help);
  }
  return out;
}

}  // namespace scaleplan::report
