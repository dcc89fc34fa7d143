"""VCF reader: the shipped 1000 Genomes fixture and hand-written files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from benchmark.data import load_dataset
from benchmark.errors import DataError

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
VCF_1KG = SHARED / "1kg_chr1_example.vcf.gz"
PED_1KG = SHARED / "integrated_call_samples.20130502.ALL.ped"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("OMICS_BENCHMARK_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def kg():
    if not (VCF_1KG.exists() and PED_1KG.exists()):
        pytest.skip(f"shared fixtures not found at {SHARED} (only present in the development checkout)")
    return load_dataset(str(VCF_1KG), labels_file=str(PED_1KG), label_column="superpopulation")


def test_1kg_shape_and_superpopulations(kg):
    # 4,296 records: 4,294 biallelic SNPs plus two structural variants (<CN0>, <INS:ME:SVA>)
    assert kg.X.shape == (2504, 4294) and kg.X.dtype == np.int8
    assert kg.modality == "genotype"
    assert kg.info["class_counts"] == {"AFR": 661, "EAS": 504, "EUR": 503, "SAS": 489, "AMR": 347}
    assert kg.info["label_column"] == "superpopulation"
    assert len(kg.info["sha256"]) == 64 and kg.info["labels_file_sha256"]
    assert any("2 indel, structural" in note for note in kg.info["notes"])
    assert kg.positions[0] == 11697036 and kg.feature_names[0] == "1:11697036"
    assert set(np.unique(kg.X).tolist()) == {0, 1, 2}


def test_1kg_population_labels():
    if not (VCF_1KG.exists() and PED_1KG.exists()):
        pytest.skip(f"shared fixtures not found at {SHARED}")
    ds = load_dataset(str(VCF_1KG), labels_file=str(PED_1KG))
    assert ds.info["label_column"] == "Population" and len(ds.info["class_counts"]) == 26


def test_1kg_dosages_match_text(kg):
    """Parse a few records directly and compare cell by cell."""
    with gzip.open(VCF_1KG, "rt") as handle:
        header = None
        records = []
        for line in handle:
            if line.startswith("##"):
                continue
            fields = line.rstrip("\n").split("\t")
            if header is None:
                header = fields
                continue
            if len(fields[3]) == 1 and len(fields[4]) == 1:
                records.append(fields)
            if len(records) >= 400:
                break
    col = {s: k for k, s in enumerate(kg.feature_names)}
    row = {s: k for k, s in enumerate(kg.sample_ids)}
    rng = np.random.default_rng(0)
    for rec in [records[0], records[57], records[399]]:
        j = col[f"{rec[0]}:{rec[1]}"]
        for k in rng.choice(len(header) - 9, size=200, replace=False):
            sample, gt = header[9 + k], rec[9 + k]
            expected = int(gt[0]) + int(gt[2])
            assert kg.X[row[sample], j] == expected, (sample, rec[1], gt)
    # one full column, every sample
    rec = records[57]
    j = col[f"{rec[0]}:{rec[1]}"]
    expected = np.array([int(g[0]) + int(g[2]) for g in rec[9:]])
    order = [row[s] for s in header[9:]]
    assert np.array_equal(kg.X[order, j], expected)


SAMPLES = [f"S{k}" for k in range(1, 201)]


def _write_vcf(path: Path, records: list[tuple[str, str, str, list[str], str]], gz: bool = False) -> Path:
    lines = ["##fileformat=VCFv4.2", "##source=test", "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL",
                                                                   "FILTER", "INFO", "FORMAT", *SAMPLES])]
    for pos, ref, alt, calls, fmt in records:
        lines.append("\t".join(["2", pos, ".", ref, alt, ".", "PASS", ".", fmt, *calls]))
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def _labels(path: Path) -> Path:
    path.write_text("".join(f"S{k}\t{'A' if k % 2 else 'B'}\n" for k in range(1, 201)))
    return path


def _records():
    phased = ["0|1", "1|1", "1|0", "0|0"] * 50
    unphased = ["0/1", "1/1", "0/0", "1/0"] * 50
    multi = ["0|2"] * 200
    one_missing = ["./."] + ["1/1"] * 120 + ["0/1"] * 79  # 0.5 % missing → imputed with 2
    two_missing = [".|.", "./1"] + ["0|0"] * 100 + ["0|1"] * 98  # exactly 1 % → kept, imputed with 0
    three_missing = [".", "./.", ".|."] + ["0/1"] * 197  # 1.5 % → dropped
    extra_fields = [f"{g}:35" for g in phased]
    return [
        ("100", "A", "G", phased, "GT"),
        ("200", "C", "T", unphased, "GT"),
        ("300", "A", "C,G", multi, "GT"),  # multi-allelic: dropped
        ("400", "AT", "A", phased, "GT"),  # indel: dropped
        ("500", "G", "A", one_missing, "GT"),
        ("600", "T", "C", two_missing, "GT"),
        ("700", "T", "G", three_missing, "GT"),
        ("800", "C", "G", extra_fields, "GT:DP"),
        ("900", "C", "A", [f"35:{g}" for g in unphased], "DP:GT"),
    ]


@pytest.mark.parametrize("gz", [False, True])
def test_small_vcf(tmp_path, gz):
    vcf = _write_vcf(tmp_path / ("small.vcf.gz" if gz else "small.vcf"), _records(), gz=gz)
    ds = load_dataset(str(vcf), labels_file=str(_labels(tmp_path / "labels.tsv")))
    assert ds.X.dtype == np.int8 and ds.modality == "genotype"
    assert ds.feature_names.tolist() == ["2:100", "2:200", "2:500", "2:600", "2:800", "2:900"]
    assert ds.positions.tolist() == [100, 200, 500, 600, 800, 900]
    assert ds.X[:4, 0].tolist() == [1, 2, 1, 0]
    assert ds.X[:4, 1].tolist() == [1, 2, 0, 1]
    assert ds.X[0, 2] == 2 and ds.X[1:121, 2].tolist() == [2] * 120
    assert ds.X[:2, 3].tolist() == [0, 0]
    assert ds.X[:4, 4].tolist() == [1, 2, 1, 0] and ds.X[:4, 5].tolist() == [1, 2, 0, 1]
    notes = " ".join(ds.info["notes"])
    assert "1 multi-allelic" in notes and "1 indel" in notes
    assert "dropped 1 SNPs with more than 1% missing" in notes
    assert "imputed 3 missing calls in 2 SNPs" in notes
    assert ds.info["class_counts"] == {"A": 100, "B": 100}


def test_vcf_labels_csv_with_header_and_unlabelled(tmp_path):
    vcf = _write_vcf(tmp_path / "small.vcf", _records())
    labels = tmp_path / "labels.csv"
    labels.write_text("sample,group\n" + "".join(f"S{k},{'x' if k < 50 else 'y'}\n" for k in range(1, 181)))
    ds = load_dataset(str(vcf), labels_file=str(labels), label_column="group")
    assert ds.n == 180 and ds.info["label_column"] == "group"
    assert any("dropped 20 samples without a label" in note for note in ds.info["notes"])


def test_vcf_superpopulation_from_two_columns(tmp_path):
    vcf = _write_vcf(tmp_path / "small.vcf", _records())
    pops = ["YRI", "CEU", "CHB", "PEL"]
    labels = tmp_path / "pops.txt.tsv"
    labels.write_text("".join(f"S{k}\t{pops[k % 4]}\n" for k in range(1, 201)))
    ds = load_dataset(str(vcf), labels_file=str(labels), label_column="superpopulation")
    assert ds.info["class_counts"] == {"AFR": 50, "AMR": 50, "EAS": 50, "EUR": 50}
    labels.write_text("".join(f"S{k}\t{'XYZ' if k == 7 else 'YRI' if k % 2 else 'CEU'}\n" for k in range(1, 201)))
    with pytest.raises(DataError, match="XYZ"):
        load_dataset(str(vcf), labels_file=str(labels), label_column="superpopulation")


@pytest.mark.parametrize("bad", ["0|x", "0,1", "0|2", "1", "0||1"])
def test_malformed_gt(tmp_path, bad):
    calls = ["0|1"] * 200
    calls[41] = bad
    vcf = _write_vcf(tmp_path / "bad.vcf", [("100", "A", "G", ["0|0"] * 200, "GT"), ("150", "A", "G", calls, "GT")])
    with pytest.raises(DataError) as err:
        load_dataset(str(vcf), labels_file=str(_labels(tmp_path / "labels.tsv")))
    message = str(err.value)
    assert "bad.vcf" in message and "line 5" in message and "'S42'" in message and repr(bad) in message


def test_vcf_without_header(tmp_path):
    vcf = tmp_path / "nohead.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n2\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\n")
    with pytest.raises(DataError, match=r"nohead\.vcf: line 2: .*header"):
        load_dataset(str(vcf), labels_file=str(_labels(tmp_path / "labels.tsv")))
    empty = tmp_path / "empty.vcf"
    empty.write_text("##fileformat=VCFv4.2\n")
    with pytest.raises(DataError, match=r"empty\.vcf: no VCF header"):
        load_dataset(str(empty), labels_file=str(_labels(tmp_path / "labels.tsv")))


def test_vcf_duplicate_samples(tmp_path):
    vcf = tmp_path / "dup.vcf"
    vcf.write_text("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS1\n")
    with pytest.raises(DataError, match=r"dup\.vcf: line 1: duplicated sample id\(s\) 'S1'"):
        load_dataset(str(vcf), labels_file=str(_labels(tmp_path / "labels.tsv")))


def test_vcf_needs_labels_and_columns(tmp_path):
    vcf = _write_vcf(tmp_path / "small.vcf", _records())
    with pytest.raises(DataError, match="small.vcf: a VCF has no labels"):
        load_dataset(str(vcf))
    short = tmp_path / "short.vcf"
    short.write_text(
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n2\t10\t.\tA\tG\t.\t.\t.\tGT\t0|1\n"
    )
    with pytest.raises(DataError, match=r"short\.vcf: line 2 has 10 columns, expected 11"):
        load_dataset(str(short), labels_file=str(_labels(tmp_path / "labels.tsv")))


def test_vcf_one_class(tmp_path):
    vcf = _write_vcf(tmp_path / "small.vcf", _records())
    labels = tmp_path / "one.tsv"
    labels.write_text("".join(f"S{k}\tA\n" for k in range(1, 201)))
    with pytest.raises(DataError, match="only one class"):
        load_dataset(str(vcf), labels_file=str(labels))
