#!/usr/bin/env bash
# Installs the Debian packages scaleplan needs to build and test. Idempotent: a package that is
# already installed is skipped, and nothing is fetched when all are present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libfmt-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libeigen3-dev libxgboost-dev xgboost
  libtorch-dev libopenblas-dev
)
# scripts/fuzz.sh only: clang with libFuzzer's runtime.
if [ "${1:-}" = "--fuzz" ]; then packages+=(clang libclang-rt-14-dev); fi
# scripts/test.sh: what the suite's browser test needs (headless Chromium renders the --html
# pages), the Python module's build and tests (pybind11, Python's headers, pytest), and the MPI
# build and its mpirun test (Open MPI).
if [ "${1:-}" = "--test" ]; then
  packages+=(chromium python3 python3-dev pybind11-dev python3-pytest libopenmpi-dev openmpi-bin)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
