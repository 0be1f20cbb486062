"""The one reader of events.jsonl: every command and widget that reads a run's log comes here.

A run.root on a shared server may hold folders others made, so a log is untrusted input: it
may be a FIFO (an open that blocks for ever), a link to /dev/zero (a read that never ends), a
folder, gigabytes, or lines built to break a parser (deep nesting, 5000-digit numbers, bad
UTF-8, fields of the wrong type). Opening never blocks or follows a link; reading is bounded;
a bad line is skipped; a file that cannot be read at all is one EventFileError (a UserError:
one line, exit 2) for that run alone.
"""
from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import UserError
from .events import from_json_dict

# A long run's log is tens of megabytes (a step report every few iterations, a sample at each
# checkpoint); ten times that is still a run, more is something else.
MAX_BYTES = 512 << 20
# A sample's text, a RunStarted's config: well under this; a longer line is not ours.
MAX_LINE = 4 << 20


class EventFileError(UserError):
    """events.jsonl cannot be read: the message is one line naming the file and why."""


def read_bytes(path: Path, max_bytes: int | None = None) -> tuple[bytes, float]:
    """(the file's bytes, its mtime); FileNotFoundError when there is none. O_NONBLOCK: a FIFO opens at once (and is refused by
    the fstat); O_NOFOLLOW: a link is refused rather than followed to a device or another
    user's file."""
    cap = MAX_BYTES if max_bytes is None else max_bytes
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise                  # no log yet: callers already say what that means for them
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise EventFileError(f"{path}: is a symbolic link; a run's log is a plain file, "
                                 "so it is not followed") from None
        raise EventFileError(f"{path}: cannot be opened ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise EventFileError(f"{path}: is {_kind(st.st_mode)}, not a plain file; "
                                 "it is not a log tuirnn wrote")
        if st.st_size > cap:
            raise EventFileError(f"{path}: is {st.st_size:,} bytes, over the {cap:,} a run's "
                                 "log may be; it is not read")
        chunks, left = [], cap + 1       # the file may grow while read: never past the cap
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise EventFileError(f"{path}: grew past the {cap:,} bytes a run's log may be")
        return b"".join(chunks), st.st_mtime
    except OSError as e:
        raise EventFileError(f"{path}: cannot be read ({e.strerror})") from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def loads(raw: bytes | str) -> Any | None:
    """One line as JSON, or None for anything that is not a sane JSON line: too long, bad
    UTF-8, not JSON, nesting deeper than the parser's stack (RecursionError), an integer of
    more digits than Python converts (ValueError)."""
    if len(raw) > MAX_LINE:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):    # JSONDecodeError and UnicodeDecodeError included
        return None


def parse_line(raw: bytes | str) -> Any | None:
    """One line as an event, or None: not JSON (see loads), not an object, an event name we
    do not know, or a field whose type is not its annotation's (from_json_dict checks)."""
    d = loads(raw)
    if not isinstance(d, dict):
        return None
    try:
        return from_json_dict(d)
    except (KeyError, TypeError, ValueError, OverflowError, RecursionError):
        return None


def iter_events(data: bytes, names: tuple[str, ...] | None = None) -> Iterator[Any]:
    """The events in a log's bytes, bad lines skipped. names: only lines that mention one of
    these event names are parsed (a cheap byte test first: a long log reads many times faster)."""
    keys = None if names is None else tuple(f'"{n}"'.encode() for n in names)
    for line in data.split(b"\n"):
        if not line.strip() or (keys is not None and not any(k in line for k in keys)):
            continue
        ev = parse_line(line)
        if ev is not None:
            yield ev


def read_file_events(path: Path, names: tuple[str, ...] | None = None) -> list[Any]:
    """Every readable event in `path`, in log order; EventFileError when the file is not one
    that can be read (see read_bytes)."""
    data, _ = read_bytes(path)
    return list(iter_events(data, names))


def named_log(run: str) -> Path:
    """RUN's events.jsonl, for a command given a run folder by name; one line if it has none."""
    log = Path(run) / "events.jsonl"
    if not log.is_file():
        raise UserError(f"{run}: no events.jsonl there; give a run folder, e.g. one that "
                        "`tuirnn ls` lists")
    return log
