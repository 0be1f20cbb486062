"""Checkpoints: one dict, written atomically, read without running code from the file.

Layout (all builtins and tensors, loadable with weights_only=True):
    format, version, model (state_dict), vocab (str), config (nested dict), iteration, epoch,
    batch_index, best_val_loss, val_loss, and for resumable ones (last.pt, best.pt):
    optimizer (state_dict), hidden (list of per-layer tensors), rng_cpu, rng_cuda, train_losses.
"""
from __future__ import annotations

import errno
import math
import os
import pickle
import re
import stat
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from . import config as config_mod
from .checkpoint_check import VERSION as VERSION  # the format written: checkpoint.VERSION
from .checkpoint_check import check_checkpoint
from .errors import UserError, shown
from .model import CharRNN, build
from .runlog import read_events, storage_error

if TYPE_CHECKING:
    from .data import Corpus

FORMAT = "tuirnn-checkpoint"


def save_atomic(obj: dict[str, Any], path: Path) -> None:
    """Write to a temp file in the same folder, fsync, then rename over `path`.

    A crash mid-write leaves the previous file intact (os.replace is atomic on POSIX) and at
    worst a .NAME.XXXX.tmp file, which the next start in the folder removes. A full disk or
    a read-only folder raises StorageError (one line: the file, the size, the space left).
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        needed = _tensor_bytes(obj)
        refused = _refused_write(e, path, needed)   # asked before the temp file frees its space
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if refused is not None:
            raise storage_error(refused, path, needed=needed) from None
        raise


def _refused_write(e: BaseException, path: Path, needed: int) -> OSError | None:
    """The OSError behind a failed save, if the disk refused it. torch's zip writer reports
    a short write as RuntimeError ("unexpected pos ...", "file write failed"): a full disk
    when less than a checkpoint's size is left."""
    if isinstance(e, OSError):
        return e
    if isinstance(e, RuntimeError):
        try:
            st = os.statvfs(path.parent)
        except OSError:
            return None
        if st.f_bavail * st.f_frsize < needed:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return None


def _tensor_bytes(obj: Any) -> int:
    """Bytes of the tensors in a checkpoint dict (shared storages counted once), plus the zip's
    headers and alignment and the pickled structure: about what a save needs on disk."""
    seen: dict[int, int] = {}

    def walk(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            s = x.untyped_storage()
            seen[s.data_ptr()] = s.nbytes()
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
    walk(obj)
    return sum(seen.values()) + 256 * len(seen) + 16 * 1024


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu",
                    resumable: bool = False) -> dict[str, Any]:
    """Read and check a checkpoint; UserError for anything that is not ours or is damaged.

    resumable: also check the optimizer, RNG and hidden state that `run --resume` restores.
    """
    p = Path(path)
    if p.is_dir():
        for candidate in (p / "checkpoints" / "best.pt", p / "checkpoints" / "last.pt", p / "best.pt", p / "last.pt"):
            if candidate.is_file():
                p = candidate
                break
    if p.is_dir():
        raise UserError(f"{str(path)!r} is a folder without checkpoints/best.pt or last.pt; "
                        "give a run folder made by tuirnn run, or a .pt file")
    if p.exists() and not p.is_file():
        raise UserError(f"checkpoint {shown(str(path), 240)} is not a regular file; give a .pt file "
                        "from a run's checkpoints/ folder")
    if not p.is_file():
        raise UserError(f"checkpoint {shown(str(path), 240)} not found; give a .pt file from a run's checkpoints/ folder")
    try:
        with warnings.catch_warnings():  # torch warns of odd pickles; the error line says it all
            warnings.simplefilter("ignore")
            ckpt = torch.load(p, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError,
            OSError, AttributeError, KeyError, IndexError, TypeError) as e:
        text = str(e)
        if "Unsupported global" in text or "unsupported GLOBAL" in text:
            reason = "it holds Python objects other than tensors and plain data, which are never loaded"
        elif isinstance(e, pickle.UnpicklingError) or "Weights only" in text:
            reason = "not a PyTorch checkpoint"
        else:
            reason = "the file is truncated or damaged"
        fix = (how_to_go_on(p.parent) if resumable and p.name == "last.pt"
               else "give a .pt file written by tuirnn run, e.g. RUN/checkpoints/last.pt")
        raise UserError(f"checkpoint {str(p)!r} cannot be read ({reason}); {fix}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UserError(f"checkpoint {str(p)!r} is not a tuirnn checkpoint; give a file written by tuirnn run")
    check_checkpoint(ckpt, shown(str(p), 240), device, resumable)  # the one structural check
    ckpt["path"] = str(p)
    return ckpt


def model_from_checkpoint(path: str | Path, device: str | torch.device = "cpu"
                          ) -> tuple[CharRNN, str, dict[str, Any]]:
    ckpt = load_checkpoint(path, device)
    cfg = config_mod.from_dict(ckpt["config"])
    model = build(len(ckpt["vocab"]), cfg.model)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise UserError(f"checkpoint {ckpt['path']!r} does not match its own model config "
                        f"({str(e).splitlines()[0][:120]}); the file is damaged") from None
    model.to(device).eval()
    return model, ckpt["vocab"], ckpt


def snapshot_name(iteration: int, epoch: float, val_loss: float) -> str:
    """char-rnn style: the name says when and how good (lm_lstm_epoch2.50_1.4321.t7)."""
    return f"iter{iteration:07d}_epoch{epoch:.2f}_val{val_loss:.4f}.pt"


def reconcile_best(folder: Path, last: dict[str, Any]) -> float:
    """Make best.pt agree with the best val loss that last.pt records; returns the best to go on
    with. Saves go last.pt, then best.pt: a kill during the best.pt save leaves an older best.pt
    behind a last.pt whose own val is the recorded best, so best.pt is re-saved from last.pt
    (or from a snapshot with that val). Failing both, the best on disk is what counts."""
    recorded = float(last.get("best_val_loss", math.inf))
    best_path = folder / "best.pt"
    on_disk = _val_loss_of(best_path)
    if math.isinf(recorded) or on_disk == recorded:
        return recorded
    if last.get("val_loss") == recorded:
        save_atomic({k: v for k, v in last.items() if k != "path"}, best_path)
        return recorded
    for snap in reversed([p for p in _snapshots(folder) if p.name.endswith(f"_val{recorded:.4f}.pt")]):
        try:
            ck = torch.load(snap, map_location="cpu", weights_only=True)
        except Exception:
            continue
        if isinstance(ck, dict) and ck.get("val_loss") == recorded:
            save_atomic(ck, best_path)
            return recorded
    return on_disk if on_disk is not None else math.inf


def _val_loss_of(path: Path) -> float | None:
    if _kind_of(path) != "file":   # a FIFO would block the read; a link is not ours
        return None
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return float(ck["best_val_loss"] if ck.get("val_loss") is None else ck["val_loss"])
    except Exception:         # missing, torn or foreign: as if there were none
        return None


# The names snapshot_name writes: pruning removes these and nothing else.
SNAPSHOT_NAME = re.compile(r"iter\d{7,}_epoch\d+\.\d\d_val(\d+\.\d{4}|nan|inf)\.pt")


def prune_snapshots(folder: Path, keep: int) -> None:
    """Keep the newest `keep` snapshot files (0 keeps all); last/best are never touched. Only
    regular files (lstat) by the names snapshot_name writes go, in a real folder: never what a
    link leads to, never another file that happens to match the glob."""
    if keep <= 0 or _kind_of(folder) != "folder":
        return
    snaps = [p for p in _snapshots(folder) if SNAPSHOT_NAME.fullmatch(p.name)]
    for old in snaps[:-keep]:
        old.unlink(missing_ok=True)


SNAPSHOT_GLOB = "iter*_epoch*_val*.pt"


def resume_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint `--resume RUN_DIR` goes on from: checkpoints/last.pt when it is a regular
    file (lstat: a link is never followed); None when the folder has never saved anything (its
    process died before the first checkpoint, so it starts again from iteration 0).

    Anything else is a UserError that names what the folder holds and how to go on, with
    nothing touched: a dangling link, /dev/zero, a FIFO or a missing last.pt beside a best.pt,
    snapshots or evals in events.jsonl is never "no checkpoint yet", which would start again
    from iteration 0 and save a worse best.pt over the good one.
    """
    ckdir = run_dir / "checkpoints"
    last = ckdir / "last.pt"
    what = _kind_of(ckdir)
    if what not in (None, "folder"):
        raise UserError(f"{shown(str(ckdir), 240)} is {what}, not a folder; a run's checkpoints "
                        "are never read through a link: give the run folder that holds them")
    if what == "folder":
        what = _kind_of(last)
        if what == "file":
            return last
    saved = _saved_evidence(run_dir)
    if not saved:
        return None
    found = "missing" if what is None else f"{what}, not a checkpoint file"
    raise UserError(f"cannot resume {shown(str(run_dir), 240)}: checkpoints/last.pt is {found}, "
                    f"yet the run has saved before ({', '.join(saved)}); nothing was changed: "
                    f"{how_to_go_on(ckdir)}")


def how_to_go_on(ckdir: Path) -> str:
    """The fix when a run's last.pt cannot be resumed: a new run from its best weights (best.pt
    when it is a regular file), else from its newest snapshot."""
    if _kind_of(ckdir / "best.pt") == "file":
        return f"start from its best weights with tuirnn run CONFIG --init-from {ckdir / 'best.pt'}"
    snaps = _snapshots(ckdir)
    if snaps:
        return f"start from its newest snapshot with tuirnn run CONFIG --init-from {snaps[-1]}"
    return "start a new run with tuirnn run CONFIG"


def _kind_of(path: Path) -> str | None:
    """What lstat says `path` is, in words (None: nothing there)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"unreadable ({e.strerror})"
    if stat.S_ISLNK(mode):
        return "a link that does not resolve" if not path.exists() else "a link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _snapshots(ckdir: Path) -> list[Path]:
    """Regular snapshot files (lstat), oldest first by name (the names carry the iteration)."""
    try:
        return sorted(p for p in ckdir.glob(SNAPSHOT_GLOB) if _kind_of(p) == "file")
    except OSError:
        return []


def _saved_evidence(run_dir: Path) -> list[str]:
    """What shows that the run has saved before: best.pt, snapshots, evals or saves logged."""
    ckdir = run_dir / "checkpoints"
    found = []
    if _kind_of(ckdir) == "folder":
        if _kind_of(ckdir / "best.pt") is not None:
            found.append("best.pt")
        if n := len(_snapshots(ckdir)):
            found.append(f"{n} snapshot{'s' * (n != 1)}")
    try:
        logged = read_events(run_dir / "events.jsonl", raw=True,
                             only=("EvalCompleted", "CheckpointSaved"))
    except (OSError, UnicodeDecodeError, ValueError):
        logged = []
    evals = sum(type(ev).__name__ == "EvalCompleted" for ev in logged)
    saves = sum(type(ev).__name__ == "CheckpointSaved" for ev in logged)
    if evals:
        found.append(f"{evals} eval{'s' * (evals != 1)} in events.jsonl")
    if saves:
        found.append(f"{saves} save{'s' * (saves != 1)} in events.jsonl")
    return found


def same_vocab(ck: dict[str, Any], corpus: Corpus, kind: str) -> None:
    """A checkpoint to resume (kind "resume") or start from ("init-from") must know the
    corpus's characters: one line saying so otherwise."""
    if ck["vocab"] == corpus.vocab:
        return
    if kind == "resume":
        raise UserError("the corpus has changed since this run was saved (its characters differ); "
                        "resume with the same data.path, or start a new run")
    new = len(set(corpus.vocab) - set(ck["vocab"]))
    gone = len(set(ck["vocab"]) - set(corpus.vocab))
    raise UserError(f"--init-from {ck['path']}: its model knows other characters than this "
                    f"corpus ({new} new here, {gone} missing here); train on a corpus with "
                    "the same characters, or start without --init-from")
