import numpy as np

from benchmark.registry import register_generator
from generators.base import Generator, finish_output, rows_by_class


@register_generator
class MixupGenerator(Generator):
    """Convex mix of two random training rows of the requested class."""

    name = "mixup"
    modalities = frozenset({"expression", "counts", "genotype"})

    def fit(self, X, y, meta):
        self.X, self.rows, self.modality = np.asarray(X, float), rows_by_class(y), meta.modality
        return self

    def sample(self, y):
        out = np.empty((len(y), self.X.shape[1]))
        for label, where in rows_by_class(np.asarray(y)).items():
            pool = self.rows[label]
            a, b = self.rng.choice(pool, len(where)), self.rng.choice(pool, len(where))
            w = self.rng.uniform(size=(len(where), 1))
            out[where] = w * self.X[a] + (1 - w) * self.X[b]
        return finish_output(out, self.modality)
