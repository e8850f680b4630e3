"""The relay: a small process that encodes one incarnation's messages and sends them.

JSON encoding costs about 8 µs per 10-key record (mostly `float.__repr__`), and in the
training process it would hold the GIL for that long, slowing the training loop even on a
background thread. So the training process only pickles batches of records (binary floats,
under 0.5 µs a record) into a pipe, and this process, started by `sender.RecordSender`,
does the rest: it owns the ZeroMQ PUSH socket, sends `hello` first, then every message in
the order it arrives, and a `heartbeat` after `HEARTBEAT_INTERVAL` seconds without sending.

Input (standard input): frames of a 4-byte big-endian length and a pickled list of items:
`(seq, step, ts, data)` for a log record, `("define", metric, reduce, goal)`,
`("summary", data)`, and last `("close", last_seq, timeout)`. On `close` the relay sends
what it holds, then `end`, and lingers at most until the timeout. If the input ends without
`close` (the training process died), it sends what it holds within `ORPHAN_GRACE` seconds
and exits without `end`: the collector then sees the rank fall silent.

It holds at most `MAX_BACKLOG` messages. While ZeroMQ refuses more (the collector is away)
and the backlog is full, it stops reading, the pipe fills, and the training process applies
its queue policy. It ignores SIGINT and runs in its own session, so that a Ctrl-C or a
launcher's signal to the training process's group does not cut its last sends short.

Output (standard output): one JSON line at exit, `{"sent": N}`, the number of log records
handed to ZeroMQ.
"""

from __future__ import annotations

import collections
import json
import os
import pickle
import signal
import sys
import time
from typing import Any, Optional

import zmq

from .settings import RunSettings
from .wire import WireEncoder

HEARTBEAT_INTERVAL = 2.0
"""Seconds without sending anything after which the relay sends a heartbeat."""

MAX_BACKLOG = 1000
"""Messages read from the pipe and not yet taken by ZeroMQ, at most."""

MAX_MESSAGE_BYTES = 1 << 20
"""The collector's message size limit; a larger frame would make ZeroMQ drop the connection."""

ORPHAN_GRACE = 10.0
"""Seconds to send what is held after the training process died without `finish`."""

_READ_BYTES = 1 << 16
_MAX_WAIT_MS = 50


def _use_curve(socket: zmq.Socket, environ: "os._Environ[str] | dict[str, str]") -> None:
    """Encrypts the connection with CURVE when `CHORUS_CURVE_SERVER_KEY` (the collector's
    public key) and `CHORUS_CURVE_SECRET_KEY` (this worker's secret key) are both set, as for
    a collector started with `--curve-secret-key-file` (see protocol.md, section 7)."""
    server = environ.get("CHORUS_CURVE_SERVER_KEY")
    secret = environ.get("CHORUS_CURVE_SECRET_KEY")
    if not server and not secret:
        return
    if not (server and secret):
        raise ValueError("set both CHORUS_CURVE_SERVER_KEY and CHORUS_CURVE_SECRET_KEY, or neither")
    socket.curve_serverkey = server.encode()
    socket.curve_secretkey = secret.encode()
    socket.curve_publickey = zmq.curve_public(secret.encode())


class Relay:
    """Reads batches from a pipe and sends their messages to the collector."""

    def __init__(self, settings: RunSettings, incarnation: str, start_time: float, input_fd: int):
        self._wire = WireEncoder(settings, incarnation, start_time)
        self._rank = settings.rank
        self._input = input_fd
        self._buffer = bytearray()
        self._backlog: collections.deque[tuple[Any, ...]] = collections.deque()
        self._held: Optional[bytes] = None
        self._held_seq = 0
        self._input_open = True
        self._closing = False
        self._deadline = float("inf")
        self._end_seq = 0
        self._last_seq = 0
        self.sent = 0
        self._last_send = time.monotonic()
        self._warned: set[str] = set()
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.PUSH)
        _use_curve(self._socket, os.environ)
        self._socket.connect(settings.endpoint)

    def run(self) -> None:
        """Relays until `close` has been handled, or the input ended and the backlog is sent."""
        self._held = self._wire.hello()
        poller = zmq.Poller()
        while time.monotonic() < self._deadline:
            self._send_while_possible()
            if self._held is None and not self._backlog:
                if self._closing:
                    self._send_end()
                    break
                if not self._input_open:
                    break
                if time.monotonic() - self._last_send >= HEARTBEAT_INTERVAL:
                    self._held, self._held_seq = self._wire.heartbeat(time.time(), self._last_seq), 0
                    continue
            reading = self._input_open and len(self._backlog) < MAX_BACKLOG
            poller.register(self._input, zmq.POLLIN if reading else 0)
            poller.register(self._socket, zmq.POLLOUT if self._held is not None else 0)
            for source, _ in poller.poll(self._wait_ms()):
                if source == self._input:
                    self._read()
        self._close()

    def _wait_ms(self) -> int:
        now = time.monotonic()
        wait = min(self._deadline - now, HEARTBEAT_INTERVAL - (now - self._last_send))
        return max(0, min(_MAX_WAIT_MS, int(wait * 1000) + 1))

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
                    self._deadline = time.monotonic() + timeout
                else:
                    self._backlog.append(item)

    def _send_while_possible(self) -> None:
        while True:
            if self._held is None:
                if not self._backlog:
                    return
                self._held, self._held_seq = self._encode(self._backlog.popleft())
                if self._held is None:
                    continue
            try:
                self._socket.send(self._held, zmq.NOBLOCK)
            except zmq.Again:
                return
            self._held = None
            self._last_send = time.monotonic()
            if self._held_seq:
                self._last_seq = self._held_seq
                self.sent += 1

    def _encode(self, item: tuple[Any, ...]) -> tuple[Optional[bytes], int]:
        """The frame of one input item and its sequence number (0 unless a log record)."""
        if item[0] == "define":
            return self._wire.define(*item[1:]), 0
        if item[0] == "summary":
            return self._wire.summary(item[1]), 0
        seq, step, ts, data = item
        try:
            frame = self._wire.log(seq, step, ts, data)
        except (TypeError, ValueError) as error:  # e.g. an int too long for str()
            self._warn("encode", f"a record for step {step} cannot be encoded ({error}); dropped")
            return None, 0
        if len(frame) > MAX_MESSAGE_BYTES:
            self._warn("size", f"a record for step {step} is {len(frame)} bytes, over the collector's "
                               f"{MAX_MESSAGE_BYTES}-byte limit; dropped (log fewer or smaller values per call)")
            return None, 0
        return frame, seq

    def _send_end(self) -> None:
        end = self._wire.end(time.time(), self._end_seq)
        while True:
            try:
                self._socket.send(end, zmq.NOBLOCK)
                return
            except zmq.Again:
                remaining_ms = int((self._deadline - time.monotonic()) * 1000)
                if remaining_ms <= 0:
                    self._warn("end", "could not send end before finish()'s timeout")
                    return
                self._socket.poll(min(remaining_ms, _MAX_WAIT_MS), zmq.POLLOUT)

    def _close(self) -> None:
        unsent = len(self._backlog) + (1 if self._held is not None and self._held_seq else 0)
        if unsent:
            self._warn("unsent", f"{unsent} log records were not sent before the timeout")
        remaining = self._deadline - time.monotonic()
        linger_ms = int(remaining * 1000) if remaining != float("inf") and remaining > 0 else 0
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
    relay = Relay(settings, config["incarnation"], config["start_time"], sys.stdin.fileno())
    try:
        relay.run()
    finally:
        try:
            print(json.dumps({"sent": relay.sent}), flush=True)
        except BrokenPipeError:  # the training process is gone: nobody to report to
            pass
