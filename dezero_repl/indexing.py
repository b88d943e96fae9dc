"""Indexing and array literals: their checks and their words.

Indices must be whole numbers, index arrays must not broadcast past the memory budget, and
an array literal must not be ragged; each is refused in one line naming what is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import dezero.functions as F
from dezero import Variable, as_variable
from dezero_repl import nodes
from dezero_repl.errors import CalcError, ErrorKind
from dezero_repl.values import Truth, data_of, require_array
from dezero_repl.vocabulary import MAX_DIMENSIONS, check_size, integer


def index_item(value: Any) -> Any:
    require_array(value, "an index")
    data = np.asarray(data_of(value))
    if data.ndim == 0:
        return integer(data, "an index")
    if isinstance(value, Truth):
        return data != 0  # a comparison's value: a mask
    if not np.all(np.isfinite(data)) or not np.all(data == np.round(data)):
        raise CalcError("indices must be whole numbers", kind=ErrorKind.IndexError)
    return data.astype(np.intp)


def check_index_size(shape: tuple[int, ...], key: tuple) -> None:
    """Refuse, before allocating, a result of index arrays that broadcast too large."""
    arrays = [k.shape for k in key if isinstance(k, np.ndarray)]
    if not arrays:
        return  # integers and slices never make an array larger than the target
    try:
        broadcast = np.broadcast_shapes(*arrays)
    except ValueError:
        return  # NumPy reports the mismatch itself
    rest = [d for d, k in zip(shape, key) if not isinstance(k, np.ndarray)]
    check_size((*broadcast, *rest, *shape[len(key) :]), "this index")


def index_message(text: str) -> str:
    # NumPy: "index 5 is out of bounds for axis 0 with size 3"
    return text.replace("is out of bounds", "is out of range")


def array_literal(node: nodes.ArrayLit, elements: list[Any]) -> Any:
    if not elements:
        return np.zeros(0)
    for e in elements:
        require_array(e, "an array literal", node.start, node.end)
    shapes = [np.shape(data_of(e)) for e in elements]
    for i, shape in enumerate(shapes[1:], start=2):
        if shape != shapes[0]:
            element = node.elements[i - 1]
            raise CalcError(
                f"ragged array: element {i} has shape {shape} but element 1 has shape {shapes[0]}",
                element.start,
                element.end,
                kind=ErrorKind.ValueError,
            )
    if len(shapes[0]) >= MAX_DIMENSIONS:
        raise CalcError(
            f"array nested too deeply (limit {MAX_DIMENSIONS} dimensions)",
            node.start,
            node.end,
            kind=ErrorKind.ValueError,
        )
    check_size((len(elements), *shapes[0]), "this array")
    if not any(isinstance(e, Variable) for e in elements):
        return np.array([np.asarray(e, dtype=np.float64) for e in elements])
    return F.stack([as_variable(e) for e in elements])
