"""Headless output into a pipe or file: whole lines, samples verbatim, hints that work."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

from conftest import ROOT, tiny_config
from rich.console import Console

from tuirnn.cli.headless import HeadlessPrinter
from tuirnn.cli.hints import resume_hint
from tuirnn.core.events import (
    EvalCompleted,
    RunFinished,
    RunStarted,
    SampleGenerated,
    StepsCompleted,
)


def printed(*events) -> str:
    out = io.StringIO()
    printer = HeadlessPrinter(Console(file=out, width=80))
    for ev in events:
        printer(ev)
    return out.getvalue()


LONG_DIR = "/tmp/" + "a-very-long-folder-name/" * 6 + "tiny-20261127-101010"


def started() -> RunStarted:
    return RunStarted(run_name="tiny", run_dir=LONG_DIR, cell="lstm", hidden_size=16,
                      num_layers=2, num_params=12345, device="cpu", vocab="abc",
                      train_chars=1_000_000, val_chars=50_000, iters_per_epoch=10, max_iters=100,
                      start_iter=0, batch_size=4, seq_length=16, learning_rate=2e-3, config={})


def test_a_budgeted_run_says_its_training_clock():
    """With train.time_budget the log lines (and the bar, on a terminal) count training time."""
    import dataclasses
    step = StepsCompleted(40, 0.4, (2.0,), 2e-3, 1000.0, 65.0, budget_left_s=25.0)
    text = printed(dataclasses.replace(started(), time_budget_s=90.0), step)
    assert "iter 40 · 1m05s/1m30s" in text.splitlines()[-1], text
    assert "1m30s" not in printed(started(), dataclasses.replace(step, budget_left_s=None))
    out = io.StringIO()                      # a terminal: the bar is as far as the clock is
    printer = HeadlessPrinter(Console(file=out, width=120, force_terminal=True))
    printer(dataclasses.replace(started(), time_budget_s=90.0))
    printer(step)
    assert printer.progress is not None
    task = printer.progress.tasks[0]
    assert abs(task.completed - task.total * 65 / 90) < 1e-9 and task.fields["clock"].endswith("1m05s/1m30s")
    printer._stop_bar()


def test_a_file_gets_one_line_per_event_however_long():
    text = printed(started(), EvalCompleted(100, 1.0, 1.2345, 1.2345, True),
                   RunFinished(100, "max_iters", 1.2345, LONG_DIR + "/checkpoints/best.pt"))
    lines = text.splitlines()
    assert len(lines) == 4, text
    assert lines[1].startswith("run folder: " + LONG_DIR)
    assert lines[3].startswith("finished at iter 100") and lines[3].endswith("best.pt)")


def test_samples_are_written_verbatim_between_rules():
    sample = ("x" * 130 + " [bold]not markup[/] :smile: \tTab\n\nsecond  line   " + "y" * 90)
    ev = SampleGenerated(iteration=7, text=sample, prime="", temperature=0.8, top_k=0, seed=1,
                         val_loss=None, word_share=0.5, request_id=None)
    lines = printed(ev).split("\n")
    assert lines[0].startswith("─") and "sample at iter 7" in lines[0]
    assert "\n".join(lines[1:-2]) == sample        # every byte, every line break the model's
    assert set(lines[-2]) == {"─"} and lines[-1] == ""


def test_the_resume_hint_names_the_launching_command(monkeypatch):
    monkeypatch.delenv("TUIRNN_PROG", raising=False)
    here = os.getcwd()
    assert resume_hint("runs/tiny-1") == f"tuirnn run --resume {here}/runs/tiny-1"   # from anywhere
    monkeypatch.setenv("TUIRNN_PROG", "./tuirnn.sh")
    assert resume_hint("runs/my run") == f"./tuirnn.sh run --resume '{here}/runs/my run'"


def test_stopped_run_into_a_file_via_tuirnn_sh_gives_a_whole_working_hint(tmp_path, corpus_file):
    """A headless run into a file, stopped with SIGTERM: the hint is one line, names
    ./tuirnn.sh, and the command it gives resumes the run."""
    cfg = tiny_config(tmp_path, corpus_file, max_iters=100000, eval_every=100000, log_every=5)
    run_dir = tmp_path / ("deep-folder-name-" * 4) / "run"
    env = dict(os.environ, TUIRNN_PROG="./tuirnn.sh", COLUMNS="80")
    log = tmp_path / "log.txt"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tuirnn", "run", str(cfg), "--headless",
                                 "--run-dir", str(run_dir)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        end = time.monotonic() + 60
        while time.monotonic() < end and not (run_dir / "events.jsonl").exists():
            time.sleep(0.1)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    text = log.read_text()
    hint = [line for line in text.splitlines() if "continue with:" in line]
    assert len(hint) == 1, text
    command = hint[0].split("continue with: ", 1)[1]
    assert command == f"./tuirnn.sh run --resume {run_dir}"
    assert f"run folder: {run_dir}" in text          # the long path on one line too


def test_a_reader_that_goes_away_stops_the_printing_not_the_run(tmp_path, corpus_file):
    """`tuirnn run ... | head -2`: head exits, the pipe breaks; the run still trains to its
    end and saves its checkpoints, and exits 0 without a traceback."""
    cfg = tiny_config(tmp_path, corpus_file, max_iters=12, eval_every=4, log_every=2)
    run_dir = tmp_path / "run"
    read_end, write_end = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "tuirnn", "run", str(cfg), "--headless",
                             "--run-dir", str(run_dir)], cwd=ROOT, stdout=write_end,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        first = reader.readline()            # read one line, then go away like `head -1`
    _, err = proc.communicate(timeout=120)
    assert first.startswith("tiny:")
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    assert '"reason": "max_iters"' in (run_dir / "events.jsonl").read_text()
