#!/usr/bin/env python3
"""Loads each `--html` page of scaleplan in headless Chromium and checks the rendered document.

Usage: check_html.py SCALEPLAN WORKDIR

For simulate, search, explore, pack, fit, testbed and nas, sampling and one-shot (nas only in a build with libtorch): runs the command once with --json and --html, loads the
page in Chromium (--dump-dom: the document after its script ran), and checks that
  * the page's script ran to its end (body data-rendered="yes") and Chromium logged no script error;
  * every plot the page promises is there (figure[data-plot]);
  * the plots carry the numbers of the JSON report (data-value of the marks, to 6 digits);
  * the marks sit where their numbers say (bar lengths proportional to the values, points and
    line dots on one linear scale per axis, larger values higher).
Exits 77 (CTest: skipped) with a message when Chromium is not installed; `scripts/install-deps.sh
--test` installs it.
"""
import html.parser
import json
import math
import os
import shutil
import subprocess
import sys


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.body = {}
        self.plots = []
        self.marks = []  # (plot id, attributes) of every element with data-value
        self.cells = []
        self._plot = None
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if tag == "figure" and "data-plot" in a:
            self._plot = a["data-plot"]
            self.plots.append(self._plot)
        if "data-value" in a:
            self.marks.append((self._plot, a))
        if tag == "td":
            self._in_td = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "figure":
            self._plot = None
        if tag == "td":
            self._in_td = False

    def handle_data(self, data):
        if self._in_td:
            self.cells[-1] += data


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def render(browser, page, workdir):
    profile = os.path.join(workdir, "profile")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
           "--dump-dom", "file://" + os.path.abspath(page)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        sys.exit("chromium failed on %s (exit %d): %s" % (page, run.returncode, run.stderr[-2000:]))
    errors = [line for line in run.stderr.splitlines()
              if "Uncaught" in line or ("CONSOLE" in line and "error" in line.lower())]
    if errors:
        sys.exit("script errors in %s:\n%s" % (page, "\n".join(errors)))
    dom = Dom()
    dom.feed(run.stdout)
    return dom


def near(a, b):
    return math.isclose(float(a), float(b), rel_tol=2e-5, abs_tol=1e-12)


class Checker:
    def __init__(self):
        self.checked = 0
        self.failures = []

    def expect(self, ok, what):
        self.checked += 1
        if not ok:
            self.failures.append(what)

    def value(self, dom, plot, label, want):
        marks = [a for p, a in dom.marks if p == plot and a.get("data-label") == label]
        self.expect(len(marks) == 1 and near(marks[0]["data-value"], want),
                    "%s: %s should show %r, shows %r" % (plot, label, want,
                                                        [m["data-value"] for m in marks]))


def linear(c, what, pairs):
    """Every (value, position) in `pairs` lies on one line: the plot maps numbers to pixels by one
    scale (positions are printed to 0.1 px)."""
    pairs = [(float(v), float(p)) for v, p in pairs]
    lo, hi = min(pairs), max(pairs)
    if len(pairs) < 3 or hi[0] - lo[0] <= 1e-12 * max(1.0, abs(hi[0])):
        return
    slope = (hi[1] - lo[1]) / (hi[0] - lo[0])
    # Values are printed to 6 significant digits and positions to 0.1 px: allow both roundings.
    tolerance = 0.3 + abs(slope) * max(abs(v) for v, _ in pairs) * 1e-5
    worst = max(abs(lo[1] + slope * (v - lo[0]) - p) for v, p in pairs)
    c.expect(worst <= tolerance, "%s: a mark is %.2f px off the plot's scale" % (what, worst))


def geometry(c, name, dom):
    """The marks sit where their numbers say: bar lengths proportional to their values, points and
    dots on one linear scale per axis (y downwards: larger values higher)."""
    plots = {}
    for plot, a in dom.marks:
        plots.setdefault(plot, []).append(a)
    for plot, marks in plots.items():
        classes = lambda a: a.get("class", "").split()
        # A negative value is drawn as an empty bar (the axis starts at 0): not on the scale.
        bars = [a for a in marks if "bar" in classes(a) and float(a["data-value"]) >= 0]
        if bars:
            # Through the origin: width = value x scale.
            linear(c, "%s %s bars" % (name, plot),
                   [(a["data-value"], a["width"]) for a in bars] + [(0.0, 0.0)])
        points = [a for a in marks if "point" in classes(a)]
        if points:
            linear(c, "%s %s points (x)" % (name, plot), [(a["data-x"], a["cx"]) for a in points])
            linear(c, "%s %s points (y)" % (name, plot), [(a["data-value"], a["cy"]) for a in points])
            higher = all(float(a["cy"]) <= float(b["cy"]) for a in points for b in points
                         if float(a["data-value"]) > float(b["data-value"]))
            c.expect(higher, "%s %s: a larger value is drawn lower" % (name, plot))
        dots = [a for a in marks if "dot" in classes(a)]
        if dots:
            linear(c, "%s %s line dots (y)" % (name, plot), [(a["data-value"], a["cy"]) for a in dots])


def strip(key):
    for suffix in ("_s", "_pct"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    return key


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    scaleplan, workdir = sys.argv[1], sys.argv[2]
    browser = chromium()
    if browser is None:
        print("SKIPPED: chromium is not installed (scripts/install-deps.sh --test installs it)")
        return 77
    os.makedirs(workdir, exist_ok=True)
    c = Checker()

    pages = []

    def page(name, args, may_lack=None):
        path = os.path.join(workdir, name + ".html")
        if os.path.exists(path):
            os.remove(path)
        run = subprocess.run([scaleplan] + args + ["--json", "--html", path], capture_output=True,
                             text=True, timeout=300)
        if run.returncode != 0 and may_lack and may_lack in run.stderr:
            print("%s page left out: this build says %s" % (name, may_lack))
            return None, None
        if run.returncode != 0:
            sys.exit("scaleplan %s failed: %s" % (" ".join(args), run.stderr))
        pages.append(name)
        report = json.loads(run.stdout)
        dom = render(browser, path, workdir)
        c.expect(dom.body.get("data-rendered") == "yes", name + ": the page's script did not finish")
        geometry(c, name, dom)
        c.expect(dom.body.get("data-plots") == str(len(dom.plots)),
                 name + ": the script counted %s plots, the page has %d" %
                 (dom.body.get("data-plots"), len(dom.plots)))
        return report, dom

    # simulate: breakdown, memory against capacity, the timeline, goodput.
    report, dom = page("simulate", ["simulate"])
    for plot in ("breakdown", "memory", "timeline", "goodput"):
        c.expect(plot in dom.plots, "simulate: no %s plot" % plot)
    for key, value in report["breakdown"].items():
        c.value(dom, "breakdown", strip(key), value)
    c.value(dom, "memory", "usable", report["memory"]["usable_bytes"])
    c.value(dom, "memory", "capacity", report["memory"]["capacity_bytes"])
    for s in report["stages"]:
        c.value(dom, "memory", "stage %d activations" % s["stage"], s["activations_bytes"])
    boxes = [a for p, a in dom.marks if p == "timeline"]
    c.expect(len(boxes) >= report["plan"]["pp"] * report["plan"]["microbatches"] * 2,
             "simulate: the timeline has %d passes" % len(boxes))
    for key, value in report["goodput"]["lost"].items():
        c.value(dom, "goodput", strip(key), value)
    c.expect("%.6g" % report["step_time_s"] in dom.cells, "simulate: the step time is not in the table")

    # The event engine's page: its own run draws the timeline, one row per stage.
    report, dom = page("simulate-event", ["simulate", "--engine", "event"])
    boxes = [a for p, a in dom.marks if p == "timeline"]
    stages = {a["data-label"].split()[1] for a in boxes}
    c.expect(len(stages) == report["plan"]["pp"],
             "simulate --engine event: the timeline has %d stages" % len(stages))
    for key, value in report["breakdown"].items():
        c.value(dom, "breakdown", strip(key), value)

    # search: the candidates against memory, the answer marked; the second from Llama 3's own
    # plan at 16,384 GPUs, drawn in red.
    for name, args in (("search", ["search", "--model", "llama3-8b", "--cluster", "dgx-h100-ib",
                                   "--gpus", "64", "--seq", "8192", "--global-batch", "512"]),
                       ("search-start", ["search", "--top", "5"])):
        report, dom = page(name, args)
        for plot in ("candidates", "top"):
            c.expect(plot in dom.plots, "%s: no %s plot" % (name, plot))
        marks = [a for p, a in dom.marks if p == "candidates"]
        points = [a for a in marks if "start" not in a.get("class", "")]
        c.expect(len(points) == len(report["plans"]),
                 "%s: %d points for %d plans" % (name, len(points), len(report["plans"])))
        for i, plan in enumerate(report["plans"]):
            label = "#%d %s" % (i + 1, plan["description"])
            match = [a for a in points if a["data-label"] == label]
            c.expect(len(match) == 1 and near(match[0]["data-value"], plan["step_time_s"])
                     and near(match[0]["data-x"], plan["memory_peak_bytes_per_gpu"]),
                     "%s: point %s" % (name, label))
        best = [a for a in points if "best" in a.get("class", "")]
        c.expect(len(best) == 1 and best[0]["data-label"].startswith("#1 "),
                 "%s: the answer is not marked" % name)
        start = [a for a in marks if "start" in a.get("class", "")]
        if name == "search-start":
            b = report["baseline"]
            c.expect(len(start) == 1 and near(start[0]["data-value"], b["step_time_s"])
                     and near(start[0]["data-x"], b["memory_peak_bytes_per_gpu"]),
                     "search-start: the starting plan's point")
        else:
            c.expect(not start, "search: a starting plan's point without a starting plan")

    # explore: speed-up of each row.
    report, dom = page("explore", ["explore"])
    for plot in ("speedup", "breakdown"):
        c.expect(plot in dom.plots, "explore: no %s plot" % plot)
    for row in [report["baseline"]] + report["one_at_a_time"] + [report["joint"]]:
        c.value(dom, "speedup", row["name"], row["speedup"])

    # pack: imbalance per iteration against the original packing.
    report, dom = page("pack", ["pack", "--synthetic", "pareto", "--context", "131072",
                                "--iterations", "8"])
    for plot in ("imbalance", "tokens"):
        c.expect(plot in dom.plots, "pack: no %s plot" % plot)
    for i, it in enumerate(report["iterations"]):
        c.value(dom, "imbalance", "%s %d" % (report["packer"], i), it["imbalance_attention"])
        c.value(dom, "tokens", "%s %d" % (report["packer"], i), it["max_tokens_per_microbatch"])
    c.expect(any(a["data-label"] == "original 0" for p, a in dom.marks if p == "imbalance"),
             "pack: no original packing to compare with")

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fixtures = os.path.join(root, "tests", "fixtures")

    # fit: the scores beside the physics', each job's predictions against its measurement.
    report, dom = page("fit", ["fit", os.path.join(root, "examples", "job-log.jsonl"),
                               "--members", "2"])
    for plot in ("error", "tau", "predictions"):
        c.expect(plot in dom.plots, "fit: no %s plot" % plot)
    for s in report["scores"]:
        c.value(dom, "error", s["method"], s["mean_abs_error_pct"])
    jobs = [j for j in report["jobs_detail"] if j["metric"] == "tokens_per_s_per_gpu"]
    for j in jobs:
        label = "%s:%d %s" % (j["file"], j["line"], j["label"])
        c.value(dom, "predictions", "physics " + label, j["physics"])
    c.expect(len([1 for p, a in dom.marks if p == "predictions"]) == 2 * len(jobs),
             "fit: %d jobs should draw %d points" % (len(jobs), 2 * len(jobs)))

    # testbed: each method's regret after each batch.
    report, dom = page("testbed", ["testbed", "--truth", os.path.join(fixtures, "truth-small.yaml"),
                                   "--model", "llama3-8b", "--cluster", "dgx-h100-ib", "--gpus",
                                   "64", "--seq", "4096", "--global-batch", "256", "--pp", "1,2,4",
                                   "--budget", "8", "--batch", "4"])
    c.expect("regret" in dom.plots, "testbed: no regret plot")
    for m in report["methods"]:
        for i, point in enumerate(m["curve"]):
            c.value(dom, "regret", "%s %d" % (m["name"], i), point["regret_pct"])
    # One colour per method, and each point at its jobs on the x axis.
    dots = [a for p, a in dom.marks if p == "regret"]
    c.expect(len({a["class"] for a in dots}) == len(report["methods"]),
             "testbed: the methods do not have a colour each")
    xs = [(float(a["cx"]), m["curve"][int(a["data-label"].rsplit(" ", 1)[1])]["jobs"])
          for a in dots for m in report["methods"] if a["data-label"].rsplit(" ", 1)[0] == m["name"]]
    linear(c, "testbed regret dots (x)", [(jobs, cx) for cx, jobs in xs])

    # nas: the candidates and the retrained front against the baselines (needs libtorch).
    report, dom = page("nas", ["nas", "--data", "synthetic:" + os.path.join(fixtures, "ctr-tiny.yaml"),
                               "--space", "engineer", "--budget", "4", "--proxy-examples", "500",
                               "--proxy-eval", "300", "--batch", "64", "--baselines", "dlrm-s",
                               "--retrain", "2", "--final-seeds", "1"], may_lack="no ranking-model trainer")
    if report is not None:
        for plot in ("candidates", "front"):
            c.expect(plot in dom.plots, "nas: no %s plot" % plot)
        for cand in report["history"]:
            if not cand["failed"]:
                c.value(dom, "candidates", cand["name"], cand["proxy_ne"])
        for m in report["pareto"] + report["baselines"]:
            c.value(dom, "front", m["name"], m["ne"])

    # nas --method oneshot: the candidates at their supernet NE, the screen's at their proxy NE.
    report, dom = page("nas-oneshot", ["nas", "--method", "oneshot", "--data",
                                       "synthetic:" + os.path.join(fixtures, "ctr-tiny.yaml"),
                                       "--space", "engineer", "--budget", "4", "--screen", "3",
                                       "--proxy-examples", "500", "--proxy-eval", "300",
                                       "--batch", "64", "--baselines", "dlrm-s", "--retrain", "2",
                                       "--final-seeds", "1"], may_lack="no ranking-model trainer")
    if report is not None:
        for plot in ("candidates", "screen", "front"):
            c.expect(plot in dom.plots, "nas oneshot: no %s plot" % plot)
        for cand in report["history"]:
            if not cand["failed"]:
                c.value(dom, "candidates", cand["name"], cand["supernet_ne"])
                if cand["screened"]:
                    c.value(dom, "screen", cand["name"], cand["proxy_ne"])

    if c.failures:
        print("\n".join(c.failures[:40]))
        print("browser: %d of %d checks failed" % (len(c.failures), c.checked))
        return 1
    print("browser: %d pages (%s) rendered in %s, %d checks passed" %
          (len(pages), ", ".join(pages), browser, c.checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
