#!/usr/bin/env bash
# Regenerates the accuracy table of docs/ACCURACY.md (Markdown rows on stdout).
# Usage: scripts/accuracy.sh [path/to/scaleplan]   (default: build/release/scaleplan)
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build/release/scaleplan}
summary() {
  python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]
print("%d | %d | %.1f%% | %.1f%% | %.3f" % (s["modeled_rows"], s["skipped_rows"], s["mean_abs_error_pct"], s["max_abs_error_pct"], s["spearman"]))'
}
row() {
  local name=$1 shown=$2; shift 2
  echo "| $name | \`scaleplan validate $shown\` | $("$S" validate "$@" --json | summary) |"
}
echo "| source | command | rows modeled | rows skipped | mean abs error | max abs error | Spearman |"
echo "|---|---|---|---|---|---|---|"
row "DGX Cloud recipes, H100 BF16 (target)" "data/validation/dgxc.csv --gpu-type H100 --precision BF16" data/validation/dgxc.csv --gpu-type H100 --precision BF16
row "SC21 Table 1, A100 (target)" "data/validation/megatron.csv --match 'Table 1 weak'" data/validation/megatron.csv --match "Table 1 weak"
row "SC21 Table 2 (PTD-P rows), A100" "data/validation/megatron.csv --match 'Table 2'" data/validation/megatron.csv --match "Table 2"
row "Megatron-LM README, H100" "data/validation/megatron.csv --gpu-type H100" data/validation/megatron.csv --gpu-type H100
row "NeMo 24.07, H100 FP8 and CP tables" "data/validation/nemo.csv" data/validation/nemo.csv
row "DGX Cloud recipes, H100 FP8" "data/validation/dgxc.csv --gpu-type H100 --precision FP8" data/validation/dgxc.csv --gpu-type H100 --precision FP8
row "nccl-tests, 8x H200 NVLink (time per size)" "data/calibration/nccl-tests-h200/*.txt" data/calibration/nccl-tests-h200/*.txt
