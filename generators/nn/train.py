"""The one training loop: device, seeding and determinism, random streams, batches, EMA, step budget,
progress reports and the wall-clock stop."""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

REPORT_EVERY_S = 1.0


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"``: CUDA, then Apple MPS, else CPU; any other value is passed to ``torch.device``."""
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed torch (dropout and initialisation draw from its global stream) and ask for deterministic kernels."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS; read when CUDA starts
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


class RandomStream:
    """Seeded draws made on the CPU and moved to ``device``: the same numbers on every device."""

    def __init__(self, seed: int, device: torch.device):
        self.generator = torch.Generator().manual_seed(seed)
        self.device = device

    def normal(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator).to(self.device)

    def uniform(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator).to(self.device)

    def permutation(self, n: int) -> torch.Tensor:
        return torch.randperm(n, generator=self.generator)

    def choice(self, n: int, size: int) -> torch.Tensor:
        """``size`` distinct indices of range(n) (all of them, shuffled, when size >= n)."""
        return self.permutation(n)[:size]


class Batches:
    """Row indices of training batches: each epoch a fresh permutation, cut into batches of ``size``."""

    def __init__(self, n_rows: int, size: int, stream: RandomStream):
        if n_rows < 1:
            raise ValueError("no training rows")
        self.n_rows, self.size, self.stream = n_rows, min(size, n_rows), stream
        self.order = stream.permutation(n_rows)
        self.position = 0

    def next(self) -> torch.Tensor:
        if self.position + self.size > self.n_rows:
            self.order, self.position = self.stream.permutation(self.n_rows), 0
        rows = self.order[self.position:self.position + self.size]
        self.position += self.size
        return rows


class EMA:
    """Exponential moving average of a module's weights (buffers copied), used for sampling."""

    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        for average, current in zip(self.module.parameters(), module.parameters(), strict=True):
            average.lerp_(current, 1.0 - self.decay)
        for average, current in zip(self.module.buffers(), module.buffers(), strict=True):
            average.copy_(current)


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite."""


def run_steps(step: Callable[[int], dict[str, torch.Tensor]], steps: int, *,
              report: Callable[[str], None], stop_at: float | None = None,
              on_step_end: Callable[[], None] | None = None) -> dict[str, object]:
    """Call ``step(i)`` for i < ``steps`` (each returns its losses), reporting "fit i/steps steps" about
    once a second and checking the losses there; stop cleanly once ``time.monotonic()`` passes ``stop_at``.

    Returns the ``training`` block of the record: steps planned and done, whether the deadline stopped
    it, seconds, and the last losses.
    """
    start = last_report = time.monotonic()
    losses: dict[str, torch.Tensor] = {}
    done = 0
    stopped_early = False
    report(f"fit 0/{steps:,} steps")
    for i in range(steps):
        losses = step(i)
        if on_step_end is not None:
            on_step_end()
        done = i + 1
        now = time.monotonic()
        if now - last_report >= REPORT_EVERY_S or done == steps:
            check_finite(losses, done)
            report(f"fit {done:,}/{steps:,} steps")
            last_report = now
        if stop_at is not None and now >= stop_at and done < steps:
            stopped_early = True
            break
    final = {name: round(float(value), 6) for name, value in losses.items()}
    if stopped_early:
        check_finite(losses, done)
        report(f"fit stopped at the time limit after {done:,}/{steps:,} steps")
    return {"steps_planned": steps, "steps_done": done, "stopped_early": stopped_early,
            "fit_loop_s": round(time.monotonic() - start, 3), "final_losses": final}


def check_finite(losses: dict[str, torch.Tensor], step: int) -> None:
    for name, value in losses.items():
        if not math.isfinite(float(value)):
            raise TrainingDiverged(f"training diverged: loss {name!r} is {float(value)} at step {step:,}")


def to_tensor(values: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float32), device=device)


def count_parameters(*modules: nn.Module) -> int:
    return int(sum(p.numel() for module in modules for p in module.parameters()))
