"""Fixtures: a real PULL socket to see what goes on the wire, and a clean environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import chorus
import chorus.runs
from collector import Collector, collector_binary
from support import LAUNCHER_VARIABLES, AckingCollector, WireTap


@pytest.fixture
def tap() -> Iterator[WireTap]:
    """A PULL socket on a random loopback port."""
    wire_tap = WireTap("tcp://127.0.0.1:*")
    yield wire_tap
    wire_tap.close()


@pytest.fixture
def ipc_tap(tmp_path: Path) -> Iterator[WireTap]:
    """A PULL socket on a unique ipc:// path in the test's temporary directory."""
    wire_tap = WireTap(f"ipc://{tmp_path}/collector.sock")
    yield wire_tap
    wire_tap.close()


@pytest.fixture
def acking() -> Iterator[AckingCollector]:
    """A fake collector with an ack socket on unique ipc:// paths; the test publishes the acks."""
    fake = AckingCollector()
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def finish_runs_left_open(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Finishes, with a short timeout, every run a test left open: otherwise the interpreter's
    exit hook finishes each with the default 10 s, waiting for taps and collectors long gone."""
    created: list[chorus.runs.Run] = []
    original = chorus.runs.Run.__init__

    def tracking(self: chorus.runs.Run, *arguments: object, **options: object) -> None:
        original(self, *arguments, **options)  # type: ignore[arg-type]
        created.append(self)

    monkeypatch.setattr(chorus.runs.Run, "__init__", tracking)
    yield
    for run in created:
        run.finish(timeout=0.5)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No launcher variables from the outside, and no run left current after a test."""
    for variable in LAUNCHER_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    yield
    chorus.finish(timeout=1.0)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """The real collector (`CHORUS_BIN`) on a free port; the test is skipped without CHORUS_BIN."""
    running = Collector(collector_binary(), tmp_path)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()
