"""The background thread that owns a run's ZeroMQ socket and sends everything it is handed.

The training thread never touches the socket. It appends to two queues and returns:

- `records`: log records as `(seq, step, ts, data)`, at most `max_queued` of them.
- `controls`: `define` and `summary` messages. They are rare and change how everything
  else is read, so they are never dropped; the sender sends them before queued records.

The thread sends `hello` first, then drains both queues, waking every `TICK` seconds to
look for work, and sends a `heartbeat` after `HEARTBEAT_INTERVAL` seconds without sending
anything. ZeroMQ itself buffers up to its high-water mark (1,000 messages by default)
while the collector is away; past that it refuses messages, and the thread polls for room.

When `records` is full, what `log` does depends on whether ZeroMQ still takes messages:

- It took one in the last `STALL_SECONDS`: the collector is reachable and the sender (or
  the collector) is merely slower than the training loop. `log` waits for room, so the
  loop slows to the rate the sender sustains and nothing is lost.
- It took none for `STALL_SECONDS` (the collector is unreachable, or the sender died):
  `log` does not wait. The **oldest** queued record is dropped, because the newest values
  are the ones worth keeping through an outage. A dropped record keeps its sequence number,
  so the collector reports it as a gap, and `dropped` counts it. A training loop therefore
  waits at most `STALL_SECONDS` once per outage.

`close` ends it: the thread sends what is queued, then `end`, closes the socket with a
linger of whatever time is left, and terminates its ZeroMQ context, all within the
caller's timeout; what it could not send by then is counted in `dropped`.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Optional

import zmq

from .wire import WireEncoder

HEARTBEAT_INTERVAL = 2.0
"""Seconds without sending anything after which the thread sends a heartbeat."""

TICK = 0.01
"""Seconds the idle thread sleeps between looks at the queues."""

STALL_SECONDS = 0.25
"""Seconds without ZeroMQ taking a message after which the collector counts as unreachable."""

MAX_MESSAGE_BYTES = 1 << 20
"""The collector's message size limit; a larger frame would make ZeroMQ drop the connection."""

_POLL_MS = 50
"""Longest single wait for room in ZeroMQ's queue, so that `close` is noticed promptly."""

_ROOM_POLL = 0.0005
"""Seconds `wait_for_room` sleeps between looks; sleeping hands the GIL to the sender."""

_CLOSE_MARGIN = 0.05
"""Seconds of the caller's timeout kept back so that the thread is done when `close` returns."""

LogRecord = tuple[int, int, float, dict[str, Any]]
"""`(seq, step, ts, data)` as the training thread queues it."""

ControlMessage = Callable[[WireEncoder], bytes]
"""A `define` or `summary` message, encoded on the sender thread."""

_log = logging.getLogger("chorus")


class RecordSender:
    """Sends one incarnation's messages to the collector from a daemon thread."""

    def __init__(self, endpoint: str, wire: WireEncoder, max_queued: int):
        """Connects a PUSH socket to `endpoint` and starts the thread.

        Connecting here, on the caller's thread, makes a malformed endpoint raise from
        `init`; the socket then belongs to the sender thread alone (starting a thread is a
        full memory barrier, which is what ZeroMQ asks of a socket that changes threads).

        Raises:
            zmq.ZMQError: ZeroMQ refuses the endpoint.
        """
        self.records: collections.deque[LogRecord] = collections.deque(maxlen=max_queued)
        self.controls: collections.deque[ControlMessage] = collections.deque()
        self.dropped = 0
        """Log records never handed to ZeroMQ (see `Run.dropped`)."""

        self._wire = wire
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUSH)
        try:
            self._socket.connect(endpoint)
        except zmq.ZMQError:
            self._socket.close(linger=0)
            self._context.term()
            raise
        self._progress = time.monotonic()
        self._closing = threading.Event()
        self._deadline = 0.0
        self._last_seq = 0
        self._next_seq = 1
        self._end_seq = 0
        self._sent_records = 0
        self._warned: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="chorus-sender", daemon=True)
        self._thread.start()

    def wait_for_room(self) -> None:
        """Waits while `records` is full and ZeroMQ keeps taking messages (see the module doc)."""
        while (
            len(self.records) == self.records.maxlen
            and time.monotonic() - self._progress < STALL_SECONDS
        ):
            time.sleep(_ROOM_POLL)

    def close(self, last_seq: int, timeout: float) -> None:
        """Sends what is queued and `end`, then closes the socket; returns within `timeout`.

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
            self._send_all()
        except Exception:  # a bug here must not go unnoticed, nor reach the training thread
            _log.exception("chorus sender stopped; records logged from now on are not sent")
        finally:
            remaining_ms = int(max(0.0, self._deadline - time.monotonic()) * 1000)
            self._socket.close(linger=remaining_ms if self._closing.is_set() else 0)
            self._context.term()

    def _send_all(self) -> None:
        held: Optional[bytes] = self._wire.hello()
        held_seq = 0
        last_send = time.monotonic()
        while not (self._closing.is_set() and time.monotonic() >= self._deadline):
            if held is None:
                held, held_seq = self._next_frame()
            if held is None:
                if self._closing.is_set():
                    break
                if time.monotonic() - last_send < HEARTBEAT_INTERVAL:
                    self._closing.wait(TICK)
                    continue
                held, held_seq = self._wire.heartbeat(time.time(), self._last_seq), 0
            if self._try_send(held):
                held = None
                if held_seq:
                    self._last_seq = held_seq
                    self._sent_records += 1
                last_send = self._progress = time.monotonic()
                continue
            # ZeroMQ's queue is full: the collector is gone or slower than this process.
            self._socket.poll(_POLL_MS, zmq.POLLOUT)

        unsent = len(self.records) + (1 if held is not None and held_seq else 0)
        if unsent:
            self._warn("unsent", f"chorus: {unsent} log records were not sent before finish()'s timeout")
        # Exact, whatever the reason: records dropped from the queue that the thread never
        # reached are in neither `records` nor the gaps it has seen.
        self.dropped = self._end_seq - self._sent_records
        end = self._wire.end(time.time(), self._end_seq)
        while not self._try_send(end):
            remaining_ms = int((self._deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                self._warn("end", "chorus: could not send end before finish()'s timeout")
                return
            self._socket.poll(min(remaining_ms, _POLL_MS), zmq.POLLOUT)

    def _next_frame(self) -> tuple[Optional[bytes], int]:
        """The next message to send and its sequence number (0 for other kinds than log)."""
        if self.controls:
            return self.controls.popleft()(self._wire), 0
        while self.records:
            seq, step, ts, data = self.records.popleft()
            if seq > self._next_seq:
                self.dropped += seq - self._next_seq
                self._warn("full", f"chorus: the send queue was full (max_queued={self.records.maxlen}); "
                           "dropped the oldest records (the collector is unreachable or too slow)")
            self._next_seq = seq + 1
            frame = self._encode(seq, step, ts, data)
            if frame is not None:
                return frame, seq
        return None, 0

    def _encode(self, seq: int, step: int, ts: float, data: dict[str, Any]) -> Optional[bytes]:
        try:
            frame = self._wire.log(seq, step, ts, data)
        except (TypeError, ValueError) as error:  # e.g. an int too long for str()
            self._drop_unsendable("encode", f"chorus: a record for step {step} cannot be encoded ({error})")
            return None
        if len(frame) > MAX_MESSAGE_BYTES:
            self._drop_unsendable(
                "size",
                f"chorus: a record for step {step} is {len(frame)} bytes, over the collector's "
                f"{MAX_MESSAGE_BYTES}-byte limit; log fewer or smaller values per call"
            )
            return None
        return frame

    def _drop_unsendable(self, reason: str, message: str) -> None:
        self.dropped += 1
        self._warn(reason, message)

    def _try_send(self, frame: bytes) -> bool:
        try:
            self._socket.send(frame, zmq.NOBLOCK, copy=True)
        except zmq.Again:
            return False
        return True

    def _warn(self, reason: str, message: str) -> None:
        """Logs `message` once per reason: a dead collector must not flood the training's log."""
        if reason not in self._warned:
            self._warned.add(reason)
            _log.warning(message)
