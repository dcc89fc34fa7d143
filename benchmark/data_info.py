"""``python -m benchmark data info ID|FILE``: a dataset's card, licence, citation, raw files, cache status,
and (when the data are available) n, p and label counts; for a user file, read as ``run`` reads it, its
n, p, modality, label counts and reading notes. Never downloads anything."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.cards import get_card

if TYPE_CHECKING:
    from benchmark.run.config import LoadOptions


def describe_dataset(spec: str, options: LoadOptions | None = None) -> str:
    """The description of a card id or of a user file read with ``options`` (label column, ...)."""
    from benchmark.data import is_file_spec

    read = {} if options is None else asdict(options)
    return describe_file(spec, read) if is_file_spec(spec) else describe_card(spec, read)


def describe_file(path: str, read: dict[str, Any]) -> str:
    """n, p, modality, label column, label counts and the reading notes of a user file."""
    from benchmark.data import load_dataset

    dataset = load_dataset(path, **read)
    info = dataset.info
    min_class_size = int(info.get("min_class_size", 10))
    lines = [
        f"{path}: {info.get('description', 'user-supplied file')}",
        f"modality:    {dataset.modality}",
        f"label:       {info.get('label_derivation') or info.get('label_column')}",
        f"sha256:      {info.get('sha256')}",
        *label_count_lines(dataset.n, dataset.p, dataset.labels, min_class_size),
    ]
    notes = info.get("notes") or []
    if notes:
        lines.append("notes:")
        lines.extend(f"  - {note}" for note in notes)
    return "\n".join(lines)


def label_count_lines(n: int, p: int, labels: Any, min_class_size: int) -> list[str]:
    """``n = .., p = ..`` and one line per label, largest first, marking labels the split drops."""
    counts = Counter(labels.tolist())
    lines = [f"n = {n} samples, p = {p} features, {len(counts)} labels:"]
    for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        note = "  (below min_class_size: dropped by the split)" if count < min_class_size else ""
        lines.append(f"  {count:7d}  {label}{note}")
    return lines


def describe_card(dataset_id: str, read: dict[str, Any]) -> str:
    """Card fields, raw-file and cache status of each size, then n, p and label counts of the default
    size when the data are available (cached, or every raw file present)."""
    from benchmark.cache import load_entry
    from benchmark.data import card_cache_stem, load_dataset
    from benchmark.download import file_status, missing_files

    card = get_card(dataset_id)
    lines = [
        f"{card.id} (version {card.version}): {card.title}",
        f"modality:    {card.modality}",
        f"source:      {card.source_text}",
        *(f"             {url}" for url in card.source_urls),
        f"licence:     {card.license}",
        f"citation:    {' '.join(card.citation.split())}",
        f"label:       {card.label_column} ({card.label_derivation})",
    ]
    if card.label_alternatives:
        lines.append(f"other labels: {', '.join(card.label_alternatives)}")
    if card.params:
        lines.append("parameters:  " + ", ".join(f"{k} = {v!r}" for k, v in card.params.items()))
    lines.append(f"min class size: {card.min_class_size}")
    lines.append(f"card file:   {card.path}")
    for remote in card.files:
        lines.append(f"file [{remote.role}] {remote.name}: {file_status(remote)}")
    cached_default = False
    for size in card.size_names:
        stem = card_cache_stem(card, size)
        cached = load_entry(stem) is not None
        cached_default |= cached and size == "default"
        status = "cached" if cached else "not cached (built on first use)"
        lines.append(f"cache ({size}): {status}: {Path(stem)}")
    missing = missing_files(card)
    if missing and not cached_default:
        lines.append(f"data not available: {len(missing)} file(s) missing; "
                     f"`python -m benchmark data fetch {card.id}` downloads them or prints where to put them")
        return "\n".join(lines)
    dataset = load_dataset(dataset_id, **read)
    lines.extend(label_count_lines(dataset.n, dataset.p, dataset.labels, card.min_class_size))
    return "\n".join(lines)
