"""A zoo of damaged and hostile checkpoints: `sample`, `neurons` and `run --resume` each end in
one `error:` line and exit 2, run no code from the file, and leave the file as it was."""
from __future__ import annotations

import math
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from conftest import assert_user_error, run_cli, tiny_config

from tuirnn.cli import main


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """A real run folder of a tiny LSTM (6 iterations), made once for the whole module."""
    base = tmp_path_factory.mktemp("good")
    corpus = base / "corpus.txt"
    corpus.write_text("the cat sat on the mat. " * 400, encoding="utf-8")
    run_dir = base / "run"
    proc = run_cli("run", str(tiny_config(base, corpus)), "--run-dir", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    return run_dir


@pytest.fixture(scope="module")
def good(good_run) -> dict:
    return torch.load(good_run / "checkpoints" / "last.pt", weights_only=True)


def _set(path: tuple, value):
    """A change that puts `value` at ckpt[path[0]][path[1]]..."""
    def change(ck):
        target = ck
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value
        return ck
    return change


def _drop(*path):
    def change(ck):
        target = ck
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return ck
    return change


def _nan(t):
    t = t.clone()
    t.view(-1)[0] = math.nan
    return t


# name -> (change to the good checkpoint dict, a fragment of the error line)
ZOO = {
    "model is a list": (_set(("model",), []), "model is a list"),
    "model lacks a tensor": (_drop("model", "head.bias"), "lacks 'head.bias'"),
    "model has an extra tensor": (_set(("model", "extra"), torch.zeros(2)), "unknown entry"),
    "head shape differs": (_set(("model", "head.weight"), lambda t: torch.zeros(t.shape[0], 7)),
                           "head.weight is"),
    "int weights": (_set(("model", "head.bias"), lambda t: t.long()), "not float weights"),
    "weights a string": (_set(("model", "head.bias"), "x"), "not float weights"),
    "version a string": (_set(("version",), "1"), "version is a str"),
    "version missing": (_drop("version"), "version is missing"),
    "newer version": (_set(("version",), 99), "newer tuirnn"),
    "vocab an int": (_set(("vocab",), 7), "vocab is an int"),
    "vocab empty": (_set(("vocab",), ""), "vocab is empty"),
    "vocab repeats": (_set(("vocab",), lambda v: v[0] + v[:-1]), "repeats"),
    "vocab longer than the weights": (_set(("vocab",), lambda v: v + "\u00e9"),
                                      "but its model config needs"),
    "config a string": (_set(("config",), "lstm"), "config is a str"),
    "config unknown key": (_set(("config", "model", "layers"), 3), "unknown key 'model.layers'"),
    "config 1e9 hidden units": (_set(("config", "model", "hidden_size"), 10**9), "at most"),
    "config too big for memory": (
        _set(("config", "model"), lambda m: {**m, "hidden_size": 100_000, "num_layers": 100}),
        "needs ~"),
    "format missing": (_drop("format"), "not a tuirnn checkpoint"),
    "NaN weights": (_set(("model", "head.weight"), _nan), "weights are not finite"),
    "inf weights": (_set(("model", "embed.weight"), lambda t: t * math.inf), "weights are not finite"),
    "iteration a string": (_set(("iteration",), "5"), "iteration is '5'"),
    "iteration negative": (_set(("iteration",), -3), "iteration is -3"),
    "val_loss a string": (_set(("val_loss",), "low"), "val_loss is a str"),
}
# what only --resume reads: sample and neurons may use these files
RESUME_ZOO = {
    "iteration missing": (_drop("iteration"), "iteration is None"),
    "rng_cpu missing": (_drop("rng_cpu"), "rng_cpu"),
    "rng_cpu float": (_set(("rng_cpu",), lambda t: t.float()), "rng_cpu"),
    "rng_cpu short": (_set(("rng_cpu",), lambda t: t[:10]), "rng_cpu"),
    "rng_cuda a string": (_set(("rng_cuda",), "x"), "rng_cuda"),
    "optimizer a list": (_set(("optimizer",), []), "optimizer is not a dict"),
    "optimizer without state": (_drop("optimizer", "state"), "optimizer is not a dict"),
    "optimizer lr a string": (_set(("optimizer", "param_groups", 0, "lr"), "fast"), "optimizer lr"),
    "optimizer too few params": (_set(("optimizer", "param_groups", 0, "params"), [0, 1]), "covers 2"),
    "optimizer moment shape": (_set(("optimizer", "state", 0, "exp_avg"), torch.zeros(3)),
                               "exp_avg for tensor 0"),
    "optimizer moment missing": (_drop("optimizer", "state", 0, "exp_avg_sq"), "lacks 'exp_avg_sq'"),
    "optimizer moment NaN": (_set(("optimizer", "state", 0, "exp_avg"), _nan),
                             "optimizer state are not finite"),
    "hidden a dict": (_set(("hidden",), {}), "hidden is a dict"),
    "hidden too few": (_set(("hidden",), lambda h: h[:1]), "hidden holds 1"),
    "hidden wrong width": (_set(("hidden",), lambda h: [torch.zeros(1, 4, 5)] * len(h)),
                           "not (1, batch, 16)"),
}


def _damaged(good: dict, change) -> dict:
    ck = pickle.loads(pickle.dumps(good))  # a deep copy (tensors included)
    return change(ck)


def _folder_with(good_run: Path, tmp_path: Path, ck) -> Path:
    """A copy of the run folder whose last.pt is `ck` (a dict, or raw bytes)."""
    run_dir = tmp_path / "run"
    shutil.copytree(good_run, run_dir)
    last = run_dir / "checkpoints" / "last.pt"
    if isinstance(ck, bytes):
        last.write_bytes(ck)
    else:
        torch.save(ck, last)
    return run_dir


def _one_error_line(capsys, fragment: str) -> str:
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0], (fragment, lines[0])
    assert len(lines[0]) < 400
    return lines[0]


def _every_command(run_dir: Path, capsys, fragment: str, resume_only: bool = False) -> None:
    last = run_dir / "checkpoints" / "last.pt"
    before = last.read_bytes()
    if not resume_only:
        assert main(["sample", str(last), "-n", "5", "--device", "cpu"]) == 2
        _one_error_line(capsys, fragment)
        assert main(["neurons", str(last), "--length", "50"]) == 2
        _one_error_line(capsys, fragment)
    assert main(["run", "--resume", str(run_dir), "--headless", "--set", "train.max_iters=7"]) == 2
    _one_error_line(capsys, fragment)
    assert last.read_bytes() == before  # nothing saved is lost or rewritten


def test_the_good_checkpoint_samples(good_run, capsys):
    """The zoo's control: the file every case damages is itself fine."""
    assert main(["sample", str(good_run / "checkpoints" / "last.pt"), "-n", "20", "--seed", "1"]) == 0
    assert len(capsys.readouterr().out) >= 20


@pytest.mark.parametrize("name", list(ZOO))
def test_damaged_checkpoint_is_one_line_for_every_command(name, good, good_run, tmp_path, capsys):
    change, fragment = ZOO[name]
    _every_command(_folder_with(good_run, tmp_path, _damaged(good, change)), capsys, fragment)


@pytest.mark.parametrize("name", list(RESUME_ZOO))
def test_damaged_resume_state_is_one_line(name, good, good_run, tmp_path, capsys):
    change, fragment = RESUME_ZOO[name]
    run_dir = _folder_with(good_run, tmp_path, _damaged(good, change))
    _every_command(run_dir, capsys, fragment, resume_only=True)
    # sample reads only the weights, so a damaged optimizer or RNG state does not stop it
    assert main(["sample", str(run_dir / "checkpoints" / "last.pt"), "-n", "5"]) == 0


@pytest.mark.parametrize("content, fragment", [
    (b"", "truncated or damaged"),
    (b"PK\x03\x04 not really a zip", "cannot be read"),
    (os.urandom(4096), "cannot be read"),
])
def test_files_that_are_not_checkpoints(content, fragment, good_run, tmp_path, capsys):
    _every_command(_folder_with(good_run, tmp_path, content), capsys, fragment)


def test_truncated_checkpoint(good_run, tmp_path, capsys):
    whole = (good_run / "checkpoints" / "last.pt").read_bytes()
    _every_command(_folder_with(good_run, tmp_path, whole[: len(whole) // 2]), capsys, "cannot be read")


class _RunsACommand:
    """Unpickling this would call os.system: loading must refuse it, never run it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_payload_never_runs(good, good_run, tmp_path, capsys):
    marker = tmp_path / "ran"
    for i, payload in enumerate([
        {**good, "extra": _RunsACommand(marker)},      # inside a torch.save zip
        _RunsACommand(marker),                         # the whole file
    ]):
        case = tmp_path / f"case{i}"
        case.mkdir()
        _every_command(_folder_with(good_run, case, payload), capsys, "never loaded")
        assert not marker.exists()
    # a bare pickle (the pre-zip torch format) with the same payload
    case = tmp_path / "case-raw"
    case.mkdir()
    run_dir = _folder_with(good_run, case, pickle.dumps(_RunsACommand(marker)))
    _every_command(run_dir, capsys, "cannot be read")
    # through a real process too: torch's warning about the pickle must not reach stderr
    assert_user_error(run_cli("sample", str(run_dir / "checkpoints" / "last.pt")), "cannot be read")
    assert not marker.exists()


def test_the_cli_says_it_in_one_line(good, good_run, tmp_path):
    """Through a real process: stderr holds the line and nothing else (no traceback)."""
    run_dir = _folder_with(good_run, tmp_path, _damaged(good, ZOO["NaN weights"][0]))
    assert_user_error(run_cli("sample", str(run_dir / "checkpoints" / "last.pt"), "-n", "5"),
                      "the checkpoint's weights are not finite")


def test_a_fifo_or_device_as_checkpoint(tmp_path, capsys):
    fifo = tmp_path / "ck.pt"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        assert main(["sample", str(path)]) == 2
        _one_error_line(capsys, "not a regular file")
