#!/usr/bin/env python3
"""A notebook-style sweep with the Python module: Llama 3 70B on 64 H100s, every TP x PP with its
step time, MFU, memory and whether it fits; then what scaleplan's own search picks, and the job's
goodput under the failure rates Llama 3 saw (scaled to 64 GPUs).

Run it after building the module (scripts/test.sh builds build/test/python):
    PYTHONPATH=build/test/python python3 examples/python_sweep.py
"""
import scaleplan

job = {
    "model": "llama3-70b",
    "cluster": "dgx-h100-ib",
    "gpus": 64,
    "framework": "megatron-core",
    "workload": {"seq_len": 8192, "global_batch": 128},
}

print(f"{'tp':>3} {'pp':>3} {'dp':>3} {'step_s':>8} {'MFU %':>6} {'peak GiB':>9}  fits")
for tp in (1, 2, 4, 8):
    for pp in (1, 2, 4, 8):
        candidate = dict(job, plan={"tp": tp, "pp": pp})
        try:
            r = scaleplan.simulate(candidate, goodput={"failures": "none"})
        except scaleplan.Error as e:  # a plan the job cannot take, with the key that says why
            print(f"{tp:>3} {pp:>3}   -  {e.key}: not a valid plan")
            continue
        peak = r["memory"]["peak_bytes_per_gpu"] / 2**30
        print(f"{tp:>3} {pp:>3} {r['plan']['dp']:>3} {r['step_time_s']:>8.3f} "
              f"{r['mfu_pct']:>6.1f} {peak:>9.1f}  {r['memory']['fits']}")

best = scaleplan.search(job, options={"top_k": 3})
print("\nsearch's answer:", best["plans"][0]["description"],
      f"({best['plans'][0]['step_time_s']:.3f} s a step, {best['evaluated_plans']} plans evaluated)")

g = scaleplan.goodput(job, options={"trials": 0, "sweep_gpus": []})["goodput"]
print(f"goodput of the job under Llama 3's failure rates: {g['effective_time_pct']:.1f}% effective, "
      f"{g['interruptions_per_day']:.2f} interruptions a day")
