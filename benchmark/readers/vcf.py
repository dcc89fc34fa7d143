"""VCF / VCF.gz genotypes (plain, gzip or BGZF) as per-sample ALT-allele dosages.

Samples come from the ``#CHROM`` header line. Only biallelic SNPs are kept (single-base REF and
ALT from A/C/G/T, one ALT); other records are counted and dropped without parsing their
genotypes. The GT field is located through FORMAT; phased ``a|b`` and unphased ``a/b`` diploid
calls are read, dosage = number of ALT alleles. A call with a missing allele (``.``) is missing:
a SNP with more than 1 % missing calls is dropped, otherwise its missing calls are imputed with
the SNP's most frequent dosage (counts go to the notes).

``read_vcf(path, haplotypes=True)`` also returns the two alleles of every call (samples x 2 x SNPs,
int8, in GT order: phased files give the haplotypes). A zip archive holding one ``.vcf`` (or
``.vcf.gz``) member is read directly (the PG-cGAN ``HLA.recode.vcf.zip``).
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np

from benchmark.errors import DataError
from benchmark.readers import Parsed, note_change, preview

MAX_MISSING = 0.01
_BASES = frozenset("ACGT")


def _gt_table() -> dict[str, int]:
    table = {".": -1}
    value = {"0": 0, "1": 1, ".": None}
    for a, va in value.items():
        for b, vb in value.items():
            dosage = -1 if va is None or vb is None else va + vb
            table[f"{a}|{b}"] = dosage
            table[f"{a}/{b}"] = dosage
    return table


_GT = _gt_table()


def _zip_member(archive: zipfile.ZipFile, path: Path) -> str:
    names = [n for n in archive.namelist() if n.lower().endswith((".vcf", ".vcf.gz")) and "__MACOSX" not in n]
    if len(names) != 1:
        raise DataError(f"{path.name}: expected one .vcf member in the zip archive, found {names or 'none'}")
    return names[0]


def _open(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"PK":
        archive = zipfile.ZipFile(path)
        member = _zip_member(archive, path)
        raw = archive.open(member)
        if member.lower().endswith(".gz"):
            raw = gzip.GzipFile(fileobj=raw)
        return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
    if magic == b"\x1f\x8b":  # gzip; BGZF is a series of gzip members, which gzip reads in turn
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _alleles(calls: list[str], n: int) -> np.ndarray | None:
    """``n x 2`` int8 alleles of diploid calls (-1 missing); None when a call is malformed."""
    joined = "".join(calls)
    if len(joined) == 3 * n:  # fast path: every call is 'a|b' or 'a/b'
        codes = np.frombuffer(joined.encode("ascii", "replace"), dtype=np.uint8).reshape(n, 3)[:, [0, 2]]
        out = codes.astype(np.int16) - ord("0")
        out[codes == ord(".")] = -1
        if ((out >= -1) & (out <= 1)).all():
            return out.astype(np.int8)
    return None


def read_vcf(path: Path, *, haplotypes: bool = False) -> Parsed:
    name = path.name
    haps: list[np.ndarray] = []
    samples: list[str] | None = None
    rows: list[np.ndarray] = []
    chroms: list[str] = []
    positions: list[int] = []
    alleles: list[str] = []
    dropped = {"multi-allelic": 0, "indel, structural or other non-SNP": 0, "no ALT": 0}
    lineno = 0
    try:
        with _open(path) as handle:
            for lineno, line in enumerate(handle, 1):  # noqa: B007 - lineno used after the loop
                if line.startswith("##"):
                    continue
                line = line.rstrip("\r\n")
                if not line:
                    continue
                if line.startswith("#"):
                    header = line[1:].split("\t")
                    if header[:1] != ["CHROM"] or len(header) < 8:
                        raise DataError(f"{name}: line {lineno}: malformed header line (expected #CHROM POS ID ...)")
                    samples = header[9:] if len(header) > 9 else []
                    if len(header) > 8 and header[8] != "FORMAT":
                        raise DataError(f"{name}: line {lineno}: 9th header column must be FORMAT, got {header[8]!r}")
                    if not samples:
                        raise DataError(f"{name}: line {lineno}: the header names no samples")
                    seen: set[str] = set()
                    dup = [s for s in samples if s in seen or seen.add(s)]
                    if dup:
                        raise DataError(f"{name}: line {lineno}: duplicated sample id(s) {preview(dup)}")
                    n = len(samples)
                    continue
                if samples is None:
                    raise DataError(
                        f"{name}: line {lineno}: data line before the '#CHROM' header line (no VCF header)"
                    )
                fields = line.split("\t")
                if len(fields) != 9 + n:
                    raise DataError(f"{name}: line {lineno} has {len(fields)} columns, expected {9 + n}")
                ref, alt = fields[3].upper(), fields[4].upper()
                if "," in alt:
                    dropped["multi-allelic"] += 1
                    continue
                if alt in (".", "*", ""):
                    dropped["no ALT"] += 1
                    continue
                if len(ref) != 1 or len(alt) != 1 or ref not in _BASES or alt not in _BASES or ref == alt:
                    dropped["indel, structural or other non-SNP"] += 1
                    continue
                fmt = fields[8].split(":")
                if "GT" not in fmt:
                    raise DataError(f"{name}: line {lineno}: FORMAT {fields[8]!r} has no GT field")
                k = fmt.index("GT")
                calls = fields[9:]
                if k == 0 and len(fmt) > 1:
                    calls = [c.partition(":")[0] for c in calls]
                elif k > 0:
                    calls = [(c.split(":") + ["."] * (k + 1))[k] for c in calls]
                try:
                    row = np.fromiter(map(_GT.__getitem__, calls), dtype=np.int8, count=n)
                except KeyError:
                    j = next(j for j, c in enumerate(calls) if c not in _GT)
                    raise DataError(
                        f"{name}: line {lineno}: malformed GT {calls[j]!r} for sample {samples[j]!r} "
                        "(expected a diploid call such as 0|1 or 0/1 with alleles 0, 1 or '.')"
                    ) from None
                if haplotypes:
                    pair = _alleles(calls, n)
                    if pair is None:  # haploid or odd calls: fall back to the dosage (phase unknown)
                        pair = np.stack([(row >= 1) * 1 - (row < 0), (row == 2) * 1 - (row < 0)], axis=1)
                    haps.append(pair.astype(np.int8))
                rows.append(row)
                chroms.append(fields[0])
                positions.append(int(fields[1]) if fields[1].isdigit() else -1)
                if positions[-1] < 0:
                    raise DataError(f"{name}: line {lineno}: POS {fields[1]!r} is not a positive integer")
                alleles.append(f"{ref}:{alt}")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{name}: cannot read VCF near line {lineno} ({exc})") from None

    if samples is None:
        raise DataError(f"{name}: no VCF header ('#CHROM ...' line) found")
    notes = [f"read {name} (VCF): {len(samples)} samples, {len(rows)} biallelic SNPs"]
    drops = ", ".join(f"{v} {k}" for k, v in dropped.items() if v)
    if drops:
        note_change(notes, name, f"dropped records: {drops}")
    if not rows:
        raise DataError(f"{name}: no biallelic SNP records" + (f" (dropped {drops})" if drops else ""))

    G = np.stack(rows)  # SNPs x samples
    missing = G < 0
    n_missing = missing.sum(axis=1)
    keep = n_missing <= MAX_MISSING * G.shape[1]
    if (~keep).any():
        note_change(notes, name, f"dropped {int((~keep).sum())} SNPs with more than {MAX_MISSING:.0%} missing calls")
    G, missing = G[keep], missing[keep]
    H = np.stack([haps[i] for i in np.flatnonzero(keep)]) if haplotypes else None  # SNPs x samples x 2
    if G.shape[0] == 0:
        raise DataError(f"{name}: every SNP has more than {MAX_MISSING:.0%} missing calls")
    imputed = np.flatnonzero(missing.any(axis=1))
    for i in imputed:
        row = G[i]
        counts = np.bincount(row[row >= 0], minlength=3)
        fill = int(np.argmax(counts))
        if H is not None:
            gaps = row < 0
            H[i, gaps, 0], H[i, gaps, 1] = int(fill >= 1), int(fill == 2)
        row[row < 0] = fill
    if imputed.size:
        note_change(
            notes, name,
            f"imputed {int(missing.sum())} missing calls in {imputed.size} SNPs with the SNP's most frequent dosage"
        )

    keep_idx = np.flatnonzero(keep)
    chrom = [chroms[i] for i in keep_idx]
    pos = np.array([positions[i] for i in keep_idx], dtype=np.int64)
    features = [f"{c}:{p}" for c, p in zip(chrom, pos, strict=True)]
    counts: dict[str, int] = {}
    for f in features:
        counts[f] = counts.get(f, 0) + 1
    features = [
        f if counts[f] == 1 else f"{f}:{alleles[i]}" for f, i in zip(features, keep_idx, strict=True)
    ]
    return Parsed(
        X=np.ascontiguousarray(G.T),
        sample_ids=np.array(samples),
        feature_names=np.array(features),
        positions=pos,
        modality="genotype",
        notes=notes,
        haplotypes=None if H is None else np.ascontiguousarray(H.transpose(1, 2, 0)),
    )
