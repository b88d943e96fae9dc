"""Turning results into text: numbers, arrays, gradient lines, and JSON objects.

Numbers print in the shortest form that reads back to the same float (or with a chosen
number of significant digits, with an exponent only where those digits cannot show the
number exactly: 100000, but 1.235e5 for 123456 at 4 digits); integral values have no
``.0`` and ``-0`` prints as ``0``.
Arrays print like NumPy's, with their elements aligned; one of more than ``ELEMENTS``
elements is summarized as NumPy does (its first and last three along each axis), unless the
session asks for every element (``:elements all``).
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np


def format_number(value: Any, precision: int | None = None) -> str:
    """One float as the calculator shows it."""
    value = float(value)  # a Python or NumPy number, or a 0-d array
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    text = repr(value) if precision is None else f"{value:.{precision}g}"
    if "e" in text and precision is not None and float(text) == value and 1e-4 <= abs(value) < 1e16:
        text = repr(value)  # shown exactly at this precision: no exponent, as repr would
    if "e" in text:
        mantissa, exponent = text.split("e")
        mantissa = _strip_zero_fraction(mantissa)
        sign = "-" if exponent.startswith("-") else ""
        return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return _strip_zero_fraction(text)


def _strip_zero_fraction(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


#: Arrays of more elements than this print summarized, as NumPy's ``threshold``.
ELEMENTS = 1000


def format_value(value: Any, precision: int | None = None, elements: int | None = ELEMENTS) -> str:
    """A 0-d value as a number, an array as NumPy would print it, elements aligned;
    summarized beyond ``elements`` elements (None: never)."""
    if type(value) is np.float64 or (  # a number, as dezero holds one or as a 0-d array:
        type(value) is np.ndarray and value.shape == () and value.dtype == np.float64
    ):  # the usual case, printed without a conversion
        return format_number(value, precision)
    value = np.asarray(value, dtype=np.float64)  # no copy for float64
    if value.ndim == 0:
        return format_number(value, precision)
    if value.size == 0:
        return "[]" if value.ndim == 1 else f"empty array of shape {value.shape}"
    threshold = sys.maxsize if elements is None else elements
    flat = value.reshape(-1)
    width = max(len(format_number(v, precision)) for v in _sample(flat, threshold))

    def text(part: np.ndarray) -> str:
        return np.array2string(
            part,
            max_line_width=88,
            separator=" ",
            threshold=threshold,
            formatter={"float_kind": lambda v: format_number(v, precision).rjust(width)},
        )

    if value.ndim == 1 and LONG_ROW < value.size <= threshold:
        return _long_row(value, text)
    return text(value)


#: A row longer than this is printed in pieces: NumPy builds the text of one row by adding
#: to a string, in time that grows with the square of its length (10^6 elements took 6 s).
LONG_ROW = 10_000


def _long_row(row: np.ndarray, text: Any) -> str:
    """The text of a long 1-D array, as ``text`` gives it, made from pieces of whole lines:
    every line but the last holds the same number of elements, all of one width."""
    per_line = len(text(row[:LONG_ROW]).splitlines()[0][1:].split())
    size = per_line * (LONG_ROW // per_line)
    pieces = [text(row[i : i + size])[1:-1] for i in range(0, row.size, size)]
    return "[" + "\n ".join(pieces) + "]"


def _sample(flat: np.ndarray, threshold: int) -> np.ndarray:
    """The elements that a summarized print shows (all of them for small arrays)."""
    if flat.size <= threshold:
        return flat
    return np.concatenate([flat[:3], flat[-3:]])


def describe_shape(value: Any) -> str:
    """'scalar' or the shape written as 2×3."""
    value = np.asarray(value)
    if value.ndim == 0:
        return "scalar"
    return "×".join(str(n) for n in value.shape)


def summary_json(value: Any) -> dict[str, Any]:
    """A large array in JSON as its shape and its first and last three elements."""
    value = np.asarray(value, dtype=np.float64)
    flat = value.reshape(-1)
    return {
        "shape": list(value.shape),
        "size": int(value.size),
        "first": to_json(flat[:3]),
        "last": to_json(flat[-3:]),
    }


def to_json(value: Any) -> Any:
    """An array or number as JSON data: nested lists, non-finite numbers as strings."""
    value = np.asarray(value, dtype=np.float64) + 0.0  # + 0.0 turns -0 into 0
    if np.isfinite(value).all():
        return value.tolist()
    if value.ndim == 0:
        v = float(value)
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    out = value.astype(object)
    out[np.isnan(value)] = "nan"
    out[np.isposinf(value)] = "inf"
    out[np.isneginf(value)] = "-inf"
    return out.tolist()
