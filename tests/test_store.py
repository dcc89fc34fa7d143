import json

import numpy as np
import pytest

from benchmark.store import iter_records, read_record, record_path, safe_name, write_record


def test_record_round_trip_and_no_temporary_files_left(tmp_path):
    path = record_path(tmp_path, "pbmc68k", "gaussian", 2)
    write_record(path, {"status": "ok", "value": np.float32(0.5), "rows": np.arange(3)})
    assert path == tmp_path / "pbmc68k" / "gaussian" / "seed-2.json"
    assert read_record(path) == {"schema": 1, "status": "ok", "value": 0.5, "rows": [0, 1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["seed-2.json"]


def test_a_failed_write_keeps_the_previous_record(tmp_path):
    path = record_path(tmp_path, "d", "g", 0)
    write_record(path, {"status": "ok"})
    with pytest.raises(ValueError):
        write_record(path, {"status": "ok", "bad": float("nan")})  # NaN is not valid JSON
    assert read_record(path)["status"] == "ok"
    assert [p.name for p in path.parent.iterdir()] == ["seed-0.json"]


VALID = {"status": "ok", "config_hash": "c", "dataset": {"id": "d", "split_hash": "s"}, "metrics": {},
         "compute": {}, "generator": {"name": "g", "seed": 0, "budget": "default"}}


def test_torn_or_foreign_files_are_ignored(tmp_path):
    good = record_path(tmp_path, "d", "g", 0)
    write_record(good, VALID)
    torn = record_path(tmp_path, "d", "g", 1)
    torn.write_text('{"schema": 1, "status": "o')
    other = record_path(tmp_path, "d", "g", 2)
    other.write_text(json.dumps({"status": "ok"}))  # no schema: not a record of ours
    assert read_record(torn) is None and read_record(other) is None
    assert [r["status"] for r in iter_records(tmp_path, "d")] == ["ok"]


def test_protocol_and_budget_folders_are_kept_apart(tmp_path):
    assert record_path(tmp_path, "1kg-chr1", "g", 0, protocol="biased").parent.parent.name == "1kg-chr1@biased"
    assert safe_name("pbmc68k~smoke") == "pbmc68k~smoke"
    assert safe_name("../evil/name").startswith("evil_name-")  # sanitised names carry a hash of the original
