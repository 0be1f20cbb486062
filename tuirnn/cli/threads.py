"""--threads for the commands that run a model outside training (sample, neurons, eval)."""
from __future__ import annotations

from ..core.errors import UserError


def add_threads_option(parser, default: int, why: str) -> None:
    """`--threads N` (0: torch's own choice, all physical cores); `why` explains the default."""
    parser.add_argument("--threads", type=int, default=default, metavar="N",
                        help=f"CPU threads for torch (0: all physical cores; default {default}: {why})")


def use_threads(n: int) -> None:
    """Apply --threads before any model work; bad values are one line, not a libgomp abort."""
    import torch

    from ..core.device import cpu_threads
    if n < 0:
        raise UserError(f"--threads must be 0 (all physical cores) or more; got {n}")
    if n > 1024:
        raise UserError(f"--threads {n} is more than any machine needs; give at most 1024 "
                        "(0 uses all physical cores)")
    torch.set_num_threads(cpu_threads(n))
