"""A tiny allreduce over ZeroMQ: every rank gets the mean of every rank's vector, bit for bit.

Rank 0 binds a ROUTER socket at `MASTER_ADDR:MASTER_PORT` (the variables torchrun uses);
every other rank connects a REQ socket, sends its vector and waits for the mean. Rank 0
adds the vectors in rank order, so every rank receives the same bytes and the replicas of
the model stay identical. It is a star, not a ring: plenty for a few processes on one
machine, which is what this example runs.
"""

from __future__ import annotations

import numpy as np
import zmq


class Allreduce:
    """Averages a float64 vector across `world_size` processes, one call per training step."""

    def __init__(self, rank: int, world_size: int, address: str, port: int):
        self.rank = rank
        self.world_size = world_size
        self._context = zmq.Context()
        if rank == 0:
            self._socket = self._context.socket(zmq.ROUTER)
            self._socket.bind(f"tcp://{address}:{port}")
        else:
            self._socket = self._context.socket(zmq.REQ)
            self._socket.connect(f"tcp://{address}:{port}")

    def mean(self, vector: np.ndarray) -> np.ndarray:
        """The element-wise mean of `vector` over all ranks (blocks until every rank calls it)."""
        vector = np.ascontiguousarray(vector, dtype=np.float64)
        if self.world_size == 1:
            return vector.copy()
        if self.rank != 0:
            self._socket.send_multipart([str(self.rank).encode(), vector.tobytes()])
            return np.frombuffer(self._socket.recv(), dtype=np.float64).copy()
        received: dict[int, tuple[bytes, np.ndarray]] = {}
        while len(received) < self.world_size - 1:
            identity, _, rank, payload = self._socket.recv_multipart()
            received[int(rank)] = (identity, np.frombuffer(payload, dtype=np.float64))
        total = vector.copy()
        for rank in sorted(received):
            total += received[rank][1]
        result = total / self.world_size
        for identity, _ in received.values():
            self._socket.send_multipart([identity, b"", result.tobytes()])
        return result

    def close(self) -> None:
        self._socket.close(linger=1000)
        self._context.term()
