"""The control socket with a fake trainer: history then live, slow and rude clients, versions,
pause fan-out, request routing, stale sockets; and the real Trainer driven through a client."""
from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import make_text
from remote_fakes import FakeTrainer, RawClient, started, steps

from tuirnn.core import config
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus
from tuirnn.core.errors import UserError
from tuirnn.core.events import (
    Paused,
    ProbeCompleted,
    Resumed,
    RunFinished,
    SampleChunkGenerated,
    SampleGenerated,
    StepsCompleted,
)
from tuirnn.core.train import Trainer
from tuirnn.remote import client as client_mod
from tuirnn.remote.client import RemoteError, RequestRefused, TrainerGone, connect
from tuirnn.remote.paths import POINTER_NAME, SOCKET_NAME
from tuirnn.remote.peer import Limits
from tuirnn.remote.server import ControlServer


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def losses_seen(events) -> list[float]:
    return [x for e in events if isinstance(e, StepsCompleted) for x in e.losses]


@pytest.fixture
def served(tmp_path):
    """A started server on a fresh run folder; closed after the test."""
    servers = []

    def make(history=(), limits=Limits(), control=None):
        s = ControlServer(tmp_path, control or Control(), history, limits).start()
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close(linger_s=0.2)


def test_history_then_live_without_gap_or_duplicate(tmp_path, served):
    server = served(history=[steps(1), steps(2)])     # a resumed run's past
    assert stat.S_IMODE((tmp_path / SOCKET_NAME).stat().st_mode) == 0o600
    N = 3000
    seen: list[list] = []
    clients = []

    def emit_all():
        for i in range(3, N + 1):
            server(steps(i))
            if i % 100 == 0:
                time.sleep(0.002)      # let clients join mid-stream
    trainer = threading.Thread(target=emit_all)
    trainer.start()
    for _ in range(4):                 # clients arriving while events flow
        got: list = []
        seen.append(got)
        clients.append(connect(tmp_path, on_event=got.append))
        time.sleep(0.01)
    trainer.join()
    server(RunFinished(N, "max_iters", None, None))
    for got in seen:
        assert wait_for(lambda got=got: got and isinstance(got[-1], RunFinished)), "no RunFinished"
        assert losses_seen(got) == [float(i) for i in range(1, N + 1)]
    assert any(c.hello["history"] > 2 for c in clients)   # someone joined mid-run


def test_on_history_gets_the_past_in_one_list(tmp_path, served):
    server = served(history=[started(tmp_path), steps(1), steps(2)])
    past, live = [], []
    ctl = connect(tmp_path, on_event=live.append, on_history=past.append)
    server(steps(3))
    assert wait_for(lambda: live)
    assert len(past) == 1 and [type(e).__name__ for e in past[0]] == \
        ["RunStarted", "StepsCompleted", "StepsCompleted"]
    assert losses_seen(live) == [3.0] and ctl.hello["max_iters"] == 10**9


def test_frozen_client_never_blocks_emit_and_is_merged_then_dropped(tmp_path, served):
    server = served(limits=Limits(max_events=50, max_losses=10**9))
    frozen = RawClient(tmp_path)
    frozen.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    frozen.hello()                     # ... and never reads again
    healthy: list = []
    connect(tmp_path, on_event=healthy.append)
    assert wait_for(lambda: server.clients == 2)
    text = "x" * 5000                   # samples fill the frozen client's socket and queue
    done = threading.Event()

    def trainer():
        for i in range(1, 2001):
            server(steps(i))
            if i % 20 == 0:
                server(SampleGenerated(i, text, "", 1.0, 0, 0, None, 0.0))
        done.set()
    threading.Thread(target=trainer, daemon=True).start()
    assert done.wait(10), "emit blocked on a client that does not read"
    assert wait_for(lambda: server.dropped == 1)
    assert wait_for(lambda: len(losses_seen(healthy)) == 2000)
    assert losses_seen(healthy) == [float(i) for i in range(1, 2001)]
    # what the frozen client finally reads: whole frames, then one parting error
    frozen.sock.settimeout(2)
    msgs = []
    while (m := frozen.next_json()) is not None:
        msgs.append(m)
    assert msgs[-1]["code"] == "too-far-behind" and len(msgs) < 2000


def test_slow_reader_gets_merged_reports_with_every_loss(tmp_path, served):
    server = served()
    slow = RawClient(tmp_path)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.hello()
    assert wait_for(lambda: server.clients == 1)
    big = tuple(float(x) for x in range(200))
    for i in range(1, 501):
        server(StepsCompleted(i, 0.0, big, 0.01, 1.0, 1.0))
    server(RunFinished(500, "max_iters", None, None))
    time.sleep(0.3)                     # the reports pile up behind the full socket
    msgs = []
    while (m := slow.next_json()) and m.get("event") != "RunFinished":
        msgs.append(m)
    reports = [m for m in msgs if m.get("event") == "StepsCompleted"]
    assert sum(len(m["losses"]) for m in reports) == 500 * 200
    assert len(reports) < 500 and server.dropped == 0


def test_garbage_and_unknown_requests(tmp_path, served):
    control = Control()
    server = served(control=control)
    watcher: list = []
    connect(tmp_path, on_event=watcher.append)
    rude = RawClient(tmp_path)
    rude.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    err = rude.next_json()
    assert err["code"] == "garbage" and rude.next_json() is None      # error, then closed
    odd = RawClient(tmp_path)
    odd.hello()
    odd.send({"request": "explode"})
    err = odd.until(lambda m: "error" in m)
    assert "unknown request 'explode'" in err["error"]
    odd.send({"request": "sample", "id": 5, "args": {"length": "many"}})   # not its id range
    assert odd.until(lambda m: "error" in m)["code"] == "bad-request"
    odd.send({"request": "pause"})      # still connected and obeyed
    assert wait_for(lambda: control.paused)
    big = RawClient(tmp_path)
    big.sock.sendall(b"J" + (1 << 30).to_bytes(4, "big"))
    assert big.next_json()["code"] == "too-big"
    server(steps(1))                    # the others are still served
    assert wait_for(lambda: losses_seen(watcher) == [1.0])
    assert control.take() == []         # nothing bad reached the trainer


def test_client_refusal_is_an_event(tmp_path, served):
    served()
    got: list = []
    ctl = connect(tmp_path, on_event=got.append)
    with pytest.raises(TypeError):
        ctl.request_sample(colour="red")             # misspelt, as Control would say
    rid = ctl.request_sample(length=10**9)           # out of range: the trainer refuses
    assert wait_for(lambda: any(isinstance(e, RequestRefused) for e in got))
    refused = next(e for e in got if isinstance(e, RequestRefused))
    assert refused.request_id == rid and "length" in refused.message


def test_version_mismatch_is_one_clear_error(tmp_path, served, monkeypatch):
    served()
    old = RawClient(tmp_path)
    old.hello(version="2.0")
    err = old.next_json()
    assert err["code"] == "version" and "protocol 1.0" in err["error"] and "2.0" in err["error"]
    assert old.next_json() is None
    monkeypatch.setattr(client_mod, "PROTOCOL_VERSION", "9.1")
    with pytest.raises(RemoteError, match="protocol"):
        connect(tmp_path)


def test_five_clients_see_one_pause_within_a_second(tmp_path, served):
    control = Control()
    server = served(control=control)
    trainer = FakeTrainer(tmp_path, [server], control).start()
    inboxes = [[] for _ in range(5)]
    clients = [connect(tmp_path, on_event=box.append) for box in inboxes]
    t0 = time.monotonic()
    assert clients[2].toggle_pause() is True
    for box in inboxes:
        assert wait_for(lambda box=box: any(isinstance(e, Paused) for e in box), timeout=1.0)
    assert time.monotonic() - t0 < 1.0
    assert all(c.paused for c in clients)            # another client's pause counts
    assert clients[4].toggle_pause() is False        # ... so its toggle resumes
    for box in inboxes:
        assert wait_for(lambda box=box: any(isinstance(e, Resumed) for e in box))
    clients[0].stop()
    trainer.thread.join(5)
    for box in inboxes:
        assert wait_for(lambda box=box: any(isinstance(e, RunFinished) for e in box))


def test_requests_route_to_the_client_that_asked(tmp_path, served):
    control = Control()
    server = served(control=control)
    FakeTrainer(tmp_path, [server], control, step_s=0.005).start()
    a, b = [], []
    ca, cb = connect(tmp_path, on_event=a.append), connect(tmp_path, on_event=b.append)
    ra, rb = ca.request_sample(prime="ab", length=6), cb.request_sample(length=4)
    pa = ca.request_probe(text="ab")
    assert ra != rb                                   # ids never collide between clients
    assert wait_for(lambda: sum(isinstance(e, SampleGenerated) for e in a) == 2)
    assert wait_for(lambda: sum(isinstance(e, SampleGenerated) for e in b) == 2)
    assert wait_for(lambda: any(isinstance(e, ProbeCompleted) for e in a))
    assert {e.request_id for e in a if isinstance(e, SampleChunkGenerated)} == {ra}
    assert {e.request_id for e in b if isinstance(e, SampleChunkGenerated)} == {rb}
    assert "".join(e.text for e in a if isinstance(e, SampleChunkGenerated)) == "ab" + "ab" * 3
    probe = next(e for e in a if isinstance(e, ProbeCompleted))
    assert probe.request_id == pa and probe.h == bytes(range(16))   # binary frames arrived
    assert not any(isinstance(e, ProbeCompleted) for e in b)
    ca.stop()


def test_stale_socket_is_removed_and_a_live_one_refused(tmp_path, served):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / SOCKET_NAME))           # a crashed trainer's leftover
    stale.close()
    server = served()
    assert connect(tmp_path).hello["client_id"] >= 1
    with pytest.raises(UserError, match="already serving"):
        ControlServer(tmp_path, Control()).start()
    server.close()
    assert not (tmp_path / SOCKET_NAME).exists()      # removed on a clean shutdown


def test_long_run_folder_uses_a_short_socket_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    deep = tmp_path / ("a-very-long-run-folder-name-" * 5)
    deep.mkdir()
    server = ControlServer(deep, Control()).start()
    try:
        pointer = deep / POINTER_NAME
        real = Path(pointer.read_text().strip())
        assert len(str(real)) <= 107 and stat.S_ISSOCK(real.stat().st_mode)
        got: list = []
        connect(deep, on_event=got.append)
        server(steps(1))
        assert wait_for(lambda: losses_seen(got) == [1.0])
    finally:
        server.close(linger_s=0.2)
    assert not pointer.exists() and not real.exists()


KILLABLE = """
import sys, time
from pathlib import Path
from tuirnn.core.control import Control
from tuirnn.core.events import CheckpointSaved, StepsCompleted
from tuirnn.remote.server import ControlServer
s = ControlServer(Path(sys.argv[1]), Control()).start()
s(StepsCompleted(7, 0.1, (1.0,), 0.01, 1.0, 1.0))
s(CheckpointSaved(7, "ck/last.pt", "last", None))
print("ready", flush=True)
time.sleep(60)
"""


def test_killed_trainer_is_reported_gone(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        got: list = []
        ctl = connect(tmp_path, on_event=got.append)
        assert wait_for(lambda: len(got) >= 2)
        proc.kill()
        assert ctl.wait_closed(5)
        gone = got[-1]
        assert isinstance(gone, TrainerGone)
        assert gone.iteration == 7 and gone.last_checkpoint == "ck/last.pt"
    finally:
        proc.kill()
        proc.wait()
    with pytest.raises(RemoteError, match="gone"):   # its socket is stale now
        connect(tmp_path)


def test_real_trainer_driven_through_a_client(tmp_path):
    cfg = config.load(None, ["model.hidden_size=16", "model.embed_size=8", "model.num_layers=1",
                             "train.batch_size=4", "train.seq_length=8", "train.log_every=1",
                             "train.eval_every=1000000", "train.max_iters=1000000",
                             "train.threads=1", "sample.length=10"])
    corpus = Corpus.from_text(make_text(3000, seed=1), "t", 0.1)
    control = Control()
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    server = ControlServer(run_dir, control).start()
    trainer = Trainer(cfg, run_dir, [server], control, corpus)
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    got: list = []
    ctl = connect(run_dir, on_event=got.append)
    try:
        assert wait_for(lambda: losses_seen(got), timeout=30)
        ctl.pause()
        assert wait_for(lambda: any(isinstance(e, Paused) for e in got))
        rid = ctl.request_sample(prime="the ", length=40, temperature=0.5, seed=3)
        assert wait_for(lambda: any(isinstance(e, SampleGenerated) and e.request_id == rid
                                    for e in got), timeout=30)
        chunks = "".join(e.text for e in got
                         if isinstance(e, SampleChunkGenerated) and e.request_id == rid)
        final = next(e for e in got if isinstance(e, SampleGenerated) and e.request_id == rid)
        assert chunks == final.text and len(final.text) == 44 and final.text.startswith("the ")
        ctl.stop()
        thread.join(30)
        assert not thread.is_alive()
        assert wait_for(lambda: [e for e in got if isinstance(e, RunFinished)])
        finished = [e for e in got if isinstance(e, RunFinished)]
        assert finished[0].reason == "stopped" and (run_dir / "checkpoints" / "last.pt").exists()
    finally:
        control.stop()
        thread.join(30)
        server.close()
    assert ctl.wait_closed(5) and not any(isinstance(e, TrainerGone) for e in got)
    assert not (run_dir / SOCKET_NAME).exists() and os.listdir(run_dir) == ["checkpoints"]


def test_a_client_has_a_bounded_number_of_requests_in_flight(tmp_path, served):
    control = Control()
    served(limits=Limits(max_pending=2), control=control)
    c = RawClient(tmp_path)
    c.hello()
    assert "hello" in c.next_json()
    for n in (1, 2, 3):                   # no trainer answers: the third waits on the first two
        c.send({"request": "sample", "id": 1_000_000 + n, "args": {"length": 5}})
    err = c.until(lambda m: "error" in m)
    assert err["code"] == "busy" and err["id"] == 1_000_003
    assert len(control.take()) == 2
    c.send({"request": "pause"})          # still connected
    assert wait_for(lambda: control.paused)
