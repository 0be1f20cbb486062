"""One status rule: `tuirnn ls`, the monitor's state (and badge), the control server's hello
and a client's view say the same word for the same run (core.runstate.next_status)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from ui_fakes import fake_run

from tuirnn.cli.ls import row
from tuirnn.core.control import Control
from tuirnn.core.events import AlertRaised, Paused, RunFailed, RunFinished, to_json_dict
from tuirnn.core.runstate import RunStatus, summarize
from tuirnn.remote.client import TrainerGone, connect
from tuirnn.remote.server import ControlServer
from tuirnn.tui.render import header_lines
from tuirnn.tui.state import RunState

DIVERGED = AlertRaised(30, "diverged", "loss is exploding: nan at iter 30", action="stopped")
ENDS = {  # status -> (the events after a short run, whether its trainer still trains it)
    "training": ([], True),
    "paused": ([Paused(30)], True),
    "finished": ([RunFinished(30, "max_iters", 2.0, None)], False),
    "stopped": ([RunFinished(30, "stopped", 2.0, None)], False),
    "diverged": ([DIVERGED, RunFinished(30, "diverged", 2.0, None)], False),
    "failed": ([RunFailed(30, "RuntimeError: boom", "Traceback...\n")], False),
}


def write_log(run_dir: Path, events: list) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "events.jsonl", "w", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(to_json_dict(ev)) + "\n")


def ls_status(run_dir: Path, live: bool) -> str:
    return row(summarize(run_dir, live=live), now=time.time(), relative=True)[1]


def monitor_status(events: list, gone: bool = False) -> tuple[RunStatus, str]:
    st = RunState()
    for ev in events + ([TrainerGone(30, None, "killed")] if gone else []):
        st.apply(ev)
    badge = header_lines(st, 100)[0].plain.split()[0]      # " TRAINING  tiny-demo ..."
    return st.status, badge


def client_status(run_dir: Path, events: list, close_server: bool = False) -> RunStatus:
    """What a client says once it holds the history (and, close_server: once the trainer's
    socket has gone without a word)."""
    server = ControlServer(run_dir, Control(), events).start()
    seen: list = []
    ctl = connect(run_dir, on_event=seen.append)
    try:
        deadline = time.monotonic() + 5
        while len(seen) < len(events) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(seen) == len(events), "the client did not get the history"
        if close_server:
            server.close(linger_s=0.2)
            assert ctl.wait_closed(5)
        return ctl.status
    finally:
        ctl.close()
        server.close(linger_s=0.2)


@pytest.mark.parametrize("word", list(ENDS))
def test_ls_monitor_server_and_client_say_the_same(tmp_path, word):
    tail, live = ENDS[word]
    events = fake_run(3) + tail
    run_dir = tmp_path / "r"
    write_log(run_dir, events)
    assert ls_status(run_dir, live=live) == word
    status, badge = monitor_status(events)
    assert status == word and badge == word.upper()
    server = ControlServer(run_dir, Control(), events)      # not started: the hello's summary
    assert server.summary["status"] == word
    assert client_status(run_dir, events) == word


def test_a_trainer_gone_without_an_end_is_crashed_everywhere(tmp_path):
    events = fake_run(3)
    run_dir = tmp_path / "r"
    write_log(run_dir, events)
    assert ls_status(run_dir, live=False) == "crashed"
    assert monitor_status(events, gone=True) == (RunStatus.CRASHED, "CRASHED")
    assert client_status(run_dir, events, close_server=True) == "crashed"


def test_a_resumed_run_trains_again_and_an_old_pause_is_history(tmp_path):
    from ui_fakes import run_started
    events = fake_run(3) + [Paused(30), RunFinished(30, "diverged", 2.0, None),
                            run_started(start_iter=30)]
    run_dir = tmp_path / "r"
    write_log(run_dir, events)
    assert ls_status(run_dir, live=True) == "training"
    assert monitor_status(events)[0] == "training"
    assert ControlServer(run_dir, Control(), events).summary["status"] == "training"
