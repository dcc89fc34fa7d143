"""GMDA: the probe math (bounds, batched soft membership, losses, refresh) and the generator."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from generator_fixtures import real_classifier_accuracy, two_modules, within_class_corr_score  # noqa: E402

from benchmark.conformance import fixture  # noqa: E402
from generators.gmda import GMDA  # noqa: E402
from generators.nn import probes as pr  # noqa: E402
from generators.nn.train import RandomStream  # noqa: E402

TINY = {"generator_widths": (16, 32), "latent": 4, "batch_size": 64, "n_probes": 30, "steps": 20}


@pytest.fixture(autouse=True)
def one_thread():
    """The machine is shared: one intra-op thread keeps these tiny trainings fast (OpenMP spin-waits
    badly when cores are busy); restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def stream(seed: int = 0) -> RandomStream:
    return RandomStream(seed, torch.device("cpu"))


def random_probes(k: int, g: int, p: int, seed: int = 0) -> pr.Probes:
    gen = torch.Generator().manual_seed(seed)
    dims = torch.rand(k, g, generator=gen).argsort(dim=1)[:, :p]
    centre = torch.randn(k, p, generator=gen)
    half = 0.2 + torch.rand(k, p, generator=gen)
    return pr.Probes(torch.arange(k), dims, centre - half, centre + half)


# ---- bounds ----

def test_bounds_hand_computed():
    # class 0: feature 0 = 1..5 (ranks 0, .25, .5, .75, 1), feature 1 = 10 x feature 0 in another order;
    # class 1: two rows. Classes interleaved. δ = 0.3.
    f0 = [1.0, 100.0, 3.0, 2.0, 0.0, 5.0, 4.0]
    f1 = [10.0, 7.0, 30.0, 50.0, 7.0, 20.0, 40.0]
    labels = torch.tensor([0, 1, 0, 0, 1, 0, 0])
    rows = torch.tensor([f0, f1]).T
    lower, upper = pr.class_quantile_bounds(rows, labels, 0.3)
    # class 0, window δ·(max − min) = 0.3 x 4 = 1.2. x=1: F=0, F−δ<0 -> q 0 -> 1 − 1.2; F+δ=.3 -> pos 1.2 -> 2.2.
    # x=2: F=.25: lower clamped -> 1 − 1.2; upper q .55 -> pos 2.2 -> 3.2. x=3: q .2/.8 -> 1.8/4.2.
    # x=4: q .45 -> 2.8; upper clamped -> 5 + 1.2. x=5: q .7 -> 3.8; upper 5 + 1.2.
    expect0 = {1.0: (-0.2, 2.2), 2.0: (-0.2, 3.2), 3.0: (1.8, 4.2), 4.0: (2.8, 6.2), 5.0: (3.8, 6.2)}
    # class 1 (n = 2, F = 0 and 1), window 0.3 x 100 = 30: x=0 -> (−30, 30); x=100 -> (70, 130).
    expect1 = {0.0: (-30.0, 30.0), 100.0: (70.0, 130.0)}
    for i, (x, c) in enumerate(zip(f0, labels.tolist(), strict=True)):
        want = (expect0 if c == 0 else expect1)[x]
        assert lower[i, 0].item() == pytest.approx(want[0], abs=1e-5)
        assert upper[i, 0].item() == pytest.approx(want[1], abs=1e-5)
    # feature 1 of class 0 is 10 x feature 0's values in a different row order: bounds scale by 10
    for i in (0, 2, 3, 5, 6):
        want = expect0[f1[i] / 10]
        assert lower[i, 1].item() == pytest.approx(10 * want[0], abs=1e-4)
        assert upper[i, 1].item() == pytest.approx(10 * want[1], abs=1e-4)
    # class 1's feature 1 is constant (7, 7): zero window, the box collapses on the value
    assert lower[[1, 4], 1].tolist() == [7.0, 7.0] and upper[[1, 4], 1].tolist() == [7.0, 7.0]


def test_bounds_match_numpy_quantiles_and_chunking():
    rng = np.random.default_rng(0)
    rows = torch.tensor(rng.standard_normal((40, 7)), dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, 3, 40))
    delta = 0.15
    lower, upper = pr.class_quantile_bounds(rows, labels, delta)
    lower1, upper1 = pr.class_quantile_bounds(rows, labels, delta, chunk=2)
    assert torch.equal(lower, lower1) and torch.equal(upper, upper1)
    X, y = rows.numpy().astype(np.float64), labels.numpy()
    for c in range(3):
        Xc = X[y == c]
        n = len(Xc)
        for j in range(X.shape[1]):
            ranks = Xc[:, j].argsort(kind="stable").argsort(kind="stable") / (n - 1)
            window = delta * (Xc[:, j].max() - Xc[:, j].min())
            lo = np.quantile(Xc[:, j], np.clip(ranks - delta, 0, 1)) - window * (ranks - delta < 0)
            hi = np.quantile(Xc[:, j], np.clip(ranks + delta, 0, 1)) + window * (ranks + delta > 1)
            np.testing.assert_allclose(lower.numpy()[y == c, j], lo, atol=1e-5)
            np.testing.assert_allclose(upper.numpy()[y == c, j], hi, atol=1e-5)
    assert (lower <= rows).all() and (upper >= rows).all()  # every row lies in its own box


# ---- membership ----

def test_membership_centre_and_far():
    probe = pr.Probes(torch.tensor([0]), torch.tensor([[0, 2, 3]]), -torch.ones(1, 3), torch.ones(1, 3))
    x = torch.zeros(2, 5)
    x[1, 2] = 10.0  # outside on one of the probe's coordinates
    sharp = pr.membership(x, probe, sharpness=50.0)
    assert sharp.shape == (2, 1)
    assert sharp[0, 0].item() > 0.999 and sharp[1, 0].item() < 1e-6
    soft = pr.membership(x, probe, sharpness=2.0)  # σ(2)^6 at the centre
    assert soft[0, 0].item() == pytest.approx(torch.sigmoid(torch.tensor(2.0)).item() ** 6, rel=1e-5)
    x_off = torch.zeros(1, 5)
    x_off[0, 1] = 100.0  # a coordinate the probe does not use
    assert pr.membership(x_off, probe, 50.0)[0, 0].item() > 0.999


def test_batched_membership_equals_per_probe_loop():
    probes = random_probes(k=17, g=9, p=3, seed=1)
    x = torch.randn(23, 9, generator=torch.Generator().manual_seed(2))
    batched = pr.membership(x, probes, sharpness=3.0)
    slow = torch.empty(23, 17)
    for h in range(17):
        for i in range(23):
            value = 1.0
            for d in range(3):
                coord = probes.dims[h, d]
                value *= 1 / (1 + math.exp(-3.0 * (x[i, coord] - probes.lower[h, d]).item()))
                value *= 1 / (1 + math.exp(-3.0 * (probes.upper[h, d] - x[i, coord]).item()))
            slow[i, h] = value
    torch.testing.assert_close(batched, slow, rtol=1e-5, atol=1e-7)


# ---- losses ----

def batch(seed: int = 0, n: int = 60, g: int = 8, classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes - 1, (n,), generator=gen)  # the last class is absent from the batch
    return torch.randn(n, g, generator=gen) + labels.unsqueeze(1), labels


def test_losses_zero_on_identical_rows_positive_on_shift():
    real, labels = batch()
    probes = random_probes(k=40, g=8, p=3, seed=3)
    onehot = pr.one_hot(labels, 4)
    p_real = pr.membership(real, probes, 2.0)
    p_same = pr.membership(real.clone(), probes, 2.0)
    assert torch.equal(pr.probe_losses(p_real, p_same, onehot, onehot), torch.zeros(40))
    assert pr.dark_region_loss(p_real, p_same, onehot, onehot).item() == 0.0
    p_shift = pr.membership(real + 1.0, probes, 2.0)
    assert pr.probe_losses(p_real, p_shift, onehot, onehot).mean().item() > 0
    assert pr.dark_region_loss(p_real, p_shift, onehot, onehot).item() > 0
    # per class: the same rows under other labels are not a match
    swapped = pr.one_hot((labels + 1) % 3, 4)
    assert pr.probe_losses(p_real, p_same, onehot, swapped).mean().item() > 0


def test_probe_loss_formula_by_hand():
    p_real = torch.tensor([[0.2], [0.4], [0.9]])
    p_fake = torch.tensor([[0.1], [0.1], [0.5]])
    onehot = pr.one_hot(torch.tensor([0, 0, 1]), 3)
    # class 0: μ_r .3, μ_f .1; class 1: μ_r .9, μ_f .5; class 2 absent
    want = 0.2 / (1e-3 + math.log(1.3)) + 0.4 / (1e-3 + math.log(1.9))
    assert pr.probe_losses(p_real, p_fake, onehot, onehot).item() == pytest.approx(want, rel=1e-5)


def test_dark_region_by_hand_and_stable_at_saturation():
    p = torch.tensor([[0.1, 0.5, 0.0], [0.2, 0.0, 0.0]])
    torch.testing.assert_close(pr.dark_region(p), torch.tensor([0.9 * 0.5, 0.8]))
    onehot = pr.one_hot(torch.tensor([0, 1]), 2)
    assert pr.dark_region_loss(p, torch.zeros(2, 3), onehot, onehot).item() == pytest.approx(0.55 + 0.2, rel=1e-6)
    # P = 1 (a row deep inside a sharp probe) and P = 0: finite values and gradients
    saturated = torch.tensor([[1.0, 1.0 - 1e-9, 0.3, 0.0]], requires_grad=True)
    pi = pr.dark_region(saturated)
    pi.sum().backward()
    assert torch.isfinite(pi).all() and pi.item() < 1e-11 and torch.isfinite(saturated.grad).all()
    # fake rows far from every probe (π = 1) against real rows deep inside: finite loss and gradients
    probes = random_probes(k=50, g=6, p=3, seed=4)
    real = torch.zeros(10, 6)
    real[:, probes.dims[0]] = (probes.lower[0] + probes.upper[0]) / 2  # the centre of probe 0
    fake = torch.full((10, 6), 1e4, requires_grad=True)
    onehot = pr.one_hot(torch.zeros(10, dtype=torch.long), 1)
    loss = pr.dark_region_loss(pr.membership(real, probes, 50.0), pr.membership(fake, probes, 50.0), onehot, onehot)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(fake.grad).all()


# ---- refresh ----

def test_refresh_keeps_highest_loss_and_adds_per_class():
    g, k, eta = 10, 20, 0.3
    lower = torch.arange(100 * g, dtype=torch.float32).view(100, g)
    upper = lower + 0.5
    old = pr.probes_at(torch.arange(k), torch.randint(0, g, (k, 3)), lower, upper)
    losses = torch.linspace(0, 1, k)[torch.randperm(k, generator=torch.Generator().manual_seed(0))]
    batch_index = torch.arange(50, 80)  # train rows of the previous batch
    batch_labels = torch.tensor([0] * 20 + [2] * 8 + [3] * 2)  # classes 0, 2, 3 present; 1 absent
    new = pr.refresh_probes(old, losses, batch_index, batch_labels, k, eta, 3, lower, upper, stream())
    keep = math.floor(eta * k)  # 6
    assert keep == 6
    top = losses.topk(keep).indices
    assert torch.equal(new.centres[:keep], old.centres[top]) and torch.equal(new.dims[:keep], old.dims[top])
    assert torch.equal(new.lower[:keep], old.lower[top])
    per_class = (k - keep) // 3 + 1  # (1 − η)K / C + 1 with C = 3 classes in the batch
    assert per_class == 5
    added = new.centres[keep:]
    label_of = dict(zip(batch_index.tolist(), batch_labels.tolist(), strict=True))
    counts = np.bincount([label_of[int(r)] for r in added], minlength=4)
    assert counts.tolist() == [5, 0, 5, 2]  # class 3 has only 2 rows in the batch; class 1 none
    assert len(set(added.tolist())) == len(added)  # distinct centres
    assert len(new) == keep + 12
    # fresh coordinate subsets: p distinct coordinates per probe, bounds read at the centre's row
    new_dims = new.dims[keep:]
    assert all(len(set(row.tolist())) == 3 for row in new_dims)
    torch.testing.assert_close(new.lower[keep:], lower[added.unsqueeze(1), new_dims])
    torch.testing.assert_close(new.upper[keep:], upper[added.unsqueeze(1), new_dims])


def test_first_probes_and_no_persistence():
    lower = torch.zeros(30, 5)
    probes = pr.first_probes(torch.arange(10, 30), 20, 3, lower, lower + 1, stream())
    assert len(probes) == 20 and sorted(probes.centres.tolist()) == list(range(10, 30))
    labels = torch.tensor([0, 1] * 10)
    renewed = pr.refresh_probes(probes, torch.rand(20), torch.arange(10, 30), labels, 20, 0.0, 3,
                                lower, lower + 1, stream())
    assert len(renewed) == 2 * (20 // 2 + 1) - 2  # 11 per class asked, 10 rows per class available


# ---- the generator ----

def test_import_without_torch():
    code = "import sys, generators.gmda; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_budgets_and_unknown_hparam():
    assert set(GMDA.budgets) == {"smoke", "default", "paper"}
    assert all(set(b) == set(GMDA.budgets["default"]) for b in GMDA.budgets.values())
    assert GMDA.budgets["paper"]["generator_widths"] == (512, 1024, 2048)
    with pytest.raises(ValueError, match="unknown"):
        GMDA(budget="smoke", K=3)


def test_deterministic_finite_and_derived_hparams():
    X, y, meta = fixture("expression")
    small = (X[::5], y[::5])  # 42 rows < batch 64
    runs = [GMDA(budget="smoke", seed=0, **TINY).fit(small[0], small[1], meta) for _ in range(2)]
    request = np.array([0, 1, 2, 2, 1, 0, 0])
    a, b = runs[0].sample(request), runs[1].sample(request)
    assert np.array_equal(a, b) and np.isfinite(a).all() and a.shape == (7, X.shape[1])
    other = GMDA(budget="smoke", seed=1, **TINY).fit(small[0], small[1], meta).sample(request)
    assert not np.array_equal(a, other)
    assert runs[0].derived_hparams == {"effective_batch_size": 42, "effective_n_probes": 30,
                                       "effective_probe_dims": 3}
    assert runs[0].training["steps_done"] == 20
    assert all(math.isfinite(v) for v in runs[0].training["final_losses"].values())
    few = GMDA(budget="smoke", seed=0, **{**TINY, "n_probes": 500, "steps": 2}).fit(small[0], small[1], meta)
    assert few.derived_hparams["effective_n_probes"] == 42


def test_faithful_on_two_modules():
    """Within-class gene modules and class identity: far above `marginals` (corr_score ≈ 0 there)."""
    X, y, meta = two_modules()
    model = GMDA(budget="smoke", seed=0, generator_widths=(64, 128), latent=8, batch_size=256, n_probes=200,
                 steps=150).fit(X, y, meta)
    labels = np.random.default_rng(1).permutation(y)
    S = model.sample(labels)
    assert np.isfinite(S).all()
    assert within_class_corr_score(X, y, S, labels) > 0.8
    assert real_classifier_accuracy(X, y, S, labels) > 0.95


def test_tabular_preprocessing_option():
    from generators.nn.preprocess import Chain, ZScore

    X, y, meta = fixture("expression")
    model = GMDA(budget="smoke", seed=0, steps=3, preprocessing="zscore").fit(X, y, meta)
    assert isinstance(model.preprocess, ZScore)
    assert isinstance(GMDA(budget="smoke", seed=0, steps=3).fit(X, y, meta).preprocess, Chain)
    assert np.isfinite(model.sample(np.array([0, 1, 2]))).all()
    with pytest.raises(ValueError, match="preprocessing must be"):
        GMDA(budget="smoke", seed=0, preprocessing="log").fit(X, y, meta)
