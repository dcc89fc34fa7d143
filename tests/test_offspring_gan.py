"""Offspring GAN and PPO-GAN: the genotype encoding, the networks, the training sets built by the hybridizer,
the schedule's invariants, and what the trained model learns."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from generator_fixtures import haplotype_blocks, real_classifier_accuracy  # noqa: E402

from benchmark.conformance import check_generator  # noqa: E402
from benchmark.dataset import DatasetMeta  # noqa: E402
from generators.baselines import UniformGenerator  # noqa: E402
from generators.hybridizer import block_bounds  # noqa: E402
from generators.nn.genotype import GenotypeChannels  # noqa: E402
from generators.nn.genotype_conv import Dropout, OffspringDiscriminator, OffspringGenerator  # noqa: E402
from generators.offspring_gan import PPOGAN, OffspringGAN  # noqa: E402

TINY = {"generator_channels": (8, 8, 4), "critic_channels": (4, 8), "critic_dense": 16, "latent": 16, "steps": 5}


@pytest.fixture(autouse=True)
def one_thread():
    """The machine is shared: one intra-op thread keeps these small trainings fast; restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def meta_for(X: np.ndarray, classes: int) -> DatasetMeta:
    return DatasetMeta("blocks", "genotype", tuple(f"snp{j}" for j in range(X.shape[1])),
                       tuple(f"pop{c}" for c in range(classes)))


@pytest.mark.parametrize("name", ["offspring-gan", "ppo-gan"])
def test_passes_the_conformance_kit(name):
    report = check_generator(name)
    assert report.passed, report.render()


def test_genotype_channels_pad_and_strip():
    X = np.random.default_rng(0).integers(0, 3, size=(9, 65)).astype(np.int8)
    encoding = GenotypeChannels(multiple=4).fit(X)
    assert encoding.padded_snps == 68 and encoding.width == 3 * 68
    Z = encoding.transform(X)
    assert Z.shape == (9, 204) and Z.dtype == np.float32
    channels = Z.reshape(9, 3, 68)
    np.testing.assert_array_equal(channels.sum(axis=1), 1.0)  # one-hot, padding included
    np.testing.assert_array_equal(channels[:, 0, 65:], 1.0)  # padding SNPs are hom-ref
    np.testing.assert_array_equal(encoding.inverse(Z), X)
    with pytest.raises(ValueError, match=r"integer dosages in \{0, 1, 2\}"):
        encoding.transform(X + 1)


def test_networks_shapes_softmax_and_clipping():
    torch.manual_seed(0)
    generator = OffspringGenerator(16, 32, 3, (8, 8, 4), dropout_on=True).eval()
    labels = torch.tensor([0, 1, 2, 1])
    out = generator(torch.randn(4, 16), labels)
    assert out.shape == (4, 96)
    torch.testing.assert_close(out.view(4, 3, 32).sum(dim=1), torch.ones(4, 32))
    critic = OffspringDiscriminator(32, 3, (4, 8), 16, dropout_on=True)
    assert critic(out, labels).shape == (4,)
    critic.clip_kernels(0.01)
    assert all(conv.weight.abs().max() <= 0.01 for conv in critic.convolutions)
    assert critic.body[-1].weight.abs().max() > 0.01  # dense layers are not clipped
    with pytest.raises(ValueError, match="divisible by 4"):
        OffspringGenerator(16, 30, 3, (8, 8, 4), dropout_on=False)


@pytest.mark.parametrize("rate", [0.3, 0.4, 0.5])
def test_dropout_drops_its_rate_and_keeps_the_mean(rate):
    torch.manual_seed(0)
    layer = Dropout(rate).train()
    out = layer(torch.ones(1_000_003))  # not a multiple of 4: the last 64-bit draw is cut
    assert (out == 0).float().mean().item() == pytest.approx(rate, abs=0.002)
    assert out.mean().item() == pytest.approx(1.0, abs=0.005)
    assert out.unique().tolist() == pytest.approx([0.0, 1 / (1 - rate)])
    x = torch.randn(5, 7)
    assert torch.equal(layer.eval()(x), x)


def test_conditioning_is_multiplicative_in_both_networks():
    torch.manual_seed(0)
    generator = OffspringGenerator(16, 32, 2, (8, 8, 4), dropout_on=False).eval()
    with torch.no_grad():
        generator.condition.table.weight.zero_()
    z = torch.randn(3, 16)
    same = generator(z, torch.tensor([0, 1, 0]))
    torch.testing.assert_close(same[0], same[1])  # a zero embedding erases z: every row is the same
    critic = OffspringDiscriminator(32, 2, (4, 8), 16, dropout_on=False).eval()
    with torch.no_grad():
        critic.condition.table.weight[1].zero_()
    x = torch.rand(2, 96)
    scores = critic(x, torch.tensor([1, 1]))
    torch.testing.assert_close(scores[0], scores[1])  # label 1 multiplies the input by zero


def biased_populations() -> tuple[np.ndarray, np.ndarray, DatasetMeta]:
    X, y = haplotype_blocks(n_per_class=60, blocks=4, block_snps=8, classes=3, seed=1)
    keep = np.concatenate([np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:40], np.flatnonzero(y == 2)[:20]])
    return X[keep], y[keep], meta_for(X, 3)


def test_offspring_training_set_adds_hybrids_of_under_represented_labels_only():
    X, y, meta = biased_populations()  # 60, 40, 20 rows: only label 2 is under half of the largest
    generator = OffspringGAN(budget="smoke", seed=0, **TINY).fit(X, y, meta)
    X_train, y_train = generator.training_set(X, y)
    np.testing.assert_array_equal(X_train[:len(X)], X)  # the real rows are kept intact
    assert np.bincount(y_train).tolist() == [60, 40, 20 + 4 * 20]
    np.testing.assert_array_equal(X_train[y_train == 2].sum(axis=0), 5 * X[y == 2].sum(axis=0))
    assert generator.derived_hparams["hybridized_labels"] == ["pop2"]
    assert generator.derived_hparams["training_rows"] == 200 and generator.derived_hparams["effective_block_snps"] == 5
    wider = OffspringGAN(budget="smoke", seed=0, **TINY, hybridize_below=0.8).fit(X, y, meta)
    assert wider.derived_hparams["hybridized_labels"] == ["pop1", "pop2"]
    plain = OffspringGAN(budget="smoke", seed=0, **TINY, hybridize=False).fit(X, y, meta)
    assert plain.derived_hparams["hybridized_labels"] == [] and plain.derived_hparams["training_rows"] == len(X)


def test_ppo_training_set_has_no_real_row():
    _, y, meta = biased_populations()
    X = np.random.default_rng(0).integers(0, 3, size=(len(y), 32)).astype(np.int8)  # diverse genomes
    generator = PPOGAN(budget="smoke", seed=0, **TINY).fit(X, y, meta)
    X_train, y_train = generator.training_set(X, y)
    assert np.bincount(y_train).tolist() == [300, 200, 100]
    for label in range(3):
        np.testing.assert_array_equal(X_train[y_train == label].sum(axis=0), 5 * X[y == label].sum(axis=0))
    real = {row.tobytes() for row in X}
    assert not any(row.tobytes() in real for row in X_train)
    assert "hybridize" not in PPOGAN.budgets["default"] and not PPOGAN.budgets["default"]["dropout"]


def test_fit_clips_kernels_and_is_deterministic():
    X, y, meta = biased_populations()
    first = OffspringGAN(budget="smoke", seed=3, **TINY).fit(X, y, meta)
    assert all(conv.weight.abs().max() <= 0.01 + 1e-9 for conv in first.critic.convolutions)
    assert first.training["steps_done"] == 5
    labels = np.array([2, 0, 1, 2, 2])
    S = first.sample(labels)
    assert S.shape == (5, X.shape[1]) and S.dtype == np.int8 and set(np.unique(S).tolist()) <= {0, 1, 2}
    again = OffspringGAN(budget="smoke", seed=3, **TINY).fit(X, y, meta).sample(labels)
    np.testing.assert_array_equal(S, again)


def test_post_hybridize_recombines_few_generated_parents():
    """n rows of a label come from ceil(n / 4) generated parents: no block holds more distinct segments."""
    X, y, meta = biased_populations()
    generator = OffspringGAN(budget="smoke", seed=0, **TINY, post_hybridize=True).fit(X, y, meta)
    labels = np.array([0] * 9 + [2] * 4)
    S = generator.sample(labels)
    assert S.shape == (13, X.shape[1]) and S.dtype == np.int8
    for rows, parents in ((S[:9], 3), (S[9:], 1)):
        for start, stop in block_bounds(X.shape[1], generator.block_snps):
            assert len({segment.tobytes() for segment in rows[:, start:stop]}) <= parents


def class_frequency_correlation(X: np.ndarray, y: np.ndarray, S: np.ndarray) -> float:
    """Mean over classes of the correlation of real and generated per-SNP mean dosages."""
    return float(np.mean([np.corrcoef(X[y == c].mean(axis=0), S[y == c].mean(axis=0))[0, 1] for c in np.unique(y)]))


def test_learns_population_structure_a_label_blind_model_cannot():
    """Separated populations: generated rows carry their population's allele frequencies and are assigned
    to their label by a classifier trained on real rows, which a label-blind model cannot do (chance 1/3)."""
    X, y = haplotype_blocks(n_per_class=200, blocks=8, block_snps=8, classes=3, seed=0)
    meta = meta_for(X, 3)
    generator = OffspringGAN(budget="default", seed=0, steps=600, generator_channels=(32, 32, 16),
                             critic_channels=(8, 16), critic_dense=64).fit(X, y, meta)
    S = generator.sample(y)
    accuracy = real_classifier_accuracy(X, y, S, y)
    assert accuracy > 0.6, accuracy  # real held-out rows: 0.945
    assert class_frequency_correlation(X, y, S) > 0.8  # 0.90 measured
    blind = UniformGenerator(seed=0).fit(X, y, meta).sample(y)
    assert real_classifier_accuracy(X, y, blind, y) < 0.45
    assert class_frequency_correlation(X, y, blind) < 0.3
