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
row "Korthikanti et al. 2022, Selene A100 (held out: fitted on nothing)" "data/validation/korthikanti2022.csv" data/validation/korthikanti2022.csv
row "Megatron-LM README, H100" "data/validation/megatron.csv --gpu-type H100" data/validation/megatron.csv --gpu-type H100
row "NeMo 24.07, H100 FP8 and CP tables" "data/validation/nemo.csv" data/validation/nemo.csv
row "DGX Cloud recipes, H100 FP8" "data/validation/dgxc.csv --gpu-type H100 --precision FP8" data/validation/dgxc.csv --gpu-type H100 --precision FP8
row "nccl-tests, 8x H200 NVLink (time per size)" "data/calibration/nccl-tests-h200/*.txt" data/calibration/nccl-tests-h200/*.txt
row "XLA's collective table, 8x H100 node (time per size; 2 to 8 ranks)" "data/calibration/xla-collectives.csv --match '(H100)'" data/calibration/xla-collectives.csv --match "(H100)"
row "XLA's collective table, 8x B200 node" "data/calibration/xla-collectives.csv --match '(B200)'" data/calibration/xla-collectives.csv --match "(B200)"
row "XLA's collective table, GB200 NVL72 (4 to 72 ranks)" "data/calibration/xla-collectives.csv --match '(GB200)'" data/calibration/xla-collectives.csv --match "(GB200)"
row "XLA's collective table, GB300 NVL72 (4 to 72 ranks)" "data/calibration/xla-collectives.csv --match '(GB300)'" data/calibration/xla-collectives.csv --match "(GB300)"
row "torchtitan, Llama 3.1 8B on 8 H100 at 500 W (uncalibrated)" "data/validation/torchtitan-8gpu.csv" data/validation/torchtitan-8gpu.csv
row "llm-foundry MPT, A100 40GB (uncalibrated)" "data/validation/llmfoundry.csv --gpu-type A100" data/validation/llmfoundry.csv --gpu-type A100
row "llm-foundry MPT, H100 BF16 and FP8 (uncalibrated)" "data/validation/llmfoundry.csv --gpu-type H100" data/validation/llmfoundry.csv --gpu-type H100
row "MLPerf Training v4.0, FP8: GPT-3 175B on 512-11,616 H100, Llama 2 70B LoRA on 8-1,024 H100 and H200 (held out)" "data/validation/mlperf-llm.csv" data/validation/mlperf-llm.csv
row "DGX Cloud recipes, GB200 (the GB200 factor's calibration set)" "data/validation/dgxc.csv --gpu-type GB200" data/validation/dgxc.csv --gpu-type GB200
row "Megatron-Bridge 25.09-26.08, H100 (held out)" "data/validation/megatron-bridge.csv --gpu-type H100" data/validation/megatron-bridge.csv --gpu-type H100
row "Megatron-Bridge 25.09-26.08, B200 and GB200 (held out; the filter matches both)" "data/validation/megatron-bridge.csv --gpu-type B200" data/validation/megatron-bridge.csv --gpu-type B200
row "Megatron-Bridge 25.09-26.08, GB200 NVL72 (held out)" "data/validation/megatron-bridge.csv --gpu-type GB200" data/validation/megatron-bridge.csv --gpu-type GB200
row "Megatron-Bridge 25.09-26.08, B300 and GB300 (held out; the filter matches both)" "data/validation/megatron-bridge.csv --gpu-type B300" data/validation/megatron-bridge.csv --gpu-type B300
row "Megatron-Bridge 25.09-26.08, GB300 NVL72 (held out)" "data/validation/megatron-bridge.csv --gpu-type GB300" data/validation/megatron-bridge.csv --gpu-type GB300
row "Megatron-Bridge 25.09-26.08, NVFP4 on GB200 and GB300 (held out)" "data/validation/megatron-bridge.csv --precision FP4" data/validation/megatron-bridge.csv --precision FP4

# Calibrated and cross-validated (scaleplan calibrate): the fit's in-sample error and the error on
# what each fold held out.
cal() {
  local name=$1 shown=$2; shift 2
  echo "| $name | \`scaleplan calibrate $shown\` | $("$S" calibrate "$@" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); e=d["mean_abs_error_pct"]
f=", ".join("%s %.3g" % (x["key"].split(".")[1], x["value"]) for x in d["factors"] if x["fitted"])
print("%d | %s | %.1f%% | %.1f%% | %s %.1f%%" % (d["configurations"], f, e["before"], e["after"], d["cross_validation"], e["cross_validated"]))') |"
}
echo
echo "| runs | command | configurations | fitted factors | before | after (in-sample) | cross-validated |"
echo "|---|---|---|---|---|---|---|"
cal "DGX Cloud recipes, H100 BF16" "data/validation/dgxc.csv --gpu-type H100 --precision BF16" data/validation/dgxc.csv --gpu-type H100 --precision BF16
cal "DGX Cloud recipes, GB200 BF16 (the factor alone)" "data/validation/dgxc.csv --gpu-type GB200 --precision BF16 --factors gpu.sustained_compute_fraction" data/validation/dgxc.csv --gpu-type GB200 --precision BF16 --factors gpu.sustained_compute_fraction
cal "torchtitan 8 GPUs" "data/validation/torchtitan-8gpu.csv" data/validation/torchtitan-8gpu.csv
cal "llm-foundry A100 40GB" "data/validation/llmfoundry.csv --gpu-type A100" data/validation/llmfoundry.csv --gpu-type A100
cal "llm-foundry A100 40GB, by model" "data/validation/llmfoundry.csv --gpu-type A100 --hold-out model" data/validation/llmfoundry.csv --gpu-type A100 --hold-out model
cal "llm-foundry H100" "data/validation/llmfoundry.csv --gpu-type H100" data/validation/llmfoundry.csv --gpu-type H100
cal "llm-foundry H100, by model" "data/validation/llmfoundry.csv --gpu-type H100 --hold-out model" data/validation/llmfoundry.csv --gpu-type H100 --hold-out model
# NVIDIA's four H100 sources together, each source and each model held out in turn.
nv="data/validation/dgxc.csv data/validation/nemo.csv data/validation/mlperf-llm.csv data/validation/megatron-bridge.csv"
cal "NVIDIA's recipes on H100, by source" "$nv --gpu-type H100 --hold-out file" $nv --gpu-type H100 --hold-out file
cal "the same, the H100 factor alone" "$nv --gpu-type H100 --hold-out file --factors gpu.sustained_compute_fraction" $nv --gpu-type H100 --hold-out file --factors gpu.sustained_compute_fraction
cal "NVIDIA's recipes on H100, by model" "$nv --gpu-type H100 --hold-out model" $nv --gpu-type H100 --hold-out model

# Calibrated on single-node runs (<= 8 GPUs), predicting the multi-node runs (16-128 GPUs).
echo
echo "| runs | fitted on | predicted | rows | before | after | Spearman |"
echo "|---|---|---|---|---|---|---|"
for gpu in A100 H100; do
  tmp=$(mktemp)
  "$S" calibrate data/validation/llmfoundry.csv --gpu-type $gpu --max-gpus 8 --out "$tmp" >/dev/null
  before=$("$S" validate data/validation/llmfoundry.csv --gpu-type $gpu --min-gpus 16 --json | python3 -c 'import json,sys; print("%.1f%%" % json.load(sys.stdin)["summary"]["mean_abs_error_pct"])')
  after=$("$S" validate data/validation/llmfoundry.csv --gpu-type $gpu --min-gpus 16 --calibration "$tmp" --json | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print("%d | %s | %.1f%% | %.3f" % (s["modeled_rows"], "BEFORE", s["mean_abs_error_pct"], s["spearman"]))')
  echo "| llm-foundry $gpu | \`--max-gpus 8\` | \`--min-gpus 16\` | ${after/BEFORE/$before} |"
  rm -f "$tmp"
done
