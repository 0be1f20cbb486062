"""Corpus location and download, against a real HTTP server on 127.0.0.1 (no internet)."""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading
import time
from pathlib import Path

import pytest

from tuirnn.core import config
from tuirnn.core.config import DataConfig
from tuirnn.core.corpus import OFFLINE_NAME, download, locate_corpus, offline_corpus
from tuirnn.core.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
BODY = (b"First Citizen:\nBefore we proceed any further, hear me speak.\n" * 4000)  # ~240 KB


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args):  # keep pytest output quiet
        pass

    def do_GET(self):
        type(self).hits.append(self.path)
        if self.path == "/corpus.txt":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        elif self.path == "/slow.txt":  # the whole body, in pieces over about half a second
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            for i in range(0, len(BODY), len(BODY) // 10):
                self.wfile.write(BODY[i:i + len(BODY) // 10])
                self.wfile.flush()
                time.sleep(0.05)
        elif self.path == "/cut.txt":  # promises more than it sends, then hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: len(BODY) // 3])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_download_works_with_progress(server, tmp_path):
    dest = tmp_path / "sub" / "dir" / "corpus.txt"
    calls = []
    download(f"{server}/corpus.txt", dest, hashlib.sha256(BODY).hexdigest().upper(),
             lambda done, total: calls.append((done, total)))
    assert dest.read_bytes() == BODY
    assert [p.name for p in (tmp_path / "sub" / "dir").iterdir()] == ["corpus.txt"]   # no part left
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and dones[-1] == len(BODY) and len(calls) > 2
    assert all(t == len(BODY) for _, t in calls)


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    dest = tmp_path / "corpus.txt"
    with pytest.raises(UserError) as e:
        download(f"{server}/corpus.txt", dest, "0" * 64, None)
    msg = str(e.value)
    assert "0" * 64 in msg and hashlib.sha256(BODY).hexdigest() in msg
    assert list(tmp_path.iterdir()) == []


def test_interrupted_transfer_leaves_nothing(server, tmp_path):
    dest = tmp_path / "cut.txt"
    with pytest.raises(UserError) as e:
        download(f"{server}/cut.txt", dest, None, None, timeout=5)
    assert "interrupted" in str(e.value) and "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


def test_http_error(server, tmp_path):
    with pytest.raises(UserError, match="HTTP 404"):
        download(f"{server}/nope.txt", tmp_path / "x.txt", None, None)
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_names_ways_forward(tmp_path):
    dest = tmp_path / "corpus.txt"
    cfg = DataConfig(path=str(dest), url=f"http://127.0.0.1:{_closed_port()}/corpus.txt")
    with pytest.raises(UserError) as e:
        locate_corpus(cfg)
    msg = str(e.value)
    assert "failed" in msg and "offline default" in msg and str(dest) in msg
    assert "--set data.path=FILE" in msg          # the flag, not only the key, is named
    assert "\n" not in msg
    assert list(tmp_path.iterdir()) == []


def test_locate_downloads_once(server, tmp_path):
    _Handler.hits.clear()
    dest = tmp_path / "data" / "c.txt"
    cfg = DataConfig(path=str(dest), url=f"{server}/corpus.txt",
                     sha256=hashlib.sha256(BODY).hexdigest())
    assert locate_corpus(cfg) == (str(dest), BODY)
    assert locate_corpus(cfg) == (str(dest), BODY)
    assert _Handler.hits == ["/corpus.txt"]


def test_processes_needing_one_download_take_turns(server, tmp_path):
    """Four at once (as the ranks of a torchrun start): one fetch, and all read the whole file.
    Each has its own open of the folder, as separate processes do, so the lock is contended."""
    _Handler.hits.clear()
    dest = tmp_path / "data" / "c.txt"
    cfg = DataConfig(path=str(dest), url=f"{server}/slow.txt")       # no checksum to catch a mix-up
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(locate_corpus(cfg))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [(str(dest), BODY)] * 4
    assert _Handler.hits == ["/slow.txt"]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["c.txt"]


def test_existing_file_is_not_downloaded(tmp_path):
    dest = tmp_path / "mine.txt"
    dest.write_bytes(b"hello world\n")
    # the url would be refused: reading the file must not touch it
    cfg = DataConfig(path=str(dest), url=f"http://127.0.0.1:{_closed_port()}/x.txt")
    assert locate_corpus(cfg) == (str(dest), b"hello world\n")


def test_url_without_path_goes_to_data_dir(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name, raw = locate_corpus(DataConfig(url=f"{server}/corpus.txt"))
    assert Path(name) == Path("data") / "corpus.txt" and raw == BODY
    assert (tmp_path / "data" / "corpus.txt").read_bytes() == BODY


def test_missing_path_without_url(tmp_path):
    missing = tmp_path / "nowhere.txt"
    with pytest.raises(UserError) as e:
        locate_corpus(DataConfig(path=str(missing)))
    msg = str(e.value)
    assert str(missing) in msg and "data.url" in msg and "offline default" in msg


def test_offline_default_is_deterministic_text():
    name, raw = locate_corpus(DataConfig())
    assert name == OFFLINE_NAME
    text = raw.decode("utf-8")
    assert 1_000_000 <= len(raw) <= 4_100_000 and text.strip()
    assert "def " in text and "import " in text
    assert offline_corpus() == raw


def test_progress_bar_accepts_calls():
    import io

    from rich.console import Console

    from tuirnn.cli.progress import download_progress_bar
    out = io.StringIO()
    with download_progress_bar(console=Console(file=out, width=100)) as progress:
        pass
    assert out.getvalue() == ""            # no download, no bar
    with download_progress_bar(console=Console(file=out, force_terminal=False, width=100)) as progress:
        progress(0, 100)
        progress(50, 100)
        progress(100, 100)
    assert out.getvalue().startswith("downloading") and "100/100 bytes" in out.getvalue()
    out = io.StringIO()
    with download_progress_bar(console=Console(file=out, width=100)) as progress:
        progress(10, None)  # unknown total
    assert "10/? bytes" in out.getvalue()


@pytest.mark.parametrize("name", ["warpeace", "tinyshakespeare", "tiny"])
def test_shipped_configs_load(name):
    cfg = config.load(ROOT / "configs" / f"{name}.yaml")
    assert cfg.run.name == name
    if name == "tiny":
        assert cfg.data.path is None and cfg.data.url is None
    else:
        assert cfg.data.url.startswith("https://") and cfg.data.path.startswith("data/")
    if name == "warpeace":
        assert (cfg.model.num_layers, cfg.model.hidden_size, cfg.model.dropout) == (3, 512, 0.5)
