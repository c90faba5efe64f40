"""``fixed_grid_solve``: torchdiffeq's fixed-grid solvers on [0, 1], without their per-call setup.

Invariant: for ``euler``, ``midpoint`` and ``rk4`` the result is bit-identical to
``torchdiffeq.odeint(fn, z, tensor([0., 1.]), method=..., options={"step_size": h})[-1]``: the
same grid (built with the same tensor operations), the same stages (``rk4`` is torchdiffeq's
3/8-rule ``rk4_alt_step_func``) written as the same operations in the same order, so the same
kernels produce the same floats (``tests/model/test_fixed_grid.py`` holds them equal with
``torch.equal``). Why: at batch 1 torchdiffeq's per-call setup (input checks, wrapper modules,
the solution buffer, interpolation) costs more than the integration itself, and the live
trader's decision pays it on every bar. Inference only: training keeps torchdiffeq (adjoint,
the penalty state); other methods go through torchdiffeq too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import Tensor

FAST_METHODS = frozenset({"euler", "midpoint", "rk4"})
_ONE_THIRD, _TWO_THIRDS = 1 / 3, 2 / 3  # torchdiffeq's constants, as Python floats

Field = Callable[[Tensor, Tensor], Tensor]


def _grid(like: Tensor, step_size: float) -> Tensor:
    """torchdiffeq's ``_grid_constructor_from_step_size`` on t = [0, 1]."""
    t = torch.tensor([0.0, 1.0], dtype=like.dtype, device=like.device)
    start, end = t[0], t[-1]
    niters = torch.ceil((end - start) / step_size + 1).item()
    grid = torch.arange(0, niters, dtype=t.dtype, device=t.device) * step_size + start
    grid[-1] = t[-1]
    return grid


def _step(fn: Field, method: str, t0: Tensor, dt: Tensor, t1: Tensor, y0: Tensor) -> Tensor:
    f0 = fn(t0, y0)
    if method == "euler":
        return dt * f0
    if method == "midpoint":
        half_dt = 0.5 * dt
        return dt * fn(t0 + half_dt, y0 + f0 * half_dt)
    k1 = f0
    k2 = fn(t0 + dt * _ONE_THIRD, y0 + dt * k1 * _ONE_THIRD)
    k3 = fn(t0 + dt * _TWO_THIRDS, y0 + dt * (k2 - k1 * _ONE_THIRD))
    k4 = fn(t1, y0 + dt * (k1 - k2 + k3))
    return (k1 + 3 * (k2 + k3) + k4) * dt * 0.125


def fixed_grid_solve(fn: Field, z: Tensor, method: str, step_size: float) -> Tensor:
    """z at s = 1, integrating dz/ds = fn(s, z) from s = 0 (see the module docstring)."""
    if method not in FAST_METHODS:
        raise ValueError(f"fixed_grid_solve handles {sorted(FAST_METHODS)}, not {method!r}")
    grid = _grid(z, step_size)
    y = z
    for t0, t1 in itertools.pairwise(grid):
        y = y + _step(fn, method, t0, t1 - t0, t1, y)
    return y


__all__ = ["FAST_METHODS", "fixed_grid_solve"]
