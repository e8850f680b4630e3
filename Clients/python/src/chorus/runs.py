"""A run as one worker process sees it: `log`, `summary`, `define_metric`, `finish`."""

from __future__ import annotations

import atexit
import operator
import secrets
import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Callable, Optional

from .retention import DEFAULT_MAX_RETAINED
from .sender import RecordSender
from .settings import MAX_STEP, RunSettings
from .values import snapshot

DEFAULT_MAX_QUEUED = 10_000
"""Log records queued for the sender at most; `chorus.sender` says what happens past it."""

REDUCTIONS = ("mean", "sum", "min", "max")
GOALS = ("min", "max")


class Run:
    """One incarnation of one rank of a run, logging to a Chorus collector.

    Create it with `chorus.init`. `log` follows wandb's step and commit rules (below), with
    one difference: a step lower than the current one is sent at once as its own record,
    never dropped, and the collector merges it into that step's row.

    The run keeps a current step (from 0) and a pending row:

    - `log(d)`: merges `d` into the pending row; unless `commit=False`, sends the row at the
      current step and advances the step by one.
    - `log(d, step=s)`, `s` above the current step: sends the pending row, if it holds
      anything, at the current step; makes `s` current and merges `d` into the (new)
      pending row; with `commit=True` sends it and advances to `s + 1`.
    - `log(d, step=s)`, `s` equal to the current step: merges `d`; `commit=True` sends the
      row and advances.
    - `log(d, step=s)`, `s` below the current step: sends `d` at step `s` at once; the
      pending row and the current step stay as they were.

    `finish` sends the pending row, if it holds anything, then `end`, and reports whether the
    collector confirmed everything (protocol.md, section 8).

    A run is driven from one thread: `log`'s step state is not locked, to keep it cheap.
    """

    def __init__(
        self, settings: RunSettings, *, max_queued: int = DEFAULT_MAX_QUEUED, max_retained: int = DEFAULT_MAX_RETAINED
    ):
        """Starts the sender and its relay process, which sends `hello`; `chorus.init` calls this.

        Every `Run` is a new incarnation (a fresh random id, sequence numbers from 1), so a
        process may run several in turn without its records being taken for duplicates.
        """
        if max_queued < 1:
            raise ValueError(f"chorus: max_queued must be at least 1, not {max_queued}")
        if max_retained < 1:
            raise ValueError(f"chorus: max_retained must be at least 1, not {max_retained}")
        self.settings = settings
        self.incarnation = secrets.token_hex(16)
        self.start_time = time.time()
        self.summary = Summary(self._send_summary)
        """The user's summary of the run: `run.summary["best_acc"] = 0.93` sends it."""

        self._step = 0
        self._pending: Optional[dict[str, Any]] = None
        self._seq = 0
        self._finished = False
        self._max_queued = max_queued
        self._sender = RecordSender(settings, self.incarnation, self.start_time, max_queued, max_retained)
        self._records = self._sender.records
        atexit.register(self.finish)

    @property
    def step(self) -> int:
        """The current step: where the next `log` without a step goes."""
        return self._step

    @property
    def dropped(self) -> int:
        """Log records that never reached ZeroMQ, exact once `finish` has returned.

        They were dropped from the full queue while the collector was unreachable, could not
        be encoded or exceeded the 1 MiB message limit, or were still queued when `finish`
        timed out. The relay names the first three kinds in `skip` messages, and the collector
        counts them as skipped rather than waiting for them. Records ZeroMQ had buffered but
        could not deliver before `finish`'s timeout are not known to the client; the collector
        reports them as gaps. If the relay process died, every record counts, as none is known
        to have been sent.
        """
        return self._sender.dropped

    @property
    def confirmed(self) -> Optional[bool]:
        """Whether the collector acked every record and `end` as committed; `None` before `finish`.

        Records dropped before they were sent (see `dropped`) do not stand in the way: the
        collector acks past the sequence numbers the relay's `skip` messages name. False when
        the collector does not ack (acks turned off, or a collector without an ack socket) or
        does not know `skip`, or when `finish` timed out before the ack came.
        """
        if not self._finished:
            return None
        return bool(self._sender.report.get("confirmed", False))

    @property
    def unconfirmed(self) -> int:
        """Log records sent that no ack covered by the time `finish` returned (all of them without acks)."""
        return int(self._sender.report.get("unconfirmed", 0))

    @property
    def resent(self) -> int:
        """Log records sent again because the collector restarted or its acks fell behind."""
        return int(self._sender.report.get("resent", 0))

    def log(self, data: Mapping[str, Any], step: Optional[int] = None, commit: Optional[bool] = None) -> None:
        """Logs `data` (metric name → value) for a step, following the rules in the class doc.

        Values may be Python or NumPy scalars, one-element NumPy arrays and PyTorch tensors,
        strings, bools, `None`, lists, and nested dicts (the collector joins nested keys
        with `/`). NaN and infinities are kept. The values are copied before `log` returns;
        encoding and sending happen in the relay process (see `chorus.sender`), so `log`
        never waits for the collector; it waits for room only when its queue is full and
        the collector reachable.

        Raises:
            TypeError: `data` is not a dict of loggable values, or `step` is not an integer.
            ValueError: `step` is negative or above 2**63 - 1, or `data` nests too deep.
            RuntimeError: the run is finished.
        """
        if self._finished:
            raise RuntimeError("chorus: log() after finish(); call chorus.init() to start a new run")
        values = snapshot(data)
        if step is not None:
            if type(step) is not int or not 0 <= step <= MAX_STEP:
                step = _checked_step(step)
            if step < self._step:
                self._send(step, values)
                return
            if step > self._step:
                if self._pending:
                    self._send(self._step, self._pending)
                self._pending = None
                self._step = step
        pending = self._pending
        if pending is None:
            pending = values
        else:
            pending.update(values)
        if commit if commit is not None else step is None:
            self._send(self._step, pending)
            self._pending = None
            self._step += 1
        else:
            self._pending = pending

    def define_metric(self, name: str, reduce: str = "mean", goal: Optional[str] = None) -> None:
        """Says how the collector reduces a metric across ranks and summarises it.

        Args:
            name: a metric name, or a prefix ending in `*` (`"val/*"`) that covers every
                name starting with it; the longest matching definition applies.
            reduce: the headline reduction across ranks: `"mean"`, `"sum"`, `"min"`, `"max"`.
            goal: `"min"` or `"max"` to have the summary report the best value, or `None`.

        Raises:
            ValueError: an argument is not one of the values above.
            RuntimeError: the run is finished.
        """
        if not isinstance(name, str) or not name or "*" in name[:-1]:
            raise ValueError(f"chorus: define_metric needs a metric name or a prefix ending in '*', not {name!r}")
        if reduce not in REDUCTIONS:
            raise ValueError(f"chorus: reduce must be one of {', '.join(REDUCTIONS)}, not {reduce!r}")
        if goal is not None and goal not in GOALS:
            raise ValueError(f"chorus: goal must be 'min', 'max' or None, not {goal!r}")
        self._queue_control(("define", name, reduce, goal))

    def finish(self, timeout: float = 10.0) -> bool:
        """Sends the pending row and `end`, and waits at most `timeout` seconds for delivery.

        Where the collector acks (protocol.md, section 8), it waits until the collector
        confirms that every record and `end` are committed, sending again what acks miss.
        Without any ack heard it returns once everything is handed to the network. Records
        still unsent at the timeout count in `dropped`, records sent but not confirmed in
        `unconfirmed`. Calling it again only returns the answer again. An `atexit` hook
        calls it for a run the program did not finish.

        Returns:
            Whether every record logged is stored: the collector confirmed everything
            (`confirmed`) and no record was dropped (`dropped`), as the Swift client answers.
        """
        if self._finished:
            return bool(self.confirmed) and self.dropped == 0
        self._finished = True
        atexit.unregister(self.finish)
        if self._pending:
            self._send(self._step, self._pending)
        self._pending = None
        self._sender.close(self._seq, timeout)
        return bool(self.confirmed) and self.dropped == 0

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.finish()

    def _send(self, step: int, values: dict[str, Any]) -> None:
        self._seq += 1
        if len(self._records) == self._max_queued:
            self._sender.wait_for_room()
        self._records.append((self._seq, step, time.time(), values))

    def _send_summary(self, values: dict[str, Any]) -> None:
        self._queue_control(("summary", values))

    def _queue_control(self, message: tuple[Any, ...]) -> None:
        if self._finished:
            raise RuntimeError("chorus: the run is finished; call chorus.init() to start a new run")
        self._sender.controls.append(message)


class Summary(Mapping[str, Any]):
    """The values the user sets on a run's summary; each assignment sends a `summary` message.

    The collector keeps them beside the summary it computes, and a user value wins over the
    computed `last` of the same key. Reading gives back what this process set.
    """

    def __init__(self, send: Callable[[dict[str, Any]], None]):
        self._values: dict[str, Any] = {}
        self._send = send

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, values: Optional[Mapping[str, Any]] = None, /, **more: Any) -> None:
        """Sets several values in one `summary` message."""
        data = snapshot({**(values or {}), **more})
        self._send(data)
        self._values.update(data)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Summary({self._values!r})"


def _checked_step(step: Any) -> int:
    if isinstance(step, bool):
        raise TypeError("chorus: step must be an integer, not a bool")
    try:
        step = operator.index(step)
    except TypeError:
        raise TypeError(f"chorus: step must be an integer, not a {type(step).__name__}") from None
    if not 0 <= step <= MAX_STEP:
        raise ValueError(f"chorus: step {step} is outside 0 … {MAX_STEP}")
    return step
