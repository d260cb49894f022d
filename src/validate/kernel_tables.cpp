// Measured kernel tables priced by the kernel model; the rules are in kernel_tables.h.
#include "validate/kernel_tables.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "core/text.h"
#include "hardware/efficiency.h"
#include "model/model.h"
#include "sim/analytical.h"
#include "spec/readers.h"
#include "validate/training_rows.h"

namespace scaleplan::validate {

namespace {

constexpr double kMinKernelSeconds = 1e-9;
constexpr double kMaxKernelSeconds = 1e4;
constexpr int64_t kMaxDimension = int64_t{1} << 24;     // a GEMM or tensor dimension
constexpr double kMaxKernelBytes = 1125899906842624.0;  // 2^50
// A GEMM row within this factor of the fastest call of its GPU and dtype measured the host's
// launch overhead, when that fastest call is short enough to be the overhead (PyTorch's is tens
// of microseconds; a table whose fastest call is longer timed kernels only).
constexpr double kHostFloorFactor = 2.0;
constexpr double kMaxHostFloorSeconds = 50e-6;

enum class Kind { kNone, kGemm, kAttention, kMemory, kAmbiguous };

bool Has(const CsvTable& t, std::initializer_list<const char*> columns) {
  for (const char* c : columns) {
    if (t.Column(c) < 0) return false;
  }
  return true;
}

// The kind whose columns the table has: exactly one, or kAmbiguous, or kNone.
Kind KindOf(const CsvTable& t) {
  if (!Has(t, {"gpu", "seconds"})) return Kind::kNone;
  const bool gemm = Has(t, {"dtype", "layout", "m", "n", "k"});
  const bool attention =
      Has(t, {"backend", "direction", "causal", "head_dim", "seq_len", "batch", "heads"});
  const bool memory = Has(t, {"op", "mode", "direction", "shape", "bytes_min"});
  if (gemm + attention + memory > 1) return Kind::kAmbiguous;
  return gemm ? Kind::kGemm : attention ? Kind::kAttention : memory ? Kind::kMemory : Kind::kNone;
}

struct Cells {
  const CsvTable& table;
  const std::string& origin;
  size_t row;
  std::string Where() const { return fmt::format("{}:{}", origin, table.lines[row]); }
  const std::string& Text(const char* column) const { return table.Cell(row, column); }
  Result<double> Number(const char* column, double lo, double hi) const {
    return BoundedCell(Text(column), Where(), column, lo, hi,
                       fmt::format("a number from {:g} to {:g}", lo, hi));
  }
  Result<int64_t> Whole(const char* column, int64_t lo, int64_t hi) const {
    return BoundedWholeCell(Text(column), Where(), column, lo, hi);
  }
  // A column derived from the seconds and the row's shape (tflops, bytes_per_s): not scored,
  // but it must agree with them (CheckDerivedCell), or blank, or absent.
  Status Derived(const char* column, double derived, std::string_view formula) const {
    return CheckDerivedCell(Text(column), Where(), column, derived,
                            WrittenRelativePrecision(Text("seconds")), formula);
  }
  Result<std::string> OneOf(const char* column, std::initializer_list<const char*> allowed) const {
    const std::string& cell = Text(column);
    std::string names;
    for (const char* a : allowed) {
      if (cell == a) return cell;
      names += names.empty() ? a : std::string(", ") + a;
    }
    return Status::Invalid(
        fmt::format("{}: {} = '{}' (allowed: {})", Where(), column, Printable(cell, 40), names));
  }
};

// The row's tensor shape "AxBx..." (the memory-bound table's shape column).
Result<std::vector<int64_t>> Shape(const Cells& c, size_t dims) {
  const std::string& cell = c.Text("shape");
  std::vector<int64_t> out;
  size_t at = 0;
  while (at <= cell.size()) {
    size_t x = cell.find('x', at);
    std::string part = cell.substr(at, x == std::string::npos ? std::string::npos : x - at);
    Result<int64_t> v = ParseDigits(part);
    if (!v.ok() || *v < 1 || *v > kMaxDimension) break;
    out.push_back(*v);
    if (x == std::string::npos) break;
    at = x + 1;
  }
  if (out.size() != dims || fmt::format("{}", fmt::join(out, "x")) != cell) {
    return Status::Invalid(fmt::format(
        "{}: shape = '{}' (allowed: {} whole numbers from 1 to {} joined by 'x', e.g. {})",
        c.Where(), Printable(cell, 60), dims, kMaxDimension,
        dims == 2 ? "16384x8192" : "2x8192x32x128"));
  }
  return out;
}

// One device model per (GPU, precision, attention table), built once per file.
class Devices {
 public:
  explicit Devices(const Options& options) : options_(options) {}
  Result<const hardware::DeviceModel*> Get(const Cells& c, spec::Precision precision,
                                           spec::AttentionTable table) {
    const std::string& gpu = c.Text("gpu");
    std::string key =
        fmt::format("{}|{}|{}", gpu, static_cast<int>(precision), static_cast<int>(table));
    auto it = models_.find(key);
    if (it != models_.end()) return it->second.get();
    Result<spec::GpuSpec> loaded = spec::LoadGpu(gpu);
    if (!loaded.ok()) {
      return Status::Invalid(fmt::format("{}: gpu = '{}': {}", c.Where(), Printable(gpu, 60),
                                         loaded.status().message()));
    }
    spec::GpuSpec g = *loaded;
    if (options_.sustained_compute_fraction > 0) {
      g.sustained_compute_fraction = options_.sustained_compute_fraction;
    }
    spec::FrameworkSpec framework;
    framework.attention_table = table;
    SP_ASSIGN_OR_RETURN(hardware::DeviceModel d,
                        hardware::DeviceModel::For(g, precision, framework));
    if (precision != spec::Precision::kBf16 && !d.has_low_precision()) {
      return Status::Invalid(
          fmt::format("{}: gpu = '{}' has no FP8 peak (allowed: a GPU with "
                      "peak_fp8_flops_per_s for the fp8 dtypes)",
                      c.Where(), Printable(gpu, 60)));
    }
    auto made = std::make_unique<hardware::DeviceModel>(std::move(d));
    const hardware::DeviceModel* out = made.get();
    models_.emplace(key, std::move(made));
    return out;
  }

 private:
  const Options& options_;
  std::map<std::string, std::unique_ptr<hardware::DeviceModel>> models_;
};

// The model's op `name` for a memory-bound row, built from a model of the row's shape.
Result<model::Op> ModelOp(const std::string& op, const std::vector<int64_t>& shape) {
  spec::ModelSpec m;
  m.name = "kernel-table";
  m.layers = 1;
  m.heads = 1;
  m.kv_heads = 1;
  m.hidden = 128;
  m.ffn_hidden = 512;
  m.vocab = 1024;
  m.norm = spec::Norm::kRmsNorm;
  m.activation = spec::Activation::kSwiGlu;
  m.position_embedding = spec::PositionEmbedding::kRope;
  model::ShardShape s;
  s.seq_len = shape[0];
  std::string want;
  bool head = false;
  if (op == "rmsnorm_manual" || op == "rmsnorm_torch" || op == "layernorm") {
    m.hidden = shape[1];
    m.ffn_hidden = 4 * shape[1];
    if (op == "layernorm") m.norm = spec::Norm::kLayerNorm;
    want = "input_norm";
  } else if (op == "swiglu" || op == "gelu_tanh") {
    m.ffn_hidden = shape[1];
    if (op == "gelu_tanh") m.activation = spec::Activation::kGelu;
    want = op == "swiglu" ? "mlp_swiglu" : "mlp_act";
  } else if (op == "rope_complex") {
    // [batch, seq, heads, head_dim]: the model's rotary op rotates the queries' and the keys'
    // widths, so one query head and one key head of half the row's width each cover it.
    s.seq_len = shape[0] * shape[1];
    m.head_dim = shape[2] * shape[3] / 2;
    m.hidden = m.head_dim;
    m.ffn_hidden = 4 * m.hidden;
    want = "rope";
  } else if (op == "cross_entropy_fp32") {
    m.vocab = shape[1];
    want = "cross_entropy";
    head = true;
  }
  std::vector<model::Op> ops = head ? model::HeadOps(m, s) : model::LayerOps(m, false, s);
  for (const model::Op& o : ops) {
    if (o.name == want) return o;
  }
  return Status::NotFound(fmt::format("the model has no op {} for {}", want, op));
}

// Operations the memory-bound table may hold: the dimensions of their shape, the modes and
// directions they run in (scripts/measure-kernels.py), and why the model does not price them
// here (nullptr: it does).
struct MemoryOp {
  const char* name;
  size_t dims;
  bool backward;  // forward+backward rows too (else forward only)
  const char* not_priced;
};
constexpr MemoryOp kMemoryOps[] = {
    {"copy", 2, false, nullptr},
    {"add", 2, false, nullptr},
    {"rmsnorm_manual", 2, true, nullptr},
    {"rmsnorm_torch", 2, true, nullptr},
    {"layernorm", 2, true, nullptr},
    {"swiglu", 2, true, nullptr},
    {"gelu_tanh", 2, true, nullptr},
    {"rope_complex", 4, true, nullptr},
    {"cross_entropy_fp32", 2, true, nullptr},
    {"softmax", 3, false,
     "the model prices softmax inside attention (unfused: with the scores' GEMMs)"},
    {"fp8_cast_tensorwise", 2, false, nullptr},
    {"adamw", 0, false, nullptr},
};

std::string MemoryOpNames() {
  std::string names;
  for (const MemoryOp& m : kMemoryOps) names += names.empty() ? m.name : std::string(", ") + m.name;
  return names;
}

Status ReadRow(const Cells& c, Kind kind, Devices& devices, const Options& options, Row& row,
               std::string& floor_key) {
  row.metric = "time_s";
  SP_ASSIGN_OR_RETURN(row.measured, c.Number("seconds", kMinKernelSeconds, kMaxKernelSeconds));
  const std::string& gpu = c.Text("gpu");
  // Every row names a GPU the model has, priced or not.
  SP_RETURN_IF_ERROR(devices.Get(c, spec::Precision::kBf16, spec::AttentionTable::kCudnn).status());
  if (kind == Kind::kGemm) {
    SP_ASSIGN_OR_RETURN(std::string dtype,
                        c.OneOf("dtype", {"bf16", "fp8_tensorwise", "fp8_rowwise"}));
    SP_ASSIGN_OR_RETURN(std::string layout, c.OneOf("layout", {"fwd", "dgrad", "wgrad"}));
    SP_ASSIGN_OR_RETURN(int64_t m, c.Whole("m", 1, kMaxDimension));
    SP_ASSIGN_OR_RETURN(int64_t n, c.Whole("n", 1, kMaxDimension));
    SP_ASSIGN_OR_RETURN(int64_t k, c.Whole("k", 1, kMaxDimension));
    SP_RETURN_IF_ERROR(c.Derived("tflops",
                                 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                                     static_cast<double>(k) / row.measured * 1e-12,
                                 "2 m n k / seconds x 1e-12 (TFLOP/s)"));
    const bool low = dtype != "bf16";
    row.label = fmt::format("GEMM {} {} {}x{}x{} ({}, {})", dtype, layout, m, n, k,
                            Printable(c.Text("set"), 40), Printable(gpu, 40));
    floor_key = Printable(gpu, 40) + " " + dtype;
    if (!options.precision_filter.empty() &&
        !Contains(low ? "FP8" : "BF16", options.precision_filter)) {
      row.label.clear();
      return Status::Ok();
    }
    SP_ASSIGN_OR_RETURN(const hardware::DeviceModel* d,
                        devices.Get(c, low ? spec::Precision::kFp8 : spec::Precision::kBf16,
                                    spec::AttentionTable::kCudnn));
    // A weight-gradient row gives its output as the weight is stored, out x in (dW = dY^T X);
    // the step model prices that GEMM as in x out (analytical.cpp: k x m by m x n), so it is
    // read with m and n swapped.
    const bool wgrad = layout == "wgrad";
    const double dm = static_cast<double>(wgrad ? n : m), dn = static_cast<double>(wgrad ? m : n),
                 dk = static_cast<double>(k);
    // Bytes as the model counts them (model/ops.cpp, Gemm: BF16 operands and output).
    const double bytes = 2.0 * (dm * dk + dk * dn + dm * dn);
    row.predicted = d->GemmSeconds(2.0 * dm * dn * dk, bytes, dm, dn, dk, low);
    return Status::Ok();
  }
  if (kind == Kind::kAttention) {
    SP_ASSIGN_OR_RETURN(std::string backend, c.OneOf("backend", {"flash", "cudnn"}));
    SP_ASSIGN_OR_RETURN(std::string direction,
                        c.OneOf("direction", {"forward", "backward", "forward+backward"}));
    SP_ASSIGN_OR_RETURN(std::string causal_text,
                        c.OneOf("causal", {"True", "False", "true", "false"}));
    SP_ASSIGN_OR_RETURN(int64_t head_dim, c.Whole("head_dim", 1, 1024));
    SP_ASSIGN_OR_RETURN(int64_t seq, c.Whole("seq_len", 1, kMaxDimension));
    SP_ASSIGN_OR_RETURN(int64_t batch, c.Whole("batch", 1, kMaxDimension));
    SP_ASSIGN_OR_RETURN(int64_t heads, c.Whole("heads", 1, 65536));
    const bool causal = causal_text == "True" || causal_text == "true";
    {
      // The table's FLOP convention (FlashAttention's benchmarks): forward 4 b s^2 heads d,
      // halved when causal; backward 2.5x; forward+backward 3.5x.
      const double flops = 4.0 * static_cast<double>(batch) * static_cast<double>(seq) *
                           static_cast<double>(seq) * static_cast<double>(heads) *
                           static_cast<double>(head_dim) * (causal ? 0.5 : 1.0) *
                           (direction == "forward"    ? 1.0
                            : direction == "backward" ? 2.5
                                                      : 3.5);
      SP_RETURN_IF_ERROR(c.Derived("tflops", flops / row.measured * 1e-12,
                                   "4 b s^2 heads d (/2 causal; x2.5 backward, x3.5 both) / "
                                   "seconds x 1e-12 (TFLOP/s)"));
    }
    row.label = fmt::format("attention {} {} {} head dim {}, {} keys, {} x {} heads ({})", backend,
                            direction, causal ? "causal" : "full", head_dim, seq, batch, heads,
                            Printable(gpu, 40));
    if (!options.precision_filter.empty() && !Contains("BF16", options.precision_filter)) {
      row.label.clear();
      return Status::Ok();
    }
    if (direction == "forward+backward") {
      row.skipped =
          "scored by its forward and backward rows (the backward row is their difference)";
      return Status::Ok();
    }
    const auto table =
        backend == "flash" ? spec::AttentionTable::kFlash2 : spec::AttentionTable::kCudnn;
    SP_ASSIGN_OR_RETURN(const hardware::DeviceModel* d,
                        devices.Get(c, spec::Precision::kBf16, table));
    const double b = static_cast<double>(batch), s = static_cast<double>(seq),
                 hd = static_cast<double>(head_dim), nh = static_cast<double>(heads);
    // 4 d FLOP a query-key pair and head: s^2 pairs, s (s + 1) / 2 causal (model/ops.cpp).
    const double pairs = causal ? s * (s + 1.0) / 2.0 : s * s;
    const double fwd_flops = 4.0 * b * pairs * nh * hd;
    const double qkvo_bytes = 4.0 * 2.0 * b * s * nh * hd;  // q, k, v, o in BF16
    const bool backward = direction == "backward";
    row.predicted =
        d->AttentionSeconds(backward ? 2.5 * fwd_flops : fwd_flops,
                            backward ? 2.0 * qkvo_bytes : qkvo_bytes, s, hd, backward, causal);
    row.assumptions.push_back(backend == "flash" ? "FlashAttention-2's table"
                                                 : "cuDNN's table (forward), FlashAttention-2's "
                                                   "implied backward");
    return Status::Ok();
  }
  // Memory-bound kernels.
  const std::string& op = c.Text("op");
  const MemoryOp* known = nullptr;
  for (const MemoryOp& m : kMemoryOps) {
    if (op == m.name) known = &m;
  }
  if (known == nullptr) {
    return Status::Invalid(
        fmt::format("{}: op = '{}' (allowed: {})", c.Where(), Printable(op, 40), MemoryOpNames()));
  }
  const bool adamw = known->dims == 0;
  std::string mode, direction;
  if (adamw) {
    SP_ASSIGN_OR_RETURN(mode, c.OneOf("mode", {"fused", "foreach"}));
    SP_ASSIGN_OR_RETURN(direction, c.OneOf("direction", {"step"}));
  } else {
    SP_ASSIGN_OR_RETURN(mode, c.OneOf("mode", {"eager", "compiled"}));
    if (known->backward) {
      SP_ASSIGN_OR_RETURN(direction, c.OneOf("direction", {"forward", "forward+backward"}));
    } else {
      SP_ASSIGN_OR_RETURN(direction, c.OneOf("direction", {"forward"}));
    }
  }
  row.label = fmt::format("{} {} {} {} ({})", Printable(op, 40), mode, direction,
                          Printable(c.Text("shape"), 40), Printable(gpu, 40));
  if (!Trim(c.Text("bytes_per_s")).empty()) {
    SP_ASSIGN_OR_RETURN(double bytes, c.Number("bytes_min", 1, kMaxKernelBytes));
    SP_RETURN_IF_ERROR(
        c.Derived("bytes_per_s", bytes / row.measured, "bytes_min / seconds (bytes/s)"));
  }
  std::vector<int64_t> shape;
  if (!adamw) {
    SP_ASSIGN_OR_RETURN(shape, Shape(c, known->dims));
    if (op == "rope_complex" && shape[3] % 2 != 0) {
      return Status::Invalid(fmt::format(
          "{}: shape = '{}' has an odd head dim {} (allowed: an even one; RoPE rotates pairs)",
          c.Where(), Printable(c.Text("shape"), 60), shape[3]));
    }
  }
  // No precision of its own (BF16 tensors, FP32 statistics): a precision filter keeps none.
  if (!options.precision_filter.empty()) {
    row.label.clear();
    return Status::Ok();
  }
  if (known->not_priced != nullptr) {
    row.skipped = known->not_priced;
    return Status::Ok();
  }
  SP_ASSIGN_OR_RETURN(const hardware::DeviceModel* d,
                      devices.Get(c, spec::Precision::kBf16, spec::AttentionTable::kCudnn));
  if (op == "copy" || op == "add") {
    SP_ASSIGN_OR_RETURN(double bytes, c.Number("bytes_min", 1, kMaxKernelBytes));
    row.predicted = d->MemoryBoundSeconds(0, bytes);
    return Status::Ok();
  }
  if (adamw) {  // torch.optim.AdamW over FP32 parameters: no BF16 copy is written
    // bytes_min is the fused step's 28 bytes a parameter (scripts/measure-kernels.py).
    SP_ASSIGN_OR_RETURN(double bytes, c.Number("bytes_min", 28, kMaxKernelBytes));
    spec::FrameworkSpec framework;
    framework.optimizer_step =
        mode == "fused" ? spec::OptimizerStep::kFused : spec::OptimizerStep::kUnfused;
    row.predicted = sim::AdamStepSeconds(*d, framework, bytes / 28, false);
    return Status::Ok();
  }
  if (op == "fp8_cast_tensorwise") {  // torchao's dynamic cast, eager ops or compiled
    spec::FrameworkSpec framework;
    framework.elementwise = spec::Elementwise::kEager;
    framework.compile = mode == "compiled";
    framework.fp8_recipe = spec::Fp8Recipe::kTensorwise;
    row.predicted = sim::Fp8CastSeconds(*d, framework, static_cast<double>(shape[0] * shape[1]));
    return Status::Ok();
  }
  SP_ASSIGN_OR_RETURN(model::Op model_op, ModelOp(op, shape));
  // The row runs as the model's eager or compiled framework would run the op; torch's own
  // rms_norm is one fused kernel each way (PyTorch 2.11), eager or not.
  spec::FrameworkSpec framework;
  framework.elementwise =
      op == "rmsnorm_torch" ? spec::Elementwise::kFused : spec::Elementwise::kEager;
  framework.compile = mode == "compiled";
  framework.compile_loss = framework.compile;  // the loss row is the compiled function itself
  framework.norm_weight_grad_pass = true;  // PyTorch's own norm kernels, native or generated
  if (op == "rmsnorm_torch" && mode == "eager") {
    row.assumptions.push_back("F.rms_norm runs fused in eager PyTorch");
  }
  sim::PassSeconds pass = sim::MemoryBoundOpSeconds(*d, model_op, framework);
  row.predicted = direction == "forward" ? pass.fwd : pass.fwd + pass.bwd;
  return Status::Ok();
}

}  // namespace

bool IsKernelTable(const CsvTable& table) { return KindOf(table) != Kind::kNone; }

Result<FileReport> ValidateKernelTable(const CsvTable& table, const std::string& origin,
                                       const Options& options) {
  const Kind kind = KindOf(table);
  if (kind == Kind::kAmbiguous) {
    return Status::Invalid(fmt::format(
        "{}: the columns match more than one kind of kernel table (allowed: the columns of one "
        "of GEMM (dtype, layout, m, n, k), attention (backend, causal, head_dim, seq_len, batch, "
        "heads) or memory-bound kernels (op, mode, shape, bytes_min))",
        origin));
  }
  if (table.rows.empty()) {
    return Status::Invalid(fmt::format(
        "{}: a header and no data rows (allowed: a kernel table with at least one row)", origin));
  }
  if (options.engine != Options().engine || options.engine_override != nullptr) {
    return Status::Invalid(fmt::format(
        "{}: --engine and --predictor predict training steps (allowed: neither with a measured "
        "kernel table, which the kernel model prices)",
        origin));
  }
  FileReport report;
  report.path = origin;
  report.kind = "kernel-table";
  Devices devices(options);
  // Every row is read first; the host floor is each GPU and dtype's fastest call over the whole
  // table, whatever the filters keep.
  std::vector<std::string> floor_keys;
  std::vector<std::string> gpus;
  std::map<std::string, double> fastest;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    Cells c{table, origin, i};
    Row row;
    row.line = table.lines[i];
    std::string floor_key;
    SP_RETURN_IF_ERROR(ReadRow(c, kind, devices, options, row, floor_key));
    if (!floor_key.empty()) {
      auto [it, added] = fastest.emplace(floor_key, row.measured);
      if (!added) it->second = std::min(it->second, row.measured);
    }
    floor_keys.push_back(floor_key);
    gpus.push_back(c.Text("gpu"));
    report.rows.push_back(std::move(row));
  }
  std::vector<Row> kept;
  for (size_t i = 0; i < report.rows.size(); ++i) {
    Row& row = report.rows[i];
    if (row.label.empty()) continue;  // filtered by precision
    if (!options.match.empty() && !Contains(row.label, options.match)) continue;
    if (!options.gpu_filter.empty() && !Contains(gpus[i], options.gpu_filter)) continue;
    if (!InGpuRange(1, options)) continue;
    if (row.skipped.empty() && !floor_keys[i].empty()) {
      const double floor = fastest[floor_keys[i]];
      if (floor <= kMaxHostFloorSeconds && row.measured < kHostFloorFactor * floor) {
        row.skipped = fmt::format(
            "{:.1f} us is within {:g}x of the fastest {} call ({:.1f} us): PyTorch's per-call "
            "overhead, not the kernel",
            row.measured * 1e6, kHostFloorFactor, floor_keys[i], floor * 1e6);
      }
    }
    if (row.skipped.empty()) row.error_pct = 100.0 * (row.predicted - row.measured) / row.measured;
    kept.push_back(std::move(row));
  }
  report.rows = std::move(kept);
  for (Row& row : report.rows) {
    if (!row.skipped.empty()) row.predicted = 0;
  }
  report.summary = Summarize(report.rows);
  return report;
}

}  // namespace scaleplan::validate
