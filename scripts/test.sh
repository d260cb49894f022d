#!/usr/bin/env bash
# Second command of the README (and what CI runs): install what is missing, build everything
# with tests, run the whole test suite with CTest; then build the tests again with AddressSanitizer
# and UndefinedBehaviorSanitizer and run them once more (any sanitizer report fails the run). The
# second build leaves xgboost and libtorch out, so the build without the optional predictor
# families (gbt, mlp) is tested too.
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
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCALEPLAN_BUILD_TESTS=ON \
  -DSCALEPLAN_PYTHON=ON -DSCALEPLAN_MPI=ON "${python[@]}" "${launcher[@]}" >/dev/null
cmake --build build/test -j2
ctest --test-dir build/test --output-on-failure -j2
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCALEPLAN_BUILD_TESTS=ON \
  -DSCALEPLAN_BUILD_BENCHMARKS=OFF -DSCALEPLAN_SANITIZE=ON -DSCALEPLAN_XGBOOST=OFF -DSCALEPLAN_TORCH=OFF "${launcher[@]}" >/dev/null
cmake --build build/asan -j2
UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build/asan --output-on-failure -j2
