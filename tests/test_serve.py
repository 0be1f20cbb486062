"""`tuirnn serve`: the monitor in a browser tab, checked with an HTTP and websocket client doing
what the page's script does (load the page, open its websocket, read the screen, send keys).

The run is served by a fake trainer in this process (the real socket server), so the tab's
`tuirnn attach` is a real client of a live run: a space typed in the tab pauses it.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, assert_user_error, run_cli
from remote_fakes import FakeTrainer

from tuirnn.cli.serve import in_browser, is_loopback, tab_command
from tuirnn.core.control import Control
from tuirnn.core.runlog import EventLog
from tuirnn.remote.server import ControlServer

aiohttp = pytest.importorskip("aiohttp", reason="aiohttp comes with textual-serve")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def attach_processes(run_dir: Path) -> list[int]:
    """Pids of `tuirnn attach RUN` processes (the tabs' monitors) now running."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"attach" in argv and os.fsencode(str(run_dir)) in argv:
            found.append(int(entry.name))
    return found


@pytest.fixture
def live_run(tmp_path):
    """A run folder served by a fake trainer: (run folder, its Control)."""
    run_dir = tmp_path / "runs" / "webrun"
    (run_dir / "checkpoints").mkdir(parents=True)
    log = EventLog(run_dir / "events.jsonl")
    control = Control()
    server = ControlServer(run_dir, control).start()
    trainer = FakeTrainer(run_dir, [log, server], control, step_s=0.02).start()
    yield run_dir, control
    control.stop()
    trainer.thread.join(10)
    server.close(linger_s=0.1)
    log.close()


@contextlib.contextmanager
def serve(run_dir: Path, *extra: str, env: dict | None = None):
    """`tuirnn serve RUN` on a free port: (its address with the token, the process)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tuirnn", "serve", str(run_dir), "--port",
                             str(port), *extra], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = proc.stdout.readline()       # printed once it listens
        assert f"http://127.0.0.1:{port}/?token=" in line, line
        yield line.split()[-1], proc
    finally:
        proc.send_signal(signal.SIGTERM)    # as Ctrl+C: stops serving, closes the tabs
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        for pid in attach_processes(run_dir):   # a tab's monitor left behind fails the test
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def serving(live_run):
    with serve(live_run[0]) as (address, proc):
        yield address, proc


def base(address: str) -> str:
    return address.split("/?token=")[0]


async def open_tab(address: str, run_dir: Path, control: Control) -> dict:
    """Load the page by its token address, open its websocket, read the screen until the run
    shows, type a space; returns what was seen."""
    seen: dict = {}
    # unsafe: the jar keeps cookies of an IP address (127.0.0.1), as browsers do
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(address) as page:
            seen["status"] = page.status
            seen["landed"] = str(page.url)
            html = await page.text()
        seen["title"] = re.search(r"<div>(.*?)</div>", html).group(1)
        ws_url = re.search(r'data-session-websocket-url="([^"]+)"', html).group(1)
        seen["ws_url"] = ws_url
        async with http.ws_connect(ws_url + "?width=100&height=30", origin=base(address)) as ws:
            screen = b""
            t0 = time.monotonic()
            while b"TRAINING" not in screen:
                msg = await asyncio.wait_for(ws.receive(), timeout=60)
                assert msg.type == aiohttp.WSMsgType.BINARY, msg
                screen += msg.data
            seen["first_screen_s"] = time.monotonic() - t0
            seen["screen"] = screen.decode("utf-8", "replace")
            await ws.send_json(["stdin", " "])          # the space key: pause
            end = time.monotonic() + 30
            while not control.paused and time.monotonic() < end:
                await asyncio.sleep(0.05)
            seen["paused"] = control.paused
            while b"PAUSED" not in screen and time.monotonic() < end:
                msg = await asyncio.wait_for(ws.receive(), timeout=30)
                if msg.type == aiohttp.WSMsgType.BINARY:
                    screen += msg.data
            seen["paused_shown"] = b"PAUSED" in screen
            seen["tabs_open"] = len(attach_processes(run_dir))
        # the tab closed: its monitor detaches and exits, the run goes on
        end = time.monotonic() + 30
        while attach_processes(run_dir) and time.monotonic() < end:
            await asyncio.sleep(0.1)
        seen["tabs_after_close"] = len(attach_processes(run_dir))
    return seen


def test_a_tab_is_an_attached_monitor(live_run, serving):
    run_dir, control = live_run
    address, proc = serving
    url = base(address)
    seen = asyncio.run(open_tab(address, run_dir, control))
    print(f"page to first screen with the run: {seen['first_screen_s']:.2f} s")
    assert seen["status"] == 200
    assert seen["landed"] == url + "/"             # redirected: no token left in the address
    assert seen["title"] == "tuirnn · webrun"
    assert seen["ws_url"] == url.replace("http:", "ws:") + "/ws"
    assert "fake" in seen["screen"]                 # the header: the run's name
    assert seen["paused"] and seen["paused_shown"]
    assert seen["tabs_open"] == 1
    assert seen["tabs_after_close"] == 0
    assert not control.stopped                      # closing a tab never stops the run
    assert proc.poll() is None


def test_serve_refuses_a_missing_run_and_a_bad_port(tmp_path):
    assert_user_error(run_cli("serve", str(tmp_path / "nope")), "no run folder")
    assert_user_error(run_cli("serve", "--root", str(tmp_path)), "no live run")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "events.jsonl").write_text("")
    assert_user_error(run_cli("serve", str(tmp_path / "r"), "--port", "70000"), "--port 70000")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert_user_error(run_cli("serve", str(tmp_path / "r"), "--port", port),
                          f"127.0.0.1:{port}", "--port")


def test_tab_command_and_browser_detection(tmp_path, monkeypatch):
    run_dir = tmp_path / "a run's folder"
    assert shlex.split(tab_command(run_dir)) == [sys.executable, "-m", "tuirnn", "attach",
                                                 str(run_dir)]
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    assert not in_browser()
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    assert in_browser()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_attach_still_refuses_a_pipe_outside_a_browser(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "events.jsonl").write_text("")
    assert_user_error(run_cli("attach", str(tmp_path / "r")), "needs a terminal")
