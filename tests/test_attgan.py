"""AttGAN and attgan-random: graph attention block, gene graphs, PPI files, and the trained models."""

from __future__ import annotations

import gzip
import logging
import subprocess
import sys

import numpy as np
import pytest
import torch

from benchmark.dataset import DatasetMeta
from benchmark.errors import ConfigError, DataError
from benchmark.registry import get_generator
from generators.attgan import AUTO_RANK, BUDGETS, graph_seed
from generators.gene_graph import (
    GeneGraph,
    cap_degree,
    coexpression_graph,
    make_graph,
    random_graph,
    read_ppi,
)
from generators.nn.graph_attention import GraphAttention, GraphAttentionHead
from generators.wgan_gp import BUDGETS as WGAN_GP_BUDGETS
from tests.generator_fixtures import real_classifier_accuracy, two_modules, within_class_corr_score


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models train fastest (and without oversubscription on a shared machine) on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_graph() -> GeneGraph:
    """7 genes: 0-1-2-3 a path plus 1-3, 4-5 an edge, gene 6 isolated (outside S): degrees 1, 3, 2, 2, 1, 1, 0."""
    return make_graph("co-expression", 7, np.array([0, 1, 2, 1, 4]), np.array([1, 2, 3, 3, 5]))


def head_of(graph: GeneGraph, rank: int | None = None, self_loops: bool = False) -> GraphAttentionHead:
    nodes, nbr, mask = graph.neighbour_table(self_loops)
    return GraphAttentionHead(torch.as_tensor(nodes), torch.as_tensor(nbr), torch.as_tensor(mask), rank=rank)


def reference_attention(head: GraphAttentionHead, graph: GeneGraph, x: torch.Tensor) -> np.ndarray:
    """o (B, width) by the definition, one gene at a time: softmin of |q_i - k_j| over j in N(i)."""
    x = x.double()
    nodes = graph.nodes
    with torch.no_grad():
        x_s = x[:, torch.as_tensor(nodes)]
        q, k, v = (layer.double()(x_s).numpy() for layer in (head.query, head.key, head.value))
    head.float()
    out = np.zeros(x.shape)
    for i, gene in enumerate(nodes):
        nbrs = [int(np.flatnonzero(nodes == other)[0]) for a, b in graph.edges.tolist() if gene in (a, b)
                for other in (a, b) if other != gene]
        s = np.abs(q[:, [i]] - k[:, nbrs])
        a = np.exp(-s) / np.exp(-s).sum(axis=1, keepdims=True)
        out[:, gene] = (a * v[:, nbrs]).sum(axis=1)
    return out


# --- the attention block -------------------------------------------------------------------------------------


def test_generator_modules_import_without_torch():
    code = "import sys, generators.attgan, generators.gene_graph; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_neighbour_table_is_padded_and_masked():
    nodes, nbr, mask = small_graph().neighbour_table()
    assert nodes.tolist() == [0, 1, 2, 3, 4, 5]
    assert nbr.shape == mask.shape == (6, 3)
    assert mask.sum(axis=1).tolist() == [1, 3, 2, 2, 1, 1]
    assert [sorted(nbr[i, mask[i]].tolist()) for i in range(6)] == [[1], [0, 2, 3], [1, 3], [1, 2], [5], [4]]
    _, nbr_loops, mask_loops = small_graph().neighbour_table(self_loops=True)
    assert nbr_loops[:, 0].tolist() == list(range(6)) and mask_loops[:, 0].all()


def test_softmin_weights_sum_to_one_and_padding_is_exactly_zero():
    torch.manual_seed(0)
    head = head_of(small_graph())
    x = torch.randn(16, 7)
    weights, out = head.attend(x)
    mask = head.mask
    assert torch.allclose(weights.sum(dim=2), torch.ones(16, 6), atol=1e-6)
    assert torch.all(weights[:, ~mask] == 0)
    assert torch.all(weights[:, mask] > 0)
    # a padded slot pointing elsewhere changes nothing
    pads = (~mask).nonzero()
    head.neighbours[pads[:, 0], pads[:, 1]] = 4
    assert torch.equal(head.attend(x)[1], out)


def test_block_is_identity_outside_the_graph_and_adds_gamma_times_o_inside():
    torch.manual_seed(1)
    graph = small_graph()
    head = head_of(graph)
    x = torch.randn(8, 7)
    expected = reference_attention(head, graph, x)
    block = GraphAttention([head], gamma_init=0.7)
    with torch.no_grad():
        out = block(x)
    assert torch.equal(out[:, 6], x[:, 6])  # gene 6 has no edge: o = 0 there
    assert np.allclose(out.numpy(), x.numpy() + 0.7 * expected, atol=1e-5)
    with torch.no_grad():
        assert torch.equal(GraphAttention([head_of(graph)])(x), x)  # γ starts at 0: x̃ itself
    assert isinstance(GraphAttention([head]).gamma, torch.nn.Parameter)


def test_two_heads_mix_shared_genes():
    torch.manual_seed(2)
    first = make_graph("ppi", 7, np.array([0, 2]), np.array([1, 6]))  # S = {0, 1, 2, 6}
    second = small_graph()  # S = {0, ..., 5}
    heads = [head_of(first), head_of(second)]
    block = GraphAttention(heads, gamma_init=1.0)
    assert block.n_shared == 3 and block.mix.shape == (3, 2)  # genes 0, 1, 2
    x = torch.randn(5, 7)
    with torch.no_grad():
        o = block.refinement(x)
        o1, o2 = heads[0](x), heads[1](x)
        mix = torch.softmax(block.mix, dim=1)
    assert torch.allclose(o[:, :3], mix[:, 0] * o1[:, :3] + mix[:, 1] * o2[:, :3], atol=1e-6)
    assert torch.allclose(o[:, 6], o1[:, 3]) and torch.allclose(o[:, 3:6], o2[:, 3:6])


def test_low_rank_projections():
    head = head_of(small_graph(), rank=2)
    assert head.rank == 2
    assert [tuple(p.shape) for p in head.query.parameters()] == [(2, 6), (6, 2)]
    assert tuple(head.value.weight.shape) == (6, 6)  # W_v stays full
    assert head_of(small_graph(), rank=6).rank is None  # rank >= n is full
    model = get_generator("attgan")(budget="default")
    above, rank = AUTO_RANK["default"]["above"], AUTO_RANK["default"]["rank"]
    assert model.attention_rank_for(above) is None and model.attention_rank_for(above + 1) == rank
    assert get_generator("attgan")(budget="smoke").attention_rank_for(5000) is None
    assert get_generator("attgan")(budget="default", attention_rank=8).attention_rank_for(100) == 8


# --- graphs --------------------------------------------------------------------------------------------------


def module_rows(n: int = 800, seed: int = 0) -> np.ndarray:
    """Three modules of 5 genes (|r| ≈ 0.8 inside: loadings ±0.9, noise 0.45) and 5 independent genes."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n, 3))
    X = 0.45 * rng.standard_normal((n, 20))
    for m in range(3):
        X[:, 5 * m:5 * m + 5] += 0.9 * factors[:, [m]] * np.array([1, -1, 1, 1, -1])
    return X


def greedy_reference(u, v, w, n, cap):
    keep = np.zeros(len(u), dtype=bool)
    degree = np.zeros(n, dtype=int)
    for e in np.lexsort((v, u, -w)):
        if degree[u[e]] < cap and degree[v[e]] < cap:
            keep[e] = True
            degree[u[e]] += 1
            degree[v[e]] += 1
    return keep


def test_coexpression_graph_finds_the_modules_and_respects_threshold_and_cap():
    X = module_rows()
    r = np.corrcoef(X, rowvar=False)
    modules = {(a, b) for m in range(3) for a in range(5 * m, 5 * m + 5) for b in range(a + 1, 5 * m + 5)}
    graph, facts = coexpression_graph(torch.as_tensor(X, dtype=torch.float32), 0.6, 32)
    assert {tuple(e) for e in graph.edges.tolist()} == modules
    assert facts["candidate_edges"] == 30
    assert graph.nodes.tolist() == list(range(15))  # the independent genes are outside S
    capped, _ = coexpression_graph(X, 0.6, 2)  # numpy rows work too
    edges = capped.edges
    assert capped.degree().max() <= 2
    assert set(capped.nodes.tolist()) <= set(range(15))  # the cap may leave a gene whose partners are full
    assert {tuple(e) for e in edges.tolist()} <= modules
    assert np.all(np.abs(r[edges[:, 0], edges[:, 1]]) >= 0.6)
    iu = np.array(sorted(modules))
    kept = greedy_reference(iu[:, 0], iu[:, 1], np.abs(r[iu[:, 0], iu[:, 1]]), 20, 2)
    assert np.array_equal(edges, iu[kept])  # the largest |r| are kept
    strict, _ = coexpression_graph(X, 0.99, 32)
    assert strict.n_edges == 0 and len(strict.nodes) == 0


def test_cap_degree_is_the_sequential_greedy():
    rng = np.random.default_rng(0)
    for trial in range(60):
        n, cap = int(rng.integers(2, 30)), int(rng.integers(1, 5))
        iu = np.triu_indices(n, 1)
        chosen = rng.random(len(iu[0])) < rng.random()
        u, v = iu[0][chosen], iu[1][chosen]
        w = rng.integers(0, 4, len(u)).astype(float) if trial % 2 else rng.random(len(u))  # ties or not
        order = rng.permutation(len(u))
        u, v, w = u[order], v[order], w[order]
        kept = cap_degree(u, v, w, n, cap)
        assert np.array_equal(kept, greedy_reference(u, v, w, n, cap))
        assert np.bincount(np.concatenate([u[kept], v[kept]]), minlength=n).max(initial=0) <= cap


@pytest.mark.parametrize("case", ["modules", "matching", "saturated"])
def test_random_graph_keeps_node_set_edge_count_and_cap(case):
    cap = 4
    if case == "modules":
        reference, _ = coexpression_graph(module_rows(), 0.6, cap)
    elif case == "matching":  # m = n / 2: the random graph must be a perfect matching of S
        reference = make_graph("co-expression", 12, np.arange(0, 10, 2), np.arange(1, 10, 2))
    else:  # 4-regular on 10 genes: the cap binds everywhere
        reference = make_graph("co-expression", 10, np.r_[np.arange(10), np.arange(10)],
                               np.r_[(np.arange(10) + 1) % 10, (np.arange(10) + 2) % 10])
    for seed in range(5):
        graph = random_graph(reference, cap, np.random.default_rng(seed))
        assert np.array_equal(graph.nodes, reference.nodes)
        assert graph.n_edges == reference.n_edges
        assert graph.degree().max() <= cap
        assert graph.kind == reference.kind
        assert np.all(graph.edges[:, 0] < graph.edges[:, 1])
    graph = random_graph(reference, cap, np.random.default_rng(0))
    assert not np.array_equal(graph.edges, reference.edges)
    assert np.array_equal(graph.edges, random_graph(reference, cap, np.random.default_rng(0)).edges)


# --- PPI files -----------------------------------------------------------------------------------------------


GENES = ["A", "B", "C", "D", "E"]


def test_ppi_file_score_filter_duplicates_and_absent_genes(tmp_path):
    path = tmp_path / "links.txt"
    path.write_text("protein1 protein2 combined_score\n"
                    "A B 900\n"
                    "B A 950\n"  # the same pair again
                    "A\tC\t650\n"  # below 700
                    "# a comment\n\n"
                    "C D 700\n"
                    "D X 999\n"  # X, Y not modelled
                    "Y Z 800\n"
                    "E E 999\n")  # self-pair
    graph, facts = read_ppi(path, GENES, 700, 32)
    assert graph.kind == "ppi" and graph.n_genes == 5
    assert graph.edges.tolist() == [[0, 1], [2, 3]]
    assert facts["absent_genes"] == 3 and facts["absent_examples"] == ["X", "Y", "Z"]
    assert len(facts["sha256"]) == 64
    capped, _ = read_ppi(path, GENES, 0, 1)  # degree 1: A-B (950) wins over A-C (650)
    assert capped.edges.tolist() == [[0, 1], [2, 3]]
    gz = tmp_path / "links.csv.gz"
    with gzip.open(gz, "wt") as handle:
        handle.write("gene_a,gene_b,score\nA,E,800\n")
    assert read_ppi(gz, GENES, 700, 32)[0].edges.tolist() == [[0, 4]]


@pytest.mark.parametrize(("text", "line", "words"), [
    ("A B 900\nA C\n", 2, "expected 3 fields"),
    ("gene_a gene_b score\nA B 900\n\nC D high\n", 4, "not a number"),
    ("A B 900\nC D nan\n", 2, "not finite"),
])
def test_malformed_ppi_file_names_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"{path.name}, line {line}: .*{words}"):
        read_ppi(path, GENES, 700, 32)


def test_missing_ppi_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="nowhere.tsv does not exist"):
        read_ppi(tmp_path / "nowhere.tsv", GENES, 700, 32)
    X, y, meta = module_data()
    model = get_generator("attgan")(budget="smoke", steps=1, ppi=str(tmp_path / "nowhere.tsv"))
    with pytest.raises(ConfigError, match="nowhere.tsv"):
        model.fit(X, y, meta)


# --- the generators ------------------------------------------------------------------------------------------


def module_data() -> tuple[np.ndarray, np.ndarray, DatasetMeta]:
    X = module_rows(240)
    y = np.repeat([0, 1], 120)
    X[y == 1, 15] += 3.0  # class signal on one independent gene (no co-expression from it)
    X = np.column_stack([X + 5.0, np.full(len(X), 3.0)])  # and a constant gene (not modelled)
    meta = DatasetMeta("modules", "expression", tuple(f"g{j}" for j in range(21)), ("a", "b"))
    return X.astype(np.float32), y, meta


def test_budgets_extend_wgan_gp_and_check_ranges():
    for budget, settings in BUDGETS.items():
        assert settings.items() >= WGAN_GP_BUDGETS[budget].items()
        assert settings["threshold"] == 0.6 and settings["ppi"] is None and settings["ppi_min_score"] == 700
        assert settings["attention_rank"] is None and settings["self_loops"] is False
        assert settings["gamma_init"] == 0.0
    assert BUDGETS["smoke"]["max_degree"] == 4 and BUDGETS["default"]["max_degree"] == 32
    with pytest.raises(ConfigError, match="threshold"):
        get_generator("attgan")(threshold=1.5)
    with pytest.raises(ConfigError, match="attention_rank"):
        get_generator("attgan-random")(attention_rank=0)
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        get_generator("attgan")(heads=2)


def test_attgan_fit_is_deterministic_finite_and_records_the_graph():
    X, y, meta = module_data()
    labels = np.array([0, 1] * 20)
    a = get_generator("attgan")(budget="smoke", seed=3, gamma_init=0.5).fit(X, y, meta)
    b = get_generator("attgan")(budget="smoke", seed=3, gamma_init=0.5).fit(X, y, meta)
    sa, sb = a.sample(labels), b.sample(labels)
    assert np.array_equal(sa, sb) and np.isfinite(sa).all() and sa.shape == (40, 21)
    assert np.all(sa[:, 20] == 3.0)
    assert a.derived_hparams == {
        "coexpression_candidate_edges": 30, "coexpression_nodes": 15, "coexpression_edges": 30,
        "coexpression_max_degree": 4, "graph_kinds": ["co-expression"], "graph_nodes": 15, "graph_edges": 30,
        "coexpression_attention_rank": "full",
    }
    head = a.generator.attention.heads[0]
    assert head.genes.tolist() == list(range(15))
    assert a.n_params() > get_generator("wgan-gp")(budget="smoke", seed=3).fit(X, y, meta).n_params()


def test_attgan_random_uses_a_seeded_random_graph_of_the_same_size():
    X, y, meta = module_data()
    reference = get_generator("attgan")(budget="smoke", seed=5, steps=2).fit(X, y, meta)
    control = get_generator("attgan-random")(budget="smoke", seed=5, steps=2).fit(X, y, meta)
    again = get_generator("attgan-random")(budget="smoke", seed=5, steps=2).fit(X, y, meta)
    other = get_generator("attgan-random")(budget="smoke", seed=6, steps=2).fit(X, y, meta)
    derived = control.derived_hparams
    assert derived["graph_seed"] == graph_seed(5) != other.derived_hparams["graph_seed"]
    assert derived["graph_model"].startswith("erdos-renyi")
    for key in ("graph_nodes", "graph_edges", "coexpression_nodes", "coexpression_edges"):
        assert derived[key] == reference.derived_hparams[key]
    ref_head, head = reference.generator.attention.heads[0], control.generator.attention.heads[0]
    assert torch.equal(ref_head.genes, head.genes)
    assert not torch.equal(ref_head.neighbours, head.neighbours)
    assert torch.equal(again.generator.attention.heads[0].neighbours, head.neighbours)
    assert np.array_equal(control.sample(np.array([0, 1, 1])), again.sample(np.array([0, 1, 1])))


def test_ppi_graph_adds_a_second_head(tmp_path, caplog):
    X, y, meta = module_data()
    path = tmp_path / "string.txt"
    path.write_text("protein1 protein2 combined_score\ng0 g15 900\ng16 g17 800\ng18 g19 100\n"
                    "g20 g1 999\nMISSING g2 900\n")  # g20 is constant (not modelled), MISSING is absent
    with caplog.at_level(logging.WARNING, logger="generators.attgan"):
        model = get_generator("attgan")(budget="smoke", seed=0, steps=2, ppi=str(path)).fit(X, y, meta)
    assert "2 genes of the PPI file" in caplog.text
    d = model.derived_hparams
    assert d["graph_kinds"] == ["ppi", "co-expression"]
    assert d["ppi_edges"] == 2 and d["ppi_nodes"] == 4 and d["ppi_candidate_edges"] == 2
    assert d["ppi_absent_genes"] == 2 and d["ppi_absent_examples"] == ["g20", "MISSING"]
    assert d["graph_nodes"] == 18 and d["graph_edges"] == 32 and d["mixed_genes"] == 1  # g0 is in both
    assert len(model.generator.attention.heads) == 2
    assert np.isfinite(model.sample(np.array([0, 1]))).all()
    control = get_generator("attgan-random")(budget="smoke", seed=0, steps=2, ppi=str(path)).fit(X, y, meta)
    for key in ("ppi_nodes", "ppi_edges", "coexpression_nodes", "coexpression_edges", "graph_nodes"):
        assert control.derived_hparams[key] == d[key]


def test_no_edge_means_plain_wgan_gp_output(caplog):
    X, y, meta = module_data()
    with caplog.at_level(logging.WARNING, logger="generators.attgan"):
        model = get_generator("attgan-random")(budget="smoke", steps=2, threshold=1.0).fit(X, y, meta)
    assert "no co-expression attention" in caplog.text
    assert model.derived_hparams["graph_edges"] == 0 and len(model.generator.attention.heads) == 0
    assert np.isfinite(model.sample(np.array([0, 1]))).all()


def test_attgan_is_faithful_on_two_modules():
    """Within-class correlation far above independent marginals; rows classified as their requested label."""
    X, y, meta = two_modules()
    labels = np.repeat([0, 1], 300)
    model = get_generator("attgan")(budget="smoke", seed=0, steps=300).fit(X, y, meta)
    S = model.sample(labels)
    assert np.isfinite(S).all()
    marginals = get_generator("marginals")(seed=0).fit(X, y, meta).sample(labels)
    baseline = within_class_corr_score(X, y, marginals, labels)
    score = within_class_corr_score(X, y, S, labels)
    assert score > 0.8 and score > baseline + 0.6, (score, baseline)
    assert real_classifier_accuracy(X, y, S, labels) >= 0.9
    assert model.derived_hparams["graph_edges"] > 0


def test_self_loops_and_low_rank_in_the_model():
    X, y, meta = module_data()
    model = get_generator("attgan")(budget="smoke", steps=3, self_loops=True, attention_rank=4).fit(X, y, meta)
    head = model.generator.attention.heads[0]
    assert torch.equal(head.neighbours[:, 0], torch.arange(15)) and bool(head.mask[:, 0].all())
    assert head.rank == 4 and model.derived_hparams["coexpression_attention_rank"] == 4
    assert model.derived_hparams["coexpression_edges"] == 30  # self-loops are not edges
    assert np.isfinite(model.sample(np.array([0, 1]))).all()
