"""Fit and sample a synthcity plugin under the benchmark's external-generator protocol (docs/external.md).

It runs with the interpreter of a synthcity environment, not the benchmark's, so it imports only the standard
library, numpy, pandas and synthcity::

    python synthcity_runner.py fit PLUGIN TRAIN.npz META.json MODEL_DIR
    python synthcity_runner.py sample PLUGIN META.json MODEL_DIR LABELS.npz OUTPUT.npz

``fit`` trains the plugin on the feature columns plus a label column (the target column, label codes) and passes
the labels as synthcity's training condition ``cond`` too; plugins that refuse a condition (arf, goggle, great,
aim; ddpm, which conditions on the target column itself) are fitted without it. ``sample`` generates each
requested label separately: with ``cond`` when the plugin was fitted with one, and always with the constraint
``label == code``, which synthcity enforces by rejection, so every row has the label it was asked for.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    del sys.path[0]  # this script's folder is a package of the benchmark: never import its modules from here

import numpy as np
import pandas as pd

MODEL_FILE = "synthcity-plugin.bkp"
RUNNER_FILE = "runner.json"


def log(text: str) -> None:
    """A progress line: the harness shows the last one as the job's phase."""
    print(text, file=sys.stderr, flush=True)


def label_column(features: list[str]) -> str:
    """``label``, or ``label_``… when a feature already has that name."""
    name = "label"
    while name in features:
        name += "_"
    return name


def plugin_options(meta: dict[str, Any]) -> dict[str, Any]:
    """The plugin's keyword arguments: ``plugin_kwargs`` (--hparam), the job's device, and its seed."""
    options = (meta.get("hparams") or {}).get("plugin_kwargs") or {}
    if not isinstance(options, dict):
        raise SystemExit(f"plugin_kwargs must be a dict of the plugin's keyword arguments, got {options!r}")
    device = {"cpu": "cpu", "cuda": "cuda"}.get(meta.get("device"))
    return {**({"device": device} if device else {}), **options, "random_state": int(meta["seed"])}


def new_plugin(name: str, meta: dict[str, Any]) -> Any:
    from synthcity.plugins import Plugins

    return Plugins().get(name, **plugin_options(meta))


def fit(args: argparse.Namespace) -> None:
    from synthcity.plugins.core.dataloader import GenericDataLoader
    from synthcity.utils.serialization import save_to_file

    meta = json.loads(Path(args.meta).read_text(encoding="utf-8"))
    features = [str(name) for name in meta["feature_names"]]
    with np.load(args.train, allow_pickle=False) as train:
        frame = pd.DataFrame(train["X"], columns=features)
        labels = pd.Series(train["y"], name=label_column(features))
    frame[labels.name] = labels
    log(f"fitting synthcity {args.plugin} on {len(frame)} rows x {len(features)} features")
    plugin = new_plugin(args.plugin, meta)
    loader = GenericDataLoader(frame, target_column=labels.name)
    try:
        plugin.fit(loader, cond=labels)
    except (NotImplementedError, ValueError) as exc:
        if "cond" not in str(exc):
            raise
        log(f"{args.plugin} takes no training condition ({exc}); fitting it without one")
        plugin = new_plugin(args.plugin, meta)
        plugin.fit(loader)
    save_to_file(Path(args.model) / MODEL_FILE, plugin)
    (Path(args.model) / RUNNER_FILE).write_text(json.dumps({"label_column": labels.name}), encoding="utf-8")
    log(f"fitted synthcity {args.plugin}")


def sample(args: argparse.Namespace) -> None:
    from synthcity.utils.serialization import load_from_file

    meta = json.loads(Path(args.meta).read_text(encoding="utf-8"))
    features = [str(name) for name in meta["feature_names"]]
    target = json.loads((Path(args.model) / RUNNER_FILE).read_text(encoding="utf-8"))["label_column"]
    plugin = load_from_file(Path(args.model) / MODEL_FILE)
    with np.load(args.labels, allow_pickle=False) as request:
        y = request["y"]
    parts = {}
    for code in np.unique(y):
        count = int((y == code).sum())
        log(f"generating {count} rows of label {meta['class_names'][code]!r}")
        seed = int(np.random.SeedSequence([int(meta["seed"]), int(code)]).generate_state(1)[0])
        parts[int(code)] = generate_label(plugin, int(code), count, features, target, seed)
    rows = np.empty((len(y), len(features)), dtype=np.result_type(*[part.dtype for part in parts.values()]))
    for code, part in parts.items():
        rows[y == code] = part
    np.savez(args.output, X=rows)
    info = {"n_params": n_params(plugin), "device": str(getattr(plugin, "device", "cpu"))}
    (Path(args.output).parent / "info.json").write_text(json.dumps(info), encoding="utf-8")


def generate_label(plugin: Any, code: int, count: int, features: list[str], target: str, seed: int) -> np.ndarray:
    """``count`` rows whose generated label is ``code``: conditioned on it when the plugin was fitted with a
    condition, and filtered to it by synthcity's constraint (rejection sampling) in any case."""
    from synthcity.plugins.core.constraints import Constraints

    condition = {"cond": np.full(count, code)} if getattr(plugin, "expecting_conditional", False) else {}
    frame = plugin.generate(count=count, constraints=Constraints(rules=[(target, "==", code)]), random_state=seed,
                            **condition).dataframe()
    if len(frame) < count:
        raise SystemExit(f"synthcity generated {len(frame)} of the {count} rows requested with label code {code} "
                         "(the rows it drew rarely had that label; try conditioning or more training)")
    return frame[features].to_numpy()[:count]


def n_params(plugin: Any) -> int:
    """Weights of the torch modules the plugin holds as attributes (0 for a plugin without any)."""
    weights = {}
    for value in vars(plugin).values():
        if callable(getattr(value, "named_parameters", None)):
            weights.update({id(weight): int(weight.numel()) for _, weight in value.named_parameters()})
    return sum(weights.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit_command = commands.add_parser("fit")
    sample_command = commands.add_parser("sample")
    for command, names in ((fit_command, ("plugin", "train", "meta", "model")),
                           (sample_command, ("plugin", "meta", "model", "labels", "output"))):
        for name in names:
            command.add_argument(name)
    args = parser.parse_args(argv)
    (fit if args.command == "fit" else sample)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
