"""A generator with a training loop, for the harness plumbing of neural generators (tests/test_hparams.py).

It "trains" for ``steps`` steps of ``step_s`` seconds each, calls ``report`` at every step (the harness
must throttle it), stops cleanly at ``stop_at``, fills ``derived_hparams`` and ``training``, then samples
per-class means plus ``noise`` times each feature's sd. ``fail="fit"`` or ``fail="sample"`` raises there, ``fail="hang"`` hangs in sample.
"""

import time

import numpy as np

from benchmark.registry import register_generator
from generators.base import BUDGETS, Generator, finish_output, rows_by_class


@register_generator
class Stepper(Generator):
    """Per-class means plus noise, fitted in timed steps (a stand-in for a neural training loop)."""

    name = "stepper"
    modalities = frozenset({"expression", "counts"})
    budgets = {budget: {"steps": 50, "step_s": 0.0, "noise": 0.5, "widths": (8, 4), "fail": "", "ppi": None}
               for budget in BUDGETS}

    def fit(self, X, y, meta):
        steps, pause = self.hparams["steps"], self.hparams["step_s"]
        done, stopped = 0, False
        self.derived_hparams["graph_nodes"] = int(X.shape[1])  # known before training: kept even if fit fails
        for i in range(steps):
            if pause:
                time.sleep(pause)
            done = i + 1
            self.report(f"fit {done:,}/{steps:,} steps")
            if self.stop_at is not None and time.monotonic() >= self.stop_at and done < steps:
                stopped = True
                break
        if self.hparams["fail"] == "fit":
            raise RuntimeError("deliberate failure in fit")
        self.derived_hparams.update(graph_edges=int(np.count_nonzero(np.abs(np.corrcoef(X.T)) > 0.5)),
                                    graph_seed=np.int64(self.seed))  # numpy values must reach the record as numbers
        self.training = {"steps_planned": steps, "steps_done": done, "stopped_early": stopped,
                         "final_losses": {"g": np.float32(0.25)}}
        self.mean = {label: X[rows].mean(axis=0) for label, rows in rows_by_class(y).items()}
        self.sd, self.modality = X.std(axis=0), meta.modality
        return self

    def sample(self, y):
        if self.hparams["fail"] == "sample":
            raise RuntimeError("deliberate failure in sample")
        if self.hparams["fail"] == "hang":
            time.sleep(3600)
        out = np.stack([self.mean[int(label)] for label in y])
        out = out + self.hparams["noise"] * self.sd * self.rng.standard_normal(out.shape)
        return finish_output(out, self.modality)
