"""`tuirnn serve [RUN]`: the monitor of a run in a web browser, through textual-serve.

    browser tab ──websocket──► textual-serve ──pipe──► `python -m tuirnn attach RUN` ──socket──► trainer
                               (this process)          (one per tab, Textual's web driver)

Each tab runs its own `tuirnn attach` of the one run chosen here, so a tab is exactly one
more attached client: every key works, closing the tab detaches, and it never starts a run.
textual-serve already does the page, the terminal emulator in the browser, the websocket and
a process per tab; what is left here is choosing the run, refusing bad input, the address, and
who may come in (remote/web_auth.py: a token as Jupyter does, a same-origin websocket, a limit
on tabs, since each one is a process of the owner's and other users share the machine).
Binds 127.0.0.1 unless told otherwise: from a laptop, `ssh -L 8000:localhost:8000 server`; or
`--unix PATH`, a socket only the owner can open, forwarded with `ssh -L 8000:PATH server`.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import shlex
import signal
import socket
import stat
import sys
from pathlib import Path

from ..core.config import RunConfig
from ..core.errors import UserError, shown

DRIVER_ENV = "TEXTUAL_DRIVER"     # textual-serve sets it to Textual's web driver for each tab
MAX_TABS = 4                      # each tab is a `tuirnn attach` process (~70 MB): bounded
FULL = ("{n} tabs of this run are open already, the most `tuirnn serve --max-tabs {n}` allows: "
        "close one, then reload this page")


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="the monitor of a run in a web browser",
                       description="Serve the monitor of RUN over HTTP: each browser tab is one "
                                   "attached monitor (every key works; closing the tab detaches). "
                                   "Open the address it prints, with its ?token=. "
                                   "Binds 127.0.0.1; from another machine use an SSH port forward: "
                                   "ssh -L 8000:localhost:8000 SERVER, then open "
                                   "http://localhost:8000/?token=...")
    p.add_argument("run", nargs="?",
                   help="a run folder, or a unique prefix of a run's name (default: newest live run)")
    p.add_argument("--port", type=int, default=8000, help="TCP port to listen on (default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--unix", metavar="PATH",
                   help="listen on a Unix socket only you can open (mode 0600) instead of a TCP "
                        "port; forward it with ssh -L 8000:PATH SERVER")
    p.add_argument("--max-tabs", type=int, default=MAX_TABS,
                   help=f"browser tabs open at once (default {MAX_TABS}; each is one monitor process)")
    p.add_argument("--token-file", metavar="FILE",
                   help="read the token from FILE (mode 0600); else $TUIRNN_TOKEN, else a new "
                        "random one each time")
    p.add_argument("--root", default=RunConfig().root,
                   help=f"the folder that holds the runs (run.root: {RunConfig().root})")


def in_browser() -> bool:
    """True in a process textual-serve started for a browser tab: Textual draws through its
    web driver onto stdout, a pipe, and the tab is the terminal."""
    return "web_driver" in os.environ.get(DRIVER_ENV, "")


def tab_command(run_dir: Path) -> str:
    """The shell command textual-serve runs for each tab."""
    return shlex.join([sys.executable, "-m", "tuirnn", "attach", str(run_dir)])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_can_listen(host: str, port: int) -> None:
    """UserError when (host, port) cannot be listened on: said before the server starts, which
    would otherwise announce its address first and fail after."""
    try:
        socket.create_server((host, port)).close()
    except OSError as e:       # the port is taken, or the address is not this machine's
        reason = os.strerror(e.errno) if isinstance(e.errno, int) and e.errno > 0 \
            else (e.strerror or str(e)).split(" (while attempting")[0]
        raise UserError(f"cannot listen on {host_in_url(host)}:{port} ({reason}); "
                        "choose another --port or --host") from None


def unix_listener(path: Path) -> socket.socket:
    """A listening Unix socket at `path`, mode 0600 from the start (umask at bind: no moment
    where others could connect). A stale socket of ours is replaced; anything else is refused."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
            raise UserError(f"--unix {shown(str(path))} exists and is not a socket of yours; "
                            "give a new path")
        with socket.socket(socket.AF_UNIX) as probe:
            if probe.connect_ex(str(path)) == 0:
                raise UserError(f"--unix {shown(str(path))} is in use by a running server; "
                                "give another path")
        path.unlink()
    sock = socket.socket(socket.AF_UNIX)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError as e:
        sock.close()
        raise UserError(f"cannot listen on --unix {shown(str(path))} "
                        f"({os.strerror(e.errno or 0)}); give a path in a folder of yours") from None
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(16)
    return sock


def say(text: str) -> None:
    print(f"tuirnn: {text}", flush=True)


def make_server(command: str, host: str, port: int, run_name: str, *, token: str,
                max_tabs: int = MAX_TABS, unix: socket.socket | None = None,
                attach: str = "tuirnn attach RUN"):
    """A textual-serve Server for `command` behind the token gate (imported here: only
    `serve` needs aiohttp). attach: the command the ended page names to come back."""
    import aiohttp_jinja2
    import jinja2
    from aiohttp import WSMsgType, web
    from textual_serve.server import Server

    from ..remote.web_auth import Gate
    from ..remote.web_page import TEMPLATE, page_template, textual_serve_template

    gate = Gate(token, max_tabs)
    where = unix.getsockname() if unix is not None else None
    address = f"http://{host_in_url(host)}:{port}/?token={token}"

    class RunServer(Server):
        def initialize_logging(self) -> None:
            # textual-serve's handler logs each request in a wrapped rich line and tracebacks
            # with locals; a user needs the address, and a line per tab (said below)
            logging.basicConfig(level=logging.WARNING, format="tuirnn serve: %(message)s")

        async def _make_app(self):
            app = await super()._make_app()
            app.middlewares.append(gate.middleware)
            # the page: no font from the internet, and an ended tab says the run goes on
            page = page_template(textual_serve_template(self.templates_path), run_name, attach)
            aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({TEMPLATE: page}))
            return app

        def serve(self, debug: bool = False) -> None:
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.request_exit)
            listen = {"sock": unix} if unix is not None else {"host": host, "port": port}
            web.run_app(self._make_app(), **listen, handle_signals=False, loop=loop,
                        access_log=None, print=lambda *args: None)

        async def handle_index(self, request):
            if gate.full:
                return web.Response(status=429, text=FULL.format(n=gate.max_tabs) + "\n")
            # links in the page (websocket, scripts) use the address the browser used, so a
            # forwarded port (ssh -L 9000:localhost:8000) or a host name works as well
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def handle_websocket(self, request):
            if gate.full:
                return await self.refuse_tab(request)
            gate.tabs += 1
            say(f"a tab opened ({gate.tabs} of {gate.max_tabs} open)")
            try:
                return await super().handle_websocket(request)
            finally:
                gate.tabs -= 1
                say(f"a tab closed ({gate.tabs} of {gate.max_tabs} open)")

        async def refuse_tab(self, request):
            """One tab too many: the page is the only place its user looks, so the reason is
            written into its terminal, which stays up until the tab goes (no process)."""
            ws = web.WebSocketResponse(heartbeat=15)
            await ws.prepare(request)
            say(f"a tab was refused ({gate.max_tabs} open, --max-tabs {gate.max_tabs})")
            await ws.send_bytes(f"\r\n  {FULL.format(n=gate.max_tabs)}.\r\n".encode())
            async for _ in ws:
                pass
            return ws

        async def _process_messages(self, websocket, app_service) -> None:
            # textual-serve's loop asserts on the frame's shape and logs a traceback; a frame
            # that is not what the page sends is skipped here instead
            async for message in websocket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    envelope = message.json()
                except ValueError:
                    continue
                if not isinstance(envelope, list) or not envelope:
                    continue
                kind, data = envelope[0], (envelope + [None])[1]
                if kind == "stdin" and isinstance(data, str):
                    await app_service.send_bytes(data.encode("utf-8"))
                elif kind == "resize" and isinstance(data, dict) and \
                        all(isinstance(data.get(k), int) and 0 < data[k] < 2000
                            for k in ("width", "height")):
                    await app_service.set_terminal_size(data["width"], data["height"])
                elif kind == "ping":
                    await websocket.send_json(["pong", data])
                elif kind in ("blur", "focus"):
                    await getattr(app_service, kind)()

        async def on_startup(self, app) -> None:
            # aiohttp calls this before it listens: say the address once it answers
            self._announcing = asyncio.get_running_loop().create_task(self.announce())

        async def announce(self) -> None:
            while True:
                try:
                    if where is not None:
                        _, writer = await asyncio.open_unix_connection(where)
                    else:
                        _, writer = await asyncio.open_connection(host, port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                break
            if where is not None:
                say(f"serving the monitor of {run_name} on the socket {where} (mode 0600); "
                    f"from your laptop: ssh -L 8000:{where} SERVER, then open "
                    f"http://localhost:8000/?token={token}")
            else:
                say(f"serving the monitor of {run_name} on {address}")
            say(f"up to {max_tabs} tabs; Ctrl+C stops serving, the run goes on")

    return RunServer(command, host=host, port=port, title=f"tuirnn · {run_name}")


def host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def main(args) -> int:
    from ..remote.lookup import resolve_run
    from ..remote.web_auth import choose_token
    from .hints import program
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port {args.port} is not a TCP port; give one from 1 to 65535 "
                        "(e.g. --port 8000)")
    if not 1 <= args.max_tabs <= 64:
        raise UserError(f"--max-tabs {args.max_tabs} is out of range; give 1 to 64 "
                        f"(default {MAX_TABS})")
    run_dir = resolve_run(args.run, Path(args.root)).resolve()
    token = choose_token(args.token_file)
    unix = None
    if args.unix:
        unix = unix_listener(Path(args.unix).absolute())
    else:
        check_can_listen(args.host, args.port)
        if not is_loopback(args.host):
            print(f"tuirnn: listening on {args.host}: the token is all that keeps others on "
                  "the network out, and it travels unencrypted; prefer an SSH port forward",
                  file=sys.stderr)
    try:
        make_server(tab_command(run_dir), args.host, args.port, run_dir.name, token=token,
                    max_tabs=args.max_tabs, unix=unix,
                    attach=f"{program()} attach {shlex.quote(str(run_dir))}").serve()
    finally:
        if unix is not None:
            unix.close()
            Path(args.unix).absolute().unlink(missing_ok=True)
    return 0
