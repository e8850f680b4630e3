"""Helpers the tests share: a wire tap, free endpoints, case replay, history merging."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any, Optional

import pytest
import zmq

LAUNCHER_VARIABLES = (
    "CHORUS_ENDPOINT",
    "CHORUS_RUN_ID",
    "TORCHELASTIC_RUN_ID",
    "SLURM_JOB_ID",
    "RANK",
    "WORLD_SIZE",
    "TORCHELASTIC_RESTART_COUNT",
)

REPO = Path(__file__).resolve().parents[3]
CASES = REPO / "Tests" / "ChorusCollectorTests" / "Cases"
"""The repository's copy of the project's scenario cases, which the Swift tests read too."""


class WireTap:
    """A PULL socket bound where a collector would be, decoding what arrives."""

    def __init__(self, endpoint: str):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.PULL)
        self.socket.bind(endpoint)
        self.endpoint = self.socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.frames: list[bytes] = []

    def receive(self, timeout: float = 5.0) -> Optional[dict[str, Any]]:
        """The next message, or `None` if none arrives within `timeout` seconds."""
        if not self.socket.poll(int(timeout * 1000)):
            return None
        frames = self.socket.recv_multipart()
        assert len(frames) == 1, "every message must be one frame"
        self.frames.append(frames[0])
        return json.loads(frames[0])

    def until_end(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every message up to and including the first `end`."""
        deadline = time.monotonic() + timeout
        messages: list[dict[str, Any]] = []
        while True:
            message = self.receive(max(0.0, deadline - time.monotonic()))
            assert message is not None, f"no end within {timeout} s; got {[m['kind'] for m in messages]}"
            messages.append(message)
            if message["kind"] == "end":
                return messages

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


def free_tcp_endpoint() -> str:
    """A loopback endpoint where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


def log_records(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [message for message in messages if message["kind"] == "log"]


def merged_history(messages: list[dict[str, Any]]) -> list[list[Any]]:
    """`[step, rank, data]` rows as a collector merges log records, ordered by (step, rank)."""
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    for record in sorted(log_records(messages), key=lambda record: record["seq"]):
        rows.setdefault((record["step"], record["rank"]), {}).update(record["data"])
    return [[step, rank, rows[step, rank]] for step, rank in sorted(rows)]


def client_cases() -> list[dict[str, Any]]:
    """The shared cases that go through the client library (their input has `log` entries)."""
    if not CASES.is_dir():
        pytest.fail(f"the shared cases are not at {CASES}")
    cases = [json.loads(path.read_text()) for path in sorted(CASES.glob("*.json"))]
    return [case for case in cases if any("log" in entry for entry in case["input"])]


def case_scripts(case: dict[str, Any], endpoint: str, run_id: str) -> dict[int, dict[str, Any]]:
    """One worker script (see `worker.py`) per rank that plays a client case's input."""
    scripts: dict[int, dict[str, Any]] = {}
    for entry in case["input"]:
        rank = entry["rank"]
        script = scripts.setdefault(rank, {
            "init": {"run_id": run_id, "endpoint": endpoint, "rank": rank, "world_size": case["world_size"]},
            "calls": [],
        })
        if "log" in entry:
            script["calls"].append(["log", entry["log"]])
        elif entry.get("event") == "end":
            script["calls"].append(["finish", {}])
        else:
            raise AssertionError(f"case {case['id']}: no client call plays the entry {entry}")
    return scripts
