"""--hparam overrides, the wall-clock stop, phase reports and what fit derives: parsing, scoping, identity,
records and leaderboard rows (docs: README "Commands")."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT

from benchmark.cli import main
from benchmark.errors import ConfigError
from benchmark.hparams import (
    json_safe,
    overrides_for,
    parse_item,
    parse_overrides,
    parse_value,
    record_variant,
    render_overrides,
    variant_name,
)
from benchmark.registry import load_plugin_file
from benchmark.run.config import Job, LoadOptions, RunConfig
from benchmark.run.jobs import Messages, generate
from benchmark.run.runner import is_done, make_job, run
from benchmark.store import iter_records, load_record, read_record, record_path, safe_name, schema_problem

STEPPER = str(ROOT / "tests" / "plugins" / "stepper.py")
LIGHT = ("precision_recall", "exact_match", "tstr_lr")


class Wgan:
    name = "wgan-gp"
    budgets = {"default": {"steps": 4000, "lr": 1e-4, "widths": (128, 256), "ema": True, "ppi": "",
                           "norm": None}}


class Vae:
    name = "vae"
    budgets = {"default": {"steps": 2000, "beta": 1.0}}


class Plain:
    name = "plain"
    budgets = {"default": {}}


SELECTED = {"wgan-gp": Wgan, "vae": Vae, "plain": Plain}


def resolve(*items: str, generators=None) -> dict:
    return overrides_for(items, SELECTED if generators is None else generators, "default")


# --------------------------------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize(("text", "expected"), [
    ("8000", 8000), ("1e-3", 0.001), ("(128,256)", (128, 256)), ("128,256", (128, 256)), ("None", None),
    ("True", True), ("path/to/file.tsv", "path/to/file.tsv"), ("'quoted'", "quoted"), ("  7 ", 7),
    ("[1, 2]", [1, 2]), ("a=b", "a=b"), ("", ""),
])
def test_values_are_python_literals_or_the_text_itself(text, expected):
    value = parse_value(text)
    assert value == expected and type(value) is type(expected)


def test_items_split_on_the_first_equals_sign_and_the_last_dot_of_the_key():
    def parts(item):
        parsed = parse_item(item)
        return parsed.scope, parsed.key, parsed.value

    assert parts("steps=100") == (None, "steps", 100)
    assert parts("wgan-gp.steps=100") == ("wgan-gp", "steps", 100)
    assert parts("my.gen.lr=1e-4") == ("my.gen", "lr", 1e-4)
    assert parts("ppi=a=b.tsv") == (None, "ppi", "a=b.tsv")


@pytest.mark.parametrize("item", ["steps", "=5", ".steps=5", "wgan-gp.=5", " =1"])
def test_malformed_items_are_config_errors(item):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_item(item)


def test_the_same_key_twice_with_different_values_is_an_error_the_same_value_is_not():
    with pytest.raises(ConfigError, match="steps=200: --hparam steps=100 already sets this key"):
        parse_overrides(["steps=100", "steps=200"])
    with pytest.raises(ConfigError, match="already sets"):
        parse_overrides(["lr=1", "lr=1.0"])  # an int and a float are different settings
    assert len(parse_overrides(["steps=100", "steps=100", "vae.steps=5"])) == 3


# --------------------------------------------------------------------------------------------------
# Validation against the budget defaults


def test_values_are_checked_and_normalised_against_the_budget_defaults():
    got = resolve("wgan-gp.steps=8000", "wgan-gp.lr=1", "wgan-gp.widths=64", "wgan-gp.ema=False",
                  "wgan-gp.ppi=path/to/file.tsv", "wgan-gp.norm=(1, 'x')")["wgan-gp"]
    assert got == {"steps": 8000, "lr": 1.0, "widths": (64,), "ema": False, "ppi": "path/to/file.tsv",
                   "norm": (1, "x")}
    assert type(got["lr"]) is float and type(got["widths"]) is tuple
    assert resolve("wgan-gp.widths=128,256")["wgan-gp"]["widths"] == (128, 256)
    assert resolve("wgan-gp.widths=[32, 64, 128]")["wgan-gp"]["widths"] == (32, 64, 128)
    assert resolve("wgan-gp.ema=true")["wgan-gp"]["ema"] is True
    assert resolve("wgan-gp.ppi=1234")["wgan-gp"]["ppi"] == "1234"  # a string setting keeps the text
    assert resolve("wgan-gp.norm=None")["wgan-gp"]["norm"] is None


@pytest.mark.parametrize(("item", "message"), [
    ("wgan-gp.steps=8000.0", r"wgan-gp.steps must be an integer, got the float 8000.0: an integral float is not "
                             r"an integer, write 8000 \(budget default: 4000\)"),
    ("wgan-gp.steps=1e3", "an integral float is not an integer, write 1000"),
    ("wgan-gp.steps=12.5", "must be an integer, got the float 12.5"),
    ("wgan-gp.steps=True", "must be an integer, got the bool True"),
    ("wgan-gp.steps=many", "must be an integer, got the str 'many'"),
    ("wgan-gp.lr=fast", "wgan-gp.lr must be a number, got the str 'fast'"),
    ("wgan-gp.lr=False", "must be a number, got the bool False"),
    ("wgan-gp.ema=1", "wgan-gp.ema must be True or False, got the int 1"),
    ("wgan-gp.ema=yes", "must be True or False, got the str 'yes'"),
    ("wgan-gp.widths=64.5", r"wgan-gp.widths takes a tuple \(one value is a 1-tuple\) of elements that must be an "
                            r"integer, got the float 64.5 \(budget default: \(128,256\)\)"),
    ("wgan-gp.widths=(64,2.0)", "elements that must be an integer, got the float 2.0: an integral float"),
    ("wgan-gp.widths=(64,big)", r"elements that must be an integer, got the str '\(64,big\)'"),
    ("wgan-gp.ppi=(1,2)", None),  # a string setting takes the text as typed: no error
])
def test_type_errors_name_the_item_the_generator_and_the_default(item, message):
    if message is None:
        assert resolve(item)["wgan-gp"]["ppi"] == "(1,2)"
        return
    with pytest.raises(ConfigError, match=message) as caught:
        resolve(item)
    assert str(caught.value).startswith(f"--hparam {item}: ")


def test_unknown_keys_and_unselected_generators_are_errors_naming_the_known_keys():
    with pytest.raises(ConfigError, match=r"--hparam stepz=1: no selected generator has the hyperparameter 'stepz' "
                                          r"at budget 'default' \(known: wgan-gp: ema, lr, norm, ppi, steps, "
                                          r"widths; vae: beta, steps; plain: none\)"):
        resolve("stepz=1")
    with pytest.raises(ConfigError, match=r"--hparam vae.lr=1: generator 'vae' has no hyperparameter 'lr' at budget "
                                          r"'default'; known: beta, steps"):
        resolve("vae.lr=1")
    with pytest.raises(ConfigError, match=r"--hparam tvae.steps=1: generator 'tvae' is not selected \(selected: "
                                          r"wgan-gp, vae, plain\)"):
        resolve("tvae.steps=1")
    with pytest.raises(ConfigError, match="no selected generator has the hyperparameter 'beta'"):
        resolve("beta=0.5", generators={"wgan-gp": Wgan})


def test_an_unscoped_key_applies_to_every_generator_that_has_it_a_scoped_one_wins():
    got = resolve("steps=100", "lr=1e-3")
    assert got == {"wgan-gp": {"steps": 100, "lr": 1e-3}, "vae": {"steps": 100}, "plain": {}}
    got = resolve("vae.steps=7", "steps=100")  # the generator's own value wins, whatever the order
    assert got["vae"] == {"steps": 7} and got["wgan-gp"] == {"steps": 100}
    assert resolve("beta=2") == {"wgan-gp": {}, "vae": {"beta": 2.0}, "plain": {}}
    assert resolve() == {"wgan-gp": {}, "vae": {}, "plain": {}}


def test_run_checks_hparams_before_loading_the_data(tmp_path):
    """A typo fails at once: the dataset (a file that does not exist) is never read."""
    config = RunConfig(dataset=str(tmp_path / "absent.csv"), generators="gaussian,marginals", seeds=1,
                       results_dir=tmp_path, progress=False, hparams=("shrinkag=auto",))
    with pytest.raises(ConfigError, match=r"'shrinkag' at budget 'default' \(known: gaussian: extra_noise, "
                                          r"shrinkage; marginals: none\)"):
        run(config)
    with pytest.raises(ConfigError, match="generator 'uniform' is not selected"):
        run(dataclasses.replace(config, hparams=("uniform.extra_noise=1",)))
    with pytest.raises(ConfigError, match="gaussian.extra_noise must be a number"):
        run(dataclasses.replace(config, generators="all", hparams=("extra_noise=lots",)))
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------------
# Identity, labels and record paths


def test_variant_labels_are_canonical():
    assert variant_name("wgan-gp", {"steps": 8000}) == "wgan-gp [steps=8000]"
    assert variant_name("wgan-gp", {}) == variant_name("wgan-gp", None) == "wgan-gp"
    a = variant_name("wgan-gp", {"steps": 8000, "lr": 1e-3, "widths": (128, 256), "ppi": "a/b.tsv", "norm": None})
    b = variant_name("wgan-gp", {"widths": [128, 256], "norm": None, "ppi": "a/b.tsv", "lr": 0.001, "steps": 8000})
    assert a == b == "wgan-gp [lr=0.001, norm=None, ppi=a/b.tsv, steps=8000, widths=(128,256)]"
    assert render_overrides({"widths": (64,)}) == "widths=(64,)"
    assert render_overrides({"tag": "True"}) == "tag='True'"  # a string that would read back as a bool
    # what a record holds after JSON (tuples as lists) gives the same label as the job
    record = json.loads(json.dumps({"generator": {"name": "wgan-gp", "overrides": {"widths": (128, 256)}}}))
    assert record_variant(record) == "wgan-gp [widths=(128,256)]"
    assert record_variant({"generator": {"name": "gaussian"}}) == "gaussian"  # records made before overrides


def fake_data(folder: str = "toy") -> SimpleNamespace:
    return SimpleNamespace(split=SimpleNamespace(split_hash="s" * 64), protocol="standard",
                           view=SimpleNamespace(info=None), metrics=None, knn_k=(3, 5), folder=folder,
                           code_for=lambda name: {"generator": "g", "metrics": "m"})


def test_overrides_change_the_identity_and_the_record_path(tmp_path):
    config = RunConfig(generators="gaussian", results_dir=tmp_path, budget="default", timeout_s=100)
    data = fake_data()
    plain = make_job(config, data, "gaussian", 0)
    assert plain == make_job(config, data, "gaussian", 0, {})
    assert plain.path == tmp_path / "toy" / "gaussian" / "seed-0.json" and plain.overrides == {}
    assert plain.hparams == {"shrinkage": "auto", "extra_noise": 0.0} and plain.time_limit_s == 100
    noisy = make_job(config, data, "gaussian", 0, {"extra_noise": 0.5})
    noisier = make_job(config, data, "gaussian", 0, {"extra_noise": 1.0})
    default = make_job(config, data, "gaussian", 0, {"extra_noise": 0.0})  # explicit, equal to the default
    hashes = {job.config_hash for job in (plain, noisy, noisier, default)}
    paths = {job.path for job in (plain, noisy, noisier, default)}
    assert len(hashes) == 4 and len(paths) == 4
    assert noisy.hparams == {"shrinkage": "auto", "extra_noise": 0.5}
    assert noisy.label == "gaussian [extra_noise=0.5]/seed-0"
    assert noisy.path == record_path(tmp_path, "toy", "gaussian [extra_noise=0.5]", 0)
    assert noisy.path.parent.name == safe_name("gaussian [extra_noise=0.5]")
    assert noisy.path.parent.name.startswith("gaussian__extra_noise_0.5-")
    assert make_job(dataclasses.replace(config, timeout_s=None, budget="paper"), data, "gaussian", 0).time_limit_s \
        is None


# --------------------------------------------------------------------------------------------------
# Phase reports


class Pipe:
    def __init__(self):
        self.sent = []
        self.lock = threading.Lock()

    def __call__(self, message):
        with self.lock:
            self.sent.append((time.monotonic(), message))

    @property
    def phases(self):
        return [m[1] for _, m in self.sent if m[0] == "phase"]


def test_phase_reports_are_throttled_and_the_last_one_always_arrives():
    pipe = Pipe()
    report = Messages(pipe, interval=0.1)
    start = time.monotonic()
    for i in range(20000):
        report(f"fit {i + 1:,}/20,000 steps")
    elapsed = time.monotonic() - start
    time.sleep(0.25)
    assert pipe.phases[0] == "fit 1/20,000 steps"
    assert pipe.phases[-1] == "fit 20,000/20,000 steps"  # sent by the timer after the loop ended
    assert len(pipe.phases) <= elapsed / 0.1 + 3
    gaps = [b[0] - a[0] for a, b in zip(pipe.sent, pipe.sent[1:], strict=False)]
    assert all(gap >= 0.09 for gap in gaps)
    report.phase("sample")  # a harness phase goes out at once
    report(" x " * 200)  # long text is cut, and nothing is sent after close
    report.close()
    time.sleep(0.15)
    assert pipe.phases[-1] == "sample"


def test_a_report_that_cannot_be_sent_does_not_break_the_fit():
    def broken(message):
        raise BrokenPipeError("runner gone")

    report = Messages(broken, interval=0.0)
    report("fit 1/2 steps")
    report.send(("fitted", {}, {}))


# --------------------------------------------------------------------------------------------------
# One job, in this process


@pytest.fixture(scope="module")
def prepared(blob_csv, tmp_path_factory):
    from benchmark.run.prepared import prepare

    load_plugin_file(STEPPER)
    config = RunConfig(dataset=str(blob_csv), generators="stepper", seeds=1, progress=False, metrics=LIGHT,
                       results_dir=tmp_path_factory.mktemp("prepared"), load=LoadOptions(label_column="tissue"))
    [data] = prepare(config)
    return config, data


def job_for(prepared, overrides, time_limit=None):
    config, data = prepared
    overrides = overrides_for([f"{k}={v}" for k, v in overrides.items()], {"stepper": type_of("stepper")},
                              "default")["stepper"]
    job = make_job(config, data, "stepper", 0, overrides)
    return dataclasses.replace(job, time_limit_s=time_limit)


def type_of(name):
    from benchmark.registry import get_generator

    return get_generator(name)


def test_generate_passes_overrides_and_keeps_what_fit_derived(prepared):
    pipe = Pipe()
    job = job_for(prepared, {"steps": 3000, "noise": 0.1})
    kind, rows, compute, derived = generate(job, prepared[1], Messages(pipe))
    assert kind == "output" and rows.shape == (len(prepared[1].train_labels), 8)
    assert derived == {"graph_nodes": 8, "graph_edges": derived["graph_edges"], "graph_seed": 0}
    assert type(derived["graph_seed"]) is int
    assert compute["training"] == {"steps_planned": 3000, "steps_done": 3000, "stopped_early": False,
                                   "final_losses": {"g": 0.25}}
    assert "time_limit_s" not in compute
    [fitted] = [m for _, m in pipe.sent if m[0] == "fitted"]
    assert fitted[1]["training"]["steps_done"] == 3000 and fitted[2] == derived
    assert pipe.phases[0] == "fit" and pipe.phases[-1] == "sample"
    assert len(pipe.phases) < 50  # 3,000 reports, throttled
    record = prepared[1].failure_record(job, "failed", "x", compute, derived)  # the same blocks as an ok record
    assert record["generator"]["hparams"] == {"steps": 3000, "step_s": 0.0, "noise": 0.1, "widths": (8, 4),
                                              "fail": "", "ppi": None, **derived}
    assert record["generator"]["overrides"] == {"steps": 3000, "noise": 0.1}


def test_generate_stops_the_fit_at_80_percent_of_the_time_limit(prepared):
    job = job_for(prepared, {"steps": 100000, "step_s": 0.01}, time_limit=1.0)
    start = time.monotonic()
    kind, _, compute, _ = generate(job, prepared[1], Messages(Pipe()), started=start)
    assert kind == "output"
    assert 0.8 <= compute["fit_s"] < 1.0 and time.monotonic() - start < 1.0
    training = compute["training"]
    assert training["stopped_early"] is True and 1 < training["steps_done"] < 100
    assert compute["time_limit_s"] == 1.0


@pytest.mark.parametrize("phase", ["fit", "sample"])
def test_failure_records_keep_what_fit_derived(prepared, phase):
    job = job_for(prepared, {"fail": phase})
    kind, record = generate(job, prepared[1], Messages(Pipe()))
    assert kind == "record" and record["error"].startswith(f"{phase}: RuntimeError: deliberate failure in {phase}")
    assert record["generator"]["hparams"]["graph_nodes"] == 8
    assert ("training" in record["compute"]) is (phase == "sample")
    assert schema_problem({"schema": 1, **record}) is None


# --------------------------------------------------------------------------------------------------
# Records


def test_the_schema_accepts_the_new_fields_and_checks_their_types():
    from test_leaderboard import make_record

    record = make_record("gaussian", 0)
    assert schema_problem(record) is None  # no overrides, no training: as the committed records
    record["generator"]["overrides"] = {"steps": 10}
    record["compute"] = {"training": {"steps_planned": 10, "steps_done": 4, "stopped_early": True, "loss": [1]},
                         "time_limit_s": 60}
    assert schema_problem(record) is None
    record["compute"]["training"]["stopped_early"] = "yes"
    assert schema_problem(record) == "'compute.training.stopped_early' must be true or false, got str \"yes\""
    record["compute"]["training"] = [1]
    assert "'compute.training' must be an object" in schema_problem(record)
    record["compute"] = {}
    record["generator"]["overrides"] = "steps=10"
    assert "'generator.overrides' must be an object" in schema_problem(record)


def test_a_bad_training_block_is_kept_out_of_the_record_not_the_record_lost():
    from benchmark.run.jobs import fit_results

    compute = {}
    model = SimpleNamespace(training={"stopped_early": "maybe"}, derived_hparams={"n": np.arange(2), "x": {1: 2.5}})
    assert fit_results(model, compute) == {"n": [0, 1], "x": {"1": 2.5}}
    assert "training" not in compute and "stopped_early" in compute["training_error"]
    assert json_safe({"a": (float("nan"), np.float32(1.5)), "b": object}) == {"a": [None, 1.5], "b": str(object)}


# --------------------------------------------------------------------------------------------------
# End to end: the command line, records, leaderboard rows


def test_cli_run_with_overrides_a_time_limit_and_a_plain_run_give_separate_rows(blob_csv, tmp_path, capsys):
    results, out = tmp_path / "results", tmp_path / "boards"
    common = ["run", "--dataset", str(blob_csv), "--label-column", "tissue", "--seeds", "1", "--results",
              str(results), "--no-progress", "--plugin", STEPPER, "--metrics", ",".join(LIGHT)]
    # a typo fails before anything runs
    assert main([*common, "--generators", "stepper", "--hparam", "stepz=1"]) == 2
    assert "'stepz'" in capsys.readouterr().err and not results.exists()

    # the stepper trains 100,000 steps of 10 ms under an 8 s limit: it stops at 6.4 s, the job ends ok
    assert main([*common, "--generators", "stepper,marginals", "--hparam", "steps=100000",
                 "--hparam", "stepper.step_s=0.01", "--timeout", "8"]) == 0
    printed = capsys.readouterr().out
    assert "2 jobs ok" in printed
    [folder] = [p for p in results.iterdir() if p.name.startswith("blobs.csv-")]
    variant_path = record_path(results, folder.name, "stepper [step_s=0.01, steps=100000]", 0)
    record = load_record(variant_path)
    assert record["status"] == "ok"
    assert record["generator"]["name"] == "stepper"
    assert record["generator"]["overrides"] == {"steps": 100000, "step_s": 0.01}
    hparams = record["generator"]["hparams"]
    assert hparams["steps"] == 100000 and hparams["step_s"] == 0.01 and hparams["widths"] == [8, 4]
    assert hparams["graph_nodes"] == 8 and hparams["graph_seed"] == 0 and "graph_edges" in hparams
    training = record["compute"]["training"]
    assert training["stopped_early"] is True and 0 < training["steps_done"] < 100000
    assert training["steps_planned"] == 100000 and record["compute"]["time_limit_s"] == 8
    assert record["compute"]["fit_s"] < 6.5
    assert read_record(folder / "marginals" / "seed-0.json")["generator"]["overrides"] == {}

    # the plain stepper: its own record next to the variant's, nothing overwritten
    assert main([*common, "--generators", "stepper"]) == 0
    capsys.readouterr()
    plain = load_record(folder / "stepper" / "seed-0.json")
    assert plain["generator"]["overrides"] == {} and plain["compute"]["training"]["stopped_early"] is False
    assert plain["config_hash"] != record["config_hash"]
    assert load_record(variant_path) == record

    # the same run again skips the stopped job (same limit); a longer limit redoes it
    job = Job(generator="stepper", seed=0, budget="default", device="auto", hparams={},
              config_hash=record["config_hash"], path=variant_path, time_limit_s=8)
    assert is_done(job)
    assert not is_done(dataclasses.replace(job, time_limit_s=60))
    assert not is_done(dataclasses.replace(job, time_limit_s=None))

    assert main(["publish", "--results", str(results), "--out", str(out)]) == 0
    board = (out / f"{folder.name}.md").read_text(encoding="utf-8")
    assert "| stepper \\[step_s=0.01, steps=100000\\]‡ " in board
    assert "| stepper " in board.replace("| stepper \\[", "")
    steps = f"{training['steps_done']:,}"
    assert (f"‡ stepper \\[step_s=0.01, steps=100000\\]: stopped at the wall-clock limit after {steps} of "
            "100,000 steps in seed 0 (a truncated fit, not the budget's result).") in board


def test_a_job_killed_after_fit_keeps_what_fit_derived(blob_csv, tmp_path):
    load_plugin_file(STEPPER)
    summary = run(RunConfig(dataset=str(blob_csv), generators="stepper", seeds=1, results_dir=tmp_path, timeout_s=3,
                            progress=False, metrics=LIGHT, load=LoadOptions(label_column="tissue"),
                            hparams=("fail=hang",)))
    [label] = summary.failed
    assert label.endswith("/stepper [fail=hang]/seed-0")
    [record] = [r for r in iter_records(tmp_path)]
    assert record["status"] == "timeout" and "in phase 'sample'" in record["error"]
    assert record["generator"]["hparams"]["graph_nodes"] == 8 and record["generator"]["overrides"] == {"fail": "hang"}
    assert record["compute"]["training"]["steps_done"] == 50 and record["compute"]["time_limit_s"] == 3


def test_check_generator_takes_hparams(capsys):
    from benchmark.conformance import check_generator

    load_plugin_file(STEPPER)
    report = check_generator("stepper", hparams={"steps": 5, "noise": 0.2})
    assert report.passed and report.generator == "stepper [noise=0.2, steps=5]"
    with pytest.raises(ConfigError, match="stepper.steps must be an integer"):
        check_generator("stepper", hparams={"steps": 5.0})
    assert main(["check-generator", "stepper", "--plugin", STEPPER, "--hparam", "steps=5",
                 "--hparam", "stepper.noise=0.2"]) == 0
    assert "stepper [noise=0.2, steps=5]: PASSED" in capsys.readouterr().out
    assert main(["check-generator", "stepper", "--plugin", STEPPER, "--hparam", "lr=1"]) == 2
    assert "no selected generator has the hyperparameter 'lr'" in capsys.readouterr().err


def test_a_mode_setting_takes_true_or_false():
    from benchmark.hparams import overrides_for
    from benchmark.registry import get_generator

    resolved = overrides_for(["shrinkage=True"], {"gaussian": get_generator("gaussian")}, "default")
    assert resolved == {"gaussian": {"shrinkage": True}}
    assert overrides_for(["shrinkage=auto"], {"gaussian": get_generator("gaussian")}, "default")["gaussian"] == {
        "shrinkage": "auto"}
