// The matrix kernels libtorch's CPU products run on. Debian's libtorch calls OpenBLAS, built to
// pick its kernels at load time from a table of the CPUs it knows; a CPU newer than its table
// gets its generic "Prescott" kernels (SSE3), whatever the CPU can do: Debian bookworm's
// OpenBLAS 0.3.21 did so on an Intel Xeon of family 6, model 207, where its products then ran
// several times slower than on its AVX-512 kernels (docs/BENCHMARKS.md, "OpenBLAS's kernels; the
// attention kernel transposed"). The loaders of the torch plugins (rec/train.cpp,
// predict/mlp.cpp) call PrepareOpenBlas right after loading one, before its first product.
#pragma once

#include <string>
#include <string_view>

namespace scaleplan::blas {

// What the CPU offers that OpenBLAS's x86 kernels use: AVX-512 (F, CD, BW, DQ, VL, as its
// SkylakeX kernels need) and AVX2 with FMA (its Haswell kernels), each with the operating
// system's support for the registers.
struct CpuIsa {
  bool avx512 = false;
  bool avx2_fma = false;
};
CpuIsa HostIsa();

// OpenBLAS's name for its fallback kernels, what it runs on a CPU missing from its table.
inline constexpr std::string_view kFallbackCore = "Prescott";

// The kernels to run instead of `chosen`, OpenBLAS's own choice: where it fell back
// (kFallbackCore) on a CPU that can run better ones, "SkylakeX" with AVX-512, else "Haswell"
// with AVX2 and FMA; "" to keep its choice: one it made from its table, or one the user forced
// (`user_forced`: OPENBLAS_CORETYPE set).
std::string BetterCore(std::string_view chosen, const CpuIsa& isa, bool user_forced);

// What the process's OpenBLAS runs on. `library` empty: no OpenBLAS loaded (another BLAS, or
// none). `chose`: OpenBLAS's own choice where PrepareOpenBlas replaced it; empty otherwise.
struct BlasState {
  std::string library;
  std::string core;
  std::string chose;
};

// Once per process (later calls return the first's answer): finds the OpenBLAS already loaded
// (a plugin's dependency) and, where BetterCore says so, selects those kernels again
// (OpenBLAS's gotoblas_dynamic_quit, then gotoblas_dynamic_init with OPENBLAS_CORETYPE set for
// the call). Call it before the process's first matrix product, and while no other thread calls
// getenv or a BLAS routine: the environment changes for a moment, and the kernels must not
// change under a running product. Never fails: where OpenBLAS lacks what it needs, its own
// choice stays.
const BlasState& PrepareOpenBlas();

// OpenBLAS's thread pool to `threads`.
void SetOpenBlasThreads(int threads);

// For a report: "SkylakeX (OpenBLAS chose Prescott, its fallback for a CPU missing from its
// table)", "Cooperlake", or "not OpenBLAS".
std::string DescribeBlas(const BlasState& state);

}  // namespace scaleplan::blas
