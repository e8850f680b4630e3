"""examples/numpy_ddp end to end: a real data-parallel training against the real collector.

The ranks write what they log to JSONL files; the merged history, the step reductions and
the summary the collector stores must agree with those files exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from collector import Collector, expected_history, first_difference, reduction, same, summary
from support import REPO

LAUNCH = REPO / "examples" / "numpy_ddp" / "launch.py"
RANKS, EPOCHS = 3, 2
HEADLINES = {"samples_per_s": "sum"}
"""The reductions train.py defines; every other key is reduced by its mean."""


def test_the_numpy_ddp_example_trains_and_its_history_is_merged_exactly(
    collector: Collector, tmp_path: Path
) -> None:
    run = f"numpy-ddp-{uuid.uuid4().hex[:8]}"
    records = tmp_path / "records"
    done = subprocess.run(
        [sys.executable, str(LAUNCH), "--nproc", str(RANKS), "--epochs", str(EPOCHS), "--run-id", run,
         "--endpoint", collector.endpoint, "--record-dir", str(records)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    collector.stop()

    logged: dict[int, list[tuple[int, dict[str, Any]]]] = {
        rank: [(line["step"], line["data"]) for line in map(json.loads, (records / f"rank-{rank}.jsonl").open())]
        for rank in range(RANKS)
    }
    expected = expected_history(logged)
    history = collector.history(run)
    assert first_difference(history, expected) is None, first_difference(history, expected)

    keys = sorted({key for _, _, data in expected for key in data})
    steps = collector.export(run, "steps")
    assert [row["_step"] for row in steps] == sorted({step for step, _, _ in expected})
    for row in steps:
        assert row["missing"] == []
        for key in keys:
            values = {rank: data[key] for step, rank, data in expected if step == row["_step"] and key in data}
            if values:
                assert same(row[key], reduction(values)), (row["_step"], key)
        assert row["params/norm"]["min"] == row["params/norm"]["max"], "the replicas diverged"

    computed = collector.export(run, "summary")
    for key in keys:
        want = summary(expected, key, HEADLINES.get(key, "mean"))
        assert same({field: computed[key][field] for field in want}, want), key
    assert same(computed["val/acc"]["best"], computed["val/acc"]["max"])
    assert computed["val/acc"]["last"] > 0.8, "the model learned the digits"
    final = computed["_user"]["final/val_acc"]
    last_epoch = [data["val/acc"] for step, _, data in expected if step == history[-1][0] and "val/acc" in data]
    assert min(last_epoch) <= final <= max(last_epoch)
