"""The client side of a trainer's control socket: a Control that lives in another process.

    ctl = connect(run_dir, on_event=inbox)      # inbox: any callable taking an event
    ctl.toggle_pause(); rid = ctl.request_sample(prime="The ", length=200)

`RemoteControl` has Control's request API, so the monitor drives a remote run as it drives
a trainer thread. A reader thread hands every received event to `on_event` (history first,
or all at once to `on_history`), then, if the connection ends before RunFinished/RunFailed,
one TrainerGone: the trainer died (kill -9, out of memory) or dropped this client.
"""
from __future__ import annotations

import dataclasses
import itertools
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..core.control import ProbeRequest, SampleRequest
from ..core.errors import UserError
from ..core.events import CheckpointSaved, Paused, Resumed
from ..core.runstate import RunStatus, next_status, with_liveness
from .paths import socket_path
from .protocol import (
    BINARY,
    ID_SPAN,
    JSON,
    MAX_FRAME,
    PROTOCOL_VERSION,
    FrameReader,
    ProtocolError,
    binary_count,
    decode_event,
    json_frame,
    parse_json,
    request_message,
)

Callback = Callable[[Any], Any]
IO_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TrainerGone:
    """The connection ended before the run did: trainer killed, or this client dropped."""
    iteration: int                    # the last iteration this client heard of
    last_checkpoint: str | None       # the newest checkpoint it heard of (last.pt, manual)
    reason: str                       # one line


@dataclass(frozen=True)
class RequestRefused:
    """The trainer refused a request this client sent (it names why)."""
    request_id: int | None
    message: str


class RemoteError(UserError):
    """Cannot attach: no trainer, a stale socket, another protocol version."""


def _recv_until_hello(sock: socket.socket, reader: FrameReader) -> tuple[dict, list]:
    """Read frames up to the server's hello; returns it and any frames after it."""
    while True:
        data = sock.recv(65536)
        if not data:
            raise RemoteError("the trainer closed the connection before saying hello")
        frames = reader.feed(data)
        for i, (kind, payload) in enumerate(frames):
            obj = parse_json(payload) if kind == JSON else {}
            if "error" in obj:
                raise RemoteError(str(obj["error"]))
            if isinstance(obj.get("hello"), dict):
                return obj["hello"], frames[i + 1:]
            raise RemoteError("the trainer answered something other than hello")


def connect(run_dir: Path | str, on_event: Callback | None = None,
            on_history: Callable[[list], Any] | None = None,
            timeout: float = IO_TIMEOUT_S) -> "RemoteControl":
    """Attach to the live trainer of `run_dir`; RemoteError (one line) when that fails."""
    run_dir = Path(run_dir)
    path = socket_path(run_dir)
    if not path.exists():
        raise RemoteError(f"no trainer is serving {run_dir} (no control socket); "
                          "tuirnn ls shows which runs are live")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        sock.sendall(json_frame({"hello": {"version": PROTOCOL_VERSION, "client": "tuirnn"}}))
        reader = FrameReader(MAX_FRAME)
        hello, rest = _recv_until_hello(sock, reader)
    except (ConnectionRefusedError, FileNotFoundError):
        sock.close()
        raise RemoteError(f"the trainer of {run_dir} is gone (its socket is stale); "
                          "tuirnn ls shows its state") from None
    except (OSError, ProtocolError) as e:
        sock.close()
        if isinstance(e, RemoteError):
            raise
        raise RemoteError(f"cannot talk to the trainer of {run_dir}: {e}") from None
    return RemoteControl(sock, hello, reader, rest, on_event, on_history)


class RemoteControl:
    """Control's request methods, sent over the socket; never raise once connected."""

    def __init__(self, sock: socket.socket, hello: dict, reader: FrameReader, frames: list,
                 on_event: Callback | None, on_history: Callable[[list], Any] | None) -> None:
        self.hello = hello
        self.client_id = int(hello.get("client_id", 0))
        self._sock = sock
        self._send_lock = threading.Lock()
        self._ids = itertools.count(self.client_id * ID_SPAN + 1)
        self._on_event = on_event if on_event is not None else (lambda ev: None)  # an empty inbox is falsy
        self._on_history = on_history
        self._paused = bool(hello.get("paused"))
        self._stopped = False
        self.iteration = int(hello.get("iteration") or 0)
        self.last_checkpoint: str | None = hello.get("last_checkpoint")
        self.ended = False                 # RunFinished or RunFailed arrived
        # the run's status by core's one rule: the server's word at hello, then every event
        # folded as the server folds it (an older server sends none: paused or training)
        try:
            self.status = RunStatus(hello.get("status"))
        except ValueError:
            self.status = RunStatus.PAUSED if self._paused else RunStatus.TRAINING
        self.error: str | None = None      # the server's parting error, if any
        self.closed = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._read_loop, args=(reader, frames),
                                        name="tuirnn-client", daemon=True)
        self._thread.start()

    # --- Control's API --------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def pause(self) -> None:
        self._paused = True
        self._send(request_message("pause"))

    def resume(self) -> None:
        self._paused = False
        self._send(request_message("resume"))

    def toggle_pause(self) -> bool:
        """True when the request is now to pause (another client's pause counts too)."""
        if self._paused:
            self.resume()
            return False
        self.pause()
        return True

    def stop(self) -> None:
        self._stopped = True
        self._send(request_message("stop"))

    def request_sample(self, **kwargs) -> int:
        return self._request("sample", SampleRequest, kwargs)

    def request_probe(self, **kwargs) -> int:
        return self._request("probe", ProbeRequest, kwargs)

    def request_save(self) -> int:
        return self._request("save", None, {})

    def _request(self, kind: str, cls, kwargs: dict) -> int:
        if cls is not None:            # a misspelt argument fails here, as with Control
            names = {f.name for f in dataclasses.fields(cls)} - {"request_id"}
            unknown = set(kwargs) - names
            if unknown:
                raise TypeError(f"unexpected {kind} argument(s): {', '.join(sorted(unknown))}")
        rid = next(self._ids)
        self._send(request_message(kind, rid, kwargs))
        return rid

    def _send(self, data: bytes) -> None:
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError:            # gone: the reader thread reports it
                pass

    # --- connection -----------------------------------------------------------------------------
    def close(self) -> None:
        """Detach: the run goes on; no TrainerGone is reported."""
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(2.0)

    def wait_closed(self, timeout: float | None = None) -> bool:
        return self.closed.wait(timeout)

    def _read_loop(self, reader: FrameReader, frames: list) -> None:
        history_left = int(self.hello.get("history") or 0)
        history: list[Any] = []
        if history_left == 0 and self._on_history is not None:
            self._on_history([])

        def deliver(event: Any) -> None:
            nonlocal history_left
            self._note(event)
            if history_left > 0:
                history_left -= 1
                if self._on_history is not None:
                    history.append(event)
                    if history_left == 0:
                        self._on_history(history)
                    return
            self._on_event(event)

        json_obj: dict | None = None        # an event waiting for its binary frames
        blobs: list[bytes] = []
        try:
            while True:
                for kind, payload in frames:
                    if kind == BINARY:
                        if json_obj is None:
                            raise ProtocolError("binary frame without its event", "garbage")
                        blobs.append(payload)
                    else:
                        json_obj, blobs = parse_json(payload), []
                        # an error reply; RunFailed is an event with an `error` field
                        if "error" in json_obj and "event" not in json_obj:
                            self._refused(json_obj)
                            json_obj = None
                    if json_obj is not None and len(blobs) == binary_count(json_obj):
                        event, json_obj = decode_event(json_obj, blobs), None
                        deliver(event)
                data = self._recv()
                if not data:
                    break
                frames = reader.feed(data)
        except (OSError, ProtocolError) as e:
            self.error = self.error or f"connection broken: {e}"
        finally:
            self._sock.close()
            self.status = with_liveness(self.status, live=False)
            if not self.ended and not self._closing:
                self._on_event(TrainerGone(self.iteration, self.last_checkpoint,
                                           self.error or "the trainer process exited"))
            self.closed.set()

    def _recv(self) -> bytes:
        while True:
            try:
                return self._sock.recv(1 << 20)
            except socket.timeout:
                continue

    def _refused(self, obj: dict) -> None:
        message = str(obj.get("error"))
        if obj.get("code") in ("too-far-behind", "garbage", "too-big", "version"):
            self.error = message           # the server closes the connection after this
        else:
            self._on_event(RequestRefused(obj.get("id"), message))

    def _note(self, event: Any) -> None:
        it = getattr(event, "iteration", None)
        if isinstance(it, int) and it >= 0:
            self.iteration = it
        self.status = next_status(self.status, event)
        self.ended = self.status.ended
        match event:
            case Paused():
                self._paused = True
            case Resumed():
                self._paused = False
            case CheckpointSaved(kind="last" | "manual"):
                self.last_checkpoint = event.path
