"""`tuirnn serve` in a real browser, and as another local user.

The browser is Debian's chromium (scripts/setup.sh --test installs it) driven by Playwright
through `executable_path`: Playwright's own browser download is not used. The monitor is drawn
by xterm.js on a canvas, so what the page shows is read from the websocket frames the page
received (the same bytes xterm draws) and kept as a screenshot beside the test's files.

The second user is made with `useradd` where this runs as root, and removed after; they try
the owner's serve with the plain standard library (no page, no websocket, no file contents).
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_serve import base, live_run, serve  # noqa: F401  (live_run: a fixture)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no {CHROMIUM} (scripts/setup.sh --test installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright comes with the [test] extras")
    with sync_api.sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        except Exception as e:       # a chromium that cannot start here: say why, once
            pytest.skip(f"chromium does not start: {str(e).splitlines()[0]}")
        yield b
        b.close()


def test_the_tokened_page_draws_the_monitor_and_space_pauses(live_run, browser,  # noqa: F811
                                                            tmp_path):
    run_dir, control = live_run
    with serve(run_dir) as (address, _):
        url = base(address)
        stranger = browser.new_page()
        assert stranger.goto(url + "/").status == 403          # no token: nothing
        assert "?token=" in stranger.content()
        stranger.close()

        page = browser.new_context(viewport={"width": 1200, "height": 760}).new_page()
        drawn: list[bytes] = []

        def on_ws(ws) -> None:
            ws.on("framereceived", lambda f: drawn.append(f if isinstance(f, bytes)
                                                          else f.encode()))
        page.on("websocket", on_ws)
        asked: list[str] = []                       # every request the page makes
        page.on("request", lambda r: asked.append(r.url))
        response = page.goto(address, wait_until="domcontentloaded")
        assert response is not None and response.status == 200
        assert page.url == url + "/"                          # the token left the address
        cookie, = [c for c in page.context.cookies() if c["name"].startswith("tuirnn-")]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        def shown(text: bytes, seconds: float) -> bool:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                if text in b"".join(drawn):
                    return True
                page.wait_for_timeout(100)
            return False

        assert shown(b"TRAINING", 90), b"".join(drawn)[-2000:]
        page.wait_for_selector("body.-first-byte", timeout=30_000)   # the terminal is up
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path / "training.png"))
        # another site open in the same browser (here: another port, same-site, so even the
        # SameSite cookie goes along) cannot open the websocket: its Origin is not the page's
        assert cross_site_websocket(page.context, url) == "error"
        assert not control.paused
        page.locator("#terminal").click()
        page.keyboard.press("Space")
        assert shown(b"PAUSED", 30)
        assert control.paused and not control.stopped
        page.wait_for_timeout(500)
        page.screenshot(path=str(tmp_path / "paused.png"))
        # nothing from another host (fonts from the internet fail offline)
        elsewhere = [u for u in asked if not u.startswith(("http://127.0.0.1:", "ws://127.0.0.1:",
                                                           "data:", "blob:"))]
        assert asked and not elsewhere, elsewhere
        page.keyboard.press("d")                    # detach: the tab's monitor ends
        page.wait_for_selector("body.-closed", timeout=30_000)
        ended = page.inner_text(".closed-dialog")
        assert "goes on training" in ended and "attach" in ended and run_dir.name in ended, ended
        assert not control.stopped                  # the run went on
        page.screenshot(path=str(tmp_path / "ended.png"))
        page.close()


OPEN_WS = """url => new Promise(done => {
    const ws = new WebSocket(url);
    ws.onopen = () => { ws.send(JSON.stringify(["stdin", " "])); done("open"); };
    ws.onerror = () => done("error");
})"""


def cross_site_websocket(context, url: str) -> str:
    """What a page of another origin gets when its script opens the serve's websocket."""
    import http.server
    import threading
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        evil = context.new_page()
        evil.goto(f"http://127.0.0.1:{site.server_port}/nothing", wait_until="commit")
        result = evil.evaluate(OPEN_WS, url.replace("http:", "ws:") + "/ws")
        evil.close()
        return result
    finally:
        site.shutdown()
        site.server_close()


# --- a second local user

STRANGER = "tuirnn-stranger"

PROBE = r'''
import http.client, json, socket, sys
host, port, secret_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen = {}
def get(path, headers={}):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    return r.status, r.read(100000).decode("utf-8", "replace")
seen["page"] = get("/")
seen["script"] = get("/static/js/textual.js")
seen["guess"] = get("/?token=" + "A" * 43)
seen["cookie"] = get("/", {"Cookie": "tuirnn-%s-%d=%s" % (host, port, "0" * 64)})
s = socket.create_connection((host, port), timeout=10)     # the websocket the page would open
s.sendall(("GET /ws?width=80&height=24 HTTP/1.1\r\nHost: %s:%d\r\nOrigin: http://%s:%d\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" % (host, port, host, port)).encode())
seen["ws"] = s.recv(200).decode("latin-1").split("\r\n")[0]
try:
    open(secret_path).read()
    seen["file"] = "read"
except OSError as e:
    seen["file"] = type(e).__name__
print(json.dumps(seen))
'''


@pytest.fixture
def stranger():
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("runuser"):
        pytest.skip("a second local user needs root, useradd and runuser")
    subprocess.run(["userdel", "-r", STRANGER], capture_output=True)   # left by a killed run
    made = subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin",
                           STRANGER], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"useradd refused: {made.stderr.strip()}")
    try:
        yield pwd.getpwnam(STRANGER)
    finally:
        subprocess.run(["userdel", STRANGER], capture_output=True)


def test_another_user_gets_no_page_no_keys_no_files(live_run, stranger, tmp_path):  # noqa: F811
    import json
    run_dir, control = live_run
    secret = tmp_path / "secret.txt"
    secret.write_text("the owner's secret\n")
    secret.chmod(0o600)
    python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
    with serve(run_dir) as (address, _):
        port = address.split(":")[2].split("/")[0]
        done = subprocess.run(["runuser", "-u", STRANGER, "--", python, "-c", PROBE,
                               "127.0.0.1", port, str(secret)], capture_output=True,
                              text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    for what in ("page", "script", "guess", "cookie"):
        status, body = seen[what]
        assert status == 403, (what, status)
        assert "secret" not in body and "xterm" not in body
    assert " 403 " in seen["ws"] + " ", seen["ws"]
    assert seen["file"] == "PermissionError"
    assert not control.paused and not control.stopped
    assert Path(run_dir).exists()
