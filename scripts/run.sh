#!/usr/bin/env bash
# First command of the README: install what is missing, build a release build, run the default job.
# Extra arguments are passed to scaleplan (e.g. scripts/run.sh plan --json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSCALEPLAN_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build build/release -j2 --target scaleplan
exec build/release/scaleplan "$@"
