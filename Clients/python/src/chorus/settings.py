"""A run's identity and endpoint: from `init`'s arguments, else from what launchers set."""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional, Union

DEFAULT_ENDPOINT = "tcp://127.0.0.1:7700"
"""Where the collector listens unless `endpoint` or `CHORUS_ENDPOINT` says otherwise."""

RUN_ID_VARIABLES = ("CHORUS_RUN_ID", "TORCHELASTIC_RUN_ID", "SLURM_JOB_ID")
"""Environment variables that name the run, in the order they are consulted."""

MAX_RANK = 1_048_575
MAX_WORLD_SIZE = 1_048_576
MAX_STEP = 2**63 - 1

_RUN_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(frozen=True)
class RunSettings:
    """Who a worker is and where it sends its records (protocol.md, section 2)."""

    run_id: str
    endpoint: str
    rank: int
    world_size: int
    attempt: int
    resume_step: Optional[int]
    ack_endpoint: Optional[str] = None
    """Where the collector publishes acks (protocol.md, section 8), or `None`: no acks."""

    @classmethod
    def resolve(
        cls,
        *,
        run_id: Optional[str] = None,
        endpoint: Optional[str] = None,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        attempt: Optional[int] = None,
        resume_step: Optional[int] = None,
        ack_endpoint: Union[str, bool, None] = None,
        environ: Mapping[str, str] = os.environ,
    ) -> RunSettings:
        """Fills what the caller left out from the environment, then checks every field.

        The run id comes from `run_id`, else `CHORUS_RUN_ID`, `TORCHELASTIC_RUN_ID`,
        `SLURM_JOB_ID`, else `"default"`; the endpoint from `endpoint`, else
        `CHORUS_ENDPOINT`, else `tcp://127.0.0.1:7700`; the rank from `rank`, else `RANK`,
        else 0; the world size from `world_size`, else `WORLD_SIZE`, else 1. The attempt is
        `TORCHELASTIC_RESTART_COUNT` when that is set, else `attempt`, else 0, as
        protocol.md prescribes (an elastic agent's restart count is the truth). The ack
        endpoint comes from `ack_endpoint`, else `CHORUS_ACK_ENDPOINT`, else it is derived
        from the endpoint as the collector derives it (`ack_endpoint_beside`); `False`,
        `"none"` or an empty string turns acks off, as in the Swift client.

        Raises:
            ValueError: a value, passed or taken from the environment, is out of range or
                malformed; the message names where it came from.
        """
        run_source = "run_id"
        if run_id is None:
            run_id, run_source = "default", "the default"
            for variable in RUN_ID_VARIABLES:
                if environ.get(variable):
                    run_id, run_source = environ[variable], variable
                    break
        if not isinstance(run_id, str) or _RUN_ID.fullmatch(run_id) is None:
            raise ValueError(
                f"chorus: run id {run_id!r} from {run_source} is not 1-128 characters from "
                "A-Z a-z 0-9 . _ -; pass run_id= or set CHORUS_RUN_ID to such a name"
            )

        if endpoint is None:
            endpoint = environ.get("CHORUS_ENDPOINT") or DEFAULT_ENDPOINT
        if not endpoint.startswith(("tcp://", "ipc://")):
            raise ValueError(
                f"chorus: endpoint {endpoint!r} is neither tcp://HOST:PORT nor ipc:///path; "
                "pass endpoint= or set CHORUS_ENDPOINT to the collector's --bind address"
            )

        rank = _integer(rank, "rank", "RANK", environ, default=0, low=0, high=MAX_RANK)
        world_size = _integer(
            world_size, "world_size", "WORLD_SIZE", environ, default=1, low=1, high=MAX_WORLD_SIZE
        )
        restart_count = environ.get("TORCHELASTIC_RESTART_COUNT")
        attempt = _integer(
            None if restart_count else attempt,
            "attempt",
            "TORCHELASTIC_RESTART_COUNT",
            environ,
            default=0,
            low=0,
            high=MAX_STEP,
        )
        if resume_step is not None:
            resume_step = _integer(resume_step, "resume_step", None, environ, 0, 0, MAX_STEP)
        return cls(run_id, endpoint, rank, world_size, attempt, resume_step,
                   _ack_endpoint(ack_endpoint, endpoint, environ))


def ack_endpoint_beside(endpoint: str) -> str:
    """The ack endpoint a collector binds beside `endpoint`: `tcp://HOST:PORT` gets
    `tcp://HOST:PORT+1`, `ipc:///PATH` gets `ipc:///PATH.ack` (protocol.md, section 8).

    Raises:
        ValueError: a tcp endpoint without a numeric port below 65535.
    """
    if endpoint.startswith("ipc://"):
        return endpoint + ".ack"
    host, _, port = endpoint.rpartition(":")
    if host in ("", "tcp") or not port.isdigit() or not 0 < int(port) < 65535:
        raise ValueError(
            f"chorus: cannot derive the ack endpoint from {endpoint!r}, which has no port below 65535; "
            "pass ack_endpoint= or set CHORUS_ACK_ENDPOINT (or 'none' for no acks)"
        )
    return f"{host}:{int(port) + 1}"


def _ack_endpoint(value: Union[str, bool, None], endpoint: str, environ: Mapping[str, str]) -> Optional[str]:
    source = "ack_endpoint"
    if value is None and "CHORUS_ACK_ENDPOINT" in environ:
        value, source = environ["CHORUS_ACK_ENDPOINT"], "CHORUS_ACK_ENDPOINT"
    if value is False or (isinstance(value, str) and value.lower() in ("none", "")):
        return None
    if value is None or value is True:
        return ack_endpoint_beside(endpoint)
    if not isinstance(value, str) or not value.startswith(("tcp://", "ipc://")):
        raise ValueError(
            f"chorus: ack endpoint {value!r} from {source} is neither tcp://HOST:PORT, ipc:///path nor 'none'; "
            "name the collector's --ack-bind address"
        )
    return value


def _integer(
    value: Optional[int],
    argument: str,
    variable: Optional[str],
    environ: Mapping[str, str],
    default: int,
    low: int,
    high: int,
) -> int:
    """`value`, else the environment variable, else `default`, checked against `low … high`."""
    source = argument
    if value is None and variable is not None and environ.get(variable):
        source = variable
        try:
            value = int(environ[variable])
        except ValueError:
            raise ValueError(
                f"chorus: {variable}={environ[variable]!r} is not an integer; "
                f"set it to a whole number in {low} … {high} or pass {argument}="
            ) from None
    if value is None:
        return default
    if isinstance(value, bool):
        raise ValueError(f"chorus: {argument} must be an integer, not a bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f"chorus: {argument} must be an integer, not {type(value).__name__}") from None
    if not low <= value <= high:
        raise ValueError(f"chorus: {argument} {value} from {source} is outside {low} … {high}")
    return value
