#include "validate/validate.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace scaleplan::validate {
namespace {

using scaleplan::testing::Must;

std::string Data(const std::string& file) {
  return std::string(SCALEPLAN_TEST_DIR) + "/../data/validation/" + file;
}

// Ranks of [1,2,3,4] and [1,3,2,4] differ by 1 in two places: rho = 1 - 6*2/(4*15) = 0.8.
TEST(Spearman, HandValues) {
  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8, 1e-12);
  EXPECT_NEAR(Spearman({1, 2, 3}, {30, 20, 10}), -1.0, 1e-12);
  EXPECT_EQ(Spearman({1, 2}, {1, 2}), 0.0);  // too few rows to rank
}

TEST(Validate, CommonSchemaRowsAreModeledOrExplained) {
  std::string csv =
      "model,params_b,layers,hidden,ffn_hidden,heads,kv_heads,vocab,gpu_type,num_gpus,tp,cp,pp,vp,"
      "dp,ep,fsdp,"
      "seq_len,micro_batch,global_batch,tokens_per_batch,precision,recompute,tokens_per_s_per_gpu,"
      "tflops_per_gpu,"
      "mfu,other_metric,notes,row_quote,source\n"
      "LLAMA3-8B,,32,4096,14336,32,8,128256,H100,8,1,1,1,,,,,8192,1,64,,BF16,,10000,,,,,,test\n"
      "Mystery-7B,,,,,,,,H100,8,1,1,1,,,,,4096,1,64,,BF16,,9000,,,,,,test\n";
  FileReport report = Must(ValidateText(csv, "rows.csv", {}));
  ASSERT_EQ(report.rows.size(), 2u);
  const Row& modeled = report.rows[0];
  EXPECT_TRUE(modeled.skipped.empty()) << modeled.skipped;
  EXPECT_EQ(modeled.metric, "tokens_per_s_per_gpu");
  EXPECT_NEAR(modeled.error_pct, 100.0 * (modeled.predicted - 10000.0) / 10000.0, 1e-9);
  EXPECT_FALSE(modeled.assumptions.empty());
  EXPECT_NE(report.rows[1].skipped.find("architecture not given"), std::string::npos);
  EXPECT_EQ(report.summary.modeled, 1);
  EXPECT_EQ(report.summary.skipped, 1);
}

TEST(Validate, UnknownSchemaIsAnError) {
  Result<FileReport> r = ValidateText("a,b\n1,2\n", "x.csv", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("matches no known schema"), std::string::npos);
}

// The accuracy targets of docs/ACCURACY.md, held as regression checks: the BF16 H100 rows of
// dgxc.csv and the SC21 Table 1 rows of megatron.csv.
TEST(Accuracy, DgxcH100Bf16) {
  Options o;
  o.gpu_filter = "H100";
  o.precision_filter = "BF16";
  FileReport r = Must(ValidateFile(Data("dgxc.csv"), o));
  EXPECT_GE(r.summary.modeled, 100);
  EXPECT_LE(r.summary.mean_abs_error_pct, 10.0);
  EXPECT_GE(r.summary.spearman, 0.9);
}

TEST(Accuracy, Sc21Table1) {
  Options o;
  o.match = "Table 1 weak";
  FileReport r = Must(ValidateFile(Data("megatron.csv"), o));
  EXPECT_EQ(r.summary.modeled, 10);
  EXPECT_LE(r.summary.mean_abs_error_pct, 10.0);
}

}  // namespace
}  // namespace scaleplan::validate
