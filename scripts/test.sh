#!/usr/bin/env bash
# Second command of the README (and what CI runs): install what is missing, build everything
# with tests, run the whole test suite with CTest; then build the tests again with AddressSanitizer
# and UndefinedBehaviorSanitizer and run them once more (any sanitizer report fails the run). The
# second build leaves xgboost and libtorch out, so the build without the optional predictor
# families (gbt, mlp) is tested too.
# Compile time is most of the run, so both builds keep line tables only (-g1: a sanitizer's stack
# trace still names file and line), the sanitizer build compiles at -O1 (what the sanitizers'
# documentation suggests; at -O2 the same sources compiled about twice as slowly, and the
# tests ran no faster) and as a unity build (CMake batches of 8 sources per translation unit:
# the heavy headers are parsed and their templates compiled once per batch). The plain build stays one source per translation unit, so
# a source that leans on another's includes still fails here.
# Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# The plain build also builds the Python module (pybind11) against Debian's python3, which has
# the pytest the suite runs, and links Open MPI (the mpi_split test runs mpirun -np 2).
python=()
[ -x /usr/bin/python3 ] && python=(-DPython3_EXECUTABLE=/usr/bin/python3)
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DSCALEPLAN_BUILD_TESTS=ON \
  -DSCALEPLAN_PYTHON=ON -DSCALEPLAN_MPI=ON "${python[@]}" "${launcher[@]}" >/dev/null
cmake --build build/test -j2
ctest --test-dir build/test --output-on-failure -j2
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DCMAKE_UNITY_BUILD=ON \
  -DSCALEPLAN_BUILD_TESTS=ON -DSCALEPLAN_BUILD_BENCHMARKS=OFF -DSCALEPLAN_SANITIZE=ON -DSCALEPLAN_XGBOOST=OFF -DSCALEPLAN_TORCH=OFF "${launcher[@]}" >/dev/null
cmake --build build/asan -j2
UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build/asan --output-on-failure -j2
