"""Speed: gradient rules on plain arrays, and buffers handed back for reuse.

Every Function's ``backward`` is written with Variable operations, so that it can be
differentiated again. A first-order pass does not need that: for the operations below,
``RULES`` holds the same rule on plain arrays, one line or a few each, in the manner of
autograd's ``defvjp`` table. It skips wrapping every intermediate gradient in a Variable.
Looked up by exact type, a rule never applies to a subclass, which may differentiate
otherwise. Each entry also says what the Function's rules read, for buffer reuse.

On large arrays the pass spends its time allocating. Two things save it:

- ``into`` and ``product`` let a rule write its result into a buffer it already has, when
  the shapes and dtypes fit;
- ``release_input`` hands the buffer of a large intermediate value to its creator's rule,
  when nothing but the graph holds the value and no rule will read it again (see
  ``_release``). ``F.sum((x + 3) ** 2)`` on 10^7 elements then peaks at two arrays above
  x instead of four.

Whether only the graph holds a value is decided by ``sys.getrefcount``, with counts
calibrated at import (``calibrate``), and only on CPython with its global lock.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from dezero import core as C  # noqa: N812 - the Functions the table names
from dezero import functions as F  # noqa: N812
from dezero import operators as O  # noqa: N812
from dezero import piecewise as P  # noqa: N812
from dezero.core import Function, Variable, lowered, sum_to_array, unbroadcast


def release_input(f: Function, spares: dict[int, np.ndarray], stop: Any) -> None:
    """Release the one input of ``f`` if only ``f`` holds it and ``f``'s rule did not read it.

    The caller has seen that the input's gradient is large, as the input must then be.
    The references are counted on ``f.input_slot`` itself: a local name for the input would
    count as one more holder.
    """
    rule = RULES.get(type(f))
    if rule is None or rule.reads_input or type(f.input_slot) is tuple:
        return
    if _input_references(f) == _ONLY_INPUT:
        # one Variable, as tested above; mypy cannot tell, and a local name would count
        _release(f.input_slot, spares, stop)  # type: ignore[arg-type]


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
    if c is None:
        return
    rule = RULES.get(type(c))
    if rule is None or not rule.recycles(c) or type(c.output_slot) is tuple or id(x) in stop:
        return
    if type(x.data) is not np.ndarray or _data_references(x) != _ONLY_DATA:
        return
    data = x.data
    flags = data.flags
    if data.nbytes >= RELEASE_BYTES and flags.owndata and flags.writeable and flags.c_contiguous:
        x.data = None
        spares[id(c)] = data


def _input_references(f: Function) -> int:
    return sys.getrefcount(f.input_slot)


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


def into(ufunc: np.ufunc, out: np.ndarray | None, *operands: Any) -> Any:
    """``ufunc(*operands)``, written into ``out`` if it fits there (see ``_fits``)."""
    out = _fits(out, *operands)
    # out=None is not free: NumPy takes 1 µs instead of 0.25 for the cosine of a scalar
    return ufunc(*operands) if out is None else ufunc(*operands, out=out)


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


def _calibrate() -> None:
    """Count the references to a value held once, the way ``_release`` counts them.

    The counts depend on the interpreter's version; measuring them here, through the same
    functions, keeps ``_release`` exact. Only CPython with its global lock counts references
    exactly; elsewhere nothing is released.
    """
    global _ONLY_INPUT, _ONLY_DATA
    f = Function()
    f.input_slot = Variable(None)
    _ONLY_INPUT = _input_references(f)
    _ONLY_DATA = _data_references(Variable(np.empty(0)))


if COUNTS_REFERENCES:
    _calibrate()


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


class Rule(NamedTuple):
    """A Function's first-order rule on arrays, and what its rules read.

    ``backward(f, *gys)`` returns the inputs' gradients as ``f.backward`` would, on arrays;
    if ``recycles`` (a flag, or a test of the Function) it also accepts ``out=``, the
    output's buffer, to write the one input's gradient into. ``reads_input = False`` says
    that none of the Function's rules reads its input's data (``sum`` needs its shape).
    """

    backward: Callable[..., Any] | None
    reads_input: bool = True
    recycles_output: bool | Callable[[Any], bool] = False

    def recycles(self, f: Function) -> bool:
        flag = self.recycles_output
        return flag(f) if callable(flag) else flag


RULES: dict[type, Rule] = {}
#: The array rules alone, as the backward pass looks them up.
BACKWARD: dict[type, Callable[..., Any]] = {}


def rule(cls: type, reads_input: bool = True, recycles_output: Any = False) -> Callable:
    """Enter the decorated function in ``RULES`` as the array rule of ``cls``."""

    def enter(backward: Callable) -> Callable:
        RULES[cls] = Rule(backward, reads_input, recycles_output)
        BACKWARD[cls] = backward
        return backward

    return enter


def _square(f: C.Pow) -> bool:
    return np.ndim(f.c) == 0 and f.c == 2


# The arithmetic of core and operators: gx = gy·∂y/∂x, summed back to x's shape.


@rule(C.Add)
def _add(f, gy):
    shape = gy.shape  # each check spelled out: the calls to unbroadcast cost more than it
    gx0 = gy if f.x0_shape == shape else sum_to_array(gy, f.x0_shape)
    return gx0, gy if f.x1_shape == shape else sum_to_array(gy, f.x1_shape)


rule(C.Sub)(C.Sub.backward)
rule(O.AddConstant, reads_input=False)(O.AddConstant.backward)


@rule(C.Mul, recycles_output=True)
def _mul(f, gy, out=None):
    x0, x1 = f.inputs
    gx0 = gy * x1.data if out is None else into(np.multiply, out, gy, x1.data)
    return unbroadcast(gx0, x0.shape), unbroadcast(gy * x0.data, x1.shape)


@rule(C.Div)
def _div(f, gy):
    x0, x1 = f.inputs
    gx0 = gy / x1.data
    return unbroadcast(gx0, x0.shape), unbroadcast(-gx0 * x0.data / x1.data, x1.shape)


@rule(C.Neg, reads_input=False, recycles_output=True)
def _neg(f, gy, out=None):
    return -gy if out is None else into(np.negative, out, gy)


@rule(C.Pow, recycles_output=_square)
def _pow(f, gy, out=None):
    x, c = f.inputs[0].data, f.c
    g = repeated_value(gy)
    if g is not None and np.ndim(c) == 0:  # as after a sum: fold g into the constant
        return _power_rule(x, c, c * g, out)
    gx = _power_rule(x, c, c, out)
    return unbroadcast(product(gx, gy, gx), x.shape)


def _power_rule(x: np.ndarray, c: Any, k: Any, out: np.ndarray | None) -> Any:
    """``k * x ** (c - 1)``, where k is c or c times a gradient; into ``out`` if it fits."""
    if np.ndim(c) or c != 2:
        power = C.power(x, lowered(c))
        return product(k, power, power)
    return x * k if out is None else into(np.multiply, out, x, k)


@rule(O.SubFromConstant, reads_input=False, recycles_output=True)
def _sub_from_constant(f, gy, out=None):
    return unbroadcast(-gy if out is None else into(np.negative, out, gy), f.x_shape)


@rule(O.MulConstant, reads_input=False, recycles_output=True)
def _mul_constant(f, gy, out=None):
    gx = gy * f.c if out is None else into(np.multiply, out, gy, f.c)
    return unbroadcast(gx, f.x_shape)


@rule(O.DivConstant, reads_input=False, recycles_output=True)
def _div_constant(f, gy, out=None):
    gx = gy / f.c if out is None else into(np.divide, out, gy, f.c)
    return unbroadcast(gx, f.x_shape)


@rule(O.DivFromConstant)
def _div_from_constant(f, gy):
    x = f.inputs[0].data
    return unbroadcast(gy * (-f.c) / x / x, x.shape)


# Elementwise functions: gx = gy·f'(x), from the input or from the output y.


@rule(F.Sin, recycles_output=True)
def _sin(f, gy, out=None):
    cosine = into(np.cos, out, f.inputs[0].data)
    return product(gy, cosine, cosine)


@rule(F.Cos, recycles_output=True)
def _cos(f, gy, out=None):
    sine = into(np.sin, out, f.inputs[0].data)
    minus_sine = into(np.negative, sine, sine)
    return product(gy, minus_sine, minus_sine)


@rule(F.Tan, reads_input=False)
def _tan(f, gy):
    y = f.outputs[0]().data
    return gy * (1 + y * y)


@rule(F.Tanh)
def _tanh(f, gy):
    x = f.inputs[0].data
    return gy * (4 * F.sigmoid_array(2 * x) * F.sigmoid_array(-2 * x))


@rule(F.Exp, reads_input=False)
def _exp(f, gy):
    return gy * f.outputs[0]().data


@rule(F.Log, recycles_output=True)
def _log(f, gy, out=None):
    x = f.inputs[0].data
    return gy / x if out is None else into(np.divide, out, gy, x)


@rule(F.Sqrt, reads_input=False)
def _sqrt(f, gy):
    return gy / (2 * f.outputs[0]().data)


# Piecewise functions (dezero.piecewise): flat between jumps, or one piece's slope.


def _flat(f, gy):
    zeros = tuple(np.zeros(x.shape, dtype=np.result_type(x.dtype, np.float64)) for x in f.inputs)
    return zeros if len(zeros) > 1 else zeros[0]


for _step in (P.Floor, P.Ceil, P.Round, P.Sign, P.FloorDiv):
    rule(_step)(_flat)


@rule(P.Mod)
def _mod(f, gy):  # ∂/∂a = 1, ∂/∂m = -(a // m)
    a, m = f.inputs
    return unbroadcast(gy, a.shape), unbroadcast(gy * -np.floor_divide(a.data, m.data), m.shape)


@rule(P.Where)
def _where(f, gy):
    a, b = f.inputs
    c = f.condition
    return unbroadcast(np.where(c, gy, 0.0), a.shape), unbroadcast(np.where(c, 0.0, gy), b.shape)


@rule(P.Maximum)
@rule(P.Minimum)
def _extreme(f, gy):  # to the arguments that attain it, ties sharing
    gxs = tuple(unbroadcast(gy * w, x.shape) for x, w in zip(f.inputs, f.weights()))
    return gxs if len(gxs) > 1 else gxs[0]


# No faster rule (bench_rules.py), but what their rules read: sum only its input's shape,
# softmax and log_softmax their output.
RULES[F.Sum] = RULES[F.Softmax] = RULES[F.LogSoftmax] = Rule(None, reads_input=False)


# Shapes: gradients are moved back into place.


@rule(F.Reshape)
def _reshape(f, gy):
    return gy.reshape(f.x_shape)


@rule(F.GetItem)
def _get_item(f, gy):
    gx = np.zeros(f.inputs[0].shape, dtype=np.result_type(gy, np.float64))
    F.scatter_add(gx, f.slices, gy)
    return gx


@rule(F.Stack)
def _stack(f, gy):
    gxs = tuple(np.moveaxis(gy, f.axis, 0))
    return gxs if len(gxs) > 1 else gxs[0]


@rule(F.SumTo, reads_input=False)
def _sum_to(f, gy):
    return np.broadcast_to(gy, f.x_shape)


@rule(F.BroadcastTo)
def _broadcast_to(f, gy):
    return sum_to_array(gy, f.x_shape)
