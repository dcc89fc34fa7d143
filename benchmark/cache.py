"""Where processed datasets are cached, and how cache entries are written and read safely.

The cache folder is ``$OMICS_BENCHMARK_CACHE`` when set, else ``~/.cache/omics-benchmark``
(``$XDG_CACHE_HOME/omics-benchmark`` when that variable is set). An entry is a pair of files:
``<name>.npz`` (arrays) and ``<name>.json`` (metadata, including the sha256 of the ``.npz``).
Both are written to a temporary file in the same folder and renamed into place, the JSON last,
so a reader never sees a half-written entry; an entry whose ``.npz`` does not match its recorded
hash, or that cannot be parsed, counts as missing and is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from benchmark.atomic import atomic_write

CACHE_ENV = "OMICS_BENCHMARK_CACHE"
CACHE_FORMAT = 1  # bump when the stored layout changes; part of every key


def cache_dir() -> Path:
    """The cache root (not created here)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "omics-benchmark"


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def save_entry(stem: Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write ``stem.npz`` then ``stem.json`` atomically; the JSON records the npz sha256."""
    import numpy as np

    npz_path = stem.with_suffix(".npz")
    atomic_write(npz_path, lambda handle: np.savez(handle, **arrays))
    record = dict(meta, cache_format=CACHE_FORMAT, npz_sha256=file_sha256(npz_path))
    payload = json.dumps(record, indent=1, sort_keys=True, allow_nan=False).encode("utf-8") + b"\n"
    atomic_write(stem.with_suffix(".json"), lambda handle: handle.write(payload))


def load_entry(stem: Path) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(arrays, meta)`` for a complete, intact entry; None when missing or corrupt."""
    import numpy as np

    npz_path, json_path = stem.with_suffix(".npz"), stem.with_suffix(".json")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("cache_format") != CACHE_FORMAT:
            return None
        if file_sha256(npz_path) != meta.get("npz_sha256"):
            return None
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return arrays, meta
