#!/usr/bin/env python3
"""Hand-written ranking models trained over seeds: the ceiling a search can reach under a cost.

    scripts/nas-hand-sweep.py MODELS.json [--data D] [--seeds A-B] [--scaleplan BIN] [--jobs N]

MODELS.json holds {"models": [...]}: each an architecture (rec/arch.h's JSON) or a baseline's
name. Every model trains once per seed (`scaleplan rec-train --data D --arch A --seed S --json`;
the same seed gives the same example order to every model, as a search's final retraining does),
and the table gives each model's FLOPs, its test NE per seed, their mean and, against the first
model, the mean of the paired per-seed differences (negative: better than the first) with its t
statistic (mean over standard error, seeds - 1 degrees of freedom). Sorted by mean test NE.
docs/NAS.md, "How much of a miss is noise" (the fresh spec's cheap end by hand), is this on
docs/nas/fresh-cheap-models.json.
"""
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import tempfile

USAGE = ("usage: scripts/nas-hand-sweep.py MODELS.json [--data D] [--seeds A-B] "
         "[--scaleplan BIN] [--jobs N]")


class SweepError(Exception):
    pass


def parse(argv):
    opts = {"data": "synthetic:fresh", "seeds": "1-5", "scaleplan": "build/release/scaleplan",
            "jobs": "2"}
    files = []
    it = iter(argv)
    for a in it:
        if a.startswith("--") and a[2:] in opts:
            value = next(it, None)
            if value is None:
                raise SweepError(f"{a} takes a value")
            opts[a[2:]] = value
        elif a.startswith("-"):
            raise SweepError(f"unknown option {a}")
        else:
            files.append(a)
    if len(files) != 1:
        raise SweepError("one MODELS.json expected")
    lo, sep, hi = opts["seeds"].partition("-")
    if not (lo.isdigit() and (not sep or hi.isdigit())):
        raise SweepError(f"--seeds {opts['seeds']!r}: A or A-B expected (seeds 0 and up)")
    seeds = list(range(int(lo), int(hi if sep else lo) + 1))
    if not 1 <= len(seeds) <= 100:
        raise SweepError(f"--seeds {opts['seeds']!r}: 1 to 100 seeds expected")
    if not opts["jobs"].isdigit() or not 1 <= int(opts["jobs"]) <= 64:
        raise SweepError(f"--jobs {opts['jobs']!r}: an integer from 1 to 64 expected")
    return files[0], opts, seeds


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise SweepError(f"{path}: cannot read: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise SweepError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from e
    models = doc.get("models") if isinstance(doc, dict) else None
    if not isinstance(models, list) or not models:
        raise SweepError(f"{path}: a non-empty list 'models' expected")
    for i, m in enumerate(models):
        if not (isinstance(m, str) or (isinstance(m, dict) and isinstance(m.get("name"), str))):
            raise SweepError(f"{path}: models[{i}] is {json.dumps(m)[:60]} (an architecture "
                             "with a name, or a baseline's name, expected)")
    names = [m if isinstance(m, str) else m["name"] for m in models]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SweepError(f"{path}: model name {twice[0]!r} given twice")
    return models


def train(binary, data, arch, seed):
    cmd = [binary, "rec-train", "--data", data, "--arch", arch, "--seed", str(seed), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise SweepError(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()[-300:]}")
    try:
        r = json.loads(p.stdout)
        return float(r["cost"]["flops"]), float(r["test"]["ne"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise SweepError(f"{' '.join(cmd)}: not a rec-train --json report ({e})") from e


def main(argv):
    try:
        path, opts, seeds = parse(argv)
        models = load(path)
        with tempfile.TemporaryDirectory() as tmp:
            args = []
            for m in models:
                if isinstance(m, str):
                    args.append((m, m))
                    continue
                f = os.path.join(tmp, f"m{len(args)}.json")
                with open(f, "w", encoding="utf-8") as out:
                    json.dump(m, out)
                args.append((m["name"], f))
            with concurrent.futures.ThreadPoolExecutor(int(opts["jobs"])) as pool:
                runs = {(name, s): pool.submit(train, opts["scaleplan"], opts["data"], a, s)
                        for name, a in args for s in seeds}
                got = {k: f.result() for k, f in runs.items()}
    except SweepError as e:
        print(f"nas-hand-sweep: {e}", file=sys.stderr)
        return 1
    first = args[0][0]
    rows = []
    for name, _ in args:
        nes = [got[(name, s)][1] for s in seeds]
        mean = sum(nes) / len(nes)
        d = [ne - got[(first, s)][1] for ne, s in zip(nes, seeds)]
        md = sum(d) / len(d)
        sd = math.sqrt(sum((x - md) ** 2 for x in d) / (len(d) - 1)) if len(d) > 1 else 0
        t = md / (sd / math.sqrt(len(d))) if sd > 0 else float("nan")
        rows.append((mean, name, got[(name, seeds[0])][0], nes, md, t))
    rows.sort(key=lambda r: (r[0], r[1]))
    print(f"| model | FLOPs | test NE, seeds {seeds[0]}-{seeds[-1]} | mean | "
          f"paired difference to {first} | t |")
    print("|---|---:|---|---:|---:|---:|")
    for mean, name, flops, nes, md, t in rows:
        diff = "" if name == first else f"{md:+.4f}"
        ts = "" if name == first or math.isnan(t) else f"{t:+.1f}"
        print(f"| {name} | {flops:,.0f} | {', '.join(f'{x:.4f}' for x in nes)} | {mean:.4f} | "
              f"{diff} | {ts} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
