"""Where a run's control socket lives, and whether anyone answers on it.

The socket is RUN/control.sock. AF_UNIX paths are at most 107 bytes, so when that path is
longer the socket goes under $XDG_RUNTIME_DIR/tuirnn/ (or <tmp>/tuirnn-<uid>/, owner-only)
named by a hash of the run folder, and RUN/control.sock.path holds its real path as one line.
A text file rather than a symlink: connect() would follow a symlink through the same long
path and fail again, so a client has to read the target either way.
"""
from __future__ import annotations

import errno
import hashlib
import os
import socket
import stat
import tempfile
from pathlib import Path

from ..core.errors import UserError

SOCKET_NAME = "control.sock"
POINTER_NAME = "control.sock.path"
UNIX_PATH_MAX = 107                # sun_path is 108 bytes with its terminating NUL


def _fits(path: Path) -> bool:
    return len(os.fsencode(str(path))) <= UNIX_PATH_MAX


def _private_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "tuirnn" if runtime and Path(runtime).is_dir() \
        else Path(tempfile.gettempdir()) / f"tuirnn-{os.getuid()}"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = base.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise UserError(f"{base} is not a private folder (owner {st.st_uid}, mode "
                        f"{stat.S_IMODE(st.st_mode):o}); remove it or set XDG_RUNTIME_DIR")
    return base


def bind_path(run_dir: Path) -> Path:
    """Where the server binds: RUN/control.sock, or a short private path when that is too long."""
    run_dir = Path(os.path.abspath(run_dir))
    # the server binds in a private temp folder inside RUN first: RUN/.sockXXXXXXXX/s, 16 bytes
    if _fits(run_dir / ("x" * 16)):
        return run_dir / SOCKET_NAME
    digest = hashlib.sha1(os.fsencode(str(run_dir))).hexdigest()[:20]
    path = _private_dir() / f"{digest}.sock"
    if not _fits(path):
        raise UserError(f"no short enough place for the control socket ({path}); "
                        "set XDG_RUNTIME_DIR to a short folder such as /run/user/$UID")
    return path


def bind_owner_only(path: Path) -> socket.socket:
    """A socket bound at `path` with mode 0600 from the moment it is reachable: bound inside a
    fresh owner-only folder, chmod-ed, then renamed into place (a process-wide umask would
    race the other threads of the trainer)."""
    tmp = tempfile.mkdtemp(prefix=".sock", dir=path.parent)
    inner = os.path.join(tmp, "s")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(inner)
        os.chmod(inner, 0o600)
        os.rename(inner, path)
    except BaseException:
        sock.close()
        raise
    finally:                 # the folder is empty once the socket moved; else clear it
        if os.path.lexists(inner):
            os.unlink(inner)
        os.rmdir(tmp)
    return sock


def write_pointer(run_dir: Path, path: Path) -> None:
    """When the socket is not RUN/control.sock, name it in RUN/control.sock.path (atomically)."""
    if path == Path(os.path.abspath(run_dir)) / SOCKET_NAME:
        return
    from ..core.ownership import write_atomic  # a fresh temp (O_EXCL), never through a link
    write_atomic(Path(run_dir) / POINTER_NAME, f"{path}\n".encode("utf-8"))


def remove_pointer(run_dir: Path, path: Path) -> None:
    """Undo write_pointer for the socket bound at `path`."""
    if path != Path(os.path.abspath(run_dir)) / SOCKET_NAME:
        remove_socket(Path(run_dir) / POINTER_NAME)


def socket_path(run_dir: Path) -> Path:
    """Where a client connects: the pointer file's target when there is one."""
    run_dir = Path(os.path.abspath(run_dir))
    pointer = run_dir / POINTER_NAME
    try:
        target = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return run_dir / SOCKET_NAME
    return Path(target) if target else run_dir / SOCKET_NAME


def answers(path: Path, timeout: float = 1.0) -> bool:
    """True when a process accepts connections on the socket at `path`."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def is_answering(run_dir: Path) -> bool:
    """A live trainer serves this run folder (its socket accepts connections)."""
    path = socket_path(run_dir)
    return _fits(path) and path.exists() and answers(path)


def clear_stale(run_dir: Path) -> None:
    """Remove a socket (and pointer) a crashed trainer left; UserError if a trainer answers."""
    run_dir = Path(os.path.abspath(run_dir))
    pointer = run_dir / POINTER_NAME
    for path in {run_dir / SOCKET_NAME, socket_path(run_dir)}:
        try:
            st = path.lstat()
        except OSError:
            continue
        if not stat.S_ISSOCK(st.st_mode):
            raise UserError(f"{path} is in the way of the control socket and is not a socket; "
                            "move it away")
        if _fits(path) and answers(path):
            raise UserError(f"a trainer is already serving {run_dir}; attach to it with "
                            f"tuirnn attach {run_dir}, or stop it with tuirnn stop {run_dir}")
        remove_socket(path)
    if pointer.exists():
        pointer.unlink()


def remove_socket(path: Path, inode: int | None = None) -> None:
    """Unlink a socket file; with `inode`, only if it is still that one (not a successor's)."""
    try:
        if inode is not None and path.lstat().st_ino != inode:
            return
        path.unlink()
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
