"""The skeleton CTGAN and TVAE share: genes under mode-specific normalisation, the class label as one
discrete span, and the activations of generated spans (Xu et al., NeurIPS 2019)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generators.nn.torch_generator import TorchGenerator

if TYPE_CHECKING:
    import torch

    from generators.nn.mode_normalization import ModeNormalizer


class ModeNormalizedGenerator(TorchGenerator):
    """A ``TorchGenerator`` whose rows are [per gene: α ‖ mode slots] ‖ one-hot label.

    ``hparams`` needs ``max_clusters`` and ``fit_rows`` (rows the mixtures are fitted on). The training
    tensor holds the compact encoding (α and slot per gene, :class:`ModeNormalizer`); :meth:`real_rows`
    expands a batch of it, and ``generate`` returns the gene part of the network layout for ``inverse``.
    """

    preprocess: ModeNormalizer

    def make_preprocess(self) -> ModeNormalizer:
        from generators.nn.mode_normalization import ModeNormalizer

        self.report("mode-specific normalisation: fitting the genes' mixtures")
        return ModeNormalizer(self.hparams["max_clusters"], fit_rows=self.hparams["fit_rows"], seed=self.seed)

    def describe_encoding(self) -> None:
        """Keep the data-derived shape of the encoding with the record's hyperparameters."""
        encoding = self.preprocess
        self.derived_hparams.update(
            encoded_width=encoding.encoded_width, mode_slots=encoding.max_modes,
            modes_per_gene=round(float(encoding.n_modes.double().mean()), 3),
            em_iterations_max=int(encoding.em_iterations.max()) if len(encoding.em_iterations) else 0)

    @property
    def data_width(self) -> int:
        """Columns of a network-layout row: the genes' spans and the label span."""
        return self.preprocess.encoded_width + self.n_classes

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.nn.functional.one_hot(labels, self.n_classes).to(torch.get_default_dtype())

    def real_rows(self, compact: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Compact training rows to network-layout rows with their label span."""
        import torch

        return torch.cat([self.preprocess.expand(compact), self.one_hot(labels)], dim=1)

    def gumbel_softmax(self, logits: torch.Tensor, tau: float) -> torch.Tensor:
        """softmax((logits + Gumbel noise) / tau) over the last axis; noise from the seeded stream. (Taken
        over the second-to-last axis of the transposed view: 3.5x faster on CPU for spans of a few slots.)"""
        import torch

        uniform = self.stream.uniform(*logits.shape).clamp_min(torch.finfo(torch.float32).tiny)
        noisy = (logits - torch.log(-torch.log(uniform))) / tau
        return torch.softmax(noisy.transpose(-1, -2), dim=-2).transpose(-1, -2)

    def activate(self, raw: torch.Tensor, tau: float) -> torch.Tensor:
        """CTGAN's output activations: tanh on every α, Gumbel-softmax on every mode span (padded slots
        masked) and on the label span."""
        import torch

        width = self.preprocess.encoded_width
        alpha, slot_logits = self.preprocess.split(raw[:, :width])
        genes = torch.cat([torch.tanh(alpha)[..., None], self.gumbel_softmax(slot_logits, tau)], dim=-1)
        return torch.cat([genes.flatten(1), self.gumbel_softmax(raw[:, width:], tau)], dim=1)
