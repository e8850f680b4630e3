"""The relay's ZeroMQ sockets besides the PUSH socket: CURVE setup, and the SUB socket that hears acks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Callable, Union

import zmq
from zmq.utils.monitor import recv_monitor_message

from .acks import Ack, ack_topic, parse_ack

_REFUSALS = (
    zmq.EVENT_CONNECT_RETRIED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
"""Events that say nothing acks at the endpoint (yet): connection refused, or not a PUB socket."""


def use_curve(socket: zmq.Socket, environ: Mapping[str, str] = os.environ) -> None:
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


PING_INTERVAL_MS = 1000
"""How often each connection is pinged (ZeroMQ's heartbeats), as the collector does."""

PING_TIMEOUT_MS = 3000
"""Silence after which a connection counts as dead and is made afresh (protocol.md, section 8)."""


def ping(socket: zmq.Socket) -> None:
    """Pings every connection of `socket`, so that one a cut network left looking alive is dropped
    and made afresh instead of holding what is sent into it."""
    socket.heartbeat_ivl = PING_INTERVAL_MS
    socket.heartbeat_timeout = PING_TIMEOUT_MS


class AckSocket:
    """A SUB socket subscribed to one incarnation's acks, watching whether anything acks there.

    Owned by the relay's one thread, like every ZeroMQ socket. `socket` and `monitor` are
    for the relay's poller; `receive` and `watch` never block.
    """

    def __init__(self, context: zmq.Context, endpoint: str, run_id: str, rank: int, incarnation: str):
        self._identity = (run_id, rank, incarnation)
        self.socket = context.socket(zmq.SUB)
        use_curve(self.socket)
        ping(self.socket)
        self.socket.setsockopt(zmq.SUBSCRIBE, ack_topic(run_id, rank, incarnation))
        events = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED | _REFUSALS
        self.monitor = self.socket.get_monitor_socket(events)
        self.socket.connect(endpoint)
        self.connected = False
        """A PUB socket accepted the connection, and it has not dropped since."""

        self.refused = False
        """The last attempt to connect failed: nothing listens there, or not a PUB socket."""

    def receive(self, refused: Callable[[str], None]) -> list[Ack]:
        """The acks waiting; `refused` hears why each other message is not one."""
        acks = []
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return acks
            ack: Union[Ack, str] = parse_ack(frames, *self._identity)
            if isinstance(ack, Ack):
                acks.append(ack)
            else:
                refused(ack)

    def watch(self) -> None:
        """Takes in the connection events waiting."""
        while True:
            try:
                event = recv_monitor_message(self.monitor, zmq.NOBLOCK)["event"]
            except zmq.Again:
                return
            self.connected = event == zmq.EVENT_HANDSHAKE_SUCCEEDED
            self.refused = bool(event & _REFUSALS)

    def close(self) -> None:
        self.socket.disable_monitor()
        self.monitor.close(linger=0)
        self.socket.close(linger=0)
