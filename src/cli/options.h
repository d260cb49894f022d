// A command's options, defined once as a spec::Schema<Args> (flag, kind, unit, help, bounds; the
// default is the value in a default-constructed Args): the CLI flags, the help text, the error
// for a bad value and the reference in docs/SPEC.md all derive from it, as for the job keys.
//
// Every value is taken as text and set through the schema after the parse, so a number option
// reads "1e6" and "16Mi" as spec values do, a value out of its bounds is refused with the
// schema's one-line error naming the flag, and a Boolean field is a flag without a value.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "core/status.h"
#include "spec/schema.h"

namespace scaleplan::cli {

// The help line of a field: its help, unit, what is allowed and its default when it has one
// (a non-empty text, a non-zero number).
std::string OptionHelp(const spec::FieldInfo& info, const nlohmann::json& default_value);
// What --help shows for a value of this kind: INT, NUMBER, NAME, LIST, BOOL, TEXT.
std::string_view TypeName(spec::ValueKind kind);

template <class Args>
class Options {
 public:
  explicit Options(const spec::Schema<Args>& schema) : schema_(schema) {}

  // Adds one CLI option per settable field to `app` (only the keys in `only`, when given). The
  // object must outlive the parse.
  void Register(CLI::App* app, const std::vector<std::string>& only = {}) {
    const Args defaults;
    for (const spec::Field<Args>& f : schema_.fields()) {
      if (!f.set) continue;
      if (!only.empty() && std::find(only.begin(), only.end(), f.info.key) == only.end()) continue;
      auto slot = std::make_unique<Slot>();
      slot->key = f.info.key;
      slot->flag = "--" + f.info.flag;
      std::string names = slot->flag;
      if (!f.info.short_flag.empty()) names += ",-" + f.info.short_flag;
      std::string help = OptionHelp(f.info, f.get ? f.get(defaults) : nlohmann::json());
      slot->boolean = f.info.kind == spec::ValueKind::kBoolean;
      // (add_flag(name, text) would bind the flag to the text; the help goes in separately.)
      slot->option = slot->boolean ? app->add_flag(names)->description(help)
                                   : app->add_option(names, slot->text, help)
                                         ->type_name(std::string(TypeName(f.info.kind)));
      slots_.push_back(std::move(slot));
    }
  }

  // The defaults with every given option set through the schema, in the schema's order.
  Result<Args> Parse() const {
    Args args;
    for (const auto& slot : slots_) {
      if (slot->option->count() == 0) continue;
      // A flag is "true" unless given a value (--json=false), which the schema reads as any
      // boolean (a bad one is the schema's error, not CLI11's exception).
      std::string text = slot->text;
      // An empty value given (--emit '', -o '') would read as the option left out: refused.
      if (!slot->boolean && text.empty()) {
        const spec::Field<Args>* f = schema_.Find(slot->key);
        const std::string allowed =
            f != nullptr && f->info.kind != spec::ValueKind::kString && !f->info.allowed.empty()
                ? f->info.allowed
                : std::string("text that is not empty");
        return Status::Invalid(slot->flag + " = '' (allowed: " + allowed +
                               "; leave the option out for its default)")
            .WithKey(schema_.section() + "." + slot->key);
      }
      if (slot->boolean) {
        const auto& given = slot->option->results();
        text = given.empty() || given.back().empty() ? "true" : given.back();
      }
      SP_RETURN_IF_ERROR(schema_.Set(args, slot->key, spec::ScalarValue(text, slot->flag)));
    }
    // The report's file (AddReportOptions' --output) can be written: checked before the work,
    // not after it.
    if (const spec::Field<Args>* f = schema_.Find("output"); f != nullptr && f->get) {
      const nlohmann::json out = f->get(args);
      if (out.is_string() && !out.get<std::string>().empty()) {
        SP_RETURN_IF_ERROR(DistinctOutputs({out.get<std::string>()}));
      }
    }
    return args;
  }

  // Whether the option for `key` was given.
  bool Given(std::string_view key) const {
    for (const auto& slot : slots_) {
      if (slot->key == key) return slot->option->count() > 0;
    }
    return false;
  }

  // The flag of `key` as typed on the command line ("--max-wait").
  std::string Flag(std::string_view key) const {
    const spec::Field<Args>* f = schema_.Find(key);
    return f == nullptr ? std::string(key) : "--" + f->info.flag;
  }

  // The flag of a key named with this schema's section ("train.max_eval_examples" under
  // "train"), or "" when it is not one of this schema's keys.
  std::string FlagOf(std::string_view qualified) const {
    const std::string& section = schema_.section();
    if (!qualified.starts_with(section) || qualified.size() <= section.size() ||
        qualified[section.size()] != '.') {
      return "";
    }
    const std::string_view key = qualified.substr(section.size() + 1);
    return schema_.Find(key) == nullptr ? "" : Flag(key);
  }

  const spec::Schema<Args>& schema() const { return schema_; }

 private:
  struct Slot {
    std::string key;
    std::string flag;
    std::string text;
    bool boolean = false;
    CLI::Option* option = nullptr;
  };
  const spec::Schema<Args>& schema_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

// --json and --output, shared by the commands that print a report: each command's Args has
// `bool json = false;` and `std::string output;` (empty: standard output).
template <class Args>
void AddReportOptions(spec::Schema<Args>& schema) {
  schema.Boolean("json", &Args::json, "print the machine-readable report");
  schema
      .Text("output", &Args::output,
            "write the report to FILE (atomically) instead of standard output")
      .Alias("o");
}

// --html FILE, for the commands that draw their report as a page too (report/html_report.h): the
// command's Args has `std::string html;` (empty: no page).
template <class Args>
void AddHtmlOption(spec::Schema<Args>& schema) {
  schema.Text("html", &Args::html,
              "also write the report as one self-contained HTML page with plots to FILE "
              "(atomically; no network needed to view it)");
}

// What a library error calls an option given its key ("train.max_eval_examples"): the flag of
// the first of `options` whose schema has it, else the key. The options must outlive the result.
template <class... O>
std::function<std::string(std::string_view)> FlagsOf(const O&... options) {
  return [&options...](std::string_view key) {
    std::string flag;
    ((flag = flag.empty() ? options.FlagOf(key) : flag), ...);
    return flag.empty() ? std::string(key) : flag;
  };
}

}  // namespace scaleplan::cli
