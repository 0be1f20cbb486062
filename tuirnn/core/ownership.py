"""Files and folders of one's own on hostile ground: a shared server where a folder another
user made, or one they can write, may hold links they planted (RUN/lock -> ~/thesis.tex) that
a run would write through.

So a run folder must be its owner's and writable by no one else (its parent too, unless sticky
like /tmp), and the run's own files are opened with O_NOFOLLOW, fresh temps with O_EXCL and
then renamed. There is no flag to go on in such a folder anyway: whoever can write it can swap
its files while the run writes them, so no check made at the start would hold; the fix
(chmod go-w, or a folder of one's own) is one command.
"""
from __future__ import annotations

import errno
import grp
import os
import pwd
import stat
import time
from pathlib import Path

from .errors import UserError, shown

# Opens of the run's own files: never through a link (ELOOP), never blocking on a FIFO.
PRIVATE = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


# --- opening the run's own files ------------------------------------------------------------------
def open_private(path: Path, flags: int, mode: int = 0o644, devices: bool = False) -> int:
    """os.open for a file of the run folder: O_NOFOLLOW, and only a regular file (a FIFO or
    device planted in its place is refused, as is a link). The descriptor is blocking again.
    devices: a character device too (/dev/full or /dev/null named outright, as tests do;
    only root can make one inside a folder)."""
    fd = os.open(path, flags | PRIVATE, mode)
    try:
        kind = os.fstat(fd).st_mode
        if not (stat.S_ISREG(kind) or devices and stat.S_ISCHR(kind)):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a whole file: a fresh temp made with O_EXCL (a name planted there, link or not, is
    never opened), then renamed over `path` (which replaces a link, never writes through it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{time.monotonic_ns()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | PRIVATE, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def link_refusal(path: Path, e: OSError, doing: str) -> UserError | None:
    """The one line for a run file that is a link or not a regular file (ELOOP / EINVAL from
    open_private); None for other errors."""
    if e.errno not in (errno.ELOOP, errno.EINVAL, errno.ENXIO):
        return None
    return UserError(f"cannot {doing}: {shown(str(path), 240)} is a link or not a regular file, "
                     "and a run never writes through what it did not make; remove it, or "
                     "choose another --run-dir")


# --- whose folder ----------------------------------------------------------------------------------
def _private_group(gid: int) -> bool:
    """The user's own group (user private groups, umask 002): group write lets no one else in."""
    try:
        me, group = pwd.getpwuid(os.getuid()), grp.getgrgid(gid)
    except KeyError:
        return False
    return gid == me.pw_gid and group.gr_name == me.pw_name and set(group.gr_mem) <= {me.pw_name}


def others_write(st: os.stat_result) -> bool:
    return bool(st.st_mode & 0o002) or bool(st.st_mode & 0o020 and not _private_group(st.st_gid))


def _owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def check_own_folder(path: Path) -> None:
    """UserError unless `path` (an existing run folder) is this user's and writable by no one
    else; a link to it counts only if this user (or root) made the link."""
    q = shown(str(path), 240)
    try:
        lst, st = os.lstat(path), os.stat(path)
    except OSError as e:
        raise UserError(f"cannot use the run folder {q} ({e.strerror}); choose another "
                        "--run-dir") from None
    me = os.getuid()
    if stat.S_ISLNK(lst.st_mode) and lst.st_uid not in (me, 0):
        raise UserError(f"the run folder {q} is a link made by {_owner(lst.st_uid)}; give "
                        "--run-dir a folder of your own making")
    if st.st_uid != me:
        raise UserError(f"the run folder {q} belongs to {_owner(st.st_uid)}, and links planted in "
                        "another's folder would be written through; give --run-dir a folder of "
                        "your own making (mkdir)")
    if others_write(st):
        raise UserError(f"the run folder {q} can be written by others (mode "
                        f"{stat.S_IMODE(st.st_mode):o}), who could plant links in it; "
                        f"chmod go-w {path}, or give --run-dir a folder of your own making")


def check_safe_parent(path: Path) -> None:
    """UserError unless the folder a run folder lives in keeps others from swapping it: owned by
    this user or root, and writable by no one else unless sticky (like /tmp)."""
    try:
        st = os.stat(path)
    except OSError:
        return                               # made later; its own parent was checked
    me, q = os.getuid(), shown(str(path), 240)
    if st.st_uid not in (me, 0) and not st.st_mode & stat.S_ISVTX:
        raise UserError(f"{q} belongs to {_owner(st.st_uid)}, who could swap the run folder made "
                        "in it; give --run-dir (or run.root) a folder of your own making")
    if others_write(st) and not st.st_mode & stat.S_ISVTX:
        raise UserError(f"{q} can be written by others (mode {stat.S_IMODE(st.st_mode):o}), who "
                        f"could swap the run folder made in it; chmod go-w {path} (or +t), or "
                        "give --run-dir a folder of your own making")


def mkdirs(path: Path) -> None:
    """mkdir -p with 0755 for every folder made (Path.mkdir gives parents 0777 & ~umask)."""
    if path.is_dir():
        return
    if path.parent != path:
        mkdirs(path.parent)
    try:
        path.mkdir(mode=0o755)
    except FileExistsError:
        if not path.is_dir():
            raise
