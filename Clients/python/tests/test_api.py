"""The module-level API and the defaults taken from what launchers set in the environment."""

from __future__ import annotations

from typing import Any

import pytest

import chorus
from chorus import RunSettings
from support import WireTap, log_records


def test_module_level_calls_act_on_the_run_init_started(tap: WireTap) -> None:
    assert chorus.run is None
    run = chorus.init(run_id="module", endpoint=tap.endpoint)
    assert chorus.run is run
    chorus.define_metric("acc", reduce="max", goal="max")
    chorus.log({"loss": 0.5})
    chorus.log({"acc": 0.9}, step=3, commit=True)
    chorus.summary["best"] = 0.9
    chorus.finish()
    assert chorus.run is None
    messages = tap.until_end()
    assert [message["kind"] for message in messages] == ["hello", "define", "summary", "log", "log", "end"]
    assert [(record["step"], record["data"]) for record in log_records(messages)] == [
        (0, {"loss": 0.5}), (3, {"acc": 0.9}),
    ]
    assert {message["run"] for message in messages} == {"module"}


@pytest.mark.parametrize("call", ["log", "define_metric", "summary"])
def test_module_level_calls_before_init_raise(call: str) -> None:
    with pytest.raises(RuntimeError, match="call chorus.init"):
        if call == "log":
            chorus.log({"a": 1})
        elif call == "define_metric":
            chorus.define_metric("a")
        else:
            chorus.summary["a"] = 1


def test_finish_without_a_run_does_nothing() -> None:
    chorus.finish()


def test_init_finishes_the_previous_run(tap: WireTap) -> None:
    first = chorus.init(endpoint=tap.endpoint)
    chorus.log({"a": 1}, commit=False)
    second = chorus.init(endpoint=tap.endpoint)
    assert [(r["step"], r["data"]) for r in log_records(tap.until_end())] == [(0, {"a": 1})]
    assert first.incarnation != second.incarnation
    assert chorus.run is second


def test_the_context_manager_returned_by_init_sends_end(tap: WireTap) -> None:
    with chorus.init(endpoint=tap.endpoint) as run:
        run.log({"a": 1})
    assert [message["kind"] for message in tap.until_end()] == ["hello", "log", "end"]


def test_hello_reflects_the_launcher_environment(tap: WireTap, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_ENDPOINT", tap.endpoint)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "elastic-7")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "2")
    chorus.init(resume_step=120)
    chorus.log({"a": 1})
    chorus.finish()
    hello, record = tap.until_end()[:2]
    assert (hello["run"], hello["rank"], hello["world_size"], hello["attempt"], hello["resume_step"]) == (
        "elastic-7", 3, 4, 2, 120,
    )
    assert (record["rank"], record["attempt"]) == (3, 2)


def resolve(environ: dict[str, str], **arguments: Any) -> RunSettings:
    return RunSettings.resolve(environ=environ, **arguments)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "default"),
        ({"SLURM_JOB_ID": "981"}, "981"),
        ({"SLURM_JOB_ID": "981", "TORCHELASTIC_RUN_ID": "te"}, "te"),
        ({"SLURM_JOB_ID": "981", "TORCHELASTIC_RUN_ID": "te", "CHORUS_RUN_ID": "mine"}, "mine"),
        ({"CHORUS_RUN_ID": "", "SLURM_JOB_ID": "981"}, "981"),
    ],
)
def test_the_run_id_comes_from_chorus_then_torchelastic_then_slurm(environ: dict[str, str], expected: str) -> None:
    assert resolve(environ).run_id == expected
    assert resolve(environ, run_id="explicit").run_id == "explicit"


def test_defaults_without_any_environment() -> None:
    settings = resolve({})
    assert (settings.endpoint, settings.rank, settings.world_size, settings.attempt, settings.resume_step) == (
        "tcp://127.0.0.1:7700", 0, 1, 0, None,
    )


def test_arguments_win_over_the_environment_except_the_restart_count() -> None:
    environ = {"RANK": "1", "WORLD_SIZE": "2", "CHORUS_ENDPOINT": "ipc:///tmp/x", "TORCHELASTIC_RESTART_COUNT": "3"}
    settings = resolve(environ, rank=5, world_size=8, endpoint="tcp://127.0.0.1:9", attempt=1)
    assert (settings.rank, settings.world_size, settings.endpoint) == (5, 8, "tcp://127.0.0.1:9")
    assert settings.attempt == 3
    assert resolve({}, attempt=1).attempt == 1


@pytest.mark.parametrize(
    ("environ", "arguments", "message"),
    [
        ({"RANK": "zero"}, {}, "RANK='zero' is not an integer"),
        ({"WORLD_SIZE": "0"}, {}, "world_size 0 from WORLD_SIZE is outside"),
        ({}, {"rank": 1_048_576}, "rank 1048576 from rank is outside"),
        ({"TORCHELASTIC_RESTART_COUNT": "-1"}, {}, "attempt -1 from TORCHELASTIC_RESTART_COUNT"),
        ({"CHORUS_RUN_ID": "my run"}, {}, "run id 'my run' from CHORUS_RUN_ID"),
        ({}, {"run_id": "x" * 129}, "from run_id is not 1-128 characters"),
        ({}, {"endpoint": "127.0.0.1:7700"}, "neither tcp://"),
        ({}, {"resume_step": -5}, "resume_step -5"),
        ({}, {"rank": True}, "not a bool"),
    ],
)
def test_malformed_settings_raise_naming_their_source(
    environ: dict[str, str], arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(environ, **arguments)
