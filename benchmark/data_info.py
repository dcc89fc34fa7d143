"""``python -m benchmark data info ID``: a dataset's card, licence, citation, raw files, cache status,
and (when the data are available) n, p and label counts. Never downloads anything."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmark.cards import get_card


def describe_dataset(dataset_id: str) -> str:
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
    dataset = load_dataset(dataset_id)
    counts = Counter(dataset.labels.tolist())
    lines.append(f"n = {dataset.n} samples, p = {dataset.p} features, {len(counts)} labels:")
    for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        note = "  (below min_class_size: dropped by the split)" if count < card.min_class_size else ""
        lines.append(f"  {count:7d}  {label}{note}")
    return "\n".join(lines)
