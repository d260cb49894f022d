#include "collective/xla_table.h"

#include <fmt/format.h>

#include <cmath>

#include "collective/measured_bounds.h"
#include "core/text.h"

namespace scaleplan::collective {

bool IsCollectiveTable(const CsvTable& table) {
  return table.Column("device_key") >= 0 && table.Column("opcode") >= 0 &&
         table.Column("tensor_size_bytes") >= 0 && table.Column("devices_per_group") >= 0 &&
         (table.Column("implied_time_us") >= 0 || table.Column("throughput_GBps") >= 0);
}

Result<std::vector<CollectiveTablePoint>> ParseCollectiveTable(const CsvTable& table,
                                                               const std::string& origin) {
  if (!IsCollectiveTable(table)) {
    std::string missing;
    for (const char* column : {"device_key", "opcode", "tensor_size_bytes", "devices_per_group"}) {
      if (table.Column(column) < 0) missing += std::string(missing.empty() ? "" : ", ") + column;
    }
    if (table.Column("implied_time_us") < 0 && table.Column("throughput_GBps") < 0) {
      missing += std::string(missing.empty() ? "" : ", ") + "implied_time_us or throughput_GBps";
    }
    return Status::Invalid(
        fmt::format("{}: a collective table without {} (allowed: columns device_key, opcode, "
                    "tensor_size_bytes, devices_per_group, and implied_time_us or throughput_GBps)",
                    origin, missing));
  }
  struct Known {
    const char* name;
    Op op;
  };
  constexpr Known kKnown[] = {{"all-reduce", Op::kAllReduce},
                              {"all-gather", Op::kAllGather},
                              {"reduce-scatter", Op::kReduceScatter},
                              {"all-to-all", Op::kAllToAll}};
  std::vector<CollectiveTablePoint> points;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const std::string where = fmt::format("{}:{}", origin, table.lines[r]);
    CollectiveTablePoint p;
    p.line = table.lines[r];
    p.device_key = Trim(table.Cell(r, "device_key"));
    const std::string opcode(Trim(table.Cell(r, "opcode")));
    if (opcode == "collective-permute") {
      p.point_to_point = true;
      points.push_back(std::move(p));
      continue;
    }
    bool found = false;
    for (const Known& k : kKnown) {
      if (opcode == k.name) {
        p.op = k.op;
        found = true;
      }
    }
    if (!found) {
      return Status::Invalid(fmt::format(
          "{}: opcode = '{}' (allowed: all-reduce, all-gather, reduce-scatter, all-to-all, or "
          "collective-permute, which is listed and not priced)",
          where, Printable(opcode, 40)));
    }
    if (p.device_key.empty()) {
      return Status::Invalid(
          fmt::format("{}: device_key is blank (allowed: the GPU's key, e.g. "
                      "sm_90 or sm_100_GB200)",
                      where));
    }
    SP_ASSIGN_OR_RETURN(int64_t bytes, BoundedWholeCell(table.Cell(r, "tensor_size_bytes"), where,
                                                        "tensor_size_bytes", 1,
                                                        static_cast<int64_t>(kMaxMeasuredBytes)));
    p.bytes = static_cast<double>(bytes);
    SP_ASSIGN_OR_RETURN(p.ranks, BoundedWholeCell(table.Cell(r, "devices_per_group"), where,
                                                  "devices_per_group", 2, kMaxMeasuredRanks));
    if (table.Column("num_replica_groups") >= 0) {
      SP_ASSIGN_OR_RETURN(p.groups, BoundedWholeCell(table.Cell(r, "num_replica_groups"), where,
                                                     "num_replica_groups", 1, kMaxMeasuredRanks));
      if (p.groups * p.ranks > kMaxMeasuredRanks) {
        // The groups ran at once on distinct devices: together no more than one run can hold.
        return Status::Invalid(fmt::format(
            "{}: num_replica_groups x devices_per_group = {} x {} = {} devices (allowed: at "
            "most {} devices in one run)",
            where, p.groups, p.ranks, p.groups * p.ranks, kMaxMeasuredRanks));
      }
    }
    const std::string time(Trim(table.Cell(r, "implied_time_us")));
    const std::string throughput(Trim(table.Cell(r, "throughput_GBps")));
    if (!time.empty()) {
      SP_ASSIGN_OR_RETURN(double us,
                          BoundedCell(time, where, "implied_time_us", kMinMeasuredTimeUs,
                                      kMaxMeasuredTimeUs, "microseconds from 0.001 to 1e10"));
      p.time_s = us * 1e-6;
      // The time is what is scored; a throughput beside it must say the same.
      SP_RETURN_IF_ERROR(CheckDerivedCell(throughput, where, "throughput_GBps",
                                          p.bytes / p.time_s * 1e-9, WrittenRelativePrecision(time),
                                          "tensor_size_bytes / implied_time_us / 1000 (GB/s)"));
    } else if (throughput.empty()) {
      return Status::Invalid(
          fmt::format("{}: implied_time_us and throughput_GBps are both blank (allowed: a time in "
                      "microseconds, or a throughput in GB/s)",
                      where));
    } else {
      SP_ASSIGN_OR_RETURN(double gbs, BoundedCell(throughput, where, "throughput_GBps", 1e-9,
                                                  kMaxMeasuredBandwidthGBs,
                                                  "a throughput in GB/s above 0, at most 1e6"));
      p.time_s = p.bytes / (gbs * 1e9);
      if (!(p.time_s >= kMinMeasuredTimeUs * 1e-6 && p.time_s <= kMaxMeasuredTimeUs * 1e-6)) {
        return Status::Invalid(fmt::format(
            "{}: tensor_size_bytes / throughput_GBps = {:.0f} bytes / {} GB/s = {:.3g} s "
            "(allowed: 1 ns to 1e4 s)",
            where, p.bytes, Printable(throughput, 40), p.time_s));
      }
    }
    points.push_back(std::move(p));
  }
  return points;
}

}  // namespace scaleplan::collective
