"""Gene graphs for AttGAN (Lacan, Sebag & Hanczar, ISMB 2023): co-expression on the train split, PPI edge
files, degree-capped Erdős–Rényi controls, and the padded neighbour table the attention block gathers from.

A graph lives on the modelled genes (indices 0..n_genes-1 of the preprocessed rows) and is stored as an
undirected edge list ``(m, 2)`` with ``u < v``, sorted. Its node set S is the genes with at least one edge.

Degree cap (every graph): edges are taken greedily by descending weight (|r| for co-expression, the score for
PPI; ties by (u, v)), an edge kept when both its genes still have fewer than ``max_degree`` edges. This is the
undirected rule that keeps the strongest edges and guarantees every degree <= ``max_degree`` (:func:`cap_degree`).

numpy only at import: torch is imported inside :func:`coexpression_graph` (the CLI lists generators without it).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch

CAP_BLOCK = 1 << 16  # ranked edges per vectorised pre-filter of cap_degree
ABSENT_EXAMPLES = 5  # absent PPI gene names quoted in messages and derived_hparams
FIELD_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class GeneGraph:
    """An undirected graph on ``n_genes`` genes: ``edges`` (m, 2) int64 with u < v, sorted, no duplicates."""

    kind: str  # "co-expression" or "ppi"
    n_genes: int
    edges: np.ndarray

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    def degree(self) -> np.ndarray:
        return np.bincount(self.edges.ravel(), minlength=self.n_genes)

    @property
    def nodes(self) -> np.ndarray:
        """S: the genes with at least one edge (sorted)."""
        return np.flatnonzero(self.degree() > 0)

    def neighbour_table(self, self_loops: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(nodes, nbr, mask)``: S, and per gene of S its neighbours as positions in S, padded to the largest
        degree (padding holds position 0 and ``mask`` False). With ``self_loops`` each gene's own position is
        the first column (self-loops never add genes to S)."""
        nodes = self.nodes
        n = len(nodes)
        position = np.full(self.n_genes, -1, dtype=np.int64)
        position[nodes] = np.arange(n)
        src = position[np.concatenate([self.edges[:, 0], self.edges[:, 1]])]
        dst = position[np.concatenate([self.edges[:, 1], self.edges[:, 0]])]
        order = np.lexsort((dst, src))
        src, dst = src[order], dst[order]
        slot = np.arange(len(src)) - np.searchsorted(src, src, side="left")
        width = int(slot.max()) + 1 if len(slot) else 0
        nbr = np.zeros((n, width), dtype=np.int64)
        mask = np.zeros((n, width), dtype=bool)
        nbr[src, slot] = dst
        mask[src, slot] = True
        if self_loops:
            nbr = np.concatenate([np.arange(n)[:, None], nbr], axis=1)
            mask = np.concatenate([np.ones((n, 1), dtype=bool), mask], axis=1)
        return nodes, nbr, mask


def make_graph(kind: str, n_genes: int, u: np.ndarray, v: np.ndarray) -> GeneGraph:
    """A :class:`GeneGraph` from endpoint arrays (any orientation; duplicates and self-pairs dropped)."""
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    pairs = np.stack([np.minimum(u, v), np.maximum(u, v)], axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)
    return GeneGraph(kind, int(n_genes), pairs)


def cap_degree(u: np.ndarray, v: np.ndarray, weight: np.ndarray, n_genes: int, max_degree: int) -> np.ndarray:
    """Mask of the edges kept by the greedy degree cap: by descending ``weight`` (ties by (u, v)), an edge is
    kept when both its genes have fewer than ``max_degree`` kept edges.

    Sequential by nature; done in blocks of ``CAP_BLOCK`` ranked edges, each first filtered (vectorised) to the
    edges whose genes both still have capacity, so the Python loop only visits plausible edges.
    """
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    pair = u * max(n_genes, 1) + v
    by_pair = (np.arange(len(pair)) if np.all(pair[1:] > pair[:-1])
               else np.argsort(pair, kind="stable"))
    order = by_pair[np.argsort(-weight[by_pair], kind="stable")]  # position in `order` = greedy rank
    su, sv = u[order], v[order]
    capacity = np.full(n_genes, int(max_degree), dtype=np.int64)
    kept_sorted = np.zeros(len(order), dtype=bool)
    for start in range(0, len(order), CAP_BLOCK):
        bu, bv = su[start:start + CAP_BLOCK], sv[start:start + CAP_BLOCK]
        live = np.flatnonzero((capacity[bu] > 0) & (capacity[bv] > 0))
        if not len(live):
            continue
        spare = capacity.tolist()
        for e, a, b in zip((live + start).tolist(), bu[live].tolist(), bv[live].tolist(), strict=True):
            if spare[a] > 0 and spare[b] > 0:
                kept_sorted[e] = True
                spare[a] -= 1
                spare[b] -= 1
        capacity = np.asarray(spare, dtype=np.int64)
    kept = np.zeros(len(order), dtype=bool)
    kept[order] = kept_sorted
    return kept


def coexpression_graph(rows: torch.Tensor | np.ndarray, threshold: float, max_degree: int
                       ) -> tuple[GeneGraph, dict[str, Any]]:
    """Edges between genes whose Pearson |r| over ``rows`` (the train split, genes in columns) is >= ``threshold``,
    degree-capped at ``max_degree`` keeping the largest |r|. r comes from one matrix product on the rows' device;
    only the candidate edges leave it. Returns the graph and facts for ``derived_hparams``."""
    import torch

    x = torch.as_tensor(rows)
    if not x.is_floating_point():
        x = x.double()
    n_genes = x.shape[1]
    x = x - x.mean(dim=0, keepdim=True)
    norm = x.norm(dim=0, keepdim=True)
    x = x / torch.where(norm > 0, norm, torch.ones_like(norm))
    strength = (x.T @ x).abs_()
    candidates = torch.triu(strength >= threshold, diagonal=1)
    u, v = candidates.nonzero(as_tuple=True)
    weight = strength[u, v].double().cpu().numpy()
    u, v = u.cpu().numpy(), v.cpu().numpy()
    kept = cap_degree(u, v, weight, n_genes, max_degree)
    graph = make_graph("co-expression", n_genes, u[kept], v[kept])
    return graph, {"candidate_edges": len(u)}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_ppi(path: str | Path, genes: Sequence[str], min_score: float, max_degree: int
             ) -> tuple[GeneGraph, dict[str, Any]]:
    """A PPI graph from a STRING-style edge file restricted to ``genes`` (the modelled genes, in column order).

    Format: one edge per line, ``gene_a gene_b score`` separated by whitespace, tabs or commas (STRING's
    ``protein1 protein2 combined_score``); an optional header line first; empty lines and ``#`` comments
    skipped; ``.gz`` files read transparently. Edges with score >= ``min_score`` between two distinct modelled
    genes are kept (a pair listed twice keeps its best score), then degree-capped keeping the highest scores.
    Genes named in the file but not modelled are reported in the returned facts, not an error. A missing or
    unreadable file raises :class:`ConfigError`, a malformed line :class:`DataError` naming file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"PPI file {path} does not exist (hparam ppi)")
    index: dict[str, int] = {}
    for j, name in enumerate(genes):
        index.setdefault(str(name), j)
    u: list[int] = []
    v: list[int] = []
    scores: list[float] = []
    absent: dict[str, None] = {}  # insertion-ordered set
    line_no = 0
    first_record = True
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                fields = FIELD_SEPARATORS.split(text)
                if len(fields) != 3:
                    raise DataError(f"PPI file {path}, line {line_no}: expected 3 fields 'gene_a gene_b score', "
                                    f"got {len(fields)}: {text[:80]!r}")
                a, b, score_text = fields
                try:
                    score = float(score_text)
                except ValueError:
                    if first_record:  # a header line such as "protein1 protein2 combined_score"
                        first_record = False
                        continue
                    raise DataError(f"PPI file {path}, line {line_no}: score {score_text!r} is not a number"
                                    ) from None
                first_record = False
                if not math.isfinite(score):
                    raise DataError(f"PPI file {path}, line {line_no}: score {score_text!r} is not finite")
                ia, ib = index.get(a), index.get(b)
                for name, found in ((a, ia), (b, ib)):
                    if found is None:
                        absent.setdefault(name)
                if ia is not None and ib is not None and ia != ib and score >= min_score:
                    u.append(ia)
                    v.append(ib)
                    scores.append(score)
    except UnicodeDecodeError as exc:
        raise DataError(f"PPI file {path}, line {line_no + 1}: not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError) as exc:
        raise ConfigError(f"PPI file {path} cannot be read: {exc}") from None
    u_arr, v_arr = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    w_arr = np.asarray(scores, dtype=np.float64)
    lo, hi = np.minimum(u_arr, v_arr), np.maximum(u_arr, v_arr)
    order = np.lexsort((-w_arr, hi, lo))  # per pair, best score first
    lo, hi, w_arr = lo[order], hi[order], w_arr[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, w_arr = lo[first], hi[first], w_arr[first]
    kept = cap_degree(lo, hi, w_arr, len(genes), max_degree)
    graph = make_graph("ppi", len(genes), lo[kept], hi[kept])
    facts = {"candidate_edges": int(len(lo)), "absent_genes": len(absent),
             "absent_examples": list(absent)[:ABSENT_EXAMPLES], "sha256": file_sha256(path)}
    return graph, facts


def random_graph(reference: GeneGraph, max_degree: int, rng: np.random.Generator) -> GeneGraph:
    """The Erdős–Rényi control of ``reference``: G(n, m) on its node set S (n = |S|) with m = its edge count,
    every degree <= ``max_degree`` and every gene of S keeping >= 1 edge, so node set and density are identical.

    1. Uniform random pairs of S are accepted in order when new and both genes are under the cap (G(n, m)
       conditioned on the cap); when the genes with spare capacity have no free pair left, a switch
       (remove x-y, add a-x and b-y) adds an edge without changing x's or y's degree.
    2. Each gene a left isolated takes the place of one end x of a random edge x-y where x has degree >= 2
       (x-y becomes a-y), which keeps m and the cap. This always succeeds because m >= n / 2 (every gene of S
       has an edge in the reference).
    """
    nodes = reference.nodes
    n, m = len(nodes), reference.n_edges
    if m == 0:
        return GeneGraph(reference.kind, reference.n_genes, reference.edges.copy())
    if m > n * max_degree // 2 or m > n * (n - 1) // 2:
        raise ValueError(f"cannot place {m} edges on {n} genes with degree <= {max_degree}")
    degree = [0] * n
    neighbours: list[set[int]] = [set() for _ in range(n)]
    edges: list[tuple[int, int]] = []

    def add(a: int, b: int) -> None:
        neighbours[a].add(b)
        neighbours[b].add(a)
        degree[a] += 1
        degree[b] += 1
        edges.append((a, b))

    stalled = 0
    while len(edges) < m:
        before = len(edges)
        spare = np.flatnonzero(np.asarray(degree) < max_degree)
        # Uniform pairs of genes with spare capacity = uniform pairs of S with the capped ones rejected.
        draws = spare[rng.integers(0, len(spare), size=(2 * (m - len(edges)) + 16, 2))]
        for a, b in draws.tolist():
            if a != b and degree[a] < max_degree and degree[b] < max_degree and b not in neighbours[a]:
                add(a, b)
                if len(edges) == m:
                    break
        stalled = 0 if len(edges) > before else stalled + 1
        if stalled >= 3 and not add_free_pair(spare, degree, neighbours, max_degree, rng, add):
            switch(spare, degree, neighbours, edges, max_degree, rng)
    degree_arr = np.asarray(degree)
    u = np.asarray([e[0] for e in edges], dtype=np.int64)
    v = np.asarray([e[1] for e in edges], dtype=np.int64)
    for a in np.flatnonzero(degree_arr == 0).tolist():
        donors = np.flatnonzero((degree_arr[u] >= 2) | (degree_arr[v] >= 2))
        e = int(donors[rng.integers(len(donors))])
        x, y = (u[e], v[e]) if degree_arr[u[e]] >= 2 else (v[e], u[e])  # x loses the edge, y keeps its degree
        if degree_arr[y] >= 2 and degree_arr[x] >= 2 and rng.random() < 0.5:
            x, y = y, x
        degree_arr[x] -= 1
        degree_arr[a] += 1
        u[e], v[e] = a, y
    return make_graph(reference.kind, reference.n_genes, nodes[u], nodes[v])


def add_free_pair(spare: np.ndarray, degree: list[int], neighbours: list[set[int]], max_degree: int,
                  rng: np.random.Generator, add: Any) -> bool:
    """Add one random non-adjacent pair of genes with spare capacity, if any exists."""
    spare = [a for a in spare.tolist() if degree[a] < max_degree]
    pairs = [(a, b) for i, a in enumerate(spare) for b in spare[i + 1:] if b not in neighbours[a]]
    if not pairs:
        return False
    add(*pairs[int(rng.integers(len(pairs)))])
    return True


def switch(spare: np.ndarray, degree: list[int], neighbours: list[set[int]], edges: list[tuple[int, int]],
           max_degree: int, rng: np.random.Generator) -> None:
    """Add one edge when the genes with spare capacity are saturated among themselves: pick such genes a, b
    (a == b allowed with two spare slots), remove an edge x-y with x, y not in {a, b}, x not adjacent to a and
    y not adjacent to b, and add a-x and b-y (x and y keep their degree)."""
    spare = [a for a in spare.tolist() if degree[a] < max_degree]
    ends = [(a, b) for i, a in enumerate(spare) for b in spare[i:] if a != b or max_degree - degree[a] >= 2]
    for k in rng.permutation(len(ends)).tolist():
        a, b = ends[k]
        for e in rng.permutation(len(edges)).tolist():
            for x, y in (edges[e], edges[e][::-1]):
                if x in (a, b) or y in (a, b) or x in neighbours[a] or y in neighbours[b]:
                    continue
                neighbours[x].discard(y)
                neighbours[y].discard(x)
                edges[e] = (a, x)
                edges.append((b, y))
                for p, q in ((a, x), (b, y)):
                    neighbours[p].add(q)
                    neighbours[q].add(p)
                degree[a] += 1
                degree[b] += 1
                return
    raise ValueError("cannot complete the random graph under the degree cap (graph too small or too dense)")
