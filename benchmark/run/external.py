"""External generators: a generator declared in a TOML file whose ``fit`` and ``sample`` are commands of any program.

``--generators external:path/to/gen.toml`` declares one; ``--generators synthcity:PLUGIN`` is one whose commands run
``synthcity_runner.py`` with the interpreter of an environment that has synthcity (``--synthcity-python`` or
$OMICS_BENCHMARK_SYNTHCITY_PYTHON). The job process writes the training rows and metadata into a private temporary
folder, runs the commands in its own process group (so they end with the job) and reads the rows back; the file
protocol is documented in docs/external.md.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from benchmark.atomic import pid_alive
from benchmark.dataset import MODALITIES, DatasetMeta
from benchmark.errors import ConfigError, GeneratorError
from benchmark.hparams import json_safe
from benchmark.registry import SYNTHCITY_ENV
from benchmark.run.jobs import set_parent_death_signal
from generators.base import BUDGETS, Generator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

EXTERNAL = "external:"
SYNTHCITY = "synthcity:"
KEYS = ("name", "modalities", "description", "fit", "sample", "workdir", "env", "format", "budgets")
REQUIRED = ("name", "modalities", "fit", "sample")
FORMATS = ("npz", "parquet")
FIT_PLACEHOLDERS = ("python", "train", "meta", "model", "seed", "budget", "workdir")
SAMPLE_PLACEHOLDERS = (*FIT_PLACEHOLDERS, "labels", "output")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,79}")
PLUGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,69}")
LABEL_COLUMN = "label"  # the parquet protocol's label column (names); never a feature name
TAIL_LINES = 20  # lines of a command's stderr kept for its failure message
MAX_LINE_CHARS = 1000
TEMP_PREFIX = "omics-external."
RUNNER = Path(__file__).resolve().with_name("synthcity_runner.py")
SYNTHCITY_SETUP = (
    "synthcity runs in an environment of its own (Python 3.10 or 3.11): python3.11 -m venv ~/venvs/synthcity && "
    "~/venvs/synthcity/bin/pip install torch==2.2.2 --index-url https://download.pytorch.org/whl/cpu && "
    "~/venvs/synthcity/bin/pip install 'synthcity==0.2.12' 'opacus<1.5'; then pass --synthcity-python "
    f"~/venvs/synthcity/bin/python (or set ${SYNTHCITY_ENV}); see docs/external.md"
)


@dataclass(frozen=True)
class ExternalSpec:
    """A declared external generator: its name, modalities, commands and where they run."""

    name: str
    modalities: frozenset[str]
    fit: tuple[str, ...]
    sample: tuple[str, ...]
    source: str  # what a job process loads: "external:/abs/gen.toml" or "synthcity:PLUGIN@/abs/python"
    code_files: Mapping[str, Path]  # hashed into the records' code block
    workdir: Path | None = None  # the commands' working folder; None: the job's temporary folder
    description: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    format: str = "npz"
    python: str | None = None  # what {python} stands for; None: the interpreter running the harness
    budgets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


class ExternalGenerator(Generator):
    """A generator whose fit and sample are commands of another program (docs/external.md)."""

    spec: ClassVar[ExternalSpec]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.meta: DatasetMeta | None = None
        self.folder: Path | None = None
        self.info: dict[str, Any] = {}
        self._remove_folder: Callable[[], Any] | None = None

    @classmethod
    def external_code_files(cls) -> dict[str, Path]:
        """The files whose bytes make the generator's code hash (benchmark.code_hash.code_block)."""
        return dict(cls.spec.code_files)

    @property
    def device_used(self) -> str:
        return str(self.info.get("device", "cpu"))

    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> ExternalGenerator:
        self.close()
        self.meta = meta
        self.folder = private_folder()
        self._remove_folder = weakref.finalize(self, shutil.rmtree, self.folder, True)
        try:
            write_train(self.path("train"), X, y, meta)
            (self.folder / "meta.json").write_text(json.dumps(self.meta_block(len(X), meta), indent=1), encoding="utf-8")
            (self.folder / "model").mkdir()
            self.run("fit", self.spec.fit)
        except BaseException:
            self.close()
            raise
        return self

    def sample(self, y: np.ndarray) -> np.ndarray:
        if self.folder is None or self.meta is None:
            raise GeneratorError(f"{self.name}: sample called before fit")
        y = np.asarray(y, dtype=np.int64)
        labels, output, info = self.path("labels"), self.path("output"), self.folder / "info.json"
        try:
            write_labels(labels, y, self.meta)
            tail = self.run("sample", self.spec.sample)
            if not output.is_file():
                raise GeneratorError(f"sample command exited with code 0 but did not write {output.name}: "
                                     f"{shlex.join(self.command(self.spec.sample))}{tail_text(tail)}")
            rows = read_output(output, len(y), self.meta)
            self.info = read_info(info)
        finally:
            for path in (labels, output, info):
                path.unlink(missing_ok=True)
        return rows

    def n_params(self) -> int:
        return int(self.info.get("n_params", 0))

    def close(self) -> None:
        """Remove the temporary folder (the model with it); it also goes when the generator is dropped."""
        if self._remove_folder is not None:
            self._remove_folder()
        self.folder = self._remove_folder = None

    def path(self, what: str) -> Path:
        """The file of ``train``, ``labels`` or ``output`` in the declared format."""
        assert self.folder is not None
        stem = {"train": "train", "labels": "labels", "output": "synthetic"}[what]
        return self.folder / f"{stem}.{self.spec.format}"

    @property
    def workdir(self) -> Path:
        assert self.folder is not None
        return self.spec.workdir or self.folder

    def meta_block(self, n_train: int, meta: DatasetMeta) -> dict[str, Any]:
        """What meta.json tells the commands about the data and the job."""
        left = None if self.stop_at is None else round(max(0.0, self.stop_at - time.monotonic()), 1)
        return {
            "format": self.spec.format,
            "dataset_id": meta.dataset_id,
            "modality": meta.modality,
            "feature_names": list(meta.feature_names),
            "class_names": list(meta.class_names),
            "positions": None if meta.positions is None else list(meta.positions),
            "n_train": int(n_train),
            "n_features": meta.n_features,
            "seed": self.seed,
            "budget": self.budget,
            "hparams": json_safe(self.hparams),
            "device": self.device,
            "fit_seconds_left": left,
        }

    def command(self, template: tuple[str, ...]) -> list[str]:
        """``template`` with its placeholders filled in."""
        assert self.folder is not None
        values = {
            "python": self.spec.python or sys.executable,
            "train": str(self.path("train")),
            "meta": str(self.folder / "meta.json"),
            "model": str(self.folder / "model"),
            "labels": str(self.path("labels")),
            "output": str(self.path("output")),
            "seed": str(self.seed),
            "budget": self.budget,
            "workdir": str(self.workdir),
        }
        return [PLACEHOLDER.sub(lambda match: values[match.group(1)], arg) for arg in template]

    def run(self, phase: str, template: tuple[str, ...]) -> list[str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.spec.env}
        return run_command(phase, self.command(template), self.workdir, env, self.report)


# ------------------------------------------------------------------------------------------------
# commands


def run_command(phase: str, args: list[str], cwd: Path, env: Mapping[str, str],
                report: Callable[[str], None]) -> list[str]:
    """Run ``args`` in this process's group, so it ends with the job (and is SIGKILLed when this process dies).

    Its stdout joins its stderr; every line becomes the phase text ``"<phase>: <line>"``. Returns the last
    ``TAIL_LINES`` lines; a command that cannot start or exits non-zero raises GeneratorError with them.
    """
    shown = shlex.join(args)
    try:
        process = subprocess.Popen(args, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace",
                                   preexec_fn=set_parent_death_signal)
    except OSError as exc:
        raise GeneratorError(f"{phase} command cannot start: {exc.strerror or exc}: {args[0]!r} (working folder "
                             f"{cwd}): {shown}") from None
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            text = line.rstrip()[:MAX_LINE_CHARS]
            if text.strip():
                tail.append(text)
                report(f"{phase}: {text.strip()}")
        code = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    if code != 0:
        raise GeneratorError(f"{phase} command {exit_text(code)}: {shown}{tail_text(list(tail))}")
    return list(tail)


def exit_text(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"was killed by signal {-code} ({name})"
    return f"exited with code {code}"


def tail_text(tail: list[str]) -> str:
    return "; last stderr lines:\n" + "\n".join(tail) if tail else "; it wrote nothing to stderr"


def private_folder() -> Path:
    """A new folder only this user can read, named after this host and process so that a later job removes it
    when this process was killed (a job past its time limit)."""
    remove_orphaned_folders()
    return Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{socket.gethostname()}.{os.getpid()}."))


def remove_orphaned_folders() -> None:
    """Remove the temporary folders of external-generator jobs of this host whose process is gone."""
    prefix = f"{TEMP_PREFIX}{socket.gethostname()}."
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):  # host names have no glob characters
        pid = folder.name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# files of the protocol


def write_train(path: Path, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> None:
    """``train.npz`` (X float32, or int8 genotypes; y int64 label codes) or ``train.parquet`` (one column per
    feature, then ``label`` with the label names)."""
    X = np.asarray(X, dtype=np.int8 if meta.modality == "genotype" else np.float32)
    y = np.asarray(y, dtype=np.int64)
    if path.suffix == ".npz":
        np.savez(path, X=X, y=y)
        return
    frame = feature_frame(X, meta)
    frame[LABEL_COLUMN] = np.asarray(meta.class_names, dtype=object)[y]
    frame.to_parquet(path, index=False)


def feature_frame(X: np.ndarray, meta: DatasetMeta) -> Any:
    import pandas as pd

    if LABEL_COLUMN in meta.feature_names:
        raise GeneratorError(f"the dataset has a feature named {LABEL_COLUMN!r}, the parquet protocol's label "
                             "column; declare format = \"npz\"")
    return pd.DataFrame(X, columns=list(meta.feature_names))


def write_labels(path: Path, y: np.ndarray, meta: DatasetMeta) -> None:
    """``labels.npz`` (``y`` int64 codes, ``label`` names) or ``labels.parquet`` (columns ``y`` and ``label``)."""
    names = np.asarray(meta.class_names, dtype=str)[y]
    if path.suffix == ".npz":
        np.savez(path, y=y, label=names)
        return
    import pandas as pd

    pd.DataFrame({"y": y, LABEL_COLUMN: names.astype(object)}).to_parquet(path, index=False)


def read_output(path: Path, n_rows: int, meta: DatasetMeta) -> np.ndarray:
    """The rows the sample command wrote, checked for their count and features (values: benchmark.validation)."""
    rows = read_npz_rows(path) if path.suffix == ".npz" else read_parquet_rows(path, meta)
    expected = (n_rows, meta.n_features)
    if rows.shape != expected:
        raise GeneratorError(f"{path.name}: X has shape {rows.shape}, expected {expected} (requested rows x features)")
    return rows


def read_npz_rows(path: Path) -> np.ndarray:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise GeneratorError(f"{path.name} written by the sample command is not a readable .npz file: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise GeneratorError(f"{path.name} written by the sample command is a single .npy array, not an .npz "
                             "archive with an array 'X' (np.savez(path, X=rows))")
    with archive:
        if "X" not in archive.files:
            raise GeneratorError(f"{path.name} written by the sample command has no array 'X' (arrays: "
                                 f"{', '.join(archive.files) or 'none'})")
        return np.asarray(archive["X"])


def read_parquet_rows(path: Path, meta: DatasetMeta) -> np.ndarray:
    """The feature columns, which must be meta.json's feature names in order (a ``label`` column is ignored)."""
    from benchmark.readers.tabular import read_parquet

    try:
        frame = read_parquet(path)
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"{path.name} written by the sample command is not a readable parquet file: {exc}") from None
    columns = [column for column in frame.columns if column != LABEL_COLUMN]
    problem = column_problem([str(column) for column in columns], list(meta.feature_names))
    if problem is not None:
        raise GeneratorError(f"{path.name}: {problem}; its columns must be the feature names of meta.json, in "
                             f"order (plus an optional {LABEL_COLUMN!r} column)")
    return frame[columns].to_numpy()


def column_problem(found: list[str], expected: list[str]) -> str | None:
    """The first difference between the columns ``found`` and the feature names ``expected``, in words."""
    for i, (column, feature) in enumerate(zip(found, expected, strict=False)):
        if column != feature:
            return f"column {i} is {column!r}, expected the feature {feature!r}"
    if len(found) < len(expected):
        return f"the feature {expected[len(found)]!r} (column {len(found)}) is missing"
    if len(found) > len(expected):
        return f"column {len(expected)} ({found[len(expected)]!r}) is not a feature"
    return None


def read_info(path: Path) -> dict[str, Any]:
    """The optional ``info.json`` beside the output: ``n_params`` (int) and ``device`` (text)."""
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"{path.name} written by the sample command is not JSON: {exc}") from None
    if not isinstance(info, dict):
        raise GeneratorError(f"{path.name} written by the sample command must be a JSON object")
    n_params = info.get("n_params", 0)
    if isinstance(n_params, bool) or not isinstance(n_params, int) or n_params < 0:
        raise GeneratorError(f"{path.name}: n_params must be a non-negative integer, got {n_params!r}")
    if not isinstance(info.get("device", ""), str):
        raise GeneratorError(f"{path.name}: device must be a string, got {info['device']!r}")
    return info


# ------------------------------------------------------------------------------------------------
# declarations

_CLASSES: dict[str, type[ExternalGenerator]] = {}  # declaration source -> its class, built once per process


def external_generator(text: str) -> type[ExternalGenerator]:
    """The generator class of ``external:PATH`` or ``synthcity:PLUGIN[@PYTHON]`` (built once per resolved source)."""
    source = canonical_source(text)
    if source not in _CLASSES:
        spec = load_toml(Path(source[len(EXTERNAL):])) if source.startswith(EXTERNAL) else synthcity_spec(source)
        _CLASSES[source] = make_class(spec)
    return _CLASSES[source]


def canonical_source(text: str) -> str:
    """``external:<absolute path>`` or ``synthcity:<plugin>@<absolute interpreter path>``: self-contained, so a job
    process on another machine (a Dask worker, shared filesystem) loads the same declaration."""
    if text.startswith(EXTERNAL):
        path = text[len(EXTERNAL):].strip()
        if not path:
            raise ConfigError("external: needs the path of a TOML file, e.g. external:path/to/gen.toml")
        return EXTERNAL + str(Path(path).expanduser().resolve())
    plugin, _, python = text[len(SYNTHCITY):].strip().partition("@")
    if not PLUGIN.fullmatch(plugin):
        raise ConfigError(f"{text}: {plugin!r} is not a synthcity plugin name (e.g. synthcity:ctgan)")
    return f"{SYNTHCITY}{plugin}@{interpreter_path(python or os.environ.get(SYNTHCITY_ENV, ''), plugin)}"


def interpreter_path(python: str, plugin: str) -> str:
    """The absolute path of the synthcity environment's interpreter (symlinks kept: a venv's python is one)."""
    if not python.strip():
        raise ConfigError(f"synthcity:{plugin} needs the Python interpreter of an environment with synthcity, given "
                          f"with --synthcity-python PATH or ${SYNTHCITY_ENV}. {SYNTHCITY_SETUP}")
    found = shutil.which(os.path.expanduser(python.strip()))
    if found is None:
        raise ConfigError(f"synthcity:{plugin}: the interpreter {python!r} (--synthcity-python or ${SYNTHCITY_ENV}) "
                          f"is not an executable file. {SYNTHCITY_SETUP}")
    return os.path.abspath(found)


def synthcity_spec(source: str) -> ExternalSpec:
    """``synthcity:PLUGIN@PYTHON``: commands that run synthcity_runner.py with that interpreter, in the job's
    temporary folder; one hyperparameter, ``plugin_kwargs`` (a dict of the plugin's keyword arguments)."""
    plugin, _, python = source[len(SYNTHCITY):].partition("@")
    return ExternalSpec(
        name=f"synthcity-{plugin}",
        modalities=frozenset(MODALITIES),
        fit=("{python}", str(RUNNER), "fit", plugin, "{train}", "{meta}", "{model}"),
        sample=("{python}", str(RUNNER), "sample", plugin, "{meta}", "{model}", "{labels}", "{output}"),
        source=source,
        code_files={f"runner:{RUNNER.name}": RUNNER},
        description=f"synthcity's {plugin} plugin, run by {python}",
        python=python,
        budgets={budget: {"plugin_kwargs": None} for budget in BUDGETS},
    )


def make_class(spec: ExternalSpec) -> type[ExternalGenerator]:
    return type(f"External[{spec.name}]", (ExternalGenerator,), {
        "name": spec.name,
        "modalities": spec.modalities,
        "budgets": {budget: dict(spec.budgets.get(budget, {})) for budget in BUDGETS},
        "spec": spec,
        "__doc__": spec.description or f"external generator declared in {spec.source[len(EXTERNAL):]}",
        "__module__": __name__,
    })


def load_toml(path: Path) -> ExternalSpec:
    """The declaration in the TOML file at ``path`` (absolute); ConfigError naming the file and key at fault."""
    data = read_toml(path)
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; the keys are {', '.join(KEYS)}")
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise ConfigError(f"{path}: missing key {missing[0]!r} (required: {', '.join(REQUIRED)})")
    name = text_value(path, data, "name")
    if not NAME.fullmatch(name):
        raise bad_key(path, "name", f"{name!r} is not a valid generator name (letters, digits and - _ . +, starting "
                                    "with a letter or digit, at most 80 characters)")
    workdir = (path.parent / text_value(path, data, "workdir", ".")).resolve()
    if not workdir.is_dir():
        raise bad_key(path, "workdir", f"{workdir} is not a folder")
    fmt = text_value(path, data, "format", "npz")
    if fmt not in FORMATS:
        raise bad_key(path, "format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
    fit = command_value(path, data, "fit", FIT_PLACEHOLDERS)
    sample = command_value(path, data, "sample", SAMPLE_PLACEHOLDERS)
    return ExternalSpec(
        name=name,
        modalities=modalities_value(path, data),
        fit=fit,
        sample=sample,
        source=EXTERNAL + str(path),
        code_files=code_files(path, workdir, fit + sample),
        workdir=workdir,
        description=text_value(path, data, "description", ""),
        env=env_value(path, data),
        format=fmt,
        budgets=budgets_value(path, data),
    )


def read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"external generator file {path} does not exist")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def bad_key(path: Path, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: key {key!r}: {problem}")


def kind(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "an array",
            dict: "a table"}.get(type(value), type(value).__name__)


def text_value(path: Path, data: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise bad_key(path, key, f"must be a string, got {kind(value)}")
    return value


def modalities_value(path: Path, data: Mapping[str, Any]) -> frozenset[str]:
    value = data["modalities"]
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise bad_key(path, "modalities", f"must be a non-empty array of strings from {', '.join(MODALITIES)}")
    unknown = [item for item in value if item not in MODALITIES]
    if unknown:
        raise bad_key(path, "modalities", f"unknown modality {unknown[0]!r}; known: {', '.join(MODALITIES)}")
    return frozenset(value)


def command_value(path: Path, data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """A command line: an array of strings, or a string split like a shell would (shlex); placeholders checked."""
    value = data[key]
    if isinstance(value, str):
        try:
            args = shlex.split(value)
        except ValueError as exc:
            raise bad_key(path, key, f"cannot be split into arguments: {exc}") from None
    elif isinstance(value, list) and all(isinstance(arg, str) for arg in value):
        args = value
    else:
        raise bad_key(path, key, f"must be an array of strings or a string, got {kind(value)}")
    if not args or not args[0]:
        raise bad_key(path, key, "the command is empty")
    for arg in args:
        for placeholder in PLACEHOLDER.findall(arg):
            if placeholder not in allowed:
                only = " (only the sample command has it)" if placeholder in SAMPLE_PLACEHOLDERS else ""
                raise bad_key(path, key, f"unknown placeholder {{{placeholder}}} in {arg!r}{only}; known: "
                                         + ", ".join(f"{{{name}}}" for name in allowed))
    return tuple(args)


def env_value(path: Path, data: Mapping[str, Any]) -> dict[str, str]:
    value = data.get("env", {})
    if not isinstance(value, dict):
        raise bad_key(path, "env", f"must be a table of strings, got {kind(value)}")
    for name, text in value.items():
        if not isinstance(text, str):
            raise bad_key(path, f"env.{name}", f"must be a string, got {kind(text)}")
    return dict(value)


def budgets_value(path: Path, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``[budgets.smoke]`` etc.: hyperparameters (strings, numbers, booleans or arrays of them) per budget."""
    value = data.get("budgets", {})
    if not isinstance(value, dict):
        raise bad_key(path, "budgets", f"must be a table of tables ({', '.join(BUDGETS)}), got {kind(value)}")
    budgets: dict[str, dict[str, Any]] = {}
    for budget, settings in value.items():
        if budget not in BUDGETS:
            raise bad_key(path, f"budgets.{budget}", f"unknown budget; known: {', '.join(BUDGETS)}")
        if not isinstance(settings, dict):
            raise bad_key(path, f"budgets.{budget}", f"must be a table, got {kind(settings)}")
        budgets[budget] = {key: setting_value(path, f"budgets.{budget}.{key}", item) for key, item in settings.items()}
    return budgets


def setting_value(path: Path, key: str, value: Any) -> Any:
    """A hyperparameter default; arrays become tuples (as --hparam reads them)."""
    scalars = (str, bool, int, float)
    if isinstance(value, list) and all(isinstance(item, scalars) for item in value):
        return tuple(value)
    if not isinstance(value, scalars):
        raise bad_key(path, key, f"must be a string, number, boolean or an array of them, got {kind(value)}")
    return value


def code_files(toml: Path, workdir: Path, args: Iterable[str]) -> dict[str, Path]:
    """The TOML file and each command argument without placeholders that names an existing file (resolved against
    the working folder), keyed by the argument as written."""
    files = {f"toml:{toml.name}": toml}
    for arg in args:
        if arg and not PLACEHOLDER.search(arg) and (workdir / arg).is_file():
            files[f"file:{arg}"] = (workdir / arg).resolve()
    return files
