"""The command line: fast start, listings, and one clear line for each kind of bad input."""

import gzip
import subprocess
import sys

import anndata
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from benchmark.cli import main


@pytest.mark.parametrize("what", ["generators", "datasets", "metrics"])
def test_list_answers_without_importing_heavy_libraries(what):
    code = (
        "import sys; from benchmark.cli import main; main(['list', '" + what + "']);"
        "heavy = {'torch', 'scanpy', 'sklearn', 'umap', 'anndata', 'matplotlib'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert {"generators": "copy-train", "datasets": "pbmc68k", "metrics": "dcr_share"}[what] in out.stdout


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for command in ("run", "publish", "list", "data", "check-generator"):
        assert command in help_text


def test_check_generator_exit_codes(capsys):
    assert main(["check-generator", "gaussian"]) == 0
    assert "gaussian: PASSED" in capsys.readouterr().out
    assert main(["check-generator", "no-such-generator"]) == 2
    assert "unknown generator 'no-such-generator'" in capsys.readouterr().err


def run_cli(capsys, *args):
    code = main(["run", "--no-progress", "--seeds", "1", "--generators", "marginals", "--metrics", "dcr", *args])
    return code, capsys.readouterr().err


def expression_frame(n=60, p=5, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(5, 1, size=(n, p)), columns=[f"g{j}" for j in range(p)])
    frame.insert(0, "sample", [f"s{i:03d}" for i in range(n)])
    frame["tissue"] = np.array(["liver", "lung", "brain"])[np.arange(n) % 3]
    return frame


def test_csv_with_a_nan_names_file_row_and_column(tmp_path, capsys):
    frame = expression_frame()
    frame.loc[7, "g3"] = np.nan
    path = tmp_path / "expr.csv"
    frame.to_csv(path, index=False)
    code, err = run_cli(capsys, "--dataset", str(path), "--label-column", "tissue", "--results", str(tmp_path))
    assert code == 2
    assert "expr.csv: 1 missing (NaN or empty) values; first at row 's007', column 'g3'" in err
    assert "Traceback" not in err
    code, err = run_cli(capsys, "--dataset", str(path), "--label-column", "tissue", "--drop-missing",
                        "--results", str(tmp_path))
    assert code == 0


def test_h5ad_without_the_label_column(tmp_path, capsys):
    adata = anndata.AnnData(np.random.default_rng(0).poisson(3, size=(30, 4)).astype(np.float32))
    adata.obs["cell_type"] = ["a", "b", "c"] * 10
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    code, err = run_cli(capsys, "--dataset", str(path), "--label-column", "tissue", "--results", str(tmp_path))
    assert code == 2
    assert "cells.h5ad" in err and "'tissue'" in err and "cell_type" in err


def test_vcf_with_a_malformed_gt_field(tmp_path, capsys):
    lines = [
        "##fileformat=VCFv4.2",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB",
        "1\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0|1\t1|1",
        "1\t200\trs2\tC\tT\t.\tPASS\t.\tGT\t0|x\t0|0",
    ]
    path = tmp_path / "bad.vcf.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    labels = tmp_path / "labels.tsv"
    labels.write_text("sample\tpop\nA\tX\nB\tY\n")
    code, err = run_cli(capsys, "--dataset", str(path), "--labels", str(labels), "--results", str(tmp_path))
    assert code == 2
    assert "bad.vcf.gz" in err and "line 4" in err and "'0|x'" in err


def test_label_column_with_one_class(tmp_path, capsys):
    frame = expression_frame()
    frame["tissue"] = "liver"
    path = tmp_path / "one.csv"
    frame.to_csv(path, index=False)
    code, err = run_cli(capsys, "--dataset", str(path), "--label-column", "tissue", "--results", str(tmp_path))
    assert code == 2
    assert "one.csv" in err and "tissue" in err and "2" in err


def test_unknown_dataset_lists_the_known_ones(capsys, tmp_path):
    code, err = run_cli(capsys, "--dataset", "no-such-dataset", "--results", str(tmp_path))
    assert code == 2
    assert "pbmc68k" in err and "sim-ooa" in err


def test_data_info_prints_card_and_label_counts(capsys):
    assert main(["data", "info", "pbmc68k"]) == 0
    out = capsys.readouterr().out
    assert "licence:" in out and "n = 700 samples, p = 765 features, 10 labels" in out
    assert "240  Dendritic" in out and "dropped by the split" in out
