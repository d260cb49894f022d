// The commands of `scaleplan`, one file each (src/cli/<name>.cpp): a command declares its options
// as a schema (cli/options.h), parses, calls one library function and hands the result to
// report/. Commands() is the table the entry point (cli/commands.cpp) builds the parser from and
// `scaleplan spec` documents.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/processes.h"
#include "core/status.h"

namespace scaleplan::cli {

struct Io {
  std::ostream& out;
  std::ostream& err;
  // The processes the command runs in (mpirun's ranks; nullptr: this one alone). Only rank 0
  // prints the report and writes files; the other ranks discard their report and print their
  // errors prefixed with their rank.
  const Processes* processes = nullptr;
};

// Whether this process prints the report (rank 0, or alone).
inline bool Reports(const Io& io) { return io.processes == nullptr || io.processes->rank() == 0; }

class Command {
 public:
  virtual ~Command() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view summary() const = 0;
  // Adds the command's options to `app` (created with the name and summary).
  virtual void Register(CLI::App* app) = 0;
  // Runs after a parse that chose this command; returns the exit status.
  virtual int Run(Io io) = 0;
  // Whether it splits its work across mpirun's processes (Io::processes); the others refuse to
  // run in more than one.
  virtual bool splits() const { return false; }
  // The options' reference (a Markdown table; report::OptionsMarkdown).
  virtual std::string Reference() const = 0;
};

// Every command, in the order `scaleplan --help` lists them; simulate is the default.
std::vector<std::unique_ptr<Command>> Commands();

// The commands, one factory each (defined in their files).
std::unique_ptr<Command> PlanCommand();
std::unique_ptr<Command> SimulateCommand();
std::unique_ptr<Command> SearchCommand();
std::unique_ptr<Command> ScaleCommand();
std::unique_ptr<Command> ExploreCommand();
std::unique_ptr<Command> PackCommand();
std::unique_ptr<Command> SchedulesCommand();
std::unique_ptr<Command> ValidateCommand();
std::unique_ptr<Command> CalibrateCommand();
std::unique_ptr<Command> FitCommand();
std::unique_ptr<Command> SuggestCommand();
std::unique_ptr<Command> TestbedCommand();
std::unique_ptr<Command> RecCommand();
std::unique_ptr<Command> RecValidateCommand();
std::unique_ptr<Command> RecTestbedCommand();
std::unique_ptr<Command> RecSuggestCommand();
std::unique_ptr<Command> RecTrainCommand();
std::unique_ptr<Command> NasCommand();
std::unique_ptr<Command> GoodputCommand();
std::unique_ptr<Command> JobsCommand();
std::unique_ptr<Command> PresetsCommand();
std::unique_ptr<Command> SpecCommand();

// Exit statuses: 0 done, 2 the input is bad (a value, a file missing, unreadable or not allowed),
// 1 the output could not be written.
inline constexpr int kExitOk = 0;
inline constexpr int kExitWriteFailed = 1;
inline constexpr int kExitBadInput = 2;

// Prints `status` as one printable line and returns its exit status.
int Fail(std::ostream& err, const Status& status);

// Prints `text`, or writes it to `path` (WriteOutput) when one is given; a report that
// shows a non-finite number is an error instead (report/output.h).
int Emit(Io io, const std::string& path, const std::string& text);
int Emit(Io io, const std::string& path, const Result<std::string>& text);

// Writes an output file of the command (`path` a file, not "-"): under Run, it is written when the
// command ends well, together with the command's other outputs, and not at all when the command
// fails (core/file.h, OutputBatch); elsewhere at once.
Status WriteOutput(const std::string& path, const std::string& text);

// A second output beside the report (--trace, pack --emit) must be a file: standard output
// carries the report.
Status SideFile(const std::string& path, const char* flag);

// The files a command writes (the report, --trace, --html, ...; "" = not given) can be written
// (CheckOutputPath) and are different files, however spelled: one would replace another.
Status DistinctOutputs(const std::vector<std::string>& paths);

// The checks of the outputs before the work: --html FILE (when given) is a file, not "-", and
// no two outputs (the page and `other_outputs`) are the same path.
Status CheckHtmlPath(const std::string& html, const std::vector<std::string>& other_outputs);
// Writes the --html page `page` draws from the report's JSON (nothing when `html` is empty);
// the JSON passes the finite-numbers gate first, so no page shows what the report would refuse.
int EmitHtml(Io io, const std::string& html, const nlohmann::json& json,
             std::string (*page)(const nlohmann::json&));

}  // namespace scaleplan::cli
