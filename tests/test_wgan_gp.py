"""WGAN-GP: the published architecture, determinism, conditioning, and that it learns gene-gene correlation."""

import numpy as np
import pytest
from generator_fixtures import real_classifier_accuracy, two_modules, within_class_corr_score

from benchmark.conformance import check_generator
from benchmark.registry import get_generator

LABELS = np.repeat([0, 1], 400)


@pytest.fixture(scope="module")
def trained():
    X, y, meta = two_modules()
    model = get_generator("wgan-gp")(budget="smoke", seed=0, steps=300).fit(X, y, meta)
    return X, y, meta, model


def test_passes_the_conformance_kit():
    report = check_generator("wgan-gp")
    assert report.passed, report.render()


def test_architecture_follows_the_paper(trained):
    *_, model = trained
    generator, critic = model.generator, model.critic
    condition = generator.condition.width  # Lacan's bit embedding: 2 per class
    assert condition == 4
    assert [layer[0].in_features for layer in generator.body.hidden] == [8 + 4, 32 + 4]
    assert all(type(layer[1]).__name__ == "BatchNorm1d" for layer in generator.body.hidden)
    assert all(type(layer[1]).__name__ == "Identity" for layer in critic.body.hidden)  # no norm in the critic
    assert critic.body.out.out_features == 1 and generator.body.out.out_features == 24


def test_learns_module_correlations_and_labels(trained):
    X, y, meta, model = trained
    S = model.sample(LABELS)
    assert np.isfinite(S).all()
    marginals = get_generator("marginals")(seed=0).fit(X, y, meta).sample(LABELS)
    score = within_class_corr_score(X, y, S, LABELS)
    assert within_class_corr_score(X, y, marginals, LABELS) < 0.1
    assert score > 0.8
    assert real_classifier_accuracy(X, y, S, LABELS) > 0.95
    assert model.training["steps_done"] == 300 and model.n_params() > 0


def test_same_seed_same_rows_other_seed_other_rows():
    X, y, meta = two_modules(n_per_class=60)

    def draw(seed):
        return get_generator("wgan-gp")(budget="smoke", seed=seed).fit(X, y, meta).sample(LABELS[:50])

    first = draw(3)
    assert np.array_equal(first, draw(3))
    assert not np.array_equal(first, draw(4))


def test_reports_progress_as_the_job_phase():
    X, y, meta = two_modules(n_per_class=40)
    model = get_generator("wgan-gp")(budget="smoke", seed=0)
    phases: list[str] = []
    model.report = phases.append
    model.fit(X, y, meta)
    assert phases[0] == "fit 0/30 steps" and phases[-1] == "fit 30/30 steps"


def test_refuses_labels_it_never_saw():
    X, y, meta = two_modules(n_per_class=40, classes=3)
    model = get_generator("wgan-gp")(budget="smoke", seed=0, steps=2).fit(X[y < 2], y[y < 2], meta)
    with pytest.raises(ValueError, match=r"labels \[2\] were not in the training data"):
        model.sample(np.array([0, 2]))
