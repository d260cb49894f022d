#!/usr/bin/env bash
# Regenerates the balance tables of docs/PACKING.md (Markdown rows on stdout): every corpus packed
# whole (--iterations 100000: the run ends when the corpus does, drains included) at 128K context
# and 4 micro-batches, Llama 3 8B FLOP weights.
# Usage: scripts/packing.sh [path/to/scaleplan]   (default: build/release/scaleplan)
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-build/release/scaleplan}
summary() {
  python3 -c 'import json,sys
j=json.load(sys.stdin); s=j["summary"]; its=j["iterations"]
tok=s["mean_tokens_per_microbatch"]*4*len(its)
half=len(its)//2
first=sum(i["imbalance_layer"] for i in its[:half])/max(1,half)
second=sum(i["imbalance_layer"] for i in its[half:])/max(1,len(its)-half)
bands=",".join(str(b//1024)+"K" for b in s["thresholds_tokens"]) or "-"
byd=s["tokens_by_delay_iterations"]
late=100*sum(byd[4:])/max(1,sum(byd))
print("%.3f | %.3f / %.3f | %.2f | %.1f%% | %d | %.1f%% | %.1f | %s, %dK" % (s["imbalance_layer"], first, second,
      s["mean_delay_iterations"], late, s["max_delay_iterations"], 100*s["padding_tokens_total"]/max(1,tok),
      s["pack_time_s_per_batch"]*1e6, bands, s["s_max_tokens"]//1024))'
}
row() {
  local corpus=$1 packer=$2; shift 2
  echo "| $corpus | $packer | $("$S" pack --context 131072 --microbatches 4 --iterations 100000 --json "$@" | summary) |"
}
corpora=(
  "wlbllm-like (bundled)|--lengths data/validation/wlbllm-like.json"
  "prolong-like (bundled)|--lengths data/validation/prolong-like.json"
  "lognormal|--synthetic lognormal --count 100000"
  "lognormal, wide|--synthetic lognormal:median=4096,sigma=1.2 --count 100000"
  "lognormal, long-heavy|--synthetic lognormal:long_fraction=0.15,long_median=32768,long_sigma=0.8 --count 100000"
  "pareto 1.2 from 256|--synthetic pareto --count 100000"
  "pareto 1.0 from 512|--synthetic pareto:alpha=1.0,min=512 --count 100000"
  "pareto 1.5 from 1024|--synthetic pareto:alpha=1.5,min=1024 --count 100000"
  "drift (at half)|--synthetic drift --count 100000"
)
echo "| corpus | packer | layer imbalance | first / second half | mean delay (iterations) | tokens waiting 4+ | max delay | padding | pack us per batch | last bands, s_max |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for c in "${corpora[@]}"; do
  name=${c%%|*}; args=${c#*|}
  # shellcheck disable=SC2086
  row "$name" "original" --packer original $args
  # shellcheck disable=SC2086
  row "$name" "wlb, one band at 64K, s_max 128K" --packer wlb --thresholds 65536 $args
  # shellcheck disable=SC2086
  row "$name" "wlb adaptive (default)" --packer wlb $args
done
