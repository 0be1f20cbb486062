"""The trainer as a process of its own: `tuirnn run` in a terminal starts
`tuirnn run ... --headless` in a new session (so a closed terminal or a dropped SSH link never
reaches it) and attaches the monitor to it once it serves its control socket.

Hand-shake: the parent passes the write end of a pipe in TUIRNN_READY_FD. Until the run is
ready the child writes its start-up lines (status, `error: ...`) to the parent's terminal as
any command would; when its folder, lock and socket exist it writes `ready RUN_DIR` on the
pipe, then points its stdout and stderr at RUN/train.log. A pipe closed without `ready` means
the child gave up: the parent waits for its exit status and returns it (the child has already
printed its one error line).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

READY_FD_ENV = "TUIRNN_READY_FD"


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
    return argv + ["--headless"]


def start_trainer(argv: list[str]) -> tuple[subprocess.Popen, Path | None]:
    """Start the trainer process; returns it and its run folder (None: it ended at start-up)."""
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
    if line.startswith("ready "):
        return proc, Path(line[len("ready "):].rstrip("\n"))
    proc.wait()
    return proc, None


def in_trainer_process() -> bool:
    return READY_FD_ENV in os.environ


def announce_ready(run_dir: Path) -> None:
    """In the trainer process (no-op elsewhere): tell the parent the run serves, then write
    all further output to RUN/train.log instead of the terminal."""
    fd_text = os.environ.pop(READY_FD_ENV, None)
    if fd_text is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    log_fd = os.open(run_dir / "train.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    try:
        os.write(int(fd_text), f"ready {run_dir.resolve()}\n".encode())
        os.close(int(fd_text))
    except OSError:   # the parent has gone already: train on, attachable later
        pass
