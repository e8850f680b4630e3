"""Chorus: log training metrics from every rank of a data-parallel job to one collector.

    import chorus

    run = chorus.init()                 # run id, rank, world size from the launcher's env
    run.define_metric("val/*", reduce="mean", goal="max")
    for step, batch in enumerate(loader):
        loss = train_step(batch)
        run.log({"loss": loss, "lr": lr})
    run.summary["best_val_acc"] = best
    run.finish()

The module-level `chorus.log`, `chorus.define_metric`, `chorus.summary` and
`chorus.finish` act on the run the last `chorus.init` started, as wandb's do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union

from .retention import DEFAULT_MAX_RETAINED
from .runs import DEFAULT_MAX_QUEUED, Run, Summary
from .settings import DEFAULT_ENDPOINT, RunSettings
from .wire import CLIENT_VERSION

__version__ = CLIENT_VERSION
__all__ = ["DEFAULT_ENDPOINT", "Run", "RunSettings", "Summary", "define_metric", "finish", "init", "log"]

_current: Optional[Run] = None


def init(
    run_id: Optional[str] = None,
    endpoint: Optional[str] = None,
    rank: Optional[int] = None,
    world_size: Optional[int] = None,
    attempt: Optional[int] = None,
    resume_step: Optional[int] = None,
    *,
    ack_endpoint: Union[str, bool, None] = None,
    max_queued: int = DEFAULT_MAX_QUEUED,
    max_retained: int = DEFAULT_MAX_RETAINED,
) -> Run:
    """Starts a run in this process and makes it the one the module-level calls use.

    Args:
        run_id: the run's name, the same on every rank; default `CHORUS_RUN_ID`, then
            `TORCHELASTIC_RUN_ID`, then `SLURM_JOB_ID`, else `"default"`.
        endpoint: the collector's address; default `CHORUS_ENDPOINT`, else
            `tcp://127.0.0.1:7700`.
        rank: this process's rank; default `RANK`, else 0.
        world_size: how many ranks the run waits for; default `WORLD_SIZE`, else 1.
        attempt: the restart count; `TORCHELASTIC_RESTART_COUNT` overrides it when set.
        resume_step: the first step this attempt logs again after restoring a checkpoint.
        ack_endpoint: where the collector publishes acks; default `CHORUS_ACK_ENDPOINT`,
            else beside `endpoint` (`tcp://HOST:PORT+1`, `ipc:///PATH.ack`). `False` or
            `"none"` turns acks off.
        max_queued: log records queued for the sender at most. When the queue is full,
            `log` waits for room while the collector is reachable; while it is not, the
            oldest record is dropped and counted in `Run.dropped`.
        max_retained: sent log records kept until the collector acks them, at most; past
            it the oldest is no longer kept, and a collector fault could lose it.

    Returns:
        The run. A run started earlier by `init` is finished first.

    Raises:
        ValueError: an argument or environment variable is malformed or out of range.
    """
    global _current
    settings = RunSettings.resolve(
        run_id=run_id,
        endpoint=endpoint,
        rank=rank,
        world_size=world_size,
        attempt=attempt,
        resume_step=resume_step,
        ack_endpoint=ack_endpoint,
    )
    if _current is not None:
        _current.finish()
    _current = Run(settings, max_queued=max_queued, max_retained=max_retained)
    return _current


def log(data: Mapping[str, Any], step: Optional[int] = None, commit: Optional[bool] = None) -> None:
    """`Run.log` on the current run."""
    _current_run("log").log(data, step=step, commit=commit)


def define_metric(name: str, reduce: str = "mean", goal: Optional[str] = None) -> None:
    """`Run.define_metric` on the current run."""
    _current_run("define_metric").define_metric(name, reduce=reduce, goal=goal)


def finish(timeout: float = 10.0) -> Optional[bool]:
    """`Run.finish` on the current run, which then is no longer current; without one, `None`."""
    global _current
    if _current is None:
        return None
    run, _current = _current, None
    return run.finish(timeout)


def __getattr__(name: str) -> Any:
    """`chorus.summary` is the current run's summary; `chorus.run` the current run or `None`."""
    if name == "summary":
        return _current_run("summary").summary
    if name == "run":
        return _current
    raise AttributeError(f"module 'chorus' has no attribute {name!r}")


def _current_run(caller: str) -> Run:
    if _current is None:
        raise RuntimeError(f"chorus: call chorus.init() before chorus.{caller}")
    return _current
