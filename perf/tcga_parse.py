"""Wall time and peak memory of the TCGA matrix parser on a synthetic file of the real shape.

    python perf/tcga_parse.py [--dir DIR] [--genes landmark|top-variance:1000] [--samples 11060] [--rows 20531]

Writes once (and reuses) ``DIR/EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz``: gzipped TSV,
genes x samples like the Xena file (header ``sample`` + 15-character barcodes, first column gene
symbol incl. the 978 landmark genes, 4-decimal log2 values, a few NaN cells), plus matching
phenotype and survival tables. Then runs :func:`benchmark.sources.xena.build_tcga` in a child
process and prints its wall time and peak RSS (``ru_maxrss`` of the child).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MATRIX = "EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz"
TYPES = ["BRCA", "LUAD", "LUSC", "KIRC", "PRAD", "THCA", "COAD", "SKCM", "LAML", "OV", "GBM"]


def barcodes(n: int, rng: np.random.Generator) -> list[str]:
    out = []
    for k in range(n):
        code = "11" if k % 12 == 5 else ("06" if k % 50 == 7 else "01")
        out.append(f"TCGA-{k % 97:02X}-{k:04X}-{code}")
    return out


def write_fixture(folder: Path, n_samples: int, n_rows: int, seed: int = 0) -> dict[str, Path]:
    from benchmark.sources import landmark_genes

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    samples = barcodes(n_samples, rng)
    paths = {"matrix": folder / MATRIX, "phenotype": folder / "TCGA_phenotype_denseDataOnlyDownload.tsv.gz",
             "survival": folder / "Survival_SupplementalTable_S1_20171025_xena_sp"}
    types = [TYPES[k % len(TYPES)] for k in range(n_samples)]
    with gzip.open(paths["phenotype"], "wt", compresslevel=1) as handle:
        handle.write("sample\tsample_type_id\tsample_type\t_primary_disease\n")
        for s, t in zip(samples, types, strict=True):
            handle.write(f"{s}\t{int(s[13:15])}\tx\t{t.lower()} disease\n")
    with open(paths["survival"], "w") as handle:
        handle.write("sample\t_PATIENT\tcancer type abbreviation\tOS\tOS.time\n")
        for s, t in zip(samples, types, strict=True):
            handle.write(f"{s}\t{s[:12]}\t{t}\t0\t100\n")
    if paths["matrix"].exists() and paths["matrix"].with_suffix(".done").exists():
        return paths
    landmarks = [sym for _, sym in landmark_genes()]
    genes = landmarks + [f"GENE{k}" for k in range(n_rows - len(landmarks))]
    order = rng.permutation(len(genes))
    table = np.array([f"{v:.4f}" for v in np.linspace(0, 16, 10_000)] + ["NaN"], dtype=object)
    started = time.perf_counter()
    with gzip.open(paths["matrix"], "wb", compresslevel=1) as handle:
        handle.write(("sample\t" + "\t".join(samples) + "\n").encode())
        for k, g in enumerate(order):
            idx = rng.integers(0, 10_000, size=n_samples)
            if k % 997 == 0:
                idx[rng.integers(0, n_samples, size=3)] = 10_000  # a few NaN cells
            handle.write((genes[g] + "\t" + "\t".join(table[idx]) + "\n").encode())
    paths["matrix"].with_suffix(".done").write_text("ok\n")
    print(f"wrote {paths['matrix']} ({paths['matrix'].stat().st_size / 1e6:.0f} MB) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return paths


CHILD = """
import json, sys, time
from pathlib import Path
from benchmark.sources.xena import build_tcga
paths = {k: Path(v) for k, v in json.loads(sys.argv[1]).items()}
t = time.perf_counter()
out = build_tcga(paths, {"genes": sys.argv[2]}, label="cancer_type", min_class_size=10)
print(json.dumps({"seconds": time.perf_counter() - t, "shape": list(out["X"].shape)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "omics-benchmark-perf")
    parser.add_argument("--genes", default="landmark")
    parser.add_argument("--samples", type=int, default=11_060)
    parser.add_argument("--rows", type=int, default=20_531)
    args = parser.parse_args()
    paths = write_fixture(args.dir, args.samples, args.rows)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps({k: str(v) for k, v in paths.items()}), args.genes],
                          capture_output=True, text=True, env=dict(os.environ))
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(f"matrix {paths['matrix'].stat().st_size / 1e6:.0f} MB gz, {args.samples} samples x {args.rows} genes, "
          f"genes={args.genes}")
    print(f"parse: {result['seconds']:.1f} s in build_tcga, {wall:.1f} s wall for the child process "
          f"(incl. imports); output {result['shape'][0]} x {result['shape'][1]}; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
