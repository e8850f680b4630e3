"""Acks, retention and resending (protocol.md, section 8) against a fake collector with an ack socket."""

from __future__ import annotations

import json
import os
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
import zmq

import chorus.relay as relay_module
from chorus import Run, RunSettings
from chorus.acks import Ack
from chorus.relay import RESEND_AFTER, Relay
from support import AckingCollector, WireTap, log_records, topic


def start(endpoint: str, **options: Any) -> Run:
    ack_endpoint = options.pop("ack_endpoint", None)
    return Run(RunSettings.resolve(run_id="acks", endpoint=endpoint, ack_endpoint=ack_endpoint, environ={}),
               **options)


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [record["seq"] for record in log_records(messages)]


def sent_again(acking: AckingCollector, run: Run, durable_seq: int, **ack: Any) -> list[dict[str, Any]]:
    """What the relay sends from the hello that starts a resend until it falls quiet."""
    before = acking.acking_until(run, durable_seq, "hello", **ack)
    return before[-1:] + [message for message in acking.drain() if message["kind"] != "heartbeat"]


def first_ack(acking: AckingCollector, run: Run, durable_seq: int = 0) -> None:
    """The first ack the relay hears, which sends nothing again: there was no collector before."""
    acking.wait_for_subscriber(run)
    acking.ack(run, durable_seq)
    assert acking.drain() == [], "the first ack sends nothing again"


def received(acking: AckingCollector, count: int) -> list[dict[str, Any]]:
    messages = [acking.receive() for _ in range(count)]
    assert None not in messages, messages
    return messages  # type: ignore[return-value]


def finishing(run: Run, timeout: float) -> tuple[threading.Thread, list[bool]]:
    """`run.finish(timeout)` on a thread, with a list that receives its result."""
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(run.finish(timeout)))
    thread.start()
    return thread, result


def test_records_are_kept_until_an_ack_covers_them_and_then_never_sent_again(acking: AckingCollector) -> None:
    run = start(acking.endpoint)
    for step in range(10):
        run.log({"i": step})
    assert seqs(received(acking, 11)) == list(range(1, 11))
    first_ack(acking, run)
    acking.ack(run, 6)  # the same collector: covering drops records, it sends nothing again
    assert acking.drain() == []

    restarted = sent_again(acking, run, 6, collector="restarted")
    assert seqs(restarted) == [7, 8, 9, 10], "records 1 … 6 were covered and are no longer kept"
    assert run.finish(timeout=1.0) is False
    assert (run.confirmed, run.unconfirmed, run.resent) == (False, 4, 4)


def test_a_new_collector_gets_hello_latest_defines_one_summary_uncovered_records_and_end(
    acking: AckingCollector,
) -> None:
    run = start(acking.endpoint)
    run.define_metric("loss", reduce="min")
    run.define_metric("val/*", reduce="max", goal="max")
    run.define_metric("loss", reduce="max")
    run.summary["a"] = 1
    run.summary.update({"b": {"c": 2}, "note": "x"})
    run.summary["a"] = 3
    for step in range(5):
        run.log({"i": step})
    thread, result = finishing(run, 10.0)
    acking.until_end()

    expected = [
        ("hello", None),
        ("define", ("loss", "max", None)),
        ("define", ("val/*", "max", "max")),
        ("summary", {"a": 3, "b/c": 2, "note": "x"}),
        ("log", 3),
        ("log", 4),
        ("log", 5),
        ("end", 5),
    ]
    first_ack(acking, run, 2)
    for collector in ("restarted", "restarted again"):
        again = sent_again(acking, run, 2, collector=collector)
        assert [describe(message) for message in again] == expected, collector

    assert thread.is_alive(), "finish waits while records are unconfirmed"
    deadline = time.monotonic() + 5.0
    while thread.is_alive() and time.monotonic() < deadline:
        acking.ack(run, 5, ended=True, collector="restarted")
        thread.join(0.05)
    assert result == [True]


def describe(message: dict[str, Any]) -> tuple[str, Any]:
    kind = message["kind"]
    if kind == "define":
        return kind, (message["metric"], message["reduce"], message.get("goal"))
    if kind == "summary":
        return kind, message["data"]
    if kind == "log":
        return kind, message["seq"]
    if kind == "end":
        return kind, message["last_seq"]
    return kind, None


def test_records_are_sent_again_once_acks_keep_coming_without_moving_for_five_seconds(
    acking: AckingCollector,
) -> None:
    run = start(acking.endpoint)
    for step in range(3):
        run.log({"i": step})
    received(acking, 4)
    first_ack(acking, run)

    # Record 1 is committed, then 2 after a while; 3 went missing, and the collector keeps saying so.
    until = time.monotonic() + 2.0
    while time.monotonic() < until:
        acking.ack(run, 1)
        time.sleep(0.1)
    moved = time.monotonic()
    again = acking.acking_until(run, 2, "hello", timeout=RESEND_AFTER + 3.0)
    waited = time.monotonic() - moved
    assert RESEND_AFTER - 0.5 <= waited, f"sent again {waited:.1f} s after durable_seq last moved, before 5 s"
    assert seqs(again) == [], "nothing is sent again before the stall"
    assert seqs(acking.drain()) == [3]
    assert run.finish(timeout=1.0) is False
    assert (run.unconfirmed, run.resent) == (1, 1)


def test_a_full_retention_buffer_lets_the_oldest_go_and_counts_it(acking: AckingCollector) -> None:
    run = start(acking.endpoint, max_retained=5)
    for step in range(20):
        run.log({"i": step})
    received(acking, 21)
    first_ack(acking, run)
    assert seqs(sent_again(acking, run, 0, collector="restarted")) == [16, 17, 18, 19, 20], "only the newest five"
    assert run.finish(timeout=1.0) is False
    report = run._sender.report
    assert (report["evicted"], report["unconfirmed"], report["sent"]) == (15, 20, 20)


def test_finish_waits_for_the_ack_of_end_and_every_record_then_reports_confirmed(acking: AckingCollector) -> None:
    run = start(acking.endpoint)
    for step in range(3):
        run.log({"i": step})
    began = time.monotonic()
    thread, result = finishing(run, 10.0)
    acking.until_end()
    for durable_seq, ended in ((2, True), (3, False)):  # neither confirms everything
        until = time.monotonic() + 0.5
        while time.monotonic() < until:
            acking.ack(run, durable_seq, ended)
            time.sleep(0.05)
        assert thread.is_alive(), (durable_seq, ended)
    while thread.is_alive() and time.monotonic() - began < 8.0:
        acking.ack(run, 3, ended=True)
        thread.join(0.05)
    assert result == [True]
    assert time.monotonic() - began < 3.0, "finish returns as soon as the confirming ack arrives"
    assert (run.confirmed, run.unconfirmed, run.dropped) == (True, 0, 0)


def test_finish_does_not_wait_for_acks_from_a_collector_without_an_ack_socket(tap: WireTap) -> None:
    run = start(tap.endpoint)
    for step in range(100):
        run.log({"i": step})
    time.sleep(0.5)
    began = time.monotonic()
    assert run.finish(timeout=10.0) is False
    assert time.monotonic() - began < 1.0
    assert seqs(tap.until_end()) == list(range(1, 101))
    assert (run.confirmed, run.unconfirmed, run.dropped) == (False, 100, 0)


def test_with_acks_turned_off_an_ack_changes_nothing(acking: AckingCollector) -> None:
    run = start(acking.endpoint, ack_endpoint=False)
    run.log({"i": 0})
    received(acking, 2)
    for collector in ("first", "restarted") * 5:
        acking.ack(run, 0, collector=collector)
        time.sleep(0.05)
    assert acking.drain() == []
    began = time.monotonic()
    assert run.finish(timeout=10.0) is False
    assert time.monotonic() - began < 1.0
    assert run.unconfirmed == 1


def malformed_acks(run: Run) -> list[list[bytes]]:
    """Messages on the run's topic that are not acks for it; each, if taken for one, would make
    the next real ack look like one from a restarted collector, and the relay send again."""
    good = {"v": 1, "kind": "ack", "run": run.settings.run_id, "rank": run.settings.rank, "inc": run.incarnation,
            "durable_seq": 1000, "ended": True, "collector": "bogus"}
    changes: list[dict[str, Any]] = [
        {"inc": "someone-else"}, {"run": "other"}, {"rank": 1}, {"rank": False}, {"rank": "0"},
        {"v": 2}, {"kind": "nack"}, {"durable_seq": "1000"}, {"durable_seq": -1}, {"durable_seq": True},
        {"durable_seq": 1000.0}, {"durable_seq": None}, {"ended": "yes"}, {"collector": ""}, {"collector": 7},
    ]
    bodies = [json.dumps({**good, **change}).encode() for change in changes]
    bodies += [json.dumps({k: v for k, v in good.items() if k != key}).encode() for key in good]
    bodies += [b"not json", b"\xff\xfe\x00", b"[1, 2]", b"", b"[" * 100_000, b'{"v": 1' * 3]
    frames = [[topic(run), body] for body in bodies]
    frames += [[topic(run)], [topic(run), json.dumps(good).encode(), b"extra"],
               [topic(run) + b"x", json.dumps(good).encode()], [topic(run), b"{}", b"{}", b"{}"]]
    return frames


def test_malformed_acks_are_ignored_and_the_relay_keeps_going(acking: AckingCollector) -> None:
    run = start(acking.endpoint)
    run.log({"i": 0})
    received(acking, 2)
    acking.wait_for_subscriber(run)
    until = time.monotonic() + 1.0
    while time.monotonic() < until:
        for frames in malformed_acks(run):
            acking.publisher.send_multipart(frames)
        time.sleep(0.05)
    acking.ack(run, 0)
    assert acking.drain() == [], "none of them was taken for an ack"
    assert seqs(sent_again(acking, run, 0, collector="restarted")) == [1], "real acks still work"
    run.log({"i": 1})
    thread, result = finishing(run, 10.0)
    assert seqs(acking.until_end()) == [2]
    while thread.is_alive():
        acking.ack(run, 2, ended=True)
        thread.join(0.05)
    assert result == [True]
    assert run._sender._relay.returncode == 0


def test_the_ack_socket_uses_curve_when_the_keys_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    server_public, server_secret = zmq.curve_keypair()
    _, worker_secret = zmq.curve_keypair()
    monkeypatch.setenv("CHORUS_CURVE_SERVER_KEY", server_public.decode())
    monkeypatch.setenv("CHORUS_CURVE_SECRET_KEY", worker_secret.decode())
    acking = AckingCollector(curve_secret_key=server_secret)
    try:
        run = start(acking.endpoint)
        run.log({"i": 0})
        received(acking, 2)
        first_ack(acking, run)
        assert seqs(sent_again(acking, run, 0, collector="restarted")) == [1], "acks came through CURVE"
        run.finish(timeout=1.0)
    finally:
        acking.close()


@pytest.mark.parametrize(
    ("endpoint", "argument", "environ", "expected"),
    [
        ("tcp://127.0.0.1:7700", None, {}, "tcp://127.0.0.1:7701"),
        ("tcp://collector.example:5555", None, {}, "tcp://collector.example:5556"),
        ("tcp://[::1]:7700", None, {}, "tcp://[::1]:7701"),
        ("ipc:///tmp/chorus.sock", None, {}, "ipc:///tmp/chorus.sock.ack"),
        ("tcp://127.0.0.1:7700", None, {"CHORUS_ACK_ENDPOINT": "tcp://10.0.0.1:9"}, "tcp://10.0.0.1:9"),
        ("tcp://127.0.0.1:7700", "ipc:///a", {"CHORUS_ACK_ENDPOINT": "tcp://10.0.0.1:9"}, "ipc:///a"),
        ("tcp://127.0.0.1:7700", None, {"CHORUS_ACK_ENDPOINT": "none"}, None),
        ("tcp://127.0.0.1:7700", None, {"CHORUS_ACK_ENDPOINT": "NONE"}, None),
        ("tcp://127.0.0.1:7700", None, {"CHORUS_ACK_ENDPOINT": ""}, None),
        ("tcp://127.0.0.1:7700", False, {}, None),
        ("tcp://127.0.0.1:7700", "none", {}, None),
        ("tcp://127.0.0.1:7700", True, {"CHORUS_ACK_ENDPOINT": "none"}, "tcp://127.0.0.1:7701"),
        ("tcp://collector", False, {}, None),
    ],
)
def test_the_ack_endpoint_is_chosen_or_derived_as_protocol_md_says(
    endpoint: str, argument: Any, environ: dict[str, str], expected: Any
) -> None:
    settings = RunSettings.resolve(endpoint=endpoint, ack_endpoint=argument, environ=environ)
    assert settings.ack_endpoint == expected


@pytest.mark.parametrize(
    ("endpoint", "argument", "environ", "named"),
    [
        ("tcp://collector", None, {}, "ack_endpoint="),
        ("tcp://127.0.0.1:65535", None, {}, "CHORUS_ACK_ENDPOINT"),
        ("tcp://127.0.0.1:7700", "http://x:1", {}, "ack_endpoint"),
        ("tcp://127.0.0.1:7700", None, {"CHORUS_ACK_ENDPOINT": "udp://x:1"}, "CHORUS_ACK_ENDPOINT"),
    ],
)
def test_an_ack_endpoint_that_cannot_be_used_is_refused_with_a_way_out(
    endpoint: str, argument: Any, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        RunSettings.resolve(endpoint=endpoint, ack_endpoint=argument, environ=environ)



def test_while_acks_stay_still_each_resend_waits_twice_as_long_up_to_forty_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(relay_module, "time", SimpleNamespace(monotonic=lambda: clock.now, time=lambda: clock.now))
    read, write = os.pipe()
    try:
        relay = Relay(RunSettings.resolve(run_id="backoff", environ={}), "inc", 0.0, read)
        relay._retained.add(1, b"record 1", 0.0)
        relay._retained.add(2, b"record 2", 0.0)

        def resends_until(end: float, durable_seq: int) -> list[float]:
            times: list[float] = []
            while clock.now < end:
                clock.now = round(clock.now + 0.1, 1)
                before = relay._last_resend
                relay._on_ack(Ack(durable_seq, False, "collector"))
                if relay._last_resend != before:
                    times.append(clock.now)
            return times

        assert resends_until(150.0, 0) == [5.0, 15.0, 35.0, 75.0, 115.0]
        assert resends_until(150.5, 1) == [], "durable_seq moves at 150.1 s"
        assert resends_until(170.0, 1)[:1] == [155.1], "progress brings the wait back to 5 s"
    finally:
        os.close(read)
        os.close(write)
