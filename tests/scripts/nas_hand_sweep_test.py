"""scripts/nas-hand-sweep.py with a stand-in for `scaleplan rec-train` (tests/CMakeLists.txt runs it)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "nas-hand-sweep.py")

# The stand-in: an architecture file's "fake" list is its test NE per seed (seed 1 first) and
# "fake_flops" its FLOPs; the baseline "base" scores 0.90, 0.91, 0.92 at 100 FLOPs; anything else
# fails as rec-train fails, exit 2.
FAKE = r'''
import json, sys
a = dict(zip(sys.argv[2::2], sys.argv[3::2]))
seed = int(a["--seed"])
if a["--arch"] == "base":
    ne, flops = [0.90, 0.91, 0.92][seed - 1], 100
elif a["--arch"].endswith(".json"):
    m = json.load(open(a["--arch"]))
    ne, flops = m["fake"][seed - 1], m["fake_flops"]
else:
    print("error: --arch " + a["--arch"] + ": no such baseline", file=sys.stderr)
    sys.exit(2)
print(json.dumps({"cost": {"flops": flops}, "test": {"ne": ne}}))
'''


class NasHandSweep(unittest.TestCase):
    def run_script(self, models, *flags):
        with tempfile.TemporaryDirectory() as d:
            fake = os.path.join(d, "scaleplan")
            with open(fake, "w", encoding="utf-8") as f:
                f.write(f"#!{sys.executable}\n{FAKE}")
            os.chmod(fake, 0o755)
            path = os.path.join(d, "models.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(models if isinstance(models, str) else json.dumps({"models": models}))
            p = subprocess.run([sys.executable, SCRIPT, path, "--scaleplan", fake, "--seeds",
                                "1-3", *flags], capture_output=True, text=True, check=False)
            return p.returncode, p.stdout, p.stderr.replace(d + os.sep, "")

    def test_models_are_ranked_with_paired_differences_to_the_first(self):
        # a against base per seed: -0.001, -0.005, +0.001: mean -0.0017; deviations 0.00067,
        # -0.00333, 0.00267, variance 1.8667e-5 / 2, sd 0.003055, se 0.001764, t -0.94. b is
        # 0.01 above base at every seed: sd 0, no t. Means 0.9083, 0.9100, 0.9200 in that order.
        rc, out, err = self.run_script([
            "base",
            {"name": "b", "fake": [0.91, 0.92, 0.93], "fake_flops": 70},
            {"name": "a", "fake": [0.899, 0.905, 0.921], "fake_flops": 50},
        ])
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "| model | FLOPs | test NE, seeds 1-3 | mean | "
                                   "paired difference to base | t |")
        self.assertEqual(lines[2:], [
            "| a | 50 | 0.8990, 0.9050, 0.9210 | 0.9083 | -0.0017 | -0.9 |",
            "| base | 100 | 0.9000, 0.9100, 0.9200 | 0.9100 |  |  |",
            "| b | 70 | 0.9100, 0.9200, 0.9300 | 0.9200 | +0.0100 |  |",
        ])

    def test_a_training_that_fails_is_named(self):
        rc, out, err = self.run_script(["base", "nope"])
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("--arch nope --seed", err)
        self.assertIn("exit 2: error: --arch nope: no such baseline", err)

    def test_bad_input_is_refused_by_name(self):
        for models, flags, message in [
            (["base", "base"], [], "model name 'base' given twice"),
            ("[1, 2]", [], "a non-empty list 'models' expected"),
            ("{\"models\": [", [], "not JSON"),
            ([{"blocks": []}], [], "models[0] is {\"blocks\": []} (an architecture with a name"),
            (["base"], ["--seeds", "3-x"], "--seeds '3-x': A or A-B expected"),
            (["base"], ["--jobs", "0"], "--jobs '0': an integer from 1 to 64 expected"),
            (["base"], ["--bogus"], "unknown option --bogus"),
        ]:
            rc, out, err = self.run_script(models, *flags)
            self.assertEqual(rc, 1, message)
            self.assertEqual(out, "")
            self.assertIn(message, err)


if __name__ == "__main__":
    unittest.main()
