"""The CLI as a user runs it: bad input ends in one line and exit 2; runs leave a folder."""
from __future__ import annotations

import os

import pytest
import torch
from conftest import assert_user_error, run_cli, tiny_config


def test_headless_run_makes_a_run_folder_then_samples(tmp_path, corpus_file):
    cfg = tiny_config(tmp_path, corpus_file)
    run_dir = tmp_path / "run"
    proc = run_cli("run", str(cfg), "--run-dir", str(run_dir))  # stdout is a pipe: headless
    assert proc.returncode == 0, proc.stderr
    assert "val loss" in proc.stdout and "finished at iter 6" in proc.stdout
    assert (run_dir / "config.yaml").exists()
    lines = (run_dir / "events.jsonl").read_text().splitlines()
    assert '"RunStarted"' in lines[0] and '"RunFinished"' in lines[-1]
    names = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert {"last.pt", "best.pt"} <= set(names)
    assert any(n.startswith("iter0000006_epoch") and "_val" in n for n in names), names
    a = run_cli("sample", str(run_dir / "checkpoints" / "best.pt"), "-n", "40", "--seed", "5", "--prime", "The ")
    b = run_cli("sample", str(run_dir), "-n", "40", "--seed", "5", "--prime", "The ")
    assert a.returncode == 0 and a.stdout == b.stdout and a.stdout.startswith("The ")
    assert len(a.stdout.rstrip("\n")) >= 44 - a.stdout.count("\n")
    # the same folder cannot be reused by a new run: nothing saved is overwritten
    again = run_cli("run", str(cfg), "--run-dir", str(run_dir))
    assert_user_error(again, "already holds a run", "--resume")
    # resume extends the finished run
    more = run_cli("run", "--resume", str(run_dir), "--set", "train.max_iters=9")
    assert more.returncode == 0, more.stderr
    assert "finished at iter 9" in more.stdout
    assert torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["iteration"] == 9


def test_gpu_checkpoint_samples_on_cpu(tmp_path, corpus_file):
    """A checkpoint whose tensors were saved from another device loads via map_location."""
    cfg = tiny_config(tmp_path, corpus_file)
    run_dir = tmp_path / "run"
    assert run_cli("run", str(cfg), "--run-dir", str(run_dir)).returncode == 0
    proc = run_cli("sample", str(run_dir), "--device", "cpu", "-n", "10", "--argmax")
    assert proc.returncode == 0 and len(proc.stdout) >= 10


@pytest.mark.parametrize("yaml_text, fragments", [
    ("model:\n\tcell: lstm\n", ["not valid YAML", "line 2"]),
    ("train:\n  batchsize: 3\n", ["unknown key 'train.batchsize'", "did you mean 'train.batch_size'"]),
    ("model:\n  hidden_size: lots\n", ["model.hidden_size must be a whole number"]),
    ("model:\n  num_layers: 0\n", ["model.num_layers must be greater than 0"]),
    ("train:\n  seq_length: -5\n", ["train.seq_length must be greater than 0"]),
])
def test_bad_config(tmp_path, yaml_text, fragments):
    p = tmp_path / "bad.yaml"
    p.write_text(yaml_text)
    assert_user_error(run_cli("run", str(p), "--headless"), *fragments)


def test_bad_override_and_missing_config(tmp_path):
    assert_user_error(run_cli("run", "--set", "train.max_iters=-1"), "greater than 0")
    assert_user_error(run_cli("run", str(tmp_path / "nope.yaml")), "not found")


def _corpus_case(tmp_path, content: bytes | None):
    corpus = tmp_path / "c.txt"
    if content is not None:
        corpus.write_bytes(content)
    return run_cli("run", str(tiny_config(tmp_path, corpus)), "--headless")


def test_missing_corpus(tmp_path):
    assert_user_error(_corpus_case(tmp_path, None), "c.txt", "data.path")


def test_empty_corpus(tmp_path):
    assert_user_error(_corpus_case(tmp_path, b""), "empty")


def test_binary_corpus(tmp_path):
    assert_user_error(_corpus_case(tmp_path, bytes(range(256)) * 100), "binary")


def test_non_utf8_corpus(tmp_path):
    assert_user_error(_corpus_case(tmp_path, "café ".encode("latin-1") * 1000), "not UTF-8")


def test_too_small_corpus_names_the_knobs(tmp_path):
    proc = _corpus_case(tmp_path, b"just a few words\n")
    assert_user_error(proc, "fewer than one batch needs", "train.batch_size", "train.seq_length")
    assert not (tmp_path / "runs").exists()  # nothing made for a run that cannot start


def test_unwritable_run_dir(tmp_path, corpus_file):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("run", str(tiny_config(tmp_path, corpus_file)), "--run-dir", str(blocker / "run"))
    assert_user_error(proc, "cannot write the run folder", "--run-dir")


def test_bad_checkpoints(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    assert_user_error(run_cli("sample", str(junk)), "not a PyTorch checkpoint")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    assert_user_error(run_cli("sample", str(foreign)), "not a tuirnn checkpoint")
    evil = tmp_path / "evil.pt"
    torch.save({"format": "tuirnn-checkpoint", "hook": os.getcwd}, evil)
    assert_user_error(run_cli("sample", str(evil)), "never loaded")
    assert_user_error(run_cli("sample", str(tmp_path / "missing.pt")), "not found")
    assert_user_error(run_cli("run", "--resume", str(tmp_path)), "no checkpoints/last.pt")


def test_truncated_checkpoint_and_unknown_prime(tmp_path, corpus_file):
    run_dir = tmp_path / "run"
    assert run_cli("run", str(tiny_config(tmp_path, corpus_file)), "--run-dir", str(run_dir)).returncode == 0
    whole = (run_dir / "checkpoints" / "best.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole[: len(whole) // 2])
    assert_user_error(run_cli("sample", str(cut)), "truncated or damaged")
    assert_user_error(run_cli("sample", str(run_dir), "--prime", "Zebra€"), "'Z'", "'€'", "never saw")


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_headless_signal_saves_then_exits_cleanly(tmp_path, corpus_file, signame):
    import signal
    import subprocess
    import sys
    import time
    cfg = tiny_config(tmp_path, corpus_file, max_iters=100000, eval_every=100000, log_every=5)
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "tuirnn", "run", str(cfg), "--run-dir", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = run_dir / "events.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log.exists() and "StepsCompleted" in log.read_text()):
        time.sleep(0.1)
    proc.send_signal(getattr(signal, signame))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped; saved" in out
    ck = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert ck["iteration"] >= 5
    assert '"reason": "stopped"' in log.read_text().splitlines()[-1]


def test_no_config_trains_on_the_offline_default(tmp_path):
    proc = run_cli("run", "--set", "train.max_iters=3", "--set", "train.eval_every=3",
                   "--set", "sample.length=20", "--set", "data.val_frac=0.01", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "default: lstm 2x128" in proc.stdout and "finished at iter 3" in proc.stdout
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("default-")
    assert (runs[0] / "checkpoints" / "best.pt").exists()


def test_resume_refuses_a_different_model(tmp_path, corpus_file):
    run_dir = tmp_path / "run"
    assert run_cli("run", str(tiny_config(tmp_path, corpus_file)), "--run-dir", str(run_dir)).returncode == 0
    before = (run_dir / "checkpoints" / "last.pt").read_bytes()
    proc = run_cli("run", "--resume", str(run_dir), "--set", "model.hidden_size=32")
    assert_user_error(proc, "model.* cannot change with --resume")
    assert (run_dir / "checkpoints" / "last.pt").read_bytes() == before
