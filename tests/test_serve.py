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
    assert proc.stdout is not None
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
        title = re.search(r"<div>(.*?)</div>", html)
        ws_found = re.search(r'data-session-websocket-url="([^"]+)"', html)
        assert title and ws_found, html
        seen["title"] = title.group(1)
        ws_url = ws_found.group(1)
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


# --- who may come in: the gate alone (aiohttp's test server on 127.0.0.1), then a real serve

TOKEN = "t" * 20


async def gate_client():
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from tuirnn.remote.web_auth import Gate

    async def page(request):
        return web.Response(text="the page")

    async def ws(request):
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        await sock.send_str("hello")
        await sock.close()
        return sock

    app = web.Application(middlewares=[Gate(TOKEN, max_tabs=2).middleware])
    app.add_routes([web.get("/", page), web.get("/ws", ws), web.get("/static/x.js", page)])
    return TestClient(TestServer(app, host="127.0.0.1"),
                      cookie_jar=aiohttp.CookieJar(unsafe=True))


def test_gate_refuses_without_the_token_and_sets_a_cookie_with_it():
    async def go():
        async with await gate_client() as c:
            for path in ("/", "/static/x.js", "/ws", "/?token=wrong" + "x" * 20, "/?token="):
                r = await c.get(path)
                assert r.status == 403, path
                assert "?token=" in await r.text()
            r = await c.get("/", headers={"Cookie": f"tuirnn-{c.host}-{c.port}=forged"})
            assert r.status == 403
            r = await c.get(f"/?token={TOKEN}&fontsize=20", allow_redirects=False)
            assert r.status == 302 and r.headers["Location"] == "/?fontsize=20"
            cookie = r.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
            assert (await c.get("/")).status == 200           # the cookie is enough now
            assert (await c.get("/static/x.js")).status == 200
            c.session.cookie_jar.clear()
            assert (await c.get("/")).status == 403
            r = await c.get("/", headers={"Authorization": f"token {TOKEN}"})
            assert r.status == 200
    asyncio.run(go())


def test_gate_wants_the_websocket_from_the_pages_own_origin():
    async def go():
        async with await gate_client() as c:
            await c.get(f"/?token={TOKEN}")
            own = f"http://{c.host}:{c.port}"
            for origin in (None, "http://evil.example", "null", f"http://{c.host}:1",
                           f"file://{c.host}:{c.port}"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                    await c.ws_connect("/ws", origin=origin)
                assert e.value.status == 403, origin
            async with c.ws_connect("/ws", origin=own) as ws:
                assert (await ws.receive()).data == "hello"
            c.session.cookie_jar.clear()                      # right origin, no token
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await c.ws_connect("/ws", origin=own)
            assert e.value.status == 403
    asyncio.run(go())


def test_the_tokens_an_owner_can_pass(tmp_path):
    from tuirnn.core.errors import UserError
    from tuirnn.remote.web_auth import choose_token
    assert len(choose_token(None, {})) >= 40 and choose_token(None, {}) != choose_token(None, {})
    assert choose_token(None, {"TUIRNN_TOKEN": "s" * 16}) == "s" * 16
    f = tmp_path / "token"
    f.write_text("f" * 30 + "\n")
    f.chmod(0o644)
    with pytest.raises(UserError, match="chmod 600"):
        choose_token(str(f), {})
    f.chmod(0o600)
    assert choose_token(str(f), {"TUIRNN_TOKEN": "ignored" * 4}) == "f" * 30
    for bad in ("", "short", "has a space in it " * 2):
        with pytest.raises(UserError, match="16 to"):
            choose_token(None, {"TUIRNN_TOKEN": bad})


def test_a_real_serve_refuses_strangers_and_bounds_the_tabs(live_run):
    run_dir, control = live_run

    async def go(address: str) -> None:
        url = base(address)
        async with aiohttp.ClientSession() as http:       # no token, no cookie
            assert (await http.get(url + "/")).status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(url + "/ws", origin=url)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            assert (await http.get(address)).status == 200
            with pytest.raises(aiohttp.WSServerHandshakeError):   # cookie, but another site
                await http.ws_connect(url + "/ws", origin="http://evil.example")
            async with http.ws_connect(url + "/ws", origin=url) as first:
                await asyncio.wait_for(first.receive(), 60)      # the tab's monitor is up
                page = await http.get(url + "/")
                assert page.status == 429 and "--max-tabs 1" in await page.text()
                async with http.ws_connect(url + "/ws", origin=url) as second:
                    msg = await asyncio.wait_for(second.receive(), 30)
                    assert b"tabs of this run are open already" in msg.data
                    assert len(attach_processes(run_dir)) == 1   # the refused one spawned none

    with serve(run_dir, "--max-tabs", "1") as (address, proc):
        asyncio.run(go(address))
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=30)[0]
    assert not control.paused and not control.stopped
    lines = out.splitlines()
    assert "a tab opened (1 of 1 open)" in out and "a tab was refused" in out
    assert "GET" not in out and len(lines) < 10, out         # no access log


def test_serve_refuses_a_bad_tab_limit_and_unix_path(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "events.jsonl").write_text("")
    assert_user_error(run_cli("serve", str(tmp_path / "r"), "--max-tabs", "0"), "--max-tabs 0")
    (tmp_path / "plain").write_text("x")
    assert_user_error(run_cli("serve", str(tmp_path / "r"), "--unix", str(tmp_path / "plain")),
                      "not a socket")
    env_bad = run_cli("serve", str(tmp_path / "r"), "--token-file", str(tmp_path / "none"))
    assert_user_error(env_bad, "token file")


def test_serve_on_a_unix_socket_only_the_owner_opens(live_run, tmp_path):
    run_dir, _ = live_run
    path = tmp_path / "serve.sock"
    proc = subprocess.Popen([sys.executable, "-m", "tuirnn", "serve", str(run_dir), "--unix",
                             str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert f"ssh -L 8000:{path}" in line and "mode 0600" in line, line
        token = line.split("?token=")[1].split()[0]
        assert path.stat().st_mode & 0o777 == 0o600

        async def go() -> tuple[int, int]:
            async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(path)),
                                             cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                bare = (await http.get("http://localhost:8000/")).status
                page = await http.get(f"http://localhost:8000/?token={token}")
                return bare, page.status
        assert asyncio.run(go()) == (403, 200)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert not path.exists()                   # removed when serving stops
