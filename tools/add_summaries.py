"""Give records made before figure summaries existed the ``summaries`` block of a reproducing re-run.

    python tools/add_summaries.py --rerun /tmp/rerun --into leaderboards/records

For every record under ``--rerun`` that has a ``summaries`` block, the record at the same relative
path under ``--into`` gains that block when both are ``ok`` and have the same ``config_hash`` (same
data split, generator settings, seed and code), the same value of every score (to 1e-9 relative: the
summation order of BLAS depends on its thread count) and the same projection: the re-run then drew
the same synthetic rows, so its summaries describe the committed
record's rows. Everything else in the committed record (its timings above all, measured on an idle
machine) is kept, and ``summaries_from`` names the re-run's start time. A record whose re-run
differs is left as it is and listed; the exit code is 1 when any differed.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from benchmark.store import BadRecord, load_record, write_json_atomic

SCORE_RTOL = 1e-9  # BLAS thread counts change summation order: same rows, scores equal to ~1e-15


def mismatch(committed: dict[str, Any], rerun: dict[str, Any]) -> str | None:
    """Why ``rerun`` does not reproduce ``committed``, or None when it does."""
    if committed.get("status") != "ok" or rerun.get("status") != "ok":
        return "not ok"
    if committed.get("config_hash") != rerun.get("config_hash"):
        return "config_hash differs"
    values = {name: score["value"] for name, score in committed["metrics"].items()}
    again = {name: score["value"] for name, score in rerun["metrics"].items()}
    differing = sorted(name for name in values.keys() | again.keys()
                       if name not in values or name not in again
                       or not math.isclose(values[name], again[name], rel_tol=SCORE_RTOL, abs_tol=1e-12))
    if differing:
        return f"scores differ: {', '.join(differing[:5])}"
    if committed.get("projection") != rerun.get("projection"):
        return "projection differs"
    return None


def add_summaries(rerun_dir: Path, into_dir: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(records that gained summaries, (record, reason) of those left as they were)."""
    added: list[Path] = []
    refused: list[tuple[Path, str]] = []
    for source in sorted(rerun_dir.glob("*/*/seed-*.json")):
        target = into_dir / source.relative_to(rerun_dir)
        try:
            rerun, committed = load_record(source), load_record(target)
        except BadRecord as exc:
            refused.append((target, f"not a usable record: {exc}"))
            continue
        if rerun is None or committed is None or "summaries" not in rerun:
            continue
        reason = mismatch(committed, rerun)
        if reason is not None:
            refused.append((target, reason))
            continue
        started = (rerun.get("provenance") or {}).get("started_at")
        write_json_atomic(target, {**committed, "summaries": rerun["summaries"],
                                   "summaries_from": f"re-run started {started}, same config_hash, scores "
                                                     "and projection"})
        added.append(target)
    return added, refused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rerun", type=Path, required=True, help="results folder of the re-run")
    parser.add_argument("--into", type=Path, required=True, help="results folder whose records gain summaries")
    args = parser.parse_args(argv)
    added, refused = add_summaries(args.rerun, args.into)
    for path in added:
        print(f"added: {path}")
    for path, reason in refused:
        print(f"left as it was: {path}: {reason}", file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
