"""Latent diffusion with classifier-free guidance (Rombach et al., CVPR 2022; Ho & Salimans 2021), in the
omics forms of SNPgen (Lampis et al. 2026: genotypes) and single-cell latent diffusion (scDiffusion, Luo et
al. 2024; SCLD, Wang et al. 2023: expression).

Stage 1 compresses rows to a 64-dimensional latent:
- expression: a deterministic MLP autoencoder (1024, 512; LayerNorm, SiLU; MSE) on z-scored genes, or, for
  log-normalised single-cell data (``input_scale="log"``; "auto" picks it when the train rows are
  non-negative and at least half zeros), on the log values themselves with decoded values clipped at 0;
- genotypes: a VAE on the one-hot dosages (3 channels per SNP) with a per-SNP 3-way categorical decoder,
  cross-entropy plus β·KL (β = 1e-3), encoded by the posterior mean and decoded by argmax.
Stage 2 is the shared diffusion core on the latents standardised per dimension: a residual MLP denoiser
(3 blocks of 512, LayerNorm, SiLU) with the label embedding added to the time embedding, cosine schedule
(T = 1000), ε-prediction, AdamW, EMA weights. In training a label becomes the null token with probability
``p_uncond``; sampling is DDIM (η = 0, 50 steps) with ε̂ = ε(∅) + w·(ε(y) − ε(∅)). By default w = 2 and
p_uncond = 0.1 for expression, w = 5 and p_uncond = 0.2 for genotypes (SNPgen).

``post_guidance=True`` approximates SCLD's post-guidance: draw twice the requested rows of each label and keep
the half that a logistic regression trained on the real train latents gives the highest probability of
that label.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark.dataset import DatasetMeta
from benchmark.registry import register_generator
from generators.nn.diffusion_generator import DiffusionGenerator

if TYPE_CHECKING:
    import torch
    from torch import nn

    from generators.nn.preprocess import Transform

INPUT_SCALES = ("auto", "zscore", "log")
GUIDANCE = {"expression": (2.0, 0.1), "genotype": (5.0, 0.2)}  # (w, p_uncond) by modality
POST_GUIDANCE_DRAWS = 2  # candidates drawn per requested row
COMMON: dict[str, Any] = {
    "input_scale": "auto", "ae_widths": (1024, 512), "latent": 64, "ae_steps": 2000, "ae_batch_size": 128,
    "ae_lr": 1e-3, "kl_weight": 1e-3,
    "denoiser_width": 512, "denoiser_blocks": 3, "time_dim": 128,
    "schedule": "cosine", "timesteps": 1000, "steps": 10_000, "batch_size": 256, "lr": 2e-4, "weight_decay": 0.01,
    "lr_anneal": False, "ema": 0.999, "sampler": "ddim", "sampling_steps": 50, "eta": 0.0,
    "guidance_scale": None, "p_uncond": None, "post_guidance": False,
}
BUDGETS: dict[str, dict[str, Any]] = {
    "smoke": {**COMMON, "ae_widths": (64,), "latent": 8, "ae_steps": 150, "ae_batch_size": 64,
              "denoiser_width": 64, "denoiser_blocks": 2, "time_dim": 32, "timesteps": 50, "steps": 300,
              "batch_size": 64, "lr": 1e-3, "ema": 0.99, "sampling_steps": 10},
    # Stage 1: about 50 epochs of 10,000 rows at batch 256.
    "default": COMMON,
    # SNPgen's stage-2 optimiser settings (lr 1e-4, batch 1,024, EMA 0.9999); the step counts are this project's.
    "paper": {**COMMON, "ae_steps": 10_000, "steps": 100_000, "lr": 1e-4, "ema": 0.9999, "batch_size": 1024},
}


@register_generator
class LatentDiffusion(DiffusionGenerator):
    """An autoencoder's latent space modelled by a label-guided diffusion model, decoded to rows."""

    name = "latent-diffusion"
    modalities = frozenset({"expression", "genotype"})
    budgets: ClassVar[dict[str, dict[str, Any]]] = BUDGETS

    def fit(self, X: np.ndarray, y: np.ndarray, meta: DatasetMeta) -> LatentDiffusion:
        self.X_scale = input_scale(X, self.hparams["input_scale"], meta.modality)
        super().fit(X, y, meta)
        self.training = {**self.training, "autoencoder": {**self.codec.training,
                                                          **self.reconstruction_quality(X)}}
        return self

    def guidance_scale(self) -> float:
        value = self.hparams["guidance_scale"]
        return float(GUIDANCE[self.meta.modality][0] if value is None else value)

    def p_uncond(self) -> float:
        value = self.hparams["p_uncond"]
        return float(GUIDANCE[self.meta.modality][1] if value is None else value)

    def make_preprocess(self) -> Transform:
        from generators.nn.autoencoders import ExpressionAutoencoder, GenotypeVAE
        from generators.nn.genotype import GenotypeChannels
        from generators.nn.latent_codec import ClipBelow, LatentCodec
        from generators.nn.preprocess import Chain, ZScore

        h = self.hparams
        if self.meta.modality == "genotype":
            def make_model(width: int) -> nn.Module:
                return GenotypeVAE(width, h["ae_widths"], h["latent"], h["kl_weight"])
            first: Transform = GenotypeChannels()
        else:
            def make_model(width: int) -> nn.Module:
                return ExpressionAutoencoder(width, h["ae_widths"], h["latent"])
            first = ClipBelow(0.0) if self.X_scale == "log" else ZScore()
        self.codec = LatentCodec(make_model, steps=int(h["ae_steps"]), batch_size=int(h["ae_batch_size"]),
                                 lr=float(h["ae_lr"]), device=self.torch_device, stream=self.stream,
                                 report=self.report, stop_at=self.stop_at)
        self.derived_hparams.update(input_scale=self.X_scale, guidance_scale=self.guidance_scale(),
                                    p_uncond=self.p_uncond())
        return Chain(first, self.codec)

    def make_denoiser(self, width: int) -> nn.Module:
        from generators.nn.denoisers import ResidualMLPDenoiser

        h = self.hparams
        return ResidualMLPDenoiser(width, self.n_classes, hidden=h["denoiser_width"], blocks=h["denoiser_blocks"],
                                   time_dim=h["time_dim"], null_label=self.null_label is not None)

    def build(self, width: int, rows: torch.Tensor, labels: torch.Tensor) -> None:
        super().build(width, rows, labels)
        if self.hparams["post_guidance"]:
            from sklearn.linear_model import LogisticRegression

            self.latent_classifier = LogisticRegression(max_iter=2000).fit(rows.cpu().numpy(), labels.cpu().numpy())

    def networks(self) -> list[nn.Module]:
        return [self.denoiser, self.codec.model]

    def generate(self, labels: torch.Tensor) -> torch.Tensor:
        if not self.hparams["post_guidance"]:
            return super().generate(labels)
        import torch

        candidates = super().generate(labels.repeat(POST_GUIDANCE_DRAWS))
        probability = self.latent_classifier.predict_proba(candidates.cpu().numpy())
        column = {int(c): j for j, c in enumerate(self.latent_classifier.classes_)}
        wanted = labels.cpu().numpy()
        drawn = np.tile(wanted, POST_GUIDANCE_DRAWS)
        keep = np.empty(len(wanted), dtype=np.int64)
        for label in np.unique(wanted):
            slots = np.flatnonzero(wanted == label)
            pool = np.flatnonzero(drawn == label)
            confidence = probability[pool, column[int(label)]]
            keep[slots] = pool[np.argsort(-confidence, kind="stable")[:len(slots)]]
        return candidates[torch.as_tensor(keep, device=candidates.device)]

    def reconstruction_quality(self, X: np.ndarray) -> dict[str, float]:
        """How well stage 1 alone reproduces the train rows: per-SNP accuracy (genotypes) or R² (expression)."""
        decoded = self.preprocess.inverse(self.preprocess.transform(X))
        if self.meta.modality == "genotype":
            return {"train_snp_accuracy": round(float(np.mean(decoded == X)), 6)}
        residual = np.sum((decoded - X) ** 2)
        total = np.sum((X - X.mean(axis=0)) ** 2)
        return {"train_r2": round(float(1 - residual / total), 6) if total > 0 else 1.0}


def input_scale(X: np.ndarray, setting: str, modality: str) -> str:
    """"log" (log-normalised single-cell: no z-score, clip at 0) or "zscore"; "auto" picks "log" for
    non-negative rows that are at least half zeros. Genotypes use neither ("onehot")."""
    if setting not in INPUT_SCALES:
        raise ValueError(f"input_scale must be one of {INPUT_SCALES}, got {setting!r}")
    if modality == "genotype":
        return "onehot"
    if setting != "auto":
        return setting
    X = np.asarray(X)
    return "log" if X.size and X.min() >= 0 and np.mean(X == 0) >= 0.5 else "zscore"
