"""`chorus export --tensorboard` read back by TensorBoard's own event reader.

The real two-rank job (Data/oscar) is merged by `chorus demo`, and its step reductions are
exported as an event file; TensorBoard must read every step of every key's mean, min and
max, equal to the steps export as 32-bit floats (TensorBoard's scalars are floats).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from collector import collector_binary

REPOSITORY = Path(__file__).resolve().parents[3]


def test_tensorboard_reads_every_step_reduction_of_a_real_run(tmp_path: Path) -> None:
    binary = collector_binary()
    subprocess.run(
        [binary, "demo", "--data", str(REPOSITORY / "Data" / "oscar")],
        cwd=tmp_path, check=True, capture_output=True, timeout=300,
    )
    store = tmp_path / "chorus-demo" / "chorus.sqlite"
    runs = subprocess.run([binary, "runs", "--store", str(store)], check=True, capture_output=True, text=True)
    run = runs.stdout.splitlines()[1].split()[0]
    subprocess.run(
        [binary, "export", "--store", str(store), "--run", run, "--tensorboard", str(tmp_path / "tb")],
        check=True, capture_output=True, timeout=120,
    )
    steps = [json.loads(line) for line in (tmp_path / "chorus-demo" / "steps.jsonl").read_text().splitlines()]

    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"scalars": 0})
    events.Reload()
    expected: dict[str, list[tuple[int, float]]] = {}
    for step in steps:
        for key, reduction in step.items():
            if not isinstance(reduction, dict):
                continue
            for field in ("mean", "min", "max"):
                if isinstance(reduction.get(field), (int, float)):
                    expected.setdefault(f"{key}/{field}", []).append((step["_step"], reduction[field]))
    assert sorted(events.Tags()["scalars"]) == sorted(expected)
    assert len(steps) == 5310
    for tag, points in expected.items():
        read = [(event.step, event.value) for event in events.Scalars(tag)]
        assert [step for step, _ in read] == [step for step, _ in points], tag
        assert [value for _, value in read] == [float(numpy.float32(value)) for _, value in points], tag
