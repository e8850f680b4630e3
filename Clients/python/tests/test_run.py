"""`Run`: the step and commit rules, sequence numbers and message order, seen on the wire."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np
import pytest

from chorus import Run, RunSettings
from support import WireTap, client_cases, log_records, merged_history
from test_values import FakeTensor

Call = tuple[dict[str, Any], Optional[int], Optional[bool]]


def start(tap: WireTap, rank: int = 0, **settings: Any) -> Run:
    return Run(RunSettings.resolve(run_id="unit", endpoint=tap.endpoint, rank=rank, environ={}, **settings))


def play(tap: WireTap, calls: list[Call]) -> list[dict[str, Any]]:
    run = start(tap)
    for data, step, commit in calls:
        run.log(data, step=step, commit=commit)
    run.finish()
    return tap.until_end()


def rows(messages: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """`(step, data)` of each log record in the order it was sent."""
    return [(record["step"], record["data"]) for record in log_records(messages)]


@pytest.mark.parametrize("case", client_cases(), ids=lambda case: case["id"])
def test_the_shared_client_cases_produce_their_expected_history(tap: WireTap, case: dict[str, Any]) -> None:
    runs: dict[int, Run] = {}
    for entry in case["input"]:
        run = runs.setdefault(entry["rank"], start(tap, rank=entry["rank"], world_size=case["world_size"]))
        if "log" in entry:
            run.log(entry["log"]["data"], step=entry["log"].get("step"), commit=entry["log"].get("commit"))
        else:
            assert entry["event"] == "end"
            run.finish()
    messages = [message for _ in runs for message in tap.until_end()]
    assert merged_history(messages) == case["expect"]["history"]


@pytest.mark.parametrize(
    ("calls", "expected"),
    [
        pytest.param(
            [({"a": 1}, None, None), ({"a": 2}, None, None)],
            [(0, {"a": 1}), (1, {"a": 2})],
            id="no step: each call is a step",
        ),
        pytest.param(
            [({"a": 1}, None, False), ({"b": 2}, None, False), ({"a": 3}, None, None)],
            [(0, {"a": 3, "b": 2})],
            id="commit=False accumulates; the later value wins",
        ),
        pytest.param(
            [({"a": 1}, 5, None), ({"b": 2}, 5, None), ({"c": 3}, 6, None)],
            [(5, {"a": 1, "b": 2}), (6, {"c": 3})],
            id="an explicit step stays open until a higher one",
        ),
        pytest.param(
            [({"a": 1}, 5, True), ({"b": 2}, None, None)],
            [(5, {"a": 1}), (6, {"b": 2})],
            id="commit=True sends and advances past the step",
        ),
        pytest.param(
            [({"a": 1}, 5, True), ({"b": 2}, 5, True)],
            [(5, {"a": 1}), (5, {"b": 2})],
            id="a committed step logged again is sent at once, not dropped",
        ),
        pytest.param(
            [({"a": 1}, 10, None), ({"late": 2}, 3, None), ({"b": 3}, 10, None)],
            [(3, {"late": 2}), (10, {"a": 1, "b": 3})],
            id="a lower step is sent at once; the pending row stays pending",
        ),
        pytest.param(
            [({"a": 1}, None, False), ({"b": 2}, 4, False)],
            [(0, {"a": 1}), (4, {"b": 2})],
            id="a higher step flushes the pending row at the current step",
        ),
        pytest.param(
            [({}, None, None), ({}, 7, True)],
            [(0, {}), (7, {})],
            id="an empty dict still reports the step",
        ),
        pytest.param(
            [({}, 3, None), ({"a": 1}, 4, None)],
            [(4, {"a": 1})],
            id="an empty pending row is not flushed",
        ),
    ],
)
def test_step_and_commit_rules(tap: WireTap, calls: list[Call], expected: list[tuple[int, dict[str, Any]]]) -> None:
    assert rows(play(tap, calls)) == expected


def test_hello_comes_first_and_log_records_are_numbered_from_one(tap: WireTap) -> None:
    messages = play(tap, [({"i": i}, None, None) for i in range(200)])
    assert messages[0]["kind"] == "hello"
    records = log_records(messages)
    assert [record["seq"] for record in records] == list(range(1, 201))
    assert [record["data"]["i"] for record in records] == list(range(200))
    assert {record["attempt"] for record in records} == {0}
    assert messages[-1] == {**{key: messages[0][key] for key in ("v", "run", "rank", "inc")},
                            "kind": "end", "ts": messages[-1]["ts"], "last_seq": 200}


def test_every_run_is_a_fresh_incarnation(tap: WireTap) -> None:
    first = play(tap, [({"a": 1}, None, None)])
    second = play(tap, [({"a": 1}, None, None)])
    assert len(first[0]["inc"]) == 32 and int(first[0]["inc"], 16) >= 0
    assert first[0]["inc"] != second[0]["inc"]
    assert log_records(second)[0]["seq"] == 1


def test_values_arrive_converted_with_nonfinite_tokens(tap: WireTap) -> None:
    data = {
        "nan": math.nan, "inf": np.float32(np.inf), "ninf": -math.inf, "np": np.float64(0.25),
        "arr": np.array(3), "tensor": FakeTensor([1.5], ()), "big": 2**70, "nested": {"a": {"b": np.int64(2)}},
    }
    messages = play(tap, [(data, None, None)])
    frame = next(frame for frame in tap.frames if b'"kind":"log"' in frame)
    assert b'"nan":NaN,"inf":Infinity,"ninf":-Infinity' in frame
    assert b'"big":1180591620717411303424' in frame
    logged = log_records(messages)[0]["data"]
    assert {key: logged[key] for key in ("np", "arr", "tensor", "big", "nested")} == {
        "np": 0.25, "arr": 3, "tensor": 1.5, "big": 2**70, "nested": {"a": {"b": 2}},
    }


def test_a_pending_row_is_sent_by_finish(tap: WireTap) -> None:
    assert rows(play(tap, [({"a": 1}, 3, None), ({"b": 2}, None, False)])) == [(3, {"a": 1, "b": 2})]


def test_define_metric_and_summary_are_sent(tap: WireTap) -> None:
    run = start(tap)
    run.define_metric("val/*", reduce="max", goal="max")
    run.define_metric("loss")
    run.summary["best"] = np.float32(0.5)
    run.summary.update({"epochs": 3}, note="done")
    run.finish()
    messages = tap.until_end()
    assert [(m["kind"], m.get("metric"), m.get("reduce"), m.get("goal"), m.get("data")) for m in messages[1:-1]] == [
        ("define", "val/*", "max", "max", None),
        ("define", "loss", "mean", None, None),
        ("summary", None, None, None, {"best": 0.5}),
        ("summary", None, None, None, {"epochs": 3, "note": "done"}),
    ]
    assert "goal" not in messages[2]
    assert dict(run.summary) == {"best": 0.5, "epochs": 3, "note": "done"}


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"name": "val/*", "reduce": "median"}, "reduce must be"),
        ({"name": "loss", "goal": "up"}, "goal must be"),
        ({"name": ""}, "metric name"),
        ({"name": "a*b"}, "prefix ending"),
    ],
)
def test_define_metric_rejects_what_the_protocol_does_not_know(
    tap: WireTap, arguments: dict[str, Any], error: str
) -> None:
    with start(tap) as run, pytest.raises(ValueError, match=error):
        run.define_metric(**arguments)


@pytest.mark.parametrize(
    ("step", "error"),
    [(-1, ValueError), (2**63, ValueError), (1.5, TypeError), (True, TypeError), ("3", TypeError)],
)
def test_a_bad_step_raises(tap: WireTap, step: Any, error: type[Exception]) -> None:
    with start(tap) as run, pytest.raises(error):
        run.log({"a": 1}, step=step)


def test_a_numpy_integer_step_is_accepted(tap: WireTap) -> None:
    assert rows(play(tap, [({"a": 1}, np.int64(4), True)])) == [(4, {"a": 1})]


def test_log_after_finish_raises(tap: WireTap) -> None:
    run = start(tap)
    run.finish()
    run.finish()  # a second finish does nothing
    with pytest.raises(RuntimeError, match="after finish"):
        run.log({"a": 1})


def test_the_context_manager_finishes_the_run_even_on_an_exception(tap: WireTap) -> None:
    with pytest.raises(KeyError), start(tap) as run:
        run.log({"a": 1}, commit=False)
        raise KeyError("boom")
    assert rows(tap.until_end()) == [(0, {"a": 1})]
