// Scenario runner: every tests/scenarios/*.yaml is one end-to-end case of the `scaleplan`
// command, run in-process through cli::Run. Keys:
//   args: [plan, --tp, "3"]        the command line after `scaleplan`; {fixtures}, {examples}
//                                  and {scratch} expand to folders
//   exit: 2                        expected exit status
//   stderr: "..."                  exact expected standard error
//   stderr_contains / stdout_contains: [text, ...]
//   stdout_not_contains / stderr_not_contains: [text, ...]
//   json: {"/pointer": value}      stdout parsed as JSON; numbers compared to 1e-9 relative,
//                                  null (YAML null) only equals null
//   output_file: name              --output target (relative to a scratch folder); then
//   output_exists: true|false      whether it must exist after the run
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "cli/commands.h"
#include "report/output.h"
#include "report/spec_reference.h"
#include "report/step_report.h"
#include "thread_ranks.h"

namespace scaleplan::cli {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(fs::path(SCALEPLAN_TEST_DIR) / "scenarios")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class Scenario : public ::testing::TestWithParam<std::string> {};

TEST_P(Scenario, Runs) {
  YAML::Node s = YAML::LoadFile(GetParam());
  // needs_torch: the scenario trains a model, which the build without libtorch cannot.
#ifndef SCALEPLAN_HAVE_TORCH
  if (s["needs_torch"] && s["needs_torch"].as<bool>()) GTEST_SKIP() << "built without libtorch";
#endif
  fs::path scratch =
      fs::temp_directory_path() / ("scaleplan-scenario-" + fs::path(GetParam()).stem().string());
  fs::remove_all(scratch);
  fs::create_directories(scratch);

  // files: {name: content} are written into the scratch folder first (YAML escapes such as
  // "\0" give binary content).
  for (const auto& file : s["files"]) {
    std::ofstream(scratch / file.first.as<std::string>(), std::ios::binary)
        << file.second.as<std::string>();
  }
  std::vector<std::string> args = {"scaleplan"};
  for (const YAML::Node& a : s["args"]) {
    std::string arg = a.as<std::string>();
    // {fixtures}, {examples} and {scratch} expand to the test folders.
    const std::string root = SCALEPLAN_TEST_DIR;
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"{fixtures}", root + "/fixtures"},
          {"{examples}", root + "/../examples"},
          {"{scratch}", scratch.string()}}) {
      size_t at = arg.find(key);
      if (at != std::string::npos) arg.replace(at, key.size(), value);
    }
    args.push_back(arg);
  }
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  int status = cli::Run(static_cast<int>(argv.size()), argv.data(), out, err);

  EXPECT_EQ(status, s["exit"].as<int>()) << "stderr: " << err.str();
  if (s["stderr"]) {
    EXPECT_EQ(err.str(), s["stderr"].as<std::string>());
  }
  for (const YAML::Node& text : s["stderr_contains"]) {
    EXPECT_NE(err.str().find(text.as<std::string>()), std::string::npos)
        << "stderr lacks: " << text.as<std::string>() << "\nstderr: " << err.str();
  }
  for (const YAML::Node& text : s["stderr_not_contains"]) {
    EXPECT_EQ(err.str().find(text.as<std::string>()), std::string::npos)
        << "stderr holds: " << text.as<std::string>() << "\nstderr: " << err.str();
  }
  for (const YAML::Node& text : s["stdout_contains"]) {
    EXPECT_NE(out.str().find(text.as<std::string>()), std::string::npos)
        << "stdout lacks: " << text.as<std::string>();
  }
  for (const YAML::Node& text : s["stdout_not_contains"]) {
    EXPECT_EQ(out.str().find(text.as<std::string>()), std::string::npos)
        << "stdout holds: " << text.as<std::string>();
  }
  if (status != 0) {
    EXPECT_TRUE(out.str().empty()) << "a failing run printed to stdout";
  }
  if (s["json"] || s["json_greater"] || s["json_less"]) {
    std::string text = out.str();
    if (s["output_file"]) {
      std::ifstream in(scratch / s["output_file"].as<std::string>());
      std::stringstream buffer;
      buffer << in.rdbuf();
      text = buffer.str();
    }
    nlohmann::json j = nlohmann::json::parse(text);
    for (const auto& entry : s["json"]) {
      std::string pointer = entry.first.as<std::string>();
      ASSERT_TRUE(j.contains(nlohmann::json::json_pointer(pointer))) << "missing " << pointer;
      const nlohmann::json& actual = j.at(nlohmann::json::json_pointer(pointer));
      const YAML::Node& expected = entry.second;
      if (actual.is_null() || expected.IsNull()) {
        EXPECT_TRUE(actual.is_null() && expected.IsNull()) << pointer << " = " << actual.dump();
      } else if (actual.is_boolean()) {
        EXPECT_EQ(actual.get<bool>(), expected.as<bool>()) << pointer;
      } else if (actual.is_number()) {
        double want = expected.as<double>();
        EXPECT_NEAR(actual.get<double>(), want, std::fabs(want) * 1e-9 + 1e-12) << pointer;
      } else {
        EXPECT_EQ(actual.get<std::string>(), expected.as<std::string>()) << pointer;
      }
    }
    // json_greater / json_less: {pointer: bound}, the number strictly above / below the bound.
    for (const char* which : {"json_greater", "json_less"}) {
      for (const auto& entry : s[which]) {
        std::string pointer = entry.first.as<std::string>();
        ASSERT_TRUE(j.contains(nlohmann::json::json_pointer(pointer))) << "missing " << pointer;
        double actual = j.at(nlohmann::json::json_pointer(pointer)).get<double>();
        double bound = entry.second.as<double>();
        if (std::string(which) == "json_greater") {
          EXPECT_GT(actual, bound) << pointer;
        } else {
          EXPECT_LT(actual, bound) << pointer;
        }
      }
    }
  }
  if (s["output_file"] && s["output_exists"]) {
    EXPECT_EQ(fs::exists(scratch / s["output_file"].as<std::string>()),
              s["output_exists"].as<bool>());
    // No temporary file (core/file.cpp: a hidden ".NAME.XXXXXX" beside it) may be left behind;
    // a lock file (".NAME.lock", FileLock) stays by design.
    for (const auto& entry : fs::directory_iterator(scratch)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".lock") == 0) continue;
      EXPECT_NE(name.front(), '.') << entry.path();
    }
  }
  fs::remove_all(scratch);
}

INSTANTIATE_TEST_SUITE_P(Cli, Scenario, ::testing::ValuesIn(ScenarioFiles()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = fs::path(param.param).stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// docs/SPEC.md is generated from the schemas (job keys and command options); it must not drift
// from them.
// A text option given bytes that are not UTF-8 (from the shell, unchecked) reached the JSON
// writer of `jobs add`, which threw: "internal error: [json.exception.type_error.316] invalid
// UTF-8 byte at index 1: 0xFF". Now the option is refused by name and the log is not written.
TEST(Outputs, TextOptionsMustBeUtf8) {
  namespace fs = std::filesystem;
  const fs::path log = fs::path(::testing::TempDir()) / "not-utf8.jsonl";
  fs::remove(log);
  const std::string log_path = log.string();
  const std::string job = std::string(SCALEPLAN_TEST_DIR) + "/../examples/torchtitan-llama3-8b.yaml";
  const char* argv[] = {"scaleplan", "jobs", "add", "--log", log_path.c_str(), "--plan",
                        job.c_str(), "--tokens-per-s-per-gpu", "5000", "--job-source",
                        "a\xff"};
  std::ostringstream out, err;
  EXPECT_EQ(scaleplan::cli::Run(11, argv, out, err), 2);
  EXPECT_NE(err.str().find("jobs.source = a\\xFF holds a byte that is not UTF-8"),
            std::string::npos)
      << err.str();
  EXPECT_EQ(err.str().find("internal error"), std::string::npos) << err.str();
  EXPECT_FALSE(fs::exists(log));
}

// Report figures keep their places unless those would print a nonzero value as zero: a GPU
// described far too slow showed "0.0 tokens/s/GPU".
TEST(Figures, SmallValuesKeepThreeSignificantDigits) {
  EXPECT_EQ(scaleplan::report::Figure(165.94, 1), "165.9");
  EXPECT_EQ(scaleplan::report::Figure(0.0, 1), "0.0");
  EXPECT_EQ(scaleplan::report::Figure(0.0123456, 1), "0.0123");
  EXPECT_EQ(scaleplan::report::Figure(0.0004321, 3), "0.000432");
  EXPECT_EQ(scaleplan::report::Figure(11.4379, 3), "11.438");
  EXPECT_EQ(scaleplan::report::Figure(-0.001, 1), "-0.001");
}

TEST(SpecReference, DocsAreCurrent) {
  std::ifstream in(fs::path(SCALEPLAN_TEST_DIR) / ".." / "docs" / "SPEC.md");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::ostringstream out, err;
  const char* argv[] = {"scaleplan", "spec"};
  ASSERT_EQ(scaleplan::cli::Run(2, argv, out, err), 0) << err.str();
  EXPECT_EQ(buffer.str(), out.str())
      << "regenerate with: build/release/scaleplan spec > docs/SPEC.md";
  // Every command documents its options.
  for (const auto& command : Commands()) {
    EXPECT_NE(out.str().find("### scaleplan " + std::string(command->name())), std::string::npos)
        << command->name();
  }
}

// A report path that is a link to the --emit file, not yet written, leads to the same file: the
// report would overwrite the emitted batches. Refused before any work, nothing left behind.
TEST(Outputs, ADanglingLinkToAnotherOutputIsTheSameFile) {
  const fs::path dir = fs::path(::testing::TempDir()) / "scaleplan-dangling-output";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::create_symlink("em.jsonl", dir / "link.jsonl");
  const std::string emit = (dir / "em.jsonl").string(), link = (dir / "link.jsonl").string();
  const char* argv[] = {"scaleplan", "pack", "--synthetic", "lognormal", "--count", "200",
                        "--emit", emit.c_str(), "-o", link.c_str()};
  std::ostringstream out, err;
  EXPECT_EQ(scaleplan::cli::Run(10, argv, out, err), 2);
  EXPECT_NE(err.str().find("two outputs are the same file"), std::string::npos) << err.str();
  EXPECT_FALSE(fs::exists(dir / "em.jsonl"));
  fs::remove_all(dir);
}

// Help, a command's help and the version written to a stream that fails (a full disk, a closed
// pipe) exit 1 with the error, as a report does; printed, they exit 0.
TEST(Outputs, HelpThatCannotBeWrittenIsAnError) {
  for (std::vector<const char*> argv : {std::vector<const char*>{"scaleplan", "--help"},
                                        std::vector<const char*>{"scaleplan", "plan", "--help"},
                                        std::vector<const char*>{"scaleplan", "--version"}}) {
    std::ostringstream out, err;
    EXPECT_EQ(scaleplan::cli::Run(static_cast<int>(argv.size()), argv.data(), out, err), 0);
    EXPECT_FALSE(out.str().empty());
    std::ostringstream failing, err2;
    failing.setstate(std::ios::badbit);
    EXPECT_EQ(scaleplan::cli::Run(static_cast<int>(argv.size()), argv.data(), failing, err2), 1)
        << argv[1];
    EXPECT_EQ(err2.str(), "scaleplan: error: standard output: write failed\n");
  }
}

// Under mpirun (ranks as threads here): rank 0 alone prints and writes the report, every rank
// returns the same status, the others print only their errors, and a command that does not split
// refuses to run in several processes.
TEST(Processes, OnlyRankZeroReportsAndOnlySplittingCommandsRun) {
  const fs::path report = fs::path(::testing::TempDir()) / "split-search.txt";
  fs::remove(report);
  const std::string report_path = report.string();
  testing::ThreadRanks ranks(2);
  std::vector<std::string> outs(2), errs(2);
  std::vector<int> statuses(2, -1);
  ranks.Run([&](const Processes& processes) {
    const char* argv[] = {"scaleplan", "search",    "--gpus", "64",
                          "--model",   "llama3-8b", "--top",  "3"};
    std::ostringstream out, err;
    const auto r = static_cast<size_t>(processes.rank());
    statuses[r] = scaleplan::cli::Run(8, argv, out, err, &processes);
    outs[r] = out.str();
    errs[r] = err.str();
  });
  EXPECT_EQ(statuses[0], 0) << errs[0];
  EXPECT_EQ(statuses[1], 0);
  EXPECT_NE(outs[0].find("split across 2 processes (threads)"), std::string::npos) << outs[0];
  EXPECT_EQ(outs[1], "");
  EXPECT_EQ(errs[1], "");

  ranks.Run([&](const Processes& processes) {
    const char* argv[] = {"scaleplan", "search",    "--gpus",   "64",
                          "--model",   "llama3-8b", "--output", report_path.c_str()};
    std::ostringstream out, err;
    statuses[static_cast<size_t>(processes.rank())] =
        scaleplan::cli::Run(8, argv, out, err, &processes);
  });
  EXPECT_EQ(statuses[0], 0);
  EXPECT_EQ(statuses[1], 0);
  EXPECT_TRUE(fs::exists(report));

  ranks.Run([&](const Processes& processes) {
    const char* argv[] = {"scaleplan", "simulate"};
    std::ostringstream out, err;
    const auto r = static_cast<size_t>(processes.rank());
    statuses[r] = scaleplan::cli::Run(2, argv, out, err, &processes);
    errs[r] = err.str();
  });
  EXPECT_EQ(statuses[0], kExitBadInput);
  EXPECT_EQ(statuses[1], kExitBadInput);
  EXPECT_NE(errs[0].find("simulate runs in one process, not 2 (allowed under mpirun: search"),
            std::string::npos)
      << errs[0];
  // Rank 1's error is its own line, prefixed with its rank (a rank may fail alone).
  EXPECT_EQ(errs[1].rfind("rank 1: scaleplan: error: simulate runs in one process", 0), 0u)
      << errs[1];
  EXPECT_EQ(std::count(errs[1].begin(), errs[1].end(), '\n'), 1);
}

TEST(ReportOutput, NoNonFiniteNumberLeaves) {
  nlohmann::json ok = {{"step_time_s", 1.5}, {"errors", nullptr}, {"name", "nan-free"}};
  EXPECT_EQ(*report::JsonText(ok, -1), ok.dump() + "\n");
  nlohmann::json bad = {{"stages", {{{"a/b", 1.0}}, {{"a/b", std::nan("")}}}}};
  EXPECT_EQ(report::JsonText(bad).status().message(),
            "the result at /stages/1/a~1b is not a finite number: the inputs are outside what the "
            "model covers");
  EXPECT_TRUE(report::CheckFiniteText("InfiniBand 400 Gb/s\nnano, info, infinite, Nancy\n").ok());
  EXPECT_EQ(report::CheckFiniteText("step\nMFU   +inf%\n").message(),
            "line 2 of the report shows a number that is not finite (+inf): the inputs are outside "
            "what the model covers, or a name in them reads as a number (allowed: names without a "
            "word inf or nan); the line: MFU   +inf%");
  EXPECT_FALSE(report::CheckFiniteText("time -nan s").ok());
  EXPECT_FALSE(report::CheckFiniteText("mfu=NaN").ok());
  // Inside names and paths these words are not numbers.
  EXPECT_TRUE(
      report::CheckFiniteText("Infinity Fabric, llama-inf, runs/inf/x.csv, tp = 'NaN'").ok());
  // JSON text holds no non-finite number (JsonText refuses one; JSON writes null): a name "x inf
  // y" in it is a name.
  EXPECT_TRUE(report::CheckFiniteText("{\n  \"model\": \"x inf y\"\n}\n").ok());
  EXPECT_TRUE(report::CheckFiniteText("  [\"nan\"]").ok());
  // A text report that starts with a bracket (a model named "[x") is not JSON: scanned.
  EXPECT_FALSE(report::CheckFiniteText("[x on 8 GPUs\nMFU inf%\n").ok());
}

TEST(ReportOutput, NegativeZerosLoseTheirSign) {
  // A column keeps its width; other places drop the sign; a number that is not zero, a date or a
  // flag keeps it.
  EXPECT_EQ(report::WithoutNegativeZeros("optimizer   0.0112  -0.0000\nerr -0.0%, (-0) x=-0.00\n"),
            "optimizer   0.0112   0.0000\nerr  0.0%, (0) x=0.00\n");
  EXPECT_EQ(report::WithoutNegativeZeros("-0.01 -10 2026-01-02 --0 -0a -.5 -0.0"),
            "-0.01 -10 2026-01-02 --0 -0a -.5  0.0");
}

}  // namespace
}  // namespace scaleplan::cli
