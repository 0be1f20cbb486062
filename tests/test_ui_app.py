"""Pilot tests of the monitor, driven by a fake event stream (no torch, no trainer thread)."""
from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Input, TabbedContent
from ui_fakes import VOCAB, fake_run, sync

from tuirnn.core.control import ProbeRequest, SampleRequest, SaveRequest
from tuirnn.core.events import (
    CheckpointSaved,
    EvalCompleted,
    EvalStarted,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    SampleChunkGenerated,
    SampleGenerated,
)
from tuirnn.tui.app import make_app
from tuirnn.tui.messages import RunExited
from tuirnn.tui.widgets.help_screen import HelpScreen
from tuirnn.tui.widgets.loss_chart import LossChart
from tuirnn.tui.widgets.sample_dialog import SampleDialog, parse_sample_form
from tuirnn.tui.widgets.samples_panel import SamplesPanel

SIZE = (100, 30)


def screen_text(app) -> str:
    """Everything the widgets would show, as plain text (header, chart, samples)."""
    from tuirnn.tui.render import header_lines
    parts = [line.plain for line in header_lines(app.run_state, 100)]
    for panel in app.monitor.query(SamplesPanel):
        parts.append(str(panel.query_one("#sample-title").render()))
        parts.append(str(panel.query_one("#sample-text").render()))
    parts.append(str(app.monitor.query_one("#banner").render()))
    return "\n".join(parts)


def screenshot_text(app) -> str:
    """The screen as exported, with its non-breaking spaces as plain ones."""
    return app.export_screenshot().replace("&#160;", " ")


def requests(control) -> list:
    """Requests sent, less the re-probes the neuron pane gets at every eval."""
    return [r for r in control.take() if not isinstance(r, ProbeRequest)]


@sync
async def test_header_chart_and_samples_show_the_run():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "TRAINING" in text and "tiny-demo" in text and "LSTM 2×128" in text
        assert "iter 500/2000" in text and "sample 2/2" in text and "words 67%" in text
        assert "世界" in text
        chart = app.monitor.query_one(LossChart)
        assert "linear" in chart.border_title
        for mark in ("raw", "smoothed", "─ val", "★ best"):
            assert mark in chart.border_title
        assert any(0x2800 < ord(c) <= 0x28FF for text, _ in chart.chart_rows() for c in text)


@sync
async def test_bad_keys_before_the_run_starts_do_not_crash():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for key in ("space", "s", "c", "left_square_bracket", "right_square_bracket", "l",
                    "2", "3", "1"):
            await pilot.press(key)
        assert not isinstance(app.screen, SampleDialog)
        assert requests(app.control) == []
        assert "STARTING" in screen_text(app)


@sync
async def test_pause_and_resume():
    app = make_app(events=fake_run(5))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        assert app.control.paused and app.run_state.state == "pausing"
        app.feed(Paused(iteration=50))
        assert "PAUSED" in screen_text(app)
        await pilot.press("space")
        assert not app.control.paused and app.run_state.state == "resuming"
        app.feed(Resumed(iteration=50))
        assert "TRAINING" in screen_text(app)


@sync
async def test_sample_dialog_requests_and_streams_a_sample():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "s")
        assert isinstance(app.screen, SampleDialog)
        assert app.screen.query_one("#length", Input).value == "300"   # from the run's config
        await pilot.press(*"The ")
        await pilot.press("enter")
        assert not isinstance(app.screen, SampleDialog)
        sent = [r for r in requests(app.control) if isinstance(r, SampleRequest)]
        assert len(sent) == 1 and sent[0].prime == "The " and sent[0].length == 300
        rid = sent[0].request_id
        assert "generating" in screen_text(app)
        app.feed(SampleChunkGenerated(request_id=rid, text="The "),
                 SampleChunkGenerated(request_id=rid, text="war 世界"))
        assert "The war 世界" in screen_text(app)
        app.feed(SampleGenerated(iteration=500, text="The war 世界 and peace", prime="The ",
                                 temperature=0.8, top_k=0, seed=3, val_loss=1.9, word_share=0.75,
                                 request_id=rid))
        text = screen_text(app)
        assert "generating" not in text and "sample 3/3" in text and "requested" in text
        assert len(app.run_state.samples) == 3


@sync
async def test_sample_dialog_starts_from_the_config_then_the_last_values():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        async def open_dialog():
            await pilot.press("s")
            return app.screen.query_one("#length", Input)
        assert (await open_dialog()).value == "300"
        await pilot.press("escape")
        length = await open_dialog()
        assert length.value == "300"                          # cancelling changes nothing
        length.value = "77"
        app.screen.query_one("#prime", Input).value = "a\\nb"
        await pilot.press("enter")
        length = await open_dialog()
        assert length.value == "77" and app.screen.query_one("#prime", Input).value == "a\\nb"
        length.value = ""                                     # empty: the config's, not 500
        await pilot.press("enter")
        sent = [r for r in requests(app.control) if isinstance(r, SampleRequest)]
        assert [r.length for r in sent] == [77, 300] and sent[0].prime == "a\nb"
        assert (await open_dialog()).value == "300"
        await pilot.press("escape")


@sync
async def test_sample_dialog_rejects_bad_values_and_cancels():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        dialog = app.screen
        dialog.query_one("#temperature", Input).value = "0"
        await pilot.press("enter")
        assert app.screen is dialog
        assert "temperature" in str(dialog.query_one("#sample-error").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, SampleDialog)
        assert requests(app.control) == []


def test_parse_sample_form():
    ok, err = parse_sample_form({"prime": "ab\\n", "temperature": "1.2", "length": "50",
                                 "top_k": "5", "seed": "7"}, VOCAB)
    assert err == "" and ok == {"prime": "ab\n", "temperature": 1.2, "length": 50, "top_k": 5, "seed": 7}
    assert parse_sample_form({"prime": "€"}, VOCAB)[1].startswith("prime has characters")
    assert parse_sample_form({"length": "x"}, VOCAB)[0] is None
    assert parse_sample_form({"top_k": "-1"}, VOCAB)[0] is None
    assert parse_sample_form({}, None)[0]["seed"] is None


@sync
async def test_save_now():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        assert any(isinstance(r, SaveRequest) for r in requests(app.control))
        assert app.run_state.state == "saving"
        app.feed(CheckpointSaved(iteration=500, path="/tmp/x/checkpoints/last.pt", kind="manual",
                                 val_loss=None))
        assert app.run_state.state == "training"
        assert "saved last.pt @500" in screen_text(app)


@sync
async def test_older_newer_samples_and_tabs():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        tabs = app.monitor.query_one(TabbedContent)
        await pilot.press("left_square_bracket")
        assert tabs.active == "samples"
        history = app.monitor.query_one("#history", SamplesPanel)
        assert history.current == 0
        await pilot.press("left_square_bracket")          # already the oldest: a bell, no crash
        assert history.current == 0
        await pilot.press("right_square_bracket")
        assert history.current == 1 and history.index is None   # follows the newest again
        for key, tab in (("3", "neurons"), ("1", "training"), ("2", "samples")):
            await pilot.press(key)
            assert tabs.active == tab


@sync
async def test_log_toggle_and_help():
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        chart = app.monitor.query_one(LossChart)
        await pilot.press("l")
        assert chart.log_scale and "log" in chart.border_title
        await pilot.press("l")
        assert not chart.log_scale
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = screenshot_text(app)
        assert "Monitor keys" in shown and "Esc closes" in shown
        await pilot.press("end")              # the Neurons tab's keys are below the fold:
        await pilot.pause()                   # scrolled to, the close hint stays in view
        shown = screenshot_text(app)
        assert "Monitor keys" not in shown and "Esc closes" in shown
        console = Console(width=200, file=io.StringIO(), record=True)
        for widget in app.screen.query("Static"):
            console.print(widget.content)
        help_text = console.export_text()
        assert "rank all units" in help_text and "go to a unit" in help_text and "from 0" in help_text
        assert "Monitor keys" in help_text and "Neurons tab keys" in help_text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@sync
async def test_command_palette_lists_the_monitor_commands():
    app = make_app(events=fake_run(3))
    async with app.run_test(size=SIZE):
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        # one command per bound action, titled by its binding, the key in its help line
        for title in ("Pause", "Sample", "Save", "Log", "Quit", "Keys", "Samples tab",
                      "Older sample", "Neurons: Next unit"):
            assert title in commands
        assert "Resume" not in commands                  # space is Pause while training
        assert "key s" in commands["Sample"].help and "prime" in commands["Sample"].help
        assert [c.title for c in app.get_system_commands(app.screen)].count("Quit") == 1
        await commands["Neurons tab"].callback()
        assert app.monitor.query_one(TabbedContent).active == "neurons"
        await commands["Log"].callback()
        assert app.monitor.query_one(LossChart).log_scale
        await commands["Log"].callback()
        assert not app.monitor.query_one(LossChart).log_scale


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
@sync
async def test_quit_stops_the_trainer_and_waits_for_it(key):
    app = make_app(events=fake_run(3))
    async with app.run_test(size=SIZE) as pilot:
        app.training_alive = True            # as if a trainer thread were running
        await pilot.press(key)
        assert app.control.stopped and app.run_state.state == "stopping"
        assert app.is_running                # waits for the save
        app.feed(RunFinished(iteration=30, reason="stopped", best_val_loss=None,
                             best_checkpoint=None))
        app.post_message(RunExited())
        await pilot.pause()
    assert app.return_code == 0


@sync
async def test_second_quit_leaves_at_once():
    app = make_app(events=fake_run(3))
    async with app.run_test(size=SIZE) as pilot:
        app.training_alive = True
        await pilot.press("q")
        await pilot.pause()
        # the first q asks the trainer to stop and waits for it (no RunExited comes here)
        assert app.control.stopped and app.return_code is None and app.is_running
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0                   # the second left without waiting


@sync
async def test_failure_is_shown_and_exit_status_is_1():
    app = make_app(events=fake_run(3))
    async with app.run_test(size=SIZE) as pilot:
        app.feed(RunFailed(iteration=30, error="RuntimeError: boom", traceback="Traceback...\n"))
        await pilot.pause()
        text = screen_text(app)
        assert "FAILED" in text and "RuntimeError: boom" in text and "/tmp/runs/tiny-demo" in text
        assert app.exit_status() == 1
        await pilot.press("q")


@sync
async def test_neuron_pane_gets_probes_and_is_reprobed_at_every_eval():
    from tuirnn.core.events import ProbeCompleted
    app = make_app(events=fake_run(3))
    async with app.run_test(size=SIZE) as pilot:
        app.control.take()
        app.feed(EvalCompleted(iteration=30, epoch=0.1, val_loss=2.0, best_val_loss=2.0, is_best=True))
        assert any(isinstance(r, ProbeRequest) for r in app.control.take())
        probe = ProbeCompleted(iteration=30, text="ab", cell="lstm", num_layers=1, hidden_size=1,
                               k=1, h=b"\0" * 8, c=b"\0" * 8, top_ids=b"\0" * 8,
                               top_probs=b"\0" * 8, vocab="ab")
        app.feed(probe)
        assert app.monitor.neuron_pane.probe is probe
        app.feed(SampleGenerated(iteration=30, text="the newest sample", prime="", temperature=0.8,
                                 top_k=0, seed=1, val_loss=2.0, word_share=1.0))
        assert app.monitor.neuron_pane.latest_sample == "the newest sample"
        await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 50), (60, 16)])
@sync
async def test_sizes_and_resize(size):
    app = make_app(events=fake_run())
    async with app.run_test(size=size) as pilot:
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert app.monitor.query_one(LossChart).content_size.width > 0


@sync
async def test_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.no_color
        assert "TRAINING" in screen_text(app)
        assert "tiny-demo" in app.export_screenshot()


@sync
async def test_neurons_footer_shows_the_pane_keys_and_monitor_keys_still_work():
    app = make_app(events=fake_run())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        shown = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"n", "p", "plus", "g", "x", "f", "r", "question_mark", "q"} <= shown
        assert not shown & {"space", "s", "c", "t", "l"}
        await pilot.press("space")                   # still pauses from the Neurons tab
        assert app.control.paused


@sync
async def test_header_shows_all_three_lines_at_80_columns():
    from tuirnn.tui.widgets.status_header import StatusHeader
    app = make_app(events=fake_run())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header = app.monitor.query_one(StatusHeader)
        lines = [header.render_line(y).text for y in range(3)]
        assert "TRAINING" in lines[0]
        assert "iter 500/2000" in lines[1] and "ETA" in lines[1] and "ch/s" in lines[1]
        assert lines[2].lstrip().startswith("loss") and "best" in lines[2]


@sync
async def test_chart_redraws_new_losses_at_a_bounded_rate_and_always_catches_up():
    from tuirnn.core.events import StepsCompleted
    app = make_app(events=fake_run())
    async with app.run_test(size=SIZE) as pilot:
        chart = app.monitor.query_one(LossChart)
        chart.MIN_REDRAW_INTERVAL = 0.3
        await pilot.pause(0.4)
        drawn = []
        chart.refresh = lambda *a, **k: drawn.append(app.run_state.iteration)
        it = app.run_state.iteration
        for _ in range(5):                       # a burst of reports: one redraw now...
            it += 10
            app.feed(StepsCompleted(iteration=it, epoch=it / 400, losses=(1.5,) * 10, lr=2e-3,
                                    chars_per_sec=45_000, elapsed_s=it / 20))
        assert len(drawn) == 1
        await pilot.pause(0.5)                   # ...and one more, later, with the newest data
        assert len(drawn) == 2 and drawn[-1] == it
        chart.MIN_REDRAW_INTERVAL = 60
        for _ in range(2):
            it += 10
            app.feed(StepsCompleted(iteration=it, epoch=it / 400, losses=(1.5,) * 10, lr=2e-3,
                                    chars_per_sec=45_000, elapsed_s=it / 20))
        assert len(drawn) == 2                   # within the interval: later
        app.feed(EvalStarted(iteration=it))      # the trainer stops stepping: draw at once
        assert len(drawn) == 3 and drawn[-1] == it
