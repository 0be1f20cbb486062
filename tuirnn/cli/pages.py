"""Writing an `--html` page (neurons, its gates and its vs-ngram view): one message on failure."""
from __future__ import annotations

from pathlib import Path

from ..core.errors import UserError


def write_page(path: str, page: str) -> None:
    try:
        Path(path).write_text(page, encoding="utf-8")
    except OSError as e:
        raise UserError(f"--html {path}: cannot write it ({e.strerror})") from None
