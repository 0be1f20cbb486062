"""A fake trainer for the socket tests: a thread that emits events and obeys a Control the way
the real Trainer does (requests between steps, blocks while paused, saves on stop), plus raw
socket helpers for clients that misbehave."""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

from tuirnn.core.control import Control, ProbeRequest, SampleRequest, SaveRequest
from tuirnn.core.events import (
    CheckpointSaved,
    Paused,
    ProbeCompleted,
    Resumed,
    RunFinished,
    RunStarted,
    SampleChunkGenerated,
    SampleGenerated,
    StepsCompleted,
)
from tuirnn.remote import protocol
from tuirnn.remote.paths import socket_path


def started(run_dir: Path, max_iters: int = 10**9) -> RunStarted:
    return RunStarted(run_name="fake", run_dir=str(run_dir), cell="lstm", hidden_size=4,
                      num_layers=1, num_params=10, device="cpu", vocab="ab", train_chars=100,
                      val_chars=10, iters_per_epoch=10, max_iters=max_iters, start_iter=0,
                      batch_size=1, seq_length=4, learning_rate=0.01, config={})


def steps(i: int) -> StepsCompleted:
    """Step report i carries the single loss float(i): a client can check it saw every step."""
    return StepsCompleted(iteration=i, epoch=i / 10, losses=(float(i),), lr=0.01,
                          chars_per_sec=1.0, elapsed_s=float(i))


class FakeTrainer:
    def __init__(self, run_dir: Path, sinks: list, control: Control | None = None,
                 max_iters: int = 10**9, step_s: float = 0.001, save_s: float = 0.0) -> None:
        self.run_dir, self.sinks = Path(run_dir), list(sinks)
        self.control = control or Control()
        self.max_iters, self.step_s, self.save_s = max_iters, step_s, save_s
        self.iteration = 0
        self.saved_at: float | None = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def emit(self, ev) -> None:
        for sink in self.sinks:
            sink(ev)

    def start(self) -> "FakeTrainer":
        self.thread.start()
        return self

    def run(self) -> None:
        c = self.control
        self.emit(started(self.run_dir, self.max_iters))
        while self.iteration < self.max_iters and not c.stopped:
            if c.has_work:
                self.service()
                if c.stopped:
                    break
            time.sleep(self.step_s)
            self.iteration += 1
            self.emit(steps(self.iteration))
        time.sleep(self.save_s)                    # "saving last.pt"
        path = str(self.run_dir / "checkpoints" / "last.pt")
        self.saved_at = time.monotonic()
        self.emit(CheckpointSaved(self.iteration, path, "last", None))
        reason = "stopped" if c.stopped else "max_iters"
        self.emit(RunFinished(self.iteration, reason, None, None))

    def service(self) -> None:
        c = self.control
        for r in c.take():
            self.handle(r)
        if c.paused and not c.stopped:
            self.emit(Paused(self.iteration))
            while c.paused and not c.stopped:
                c.wait(0.05)
                for r in c.take():
                    self.handle(r)
            if not c.stopped:
                self.emit(Resumed(self.iteration))

    def handle(self, r) -> None:
        match r:
            case SampleRequest():
                text = r.prime + "ab" * (r.length // 2)
                assert r.request_id is not None, "a client's request carries its id"
                self.emit(SampleChunkGenerated(r.request_id, r.prime))
                self.emit(SampleChunkGenerated(r.request_id, text[len(r.prime):]))
                self.emit(SampleGenerated(self.iteration, text, r.prime, r.temperature, r.top_k,
                                          r.seed or 0, None, 0.5, r.request_id))
            case ProbeRequest():
                self.emit(ProbeCompleted(self.iteration, "ab", "gru", 1, 2, 1,
                                         h=bytes(range(16)), c=b"", top_ids=b"\0" * 8,
                                         top_probs=b"\1" * 8, vocab="ab",
                                         request_id=r.request_id))
            case SaveRequest():
                self.emit(CheckpointSaved(self.iteration, "manual.pt", "manual", None))


class RawClient:
    """A bare socket speaking (or not) the protocol, for clients that misbehave."""

    def __init__(self, run_dir: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5.0)
        self.sock.connect(str(socket_path(run_dir)))
        self.reader = protocol.FrameReader()
        self.frames: list = []

    def hello(self, version: str = protocol.PROTOCOL_VERSION) -> None:
        self.send({"hello": {"version": version}})

    def send(self, obj: dict) -> None:
        self.sock.sendall(protocol.json_frame(obj))

    def next_json(self) -> dict | None:
        """The next JSON frame (binary ones skipped); None when the server closed."""
        while True:
            while self.frames:
                kind, payload = self.frames.pop(0)
                if kind == protocol.JSON:
                    return json.loads(payload)
            data = self.sock.recv(65536)
            if not data:
                return None
            self.frames += self.reader.feed(data)

    def until(self, pred) -> dict | None:
        while (obj := self.next_json()) is not None:
            if pred(obj):
                return obj
        return None

    def close(self) -> None:
        self.sock.close()


HELLO = protocol.json_frame({"hello": {"version": protocol.PROTOCOL_VERSION}})


def attempt(path: str, data: bytes, greet: bool, wait: bool = True) -> list[dict]:
    """Send `data` (after a hello when `greet`), then read what comes back until the server
    closes or goes quiet; the JSON objects read."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2.0)
    s.connect(path)
    got: list[dict] = []
    try:
        s.sendall((HELLO if greet else b"") + data)
        if not wait:
            return got
        reader = protocol.FrameReader()
        s.settimeout(0.3)
        while True:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, socket.timeout):
                return got
            if not chunk:
                return got
            got += [json.loads(p) for k, p in reader.feed(chunk) if k == protocol.JSON]
    except (BrokenPipeError, ConnectionResetError):   # closed on us mid-send: also an answer
        return got
    finally:
        s.close()
