"""Where the corpus comes from: a file, a download, or the offline default.

`locate_corpus(cfg.data)` returns (display name, raw bytes); decoding, BOM and newline handling
are the data module's job. A download is streamed to `<dest>.part-HOST-PID`, fsynced,
checksum-checked, then renamed into place, so `dest` either holds the whole verified file or
does not exist.
Processes that need the same download (the ranks of a torchrun, runs started together) take
turns on a lock of the folder: the first fetches, the others then find the file.

The offline default is the Python standard library's own source (the essay's "Linux source"
experiment, in Python): every machine that runs tuirnn has it, no network needed.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import stat
import sysconfig
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

try:
    import fcntl
except ImportError:     # not POSIX: no lock, each process fetches on its own
    fcntl = None  # type: ignore[assignment]

from .errors import UserError, shown

Progress = Callable[[int, "int | None"], None]  # (bytes done, total bytes or None if unknown)

OFFLINE_NAME = "python-stdlib"
OFFLINE_CAP = 4_000_000  # bytes: about the size of War and Peace (3.2 MB)
_EXCLUDED_DIRS = {"site-packages", "dist-packages", "test", "tests", "idlelib", "lib2to3",
                  "__pycache__", "encodings", "pydoc_data"}  # the last two: generated tables
_CHUNK = 1 << 16
_OFFLINE_HINT = ("remove data.path and data.url from the config to train on the offline default "
                 "(the Python standard library's source)")


def locate_corpus(data_cfg, progress: Progress | None = None) -> tuple[str, bytes]:
    """(display name, raw bytes) of the corpus `data_cfg` (a config.DataConfig) names.

    path set and present: read it. path missing and url set: download to path, then read.
    path unset and url set: download to data/<basename of url>. Neither: the offline default.
    """
    path, url = data_cfg.path, data_cfg.url
    if path is None and url is None:
        return OFFLINE_NAME, offline_corpus()
    dest = Path(path) if path is not None else Path("data") / _url_basename(url)
    if not _exists(dest, "data.path"):
        if url is None:
            raise UserError(
                f"corpus file {str(dest)!r} not found; check data.path, set data.url to download "
                f"it, or drop data.path to train on the offline default (the Python standard "
                f"library's source)")
        make_folder(dest)
        with folder_lock(dest.parent):
            if not _exists(dest, "data.path"):     # else another process fetched it meanwhile
                download(url, dest, data_cfg.sha256, progress)
    return str(dest), read_regular_file(dest, "data.path")


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive flock on `folder` itself (no lock file is left behind); released
    when the block ends or the process dies."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        fd = None
    try:
        if fd is not None and fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)


def make_folder(dest: Path) -> None:
    """The folder a download goes into; UserError when it cannot be made."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {str(dest.parent)!r} for the download: {e.strerror or e}") from None


def _exists(path: Path, setting: str) -> bool:
    """Path.exists, but a name the OS refuses (too long, ...) is a user error, not a traceback."""
    try:
        os.stat(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise UserError(f"{setting} {shown(str(path), 240)} cannot be used ({e.strerror or e}); "
                        "give the path of a text file") from None
    except ValueError:  # an embedded NUL byte
        raise UserError(f"{setting} {shown(str(path), 240)} is not a usable path; "
                        "give the path of a text file") from None


def read_regular_file(path: str | Path, setting: str, limit: int | None = None) -> bytes:
    """The bytes of a regular file, at most its size when opened (and at most `limit`).

    A FIFO, a device (/dev/zero) or a folder is refused before any read: they never end or
    block forever. Opening with O_NONBLOCK keeps even opening a FIFO from blocking; the check
    is on the opened descriptor, so nothing can be swapped in between.
    """
    name = shown(str(path), 240)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError(f"cannot read {setting} {name} (no such file); give the path of a text file") from None
    except IsADirectoryError:
        raise UserError(f"{setting} {name} is a folder; give a text file") from None
    except OSError as e:
        raise UserError(f"cannot read {setting} {name} ({e.strerror or e}); "
                        "give a readable text file") from None
    except ValueError:  # an embedded NUL byte
        raise UserError(f"{setting} {name} is not a usable path; give a text file") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UserError(f"{setting} {name} is a folder; give a text file")
        raise UserError(f"{setting} {name} is not a regular file (a device, pipe or socket "
                        "never ends or blocks); give a text file")
    with os.fdopen(fd, "rb") as f:
        size = st.st_size if limit is None else min(st.st_size, limit)
        try:
            return f.read(size)  # a file that grows while read is cut at its size when opened
        except OSError as e:
            raise UserError(f"cannot read {setting} {name} ({e.strerror or e}); "
                            "give a readable text file") from None


def _url_basename(url: str) -> str:
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    return name or "corpus.txt"


def download(url: str, dest: Path, sha256: str | None, progress: Progress | None = None,
             timeout: float = 30) -> None:
    """Fetch `url` into `dest` atomically; UserError (no partial file left) on any failure."""
    dest = Path(dest)
    # a name of its own: processes the folder lock does not reach (other nodes on a shared
    # filesystem) never write into one file; each rename is whole
    part = dest.with_name(f"{dest.name}.part-{socket.gethostname()}-{os.getpid()}")
    make_folder(dest)

    def failed(reason: str) -> UserError:
        return UserError(
            f"download of {url} failed ({reason}); copy the file to {str(dest)!r} yourself, "
            f"or point at a copy you have with --set data.path=FILE, or {_OFFLINE_HINT}")

    try:
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "tuirnn"})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                total = _content_length(resp)
                digest = hashlib.sha256()
                done = 0
                if progress is not None:
                    progress(0, total)
                with open(part, "wb") as f:
                    while True:
                        chunk = resp.read(_CHUNK)
                        if not chunk:
                            break
                        f.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
                    f.flush()
                    os.fsync(f.fileno())
        except urllib.error.HTTPError as e:
            raise failed(f"HTTP {e.code} {e.reason}") from None
        except urllib.error.URLError as e:
            raise failed(_reason(e.reason)) from None
        except http.client.IncompleteRead as e:
            raise failed(f"interrupted after {len(e.partial)} bytes") from None
        except (http.client.HTTPException, OSError) as e:
            raise failed(_reason(e)) from None
        except ValueError as e:  # e.g. "unknown url type"
            raise failed(str(e)) from None
        if total is not None and done != total:
            raise failed(f"interrupted: got {done} of {total} bytes")
        if sha256 is not None:
            got = digest.hexdigest()
            if got != sha256.strip().lower():
                raise UserError(
                    f"download of {url} has the wrong checksum: expected sha256 "
                    f"{sha256.strip().lower()}, got {got}; the file may have changed or been "
                    f"corrupted: fix data.sha256 (or set it to null), or put the file at "
                    f"{str(dest)!r} yourself")
        try:
            os.replace(part, dest)
        except OSError as e:
            raise UserError(f"cannot write {str(dest)!r}: {e.strerror or e}") from None
        _fsync_dir(dest.parent)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def _content_length(resp) -> int | None:
    value = resp.headers.get("Content-Length") if getattr(resp, "headers", None) else None
    try:
        n = int(value) if value is not None else None
    except ValueError:
        return None
    return n if n is not None and n >= 0 else None


def _reason(err) -> str:
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); best effort elsewhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stdlib_files(root: Path | None = None) -> list[Path]:
    """The standard library's *.py files in a fixed order (relative path), tests etc. left out."""
    root = Path(root if root is not None else sysconfig.get_paths()["stdlib"])
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _EXCLUDED_DIRS]  # prune: never walk them
        for name in filenames:
            if name.endswith(".py"):
                p = Path(dirpath, name)
                if p.is_file():
                    files.append((p.relative_to(root).as_posix(), p))
    return [p for _, p in sorted(files)]


def offline_corpus(cap: int = OFFLINE_CAP, root: Path | None = None) -> bytes:
    """The standard library's source, concatenated in order until the next file passes `cap`."""
    parts: list[bytes] = []
    size = 0
    for p in stdlib_files(root):
        try:
            raw = p.read_bytes()
            raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # unreadable or not UTF-8: skip it, the rest is plenty
        if not raw:
            continue
        if parts and size + len(raw) + 1 > cap:
            break
        parts.append(raw)
        size += len(raw) + 1
    if not parts:
        raise UserError(
            f"no offline default corpus: found no Python source under {str(root or sysconfig.get_paths()['stdlib'])!r}; "
            f"set data.path to a text file or data.url to download one")
    return b"\n".join(parts)
