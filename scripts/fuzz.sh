#!/usr/bin/env bash
# Runs the libFuzzer harnesses (fuzz/): scripts/fuzz.sh [SECONDS] [HARNESS...]
# Builds build/fuzz with clang (-fsanitize=fuzzer,address,undefined), then runs each harness named
# (default: all) for SECONDS (default 60) on a working corpus in build/fuzz/corpus/<name>, seeded
# from fuzz/corpus/<name>, FUZZ_JOBS harnesses at a time (default: one per core). A crash leaves
# its input in build/fuzz/crashes/<name>/ and fails the run; copy it into fuzz/corpus/<name>/ once
# fixed, so that the test suite replays it. Prints, per harness, the runs, the coverage and the
# seconds it ran (its log: build/fuzz/<name>.log).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
jobs="${FUZZ_JOBS:-$(nproc)}"
scripts/install-deps.sh --fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DSCALEPLAN_FUZZ=ON -DSCALEPLAN_BUILD_TESTS=OFF -DSCALEPLAN_BUILD_BENCHMARKS=OFF -DSCALEPLAN_TORCH=OFF "${launcher[@]}" >/dev/null
cmake --build build/fuzz -j2
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for binary in build/fuzz/fuzz/fuzz_*; do harnesses+=("${binary##*/fuzz_}"); done
fi

fuzz_one() {
  local name="$1" work="build/fuzz/corpus/$1" crashes="build/fuzz/crashes/$1" log="build/fuzz/$1.log"
  mkdir -p "$work" "$crashes"
  local start
  start=$(date +%s)
  if ! UBSAN_OPTIONS=print_stacktrace=1 "build/fuzz/fuzz/fuzz_$name" "$work" "fuzz/corpus/$name" \
      -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len=65536 \
      -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz $name: FAILED after $(( $(date +%s) - start )) s; see $log and $crashes/"
    return 1
  fi
  local runs cov
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz $name: $runs runs, $cov, $(( $(date +%s) - start )) s, no crash"
}

status=0
running=0
for name in "${harnesses[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  fuzz_one "$name" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
