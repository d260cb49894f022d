#include "cli/commands.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <optional>

#include "cli/command.h"
#include "core/file.h"
#include "core/text.h"
#include "report/output.h"

namespace scaleplan::cli {

namespace {

// An error message longer than this is cut (it echoes a value that long).
constexpr size_t kMaxMessageBytes = 2000;
constexpr const char* kVersion = "scaleplan 0.1.0";

// The outputs of the command running on this thread (Run): written together when it succeeds,
// none of them when it fails (core/file.h); null outside Run.
thread_local OutputBatch* t_outputs = nullptr;
// The report for standard output of the command running on this thread (Run): printed after its
// side files' writes succeed, so that a failed side file leaves no report behind; null outside
// Run.
thread_local std::string* t_report = nullptr;

// Writes `text` to `path` (core/file.h: atomically for a file; "-" is `out`, or the pending
// report under Run).
Status WriteTo(std::ostream& out, const std::string& path, const std::string& text) {
  if (path != "-") return WriteOutput(path, text);
  if (t_report != nullptr) {
    *t_report += text;
    return Status::Ok();
  }
  out << text;
  out.flush();
  if (!out) return Status::Write("standard output: write failed");
  return Status::Ok();
}

}  // namespace

Status WriteOutput(const std::string& path, const std::string& text) {
  if (t_outputs == nullptr) return WriteOutputFile(path, text);
  return t_outputs->Add(path, text);
}

int Fail(std::ostream& err, const Status& status) {
  err << "scaleplan: error: " << Printable(status.message(), kMaxMessageBytes) << "\n";
  return status.code() == StatusCode::kWriteError ? kExitWriteFailed : kExitBadInput;
}

int Emit(Io io, const std::string& path, const std::string& text) {
  if (!Reports(io)) return kExitOk;  // rank 0 writes
  Status finite = report::CheckFiniteText(text);
  if (!finite.ok()) return Fail(io.err, finite);
  Status written = WriteTo(io.out, path.empty() ? "-" : path,
                           report::SafeText(report::WithoutNegativeZeros(text)));
  if (!written.ok()) return Fail(io.err, written);
  return kExitOk;
}

int Emit(Io io, const std::string& path, const Result<std::string>& text) {
  if (!text.ok()) return Fail(io.err, text.status());
  return Emit(io, path, *text);
}

Status SideFile(const std::string& path, const char* flag) {
  if (path == "-") {
    return Status::Invalid(fmt::format(
        "{} = - (allowed: a file path; the report itself goes to standard output)", flag));
  }
  // Said here, with the flag: the writer's own refusal would offer "-" as an alternative. An
  // output that cannot be written exits 1, as the writer's own refusal does (README).
  std::error_code error;
  if (!path.empty() && std::filesystem::is_directory(path, error)) {
    return Status::Write(
        fmt::format("{} = {}: is a directory (allowed: a file path)", flag, Printable(path, 200)));
  }
  return Status::Ok();
}

namespace {

// Whether this thread's command writes its outputs (rank 0 of a multi-process run, or the only
// process): the others do not check paths that exist only where rank 0 runs.
thread_local bool t_writes_outputs = true;

// Where a path leads: "./out/a.txt", "out/../out/a.txt", the absolute path and a symbolic link to
// it (dangling or not) are one file. Parts that do not exist yet keep their names.
std::string Destination(const std::string& path) {
  // A descriptor's name (/dev/stdout, /proc/self/fd/1) is written through the descriptor, not
  // replaced (core/file.h): two of them on one terminal are still two outputs.
  if (path.empty() || path == "-" || path.rfind("/dev/", 0) == 0 || path.rfind("/proc/", 0) == 0) {
    return path;
  }
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) return path;
  // A link whose target does not exist yet leads to that target (the write creates it);
  // weakly_canonical would keep the link's own name.
  for (int hop = 0; hop < 40 && std::filesystem::is_symlink(absolute, error); ++hop) {
    std::filesystem::path target = std::filesystem::read_symlink(absolute, error);
    if (error) break;
    absolute = target.is_absolute() ? target : absolute.parent_path() / target;
  }
  error.clear();
  std::filesystem::path where = std::filesystem::weakly_canonical(absolute, error);
  return error ? absolute.lexically_normal().string() : where.string();
}

}  // namespace

Status DistinctOutputs(const std::vector<std::string>& given) {
  std::vector<std::string> paths;
  for (const std::string& p : given) {
    if (!p.empty() && t_writes_outputs) SP_RETURN_IF_ERROR(CheckOutputPath(p));
    paths.push_back(Destination(p));
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    for (size_t j = i + 1; j < paths.size(); ++j) {
      if (!paths[i].empty() && paths[i] == paths[j]) {
        return Status::Invalid(fmt::format(
            "two outputs are the same file {} (allowed: a different path for each of the report, "
            "the trace, the page and other side files)",
            Printable(given[j], 200)));
      }
    }
  }
  return Status::Ok();
}

Status CheckHtmlPath(const std::string& html, const std::vector<std::string>& other_outputs) {
  if (!html.empty()) SP_RETURN_IF_ERROR(SideFile(html, "--html"));
  std::vector<std::string> all = other_outputs;
  all.push_back(html);
  return DistinctOutputs(all);
}

int EmitHtml(Io io, const std::string& html, const nlohmann::json& json,
             std::string (*page)(const nlohmann::json&)) {
  if (html.empty()) return kExitOk;
  Result<std::string> checked = report::JsonText(json);
  if (!checked.ok()) return Fail(io.err, checked.status());
  return Emit(io, html, page(json));
}

std::vector<std::unique_ptr<Command>> Commands() {
  std::vector<std::unique_ptr<Command>> all;
  all.push_back(PlanCommand());
  all.push_back(SimulateCommand());
  all.push_back(GoodputCommand());
  all.push_back(SearchCommand());
  all.push_back(ScaleCommand());
  all.push_back(ExploreCommand());
  all.push_back(PackCommand());
  all.push_back(SchedulesCommand());
  all.push_back(ValidateCommand());
  all.push_back(CalibrateCommand());
  all.push_back(FitCommand());
  all.push_back(SuggestCommand());
  all.push_back(TestbedCommand());
  all.push_back(RecCommand());
  all.push_back(RecValidateCommand());
  all.push_back(RecTestbedCommand());
  all.push_back(RecSuggestCommand());
  all.push_back(RecTrainCommand());
  all.push_back(NasCommand());
  all.push_back(JobsCommand());
  all.push_back(PresetsCommand());
  all.push_back(SpecCommand());
  return all;
}

namespace {

// Prints help or the version; a failed write (a full disk, a closed pipe) is an error.
int Print(std::ostream& out, std::ostream& err, const std::string& text) {
  Status written = WriteTo(out, "-", text);
  return written.ok() ? kExitOk : Fail(err, written);
}

// CLI11's parse errors in this tool's words: the option or argument, what is wrong, and where to
// look; an unknown option gets the one it was most likely meant to be (NearMiss).
std::string ParseErrorMessage(CLI::App& app, const CLI::ParseError& e) {
  // The deepest command parsed (`jobs add`, not `jobs`).
  CLI::App* command = &app;
  std::string name;
  for (bool deeper = true; deeper;) {
    deeper = false;
    for (CLI::App* sub : command->get_subcommands()) {
      command = sub;
      name += " " + sub->get_name();
      deeper = true;
      break;
    }
  }
  const std::string help = fmt::format("see scaleplan{} --help", name);
  // The commands one level down (`jobs` has `add`; the top level has them all).
  std::vector<std::string> commands;
  for (const CLI::App* sub : command->get_subcommands({})) commands.push_back(sub->get_name());
  auto not_a_command = [&](const std::string& word) {
    const std::string near = NearMiss(word, commands);
    return fmt::format("'{}' is not a command of scaleplan{} (allowed: {}{}; {})", word, name,
                       Join(commands, ", "),
                       near.empty() ? "" : fmt::format("; did you mean {}?", near), help);
  };
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && !commands.empty() &&
      command->get_subcommands().empty()) {
    for (const std::string& extra : command->remaining()) {
      if (!extra.empty() && extra[0] != '-') return not_a_command(extra);
    }
    return fmt::format("scaleplan{} needs a command (allowed: {}; {})", name, Join(commands, ", "),
                       help);
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    std::vector<std::string> extras = command->remaining();
    std::vector<std::string> flags;
    for (const CLI::Option* option : command->get_options()) {
      for (const std::string& long_name : option->get_lnames()) flags.push_back("--" + long_name);
    }
    for (const std::string& extra : extras) {
      if (extra.size() < 2 || extra[0] != '-') continue;
      const std::string flag = extra.substr(0, extra.find('='));
      const std::string near = NearMiss(flag, flags);
      return fmt::format("{} is not an option of scaleplan{}{} ({})", flag, name,
                         near.empty() ? "" : fmt::format("; did you mean {}?", near), help);
    }
    if (!extras.empty() && !commands.empty()) return not_a_command(extras.front());
    if (!extras.empty()) {
      return fmt::format("unexpected argument '{}' (allowed: options of scaleplan{}; {})",
                         extras.front(), name, help);
    }
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    // "--tp: 1 required INT missing": the option is named before the colon.
    const std::string what = e.what();
    const std::string flag = what.substr(0, what.find(':'));
    const CLI::Option* option = command->get_option_no_throw(flag);
    if (option != nullptr && what.find("missing") != std::string::npos) {
      return fmt::format("{} is given no value (allowed: {}; {})", flag,
                         option->get_description(), help);
    }
  }
  return fmt::format("{} ({})", e.what(), help);
}

int RunCommand(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
               const Processes* processes) {
  CLI::App app{
      "scaleplan: plan 4D-parallel training of large models: parameters, FLOPs, memory per GPU,\n"
      "step time. With no command, runs `scaleplan simulate` on the default job (Llama 3 405B on\n"
      "16,384 H100s).",
      "scaleplan"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(0, 1);
  std::vector<std::unique_ptr<Command>> commands = Commands();
  std::vector<CLI::App*> apps;
  Command* fallback = nullptr;
  for (const auto& command : commands) {
    CLI::App* sub =
        app.add_subcommand(std::string(command->name()), std::string(command->summary()));
    command->Register(sub);
    apps.push_back(sub);
    if (command->name() == "simulate") fallback = command.get();
  }
  // An option that takes one value, given twice: which was meant is not ours to guess, and
  // CLI11's own refusal ("At Most 1 required but received 2") names neither value. Parsed
  // keeping both, refused below with them.
  std::vector<CLI::Option*> single;
  std::vector<CLI::App*> pending = apps;
  while (!pending.empty()) {
    CLI::App* sub = pending.back();
    pending.pop_back();
    for (CLI::App* nested : sub->get_subcommands({})) pending.push_back(nested);
    for (CLI::Option* option : sub->get_options()) {
      if (option->nonpositional() && option->get_type_size() == 1 &&
          option->get_items_expected_max() == 1) {
        option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
        single.push_back(option);
      }
    }
  }
  // A first word that names no command is refused even beside --help, which CLI11 would answer
  // first (exit 0): parsed alone, it gets the error a bare unknown word gets.
  if (argc > 1 && argv[1][0] != '-' &&
      std::none_of(commands.begin(), commands.end(),
                   [&](const auto& c) { return c->name() == argv[1]; })) {
    try {
      app.parse(std::vector<std::string>{argv[1]});
    } catch (const CLI::ParseError& e) {
      err << "scaleplan: error: " << Printable(ParseErrorMessage(app, e), kMaxMessageBytes) << "\n";
      return kExitBadInput;
    }
  }
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);
  // CLI11 answers --help as soon as it meets it, so words it would refuse (a stray argument, an
  // unknown option) went unread with exit 0: parsed again without the help flags, an extra is
  // refused; what a help request may leave out (a required file) is not.
  const std::vector<std::string> given = args;  // app.parse consumes `args`
  auto stray_beside_help = [&]() -> std::optional<std::string> {
    std::vector<std::string> rest;
    for (const std::string& a : given) {
      const bool help = a == "-h" || a == "--help" || a == "--help-all" ||
                        a.rfind("--help=", 0) == 0 || a.rfind("-h=", 0) == 0;
      if (!help) rest.push_back(a);
    }
    try {
      app.parse(rest);
    } catch (const CLI::ExtrasError& e) {
      return ParseErrorMessage(app, e);
    } catch (const CLI::ParseError&) {
      // CLI11 checks what a command requires before its extras: a stray word beside a missing
      // required input still counts.
      CLI::App* command = &app;
      for (bool deeper = true; deeper;) {
        deeper = false;
        for (CLI::App* sub : command->get_subcommands()) {
          command = sub;
          deeper = true;
          break;
        }
      }
      std::vector<std::string> extras = command->remaining();
      if (!extras.empty()) return ParseErrorMessage(app, CLI::ExtrasError(extras));
    }
    return std::nullopt;
  };
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    if (std::optional<std::string> stray = stray_beside_help()) {
      err << "scaleplan: error: " << Printable(*stray, kMaxMessageBytes) << "\n";
      return kExitBadInput;
    }
    return Print(out, err, app.help());
  } catch (const CLI::CallForAllHelp&) {
    if (std::optional<std::string> stray = stray_beside_help()) {
      err << "scaleplan: error: " << Printable(*stray, kMaxMessageBytes) << "\n";
      return kExitBadInput;
    }
    return Print(out, err, app.help("", CLI::AppFormatMode::All));
  } catch (const CLI::CallForVersion&) {
    // CLI11 answers --version as soon as it meets it; what else was given would go unread.
    std::vector<std::string> others;
    for (int i = 1; i < argc; ++i) {
      if (std::string_view(argv[i]) != "--version") others.emplace_back(argv[i]);
    }
    if (!others.empty()) {
      err << "scaleplan: error: "
          << Printable(fmt::format("--version is given with {} (allowed: --version alone)",
                                   Join(others, " ")),
                       kMaxMessageBytes)
          << "\n";
      return kExitBadInput;
    }
    return Print(out, err, std::string(kVersion) + "\n");
  } catch (const CLI::ParseError& e) {
    // A subcommand's own --help.
    if (e.get_exit_code() == 0) {
      if (std::optional<std::string> stray = stray_beside_help()) {
        err << "scaleplan: error: " << Printable(*stray, kMaxMessageBytes) << "\n";
        return kExitBadInput;
      }
      std::string text;
      for (CLI::App* sub : app.get_subcommands()) text += sub->help();
      return Print(out, err, text);
    }
    err << "scaleplan: error: " << Printable(ParseErrorMessage(app, e), kMaxMessageBytes) << "\n";
    return kExitBadInput;
  }
  for (const CLI::Option* option : single) {
    if (option->count() > 1) {
      err << "scaleplan: error: "
          << Printable(fmt::format("{} is given {} times: {} (allowed: once)",
                                   option->get_name(), option->count(),
                                   Join(option->results(), ", ")),
                       kMaxMessageBytes)
          << "\n";
      return kExitBadInput;
    }
  }
  Command* chosen = fallback;  // no command: simulate the default job
  for (size_t i = 0; i < commands.size(); ++i) {
    if (apps[i]->parsed()) chosen = commands[i].get();
  }
  if (ProcessCount(processes) > 1 && !chosen->splits()) {
    std::vector<std::string> splitting;
    for (const auto& c : commands) {
      if (c->splits()) splitting.emplace_back(c->name());
    }
    err << "scaleplan: error: " << chosen->name() << " runs in one process, not "
        << processes->size() << " (allowed under mpirun: " << Join(splitting, ", ")
        << "; or run it without mpirun)\n";
    return kExitBadInput;
  }
  return chosen->Run(Io{out, err, processes});
}

// Discards what it is given (the report of the ranks that do not print it).
class Discard final : public std::streambuf {
 protected:
  int overflow(int c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

// Passes text on to `to` with "rank N: " before each line, a whole line at a time (one write:
// the ranks' lines do not interleave character by character).
class RankPrefix final : public std::streambuf {
 public:
  RankPrefix(std::ostream& to, int rank) : to_(to), prefix_(fmt::format("rank {}: ", rank)) {}
  ~RankPrefix() override { Emit(); }

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    line_.push_back(static_cast<char>(c));
    if (c == '\n') Emit();
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) overflow(static_cast<unsigned char>(s[i]));
    return n;
  }
  int sync() override {
    Emit();
    return 0;
  }

 private:
  void Emit() {
    if (line_.empty()) return;
    const std::string whole = prefix_ + line_;
    to_.write(whole.data(), static_cast<std::streamsize>(whole.size()));
    to_.flush();
    line_.clear();
  }
  std::ostream& to_;
  std::string prefix_;
  std::string line_;
};

}  // namespace

int Run(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
        const Processes* processes) {
  InputGuard inputs;  // no output replaces a file the command read
  const bool writes = processes == nullptr || processes->rank() == 0;
  struct Writes {
    bool previous = t_writes_outputs;
    ~Writes() { t_writes_outputs = previous; }
  } restore;
  t_writes_outputs = writes;
  if (writes) {
    OutputBatch outputs;
    std::string report;
    struct Batch {
      OutputBatch* previous = t_outputs;
      std::string* previous_report = t_report;
      ~Batch() {
        t_outputs = previous;
        t_report = previous_report;
      }
    } restore_batch;
    t_outputs = &outputs;
    t_report = &report;
    const int status = RunCommand(argc, argv, out, err, processes);
    t_outputs = restore_batch.previous;
    t_report = restore_batch.previous_report;
    if (status != kExitOk) return status;  // the batch, destroyed, writes none of its files
    Status written = outputs.Commit([&]() {
      if (report.empty()) return Status::Ok();
      return WriteTo(out, "-", report);
    });
    return written.ok() ? kExitOk : Fail(err, written);
  }
  Discard discard;
  std::ostream discarded(&discard);
  RankPrefix prefix(err, processes->rank());
  std::ostream prefixed(&prefix);
  const int status = RunCommand(argc, argv, discarded, prefixed, processes);
  prefixed.flush();
  return status;
}

}  // namespace scaleplan::cli
