"""Where and with what a record was produced: command, code, package versions and machine."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import benchmark

_command: list[str] = []  # the command line this process runs, set by the CLI


def set_command(argv: list[str]) -> None:
    """Remember the command line (``python -m benchmark`` and its arguments) for the records."""
    _command[:] = ["python", "-m", "benchmark", *argv]


def command_line() -> str | None:
    return shlex.join(_command) if _command else None


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


@lru_cache(maxsize=1)
def blas() -> str | None:
    """The BLAS numpy calls, e.g. ``openblas 0.3.27 (Haswell)``."""
    import numpy  # noqa: F401  (loads the BLAS library threadpoolctl looks for)
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("user_api") == "blas":
            arch = f" ({info['architecture']})" if info.get("architecture") else ""
            return f"{info.get('internal_api')} {info.get('version')}{arch}"
    return None


@lru_cache(maxsize=1)
def cpu_model() -> str | None:
    """The CPU's model name (Linux /proc/cpuinfo, macOS sysctl), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  timeout=5, check=True).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or None


def gpu_model() -> str | None:
    """The GPU torch computes on in this process, if torch is loaded and uses one."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return str(torch.cuda.get_device_name(torch.cuda.current_device()))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available() and getattr(torch.mps, "current_allocated_memory", lambda: 0)() > 0:
        return "Apple MPS"
    return None


def machine() -> dict[str, Any]:
    """The machine a job ran on: CPU model and count, GPU (if one was used) and numpy's BLAS."""
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "gpu": gpu_model(), "blas": blas()}


def provenance() -> dict[str, Any]:
    return {
        "package_version": benchmark.__version__,
        "git_sha": git_sha(),
        "command": command_line(),
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "numpy": package_version("numpy"),
        "scikit_learn": package_version("scikit-learn"),
        **machine(),
        "platform": platform.platform(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
