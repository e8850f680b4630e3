"""The real Swift collector for the interoperability tests, and what they compute to check it.

`CHORUS_BIN` names the `chorus` executable. Every invocation of it lives in this file, so a
change to its command line is made here once.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import pytest

WORKER = Path(__file__).with_name("worker.py")


def collector_binary() -> str:
    """The `chorus` executable from `CHORUS_BIN`; skips the calling test when it is unset."""
    binary = os.environ.get("CHORUS_BIN")
    if not binary:
        pytest.skip("CHORUS_BIN is not set: it names the Swift `chorus` executable these tests run against")
    return binary


def free_port_pair() -> int:
    """A loopback port that is free, and the next one too: the collector binds its acks there."""
    while True:
        with socket.socket() as probe, socket.socket() as beside:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            try:
                beside.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port


class Collector:
    """`chorus collect` bound to a free loopback port, storing into its own SQLite file."""

    def __init__(self, binary: str, directory: Path, *options: str, port: Optional[int] = None,
                 log_name: str = "collector.log"):
        """Starts it on `port` (default: a free one) with the store `directory/chorus.sqlite`,
        writing its output to `directory/log_name`; a second one on the same `directory` and
        `port` is the first restarted."""
        self.binary = binary
        self.store = directory / "chorus.sqlite"
        self.port = port if port is not None else free_port_pair()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.log_path = directory / log_name
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary, "collect", "--bind", self.endpoint, "--store", str(self.store), *options],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"chorus collect exited with {self.process.returncode}:\n{self.output()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"chorus collect did not listen on {self.endpoint} within {timeout} s")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM, which makes the collector drain, store everything and exit 0."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"chorus collect did not stop within {timeout} s:\n{self.output()}") from None
        assert code == 0, f"chorus collect exited with {code}:\n{self.output()}"

    def export(self, run: str, table: str) -> Any:
        """A table of the stopped collector's store: a list of rows, or the summary object."""
        output_format = "json" if table == "summary" else "jsonl"
        done = subprocess.run(
            [self.binary, "export", "--store", str(self.store), "--run", run, "--table", table, "--format",
             output_format],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, f"chorus export failed: {done.stderr}"
        if output_format == "json":
            return json.loads(done.stdout)
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def status(self, run: str) -> str:
        """What `chorus status` prints about `run` from the store."""
        done = subprocess.run([self.binary, "status", "--store", str(self.store), "--run", run],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"chorus status failed: {done.stderr}"
        return done.stdout

    def history(self, run: str) -> list[list[Any]]:
        """`[step, rank, {key: value}]` rows with the collector's own `_` fields left out."""
        return [
            [row["_step"], row["_rank"], {key: value for key, value in row.items() if not key.startswith("_")}]
            for row in self.export(run, "history")
        ]


def start_worker(script: dict[str, Any], path: Path) -> subprocess.Popen[str]:
    """Starts one `worker.py` process playing `script`, which it reads from `path`."""
    path.write_text(json.dumps(script))
    return subprocess.Popen([sys.executable, str(WORKER), str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_workers(scripts: list[dict[str, Any]], directory: Path, timeout: float = 120.0) -> None:
    """Runs one `worker.py` process per script, all at once, and checks that each exits 0."""
    processes = [start_worker(script, directory / f"worker-{index}.json") for index, script in enumerate(scripts)]
    for process in processes:
        output, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, f"a worker failed:\n{output}"


def same(actual: Any, expected: Any) -> bool:
    """Equality as the cases define it: floats within 1e-9 relative, NaN equals NaN, 1 == 1.0."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and actual.keys() == expected.keys() and all(
            same(actual[key], expected[key]) for key in expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            same(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return False
        return actual == expected or math.isclose(actual, expected, rel_tol=1e-9)
    return actual == expected


def reduction(values: dict[int, Any]) -> dict[str, Any]:
    """A step's reduction of one key over `{rank: value}`, as protocol.md section 5 defines it."""
    numbers = {rank: value for rank, value in values.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    finite = {rank: value for rank, value in numbers.items() if math.isfinite(value)}
    result: dict[str, Any] = {"count": len(numbers), "nonfinite": len(numbers) - len(finite)}
    if not finite:
        return {**result, **dict.fromkeys(("sum", "mean", "min", "min_rank", "max", "max_rank"))}
    exact = sum(Fraction(value) for value in finite.values())
    integers = all(isinstance(value, int) for value in finite.values())
    low, high = min(finite.values()), max(finite.values())
    return {
        **result,
        "sum": int(exact) if integers and -(2**63) <= exact < 2**63 else float(exact),
        "mean": float(exact / len(finite)),
        "min": low,
        "min_rank": min(rank for rank, value in finite.items() if value == low),
        "max": high,
        "max_rank": min(rank for rank, value in finite.items() if value == high),
    }


def summary(history: list[list[Any]], key: str, headline: str = "mean") -> dict[str, Any]:
    """The computed summary of `key` over a merged history (protocol.md section 5)."""
    steps = sorted({step for step, _, data in history if key in data})
    series: list[tuple[int, float]] = []
    raw: list[Any] = []
    for step in steps:
        values = {rank: data[key] for s, rank, data in history if s == step and key in data}
        raw.extend(values.values())
        value = reduction(values)[headline]
        if value is not None:
            series.append((step, value))
    finite = [value for value in raw if math.isfinite(value)]
    lowest = min(series, key=lambda item: item[1])
    highest = max(series, key=lambda item: item[1])
    return {
        "first": series[0][1], "first_step": series[0][0],
        "last": series[-1][1], "last_step": series[-1][0],
        "min": lowest[1], "min_step": lowest[0],
        "max": highest[1], "max_step": highest[0],
        "mean": float(sum(Fraction(value) for value in finite) / len(finite)),
        "count": len(raw),
        "nonfinite": len(raw) - len(finite),
    }


def expected_history(logged: dict[int, list[tuple[int, dict[str, Any]]]]) -> list[list[Any]]:
    """The merged history of what each rank logged as `(step, flat data)`, by (step, rank)."""
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for rank, records in logged.items():
        for step, data in records:
            rows.setdefault((step, rank), {}).update(data)
    return [[step, rank, rows[step, rank]] for step, rank in sorted(rows)]


def first_difference(actual: Any, expected: Any) -> Optional[str]:
    """Where two rows lists first differ, for a readable assertion message."""
    for index, (a, e) in enumerate(zip(actual, expected)):
        if not same(a, e):
            return f"row {index}: got {a}, expected {e}"
    if len(actual) != len(expected):
        return f"got {len(actual)} rows, expected {len(expected)}"
    return None
