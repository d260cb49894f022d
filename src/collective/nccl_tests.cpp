#include "collective/nccl_tests.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "collective/measured_bounds.h"
#include "core/text.h"

namespace scaleplan::collective {

namespace {

std::vector<std::string> Tokens(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> out;
  std::string token;
  while (in >> token) out.push_back(token);
  return out;
}

}  // namespace

Result<NcclTestsRun> ParseNcclTests(std::string_view text, const std::string& origin) {
  NcclTestsRun run;
  run.origin = origin;
  struct Known {
    const char* binary;
    Op op;
  };
  constexpr Known kKnown[] = {{"all_reduce_perf", Op::kAllReduce},
                              {"all_gather_perf", Op::kAllGather},
                              {"reduce_scatter_perf", Op::kReduceScatter},
                              {"alltoall_perf", Op::kAllToAll},
                              {"sendrecv_perf", Op::kSendRecv}};
  bool found_op = false;
  for (const Known& k : kKnown) {
    if (text.find(k.binary) != std::string_view::npos) {
      run.op = k.op;
      found_op = true;
      break;
    }
  }
  if (!found_op) {
    return Status::Parse(fmt::format(
        "{}: not an nccl-tests output: no all_reduce_perf, all_gather_perf, reduce_scatter_perf, "
        "alltoall_perf or sendrecv_perf command line",
        origin));
  }
  SP_RETURN_IF_ERROR(CheckText(text, origin));
  int64_t threads = 1, gpus = 0;
  std::set<std::string> hosts;
  std::set<double> sizes;
  int64_t rank_lines = 0;
  bool wrong_column = false;  // the table's header names #wrong (older runs printed an error size)
  size_t header_fields = 0;   // the columns the table's header names (0: no header seen)
  size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    std::vector<std::string> t = Tokens(line);
    if (t.empty()) continue;
    if (t[0] == "#") {
      // A second run's header after this one's rows (logs appended to one file): its ranks and
      // sizes would mix with the first's.
      const bool header = t.size() > 2 && t[1] == "size" && t[2] == "count";
      const bool settings = std::find(t.begin(), t.end(), "nThread") != t.end();
      if ((header || settings) && !run.points.empty()) {
        return Status::Parse(fmt::format(
            "{}:{}: a second run's {} after the first's rows (allowed: one nccl-tests run per "
            "file; split the log)",
            origin, line_no, header ? "table header" : "settings line"));
      }
      wrong_column = wrong_column || std::find(t.begin(), t.end(), "#wrong") != t.end();
      if (header) header_fields = t.size() - 1;
      for (size_t i = 1; i + 1 < t.size(); ++i) {
        if (t[i] != "nThread" && t[i] != "nGpus") continue;
        Result<int64_t> v = ParseInteger(t[i + 1]);
        if (!v.ok() || *v < 1 || *v > kMaxMeasuredRanks) {
          return Status::Parse(fmt::format("{}:{}: {} {} (allowed: an integer from 1 to {})",
                                           origin, line_no, t[i], Printable(t[i + 1], 40),
                                           kMaxMeasuredRanks));
        }
        (t[i] == "nThread" ? threads : gpus) = *v;
      }
      if (t.size() > 2 && t[1] == "Rank") {
        ++rank_lines;
        for (size_t i = 2; i + 1 < t.size(); ++i) {
          if (t[i] == "on") hosts.insert(t[i + 1]);
        }
      }
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(t[0][0]))) {
      // A row of the table (its column count and a data type in the type column) whose size is
      // not a byte count is refused; other lines (the command line, NCCL's own messages) are not
      // the table's.
      static const std::set<std::string> kTypes = {
          "float",  "half",  "bfloat16", "double",   "int8",     "uint8",  "int32",
          "uint32", "int64", "uint64",   "fp8_e4m3", "fp8_e5m2", "f8e4m3", "f8e5m2"};
      if (header_fields > 2 && t.size() == header_fields && kTypes.count(t[2]) > 0) {
        return Status::Parse(fmt::format(
            "{}:{}: size {} is not a byte count (allowed: a whole number of bytes from 1 to 2^50)",
            origin, line_no, Printable(t[0], 30)));
      }
      continue;
    }
    if (t.size() < 8) {
      return Status::Parse(
          fmt::format("{}:{}: expected size, count, type, redop, root, time, algbw, "
                      "busbw columns, found {} fields",
                      origin, line_no, t.size()));
    }
    if (header_fields > 0 && t.size() != header_fields) {
      // A field too many or too few shifts every column after it: refused, not read shifted.
      return Status::Parse(
          fmt::format("{}:{}: {} fields (allowed: the {} columns the table's "
                      "header names)",
                      origin, line_no, t.size(), header_fields));
    }
    Result<double> bytes = ParseNumber(t[0]);
    Result<double> time_us = ParseNumber(t[5]);
    Result<double> busbw = ParseNumber(t[7]);
    if (!bytes.ok() || !time_us.ok() || !busbw.ok() ||
        !(*bytes >= 1 && *bytes <= kMaxMeasuredBytes) ||
        !(*time_us >= kMinMeasuredTimeUs && *time_us <= kMaxMeasuredTimeUs) ||
        !(*busbw >= 0 && *busbw <= kMaxMeasuredBandwidthGBs)) {
      return Status::Parse(fmt::format(
          "{}:{}: size {}, time {} us, busbw {} GB/s (allowed: size 1 to 2^50 bytes, time {} to {} "
          "us, busbw 0 to {} GB/s)",
          origin, line_no, Printable(t[0], 30), Printable(t[5], 30), Printable(t[7], 30),
          kMinMeasuredTimeUs, kMaxMeasuredTimeUs, kMaxMeasuredBandwidthGBs));
    }
    // The #wrong column (out of place; "N/A" when the run did not check): a row whose results
    // were wrong measured a broken collective.
    if (wrong_column && t.size() >= 9) {
      Result<double> wrong = ParseNumber(t[8]);
      if (wrong.ok() && *wrong != 0) {
        return Status::Parse(fmt::format(
            "{}:{}: #wrong = {}: the collective gave wrong results (allowed: 0, or N/A where the "
            "run did not check)",
            origin, line_no, Printable(t[8], 30)));
      }
    }
    // nccl-tests prints every row twice in some logs (the summary repeats the table): keep one.
    if (!sizes.insert(*bytes).second) continue;
    run.points.push_back({*bytes, *time_us * 1e-6, *busbw * 1e9, line_no});
  }
  // Every GPU prints one '# Rank' line and each process drives nThread x nGpus of them, so the
  // lines are a multiple of that; fewer, or a remainder, means lines were lost or edited.
  if (rank_lines > 0 && gpus > 0 && rank_lines % (threads * gpus) != 0) {
    return Status::Parse(fmt::format(
        "{}: {} '# Rank' lines for nThread {} x nGpus {} per process (allowed: one line per GPU, "
        "a multiple of {})",
        origin, rank_lines, threads, gpus, threads * gpus));
  }
  run.ranks = std::min(kMaxMeasuredRanks + 1, rank_lines > 0 ? rank_lines : threads * gpus);
  if (run.ranks > kMaxMeasuredRanks) {
    return Status::Parse(fmt::format("{}: more than {} ranks (allowed: 2 to {})", origin,
                                     kMaxMeasuredRanks, kMaxMeasuredRanks));
  }
  run.nodes = hosts.empty() ? 1 : static_cast<int64_t>(hosts.size());
  if (run.ranks < 2) return Status::Parse(origin + ": no rank count (nGpus or '# Rank' lines)");
  if (run.points.empty()) return Status::Parse(origin + ": no measurement rows");
  return run;
}

}  // namespace scaleplan::collective
