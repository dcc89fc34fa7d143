"""Atomic file writes: a reader sees the old file or the complete new one, never a torn write.

The temporary file sits beside the target as ``.<name>.<pid>-<host>.<token>.tmp``, created with the
user's umask. A writer killed before its rename leaves it behind; :func:`remove_stale_temps` deletes
those whose writer (same host, that pid) is gone, and never one a live process is still writing.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<host>[A-Za-z0-9-]*)\.[0-9a-f]+\.tmp$")


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _create_temp(path: Path) -> tuple[Path, int]:
    """A new temporary file beside ``path`` named after this process (mode 0666 minus the umask)."""
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}-{_host()}.{secrets.token_hex(4)}.tmp"
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue


def _host() -> str:
    """This machine's name reduced to letters, digits and '-' (temp names of other hosts are left alone)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40]


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files under ``folder`` left by writers of this host that no longer run."""
    removed = []
    for tmp in Path(folder).glob("**/.*.tmp"):
        match = _TEMP_NAME.match(tmp.name)
        if match is None or match["host"] != _host() or pid_alive(int(match["pid"])):
            continue
        try:
            tmp.unlink()
        except OSError:  # gone already, or not ours to delete
            continue
        removed.append(tmp)
    return removed


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists (and is not a zombie awaiting its parent)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would end the process there: never call a temp file stale
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no procfs: the signal test is all we have
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
