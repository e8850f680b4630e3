"""The JSON messages of protocol.md, version 1, as the bytes of one ZeroMQ frame each.

Only the relay process (`relay.py`) calls these. A `log` record is the hot path: its fields that never
change within an incarnation are encoded once into a prefix, and `data` goes through a
JSON encoder built once, skipping the per-call setup that `json.dumps` does. The output is
what `json.dumps` writes (ASCII, `allow_nan=True`, compact separators).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Callable, Optional

from .settings import RunSettings

PROTOCOL_VERSION = 1
CLIENT_NAME = "chorus-python"
CLIENT_VERSION = "0.1.0"

MAX_SKIP_REASON_BYTES = 256
"""The longest `reason` a `skip` may carry, in bytes of UTF-8; a longer one is cut short."""


def _data_encoder() -> Callable[[Mapping[str, Any]], str]:
    """`json.dumps(data, separators=(",", ":"))`, minus the encoder it builds on every call."""
    encoder = json.JSONEncoder(separators=(",", ":"))
    if c_make_encoder is None:  # an interpreter without the C accelerator, such as PyPy
        return encoder.encode
    iterencode = c_make_encoder(
        None,  # no cycle check: `values.snapshot` builds a fresh tree, cycles are impossible
        encoder.default,
        encode_basestring_ascii,
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    return lambda data: "".join(iterencode(data, 0))


def _dumps(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


class WireEncoder:
    """Encodes one incarnation's messages; every message carries `v`, `run`, `rank`, `inc`."""

    def __init__(self, settings: RunSettings, incarnation: str, start_time: float):
        self._settings = settings
        self._start_time = start_time
        self._identity = {
            "v": PROTOCOL_VERSION,
            "run": settings.run_id,
            "rank": settings.rank,
            "inc": incarnation,
        }
        identity = _dumps(self._identity).decode()[1:-1]
        self._log_prefix = f'{{"kind":"log",{identity},"attempt":{settings.attempt},"seq":'
        self._encode_data = _data_encoder()

    def hello(self) -> bytes:
        """The first message of the incarnation: world size, attempt, resume step, start time."""
        return self._message(
            "hello",
            world_size=self._settings.world_size,
            attempt=self._settings.attempt,
            resume_step=self._settings.resume_step,
            start_time=self._start_time,
            client={"name": CLIENT_NAME, "version": CLIENT_VERSION},
        )

    def log(self, seq: int, step: int, ts: float, data: Mapping[str, Any]) -> bytes:
        """One step's values; `data` must hold only what `values.snapshot` returns."""
        return f'{self._log_prefix}{seq},"step":{step},"ts":{ts!r},"data":{self._encode_data(data)}}}'.encode()

    def heartbeat(self, ts: float, last_seq: int) -> bytes:
        """Still alive; `last_seq` is the highest sequence number sent so far."""
        return self._message("heartbeat", ts=ts, last_seq=last_seq)

    def end(self, ts: float, last_seq: int) -> bytes:
        """The incarnation is done; `last_seq` is the last sequence number it assigned."""
        return self._message("end", ts=ts, last_seq=last_seq)

    def skip(self, first: int, last: int, ts: float, reason: str) -> bytes:
        """Sequence numbers `first` … `last` (1 ≤ first ≤ last) that this incarnation will never send.

        `reason` is cut to `MAX_SKIP_REASON_BYTES` bytes of UTF-8, at a character boundary.
        """
        reason = reason.encode()[:MAX_SKIP_REASON_BYTES].decode(errors="ignore")
        return self._message("skip", ts=ts, first=first, last=last, reason=reason)

    def define(self, metric: str, reduce: str, goal: Optional[str]) -> bytes:
        """How `metric` (a key, or a prefix ending in `*`) is reduced and summarised."""
        if goal is None:
            return self._message("define", metric=metric, reduce=reduce)
        return self._message("define", metric=metric, reduce=reduce, goal=goal)

    def summary(self, data: Mapping[str, Any]) -> bytes:
        """Values the user set on the run's summary."""
        return self._message("summary", data=data)

    def _message(self, kind: str, **fields: Any) -> bytes:
        return _dumps({"kind": kind, **self._identity, **fields})
