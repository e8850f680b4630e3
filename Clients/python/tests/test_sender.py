"""Sending: heartbeats, end, a collector that is gone, the full-queue policy, the relay, exit."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


from chorus import Run, RunSettings
from chorus.relay import HEARTBEAT_INTERVAL, QUEUE_FULL, TOO_LARGE
from chorus.sender import STALL_SECONDS
from support import WireTap, free_tcp_endpoint, log_records

WORKER = Path(__file__).with_name("worker.py")


def start(endpoint: str, **options: Any) -> Run:
    return Run(RunSettings.resolve(run_id="unit", endpoint=endpoint, environ={}), **options)


def test_an_idle_run_sends_heartbeats_with_the_last_sequence_number(tap: WireTap) -> None:
    run = start(tap.endpoint)
    run.log({"a": 1})
    run.log({"a": 2})
    assert [tap.receive()["kind"] for _ in range(3)] == ["hello", "log", "log"]
    began = time.monotonic()
    heartbeat = tap.receive(timeout=HEARTBEAT_INTERVAL + 2)
    waited = time.monotonic() - began
    assert heartbeat is not None and heartbeat["kind"] == "heartbeat"
    assert heartbeat["last_seq"] == 2 and isinstance(heartbeat["ts"], float)
    assert HEARTBEAT_INTERVAL - 0.5 < waited < HEARTBEAT_INTERVAL + 1.5
    second = tap.receive(timeout=HEARTBEAT_INTERVAL + 2)
    assert second is not None and second["kind"] == "heartbeat"
    run.finish()
    assert tap.until_end()[-1]["last_seq"] == 2


def test_log_returns_at_once_and_finish_within_its_timeout_while_no_collector_runs() -> None:
    run = start(free_tcp_endpoint())
    slowest = 0.0
    for step in range(2000):
        began = time.perf_counter()
        run.log({"loss": 1.0 / (step + 1), "step_count": step})
        slowest = max(slowest, time.perf_counter() - began)
    assert slowest < 0.05
    began = time.monotonic()
    run.finish(timeout=1.0)
    assert time.monotonic() - began <= 1.0 + 0.05


def test_with_a_full_queue_and_no_collector_the_oldest_records_are_dropped_and_counted() -> None:
    endpoint = free_tcp_endpoint()
    run = start(endpoint, max_queued=50)
    total = 5000
    began = time.monotonic()
    for step in range(total):
        run.log({"i": step})
    # ZeroMQ buffers its high-water mark's worth; then the queue fills; log waits for room at
    # most STALL_SECONDS once, then drops without waiting.
    assert time.monotonic() - began < STALL_SECONDS + 1.0
    tap = WireTap(endpoint)
    try:
        run.finish(timeout=5.0)
        messages = tap.until_end()
    finally:
        tap.close()
    seqs = [record["seq"] for record in log_records(messages)]
    assert seqs == sorted(seqs)
    assert seqs[-50:] == list(range(total - 49, total + 1)), "the newest records are kept"
    assert seqs[0] == 1, "what ZeroMQ had buffered arrives too"
    assert len(seqs) + run.dropped == total
    assert run.dropped > 0
    assert messages[-1]["last_seq"] == total
    skips = [message for message in messages if message["kind"] == "skip"]
    skipped = [seq for skip in skips for seq in range(skip["first"], skip["last"] + 1)]
    assert sorted(skipped + seqs) == list(range(1, total + 1)), "a skip names every dropped record, once"
    assert {skip["reason"] for skip in skips} == {QUEUE_FULL}


def test_with_a_full_queue_and_a_live_collector_log_waits_and_nothing_is_lost(tap: WireTap) -> None:
    run = start(tap.endpoint, max_queued=10)
    total = 3000
    for step in range(total):
        run.log({"i": step, "x": step * 0.5})
    run.finish(timeout=10.0)
    records = log_records(tap.until_end())
    assert [record["data"]["i"] for record in records] == list(range(total))
    assert run.dropped == 0


def test_an_ipc_endpoint_works(ipc_tap: WireTap) -> None:
    run = start(ipc_tap.endpoint)
    run.log({"a": 1})
    run.finish()
    assert [message["kind"] for message in ipc_tap.until_end()] == ["hello", "log", "end"]


def test_an_oversized_record_is_dropped_and_counted_not_sent(tap: WireTap) -> None:
    run = start(tap.endpoint)
    run.log({"blob": "x" * (1 << 20)})
    run.log({"a": 1})
    run.finish()
    messages = tap.until_end()
    assert [record["seq"] for record in log_records(messages)] == [2]
    (skip,) = [message for message in messages if message["kind"] == "skip"]
    assert (skip["first"], skip["last"], skip["reason"]) == (1, 1, TOO_LARGE)
    assert run.dropped == 1


def worker(tmp_path: Path, script: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return subprocess.run([sys.executable, str(WORKER), str(path)], capture_output=True, text=True, timeout=60)


def test_a_worker_that_exits_right_after_finish_loses_nothing(tap: WireTap, tmp_path: Path) -> None:
    calls = [["log", {"data": {"i": i, "loss": 1 / (i + 1)}}] for i in range(5000)] + [["finish", {}]]
    done = worker(tmp_path, {"init": {"endpoint": tap.endpoint}, "calls": calls, "exit": "immediately"})
    assert done.returncode == 0, done.stderr
    records = log_records(tap.until_end())
    assert [record["data"]["i"] for record in records] == list(range(5000))


def test_a_worker_that_forgets_finish_is_finished_at_exit(tap: WireTap, tmp_path: Path) -> None:
    calls = [["log", {"data": {"a": 1}}], ["log", {"data": {"b": 2}, "step": 5}]]
    done = worker(tmp_path, {"init": {"endpoint": tap.endpoint}, "calls": calls})
    assert done.returncode == 0, done.stderr
    messages = tap.until_end()
    assert [(record["step"], record["data"]) for record in log_records(messages)] == [(0, {"a": 1}), (5, {"b": 2})]
    assert messages[-1]["last_seq"] == 2


def test_a_worker_without_a_collector_exits_within_the_finish_timeout(tmp_path: Path) -> None:
    calls = [["log", {"data": {"a": i}}] for i in range(100)] + [["finish", {"timeout": 1.0}]]
    began = time.monotonic()
    done = worker(tmp_path, {"init": {"endpoint": free_tcp_endpoint()}, "calls": calls})
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - began < 1.0 + 3.0  # the timeout plus interpreter start-up


def test_the_relay_sends_what_a_worker_logged_before_it_was_killed(tap: WireTap, tmp_path: Path) -> None:
    # The sleep lets the sender hand the records to the relay; what was logged in the last
    # TICK before a SIGKILL is lost with the process.
    calls = [["log", {"data": {"i": i}}] for i in range(2000)] + [["sleep", {"seconds": 0.5}]]
    done = worker(tmp_path, {"init": {"endpoint": tap.endpoint}, "calls": calls, "exit": "killed"})
    assert done.returncode == -9
    messages = []
    while (message := tap.receive(timeout=3.0)) is not None:
        messages.append(message)
    assert [record["data"]["i"] for record in log_records(messages)] == list(range(2000))
    assert "end" not in [message["kind"] for message in messages], "the collector sees the rank fall silent"


def test_if_the_relay_dies_log_keeps_returning_and_finish_counts_everything_dropped(tap: WireTap) -> None:
    run = start(tap.endpoint, max_queued=100)
    run.log({"a": 1})
    assert tap.receive()["kind"] == "hello"
    run._sender._relay.kill()  # what an out-of-memory kill would do
    began = time.monotonic()
    for step in range(5000):
        run.log({"a": step})
    assert time.monotonic() - began < STALL_SECONDS + 1.0
    run.finish(timeout=2.0)
    assert time.monotonic() - began < STALL_SECONDS + 3.0
    assert run.dropped == 5001
