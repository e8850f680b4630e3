"""Turns what training code logs into plain JSON values, on the caller's thread.

`snapshot` runs inside `log`, so it is built for the common case: a flat dict of Python
floats, ints, strings, bools and `None` is copied with one C-level `dict.copy` after a
type check per value. Anything else (NumPy and PyTorch scalars, nested dicts, lists) takes
the slower conversion below. Converting here rather than later, in the relay process, means the
record cannot change after `log` returns, even if the caller mutates a 0-d array or an
accumulator tensor in place, and that a value that cannot be logged raises at the call
that logged it.

Neither NumPy nor PyTorch is imported: their values are recognised by the module their
type comes from and converted through their own `item()` and `tolist()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 32
"""Deepest nesting of dicts and lists accepted in one record (protocol.md, section 8)."""

_PLAIN = frozenset({float, int, str, bool, type(None)})


def snapshot(data: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict holding `data`'s values as JSON-ready Python values.

    Floats keep NaN and infinities (the encoder writes `NaN`, `Infinity`, `-Infinity`);
    integers keep every digit, however large; NumPy scalars and arrays, and PyTorch
    tensors, with one element become Python scalars, larger ones nested lists; nested
    dicts stay nested (the collector flattens them with `/`).

    Raises:
        TypeError: `data` is not a mapping, a key is not a string, or a value is none of
            the above; the message names the key.
        ValueError: dicts and lists nest deeper than `MAX_DEPTH`.
    """
    if type(data) is dict:
        for key, value in data.items():
            if type(value) not in _PLAIN or type(key) is not str:
                return _mapping(data, "", 1)
        return data.copy()
    if isinstance(data, Mapping):
        return _mapping(data, "", 1)
    raise TypeError(f"chorus: log() takes a dict of metrics, not a {type(data).__name__}")


def _mapping(data: Mapping[Any, Any], path: str, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise ValueError(f"chorus: {path!r} nests dicts and lists deeper than {MAX_DEPTH} levels")
    converted: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"chorus: metric names must be strings, not {key!r} under {path or 'the top'!r}")
        converted[str(key)] = _value(value, f"{path}/{key}" if path else key, depth)
    return converted


def _value(value: Any, path: str, depth: int) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if isinstance(value, Mapping):
        return _mapping(value, path, depth + 1)
    if kind is list or kind is tuple:
        if depth + 1 > MAX_DEPTH:
            raise ValueError(f"chorus: {path!r} nests dicts and lists deeper than {MAX_DEPTH} levels")
        return [_value(item, path, depth + 1) for item in value]
    library = kind.__module__.partition(".")[0]
    if library == "numpy":
        # NumPy scalars and arrays alike have `size`, `item()` and `tolist()`.
        return _value(value.item() if value.size == 1 else value.tolist(), path, depth)
    if library == "torch":
        # `item()` and `tolist()` copy from the device and ignore autograd.
        return _value(value.item() if value.numel() == 1 else value.tolist(), path, depth)
    for plain in (bool, int, float, str):
        if isinstance(value, plain):
            return plain(value)
    raise TypeError(
        f"chorus: cannot log {path!r}: a {kind.__module__}.{kind.__qualname__} is not a number, "
        "string, bool, None, list or dict; convert it first (float(x), x.item() or x.tolist())"
    )
