"""`tuirnn serve [RUN]`: the monitor of a run in a web browser, through textual-serve.

    browser tab ──websocket──► textual-serve ──pipe──► `python -m tuirnn attach RUN` ──socket──► trainer
                               (this process)          (one per tab, Textual's web driver)

Each tab runs its own `tuirnn attach` of the one run chosen here, so a tab is exactly one
more attached client: every key works, closing the tab detaches, and it never starts a run.
textual-serve already does the page, the terminal emulator in the browser, the websocket and
a process per tab; what is left here is choosing the run, refusing bad input, and the address.
Binds 127.0.0.1 unless told otherwise: from a laptop, `ssh -L 8000:localhost:8000 server`.
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import shlex
import socket
import sys
from pathlib import Path

from ..core.config import RunConfig
from ..core.errors import UserError

DRIVER_ENV = "TEXTUAL_DRIVER"     # textual-serve sets it to Textual's web driver for each tab


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="the monitor of a run in a web browser",
                       description="Serve the monitor of RUN over HTTP: each browser tab is one "
                                   "attached monitor (every key works; closing the tab detaches). "
                                   "Binds 127.0.0.1; from another machine use an SSH port forward: "
                                   "ssh -L 8000:localhost:8000 SERVER, then open http://localhost:8000")
    p.add_argument("run", nargs="?",
                   help="a run folder, or a unique prefix of a run's name (default: newest live run)")
    p.add_argument("--port", type=int, default=8000, help="TCP port to listen on (default 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
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


def make_server(command: str, host: str, port: int, run_name: str):
    """A textual-serve Server for `command` (imported here: only `serve` needs aiohttp)."""
    from textual_serve.server import Server

    class RunServer(Server):
        async def handle_index(self, request):
            # links in the page (websocket, scripts) use the address the browser used, so a
            # forwarded port (ssh -L 9000:localhost:8000) or a host name works as well
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def on_startup(self, app) -> None:
            # aiohttp calls this before it listens: say the address once it answers
            self._announcing = asyncio.get_running_loop().create_task(self.announce())

        async def announce(self) -> None:
            while True:
                try:
                    _, writer = await asyncio.open_connection(host, port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                break
            print(f"tuirnn: serving the monitor of {run_name} on http://{host_in_url(host)}:{port}/"
                  " (each tab attaches; Ctrl+C stops serving, the run goes on)", flush=True)

    return RunServer(command, host=host, port=port, title=f"tuirnn · {run_name}")


def host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def main(args) -> int:
    from ..remote.lookup import resolve_run
    if not 1 <= args.port <= 65535:
        raise UserError(f"--port {args.port} is not a TCP port; give one from 1 to 65535 "
                        "(e.g. --port 8000)")
    run_dir = resolve_run(args.run, Path(args.root)).resolve()
    check_can_listen(args.host, args.port)
    if not is_loopback(args.host):
        print(f"tuirnn: listening on {args.host}: anyone who can reach port {args.port} there "
              "can pause or stop this run", file=sys.stderr)
    make_server(tab_command(run_dir), args.host, args.port, run_dir.name).serve()
    return 0
