import numpy as np
import pytest

from benchmark.conformance import check_generator, fixture
from benchmark.dataset import DatasetMeta
from benchmark.errors import GeneratorError
from benchmark.registry import get_generator
from benchmark.validation import check_output
from generators.baselines import psd_factor


@pytest.mark.parametrize("name", ["gaussian", "marginals", "copy-train"])
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


def test_psd_factor_repairs_an_indefinite_matrix():
    bad = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    factor = psd_factor(bad)
    repaired = factor @ factor.T
    assert np.linalg.eigvalsh(repaired).min() >= 0
    assert np.allclose(np.linalg.eigvalsh(repaired).max(), 3.0)


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
