"""User files: CSV/TSV/Parquet/h5ad round trips, options, modality inference, bad inputs."""

from __future__ import annotations

import anndata
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from benchmark.data import infer_modality, load_dataset
from benchmark.errors import ConfigError, DataError


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("OMICS_BENCHMARK_CACHE", str(tmp_path / "cache"))


def _frame(values: np.ndarray, n_classes: int = 2) -> pd.DataFrame:
    n, p = values.shape
    frame = pd.DataFrame(values, columns=[f"g{j}" for j in range(p)])
    frame.insert(0, "sample", [f"s{i:03d}" for i in range(n)])
    frame["label"] = [f"c{i % n_classes}" for i in range(n)]
    return frame


def _expr(n=40, p=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, p))


@pytest.mark.parametrize("name, sep", [("x.csv", ","), ("x.tsv", "\t"), ("x.csv.gz", ","), ("x.tsv.gz", "\t")])
def test_text_round_trip(tmp_path, name, sep):
    values = _expr()
    frame = _frame(values)
    path = tmp_path / name
    frame.to_csv(path, sep=sep, index=False)
    ds = load_dataset(str(path))
    assert ds.X.shape == (40, 6) and ds.X.dtype == np.float32 and ds.modality == "expression"
    np.testing.assert_allclose(ds.X, values.astype(np.float32))
    assert ds.sample_ids[0] == "s000" and ds.feature_names.tolist() == [f"g{j}" for j in range(6)]
    assert ds.info["label_column"] == "label" and ds.info["class_counts"] == {"c0": 20, "c1": 20}
    assert len(ds.info["sha256"]) == 64 and ds.info["license"] == "user-supplied"
    assert ds.dataset_id == f"{name}-{ds.info['sha256'][:8]}" and ds.version == ds.info["sha256"][:8]
    assert ds.info["card"]["params"]["sha256"] == ds.info["sha256"]


def test_id_column_label_column_and_string_ids(tmp_path):
    frame = _frame(_expr()).rename(columns={"label": "tissue"})
    frame.insert(0, "batch_no", np.arange(40))
    frame["sample"] = [f"{i:04d}" for i in range(40)]  # leading zeros stay
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    ds = load_dataset(str(path), id_column="sample", label_column="tissue")
    assert ds.sample_ids[1] == "0001" and "batch_no" in ds.feature_names.tolist()
    assert ds.info["label_column"] == "tissue"


def test_orientation_features(tmp_path):
    values = _expr()
    frame = _frame(values).set_index("sample")
    transposed = frame.T  # rows = features + a 'label' row, columns = samples
    transposed.index.name = "gene"
    path = tmp_path / "t.tsv"
    transposed.to_csv(path, sep="\t")
    ds = load_dataset(str(path), orientation="features")
    assert ds.X.shape == (40, 6) and ds.sample_ids[0] == "s000" and ds.feature_names[0] == "g0"
    np.testing.assert_allclose(ds.X, values.astype(np.float32), rtol=1e-6)
    assert ds.info["class_counts"] == {"c0": 20, "c1": 20}
    # labels from a separate file instead of a label row
    transposed.drop(index="label").to_csv(path, sep="\t")
    labels = tmp_path / "labels.csv"
    labels.write_text("sample,label\n" + "".join(f"s{i:03d},{'u' if i < 10 else 'v'}\n" for i in range(40)))
    ds = load_dataset(str(path), orientation="features", labels_file=str(labels))
    assert ds.info["class_counts"] == {"v": 30, "u": 10}


def test_parquet(tmp_path):
    values = np.random.default_rng(1).poisson(5.0, size=(30, 5)).astype(np.int64)
    frame = _frame(values).set_index("sample")
    path = tmp_path / "x.parquet"
    frame.to_parquet(path)
    ds = load_dataset(str(path))
    assert ds.modality == "counts" and ds.X.dtype == np.float32 and ds.sample_ids[0] == "s000"
    np.testing.assert_array_equal(ds.X, values)
    frame.reset_index().to_parquet(path)
    ds = load_dataset(str(path), id_column="sample", log1p=True)
    assert ds.modality == "expression" and ds.sample_ids[2] == "s002"
    np.testing.assert_allclose(ds.X, np.log1p(values).astype(np.float32), rtol=1e-6)


def test_modality_inference(tmp_path):
    rng = np.random.default_rng(2)
    geno = rng.integers(0, 3, size=(30, 8))
    path = tmp_path / "g.csv"
    _frame(geno).to_csv(path, index=False)
    ds = load_dataset(str(path))
    assert ds.modality == "genotype" and ds.X.dtype == np.int8
    ds = load_dataset(str(path), modality="counts")
    assert ds.modality == "counts" and ds.X.dtype == np.float32
    assert infer_modality(np.array([[0.0, 3.0]])) == "counts"
    assert infer_modality(np.array([[0.5, 3.0]])) == "expression"
    assert infer_modality(np.array([[-1.0, 2.0]])) == "expression"
    assert infer_modality(np.array([[0, 1, 2]], dtype=np.int64)) == "genotype"
    _frame(rng.normal(size=(30, 3))).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"g\.csv: genotype values must be 0, 1 or 2; found .* sample 's000'"):
        load_dataset(str(path), modality="genotype")
    with pytest.raises(DataError, match=r"g\.csv: log1p needs non-negative values"):
        load_dataset(str(path), log1p=True)


def test_missing_values_rule(tmp_path):
    values = _expr(n=200, p=5)
    values[:, 4] = np.nan  # feature with 100 % missing → dropped
    values[7, 1] = np.nan  # 0.5 % missing → kept, sample dropped
    values[3, 2] = np.nan
    values[9, 2] = np.nan  # 1 % missing → kept, two samples dropped
    path = tmp_path / "m.csv"
    _frame(values).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"m\.csv: 203 missing \(NaN or empty\) values; first at row 's000', column 'g4'"):
        load_dataset(str(path))
    ds = load_dataset(str(path), drop_missing=True)
    assert ds.X.shape == (197, 4) and "g4" not in ds.feature_names.tolist()
    assert {"s003", "s007", "s009"}.isdisjoint(ds.sample_ids.tolist())
    assert ds.labels.shape == (197,) and not np.isnan(ds.X).any()
    notes = " ".join(ds.info["notes"])
    assert "dropped 1 features" in notes and "dropped 3 samples with missing values" in notes


def _adata(X, obs_labels, **kwargs):
    n, p = X.shape
    obs = pd.DataFrame({"cell_type": pd.Categorical(obs_labels)}, index=[f"cell{i}" for i in range(n)])
    var = pd.DataFrame(index=[f"gene{j}" for j in range(p)])
    return anndata.AnnData(X=X, obs=obs, var=var, **kwargs)


def test_h5ad_matrix_rule(tmp_path):
    rng = np.random.default_rng(3)
    counts = rng.poisson(3.0, size=(30, 6)).astype(np.float32)
    labels = ["a", "b", "c"] * 10
    path = tmp_path / "x.h5ad"

    # plain X (non-negative integers) → counts
    _adata(sp.csr_matrix(counts), labels).write_h5ad(path)
    ds = load_dataset(str(path), label_column="cell_type")
    assert ds.modality == "counts" and ds.sample_ids[0] == "cell0" and ds.feature_names[0] == "gene0"
    np.testing.assert_array_equal(ds.X, counts)

    # scaled X with negatives + raw → raw.X (log-normalised → expression)
    lognorm = np.log1p(counts)
    adata = _adata(lognorm.copy(), labels)
    adata.raw = adata
    adata.X = (lognorm - lognorm.mean(0)) / (lognorm.std(0) + 1e-6)
    adata.write_h5ad(path)
    ds = load_dataset(str(path), label_column="cell_type")
    assert ds.modality == "expression"
    np.testing.assert_allclose(ds.X, lognorm, rtol=1e-6)
    assert any(".raw.X" in note for note in ds.info["notes"])

    # layers['counts'] wins over X; an explicit layer wins over everything
    adata = _adata(lognorm.copy(), labels, layers={"counts": counts, "other": counts * 2})
    adata.write_h5ad(path)
    ds = load_dataset(str(path), label_column="cell_type")
    np.testing.assert_array_equal(ds.X, counts)
    ds = load_dataset(str(path), label_column="cell_type", layer="other")
    np.testing.assert_array_equal(ds.X, counts * 2)
    with pytest.raises(DataError, match=r"x\.h5ad: layer 'missing' not found; available layers: 'counts', 'other'"):
        load_dataset(str(path), label_column="cell_type", layer="missing")
    with pytest.raises(DataError, match=r"x\.h5ad: obs column 'tissue' not found; available obs columns: 'cell_type'"):
        load_dataset(str(path), label_column="tissue")
    with pytest.raises(DataError, match=r"obs column 'label' not found"):
        load_dataset(str(path))


# ------------------------------------------------------------------------------------------------
# bad inputs: one DataError naming the file and the column/row/line


def test_nonexistent_and_unknown_extension(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_dataset(str(tmp_path / "nope.csv"))
    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    with pytest.raises(DataError, match=r"data\.xlsx: unsupported file extension"):
        load_dataset(str(odd))


def test_infinite_value(tmp_path):
    values = _expr()
    values[5, 2] = np.inf
    path = tmp_path / "inf.csv"
    _frame(values).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"inf\.csv: infinite value inf at row 's005', column 'g2'"):
        load_dataset(str(path))
    _frame(values).set_index("sample").T.to_csv(path)
    with pytest.raises(DataError, match=r"inf\.csv: infinite value inf at row 'g2', column 's005'"):
        load_dataset(str(path), orientation="features")


def test_all_missing(tmp_path):
    values = _expr(n=20, p=3)
    values[::2, :] = np.nan
    path = tmp_path / "nan.csv"
    _frame(values).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"nan\.csv: missing values leave nothing: 3 of 3 features"):
        load_dataset(str(path), drop_missing=True)


def test_missing_label_column(tmp_path):
    frame = _frame(_expr()).rename(columns={"label": "kind"})
    path = tmp_path / "nolabel.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_dataset(str(path))
    message = str(err.value)
    assert "nolabel.csv" in message and "'label' not found" in message and "'kind'" in message and "'g0'" in message


def test_non_numeric_columns(tmp_path):
    frame = _frame(_expr())
    frame["batch"] = ["b1", "b2"] * 20
    frame["site"] = ["x"] * 40
    path = tmp_path / "text.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        load_dataset(str(path))
    message = str(err.value)
    assert "text.csv" in message and "'batch'" in message and "'site'" in message and "row 's000'" in message


def test_duplicated_ids(tmp_path):
    frame = _frame(_expr())
    frame.loc[3, "sample"] = "s001"
    path = tmp_path / "dup.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"dup\.csv: duplicated sample id\(s\) 's001'"):
        load_dataset(str(path))
    path.write_text("sample,g1,g1,label\ns1,1,2,a\ns2,3,4,b\n")
    with pytest.raises(DataError, match=r"dup\.csv: duplicated column name\(s\): 'g1'"):
        load_dataset(str(path))


def test_one_class(tmp_path):
    path = tmp_path / "one.csv"
    _frame(_expr(), n_classes=1).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"one\.csv: label column 'label' has only one class \('c0'\); at least 2"):
        load_dataset(str(path))


def test_malformed_and_empty_tables(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("sample,g1,label\ns1,1,a\ns2,2,b,extra\n")
    with pytest.raises(DataError, match=r"ragged\.csv: malformed table .*line 3"):
        load_dataset(str(path))
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.tsv: the file is empty"):
        load_dataset(str(empty))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"broken\.parquet: cannot read Parquet"):
        load_dataset(str(broken))
    bad_h5 = tmp_path / "broken.h5ad"
    bad_h5.write_bytes(b"not hdf5")
    with pytest.raises(DataError, match=r"broken\.h5ad: cannot read h5ad"):
        load_dataset(str(bad_h5))


def test_option_errors(tmp_path):
    path = tmp_path / "x.csv"
    _frame(_expr()).to_csv(path, index=False)
    with pytest.raises(ConfigError, match="orientation"):
        load_dataset(str(path), orientation="columns")
    with pytest.raises(ConfigError, match="modality"):
        load_dataset(str(path), modality="rna")
    with pytest.raises(ConfigError, match=r"x\.csv: the layer option applies to \.h5ad"):
        load_dataset(str(path), layer="counts")
    with pytest.raises(DataError, match=r"missing\.tsv: labels file not found"):
        load_dataset(str(path), labels_file=str(tmp_path / "missing.tsv"))
