// Reader for XLA's measured collective table (openxla's default_collective_perf_table, as the CSV
// of data/calibration/xla-collectives.csv: device_key, opcode, tensor_size_bytes,
// num_replica_groups, devices_per_group, throughput_GBps and/or implied_time_us), so that the
// collective model can be scored on it: `scaleplan validate data/calibration/xla-collectives.csv`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "collective/collective.h"
#include "core/csv.h"
#include "core/status.h"

namespace scaleplan::collective {

struct CollectiveTablePoint {
  std::string device_key;  // e.g. sm_90, sm_100_B200, sm_100_GB200, sm_103
  Op op = Op::kAllReduce;
  double bytes = 0;    // tensor_size_bytes: the larger buffer, as nccl-tests' size
  int64_t groups = 1;  // num_replica_groups: groups that ran at once
  int64_t ranks = 0;   // devices_per_group
  double time_s = 0;   // implied_time_us, or tensor_size_bytes / throughput
  int64_t line = 0;    // of the file
  // A collective-permute row (point-to-point pairs, no group): not priced, its other cells not
  // read.
  bool point_to_point = false;
};

// Whether `table` has the table's columns (device_key, opcode, tensor_size_bytes,
// devices_per_group, and implied_time_us or throughput_GBps).
bool IsCollectiveTable(const CsvTable& table);

// Every row, or an error that names the file, the line, the column, the value and what is allowed
// (or the columns the table lacks). collective-permute rows come back marked point_to_point.
Result<std::vector<CollectiveTablePoint>> ParseCollectiveTable(const CsvTable& table,
                                                               const std::string& origin);

}  // namespace scaleplan::collective
