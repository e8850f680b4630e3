"""Sequence numbers the relay never sends as records: each gets a `skip`, kept and sent again like one."""

from __future__ import annotations

import os
import pickle
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from chorus import Run, RunSettings
from chorus.relay import QUEUE_FULL, TOO_LARGE, Relay
from chorus.retention import RetentionBuffer
from support import AckingCollector, WireTap

OVERSIZED = {"blob": "x" * (1 << 20)}
UNENCODABLE = {"huge": 10**5000}
"""An integer with more digits than `str()` writes by default (4,300): `json` cannot encode it."""

needs_a_digit_limit = pytest.mark.skipif(
    not hasattr(sys, "get_int_max_str_digits"), reason="this Python writes integers of any length")


def start(endpoint: str, **options: Any) -> Run:
    return Run(RunSettings.resolve(run_id="skips", endpoint=endpoint, environ={}), **options)


def wire(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Records as `("log", seq)` and skips as `("skip", first, last)`, in the order they were sent."""
    described: list[tuple[Any, ...]] = []
    for message in messages:
        if message["kind"] == "log":
            described.append(("log", message["seq"]))
        elif message["kind"] == "skip":
            described.append(("skip", message["first"], message["last"]))
    return described


def reasons(messages: list[dict[str, Any]]) -> list[str]:
    return [message["reason"] for message in messages if message["kind"] == "skip"]


def acked_until_finished(acking: AckingCollector, run: Any, durable_seq: int, thread: threading.Thread,
                         timeout: float = 5.0) -> None:
    """Acks `durable_seq` with `ended` every 50 ms until `thread` (finishing the run) returns."""
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        acking.ack(run, durable_seq, ended=True)
        thread.join(0.05)


class PipedRelay:
    """A `Relay` in this process on a thread, fed through a pipe as the training process feeds it."""

    def __init__(self, endpoint: str, max_retained: int = 100):
        self.settings = RunSettings.resolve(run_id="skips", endpoint=endpoint, environ={})
        self.incarnation = secrets.token_hex(16)
        read, self._write = os.pipe()
        self.relay = Relay(self.settings, self.incarnation, time.time(), read, max_retained)
        self._read = read
        self.thread = threading.Thread(target=self.relay.run, daemon=True)
        self.thread.start()

    def feed(self, *items: tuple[Any, ...]) -> None:
        """One batch of items, as `sender.RecordSender` writes it."""
        payload = pickle.dumps(list(items))
        os.write(self._write, len(payload).to_bytes(4, "big") + payload)

    def close(self) -> None:
        os.close(self._write)
        self.thread.join(5.0)
        os.close(self._read)


@pytest.fixture
def piped(acking: AckingCollector) -> Iterator[PipedRelay]:
    relay = PipedRelay(acking.endpoint)
    yield relay
    relay.close()


def record(seq: int, data: Any = None) -> tuple[int, int, float, Any]:
    return (seq, seq - 1, 1.0, {"i": seq} if data is None else data)


def test_a_jump_in_the_sequence_numbers_read_is_skipped_as_dropped_from_the_full_queue(
    acking: AckingCollector, piped: PipedRelay
) -> None:
    piped.feed(record(1), record(2), record(5), record(9), record(10))
    piped.feed(("close", 10, 10.0))
    messages = acking.until_end()
    assert wire(messages) == [("log", 1), ("log", 2), ("skip", 3, 4), ("log", 5), ("skip", 6, 8), ("log", 9),
                              ("log", 10)]
    assert reasons(messages) == [QUEUE_FULL, QUEUE_FULL]
    skip = next(message for message in messages if message["kind"] == "skip")
    assert (skip["run"], skip["rank"], skip["inc"], skip["v"]) == ("skips", 0, piped.incarnation, 1)
    assert isinstance(skip["ts"], float)
    acked_until_finished(acking, piped, 10, piped.thread)
    assert piped.relay.report() == {"sent": 5, "confirmed": True, "unconfirmed": 0, "resent": 0, "evicted": 0}


def test_the_last_sequence_numbers_missing_at_close_are_skipped_before_end(
    acking: AckingCollector, piped: PipedRelay
) -> None:
    piped.feed(record(1), record(2), ("close", 4, 10.0))
    messages = acking.until_end()
    assert wire(messages) == [("log", 1), ("log", 2), ("skip", 3, 4)]
    assert messages[-1]["last_seq"] == 4
    acked_until_finished(acking, piped, 4, piped.thread)
    assert piped.relay.report()["confirmed"] is True


def test_consecutive_records_skipped_for_the_same_reason_share_one_skip(
    acking: AckingCollector, piped: PipedRelay
) -> None:
    piped.feed(record(1), record(2, OVERSIZED), record(3, OVERSIZED), record(5, OVERSIZED), record(6, OVERSIZED),
               record(7), ("close", 7, 10.0))
    messages = acking.until_end()
    assert wire(messages) == [("log", 1), ("skip", 2, 3), ("skip", 4, 4), ("skip", 5, 6), ("log", 7)]
    assert reasons(messages) == [TOO_LARGE, QUEUE_FULL, TOO_LARGE]


def test_unconfirmed_counts_only_records_when_acks_cover_skipped_sequence_numbers(
    acking: AckingCollector, piped: PipedRelay
) -> None:
    piped.feed(*(record(seq) for seq in (1, 2, 6, 7, 8)), ("close", 8, 1.5))
    acking.until_end()
    acking.wait_for_subscriber(piped)
    while piped.thread.is_alive():
        acking.ack(piped, 6, ended=True)  # 1, 2, the skipped 3 … 5 and 6: records 7 and 8 are not confirmed
        piped.thread.join(0.05)
    assert piped.relay.report() == {"sent": 5, "confirmed": False, "unconfirmed": 2, "resent": 0, "evicted": 0}


@needs_a_digit_limit
def test_a_record_too_large_or_not_encodable_is_skipped_and_the_run_is_confirmed(acking: AckingCollector) -> None:
    run = start(acking.endpoint)
    run.log({"i": 0})
    run.log(OVERSIZED)
    run.log(UNENCODABLE)
    run.log({"i": 3})
    finished: list[bool] = []
    thread = threading.Thread(target=lambda: finished.append(run.finish(timeout=10.0)))
    thread.start()
    messages = acking.until_end()
    assert wire(messages) == [("log", 1), ("skip", 2, 2), ("skip", 3, 3), ("log", 4)]
    assert reasons(messages)[0] == TOO_LARGE
    assert reasons(messages)[1].startswith("cannot be encoded: ")
    until = time.monotonic() + 0.5
    while time.monotonic() < until:
        acking.ack(run, 1, ended=True)  # the collector has not settled 2 and 3: not confirmed yet
        time.sleep(0.05)
    assert thread.is_alive(), "finish waits for the skipped sequence numbers to be settled"
    acked_until_finished(acking, run, 4, thread)
    assert (run.confirmed, run.dropped, run.unconfirmed, run.resent) == (True, 2, 0, 0)
    assert finished == [False], "finish says not every record logged is stored"


def test_a_restarted_collector_gets_the_uncovered_skips_in_order_with_the_records(
    acking: AckingCollector,
) -> None:
    run = start(acking.endpoint)
    for data in ({"i": 0}, OVERSIZED, {"i": 2}, OVERSIZED, {"i": 4}):
        run.log(data)
    messages = acking.until_kind("log") + [acking.receive() for _ in range(4)]
    assert wire(messages) == [("log", 1), ("skip", 2, 2), ("log", 3), ("skip", 4, 4), ("log", 5)]
    acking.wait_for_subscriber(run)
    acking.ack(run, 2)
    assert acking.drain() == [], "the first ack sends nothing again"

    again = acking.acking_until(run, 2, "hello", collector="restarted")[-1:] + acking.drain()
    assert wire(again) == [("log", 3), ("skip", 4, 4), ("log", 5)], "skip 2 was covered by durable_seq 2"
    thread = threading.Thread(target=run.finish, kwargs={"timeout": 10.0})
    thread.start()
    acking.until_end()
    deadline = time.monotonic() + 5.0
    while thread.is_alive() and time.monotonic() < deadline:
        acking.ack(run, 5, ended=True, collector="restarted")
        thread.join(0.05)
    assert (run.confirmed, run.resent, run.dropped) == (True, 2, 2), "a skip sent again is not a record resent"


def test_without_an_ack_socket_skips_are_still_sent_once(tap: WireTap) -> None:
    run = start(tap.endpoint)
    run.log({"i": 0})
    run.log(OVERSIZED)
    run.log({"i": 2})
    assert run.finish(timeout=5.0) is False
    assert wire(tap.until_end()) == [("log", 1), ("skip", 2, 2), ("log", 3)]
    assert run.dropped == 1


def test_skips_are_kept_under_their_last_sequence_number_until_an_ack_covers_it() -> None:
    buffer = RetentionBuffer(10)
    buffer.add(1, b"1", now=1.0)
    buffer.add(4, b"skip 2-4", now=2.0, skip=True)
    buffer.add(5, b"5", now=3.0)
    assert [(kept.seq, kept.skip) for kept in buffer.uncovered()] == [(1, False), (4, True), (5, False)]
    buffer.cover(3)
    assert [kept.frame for kept in buffer.uncovered()] == [b"skip 2-4", b"5"], "3 does not settle 2 … 4"
    assert buffer.oldest_pending() == 2.0
    buffer.cover(4)
    assert [kept.frame for kept in buffer.uncovered()] == [b"5"]
    buffer.cover(5)
    assert buffer.oldest_pending() is None and len(buffer) == 0
    buffer.cover(2, restart=True)
    assert buffer.durable_seq == 2, "a restarted collector's count replaces the last one"


def test_a_skip_that_leaves_the_full_buffer_is_not_counted_as_an_evicted_record() -> None:
    buffer = RetentionBuffer(2)
    buffer.add(2, b"skip 1-2", now=1.0, skip=True)
    buffer.add(3, b"3", now=2.0)
    buffer.add(4, b"4", now=3.0)
    assert (buffer.evicted, [kept.seq for kept in buffer.uncovered()]) == (0, [3, 4])
    buffer.add(5, b"skip 5", now=4.0, skip=True)
    assert (buffer.evicted, [kept.seq for kept in buffer.uncovered()]) == (1, [4, 5])
