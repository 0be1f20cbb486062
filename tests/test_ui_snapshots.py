"""SVG snapshots of the monitor at a fixed size (100x30), from the fake event stream.

A changed screen fails with the new SVG written next to the old one (`*.new.svg`); look at it
(cairosvg turns it into a PNG) and, when it is right, rerun with TUIRNN_UPDATE_SNAPSHOTS=1.
A missing snapshot fails too (a test that wrote its own reference would always pass): create
it on purpose the same way, `TUIRNN_UPDATE_SNAPSHOTS=1 pytest tests/test_ui_snapshots.py`.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Input
from ui_fakes import fake_run, sync

from tuirnn.core.events import RunFinished
from tuirnn.tui.app import make_app

SNAPSHOTS = Path(__file__).parent / "snapshots"
SIZE = (100, 30)


def check(name: str, svg: str) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("TUIRNN_UPDATE_SNAPSHOTS"):
        path.write_text(svg, encoding="utf-8")
        return
    if not path.exists():
        new = path.with_suffix(".new.svg")
        new.write_text(svg, encoding="utf-8")
        pytest.fail(f"no snapshot {path.name} yet; look at {new}, then create it with "
                    "TUIRNN_UPDATE_SNAPSHOTS=1")
    if path.read_text(encoding="utf-8") != svg:
        new = path.with_suffix(".new.svg")
        new.write_text(svg, encoding="utf-8")
        pytest.fail(f"{name} differs from {path.name}; see {new}")


async def shot(setup) -> str:
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        await setup(app, pilot)
        await pilot.pause()
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()
        return app.export_screenshot()


@sync
async def test_snapshot_training():
    async def setup(app, pilot):
        pass
    check("monitor_training", await shot(setup))


@sync
async def test_snapshot_sample_dialog():
    async def setup(app, pilot):
        await pilot.press("s", *"The ")
    svg = await shot(setup)
    assert "Sample" in svg
    check("monitor_sample_dialog", svg)


@sync
async def test_snapshot_finished_log_scale():
    async def setup(app, pilot):
        await pilot.press("l")
        app.feed(RunFinished(iteration=500, reason="max_iters", best_val_loss=1.61,
                             best_checkpoint="/tmp/runs/tiny-demo/checkpoints/best.pt"))
    svg = await shot(setup)
    check("monitor_finished", svg)
