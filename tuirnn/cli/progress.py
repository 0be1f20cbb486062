"""A rich progress bar for corpus downloads (UI side: the core only sees a callable)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


@contextmanager
def download_progress_bar(description: str = "downloading",
                          console: Console | None = None) -> Iterator[Callable[[int, int | None], None]]:
    """Yield `progress(done_bytes, total_bytes_or_None)` drawing a bar on stderr.

    The bar appears on the first call, so nothing is drawn when no download happens:

        with download_progress_bar() as progress:
            name, raw = locate_corpus(cfg.data, progress)
    """
    console = console or Console(stderr=True)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=False)
    task = None

    def progress(done: int, total: int | None) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield progress
    finally:
        if task is not None:
            bar.stop()
