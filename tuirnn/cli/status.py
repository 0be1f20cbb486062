"""A transient status line on a terminal's stderr during slow start-up work."""
from __future__ import annotations

import sys


def show_status(message: str) -> None:
    """A transient line on a terminal's stderr while the slow start-up work runs (corpus,
    model); the next status, the monitor or an error line replaces it. Nothing on a pipe."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + message)
        sys.stderr.flush()


def clear_status() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
