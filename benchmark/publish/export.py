"""Machine-readable leaderboards: ``<folder>.csv`` (one row per generator x seed x score) and
``<folder>.json`` (the page's ranking and summaries), for analysis in pandas. Deterministic: the same
records give byte-identical files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.leaderboard import mean_sd, public
from benchmark.publish.index import family_leaders
from benchmark.ranking import UNRANKED_FAMILIES
from benchmark.store import is_finite_number

if TYPE_CHECKING:
    from benchmark.leaderboard import Board, GeneratorRows
    from benchmark.publish.figures import Figure

CSV_COLUMNS = ("dataset", "protocol", "generator", "base_generator", "seed", "status", "family", "score",
               "direction", "target", "value", "reference", "ranked", "external")
COMPUTE_KEYS = ("fit_s", "sample_s", "eval_s", "peak_rss_mb", "n_params")


def write_csv(board: Board, path: Path) -> Path:
    """Every score of every record, with its real-holdout reference, direction and family (long format); a
    record that is not ok gives one row with its status and no score."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in sorted(board.generators.values(), key=lambda g: g.name):
        for record in g.records:
            writer.writerows(_csv_rows(board, g, record))
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _csv_rows(board: Board, g: GeneratorRows, record: Mapping[str, Any]) -> list[list[Any]]:
    seed = (record.get("generator") or {}).get("seed")
    status = record.get("status")
    external = "yes" if g.external is not None else ""
    head = [board.dataset_id, board.protocol, g.name, g.base, seed, status]
    if status != "ok":
        return [[*head, "", "", "", "", "", "", "", external]]
    rows = []
    for name, entry in sorted((record.get("metrics") or {}).items()):
        if not isinstance(entry, Mapping):
            continue
        spec = board.specs.get(name)
        ranked = "yes" if spec is not None and spec.rankable and spec.family not in UNRANKED_FAMILIES else ""
        rows.append([*head, entry.get("family", ""), name, entry.get("direction", ""), _number(entry.get("target")),
                     _number(entry.get("value")), _number(entry.get("reference")), ranked, external])
    return rows


def _number(value: Any) -> str:
    """A finite number as Python's shortest round-trip text; anything else as an empty cell."""
    return repr(float(value)) if is_finite_number(value) else ""


def write_json(board: Board, path: Path, figures: Sequence[Figure] = ()) -> Path:
    """The page's content as data: scores (direction, family, reference), each generator's rank, family ranks,
    privacy verdict, per-score mean/sd/n over ok seeds and compute summary, and the figures with their
    captions (paths relative to the JSON file)."""
    summary = {
        "dataset": board.dataset_id,
        "folder": board.folder,
        "protocol": board.protocol,
        "modality": board.card.get("modality"),
        "n": board.card.get("n"),
        "p": board.card.get("p"),
        "class_names": board.card.get("class_names"),
        "records": len(board.records),
        "records_ok": sum(1 for r in board.records if r.get("status") == "ok"),
        "ranked_families": [f for f in board.ranking.family_ranks if f not in UNRANKED_FAMILIES],
        "scores": {name: {"family": s.family, "direction": s.direction, "target": _finite(s.target),
                          "reference": _finite(s.reference), "ranked": s.rankable and s.family not in UNRANKED_FAMILIES}
                   for name, s in sorted(board.specs.items())},
        "leaders": {f: family_leaders(board, f) for f in board.ranking.family_ranks if f not in UNRANKED_FAMILIES},
        "generators": [_generator_summary(board, g) for g in board.display_order()],
        "figures": [{"kind": f.kind, "path": f.link, "alt": f.alt, "caption": f.caption} for f in figures],
    }
    path.write_text(json.dumps(summary, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return path


def _generator_summary(board: Board, g: GeneratorRows) -> dict[str, Any]:
    ranking = board.ranking
    verdict = board.verdicts.get(g.name)
    scores = {}
    for name in sorted(board.specs):
        values = g.values(name)
        if values:
            mean, sd = mean_sd(values)
            scores[name] = {"mean": mean, "sd": sd, "n": len(values)}
    return {
        "name": g.name,
        "base": g.base,
        "control": g.is_control,
        "external": g.external,
        "position": ranking.position.get(g.name),
        "overall_rank": _finite(ranking.overall.get(g.name)),
        "overall_rank_ci95": ([_finite(x) for x in board.intervals.overall[g.name]]
                              if g.name in board.intervals.overall else None),
        "family_rank_ci95": {f: [_finite(x) for x in by_g[g.name]] for f, by_g in board.intervals.family.items()
                             if g.name in by_g},
        "family_ranks": {f: _finite(r.get(g.name)) for f, r in ranking.family_ranks.items() if g.name in r},
        "privacy_verdict": verdict.label if verdict is not None else None,
        "seeds": sorted(int((r.get("generator") or {}).get("seed", -1)) for r in g.records),
        "seeds_ok": len(g.ok),
        "failures": {str((r.get("generator") or {}).get("seed")): {"status": r.get("status"), "error": _error(r)}
                     for r in g.records if r.get("status") != "ok"},
        "scores": scores,
        "compute": _compute_summary(g),
    }


def _error(record: Mapping[str, Any]) -> str | None:
    """A failed record's error as the page publishes it: absolute paths cut to file names."""
    error = record.get("error")
    return None if error is None else public(error)


def _compute_summary(g: GeneratorRows) -> dict[str, float]:
    """Mean of each compute figure over ok seeds (peak memory: the largest)."""
    out = {}
    for key in COMPUTE_KEYS:
        values = g.compute_values(key)
        if values:
            out[key] = max(values) if key == "peak_rss_mb" else sum(values) / len(values)
    return out


def _finite(value: Any) -> float | None:
    return float(value) if is_finite_number(value) else None
