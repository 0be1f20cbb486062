"""One connected client, as the server thread sees it: what it still has to be sent.

A client is sent (1) a slice of the shared history, taken when it said hello, then (2) its own
bounded queue of live events. The trainer never waits on it: step reports queued behind each
other are merged into one (all losses kept), and a client whose queue passes its limits is too
far behind: its queue is dropped and it gets one error before the server closes it. Replies
(errors, the hello) are bounded too: a client that sends bad requests and never reads what
they earn is parted the same way, so nothing it sends can grow the server without limit.
"""
from __future__ import annotations

import collections
import socket
import time
from dataclasses import dataclass
from typing import Any

from ..core.events import StepsCompleted, merge_steps
from .protocol import (
    MAX_REQUEST_FRAME,
    PROTOCOL_VERSION,
    FrameReader,
    encode_event,
    error_message,
    json_frame,
    major,
)

SEND_CHUNK = 256 << 10            # bytes copied into the send buffer at a time


@dataclass(frozen=True)
class Limits:
    """How far behind a client may fall before it is dropped."""
    max_events: int = 2000            # queued events after merging (samples, evals, chunks...)
    max_bytes: int = 512 << 20        # queued encoded bytes (probe payloads are big)
    max_losses: int = 2_000_000       # losses held in a merged step report (~40 MB of JSON)
    hello_timeout_s: float = 10.0     # a connection that never says hello is closed
    linger_s: float = 5.0             # time to write a parting error before closing
    max_reply_bytes: int = 256 << 10  # replies waiting for a client that does not read
    max_pending: int = 64             # its samples and probes the trainer has not answered
    max_clients: int = 64             # connections at once; more are told so and closed


class Peer:
    def __init__(self, sock: socket.socket, client_id: int, limits: Limits) -> None:
        self.sock = sock
        self.client_id = client_id
        self.limits = limits
        self.reader = FrameReader(MAX_REQUEST_FRAME)
        self.greeted = False
        self.opened = time.monotonic()
        self.out = bytearray()                 # bytes ready for the socket
        self.history_pos = 0                   # next shared-history frame to send ...
        self.history_end = 0                   # ... up to this one (the history at hello)
        # live events: [event, encoded frames or None (encode when sent)]
        self.queue: collections.deque[list] = collections.deque()
        self.queued_bytes = 0
        self.close_at: float | None = None     # set: write what is in `out`, then close
        self.reply_bytes = 0                   # replies added since `out` was last empty

    # --- the server thread adds ---------------------------------------------------------------
    def enqueue(self, event: Any, encoded: bytes | None) -> bool:
        """Queue a live event; False when the client is too far behind (drop it)."""
        if self.close_at is not None:
            return True
        q = self.queue
        if isinstance(event, StepsCompleted) and q and isinstance(q[-1][0], StepsCompleted):
            old = q[-1]
            self.queued_bytes -= len(old[1]) if old[1] is not None else 0
            q[-1] = [merge_steps(old[0], event), None]
            return len(q[-1][0].losses) <= self.limits.max_losses
        q.append([event, encoded])
        self.queued_bytes += len(encoded) if encoded is not None else 0
        return len(q) <= self.limits.max_events and self.queued_bytes <= self.limits.max_bytes

    def reply(self, message: bytes) -> None:
        """Queue an answer to something the client sent (after whole frames, like events).
        One that would pass max_reply_bytes unread parts the client instead."""
        if self.close_at is not None:
            return
        if self.reply_bytes + len(message) > self.limits.max_reply_bytes:
            self.part(error_message("this client sends requests but does not read the "
                                    "answers; closing", "too-far-behind"))
            return
        self.reply_bytes += len(message)
        self.out += message

    def greet(self, hello: Any, summary: dict[str, Any], history_end: int) -> bool:
        """Answer the client's hello: the run summary (its history follows), or a parting
        error for a hello of another protocol. True when greeted."""
        if not isinstance(hello, dict):
            self.part(error_message("say hello first: {'hello': {'version': '1.0'}}", "garbage"))
            return False
        v = hello.get("version")         # echoed below: a string, cut short
        theirs = str(v)[:20] if isinstance(v, (str, int, float)) else "(no version)"
        if major(theirs) != major(PROTOCOL_VERSION):
            self.part(error_message(
                f"this trainer speaks protocol {PROTOCOL_VERSION} and the client {theirs}; "
                "attach with the tuirnn version that started the run", "version"))
            return False
        self.greeted = True
        self.history_end = history_end
        self.reply(json_frame({"hello": dict(summary, version=PROTOCOL_VERSION,
                                             client_id=self.client_id, history=history_end)}))
        return True

    def part(self, message: bytes, linger_s: float | None = None) -> None:
        """Forget everything queued, send `message` (an error), then close."""
        self.queue.clear()
        self.queued_bytes = 0
        self.history_pos = self.history_end
        self.out += message        # after what `out` holds: a frame may be half sent
        self.close_at = time.monotonic() + (self.limits.linger_s if linger_s is None else linger_s)

    # --- the server thread sends --------------------------------------------------------------
    def wants_write(self) -> bool:
        return bool(self.out) or self.history_pos < self.history_end or bool(self.queue)

    def fill(self, history: list[bytes]) -> None:
        """Move history, then queued events, into `out` until SEND_CHUNK bytes are ready."""
        while len(self.out) < SEND_CHUNK and self.history_pos < self.history_end:
            self.out += history[self.history_pos]
            self.history_pos += 1
        while len(self.out) < SEND_CHUNK and self.queue and self.history_pos >= self.history_end:
            event, encoded = self.queue.popleft()
            if encoded is None:
                encoded = encode_event(event)
            else:
                self.queued_bytes -= len(encoded)
            self.out += encoded

    def send(self, history: list[bytes]) -> None:
        """Write what the socket takes now (non-blocking); OSError when the client is gone."""
        self.fill(history)
        while self.out:
            try:
                n = self.sock.send(self.out)
            except BlockingIOError:
                return
            del self.out[:n]
            if not self.out:
                self.reply_bytes = 0           # the client reads: its replies went out
            self.fill(history)
