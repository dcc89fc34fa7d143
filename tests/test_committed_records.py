"""The committed leaderboards rest on records produced by this checkout's generator and metric code."""

from conftest import ROOT

from benchmark.code_hash import stale_records


def test_committed_records_match_the_current_code():
    stale = stale_records(ROOT / "leaderboards" / "records")
    listing = "\n".join(f"  {path.relative_to(ROOT)}: {reason}" for path, reason in stale)
    assert not stale, (f"{len(stale)} committed record(s) were produced by other code; re-run and re-publish "
                       f"the committed leaderboards (see README):\n{listing}")
