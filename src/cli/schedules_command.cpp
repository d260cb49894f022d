// scaleplan schedules: every pipeline schedule generated and validated for an example shape
// (schedule::Survey); --print one as a schedule file.
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/options.h"
#include "core/text.h"
#include "report/plan_report.h"
#include "report/spec_reference.h"
#include "schedule/schedule.h"

namespace scaleplan::cli {

namespace {

struct SchedulesArgs {
  int64_t pp = 4;
  int64_t vp = 2;
  int64_t microbatches = 8;
  std::string print;
};

const spec::Schema<SchedulesArgs>& SchedulesArgsSchema() {
  static const spec::Schema<SchedulesArgs> schema = [] {
    spec::Schema<SchedulesArgs> s("schedules");
    // Bounds: CheckScheduleSize decides the product; each factor within what it may list.
    const int64_t most = schedule::kMaxSchedulePasses;
    s.Integer("pp", &SchedulesArgs::pp, 1, most, "", "stages of the example");
    s.Integer("vp", &SchedulesArgs::vp, 1, most, "", "chunks per stage for interleaved schedules");
    s.Integer("microbatches", &SchedulesArgs::microbatches, 1, most, "",
              "micro-batches of the example");
    std::vector<std::string> names;
    for (const schedule::ScheduleInfo& info : schedule::Schedules()) names.push_back(info.name);
    s.OneOf("print", &SchedulesArgs::print, names,
            "print this schedule's pass lists as JSON (a --schedule-file)", /*allow_empty=*/true);
    return s;
  }();
  return schema;
}

class SchedulesCmd final : public Command {
 public:
  std::string_view name() const override { return "schedules"; }
  std::string_view summary() const override {
    return "List the pipeline schedules; each is generated and validated for an example shape";
  }
  void Register(CLI::App* app) override { options_.Register(app); }
  int Run(Io io) override { return Emit(io, "", Report()); }
  std::string Reference() const override {
    return report::CommandMarkdown(name(), summary(),
                                   {report::OptionsMarkdown(SchedulesArgsSchema())}, "");
  }

 private:
  Result<std::string> Report() const {
    SP_ASSIGN_OR_RETURN(SchedulesArgs args, options_.Parse());
    SP_ASSIGN_OR_RETURN(std::vector<schedule::SurveyRow> rows,
                        schedule::Survey(args.pp, args.vp, args.microbatches));
    for (const schedule::SurveyRow& row : rows) {
      if (row.info.name != args.print) continue;  // (an unknown name is refused by its OneOf)
      // A schedule of a fixed chunk count prints that count: a --vp given otherwise is refused,
      // not printed as another.
      if (options_.Given("vp") && row.vp != args.vp) {
        return Status::Invalid(fmt::format(
            "--vp = {} for --print = {}, which runs {} chunk{} a stage (allowed: --vp {}, or "
            "leave --vp out)",
            args.vp, args.print, row.vp, row.vp == 1 ? "" : "s", row.vp));
      }
      if (!row.schedule) return Status::Invalid("--print = " + args.print + ": " + row.verdict);
      return schedule::ScheduleJson(*row.schedule);
    }
    return report::SchedulesText(rows);
  }

  Options<SchedulesArgs> options_{SchedulesArgsSchema()};
};

}  // namespace

std::unique_ptr<Command> SchedulesCommand() { return std::make_unique<SchedulesCmd>(); }

}  // namespace scaleplan::cli
