"""Downloader: resume, checksums, mirrors, dropped connections, 403/404, offline mode.

Everything is served by a local HTTP server on 127.0.0.1 (``FileServer``, also used by
``test_sources.py``); nothing touches the network.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from benchmark.cards import RemoteFile, card_from_dict
from benchmark.download import (
    DownloadError,
    candidate_urls,
    ensure_file,
    fetch_files,
    fetch_instructions,
    local_path,
)


class FileServer:
    """A threaded HTTP server on 127.0.0.1 serving ``files`` (URL path → bytes) with fault injection.

    ``rules[path]`` may hold: ``status`` (answer with that error code), ``ignore_range`` (always
    200 with the whole file), ``drop_after`` + ``drops`` (close the connection after that many body
    bytes, for the first ``drops`` requests), ``serve`` (bytes to send instead of the file while
    announcing the real Content-Length: a truncated response).
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.rules: dict[str, dict] = {}
        self.log: list[tuple[str, str | None, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = unquote(self.path.split("?")[0])
                rule = server.rules.get(path, {})
                rng = self.headers.get("Range")
                if "status" in rule:
                    server.log.append((path, rng, rule["status"]))
                    self.send_error(rule["status"])
                    return
                if path not in server.files:
                    server.log.append((path, rng, 404))
                    self.send_error(404)
                    return
                data = server.files[path]
                start = 0
                if rng and not rule.get("ignore_range") and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        server.log.append((path, rng, 416))
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                    status = 206
                else:
                    self.send_response(200)
                    status = 200
                server.log.append((path, rng, status))
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if "serve" in rule:
                    self.wfile.write(rule["serve"][start:])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if rule.get("drops", 0) > 0:
                    rule["drops"] -= 1
                    self.wfile.write(body[: rule["drop_after"]])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with FileServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("OMICS_BENCHMARK_CACHE", str(tmp_path / "cache"))
    for name in ("OMICS_BENCHMARK_MIRROR", "OMICS_BENCHMARK_OFFLINE", "http_proxy", "HTTP_PROXY",
                 "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMICS_BENCHMARK_TIMEOUT", "10")


PAYLOAD = bytes(range(256)) * 4000  # 1,024,000 bytes: several read chunks
SHA = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


def remote(server: FileServer, *paths: str, name: str = "data.bin", sha256: str | None = SHA,
           md5: str | None = None, size: int | None = len(PAYLOAD)) -> RemoteFile:
    return RemoteFile(role="data", name=name, urls=tuple(server.url + p for p in paths), size=size,
                      sha256=sha256, md5=md5)


def test_download_and_verify(server):
    server.files["/a/data.bin"] = PAYLOAD
    path = ensure_file(remote(server, "/a/data.bin"))
    assert path == local_path(remote(server, "/a/data.bin")) and path.read_bytes() == PAYLOAD
    stamp = json.loads(path.with_name("data.bin.verified.json").read_text())
    assert stamp["sha256"] == SHA and stamp["trust"] == "card" and stamp["source"].endswith("/a/data.bin")
    assert not path.with_name("data.bin.part").exists()
    # second call: verified from the stamp, no request
    n = len(server.log)
    assert ensure_file(remote(server, "/a/data.bin")) == path and len(server.log) == n


def test_md5_only(server):
    server.files["/x"] = PAYLOAD
    path = ensure_file(remote(server, "/x", sha256=None, md5=MD5, size=None))
    assert path.read_bytes() == PAYLOAD


def test_404_403_then_mirror(server):
    server.files["/good/data.bin"] = PAYLOAD
    server.rules["/forbidden/data.bin"] = {"status": 403}
    path = ensure_file(remote(server, "/missing/data.bin", "/forbidden/data.bin", "/good/data.bin"))
    assert path.read_bytes() == PAYLOAD
    assert [(p, s) for p, _, s in server.log] == [("/missing/data.bin", 404), ("/forbidden/data.bin", 403),
                                                   ("/good/data.bin", 200)]


def test_all_urls_fail_lists_every_url(server):
    server.rules["/f/data.bin"] = {"status": 403}
    with pytest.raises(DownloadError) as err:
        ensure_file(remote(server, "/nope/data.bin", "/f/data.bin"), card_id="demo")
    message = str(err.value)
    assert f"{server.url}/nope/data.bin: HTTP 404" in message
    assert f"{server.url}/f/data.bin: HTTP 403" in message
    assert "save it as: " + str(local_path(remote(server, "/f/data.bin"))) in message


def test_connection_refused_is_reported(server):
    dead = "http://127.0.0.1:9/data.bin"  # discard port: nothing listens
    r = RemoteFile(role="data", name="data.bin", urls=(dead,), size=len(PAYLOAD), sha256=SHA)
    with pytest.raises(DownloadError, match="cannot connect"):
        ensure_file(r)


def test_wrong_checksum_moved_aside_then_mirror(server):
    bad = PAYLOAD[:-1] + b"\x00"
    server.files["/bad/data.bin"] = bad
    server.files["/good/data.bin"] = PAYLOAD
    path = ensure_file(remote(server, "/bad/data.bin", "/good/data.bin"))
    assert path.read_bytes() == PAYLOAD
    bad_sha = hashlib.sha256(bad).hexdigest()
    aside = path.with_name(f"data.bin.bad-{bad_sha[:8]}")
    assert aside.read_bytes() == bad


def test_wrong_checksum_error_names_url_and_digests(server):
    bad = b"not the file" * 10
    server.files["/bad/data.bin"] = bad
    with pytest.raises(DownloadError) as err:
        ensure_file(remote(server, "/bad/data.bin", size=None))
    message = str(err.value)
    assert f"{server.url}/bad/data.bin" in message
    assert f"expected {SHA}, got {hashlib.sha256(bad).hexdigest()}" in message
    assert not local_path(remote(server, "/bad/data.bin")).exists()


def test_truncated_file_is_rejected(server):
    # the server announces the full length but sends only part of it, every time
    server.files["/t/data.bin"] = PAYLOAD
    server.rules["/t/data.bin"] = {"serve": PAYLOAD[:300_000]}
    with pytest.raises(DownloadError, match="connection dropped"):
        ensure_file(remote(server, "/t/data.bin"))
    assert not local_path(remote(server, "/t/data.bin")).exists()


def test_truncated_complete_response_is_rejected(server):
    # a complete response of a truncated file: wrong size and digest, moved aside
    server.files["/t/data.bin"] = PAYLOAD[:500_000]
    with pytest.raises(DownloadError) as err:
        ensure_file(remote(server, "/t/data.bin"))
    assert "size: expected 1,024,000 bytes, got 500,000" in str(err.value)
    assert list(local_path(remote(server, "/t/data.bin")).parent.glob("data.bin.bad-*"))


def test_dropped_connection_resumes_with_range(server):
    server.files["/d/data.bin"] = PAYLOAD
    server.rules["/d/data.bin"] = {"drop_after": 100_000, "drops": 2}
    path = ensure_file(remote(server, "/d/data.bin"))
    assert path.read_bytes() == PAYLOAD
    assert [(r, s) for _, r, s in server.log] == [(None, 200), ("bytes=100000-", 206), ("bytes=200000-", 206)]


def test_resume_partial_file(server):
    server.files["/p/data.bin"] = PAYLOAD
    r = remote(server, "/p/data.bin")
    part = local_path(r).with_name("data.bin.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:12345])
    assert ensure_file(r).read_bytes() == PAYLOAD
    assert server.log == [("/p/data.bin", "bytes=12345-", 206)]


def test_server_ignoring_range_restarts_cleanly(server):
    server.files["/p/data.bin"] = PAYLOAD
    server.rules["/p/data.bin"] = {"ignore_range": True}
    r = remote(server, "/p/data.bin")
    part = local_path(r).with_name("data.bin.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage" * 100)  # would corrupt the file if appended to
    assert ensure_file(r).read_bytes() == PAYLOAD
    assert server.log == [("/p/data.bin", "bytes=700-", 200)]


def test_trust_on_first_use(server, caplog):
    server.files["/u/table.tsv"] = b"a\tb\n1\t2\n"
    r = remote(server, "/u/table.tsv", name="table.tsv", sha256=None, size=None)
    with caplog.at_level("WARNING"):
        path = ensure_file(r)
    assert "trust on first use" in caplog.text
    stamp = json.loads(path.with_name("table.tsv.verified.json").read_text())
    assert stamp["trust"] == "first-use" and stamp["sha256"] == hashlib.sha256(b"a\tb\n1\t2\n").hexdigest()
    # the file changes on disk: it no longer matches the first-use record → moved aside, downloaded again
    path.write_bytes(b"tampered\n")
    assert ensure_file(r).read_bytes() == b"a\tb\n1\t2\n"
    assert list(path.parent.glob("table.tsv.bad-*"))


def test_dropped_in_file_is_verified(server):
    r = remote(server, "/never/data.bin")
    path = local_path(r)
    path.parent.mkdir(parents=True)
    path.write_bytes(PAYLOAD)
    assert ensure_file(r, offline=True) == path and server.log == []
    path.write_bytes(PAYLOAD[:10])  # a bad hand-copied file is moved aside, never used
    with pytest.raises(DownloadError, match="did not match the card"):
        ensure_file(r, offline=True)
    assert not path.exists() and list(path.parent.glob("data.bin.bad-*"))


def test_mirror_env_first(server, monkeypatch, tmp_path):
    server.files["/mirror/data.bin"] = PAYLOAD
    monkeypatch.setenv("OMICS_BENCHMARK_MIRROR", server.url + "/mirror/")
    r = remote(server, "/primary/data.bin")
    assert candidate_urls(r)[0] == server.url + "/mirror/data.bin"
    assert ensure_file(r).read_bytes() == PAYLOAD
    assert [p for p, _, _ in server.log] == ["/mirror/data.bin"]


def test_local_folder_mirror(server, monkeypatch, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "data.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("OMICS_BENCHMARK_MIRROR", f"file://{folder}")
    assert ensure_file(remote(server, "/primary/data.bin")).read_bytes() == PAYLOAD
    assert server.log == []


def _card(server: FileServer) -> object:
    return card_from_dict({
        "id": "demo", "version": "1", "title": "t", "modality": "expression", "loader": "x",
        "label": {"column": "y"},
        "files": {
            "one": {"name": "one.bin", "urls": [server.url + "/one.bin"], "size": len(PAYLOAD), "sha256": SHA},
            "two": {"name": "two.tsv", "urls": [server.url + "/two.tsv", "https://example.org/two.tsv"]},
        },
    })


def test_offline_names_every_missing_file(server, monkeypatch):
    monkeypatch.setenv("OMICS_BENCHMARK_OFFLINE", "1")
    card = _card(server)
    with pytest.raises(DownloadError) as err:
        fetch_files(card)
    message = str(err.value)
    assert "2 file(s) missing" in message and "one.bin" in message and "two.tsv" in message
    assert "https://example.org/two.tsv" in message and str(local_path(card.files[0])) in message
    assert server.log == []


def test_fetch_files_and_instructions(server, monkeypatch, tmp_path):
    server.files["/one.bin"] = PAYLOAD
    server.files["/two.tsv"] = b"x\n"
    card = _card(server)
    paths = fetch_files(card, offline=False)
    assert paths["one"].read_bytes() == PAYLOAD and paths["two"].read_bytes() == b"x\n"
    cards = tmp_path / "cards"
    cards.mkdir()
    monkeypatch.setenv("OMICS_BENCHMARK_CARDS", str(cards))
    (cards / "demo.toml").write_text(
        'id = "demo"\nversion = "1"\ntitle = "t"\nmodality = "expression"\nloader = "x"\n[label]\ncolumn = "y"\n'
        f'[files.one]\nname = "one.bin"\nurls = ["{server.url}/one.bin"]\nsize = {len(PAYLOAD)}\nsha256 = "{SHA}"\n'
    )
    text = fetch_instructions("demo")
    assert f"{server.url}/one.bin" in text and SHA in text and "1,024,000 bytes" in text
    assert "present, sha256/md5 checked" in text and str(Path(paths["one"])) in text
