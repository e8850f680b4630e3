"""`values.snapshot`: what training code logs becomes plain JSON values on the caller's thread."""

from __future__ import annotations

import enum
import math
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest

from chorus.values import MAX_DEPTH, snapshot


class FakeTensor:
    """Just enough of a PyTorch tensor: the client must not import torch to recognise one."""

    def __init__(self, values: list[float], shape: tuple[int, ...]):
        self._values = values
        self._shape = shape

    def item(self) -> float:
        assert len(self._values) == 1, "item() of a tensor with several elements"
        return self._values[0]

    def dim(self) -> int:
        return len(self._shape)

    def numel(self) -> int:
        return len(self._values)

    def tolist(self) -> Any:
        return self._values if self._shape else self._values[0]


FakeTensor.__module__ = "torch"


class Colour(enum.IntEnum):
    RED = 1


def test_a_flat_dict_of_python_values_is_copied_not_shared() -> None:
    data = {"loss": 0.5, "step_count": 3, "name": "a", "ok": True, "none": None}
    copy = snapshot(data)
    assert copy == data
    assert copy is not data
    data["loss"] = 1.0
    assert copy["loss"] == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.float64(0.25), 0.25),
        (np.float32(0.5), 0.5),
        (np.float16(2.0), 2.0),
        (np.int64(-7), -7),
        (np.uint64(2**64 - 1), 2**64 - 1),
        (np.bool_(True), True),
        (np.array(1.5), 1.5),
        (np.array([3]), 3),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
        (np.str_("text"), "text"),
        (FakeTensor([0.75], ()), 0.75),
        (FakeTensor([2.0], (1,)), 2.0),
        (FakeTensor([1.0, 2.0], (2,)), [1.0, 2.0]),
        (Colour.RED, 1),
        ((1, np.float32(2.5)), [1, 2.5]),
        (2**80, 2**80),
    ],
    ids=lambda value: type(value).__name__,
)
def test_scalars_arrays_and_tensors_become_python_values(value: Any, expected: Any) -> None:
    converted = snapshot({"x": value})["x"]
    assert converted == expected
    assert type(converted) is type(expected)


def test_nan_and_infinities_are_kept() -> None:
    converted = snapshot({"nan": np.float32("nan"), "inf": math.inf, "-inf": np.array(-np.inf)})
    assert math.isnan(converted["nan"])
    assert converted["inf"] == math.inf
    assert converted["-inf"] == -math.inf


def test_nested_dicts_stay_nested_and_are_converted() -> None:
    data = {"train": {"loss": np.float64(0.5), "acc": {"top1": FakeTensor([0.9], ())}}}
    assert snapshot(data) == {"train": {"loss": 0.5, "acc": {"top1": 0.9}}}


def test_wandb_style_objects_pass_through() -> None:
    histogram = {"_type": "histogram", "values": [1, 2], "bins": [0.0, 0.5, 1.0]}
    assert snapshot({"h": histogram}) == {"h": histogram}


def test_a_mapping_that_is_not_a_dict_is_accepted() -> None:
    assert snapshot(OrderedDict(a=1)) == {"a": 1}


def test_a_zero_d_array_mutated_after_logging_does_not_change_the_record() -> None:
    accumulator = np.array(1.0)
    copy = snapshot({"running_loss": accumulator})
    accumulator += 5
    assert copy == {"running_loss": 1.0}


def test_a_value_that_cannot_be_logged_raises_naming_its_key() -> None:
    with pytest.raises(TypeError, match=r"'train/model'.*object"):
        snapshot({"train": {"model": object()}})


def test_a_key_that_is_not_a_string_raises() -> None:
    with pytest.raises(TypeError, match="metric names must be strings"):
        snapshot({1: 0.5})  # type: ignore[dict-item]


def test_data_that_is_not_a_mapping_raises() -> None:
    with pytest.raises(TypeError, match="takes a dict"):
        snapshot([("loss", 1.0)])  # type: ignore[arg-type]


def test_nesting_deeper_than_the_protocol_allows_raises() -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(MAX_DEPTH):
        deep = {"d": deep}
    with pytest.raises(ValueError, match="deeper than"):
        snapshot(deep)


def test_a_cycle_raises_instead_of_recursing_forever() -> None:
    cycle: dict[str, Any] = {}
    cycle["self"] = cycle
    with pytest.raises(ValueError, match="deeper than"):
        snapshot(cycle)
