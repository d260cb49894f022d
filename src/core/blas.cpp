#include "core/blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace scaleplan::blas {

namespace {

// The names the OpenBLAS of Debian's libtorch is loaded under (the openblas-pthread
// alternative provides libblas.so.3 too).
constexpr const char* kLibraries[] = {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"};

template <typename Fn>
Fn Symbol(void* handle, const char* name) {
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

}  // namespace

CpuIsa HostIsa() {
  CpuIsa isa;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // libgcc's checks include the operating system's support (XGETBV) for the registers.
  isa.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
  isa.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return isa;
}

std::string BetterCore(std::string_view chosen, const CpuIsa& isa, bool user_forced) {
  if (user_forced || chosen != kFallbackCore) return "";
  if (isa.avx512) return "SkylakeX";
  if (isa.avx2_fma) return "Haswell";
  return "";
}

const BlasState& PrepareOpenBlas() {
  static BlasState state;
  static std::once_flag once;
  std::call_once(once, [] {
    for (const char* name : kLibraries) {
      void* handle = dlopen(name, RTLD_NOLOAD | RTLD_LAZY);
      if (handle == nullptr) continue;
      using NameFn = char* (*)();
      using VoidFn = void (*)();
      auto corename = Symbol<NameFn>(handle, "openblas_get_corename");
      if (corename == nullptr) {
        dlclose(handle);
        continue;
      }
      state.library = name;
      state.core = corename();
      auto quit = Symbol<VoidFn>(handle, "gotoblas_dynamic_quit");
      auto init = Symbol<VoidFn>(handle, "gotoblas_dynamic_init");
      const std::string better =
          BetterCore(state.core, HostIsa(), std::getenv("OPENBLAS_CORETYPE") != nullptr);
      if (!better.empty() && quit != nullptr && init != nullptr) {
        // gotoblas_dynamic_init returns at once while kernels are selected; quit clears them,
        // and init then reads OPENBLAS_CORETYPE, unset again afterwards (it was unset before:
        // BetterCore keeps a choice the user forced).
        setenv("OPENBLAS_CORETYPE", better.c_str(), 1);
        quit();
        init();
        unsetenv("OPENBLAS_CORETYPE");
        const std::string now = corename();
        if (now != state.core) {
          state.chose = state.core;
          state.core = now;
        }
      }
      dlclose(handle);
      return;
    }
  });
  return state;
}

void SetOpenBlasThreads(int threads) {
  for (const char* name : kLibraries) {
    void* handle = dlopen(name, RTLD_NOLOAD | RTLD_LAZY);
    if (handle == nullptr) continue;
    using SetThreads = void (*)(int);
    auto set = Symbol<SetThreads>(handle, "openblas_set_num_threads");
    if (set != nullptr) set(threads);
    dlclose(handle);
  }
}

std::string DescribeBlas(const BlasState& state) {
  if (state.library.empty()) return "not OpenBLAS";
  if (state.chose.empty()) return state.core;
  // (PrepareOpenBlas replaces OpenBLAS's fallback only.)
  return state.core + " (OpenBLAS chose " + state.chose +
         ", its fallback for a CPU missing from its table)";
}

}  // namespace scaleplan::blas
