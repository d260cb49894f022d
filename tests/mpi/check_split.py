#!/usr/bin/env python3
"""mpirun -np 2 gives one process's answer (CTest mpi_split; needs a -DSCALEPLAN_MPI=ON build).

For search (exhaustive and random), testbed and nas, the JSON report of `mpirun -np 2 scaleplan
...` must equal the single process's, times excepted, and a search must say it was split in two.
A command that does not split must refuse under mpirun with exit status 2. Exits 77 (skipped,
saying why) when mpirun is not installed; scripts/install-deps.sh --test installs it.
Usage: check_split.py SCALEPLAN_BINARY REPO_ROOT
"""
import json
import os
import shutil
import subprocess
import sys

SKIP = 77


# Wall-clock figures, which differ from run to run, and how the work was split; every other
# number (step times, throughputs, NE, counts) must agree to the bit.
WALL_CLOCK = {"elapsed_s", "train_s", "examples_per_s", "search_cpu_s", "shares", "processes",
              "wall_s", "baselines_s", "front_s", "front_projected_s", "full_s_projected",
              "transport"}


def strip_times(x):
    """The report without wall-clock figures."""
    if isinstance(x, dict):
        return {k: strip_times(v) for k, v in x.items() if k not in WALL_CLOCK}
    if isinstance(x, list):
        return [strip_times(v) for v in x]
    return x


def run(cmd, env):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def main():
    binary, root = sys.argv[1], sys.argv[2]
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        print("skipped: mpirun not found (install Debian's openmpi-bin; scripts/install-deps.sh --test does)")
        return SKIP
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    launch = [mpirun, "--oversubscribe", "-np", "2", binary]
    fixtures = os.path.join(root, "tests", "fixtures")
    cases = {
        "search exhaustive": ["search", "--gpus", "1024", "--top", "20", "--json"],
        "search random": ["search", "--gpus", "2048", "--optimizer", "random", "--budget", "5000",
                          "--json"],
        # Plans that describe alike (the CP algorithm without CP) must be kept the same way
        # whichever rank drew them.
        "search random, deep": ["search", "--gpus", "64", "--model", "llama3-8b", "--cp", "1",
                                "--optimizer", "random", "--budget", "20000", "--top", "2000",
                                "--seed", "5", "--json"],
        "testbed": ["testbed", "--truth", os.path.join(fixtures, "truth-small.yaml"), "--model",
                    "llama3-8b", "--cluster", "dgx-h100-ib", "--gpus", "64", "--seq", "4096",
                    "--global-batch", "256", "--cp", "1,2", "--pp", "1,2,4", "--vp", "1,2",
                    "--zero", "1,fsdp", "--recompute", "none,selective", "--schedule",
                    "1f1b,interleaved", "--budget", "8", "--batch", "4", "--json"],
    }
    # nas trains with libtorch: a build without it says so, and the case is left out.
    nas = ["nas", "--data", "synthetic:" + os.path.join(fixtures, "ctr-tiny.yaml"), "--space",
           "engineer", "--budget", "4", "--parallel", "2", "--proxy-examples", "500",
           "--proxy-eval", "300", "--batch", "64", "--baselines", "dlrm-s", "--retrain", "2",
           "--final-seeds", "1", "--json"]
    if "no ranking-model trainer" in run([binary] + nas, env).stderr:
        print("nas left out: this build has no libtorch")
    else:
        cases["nas"] = nas
    failures = 0
    for name, args in cases.items():
        alone = run([binary] + args, env)
        split = run(launch + args, env)
        if alone.returncode != 0 or split.returncode != 0:
            print(f"FAIL {name}: exit {alone.returncode} alone, {split.returncode} under mpirun\n"
                  f"{alone.stderr[-2000:]}\n{split.stderr[-2000:]}")
            failures += 1
            continue
        a, b = json.loads(alone.stdout), json.loads(split.stdout)
        if strip_times(a) != strip_times(b):
            differing = [k for k in a if strip_times(a.get(k)) != strip_times(b.get(k))]
            print(f"FAIL {name}: the split answer differs in {differing}")
            failures += 1
            continue
        if name.startswith("search"):
            shares = b.get("shares", [])
            if b.get("processes") != 2 or b.get("transport") != "mpi" or len(shares) != 2 or \
                    sum(s["evaluated_plans"] for s in shares) != a["evaluated_plans"] or \
                    min(s["evaluated_plans"] for s in shares) == 0:
                print(f"FAIL {name}: the report does not show two ranks sharing the work: {shares}")
                failures += 1
                continue
        print(f"ok   {name}: mpirun -np 2 gives one process's answer")
    # Ranks given different inputs (an MPMD launch: rank 1 searches another sequence length) stop
    # with an error instead of merging shares of two searches.
    base = ["search", "--gpus", "64", "--model", "llama3-8b", "--top", "3"]
    split = run([mpirun, "--oversubscribe", "-np", "1", binary] + base + ["--seq", "8192", ":",
                "-np", "1", binary] + base + ["--seq", "2048"], env)
    if split.returncode == 0 or "the ranks computed different things" not in split.stderr:
        print(f"FAIL ranks on different inputs: exit {split.returncode}\n{split.stderr[-2000:]}")
        failures += 1
    else:
        print("ok   ranks on different inputs stop with an error")
    refused = run(launch + ["simulate"], env)
    if refused.returncode != 2 or "simulate runs in one process, not 2" not in refused.stderr:
        print(f"FAIL simulate under mpirun: exit {refused.returncode}\n{refused.stderr[-2000:]}")
        failures += 1
    else:
        print("ok   simulate under mpirun refuses with exit 2")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
