"""The control socket outlives any client: hostile and random frames, floods of connections,
clients that never read, accept() out of file descriptors, and another local user. After all
of it a fresh client still gets its hello and history, and its `stop` reaches the Control."""
from __future__ import annotations

import errno
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from remote_fakes import HELLO, attempt, started, steps

from tuirnn.core.control import Control
from tuirnn.remote import protocol
from tuirnn.remote.client import connect
from tuirnn.remote.paths import SOCKET_NAME, socket_path
from tuirnn.remote.peer import Limits, Peer
from tuirnn.remote.protocol import BINARY, JSON, MAX_REQUEST_FRAME, frame
from tuirnn.remote.server import ControlServer


def wait_for(pred, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def j(text: str | bytes) -> bytes:
    return frame(JSON, text.encode() if isinstance(text, str) else text)


def hostile() -> list[bytes]:
    """Frames a careless or malicious client sends; each one alone on a connection."""
    big = "9" * 5000
    return [
        b"J" + (MAX_REQUEST_FRAME + 1).to_bytes(4, "big"),       # a length over the limit
        b"J\xff\xff\xff\xff", b"X\0\0\0\0", b"GET / HTTP/1.1\r\n\r\n",
        j(b"\xff\xfe\xfd"), j(b'{"request": "\xc3"}'),           # bad UTF-8
        j("[" * 200_000), j('{"a":' * 50_000 + "1" + "}" * 50_000),
        j('{"request": [' * 15 + "]" * 15 + "}"),                # deep, but under the recursion limit
        j('{"request": "sample", "id": ' + big + "}"),          # a 5000-digit int
        j('{"hello": {"version": ' + big + "}}"),
        j('{"request": "sample", "id": 1000001, "args": {"seed": ' + "1" * 40 + "}}"),
        j('{"request": "sample", "id": 1000001, "args": {"temperature": NaN}}'),
        j('{"request": "sample", "id": 1000001, "args": {"temperature": 1e999}}'),
        j('{"request": "sample", "id": 1000001, "args": {"length": -Infinity}}'),
        j('{"request": "sample", "id": 1000001, "args": {"prime": "\\ud800"}}'),
        j('{"request": "probe", "id": 1000001, "args": {"text": "\\udfff x"}}'),
        j('{"request": ["stop"]}'), j('{"request": {"a": [1, 2]}}'), j('{"request": null}'),
        j('{"request": 1e308}'), j('{"request": "' + "x" * 500_000 + '"}'),
        j('{"request": "sample", "id": "7"}'), j('{"request": "sample", "id": true}'),
        j('{"request": "sample", "id": -1}'), j('{"request": "sample", "id": 1.5}'),
        j('{"request": "sample", "id": 1000001, "args": [1]}'),
        j('{"request": "sample", "id": 1000001, "args": {"length": "many", "top_k": []}}'),
        j('{"request": "sample", "id": 1000001, "args": {"stream": 1, "seed": false}}'),
        j(json.dumps({"request": "sample", "id": 1000001,
                      "args": {f"k{i}" * 50: 1 for i in range(2000)}})),   # long unknown keys
        j('{"request": "probe", "id": 1000001, "args": {"source": {"x": 1}, "k": 1e10}}'),
        j('{"request": "save", "id": 5}'), j('{"request": "explode"}'),
        j("[]"), j("{}"), j('"hello"'), j("null"), j("1" * 5000), j(""), j("{" * 10),
        frame(BINARY, b"\0" * 100), frame(BINARY, b""),
        j('{"hello": "1.0"}'), j('{"hello": {"version": ["1"]}}'), j('{"hello": {"version": "2.0"}}'),
    ]


def random_frames(rng: random.Random, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        match rng.randrange(4):
            case 0:                     # noise
                out.append(rng.randbytes(rng.randrange(1, 3000)))
            case 1:                     # a header with any length, then noise
                out.append(rng.choice([b"J", b"B", b"Z"]) + rng.randbytes(4)
                           + rng.randbytes(rng.randrange(0, 200)))
            case 2:                     # a well-framed payload of noise
                out.append(j(rng.randbytes(rng.randrange(0, 2000))))
            case _:                     # JSON-ish: brackets, numbers, strings, stray keywords
                parts = ['{"request":', '"sample"', "[", "]", "{", "}", ",", ":", '"id"',
                         "1e999", "NaN", "-0", "9" * rng.randrange(1, 6000), '"\\ud800"',
                         "true", "null", '"args"', '{"seed":']
                out.append(j("".join(rng.choice(parts) for _ in range(rng.randrange(1, 300)))))
    return out


def still_answers(run_dir: Path, control: Control) -> None:
    """The socket is there, a fresh client is greeted with the run's history, and its stop
    reaches the Control."""
    assert (run_dir / SOCKET_NAME).exists()
    past: list = []
    ctl = connect(run_dir, on_history=past.append, timeout=5.0)
    assert ctl.hello["history"] == 2 and ctl.hello["run_name"] == "fake"
    assert wait_for(lambda: past) and [type(e).__name__ for e in past[0]] == \
        ["RunStarted", "StepsCompleted"]
    ctl.stop()
    assert wait_for(lambda: control.stopped)
    ctl.close()


@pytest.fixture
def server(tmp_path):
    control = Control()
    s = ControlServer(tmp_path, control, [started(tmp_path), steps(1)],
                      Limits(hello_timeout_s=1.0, linger_s=0.5, max_clients=32)).start()
    yield s
    s.close(linger_s=0.2)


def test_hostile_and_random_frames_never_take_the_socket_away(tmp_path, server):
    path = str(socket_path(tmp_path))
    t0 = time.monotonic()
    for data in hostile():
        for greet in (False, True):
            replies = attempt(path, data, greet)
            assert all(set(r) >= {"error", "code"} or {"hello", "event"} & set(r)
                       for r in replies), replies
        assert server._thread.is_alive()
    # each alone on a greeted connection: a request's error is a reply and the client stays
    for data in (j('{"request": "explode"}'), j('{"request": "sample", "id": ' + "9" * 5000 + "}")):
        replies = attempt(path, data + protocol.request_message("explode"), greet=True)
        assert [r.get("code") for r in replies if "error" in r][-1] == "bad-request" \
            or replies[-1]["code"] == "garbage"
    rng = random.Random(15)
    frames = random_frames(rng, 400)
    for i in range(0, len(frames), 4):           # several at once, and truncated ones last
        data = b"".join(frames[i:i + 4])
        attempt(path, data[:rng.randrange(1, len(data) + 1)], greet=rng.random() < 0.5,
                wait=rng.random() < 0.2)
    assert time.monotonic() - t0 < 60
    assert server.control.take() == []           # nothing reached the trainer
    assert server.faults == 0                    # every case was a client error, not a bug
    still_answers(tmp_path, server.control)


def test_floods_and_a_client_that_never_reads(tmp_path, server):
    path = str(socket_path(tmp_path))
    crowd = []
    for _ in range(80):                           # more than max_clients at once
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        crowd.append(s)
    assert wait_for(lambda: len(server._peers) == 32)
    refused = attempt(path, HELLO, greet=False)
    assert refused and refused[0]["code"] == "too-many-clients"
    for s in crowd:
        s.close()
    assert wait_for(lambda: not server._peers)
    # a client that asks and asks and never reads: its replies are capped and it is dropped
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    mute.connect(path)
    mute.settimeout(5.0)
    sent = 0
    try:
        mute.sendall(HELLO)
        bad = protocol.request_message("explode" * 100)
        for _ in range(10_000):
            mute.sendall(bad)
            sent += 1
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert wait_for(lambda: not server._peers)
    assert sum(len(p.out) for p in server._peers.values()) == 0 and sent > 0
    mute.close()
    still_answers(tmp_path, server.control)


def test_accept_out_of_file_descriptors_is_waited_out(tmp_path, server, monkeypatch):
    real = socket.socket.accept
    failures = [errno.EMFILE, errno.ENFILE, errno.ECONNABORTED, errno.EMFILE]

    def accept(self):
        if self is server._listener and failures:
            raise OSError(failures.pop(0), "injected")
        return real(self)
    monkeypatch.setattr(socket.socket, "accept", accept)
    t0 = time.monotonic()
    still_answers(tmp_path, server.control)       # waits through the shortages
    assert not failures and server._acceptor.backoff.shortages == 3
    assert time.monotonic() - t0 < 3 and server._thread.is_alive()



def test_a_bug_serving_one_client_costs_that_client_only(tmp_path, server, monkeypatch, capsys):
    real = Peer.greet

    def greet(self, hello, summary, history_end):
        if isinstance(hello, dict) and hello.get("client") == "buggy":
            raise RuntimeError("a bug in greeting")
        return real(self, hello, summary, history_end)
    monkeypatch.setattr(Peer, "greet", greet)
    for _ in range(3):
        attempt(str(socket_path(tmp_path)), protocol.json_frame(
            {"hello": {"version": "1.0", "client": "buggy"}}), greet=False)
    assert wait_for(lambda: server.faults == 3) and server._thread.is_alive()
    assert capsys.readouterr().err.count("unexpected error serving client") == 1   # logged once
    still_answers(tmp_path, server.control)


FD_SERVER = """
import resource, socket, sys, time
from pathlib import Path
from tuirnn.core.control import Control
from tuirnn.remote.server import ControlServer
sys.path.insert(0, sys.argv[2])
from remote_fakes import HELLO, attempt, started, steps
run = Path(sys.argv[1])
control = Control()
s = ControlServer(run, control, [started(run), steps(1)]).start()
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
hog = []                                   # use every descriptor but a few
resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
try:
    while True:
        hog.append(socket.socket())
except OSError:
    pass
print("full", flush=True)
sys.stdin.readline()                        # the test connects while no descriptor is free
for h in hog:
    h.close()
print("freed", flush=True)
deadline = time.monotonic() + 20
while not control.stopped and time.monotonic() < deadline:
    time.sleep(0.01)
print("stopped" if control.stopped else "no stop", flush=True)
s.close(linger_s=0.2)
"""


def test_real_fd_exhaustion_keeps_the_socket(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", FD_SERVER, str(tmp_path),
                             str(Path(__file__).parent)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "full"
        waiting = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        waiting.connect(str(tmp_path / SOCKET_NAME))       # in the backlog: no fd to accept
        waiting.sendall(HELLO)
        time.sleep(0.5)                                    # several accept() shortages
        assert (tmp_path / SOCKET_NAME).exists() and proc.poll() is None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "freed"
        waiting.settimeout(5)
        reader = protocol.FrameReader()
        frames = []
        while not frames:
            frames += reader.feed(waiting.recv(65536))
        assert "hello" in json.loads(frames[0][1])         # the waiting client got in
        waiting.close()
        ctl = connect(tmp_path, timeout=5.0)
        ctl.stop()
        assert proc.stdout.readline().strip() == "stopped"
    finally:
        proc.kill()
        proc.wait()


RSS_SERVER = """
import sys, time
from pathlib import Path
from tuirnn.core.control import Control
from tuirnn.remote.server import ControlServer
s = ControlServer(Path(sys.argv[1]), Control()).start()
print("ready", flush=True)
time.sleep(120)
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_memory_stays_bounded_with_a_client_that_never_reads(tmp_path):
    """10,000 frames that each earn an error reply (a long unknown request name and 200 long
    unknown argument names), from a client that never reads: the server's RSS stays put."""
    proc = subprocess.Popen([sys.executable, "-c", RSS_SERVER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        before = rss_mb(proc.pid)
        bad = j(json.dumps({"request": "sample", "id": 1000001,
                            "args": {f"{i:04d}" + "x" * 200: 1 for i in range(200)}}))
        sent, peak = 0, before
        mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mute.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        mute.connect(str(tmp_path / SOCKET_NAME))
        mute.settimeout(10)
        try:
            mute.sendall(HELLO)
            for sent in range(1, 10_001):
                mute.sendall(bad)
                if sent % 1000 == 0:
                    peak = max(peak, rss_mb(proc.pid))
        except (BrokenPipeError, ConnectionResetError):
            pass                                 # dropped: the cap worked before the end
        after = max(peak, rss_mb(proc.pid))
        print(f"server RSS {before:.1f} MB before, {after:.1f} MB at most after {sent} "
              f"frames of {len(bad)} bytes")
        assert after - before < 30
        mute.close()
    finally:
        proc.kill()
        proc.wait()


PEEK = """
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a second local user needs root")
@pytest.mark.skipif(shutil.which("useradd") is None or shutil.which("runuser") is None,
                    reason="useradd/runuser are not installed")
def test_another_local_user_cannot_connect():
    name = f"tuirnnx{os.getpid() % 100000}"
    made = subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"useradd failed: {made.stderr.strip()}")
    # a folder the other user may enter, so that only the socket's own mode keeps them out
    run = Path(tempfile.mkdtemp(prefix="tuirnn-peek-", dir="/tmp"))
    run.chmod(0o755)
    server = ControlServer(run, Control()).start()
    try:
        as_them = ["runuser", "-u", name, "--"]
        usable = [py for py in ("/usr/bin/python3", sys.executable) if subprocess.run(
            as_them + [py, "-c", "pass"], capture_output=True).returncode == 0]
        if not usable:
            pytest.skip(f"no Python that {name} may run")
        out = subprocess.run(as_them + [usable[0], "-c", textwrap.dedent(PEEK),
                              str(run / SOCKET_NAME)], capture_output=True, text=True, timeout=30)
        assert out.stdout.strip() == "EACCES", (out.stdout, out.stderr)
        assert (run / SOCKET_NAME).stat().st_mode & 0o777 == 0o600
        assert connect(run, timeout=5.0).hello["client_id"] >= 1   # the owner still can
    finally:
        server.close(linger_s=0.2)
        subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(run, ignore_errors=True)
