"""The monitor at 80x24 and 60x20: help with its close hint in view, the finished banner and
the neuron status line within the width, Keys and Quit in the footer, finder rows unwrapped."""
from __future__ import annotations

from test_neuron_pane import PaneApp
from test_ui_app import screenshot_text
from textual.widgets import OptionList
from ui_fakes import fake_run, run_started, sync

from tuirnn.core.events import CheckpointSaved, RunFinished
from tuirnn.remote.client import TrainerGone
from tuirnn.tui.app import make_app
from tuirnn.tui.render import cell_width
from tuirnn.tui.widgets.footer import MonitorFooter
from tuirnn.tui.widgets.help_screen import CLOSE_HINT, HelpScreen
from tuirnn.tui.widgets.run_banner import finished_lines, fit_path, gone_lines


def on_screen(app, widget) -> bool:
    """The whole of `widget` lies inside the terminal."""
    r, w, h = widget.region, app.size.width, app.size.height
    return r.width > 0 and r.x >= 0 and r.y >= 0 and r.right <= w and r.bottom <= h


@sync
async def test_help_at_80x24_scrolls_with_its_close_hint_in_view():
    app = make_app(events=fake_run())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("#help")
        assert on_screen(app, box) and box.border_subtitle == CLOSE_HINT
        assert box.max_scroll_y > 0                 # more keys than rows: it scrolls
        assert "Esc closes" in screenshot_text(app)
        await pilot.press("end")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y and on_screen(app, box)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@sync
async def test_footer_keeps_keys_and_quit_at_60x20_on_every_tab():
    app = make_app(events=fake_run())
    async with app.run_test(size=(60, 20)) as pilot:
        for tab in ("1", "2", "3", "4"):
            await pilot.press(tab)
            await pilot.pause()
            keys = {k.action: k for k in app.monitor.query_one(MonitorFooter).query("FooterKey")}
            for action in ("help", "stop"):
                assert action in keys and on_screen(app, keys[action]), (tab, action)
                assert keys[action].region.y == 19


def finished_state(ckpt: str, reason: str = "max_iters"):
    app_state = make_app().run_state
    app_state.apply(run_started())
    app_state.apply(CheckpointSaved(iteration=2000, path=ckpt, kind="best", val_loss=1.2345))
    app_state.apply(RunFinished(iteration=2000, reason=reason, best_val_loss=1.2345,
                                best_checkpoint=ckpt))
    return app_state


def test_finished_banner_lines_fit_and_keep_what_matters():
    long = "/home/someone/experiments/runs/warpeace-3x512-20260511-101500/checkpoints/best.pt"
    for width in (120, 78, 58, 40):
        lines = finished_lines(finished_state(long), width)
        assert all(cell_width(line.plain) <= width for line in lines), width
        assert lines[0].plain.startswith("✔ finished (max_iters) at iter 2000")
        assert lines[1].plain.endswith("best.pt") or "still work" in lines[1].plain
    wide = finished_lines(finished_state(long), 200)
    assert "best val 1.234 · q quits" in wide[0].plain and long in wide[1].plain
    assert fit_path(long, 20) == "…" + long[-19:]
    st = finished_state(long)
    st.apply(TrainerGone(2000, long, "the trainer is gone"))
    assert all(cell_width(line.plain) <= 78 for line in gone_lines(st, 78))


def test_the_banner_names_the_checkpoint_that_is_loaded():
    best = "/tmp/runs/tiny-demo/checkpoints/best.pt"
    st = finished_state(best)
    st.loaded_checkpoint = "/tmp/runs/tiny-demo/checkpoints/last.pt"   # what s and Neurons use
    for width in (78, 200):
        line = finished_lines(st, width)[1].plain
        assert "last.pt" in line and "best.pt" not in line, width
    st.apply(TrainerGone(2000, best, "the trainer is gone"))
    assert "last.pt" in gone_lines(st, 78)[0].plain


@sync
async def test_finished_banner_fits_80_columns_and_follows_a_resize():
    long = "/tmp/runs/warpeace-3x512-20260511-101500/checkpoints/best.pt"
    app = make_app(events=[*fake_run(), RunFinished(1000, "max_iters", 1.5, long)])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        banner = app.monitor.query_one("#banner")
        lines = str(banner.render()).split("\n")
        assert banner.display and len(lines) == 2
        assert all(cell_width(line) <= 78 for line in lines) and "best.pt" in lines[1]
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert "s and Neurons still work" in str(banner.render())


@sync
async def test_neuron_status_line_fits_80_columns_with_a_note():
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.query_one("NeuronPane")
        pane.note("left out (not in vocabulary): 'é' ×3 and a rather long explanation")
        await pilot.pause()
        rows = pane.render().split("\n")
        width = pane.content_size.width
        assert len(rows) <= pane.content_size.height
        status = rows[-1]
        assert status.plain.startswith("char 0 ") and "next:" in status.plain
        assert status.cell_len <= width and "%" in status.plain
        assert "left out" in rows[-2].plain                     # the note: a line of its own
        narrow = pane.cursor_line(no_color=False, width=40)
        assert narrow.cell_len <= 40 and "%" in narrow.plain   # fewer guesses, never cut


@sync
async def test_finder_rows_do_not_wrap_on_a_small_terminal():
    app = PaneApp()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        for option_list in app.screen.query(OptionList):
            assert option_list.option_count > 0
            # one screen row per option: the list's content is exactly that tall
            assert option_list.virtual_size.height == option_list.option_count, option_list.id


@sync
async def test_footer_drops_whole_bindings_never_half_a_word():
    """At any width the keys left of the pinned ones end before them: a binding that does not
    fit is hidden whole (no 'd De'), and one that fits again comes back on a wider terminal."""
    from pathlib import Path

    from tuirnn.core.control import Control
    from tuirnn.tui.attach import AttachedApp
    from tuirnn.tui.messages import EventInbox
    inbox = EventInbox()
    for ev in fake_run():
        inbox(ev)
    app = AttachedApp(Path("/tmp/runs/tiny-demo"), inbox, Control())   # live: d Detach too
    async with app.run_test(size=(80, 24)) as pilot:
        for width in (80, 64, 72, 120):
            await pilot.resize_terminal(width, 24)
            await pilot.pause(0.1)
            footer = app.monitor.query_one(MonitorFooter)
            pinned = footer.query_one("#footer-pinned").region
            shown = [w for w in footer.children if w.id != "footer-pinned" and w.display]
            assert shown and all(w.region.right <= pinned.x for w in shown), width
            actions = {getattr(w, "action", None) for w in shown}
            assert ("detach" in actions) == (width >= 100), (width, actions)
