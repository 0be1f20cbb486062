"""Who may open `tuirnn serve`: the token, its cookie, the websocket's Origin and the tab limit.

A shared server has other users on 127.0.0.1, and a forwarded port (`ssh -L`) is reachable by
any page the owner's browser opens. So, as Jupyter does:

    GET /?token=T ──valid──► 302 to the clean URL + HttpOnly, SameSite=Strict cookie
    any request   ──no valid cookie (or `Authorization: token T`)──► 403
    GET /ws       ──Origin missing, or not the Host the page was served from──► 403

The cookie holds an HMAC of the token, not the token, and its name carries the Host (cookies
ignore ports: two serves on one machine must not overwrite each other's). The redirect keeps
the token out of the address bar, the history and any Referer the page sends.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from ..core.errors import UserError, shown

TOKEN_ENV = "TUIRNN_TOKEN"
MIN_TOKEN = 16          # a passed token shorter than this is guessable; refused
MAX_TOKEN = 4096

FORBIDDEN = ("403: this page needs the address with ?token=... that `tuirnn serve` printed "
             "(or its cookie, set when that address is opened)\n")
BAD_ORIGIN = ("403: the websocket must come from the page `tuirnn serve` gave "
              "(its Origin is missing or names another site)\n")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_token(token: str, where: str) -> str:
    if not MIN_TOKEN <= len(token) <= MAX_TOKEN or not token.isprintable() \
            or any(c.isspace() for c in token):
        raise UserError(f"the token in {where} must be {MIN_TOKEN} to {MAX_TOKEN} printable "
                        "characters without spaces; make one with: python -c "
                        "'import secrets; print(secrets.token_urlsafe(32))'")
    return token


def read_token_file(path: Path) -> str:
    """The first line of a token file only the owner can read (like ssh's keys: a token
    others can read is no secret)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        raise UserError(f"cannot read the token file {shown(str(path))} "
                        f"({os.strerror(e.errno or 0)}); give a readable file") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserError(f"the token file {shown(str(path))} is not a regular file")
        if st.st_mode & 0o077:
            raise UserError(f"the token file {shown(str(path))} can be read by others "
                            f"(mode {stat.S_IMODE(st.st_mode):o}); chmod 600 it")
        data = os.read(fd, MAX_TOKEN + 2)
    finally:
        os.close(fd)
    line = data.decode("utf-8", "replace").splitlines()[0] if data.strip() else ""
    return check_token(line.strip(), f"the token file {shown(str(path))}")


def choose_token(token_file: str | None, environ: dict[str, str] | None = None) -> str:
    """--token-file, else $TUIRNN_TOKEN, else a new random one (never argv: others see it)."""
    env = os.environ if environ is None else environ
    if token_file:
        return read_token_file(Path(token_file))
    if TOKEN_ENV in env:
        return check_token(env[TOKEN_ENV], f"${TOKEN_ENV}")
    return new_token()


def same_text(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def origin_matches(origin: str | None, host: str | None) -> bool:
    """The page's own origin: Origin's host[:port] is the Host the request came to (so a port
    forwarded under another number, or a host name, still works; `null` or another site not)."""
    if not origin or not host:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


class Gate:
    """The token check as an aiohttp middleware, and the count of tabs open."""

    def __init__(self, token: str, max_tabs: int) -> None:
        self.token = token
        self.max_tabs = max_tabs
        self.tabs = 0
        self.cookie = hmac.new(token.encode(), b"tuirnn serve cookie", hashlib.sha256).hexdigest()

    def cookie_name(self, request: web.Request) -> str:
        return "tuirnn-" + re.sub(r"[^A-Za-z0-9]", "-", request.host or "")[:80]

    def allowed(self, request: web.Request) -> bool:
        given = request.cookies.get(self.cookie_name(request))
        if given is not None and same_text(given, self.cookie):
            return True
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "token" and same_text(value.strip(), self.token)

    @property
    def full(self) -> bool:
        return self.tabs >= self.max_tabs

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
        if "token" in request.query:
            if not same_text(request.query["token"], self.token):
                return refuse(FORBIDDEN)
            if not is_ws:
                return self.welcome(request)
        elif not self.allowed(request):
            return refuse(FORBIDDEN)
        if request.path == "/ws" and not origin_matches(request.headers.get("Origin"),
                                                        request.host):
            return refuse(BAD_ORIGIN)
        response = await handler(request)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    def welcome(self, request: web.Request) -> web.Response:
        """The first visit with the token: set the cookie, and go to the same address without
        the token in it."""
        query = [(k, v) for k, v in request.query.items() if k != "token"]
        response = web.Response(status=302, headers={
            "Location": str(request.rel_url.with_query(query)),
            "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        response.set_cookie(self.cookie_name(request), self.cookie, path="/", httponly=True,
                            samesite="Strict", secure=request.secure)
        return response


def refuse(text: str) -> web.Response:
    return web.Response(status=403, text=text, headers={"Cache-Control": "no-store"})
