"""Figure summaries (benchmark/summaries.py) on data whose answer is known, their schema, and
tools/add_summaries.py, which gives older records the summaries of a reproducing re-run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.store import schema_problem
from benchmark.summaries import AF_MAX_SNPS, CORR_FEATURES, figure_summaries
from metrics import EvalContext, SplitData

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("a", "b")


def expression_context(p: int = 40) -> tuple[EvalContext, tuple[str, ...]]:
    """Three real splits of correlated expression: features share two latent factors; class shifts the mean."""
    rng = np.random.default_rng(0)

    def rows(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 2
        factors = rng.normal(size=(n, 2))
        loadings = np.linspace(0.2, 2.0, p)[None, :] * np.where(np.arange(p) % 2 == 0, 1.0, -1.0)[None, :]
        X = factors[:, :1] * loadings + 0.5 * factors[:, 1:] + rng.normal(scale=0.3, size=(n, p)) + y[:, None]
        return X, y

    (trX, trY), (hoX, hoY), (teX, teY) = rows(120), rows(60), rows(60)
    names = tuple(f"g{j}" for j in range(p))
    split = SplitData(trX, trY, hoX, hoY, teX, teY, modality="expression", class_names=CLASSES, seed=3,
                      feature_names=names)
    return EvalContext(split, metrics=["correlation"]), names


def genotype_context(snps: int = 120) -> tuple[EvalContext, tuple[str, ...]]:
    """Dosages from haplotype blocks of 10 SNPs in strong LD (each block copies one of two haplotypes)."""
    rng = np.random.default_rng(1)
    blocks = snps // 10
    haplotypes = rng.integers(0, 2, size=(blocks, 2, 10))

    def rows(n: int) -> tuple[np.ndarray, np.ndarray]:
        pick = rng.integers(0, 2, size=(n, 2, blocks))
        G = sum(haplotypes[np.arange(blocks)[None, :], pick[:, k]].reshape(n, snps) for k in range(2))
        flip = rng.random((n, snps)) < 0.02
        return np.where(flip, rng.integers(0, 3, size=(n, snps)), G).astype(np.int8), np.arange(n) % 2

    (trX, trY), (hoX, hoY), (teX, teY) = rows(200), rows(80), rows(80)
    names = tuple(f"1:{1000 * (j + 1)}" for j in range(snps))
    split = SplitData(trX, trY, hoX, hoY, teX, teY, modality="genotype", class_names=CLASSES, seed=5,
                      positions=np.arange(1, snps + 1) * 1000, feature_names=names)
    return EvalContext(split, metrics=["ld_decay"]), names


def test_a_copy_of_the_real_test_rows_has_the_real_correlations():
    ctx, names = expression_context()
    test = ctx.split
    summaries = figure_summaries(ctx, test.test_X, test.test_y, CLASSES, names, umap=False)
    corr = summaries["correlation"]
    assert len(corr["features"]) == CORR_FEATURES
    variance = np.var(test.train_X, axis=0)
    assert corr["features"][0] == names[int(np.argmax(variance))]  # most variable first
    assert np.allclose(np.array(corr["real"], dtype=float), np.array(corr["synthetic"], dtype=float))
    assert set(summaries) == {"correlation"}  # no UMAP asked, no genotype blocks


def test_independent_noise_has_no_correlation_and_a_constant_feature_gives_nulls():
    ctx, names = expression_context()
    noise = np.random.default_rng(9).normal(size=(200, len(names)))
    first = names.index(figure_summaries(ctx, noise, np.arange(200) % 2, CLASSES, names, umap=False)
                        ["correlation"]["features"][0])
    noise[:, first] = 1.0
    corr = figure_summaries(ctx, noise, np.arange(200) % 2, CLASSES, names, umap=False)["correlation"]
    real, synthetic = np.array(corr["real"], dtype=float), np.array(corr["synthetic"], dtype=float)
    off = ~np.eye(len(real), dtype=bool)
    assert np.abs(real[off]).mean() > 0.5  # the latent factors correlate every pair
    assert corr["synthetic"][0][1] is None and corr["synthetic"][1][0] is None  # the constant feature
    assert np.nanmean(np.abs(synthetic[1:, 1:][off[1:, 1:]])) < 0.15


def test_ld_decay_of_shuffled_columns_is_flat_and_a_copy_matches():
    ctx, names = genotype_context()
    test = ctx.split
    copy = figure_summaries(ctx, test.test_X, test.test_y, CLASSES, names, umap=False)
    ld = copy["ld_decay"]
    assert ld["unit"] == "bp" and len(ld["bin_edges"]) == len(ld["real"]) + 1
    assert ld["real"] == ld["synthetic"]  # the metric's R is a subsample of test with the holdout's counts
    rng = np.random.default_rng(2)
    shuffled = np.column_stack([rng.permutation(column) for column in test.test_X.T])
    flat = figure_summaries(ctx, shuffled, test.test_y, CLASSES, names, umap=False)["ld_decay"]
    first = next(i for i, v in enumerate(ld["real"]) if v is not None)
    assert ld["real"][first] > 0.2 and flat["synthetic"][first] < 0.1  # blocks of 10 SNPs in LD, broken
    assert flat["holdout"][first] > 0.2  # the real holdout keeps it
    af = copy["allele_frequency"]
    assert af["real"] == af["synthetic"] and len(af["real"]) == min(len(names), AF_MAX_SNPS)


def test_umap_places_a_copy_where_the_real_rows_are_and_keeps_class_structure_only_where_it_is():
    """Real test rows and a synthetic copy of them are transformed alike; a slightly perturbed copy keeps
    the real classes' places; rows of noise with labels do not."""
    ctx, names = expression_context()
    test = ctx.split
    copy = figure_summaries(ctx, test.test_X, test.test_y, CLASSES, names)["umap"]
    assert copy["real"] == copy["synthetic"]
    assert set(copy["real"]["label"]) == set(CLASSES)
    real = np.column_stack([copy["real"]["x"], copy["real"]["y"]])
    real_labels = np.array(copy["real"]["label"])

    def nearest_label_agreement(X: np.ndarray) -> float:
        block = figure_summaries(ctx, X, test.test_y, CLASSES, names)["umap"]["synthetic"]
        points = np.column_stack([block["x"], block["y"]])
        nearest = np.argmin(np.linalg.norm(points[:, None] - real[None], axis=2), axis=1)
        return float(np.mean(real_labels[nearest] == np.array(block["label"])))

    rng = np.random.default_rng(4)
    assert nearest_label_agreement(test.test_X + rng.normal(scale=0.05, size=test.test_X.shape)) > 0.9
    assert nearest_label_agreement(rng.normal(scale=2.0, size=test.test_X.shape)) < 0.75
    again = figure_summaries(ctx, test.test_X, test.test_y, CLASSES, names)["umap"]
    assert again == copy  # seeded: the same rows give the same embedding


def test_a_failing_summary_is_kept_as_an_error_and_the_others_are_still_computed(monkeypatch):
    import benchmark.summaries as summaries_module

    def broken(*args, **kwargs):
        raise RuntimeError("spectral initialisation failed")

    monkeypatch.setattr(summaries_module, "ld_decay_block", broken)
    ctx, names = genotype_context()
    summaries = figure_summaries(ctx, ctx.split.test_X, ctx.split.test_y, CLASSES, names, umap=False)
    assert summaries["failed"] == {"ld_decay": "RuntimeError: spectral initialisation failed"}
    assert set(summaries) == {"correlation", "allele_frequency", "failed"}
    assert schema_problem(json.loads(json.dumps(good_record(summaries)))) is None


def good_record(summaries: dict) -> dict:
    return {"schema": 1, "status": "ok", "config_hash": "c", "dataset": {"id": "d", "split_hash": "s"},
            "generator": {"name": "g", "budget": "smoke", "seed": 0}, "compute": {}, "metrics": {},
            "summaries": summaries}


@pytest.mark.parametrize(("summaries", "problem"), [
    ({"correlation": []}, "'summaries.correlation' must be an object"),
    ({"correlation": {"features": ["a", "b"], "real": [[1.0, None], [None, 1.0]], "synthetic": [[1.0]]}},
     "'summaries.correlation.synthetic' must be a 2 x 2 matrix"),
    ({"ld_decay": {"unit": "bp", "bin_edges": [0, 1, 2], "real": [0.1, None], "holdout": [0.1, 0.1],
                   "synthetic": [0.1, "x"]}}, "'summaries.ld_decay.synthetic' must be 2 numbers or nulls"),
    ({"allele_frequency": {"real": [0.1, 0.2], "synthetic": [0.1]}}, "equally long lists"),
    ({"umap": {"real": [1, 2]}}, "'projection.real' must be an object"),
    ({"failed": {"umap": 3}}, "'summaries.failed' must map block names to error messages"),
])
def test_the_schema_refuses_summaries_the_figures_cannot_draw(summaries, problem):
    assert problem in str(schema_problem(good_record(summaries)))


def test_the_schema_accepts_the_summaries_a_run_writes():
    ctx, names = genotype_context()
    summaries = figure_summaries(ctx, ctx.split.test_X, ctx.split.test_y, CLASSES, names, umap=False)
    assert schema_problem(json.loads(json.dumps(good_record(summaries)))) is None


def test_add_summaries_copies_only_from_a_run_that_reproduced_the_record(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import add_summaries
    finally:
        sys.path.remove(str(ROOT / "tools"))
    committed, rerun = tmp_path / "committed", tmp_path / "rerun"
    base = {**good_record({}), "metrics": {"fd": {"value": 1.5, "reference": 1.0, "direction": "lower",
                                                  "family": "fidelity"}}, "compute": {"fit_s": 10.0}}
    del base["summaries"]
    summaries = {"allele_frequency": {"real": [0.1], "synthetic": [0.2]}}
    for name, value in (("same", 1.5 * (1 + 1e-14)), ("other", 1.5 * (1 + 1e-6))):
        for root, record in ((committed, base), (rerun, {**base, "compute": {"fit_s": 99.0}, "summaries": summaries,
                                                         "provenance": {"started_at": "2026-12-01T06:00:00"}})):
            path = root / "data" / name / "seed-0.json"
            path.parent.mkdir(parents=True)
            if root == rerun:
                record = {**record, "metrics": {"fd": {**base["metrics"]["fd"], "value": value}}}
            path.write_text(json.dumps(record))
    for root in (committed, rerun):  # a truncated re-run file is reported, never a crash
        broken = root / "data" / "broken" / "seed-0.json"
        broken.parent.mkdir(parents=True)
        broken.write_text(json.dumps(base) if root == committed else '{"schema": 1, "status": "ok", "metr')
    assert add_summaries.main(["--rerun", str(rerun), "--into", str(committed)]) == 1
    same = json.loads((committed / "data" / "same" / "seed-0.json").read_text())
    assert same["summaries"] == summaries and same["compute"] == {"fit_s": 10.0}  # its own timings kept
    assert "2026-12-01T06:00:00" in same["summaries_from"]
    assert "summaries" not in json.loads((committed / "data" / "other" / "seed-0.json").read_text())
    err = capsys.readouterr().err
    assert "other/seed-0.json: scores differ: fd" in err
    assert "broken/seed-0.json: not a usable record:" in err
