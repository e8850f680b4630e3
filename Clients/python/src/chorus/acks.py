"""Acks as the collector publishes them (protocol.md, section 8), read defensively.

An ack is two frames: the topic `RUN/RANK/INC/` and a JSON object. Anything else reaching
the relay's SUB socket (a foreign publisher, a newer collector, corruption) is refused here
with a reason, never raised: a relay must not stop sending because of what it hears.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Union

from .wire import PROTOCOL_VERSION


class Ack(NamedTuple):
    """What a collector says it has committed of one incarnation."""

    durable_seq: int
    """Every log record 1 … `durable_seq` is in the store."""
    ended: bool
    """The incarnation's `end` is in the store."""
    collector: str
    """The collector's random id, new each time it starts."""


def ack_topic(run_id: str, rank: int, incarnation: str) -> bytes:
    """The topic an incarnation subscribes to: `RUN/RANK/INC/`."""
    return f"{run_id}/{rank}/{incarnation}/".encode()


def parse_ack(frames: list[bytes], run_id: str, rank: int, incarnation: str) -> Union[Ack, str]:
    """The ack in `frames`, or why they are not an ack for this incarnation."""
    if len(frames) != 2:
        return f"{len(frames)} frames instead of 2"
    if frames[0] != ack_topic(run_id, rank, incarnation):
        return "another topic"
    try:
        message: Any = json.loads(frames[1])
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "not JSON"
    if not isinstance(message, dict):
        return "not a JSON object"
    if message.get("v") != PROTOCOL_VERSION or message.get("kind") != "ack":
        return f"v {message.get('v')!r}, kind {message.get('kind')!r} instead of an ack of version 1"
    identity = (message.get("run"), message.get("rank"), message.get("inc"))
    if type(identity[1]) is not int or identity != (run_id, rank, incarnation):
        return "the topic's incarnation differs from the message's"
    durable_seq, ended, collector = message.get("durable_seq"), message.get("ended"), message.get("collector")
    if type(durable_seq) is not int or durable_seq < 0:
        return f"durable_seq {durable_seq!r} is not an integer >= 0"
    if type(ended) is not bool:
        return f"ended {ended!r} is not a bool"
    if not isinstance(collector, str) or not collector:
        return f"collector {collector!r} is not a non-empty string"
    return Ack(durable_seq, ended, collector)
