import numpy as np
import pytest

from benchmark.conformance import check_generator, fixture
from benchmark.dataset import DatasetMeta
from benchmark.errors import GeneratorError
from benchmark.registry import get_generator
from benchmark.validation import check_output
from generators.baselines import ledoit_wolf_shrinkage


@pytest.mark.parametrize("name", ["gaussian", "marginals", "copy-train", "uniform"])
def test_baselines_pass_the_conformance_kit(name):
    report = check_generator(name)
    assert report.passed, report.render()
    assert {c.modality for c in report.checks} == {"expression", "counts", "genotype"}


def meta(p: int, modality: str = "expression", classes: int = 2) -> DatasetMeta:
    return DatasetMeta("t", modality, tuple(f"f{j}" for j in range(p)), tuple(f"c{c}" for c in range(classes)))


def test_gaussian_recovers_class_mean_and_covariance():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, -0.5], [0.0, -0.5, 1.0]])
    X = np.vstack([rng.multivariate_normal([0, 0, 0], cov, 3000), rng.multivariate_normal([5, 5, 5], cov, 3000)])
    y = np.repeat([0, 1], 3000)
    S = get_generator("gaussian")(seed=1).fit(X, y, meta(3)).sample(np.repeat([0, 1], 20000))
    assert np.allclose(S[:20000].mean(axis=0), 0, atol=0.05)
    assert np.allclose(S[20000:].mean(axis=0), 5, atol=0.05)
    assert np.allclose(np.cov(S[20000:], rowvar=False), cov, atol=0.06)


def test_gaussian_with_fewer_rows_than_features_uses_shrinkage():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 100))
    y = np.repeat([0, 1], 10)
    model = get_generator("gaussian")(seed=0).fit(X, y, meta(100))
    S = model.sample(np.zeros(500, dtype=int))
    assert np.isfinite(S).all()
    # shrinkage keeps every direction's variance positive: the sample covariance has full rank
    assert np.linalg.matrix_rank(np.cov(S, rowvar=False)) == 100


@pytest.mark.parametrize(("n", "p"), [(8, 30), (30, 30), (40, 6), (3, 2)])
def test_ledoit_wolf_shrinkage_matches_scikit_learn(n, p):
    from sklearn.covariance import ledoit_wolf_shrinkage as sklearn_shrinkage

    rng = np.random.default_rng(n * p)
    X = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + 3.0
    delta, mu = ledoit_wolf_shrinkage(X - X.mean(axis=0))
    assert abs(delta - sklearn_shrinkage(X)) <= 1e-10
    assert np.isclose(mu, np.trace(np.cov(X, rowvar=False, bias=True)) / p)


def gaussian_draws(X, n_draws, seed=0, **hparams):
    model = get_generator("gaussian")(seed=seed, **hparams).fit(X, np.zeros(len(X), dtype=int), meta(X.shape[1], classes=1))
    return model.sample(np.zeros(n_draws, dtype=int)).astype(np.float64)


@pytest.mark.parametrize("extra_noise", [0.0, 0.5])
def test_gaussian_draws_have_the_ledoit_wolf_covariance_when_rows_are_few(extra_noise):
    from sklearn.covariance import ledoit_wolf

    X = np.random.default_rng(1).normal(size=(8, 12)) * np.linspace(0.5, 2.0, 12)
    target = ledoit_wolf(X)[0] * (1.0 + extra_noise)
    S = gaussian_draws(X, 100_000, extra_noise=extra_noise)
    assert np.allclose(S.mean(axis=0), X.mean(axis=0), atol=0.05)
    assert np.abs(np.cov(S, rowvar=False) - target).max() <= 0.03 * np.abs(target).max()


def test_gaussian_draws_have_the_sample_covariance_when_rows_are_many():
    X = np.random.default_rng(2).normal(size=(40, 5)) @ np.triu(np.ones((5, 5)))
    target = np.cov(X, rowvar=False)
    S = gaussian_draws(X, 100_000)
    assert np.abs(np.cov(S, rowvar=False) - target).max() <= 0.03 * np.abs(target).max()


def test_gaussian_draws_are_identical_for_a_seed_and_differ_across_seeds():
    X = np.random.default_rng(3).normal(size=(10, 50))
    assert np.array_equal(gaussian_draws(X, 20, seed=4), gaussian_draws(X, 20, seed=4))
    assert not np.array_equal(gaussian_draws(X, 20, seed=4), gaussian_draws(X, 20, seed=5))


def test_gaussian_depends_on_no_arbitrary_basis():
    """Permuting the features permutes the fitted factor (and, without shrinkage, every draw) the same way."""
    rng = np.random.default_rng(5)
    perm = rng.permutation(6)
    many = rng.normal(size=(30, 6))
    assert np.allclose(gaussian_draws(many[:, perm], 50), gaussian_draws(many, 50)[:, perm], rtol=1e-12, atol=1e-12)
    few = rng.normal(size=(4, 6))
    y = np.zeros(4, dtype=int)
    plain = get_generator("gaussian")().fit(few, y, meta(6, classes=1)).models[0]
    permuted = get_generator("gaussian")().fit(few[:, perm], y, meta(6, classes=1)).models[0]
    assert np.allclose(permuted["factor"], plain["factor"][:, perm], rtol=1e-12, atol=1e-12)
    assert np.isclose(permuted["noise"], plain["noise"], rtol=1e-12) and plain["noise"] > 0


def test_gaussian_never_forms_a_feature_by_feature_matrix():
    import tracemalloc

    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(40, 5000)), np.repeat([0, 1], 20)
    tracemalloc.start()
    get_generator("gaussian")().fit(X, y, meta(5000)).sample(y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 30e6  # one 5,000 x 5,000 float64 matrix is 200 MB


def test_uniform_draws_within_train_ranges_and_ignores_labels():
    X, y, m = fixture("expression")
    S = get_generator("uniform")(seed=0).fit(X, y, m).sample(np.full(500, 1))
    assert (S.min(axis=0) >= X.min(axis=0)).all() and (S.max(axis=0) <= X.max(axis=0)).all()
    assert get_generator("uniform").conditional is False
    G, yg, mg = fixture("genotype")
    genotypes = get_generator("uniform")(seed=0).fit(G, yg, mg).sample(np.full(3000, 0))
    assert genotypes.dtype == np.int8 and np.allclose(np.bincount(genotypes.ravel()) / genotypes.size, 1 / 3, atol=0.01)


def test_marginals_draw_only_values_seen_in_the_class():
    X, y, m = fixture("expression")
    S = get_generator("marginals")(seed=0).fit(X, y, m).sample(np.full(300, 1))
    class_values = X[y == 1]
    for j in range(X.shape[1]):
        assert set(S[:, j]) <= set(class_values[:, j])


def test_marginals_genotypes_follow_class_allele_frequencies():
    X, y, m = fixture("genotype")
    S = get_generator("marginals")(seed=0).fit(X, y, m).sample(np.full(20000, 2))
    assert S.dtype == np.int8
    assert np.allclose(S.mean(axis=0) / 2, X[y == 2].mean(axis=0) / 2, atol=0.02)


def test_copy_train_returns_training_rows_without_replacement():
    X, y, m = fixture("expression")
    S = get_generator("copy-train")(seed=0).fit(X, y, m).sample(np.full(70, 0))
    rows = {tuple(r) for r in X[y == 0]}
    assert {tuple(r) for r in S} == rows  # all 70 class-0 rows, each once


def test_gaussian_genotype_output_is_valid_dosage():
    X, y, m = fixture("genotype")
    S = get_generator("gaussian")(seed=0).fit(X, y, m).sample(y)
    assert S.dtype == np.int8 and set(np.unique(S)) <= {0, 1, 2}


def test_unknown_hyperparameter_is_rejected():
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        get_generator("gaussian")(learning_rate=0.1)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.full((3, 2), np.nan), "non-finite values; first at row 0, feature 0 \\('f0'\\)"),
        (np.zeros((2, 2)), "shape \\(2, 2\\), expected \\(3, 2\\)"),
        ([[0, 1]], "returned list"),
    ],
)
def test_output_check_names_the_problem(values, message):
    with pytest.raises(GeneratorError, match=message):
        check_output("g", values, 3, meta(2))


def test_output_check_rejects_genotypes_outside_0_1_2():
    bad = np.array([[0, 1], [2, 3]])
    with pytest.raises(GeneratorError, match="row 1, SNP 1 \\('f1'\\) = 3"):
        check_output("g", bad, 2, meta(2, "genotype"))
