"""Results store: one JSON record per job, written atomically, checked against the schema when read back."""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.atomic import atomic_write
from benchmark.errors import BenchmarkError

RECORD_SCHEMA = 1
STATUSES = ("ok", "failed", "timeout", "invalid_output")
NAME_CHARS = "-_.@+~"  # besides ASCII letters and digits, kept as they are in folder names
DATASET_ID_CHARS = "-_.+"  # '@' and '~' separate the protocol and the budget in a dataset folder name
MAX_NAME = 150  # longer names are cut to SHORT_NAME characters plus their hash
SHORT_NAME = 100
MAX_TEXT = 2000  # characters kept at each end of a long error message


class BadRecord(BenchmarkError):
    """A results file that is not a usable record: unreadable, not UTF-8 JSON, or not the schema."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def record_path(results_dir: Path, dataset_id: str, generator: str, seed: int, protocol: str = "standard") -> Path:
    """``results/<dataset>[@protocol]/<generator>/seed-<k>.json``."""
    folder = dataset_id if protocol == "standard" else f"{dataset_id}@{protocol}"
    return Path(results_dir) / safe_name(folder) / safe_name(generator) / f"seed-{seed}.json"


def dataset_folder(dataset_id: str, protocol: str = "standard", budget: str = "default") -> str:
    """``<dataset>[@<protocol>][~<budget>]``: the results folder of one dataset, protocol and budget."""
    return (safe_name(dataset_id, DATASET_ID_CHARS) + ("" if protocol == "standard" else f"@{safe_name(protocol)}")
            + ("" if budget == "default" else f"~{safe_name(budget)}"))


def safe_name(name: str, keep: str = NAME_CHARS) -> str:
    """A folder name for a dataset or generator name: the name itself when it is one already; else
    the name with other characters as '_' (cut to 100), '-' and the first 8 hex digits of its sha256."""
    kept = "".join(c if (c.isascii() and c.isalnum()) or c in keep else "_" for c in name).strip("._")
    if name and kept == name and len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{kept[:SHORT_NAME] or 'unnamed'}-{digest}"


def cap_text(text: str, keep: int = MAX_TEXT) -> str:
    """``text`` with all but its first and last ``keep`` characters replaced by a note."""
    if len(text) <= 2 * keep + 100:
        return text
    return f"{text[:keep]}\n[... {len(text) - 2 * keep} characters cut ...]\n{text[-keep:]}"


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Store one job record atomically."""
    write_json_atomic(path, {"schema": RECORD_SCHEMA, **record})


def write_json_atomic(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as indented, key-sorted JSON, atomically."""
    payload = json.dumps(record, indent=1, sort_keys=True, allow_nan=False, default=_json_default) + "\n"
    atomic_write(Path(path), lambda handle: handle.write(payload.encode("utf-8")))


def keep_unwritten(path: Path, record: dict[str, Any]) -> str:
    """Save a record that could not be written at ``path`` to the system temp folder (or, failing that,
    print it to stderr); returns where it went, in words."""
    text = json.dumps({"schema": RECORD_SCHEMA, **record}, indent=1, sort_keys=True, default=_json_or_text) + "\n"
    prefix = f"omics-benchmark-unsaved-{path.parent.parent.name}-{path.parent.name}-{path.stem}-"
    try:
        fd, fallback = tempfile.mkstemp(prefix=prefix, suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        print(text, file=sys.stderr)
        return "the job's record is printed above (stderr)"
    return f"the job's record was saved to {fallback} instead (copy it to {path} once that works)"


def read_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path`` without the schema check, or None when it is missing or unreadable."""
    try:
        return _parse(Path(path))
    except (FileNotFoundError, BadRecord):
        return None


def load_record(path: Path) -> dict[str, Any] | None:
    """The schema-valid record at ``path``; None when there is no file; BadRecord saying why it is unusable."""
    try:
        record = _parse(Path(path))
    except FileNotFoundError:
        return None
    problem = schema_problem(record)
    if problem is not None:
        raise BadRecord(path, problem)
    return record


def _parse(path: Path) -> dict[str, Any]:
    """The JSON object at ``path`` if it carries our schema number; FileNotFoundError or BadRecord otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise  # no record yet: not a problem of the file
    except IsADirectoryError:
        raise BadRecord(path, "is a folder, not a record file") from None
    except OSError as exc:
        raise BadRecord(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRecord(path, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRecord(path, f"is not valid JSON, truncated? ({exc.msg} at line {exc.lineno} column {exc.colno})") \
            from None
    except RecursionError:
        raise BadRecord(path, "is JSON nested too deeply to be a record") from None
    if not isinstance(record, dict):
        raise BadRecord(path, f"holds a JSON {type(record).__name__}, expected an object")
    if record.get("schema") != RECORD_SCHEMA:
        raise BadRecord(path, f"has schema {record.get('schema')!r}, expected {RECORD_SCHEMA}")
    return record


def iter_records(results_dir: Path, dataset_folder: str | None = None,
                 on_bad: Callable[[Path, str], None] | None = None) -> Iterator[dict[str, Any]]:
    """Every valid record under ``results_dir`` (optionally one dataset folder), in path order;
    ``on_bad(path, reason)`` hears about each file skipped as unusable."""
    root = Path(results_dir)
    if dataset_folder is not None:
        root = root / safe_name(dataset_folder)
    for path in sorted(root.glob("**/seed-*.json")):
        try:
            record = load_record(path)
        except BadRecord as exc:
            if on_bad is not None:
                on_bad(path, exc.reason)
            continue
        if record is not None:
            yield record


def dataset_folders(results_dir: Path) -> list[str]:
    """Names of dataset folders holding at least one record."""
    root = Path(results_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*/seed-*.json")))


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays in records become plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a record")


def _json_or_text(value: Any) -> Any:
    """Like :func:`_json_default`, but anything else becomes its text (for a record kept aside)."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


# --------------------------------------------------------------------------------------------------
# Schema: the keys every record needs, with their types (docs/records.md). Other keys are allowed.


class _Invalid(Exception):
    """One schema violation, described in words."""


@dataclass(frozen=True)
class _Type:
    """A value check and its description for messages."""

    test: Callable[[Any], bool]
    what: str


def is_finite_number(value: Any) -> bool:
    """A JSON number (not a boolean) that is finite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _or_null(kind: _Type) -> _Type:
    return _Type(lambda value: value is None or kind.test(value), f"{kind.what} or null")


_STR = _Type(lambda value: isinstance(value, str), "a string")
_BOOL = _Type(lambda value: isinstance(value, bool), "true or false")
_INT = _Type(_is_int, "an integer")
_FINITE = _Type(is_finite_number, "a finite number")
_OBJECT = _Type(lambda value: isinstance(value, Mapping), "an object")
_STR_LIST = _Type(lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
                  "a list of strings")
_INT_LIST = _Type(lambda value: isinstance(value, list) and all(_is_int(v) for v in value), "a list of integers")

# (key, type, required) per block
_TOP = (("config_hash", _STR, True), ("dataset", _OBJECT, True), ("generator", _OBJECT, True),
        ("metrics", _OBJECT, False), ("compute", _OBJECT, False), ("protocol", _STR, False),
        ("protocol_info", _or_null(_OBJECT), False), ("metric_failures", _OBJECT, False),
        ("metric_not_applicable", _OBJECT, False),
        ("provenance", _OBJECT, False), ("projection", _or_null(_OBJECT), False), ("error", _or_null(_STR), False),
        ("summaries", _OBJECT, False))  # figure summaries (absent in records made before them)
_OK = (("metrics", _OBJECT, True), ("compute", _OBJECT, True))  # also required in an ok record
_DATASET = (("id", _STR, True), ("split_hash", _STR, True), ("class_names", _STR_LIST, False),
            ("dropped_classes", _OBJECT, False), ("notes", _STR_LIST, False))
_GENERATOR = (("name", _STR, True), ("seed", _INT, True), ("budget", _STR, True), ("hparams", _OBJECT, False),
              ("overrides", _OBJECT, False))  # --hparam values; absent in records made before overrides existed
_COMPUTE = (("training", _OBJECT, False), ("time_limit_s", _or_null(_FINITE), False))
_TRAINING = (("stopped_early", _BOOL, False), ("steps_planned", _or_null(_FINITE), False),
             ("steps_done", _or_null(_FINITE), False))  # what a generator's fit reports; other keys allowed
_SCORE = (("value", _FINITE, True), ("reference", _or_null(_FINITE), True), ("direction", _STR, True),
          ("family", _STR, True), ("target", _or_null(_FINITE), False))
_PROTOCOLS = {  # the protocol settings a leaderboard shows
    "biased": (("biased_labels", _STR_LIST, True), ("train_counts", _OBJECT, True),
               ("biased_train_counts", _OBJECT, True), ("fraction", _FINITE, True)),
    "small-n": (("n_fake", _INT_LIST, True),),
}


def schema_problem(record: Any) -> str | None:
    """Why ``record`` does not follow the record schema, in words; None when it does."""
    try:
        _check_record(record)
    except _Invalid as exc:
        return str(exc)
    return None


def _check_record(record: Any) -> None:
    if not isinstance(record, Mapping):
        raise _Invalid(f"a record is a JSON object, got {type(record).__name__}")
    if record.get("schema") != RECORD_SCHEMA:
        raise _Invalid(f"'schema' is {record.get('schema')!r}, expected {RECORD_SCHEMA}")
    status = record.get("status")
    if status not in STATUSES:
        raise _Invalid(f"'status' is {status!r}, expected one of {', '.join(STATUSES)}")
    _check_block(record, _TOP, "")
    _check_block(record["dataset"], _DATASET, "dataset.")
    _check_block(record["generator"], _GENERATOR, "generator.")
    compute = record.get("compute")
    if isinstance(compute, Mapping):
        _check_block(compute, _COMPUTE, "compute.")
        _check_block(compute.get("training") or {}, _TRAINING, "compute.training.")
    _check_projection(record.get("projection"))
    _check_summaries(record.get("summaries") or {})
    info = record.get("protocol_info") or {}
    _check_block(info, _PROTOCOLS.get(str(info.get("name")), ()), "protocol_info.")
    if status == "ok":
        _check_block(record, _OK, "")
        for name, score in record["metrics"].items():
            if not isinstance(score, Mapping):
                raise _Invalid(f"metrics.{name} must be an object, got {type(score).__name__}")
            _check_block(score, _SCORE, f"metrics.{name}.")
    elif not isinstance(record.get("error"), str):
        raise _Invalid(f"a {status} record needs 'error' as a string")


def training_problem(training: Any) -> str | None:
    """Why a generator's ``training`` block cannot go into a record, in words; None when it can."""
    if not isinstance(training, Mapping):
        return f"'training' must be an object, got {_shown(training)}"
    try:
        _check_block(training, _TRAINING, "training.")
    except _Invalid as exc:
        return str(exc)
    return None


def _check_block(block: Mapping[str, Any], fields: tuple, prefix: str) -> None:
    for key, kind, required in fields:
        if key not in block:
            if required:
                raise _Invalid(f"missing '{prefix}{key}'")
            continue
        if not kind.test(block[key]):
            raise _Invalid(f"'{prefix}{key}' must be {kind.what}, got {_shown(block[key])}")


def _check_projection(projection: Mapping[str, Any] | None) -> None:
    """Each side of a projection is an object (points or a density grid); the plots check the rest."""
    for side in ("real", "synthetic"):
        if projection and side in projection and not isinstance(projection[side], Mapping):
            raise _Invalid(f"'projection.{side}' must be an object, got {_shown(projection[side])}")


def _numbers(value: Any, length: int | None = None, nulls: bool = False) -> bool:
    """A list of finite numbers (and nulls when ``nulls``), of ``length`` items when given."""
    return (isinstance(value, list) and (length is None or len(value) == length)
            and all(is_finite_number(v) or (nulls and v is None) for v in value))


def _check_summaries(summaries: Mapping[str, Any]) -> None:
    """The figure summaries (benchmark/summaries.py) have the shapes the figures draw."""
    failed = summaries.get("failed")
    if failed is not None and not (isinstance(failed, Mapping) and all(isinstance(v, str) for v in failed.values())):
        raise _Invalid(f"'summaries.failed' must map block names to error messages, got {_shown(failed)}")
    umap, corr = summaries.get("umap"), summaries.get("correlation")
    ld, af = summaries.get("ld_decay"), summaries.get("allele_frequency")
    for key, block in (("umap", umap), ("correlation", corr), ("ld_decay", ld), ("allele_frequency", af)):
        if block is not None and not isinstance(block, Mapping):
            raise _Invalid(f"'summaries.{key}' must be an object, got {_shown(block)}")
    if umap is not None:
        _check_projection(umap)
    if corr is not None:
        features = corr.get("features")
        if not (isinstance(features, list) and all(isinstance(f, str) for f in features)):
            raise _Invalid("'summaries.correlation.features' must be a list of strings")
        for side in ("real", "synthetic"):
            matrix = corr.get(side)
            if not (isinstance(matrix, list) and len(matrix) == len(features)
                    and all(_numbers(row, len(features), nulls=True) for row in matrix)):
                raise _Invalid(f"'summaries.correlation.{side}' must be a {len(features)} x {len(features)} "
                               "matrix of numbers or nulls")
    if ld is not None:
        edges = ld.get("bin_edges")
        if not (_numbers(edges) and len(edges) >= 2 and isinstance(ld.get("unit"), str)):
            raise _Invalid("'summaries.ld_decay' needs 'unit' (a string) and 'bin_edges' (2 or more numbers)")
        for side in ("real", "holdout", "synthetic"):
            if not _numbers(ld.get(side), len(edges) - 1, nulls=True):
                raise _Invalid(f"'summaries.ld_decay.{side}' must be {len(edges) - 1} numbers or nulls")
    if af is not None:
        real = af.get("real")
        if not (_numbers(real) and _numbers(af.get("synthetic"), len(real))):
            raise _Invalid("'summaries.allele_frequency' needs 'real' and 'synthetic' as equally long lists of numbers")


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
