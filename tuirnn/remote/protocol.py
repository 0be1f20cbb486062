"""The wire format between a trainer's control socket and its clients.

A connection is a stream of frames. Each frame is a 5-byte header, then the payload:

    kind: 1 byte   b"J" a UTF-8 JSON object · b"B" raw bytes (a probe array)
    size: 4 bytes  payload length, big-endian, at most MAX_FRAME (server -> client) or
                   MAX_REQUEST_FRAME (client -> server)

JSON objects have exactly one role, told by their first key:
    {"hello": {...}}                         both ways, first: version (and the run summary)
    {"event": "StepsCompleted", ...}         server -> client: events.jsonl's form of an event;
                                             "binary": [field, ...] when byte fields follow as
                                             B frames, one each, in that order (probe arrays)
    {"request": "sample", "id": 7, "args": {...}}   client -> server
    {"error": "one line", "code": "...", "id": 7|null}  server -> client

The conversation: the client says hello; the server answers hello (or an error and closes),
then `history` events (what every client has been sent so far), then live events.

Whatever a client sends, the server only ever sees a ProtocolError from this module: frames
are bounded (MAX_REQUEST_FRAME), request JSON is strict (parse_json), and every request field
is checked for type and range (parse_request), so a bad frame is that client's error alone.
"""
from __future__ import annotations

import dataclasses
import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from ..core.events import from_json_dict, to_json_dict

PROTOCOL_VERSION = "1.0"           # a different major number cannot talk to this one
HEADER = struct.Struct("!cI")      # kind, size
JSON, BINARY = b"J", b"B"
MAX_FRAME = 256 << 20              # a probe of 4 layers x 4000 chars x 2048 units is 128 MiB
MAX_REQUEST_FRAME = 1 << 20        # requests are small: a prime or a typed probe text
MAX_DEPTH = 16                     # of a request's JSON: {"request", "args": {...}} is 2
MAX_INT_DIGITS = 30                # in a request: the largest valid one, a seed, has 19
ID_SPAN = 1_000_000                # client n numbers its requests n*ID_SPAN+1, +2, ...: ids
                                   # never collide between clients (the server checks)


class ProtocolError(Exception):
    """The peer broke the framing or the grammar; `code` is sent back in the error."""

    def __init__(self, message: str, code: str = "bad-request") -> None:
        super().__init__(message)
        self.code = code


def major(version: str) -> int:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return -1


# --- frames --------------------------------------------------------------------------------
def frame(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def json_frame(obj: dict[str, Any]) -> bytes:
    return frame(JSON, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode())


class FrameReader:
    """Incremental parser: feed() received bytes, get back whole (kind, payload) frames."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        self._buf += data
        out, pos, buf = [], 0, self._buf
        while len(buf) - pos >= HEADER.size:
            kind, size = HEADER.unpack_from(buf, pos)
            if kind not in (JSON, BINARY):
                raise ProtocolError("not a tuirnn frame (unknown frame kind)", "garbage")
            if size > self.max_frame:
                raise ProtocolError(f"frame of {size} bytes is over the {self.max_frame}-byte limit",
                                    "too-big")
            end = pos + HEADER.size + size
            if end > len(buf):
                break
            out.append((kind, bytes(buf[pos + HEADER.size:end])))
            pos = end
        del buf[:pos]
        return out


def parse_json(payload: bytes, strict: bool = False) -> dict[str, Any]:
    """A frame's JSON object; ProtocolError for anything else, never another exception.

    json.loads raises more than JSONDecodeError: ValueError for an int of over 4300 digits,
    RecursionError for deep nesting (the C scanner stops near the recursion limit, so that is
    cheap). strict (what a client sends the server): also no NaN/Infinity, no float that
    overflows to inf (1e999), no int of more than MAX_INT_DIGITS digits, and at most
    MAX_DEPTH levels of nesting, so that nothing odd reaches the trainer or a later repr()."""
    hooks: dict[str, Any] = dict(parse_constant=_no_constant, parse_float=_finite,
                                 parse_int=_short_int) if strict else {}
    try:
        obj = json.loads(payload.decode("utf-8"), **hooks)
    except UnicodeDecodeError:
        raise ProtocolError("frame is not UTF-8", "garbage") from None
    except RecursionError:
        raise ProtocolError("JSON nested too deeply", "garbage") from None
    except ValueError as e:          # JSONDecodeError, an int too long, the hooks below
        raise ProtocolError(f"frame is not valid JSON: {str(e)[:100]}", "garbage") from None
    if not isinstance(obj, dict) or not obj:
        raise ProtocolError("frame is not a JSON object", "garbage")
    if strict and _depth(obj) > MAX_DEPTH:
        raise ProtocolError(f"JSON nested more than {MAX_DEPTH} deep", "garbage")
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number here")


def _finite(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"{text[:20]} is out of range")
    return v


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits")
    return int(text)


def _depth(obj: Any) -> int:
    """Nesting depth of parsed JSON, without recursion (obj is already bounded in size)."""
    deepest, todo = 0, [(obj, 1)]
    while todo:
        o, d = todo.pop()
        deepest = max(deepest, d)
        if d <= MAX_DEPTH:          # deeper than that is already the answer
            todo += [(v, d + 1) for v in (o.values() if isinstance(o, dict) else o)
                     if isinstance(v, (dict, list))]
    return deepest


# --- events --------------------------------------------------------------------------------
def encode_event(event: Any) -> bytes:
    """One J frame in events.jsonl's form, then one B frame per non-empty bytes field."""
    d = to_json_dict(event)
    blobs = [(f.name, getattr(event, f.name)) for f in dataclasses.fields(event)
             if isinstance(getattr(event, f.name), bytes) and getattr(event, f.name)]
    if blobs:
        d["binary"] = [name for name, _ in blobs]
    return json_frame(d) + b"".join(frame(BINARY, blob) for _, blob in blobs)


def decode_event(d: dict[str, Any], blobs: list[bytes]) -> Any:
    """Inverse of encode_event: `d` the J frame's object, `blobs` the B frames after it."""
    d = dict(d)
    names = d.pop("binary", [])
    d.update(zip(names, blobs))
    try:
        return from_json_dict(d)
    except (KeyError, TypeError) as e:
        raise ProtocolError(f"unknown or malformed event: {e}", "garbage") from None


def binary_count(d: dict[str, Any]) -> int:
    names = d.get("binary", [])
    if not isinstance(names, list):
        raise ProtocolError("'binary' must list field names", "garbage")
    return len(names)


# --- requests ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """A checked client request: `kind` pause|resume|stop|sample|probe|save."""
    kind: str
    request_id: int | None = None
    args: dict[str, Any] = dataclasses.field(default_factory=dict)


def _int(v, lo: int, hi: int, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ProtocolError(f"{name} must be an integer in [{lo}, {hi}]")
    return v


def _str(v, limit: int, name: str) -> str:
    if not isinstance(v, str) or len(v) > limit:
        raise ProtocolError(f"{name} must be a string of at most {limit} characters")
    try:              # JSON's "\ud800" is a lone surrogate: no event could carry it
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(f"{name} is not valid Unicode (a lone surrogate)") from None
    return v


# name -> checker; the trainer takes these as they are, so nothing unchecked may reach it
SAMPLE_ARGS = {
    "prime": lambda v: _str(v, 10_000, "prime"),
    "temperature": lambda v: _temperature(v),
    "length": lambda v: _int(v, 1, 100_000, "length"),
    "top_k": lambda v: _int(v, 0, 1 << 20, "top_k"),
    "seed": lambda v: None if v is None else _int(v, 0, (1 << 63) - 1, "seed"),
    "stream": lambda v: v if isinstance(v, bool) else _bad("stream must be true or false"),
}
PROBE_ARGS = {
    "text": lambda v: None if v is None else _str(v, 100_000, "text"),
    "source": lambda v: v if v in ("val", "sample", "typed", "file") else
    _bad("source must be val, sample, typed or file"),
    "length": lambda v: _int(v, 1, 100_000, "length"),
    "k": lambda v: _int(v, 1, 50, "k"),
}


def _bad(message: str):
    raise ProtocolError(message)


def _temperature(v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or not 0 < v <= 10:
        raise ProtocolError("temperature must be a number above 0 and at most 10")
    return float(v)


def parse_request(obj: dict[str, Any]) -> Request:
    """A client's JSON object as a Request; ProtocolError names what is wrong."""
    kind = obj.get("request")
    match kind:
        case "pause" | "resume" | "stop":
            return Request(kind)
        case "sample" | "probe" | "save":
            rid = obj.get("id")
            if isinstance(rid, bool) or not isinstance(rid, int) or rid < 0:
                raise ProtocolError(f"a {kind} request needs an integer id")
            args = obj.get("args", {})
            if not isinstance(args, dict):
                raise ProtocolError("args must be an object")
            checkers = {"sample": SAMPLE_ARGS, "probe": PROBE_ARGS, "save": {}}[kind]
            unknown = sorted(set(args) - set(checkers))
            if unknown:            # named in the reply: a few, cut short, never all of them
                names = ", ".join(repr(u[:40]) for u in unknown[:5])
                raise ProtocolError(f"unknown {kind} argument(s): {names}"
                                    + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""))
            return Request(kind, rid, {k: checkers[k](v) for k, v in args.items()})
        case None:
            raise ProtocolError("expected a request ({'request': 'pause', ...})")
        case _:
            # only a string is echoed: repr() of anything else can be huge or deep
            name = repr(kind[:40]) if isinstance(kind, str) else f"of type {type(kind).__name__}"
            raise ProtocolError(f"unknown request {name}; this trainer knows pause, "
                                "resume, stop, sample, probe and save")


def request_message(kind: str, request_id: int | None = None, args: dict | None = None) -> bytes:
    obj: dict[str, Any] = {"request": kind}
    if request_id is not None:
        obj["id"] = request_id
    if args:
        obj["args"] = args
    return json_frame(obj)


def error_message(message: str, code: str, request_id: int | None = None) -> bytes:
    return json_frame({"error": message, "code": code, "id": request_id})
