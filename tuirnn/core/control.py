"""The UI's way to ask the training thread for work (DESIGN: one thread owns the model).

Any thread may call the request methods; only the trainer calls `take()` / `wait()`. Requests
are plain dataclasses in a queue; the trainer answers each with an event.
"""
from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class SampleRequest:
    request_id: int | None       # None: the trainer's own (a checkpoint's samples)
    prime: str = ""
    temperature: float = 0.8
    length: int = 500
    top_k: int = 0
    seed: int | None = None
    stream: bool = True


@dataclass(frozen=True)
class ProbeRequest:
    request_id: int
    text: str | None = None      # None: a window of the validation split (probe_window)
    source: str = "val"
    length: int | None = None    # None: probe_window.default_length for the device
    k: int = 5


@dataclass(frozen=True)
class SaveRequest:
    request_id: int


class ControlLike(Protocol):
    """What steers a run: Control in the trainer process, remote.client.RemoteControl in a
    monitor, distributed.SyncedControl on each rank of a torchrun."""

    @property
    def paused(self) -> bool: ...

    @property
    def stopped(self) -> bool: ...

    def pause(self) -> None: ...

    def stop(self) -> None: ...


class TrainerControl(ControlLike, Protocol):
    """The control as the trainer's thread reads it (Control, SyncedControl): a cheap check
    after each step, the pending requests, and a wait while paused."""

    @property
    def has_work(self) -> bool: ...

    def take(self) -> list[Any]: ...

    def wait(self, timeout: float) -> None: ...


class Control:
    """Pause/resume/stop flags plus a queue of work requests."""

    def __init__(self) -> None:
        self._requests: queue.Queue = queue.Queue()
        self._ids = itertools.count(1)
        self._paused = threading.Event()
        self._stopped = threading.Event()
        self._wake = threading.Event()

    # --- any thread -------------------------------------------------------------------
    def pause(self) -> None:
        self._paused.set()
        self._wake.set()

    def resume(self) -> None:
        self._paused.clear()
        self._wake.set()

    def toggle_pause(self) -> bool:
        """Returns True when the request is now to pause."""
        if self._paused.is_set():
            self.resume()
            return False
        self.pause()
        return True

    def stop(self) -> None:
        """Finish the current step, save a checkpoint, end the run."""
        self._stopped.set()
        self._wake.set()

    def request_sample(self, **kwargs) -> int:
        rid = next(self._ids)
        self._put(SampleRequest(request_id=rid, **kwargs))
        return rid

    def request_probe(self, **kwargs) -> int:
        rid = next(self._ids)
        self._put(ProbeRequest(request_id=rid, **kwargs))
        return rid

    def request_save(self) -> int:
        rid = next(self._ids)
        self._put(SaveRequest(request_id=rid))
        return rid

    def _put(self, request) -> None:
        self._requests.put(request)
        self._wake.set()

    # --- the training thread -------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def has_work(self) -> bool:
        """Cheap check made after every step: anything to do at all?"""
        return self._wake.is_set()

    def take(self) -> list:
        """All pending requests, oldest first (non-blocking)."""
        self._wake.clear()
        out = []
        while True:
            try:
                out.append(self._requests.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float) -> None:
        """Block while paused until something happens (a request, resume, stop)."""
        self._wake.wait(timeout)
