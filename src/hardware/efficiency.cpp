// Kernel efficiency from measured tables; equations and sources in efficiency.h.
#include "hardware/efficiency.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <mutex>

#include "hardware/tables.h"

namespace scaleplan::hardware {

namespace {

// The best H100 SXM FP8 (e4m3) GEMM measured by mamf-finder (torch 2.7, best shape): 1,402.6 of
// 1,979 TFLOP/s (stas00/ml-engineering compute/accelerator/README.md@744d01e, "MAMF" table).
constexpr double kH100Fp8BestFraction = 1402.6 / 1979.0;

constexpr int kMs = 7;        // log2 m = 8..14
constexpr int kNs = 5;        // log2 n, k = 8..12
constexpr int kSeqs = 6;      // log2 key length = 9..14
constexpr int kHeadDims = 3;  // 64, 128, 256

double Clamp(double v, double lo, double hi) { return std::min(std::max(v, lo), hi); }

}  // namespace

struct EfficiencyGrids {
  std::array<double, kMs * kNs * kNs> gemm{};  // fraction of peak
  // [causal][head_dim][seq]
  std::array<double, 2 * kHeadDims * kSeqs> attn_fwd{};
  std::array<double, 2 * kHeadDims * kSeqs> attn_bwd{};
};

namespace {

// cuDNN 9.19's attention as this project measured it on one H200 (h200_attention.csv, cudnn
// rows): forward and backward efficiency read directly, as fractions of the H200's dense BF16 peak,
// which is the H100's (989.4 TFLOP/s; the table's FLOP convention is FlashAttention's).
Status ReadCudnn919(EfficiencyGrids& grids) {
  SP_ASSIGN_OR_RETURN(CsvTable attn, EmbeddedTable("h200_attention.csv"));
  int c_backend = attn.Column("backend"), c_dir = attn.Column("direction"),
      c_causal = attn.Column("causal"), c_hd = attn.Column("head_dim"),
      c_seq = attn.Column("seq_len"), c_t = attn.Column("tflops");
  constexpr double kH200Peak = 989.4e12;
  for (const auto& row : attn.rows) {
    if (row[c_backend] != "cudnn") continue;
    const bool fwd = row[c_dir] == "forward";
    if (!fwd && row[c_dir] != "backward") continue;
    int causal = row[c_causal] == "True" ? 1 : 0;
    int hd = static_cast<int>(std::lround(std::log2(std::stod(row[c_hd])))) - 6;
    int is = static_cast<int>(std::lround(std::log2(std::stod(row[c_seq])))) - 9;
    if (hd < 0 || hd >= kHeadDims || is < 0 || is >= kSeqs) continue;
    size_t at = static_cast<size_t>((causal * kHeadDims + hd) * kSeqs + is);
    (fwd ? grids.attn_fwd : grids.attn_bwd)[at] = std::stod(row[c_t]) * 1e12 / kH200Peak;
  }
  for (size_t at = 0; at < grids.attn_fwd.size(); ++at) {
    if (grids.attn_fwd[at] <= 0 || grids.attn_bwd[at] <= 0) {
      return Status::NotFound(
          "cuDNN 9.19 attention table is incomplete in "
          "data/calibration/h200-kernels/h200_attention.csv");
    }
  }
  return Status::Ok();
}

Result<std::shared_ptr<const EfficiencyGrids>> BuildGrids(const std::string& device_key,
                                                          const std::string& dtype, double peak,
                                                          spec::AttentionTable table) {
  const bool flash2_forward = table == spec::AttentionTable::kFlash2;
  auto grids = std::make_shared<EfficiencyGrids>();
  SP_ASSIGN_OR_RETURN(CsvTable gemm, EmbeddedTable("xla_gemm.csv"));
  int c_dev = gemm.Column("device_key"), c_b = gemm.Column("b"), c_m = gemm.Column("m"),
      c_n = gemm.Column("n"), c_k = gemm.Column("k"), c_dtype = gemm.Column("dtype"),
      c_tflops = gemm.Column("tflops");
  std::array<bool, kMs * kNs * kNs> seen{};
  for (const auto& row : gemm.rows) {
    if (row[c_dev] != device_key || row[c_dtype] != dtype) continue;
    double b = std::stod(row[c_b]), m = std::stod(row[c_m]);
    // Batched rows extend m only where m is already at the table's edge.
    if (b > 1 && m < 4096) continue;
    int im = static_cast<int>(std::lround(std::log2(b * m))) - 8;
    int in = static_cast<int>(std::lround(std::log2(std::stod(row[c_n])))) - 8;
    int ik = static_cast<int>(std::lround(std::log2(std::stod(row[c_k])))) - 8;
    if (im < 0 || im >= kMs || in < 0 || in >= kNs || ik < 0 || ik >= kNs) continue;
    size_t at = static_cast<size_t>((im * kNs + in) * kNs + ik);
    grids->gemm[at] = std::stod(row[c_tflops]) * 1e12 / peak;
    seen[at] = true;
  }
  for (bool s : seen) {
    if (!s) {
      return Status::NotFound(fmt::format(
          "GEMM table {} {} is incomplete in data/calibration/xla_gemm.csv", device_key, dtype));
    }
  }
  // XLA's sm_90 FP8 rows reach 2,593 TFLOP/s, 131% of the H100's dense FP8 peak: impossible, so
  // only their shape dependence is kept, rescaled so that the best shape reaches the best measured
  // H100 FP8 GEMM (mamf-finder: 1,402.6 TFLOP/s e4m3, 70.9% of 1,979; efficiency.h).
  if (device_key == "sm_90" && dtype.rfind("f8", 0) == 0) {
    double best = *std::max_element(grids->gemm.begin(), grids->gemm.end());
    if (best > kH100Fp8BestFraction) {
      for (double& e : grids->gemm) e *= kH100Fp8BestFraction / best;
    }
  }

  SP_ASSIGN_OR_RETURN(CsvTable attn, EmbeddedTable("attention_h100.csv"));
  int c_impl = attn.Column("implementation"), c_dir = attn.Column("direction"),
      c_causal = attn.Column("causal"), c_hd = attn.Column("head_dim"),
      c_seq = attn.Column("seq_len"), c_t = attn.Column("tflops");
  constexpr double kH100Peak = 989.4e12;  // the table's GPU; efficiencies are fractions of it
  // FA2 forward and forward+backward, for the implied backward efficiency.
  std::array<double, 2 * kHeadDims * kSeqs> fa2_fwd{}, fa2_fb{};
  for (const auto& row : attn.rows) {
    int causal = row[c_causal] == "True" ? 1 : 0;
    int hd = static_cast<int>(std::lround(std::log2(std::stod(row[c_hd])))) - 6;
    int is = static_cast<int>(std::lround(std::log2(std::stod(row[c_seq])))) - 9;
    if (hd < 0 || hd >= kHeadDims || is < 0 || is >= kSeqs) continue;
    size_t at = static_cast<size_t>((causal * kHeadDims + hd) * kSeqs + is);
    double eff = std::stod(row[c_t]) * 1e12 / kH100Peak;
    if (row[c_impl] == (flash2_forward ? "FlashAttention-2" : "cuDNN") && row[c_dir] == "forward")
      grids->attn_fwd[at] = eff;
    if (row[c_impl] == "FlashAttention-2" && row[c_dir] == "forward") fa2_fwd[at] = eff;
    if (row[c_impl] == "FlashAttention-2" && row[c_dir] == "forward+backward") fa2_fb[at] = eff;
  }
  for (int causal = 0; causal < 2; ++causal) {
    for (int hd = 0; hd < kHeadDims; ++hd) {
      for (int is = 0; is < kSeqs; ++is) {
        size_t at = static_cast<size_t>((causal * kHeadDims + hd) * kSeqs + is);
        // Head dim 256 has no forward+backward row: use 128's backward efficiency.
        size_t src =
            fa2_fb[at] > 0 ? at : static_cast<size_t>((causal * kHeadDims + 1) * kSeqs + is);
        if (fa2_fb[src] <= 0 || fa2_fwd[src] <= 0 || grids->attn_fwd[at] <= 0) {
          return Status::NotFound(
              "attention table is incomplete in data/calibration/attention_h100.csv");
        }
        grids->attn_bwd[at] = 2.5 / (3.5 / fa2_fb[src] - 1.0 / fa2_fwd[src]);
      }
    }
  }
  if (table == spec::AttentionTable::kCudnn919) SP_RETURN_IF_ERROR(ReadCudnn919(*grids));
  return std::shared_ptr<const EfficiencyGrids>(std::move(grids));
}

Result<std::shared_ptr<const EfficiencyGrids>> CachedGrids(const std::string& device_key,
                                                           const std::string& dtype, double peak,
                                                           spec::AttentionTable table) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const EfficiencyGrids>> cache;
  std::string key = device_key + "|" + dtype + "|" + std::string(spec::AttentionTableName(table));
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  SP_ASSIGN_OR_RETURN(std::shared_ptr<const EfficiencyGrids> grids,
                      BuildGrids(device_key, dtype, peak, table));
  cache[key] = grids;
  return grids;
}

// Linear interpolation weight of x between grid index floor and floor+1 (x in grid units).
struct Axis {
  int lo;
  double t;
};
Axis Locate(double x, int size) {
  double c = Clamp(x, 0.0, static_cast<double>(size - 1));
  int lo = std::min(static_cast<int>(std::floor(c)), size - 2);
  return {lo, c - lo};
}

// Factor below the table's smallest size: the kernel's time stops shrinking.
double Below(double x, double smallest) { return x < smallest ? x / smallest : 1.0; }

}  // namespace

Result<DeviceModel> DeviceModel::For(const spec::GpuSpec& gpu, spec::Precision precision,
                                     const spec::FrameworkSpec& framework) {
  DeviceModel d;
  d.framework_ = framework;
  d.bf16_peak_ = gpu.peak_bf16_flops_per_s;
  d.hbm_ = gpu.memory_bandwidth_bytes_per_s;
  d.attention_scale_ = gpu.attention_efficiency_scale * framework.attention_fraction;
  d.gemm_scale_ = gpu.gemm_efficiency_scale;
  d.sustained_ = gpu.sustained_compute_fraction * spec::PowerClockFraction(gpu);
  bool sm90 = gpu.kernel_tables != spec::KernelTables::kSm100;
  std::string device = sm90 ? "sm_90" : "sm_100_B200";
  const spec::AttentionTable table = framework.attention_table;
  // Table efficiencies are fractions of the table GPU's own peak.
  const double bf16_table_peak = sm90 ? 989.4e12 : 2.25e15;
  const double fp8_table_peak = sm90 ? 1978.9e12 : 4.5e15;
  SP_ASSIGN_OR_RETURN(d.grids_, CachedGrids(device, "bf16xbf16->bf16", bf16_table_peak, table));
  // A GEMM's shape is read where it runs as long on the table's GPU (efficiency.h).
  auto rows_scale = [](double table_peak, double peak) {
    return peak > 0 ? std::clamp(table_peak / peak, 1.0 / 16, 16.0) : 1.0;
  };
  d.bf16_rows_scale_ = rows_scale(bf16_table_peak, gpu.peak_bf16_flops_per_s);
  const double low_peak = spec::LowPrecisionPeak(gpu, precision);
  if (low_peak > 0) {
    SP_ASSIGN_OR_RETURN(d.low_grids_,
                        CachedGrids(device, "f8e4m3fnxf8e4m3fn->bf16", fp8_table_peak, table));
    d.low_peak_ = low_peak;
    d.low_rows_scale_ = rows_scale(fp8_table_peak, low_peak);
  }
  return d;
}

Result<DeviceModel> DeviceModel::For(const spec::JobSpec& job) {
  return For(job.cluster.gpu, job.plan.precision, job.framework);
}

double DeviceModel::GemmEfficiency(double m, double n, double k, bool low) const {
  const bool in_low = low && low_grids_;
  const EfficiencyGrids& grids = in_low ? *low_grids_ : *grids_;
  m *= in_low ? low_rows_scale_ : bf16_rows_scale_;
  Axis am = Locate(std::log2(std::max(m, 1.0)) - 8.0, kMs);
  Axis an = Locate(std::log2(std::max(n, 1.0)) - 8.0, kNs);
  Axis ak = Locate(std::log2(std::max(k, 1.0)) - 8.0, kNs);
  double value = 0;
  for (int dm = 0; dm < 2; ++dm) {
    for (int dn = 0; dn < 2; ++dn) {
      for (int dk = 0; dk < 2; ++dk) {
        double w = (dm ? am.t : 1 - am.t) * (dn ? an.t : 1 - an.t) * (dk ? ak.t : 1 - ak.t);
        if (w == 0) continue;
        size_t at = static_cast<size_t>(((am.lo + dm) * kNs + an.lo + dn) * kNs + ak.lo + dk);
        value += w * grids.gemm[at];
      }
    }
  }
  const double scale = in_low ? 1.0 : gemm_scale_;
  return std::min(1.0, value * scale) * Below(m, 256) * Below(n, 256) * Below(k, 256);
}

namespace {
double AttentionLookup(const std::array<double, 2 * kHeadDims * kSeqs>& grid, double key_len,
                       double head_dim, bool causal) {
  Axis as = Locate(std::log2(std::max(key_len, 1.0)) - 9.0, kSeqs);
  Axis ah = Locate(std::log2(std::max(head_dim, 1.0)) - 6.0, kHeadDims);
  int c = causal ? 1 : 0;
  double value = 0;
  for (int dh = 0; dh < 2; ++dh) {
    for (int ds = 0; ds < 2; ++ds) {
      double w = (dh ? ah.t : 1 - ah.t) * (ds ? as.t : 1 - as.t);
      size_t at = static_cast<size_t>((c * kHeadDims + ah.lo + dh) * kSeqs + as.lo + ds);
      value += w * grid[at];
    }
  }
  return value * Below(key_len, 512);
}
}  // namespace

double DeviceModel::AttentionForwardEfficiency(double key_len, double head_dim, bool causal) const {
  return AttentionLookup(grids_->attn_fwd, key_len, head_dim, causal) * attention_scale_;
}

double DeviceModel::AttentionBackwardEfficiency(double key_len, double head_dim,
                                                bool causal) const {
  return AttentionLookup(grids_->attn_bwd, key_len, head_dim, causal) * attention_scale_;
}

double DeviceModel::GemmSeconds(double flops, double bytes, double m, double n, double k,
                                bool low) const {
  if (flops <= 0 || m <= 0 || n <= 0 || k <= 0) return 0.0;  // an empty GEMM is never launched
  bool in_low = low && low_grids_ != nullptr;
  double rate = in_low ? low_peak_ * framework_.fp8_gemm_fraction : bf16_peak_;
  double compute = flops / (rate * sustained_ * GemmEfficiency(m, n, k, in_low));
  double memory = bytes / (hbm_ * framework_.memory_fraction);
  return std::max(compute, memory) + framework_.kernel_overhead_s;
}

double DeviceModel::AttentionSeconds(double flops, double bytes, double key_len, double head_dim,
                                     bool backward, bool causal) const {
  double eff = backward ? AttentionBackwardEfficiency(key_len, head_dim, causal)
                        : AttentionForwardEfficiency(key_len, head_dim, causal);
  double compute = flops / (bf16_peak_ * sustained_ * std::min(eff, 1.0));
  double memory = bytes / (hbm_ * framework_.memory_fraction);
  return std::max(compute, memory) + framework_.kernel_overhead_s;
}

double DeviceModel::MemoryBoundSeconds(double flops, double bytes, double kernels) const {
  (void)flops;  // elementwise arithmetic hides under the memory traffic
  return bytes / (hbm_ * framework_.memory_fraction) + kernels * framework_.kernel_overhead_s;
}

}  // namespace scaleplan::hardware
