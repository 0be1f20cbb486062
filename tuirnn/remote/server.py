"""The control socket a trainer process serves: history and live events out, requests in.

    trainer thread ──ControlServer(event)──► inbox (deque) + a wake-up byte (not for step reports)
                                                  │
    server thread (selectors) ◄───────────────────┘  encodes each event once, routes it,
      ├─ shared history (every broadcast event, encoded)      queues it per client, writes
      └─ Peer per client: history slice, bounded queue ──► socket (non-blocking)
      requests from clients ──► core.control.Control (the trainer answers with events)

One thread with a selector rather than a thread per client: client state is touched by one
thread only (no locks), and a trainer with many clients still has one extra thread competing
for the GIL, not one per client. The thread never touches the model.

History and live without gap or duplicate: the server thread both appends each event to the
history and queues it to the greeted clients, so a client greeted between two events gets the
first in its history slice and the second in its queue.

The socket outlives any client: whatever one client sends is that client's problem (an error
reply, or it is parted), accept() failures are waited out (accept.py), and one client's bug
is caught, logged once and costs that client only. The socket is removed at close() alone.
"""
from __future__ import annotations

import collections
import itertools
import os
import selectors
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Iterable

from ..core.control import Control
from ..core.events import (
    CheckpointSaved,
    ProbeCompleted,
    RunStarted,
    SampleChunkGenerated,
    StepsCompleted,
)
from ..core.runstate import RunStatus, next_status
from .accept import Acceptor, refuse
from .paths import bind_owner_only, bind_path, clear_stale, remove_pointer, remove_socket, write_pointer
from .peer import Limits, Peer
from .protocol import (
    JSON,
    ProtocolError,
    encode_event,
    error_message,
    parse_json,
)
from .routing import Routes

STEPS_EVERY_S = 0.1        # step reports go out on this tick (the server thread's select
                           # timeout), not at once: waking the server thread for each hands it
                           # the GIL just as the trainer wants it back. Every other event (a
                           # pause, an eval, a sample chunk) wakes it at once.


class ControlServer:
    """Serve `control` and the run's events on RUN/control.sock; also a Trainer sink.

    history: the events logged before this process started (a resumed run's past), oldest
    first. The server keeps every event it broadcasts, encoded, for clients that attach later
    (about the size of events.jsonl without sample chunks and probes). Usage: `server =
    ControlServer(run_dir, control, history).start()`, add `server` to the trainer's sinks,
    and `server.close()` after the trainer returns.
    """

    def __init__(self, run_dir: Path, control: Control, history: Iterable[Any] = (),
                 limits: Limits = Limits()) -> None:
        self.run_dir = Path(run_dir)
        self.control = control
        self.limits = limits
        self.path: Path | None = None          # the bound socket
        self._inode: int | None = None
        self._inbox: collections.deque = collections.deque()
        self._wake_pending = False
        self._wake_r = self._wake_w = -1
        self._history: list[bytes] = []
        self._peers: dict[socket.socket, Peer] = {}
        self._routes = Routes(limits.max_pending)
        self._client_ids = itertools.count(1)
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._sel = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._acceptor: Acceptor | None = None  # accept() that waits out fd shortages
        self.summary: dict[str, Any] = {"run_dir": str(self.run_dir), "pid": os.getpid(),
                                        "run_name": None, "iteration": 0, "max_iters": None,
                                        "paused": False, "last_checkpoint": None,
                                        "status": str(RunStatus.TRAINING)}
        self.dropped = 0                        # clients dropped for falling behind
        self.greeted_ever = 0                   # clients greeted since the server started
        self._linger_s = 2.0
        self.faults = 0                         # clients dropped for a bug in serving them
        for event in history:
            self._dispatch(event)

    # --- the trainer's thread -----------------------------------------------------------------
    def __call__(self, event: Any) -> None:
        """Sink: never blocks. A deque append, and a byte down a non-blocking pipe when the
        server thread is not already due to wake (the flag spares a syscall per event)."""
        if self._closing.is_set():
            return
        self._inbox.append(event)
        if not self._wake_pending and not isinstance(event, StepsCompleted):
            self._wake_pending = True
            try:
                os.write(self._wake_w, b"!")
            except OSError:          # pipe full (a wake-up is pending anyway) or closed
                pass

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> "ControlServer":
        clear_stale(self.run_dir)
        path = bind_path(self.run_dir)
        listener = bind_owner_only(path)
        listener.listen(64)
        listener.setblocking(False)
        self._listener, self.path, self._inode = listener, path, path.lstat().st_ino
        write_pointer(self.run_dir, path)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._acceptor = Acceptor(listener, self._sel)
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._serve, name="tuirnn-control", daemon=True)
        self._thread.start()
        return self

    def close(self, linger_s: float = 2.0) -> None:
        """Send what is queued (RunFinished...) for up to `linger_s`, close every client,
        remove the socket. Call after the trainer has returned."""
        if self._thread is None or self._closing.is_set():
            return
        self._linger_s = linger_s
        self._closing.set()
        try:
            os.write(self._wake_w, b"!")
        except OSError:
            pass
        self._thread.join()

    def __enter__(self) -> "ControlServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def clients(self) -> int:
        return sum(p.greeted and p.close_at is None for p in self._peers.values())

    # --- the server thread --------------------------------------------------------------------
    def _serve(self) -> None:
        try:
            while not self._closing.is_set():
                try:
                    self._turn()
                except Exception:      # last resort (a bug outside any one client): keep
                    self._fault(None)  # serving (that turn's event may be lost), and
                    self._closing.wait(STEPS_EVERY_S)    # a bug that repeats cannot spin
            self._wake()
            self._flush_all(time.monotonic() + self._linger_s)
        finally:
            self._shutdown()

    def _turn(self) -> None:
        for key, mask in self._sel.select(STEPS_EVERY_S):
            match key.data:
                case "listen":
                    self._accept()
                case "wake":
                    self._wake()
                case Peer() as peer:
                    self._guard(peer, self._ready, peer, mask)
        while self._inbox:         # step reports that woke nobody
            self._dispatch(self._inbox.popleft())
        self._housekeeping()

    def _ready(self, peer: Peer, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            self._read(peer)
        if mask & selectors.EVENT_WRITE and peer.sock in self._peers:
            self._write(peer)

    def _guard(self, peer: Peer, fn, *args) -> None:
        """fn(*args) for one client; any exception costs that client alone."""
        try:
            fn(*args)
        except Exception:
            self._fault(peer)

    def _fault(self, peer: Peer | None) -> None:
        """A bug, not a client's error: drop the client, and log the first with its traceback
        (to stderr, which is train.log for a detached trainer); the rest are only counted."""
        self.faults += 1
        if self.faults == 1:
            who = f"client {peer.client_id}" if peer is not None else "the server loop"
            print(f"tuirnn: control socket: unexpected error serving {who}; dropped it and "
                  f"kept serving (later ones are not logged)\n{traceback.format_exc()}",
                  file=sys.stderr, end="", flush=True)
        if peer is not None:
            self._drop(peer)

    def _accept(self) -> None:
        assert self._acceptor is not None               # the thread runs once started
        for sock in self._acceptor.take():
            if len(self._peers) >= self.limits.max_clients:
                refuse(sock, self.limits.max_clients)
                continue
            peer = Peer(sock, next(self._client_ids), self.limits)
            self._peers[sock] = peer
            self._sel.register(sock, selectors.EVENT_READ, peer)

    def _wake(self) -> None:
        try:
            os.read(self._wake_r, 4096)
        except OSError:
            pass
        self._wake_pending = False       # before draining: a later append writes again
        while self._inbox:
            self._dispatch(self._inbox.popleft())

    def _dispatch(self, event: Any) -> None:
        """Route one event: a sample's chunks and a probe go to the client that asked, the
        rest to every client and to the history."""
        event, asker = self._routes.claim(event)
        self._note(event)
        if isinstance(event, (SampleChunkGenerated, ProbeCompleted)):
            if asker is not None and asker.sock in self._peers:
                self._guard(asker, self._queue, asker, event, encode_event(event))
            return
        encoded = encode_event(event)
        self._history.append(encoded)
        for peer in list(self._peers.values()):
            if peer.greeted:
                self._guard(peer, self._queue, peer, event, encoded)

    def _note(self, event: Any) -> None:
        """Keep the run summary every hello carries up to date."""
        s = self.summary
        if hasattr(event, "iteration") and event.iteration >= 0:
            s["iteration"] = event.iteration
        # the status by core's one rule (this process serves it, so the trainer lives)
        status = next_status(RunStatus(s["status"]), event)
        s["status"], s["paused"] = str(status), status is RunStatus.PAUSED
        match event:
            case RunStarted():
                s["run_name"], s["max_iters"] = event.run_name, event.max_iters
            case CheckpointSaved(kind="last" | "manual"):
                s["last_checkpoint"] = event.path

    def _queue(self, peer: Peer, event: Any, encoded: bytes) -> None:
        if not peer.enqueue(event, encoded):
            self.dropped += 1
            peer.part(error_message("this client fell too far behind the trainer and was "
                                    "dropped; attach again", "too-far-behind"))
        self._write(peer)

    def _write(self, peer: Peer) -> None:
        try:
            peer.send(self._history)
        except OSError:
            self._drop(peer)
            return
        if peer.close_at is not None and not peer.out:
            self._drop(peer)
            return
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if peer.wants_write() else 0)
        if self._sel.get_key(peer.sock).events != want:
            self._sel.modify(peer.sock, want, peer)

    def _read(self, peer: Peer) -> None:
        try:
            data = peer.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(peer)
            return
        if peer.close_at is not None:
            return                               # parting: input is ignored
        try:
            for kind, payload in peer.reader.feed(data):
                if kind != JSON:
                    raise ProtocolError("clients send JSON frames only", "garbage")
                self._handle(peer, parse_json(payload, strict=True))
                if peer.close_at is not None:
                    break
        except ProtocolError as e:
            peer.part(error_message(str(e), e.code))
        if peer.sock in self._peers:
            self._write(peer)

    def _handle(self, peer: Peer, obj: dict[str, Any]) -> None:
        if not peer.greeted:
            if peer.greet(obj.get("hello"), self.summary, len(self._history)):
                self.greeted_ever += 1
            return
        self._routes.obey(peer, obj, self.control)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if self._acceptor is not None:
            self._acceptor.tick()           # listen again after a shortage of descriptors
        for peer in list(self._peers.values()):
            late_hello = not peer.greeted and now - peer.opened > self.limits.hello_timeout_s
            if late_hello and peer.close_at is None:
                peer.part(error_message("no hello in time", "garbage"))
                self._guard(peer, self._write, peer)
            elif peer.close_at is not None and now > peer.close_at:
                self._drop(peer)

    def _flush_all(self, deadline: float) -> None:
        """Closing: write what every client still has queued, until `deadline`."""
        while time.monotonic() < deadline:
            busy = [p for p in self._peers.values() if p.wants_write()]
            if not busy:
                return
            for key, mask in self._sel.select(0.05):
                if isinstance(key.data, Peer):
                    self._guard(key.data, self._ready, key.data, mask)

    def _drop(self, peer: Peer) -> None:
        self._peers.pop(peer.sock, None)
        try:
            self._sel.unregister(peer.sock)
        except (KeyError, ValueError):
            pass
        peer.sock.close()

    def _shutdown(self) -> None:
        for peer in list(self._peers.values()):
            self._drop(peer)
        self._sel.close()
        if self._listener is not None:
            self._listener.close()
        if self.path is not None:
            remove_socket(self.path, self._inode)
            remove_pointer(self.run_dir, self.path)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
