"""Defaults that fit the machine: torch's threads, the optimiser kernel per device."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT

from tuirnn.cli.main import build_parser
from tuirnn.core.device import load_optimizer_state, make_optimizer


def test_threads_zero_is_torchs_own_choice_in_a_fresh_process():
    """Without OMP_NUM_THREADS, train.threads 0 gives the thread count torch picks itself
    (all physical cores), not one fewer."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    code = ("import torch; own = torch.get_num_threads()\n"
            "from tuirnn.core.device import cpu_threads\n"
            "torch.set_num_threads(1)\n"            # an earlier run asked for one ...
            "print(own, cpu_threads(0), cpu_threads(3))")  # ... 0 still means torch's own
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout.split()
    own, zero, three = map(int, out)
    assert zero == own and three == 3


def test_commands_default_threads():
    parser = build_parser()
    assert parser.parse_args(["sample", "x.pt"]).threads == 1
    assert parser.parse_args(["neurons", "x.pt"]).threads == 1
    assert parser.parse_args(["eval", "x.pt"]).threads == 0
    assert parser.parse_args(["sample", "x.pt", "--threads", "0"]).threads == 0


def test_cpu_optimizers_are_not_fused():
    params = [torch.nn.Parameter(torch.zeros(3))]
    for name in ("adam", "rmsprop"):
        opt = make_optimizer(params, name, 1e-3, torch.device("cpu"))
        assert not opt.param_groups[0].get("fused")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_adam_is_fused():
    params = [torch.nn.Parameter(torch.zeros(3, device="cuda"))]
    assert make_optimizer(params, "adam", 1e-3, torch.device("cuda")).param_groups[0]["fused"]


def test_resume_keeps_this_devices_kernel_not_the_saved_one():
    """A state saved by a fused optimizer (a GPU run) loads into a CPU run unfused, with its
    moments intact."""
    p = torch.nn.Parameter(torch.ones(4))
    saved_opt = torch.optim.Adam([p], lr=1e-3, fused=True)
    p.grad = torch.full((4,), 0.5)
    saved_opt.step()
    state = saved_opt.state_dict()
    assert state["param_groups"][0]["fused"] is True
    q = torch.nn.Parameter(p.detach().clone())
    opt = make_optimizer([q], "adam", 1e-3, torch.device("cpu"))
    load_optimizer_state(opt, state)
    assert not opt.param_groups[0]["fused"]
    assert torch.equal(opt.state[q]["exp_avg"], saved_opt.state[p]["exp_avg"])
    q.grad = torch.full((4,), 0.5)
    opt.step()                                   # runs on the CPU kernel


def test_torch_threads_spin_only_briefly_unless_told_otherwise():
    """GOMP_SPINCOUNT must be set before torch loads: importing tuirnn sets a short spin, and
    a user's own OpenMP wait settings win."""
    code = ("import os, tuirnn, torch; "
            "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    run = lambda e: subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=e,  # noqa: E731
                                   capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    assert run(env) == "10000 None"
    assert run(dict(env, GOMP_SPINCOUNT="500")) == "500 None"
    assert run(dict(env, OMP_WAIT_POLICY="ACTIVE")) == "None ACTIVE"
