"""`WireEncoder`: each message is one JSON object, written as `json.dumps` writes it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from chorus.settings import RunSettings
from chorus.wire import CLIENT_VERSION, MAX_SKIP_REASON_BYTES, WireEncoder

SETTINGS = RunSettings.resolve(run_id="job-42", endpoint="tcp://127.0.0.1:1", rank=3, world_size=4,
                               attempt=2, resume_step=100, environ={})
INCARNATION = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def wire() -> WireEncoder:
    return WireEncoder(SETTINGS, INCARNATION, start_time=1733241600.25)


def identity(kind: str) -> dict[str, Any]:
    return {"v": 1, "kind": kind, "run": "job-42", "rank": 3, "inc": INCARNATION}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"loss": 0.1, "acc": 1 / 3, "count": 7, "tiny": 5e-324, "huge": 1.7976931348623157e308},
        {"text": 'quote " backslash \\ newline \n', "unicode": "λ→✓", "emoji": "🎉"},
        {"flag": True, "off": False, "none": None, "list": [1, 2.5, "x", None]},
        {"train": {"loss": 1, "acc": {"top1": 0.5}}, "hist": {"_type": "histogram", "bins": [0, 1]}},
        {"big": 2**64, "bigger": -(2**200), "max": 2**63 - 1},
    ],
    ids=["empty", "numbers", "strings", "plain-values", "nested", "big-ints"],
)
def test_a_log_record_decodes_to_exactly_what_was_logged(wire: WireEncoder, data: dict[str, Any]) -> None:
    frame = wire.log(seq=17, step=1200, ts=1733241712.5, data=data)
    assert json.loads(frame) == {
        **identity("log"), "attempt": 2, "seq": 17, "step": 1200, "ts": 1733241712.5, "data": data,
    }
    assert frame == json.dumps(json.loads(frame), separators=(",", ":")).encode()


def test_nan_and_infinities_are_written_as_the_bare_json_dumps_tokens(wire: WireEncoder) -> None:
    frame = wire.log(1, 0, 0.0, {"nan": math.nan, "inf": math.inf, "ninf": -math.inf})
    assert b'"data":{"nan":NaN,"inf":Infinity,"ninf":-Infinity}' in frame


def test_integers_beyond_64_bits_are_written_as_json_integers(wire: WireEncoder) -> None:
    frame = wire.log(1, 0, 0.0, {"big": 2**64})
    assert b'"big":18446744073709551616}' in frame


def test_hello_carries_world_size_attempt_resume_step_and_start_time(wire: WireEncoder) -> None:
    assert json.loads(wire.hello()) == {
        **identity("hello"),
        "world_size": 4,
        "attempt": 2,
        "resume_step": 100,
        "start_time": 1733241600.25,
        "client": {"name": "chorus-python", "version": CLIENT_VERSION},
    }


def test_heartbeat_and_end_carry_last_seq(wire: WireEncoder) -> None:
    assert json.loads(wire.heartbeat(10.5, 17)) == {**identity("heartbeat"), "ts": 10.5, "last_seq": 17}
    assert json.loads(wire.end(11.0, 5370)) == {**identity("end"), "ts": 11.0, "last_seq": 5370}


def test_define_leaves_out_a_missing_goal(wire: WireEncoder) -> None:
    assert json.loads(wire.define("val/*", "max", "max")) == {
        **identity("define"), "metric": "val/*", "reduce": "max", "goal": "max",
    }
    assert json.loads(wire.define("loss", "mean", None)) == {**identity("define"), "metric": "loss", "reduce": "mean"}


def test_summary_carries_the_values(wire: WireEncoder) -> None:
    assert json.loads(wire.summary({"best_acc": 0.93})) == {**identity("summary"), "data": {"best_acc": 0.93}}


def test_skip_names_the_sequence_numbers_that_will_never_be_sent_and_why(wire: WireEncoder) -> None:
    assert json.loads(wire.skip(17, 19, 12.5, "dropped: the training process's queue was full")) == {
        **identity("skip"), "ts": 12.5, "first": 17, "last": 19,
        "reason": "dropped: the training process's queue was full",
    }


@pytest.mark.parametrize("reason", ["x" * 300, "λ" * 200, "a" + "✓" * 100], ids=["ascii", "two-byte", "three-byte"])
def test_a_long_skip_reason_is_cut_to_the_limit_at_a_character_boundary(wire: WireEncoder, reason: str) -> None:
    sent = json.loads(wire.skip(1, 1, 0.0, reason))["reason"]
    assert reason.startswith(sent)
    assert MAX_SKIP_REASON_BYTES - 3 < len(sent.encode()) <= MAX_SKIP_REASON_BYTES
