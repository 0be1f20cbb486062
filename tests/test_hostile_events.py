"""Every reader of events.jsonl against logs another user of a shared run.root could plant:
no traceback, no hang, bounded memory; a bad line is skipped, an unreadable file is one line
(exit 2) when its run is named, and the other runs still list when scanning."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from remote_fakes import started
from test_cli_ls_stop import make_run

from tuirnn.cli.main import main
from tuirnn.core.eventfile import EventFileError
from tuirnn.core.events import EvalCompleted, RunFinished, SampleGenerated, to_json_dict
from tuirnn.core.runlog import read_events
from tuirnn.core.runstate import summarize
from tuirnn.remote.lookup import summaries
from tuirnn.tui.attach import open_run

TIMEOUT_S = 20      # a reader that blocks (a FIFO) fails here instead of hanging the suite


def line(ev) -> str:
    return json.dumps(to_json_dict(ev)) + "\n"


def good_lines(run: Path) -> str:
    return "".join(line(ev) for ev in (
        started(run), EvalCompleted(100, 0.5, 1.9, 1.9, True),
        SampleGenerated(100, "the cat", "", 0.8, 0, 1, 1.9, 0.5, timeline=True),
        EvalCompleted(200, 1.0, 1.7, 1.7, True)))


EVAL = '{"event": "EvalCompleted", "iteration": %s, "epoch": 1.0, "val_loss": %s, ' \
       '"best_val_loss": 1.0, "is_best": true}\n'
# each a line a reader must skip, with the good lines around it
BAD_LINES = {
    "deep": '{"event": "RunStarted", "config": ' + "[" * 200_000 + "]" * 200_000 + "}\n",
    "bigint": EVAL % ("9" * 5000, "1.0") + EVAL % ("1" + "0" * 4000, "1.0"),
    "types": EVAL % ('"300"', "1.0") + EVAL % ("300", '"low"') + EVAL % ("NaN", "1.0")
    + EVAL % ("true", "1.0") + '{"event": ["EvalCompleted"]}\n[1, 2]\n"text"\n'
    + '{"event": "RunFinished", "iteration": 9, "reason": 3, "best_val_loss": {},'
      ' "best_checkpoint": null}\n'
    + '{"event": "SampleGenerated", "iteration": 300, "text": 5, "prime": "", "temperature":'
      ' 0.8, "top_k": 0, "seed": 1, "val_loss": 1.0, "word_share": "x", "timeline": true}\n',
    "utf8": '{"event": "EvalCompleted", "iteration": 300, "epoch": 1.0, "val_loss": 1.0, "b',
    # a crash mid-write, then a resumed process's lines (the end of a log is torn alone)
    "truncated": '{"event": "EvalCompleted", "iteration": 300, "epoch": 1.0, "val_l\n',
    "unknown": '{"event": "RunExploded", "iteration": 300}\n{"event": "__class__"}\n',
}
FILE_KINDS = ("fifo", "zero", "huge", "folder")     # no line of these can be read at all
KINDS = (*BAD_LINES, *FILE_KINDS)


def plant(run: Path, kind: str) -> None:
    """Make run/events.jsonl hostile in the way `kind` says (config.yaml marks a run folder)."""
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("model: {hidden_size: 8}\n", encoding="utf-8")
    log = run / "events.jsonl"
    if kind in BAD_LINES:
        bad = BAD_LINES[kind].encode()
        if kind == "utf8":
            bad = bad.replace(b'"b', b'"\xff\xfe\xc3(": 1}\n')
        good = good_lines(run).encode()
        log.write_bytes(good + bad + good)
    elif kind == "fifo":
        os.mkfifo(log)
    elif kind == "zero":
        log.symlink_to("/dev/zero")
    elif kind == "huge":            # sparse: over the cap without costing the disk
        with open(log, "wb") as f:
            f.truncate(600 << 20)
    elif kind == "folder":
        log.mkdir()


@pytest.fixture(params=KINDS)
def zoo(request, tmp_path):
    """A run.root with two good runs and one hostile one: (root, kind)."""
    root = tmp_path / "runs"
    for name, best in (("good-a", 1.5), ("good-b", 1.25)):
        make_run(root, name, started(root / name), EvalCompleted(100, 0.5, best, best, True),
                 SampleGenerated(100, "a cat", "", 0.8, 0, 1, best, 0.5, timeline=True),
                 RunFinished(100, "max_iters", best, None))
    plant(root / "bad", request.param)
    return root, request.param


def bounded(fn, *args):
    """fn(*args) in a thread, failing the test if it takes longer than TIMEOUT_S."""
    result: dict = {}

    def call():
        try:
            result["value"] = fn(*args)
        except BaseException as e:    # noqa: BLE001 - handed to the test to judge
            result["error"] = e
    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(TIMEOUT_S)
    assert not t.is_alive(), f"{fn.__name__} still running after {TIMEOUT_S}s"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = bounded(main, list(args))
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "Traceback" not in out.out
    return code, out.out, out.err


def one_line_error(code: int, err: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "events.jsonl" in lines[0]


def test_ls_lists_the_others(zoo, capsys):
    root, kind = zoo
    code, out, err = cli(capsys, "ls", str(root))
    assert code == 0
    names = [row.split()[0] for row in out.strip().splitlines()[1:]]
    assert "good-a" in names and "good-b" in names
    if kind in FILE_KINDS:
        assert "bad" not in names
        assert err.count("\n") == 1 and "bad" in err and "events.jsonl" in err
    else:
        assert "bad" in names and err == ""


def test_compare_named_and_scanned(zoo, capsys):
    root, kind = zoo
    code, out, err = cli(capsys, "compare", "good-a", "--root", str(root))
    assert code == 0 and "good-a" in out and "good-b" in out
    code, out, err = cli(capsys, "compare", "bad", "good-a", "--root", str(root))
    if kind in FILE_KINDS:
        if kind != "huge":       # is_file() already refuses a FIFO, a device, a folder
            assert code == 2 and err.strip().count("\n") == 0
        else:
            one_line_error(code, err)
    else:
        assert code == 0 and "bad" in out


def test_samples(zoo, capsys):
    root, kind = zoo
    code, out, _ = cli(capsys, "samples", str(root / "good-a"))
    assert code == 0 and "a cat" in out
    code, out, err = cli(capsys, "samples", str(root / "bad"))
    if kind in FILE_KINDS:
        assert code == 2 and len(err.strip().splitlines()) == 1
    else:
        assert code == 0 and "the cat" in out and err == ""


def test_attach_history(zoo):
    root, kind = zoo
    bounded(open_run, root / "good-a")
    if kind in FILE_KINDS:
        with pytest.raises(EventFileError) as e:
            bounded(open_run, root / "bad")
        assert "\n" not in str(e.value)
    else:
        inbox, control = bounded(open_run, root / "bad")
        assert control is None


def test_state_reader_and_read_events(zoo):
    root, kind = zoo
    if kind in FILE_KINDS:
        for fn, arg in ((summarize, root / "bad"), (read_events, root / "bad" / "events.jsonl")):
            with pytest.raises(EventFileError) as e:
                bounded(fn, arg, False)
            assert "\n" not in str(e.value) and "events.jsonl" in str(e.value)
        problems: list[str] = []
        assert [s.name for s in bounded(summaries, root, problems)] == ["good-a", "good-b"] \
            or {s.name for s in summaries(root)} == {"good-a", "good-b"}
        assert len(problems) == 1
        return
    s = bounded(summarize, root / "bad", False)
    assert s.best_val_loss == 1.7 and s.iteration == 200 and s.max_iters == 10**9
    events = bounded(read_events, root / "bad" / "events.jsonl")
    # the good lines before and after the bad one, nothing of it
    evals = [ev.iteration for ev in events if type(ev).__name__ == "EvalCompleted"]
    assert evals == [100, 200, 100, 200]
    assert all(isinstance(ev.iteration, int) for ev in events if hasattr(ev, "iteration"))


@pytest.mark.parametrize("kind", ["fifo", "zero", "huge", "deep", "types"])
def test_runs_tab_shows_the_other_runs(tmp_path, monkeypatch, kind):
    """The owner's live monitor, with a hostile folder beside its run: the Runs tab opens,
    lists the readable runs and names the one it could not read."""
    from ui_fakes import run_started, sync

    from tuirnn.tui.widgets.runs_tab import RunsTab

    root = tmp_path / "runs"
    make_run(root, "other", started(root / "other"), EvalCompleted(100, 0.5, 1.5, 1.5, True))
    plant(root / "bad", kind)
    this_dir = root / "this"
    this_dir.mkdir()

    @sync
    async def check():
        from tuirnn.tui.app import make_app
        app = make_app(events=[run_started(run_name="this", run_dir=str(this_dir))])
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("4")
            await pilot.pause()
            tab = app.monitor.query_one(RunsTab)
            names = {r.name for r in tab.others}
            assert "other" in names
            if kind in FILE_KINDS:     # a FIFO or a device is passed over; a big file is named
                assert "bad" not in names and ("bad" in tab.note) == (kind == "huge")
            else:
                assert "bad" in names
    bounded(check)


def test_compare_a_deep_config_value_is_short(tmp_path, capsys):
    """A RunStarted whose config nests as deep as JSON allows: parsed, compared, shown short."""
    root = tmp_path / "runs"
    make_run(root, "good", started(root / "good"), EvalCompleted(1, 0.1, 1.0, 1.0, True))
    bad = root / "bad"
    bad.mkdir()
    st = to_json_dict(started(bad))
    st["config"] = {"model": {"x": "DEEP"}}
    text = json.dumps(st).replace('"DEEP"', "[" * 900 + "]" * 900)
    (bad / "events.jsonl").write_text(text + "\n" + line(EvalCompleted(1, 0.1, 1.2, 1.2, True)))
    code, out, _ = cli(capsys, "compare", "good", "bad", "--root", str(root))
    assert code == 0 and "[[[...]]]" in out and max(len(x) for x in out.splitlines()) < 200
