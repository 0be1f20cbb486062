"""From the training thread to the UI without ever making the trainer wait.

The trainer calls `EventInbox.__call__` (a sink) on its own thread. That only appends to a
deque (atomic under the GIL) and, for events a person wants to see at once (pause, eval,
finish...), posts one `EventsPending` message to the app if none is pending yet. Step reports
are not posted at all: the monitor drains the inbox on a timer a few times a second, and
`drain()` merges consecutive StepsCompleted into one, so a burst of reports costs one redraw.
"""
from __future__ import annotations

import collections
from typing import Any, Callable

from textual.message import Message

from ..core.events import StepsCompleted, merge_steps


class EventsPending(Message):
    """Core events are waiting in the inbox; drain it now (only ever one in the queue)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EventsPending)


class RunExited(Message):
    """The training thread returned (after RunFinished or RunFailed, or it died)."""


class EventInbox:
    """A sink for the trainer; the UI drains it on its own thread.

    `notify` is called (on the training thread) after an urgent event is queued; the app
    passes a function that posts EventsPending, which Textual makes thread-safe.
    """

    def __init__(self, notify: Callable[[], Any] | None = None) -> None:
        self._queue: collections.deque = collections.deque()
        self._notify = notify
        self._posted = False

    def __call__(self, event: Any) -> None:
        self._queue.append(event)
        if not isinstance(event, StepsCompleted) and self._notify is not None and not self._posted:
            self._posted = True
            try:
                self._notify()
            except Exception:    # the app is closing; the timer or the final drain picks it up
                pass

    def set_notify(self, notify: Callable[[], Any] | None) -> None:
        self._notify = notify

    def drain(self) -> list[Any]:
        """Everything queued so far, oldest first, consecutive StepsCompleted merged."""
        self._posted = False
        out: list[Any] = []
        while True:
            try:
                ev = self._queue.popleft()
            except IndexError:
                return out
            if isinstance(ev, StepsCompleted) and out and isinstance(out[-1], StepsCompleted):
                out[-1] = merge_steps(out[-1], ev)
            else:
                out.append(ev)

    def __len__(self) -> int:
        return len(self._queue)
