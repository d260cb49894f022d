#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "core/file.h"
#include "core/text.h"

namespace scaleplan {
namespace {

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
}

TEST(ParseInteger, RequiresWholeNumbers) {
  EXPECT_EQ(*ParseInteger("16Mi"), 16777216);
  EXPECT_EQ(*ParseInteger("1e3"), 1000);
  EXPECT_FALSE(ParseInteger("1.5").ok());
  EXPECT_FALSE(ParseInteger("1e300").ok());
  EXPECT_EQ(ParseInteger("x").status().message(), "is not an integer");
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
  EXPECT_EQ(ReadInputFile(dir.string(), 100).status().message(),
            dir.string() + ": not a regular file (allowed: a regular file, or - for standard input)");
  std::string fifo = (dir / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ReadInputFile(fifo, 100).status().code(), StatusCode::kInvalidArgument);  // and no hang
  Result<std::string> missing = ReadInputFile((dir / "none").string(), 100);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace scaleplan
