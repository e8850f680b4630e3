"""The log records and skips a relay has sent and the collector has not yet confirmed (protocol.md, section 8).

No I/O: the relay adds what it sends and tells the buffer what acks say; the buffer answers
what to send again and what is still waiting for an ack.
"""

from __future__ import annotations

import collections
from typing import NamedTuple, Optional

DEFAULT_MAX_RETAINED = 100_000
"""Sent log records and skips kept until acked, at most; the oldest past it leaves unconfirmed."""


class Retained(NamedTuple):
    """One sent message an ack covers: its sequence number, its frame and when it was first sent (monotonic).

    A `skip` is kept under the last sequence number it names: the ack whose `durable_seq`
    reaches that one says the collector has settled them all.
    """

    seq: int
    frame: bytes
    sent_at: float
    skip: bool = False
    """Whether it is a `skip` rather than a log record."""


class RetentionBuffer:
    """Sent log records and skips in sequence order, until an ack's `durable_seq` covers them.

    A sequence number the relay never sends as a record (dropped from the training process's
    full queue, not encodable, too large) is named in a `skip`, which the collector settles
    so that `durable_seq` passes it. The skip is kept and sent again like a record; if it
    leaves the full buffer before an ack covers it, and it was lost on the way, `durable_seq`
    stops below it for good.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"chorus: max_retained must be at least 1, not {capacity}")
        self._entries: collections.deque[Retained] = collections.deque()
        self._capacity = capacity
        self.durable_seq = 0
        """The highest `durable_seq` the current collector acked: sequence numbers 1 … it are settled."""

        self.evicted = 0
        """Log records (not skips) that left the full buffer before an ack covered them."""

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, seq: int, frame: bytes, now: float, *, skip: bool = False) -> None:
        """Keeps a log record, or a skip whose last sequence number is `seq`, just sent.

        Each takes one place; past `capacity` the oldest leaves, and only a record counts in `evicted`.
        """
        self._entries.append(Retained(seq, frame, now, skip))
        if len(self._entries) > self._capacity and not self._entries.popleft().skip:
            self.evicted += 1

    def cover(self, durable_seq: int, *, restart: bool = False) -> None:
        """Drops the records and skips an ack's `durable_seq` covers.

        Args:
            durable_seq: every sequence number 1 … it is committed or skipped.
            restart: the ack comes from another collector than the last, whose count replaces
                the last one even if lower (it may have lost what the last one held).
        """
        self.durable_seq = durable_seq if restart else max(self.durable_seq, durable_seq)
        entries = self._entries
        while entries and entries[0].seq <= durable_seq:
            entries.popleft()

    def uncovered(self) -> list[Retained]:
        """The retained records and skips above `durable_seq`, in sequence order."""
        return list(self._entries)

    def oldest_pending(self) -> Optional[float]:
        """When the oldest message still waiting for an ack was sent, or `None` if there is none."""
        if not self._entries:
            return None
        return self._entries[0].sent_at
