"""Where and with what a record was produced."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import benchmark


def package_version(name: str) -> str | None:
    """Installed version of a distribution, read without importing it (torch stays unloaded)."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def git_sha() -> str | None:
    """Commit of the checkout the package runs from, with ``-dirty`` for local changes."""
    root = Path(benchmark.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=40"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha or None


def provenance() -> dict[str, str | None]:
    return {
        "package_version": benchmark.__version__,
        "git_sha": git_sha(),
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "numpy": package_version("numpy"),
        "scikit_learn": package_version("scikit-learn"),
        "platform": platform.platform(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
