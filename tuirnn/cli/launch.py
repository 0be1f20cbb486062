"""The trainer as a process of its own: `tuirnn run` in a terminal starts
`tuirnn run ... --headless` in a new session (so a closed terminal or a dropped SSH link never
reaches it) and attaches the monitor to it once it serves its control socket.

Hand-shake: the parent passes the write end of a pipe in TUIRNN_READY_FD. Until the run is
ready the child writes its start-up lines (status, `error: ...`) to the parent's terminal as
any command would; when its folder, lock and socket exist it writes `ready RUN_DIR` on the
pipe, then points its stdout and stderr at RUN/train.log. A pipe closed without `ready` means
the child gave up: the parent waits for its exit status and returns it (the child has already
printed its one error line). A launcher that closes inherited descriptors (torchrun) gets
TUIRNN_READY_FILE instead: rank 0 writes the same line into that file and the parent polls it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..core.errors import UserError
from ..core.world import launched

READY_FD_ENV = "TUIRNN_READY_FD"
READY_FILE_ENV = "TUIRNN_READY_FILE"
READY = "ready "                  # the child's line, then its run folder: `ready RUN_DIR\n`


def trainer_argv(args) -> list[str]:
    """The `tuirnn run` arguments that reproduce `args` for the trainer process."""
    argv = ["run"]
    if args.config:
        argv.append(str(Path(args.config).resolve()))
    for override in args.overrides:
        argv += ["--set", override]
    if args.resume:
        argv += ["--resume", str(Path(args.resume).resolve())]
    if args.run_dir:
        argv += ["--run-dir", str(Path(args.run_dir).resolve())]
    if getattr(args, "init_from", None):
        argv += ["--init-from", str(Path(args.init_from).resolve())]
    return argv + ["--headless"]


# --- --nproc: torchrun for one node -------------------------------------------------------------
def torchrun_argv(args) -> list[str]:
    """The torchrun command (as python -m torch.distributed.run) that trains `args` on one node.
    In a terminal the trainer is that torchrun, started in a session of its own like any
    trainer process, and the monitor attaches to rank 0's socket."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={args.nproc}", "--module", "tuirnn", *trainer_argv(args)]


def start_torchrun(args) -> int:
    if launched():
        raise UserError("--nproc starts torchrun itself; under torchrun leave --nproc out")
    if not 1 <= args.nproc <= 1024:
        raise UserError(f"--nproc must be between 1 and 1024 processes; got {args.nproc}")
    argv = torchrun_argv(args)
    # torch's CPU threads split over the ranks (torchrun would set 1 and warn)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.nproc)))
    if args.headless or not sys.stdout.isatty():
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)
    return start_and_monitor(argv[3:], launcher=argv[:3])


def start_trainer(argv: list[str], launcher: list[str] | None = None
                  ) -> tuple[subprocess.Popen, Path | None]:
    """Start the trainer process; returns it and its run folder (None: it ended at start-up).
    launcher: the command before `argv` (default: this python -m tuirnn)."""
    if launcher is not None:
        return _start_with_ready_file([*launcher, *argv])
    read_end, write_end = os.pipe()
    env = dict(os.environ, **{READY_FD_ENV: str(write_end)})
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tuirnn", *argv], env=env,
                                stdin=subprocess.DEVNULL, pass_fds=(write_end,),
                                start_new_session=True)
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "r", encoding="utf-8") as ready:
        try:
            line = ready.readline()
        except KeyboardInterrupt:   # Ctrl+C while the corpus loads: the child stops too
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            raise
    if line.startswith(READY):
        return proc, _run_dir_of(line)
    proc.wait()
    return proc, None


def start_and_monitor(argv: list[str], launcher: list[str] | None = None) -> int:
    """In a terminal: start the trainer (start_trainer's arguments), then be its first monitor.
    The trainer prints its own start-up errors here; its exit status is returned then."""
    from .attach import monitor
    proc, run_dir = start_trainer(argv, launcher)
    if run_dir is None:
        return proc.returncode if proc.returncode >= 0 else 1
    return monitor(run_dir)


def _start_with_ready_file(command: list[str]) -> tuple[subprocess.Popen, Path | None]:
    with tempfile.TemporaryDirectory(prefix="tuirnn-start-") as folder:
        ready = Path(folder) / "ready"
        proc = subprocess.Popen(command, env=dict(os.environ, **{READY_FILE_ENV: str(ready)}),
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            while not ready.exists():
                if proc.poll() is not None:
                    return proc, None
                time.sleep(0.1)
        except KeyboardInterrupt:   # Ctrl+C while the corpus loads: the ranks stop too
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            raise
        line = ready.read_text(encoding="utf-8")
    return proc, _run_dir_of(line)


def _run_dir_of(ready_line: str) -> Path:
    return Path(ready_line[len(READY):].rstrip("\n"))


def in_trainer_process() -> bool:
    return READY_FD_ENV in os.environ or READY_FILE_ENV in os.environ


def announce_ready(run_dir: Path) -> None:
    """In the trainer process (no-op elsewhere): tell the parent the run serves, then write
    all further output to RUN/train.log instead of the terminal."""
    fd_text = os.environ.pop(READY_FD_ENV, None)
    ready_file = os.environ.pop(READY_FILE_ENV, None)
    if fd_text is None and ready_file is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    from ..core.ownership import open_private  # never through a link planted as train.log
    log_fd = open_private(run_dir / "train.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    line = f"{READY}{run_dir.resolve()}\n"
    try:
        if ready_file is not None:   # written whole, then renamed: the parent never reads half
            Path(ready_file + ".tmp").write_text(line, encoding="utf-8")
            os.replace(ready_file + ".tmp", ready_file)
        elif fd_text is not None:
            os.write(int(fd_text), line.encode())
            os.close(int(fd_text))
    except OSError:   # the parent has gone already: train on, attachable later
        pass
