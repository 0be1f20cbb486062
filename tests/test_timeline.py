"""The sample timeline: the eval schedule `auto`, the fixed sample at every checkpoint, and the
Samples tab that shows them one under another (scrolling, toggling, a diff of two)."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_text

from tuirnn.core import config
from tuirnn.core.control import Control
from tuirnn.core.data import Corpus
from tuirnn.core.errors import UserError
from tuirnn.core.events import EvalCompleted, SampleGenerated
from tuirnn.core.schedule import AUTO_EVALS, eval_due
from tuirnn.core.train import Trainer


def test_auto_schedule_is_early_then_every_eval_every_after():
    due = [i for i in range(1, 6001) if eval_due(i, "auto", 1000)]
    assert due == [100, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 4000, 5000, 6000]
    assert list(AUTO_EVALS) == due[:8]
    assert [i for i in range(1, 12_001) if eval_due(i, "auto", 5000)][-2:] == [5000, 10_000]
    assert [i for i in range(1, 1001) if eval_due(i, 250, 1000)] == [250, 500, 750, 1000]


def test_config_takes_auto_or_a_number():
    cfg = config.load(None)
    assert cfg.train.eval_every == "auto" and cfg.train.eval_every_after == 1000
    assert cfg.sample.timeline is True and cfg.sample.timeline_prime == ""
    assert config.load(None, ["train.eval_every=250"]).train.eval_every == 250
    with pytest.raises(UserError, match="train.eval_every must be a whole number or auto"):
        config.load(None, ["train.eval_every=soon"])
    with pytest.raises(UserError, match="eval_every_after must be greater than 0"):
        config.load(None, ["train.eval_every_after=0"])
    with pytest.raises(UserError, match="sample.seed must be 0 or more"):
        config.load(None, ["sample.seed=-3"])


def tiny_cfg(*overrides: str):
    return config.load(None, ["model.hidden_size=16", "model.embed_size=8", "model.num_layers=1",
                              "train.batch_size=4", "train.seq_length=8", "train.log_every=50",
                              "sample.length=20", *overrides])


def run(cfg, run_dir: Path) -> list:
    events: list = []
    run_dir.mkdir(parents=True)
    corpus = Corpus.from_text(make_text(3000, seed=5), "t", 0.1)
    Trainer(cfg, run_dir, [events.append], Control(), corpus).run()
    return events


def test_auto_evals_with_a_fixed_sample_at_each(tmp_path):
    events = run(tiny_cfg("train.max_iters=320", "sample.timeline_prime=The", "sample.seed=7"),
                 tmp_path / "r")
    assert [e.iteration for e in events if isinstance(e, EvalCompleted)] == [100, 200, 300, 320]
    fixed = [e for e in events if isinstance(e, SampleGenerated) and e.timeline]
    drawn = [e for e in events if isinstance(e, SampleGenerated) and not e.timeline]
    assert [e.iteration for e in fixed] == [100, 200, 300, 320] == [e.iteration for e in drawn]
    assert all(e.seed == 7 and e.text.startswith("The") and e.prime == "The" for e in fixed)
    assert len({e.seed for e in drawn}) == 4              # the random ones change seed
    assert all(e.val_loss is not None for e in fixed)
    # the same model draws the same fixed sample: what differs between checkpoints is the model
    again = run(tiny_cfg("train.max_iters=100", "sample.timeline_prime=The", "sample.seed=7"),
                tmp_path / "again")
    assert [e.text for e in again if isinstance(e, SampleGenerated) and e.timeline] == [fixed[0].text]


def test_timeline_off_draws_only_the_random_sample(tmp_path):
    events = run(tiny_cfg("train.max_iters=10", "train.eval_every=5", "sample.timeline=false"),
                 tmp_path / "r")
    samples = [e for e in events if isinstance(e, SampleGenerated)]
    assert [e.iteration for e in samples] == [5, 10] and not any(e.timeline for e in samples)


# --- the Samples tab ------------------------------------------------------------------------

from ui_fakes import fake_run, sync  # noqa: E402

from tuirnn.tui.app import make_app  # noqa: E402
from tuirnn.tui.sample_entry import SampleEntry  # noqa: E402
from tuirnn.tui.timeline_render import diff_lines, timeline_header, wrap_text  # noqa: E402
from tuirnn.tui.widgets.sample_diff import SampleDiff  # noqa: E402
from tuirnn.tui.widgets.sample_timeline import SampleTimeline  # noqa: E402
from tuirnn.tui.widgets.samples_tab import SamplesTab  # noqa: E402

STAGES = ["tteh  e o,tdhaen e tehe nhe\nt ahd e sooe",
          "The sere to the wand of hes\nand the maned of the pore",
          "The prince was not a sound of the\ncountess and the war.",
          "The prince said to the countess that\nhe had seen the war and peace."]


def checkpoints(n: int) -> list:
    """A fake run, then `n` fixed samples whose text moves from noise to words."""
    evs = fake_run()
    for k in range(n):
        evs.append(SampleGenerated(
            iteration=100 * (k + 1), text=STAGES[min(3, 4 * k // n)] + f" #{k + 1} " + "and so on " * (k % 4),
            prime="", temperature=0.8, top_k=0, seed=1, val_loss=3.0 / (1 + k / 5),
            word_share=min(1.0, k / n), timeline=True))
    return evs


def test_wrap_text_fits_the_width_and_keeps_line_breaks():
    text = "the war and peace of the world\nshort\n" + "x" * 25 + "\n世界世界世界"
    lines = wrap_text(text, 10)
    assert all(sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in line) <= 10 for line in lines)
    assert lines[:4] == ["the war", "and peace", "of the", "world"]
    assert "short" in lines and "x" * 10 in lines and "世界世界世" in lines
    assert wrap_text("a\x00b", 5) == ["a·b"]


def test_header_says_iter_val_and_words_in_the_width():
    entry = SampleEntry(text="x", iteration=1500, val_loss=1.2345, word_share=0.43)
    head = timeline_header(entry, 4, 12, 60)
    assert head.cell_len == 60 and "5/12" in head.plain and "iter 1500" in head.plain
    assert "val 1.234" in head.plain or "val 1.235" in head.plain
    assert "words 43%" in head.plain and head.plain.endswith("─")
    assert timeline_header(entry, 4, 12, 20).cell_len == 20
    assert "◆" in timeline_header(entry, 4, 12, 80, base=True).plain
    assert timeline_header(entry, 4, 12, 80, selected=True).plain.startswith("▶")


def test_diff_marks_lines_each_side_has_alone():
    lines = [t.plain for t in diff_lines("the same\nold line\nend", "the same\nnew line\nend")]
    assert lines == ["  the same", "- old line", "+ new line", "  end"]


@sync
async def test_timeline_with_50_checkpoints_scrolls_toggles_and_diffs():
    app = make_app(events=checkpoints(50))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        tab = app.monitor.query_one(SamplesTab)
        timeline = app.monitor.query_one(SampleTimeline)
        assert tab.mode == "timeline" and timeline.display
        assert len(timeline.entries) == 50 and timeline.current == 49
        # following the newest: it is in view (the end of the scroll area)
        assert timeline.scroll_y == timeline.max_scroll_y > 0
        shown = "\n".join(timeline.render_line(y).text for y in range(timeline.size.height))
        assert "#50" in shown and "50/50" in shown
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert timeline.selected == 47
        view = [timeline.render_line(y).text for y in range(timeline.size.height)]
        picked = [line for line in view if line.startswith("▶")]
        assert len(picked) == 1 and "48/50" in picked[0] and "iter 4800" in picked[0]
        await pilot.press("b", "left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert timeline.base == 47 and timeline.selected == 44
        for _ in range(20):
            await pilot.press("left_square_bracket")
        assert timeline.render_line(0).text.startswith("▶ 25/50")   # scrolled to its header
        for _ in range(20):
            await pilot.press("right_square_bracket")
        assert timeline.selected == 44
        await pilot.press("equals_sign")
        assert isinstance(app.screen, SampleDiff)
        assert (app.screen.old.iteration, app.screen.new.iteration) == (4500, 4800)
        await pilot.press("escape")
        for _ in range(5):
            await pilot.press("right_square_bracket")
        assert timeline.selected is None and timeline.scroll_y == timeline.max_scroll_y
        # e: the random samples (fake_run's two), and back
        await pilot.press("e")
        assert tab.mode == "random" and not timeline.display and tab.active().id == "history"
        await pilot.press("e")
        assert tab.mode == "timeline" and timeline.display
        # a new checkpoint while following: it comes into view
        app.feed(SampleGenerated(iteration=9999, text="the newest one", prime="", temperature=0.8,
                                 top_k=0, seed=1, val_loss=0.5, word_share=1.0, timeline=True))
        await pilot.pause()
        assert timeline.scroll_y == timeline.max_scroll_y
        assert any("iter 9999" in timeline.render_line(y).text for y in range(timeline.size.height))


@sync
async def test_without_fixed_samples_the_tab_shows_the_others():
    app = make_app(events=fake_run())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        tab = app.monitor.query_one(SamplesTab)
        assert tab.mode == "random" and tab.active().id == "history"
        await pilot.press("equals_sign")            # no fixed samples: a note, no dialog
        assert not isinstance(app.screen, SampleDiff)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
@sync
async def test_snapshot_samples_tab(size):
    from test_ui_snapshots import check
    app = make_app(events=checkpoints(12))
    async with app.run_test(size=size) as pilot:
        await pilot.press("2", "left_square_bracket")
        await pilot.pause()
        svg = app.export_screenshot()
    assert "1100" in svg and "11/12" in svg
    check(f"samples_timeline_{size[0]}x{size[1]}", svg)


def write_run(run_dir: Path, events: list) -> Path:
    import json

    from tuirnn.core.events import to_json_dict
    run_dir.mkdir(parents=True)
    (run_dir / "events.jsonl").write_text(
        "".join(json.dumps(to_json_dict(e)) + "\n" for e in events), encoding="utf-8")
    return run_dir


def test_samples_command_prints_the_evolution_and_writes_html(tmp_path, capsys):
    from tuirnn.cli.main import main
    run_dir = write_run(tmp_path / "r", checkpoints(5))
    assert main(["samples", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "5 checkpoints" in out and "the fixed sample (seed 1" in out
    heads = [line for line in out.splitlines() if line.startswith("── iter ")]
    assert [h.split()[2] for h in heads] == ["100", "200", "300", "400", "500"]
    assert "sample at 200" not in out                      # the random ones are left out
    page = tmp_path / "t.html"
    assert main(["samples", str(run_dir), "--html", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert html.count("<section>") == 5 and "iter 300 · val" in html and "<script" not in html
    # a run without fixed samples shows each checkpoint's random one instead
    assert main(["samples", str(write_run(tmp_path / "old", fake_run()))]) == 0
    assert "no fixed samples" in capsys.readouterr().out


def test_samples_command_refuses_what_is_not_a_run(tmp_path, capsys):
    from tuirnn.cli.main import main
    assert main(["samples", str(tmp_path)]) == 2
    assert "no events.jsonl" in capsys.readouterr().err
    run_dir = write_run(tmp_path / "r", checkpoints(2))
    assert main(["samples", str(run_dir), "--html", str(tmp_path / "nope" / "x.html")]) == 2
    assert "folder does not exist" in capsys.readouterr().err
