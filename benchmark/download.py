"""Download, verify and cache the raw files a dataset card needs (``[files.<role>]`` in the card).

Every file lives in ``<cache>/downloads/<name>`` (``<cache>`` = ``$OMICS_BENCHMARK_CACHE``, see
:mod:`benchmark.cache`), so a user without network can download it by hand and drop it there
(``python -m benchmark data fetch ID`` prints the URLs and the exact paths). Rules:

- URLs are tried in order: the mirrors of ``$OMICS_BENCHMARK_MIRROR`` first (each a base URL, a
  local folder or ``file://`` folder holding files under their card ``name``; several separated by
  whitespace or commas), then the card's ``urls`` (primary, then mirrors). HTTP 403/404, connection
  errors and bad downloads move on to the next URL; when all fail, one :class:`DownloadError`
  lists every URL tried and what happened.
- Streaming to ``<name>.part`` with a tqdm progress bar. A partial ``.part`` is resumed with an HTTP
  ``Range`` request; a server that ignores the range (200 instead of 206) restarts it cleanly. A
  dropped connection is resumed up to :data:`RETRIES` times per URL.
- The finished file is checked against the card's byte size and sha256 and/or md5. A mismatch
  moves it to ``<name>.bad-<sha256[:8]>`` (never used) and the error names the URL and the
  expected and actual size/digest. A file without a published digest is *trusted on first use*:
  its sha256 is recorded beside it in ``<name>.verified.json`` and later copies must match it;
  a warning says it is unverified.
- Offline (``offline=True`` or ``$OMICS_BENCHMARK_OFFLINE=1``): nothing is downloaded; a missing
  file raises :class:`DownloadError` naming the file, its URLs and where to put it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmark.atomic import atomic_write
from benchmark.cache import cache_dir
from benchmark.cards import Card, RemoteFile, get_card
from benchmark.errors import DataError

log = logging.getLogger(__name__)

OFFLINE_ENV = "OMICS_BENCHMARK_OFFLINE"
MIRROR_ENV = "OMICS_BENCHMARK_MIRROR"
TIMEOUT_ENV = "OMICS_BENCHMARK_TIMEOUT"
RETRIES = 3  # resumes after a dropped connection, per URL
CHUNK = 1 << 20
USER_AGENT = "omics-benchmark (+https://github.com; dataset downloader)"

__all__ = [
    "DownloadError", "fetch_dataset", "fetch_instructions", "fetch_files", "ensure_file",
    "downloads_dir", "local_path", "candidate_urls", "is_offline", "file_status", "missing_files",
]


class DownloadError(DataError):
    """A card file is missing and could not be downloaded (or is offline); the message says what to do."""


class _Failed(Exception):
    """One URL did not give a good file; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    md5: str


def downloads_dir() -> Path:
    """``<cache>/downloads``: raw files of every card, by file name."""
    return cache_dir() / "downloads"


def local_path(remote: RemoteFile) -> Path:
    return downloads_dir() / remote.name


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def is_offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _timeout() -> float:
    try:
        return float(os.environ.get(TIMEOUT_ENV, "60"))
    except ValueError:
        return 60.0


def mirrors() -> list[str]:
    raw = os.environ.get(MIRROR_ENV, "")
    return [item for item in raw.replace(",", " ").split() if item]


def candidate_urls(remote: RemoteFile) -> list[str]:
    """Mirror locations from ``$OMICS_BENCHMARK_MIRROR`` (base + file name), then the card's URLs."""
    out = []
    for base in mirrors():
        if "://" in base and not base.startswith("file://"):
            out.append(base.rstrip("/") + "/" + urllib.parse.quote(remote.name))
        else:
            folder = Path(urllib.parse.unquote(base[len("file://"):]) if base.startswith("file://") else base)
            out.append(str(folder.expanduser() / remote.name))
    return out + list(remote.urls)


# ---------------------------------------------------------------------------------------------
# verification


def digests(path: Path) -> Digests:
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            sha.update(block)
            md5.update(block)
            size += len(block)
    return Digests(size, sha.hexdigest(), md5.hexdigest())


def _read_stamp(path: Path) -> dict | None:
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        return stamp if isinstance(stamp, dict) else None
    except (OSError, ValueError):
        return None


def _write_stamp(path: Path, got: Digests, *, source: str, trust: str) -> None:
    st = path.stat()
    record = {"name": path.name, "size": got.size, "sha256": got.sha256, "md5": got.md5,
              "mtime_ns": st.st_mtime_ns, "source": source, "trust": trust,
              "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    payload = (json.dumps(record, indent=1, sort_keys=True) + "\n").encode()
    atomic_write(_stamp_path(path), lambda handle: handle.write(payload))


def _mismatch(remote: RemoteFile, got: Digests, recorded: dict | None) -> str | None:
    """None when ``got`` matches the card (or the first-use record); else a description."""
    problems = []
    if remote.size is not None and got.size != remote.size:
        problems.append(f"size: expected {remote.size:,} bytes, got {got.size:,}")
    if remote.sha256 and got.sha256 != remote.sha256:
        problems.append(f"sha256: expected {remote.sha256}, got {got.sha256}")
    if remote.md5 and got.md5 != remote.md5:
        problems.append(f"md5: expected {remote.md5}, got {got.md5}")
    first_use = not remote.has_digest and recorded and recorded.get("trust") == "first-use"
    if first_use and recorded.get("sha256") != got.sha256:
        problems.append(
            f"sha256: expected {recorded.get('sha256')} (recorded at the first download, "
            f"{recorded.get('recorded')}), got {got.sha256}"
        )
    return "; ".join(problems) or None


def _move_aside(path: Path, got: Digests) -> Path:
    bad = path.with_name(f"{path.name.removesuffix('.part')}.bad-{got.sha256[:8]}")
    os.replace(path, bad)
    return bad


def _check_present(remote: RemoteFile, path: Path) -> tuple[bool, str]:
    """Verify a file already in the cache. A bad file is moved aside. ``(ok, message)``."""
    stamp = _read_stamp(path)
    st = path.stat()
    if (stamp and stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns
            and _mismatch(remote, Digests(stamp["size"], stamp.get("sha256", ""), stamp.get("md5", "")),
                          stamp) is None):
        return True, "verified" if remote.has_digest else "present (unverified: trusted on first use)"
    got = digests(path)
    problem = _mismatch(remote, got, stamp)
    if problem:
        bad = _move_aside(path, got)
        if remote.has_digest:
            _stamp_path(path).unlink(missing_ok=True)
            return False, f"{path} did not match the card ({problem}); moved aside to {bad.name}"
        return False, (f"{path} did not match its first-use record ({problem}); moved aside to {bad.name}. "
                       f"If the publisher changed the file, delete {_stamp_path(path)} to accept the new one")
    trust = "card" if remote.has_digest else (stamp or {}).get("trust", "first-use")
    if not remote.has_digest and not stamp:
        _warn_unverified(remote, path, got)
    _write_stamp(path, got, source=(stamp or {}).get("source", "local file"), trust=trust)
    return True, "verified" if remote.has_digest else "present (unverified: trusted on first use)"


def _warn_unverified(remote: RemoteFile, path: Path, got: Digests) -> None:
    log.warning("%s: no published checksum; recorded sha256 %s on first use (trust on first use), "
                "later copies must match it", path.name, got.sha256)


def file_status(remote: RemoteFile) -> str:
    """One line for ``data info``: present/verified, or missing with the path to fill."""
    path = local_path(remote)
    if not path.exists():
        return f"missing: {path}"
    stamp = _read_stamp(path)
    st = path.stat()
    if stamp and stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns:
        how = "sha256/md5 checked" if remote.has_digest else "unverified (trusted on first use)"
        return f"present, {how}: {path}"
    return f"present, not yet verified: {path}"


def missing_files(card: Card) -> list[RemoteFile]:
    return [f for f in card.files if not local_path(f).exists()]


# ---------------------------------------------------------------------------------------------
# downloading


def _download_http(url: str, part: Path, expected: int | None, label: str) -> None:
    """Stream ``url`` into ``part``, resuming it; raise _Failed with the reason."""
    from tqdm.auto import tqdm

    drops = 0
    restarted_416 = False
    while True:
        have = part.stat().st_size if part.exists() else 0
        if expected is not None and have > expected:
            part.unlink()
            have = 0
        if expected is not None and have == expected and have > 0:
            return
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=_timeout())
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have and not restarted_416:
                part.unlink()  # the partial file is longer than the remote one: start again
                restarted_416 = True
                continue
            raise _Failed(f"HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Failed(f"cannot connect ({reason})") from None
        with response:
            status = response.status
            if have and status == 206:
                content_range = response.headers.get("Content-Range", "")
                if not content_range.startswith(f"bytes {have}-"):
                    part.unlink()
                    raise _Failed(f"bad Content-Range {content_range!r} for a resume from byte {have}")
                mode, start = "ab", have
            elif status in (200, 206):
                if have:
                    log.info("%s: server ignored the range request; restarting the download", url)
                mode, start = "wb", 0
            else:  # pragma: no cover - urllib raises for error codes
                raise _Failed(f"HTTP {status}")
            length = response.headers.get("Content-Length")
            remaining = int(length) if length and length.isdigit() else None
            total = start + remaining if remaining is not None else expected
            written = 0
            dropped = None
            with open(part, mode) as out, tqdm(total=total, initial=start, unit="B", unit_scale=True,
                                               unit_divisor=1024, desc=label, disable=None, leave=False) as bar:
                try:
                    while block := response.read(CHUNK):
                        out.write(block)
                        written += len(block)
                        bar.update(len(block))
                except (OSError, EOFError, http.client.HTTPException) as exc:  # reset, timeout, IncompleteRead
                    dropped = f"{type(exc).__name__} after {start + written:,} bytes"
            if dropped is None and remaining is not None and written < remaining:
                dropped = f"connection closed after {written:,} of {remaining:,} bytes"
            if dropped is None:
                return
            drops += 1
            if drops > RETRIES:
                raise _Failed(f"connection dropped {drops} times ({dropped}); {part.stat().st_size:,} bytes kept "
                              f"in {part.name} for a later resume")
            log.info("%s: %s; resuming (%d/%d)", url, dropped, drops, RETRIES)


def _copy_local(source: str, part: Path) -> None:
    src = Path(source)
    if not src.is_file():
        raise _Failed("no such file")
    shutil.copyfile(src, part)


def ensure_file(remote: RemoteFile, *, offline: bool | None = None, card_id: str = "") -> Path:
    """The verified local copy of ``remote``, downloading it when missing (unless offline)."""
    offline = is_offline() if offline is None else offline
    path = local_path(remote)
    earlier = []
    if path.exists():
        ok, message = _check_present(remote, path)
        if ok:
            return path
        log.warning("%s", message)
        earlier.append(f"  (cache) {message}")
    if offline:
        raise DownloadError(
            f"{card_id or 'dataset'}: file {remote.name} is missing and downloads are off "
            f"({OFFLINE_ENV} set or offline mode).\n" + "\n".join(earlier + [""]) + _instructions_for(remote)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    attempts = list(earlier)
    stamp = _read_stamp(path)  # a first-use record survives a moved-aside file
    for url in candidate_urls(remote):
        try:
            if "://" in url and not url.startswith("file://"):
                _download_http(url, part, remote.size, remote.name)
            else:
                _copy_local(url, part)
        except _Failed as exc:
            attempts.append(f"  {url}: {exc}")
            continue
        got = digests(part)
        problem = _mismatch(remote, got, stamp)
        if problem:
            bad = _move_aside(part, got)
            attempts.append(f"  {url}: bad file ({problem}); moved aside to {bad}")
            log.warning("%s: %s from %s; moved aside to %s", remote.name, problem, url, bad.name)
            continue
        os.replace(part, path)
        trust = "card" if remote.has_digest else "first-use"
        if not remote.has_digest and not stamp:
            _warn_unverified(remote, path, got)
        _write_stamp(path, got, source=url, trust=trust)
        log.info("downloaded %s (%s bytes) from %s", remote.name, f"{got.size:,}", url)
        return path
    raise DownloadError(
        f"{card_id or 'dataset'}: could not get {remote.name}; URLs tried:\n" + "\n".join(attempts)
        + "\n" + _instructions_for(remote)
    )


def fetch_files(card: Card, *, offline: bool | None = None) -> dict[str, Path]:
    """Every ``[files.<role>]`` of the card as a verified local path, by role.

    Offline, every missing file is named in one error (with its URLs and target path)."""
    offline = is_offline() if offline is None else offline
    if offline:
        present, missing = {}, []
        for remote in card.files:
            try:
                present[remote.role] = ensure_file(remote, offline=True, card_id=card.id)
            except DownloadError:
                missing.append(remote)
        if missing:
            raise DownloadError(
                f"{card.id}: {len(missing)} file(s) missing and downloads are off ({OFFLINE_ENV} set or offline "
                f"mode); download them by hand:\n" + "\n".join(_instructions_for(m) for m in missing)
                + f"\nor run `python -m benchmark data fetch {card.id}` where there is network."
            )
        return present
    return {f.role: ensure_file(f, offline=False, card_id=card.id) for f in card.files}


def fetch_dataset(card_id: str, *, offline: bool = False, size: str = "default") -> list[Path]:
    """Download and verify every file the card needs into the cache; return the local paths.

    ``size`` is validated against the card (all sizes of a card share its raw files).
    ``offline=True`` (or ``$OMICS_BENCHMARK_OFFLINE``) only verifies files already present.
    """
    card = get_card(card_id)
    if size != "default":
        card.params_for(size)
    return list(fetch_files(card, offline=offline or is_offline()).values())


def _describe(remote: RemoteFile) -> str:
    bits = [f"{remote.size:,} bytes" if remote.size is not None else "size not published"]
    if remote.sha256:
        bits.append(f"sha256 {remote.sha256}")
    if remote.md5:
        bits.append(f"md5 {remote.md5}")
    if not remote.has_digest:
        bits.append("no published checksum (trusted on first use)")
    return ", ".join(bits)


def _instructions_for(remote: RemoteFile) -> str:
    lines = [f"  [{remote.role}] {remote.name} ({_describe(remote)})"]
    if remote.description:
        lines.append(f"      {remote.description}")
    lines.append("      download it from any of:")
    lines += [f"        {url}" for url in remote.urls]
    lines.append(f"      and save it as: {local_path(remote)}")
    return "\n".join(lines)


def fetch_instructions(card_id: str) -> str:
    """Human text: each file of the card, its URLs, size and hash, status, and where to drop it."""
    card = get_card(card_id)
    if not card.files:
        return f"{card.id}: this dataset needs no download (loader {card.loader})."
    lines = [f"{card.id}: {len(card.files)} file(s), kept in {downloads_dir()}"]
    for remote in card.files:
        lines.append(_instructions_for(remote))
        lines.append(f"      status: {file_status(remote)}")
    lines += [
        "Files you download by hand are checked (size, sha256/md5) the next time the dataset is loaded.",
        f"A folder or URL holding these file names can be used as a mirror: {MIRROR_ENV}=<folder or URL>.",
        f"Fetch them all at once with: python -m benchmark data fetch {card.id}",
    ]
    return "\n".join(lines)
