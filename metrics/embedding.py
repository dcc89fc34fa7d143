"""Classifier embedding space ``emb`` (spec §0): the 16-d layer of an MLP trained on real train data.

Architecture (Lacan et al.'s TCGA classifier): G → 256 → 16 → C, ReLU after the first two linear
layers, dropout 0.5 after each ReLU; the embedding is the output of the second linear layer (before
its ReLU). Training: ``std`` features of the train split, cross-entropy, Adam (lr 1e-3), 150 epochs,
full batch, a seed derived from the split's metric seed. One network per evaluation context (label
task), trained on first use and cached in the context, so the reference row and every generator are
embedded by the same network.

Speed: the first layer dominates (rows × G × 256 per pass). To keep a 10k × 1,000 split in a few
seconds on a 2-core CPU the network is trained on a stratified subsample of at most
``EMB_MAX_ROWS`` train rows (full batch, so 150 epochs = 150 Adam steps). Training runs on the CPU
in float32 on one thread (reproducible whatever the core count) under ``torch.random.fork_rng`` so the
global torch seed is left untouched; torch is imported only when the embedding is first needed.
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


def context_net(ctx: EvalContext) -> Any:
    """The context's embedding network, trained once on (a stratified subsample of) ``std`` train."""

    def make() -> Any:
        y = ctx.split.train_y
        C = ctx.split.n_classes
        rows = stratified_indices(
            y, proportional_counts(y, C, min(len(y), EMB_MAX_ROWS)), derive_seed(ctx.seed, TAG_EMB_ROWS)
        )
        return train_embedding_net(ctx.T_std[rows], y[rows], C, derive_seed(ctx.seed, TAG_EMB_NET))

    return ctx.cache.get("emb_net", make)


def to_emb(ctx: EvalContext, Z: np.ndarray) -> np.ndarray:
    """``emb`` space of rows already in ``std``."""
    return embed(context_net(ctx), Z)
