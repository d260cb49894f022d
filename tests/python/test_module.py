"""The Python module (src/python/module.cpp): jobs as dicts, YAML or presets; the --json dicts back;
errors as scaleplan.Error with the key. Run by CTest with PYTHONPATH at the built module and
SCALEPLAN_BIN at the command-line binary, whose --json output the module must match."""
import json
import os
import subprocess

import pytest

import scaleplan

EIGHT_B = {
    "model": "llama3-8b",
    "cluster": "dgx-h100-ib",
    "gpus": 8,
    "plan": {"tp": 2},
    "workload": {"seq_len": 8192, "global_batch": 64},
}


def cli_json(*args):
    binary = os.environ.get("SCALEPLAN_BIN")
    if not binary:
        pytest.skip("SCALEPLAN_BIN is not set (CTest sets it)")
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_default_plan_numbers():
    # tests/scenarios/default_json.yaml derives them: 405,853,388,800 parameters; dp = 16384 /
    # (8 * 16) = 128.
    r = scaleplan.plan()
    assert r["params_total"] == 405853388800
    assert r["plan"]["dp"] == 128
    assert r["memory"]["fits"] is True


def test_a_dict_and_yaml_text_are_the_same_job():
    # 8 GPUs at tp 2: dp = 8 / 2 = 4; 64 sequences of micro-batch 1 over 4 replicas: 16 each.
    from_dict = scaleplan.plan(EIGHT_B)
    yaml = ("model: llama3-8b\ncluster: dgx-h100-ib\ngpus: 8\nplan: {tp: 2}\n"
            "workload: {seq_len: 8192, global_batch: 64}\n")
    from_yaml = scaleplan.plan(yaml)
    assert from_dict["plan"]["dp"] == 4
    assert from_dict["plan"]["microbatches"] == 16
    assert from_dict == from_yaml


def test_simulate_returns_what_the_command_prints():
    assert scaleplan.simulate() == cli_json("simulate")
    r = scaleplan.simulate("llama3-405b-16k", engine="event", goodput={"detect_s": 60})
    assert r == cli_json("simulate", "--engine", "event", "--detect-s", "60")
    # detect 60 + restart 300 + reload 405,853,388,800 x 14 B / 2e12 B/s = 2.8409737216 s.
    assert r["goodput"]["restart_total_s"] == pytest.approx(60 + 300 + 2.8409737216)


def test_goodput_can_be_left_out():
    r = scaleplan.simulate(EIGHT_B, goodput={"failures": "none"})
    assert "goodput" not in r
    assert r["step_time_s"] > 0


def test_errors_carry_the_key():
    bad = dict(EIGHT_B, plan={"tp": 3})
    with pytest.raises(scaleplan.Error) as e:
        scaleplan.plan(bad)
    assert e.value.key == "plan.tp"
    assert "plan.tp = 3 does not divide model.heads = 32" in str(e.value)
    assert isinstance(e.value, ValueError)
    with pytest.raises(scaleplan.Error) as e:
        scaleplan.search(EIGHT_B, options={"optimizer": "annealing"})
    assert e.value.key == "search.optimizer"
    with pytest.raises(scaleplan.Error, match="job is a int"):
        scaleplan.plan(42)
    with pytest.raises(scaleplan.Error, match="is a bytes"):
        scaleplan.simulate(goodput={"failures": b"none"})
    with pytest.raises(scaleplan.Error, match="belongs to scaleplan.goodput"):
        scaleplan.simulate(goodput={"trials": 100})


def test_search_pins_restrict_the_space():
    job = dict(EIGHT_B, gpus=64, plan={}, workload={"seq_len": 8192, "global_batch": 512})
    r = scaleplan.search(job, pins={"tp": [1, 2]}, options={"top_k": 4})
    assert 1 <= len(r["plans"]) <= 4
    assert all(p["plan"]["tp"] in (1, 2) for p in r["plans"])
    # The top K are re-ranked by the event engine: its times come out in order.
    times = [p["event_step_time_s"] for p in r["plans"]]
    assert times == sorted(times) and times[0] > 0


def test_pack_takes_a_list_of_lengths():
    # 600 documents of 1,000, 2,000 and 30,000 tokens, 2 micro-batches of a 65,536 context: WLB
    # lets a micro-batch grow to s_max (1.5 x 65,536 = 98,304 by default), never beyond.
    r = scaleplan.pack(lengths=[1000, 2000, 30000] * 200, iterations=3,
                       packing={"context": 65536, "microbatches": 2})
    assert len(r["iterations"]) == 3
    assert r["summary"]["s_max_tokens"] == 98304
    assert all(0 < it["max_tokens_per_microbatch"] <= 98304 for it in r["iterations"])
    with pytest.raises(scaleplan.Error, match="-5"):
        scaleplan.pack(lengths=[1000, -5], packing={"context": 65536})
    # A key the chosen packer would not read is refused, as the command line refuses its flag.
    with pytest.raises(scaleplan.Error, match="packing.max_wait applies to the wlb packer") as e:
        scaleplan.pack(lengths=[1000] * 50, packer="greedy",
                       packing={"context": 65536, "max_wait": 4})
    assert e.value.key == "packer.max_wait"


def test_goodput_and_explore():
    r = scaleplan.goodput(options={"trials": 0, "sweep_gpus": [8192, 16384]})
    assert r["goodput"]["interruptions_per_day"] == pytest.approx(466 / 54)
    assert [p["gpus"] for p in r["sweep"]] == [8192, 16384]
    # 1e12 tokens in whole steps of 16,777,216: ceil(59,604.6) = 59,605 steps, 1,000,005,959,680
    # tokens; the steps take that over tokens/s/GPU x GPUs, the wall clock / E more.
    g = scaleplan.simulate(goodput={"train_tokens": 1e12})["goodput"]
    job = scaleplan.simulate()
    rate = job["tokens_per_s_per_gpu"] * 16384
    assert g["train_steps"] == 59605
    assert g["train_step_time_s"] == pytest.approx(1000005959680 / rate, rel=1e-9)
    assert g["train_time_s"] == pytest.approx(g["train_step_time_s"] / (g["effective_time_pct"] / 100))
    e = scaleplan.explore()
    assert e["joint"]["speedup"] >= 1.0


def test_values_json_cannot_carry_are_named_by_path():
    # Before, json.dumps's TypeError came through with its Python traceback ("At: .../json/
    # encoder.py"); now the value's path and type, and nothing of the traceback.
    with pytest.raises(scaleplan.Error) as e:
        scaleplan.plan(dict(EIGHT_B, plan={"tp": {1, 2}}))
    assert str(e.value) == ("job.plan.tp is a set (allowed: a dict, a list, a string, a number, "
                            "a boolean or None)")
    with pytest.raises(scaleplan.Error, match=r"lengths\[1\] is a bytes"):
        scaleplan.pack(lengths=[1000, b"2000"])
    with pytest.raises(scaleplan.Error, match="job.gpus = nan"):
        scaleplan.plan(dict(EIGHT_B, gpus=float("nan")))
    # json.dumps would have turned the key 1 into "1".
    with pytest.raises(scaleplan.Error, match="job.plan has a key of type int"):
        scaleplan.plan(dict(EIGHT_B, plan={1: 2}))
    # A lone surrogate was "job:1:180: malformed YAML: invalid unicode: 55296".
    with pytest.raises(scaleplan.Error, match="job.description is not a text string"):
        scaleplan.plan(dict(EIGHT_B, description="\ud800"))
    # A dict that holds itself: refused at the nesting bound, not a recursion without end.
    loop = {}
    loop["plan"] = loop
    with pytest.raises(scaleplan.Error, match="nests deeper than 64 levels"):
        scaleplan.plan(loop)


def test_unknown_and_huge_keys_are_named_briefly():
    with pytest.raises(scaleplan.Error) as e:
        scaleplan.plan(dict(EIGHT_B, gpuz=8))
    assert e.value.key == "job.gpuz"
    with pytest.raises(scaleplan.Error) as e:
        scaleplan.goodput(options={"trialz": 1})
    assert e.value.key == "goodput.trialz"
    # A key of a million bytes: named in 60 bytes, not echoed whole.
    with pytest.raises(scaleplan.Error) as e:
        scaleplan.goodput(options={"k" * 1000000: 1})
    assert len(str(e.value)) < 1000 and e.value.key.startswith("goodput.kkk")
    with pytest.raises(scaleplan.Error, match="has a key of 1000000 bytes"):
        scaleplan.plan(dict(EIGHT_B, **{"k" * 1000000: 1}))


def test_integers_beyond_64_bits_are_input_errors():
    # pybind11 answered 2**70 with "incompatible function arguments" (a TypeError).
    with pytest.raises(scaleplan.Error, match=r"count = 1180591620717411303424 is out of range"):
        scaleplan.pack(synthetic="lognormal", count=2**70)
    with pytest.raises(scaleplan.Error, match="pack.iterations is a str") as e:
        scaleplan.pack(iterations="3")
    assert e.value.key == "pack.iterations"


class Index:
    """An integer that is not an int, as numpy's are: it says so through __index__."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value


def test_index_integers_are_integers_and_strings_are_not_numbers():
    # numpy's integers (stood in for by Index: numpy is not installed here) were refused as
    # "a int64 (allowed: an integer)".
    r = scaleplan.pack(lengths=[Index(1000), 2000, Index(30000)] * 20, iterations=Index(2),
                       packing={"context": Index(65536), "microbatches": 2})
    assert len(r["iterations"]) == 2
    assert r["summary"]["s_max_tokens"] == 98304
    assert scaleplan.plan(dict(EIGHT_B, gpus=Index(8)))["plan"]["dp"] == 4
    with pytest.raises(scaleplan.Error, match="iterations is a bool"):
        scaleplan.pack(iterations=True)
    # A string that spells a number is text, as JSON has it: "8" was read as 8.
    with pytest.raises(scaleplan.Error) as e:
        scaleplan.plan(dict(EIGHT_B, plan={"tp": "2"}))
    assert e.value.key == "plan.tp"
    assert 'plan.tp = "2" is quoted text, not an integer' in str(e.value)
    with pytest.raises(scaleplan.Error, match='goodput.trials = "5" is quoted text'):
        scaleplan.goodput(options={"trials": "5"})


def test_pack_refuses_synthetic_settings_beside_lengths():
    # seed and count draw a synthetic corpus; with lengths they were silently ignored.
    with pytest.raises(scaleplan.Error, match="seed generates synthetic lengths; lengths are given"):
        scaleplan.pack(lengths=[1000] * 50, seed=3, packing={"context": 65536})
    with pytest.raises(scaleplan.Error, match="count generates synthetic lengths"):
        scaleplan.pack(lengths=[1000] * 50, count=50, packing={"context": 65536})
    # Without lengths they take the command line's defaults: the same corpus as `pack --json`.
    def packed(**kwargs):  # what the corpus decides (pack_time_s is a timing)
        r = scaleplan.pack(synthetic="lognormal", iterations=2, **kwargs)
        return [(it["documents"], it["padding_tokens"]) for it in r["iterations"]]

    assert packed() == packed(seed=1, count=50000)
    assert packed(seed=2) != packed()


def test_quoted_lists_and_ignored_settings_are_refused():
    # A list of counts or lengths with a str item is text, as a str is where a number is due.
    with pytest.raises(scaleplan.Error, match="is quoted text"):
        scaleplan.goodput(options={"sweep_gpus": [1024, "2048"], "trials": 0})
    with pytest.raises(scaleplan.Error, match="is quoted text"):
        scaleplan.pack(lengths=[1000] * 50, packing={"context": 65536, "thresholds": ["4096"]})
    # failures none leaves the goodput out: a goodput key beside it was ignored.
    with pytest.raises(scaleplan.Error, match="goodput.train_tokens sets the goodput") as e:
        scaleplan.simulate(goodput={"failures": "none", "train_tokens": 1e12})
    assert e.value.key == "goodput.train_tokens"
    # pack without documents picked a lognormal corpus; the command line refuses it.
    with pytest.raises(scaleplan.Error, match="pack needs its documents"):
        scaleplan.pack(iterations=2)


def test_scale_plans_each_count_as_the_command_does():
    # Llama 3 8B, 64 sequences of 8,192 tokens, TP 1 and PP 1 pinned: the rows are the command's
    # (scale --json), and 1e10 tokens take ceil(1e10 / 524,288) = 19,074 steps at every count.
    job = {"model": "llama3-8b", "cluster": "dgx-h100-ib",
           "workload": {"seq_len": 8192, "global_batch": 64}}
    r = scaleplan.scale(job, counts=[8, 64], pins={"tp": 1, "pp": 1},
                        goodput={"train_tokens": 1e10})
    assert [row["gpus"] for row in r["rows"]] == [8, 64]
    assert [row["goodput"]["train_steps"] for row in r["rows"]] == [19074, 19074]
    cli = cli_json("scale", "--model", "llama3-8b", "--cluster", "dgx-h100-ib", "--seq", "8192",
                   "--global-batch", "64", "--tp", "1", "--pp", "1", "--counts", "8,64",
                   "--train-tokens", "1e10")
    assert [row["description"] for row in r["rows"]] == [row["description"] for row in cli["rows"]]
    assert r["soonest_gpus"] == cli["soonest_gpus"]
    # A job's own GPU count, a quoted count, a Monte Carlo key: each would be ignored or misread.
    with pytest.raises(scaleplan.Error) as e:
        scaleplan.scale(dict(job, gpus=8), counts=[8])
    assert e.value.key == "job.gpus"
    with pytest.raises(scaleplan.Error, match="is quoted text") as e:
        scaleplan.scale(job, counts=[8, "64"])
    assert e.value.key == "scale.counts"
    with pytest.raises(scaleplan.Error, match="belongs to scaleplan.goodput") as e:
        scaleplan.scale(job, counts=[8], goodput={"trials": 5})
    assert e.value.key == "goodput.trials"
