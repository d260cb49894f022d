#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "core/blas.h"
#include "core/checked.h"
#include "core/csv.h"
#include "core/file.h"
#include "core/memory.h"
#include "core/processes.h"
#include "core/text.h"
#include "thread_ranks.h"

namespace scaleplan {
namespace {

// A byte-order mark is consumed; a partial one (or none) leaves the stream as it was.
TEST(SkipByteOrderMark, TakesAWholeMarkOnly) {
  auto rest = [](const std::string& text) {
    std::istringstream in(text);
    SkipByteOrderMark(in);
    std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return out;
  };
  EXPECT_EQ(rest("\xEF\xBB\xBF"
                 "0\t1\n"),
            "0\t1\n");
  EXPECT_EQ(rest("\xEF\xBB"
                 "x"),
            "\xEF\xBB"
            "x");
  EXPECT_EQ(rest("0\t1\n"), "0\t1\n");
  EXPECT_EQ(rest(""), "");
}

TEST(ParseNumber, AcceptsPlainScientificAndSuffixes) {
  EXPECT_DOUBLE_EQ(*ParseNumber("8192"), 8192.0);
  EXPECT_DOUBLE_EQ(*ParseNumber("1.5e9"), 1.5e9);
  EXPECT_DOUBLE_EQ(*ParseNumber(" 50G "), 50e9);
  EXPECT_DOUBLE_EQ(*ParseNumber("16Mi"), 16.0 * 1024 * 1024);  // 16,777,216
  EXPECT_DOUBLE_EQ(*ParseNumber("4k"), 4000.0);
  EXPECT_DOUBLE_EQ(*ParseNumber("2Ki"), 2048.0);
  EXPECT_DOUBLE_EQ(*ParseNumber("-3"), -3.0);
}

TEST(ParseNumber, RejectsGarbageAndNonFinite) {
  EXPECT_FALSE(ParseNumber("").ok());
  EXPECT_FALSE(ParseNumber("abc").ok());
  EXPECT_FALSE(ParseNumber("12x").ok());
  EXPECT_FALSE(ParseNumber("nan").ok());
  EXPECT_FALSE(ParseNumber("inf").ok());
  EXPECT_FALSE(ParseNumber("1e999").ok());
  EXPECT_FALSE(ParseNumber("Mi").ok());
  // strtod's hexadecimal forms are not decimal numbers.
  EXPECT_FALSE(ParseNumber("0x10").ok());
  EXPECT_FALSE(ParseNumber("0X1p4").ok());
}

TEST(ParseInteger, RequiresWholeNumbers) {
  EXPECT_EQ(*ParseInteger("16Mi"), 16777216);
  EXPECT_EQ(*ParseInteger("1e3"), 1000);
  EXPECT_FALSE(ParseInteger("1.5").ok());
  EXPECT_FALSE(ParseInteger("1e300").ok());
  EXPECT_EQ(ParseInteger("x").status().message(), "is not an integer");
  // Past 2^53 a double no longer holds every integer: the value is too large, not fractional.
  EXPECT_EQ(ParseInteger("9223372036854775808").status().message(), "is out of range");
  EXPECT_EQ(ParseInteger("2.5").status().message(), "is not an integer");
}

TEST(ParseBool, AcceptsCommonSpellings) {
  EXPECT_TRUE(*ParseBool("true"));
  EXPECT_TRUE(*ParseBool("Yes"));
  EXPECT_FALSE(*ParseBool("off"));
  EXPECT_FALSE(*ParseBool("0"));
  EXPECT_FALSE(ParseBool("maybe").ok());
}

TEST(Divisors, ListsAllInOrder) {
  EXPECT_EQ(Divisors(12), (std::vector<int64_t>{1, 2, 3, 4, 6, 12}));
  EXPECT_EQ(Divisors(1), (std::vector<int64_t>{1}));
  EXPECT_EQ(Divisors(49), (std::vector<int64_t>{1, 7, 49}));
}

TEST(SplitAndTrim, DropsEmptyItems) {
  EXPECT_EQ(SplitAndTrim(" tp, cp ,,pp ", ','), (std::vector<std::string>{"tp", "cp", "pp"}));
}

TEST(HumanReadable, Formats) {
  EXPECT_EQ(HumanBytes(1536.0), "1.50 KiB");
  EXPECT_EQ(HumanCount(405.85e9), "405.85 B");
  EXPECT_EQ(HumanFlops(2.5e12), "2.50 TFLOP");
  // Past a thousand T and below one, three significant digits (1e18 printed 19 digits; 0.3
  // tokens a day printed 0).
  EXPECT_EQ(HumanCount(1e18), "1e+06 T");
  EXPECT_EQ(HumanCount(999.5e12), "999.50 T");
  EXPECT_EQ(HumanCount(0.3), "0.3");
  EXPECT_EQ(HumanCount(0), "0");
  // Whole counts whole, a count below one (a mean of 0.25 tokens printed 0) to three digits.
  EXPECT_EQ(PlainCount(1234.4), "1234");
  EXPECT_EQ(PlainCount(0.25), "0.25");
  EXPECT_EQ(PlainCount(1e-6), "1e-06");
  EXPECT_EQ(PlainCount(0), "0");
  // Fixed decimals, but what would round to 0.00 keeps two significant digits: 0.004 failures a
  // day is not none. 0.005 rounds to 0.01 at two decimals, so it is written as such.
  EXPECT_EQ(Fixed(3.14159, 2), "3.14");
  EXPECT_EQ(Fixed(0.0042, 2), "0.0042");
  EXPECT_EQ(Fixed(0.005, 2), "0.01");
  EXPECT_EQ(Fixed(-3.1e-7, 1), "-3.1e-07");
  EXPECT_EQ(Fixed(0, 2), "0.00");
}

// Input files: a regular file is read whole; a directory, a FIFO and a file over the cap are
// refused with their reason, a missing path is NotFound.
TEST(ReadInputFile, ReadsRegularFilesOnly) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "scaleplan_core_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string file = (dir / "lengths.txt").string();
  std::ofstream(file) << "100\n200\n";  // 8 bytes
  EXPECT_EQ(*ReadInputFile(file, 100), "100\n200\n");
  Result<std::string> capped = ReadInputFile(file, 7);
  EXPECT_EQ(capped.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(capped.status().message(), file + ": 8 bytes (allowed: at most 7 bytes)");
  EXPECT_EQ(
      ReadInputFile(dir.string(), 100).status().message(),
      dir.string() + ": not a regular file (allowed: a regular file)");
  std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ReadInputFile(fifo, 100).status().code(), StatusCode::kInvalidArgument);  // and no hang
  Result<std::string> missing = ReadInputFile((dir / "none").string(), 100);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  // A path through a file is missing too; a file without read permission is unreadable, not
  // missing (root reads it anyway, so that half only runs as another user).
  EXPECT_EQ(ReadInputFile(file + "/x", 100).status().code(), StatusCode::kNotFound);
  if (::geteuid() != 0) {
    ::chmod(file.c_str(), 0);
    Result<std::string> denied = ReadInputFile(file, 100);
    EXPECT_EQ(denied.status().code(), StatusCode::kIoError);
    EXPECT_NE(denied.status().message().find("Permission denied"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(WriteOutputFile, ReplacesFilesFollowsLinksAndNeverReplacesDevices) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "scaleplan_write_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string file = (dir / "report.txt").string();
  // A new file, then a replaced one that keeps its mode.
  ASSERT_TRUE(WriteOutputFile(file, "one\n").ok());
  EXPECT_EQ(Slurp(file), "one\n");
  ::chmod(file.c_str(), 0640);
  ASSERT_TRUE(WriteOutputFile(file, "two\n").ok());
  EXPECT_EQ(Slurp(file), "two\n");
  struct stat info {};
  ASSERT_EQ(::stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0640u);
  // A link stays a link; its target gets the content.
  std::string link = (dir / "link.txt").string();
  std::filesystem::create_symlink("report.txt", link);
  ASSERT_TRUE(WriteOutputFile(link, "three\n").ok());
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(Slurp(file), "three\n");
  // A dangling link creates its target.
  std::string dangling = (dir / "dangling.txt").string();
  std::filesystem::create_symlink("made.txt", dangling);
  ASSERT_TRUE(WriteOutputFile(dangling, "four\n").ok());
  EXPECT_TRUE(std::filesystem::is_symlink(dangling));
  EXPECT_EQ(Slurp((dir / "made.txt").string()), "four\n");
  // A chain of links to a missing file: the links stay, the last target is created.
  std::filesystem::create_symlink("middle.txt", dir / "first.txt");
  std::filesystem::create_symlink("last.txt", dir / "middle.txt");
  ASSERT_TRUE(WriteOutputFile((dir / "first.txt").string(), "chain\n").ok());
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "middle.txt"));
  EXPECT_EQ(Slurp((dir / "last.txt").string()), "chain\n");
  // A name for one of our descriptors (as /dev/stdout is when output is redirected to a file
  // opened for appending) writes through it: the file keeps what it had, and is not replaced.
  std::string log = (dir / "log.txt").string();
  std::ofstream(log) << "kept\n";
  int fd = ::open(log.c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  struct stat before {};
  ASSERT_EQ(::stat(log.c_str(), &before), 0);
  ASSERT_TRUE(WriteOutputFile("/proc/self/fd/" + std::to_string(fd), "appended\n").ok());
  ASSERT_TRUE(WriteOutputFile("/dev/fd/" + std::to_string(fd), "again\n").ok());
  ::close(fd);
  struct stat after {};
  ASSERT_EQ(::stat(log.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_EQ(Slurp(log), "kept\nappended\nagain\n");
  // A device is written in place and stays a device; a full one is a write error.
  ASSERT_TRUE(WriteOutputFile("/dev/null", "five\n").ok());
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/null"));
  Status full = WriteOutputFile("/dev/full", "six\n");
  EXPECT_EQ(full.code(), StatusCode::kWriteError);
  EXPECT_EQ(full.message(), "/dev/full: write failed (No space left on device)");
  EXPECT_TRUE(std::filesystem::is_character_file("/dev/full"));
  // A directory and a missing folder are refused; nothing is left behind.
  EXPECT_EQ(WriteOutputFile(dir.string(), "x").code(), StatusCode::kWriteError);
  EXPECT_EQ(WriteOutputFile((dir / "none" / "x.txt").string(), "x").code(),
            StatusCode::kWriteError);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 8);  // report, link, dangling, made, first, middle, last, log
  std::filesystem::remove_all(dir);
}

// The number of entries of a folder (temporary files included).
int Entries(const std::filesystem::path& dir) {
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  return entries;
}

TEST(OutputBatch, WritesAllOutputsOrNoneOfTheFiles) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "scaleplan_batch_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string side = (dir / "side.jsonl").string();
  const std::string report = (dir / "report.txt").string();
  std::ofstream(report) << "old report\n";
  {
    // A side file and a full device: the device fails at Commit, before any file is renamed,
    // so the side file is never created and the prepared temporary file is removed.
    OutputBatch batch;
    ASSERT_TRUE(batch.Add(side, "side\n").ok());
    EXPECT_EQ(Entries(dir), 2);  // report.txt and side.jsonl's temporary file
    ASSERT_TRUE(batch.Add("/dev/full", "report\n").ok());
    Status committed = batch.Commit();
    EXPECT_EQ(committed.code(), StatusCode::kWriteError);
    EXPECT_EQ(committed.message(), "/dev/full: write failed (No space left on device)");
    EXPECT_FALSE(std::filesystem::exists(side));
    EXPECT_EQ(Entries(dir), 1);
  }
  {
    // Destroyed uncommitted (the command failed after preparing it): nothing changes.
    OutputBatch batch;
    ASSERT_TRUE(batch.Add(side, "side\n").ok());
    ASSERT_TRUE(batch.Add(report, "new report\n").ok());
  }
  EXPECT_FALSE(std::filesystem::exists(side));
  EXPECT_EQ(Slurp(report), "old report\n");
  EXPECT_EQ(Entries(dir), 1);
  {
    // Committed: both files in place, no temporary file left.
    OutputBatch batch;
    ASSERT_TRUE(batch.Add(side, "side\n").ok());
    ASSERT_TRUE(batch.Add(report, "new report\n").ok());
    ASSERT_TRUE(batch.Add("/dev/null", "discarded\n").ok());
    ASSERT_TRUE(batch.Commit().ok());
  }
  EXPECT_EQ(Slurp(side), "side\n");
  EXPECT_EQ(Slurp(report), "new report\n");
  EXPECT_EQ(Entries(dir), 2);
  // An output that cannot be written is refused when added.
  OutputBatch batch;
  EXPECT_EQ(batch.Add((dir / "none" / "x.txt").string(), "x").code(), StatusCode::kWriteError);
  std::filesystem::remove_all(dir);
}

// OpenBLAS's own choice stays unless it is its fallback on a CPU that can run better kernels:
// AVX-512 gets SkylakeX, AVX2 with FMA Haswell, a CPU with neither keeps the fallback; a choice
// the user forced (OPENBLAS_CORETYPE) stays, the fallback included.
TEST(BlasCore, ReplacesOnlyTheFallbackOnACpuThatCanDoBetter) {
  using blas::BetterCore;
  using blas::CpuIsa;
  const CpuIsa avx512{true, true}, avx2{false, true}, sse{false, false};
  EXPECT_EQ(BetterCore("Prescott", avx512, false), "SkylakeX");
  EXPECT_EQ(BetterCore("Prescott", avx2, false), "Haswell");
  EXPECT_EQ(BetterCore("Prescott", sse, false), "");
  EXPECT_EQ(BetterCore("Prescott", avx512, true), "");
  EXPECT_EQ(BetterCore("Cooperlake", avx512, false), "");
  EXPECT_EQ(BetterCore("Haswell", avx512, false), "");
  EXPECT_EQ(BetterCore("Zen", avx2, false), "");
  EXPECT_EQ(BetterCore("", avx512, false), "");
}

TEST(BlasCore, DescribesWhatRunsAndWhatOpenBlasChose) {
  EXPECT_EQ(blas::DescribeBlas({}), "not OpenBLAS");
  EXPECT_EQ(blas::DescribeBlas({"libopenblas.so.0", "Zen", ""}), "Zen");
  EXPECT_EQ(blas::DescribeBlas({"libopenblas.so.0", "SkylakeX", "Prescott"}),
            "SkylakeX (OpenBLAS chose Prescott, its fallback for a CPU missing from its table)");
}

// A share reads back bit for bit (a NaN's payload and -0 included); a cut or padded share is an
// error naming it, never a value.
TEST(Wire, RoundTripsExactlyAndRejectsCutShares) {
  WireWriter w;
  w.U64(0);
  w.U64(~uint64_t{0});
  w.F64(-0.0);
  w.F64(0.1 + 0.2);
  w.F64(std::numeric_limits<double>::quiet_NaN());
  w.Text("");
  w.Text(std::string("a\0b", 3));
  const std::string bytes = w.Take();
  EXPECT_EQ(bytes.size(), 5 * 8 + 8 + 8 + 3u);
  WireReader in(bytes, "share");
  EXPECT_EQ(*in.U64(), 0u);
  EXPECT_EQ(*in.U64(), ~uint64_t{0});
  const double zero = *in.F64();
  EXPECT_EQ(zero, 0.0);
  EXPECT_TRUE(std::signbit(zero));
  EXPECT_EQ(*in.F64(), 0.1 + 0.2);
  EXPECT_TRUE(std::isnan(*in.F64()));
  EXPECT_EQ(*in.Text(), "");
  EXPECT_EQ(*in.Text(), std::string("a\0b", 3));
  EXPECT_TRUE(in.Done().ok());
  // Cut inside the last text's bytes: its length runs past the end.
  WireReader cut(std::string_view(bytes).substr(0, bytes.size() - 1), "share of rank 1");
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(cut.U64().ok());
  Result<std::string> text = cut.Text();
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("share of rank 1: a text of 3 bytes"), std::string::npos)
      << text.status().message();
  // Cut inside a number; and bytes left over.
  WireReader short_number(std::string_view(bytes).substr(0, 4), "s");
  EXPECT_FALSE(short_number.U64().ok());
  const std::string padded = bytes + "x";
  WireReader extra(padded, "s");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(extra.U64().ok());
  ASSERT_TRUE(extra.Text().ok());
  ASSERT_TRUE(extra.Text().ok());
  EXPECT_NE(extra.Done().message().find("1 bytes left over"), std::string::npos);
}

TEST(Processes, LaunchersAreRecognisedAndTagsMustAgree) {
  EXPECT_TRUE(IsMine(nullptr, 5));
  EXPECT_EQ(ProcessCount(nullptr), 1);
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    ::unsetenv(name);
  }
  EXPECT_EQ(LaunchedProcessCount(), 1);
  ::setenv("PMI_SIZE", "4", 1);
  EXPECT_EQ(LaunchedProcessCount(), 4);
  ::setenv("PMI_SIZE", "4x", 1);  // not a number: no launcher
  EXPECT_EQ(LaunchedProcessCount(), 1);
  ::setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  EXPECT_EQ(LaunchedProcessCount(), 2);
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  ::setenv("SLURM_STEP_NUM_TASKS", "8", 1);
  EXPECT_EQ(LaunchedProcessCount(), 8);
  ::setenv("SCALEPLAN_ONE_PROCESS", "1", 1);  // a launcher's child that runs scaleplan alone
  EXPECT_EQ(LaunchedProcessCount(), 1);
  ::unsetenv("SCALEPLAN_ONE_PROCESS");
  ::unsetenv("SLURM_STEP_NUM_TASKS");
  ::unsetenv("PMI_SIZE");

  // Two ranks at the same step get each other's shares in rank order; at different steps, both
  // get an error naming the two steps (and neither waits forever).
  testing::ThreadRanks ranks(2);
  std::vector<Result<std::vector<std::string>>> got(2, Status::Invalid("not run"));
  ranks.Run([&](const Processes& p) {
    got[static_cast<size_t>(p.rank())] = p.AllGather("step", p.rank() == 0 ? "a" : "bc");
  });
  for (const auto& g : got) {
    ASSERT_TRUE(g.ok()) << g.status().message();
    EXPECT_EQ(*g, (std::vector<std::string>{"a", "bc"}));
  }
  ranks.Run([&](const Processes& p) {
    got[static_cast<size_t>(p.rank())] = p.AllGather(p.rank() == 0 ? "search" : "end", "");
  });
  ASSERT_FALSE(got[0].ok());
  EXPECT_NE(got[0].status().message().find("rank 1 is at 'end' while rank 0 is at 'search'"),
            std::string::npos)
      << got[0].status().message();
  ASSERT_FALSE(got[1].ok());
  // A rank that returns without an exchange its peer waits in: the peer gets an error naming it
  // (under mpirun that split would hang; the test harness fails instead).
  testing::ThreadRanks deserted(2);
  deserted.Run([&](const Processes& p) {
    if (p.rank() == 1) return;
    got[0] = p.AllGather("step", "a");
  });
  ASSERT_FALSE(got[0].ok());
  EXPECT_NE(got[0].status().message().find("rank 1 returned without joining"), std::string::npos)
      << got[0].status().message();
  // Equal inputs hash equally; FNV-1a of "" is its offset basis.
  EXPECT_EQ(Fingerprint(""), 14695981039346656037ull);
  EXPECT_EQ(Fingerprint("abc"), Fingerprint("abc"));
  EXPECT_NE(Fingerprint("abc"), Fingerprint("abd"));
}

TEST(CheckText, ReportsBinaryContentByOffset) {
  EXPECT_TRUE(CheckText("plan:\n\ttp: 8\r\n# \xC3\xA9t\xC3\xA9 \xE2\x82\xAC\n", "a.yaml").ok());
  // NUL at offset 3; a lone continuation byte at 2; an overlong '/' (C0 AF); a surrogate (ED A0
  // 80); a sequence cut short at the end.
  EXPECT_EQ(CheckText(std::string("abc\0d", 5), "a.yaml").message(),
            "a.yaml: binary content (byte 0x00 at offset 3; allowed: UTF-8 text without control "
            "characters other than tab and line breaks)");
  EXPECT_NE(CheckText("ab\x80", "f").message().find("byte 0x80 at offset 2"), std::string::npos);
  EXPECT_FALSE(CheckText("\xC0\xAF", "f").ok());
  EXPECT_FALSE(CheckText("\xED\xA0\x80", "f").ok());
  EXPECT_FALSE(CheckText("ok \xE2\x82", "f").ok());
  EXPECT_FALSE(CheckText("\x1B[31m", "f").ok());
}

// One edit below 16 bytes, two from 16 on; the word itself is not a near miss of itself, a tie
// names nothing. "tensor_paralel_degree" (21 bytes) is one deletion from "tensor_parallel_degree";
// "--lr" and "--lx" are one substitution apart (4 bytes: one edit allowed), "--lr" and "--xx" two.
TEST(NearMiss, NamesTheOneCandidateATypoAway) {
  const std::vector<std::string> known = {"tensor_parallel_degree", "pipeline_parallel_degree",
                                          "--lx", "--ly"};
  EXPECT_EQ(NearMiss("tensor_paralel_degree", known), "tensor_parallel_degree");
  EXPECT_EQ(NearMiss("tensr_paralel_degree", known), "tensor_parallel_degree");  // two edits
  EXPECT_EQ(NearMiss("tnsr_paralel_degree", known), "");                       // three
  EXPECT_EQ(NearMiss("tensor_parallel_degree", known), "");  // itself
  EXPECT_EQ(NearMiss("--lr", known), "");                    // --lx and --ly tie
  EXPECT_EQ(NearMiss("--lr", {"--lx"}), "--lx");
  EXPECT_EQ(NearMiss("--lr", {"--xx"}), "");
  EXPECT_EQ(NearMiss(std::string(300, 'a'), {std::string(300, 'a') + "b"}), "");
}

TEST(Printable, EscapesAndCuts) {
  EXPECT_EQ(Printable("a\nb\tc\x01\xFF \xC3\xA9", 100), "a\\nb\\tc\\x01\\xFF \xC3\xA9");
  EXPECT_EQ(Printable("abcdefgh", 3), "abc... (5 more bytes)");
  // U+202E (E2 80 AE) would show "gpj.exe" reversed; U+009B (C2 9B) is an 8-bit CSI; U+2028 (E2
  // 80 A8) a line separator; U+202F (E2 80 AF, a narrow space) and U+00A0 (C2 A0) stay as written.
  EXPECT_EQ(Printable("a\xE2\x80\xAEgpj.exe", 100), "a\\u202Egpj.exe");
  EXPECT_EQ(Printable("\xC2\x9B"
                      "2J|\xE2\x80\xA8|\xE2\x80\xAF|\xC2\xA0",
                      100),
            "\\u009B2J|\\u2028|\xE2\x80\xAF|\xC2\xA0");
}

// /proc/meminfo's MemAvailable in kB (1024 bytes), a cgroup file's bytes or "max".
TEST(Memory, ReadsMemAvailableAndCgroupFiles) {
  EXPECT_EQ(MemAvailableBytes("MemTotal:  2048 kB\nMemFree: 10 kB\nMemAvailable:    1000 kB\n"),
            1024000.0);
  EXPECT_EQ(MemAvailableBytes("MemTotal:  2048 kB\n"), std::nullopt);
  EXPECT_EQ(MemAvailableBytes("MemAvailable: 12x kB\n"), std::nullopt);
  EXPECT_EQ(MemAvailableBytes("MemAvailable: 12 MB\n"), std::nullopt);
  EXPECT_EQ(CgroupBytes("max\n"), std::nullopt);
  EXPECT_EQ(CgroupBytes("1073741824\n"), 1073741824.0);
  EXPECT_EQ(CgroupBytes("-1\n"), std::nullopt);
  EXPECT_EQ(StatBytes("cache 10\nrss 20\ntotal_cache 30\ntotal_rss 40\n", "total_rss"), 40.0);
  EXPECT_EQ(StatBytes("cache 10\nrss 20\n", "rs"), std::nullopt);  // a key, not a prefix
  EXPECT_EQ(StatBytes("anon 4096\nfile 8192\n", "anon"), 4096.0);
  EXPECT_EQ(AddressSpaceLimitBytes("Max address space  1000  2000  bytes\n"), 1000.0);  // soft
  EXPECT_EQ(AddressSpaceLimitBytes("Max address space  unlimited  unlimited  bytes\n"),
            std::nullopt);
  EXPECT_EQ(AddressSpaceLimitBytes("Max stack size  1000  2000  bytes\n"), std::nullopt);
  EXPECT_EQ(StatusBytes("VmPeak:\t 9 kB\nVmSize:\t 2 kB\n", "VmSize"), 2048.0);
  EXPECT_EQ(StatusBytes("VmSizeX:\t 2 kB\n", "VmSize"), std::nullopt);  // a key, not a prefix
  EXPECT_EQ(StatusBytes("VmSize:\t 2 pages\n", "VmSize"), std::nullopt);
}

// The room AvailableMemoryBytes reads from a file system given as a map (path -> text).
std::optional<double> RoomIn(const std::map<std::string, std::string>& files) {
  return AvailableMemoryBytes([&](const std::string& path) -> std::optional<std::string> {
    const auto it = files.find(path);
    return it == files.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

TEST(Memory, TheRoomIsTheLeastOfMemAvailableAndTheCgroupsLimits) {
  const std::string meminfo = "MemTotal: 20 kB\nMemAvailable: 10 kB\n";  // 10,240 bytes
  EXPECT_EQ(RoomIn({}), std::nullopt);
  EXPECT_EQ(RoomIn({{"/proc/meminfo", meminfo}}), 10240.0);
  // v2, the process in /a/b: b sets no limit; a's 1,000 less its 300 anonymous bytes is 700.
  EXPECT_EQ(RoomIn({{"/proc/meminfo", meminfo},
                    {"/proc/self/cgroup", "0::/a/b\n"},
                    {"/sys/fs/cgroup/a/b/memory.max", "max\n"},
                    {"/sys/fs/cgroup/a/b/memory.stat", "anon 100\nfile 5000\n"},
                    {"/sys/fs/cgroup/a/memory.max", "1000\n"},
                    {"/sys/fs/cgroup/a/memory.stat", "anon 300\nfile 5000\n"}}),
            700.0);
  // v2 in a container: /gone is not mounted, the root is the container's group (2,000 - 500).
  EXPECT_EQ(RoomIn({{"/proc/meminfo", meminfo},
                    {"/proc/self/cgroup", "0::/gone\n"},
                    {"/sys/fs/cgroup/memory.max", "2000\n"},
                    {"/sys/fs/cgroup/memory.stat", "anon 500\n"}}),
            1500.0);
  // v1, memory co-mounted with cpu: the hierarchical limit 5,000 less total_rss 1,000.
  EXPECT_EQ(RoomIn({{"/proc/meminfo", meminfo},
                    {"/proc/self/cgroup", "9:name=systemd:/\n4:cpu,memory:/x\n0::/\n"},
                    {"/sys/fs/cgroup/cpu,memory/x/memory.stat",
                     "rss 7\nhierarchical_memory_limit 5000\ntotal_rss 1000\n"}}),
            4000.0);
  // v1 without a limit (the largest page-aligned int64): MemAvailable decides.
  EXPECT_EQ(RoomIn({{"/proc/meminfo", meminfo},
                    {"/proc/self/cgroup", "4:memory:/\n"},
                    {"/sys/fs/cgroup/memory/memory.stat",
                     "hierarchical_memory_limit 9223372036854771712\ntotal_rss 1000\n"}}),
            10240.0);
  // A group's use past its limit leaves no room, not a negative one.
  EXPECT_EQ(RoomIn({{"/proc/self/cgroup", "0::/\n"},
                    {"/sys/fs/cgroup/memory.max", "1000\n"},
                    {"/sys/fs/cgroup/memory.stat", "anon 3000\n"}}),
            0.0);
  // ulimit -v 4 (4,096 bytes) with a virtual size of 1 kB: 4,096 - 1,024 = 3,072, below
  // MemAvailable's 10,240; unlimited, MemAvailable decides.
  const std::string limits =
      "Limit                     Soft Limit           Hard Limit           Units\n"
      "Max stack size            8388608              unlimited            bytes\n"
      "Max address space         4096                 8192                 bytes\n";
  const std::string status = "Name:\tscaleplan\nVmPeak:\t   9 kB\nVmSize:\t   1 kB\n";
  EXPECT_EQ(RoomIn({{"/proc/meminfo", meminfo},
                    {"/proc/self/limits", limits},
                    {"/proc/self/status", status}}),
            3072.0);
  EXPECT_EQ(RoomIn({{"/proc/meminfo", meminfo},
                    {"/proc/self/limits", "Max address space  unlimited  unlimited  bytes\n"},
                    {"/proc/self/status", status}}),
            10240.0);
#ifdef __linux__
  EXPECT_TRUE(AvailableMemoryBytes().has_value());  // this machine's files read
#endif
}

TEST(Checked, RefusesWhatWouldWrap) {
  int64_t big = int64_t{1} << 32;
  EXPECT_EQ(CheckedMul(big, big), std::nullopt);  // 2^64
  EXPECT_EQ(CheckedMul(big, big / 4), std::optional<int64_t>(int64_t{1} << 62));
  EXPECT_EQ(CheckedAdd(INT64_MAX, 1), std::nullopt);
  // 8 * 16 * 128 = 16384 fits under 16384; 2^32 * 2^32 * 8 wraps to 0 in plain arithmetic.
  EXPECT_EQ(BoundedProduct({8, 16, 128}, 16384), std::optional<int64_t>(16384));
  EXPECT_EQ(BoundedProduct({8, 16, 128}, 16383), std::nullopt);
  EXPECT_EQ(BoundedProduct({big, big, 8}, INT64_MAX), std::nullopt);
}

// The same input file twice, however spelled (a link, ./x), is refused; "-" twice too; a
// missing path is left to its reader.
TEST(DistinctInputs, TheSameFileTwiceIsRefused) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "scaleplan_inputs_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string a = (dir / "a.jsonl").string(), b = (dir / "b.jsonl").string();
  std::ofstream(a) << "{}\n";
  std::ofstream(b) << "{}\n";
  std::filesystem::create_symlink("a.jsonl", dir / "link.jsonl");
  EXPECT_TRUE(DistinctInputs({a, b, (dir / "missing").string()}, "--log").ok());
  EXPECT_EQ(DistinctInputs({a, b, (dir / "link.jsonl").string()}, "--log").message(),
            "--log: " + (dir / "link.jsonl").string() + " is the same file as " + a +
                " (allowed: each file once; its rows would count twice)");
  EXPECT_FALSE(DistinctInputs({"-", "-"}, "fit").ok());
  std::filesystem::remove_all(dir);
}

// Half the last written digit over the value: "0.156" -> 0.0005 / 0.156; "1.94867e-05" ->
// 0.000005 / 1.94867; "250" -> 0.5 / 250; nothing for text or zero. A derived cell passes within
// its digits, the derived value's precision and 0.1%: 0.1024 GB/s against 0.1025 is 0.098% off,
// within 0.049% + 0 + 0.1%; against 0.104, 1.5% off, beyond 0.48% + 0.1%.
TEST(Csv, WrittenPrecisionAndDerivedCells) {
  EXPECT_NEAR(WrittenRelativePrecision("0.156"), 0.0005 / 0.156, 1e-15);
  EXPECT_NEAR(WrittenRelativePrecision(" 1.94867e-05 "), 0.000005 / 1.94867, 1e-12);
  EXPECT_NEAR(WrittenRelativePrecision("250"), 0.5 / 250, 1e-15);
  EXPECT_EQ(WrittenRelativePrecision("fast"), 0.0);
  EXPECT_EQ(WrittenRelativePrecision("10k"), 0.0);  // a suffix: not plain decimal text
  EXPECT_NEAR(WrittenRelativePrecision("1E+05"), 0.5e5 / 1e5, 1e-15);
  EXPECT_NEAR(WrittenRelativePrecision("-2.5"), 0.05 / 2.5, 1e-15);
  EXPECT_EQ(WrittenRelativePrecision("0"), 0.0);
  EXPECT_TRUE(CheckDerivedCell("0.1025", "t.csv:2", "x", 0.1024, 0.0, "a / b").ok());
  EXPECT_TRUE(CheckDerivedCell("", "t.csv:2", "x", 0.1024, 0.0, "a / b").ok());
  Status off = CheckDerivedCell("0.104", "t.csv:2", "x", 0.1024, 0.0, "a / b");
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.message().find("t.csv:2: x = '0.104' disagrees with a / b = 0.1024"),
            std::string::npos)
      << off.message();
  EXPECT_FALSE(CheckDerivedCell("nan", "t.csv:2", "x", 0.1024, 0.0, "a / b").ok());
  EXPECT_FALSE(CheckDerivedCell("-0.1024", "t.csv:2", "x", 0.1024, 0.0, "a / b").ok());
}

// A header that names a column twice is refused with both places; empty names (a trailing
// comma) are not names.
TEST(Csv, AColumnNamedTwiceIsRefused) {
  EXPECT_EQ(ParseCsv("# note\nlayers,gpus,layers\n1,2,3\n", "runs.csv").status().message(),
            "runs.csv:2: column layers is named twice, columns 1 and 3 (allowed: one column per "
            "name)");
  Result<CsvTable> t = ParseCsv("a,b,,\n1,2,,\n", "ok.csv");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->Cell(0, "b"), "2");
}

TEST(Csv, LineEndingsLfCrlfAndCrCrlfReadAlikeABareCrIsRefused) {
  // LF, CRLF, CR CR LF (Python's csv writer in text mode on Windows) and a last line ending in
  // CR alone all read as two rows of a = 1, 3 and b = 2, 4.
  for (const char* text : {"a,b\n1,2\n3,4\n", "a,b\r\n1,2\r\n3,4\r\n",
                           "a,b\r\r\n1,2\r\r\n3,4\r\r\n", "a,b\n1,2\n3,4\r"}) {
    Result<CsvTable> t = ParseCsv(text, "ends.csv");
    ASSERT_TRUE(t.ok()) << t.status().message();
    ASSERT_EQ(t->rows.size(), 2u);
    EXPECT_EQ(t->Cell(1, "a"), "3");
    EXPECT_EQ(t->Cell(1, "b"), "4");
  }
  // A CR followed by anything but a line feed: classic Mac line endings, refused by line.
  Result<CsvTable> mac = ParseCsv("a,b\n1,2\r3,4\n", "mac.csv");
  ASSERT_FALSE(mac.ok());
  EXPECT_NE(mac.status().message().find("mac.csv:2: a carriage return not followed by a line feed"),
            std::string::npos)
      << mac.status().message();
  // Inside quotes a CR is the cell's.
  Result<CsvTable> quoted = ParseCsv("a,b\n\"x\ry\",2\n", "q.csv");
  ASSERT_TRUE(quoted.ok()) << quoted.status().message();
  EXPECT_EQ(quoted->Cell(0, "a"), "x\ry");
}

}  // namespace
}  // namespace scaleplan
