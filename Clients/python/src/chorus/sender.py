"""Hands a run's messages to its relay process (`relay.py`), from a background thread.

The training thread never encodes or sends. It appends to two queues and returns:

- `records`: log records as `(seq, step, ts, data)`, at most `max_queued` of them.
- `controls`: `define` and `summary` messages. They are rare and change how everything
  else is read, so they are never dropped; they go out before queued records.

A daemon thread wakes every `TICK` seconds, takes what is queued, pickles it as one batch
and writes it to the relay's standard input, which encodes the JSON and owns the ZeroMQ
socket. Pickling a record costs a fraction of encoding it, and the write releases the GIL,
so the training loop pays for little more than the copy `log` makes.

When `records` is full, what `log` does depends on whether the relay is still taking data
(it stops when the collector has been unreachable long enough to fill ZeroMQ's buffer and
its own):

- It took some in the last `STALL_SECONDS`: the collector is reachable, and the relay (or
  the collector) is merely slower than the training loop. `log` waits for room, so the
  loop slows to the rate the relay sustains and nothing is lost.
- It took none for `STALL_SECONDS` (the collector is unreachable, or the relay died): `log`
  does not wait. The **oldest** queued record is dropped, because the newest values are
  the ones worth keeping through an outage. A dropped record keeps its sequence number; the
  relay sees the jump and sends a `skip` naming it, so that the collector counts it as
  skipped instead of waiting for it, and `dropped` counts it. A training loop therefore
  waits at most `STALL_SECONDS` once per outage.

`close` ends it: the thread hands over what is queued and a `close` item; the relay sends
it all, then `end`, waits for the collector to confirm them where it acks, and exits within
the caller's timeout, reporting how many log records it handed to ZeroMQ and how many the
collector confirmed (see `relay.py`).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .settings import RunSettings

TICK = 0.01
"""Seconds the thread sleeps between looks at the queues."""

STALL_SECONDS = 0.25
"""Seconds without the relay taking data after which the collector counts as unreachable."""

RELAY_START_GRACE = 5.0
"""Seconds the relay process may take to start before a full queue starts dropping."""

_BATCH = 1000
"""Items pickled into one write, at most."""

_ROOM_POLL = 0.0005
"""Seconds `wait_for_room` sleeps between looks; sleeping hands the GIL to the thread."""

_CLOSE_MARGIN = 0.1
"""Seconds of the caller's timeout kept back for the relay to exit before `close` returns."""

_RELAY_BOOT = (
    "import json, sys; c = json.loads(sys.argv[1]); sys.path[:0] = c['path']; import chorus.relay as r; r.main(c)"
)
"""Starts the relay with this package importable, however the training process found it."""

LogRecord = tuple[int, int, float, dict[str, Any]]
"""`(seq, step, ts, data)` as the training thread queues it."""

_log = logging.getLogger("chorus")


class RelayGone(Exception):
    """The relay process exited before it was told to close."""


class RecordSender:
    """Feeds one incarnation's messages to its relay process from a daemon thread."""

    def __init__(
        self, settings: RunSettings, incarnation: str, start_time: float, max_queued: int, max_retained: int
    ):
        """Starts the relay process (which connects and sends `hello`) and the thread."""
        self.records: collections.deque[LogRecord] = collections.deque(maxlen=max_queued)
        self.controls: collections.deque[tuple[Any, ...]] = collections.deque()
        self.dropped = 0
        """Log records known not to have reached ZeroMQ (see `Run.dropped`)."""

        self.report: dict[str, Any] = {}
        """The relay's exit report once `close` has returned (see `relay.py`); empty without one."""

        configuration = {
            "settings": asdict(settings),
            "incarnation": incarnation,
            "start_time": start_time,
            "max_retained": max_retained,
            "path": [str(Path(__file__).resolve().parent.parent), *sys.path],
        }
        self._relay = subprocess.Popen(
            [sys.executable, "-c", _RELAY_BOOT, json.dumps(configuration)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._relay.stdin is not None and self._relay.stdout is not None
        self._pipe = self._relay.stdin.fileno()
        os.set_blocking(self._pipe, False)
        self._progress = time.monotonic() + RELAY_START_GRACE
        self._closing = threading.Event()
        self._deadline = 0.0
        self._next_seq = 1
        self._end_seq = 0
        self._warned: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="chorus-sender", daemon=True)
        self._thread.start()

    def wait_for_room(self) -> None:
        """Waits while `records` is full and the relay keeps taking data (see the module doc)."""
        while len(self.records) == self.records.maxlen and time.monotonic() - self._progress < STALL_SECONDS:
            time.sleep(_ROOM_POLL)

    def close(self, last_seq: int, timeout: float) -> None:
        """Hands over what is queued, has the relay send it and `end`; returns within `timeout`.

        Args:
            last_seq: the highest sequence number the run assigned, for `end.last_seq`.
            timeout: seconds to wait at most, however unreachable the collector is.
        """
        self._end_seq = last_seq
        self._deadline = time.monotonic() + max(0.0, timeout - _CLOSE_MARGIN)
        self._closing.set()
        self._thread.join(max(0.0, timeout))

    def _run(self) -> None:
        try:
            self._feed()
            self._write([("close", self._end_seq, max(0.0, self._deadline - time.monotonic()))])
        except RelayGone:
            self._progress = 0.0
            self._warn("gone", f"chorus: the relay process exited with code {self._relay.poll()}; "
                               "log records are dropped from now on")
            self._discard_until_closing()
        except TimeoutError:
            pass
        except Exception:  # a bug here must not go unnoticed, nor reach the training thread
            self._progress = 0.0
            _log.exception("chorus sender stopped; records logged from now on are not sent")
        finally:
            self._relay.stdin.close()  # type: ignore[union-attr]
        self._collect_report()

    def _feed(self) -> None:
        while True:
            batch = self._take_batch()
            if batch:
                self._write(batch)
            elif self._closing.is_set():
                return
            else:
                self._closing.wait(TICK)

    def _take_batch(self) -> list[tuple[Any, ...]]:
        batch: list[tuple[Any, ...]] = []
        while self.controls:
            batch.append(self.controls.popleft())
        for _ in range(min(len(self.records), _BATCH)):
            record = self.records.popleft()
            if record[0] > self._next_seq:
                self.dropped += record[0] - self._next_seq
                self._warn("full", f"chorus: the send queue was full (max_queued={self.records.maxlen}) and "
                                   "the collector unreachable; dropped the oldest records")
            self._next_seq = record[0] + 1
            batch.append(record)
        return batch

    def _write(self, items: list[tuple[Any, ...]]) -> None:
        """Writes one framed batch, waiting in short selects so that `close`'s deadline holds.

        Raises:
            RelayGone: the relay exited.
            TimeoutError: `close`'s deadline passed first.
        """
        payload = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
        frame = memoryview(len(payload).to_bytes(4, "big") + payload)
        while frame:
            if self._closing.is_set() and time.monotonic() >= self._deadline:
                raise TimeoutError
            try:
                written = os.write(self._pipe, frame)
            except BlockingIOError:
                written = 0
            except BrokenPipeError:
                raise RelayGone from None
            if written:
                frame = frame[written:]
                self._progress = time.monotonic()
                continue
            if self._relay.poll() is not None:
                raise RelayGone
            select.select([], [self._pipe], [], 0.05)

    def _discard_until_closing(self) -> None:
        while not self._closing.is_set():
            self.records.clear()
            self._closing.wait(TICK)

    def _collect_report(self) -> None:
        """Sets `dropped` exactly from the relay's count of records it handed to ZeroMQ, and `report`."""
        try:
            self._relay.wait(max(0.0, self._deadline - time.monotonic()) + _CLOSE_MARGIN * 0.8)
        except subprocess.TimeoutExpired:
            self._warn("late", "chorus: the relay process is still sending after finish()'s timeout")
            return
        output = self._relay.stdout.read()  # type: ignore[union-attr]
        try:
            report = json.loads(output.splitlines()[-1])
            sent = report["sent"]
        except (IndexError, ValueError, KeyError, TypeError):
            self.dropped = self._end_seq
            return
        self.report = report
        self.dropped = self._end_seq - sent

    def _warn(self, reason: str, message: str) -> None:
        """Logs `message` once per reason: a dead collector must not flood the training's log."""
        if reason not in self._warned:
            self._warned.add(reason)
            _log.warning(message)
