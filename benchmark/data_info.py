"""``python -m benchmark data info ID``: a dataset's card, cache status, shape and label counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmark.cards import get_card


def describe_dataset(dataset_id: str) -> str:
    """Card fields, cache status of each size, then n, p and label counts of the default size."""
    from benchmark.cache import load_entry
    from benchmark.data import card_cache_stem, load_dataset

    card = get_card(dataset_id)
    lines = [
        f"{card.id} (version {card.version}): {card.title}",
        f"modality:    {card.modality}",
        f"source:      {card.source_text}",
        *(f"             {url}" for url in card.source_urls),
        f"licence:     {card.license}",
        f"citation:    {' '.join(card.citation.split())}",
        f"label:       {card.label_column} ({card.label_derivation})",
        f"card file:   {card.path}",
    ]
    for size in card.size_names:
        stem = card_cache_stem(card, size)
        status = "cached" if load_entry(stem) is not None else "not cached (built on first use)"
        lines.append(f"cache ({size}): {status}: {Path(stem)}")
    dataset = load_dataset(dataset_id)
    counts = Counter(dataset.labels.tolist())
    lines.append(f"n = {dataset.n} samples, p = {dataset.p} features, {len(counts)} labels:")
    for label, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        note = "  (below min_class_size: dropped by the split)" if count < card.min_class_size else ""
        lines.append(f"  {count:7d}  {label}{note}")
    return "\n".join(lines)
