"""CTGAN and TVAE: the published networks and losses, training-by-sampling, the conformance kit, and what
they learn that a single Gaussian cannot (a bimodal gene; the labels)."""

import numpy as np
import pytest
import torch
from scipy import stats

from benchmark.conformance import check_generator
from benchmark.dataset import DatasetMeta
from generators.ctgan import CTGAN, LogFrequencySampler
from generators.nn.train import RandomStream
from generators.tvae import TVAE

torch.set_num_threads(1)
BIMODAL_CENTRES = (0.0, 6.0)


def bimodal_fixture(n_per_class: int = 100, genes: int = 30, seed: int = 0):
    """Three classes, each raising its own block of genes by 3; gene 0 is bimodal (0 or 6, sd 0.5) in every
    class, so only a model of its modes reproduces it."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    means = np.zeros((3, genes))
    for c in range(3):
        means[c, 1 + c * 9:1 + (c + 1) * 9] = 3.0
    X = 5.0 + means[y] + rng.normal(size=(len(y), genes))
    X[:, 0] = rng.choice(BIMODAL_CENTRES, len(y)) + rng.normal(0, 0.5, len(y))
    meta = DatasetMeta("bimodal", "expression", tuple(f"g{j}" for j in range(genes)), ("a", "b", "c"))
    return X.astype(np.float32), y, meta


def nearest_class_accuracy(X, y, synthetic, request) -> float:
    centres = np.stack([X[y == c].mean(0) for c in range(3)])
    nearest = np.argmin(((synthetic[:, None, :] - centres[None]) ** 2).sum(2), axis=1)
    return float(np.mean(nearest == request))


@pytest.fixture(scope="module", params=["ctgan", "tvae"])
def trained(request):
    X, y, meta = bimodal_fixture()
    if request.param == "ctgan":
        model = CTGAN(budget="smoke", seed=0, device="cpu").fit(X, y, meta)
    else:  # the default network for 600 steps: the smoke network at 600 steps drew the low mode 74 % of the time
        model = TVAE(budget="default", seed=0, device="cpu", steps=600).fit(X, y, meta)
    asked = np.repeat(np.arange(3), 200)
    return X, y, model, asked, model.sample(asked)


def test_reproduces_both_modes_of_a_bimodal_gene(trained):
    """Both modes come out in about their shares, the gap between them stays nearly empty, and the KS
    statistic beats a single Gaussian fit: by half for TVAE (measured 0.065 against 0.25); CTGAN's smoke budget
    places its modes less precisely (0.18: the low mode's mean off by 0.1-0.5, its sd 0.55-0.7 against 0.45)."""
    X, _, model, _, synthetic = trained
    gaussian = stats.norm(X[:, 0].mean(), X[:, 0].std())
    single_gaussian_ks = stats.ks_2samp(X[:, 0], gaussian.rvs(size=4000, random_state=0)).statistic
    ks = stats.ks_2samp(X[:, 0], synthetic[:, 0]).statistic
    gap = np.mean(np.abs(synthetic[:, 0] - 3.0) < 1.5)
    gaussian_gap = gaussian.cdf(4.5) - gaussian.cdf(1.5)
    assert 0.25 < np.mean(synthetic[:, 0] < 3.0) < 0.75
    assert gap < 0.25 * gaussian_gap, (model.name, gap, gaussian_gap)
    assert ks < (0.5 if model.name == "tvae" else 0.85) * single_gaussian_ks, (model.name, ks, single_gaussian_ks)


def test_rows_carry_their_requested_label(trained):
    X, y, model, asked, synthetic = trained
    assert nearest_class_accuracy(X, y, synthetic, asked) > 0.8  # chance is 1/3
    assert np.isfinite(synthetic).all() and synthetic.dtype == np.float32


def test_same_seed_same_rows():
    X, y, meta = bimodal_fixture(40, 12)
    first = TVAE(budget="smoke", seed=4, device="cpu", steps=30).fit(X, y, meta).sample(y)
    again = TVAE(budget="smoke", seed=4, device="cpu", steps=30).fit(X, y, meta).sample(y)
    other = TVAE(budget="smoke", seed=5, device="cpu", steps=30).fit(X, y, meta).sample(y)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    first = CTGAN(budget="smoke", seed=4, device="cpu", steps=5).fit(X, y, meta).sample(y)
    again = CTGAN(budget="smoke", seed=4, device="cpu", steps=5).fit(X, y, meta).sample(y)
    assert np.array_equal(first, again)


@pytest.mark.parametrize("name", ["tvae", "ctgan"])
def test_passes_the_conformance_kit(name):
    report = check_generator(name)
    assert report.passed, report.render()


def test_ctgan_networks_follow_the_paper():
    X, y, meta = bimodal_fixture(20, 12)
    model = CTGAN(budget="smoke", seed=0, device="cpu", steps=2, batch_size=60).fit(X, y, meta)
    width = model.preprocess.encoded_width + 3
    assert model.data_width == width == 12 * (1 + model.preprocess.max_modes) + 3
    residual_in = [block.block[0].in_features for block in list(model.generator)[:2]]
    assert residual_in == [128 + 3, 128 + 3 + 256]  # each block's output is concatenated to its input
    assert model.generator[-1].in_features == 128 + 3 + 512 and model.generator[-1].out_features == width
    assert model.critic.packed_dim == 10 * (width + 3)
    assert model.critic(torch.zeros(60, width + 3)).shape == (6,)  # one score per pack of 10 rows
    dropouts = [m.p for m in model.critic.modules() if isinstance(m, torch.nn.Dropout)]
    slopes = [m.negative_slope for m in model.critic.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert dropouts == [0.5, 0.5] and slopes == [0.2, 0.2]
    assert model.generator_optimiser.defaults["betas"] == (0.5, 0.9)
    assert model.generator_optimiser.defaults["weight_decay"] == 1e-6


def test_ctgan_activations_tanh_alphas_and_gumbel_softmax_spans():
    X, y, meta = bimodal_fixture(20, 12)
    model = CTGAN(budget="smoke", seed=0, device="cpu", steps=1, batch_size=60).fit(X, y, meta)
    raw = torch.randn(40, model.data_width) * 5
    active = model.activate(raw, 0.2)
    genes = active[:, :model.preprocess.encoded_width].view(40, 12, -1)
    assert torch.all(genes[:, :, 0].abs() <= 1)
    assert torch.allclose(genes[:, :, 1:].sum(-1), torch.ones(40, 12))
    assert torch.all(genes[:, :, 1:][:, ~model.preprocess.slot_valid] == 0)
    assert torch.allclose(active[:, -3:].sum(-1), torch.ones(40))
    hard = model.activate(raw, 1e-4)[:, -3:]  # a cold Gumbel-softmax is a one-hot draw
    assert torch.allclose(hard.max(-1).values, torch.ones(40), atol=1e-3)


def test_training_by_sampling_draws_classes_by_log_frequency():
    labels = torch.as_tensor(np.repeat([0, 1, 2], [500, 50, 5]))
    sampler = LogFrequencySampler(labels, RandomStream(0, torch.device("cpu")))
    classes = sampler.classes(60_000)
    expected = np.log1p([500, 50, 5]) / np.log1p([500, 50, 5]).sum()
    np.testing.assert_allclose(np.bincount(classes.numpy()) / 60_000, expected, atol=0.01)
    rows = sampler.rows_of(classes[:5000])
    assert torch.equal(labels[rows], classes[:5000])
    assert len(torch.unique(rows[classes[:5000] == 2])) == 5  # every row of a rare class is reachable


def test_tvae_networks_loss_and_sigma_clamp():
    X, y, meta = bimodal_fixture(20, 12)
    model = TVAE(budget="default", seed=0, device="cpu", steps=40, batch_size=60, sigma_init=2.0).fit(X, y, meta)
    width = model.data_width
    assert model.encoder.body[0].in_features == width + 3  # CVAE: the label is appended to the input
    assert model.decoder.body[0][0].in_features == 128 + 3
    assert model.encoder.mean.out_features == model.encoder.log_variance.out_features == 128
    assert model.decoder.body[-1].out_features == width
    sigma = model.decoder.sigma.detach()
    assert sigma.shape == (12,) and torch.all((sigma >= 0.01) & (sigma <= 1.0))  # clamped after every step
    assert model.optimiser.defaults["weight_decay"] == 1e-5 and model.optimiser.defaults["lr"] == 1e-3


def test_tvae_loss_falls_as_it_trains():
    X, y, meta = bimodal_fixture(40, 12)
    short = TVAE(budget="smoke", seed=0, device="cpu", steps=20).fit(X, y, meta).training["final_losses"]
    long = TVAE(budget="smoke", seed=0, device="cpu", steps=400).fit(X, y, meta).training["final_losses"]
    assert long["reconstruction"] < short["reconstruction"] - 10


def test_encoding_is_recorded_with_the_hyperparameters():
    X, y, meta = bimodal_fixture(20, 12)
    model = TVAE(budget="smoke", seed=0, device="cpu", steps=2).fit(X, y, meta)
    derived = model.derived_hparams
    assert derived["encoded_width"] == model.preprocess.encoded_width
    assert 1 <= derived["modes_per_gene"] <= derived["mode_slots"] <= 3
    assert derived["em_iterations_max"] >= 1
