"""Generators that misbehave on purpose, for the runner's failure handling tests."""

import os
import signal
import time

import numpy as np

from benchmark.registry import register_generator
from generators.base import Generator

ANY = frozenset({"expression", "counts", "genotype"})


class Faulty(Generator):
    modalities = ANY

    def fit(self, X, y, meta):
        self.p = X.shape[1]
        return self

    def sample(self, y):
        return np.zeros((len(y), self.p), dtype=np.float32)


@register_generator
class Crashes(Faulty):
    name = "faulty-crash"

    def fit(self, X, y, meta):
        raise RuntimeError("deliberate failure in fit")


@register_generator
class ReturnsNaN(Faulty):
    name = "faulty-nan"

    def sample(self, y):
        out = super().sample(y)
        out[3, 1] = np.nan
        return out


@register_generator
class Hangs(Faulty):
    name = "faulty-hang"

    def fit(self, X, y, meta):
        time.sleep(3600)
        return self


@register_generator
class DiesLikeOOM(Faulty):
    name = "faulty-killed"

    def fit(self, X, y, meta):
        os.kill(os.getpid(), signal.SIGKILL)


@register_generator
class Greedy(Faulty):
    name = "faulty-memory"

    def fit(self, X, y, meta):
        self.blob = np.ones((64, 1024, 1024, 8))  # 4 GiB
        return self
