"""The relay: a small process that encodes one incarnation's messages and sends them.

JSON encoding costs about 8 µs per 10-key record (mostly `float.__repr__`), and in the
training process it would hold the GIL for that long, slowing the training loop even on a
background thread. So the training process only pickles batches of records (binary floats,
under 0.5 µs a record) into a pipe, and this process, started by `sender.RecordSender`,
does the rest: it owns the ZeroMQ PUSH socket, sends `hello` first, then every message in
the order it arrives, and a `heartbeat` after `HEARTBEAT_INTERVAL` seconds without sending.

Sequence numbers it will never send as records get a `skip` message instead, in sequence
order with the records, so that the collector settles them rather than wait for them:
those the training process dropped from its full queue (a jump in the sequence numbers it
reads), and records that cannot be encoded or exceed `MAX_MESSAGE_BYTES`. Consecutive
ones with the same reason share one skip.

Input (standard input): frames of a 4-byte big-endian length and a pickled list of items:
`(seq, step, ts, data)` for a log record, `("define", metric, reduce, goal)`,
`("summary", data)`, and last `("close", last_seq, timeout)`. On `close` the relay sends
what it holds, then `end`, and waits at most until the timeout (see acks below). If the
input ends without `close` (the training process died), it sends what it holds within
`ORPHAN_GRACE` seconds and exits without `end`: the collector then sees the rank fall silent.

It holds at most `MAX_BACKLOG` messages. While ZeroMQ refuses more (the collector is away)
and the backlog is full, it stops reading, the pipe fills, and the training process applies
its queue policy. It ignores SIGINT and runs in its own session, so that a Ctrl-C or a
launcher's signal to the training process's group does not cut its last sends short.

Acks (protocol.md, section 8): a SUB socket hears the collector say how far the records are
committed. Every log record and skip sent stays in a `RetentionBuffer` until an ack covers
it. On an ack from another collector than the last one (it restarted), or when acks keep
coming but have not moved for `RESEND_AFTER` seconds while records sent before that are
uncovered (then after 10, 20 and every 40 s while they stay still), the relay sends hello,
the latest define of each metric, the summary so far, the uncovered records and skips, and
`end` (if sent) again, alternating with new messages so
that the training process never stalls behind a resend. After `end` it waits for an ack
that confirms everything; without any ack heard it exits as soon as all is sent.

Output (standard output): one JSON line at exit, `{"sent": N, "confirmed": B, "unconfirmed":
K, "resent": R, "evicted": E}`: log records handed to ZeroMQ, whether the collector confirmed
every sequence number (each record committed or skipped) and `end`, records sent but not
confirmed, records sent again, and records that left the full retention buffer before an ack
covered them.
"""

from __future__ import annotations

import collections
import json
import os
import pickle
import signal
import sys
import time
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

import zmq

from .acks import Ack
from .retention import DEFAULT_MAX_RETAINED, RetentionBuffer
from .settings import RunSettings
from .sockets import AckSocket, use_curve
from .wire import WireEncoder

HEARTBEAT_INTERVAL = 2.0
"""Seconds without sending anything after which the relay sends a heartbeat."""

MAX_BACKLOG = 1000
"""Messages read from the pipe and not yet taken by ZeroMQ, at most."""

MAX_MESSAGE_BYTES = 1 << 20
"""The collector's message size limit; a larger frame would make ZeroMQ drop the connection."""

ORPHAN_GRACE = 10.0
"""Seconds to send what is held after the training process died without `finish`."""

RESEND_AFTER = 5.0
"""Seconds a record may go uncovered by the acks that keep coming before it is sent again."""

MAX_STALL_BACKOFF = 8
"""While acks do not move, each resend waits twice as long as the last, up to this many `RESEND_AFTER`s."""

FIRST_ACK_WAIT = 3.0
"""Seconds to wait at the end for a first ack from a connected ack socket that has said nothing."""

CONNECT_WAIT = 0.5
"""Seconds from the relay's start that it may wait at the end for its ack socket to connect or fail."""

EXIT_RESERVE = 0.1
"""Seconds of `close`'s timeout kept back for the relay to close its sockets, report and exit."""

QUEUE_FULL = "dropped: the training process's queue was full"
"""The `skip` reason for sequence numbers missing from the input: the sender drops only from its full queue."""

TOO_LARGE = f"over the collector's {MAX_MESSAGE_BYTES}-byte message limit"
"""The `skip` reason for a record whose frame exceeds `MAX_MESSAGE_BYTES`."""

_READ_BYTES = 1 << 16
_MAX_WAIT_MS = 50


class Outgoing(NamedTuple):
    """One frame to send, and what the relay does once ZeroMQ has taken it."""

    frame: bytes
    seq: int = 0
    """A log record's sequence number, or the last one a skip names; 0 for any other message."""
    skip: bool = False
    """Whether it is a `skip`."""
    again: bool = False
    """Whether it is sent again (section 8), not for the first time."""


class Skip(NamedTuple):
    """Sequence numbers `first` … `last` that the relay will never send, and why."""

    first: int
    last: int
    reason: str


def _flatten(data: Mapping[str, Any], prefix: str, into: dict[str, Any]) -> None:
    """Joins nested keys with `/` as the collector does, so that later values replace earlier ones."""
    for key, value in data.items():
        if isinstance(value, dict) and "_type" not in value:
            _flatten(value, f"{prefix}{key}/", into)
        else:
            into[prefix + key] = value


class Relay:
    """Reads batches from a pipe, sends their messages to the collector and resends what acks miss."""

    def __init__(
        self,
        settings: RunSettings,
        incarnation: str,
        start_time: float,
        input_fd: int,
        max_retained: int = DEFAULT_MAX_RETAINED,
    ):
        self._wire = WireEncoder(settings, incarnation, start_time)
        self._settings = settings
        self._incarnation = incarnation
        self._rank = settings.rank
        self._input = input_fd
        self._buffer = bytearray()
        self._backlog: collections.deque[tuple[Any, ...]] = collections.deque()
        self._resend: collections.deque[Outgoing] = collections.deque()
        self._ready: collections.deque[Outgoing] = collections.deque()
        self._held: Optional[Outgoing] = None
        self._next_seq = 1
        self._skip: Optional[Skip] = None
        self._skipped: list[tuple[int, int]] = []
        self._new_turn = False
        self._input_open = True
        self._closing = False
        self._deadline = float("inf")
        self._end_seq = 0
        self._last_seq = 0
        self._end: Optional[bytes] = None
        self._end_sent_at: Optional[float] = None
        self._draining_since: Optional[float] = None
        self._defines: dict[str, bytes] = {}
        self._summary: dict[str, Any] = {}
        self._retained = RetentionBuffer(max_retained)
        self._collector: Optional[str] = None
        self._ended = False
        self._durable_moved_at = time.monotonic()
        self._last_resend = float("-inf")
        self._stall_resends = 0
        self._started = time.monotonic()
        self.sent = 0
        self.resent = 0
        self._last_send = time.monotonic()
        self._warned: set[str] = set()
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUSH)
        use_curve(self._socket)
        # No ZeroMQ heartbeats on PUSH: a collector that stops reading under load never sees the
        # pings, so the timeout would drop a live connection and what it holds. The collector's
        # PULL socket pings, and the SUB socket's pings see a cut network.
        self._socket.connect(settings.endpoint)
        self._acks: Optional[AckSocket] = None
        if settings.ack_endpoint is not None:
            self._acks = AckSocket(self._context, settings.ack_endpoint, settings.run_id, settings.rank, incarnation)

    def run(self) -> None:
        """Relays until `close` has been handled, or the input ended and the backlog is sent."""
        self._held = Outgoing(self._wire.hello())
        poller = zmq.Poller()
        while time.monotonic() < self._deadline:
            self._send_while_possible()
            if self._held is None and not self._backlog and not self._resend:
                if self._closing and self._end is None:
                    # Sequence numbers `end` names that never came in: the sender drops only from its full queue.
                    if self._next_seq <= self._end_seq:
                        self._note_skip(Skip(self._next_seq, self._end_seq, QUEUE_FULL))
                        self._next_seq = self._end_seq + 1
                        continue
                    self._end = self._wire.end(time.time(), self._end_seq)
                    self._held = Outgoing(self._end)
                    continue
                if self._done():
                    break
                if self._end is None and time.monotonic() - self._last_send >= HEARTBEAT_INTERVAL:
                    self._held = Outgoing(self._wire.heartbeat(time.time(), self._last_seq))
                    continue
            reading = self._input_open and len(self._backlog) < MAX_BACKLOG
            poller.register(self._input, zmq.POLLIN if reading else 0)
            poller.register(self._socket, zmq.POLLOUT if self._held is not None else 0)
            if self._acks is not None:
                poller.register(self._acks.socket, zmq.POLLIN)
                poller.register(self._acks.monitor, zmq.POLLIN)
            for source, _ in poller.poll(self._wait_ms()):
                if source == self._input:
                    self._read()
                elif self._acks is not None and source is self._acks.socket:
                    for ack in self._acks.receive(self._refuse_ack):
                        self._on_ack(ack)
                elif self._acks is not None and source is self._acks.monitor:
                    self._acks.watch()
        self._close()

    def report(self) -> dict[str, Any]:
        """What the relay prints at exit (see the module doc)."""
        durable = self._retained.durable_seq
        skipped = sum(max(0, min(last, durable) - first + 1) for first, last in self._skipped)
        return {
            "sent": self.sent,
            "confirmed": self._confirmed(self._end_seq),
            "unconfirmed": max(0, self.sent - (durable - skipped)),
            "resent": self.resent,
            "evicted": self._retained.evicted,
        }

    def _wait_ms(self) -> int:
        now = time.monotonic()
        wait = min(self._deadline - now, HEARTBEAT_INTERVAL - (now - self._last_send))
        return max(0, min(_MAX_WAIT_MS, int(wait * 1000) + 1))

    def _done(self) -> bool:
        """Whether all is sent and there is nothing left to wait for (called with nothing held)."""
        if not self._closing and self._input_open:
            return False
        now = time.monotonic()
        if self._draining_since is None:
            self._draining_since = now
        if self._collector is None:
            # No ack yet: a collector whose ack socket is connected acks within a second or so;
            # one without an ack socket never does, and then the relay ends as it always did.
            if self._acks is None:
                return True
            self._acks.watch()
            if not self._acks.connected:
                return self._acks.refused or now - self._started >= CONNECT_WAIT
            return now - self._draining_since >= FIRST_ACK_WAIT
        if self._closing:
            return self._confirmed(self._end_seq)
        return self._retained.oldest_pending() is None

    def _confirmed(self, through_seq: int) -> bool:
        """Whether `end` was sent and an ack says it is committed and sequence numbers 1 … `through_seq` settled."""
        return self._end_sent_at is not None and self._ended and self._retained.durable_seq >= through_seq

    def _read(self) -> None:
        chunk = os.read(self._input, _READ_BYTES)
        if not chunk:
            self._input_open = False
            if not self._closing:
                self._deadline = time.monotonic() + ORPHAN_GRACE
            return
        self._buffer += chunk
        while len(self._buffer) >= 4:
            size = int.from_bytes(self._buffer[:4], "big")
            if len(self._buffer) < 4 + size:
                break
            items = pickle.loads(self._buffer[4:4 + size])
            del self._buffer[:4 + size]
            for item in items:
                if item[0] == "close":
                    _, self._end_seq, timeout = item
                    self._closing = True
                    self._deadline = time.monotonic() + max(0.0, timeout - EXIT_RESERVE)
                else:
                    self._backlog.append(item)

    def _take(self) -> bool:
        """Holds the next frame: resent and new messages take turns, so neither waits behind the other."""
        self._new_turn = not self._new_turn
        if self._resend and not (self._new_turn and (self._ready or self._backlog)):
            self._held = self._resend.popleft()
            return True
        while not self._ready and self._backlog:
            self._encode(self._backlog.popleft())
        if not self._ready and self._skip is not None:  # nothing behind it yet: send it now
            self._flush_skip()
        if self._ready:
            self._held = self._ready.popleft()
            return True
        if self._resend:
            self._held = self._resend.popleft()
            return True
        return False

    def _send_while_possible(self) -> None:
        while self._held is not None or self._take():
            held = self._held
            assert held is not None
            try:
                self._socket.send(held.frame, zmq.NOBLOCK)
            except zmq.Again:
                return
            self._held = None
            now = self._last_send = time.monotonic()
            if held.frame is self._end and self._end_sent_at is None:
                self._end_sent_at = now
            if not held.seq:
                continue
            if held.again:
                if not held.skip:
                    self.resent += 1
                continue
            if not held.skip:
                self._last_seq = held.seq
                self.sent += 1
            if self._acks is not None:
                self._retained.add(held.seq, held.frame, now, skip=held.skip)

    def _encode(self, item: tuple[Any, ...]) -> None:
        """Queues the frame of one input item in `_ready`, or notes the sequence numbers it skips."""
        if item[0] == "define":
            frame = self._defines[item[1]] = self._wire.define(*item[1:])
            self._ready.append(Outgoing(frame))
            return
        if item[0] == "summary":
            _flatten(item[1], "", self._summary)
            self._ready.append(Outgoing(self._wire.summary(item[1])))
            return
        seq, step, ts, data = item
        if seq > self._next_seq:
            self._note_skip(Skip(self._next_seq, seq - 1, QUEUE_FULL))
        self._next_seq = seq + 1
        try:
            frame = self._wire.log(seq, step, ts, data)
        except (TypeError, ValueError) as error:  # e.g. an int too long for str()
            self._warn("encode", f"a record for step {step} cannot be encoded ({error}); dropped")
            self._note_skip(Skip(seq, seq, f"cannot be encoded: {error}"))
            return
        if len(frame) > MAX_MESSAGE_BYTES:
            self._warn("size", f"a record for step {step} is {len(frame)} bytes, over the collector's "
                               f"{MAX_MESSAGE_BYTES}-byte limit; dropped (log fewer or smaller values per call)")
            self._note_skip(Skip(seq, seq, TOO_LARGE))
            return
        self._flush_skip()
        self._ready.append(Outgoing(frame, seq))

    def _note_skip(self, skip: Skip) -> None:
        """Joins `skip` to the one not yet queued when it follows on with the same reason, else queues that one."""
        pending = self._skip
        if pending is not None and pending.last + 1 == skip.first and pending.reason == skip.reason:
            self._skip = pending._replace(last=skip.last)
            return
        self._flush_skip()
        self._skip = skip

    def _flush_skip(self) -> None:
        """Queues the skip not yet queued, if any, ahead of the record that follows it."""
        skip = self._skip
        if skip is None:
            return
        self._skip = None
        self._skipped.append((skip.first, skip.last))
        frame = self._wire.skip(skip.first, skip.last, time.time(), skip.reason)
        self._ready.append(Outgoing(frame, skip.last, skip=True))

    def _refuse_ack(self, reason: str) -> None:
        self._warn("ack", f"ignored a message on the ack socket that is not an ack for this run: {reason}")

    def _on_ack(self, ack: Ack) -> None:
        now = time.monotonic()
        restarted = self._collector is not None and ack.collector != self._collector
        self._collector = ack.collector
        before = self._retained.durable_seq
        self._retained.cover(ack.durable_seq, restart=restarted)
        if self._retained.durable_seq != before:
            self._durable_moved_at = now
            self._stall_resends = 0
        self._ended = ack.ended
        if restarted:
            self._stall_resends = 0
            self._send_again(now)
        elif self._stalled(now):
            self._stall_resends += 1
            self._send_again(now)

    def _stalled(self, now: float) -> bool:
        """Whether acks keep coming but have not moved past what was sent `RESEND_AFTER` seconds ago.

        After each resend for a stall the next waits twice as long, up to `MAX_STALL_BACKOFF` times,
        so that a collector that cannot commit (a full disk, say) is not sent everything every 5 s.
        """
        backoff = min(MAX_STALL_BACKOFF, 2 ** min(self._stall_resends, 10))
        if now - self._last_resend < RESEND_AFTER * backoff or now - self._durable_moved_at < RESEND_AFTER:
            return False
        oldest = self._retained.oldest_pending()
        if oldest is not None and now - oldest >= RESEND_AFTER:
            return True
        return self._end_sent_at is not None and not self._ended and now - self._end_sent_at >= RESEND_AFTER

    def _send_again(self, now: float) -> None:
        """Queues hello, defines, summary, uncovered records and end (protocol.md, section 8)."""
        self._last_resend = now
        frames = [self._wire.hello(), *self._defines.values()]
        if self._summary:
            frames.append(self._wire.summary(self._summary))
        again = [Outgoing(frame, again=True) for frame in frames]
        again.extend(Outgoing(kept.frame, kept.seq, kept.skip, again=True) for kept in self._retained.uncovered())
        if self._end is not None:
            again.append(Outgoing(self._end, again=True))
        self._resend = collections.deque(again)

    def _close(self) -> None:
        held = [self._held] if self._held is not None else []
        unsent = sum(1 for item in self._backlog if type(item[0]) is int) + sum(
            1 for out in (*held, *self._ready) if out.seq and not out.skip and not out.again)
        if unsent:
            self._warn("unsent", f"{unsent} log records were not sent before the timeout")
        if self._closing and self._end_sent_at is None:
            self._warn("end", "could not send end before finish()'s timeout")
        if self._retained.evicted:
            self._warn("evicted", f"{self._retained.evicted} log records left the full retention buffer "
                                  "before the collector confirmed them; a collector fault could lose them")
        remaining = self._deadline - time.monotonic()
        linger_ms = int(remaining * 1000) if remaining != float("inf") and remaining > 0 else 0
        if self._confirmed(self._end_seq):
            linger_ms = 0
        if self._acks is not None:
            self._acks.close()
        self._socket.close(linger=linger_ms)
        self._context.term()

    def _warn(self, reason: str, message: str) -> None:
        """Writes `message` to standard error once per reason, so a dead collector cannot flood it."""
        if reason not in self._warned:
            self._warned.add(reason)
            print(f"chorus relay (rank {self._rank}): {message}", file=sys.stderr, flush=True)


def main(config: dict[str, Any]) -> None:
    """Runs a relay configured as `sender.RecordSender` says."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = RunSettings(**config["settings"])
    relay = Relay(settings, config["incarnation"], config["start_time"], sys.stdin.fileno(),
                  config.get("max_retained", DEFAULT_MAX_RETAINED))
    try:
        relay.run()
    finally:
        try:
            print(json.dumps(relay.report()), flush=True)
        except BrokenPipeError:  # the training process is gone: nobody to report to
            pass
