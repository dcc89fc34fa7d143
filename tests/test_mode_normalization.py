"""Mode-specific normalisation fitted for all genes at once: parity with scikit-learn's per-column
variational mixture, the encoding round trip, posterior mode draws and padded slots."""

import warnings

import numpy as np
import pytest
import torch

from generators.nn.mode_normalization import (
    ALPHA_CLIP,
    PROBABILITY_FLOOR,
    WEIGHT_THRESHOLD,
    ModeNormalizer,
    fit_mixtures,
    initial_labels,
    posterior,
)

torch.set_num_threads(1)


def columns(n: int = 1500, seed: int = 0) -> np.ndarray:
    """Bimodal, skewed, zero-inflated, Gaussian and trimodal columns."""
    rng = np.random.default_rng(seed)
    return np.stack([
        np.where(rng.random(n) < 0.4, rng.normal(-3, 0.5, n), rng.normal(2, 1, n)),
        rng.gamma(2, 1, n),
        np.where(rng.random(n) < 0.6, 0.0, rng.normal(3, 1, n)),
        rng.normal(size=n),
        rng.choice([0.0, 5.0, 10.0], n) + rng.normal(0, 0.4, n),
    ], axis=1)


def sklearn_mixture(column: np.ndarray, labels: np.ndarray, n_modes: int, max_iter: int, tol: float):
    """scikit-learn's BayesianGaussianMixture with the reference's prior, started from ``labels``."""
    from sklearn.mixture import BayesianGaussianMixture

    class StartedFromLabels(BayesianGaussianMixture):
        def _initialize_parameters(self, X, random_state, xp=None):
            resp = np.zeros((len(X), self.n_components))
            resp[np.arange(len(X)), labels] = 1.0
            self._initialize(X, resp)

    model = StartedFromLabels(n_components=n_modes, weight_concentration_prior_type="dirichlet_process",
                              weight_concentration_prior=1e-3, max_iter=max_iter, tol=tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at a fixed iteration count
        return model.fit(column[:, None])


@pytest.mark.parametrize(("max_iter", "tol"), [(40, 0.0), (300, 1e-3)])
def test_mixtures_match_scikit_learn_column_by_column(max_iter, tol):
    """Same prior, same start, same iterations: means, sds and weights agree to 1e-9 (float64 rounding)
    and each column stops at the same EM iteration as scikit-learn's convergence test."""
    X = columns()
    labels = initial_labels(torch.as_tensor(X), 5)
    mixtures, iterations = fit_mixtures(torch.as_tensor(X), 5, max_iter=max_iter, tol=tol, labels=labels)
    weights = mixtures.weights().numpy()
    for j in range(X.shape[1]):
        reference = sklearn_mixture(X[:, j], labels[:, j].numpy(), 5, max_iter, tol)
        assert int(iterations[j]) == reference.n_iter_
        np.testing.assert_allclose(mixtures.means[j].numpy(), reference.means_[:, 0], rtol=0, atol=1e-9)
        np.testing.assert_allclose(mixtures.covariances[j].sqrt().numpy(), np.sqrt(reference.covariances_.reshape(-1)),
                                   rtol=0, atol=1e-9)
        np.testing.assert_allclose(weights[j], reference.weights_, rtol=0, atol=1e-9)
    assert (iterations < 300).any() and (iterations == iterations.max()).any()


def test_responsibilities_match_scikit_learn_predict_proba():
    X = columns(800)
    labels = initial_labels(torch.as_tensor(X), 4)
    mixtures, _ = fit_mixtures(torch.as_tensor(X), 4, max_iter=30, tol=0.0, labels=labels)
    shift = torch.as_tensor(X.mean(0))
    from generators.nn.mode_normalization import features

    resp, _ = posterior(mixtures.log_joint_coefficients(shift), features(torch.as_tensor(X), shift))
    for j in range(X.shape[1]):
        reference = sklearn_mixture(X[:, j], labels[:, j].numpy(), 4, 30, 0.0)
        np.testing.assert_allclose(resp[j].T.numpy(), reference.predict_proba(X[:, [j]]), atol=1e-9)


def test_initial_labels_are_a_one_dimensional_k_means_fixed_point():
    X = torch.as_tensor(columns())
    labels = initial_labels(X, 5)
    for j in range(X.shape[1]):
        used = torch.unique(labels[:, j])
        centres = torch.stack([X[labels[:, j] == k, j].mean() for k in used])
        nearest = used[(X[:, j, None] - centres).abs().argmin(dim=1)]
        assert torch.equal(nearest, labels[:, j])


def test_encode_then_decode_returns_the_input():
    """Exact up to float32 α wherever α is inside the ±0.99 clip (the reference's only loss), which is
    nearly everywhere: a value lands far out only when a distant mode is drawn with its 1e-6 floor."""
    X = columns(3000)
    encoding = ModeNormalizer(5, seed=3).fit(X)
    compact = encoding.transform(X)
    alpha = compact[:, :X.shape[1]]
    decoded = encoding.inverse(encoding.expand(torch.as_tensor(compact)).numpy())
    inside = np.abs(alpha) < ALPHA_CLIP
    assert inside.mean() > 0.999
    scale = np.abs(X).max(axis=0)
    assert np.all(np.abs(decoded - X)[inside] <= (1e-6 * scale[None, :].repeat(len(X), 0))[inside])


def test_kept_modes_follow_the_weights_and_the_data():
    X = columns(3000)
    encoding = ModeNormalizer(5).fit(X)
    assert torch.all(encoding.slot_weights[encoding.slot_valid] > WEIGHT_THRESHOLD)
    assert torch.equal(encoding.n_modes, encoding.slot_valid.sum(1))
    bimodal = encoding.slot_means[0][encoding.slot_valid[0]].numpy()
    assert np.abs(bimodal - -3).min() < 0.3 and np.abs(bimodal - 2).min() < 0.5
    trimodal = encoding.slot_means[4][encoding.slot_valid[4]].numpy()
    assert all(np.abs(trimodal - centre).min() < 0.3 for centre in (0.0, 5.0, 10.0))


def test_constant_genes_get_one_mode_of_sd_zero_and_decode_to_their_value():
    X = columns(500)
    X[:, 2] = 7.25
    encoding = ModeNormalizer(5).fit(X)
    assert int(encoding.n_modes[2]) == 1 and float(encoding.slot_stds[2, 0]) == 0.0
    compact = encoding.transform(X)
    assert np.all(compact[:, 2] == 0) and np.all(compact[:, X.shape[1] + 2] == 0)
    network_rows = torch.randn(50, encoding.encoded_width, dtype=torch.float64)
    assert np.all(encoding.inverse(network_rows.numpy())[:, 2] == 7.25)


def test_padded_slots_are_never_set_and_never_decoded():
    X = columns(2000)
    X[:, 3] = np.random.default_rng(1).normal(size=len(X)) * 1e-3 + 4.0  # one narrow mode
    encoding = ModeNormalizer(5).fit(X)
    assert encoding.n_modes.min() < encoding.max_modes
    network = encoding.expand(torch.as_tensor(encoding.transform(X)))
    alpha, logits = encoding.split(network)
    padded = ~encoding.slot_valid
    assert torch.all(torch.isneginf(logits[:, padded]))
    huge = torch.zeros_like(network).view(len(X), encoding.n_genes, -1)
    huge[:, :, 1:] = torch.where(padded, 1e6, 0.0)  # padded slots scored highest: decoding must ignore them
    decoded = encoding.inverse(huge.flatten(1).numpy())
    assert np.allclose(decoded, encoding.slot_means[:, 0].numpy())


def test_modes_are_drawn_from_the_posterior():
    """Gumbel-max draws of one repeated value hit each kept mode at its responsibility (+ the floor)."""
    X = columns(2000)
    encoding = ModeNormalizer(5, seed=11).fit(X)
    value = np.full((40_000, X.shape[1]), 0.0)
    value[:, 0] = -0.6  # between gene 0's two modes
    slots = encoding.transform(value)[:, X.shape[1]:].astype(int)
    from generators.nn.mode_normalization import features

    resp, _ = posterior(encoding.coefficients, features(torch.as_tensor(value[:1]), encoding.shift))
    kept = encoding.slot_component[0][encoding.slot_valid[0]]
    expected = resp[0, kept, 0].numpy() + PROBABILITY_FLOOR
    expected /= expected.sum()
    observed = np.bincount(slots[:, 0], minlength=len(expected))[:len(expected)] / len(slots)
    assert expected.max() < 0.95  # a real choice, not a certainty
    np.testing.assert_allclose(observed, expected, atol=0.01)


def test_same_seed_same_encoding_other_seed_other_draws():
    X = columns(1000)
    first = ModeNormalizer(5, seed=0).fit(X).transform(X)
    again = ModeNormalizer(5, seed=0).fit(X).transform(X)
    other = ModeNormalizer(5, seed=1).fit(X).transform(X)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_fits_on_at_most_fit_rows_rows():
    X = columns(3000)
    small = ModeNormalizer(4, fit_rows=500, seed=2).fit(X)
    assert small.transform(X).shape == (3000, 2 * X.shape[1])
    subset = X[np.sort(np.random.default_rng(2).choice(3000, 500, replace=False))]
    direct = ModeNormalizer(4, fit_rows=500).fit(subset)
    assert torch.allclose(small.slot_means, direct.slot_means)
