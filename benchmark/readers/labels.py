"""Label files for data files without a label column (VCF, or any format via ``labels_file``).

Accepted: a two-column table ``sample,label`` (CSV, TSV or whitespace; header row optional), a
table with a header naming its columns, or a 1000 Genomes ``.ped`` (tab-separated, columns
``Individual ID`` and ``Population``). ``label_column="superpopulation"`` (also ``super_pop``,
``superpop``, ``super_population``) maps 1000 Genomes population codes to AFR/AMR/EAS/EUR/SAS
unless the file already has such a column.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

from benchmark.errors import DataError
from benchmark.readers import preview

SUPERPOPULATIONS: dict[str, tuple[str, ...]] = {
    "AFR": ("YRI", "LWK", "GWD", "MSL", "ESN", "ASW", "ACB"),
    "AMR": ("MXL", "PUR", "CLM", "PEL"),
    "EAS": ("CHB", "JPT", "CHS", "CDX", "KHV", "CHD"),
    "EUR": ("CEU", "TSI", "FIN", "GBR", "IBS"),
    "SAS": ("GIH", "PJL", "BEB", "STU", "ITU"),
}
POPULATION_TO_SUPER = {pop: sup for sup, pops in SUPERPOPULATIONS.items() for pop in pops}
SUPER_ALIASES = ("superpopulation", "super_population", "superpop", "super_pop", "super-population")
_ID_NAMES = ("individual id", "sample", "sample_id", "sampleid", "sample id", "id", "iid", "individual")
_LABEL_NAMES = ("label", "population", "pop", "class", "group")
_POP_NAMES = ("population", "pop")


def _lines(path: Path) -> list[str]:
    try:
        with open(path, "rb") as handle:
            gz = handle.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        with opener(path, "rt", encoding="utf-8") as handle:
            return [line.rstrip("\r\n") for line in handle]
    except FileNotFoundError:
        raise DataError(f"{path}: labels file not found") from None
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataError(f"{path.name}: cannot read labels file ({exc})") from None


def _split(line: str, sep: str | None) -> list[str]:
    return [f.strip() for f in (line.split(sep) if sep else line.split())]


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def read_labels_file(
    path: str | Path,
    *,
    label_column: str | None = None,
    id_column: str | None = None,
    samples: Iterable[str] | None = None,
) -> tuple[dict[str, str], str, list[str]]:
    """``(sample → label, label name, notes)``. Empty labels are left out of the mapping.

    With ``samples``, rows for other samples are skipped (and counted in the notes), so a
    population code without a superpopulation only matters for samples in the data.
    """
    wanted_samples = None if samples is None else set(samples)
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: labels file not found")
    raw = [(k + 1, line) for k, line in enumerate(_lines(path)) if line.strip() and not line.startswith("##")]
    if not raw:
        raise DataError(f"{path.name}: labels file is empty")
    first = raw[0][1].lstrip("#")
    sep = "\t" if "\t" in first else ("," if "," in first else None)
    head = _split(first, sep)
    lowered = [h.lower() for h in head]
    wanted = {n.lower() for n in (label_column, id_column) if n}
    has_header = (
        path.suffix.lower() == ".ped"
        or raw[0][1].startswith("#")
        or bool(wanted & set(lowered))
        or any(name in lowered for name in _ID_NAMES + _LABEL_NAMES + SUPER_ALIASES)
    )
    super_map = label_column is not None and label_column.lower() in SUPER_ALIASES
    notes: list[str] = []

    if has_header:
        rows = raw[1:]
        if id_column is not None:
            if id_column not in head:
                raise DataError(f"{path.name}: id column {id_column!r} not found; columns: {preview(head)}")
            id_idx = head.index(id_column)
        else:
            id_idx = _find(head, _ID_NAMES)
            id_idx = 0 if id_idx is None else id_idx
        if label_column is not None and label_column in head:
            label_idx, name, super_map = head.index(label_column), label_column, False
        elif super_map and _find(head, SUPER_ALIASES) is not None:
            label_idx, super_map = _find(head, SUPER_ALIASES), False
            name = head[label_idx]
        elif super_map:
            label_idx = _find(head, _POP_NAMES)
            if label_idx is None:
                raise DataError(
                    f"{path.name}: cannot derive {label_column!r}: no 'Population' column; columns: {preview(head)}"
                )
            name = label_column
        elif label_column is not None:
            raise DataError(f"{path.name}: label column {label_column!r} not found; columns: {preview(head)}")
        else:
            label_idx = _find(head, _LABEL_NAMES)
            if label_idx is None:
                others = [k for k in range(len(head)) if k != id_idx]
                if not others:
                    raise DataError(f"{path.name}: needs two columns (sample, label); found {preview(head)}")
                label_idx = others[0]
            name = head[label_idx]
    else:
        rows = raw
        if len(head) < 2:
            raise DataError(f"{path.name}: line {raw[0][0]}: needs two columns (sample, label)")
        if label_column is not None and not super_map:
            raise DataError(
                f"{path.name}: has no header row, so there is no column named {label_column!r}; "
                "without a header the columns are read as sample, label"
            )
        id_idx, label_idx, name = 0, 1, (label_column if super_map else "label")

    mapping: dict[str, str] = {}
    unknown: set[str] = set()
    skipped = 0
    width = max(id_idx, label_idx) + 1
    for lineno, line in rows:
        fields = _split(line, sep)
        if len(fields) < width:
            raise DataError(f"{path.name}: line {lineno} has {len(fields)} column(s), expected at least {width}")
        sample, label = fields[id_idx], fields[label_idx]
        if wanted_samples is not None and sample not in wanted_samples:
            skipped += 1
            continue
        if not sample or not label or label in (".", "NA", "nan"):
            continue
        if super_map:
            if label not in POPULATION_TO_SUPER:
                unknown.add(label)
                continue
            label = POPULATION_TO_SUPER[label]
        if sample in mapping and mapping[sample] != label:
            raise DataError(
                f"{path.name}: line {lineno}: sample {sample!r} has two labels ({mapping[sample]!r}, {label!r})"
            )
        mapping[sample] = label
    if unknown:
        raise DataError(
            f"{path.name}: population code(s) {preview(sorted(unknown))} have no 1000 Genomes superpopulation; "
            f"known codes: {preview(sorted(POPULATION_TO_SUPER), 30)}"
        )
    if skipped:
        notes.append(f"labels: {skipped} rows of {path.name} name samples not in the data (ignored)")
    if super_map:
        notes.append(f"labels: 1000 Genomes population codes in {path.name} mapped to superpopulations")
    if not mapping:
        if wanted_samples:
            raise DataError(
                f"{path.name}: no sample of the data file has a label here (data ids e.g. "
                f"{preview(sorted(wanted_samples)[:3])}; {len(rows)} rows read)"
            )
        raise DataError(f"{path.name}: no labels found")
    return mapping, name, notes
