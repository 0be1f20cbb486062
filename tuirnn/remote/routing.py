"""Clients' requests to the Control, and the way back: which client asked for which answer.

Each client numbers its requests in its own span (client n: n*ID_SPAN+1, +2, ...); the Control
numbers them again in one sequence. Routes maps the Control's id to (client, its id), so a
sample's chunks and a probe go to the client that asked, carrying the id it chose. A client
has at most `max_pending` samples and probes waiting: the Control's queue is unbounded, and
the trainer serves it between steps, so a client that floods it would stall the run.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from ..core.control import Control
from ..core.events import ProbeCompleted, SampleGenerated
from .peer import Peer
from .protocol import ID_SPAN, ProtocolError, error_message, parse_request


class Routes:
    def __init__(self, max_pending: int) -> None:
        self.max_pending = max_pending
        self._routes: dict[int, tuple[Peer, int]] = {}   # Control's id -> (client, its id)

    def claim(self, event: Any) -> tuple[Any, Peer | None]:
        """The event as its asker numbered it, and the asker (None: not a routed answer). A
        route ends with the request's last event (a whole sample, a probe)."""
        rid = getattr(event, "request_id", None)
        if rid is None or rid not in self._routes:
            return event, None
        peer, theirs = self._routes[rid]
        if isinstance(event, (SampleGenerated, ProbeCompleted)):
            del self._routes[rid]
        return dataclasses.replace(event, request_id=theirs), peer

    def pending(self, peer: Peer) -> int:
        return sum(p is peer for p, _ in self._routes.values())

    def obey(self, peer: Peer, obj: dict[str, Any], control: Control) -> None:
        """A greeted client's JSON object: pass its request to the Control, or reply with an
        error (the client stays connected: an unknown request may be a newer client's)."""
        rid = obj.get("id")
        rid = rid if isinstance(rid, int) and not isinstance(rid, bool) else None
        try:
            req = parse_request(obj)
            if req.request_id is not None and req.request_id // ID_SPAN != peer.client_id:
                raise ProtocolError(f"request ids of this client are {peer.client_id}*"
                                    f"{ID_SPAN}+n")
            if req.kind in ("sample", "probe") and self.pending(peer) >= self.max_pending:
                raise ProtocolError(f"{self.max_pending} requests of this client are still "
                                    "waiting for the trainer", "busy")
        except ProtocolError as e:
            peer.reply(error_message(str(e), e.code, rid))
            return
        match req.kind:
            case "pause":
                control.pause()
            case "resume":
                control.resume()
            case "stop":
                control.stop()
            case "save":
                control.request_save()
            case "sample":
                self._routes[control.request_sample(**req.args)] = (peer, rid or 0)
            case "probe":
                self._routes[control.request_probe(**req.args)] = (peer, rid or 0)
