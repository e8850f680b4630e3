"""The log records a relay has sent and the collector has not yet confirmed (protocol.md, section 8).

No I/O: the relay adds what it sends and tells the buffer what acks say; the buffer answers
what to send again and whether the incarnation is confirmed.
"""

from __future__ import annotations

import collections
from typing import NamedTuple, Optional

DEFAULT_MAX_RETAINED = 100_000
"""Sent log records kept until acked, at most; the oldest past it leaves unconfirmed."""


class Retained(NamedTuple):
    """One sent log record: its sequence number, its frame and when it was first sent (monotonic)."""

    seq: int
    frame: bytes
    sent_at: float


class RetentionBuffer:
    """Sent log records in sequence order, until an ack's `durable_seq` covers them.

    Sequence numbers the relay never sent (dropped from the training process's full queue,
    or not encodable) are *holes*. `durable_seq` counts only an unbroken run of committed
    records from 1, so it can never pass a hole: records above the first hole are kept and
    sent again with the rest, but nobody waits for them to be confirmed.
    """

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"chorus: max_retained must be at least 1, not {capacity}")
        self._records: collections.deque[Retained] = collections.deque()
        self._capacity = capacity
        self._holes: collections.deque[tuple[int, int]] = collections.deque()
        self._next_seq = 1
        self.durable_seq = 0
        """The highest `durable_seq` the current collector acked: records 1 … it are safe."""

        self.evicted = 0
        """Records that left the full buffer before an ack covered them."""

    def __len__(self) -> int:
        return len(self._records)

    def add(self, seq: int, frame: bytes, now: float) -> None:
        """Keeps a record just sent; sequence numbers skipped since the last one become holes."""
        if seq > self._next_seq:
            self._holes.append((self._next_seq, seq - 1))
        self._next_seq = seq + 1
        self._records.append(Retained(seq, frame, now))
        if len(self._records) > self._capacity:
            self._records.popleft()
            self.evicted += 1

    def skip(self, seq: int) -> None:
        """Notes that `seq` will never be sent (the relay dropped it)."""
        if seq >= self._next_seq:
            self._holes.append((self._next_seq, seq))
            self._next_seq = seq + 1

    def cover(self, durable_seq: int, *, restart: bool = False) -> None:
        """Drops the records an ack's `durable_seq` covers.

        Args:
            durable_seq: every record 1 … it is committed.
            restart: the ack comes from another collector than the last, whose count replaces
                the last one even if lower (it may have lost what the last one held).
        """
        self.durable_seq = durable_seq if restart else max(self.durable_seq, durable_seq)
        records = self._records
        while records and records[0].seq <= durable_seq:
            records.popleft()
        holes = self._holes
        while holes and holes[0][1] <= durable_seq:
            holes.popleft()

    def uncovered(self) -> list[Retained]:
        """The retained records above `durable_seq`, in sequence order."""
        return list(self._records)

    def confirmable_limit(self, last_seq: int) -> int:
        """The highest `durable_seq` a collector can ever ack, given the holes: `last_seq` without one."""
        for first, _ in self._holes:
            if first > self.durable_seq:
                return min(first - 1, last_seq)
        return last_seq

    def oldest_pending(self) -> Optional[float]:
        """When the oldest record an ack could still cover was sent, or `None` if there is none."""
        if not self._records:
            return None
        oldest = self._records[0]
        if oldest.seq > self.confirmable_limit(oldest.seq):
            return None
        return oldest.sent_at
