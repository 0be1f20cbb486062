"""`tuirnn ls` states (crashed included) and `tuirnn stop` waiting for the save, in-process."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from remote_fakes import FakeTrainer, started, steps

from tuirnn.cli import ls as ls_cmd
from tuirnn.cli.main import main
from tuirnn.core.control import Control
from tuirnn.core.events import EvalCompleted, Paused, RunFailed, RunFinished
from tuirnn.core.runlog import EventLog
from tuirnn.core.runstate import RunStatus, RunSummary, summarize
from tuirnn.remote.lookup import resolve_run
from tuirnn.remote.paths import SOCKET_NAME
from tuirnn.remote.server import ControlServer


def make_run(root: Path, name: str, *events) -> Path:
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    log = EventLog(run / "events.jsonl")            # the real writer, so the real format
    for ev in events:
        log(ev)
    log.close()
    return run


def table(out: str) -> dict[str, list[str]]:
    lines = out.strip().splitlines()
    assert lines[0].split()[:2] == ["NAME", "STATE"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    base = (started(root), steps(1), steps(2),
            EvalCompleted(2, 0.2, 1.75, 1.5, False))
    make_run(root, "done", *base, RunFinished(2, "max_iters", 1.5, None))
    make_run(root, "halted", *base, RunFinished(2, "stopped", 1.5, None))
    make_run(root, "broken", *base, RunFailed(2, "ValueError: x", ""))
    make_run(root, "killed", *base)                  # no end, no trainer
    # stopped, then resumed by a process that died: the last start has no end
    make_run(root, "again", *base, RunFinished(2, "stopped", 1.5, None), started(root), steps(3))
    servers = []
    for name, extra in (("busy", ()), ("resting", (Paused(2),))):
        run = make_run(root, name, *base, *extra)
        servers.append(ControlServer(run, Control()).start())
    yield root
    for s in servers:
        s.close(linger_s=0.1)


def test_ls_states_when_piped(runs, capsys):
    assert main(["ls", str(runs)]) == 0
    rows = table(capsys.readouterr().out)
    state = {name: cells[0] for name, cells in rows.items()}
    assert state == {"done": "finished", "halted": "stopped", "broken": "failed",
                     "killed": "crashed", "again": "crashed", "busy": "training",
                     "resting": "paused"}
    assert rows["done"][1:3] == ["2/1000000000", "1.5000"]
    assert rows["again"][1] == "3/1000000000"
    assert rows["busy"][-1] == "yes" and rows["killed"][-1] == "history"
    assert "\x1b[" not in capsys.readouterr().out    # plain text on a pipe


def test_ls_empty_and_missing_folders(tmp_path, capsys, monkeypatch):
    assert main(["ls", str(tmp_path)]) == 0
    assert "no runs under" in capsys.readouterr().out
    assert main(["ls", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    monkeypatch.chdir(tmp_path)                       # the default runs/ not made yet
    assert main(["ls"]) == 0 and "no runs yet" in capsys.readouterr().out


def test_row_formatting():
    s = RunSummary(Path("r/x"), RunStatus.PAUSED, True, 40, 100, None, updated=1000.0,
                   attachable=True)
    assert ls_cmd.row(s, now=1125.0, relative=True) == ["x", "paused", "40/100", "-", "2m ago",
                                                        "yes"]
    assert ls_cmd.ago(3 * 86400 + 5) == "3d ago"


def test_summary_of_a_torn_last_line(tmp_path):
    run = make_run(tmp_path, "r", started(tmp_path), steps(5))
    with open(run / "events.jsonl", "a") as f:
        f.write('{"event": "StepsCompleted", "iterat')      # killed mid-write
    s = summarize(run, live=False)
    assert s.status == RunStatus.CRASHED and s.iteration == 5


def test_lookup_by_prefix_and_newest_live(runs):
    assert resolve_run("hal", runs) == runs / "halted"
    assert resolve_run(str(runs / "done"), runs) == runs / "done"
    assert resolve_run(None, runs).name in ("busy", "resting")
    with pytest.raises(Exception, match="not live"):
        resolve_run("done", runs, live_only=True)


@pytest.mark.parametrize("spec, words", [("zzz", "no run"), ("b", "matches 2 runs"),
                                         ("done", "not live (finished)")])
def test_stop_refuses_unknown_ambiguous_and_not_live(runs, capsys, spec, words):
    assert main(["stop", spec, "--root", str(runs)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_stop_waits_for_the_save_and_the_exit(tmp_path, capsys):
    root = tmp_path / "runs"
    run = make_run(root, "long-run-1")
    control = Control()
    server = ControlServer(run, control).start()
    trainer = FakeTrainer(run, [server], control, save_s=0.5)   # saving takes a while

    def process():                                # the trainer process: train, then tidy up
        trainer.run()
        time.sleep(0.2)
        server.close()
    threading.Thread(target=process, daemon=True).start()
    time.sleep(0.05)
    assert main(["stop", "long", "--root", str(root)]) == 0
    returned = time.monotonic()
    assert trainer.saved_at is not None and trainer.saved_at < returned
    assert not (run / SOCKET_NAME).exists()
    out = capsys.readouterr().out
    assert f"checkpoint: {run / 'checkpoints' / 'last.pt'}" in out
    assert f"stopped long-run-1 at iter {trainer.iteration}" in out
    from tuirnn.cli.hints import resume_hint  # the one hint `q` prints too
    assert f"continue with: {resume_hint(run)}" in out and f"--resume {run.absolute()}" in out
