"""The diffusion core (schedules, forward process, samplers, guidance) against closed forms, and what
tabddpm and latent-diffusion learn that an independent-marginals model cannot."""

import math

import numpy as np
import pytest
import torch

from generators.baselines import MarginalsGenerator
from generators.latent_diffusion import LatentDiffusion, input_scale
from generators.nn.denoisers import ResidualMLPDenoiser, TabDDPMDenoiser, sinusoidal_embedding
from generators.nn.diffusion import GaussianDiffusion, cosine_betas, guided, linear_betas, respaced_timesteps
from generators.nn.train import RandomStream
from generators.tabddpm import TabDDPM, TabDDPMQuantiles
from tests.generator_fixtures import haplotype_blocks, two_modules, within_block_ld, within_class_corr_score

torch.set_num_threads(1)
CPU = torch.device("cpu")


def cosine_f(t: np.ndarray, steps: int, offset: float = 0.008) -> np.ndarray:
    return np.cos((t / steps + offset) / (1 + offset) * math.pi / 2) ** 2


def test_cosine_schedule_is_the_closed_form_and_linear_has_ho_endpoints():
    steps = 1000
    alpha_bar = np.cumprod(1 - cosine_betas(steps))
    t = np.arange(1, steps + 1)
    unclipped = t < 990  # β is clipped at 0.999 only at the very end
    np.testing.assert_allclose(alpha_bar[unclipped], (cosine_f(t, steps) / cosine_f(0, steps))[unclipped], rtol=1e-9)
    assert cosine_betas(steps).max() == pytest.approx(0.999)
    betas = linear_betas(1000)
    assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)
    assert linear_betas(100)[-1] == pytest.approx(0.2)  # scaled by 1000/T


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_forward_marginal_matches_closed_form(schedule):
    """x_t for one fixed x_0 over 200,000 draws: mean √ᾱ_t x_0 and variance 1 − ᾱ_t, at early, middle and late t."""
    diffusion = GaussianDiffusion.from_schedule(schedule, 1000)
    stream = RandomStream(0, CPU)
    x0 = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
    draws = 200_000
    for step in (0, 300, 700, 999):
        t = torch.full((draws,), step)
        x_t = diffusion.q_sample(x0.expand(draws, 3), t, stream.normal(draws, 3).double())
        alpha_bar = diffusion.alpha_bar[step]
        np.testing.assert_allclose(x_t.mean(0).numpy(), math.sqrt(alpha_bar) * x0.numpy(), atol=5 * math.sqrt(1 / draws))
        np.testing.assert_allclose(x_t.var(0).numpy(), 1 - alpha_bar, rtol=0.01, atol=2e-5)


def perfect_predictor(diffusion: GaussianDiffusion, point: torch.Tensor):
    """ε(x_t, t) = (x_t − √ᾱ_t x*)/√(1 − ᾱ_t): the exact noise when all the data is the one point x*."""
    alpha_bar = torch.as_tensor(diffusion.alpha_bar, dtype=point.dtype)

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = alpha_bar[t][:, None]
        return (x - a.sqrt() * point) / (1 - a).sqrt()

    return eps


@pytest.mark.parametrize("schedule,steps", [("cosine", 1000), ("linear", 1000), ("cosine", 50)])
def test_samplers_return_the_point_of_a_one_point_data_set(schedule, steps):
    diffusion = GaussianDiffusion.from_schedule(schedule, steps)
    point = torch.tensor([[1.5, -2.0, 0.3]], dtype=torch.float64)
    stream = RandomStream(0, CPU)
    noise = stream.normal(64, 3).double()
    eps = perfect_predictor(diffusion, point)
    for sampler, sampling_steps, eta in (("ddim", 50, 0.0), ("ddim", 10, 1.0), ("ddpm", None, 0.0)):
        out = diffusion.sample(eps, noise, stream, sampler=sampler, steps=sampling_steps, eta=eta)
        np.testing.assert_allclose(out.numpy(), point.expand(64, 3).numpy(), atol=1e-6, err_msg=sampler)


def test_samplers_draw_the_gaussian_of_its_exact_noise_predictor():
    """Data N(2, 0.5²): E[ε | x_t] is linear in x_t; DDPM and DDIM (η = 1 and 0) return that Gaussian."""
    diffusion = GaussianDiffusion.from_schedule("cosine", 1000)
    alpha_bar = torch.as_tensor(diffusion.alpha_bar)
    mean, variance = 2.0, 0.25

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = alpha_bar[t][:, None]
        return (1 - a).sqrt() * (x - a.sqrt() * mean) / (a * variance + 1 - a)

    stream = RandomStream(1, CPU)
    noise = stream.normal(20_000, 1).double()
    for sampler, eta in (("ddpm", 0.0), ("ddim", 1.0), ("ddim", 0.0)):
        out = diffusion.sample(eps, noise, stream, sampler=sampler, steps=100, eta=eta)
        assert out.mean().item() == pytest.approx(mean, abs=0.04), sampler
        assert out.var().item() == pytest.approx(variance, rel=0.08), sampler


def test_ddim_with_eta_zero_is_deterministic_given_the_noise():
    diffusion = GaussianDiffusion.from_schedule("cosine", 200)
    torch.manual_seed(0)
    denoiser = ResidualMLPDenoiser(5, 3, hidden=32, blocks=2, time_dim=16)
    for parameter in denoiser.parameters():  # the head starts at zero; give it weights
        torch.nn.init.normal_(parameter, std=0.1)
    labels = torch.tensor([0, 1, 2, 3] * 4)  # 3 is the null label
    noise = RandomStream(0, CPU).normal(16, 5)
    eps = guided(denoiser, labels, scale=1.0)
    first = diffusion.ddim_sample(eps, noise, RandomStream(1, CPU), 20, eta=0.0)
    again = diffusion.ddim_sample(eps, noise, RandomStream(2, CPU), 20, eta=0.0)
    assert torch.equal(first, again)
    stochastic = [diffusion.ddim_sample(eps, noise, RandomStream(seed, CPU), 20, eta=1.0) for seed in (1, 2)]
    assert not torch.equal(*stochastic)


def test_respaced_timesteps_skip_evenly_from_zero():
    assert respaced_timesteps(1000, 50).tolist() == list(range(980, -1, -20))
    assert respaced_timesteps(7, 7).tolist() == [6, 5, 4, 3, 2, 1, 0]
    with pytest.raises(ValueError, match="sampling steps"):
        respaced_timesteps(10, 11)


def test_guidance_combines_conditional_and_unconditional_eps():
    class LabelEcho(torch.nn.Module):
        def forward(self, x, t, labels):
            return x + labels[:, None].double()

    x, t = torch.zeros(2, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.long)
    labels, null = torch.tensor([1, 2]), 5
    for scale, expected in ((0.0, [5, 5]), (1.0, [1, 2]), (3.0, [5 + 3 * (1 - 5), 5 + 3 * (2 - 5)])):
        out = guided(LabelEcho(), labels, scale=scale, null_label=null)(x, t)
        assert out[:, 0].tolist() == expected
    with pytest.raises(ValueError, match="null label"):
        guided(LabelEcho(), labels, scale=2.0)


def test_sinusoidal_embedding_and_tabddpm_denoiser_shapes():
    t = torch.tensor([0, 10, 999])
    embedding = sinusoidal_embedding(t, 128)
    assert embedding.shape == (3, 128)
    np.testing.assert_allclose(embedding[0, :64].numpy(), 1.0)  # cos(0)
    np.testing.assert_allclose(embedding[1, 0].item(), math.cos(10.0), rtol=1e-6)
    assert sinusoidal_embedding(t, 7).shape == (3, 7)
    denoiser = TabDDPMDenoiser(30, 4, (64, 32))
    assert denoiser(torch.randn(3, 30), t, torch.tensor([0, 1, 3])).shape == (3, 30)
    assert denoiser.embedding.label.num_embeddings == 4  # no null label: TabDDPM does not use guidance


def test_tabddpm_quantile_count_follows_the_authors_rule():
    rng = np.random.default_rng(0)
    for rows, expected in ((200, 10), (9000, 300), (60_000, 1000)):
        assert TabDDPMQuantiles().fit(rng.normal(size=(rows, 2))).n_quantiles == expected


def test_tabddpm_learns_within_class_gene_modules():
    """Within-class gene-gene correlation (r ≈ 0.8 inside two modules) that independent marginals lose."""
    X, y, meta = two_modules(150, 16)
    model = TabDDPM(budget="smoke", seed=0, device="cpu").fit(X, y, meta)
    synthetic = model.sample(y)
    assert np.isfinite(synthetic).all() and synthetic.dtype == np.float32
    score = within_class_corr_score(X, y, synthetic, y)
    marginals = MarginalsGenerator(seed=0).fit(X, y, meta).sample(y)  # exact per-class marginals, no dependence
    baseline = within_class_corr_score(X, y, marginals, y)
    assert score > 0.6 and score > baseline + 0.4, (score, baseline)
    assert model.derived_hparams["quantiles"] == 10


@pytest.fixture(scope="module")
def guided_expression_model():
    X, y, meta = two_modules(150, 16)
    model = LatentDiffusion(budget="smoke", seed=0, device="cpu", steps=1500, post_guidance=True).fit(X, y, meta)
    return X, y, model


def sample_with(model: LatentDiffusion, labels: np.ndarray, **hparams) -> np.ndarray:
    """Sample with some sampling-time hyperparameters changed, then restore them."""
    saved = {key: model.hparams[key] for key in hparams}
    model.hparams.update(hparams)
    try:
        return model.sample(labels)
    finally:
        model.hparams.update(saved)


def real_classifier(X: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000).fit(X, y)


def test_guidance_scale_moves_rows_towards_their_label(guided_expression_model):
    """A real-data classifier assigns about half the rows to their label at w = 0 (unconditional) and more at w = 3."""
    X, y, model = guided_expression_model
    classifier = real_classifier(X, y)
    asked = np.repeat([0, 1], 200)
    shares = {scale: float(np.mean(classifier.predict(sample_with(model, asked, guidance_scale=scale,
                                                                      post_guidance=False)) == asked))
              for scale in (0.0, 3.0)}
    assert shares[0.0] < 0.7 and shares[3.0] > shares[0.0] + 0.25, shares


def test_expression_stage_one_records(guided_expression_model):
    X, y, model = guided_expression_model
    assert model.derived_hparams == {"input_scale": "zscore", "guidance_scale": 2.0, "p_uncond": 0.1}
    assert model.training["autoencoder"]["train_r2"] > 0.5
    assert model.training["steps_done"] == 1500 and model.training["autoencoder"]["steps_done"] == 150


@pytest.mark.parametrize("name", ["tabddpm", "latent-diffusion"])
def test_same_seed_same_rows(name):
    from benchmark.registry import get_generator

    X, y, meta = two_modules(40, 8)
    cls = get_generator(name)

    def draw(seed: int) -> np.ndarray:
        return cls(budget="smoke", seed=seed, device="cpu", steps=50).fit(X, y, meta).sample(y)

    first = draw(0)
    assert np.array_equal(first, draw(0)) and not np.array_equal(first, draw(1))


def test_post_guidance_keeps_the_rows_most_confidently_of_their_label(guided_expression_model):
    X, y, model = guided_expression_model
    classifier = real_classifier(X, y)
    asked = np.repeat([1, 0], [150, 50])
    plain = sample_with(model, asked, guidance_scale=0.0, post_guidance=False)  # unguided: something to select
    selected = sample_with(model, asked, guidance_scale=0.0)
    assert selected.shape == (200, X.shape[1])
    plain_share, selected_share = (float(np.mean(classifier.predict(rows) == asked)) for rows in (plain, selected))
    assert selected_share > plain_share + 0.2, (plain_share, selected_share)


def test_genotype_vae_reconstructs_and_diffusion_keeps_linkage():
    """Stage 1 reproduces its training rows nearly SNP for SNP; generated genotypes are valid dosages with
    within-block LD (r²) far above what per-SNP Hardy–Weinberg draws give (≈ 0)."""
    from benchmark.dataset import DatasetMeta

    X, y = haplotype_blocks(150, blocks=6, block_snps=8)
    meta = DatasetMeta("blocks", "genotype", tuple(f"s{j}" for j in range(X.shape[1])), ("a", "b"))
    model = LatentDiffusion(budget="smoke", seed=0, device="cpu", ae_steps=600, steps=1500).fit(X, y, meta)
    majority = np.mean(np.apply_along_axis(lambda c: np.bincount(c, minlength=3).argmax(), 0, X) == X)
    accuracy = model.training["autoencoder"]["train_snp_accuracy"]
    assert accuracy > 0.95 and accuracy > majority + 0.2, (accuracy, majority)
    assert model.derived_hparams["guidance_scale"] == 5.0 and model.derived_hparams["p_uncond"] == 0.2
    synthetic = model.sample(y)
    assert synthetic.dtype == np.int8 and set(np.unique(synthetic)) <= {0, 1, 2}
    real_ld = within_block_ld(X, y, 8)
    assert within_block_ld(synthetic, y, 8) > 0.5 * real_ld, (within_block_ld(synthetic, y, 8), real_ld)


def test_log_scale_single_cell_input_is_not_z_scored_and_stays_non_negative():
    rng = np.random.default_rng(0)
    sparse = np.where(rng.random((300, 20)) < 0.7, 0.0, rng.uniform(0.5, 4, (300, 20))).astype(np.float32)
    assert input_scale(sparse, "auto", "expression") == "log"
    assert input_scale(sparse + 1, "auto", "expression") == "zscore"
    assert input_scale(sparse, "zscore", "expression") == "zscore"
    assert input_scale(sparse, "auto", "genotype") == "onehot"
    with pytest.raises(ValueError, match="input_scale"):
        input_scale(sparse, "raw", "expression")
    from benchmark.dataset import DatasetMeta

    y = np.arange(300) % 2
    meta = DatasetMeta("sparse", "expression", tuple(f"g{j}" for j in range(20)), ("a", "b"))
    synthetic = LatentDiffusion(budget="smoke", seed=0, device="cpu").fit(sparse, y, meta).sample(y)
    assert synthetic.min() >= 0 and np.mean(synthetic == 0) > 0.2


@pytest.mark.parametrize("name", ["tabddpm", "latent-diffusion"])
def test_passes_the_conformance_kit(name):
    from benchmark.conformance import check_generator

    report = check_generator(name)
    assert report.passed, report.render()
    assert {check.modality for check in report.checks} == (
        {"expression", "genotype"} if name == "latent-diffusion" else {"expression"})
