"""CTGAN's mode-specific normalisation (Xu et al., NeurIPS 2019), fitted for all genes at once.

The reference fits one variational Dirichlet-process Gaussian mixture per column in a Python loop
(scikit-learn's ``BayesianGaussianMixture``: weight concentration 0.001, mean precision 1, mean prior
the column mean, 1 degree of freedom, covariance prior the column variance). Here the same variational
EM runs on a (rows x genes x modes) tensor: every update of the reference is an elementwise or
reduce-over-rows operation, so all genes advance together, each stopping when its own lower bound
changes by less than ``tol`` (the reference's test). The start is a 1-D k-means per gene from quantile
centres, run on all genes together, in place of the reference's randomly seeded k-means.

A value x of gene g is encoded as (α, k): k a mode drawn from the posterior over g's kept modes (those
of weight > 0.005; Gumbel-max over responsibilities + 1e-6, as the reference), α = (x − μ_k)/(4σ_k)
clipped to ±0.99. Networks see, per gene, [α ‖ one-hot(k)] over ``max_modes`` slots; genes with fewer
modes have padded slots that are always 0 in real rows and masked to −∞ in generated logits. Decoding:
k = argmax of the slot logits, x = 4σ_k · clip(α, −1, 1) + μ_k. Constant genes have one mode of sd 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch

WEIGHT_CONCENTRATION = 1e-3  # Dirichlet-process concentration of the reference's mixtures
MEAN_PRECISION = 1.0
DEGREES_OF_FREEDOM = 1.0
REG_COVAR = 1e-6
WEIGHT_THRESHOLD = 0.005  # modes of smaller weight are dropped
STD_MULTIPLIER = 4.0
ALPHA_CLIP = 0.99
PROBABILITY_FLOOR = 1e-6  # added to responsibilities before a mode is drawn
CELL_BUDGET = 1 << 25  # elements of one (rows x genes x modes) float64 block: 256 MB
KMEANS_ITERATIONS = 100


@dataclass
class Mixtures:
    """Variational posterior of 1-D Dirichlet-process Gaussian mixtures, one per gene: (genes x modes) each."""

    concentration_a: torch.Tensor  # stick-breaking Beta parameters
    concentration_b: torch.Tensor
    mean_precision: torch.Tensor
    means: torch.Tensor
    degrees_of_freedom: torch.Tensor
    covariances: torch.Tensor

    def select(self, genes: torch.Tensor) -> Mixtures:
        return Mixtures(*(getattr(self, f.name)[genes] for f in fields(self)))

    def assign(self, genes: torch.Tensor, other: Mixtures) -> None:
        for f in fields(self):
            getattr(self, f.name)[genes] = getattr(other, f.name)

    def weights(self) -> torch.Tensor:
        """Expected stick-breaking weights, normalised (the reference's ``weights_``)."""
        total = self.concentration_a + self.concentration_b
        remaining = torch.cumprod(self.concentration_b / total, dim=-1)
        stick = torch.cat([torch.ones_like(remaining[..., :1]), remaining[..., :-1]], dim=-1)
        weights = self.concentration_a / total * stick
        return weights / weights.sum(-1, keepdim=True)

    def log_joint_coefficients(self, shift: torch.Tensor) -> torch.Tensor:
        """(genes x modes x 3): the E-step's log weight + expected log density of mode k at x is
        [x², x, 1] · coef_k, with x measured from ``shift`` (the per-gene centre the features use)."""
        digamma_total = torch.digamma(self.concentration_a + self.concentration_b)
        log_stick = torch.cumsum(torch.digamma(self.concentration_b) - digamma_total, dim=-1)
        log_weights = (torch.digamma(self.concentration_a) - digamma_total
                       + torch.cat([torch.zeros_like(log_stick[..., :1]), log_stick[..., :-1]], dim=-1))
        dof, covariances = self.degrees_of_freedom, self.covariances
        constant = (log_weights - 0.5 * (math.log(2 * math.pi) + torch.log(covariances) + torch.log(dof))
                    + 0.5 * (math.log(2.0) + torch.digamma(0.5 * dof) - 1.0 / self.mean_precision))
        centred = self.means - shift[:, None]
        return torch.stack([-0.5 / covariances, centred / covariances,
                            constant - 0.5 * centred ** 2 / covariances], dim=-1)


def features(X: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rows x genes to (genes x 3 x rows): [x², x, 1] of each value measured from its gene's ``shift``."""
    centred = (X - shift).T
    return torch.stack([centred * centred, centred, torch.ones_like(centred)], dim=1)


def posterior(coefficients: torch.Tensor, feature_rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The variational E-step for all genes: responsibilities (genes x modes x rows) and, per gene, the
    sum over rows of the log normaliser."""
    logits = coefficients @ feature_rows
    top = logits.amax(dim=1, keepdim=True)
    resp = logits.sub_(top).exp_()
    total = resp.sum(dim=1, keepdim=True)
    return resp.div_(total), (top + total.log()).sum(dim=(1, 2))


def m_step(stats: torch.Tensor, prior_variance: torch.Tensor, shift: torch.Tensor) -> Mixtures:
    """The reference's variational M-step for every gene from the responsibility-weighted sums
    ``stats`` (genes x modes x [Σ r x², Σ r x, Σ r], x measured from ``shift``, the genes' means)."""
    nk = stats[..., 2] + 10 * torch.finfo(stats.dtype).eps
    xk = stats[..., 1] / nk
    sk = stats[..., 0] / nk - xk ** 2 + REG_COVAR
    tail = torch.flip(torch.cumsum(torch.flip(nk, [-1]), dim=-1), [-1])
    later = torch.cat([tail[..., 1:], torch.zeros_like(tail[..., :1])], dim=-1)  # Σ_{j>k} n_j
    mean_precision = MEAN_PRECISION + nk
    dof = DEGREES_OF_FREEDOM + nk
    covariances = (prior_variance[:, None] + nk * (sk + MEAN_PRECISION / mean_precision * xk ** 2)) / dof
    means = shift[:, None] + nk * xk / mean_precision  # the mean prior is the gene's mean: 0 from ``shift``
    return Mixtures(1.0 + nk, WEIGHT_CONCENTRATION + later, mean_precision, means, dof, covariances)


def lower_bound(mixtures: Mixtures, entropy: torch.Tensor) -> torch.Tensor:
    """The reference's evidence lower bound per gene (up to its constant), used only for convergence."""
    dof = mixtures.degrees_of_freedom
    log_det_cholesky = -0.5 * torch.log(mixtures.covariances) - 0.5 * torch.log(dof)
    log_wishart = -(dof * log_det_cholesky + dof * 0.5 * math.log(2.0) + torch.lgamma(0.5 * dof))
    a, b = mixtures.concentration_a, mixtures.concentration_b
    log_beta = torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)
    return entropy - log_wishart.sum(-1) + log_beta.sum(-1) - 0.5 * torch.log(mixtures.mean_precision).sum(-1)


def initial_labels(X: torch.Tensor, n_modes: int) -> torch.Tensor:
    """Starting mode of each value (rows x genes): 1-D k-means per gene from centres at the quantiles
    (k + 0.5)/K, all genes at once. In 1-D each cluster is a run of the sorted values between midpoints of
    consecutive centres, so a Lloyd step is a ``searchsorted`` and a difference of cumulative sums; a
    centre left without values keeps its place (ties go to the lower centre, as an argmin would)."""
    ordered = X.T.contiguous().sort(dim=1).values  # genes x rows
    levels = (torch.arange(n_modes, dtype=X.dtype) + 0.5) / n_modes
    centres = torch.quantile(ordered, levels, dim=1).T.contiguous()  # genes x modes
    running = torch.cat([torch.zeros_like(ordered[:, :1]), ordered.cumsum(dim=1)], dim=1)
    every = torch.full((len(centres), 1), ordered.shape[1], dtype=torch.long)
    for _ in range(KMEANS_ITERATIONS):
        ends = torch.cat([torch.searchsorted(ordered, 0.5 * (centres[:, 1:] + centres[:, :-1]), side="right"),
                          every], dim=1)
        starts = torch.cat([torch.zeros_like(every), ends[:, :-1]], dim=1)
        counts = (ends - starts).to(X.dtype)
        sums = torch.gather(running, 1, ends) - torch.gather(running, 1, starts)
        updated = torch.where(counts > 0, sums / counts.clamp_min(1), centres)
        if torch.equal(updated, centres):
            break
        centres = updated
    midpoints = (0.5 * (centres[:, 1:] + centres[:, :-1])).contiguous()
    return torch.searchsorted(midpoints, X.T.contiguous(), side="left").T


def fit_mixtures(X: torch.Tensor, n_modes: int, *, max_iter: int = 100, tol: float = 1e-3,
                 labels: torch.Tensor | None = None) -> tuple[Mixtures, torch.Tensor]:
    """Variational EM of one ``n_modes``-component mixture per column of ``X`` (rows x genes, float64), all
    columns together; each column stops once its lower bound changes by less than ``tol``.

    ``labels`` (rows x genes) is the starting mode of each value (default :func:`initial_labels`).
    Returns the mixtures and the EM iterations each column ran.
    """
    shift, prior_variance = X.mean(0), X.var(0, correction=1)
    if labels is None:
        labels = initial_labels(X, n_modes)
    feature_rows = features(X, shift)
    start = torch.nn.functional.one_hot(labels.T, n_modes).to(X.dtype).transpose(1, 2)  # genes x modes x rows
    mixtures = m_step(start @ feature_rows.transpose(1, 2), prior_variance, shift)
    bound = torch.full((X.shape[1],), -math.inf, dtype=X.dtype)
    iterations = torch.zeros(X.shape[1], dtype=torch.long)
    active = torch.arange(X.shape[1])
    for _ in range(max_iter):
        coefficients = mixtures.select(active).log_joint_coefficients(shift[active])
        resp, log_normaliser = posterior(coefficients, feature_rows)
        stats = resp @ feature_rows.transpose(1, 2)
        updated = m_step(stats, prior_variance[active], shift[active])
        entropy = log_normaliser - (coefficients * stats).sum(dim=(1, 2))  # -Σ r log r
        new_bound = lower_bound(updated, entropy)
        mixtures.assign(active, updated)
        converged = (new_bound - bound[active]).abs() < tol
        bound[active] = new_bound
        iterations[active] += 1
        if converged.any():
            active, feature_rows = active[~converged], feature_rows[~converged]
            if len(active) == 0:
                break
    return mixtures, iterations


class ModeNormalizer:
    """Mode-specific normalisation of every gene (a ``Transform``; see the module docstring).

    ``transform`` returns the compact encoding, rows x 2·genes: α of the drawn mode, then the mode's slot
    index (as a float), per gene; ``expand`` turns a batch of it into the network layout, rows x
    genes·(1 + ``max_modes``); ``inverse`` decodes that layout (α and slot logits) back to values.
    """

    def __init__(self, max_clusters: int = 10, *, fit_rows: int = 5000, seed: int = 0, max_iter: int = 100,
                 tol: float = 1e-3):
        self.max_clusters, self.fit_rows, self.seed = max_clusters, fit_rows, seed
        self.max_iter, self.tol = max_iter, tol
        self.generator = torch.Generator().manual_seed(seed)

    def fit(self, X: np.ndarray) -> ModeNormalizer:
        X = np.asarray(X, dtype=np.float64)
        n_rows, self.n_genes = X.shape
        if n_rows > self.fit_rows:
            X = X[np.sort(np.random.default_rng(self.seed).choice(n_rows, self.fit_rows, replace=False))]
        spread = X.std(axis=0)
        self.varying = torch.as_tensor(spread > 1e-12 * np.maximum(1.0, np.abs(X.mean(axis=0))))
        values = torch.as_tensor(X[:, self.varying.numpy()])
        self.shift = values.mean(0)
        genes_per_block = max(1, CELL_BUDGET // (len(values) * self.max_clusters))
        blocks = [fit_mixtures(values[:, start:start + genes_per_block], self.max_clusters,
                               max_iter=self.max_iter, tol=self.tol)
                  for start in range(0, values.shape[1], genes_per_block)]
        self.mixtures = Mixtures(*(torch.cat([getattr(m, f.name) for m, _ in blocks])
                                   for f in fields(Mixtures)))
        self.em_iterations = torch.cat([iterations for _, iterations in blocks])
        self.coefficients = self.mixtures.log_joint_coefficients(self.shift)
        self._keep_modes(torch.as_tensor(X[0]))
        return self

    def _keep_modes(self, first_row: torch.Tensor) -> None:
        """Tables of the kept modes of every gene, packed into the first slots (genes x ``max_modes``)."""
        K = self.max_clusters
        weights = torch.zeros(self.n_genes, K, dtype=torch.float64)
        means = torch.zeros_like(weights)
        stds = torch.zeros_like(weights)
        weights[self.varying] = self.mixtures.weights()
        means[self.varying] = self.mixtures.means
        stds[self.varying] = self.mixtures.covariances.sqrt()
        weights[~self.varying, 0] = 1.0
        means[~self.varying, 0] = first_row[~self.varying]
        kept = weights > WEIGHT_THRESHOLD
        self.n_modes = kept.sum(1)
        self.max_modes = int(self.n_modes.max()) if self.n_genes else 1
        order = torch.sort((~kept).to(torch.int8), dim=1, stable=True).indices[:, :self.max_modes]
        self.slot_component = order  # the mixture component behind each slot
        self.slot_valid = torch.arange(self.max_modes)[None, :] < self.n_modes[:, None]
        self.slot_means = torch.gather(means, 1, order)
        self.slot_stds = torch.gather(stds, 1, order)
        self.slot_weights = torch.gather(weights, 1, order) * self.slot_valid

    @property
    def width(self) -> int:
        """Columns of the compact encoding (α and slot index per gene)."""
        return 2 * self.n_genes

    @property
    def encoded_width(self) -> int:
        """Columns of the network layout: per gene α and ``max_modes`` slot indicators."""
        return self.n_genes * (1 + self.max_modes)

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = torch.as_tensor(np.asarray(X, dtype=np.float64))
        rows_per_block = max(1, CELL_BUDGET // max(1, int(self.varying.sum()) * self.max_clusters))
        slots = torch.cat([self._draw_slots(X[start:start + rows_per_block])
                           for start in range(0, len(X), rows_per_block)])
        mean = torch.gather(self.slot_means.expand(len(X), -1, -1), 2, slots[..., None])[..., 0]
        std = torch.gather(self.slot_stds.expand(len(X), -1, -1), 2, slots[..., None])[..., 0]
        alpha = torch.where(std > 0, (X - mean) / (STD_MULTIPLIER * std.clamp_min(1e-300)), torch.zeros_like(X))
        alpha = alpha.clamp(-ALPHA_CLIP, ALPHA_CLIP)
        return torch.cat([alpha, slots.to(torch.float64)], dim=1).to(torch.float32).numpy()

    def _draw_slots(self, X: torch.Tensor) -> torch.Tensor:
        """A kept mode of each value drawn from its posterior (+ the floor), by the Gumbel-max trick."""
        slots = torch.zeros(X.shape, dtype=torch.long)
        if not bool(self.varying.any()):
            return slots
        resp, _ = posterior(self.coefficients, features(X[:, self.varying], self.shift))  # genes x modes x rows
        component = self.slot_component[self.varying][..., None].expand(-1, -1, len(X))
        probability = (torch.gather(resp, 1, component) + PROBABILITY_FLOOR) * self.slot_valid[self.varying][..., None]
        # Gumbel-max in its exponential form: argmax_k log p_k - log E_k = argmax_k p_k / E_k, E_k = -log U_k.
        race = probability / -torch.log(torch.rand(probability.shape, generator=self.generator, dtype=torch.float64))
        slots[:, self.varying] = race.transpose(1, 2).contiguous().argmax(dim=-1).T
        return slots

    def expand(self, compact: torch.Tensor) -> torch.Tensor:
        """Compact rows (α, slot per gene) to the network layout, the slot one-hots made by a scatter."""
        alpha, slots = compact[:, :self.n_genes], compact[:, self.n_genes:].long()
        out = torch.zeros(len(compact), self.n_genes, 1 + self.max_modes, dtype=compact.dtype, device=compact.device)
        out[:, :, 0] = alpha
        out[:, :, 1:].scatter_(2, slots[..., None], 1.0)
        return out.flatten(1)

    def split(self, encoded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Network-layout rows to (α, rows x genes; slot logits with padded slots at −∞, rows x genes x slots)."""
        view = encoded.view(len(encoded), self.n_genes, 1 + self.max_modes)
        valid = self.slot_valid.to(encoded.device)
        return view[:, :, 0], view[:, :, 1:].masked_fill(~valid, -math.inf)

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        alpha, logits = self.split(torch.as_tensor(np.asarray(Z, dtype=np.float64)))
        slots = logits.argmax(dim=-1, keepdim=True)
        mean = torch.gather(self.slot_means.expand(len(Z), -1, -1), 2, slots)[..., 0]
        std = torch.gather(self.slot_stds.expand(len(Z), -1, -1), 2, slots)[..., 0]
        return (STD_MULTIPLIER * std * alpha.clamp(-1.0, 1.0) + mean).numpy()
