// Command lines: the input, split at newlines, is the arguments of `scaleplan` (at most 24; the
// first picks a command from those that answer in milliseconds: plan, simulate with the
// analytical engine, schedules, presets, spec, pack on a small synthetic corpus). Every run ends
// with exit 0, or with exit 1 or 2 and exactly one line on standard error that starts with
// "scaleplan: error: "; an exception escaping cli::Run (an "internal error" in the program) is
// a crash. Arguments that would write files (-o, --output, --trace, --emit) or start slow work
// (--engine, --packer, --count, --iterations, --plan, --model, --cluster, --gpu) are dropped.
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "fuzz/fuzz_check.h"

using namespace scaleplan;

namespace {

bool Dropped(const std::string& arg) {
  for (const char* prefix : {"-o", "--output", "--trace", "--emit", "--engine", "--packer",
                             "--count", "--iterations", "--plan", "--model", "--cluster",
                             "--gpu", "--lengths", "--megatron-args", "--microbatch-lengths",
                             "--schedule-file", "--stragglers", "--tune", "--synthetic", "--pp",
                             "--vp", "--microbatches", "--help", "-h", "--version"}) {
    if (arg.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::AsText(data, size));
  std::vector<std::string> args;
  size_t start = 0;
  while (start <= text.size() && args.size() < 24) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (args.empty()) return 0;
  static const char* kCommands[] = {"plan", "simulate", "schedules", "presets", "spec", "pack"};
  const std::string command =
      kCommands[static_cast<unsigned char>(args[0].empty() ? 0 : args[0][0]) % 6];
  std::vector<std::string> argv_text = {"scaleplan", command};
  if (command == "pack") {
    // A small corpus, a few iterations: milliseconds.
    argv_text.insert(argv_text.end(),
                     {"--synthetic", "lognormal", "--count", "200", "--iterations", "2"});
  }
  for (size_t i = 1; i < args.size(); ++i) {
    if (!Dropped(args[i])) argv_text.push_back(args[i]);
  }
  std::vector<const char*> argv;
  for (const std::string& a : argv_text) argv.push_back(a.c_str());
  std::ostringstream out, err;
  int status = cli::Run(static_cast<int>(argv.size()), argv.data(), out, err);
  if (status == 0) return 0;
  if (status != 1 && status != 2) fuzz::Fail("exit status", std::to_string(status));
  const std::string e = err.str();
  if (e.rfind("scaleplan: error: ", 0) != 0) fuzz::Fail("error line", e.substr(0, 200));
  if (e.find('\n') != e.size() - 1) fuzz::Fail("one error line", e.substr(0, 200));
  if (!out.str().empty()) fuzz::Fail("a failing run printed a report", out.str().substr(0, 200));
  return 0;
}
