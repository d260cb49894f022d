"""scripts/nas-table.py on reports written here (tests/CMakeLists.txt runs it with unittest)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "nas-table.py")


def report(seed, versus, baselines=None, method="dnas", data="synthetic:fresh", restarts=1):
    return {
        "method": method, "space": "scratch", "data": data,
        "options": {"nas": {"search_seed": seed, "restarts": restarts}},
        "baselines": [{"name": n, "ne": ne}
                      for n, ne in (baselines or {"dlrm-s": 0.90, "dcnv2-s": 0.89}).items()],
        "versus": [{"baseline": b, "beats": m is not None and m > 0, "significant": s,
                    "margin_ne": m, "model": "nas-1"} for b, m, s in versus],
    }


class NasTable(unittest.TestCase):
    def run_script(self, reports, *flags):
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for i, r in enumerate(reports):
                paths.append(os.path.join(d, f"r{i}.json"))
                with open(paths[-1], "w", encoding="utf-8") as f:
                    f.write(r if isinstance(r, str) else json.dumps(r))
            p = subprocess.run([sys.executable, SCRIPT, *paths, *flags], capture_output=True,
                               text=True, check=False)
            return p.returncode, p.stdout, p.stderr.replace(d + os.sep, "")

    def test_a_cells_runs_are_averaged(self):
        # Seed 2 beats both (one significantly), margins 0.002 and 0.001; seed 1 beats dlrm-s by
        # 0.001 and misses dcnv2-s by 0.002. Counts 1 (0) and 2 (1): mean 1.5 (0.5); the margins'
        # mean (0.002 + 0.001 + 0.001 - 0.002) / 4 = 0.0005; one run of two beats both;
        # dcnv2-s is missed in 1 of 2. The runs come in seed order whatever the files' order.
        rc, out, err = self.run_script([
            report(2, [("dlrm-s", 0.002, True), ("dcnv2-s", 0.001, False)]),
            report(1, [("dlrm-s", 0.001, False), ("dcnv2-s", -0.002, False)]),
        ])
        self.assertEqual(rc, 0, err)
        self.assertIn("| DNAS | scratch | synthetic:fresh | 1 (0) of 2 @1, 2 (1) of 2 @2 | "
                      "1.5 (0.5) | +0.0005 | 1 of 2 | dcnv2-s 1/2 |", out)

    def test_cells_are_kept_apart_and_a_missing_model_is_a_miss(self):
        # One-shot's run has no model under dlrm-s (margin null): missed, no margin; its mean
        # margin is dcnv2-s's alone, 0.004.
        rc, out, err = self.run_script([
            report(1, [("dlrm-s", 0.002, False), ("dcnv2-s", 0.001, False)]),
            report(1, [("dlrm-s", None, False), ("dcnv2-s", 0.004, True)], method="oneshot"),
        ])
        self.assertEqual(rc, 0, err)
        self.assertIn("| DNAS | scratch | synthetic:fresh | 2 (0) of 2 @1 | 2.0 (0.0) | +0.0015 | "
                      "1 of 1 | none |", out)
        self.assertIn("| one-shot | scratch | synthetic:fresh | 1 (1) of 2 @1 | 1.0 (1.0) | "
                      "+0.0040 | 0 of 1 | dlrm-s 1/1 |", out)

    def test_misses_within_the_seeds_noise_are_counted(self):
        # Three seeds, every sd 0.002: the noise is 2.776 x sqrt((0.002^2 + 0.002^2) / 3) =
        # 0.0045. Seed 1 (no verdicts: computed) misses dlrm-s by 0.003 (within) and dcnv2-s by
        # 0.006 (past it); seed 2 (verdicts given) misses dcnv2-s, its verdict within the noise.
        # 2 of the 3 misses are within; dcnv2-s missed in both runs, once within.
        def with_spread(r, verdicts=None):
            for b in r["baselines"]:
                b.update({"ne_sd": 0.002, "ne_per_seed": [b["ne"]] * 3})
            r["pareto"] = [{"name": "nas-1", "ne": 0.9, "ne_sd": 0.002, "ne_per_seed": [0.9] * 3}]
            for v, verdict in zip(r["versus"], verdicts or []):
                v["verdict"] = verdict
            return r
        rc, out, err = self.run_script([
            with_spread(report(1, [("dlrm-s", -0.003, False), ("dcnv2-s", -0.006, False)])),
            with_spread(report(2, [("dlrm-s", 0.001, False), ("dcnv2-s", -0.006, False)]),
                        ["beaten_within_noise", "missed_within_noise"]),
        ])
        self.assertEqual(rc, 0, err)
        self.assertIn("| 0 of 2 | dcnv2-s 2/2, dlrm-s 1/2 | 2 of 3 |", out)
        # A report without spreads or verdicts: unknown, '-'.
        rc, out, err = self.run_script([report(1, [("dlrm-s", -0.003, False)])])
        self.assertEqual(rc, 0, err)
        self.assertIn("| dlrm-s 1/1 | - |", out)

    def test_an_option_not_echoed_by_an_older_report_does_not_split_a_cell(self):
        # Seed 1's report predates "refine" (absent), seed 2's echoes it at 0: one cell. A third
        # run with refine 96 is a cell of its own, labelled by it. One seed's verdicts are
        # untested: its miss is not counted within the noise, nor the cell's column known.
        old = report(1, [("dlrm-s", 0.002, False)])
        new = report(2, [("dlrm-s", 0.001, False)])
        new["options"]["nas"]["refine"] = 0
        refined = report(1, [("dlrm-s", -0.001, False)])
        refined["options"]["nas"]["refine"] = 96
        refined["versus"][0]["verdict"] = "missed_untested"
        rc, out, err = self.run_script([old, new, refined])
        self.assertEqual(rc, 0, err)
        self.assertIn("| DNAS (refine 0) | scratch | synthetic:fresh | 1 (0) of 1 @1, 1 (0) of 1 @2 | "
                      "1.0 (0.0) |", out)
        self.assertIn("| DNAS (refine 96) | scratch | synthetic:fresh | 0 (0) of 1 @1 | ", out)
        self.assertIn("| dlrm-s 1/1 | - |", out)

    def test_runs_that_do_not_compare_are_refused(self):
        # dcnv2-s scored 0.89 in one run and 0.891 in the other: another build or other options.
        rc, out, err = self.run_script([
            report(1, [("dlrm-s", 0.002, False)]),
            report(2, [("dlrm-s", 0.002, False)], baselines={"dlrm-s": 0.90, "dcnv2-s": 0.891}),
        ])
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("r1.json: baseline dcnv2-s scored test NE 0.891000, r0.json 0.890000", err)
        self.assertNotIn("kernels", err)
        # Where the reports name their matrix kernels and they differ, the error says so.
        a = report(1, [("dlrm-s", 0.002, False)])
        b = report(2, [("dlrm-s", 0.002, False)], baselines={"dlrm-s": 0.90, "dcnv2-s": 0.891})
        a["blas"] = {"core": "Prescott"}
        b["blas"] = {"core": "SkylakeX"}
        rc, out, err = self.run_script([a, b])
        self.assertEqual(rc, 1)
        self.assertIn("0.890000 (they trained on OpenBLAS's SkylakeX and Prescott kernels)", err)

    def test_runs_with_other_search_options_make_a_cell_of_their_own(self):
        # Two restarts' run, seed 1, beside the single search's seeds 1 and 2: two cells, each
        # labelled by what sets it apart; the single search's margins (0.002 - 0.001) / 2 =
        # 0.0005. Seed 1 twice in one cell is refused.
        rc, out, err = self.run_script([
            report(1, [("dlrm-s", 0.002, False)]),
            report(2, [("dlrm-s", -0.001, False)]),
            report(1, [("dlrm-s", 0.003, True)], restarts=2),
        ])
        self.assertEqual(rc, 0, err)
        self.assertIn("| DNAS (restarts 1) | scratch | synthetic:fresh | 1 (0) of 1 @1, 0 (0) of 1 @2 | "
                      "0.5 (0.0) | +0.0005 | 1 of 2 | dlrm-s 1/2 |", out)
        self.assertIn("| DNAS (restarts 2) | scratch | synthetic:fresh | 1 (1) of 1 @1 | ", out)
        rc, out, err = self.run_script([report(1, [("dlrm-s", 0.002, False)]),
                                        report(1, [("dlrm-s", 0.002, False)])])
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("r1.json: search seed 1 again (r0.json has it)", err)

    def test_a_time_limit_that_stopped_nothing_does_not_split_a_cell(self):
        # Seeds 1 and 2 ran under limits of 900 s and none, neither stopped: one cell of 2 runs.
        # Seed 3 was stopped by its limit: a cell of its own, labelled so.
        runs = []
        for seed, limit, stopped in ((1, 900, False), (2, 0, False), (3, 900, True)):
            r = report(seed, [("dlrm-s", 0.002, False)])
            r["options"]["nas"]["time_limit_s"] = limit
            r["time_limited"] = stopped
            runs.append(r)
        rc, out, err = self.run_script(runs)
        self.assertEqual(rc, 0, err)
        self.assertIn("| DNAS (time limit not reached) | scratch | synthetic:fresh | 1 (0) of 1 @1, "
                      "1 (0) of 1 @2 |", out)
        self.assertIn("| DNAS (time limit stopped) | scratch | synthetic:fresh | 1 (0) of 1 @3 |",
                      out)

    def test_runners_up_are_judged_again(self):
        # A run with 2 runners-up a band. Baselines dlrm-s (100 FLOPs, NE 0.900) and dcnv2-s
        # (200, 0.890); models nas-1 (the front's, 90 FLOPs, valid 0.905, test 0.902), nas-2
        # (runner-up 1, 95, valid 0.903, test 0.897), nas-3 (runner-up 2, 150, valid 0.899, test
        # 0.891); every sd 0.001 over 3 seeds: noise 2.776 x sqrt(2e-6 / 3) = 0.0023.
        # --runners-up 0: nas-1 for both, margins -0.002 (within the noise) and -0.012 (past it):
        # 0 of 2, mean -0.0070, 1 of the 2 misses within the noise.
        # --runners-up 1: dlrm-s gets nas-2 (the lower valid NE), +0.003 past the noise; dcnv2-s
        # nas-2 too, -0.007: 1 (1) of 2, margins mean -0.0020. --runners-up 2 (the run's own): its
        # versus as given (dlrm-s beaten by nas-2, dcnv2-s missed by nas-3 by 0.001).
        def seeds(ne):
            return {"ne": ne, "ne_sd": 0.001, "ne_per_seed": [ne] * 3}
        def run(seed, runners_up, limited=False):
            r = report(seed, [("dlrm-s", 0.003, True), ("dcnv2-s", -0.001, False)])
            r["versus"][0]["model"], r["versus"][1]["model"] = "nas-2", "nas-3"
            r["options"]["nas"]["runners_up"] = runners_up
            r["time_limited"] = limited
            r["baselines"] = [dict(name="dlrm-s", flops=100, **seeds(0.900)),
                              dict(name="dcnv2-s", flops=200, **seeds(0.890))]
            r["pareto"] = [
                dict(name="nas-1", flops=90, valid_ne=0.905, runner_up=0, **seeds(0.902)),
                dict(name="nas-2", flops=95, valid_ne=0.903, runner_up=1, **seeds(0.897)),
                dict(name="nas-3", flops=150, valid_ne=0.899, runner_up=2, **seeds(0.891))]
            return r
        rc, out, err = self.run_script([run(1, 2)], "--runners-up", "0")
        self.assertEqual(rc, 0, err)
        self.assertIn("| DNAS | scratch | synthetic:fresh | 0 (0) of 2 @1 | 0.0 (0.0) | -0.0070 | "
                      "0 of 1 | dcnv2-s 1/1, dlrm-s 1/1 | 1 of 2 |", out)
        rc, out, err = self.run_script([run(1, 2)], "--runners-up", "1")
        self.assertEqual(rc, 0, err)
        self.assertIn("| 1 (1) of 2 @1 | 1.0 (1.0) | -0.0020 | 0 of 1 | dcnv2-s 1/1 | 0 of 1 |",
                      out)
        rc, out, err = self.run_script([run(1, 2)], "--runners-up", "2")
        self.assertEqual(rc, 0, err)
        self.assertIn("| 1 (1) of 2 @1 | 1.0 (1.0) | +0.0010 | 0 of 1 | dcnv2-s 1/1 | 1 of 1 |",
                      out)
        # Judged with none, the run shares a cell with a run made without runners-up.
        native = run(2, 0)  # its three models the front's own: its versus as given
        for m in native["pareto"]:
            m["runner_up"] = 0
        rc, out, err = self.run_script([run(1, 2), native], "--runners-up", "0")
        self.assertEqual(rc, 0, err)
        self.assertIn("| DNAS | scratch | synthetic:fresh | 0 (0) of 2 @1, 1 (1) of 2 @2 |", out)
        # Refused: a run the time limit stopped, and a K that is no count.
        rc, out, err = self.run_script([run(1, 2, limited=True)], "--runners-up", "1")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("r0.json: the time limit stopped the search", err)
        rc, out, err = self.run_script([run(1, 2)], "--runners-up", "-1")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("--runners-up '-1' (allowed: an integer 0 or more)", err)
        rc, out, err = self.run_script([run(1, 2)], "--runners-up", "\u00b2")
        self.assertEqual((rc, out), (2, ""))
        # A report whose verdicts its pareto[] does not give (another rule): refused, not judged.
        odd = run(1, 2)
        odd["versus"][1]["model"] = "nas-1"
        rc, out, err = self.run_script([odd], "--runners-up", "1")
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("r0.json: versus[1] judged again from pareto[] gives nas-3 (missed_within_noise), "
                      "the report nas-1", err)

    def test_a_file_that_is_no_report_is_named(self):
        rc, out, err = self.run_script(["[1, 2]"])
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("nas-table: r0.json: not a scaleplan nas --json report", err)
        rc, _, err = self.run_script(["{\"method\": "])
        self.assertEqual(rc, 1)
        self.assertIn("r0.json: not JSON", err)
        bad = report(1, [("dlrm-s", 0.002, False)])
        del bad["versus"][0]["beats"]
        rc, _, err = self.run_script([bad])
        self.assertEqual(rc, 1)
        self.assertIn("r0.json: versus[0] has no 'beats'", err)
        rc, _, err = self.run_script([report(1, [])])
        self.assertEqual(rc, 1)
        self.assertIn("r0.json: no baseline compared ('versus' is empty", err)
        rc, _, err = self.run_script([report(1, [("dlrm-s", 0.002, False)],
                                             baselines={"dlrm-s": None})])
        self.assertEqual(rc, 1)
        self.assertIn('r0.json: baselines[0] is {"name": "dlrm-s", "ne": null} (a name and a '
                      "numeric ne expected)", err)


if __name__ == "__main__":
    unittest.main()
