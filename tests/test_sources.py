"""The tcga, gtex and 1kg-hla cards end to end: fixture files with the exact layout of the real ones
(gzip, header lines, ID formats), served on 127.0.0.1, downloaded, verified, parsed, checked cell by cell.

Each test writes a copy of the real card (same loader, params, labels, min class size) whose
``[files.*]`` point at the local server with the fixtures' sizes and hashes: the real cards carry
the real files' hashes, which fixtures cannot match.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import socket
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_download import FileServer

from benchmark.data import load_dataset, load_haplotypes
from benchmark.dataset import OmicsDataset
from benchmark.download import DownloadError
from benchmark.sources import landmark_genes
from benchmark.splits import make_split

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
LANDMARKS = [sym for _, sym in landmark_genes()]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("OMICS_BENCHMARK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMICS_BENCHMARK_CARDS", str(tmp_path / "cards"))
    (tmp_path / "cards").mkdir()
    for name in ("OMICS_BENCHMARK_MIRROR", "OMICS_BENCHMARK_OFFLINE", "http_proxy", "HTTP_PROXY",
                 "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    real = socket.create_connection

    def local_only(address, *args, **kwargs):  # the tests must never leave 127.0.0.1
        if address[0] not in ("127.0.0.1", "localhost"):
            raise OSError(f"test tried to reach {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", local_only)


@pytest.fixture
def server():
    with FileServer() as srv:
        yield srv


def fixture_card(real_id: str, new_id: str, files: dict[str, tuple[str, bytes]], server: FileServer,
                 folder: Path, *, with_hash: bool = True) -> None:
    """The real card with a new id and ``[files.<role>]`` = (name, bytes) served by ``server``."""
    text = (ROOT / "datasets" / f"{real_id}.toml").read_text()
    text = re.sub(r'(?m)^id = ".*"$', f'id = "{new_id}"', text)
    text = re.sub(r"(?ms)^\[files\.[^\]]+\]\n.*?(?=^\[(?!files\.)|\Z)", "", text)
    for role, (name, data) in files.items():
        server.files[f"/{role}/{name}"] = data
        text += f'\n[files.{role}]\nname = "{name}"\nurls = ["{server.url}/{role}/{name}"]\nsize = {len(data)}\n'
        if with_hash:
            text += f'sha256 = "{hashlib.sha256(data).hexdigest()}"\n'
    (folder / f"{new_id}.toml").write_text(text)


def gz(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


# ---------------------------------------------------------------------------------------------
# TCGA


def make_tcga(seed: int = 0):
    rng = np.random.default_rng(seed)
    samples, types = [], {}
    tss = {"BRCA": "A2", "LUAD": "05", "KIRC": "B0", "LAML": "AB"}
    names = {"BRCA": "breast invasive carcinoma", "LUAD": "lung adenocarcinoma",
             "KIRC": "kidney clear cell carcinoma", "LAML": "acute myeloid leukemia"}
    for cancer, site in tss.items():
        for k in range(28):
            patient = f"TCGA-{site}-{1000 + k:04d}"
            primary = "03" if cancer == "LAML" else "01"
            samples.append(f"{patient}-{primary}")
            types[f"{patient}-{primary}"] = cancer
            if cancer != "LAML" and k < 6:
                samples.append(f"{patient}-11")
                types[f"{patient}-11"] = cancer
            if k in (7, 8):
                samples.append(f"{patient}-06")
                types[f"{patient}-06"] = cancer
        samples.append(f"TCGA-{site}-9999-20")  # control: excluded
    genes = LANDMARKS[:14] + ["ADA", "CDH2", "AKT3", "MED6", LANDMARKS[2]]  # LANDMARKS[2] twice
    values = {}
    lines = ["sample\t" + "\t".join(samples)]
    for g_idx, gene in enumerate(genes):
        row = np.round(rng.gamma(2.0 + g_idx % 5, 1.5, size=len(samples)), 4)
        cells = [f"{v:.4f}".rstrip("0").rstrip(".") if v else "0" for v in row]
        if g_idx == 0:  # landmark gene with NaN in many samples: dropped
            for j in range(0, len(samples), 3):
                cells[j] = "NaN"
            cells[1] = "NA"
        if g_idx == 1:  # one NaN (< 1 %) in a primary tumour: that sample is dropped
            cells[samples.index("TCGA-05-1003-01")] = "NaN"
        key = gene if g_idx < len(genes) - 1 else gene + "#dup"
        values[key] = cells
        lines.append(gene + "\t" + "\t".join(cells))
    matrix = gz("\n".join(lines) + "\n")
    surv_cols = ["sample", "_PATIENT", "cancer type abbreviation", "OS", "OS.time", "DSS", "DSS.time", "DFI",
                 "DFI.time", "PFI", "PFI.time"]
    surv = ["\t".join(surv_cols)]
    pheno = ["sample\tsample_type_id\tsample_type\t_primary_disease"]
    no_survival = {"TCGA-A2-1010-01", "TCGA-B0-1011-01"}  # labelled through the phenotype table
    unlabelled = "TCGA-A2-1012-01"  # in neither table: dropped
    for s in samples:
        if s == unlabelled:
            continue
        code = s[13:15]
        pheno.append(f"{s}\t{int(code)}\t{'Primary Tumor' if code == '01' else 'other'}\t{names[types.get(s, 'BRCA')]}")
        if s not in no_survival and s in types:
            surv.append(f"{s}\t{s[:12]}\t{types[s]}\t0\t{rng.integers(10, 4000)}\t0\t\t\t\t1\t200")
    return samples, genes, values, types, matrix, gz("\n".join(pheno) + "\n"), ("\n".join(surv) + "\n").encode(), \
        no_survival, unlabelled


@pytest.fixture
def tcga_card(server, tmp_path):
    fx = make_tcga()
    samples, genes, values, types, matrix, pheno, surv, no_survival, unlabelled = fx
    fixture_card("tcga", "tcga-fx", {
        "matrix": ("EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz", matrix),
        "phenotype": ("TCGA_phenotype_denseDataOnlyDownload.tsv.gz", pheno),
        "survival": ("Survival_SupplementalTable_S1_20171025_xena_sp", surv),
    }, server, tmp_path / "cards")
    return fx


def test_tcga_cancer_type_cell_by_cell(tcga_card, server):
    samples, genes, values, types, *_, no_survival, unlabelled = tcga_card
    ds = load_dataset("tcga-fx")
    # samples: primary tumours (01; 03 for LAML) with a cancer type, minus the one with a NaN
    expected = [s for s in samples if s[13:15] in ("01", "03") and s != unlabelled and s != "TCGA-05-1003-01"]
    assert ds.sample_ids.tolist() == expected
    assert ds.labels.tolist() == [types[s] for s in expected]
    assert ds.info["class_counts"] == {"BRCA": 27, "KIRC": 28, "LAML": 28, "LUAD": 27}
    assert ds.groups.tolist() == [s[:12] for s in expected] and ds.info["group_key"] == "patient"
    # genes: the landmark genes of the file in the shipped list's order, minus the NaN-heavy one
    kept = [g for g in LANDMARKS if g in genes[1:14]]
    assert ds.feature_names.tolist() == kept and ds.X.dtype == np.float32
    for j, gene in enumerate(kept):
        for i, sample in enumerate(ds.sample_ids):
            assert ds.X[i, j] == np.float32(values[gene][samples.index(sample)]), (gene, sample)
    notes = " ".join(ds.info["notes"])
    assert "14 of 978 matched" in notes and "dropped 1 genes with NaN" in notes
    assert "dropped 1 samples with NaN" in notes and "duplicated gene rows ignored" in notes
    assert "cancer type of 2 samples from the phenotype _primary_disease" in notes
    assert ds.info["landmark_matched"] == 14 and len(ds.info["landmark_unmatched"]) == 964
    assert ds.info["cache"]["status"] == "built"
    again = load_dataset("tcga-fx")
    assert again.info["cache"]["status"] == "hit" and np.array_equal(again.X, ds.X)
    assert np.array_equal(again.groups, ds.groups)


def test_tcga_sample_type(tcga_card):
    samples, genes, values, *_ = tcga_card
    ds = load_dataset("tcga-fx", label_column="sample_type")
    expected = [s for s in samples if s[13:15] in ("01", "11") and s != "TCGA-05-1003-01"]
    assert ds.sample_ids.tolist() == expected
    assert ds.labels.tolist() == ["tumor" if s[13:15] == "01" else "normal" for s in expected]
    assert ds.info["class_counts"] == {"tumor": 83, "normal": 18}
    assert ds.groups.tolist() == [s[:12] for s in expected]


def test_tcga_patients_stay_in_one_part(tcga_card):
    ds = load_dataset("tcga-fx", label_column="sample_type")
    split = make_split(ds, min_class_size=10)
    for part in ("train", "holdout", "test"):
        others = {p for q in ("train", "holdout", "test") if q != part for p in (s[:12] for s in split.ids[q])}
        assert not others & {s[:12] for s in split.ids[part]}


def split_samples_of(ds, min_class_size: int) -> list[str]:
    """Independent recomputation of the samples the split divides: every sample of a class with at
    least ``min_class_size`` samples."""
    counts = Counter(ds.labels.tolist())
    return [s for s, label in zip(ds.sample_ids, ds.labels, strict=True) if counts[label] >= min_class_size]


def top_variance(values: dict[str, list[str]], genes: list[str], samples: list[str], among: list[str],
                 over: list[str], k: int) -> list[str]:
    """The k genes with no NaN ``among`` the dataset's samples and the largest variance ``over`` a subset
    (the duplicated row comes second in the file and is ignored)."""
    rows = {g: np.array([c.replace("NA", "nan") for c in values[g]], dtype=np.float32) for g in genes[:-1]}
    cols, var_cols = [samples.index(s) for s in among], [samples.index(s) for s in over]
    variances = {g: float(np.var(v[var_cols].astype(np.float64))) for g, v in rows.items() if not np.isnan(v[cols]).any()}
    return sorted(sorted(variances, key=lambda g: -variances[g])[:k])


def set_min_class_size(card: Path, value: int) -> None:
    card.write_text(re.sub(r"(?m)^min_class_size = \d+$", f"min_class_size = {value}", card.read_text()))


def test_tcga_top_variance_over_every_split_sample(tcga_card):
    samples, genes, values, types, *_ = tcga_card
    ds = load_dataset("tcga-fx", params={"genes": "top-variance:5"})
    assert ds.p == 5 and ds.info["selected_genes"] == ds.feature_names.tolist()
    assert "selection_split" not in ds.info
    # every class has >= 10 samples, so the variance is taken over all 110 samples, not over train
    ids = ds.sample_ids.tolist()
    assert split_samples_of(ds, 10) == ids
    expected = top_variance(values, genes, samples, ids, ids, 5)
    assert sorted(ds.feature_names.tolist()) == expected
    assert "largest variance over the 110 samples of the classes with >= 10 samples" in " ".join(ds.info["notes"])
    train = sorted(make_split(ds, min_class_size=10).ids["train"])
    assert top_variance(values, genes, samples, ids, train, 5) != expected  # the fixture tells the rules apart
    j = ds.feature_names.tolist().index(expected[0])
    assert np.array_equal(ds.X[:, j], np.array([np.float32(values[expected[0]][samples.index(s)]) for s in ids]))


def test_tcga_top_variance_ignores_classes_the_split_drops(tcga_card, tmp_path):
    samples, genes, values, types, *_ = tcga_card
    set_min_class_size(tmp_path / "cards" / "tcga-fx.toml", 28)  # BRCA and LUAD (27 each) are dropped
    ds = load_dataset("tcga-fx", params={"genes": "top-variance:3"})
    ids = ds.sample_ids.tolist()
    kept = split_samples_of(ds, 28)
    assert {types[s] for s in kept} == {"KIRC", "LAML"} and len(kept) == 56 and ds.n == 110
    expected = top_variance(values, genes, samples, ids, kept, 3)
    assert sorted(ds.feature_names.tolist()) == expected
    assert top_variance(values, genes, samples, ids, ids, 3) != expected
    assert "over the 56 samples of the classes with >= 28 samples" in " ".join(ds.info["notes"])


def test_tcga_offline_error_names_files(tcga_card, monkeypatch):
    monkeypatch.setenv("OMICS_BENCHMARK_OFFLINE", "1")
    with pytest.raises(DownloadError) as err:
        load_dataset("tcga-fx")
    message = str(err.value)
    assert "3 file(s) missing" in message and "EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz" in message
    assert "save it as" in message


def test_real_cards_parse():
    from benchmark.cards import get_card

    tcga = get_card("tcga")
    assert [f.role for f in tcga.files] == ["matrix", "phenotype", "survival"]
    assert tcga.files[0].size == 331_000_731 and tcga.files[0].sha256.startswith("90f86d36")
    assert get_card("gtex").files[0].md5 == "ff6aade0ef5b55e38af9fef98bad760b"
    assert get_card("1kg-chr1").files[0].sha256.startswith("c1d66e6d")
    assert get_card("gtex").min_class_size == 100


# ---------------------------------------------------------------------------------------------
# GTEx


def make_gtex(seed: int = 1):
    rng = np.random.default_rng(seed)
    tissues = [("Blood", "Whole Blood", 120), ("Lung", "Lung", 110), ("Heart", "Heart - Left Ventricle", 30)]
    samples, attrs = [], []
    donor = 0
    for smts, smtsd, count in tissues:
        for k in range(count):
            d = f"GTEX-{1117 + (donor + k) % 140:X}F"
            sid = f"{d}-{k % 9}{k:03d}-SM-{5000 + len(samples):X}"
            samples.append(sid)
            attrs.append((sid, smts, smtsd, "RNASEQ"))
        donor += 37
    excluded = "GTEX-ZZZZ-0011-R10a-SM-AAAA"  # in the GCT, not in the freeze
    samples.append(excluded)
    attrs.append((excluded, "Brain", "Brain - Cortex", "EXCLUDE"))
    genes = [(f"ENSG{100000 + k:011d}.{k % 7 + 1}", sym) for k, sym in enumerate(LANDMARKS[20:32])]
    genes += [("ENSG00000196839.12", "ADA"), ("ENSG00000170558.8", "CDH2")]
    dup_symbol = LANDMARKS[25]
    genes.append(("ENSG00000999999.1", dup_symbol))  # second Ensembl row of a landmark symbol
    values = {}
    lines = ["#1.2", f"{len(genes)}\t{len(samples)}", "Name\tDescription\t" + "\t".join(samples)]
    for k, (ens, sym) in enumerate(genes):
        scale = 50.0 if ens == "ENSG00000999999.1" else 5.0 + k
        row = np.round(rng.exponential(scale, size=len(samples)), 3)
        cells = ["0" if v == 0 else f"{v:g}" for v in row]
        values[ens] = cells
        lines.append(f"{ens}\t{sym}\t" + "\t".join(cells))
    gct = gz("\n".join(lines) + "\n")
    cols = ["SAMPID", "SMATSSCR", "SMCENTER", "SMPTHNTS", "SMRIN", "SMTS", "SMTSD", "SMUBRID", "SMTSISCH",
            "SMAFRZE", "SMGEBTCH"]
    table = ["\t".join(cols)]
    table += [f"{sid}\t1\tB1\tnotes\t7.2\t{smts}\t{smtsd}\t0001\t100\t{frz}\tLCSET-1" for sid, smts, smtsd, frz in attrs]
    table.append("GTEX-ABCD-0001-SM-ONLY\t0\tB1\t\t\tLiver\tLiver\t\t\tRNASEQ\t")  # not in the GCT
    return samples, genes, values, attrs, dup_symbol, gct, ("\n".join(table) + "\n").encode()


def test_gtex_cell_by_cell(server, tmp_path):
    samples, genes, values, attrs, dup_symbol, gct, table = make_gtex()
    fixture_card("gtex", "gtex-fx", {
        "tpm": ("GTEx_Analysis_2017-06-05_v8_RNASeQCv1.1.9_gene_tpm.gct.gz", gct),
        "attributes": ("GTEx_Analysis_v8_Annotations_SampleAttributesDS.txt", table),
    }, server, tmp_path / "cards")
    ds = load_dataset("gtex-fx")
    kept = [a for a in attrs if a[3] == "RNASEQ"]
    assert ds.sample_ids.tolist() == [a[0] for a in kept]
    assert ds.labels.tolist() == [a[1] for a in kept]
    assert ds.groups.tolist() == ["-".join(s.split("-")[:2]) for s in ds.sample_ids]
    assert ds.info["min_class_size"] == 100 and ds.info["group_key"] == "donor"
    symbols = [sym for _, sym in genes if sym in LANDMARKS]
    assert ds.feature_names.tolist() == [g for g in LANDMARKS if g in symbols]
    # the duplicated symbol keeps the Ensembl row with the higher mean over the samples of the tissues
    # with >= 100 samples (Blood, Lung; Heart has 30): here the scale-50 row
    kept = [samples.index(s) for s in split_samples_of(ds, 100)]
    assert len(kept) == 230
    means = {ens: np.log2(np.array(values[ens], dtype=np.float64)[kept] + 1).mean() for ens, sym in genes
             if sym == dup_symbol}
    assert ds.info["ensembl_ids"][dup_symbol] == max(means, key=means.get) == "ENSG00000999999.1"
    ens_of = {sym: ens for ens, sym in genes if sym != dup_symbol}
    ens_of[dup_symbol] = "ENSG00000999999.1"
    for j, sym in enumerate(ds.feature_names):
        cells = values[ens_of[sym]]
        for i, sid in enumerate(ds.sample_ids):
            expected = np.log2(np.float32(cells[samples.index(sid)]) + np.float32(1))
            assert ds.X[i, j] == expected, (sym, sid)
    notes = " ".join(ds.info["notes"])
    assert "dropped 1 samples with SMAFRZE != RNASEQ" in notes and "12 of 978 matched" in notes
    tissue = load_dataset("gtex-fx", label_column="SMTSD")
    assert set(tissue.labels) == {"Whole Blood", "Lung", "Heart - Left Ventricle"}


def with_rows(gct: bytes, symbol: str, rows: dict[str, np.ndarray]) -> bytes:
    """The gzipped GCT with the rows of the Ensembl ids in ``rows`` replaced by these TPM values."""
    lines = gzip.decompress(gct).decode().splitlines()
    for i, line in enumerate(lines):
        ens = line.split("\t")[0]
        if ens in rows:
            lines[i] = "\t".join([ens, symbol, *(f"{v:g}" for v in rows[ens])])
    return gz("\n".join(lines) + "\n")


def test_gtex_duplicate_symbol_uses_every_split_sample(server, tmp_path):
    """Two Ensembl rows of one symbol: A has TPM 4 everywhere; B has TPM 9 on the train samples,
    2**20 on the Heart samples (a tissue the split drops: 30 < 100) and 0 elsewhere. Mean log2(TPM + 1)
    over the split's samples favours A; over train, or over all samples, it favours B."""
    samples, genes, values, attrs, dup_symbol, gct, table = make_gtex()
    files = {"attributes": ("GTEx_Analysis_v8_Annotations_SampleAttributesDS.txt", table)}
    name = "GTEx_Analysis_2017-06-05_v8_RNASeQCv1.1.9_gene_tpm.gct.gz"
    fixture_card("gtex", "gtex-fx", {"tpm": (name, gct), **files}, server, tmp_path / "cards")
    ds = load_dataset("gtex-fx")
    train = set(make_split(ds, min_class_size=100).ids["train"])
    heart = {a[0] for a in attrs if a[1] == "Heart"}
    row_a, row_b = [ens for ens, sym in genes if sym == dup_symbol]
    crafted = {row_a: np.full(len(samples), 4.0),
               row_b: np.array([9.0 if s in train else 2.0 ** 20 if s in heart else 0.0 for s in samples])}
    fixture_card("gtex", "gtex-crafted", {"tpm": (name, with_rows(gct, dup_symbol, crafted)), **files}, server,
                 tmp_path / "cards")
    crafted_ds = load_dataset("gtex-crafted")

    def best(over: list[str]) -> str:
        cols = [samples.index(s) for s in over]
        means = {ens: np.log2(v[cols] + 1).mean() for ens, v in crafted.items()}
        return max(means, key=means.get)

    assert crafted_ds.info["ensembl_ids"][dup_symbol] == best(split_samples_of(ds, 100)) == row_a
    assert best(sorted(train)) == best(ds.sample_ids.tolist()) == row_b  # the other rules pick B
    assert "highest mean over the 230 samples of the classes with >= 100 samples" in " ".join(crafted_ds.info["notes"])


def test_gtex_bad_gct_header(server, tmp_path):
    samples, genes, values, attrs, dup_symbol, gct, table = make_gtex()
    broken = gzip.decompress(gct).decode().replace("#1.2\n", "#1.3\n", 1)
    fixture_card("gtex", "gtex-bad", {
        "tpm": ("GTEx_Analysis_2017-06-05_v8_RNASeQCv1.1.9_gene_tpm.gct.gz", gz(broken)),
        "attributes": ("GTEx_Analysis_v8_Annotations_SampleAttributesDS.txt", table),
    }, server, tmp_path / "cards")
    with pytest.raises(Exception, match="line 1 must be '#1.2'"):
        load_dataset("gtex-bad")


# ---------------------------------------------------------------------------------------------
# 1000 Genomes HLA (zipped VCF) and chr1


META = """##fileformat=VCFv4.1
##FILTER=<ID=PASS,Description="All filters passed">
##fileDate=20150218
##reference=ftp://ftp.1000genomes.ebi.ac.uk//vol1/ftp/technical/reference/phase2_reference_assembly_sequence/hs37d5.fa.gz
##source=1000GenomesPhase3Pipeline
##contig=<ID=6,assembly=b37,length=171115067>
##INFO=<ID=AF,Number=A,Type=Float,Description="Estimated allele frequency in the range (0,1)">
##INFO=<ID=AC,Number=A,Type=Integer,Description="Total number of alternate alleles in called genotypes">
##INFO=<ID=VT,Number=.,Type=String,Description="indicates what type of variant the line represents">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##vcftools_version=0.1.14
"""


def make_hla(sample_ids: list[str], seed: int = 2, crafted: dict[int, np.ndarray] | None = None):
    """A zipped HLA VCF of 40 records; ``crafted`` replaces the haplotypes (samples x 2) of records by index."""
    rng = np.random.default_rng(seed)
    header = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(sample_ids)
    lines, truth = [META.rstrip("\n"), header], []
    pos = 33_500_639
    for k in range(40):
        pos += int(rng.integers(50, 900))
        freq = 0.002 if k % 9 == 4 else rng.uniform(0.05, 0.6)  # every 9th SNP is rare (MAF < 0.01)
        haps = (rng.random((len(sample_ids), 2)) < freq).astype(int)
        haps = (crafted or {}).get(k, haps)
        if k == 17:  # a multi-allelic record: dropped
            lines.append(f"6\t{pos}\trs{9000 + k}\tA\tC,T\t100\tPASS\tAC=1,1;VT=SNP\tGT\t"
                         + "\t".join("0|0" for _ in sample_ids))
            continue
        calls = [f"{a}|{b}" for a, b in haps]
        ref, alt = "ACGT"[k % 4], "ACGT"[(k + 1) % 4]
        lines.append(f"6\t{pos}\trs{9000 + k}\t{ref}\t{alt}\t100\tPASS\tAC={haps.sum()};VT=SNP\tGT\t" + "\t".join(calls))
        truth.append((pos, haps))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("HLA.recode.vcf", "\n".join(lines) + "\n")
    return buf.getvalue(), truth


def test_1kg_hla_zip_cell_by_cell(server, tmp_path):
    if not (SHARED / "integrated_call_samples.20130502.ALL.ped").exists():
        pytest.skip(f"{SHARED} is absent: the real 1000 Genomes .ped (hash-checked on the card) is needed")
    ped = (SHARED / "integrated_call_samples.20130502.ALL.ped").read_bytes()
    rows = [line.split("\t") for line in ped.decode().splitlines()[1:]]
    pops = {r[1]: r[6] for r in rows}
    sample_ids = [r[1] for r in rows if r[6] in ("YRI", "CEU", "CHB", "GIH", "MXL")][:300] + ["NA99999"]
    sup = {"YRI": "AFR", "CEU": "EUR", "CHB": "EAS", "GIH": "SAS", "MXL": "AMR"}
    # two SNPs the train split would misjudge: 8 ALT alleles on non-train samples (MAF 8/600 over all
    # samples: kept; 0 on train) and 4 on train samples (MAF 4/600: dropped; about 4/360 on train)
    probe = OmicsDataset("1kg-hla-fx", "1", np.zeros((300, 0), dtype=np.float32),
                         np.array([sup[pops[s]] for s in sample_ids[:-1]]), np.array(sample_ids[:-1]),
                         np.array([], dtype=str), "expression")
    train = set(make_split(probe, min_class_size=10).ids["train"])
    holdout_rare = np.array([[int(s not in train), 0] for s in sample_ids])
    holdout_rare[np.cumsum(holdout_rare[:, 0]) > 8] = 0
    train_rare = np.array([[int(s in train), 0] for s in sample_ids])
    train_rare[np.cumsum(train_rare[:, 0]) > 4] = 0
    data, truth = make_hla(sample_ids, crafted={31: holdout_rare, 32: train_rare})
    text = (ROOT / "datasets" / "1kg-hla.toml").read_text()
    (tmp_path / "cards" / "1kg-hla-fx.toml").write_text(
        re.sub(r'(?m)^id = ".*"$', 'id = "1kg-hla-fx"', text)
        .replace("https://github.com/shilab/PG-cGAN/raw/master/data/HLA.recode.vcf.zip", f"{server.url}/HLA.recode.vcf.zip")
    )
    server.files["/HLA.recode.vcf.zip"] = data
    server.files["/integrated_call_samples.20130502.ALL.ped"] = ped
    import os

    os.environ["OMICS_BENCHMARK_MIRROR"] = server.url  # the .ped keeps its real hash: served as a mirror
    try:
        ds = load_dataset("1kg-hla-fx")
        haps = load_haplotypes("1kg-hla-fx")
    finally:
        del os.environ["OMICS_BENCHMARK_MIRROR"]
    assert ds.modality == "genotype" and ds.X.dtype == np.int8
    assert ds.sample_ids.tolist() == sample_ids[:-1]  # NA99999 has no label
    assert ds.labels.tolist() == [sup[pops[s]] for s in sample_ids[:-1]]
    assert set(make_split(ds, min_class_size=10).ids["train"]) == train
    kept_truth = {pos: h for pos, h in truth}
    # independent recomputation: MAF over every sample of the classes with >= 10 samples (here all 300)
    split_rows = [sample_ids.index(s) for s in split_samples_of(ds, 10)]
    train_rows = [sample_ids.index(s) for s in sorted(train)]
    assert len(split_rows) == 300

    def maf(h: np.ndarray, rows: list[int]) -> float:
        freq = h[rows].mean()
        return min(freq, 1 - freq)

    assert ds.positions.tolist() == [pos for pos, h in truth if maf(h, split_rows) >= 0.01]
    (pos_holdout,) = [pos for pos, h in truth if h is holdout_rare]
    (pos_train,) = [pos for pos, h in truth if h is train_rare]
    assert maf(holdout_rare, train_rows) < 0.01 <= maf(train_rare, train_rows)  # the train rule would flip both
    assert pos_holdout in ds.positions and pos_train not in ds.positions
    assert haps.shape == (ds.n, 2, ds.p)
    for j, pos in enumerate(ds.positions):
        h = kept_truth[int(pos)][:-1]
        assert np.array_equal(haps[:, :, j], h) and np.array_equal(ds.X[:, j], h.sum(axis=1)), pos
    assert ds.feature_names[0] == f"6:{ds.positions[0]}"
    notes = " ".join(ds.info["notes"])
    assert "1 multi-allelic" in notes and "dropped 1 samples without a label" in notes
    passing = sum(maf(h, split_rows) >= 0.01 for _, h in truth)
    assert (f"{passing} of {len(truth)} SNPs have MAF >= 0.01 over the 300 samples of the classes with >= 10 "
            f"samples; kept the first {passing} by position (max_snps = 1024)") in notes


def test_1kg_chr1_offline_from_dropped_files(shared_data, tmp_path, monkeypatch):
    from benchmark.download import downloads_dir

    folder = downloads_dir()
    folder.mkdir(parents=True)
    for name in ("1kg_chr1_example.vcf.gz", "integrated_call_samples.20130502.ALL.ped"):
        (folder / name).write_bytes((shared_data / name).read_bytes())
    monkeypatch.setenv("OMICS_BENCHMARK_CARDS", "")
    monkeypatch.setenv("OMICS_BENCHMARK_OFFLINE", "1")
    ds = load_dataset("1kg-chr1", size="smoke")
    assert ds.n == 2504 and ds.p == 256 and ds.info["class_counts"]["AFR"] == 661
    full = load_dataset("1kg-chr1", label_column="population")
    assert len(full.info["class_counts"]) == 26 and min(full.info["class_counts"].values()) >= 10
    # independent recomputation: every population has >= 10 samples, so the MAF is taken over all
    # 2,504 samples (741 SNPs pass; a train-split filter kept 752)
    from benchmark.cards import get_card
    from benchmark.readers.vcf import read_vcf

    parsed = read_vcf(shared_data / "1kg_chr1_example.vcf.gz")
    rows = [list(parsed.sample_ids).index(s) for s in full.sample_ids]
    freq = parsed.X[rows].mean(axis=0, dtype=np.float64) / 2
    order = np.argsort(parsed.positions, kind="stable")
    passing = [int(parsed.positions[j]) for j in order if min(freq[j], 1 - freq[j]) >= 0.01]
    assert len(passing) == full.p == 741 == get_card("1kg-chr1").shape["default"]["p"]
    assert full.positions.tolist() == passing and ds.positions.tolist() == passing[:256]
    assert "741 of 4294 SNPs have MAF >= 0.01 over the 2504 samples" in " ".join(full.info["notes"])
