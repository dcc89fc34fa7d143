"""Classifier embedding space ``emb`` (spec §0): the 16-d layer of an MLP classifier of real rows.

Architecture (Lacan et al.'s TCGA classifier): G → 256 → 16 → C, ReLU after the first two linear
layers, dropout 0.5 after each ReLU; the embedding is the output of the second linear layer (before
its ReLU). Training: ``std`` features, cross-entropy, Adam (lr 1e-3), 150 epochs, full batch, a seed
derived from the split's metric seed.

Cross-fitted, not trained on the train split: a network embeds the rows it was trained on differently
from unseen rows, so copies of training rows would be scored apart from fresh ones. Two networks are
trained, one on each stratified half of the test subsample; each embeds the *other* half (the real
side of the comparison) and the scored set, so every embedded row is out of sample. They are trained
once per evaluation context and shared by the reference row and every generator.

Speed: the first layer dominates (rows × G × 256 per pass); each network trains on at most
``EMB_MAX_ROWS`` rows (full batch, so 150 epochs = 150 Adam steps), on the CPU in float32 on one
thread (reproducible whatever the core count) under ``torch.random.fork_rng`` so the global torch seed
is left untouched; torch is imported only when the embedding is first needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from .space import derive_seed, proportional_counts, stratified_indices

if TYPE_CHECKING:
    from .space import EvalContext

EMB_HIDDEN = 256
EMB_DIM = 16
EMB_EPOCHS = 150
EMB_LR = 1e-3
EMB_DROPOUT = 0.5
EMB_MAX_ROWS = 2000
TAG_EMB_ROWS, TAG_EMB_NET = 101, 102


def build_net(n_features: int, n_classes: int) -> Any:
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(n_features, EMB_HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Dropout(EMB_DROPOUT),
        torch.nn.Linear(EMB_HIDDEN, EMB_DIM),  # output = the embedding
        torch.nn.ReLU(),
        torch.nn.Dropout(EMB_DROPOUT),
        torch.nn.Linear(EMB_DIM, n_classes),
    )


def train_embedding_net(
    Z: np.ndarray, y: np.ndarray, n_classes: int, seed: int, epochs: int = EMB_EPOCHS
) -> Any:
    """Train the classifier on standardised rows ``Z`` with integer labels ``y``; returns the net (eval mode)."""
    import torch

    with _one_thread(torch):
        return _train(torch, Z, y, n_classes, seed, epochs)


@contextmanager
def _one_thread(torch: Any) -> Iterator[None]:
    """One torch thread: faster on 2 shared cores, and identical results whatever the core count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _train(torch: Any, Z: np.ndarray, y: np.ndarray, n_classes: int, seed: int, epochs: int) -> Any:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_net(Z.shape[1], n_classes)
        X = torch.from_numpy(np.ascontiguousarray(Z, dtype=np.float32))
        t = torch.from_numpy(np.asarray(y, dtype=np.int64))
        opt = torch.optim.Adam(net.parameters(), lr=EMB_LR)
        net.train()
        for _ in range(epochs):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(X), t)
            loss.backward()
            opt.step()
    net.eval()
    return net


def embed(net: Any, Z: np.ndarray, batch: int = 8192) -> np.ndarray:
    """16-d embedding (output of the second linear layer, no dropout) of standardised rows, float64."""
    import torch

    head = net[:4]
    out = np.empty((len(Z), EMB_DIM))
    with torch.no_grad(), _one_thread(torch):
        for s in range(0, len(Z), batch):
            x = torch.from_numpy(np.ascontiguousarray(Z[s : s + batch], dtype=np.float32))
            out[s : s + batch] = head(x).double().numpy()
    return out


def crossfit_embeddings(ctx: EvalContext) -> list[tuple[Any, np.ndarray]]:
    """(network, embedded compared half) for each half of the test subsample; cached in the context."""

    def make() -> list[tuple[Any, np.ndarray]]:
        C = ctx.split.n_classes
        out = []
        for k, (fit, compare) in enumerate(ctx.R_halves):
            y = ctx.R_y[fit]
            rows = fit[stratified_indices(y, proportional_counts(y, C, min(len(y), EMB_MAX_ROWS)),
                                          derive_seed(ctx.seed, TAG_EMB_ROWS + 10 * k))]
            net = train_embedding_net(ctx.R_std[rows], ctx.R_y[rows], C, derive_seed(ctx.seed, TAG_EMB_NET + 10 * k))
            out.append((net, embed(net, ctx.R_std[compare])))
        return out

    return ctx.cache.get("emb_crossfit", make)
