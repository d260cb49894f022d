#!/usr/bin/env python3
"""The NAS target over search seeds: `scaleplan nas --json` reports in, a Markdown table out.

    scripts/nas-table.py REPORT.json ... [--runs] [--runners-up K]

One run of a search is one draw of its search seed: a family's count of baselines beaten moves by
several from one seed to the next (docs/NAS.md, "Seed noise"). This groups the reports by cell
(family, space, data), one row per cell: each run's count of baselines beaten of those it was
compared with (significantly, in parentheses; the search seed after '@'), their mean, the mean
margin over every comparison (the baseline's mean test NE less the found model's: positive when
the found model is better; comparisons with no found model of no more FLOPs have no margin and
count as missed), the number of runs that beat every baseline, per baseline missed in some
run, in how many, and how many of the misses are within the training seeds' noise (ones the
seeds cannot tell from a win: the report's `verdict`, or, in a report from before it, the same
two-sided 95% t test on the baseline's and the model's mean test NE and spread; '-' where a
report has neither). A cell's runs share their search options (the report's options.nas but the
seed, and but the time limit where it stopped nothing: such a run is the run without it), one run
per seed; runs with other options, or that a time limit stopped, make a cell of their own,
labelled by what differs. --runs adds one row per report.

--runners-up K judges each run again with the retrained models that are the front's picks or
their band's runner-up of rank K or less (`scaleplan nas --runners-up`, the report's
pareto[].runner_up), as `nas` judges (the model of no more FLOPs with the lowest mean valid NE,
its margin tested as above): runners-up leave the search and the front's models as they were,
so a run with R of them is, judged again with K < R, the run with K in its verdicts (tested in
tests/nas_test.cpp; only the verdicts: its best model and times are the run's with R; not where
the time limit stopped the search, whose stop the runners-up's retraining moved). Each report
is first judged again as it ran, and refused where that does not give its own verdicts.

Refused, naming the file: a file that is not a `scaleplan nas --json` report (or one compared
with no baseline), a seed given twice in a cell, and a cell whose runs were compared with
different baselines or whose baselines scored differently (another build, another machine's
CPU, whose floating-point kernels differ, or other training options: their counts would not
compare).
"""
import json
import math
import sys

FAMILIES = {"sampling": "sampling", "oneshot": "one-shot", "dnas": "DNAS"}


class ReportError(Exception):
    pass


# The two-sided 95% point of Student's t by degrees of freedom (nas::Judge's table).
T95 = [0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
       2.160, 2.145, 2.131, 2.120, 2.110, 2.101]


def spread(item):
    """(mean NE, sd, seeds) of a report's baselines[] or pareto[] item, or None."""
    ne, sd, per = item.get("ne"), item.get("ne_sd"), item.get("ne_per_seed")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (ne, sd)) or \
            not isinstance(per, list):
        return None
    return ne, sd, len(per)


def tie(v, scored):
    """Whether a missed comparison is within the seeds' noise: True, False, or None (unknown)."""
    if "verdict" in v:
        if v["verdict"].endswith("_untested"):
            return None  # one seed: no spread to test against
        return v["verdict"] == "missed_within_noise"
    base, model = scored.get(v["baseline"]), scored.get(v.get("model"))
    if v["margin_ne"] is None:
        return False  # no model as cheap: a miss, not a tie
    if base is None or model is None or base[2] != model[2] or base[2] < 2:
        return None
    n = base[2]
    df = 2 * (n - 1)
    noise = (T95[df] if df < len(T95) else 1.96) * math.sqrt((base[1] ** 2 + model[1] ** 2) / n)
    return -v["margin_ne"] <= noise


def rejudge(path, report, keep):
    """The report's versus[] from its pareto models of runner_up <= keep (see the docstring)."""
    def number(item, key, where):
        x = item.get(key) if isinstance(item, dict) else None
        if not isinstance(x, (int, float)) or isinstance(x, bool):
            raise ReportError(f"{path}: {where} has no numeric '{key}' (--runners-up needs the "
                              "models' flops, valid_ne, ne, ne_sd and ne_per_seed)")
        return x
    pareto = report.get("pareto")
    if not isinstance(pareto, list):
        raise ReportError(f"{path}: no 'pareto' list to judge again (--runners-up)")
    models = []
    for i, p in enumerate(pareto):
        rank = p.get("runner_up", 0) if isinstance(p, dict) else None
        if not isinstance(rank, int) or isinstance(rank, bool):
            raise ReportError(f"{path}: pareto[{i}].runner_up is {rank!r} (an integer expected)")
        if rank <= keep:
            models.append(p)
    versus = []
    for i, b in enumerate(report["baselines"]):
        picks = [m for m in models if number(m, "flops", "a pareto item") <=
                 number(b, "flops", f"baselines[{i}]")]
        if not picks:
            versus.append({"baseline": b["name"], "model": None, "beats": False,
                           "significant": False, "margin_ne": None, "verdict": "no_model"})
            continue
        m = min(picks, key=lambda p: number(p, "valid_ne", "a pareto item"))
        margin = b["ne"] - number(m, "ne", "a pareto item")
        n = len(m.get("ne_per_seed") or [])
        if n > 1 and len(b.get("ne_per_seed") or []) == n:
            df = 2 * (n - 1)
            noise = (T95[df] if df < len(T95) else 1.96) * math.sqrt(
                (number(b, "ne_sd", f"baselines[{i}]") ** 2 +
                 number(m, "ne_sd", "a pareto item") ** 2) / n)
            significant, worse = margin > noise, -margin > noise
            verdict = ("beaten_" + ("significant" if significant else "within_noise")
                       if margin > 0 else
                       "missed_" + ("significant" if worse else "within_noise"))
        else:
            significant = False
            verdict = "beaten_untested" if margin > 0 else "missed_untested"
        versus.append({"baseline": b["name"], "model": m.get("name"), "beats": margin > 0,
                       "significant": significant, "margin_ne": margin, "verdict": verdict})
    return versus


def load(path, runners_up=None):
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as e:
        raise ReportError(f"{path}: cannot read: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from e
    if not isinstance(report, dict):
        raise ReportError(f"{path}: not a scaleplan nas --json report (a JSON object is expected)")
    for key in ("method", "space", "data", "versus", "baselines"):
        if key not in report:
            raise ReportError(f"{path}: not a scaleplan nas --json report (no '{key}')")
    for key in ("versus", "baselines"):
        if not isinstance(report[key], list):
            raise ReportError(f"{path}: '{key}' is {type(report[key]).__name__} (a list expected)")
    if not report["versus"]:
        raise ReportError(f"{path}: no baseline compared ('versus' is empty: a run with "
                          "--baselines none); a run against baselines is expected")
    for i, v in enumerate(report["versus"]):
        for key in ("baseline", "beats", "significant", "margin_ne"):
            if not isinstance(v, dict) or key not in v:
                raise ReportError(f"{path}: versus[{i}] has no '{key}'")
        if v["margin_ne"] is not None and not isinstance(v["margin_ne"], (int, float)):
            raise ReportError(f"{path}: versus[{i}].margin_ne is {v['margin_ne']!r} "
                              "(a number or null expected)")
    baselines = {}
    for i, b in enumerate(report["baselines"]):
        if not isinstance(b, dict) or not isinstance(b.get("name"), str) or \
                not isinstance(b.get("ne"), (int, float)) or isinstance(b.get("ne"), bool):
            raise ReportError(f"{path}: baselines[{i}] is {json.dumps(b)[:80]} (a name and a "
                              "numeric ne expected)")
        baselines[b["name"]] = b["ne"]
    options = report.get("options", {})
    nas = options.get("nas", {}) if isinstance(options, dict) else None
    if not isinstance(nas, dict):
        raise ReportError(f"{path}: 'options' is {json.dumps(options)[:80]} (an object with "
                          "an object 'nas' expected)")
    # A cell is one family, space and data with one set of search options: all of options.nas
    # but the search seed (reports from before the options were echoed have none), and but the
    # time limit where it stopped nothing (the run is then the one without it, to the digit); a
    # run it stopped makes a cell of its own (its answer depends on the machine's speed).
    if nas:  # echoed options: a report from before runners-up had none
        nas = dict(nas, runners_up=nas.get("runners_up", 0))
    if runners_up is not None:
        had = nas.get("runners_up", 0)
        if not isinstance(had, int) or isinstance(had, bool):
            raise ReportError(f"{path}: options.nas.runners_up is {had!r} (an integer expected)")
        # The rule judged again must be nas's own: on the run as it was, it gives its verdicts.
        again = rejudge(path, report, had)
        for i, (mine, theirs) in enumerate(zip(again, report["versus"])):
            same = mine["model"] == theirs.get("model") and \
                mine["verdict"] == theirs.get("verdict", mine["verdict"]) and \
                (mine["margin_ne"] is None) == (theirs["margin_ne"] is None) and \
                (mine["margin_ne"] is None or abs(mine["margin_ne"] - theirs["margin_ne"]) < 1e-12)
            if not same or len(again) != len(report["versus"]):
                raise ReportError(
                    f"{path}: versus[{i}] judged again from pareto[] gives {mine['model']} "
                    f"({mine['verdict']}), the report {theirs.get('model')} "
                    f"({theirs.get('verdict')}): --runners-up cannot judge this report as nas did")
        if runners_up < had:
            if report.get("time_limited") is not False:
                raise ReportError(
                    f"{path}: the time limit stopped the search (or the report does not say "
                    "it did not): its stop counted its runners-up's retraining, so judged "
                    f"without them it is not the run with --runners-up {runners_up}")
            nas = dict(nas, runners_up=runners_up)
            report = dict(report, versus=rejudge(path, report, runners_up))
    rest = tuple(sorted((k, json.dumps(v)) for k, v in nas.items()
                        if k not in ("search_seed", "time_limit_s")))
    if isinstance(report.get("time_limited"), bool):
        stopped = "stopped" if report["time_limited"] else "not reached"
        rest = tuple(sorted(rest + (("time limit", json.dumps(stopped)),)))
    scored = {}  # name -> (mean NE, sd, seeds), where the report gives them
    for item in report["baselines"] + (report.get("pareto") or []):
        if isinstance(item, dict) and isinstance(item.get("name"), str) and spread(item):
            scored[item["name"]] = spread(item)
    return {
        "path": path,
        "cell": (report["method"], report["space"], report["data"], rest),
        "seed": nas.get("search_seed"),
        "versus": report["versus"],
        "baselines": baselines,
        "scored": scored,
        # the matrix kernels the models trained on (reports from before 2026-12-07 do not say)
        "kernels": report["blas"].get("core") if isinstance(report.get("blas"), dict) else None,
    }


def labels(cells):
    """Each cell's family label, with the search options that set it apart from the other cells
    of its family, space and data (e.g. 'DNAS (restarts 2)')."""
    out = {}
    for cell in cells:
        method, space, data, rest = cell
        kin = [c[3] for c in cells if c[:3] == cell[:3]]
        differ = []
        for k, v in rest:
            if any(dict(other).get(k) != v for other in kin if other and other != rest):
                differ.append(f"{k} {json.loads(v)}")
        if not rest and len(kin) > 1:
            differ.append("options not echoed")
        out[cell] = FAMILIES.get(method, method) + (f" ({', '.join(differ)})" if differ else "")
    return out


def merge_cells(runs):
    """A report from before a search option existed does not echo it: runs whose echoed search
    options agree wherever both give one share a cell (the union of their options)."""
    merged = []  # [(method, space, data), options dict]
    for run in runs:
        method, space, data, rest = run["cell"]
        mine = dict(rest)
        for kin in merged:
            if kin[0] == (method, space, data) and \
                    all(kin[1][k] == v for k, v in mine.items() if k in kin[1]):
                kin[1].update(mine)
                run["group"] = kin
                break
        else:
            merged.append([(method, space, data), mine])
            run["group"] = merged[-1]
    for run in runs:
        (method, space, data), options = run.pop("group")
        run["cell"] = (method, space, data, tuple(sorted(options.items())))


def cell_rows(runs, per_run):
    merge_cells(runs)
    cells = {}
    for run in runs:
        cells.setdefault(run["cell"], []).append(run)
    rows = []
    named = labels(list(cells))
    for cell, group in sorted(cells.items()):
        _, space, data, _ = cell
        first = group[0]
        seen = {}
        for run in group:
            if run["seed"] is not None and run["seed"] in seen:
                raise ReportError(f"{run['path']}: search seed {run['seed']} again ({seen[run['seed']]} "
                                  "has it): a cell takes one run per seed")
            seen[run["seed"]] = run["path"]
        for run in group[1:]:
            if set(run["baselines"]) != set(first["baselines"]):
                raise ReportError(
                    f"{run['path']}: compared with other baselines than {first['path']} "
                    f"({', '.join(sorted(run['baselines']))} against "
                    f"{', '.join(sorted(first['baselines']))}): the counts would not compare")
            for name, ne in run["baselines"].items():
                if abs(ne - first["baselines"][name]) > 1e-9:
                    kernels = ""
                    if run["kernels"] and first["kernels"] and run["kernels"] != first["kernels"]:
                        kernels = (f" (they trained on OpenBLAS's {run['kernels']} and "
                                   f"{first['kernels']} kernels)")
                    raise ReportError(
                        f"{run['path']}: baseline {name} scored test NE {ne:.6f}, "
                        f"{first['path']} {first['baselines'][name]:.6f}{kernels}: another "
                        "build, another machine's CPU or other training options, so the counts "
                        "would not compare")
        group.sort(key=lambda r: (r["seed"] is None, r["seed"] or 0, r["path"]))
        counts, margins, missed, ties = [], [], {}, {}
        known = True  # every miss's tie or not known
        for run in group:
            beaten = sum(1 for v in run["versus"] if v["beats"])
            significant = sum(1 for v in run["versus"] if v["significant"])
            counts.append((beaten, significant, len(run["versus"]), run["seed"]))
            for v in run["versus"]:
                # No found model of no more FLOPs: no margin, the baseline not beaten.
                if v["margin_ne"] is not None:
                    margins.append(v["margin_ne"])
                if not v["beats"]:
                    missed[v["baseline"]] = missed.get(v["baseline"], 0) + 1
                    t = tie(v, run["scored"])
                    known = known and t is not None
                    ties[v["baseline"]] = ties.get(v["baseline"], 0) + (1 if t else 0)
        n = len(group)
        per = ", ".join(
            f"{b} ({s}) of {t}" + (f" @{seed}" if seed is not None else "")
            for b, s, t, seed in counts)
        mean = sum(c[0] for c in counts) / n
        mean_sig = sum(c[1] for c in counts) / n
        margin = sum(margins) / len(margins) if margins else float("nan")
        every = sum(1 for b, _, t, _ in counts if b == t)
        misses = ", ".join(f"{name} {k}/{n}"
                           for name, k in sorted(missed.items(), key=lambda x: (-x[1], x[0])))
        total = sum(missed.values())
        within = f"{sum(ties.values())} of {total}" if known else "-"
        rows.append([named[cell], space, data, per, f"{mean:.1f} ({mean_sig:.1f})",
                     f"{margin:+.4f}", f"{every} of {n}", misses or "none", within])
        if per_run:
            for run, (b, s, t, seed) in zip(group, counts):
                rows.append(["", "", "", f"{run['path']}: {b} ({s}) of {t}", "", "", "", "", ""])
    return rows


def main(argv):
    usage = "usage: scripts/nas-table.py REPORT.json ... [--runs] [--runners-up K]"
    per_run = "--runs" in argv
    args = [a for a in argv if a != "--runs"]
    runners_up = None
    if "--runners-up" in args:
        at = args.index("--runners-up")
        value = args[at + 1] if at + 1 < len(args) else ""
        if not (value.isascii() and value.isdigit()):
            print(f"nas-table: --runners-up {value!r} (allowed: an integer 0 or more)\n{usage}",
                  file=sys.stderr)
            return 2
        runners_up = int(value)
        del args[at:at + 2]
    paths = args
    if not paths or any(p.startswith("-") for p in paths):
        print(usage, file=sys.stderr)
        return 2
    try:
        rows = cell_rows([load(p, runners_up) for p in paths], per_run)
    except ReportError as e:
        print(f"nas-table: {e}", file=sys.stderr)
        return 1
    header = ["family", "space", "data", "baselines beaten per run (significantly)",
              "mean", "mean margin (NE)", "runs beating all", "baselines missed (runs)",
              "misses within the seeds' noise"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
