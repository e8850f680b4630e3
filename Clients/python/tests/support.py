"""Helpers the tests share: a wire tap, free endpoints, case replay, history merging."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import pytest
import zmq

LAUNCHER_VARIABLES = (
    "CHORUS_ENDPOINT",
    "CHORUS_ACK_ENDPOINT",
    "CHORUS_CURVE_SERVER_KEY",
    "CHORUS_CURVE_SECRET_KEY",
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

    def __init__(self, endpoint: str, curve_secret_key: Optional[bytes] = None):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.PULL)
        if curve_secret_key is not None:
            self.socket.curve_server = True
            self.socket.curve_secretkey = curve_secret_key
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

    def until_kind(self, kind: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every message up to and including the first of `kind`."""
        deadline = time.monotonic() + timeout
        messages: list[dict[str, Any]] = []
        while True:
            message = self.receive(max(0.0, deadline - time.monotonic()))
            assert message is not None, f"no {kind} within {timeout} s; got {[m['kind'] for m in messages]}"
            messages.append(message)
            if message["kind"] == kind:
                return messages

    def until_end(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every message up to and including the first `end`."""
        return self.until_kind("end", timeout)

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


class AckingCollector(WireTap):
    """A fake collector: a PULL socket, and a PUB socket beside it (`PATH.ack`) that the test acks on.

    `ipc` paths must stay under about 100 bytes, so it lives in a fresh short temporary folder.
    """

    def __init__(self, curve_secret_key: Optional[bytes] = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="chorus-"))
        super().__init__(f"ipc://{self.directory}/c", curve_secret_key)
        self.publisher = self.context.socket(zmq.XPUB)  # a PUB that also hears subscriptions
        if curve_secret_key is not None:
            self.publisher.curve_server = True
            self.publisher.curve_secretkey = curve_secret_key
        self.publisher.bind(self.endpoint + ".ack")
        self.id = uuid.uuid4().hex

    def ack(self, run: Any, durable_seq: int, ended: bool = False, collector: Optional[str] = None) -> None:
        """Publishes one ack for `run`'s incarnation, as the collector `collector` (default: this one)."""
        settings = run.settings
        message = {"v": 1, "kind": "ack", "run": settings.run_id, "rank": settings.rank, "inc": run.incarnation,
                   "durable_seq": durable_seq, "ended": ended, "collector": collector or self.id}
        self.publisher.send_multipart([topic(run), json.dumps(message).encode()])

    def wait_for_subscriber(self, run: Any, timeout: float = 5.0) -> None:
        """Returns once `run`'s relay has subscribed: acks published before that go nowhere."""
        deadline = time.monotonic() + timeout
        while self.publisher.poll(max(0, int((deadline - time.monotonic()) * 1000))):
            if self.publisher.recv() == b"\x01" + topic(run):
                return
        raise AssertionError(f"the relay did not subscribe to its acks within {timeout} s")

    def acking_until(self, run: Any, durable_seq: int, kind: str, ended: bool = False,
                     collector: Optional[str] = None, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Acks every 50 ms (a SUB socket hears nothing until its subscription has arrived) and
        returns the messages received up to and including the first of `kind`."""
        deadline = time.monotonic() + timeout
        messages: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            self.ack(run, durable_seq, ended, collector)
            while (message := self.receive(timeout=0.05)) is not None:
                messages.append(message)
                if message["kind"] == kind:
                    return messages
        raise AssertionError(f"no {kind} within {timeout} s; got {[m['kind'] for m in messages]}")

    def drain(self, quiet: float = 0.3) -> list[dict[str, Any]]:
        """Every message until none has come for `quiet` seconds."""
        messages = []
        while (message := self.receive(timeout=quiet)) is not None:
            messages.append(message)
        return messages

    def close(self) -> None:
        self.publisher.close(linger=0)
        super().close()
        shutil.rmtree(self.directory, ignore_errors=True)


def topic(run: Any) -> bytes:
    """The ack topic of `run`'s incarnation: `RUN/RANK/INC/`."""
    return f"{run.settings.run_id}/{run.settings.rank}/{run.incarnation}/".encode()


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
