// Reader for the text output of NVIDIA's nccl-tests (all_reduce_perf, all_gather_perf,
// reduce_scatter_perf, alltoall_perf, sendrecv_perf), so that users can check the collective model
// against their own cluster: `scaleplan validate their-run.txt`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "collective/collective.h"
#include "core/status.h"

namespace scaleplan::collective {

struct NcclTestsPoint {
  double bytes = 0;   // the "size" column: total buffer size as nccl-tests defines it
  double time_s = 0;  // out-of-place time
  double busbw_bytes_per_s = 0;
  int64_t line = 0;  // of the output file
};

struct NcclTestsRun {
  std::string origin;
  Op op = Op::kAllReduce;
  int64_t ranks = 0;  // "# Rank" lines, else nThread * nGpus
  int64_t nodes = 1;  // distinct host names of the rank lines
  std::vector<NcclTestsPoint> points;
};

Result<NcclTestsRun> ParseNcclTests(std::string_view text, const std::string& origin);

}  // namespace scaleplan::collective
