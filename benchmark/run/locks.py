"""One lock per job, so that runs sharing a results folder never run the same job twice.

A job's lock is ``seed-<k>.json.lock`` beside its record, held with ``flock`` by the run (the
coordinator) that claimed it, from before its job starts until its record is written. The kernel
drops the lock when the holder ends, however it ends (SIGKILL included), so a lock left by a dead
run is taken over by the next run without any staleness guess; on NFS the server does the same when
the client's lease expires. The file holds who holds it, for messages; it is unlinked on release.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.run.config import Job

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often jobs held by another run are looked at again


def lock_path(record: Path) -> Path:
    return Path(record).with_name(Path(record).name + ".lock")


def try_lock(path: Path) -> int | None:
    """An open descriptor holding ``path``'s lock, or None when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:  # its holder released (unlinked) it between our open and our flock
            same_file = False
        if same_file:
            os.ftruncate(fd, 0)
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
            os.write(fd, json.dumps(holder).encode())
            return fd
        os.close(fd)


def unlock(path: Path, fd: int) -> None:
    """Release a lock taken by :func:`try_lock` (the file is removed first, while still held)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.close(fd)


def holder_of(path: Path) -> str:
    """Who holds a lock, in words (best effort)."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return f"process {holder['pid']} on {holder['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"


@dataclass
class JobClaims:
    """The pending jobs of one run. :meth:`take` hands out a job only once its lock is held here; a job
    another run holds waits (it is retried every second) and, if that run finishes it, is counted in
    ``done_elsewhere`` instead of being run again."""

    pending: list[Job]
    is_done: Callable[[Job], bool]
    done_elsewhere: list[Job] = field(default_factory=list)
    _held: dict[Path, int] = field(default_factory=dict)
    _waiting: dict[Path, float] = field(default_factory=dict)  # lock path -> when it was last tried

    @property
    def remaining(self) -> bool:
        return bool(self.pending)

    def take(self) -> Job | None:
        """The next job this run may start (its lock now held here), or None when every pending job is
        held by another run (tried again after :data:`POLL_S`)."""
        now = time.monotonic()
        for job in list(self.pending):
            path = lock_path(job.path)
            if now - self._waiting.get(path, -POLL_S) < POLL_S:
                continue
            fd = try_lock(path)
            if fd is None:
                if path not in self._waiting:
                    log.info("%s: waiting, %s runs it", job.label, holder_of(path))
                self._waiting[path] = now
                continue
            self._waiting.pop(path, None)
            self.pending.remove(job)
            if self.is_done(job):  # another run finished it since this run listed it
                unlock(path, fd)
                self.done_elsewhere.append(job)
                continue
            self._held[path] = fd
            return job
        return None

    def release(self, job: Job) -> None:
        fd = self._held.pop(lock_path(job.path), None)
        if fd is not None:
            unlock(lock_path(job.path), fd)

    def release_all(self) -> None:
        for path, fd in list(self._held.items()):
            unlock(path, fd)
        self._held.clear()
