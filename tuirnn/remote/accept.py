"""Accepting clients on the control socket so that accept() can never end the server.

accept() fails in ways that are the machine's state, not a bug: out of file descriptors
(EMFILE in this process, ENFILE in the system) or kernel memory (ENOBUFS, ENOMEM), and a
client that left before it was accepted (ECONNABORTED, EPROTO). A shortage leaves the
connection in the backlog, so the listener stays readable and a loop that retried at once
would spin on one core: the server stops watching the listener for a moment (Backoff) and
tries again, serving its other clients meanwhile; a departed client is simply skipped.
"""
from __future__ import annotations

import errno
import selectors
import socket
import time

from .protocol import error_message

GONE = {errno.ECONNABORTED, errno.EPROTO, errno.EINTR}   # that one client; accept the next
BATCH = 64                      # accepted per turn, so a flood cannot starve the others


class Backoff:
    """When to listen again after a shortage: 50 ms, doubling to 1 s while it lasts."""

    def __init__(self, first_s: float = 0.05, most_s: float = 1.0) -> None:
        self.first_s, self.most_s = first_s, most_s
        self.delay_s = 0.0
        self.until: float | None = None        # set: not listening until then
        self.shortages = 0                      # seen since the server started (for tests)

    def hit(self) -> None:
        self.shortages += 1
        self.delay_s = min(self.most_s, max(self.first_s, 2 * self.delay_s))
        self.until = time.monotonic() + self.delay_s

    def due(self) -> bool:
        return self.until is not None and time.monotonic() >= self.until

    def ok(self) -> None:
        self.delay_s, self.until = 0.0, None


def accept_some(listener: socket.socket) -> tuple[list[socket.socket], bool]:
    """Accept up to BATCH waiting clients: (their sockets, non-blocking; True on a shortage).
    Any OSError but a departed client counts as a shortage: backing off is always safe."""
    socks: list[socket.socket] = []
    while len(socks) < BATCH:
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return socks, False
        except OSError as e:
            if e.errno in GONE:
                continue
            return socks, True
        sock.setblocking(False)
        socks.append(sock)
    return socks, False


def refuse(sock: socket.socket, limit: int) -> None:
    """Tell a client over the limit why, if its buffer takes it now, and close it."""
    try:
        sock.send(error_message(f"this trainer already serves {limit} clients; close one "
                                "(tuirnn ls shows the live runs)", "too-many-clients"))
    except OSError:
        pass
    sock.close()


class Acceptor:
    """The listener, watched by the server's selector (data "listen") except while backing off."""

    def __init__(self, listener: socket.socket, sel: selectors.BaseSelector) -> None:
        self.listener, self.sel = listener, sel
        self.backoff = Backoff()
        sel.register(listener, selectors.EVENT_READ, "listen")

    def take(self) -> list[socket.socket]:
        """The clients waiting now; on a shortage, stop watching until tick() finds it due."""
        socks, short = accept_some(self.listener)
        if short:
            self.backoff.hit()
            self.sel.unregister(self.listener)
        elif socks:
            self.backoff.ok()
        return socks

    def tick(self) -> None:
        if self.backoff.due():
            self.backoff.until = None
            self.sel.register(self.listener, selectors.EVENT_READ, "listen")
