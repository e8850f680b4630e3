"""A worker process for the tests: runs a script of chorus calls, as a training script would.

    python worker.py SCRIPT.json

The script is a JSON object:

- `init`: keyword arguments for `chorus.init`.
- `calls`: `[name, arguments]` pairs, played in order through the module-level API:
  `["log", {"data": {…}, "step": 3, "commit": false}]`, `["define_metric", {"name": …,
  "reduce": …, "goal": …}]`, `["summary", {key: value}]`, `["finish", {"timeout": 10}]`,
  `["sleep", {"seconds": 0.5}]`, `["say", {"text": "logged"}]` (prints the text as one line,
  so that a test can wait for the script to reach it), and `["log_integer", {"key": "huge",
  "digits": 5000}]`, which logs an integer of that many digits: past Python's limit of 4,300,
  JSON in the script cannot carry it, and the relay cannot encode it.
- `environ` (optional): variables set before `chorus.init`, such as the CURVE keys.
- `report` (optional): `true` prints, after the calls, one JSON line with what the last
  finished run reports: `confirmed`, `unconfirmed`, `resent`, `dropped`.
- `exit` (optional): `"immediately"` ends the process with `os._exit(0)` right after the
  calls, skipping the interpreter's cleanup and the `atexit` hook: what a worker killed
  right after `finish()` looks like. `"killed"` sends the process SIGKILL instead.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any, Optional

import chorus


_finished: Optional[chorus.Run] = None
"""The run the last `finish` call finished."""


def play(calls: list[list[Any]]) -> None:
    """Plays `calls` on the current run."""
    for name, arguments in calls:
        if name == "log":
            chorus.log(arguments["data"], step=arguments.get("step"), commit=arguments.get("commit"))
        elif name == "define_metric":
            chorus.define_metric(**arguments)
        elif name == "summary":
            chorus.summary.update(arguments)
        elif name == "finish":
            global _finished
            _finished = chorus.run
            chorus.finish(**arguments)
        elif name == "sleep":
            time.sleep(arguments["seconds"])
        elif name == "say":
            print(arguments["text"], flush=True)
        elif name == "log_integer":
            chorus.log({arguments["key"]: 10 ** (arguments["digits"] - 1)})
        else:
            raise ValueError(f"unknown call {name!r}")


def main(path: str) -> None:
    with open(path) as file:
        script = json.load(file)
    os.environ.update(script.get("environ", {}))
    chorus.init(**script["init"])
    play(script["calls"])
    if script.get("report") and _finished is not None:
        report = {name: getattr(_finished, name) for name in ("confirmed", "unconfirmed", "resent", "dropped")}
        print(json.dumps(report), flush=True)
    if script.get("exit") == "immediately":
        os._exit(0)
    if script.get("exit") == "killed":
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1])
