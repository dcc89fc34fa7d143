"""The shared neural building blocks: preprocessing, conditioning, losses and the training loop."""

import time

import numpy as np
import pytest
import torch

from generators.nn.layers import ConditionedMLP, LabelCondition, MultiplicativeCondition, conditioned_mlp
from generators.nn.losses import (
    gradient_penalty,
    hinge_critic_loss,
    hinge_generator_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)
from generators.nn.optim import make_optimiser
from generators.nn.preprocess import Chain, QuantileNormal, ZScore, genotype_from_channels, genotype_one_hot
from generators.nn.train import EMA, Batches, RandomStream, TrainingDiverged, resolve_device, run_steps


def skewed_rows(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.lognormal(size=(300, 10))
    X[:, 3] = 2.5  # a constant gene
    X[:60, 4] = 0.0  # a gene with many ties
    return X


def test_zscore_round_trips_and_reinserts_constant_genes():
    X = skewed_rows()
    scaler = ZScore().fit(X)
    Z = scaler.transform(X)
    assert scaler.width == Z.shape[1] == 9
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-12) and np.allclose(Z.std(axis=0), 1)
    back = scaler.inverse(Z)
    assert np.abs(back - X).max() < 1e-12
    assert np.array_equal(back[:, 3], X[:, 3])  # the constant comes back exactly
    assert np.array_equal(scaler.inverse(np.zeros((2, 9)))[:, 3], [2.5, 2.5])


def test_quantile_normal_round_trips_on_train_and_is_normal():
    X = skewed_rows()
    transform = Chain(QuantileNormal(), ZScore()).fit(X)
    Z = transform.transform(X)
    assert transform.width == 9
    assert np.abs(transform.inverse(Z) - X).max() < 1e-10
    from scipy import stats

    assert stats.kstest(Z[:, 0], "norm").pvalue > 0.05  # a lognormal gene becomes normal


def test_genotype_one_hot_round_trips_and_rejects_other_values():
    X = np.random.default_rng(0).integers(0, 3, size=(20, 7))
    channels = genotype_one_hot(X)
    assert channels.shape == (20, 3, 7) and np.array_equal(channels.sum(axis=1), np.ones((20, 7)))
    assert np.array_equal(genotype_from_channels(channels), X)
    with pytest.raises(ValueError, match=r"\{0, 1, 2\}"):
        genotype_one_hot(np.array([[0, 3]]))


def test_label_conditionings():
    y = torch.tensor([0, 2, 2, 1])
    one_hot = LabelCondition(3, "onehot")
    assert one_hot.width == 3 and torch.equal(one_hot(y)[1], torch.tensor([0.0, 0.0, 1.0]))
    bits = LabelCondition(3, "bits", dim=2)
    encoded = bits(y)
    assert bits.width == 6 and encoded.shape == (4, 6)
    assert torch.equal(encoded[1], encoded[2]) and not torch.equal(encoded[0], encoded[1])
    # each one-hot bit looks up one of two shared rows: position carries the class
    assert torch.equal(encoded[0, 2:4], bits.table.weight[0]) and torch.equal(encoded[0, :2], bits.table.weight[1])
    embedding = LabelCondition(3, "embedding", dim=5)
    assert embedding.width == 5 and torch.equal(embedding(y)[1], embedding.table.weight[2])
    multiply = MultiplicativeCondition(3, 4)
    z = torch.ones(4, 4)
    assert torch.equal(multiply(z, y), multiply.table.weight[y])
    with pytest.raises(ValueError, match="conditioning"):
        LabelCondition(3, "film")


def test_conditioned_mlp_sees_the_condition_at_every_layer():
    body = ConditionedMLP(8, 3, (16, 32), 5, norm="batch")
    assert [layer[0].in_features for layer in body.hidden] == [11, 19] and body.out.in_features == 35
    net = conditioned_mlp(8, (16,), 1, n_classes=3, conditioning="onehot", squeeze=True)
    assert net(torch.zeros(4, 8), torch.tensor([0, 1, 2, 0])).shape == (4,)


def test_gradient_penalty_of_a_linear_critic_is_known():
    w = torch.tensor([3.0, 4.0])  # ‖∇D‖ = 5 everywhere
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    penalty = gradient_penalty(lambda x: x @ w, real, fake, torch.rand(6, 1))
    assert torch.isclose(penalty, torch.tensor(16.0))


def test_wasserstein_and_hinge_losses():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert wasserstein_critic_loss(real, fake) == pytest.approx(-1.0 - 1.25)
    assert wasserstein_generator_loss(fake) == pytest.approx(1.0)
    assert hinge_critic_loss(real, fake) == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert hinge_generator_loss(fake) == pytest.approx((3 + 1) / 2)


def test_batches_cover_every_row_each_epoch_and_are_seeded():
    batches = Batches(10, 4, RandomStream(0, torch.device("cpu")))
    epoch = torch.cat([batches.next(), batches.next()])
    assert len(set(epoch.tolist())) == 8  # no repeats within an epoch
    again = Batches(10, 4, RandomStream(0, torch.device("cpu")))
    assert torch.equal(again.next(), epoch[:4])
    assert Batches(3, 128, RandomStream(0, torch.device("cpu"))).next().numel() == 3  # capped at the row count


def test_ema_tracks_an_average_of_the_weights():
    module = torch.nn.Linear(2, 1)
    ema = EMA(module, decay=0.5)
    start = module.weight.detach().clone()
    with torch.no_grad():
        module.weight.add_(2.0)
    ema.update(module)
    assert torch.allclose(ema.module.weight, start + 1.0)
    assert not ema.module.weight.requires_grad


def test_run_steps_reports_progress_and_stops_at_the_deadline():
    phases: list[str] = []
    log = run_steps(lambda i: {"loss": torch.tensor(1.0 / (i + 1))}, 5, report=phases.append)
    assert log["steps_done"] == 5 and not log["stopped_early"] and log["final_losses"] == {"loss": 0.2}
    assert phases[0] == "fit 0/5 steps" and phases[-1] == "fit 5/5 steps"

    def slow(i: int) -> dict[str, torch.Tensor]:
        time.sleep(0.02)
        return {"loss": torch.tensor(0.0)}

    log = run_steps(slow, 10_000, report=phases.append, stop_at=time.monotonic() + 0.1)
    assert log["stopped_early"] and 1 <= log["steps_done"] < 100
    assert phases[-1].startswith("fit stopped at the time limit after")


def test_run_steps_names_a_diverged_loss():
    with pytest.raises(TrainingDiverged, match=r"loss 'critic' is nan at step 3"):
        run_steps(lambda i: {"critic": torch.tensor(float("nan") if i == 2 else 0.0)}, 3, report=lambda _: None)


def test_devices_and_optimisers():
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in {"cpu", "mps"}
    params = [torch.nn.Parameter(torch.zeros(1))]
    assert isinstance(make_optimiser("rmsprop", params, 1e-3), torch.optim.RMSprop)
    assert make_optimiser("adam-gan", params, 1e-3).defaults["betas"] == (0.5, 0.9)
    with pytest.raises(ValueError, match="optimiser"):
        make_optimiser("sgd", params, 1e-3)


def test_quantile_normal_matches_scikit_learn():
    from sklearn.preprocessing import QuantileTransformer

    X = skewed_rows()
    X[:40, 5] = X[:, 5].max()  # ties at the maximum too
    new = np.vstack([np.random.default_rng(1).lognormal(size=(50, 10)) * 1.5, np.zeros((1, 10))])
    for n_quantiles in (300, 100):
        ours = QuantileNormal(n_quantiles).fit(X)
        theirs = QuantileTransformer(n_quantiles=n_quantiles, output_distribution="normal").fit(X)
        assert np.abs(ours.transform(X) - theirs.transform(X)).max() < 1e-8
        assert np.abs(ours.transform(new) - theirs.transform(new)).max() < 1e-8
        Z = np.random.default_rng(2).normal(scale=2.0, size=(80, 10))
        assert np.abs(ours.inverse(Z) - theirs.inverse_transform(Z)).max() < 1e-8
