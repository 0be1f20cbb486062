"""Which rank this process is, as torchrun's environment says: read without importing torch,
so a command that only needs to know (is this rank 0? was I launched?) starts fast."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str = ""                 # nccl | gloo; "" for a single process


def launched() -> bool:
    """Started by torchrun (or any launcher setting the same variables)?"""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def world_from_env() -> World:
    """Rank and size as torchrun sets them (before any process group exists)."""
    if not launched():
        return World()
    return World(rank=int(os.environ["RANK"]), size=int(os.environ["WORLD_SIZE"]),
                 local_rank=int(os.environ.get("LOCAL_RANK", 0)))
