"""scripts/setup.sh, run against a stand-in python that records what it is asked to do
(no real venv or downloads): which PyTorch build it picks, and that one stamp covers both
./tuirnn.sh and ./test.sh."""
from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import ROOT

FAKE_PYTHON = """#!/usr/bin/env bash
# records each call; -m venv makes a venv of itself; -m pip "installs"; -c "import torch"
# succeeds once torch was installed; anything else (the index probe) runs the real python
echo "$*" >> "$FAKE_LOG"
case "$1" in
  -m) case "$2" in
        venv) mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; exit 0;;
        pip) case " $* " in *" torch"*) touch "$FAKE_STATE/torch";; esac; exit 0;;
      esac;;
  -c) if [ "$2" = "import torch" ]; then [ -f "$FAKE_STATE/torch" ]; exit $?; fi;;
esac
exec "$REAL_PYTHON" "$@"
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("sha256sum") is None,
                                reason="needs bash and coreutils")


@pytest.fixture
def project(tmp_path):
    """A copy of the project's setup script and pyproject.toml, and a stand-in python; no
    NVIDIA GPU (a failing nvidia-smi), tmux and chromium present."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {"python-fake": FAKE_PYTHON, "nvidia-smi": "#!/bin/sh\nexit 9\n",
                       "tmux": "#!/bin/sh\nexit 0\n", "chromium": "#!/bin/sh\nexit 0\n"}.items():
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", PYTHON=str(bin_dir / "python-fake"),
               FAKE_LOG=str(tmp_path / "calls.log"), FAKE_STATE=str(state), REAL_PYTHON=sys.executable,
               TUIRNN_TORCH_CPU_INDEX="http://127.0.0.1:9/whl/cpu")  # nothing listens there
    env.pop("TUIRNN_TORCH", None)
    return root, env, tmp_path / "calls.log"


def setup(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(root / "scripts" / "setup.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=60)


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def pip_calls(log: Path) -> list[str]:
    return [c for c in calls(log) if c.startswith("-m pip")]


def test_unreachable_cpu_index_falls_back_to_the_default_index_and_says_so(project):
    root, env, log = project
    proc = setup(root, env)
    assert proc.returncode == 0, proc.stderr
    torch_installs = [c for c in pip_calls(log) if "torch" in c]
    assert torch_installs == ["-m pip --disable-pip-version-check install torch==2.13.0"]  # no -q
    said = [line for line in proc.stderr.splitlines() if "default index" in line]
    assert len(said) == 1 and "CUDA build" in said[0] and "127.0.0.1:9" in said[0]
    assert any(c.endswith(f"install -e {root}") for c in pip_calls(log))


def test_reachable_cpu_index_gives_the_cpu_build(project, tmp_path):
    root, env, log = project
    site = tmp_path / "site"
    (site / "whl" / "cpu" / "torch").mkdir(parents=True)
    (site / "whl" / "cpu" / "torch" / "index.html").write_text("<html></html>")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(site), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        index = f"http://127.0.0.1:{server.server_port}/whl/cpu"
        proc = setup(root, dict(env, TUIRNN_TORCH_CPU_INDEX=index))
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr
    torch_installs = [c for c in pip_calls(log) if "torch" in c]
    assert torch_installs == [f"-m pip --disable-pip-version-check install torch==2.13.0 --index-url {index}"]
    assert "CPU build" in proc.stderr and "default index" not in proc.stderr


def test_one_stamp_covers_tuirnn_sh_and_test_sh(project):
    root, env, log = project
    assert setup(root, env).returncode == 0
    after_first = len(calls(log))
    assert setup(root, env).returncode == 0                 # ./tuirnn.sh again: nothing to do
    assert len(calls(log)) == after_first
    assert setup(root, env, "--test").returncode == 0       # ./test.sh: only the test tools
    added = calls(log)[after_first:]
    assert [c for c in added if c.startswith("-m pip")] == [
        f"-m pip --disable-pip-version-check -q install -e {root}[test]"]
    after_test = len(calls(log))
    for args in ((), ("--test",), (), ("--test",)):          # switching back and forth: nothing
        proc = setup(root, env, *args)
        assert proc.returncode == 0 and proc.stderr == ""
    assert len(calls(log)) == after_test
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text() + "\n# changed\n")
    assert setup(root, env).returncode == 0                 # a changed project sets up again
    assert len(calls(log)) > after_test
    assert not [c for c in calls(log)[after_test:] if "torch" in c and "pip" in c]  # torch kept
