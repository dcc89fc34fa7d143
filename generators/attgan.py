"""AttGAN and its random-graph control (Lacan, Sebag & Hanczar, ISMB 2023; spec §2).

AttGAN = the conditional WGAN-GP of ``generators.wgan_gp`` (same critic, losses, optimisers, conditioning and
schedule) whose generator output x̃ is refined by attention restricted to a gene graph:
x_out = x̃ + γ·o, o_i = Σ_{j∈N(i)} softmin_j(|q_i − k_j|) v_j for the genes i of the graph, 0 elsewhere
(``generators/nn/graph_attention.py``). The graph is the co-expression graph of the train split (|r| >= τ,
degree-capped keeping the largest |r|), plus, with ``ppi=path``, a PPI graph from a STRING-style edge file with
its own attention head (genes in both graphs mix the two heads per gene). ``attgan-random`` is the lesion
control: the same model on Erdős–Rényi graphs with the same node set, edge count and degree cap
(``generators/gene_graph.py``), seeded from the job seed.

Low-rank rule: ``attention_rank`` None means full n x n W_q and W_k, except that the ``default`` budget
factorises them through rank 64 when a graph has more than 1,000 genes (``AUTO_RANK``; the spec's CPU
setting); an explicit ``attention_rank`` r is used whenever r < n (r >= n is full). W_v stays full. The rank
used for each graph is recorded in ``derived_hparams``.
"""

from __future__ import annotations

import logging
import math
import os
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from benchmark.errors import ConfigError
from benchmark.registry import register_generator
from generators.wgan_gp import BUDGETS as WGAN_GP_BUDGETS
from generators.wgan_gp import WGANGP

if TYPE_CHECKING:
    import torch
    from torch import nn

    from generators.gene_graph import GeneGraph

log = logging.getLogger(__name__)

GRAPH_SETTINGS: dict[str, dict[str, Any]] = {
    budget: {"threshold": 0.6, "max_degree": 4 if budget == "smoke" else 32, "ppi": None, "ppi_min_score": 700,
             "attention_rank": None, "self_loops": False, "gamma_init": 0.0}
    for budget in WGAN_GP_BUDGETS
}
BUDGETS: dict[str, dict[str, Any]] = {budget: {**settings, **GRAPH_SETTINGS[budget]}
                                      for budget, settings in WGAN_GP_BUDGETS.items()}
# attention_rank None at these budgets: W_q, W_k of rank `rank` when a graph has more than `above` genes.
AUTO_RANK: dict[str, dict[str, int]] = {"default": {"above": 1000, "rank": 64}}
GRAPH_SEED_TAG = 0x61747467  # mixed with the job seed into the random control's graph seed
KIND_PREFIX = {"co-expression": "coexpression", "ppi": "ppi"}


@register_generator
class AttGAN(WGANGP):
    """Conditional WGAN-GP whose generator output is refined by gene-graph attention."""

    name = "attgan"
    budgets: ClassVar[dict[str, dict[str, Any]]] = BUDGETS
    random_control: ClassVar[bool] = False

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        check_settings(self.name, self.hparams)

    def make_generator(self, width: int, rows: torch.Tensor, labels: torch.Tensor) -> nn.Module:
        """WGAN-GP's generator followed by the attention block on the graph(s) of the train rows."""
        import torch

        from generators.nn.graph_attention import (
            AttentionRefinedGenerator,
            GraphAttention,
            GraphAttentionHead,
        )

        base = super().make_generator(width, rows, labels)
        heads = []
        for graph in self.gene_graphs(rows):
            prefix = KIND_PREFIX[graph.kind]
            if not graph.n_edges:
                self.derived_hparams[f"{prefix}_attention_rank"] = None
                continue
            nodes, nbr, mask = graph.neighbour_table(bool(self.hparams["self_loops"]))
            rank = self.attention_rank_for(len(nodes))
            self.derived_hparams[f"{prefix}_attention_rank"] = "full" if rank is None else rank
            heads.append(GraphAttentionHead(torch.as_tensor(nodes, device=rows.device),
                                            torch.as_tensor(nbr, device=rows.device),
                                            torch.as_tensor(mask, device=rows.device), rank=rank))
        attention = GraphAttention(heads, gamma_init=float(self.hparams["gamma_init"]))
        if len(heads) == 2:
            self.derived_hparams["mixed_genes"] = attention.n_shared
        return AttentionRefinedGenerator(base, attention)

    def attention_rank_for(self, n: int) -> int | None:
        """The rank of W_q and W_k for a graph of n genes (None = full n x n); see the module docstring."""
        rank = self.hparams["attention_rank"]
        auto = AUTO_RANK.get(self.budget)
        if rank is None and auto is not None and n > auto["above"]:
            rank = auto["rank"]
        return rank if rank is not None and rank < n else None

    def gene_graphs(self, rows: torch.Tensor) -> list[GeneGraph]:
        """The graphs the attention heads use (PPI first when a file is given, then co-expression), built on
        the z-scored train rows; their facts go to ``derived_hparams``."""
        from generators.gene_graph import coexpression_graph, read_ppi

        h = self.hparams
        self.derived_hparams = {}
        graphs: list[GeneGraph] = []
        if h["ppi"] is not None:
            genes = [str(name) for name in np.asarray(self.meta.feature_names, dtype=object)[self.preprocess.varying]]
            ppi, facts = read_ppi(h["ppi"], genes, h["ppi_min_score"], int(h["max_degree"]))
            self.derived_hparams.update({
                "ppi_candidate_edges": facts["candidate_edges"], "ppi_absent_genes": facts["absent_genes"],
                "ppi_absent_examples": facts["absent_examples"], "ppi_sha256": facts["sha256"]})
            if facts["absent_genes"]:
                log.warning("%s: %d genes of the PPI file %s are not among the %d modelled genes (e.g. %s)",
                            self.name, facts["absent_genes"], h["ppi"], len(genes),
                            ", ".join(facts["absent_examples"]))
            if not ppi.n_edges:
                log.warning("%s: the PPI file %s gives no edge with score >= %s between modelled genes",
                            self.name, h["ppi"], h["ppi_min_score"])
            graphs.append(ppi)
        coexpression, facts = coexpression_graph(rows, float(h["threshold"]), int(h["max_degree"]))
        self.derived_hparams["coexpression_candidate_edges"] = facts["candidate_edges"]
        if not coexpression.n_edges:
            log.warning("%s: no gene pair of the train rows reaches |r| >= %s: no co-expression attention",
                        self.name, h["threshold"])
        graphs.append(coexpression)
        graphs = self.control(graphs)
        for graph in graphs:
            prefix = KIND_PREFIX[graph.kind]
            self.derived_hparams[f"{prefix}_nodes"] = len(graph.nodes)
            self.derived_hparams[f"{prefix}_edges"] = graph.n_edges
            self.derived_hparams[f"{prefix}_max_degree"] = int(graph.degree().max(initial=0))
        self.derived_hparams["graph_kinds"] = [graph.kind for graph in graphs]
        nodes = np.unique(np.concatenate([graph.nodes for graph in graphs]))
        self.derived_hparams["graph_nodes"] = len(nodes)
        self.derived_hparams["graph_edges"] = sum(graph.n_edges for graph in graphs)
        return graphs

    def control(self, graphs: list[GeneGraph]) -> list[GeneGraph]:
        """The graphs actually used (AttGAN: the reference graphs themselves)."""
        return graphs


@register_generator
class AttGANRandom(AttGAN):
    """AttGAN on Erdős–Rényi graphs: same node sets, edge counts and degree cap as the reference graphs."""

    name = "attgan-random"
    random_control = True

    def control(self, graphs: list[GeneGraph]) -> list[GeneGraph]:
        from generators.gene_graph import random_graph

        seed = graph_seed(self.seed)
        rng = np.random.default_rng(seed)
        self.derived_hparams["graph_model"] = "erdos-renyi G(n, m) on the reference node set, degree-capped"
        self.derived_hparams["graph_seed"] = seed
        return [random_graph(graph, int(self.hparams["max_degree"]), rng) for graph in graphs]


def graph_seed(seed: int) -> int:
    """The random control's graph seed: a deterministic function of the job seed."""
    return int(np.random.SeedSequence([int(seed), GRAPH_SEED_TAG]).generate_state(1)[0])


def check_settings(name: str, h: dict[str, Any]) -> None:
    """The graph hyperparameters' ranges (types of command-line overrides are checked by benchmark.hparams)."""

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    def integer(value: Any) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    problems = []
    if not number(h["threshold"]) or not 0 < h["threshold"] <= 1:
        problems.append(f"threshold must be in (0, 1], got {h['threshold']!r}")
    if not integer(h["max_degree"]) or h["max_degree"] < 1:
        problems.append(f"max_degree must be an integer >= 1, got {h['max_degree']!r}")
    if h["ppi"] is not None and (not isinstance(h["ppi"], (str, os.PathLike)) or not str(h["ppi"]).strip()):
        problems.append(f"ppi must be None or the path of an edge file, got {h['ppi']!r}")
    if not number(h["ppi_min_score"]):
        problems.append(f"ppi_min_score must be a number, got {h['ppi_min_score']!r}")
    if h["attention_rank"] is not None and (not integer(h["attention_rank"]) or h["attention_rank"] < 1):
        problems.append(f"attention_rank must be None or an integer >= 1, got {h['attention_rank']!r}")
    if not isinstance(h["self_loops"], bool):
        problems.append(f"self_loops must be True or False, got {h['self_loops']!r}")
    if not number(h["gamma_init"]):
        problems.append(f"gamma_init must be a finite number, got {h['gamma_init']!r}")
    if problems:
        raise ConfigError(f"{name}: " + "; ".join(problems))
