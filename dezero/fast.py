"""Speed on large arrays: rules that write into buffers, and buffers handed back for reuse.

A first-order backward pass on large arrays spends its time allocating. Two things save it:

- ``into`` and ``product`` let an array rule write its result into a buffer it already
  has, when the shapes and dtypes fit;
- ``release_input`` hands the buffer of a large intermediate value to its creator's rule,
  when nothing but the graph holds the value and no rule will read it again (see
  ``_release``). ``F.sum((x + 3) ** 2)`` on 10^7 elements then peaks at two arrays above
  x instead of four.

Whether only the graph holds a value is decided by ``sys.getrefcount``, with counts
calibrated at import (``calibrate``), and only on CPython with its global lock.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from dezero.core import Function, Variable


def release_input(f: Function, spares: dict[int, np.ndarray], stop: Any) -> None:
    """Release the one input of ``f`` if only ``f`` holds it and ``f``'s rule did not read it.

    The caller has seen that the input's gradient is large, as the input must then be.
    The references are counted on ``f._inputs`` itself: a local name for the input would
    count as one more holder.
    """
    if f.reads_input_data or type(f._inputs) is tuple:
        return
    if _input_references(f) == _ONLY_INPUT:
        _release(f._inputs, spares, stop)


def _release(x: Variable, spares: dict[int, np.ndarray], stop: Any) -> None:
    """Hand the buffer of ``x`` to its creator's rule, to write a gradient into.

    Only the graph holds ``x``, the only Function that uses it has run a rule that did not
    read it, and the creator's rule does not read it either: the value can never be read
    again but by a walk of the graph, which then finds ``x.data`` None. So that this stays
    rare and worth it, only a large array held by ``x`` alone (no view, no caller) that owns
    its memory is released; ``retain_grad=True`` releases nothing. It must be C-ordered,
    NumPy's default: the gradient written into it has the layout a fresh one would have.
    """
    c = x.creator
    if c is None or not c.recycles_output or type(c._outputs) is tuple or id(x) in stop:
        return
    if type(x.data) is not np.ndarray or _data_references(x) != _ONLY_DATA:
        return
    data = x.data
    flags = data.flags
    if data.nbytes >= RELEASE_BYTES and flags.owndata and flags.writeable and flags.c_contiguous:
        x.data = None
        spares[id(c)] = data


def _input_references(f: Function) -> int:
    return sys.getrefcount(f._inputs)


def _data_references(x: Variable) -> int:
    return sys.getrefcount(x.data)


def _fits(out: np.ndarray | None, *operands: Any) -> np.ndarray | None:
    """``out`` if a ufunc of ``operands`` can write its result there as is, else None.

    None as a ufunc's ``out`` lets NumPy allocate, so ``_into`` passes the answer along.
    """
    if type(out) is not np.ndarray:
        return None
    shape = np.broadcast_shapes(*[np.shape(a) for a in operands])
    if out.shape == shape and out.dtype.kind in "fc" and out.dtype == np.result_type(*operands):
        return out
    return None


def into(ufunc: np.ufunc, out: np.ndarray, *operands: Any) -> Any:
    """``ufunc(*operands)``, written into ``out`` if it fits there (see ``_fits``)."""
    return ufunc(*operands, out=_fits(out, *operands))


def product(a: Any, b: Any, own: Any) -> Any:
    """``a * b``, where ``own`` (a or b) is an array the rule has just computed: the product
    goes into its buffer if it fits. The order of a and b is kept: NumPy's complex products
    are not always bitwise commutative."""
    out = _fits(own, a, b)
    return a * b if out is None else np.multiply(a, b, out=out)


def repeated_value(g: Any) -> Any:
    """The number that fills ``g`` if it is one number broadcast, else None.

    The gradient of a sum is such an array; multiplying by the number saves a pass.
    """
    if type(g) is np.ndarray and g.size and g.ndim and not any(g.strides):
        return g.reshape(-1)[0]
    return None


RELEASE_BYTES = 1 << 20  # smaller buffers cost little to allocate afresh
COUNTS_REFERENCES = (
    sys.implementation.name == "cpython" and getattr(sys, "_is_gil_enabled", lambda: True)()
)
_ONLY_INPUT = _ONLY_DATA = -1


def calibrate(function: type, variable: type) -> None:
    """Count the references to a value held once, the way ``_release`` counts them.

    The counts depend on the interpreter's version; measuring them here, through the same
    functions, keeps ``_release`` exact. Only CPython with its global lock counts references
    exactly; elsewhere nothing is released. dezero.core calls this once it has defined
    Function and Variable.
    """
    global _ONLY_INPUT, _ONLY_DATA
    if not COUNTS_REFERENCES:
        return
    f = function()
    f._inputs = variable(None)
    _ONLY_INPUT = _input_references(f)
    _ONLY_DATA = _data_references(variable(np.empty(0)))
