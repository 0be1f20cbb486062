"""Comparing runs: curves and configs read from run folders, the differing keys, the chart
(colours and marker letters), `tuirnn compare` and the monitor's Runs tab."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from ui_fakes import run_started, sync

from tuirnn.cli.main import main as cli
from tuirnn.core.compare import differing_keys, load_run, other_runs, table_rows
from tuirnn.core.events import EvalCompleted, RunResumed, SampleGenerated, StepsCompleted, to_json_dict
from tuirnn.tui.compare_render import Curve, compare_chart, curve_styles


def config(hidden: int, layers: int, name: str) -> dict:
    return {"model": {"cell": "lstm", "hidden_size": hidden, "num_layers": layers},
            "train": {"learning_rate": 0.002, "batch_size": 50},
            "run": {"name": name, "root": "runs"}, "sample": {"seed": hidden}}


def make_run(root: Path, name: str, hidden: int, layers: int, floor: float,
             evals: int = 10, every: int = 100, extra: list | None = None) -> Path:
    """A run folder whose events.jsonl holds a start, steps and `evals` val losses falling to
    about `floor`."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    events: list[Any] = [run_started(run_name=name, run_dir=str(run_dir), hidden_size=hidden,
                          num_layers=layers, config=config(hidden, layers, name))]
    for k in range(1, evals + 1):
        it = k * every
        events.append(StepsCompleted(iteration=it, epoch=it / 400, losses=(floor + 1.0,) * 5,
                                     lr=2e-3, chars_per_sec=1000.0, elapsed_s=float(k)))
        events.append(EvalCompleted(iteration=it, epoch=it / 400,
                                    val_loss=floor + 2 * math.exp(-k / 3), best_val_loss=0.0,
                                    is_best=True))
    events += extra or []
    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(to_json_dict(ev)) + "\n")
    return run_dir


def test_load_run_reads_evals_config_and_best_and_follows_resumes(tmp_path):
    # a resume at 500 drops what the crashed process logged after it (evals 600..1000 once)
    resumed = [RunResumed(iteration=500),
               EvalCompleted(iteration=600, epoch=1.5, val_loss=9.0, best_val_loss=1.0,
                             is_best=False),
               SampleGenerated(iteration=600, text='"EvalCompleted" in a sample', prime="",
                               temperature=1.0, top_k=0, seed=1, val_loss=None,
                               word_share=0.0)]
    run = load_run(make_run(tmp_path, "a", 256, 2, 1.2, extra=resumed))
    assert run.config["model"]["hidden_size"] == 256
    assert [it for it, _ in run.val] == [100, 200, 300, 400, 500, 600]
    assert run.val[-1] == (600, 9.0)
    best_it, best = run.best
    assert best_it == 500 and best == pytest.approx(1.2 + 2 * math.exp(-5 / 3))


def test_differing_keys_leave_out_names_folders_and_sampling():
    a, b = config(256, 2, "a"), config(512, 3, "b")
    assert differing_keys([a, b]) == ["model.hidden_size", "model.num_layers"]
    assert differing_keys([a, config(256, 2, "c")]) == []
    c = config(256, 2, "c")
    del c["train"]["batch_size"]                  # absent in one: differs
    assert differing_keys([a, c]) == ["train.batch_size"]


def test_table_rows_show_each_runs_values_and_best(tmp_path):
    runs = [load_run(make_run(tmp_path, "small", 256, 2, 1.4)),
            load_run(make_run(tmp_path, "big", 512, 3, 1.2))]
    header, rows = table_rows(runs, ["A", "B"])
    assert header == ["", "RUN", "BEST VAL", "@ITER", "ITER", "model.hidden_size",
                      "model.num_layers"]                # what matters first
    assert rows[0][5:] == ["256", "2"] and rows[1][5:] == ["512", "3"]
    assert float(rows[1][2]) < float(rows[0][2])          # the 3x512 beats the 2x256
    assert rows[1][3] == "1000" and rows[1][4] == "1000"


def test_other_runs_are_the_newest_with_a_log_without_this_one(tmp_path):
    paths = [make_run(tmp_path, f"r{i}", 64, 1, 1.5) for i in range(4)]
    for i, p in enumerate(paths):                         # r3 newest
        t = 1_000_000 + i
        import os
        os.utime(p / "events.jsonl", (t, t))
    (tmp_path / "not-a-run").mkdir()
    assert other_runs(tmp_path, paths[3], limit=2) == [paths[2], paths[1]]


def test_chart_tells_curves_apart_by_letter_without_colour():
    a = [(it, 1.2 + 2 * math.exp(-it / 300)) for it in range(100, 3001, 100)]
    b = [(it, 1.5 + 2 * math.exp(-it / 400)) for it in range(100, 2001, 100)]
    styles = curve_styles(2, no_color=True)
    lines = compare_chart([Curve("A", styles[0], a), Curve("B", styles[1], b)], 80, 16)
    text = "\n".join(line.plain for line in lines)
    assert len(lines) == 16 and all(len(line.plain) <= 80 for line in lines)
    assert text.count("A") >= 2 and text.count("B") >= 2       # letters along each curve
    assert lines[-1].plain.strip().endswith("3000")             # x axis to the last eval
    # B ends at iteration 2000: its last letter sits about 2/3 across, A's at the right edge
    col_a = max(line.plain.rfind("A") for line in lines[:-1])
    col_b = max(line.plain.rfind("B") for line in lines[:-1])
    assert col_a == 79 and 50 < col_b < 65
    coloured = compare_chart([Curve("A", "bold yellow", a), Curve("B", "cyan", b)], 80, 16)
    assert any(span.style == "cyan" for line in coloured for span in line.spans)


def test_chart_without_evals_says_so():
    lines = compare_chart([Curve("A", "", [])], 40, 8)
    assert "no evals yet" in "\n".join(line.plain for line in lines)


def test_compare_command_prints_a_plain_table_when_piped(tmp_path, capsys):
    make_run(tmp_path, "lstm-256", 256, 2, 1.4)
    make_run(tmp_path, "lstm-512", 512, 3, 1.2)
    assert cli(["compare", "lstm-256", "lstm-512", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["RUN", "BEST", "VAL", "@ITER", "ITER", "model.hidden_size",
                              "model.num_layers"]        # best val before the config columns
    assert out[1].split()[:2] + out[1].split()[-2:] == ["A", "lstm-256", "256", "2"]
    assert out[2].split()[:2] + out[2].split()[-2:] == ["B", "lstm-512", "512", "3"]
    assert "\x1b[" not in "\n".join(out)


def test_compare_command_refuses_bad_runs_with_one_line(tmp_path, capsys):
    make_run(tmp_path, "only", 64, 1, 1.5)
    assert cli(["compare", "nope", "--root", str(tmp_path)]) == 2
    assert cli(["compare", "only", "--root", str(tmp_path)]) == 2      # nothing to compare with
    assert cli(["compare", "only", "only", "--open", "--root", str(tmp_path)]) == 2   # no tty
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "no other run" in err[1] and "needs a terminal" in err[2]


@sync
async def test_runs_tab_overlays_other_runs_under_the_root(tmp_path, monkeypatch):
    from textual.widgets import TabbedContent

    from tuirnn.tui.app import make_app
    from tuirnn.tui.widgets.runs_tab import CompareChart, RunsTab
    monkeypatch.setattr(RunsTab, "RELOAD_EVERY_S", 0.2)
    other = make_run(tmp_path, "other-512", 512, 3, 1.2)
    this_dir = tmp_path / "this-256"
    this_dir.mkdir()
    events = [run_started(run_name="this-256", run_dir=str(this_dir), hidden_size=256,
                          num_layers=2, config=config(256, 2, "this-256"))]
    events += [EvalCompleted(iteration=k * 100, epoch=k / 4, val_loss=2.0 - k * 0.05,
                             best_val_loss=0.0, is_best=True) for k in range(1, 6)]
    app = make_app(events=events)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        assert app.monitor.query_one(TabbedContent).active == "runs"
        tab = app.monitor.query_one(RunsTab)
        assert [r.name for r in tab.others] == ["other-512"]
        table = str(tab.query_one("#runs-table").render())
        assert "this-256" in table and "other-512" in table and "model.hidden_size" in table
        chart = tab.query_one(CompareChart)
        assert [c.marker for c in chart.curves] == ["A", "B"] and len(chart.curves[1].points) == 10
        # a new eval of this run reaches the open tab
        app.feed(EvalCompleted(iteration=600, epoch=1.5, val_loss=1.0, best_val_loss=1.0,
                               is_best=True))
        await pilot.pause()
        assert chart.curves[0].points[-1] == (600, 1.0)
        # the other run trains on: its new eval shows while the tab stays open...
        with open(other / "events.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(to_json_dict(EvalCompleted(iteration=1100, epoch=2.75, val_loss=1.1,
                                                          best_val_loss=1.1, is_best=True))) + "\n")
        await pilot.pause(0.5)
        assert chart.curves[1].points[-1] == (1100, 1.1)
        # ...and a hidden tab reads nothing
        await pilot.press("1")
        await pilot.pause()
        tab.others = []
        await pilot.pause(0.5)
        assert tab.others == []


def test_a_live_runs_iteration_is_its_newest_step(tmp_path, capsys):
    """A run still training: ITER is how far it got (its last step), not its last eval."""
    steps = [StepsCompleted(iteration=it, epoch=it / 400, losses=(2.0,) * 5, lr=2e-3,
                            chars_per_sec=1000.0, elapsed_s=1.0) for it in (1010, 1020, 1370)]
    quoting = SampleGenerated(iteration=1000, text='"StepsCompleted" 99999', prime="",
                              temperature=0.8, top_k=0, seed=1, val_loss=1.5, word_share=0.0)
    make_run(tmp_path, "live", 256, 2, 1.4, extra=[*steps, quoting])
    make_run(tmp_path, "done", 512, 3, 1.2)
    assert load_run(tmp_path / "live").iteration == 1370
    assert cli(["compare", "live", "done", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[:5] == ["A", "live", out[1].split()[2], "1000", "1370"]


def test_long_paths_and_checksums_are_shortened_and_piped_rows_stay_short(tmp_path, capsys):
    from tuirnn.core.compare import short_text
    url = "https://cs.stanford.edu/people/karpathy/char-rnn/warpeace_input.txt"
    assert short_text(url) == "…/warpeace_input.txt"
    assert short_text("a" * 30 + "b" * 34) == "a" * 11 + "…" + "b" * 12
    assert short_text("lstm") == "lstm"
    for name, hidden, where in (("a", 256, "/home/someone/corpora/very/deep/folder/warpeace.txt"),
                                ("b", 512, "/srv/data/shared/corpora/tinyshakespeare/input.txt")):
        run = make_run(tmp_path, name, hidden, 2, 1.4)
        lines = (run / "events.jsonl").read_text().splitlines()
        first = json.loads(lines[0])
        first["config"]["data"] = {"path": where, "url": url + name, "sha256": name * 64}
        lines[0] = json.dumps(first)
        (run / "events.jsonl").write_text("\n".join(lines) + "\n")
    assert cli(["compare", "a", "b", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "…/warpeace.txt" in out[1] and all(len(line) <= 160 for line in out), out
