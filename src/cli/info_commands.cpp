// scaleplan presets (the embedded presets) and scaleplan spec (the reference of every input key
// and command option).
#include "cli/command.h"
#include "cli/options.h"
#include "report/output.h"
#include "report/plan_report.h"
#include "report/spec_reference.h"

namespace scaleplan::cli {

namespace {

struct PresetsArgs {
  bool json = false;
};

const spec::Schema<PresetsArgs>& PresetsArgsSchema() {
  static const spec::Schema<PresetsArgs> schema = [] {
    spec::Schema<PresetsArgs> s("presets");
    s.Boolean("json", &PresetsArgs::json, "print as JSON");
    return s;
  }();
  return schema;
}

class PresetsCmd final : public Command {
 public:
  std::string_view name() const override { return "presets"; }
  std::string_view summary() const override { return "List the embedded presets, one line each"; }
  void Register(CLI::App* app) override { options_.Register(app); }
  int Run(Io io) override {
    Result<PresetsArgs> args = options_.Parse();
    if (!args.ok()) return Fail(io.err, args.status());
    return Emit(io, "",
                args->json ? report::JsonText(report::PresetsJson())
                           : Result<std::string>(report::PresetsText()));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(PresetsArgsSchema())}, "");
  }

 private:
  Options<PresetsArgs> options_{PresetsArgsSchema()};
};

class SpecCmd final : public Command {
 public:
  std::string_view name() const override { return "spec"; }
  std::string_view summary() const override {
    return "Print the reference of every input key and command option (Markdown)";
  }
  void Register(CLI::App*) override {}
  int Run(Io io) override {
    std::string commands;
    for (const auto& command : Commands()) commands += command->Reference();
    return Emit(io, "", report::SpecReferenceMarkdown(commands));
  }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(), {}, "No options.");
  }
};

}  // namespace

std::unique_ptr<Command> PresetsCommand() { return std::make_unique<PresetsCmd>(); }
std::unique_ptr<Command> SpecCommand() { return std::make_unique<SpecCmd>(); }

}  // namespace scaleplan::cli
