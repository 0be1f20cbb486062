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

import tuirnn.tui.app
from tuirnn.core.control import Control
from tuirnn.core.events import RunFinished
from tuirnn.tui.app import make_app
from tuirnn.tui.attach import AttachedApp
from tuirnn.tui.messages import EventInbox

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


# --- 80x24: the header and the footer of each tab, as text -----------------------------------
# At 80 columns the header's lines drop whole ' · ' fields and the footer whole bindings (never
# "d De" or "saved las…"); an ended run's footer offers only keys that work (no space, c or d).

def screen_rows(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def check_text(name: str, text: str) -> None:
    """check() for a text snapshot (snapshots/NAME.txt), read in a diff as it is."""
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("TUIRNN_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        new = path.with_suffix(".new.txt")
        new.write_text(text, encoding="utf-8")
        pytest.fail(f"{name}: no snapshot or a different one; see {new} "
                    "(create it with TUIRNN_UPDATE_SNAPSHOTS=1)")


class EndedApp(AttachedApp):
    """An attached monitor on a run whose trainer has gone: requests answered from last.pt
    (a Control stands in for the checkpoint's responder)."""
    CSS_PATH = str(Path(tuirnn.tui.app.__file__).with_name("tuirnn.tcss"))

    def serve_from_checkpoint(self) -> None:
        self.control = Control()
        self.serves_checkpoint = True
        self.run_state.loaded_checkpoint = "/tmp/runs/tiny-demo/checkpoints/last.pt"
        self.refresh_bindings()
        self.monitor.refresh_bindings()


def attached(ended: bool) -> AttachedApp:
    inbox = EventInbox()
    events = fake_run()
    if ended:
        events.append(RunFinished(iteration=500, reason="max_iters", best_val_loss=1.61,
                                  best_checkpoint="/tmp/runs/tiny-demo/checkpoints/best.pt"))
    for ev in events:
        inbox(ev)
    if ended:
        return EndedApp(Path("/tmp/runs/tiny-demo"), inbox, None)
    return AttachedApp(Path("/tmp/runs/tiny-demo"), inbox, Control())


async def header_and_footers(app) -> str:
    out = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for tab in ("1", "2", "3", "4"):
            await pilot.press(tab)
            await pilot.pause(0.1)
            rows = screen_rows(app)
            if tab == "1":
                out += rows[:5] if app.run_state.over else rows[:3]
            out.append(f"[{tab}] {rows[-1]}")
    return "\n".join(line.rstrip() for line in out) + "\n"


@sync
async def test_header_and_footers_at_80x24_live():
    text = await header_and_footers(attached(ended=False))
    assert "space Pause" in text and "saved" not in text.splitlines()[2][-8:]
    check_text("header_footers_80x24_live", text)


@sync
async def test_header_and_footers_at_80x24_ended():
    text = await header_and_footers(attached(ended=True))
    footers = [line for line in text.splitlines() if line.startswith("[")]
    assert all("Pause" not in f and "c Save" not in f and "Detach" not in f for f in footers)
    assert "last.pt" in text and "s Sample" in footers[0]
    check_text("header_footers_80x24_ended", text)
