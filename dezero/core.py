"""The heart of dezero: Variable, Function, the backward pass and the arithmetic operators.

A Variable holds an array and remembers the Function that created it; a Function remembers
its inputs strongly and its outputs weakly, so a graph lives exactly as long as its last
output (seed step 17). ``Variable.backward`` walks the graph in reverse, iteratively,
taking functions from a heap keyed on generation, so long chains and wide graphs both cost
time linear in their size.

Gradient rules are written with Variable operations. That is what makes higher-order
derivatives free: with ``create_graph=True`` the rules themselves are recorded. Without it
they run under ``no_grad()``, where an operation is a NumPy call wrapped in a Variable and
nothing more.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import numpy as np

from dezero.budget import this_thread as _budgets

if TYPE_CHECKING:
    from types import ModuleType

# ---------------------------------------------------------------------------
# Configuration (seed step 18)
# ---------------------------------------------------------------------------


class _PerThread(threading.local):
    """The switches each thread has its own copy of, as PyTorch keeps its grad mode: one
    thread in ``no_grad()`` (or inside ``backward()``) must not stop another's graphs."""

    enable_backprop = True


_state = _PerThread()


class _ConfigType(type):
    """Makes ``Config.enable_backprop`` (the book's spelling) read and set this thread's."""

    @property
    def enable_backprop(cls) -> bool:
        return _state.enable_backprop

    @enable_backprop.setter
    def enable_backprop(cls, value: bool) -> None:
        _state.enable_backprop = value


class Config(metaclass=_ConfigType):
    """Switches. ``enable_backprop`` decides whether graphs are recorded; it is kept per
    thread. Other switches a program adds (``Config.train = False``) are shared."""


class using_config(contextlib.ContextDecorator):  # noqa: N801 - the book's name
    """Set ``Config.<name>`` to ``value`` for the body of a ``with`` block (or a decorated
    function), and restore it afterwards, even when the body raises.

    A class rather than a generator: entering and leaving cost a third as much, and the
    calculator enters one for every statement.
    """

    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value
        self.saved: list[Any] = []  # one per level, when the same one is entered again

    def __enter__(self) -> None:
        self.saved.append(getattr(Config, self.name))
        setattr(Config, self.name, self.value)

    def __exit__(self, *exc: object) -> None:
        setattr(Config, self.name, self.saved.pop())


def no_grad() -> using_config:
    """Evaluate without recording a graph: ``with no_grad(): ...``."""
    return using_config("enable_backprop", False)


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------


#: What a Variable holds: an array, or, as a Function's 0-d float64 result, the NumPy float64
#: scalar that NumPy's arithmetic returns. The book wraps such a scalar back into a 0-d array
#: (``as_array``), which costs more than the arithmetic itself: 280 ns against 80 for a
#: product. Kept as it is, it is one object fewer per operation; it reads like a 0-d array
#: (shape, ndim, size, dtype, item) and computes like one, but cannot be written in place.
Value: TypeAlias = "np.ndarray | np.float64"


def as_array(x: Any) -> Any:
    """Turn a scalar (Python or NumPy) into a 0-d array; leave anything else as it is."""
    if type(x) is np.ndarray:  # the commonest, and np.isscalar takes a microsecond to say no
        return x
    if type(x) is float or type(x) is int or np.isscalar(x):
        return np.array(x)
    return x


def as_variable(obj: Any) -> Variable:
    """Wrap anything array-like in a Variable; return Variables unchanged."""
    if isinstance(obj, Variable):
        return obj
    return Variable(as_array(obj))


# ---------------------------------------------------------------------------
# Variable
# ---------------------------------------------------------------------------


class Variable:
    """A node of the computational graph: a value (see ``Value``), its gradient and its
    creator."""

    __slots__ = ("data", "name", "grad", "creator", "generation", "__weakref__")
    __array_priority__ = 200

    def __init__(self, data: Value | None, name: str | None = None) -> None:
        if type(data) is not np.ndarray and type(data) is not np.float64 and data is not None:
            if not isinstance(data, np.ndarray):
                raise TypeError(f"{type(data)} is not supported")
        self.data: Value | None = data  # None: empty, or released by backward (see fast)
        self.name = name
        self.grad: Variable | None = None
        self.creator: Function | None = None
        self.generation = 0

    # -- what it looks like -------------------------------------------------

    # A Variable without data (see __init__) has none of these: they then raise
    # AttributeError (len: TypeError). Read on the hot paths, they do not check first,
    # hence the ignores.

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape  # type: ignore[union-attr]

    @property
    def ndim(self) -> int:
        return self.data.ndim  # type: ignore[union-attr]

    @property
    def size(self) -> int:
        return self.data.size  # type: ignore[union-attr]

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype  # type: ignore[union-attr]

    def __len__(self) -> int:
        return len(self.data)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        if self.data is None:
            return "variable(None)"
        p = str(self.data).replace("\n", "\n" + " " * 9)
        return "variable(" + p + ")"

    # -- the graph ------------------------------------------------------------

    def set_creator(self, func: Function) -> None:
        """Record ``func`` as the Function that made this Variable, one generation later."""
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self) -> None:
        """Forget the gradient, before another backward pass."""
        self.grad = None

    def unchain(self) -> None:
        """Forget the creator: this Variable becomes a leaf."""
        self.creator = None

    def unchain_backward(self) -> None:
        """Cut every link of the graph upstream of this Variable."""
        if self.creator is None:
            return
        funcs = [self.creator]
        self.unchain()
        while funcs:
            f = funcs.pop()
            for x in f.inputs:
                if x.creator is not None:
                    funcs.append(x.creator)
                    x.unchain()

    def backward(self, retain_grad: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(v) into ``v.grad`` for every Variable v upstream.

        ``retain_grad=False`` frees the gradients of intermediate Variables as soon as
        they have been used, and lets the pass reuse the buffer of a large intermediate
        value that only the graph holds and no rule reads (its ``data`` becomes None; see
        ``Function``). ``create_graph=True`` records the backward pass itself, so that
        gradients can be differentiated again; it releases nothing.
        """
        if self.grad is None:
            self.grad = Variable(np.ones_like(self.data))
        if self.creator is None:
            return
        from dezero.backprop import backprop  # dezero.backprop imports this module

        keep = None if retain_grad else ()
        backprop(self, keep, create_graph)

    # -- shape methods (the functions live in dezero.functions) -------------

    def reshape(self, *shape: int | tuple[int, ...]) -> Variable:
        """The same elements in another shape: x.reshape(2, 3) or x.reshape((2, 3))."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _functions().reshape(self, shape)

    def transpose(self, *axes: int | tuple[int, ...]) -> Variable:
        """The axes reversed, or permuted: x.transpose(1, 0, 2)."""
        if len(axes) == 0:
            return _functions().transpose(self, None)
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)) or axes == (None,):
            return _functions().transpose(self, axes[0])
        return _functions().transpose(self, axes)

    @property
    def T(self) -> Variable:  # noqa: N802 - NumPy's name
        return _functions().transpose(self)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:
        """The sum of the elements, of all or along ``axis``."""
        return _functions().sum(self, axis, keepdims)

    def __getitem__(self, slices: Any) -> Variable:
        return _functions().get_item(self, slices)

    # -- operators --------------------------------------------------------------

    # + - * / ** and unary minus are the functions of dezero.operators, assigned to Variable
    # there, as in the book: an operator then costs no call of its own. Declared here for
    # type checkers, as what they are: class attributes holding plain functions.
    __add__: ClassVar[Callable[[Variable, Any], Variable]]
    __radd__: ClassVar[Callable[[Variable, Any], Variable]]
    __sub__: ClassVar[Callable[[Variable, Any], Variable]]
    __rsub__: ClassVar[Callable[[Variable, Any], Variable]]
    __mul__: ClassVar[Callable[[Variable, Any], Variable]]
    __rmul__: ClassVar[Callable[[Variable, Any], Variable]]
    __truediv__: ClassVar[Callable[[Variable, Any], Variable]]
    __rtruediv__: ClassVar[Callable[[Variable, Any], Variable]]
    __pow__: ClassVar[Callable[[Variable, Any], Variable]]
    __rpow__: ClassVar[Callable[[Variable, Any], Variable]]
    __neg__: ClassVar[Callable[[Variable], Variable]]

    def __matmul__(self, other: Any) -> Variable:
        return _functions().matmul(self, other)

    def __rmatmul__(self, other: Any) -> Variable:
        return _functions().matmul(other, self)

    def __pos__(self) -> Variable:
        return self


def _functions() -> ModuleType:  # dezero.functions imports this module, so import it late
    from dezero import functions

    return functions


def setup_variable() -> None:
    """Kept for code written for the book: the operators are already part of Variable."""


# ---------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------


class Function:
    """An operation on Variables: ``forward`` computes on arrays, ``backward`` on Variables.

    ``inputs`` and ``outputs`` are the book's lists (of Variables, and of weak references to
    them). Underneath, ``input_slot`` and ``output_slot`` hold a single input or output as it
    is and several in a tuple, and the backward passes read them directly: every object of a
    graph is work for Python's cycle collector, and a list for every Function made a chain of
    a million operations 11% slower both ways (most Functions have one input and one output).

    First-order backpropagation may use a faster rule on plain arrays, from the table in
    ``dezero.fast``; a subclass never inherits one, so it is always differentiated by its
    own ``backward``.
    """

    # A graph holds one Function per operation: declared slots, here and in every subclass
    # of dezero's, spare each its __dict__, one object fewer for the cycle collector to
    # walk (a chain of a million operations is built in 4.1 µs an operation instead of
    # 5.7). A subclass without __slots__, as the book writes them, has a __dict__ as before.
    __slots__ = ("generation", "input_slot", "output_slot", "__weakref__")

    # Set by __call__ when a graph is recorded. The slots are told apart by exact type
    # (``type(xs) is tuple``), which mypy does not narrow on: readers take them into a local
    # typed Any, which costs nothing at run time.
    generation: int
    input_slot: Variable | tuple[Variable, ...]
    output_slot: weakref.ref[Variable] | tuple[weakref.ref[Variable], ...]

    @property
    def inputs(self) -> list[Variable]:
        xs: Any = self.input_slot
        return list(xs) if type(xs) is tuple else [xs]

    @inputs.setter
    def inputs(self, xs: list[Variable]) -> None:
        self.input_slot = xs[0] if len(xs) == 1 else tuple(xs)

    @property
    def outputs(self) -> list[weakref.ref[Variable]]:
        ys: Any = self.output_slot
        return list(ys) if type(ys) is tuple else [ys]

    @outputs.setter
    def outputs(self, ys: list[weakref.ref[Variable]]) -> None:
        self.output_slot = ys[0] if len(ys) == 1 else tuple(ys)

    def __call__(self, *inputs: Any) -> Any:
        """Apply the Function: its output Variable, or a list of them if it has several
        (which ``forward`` decides at run time, hence Any)."""
        # One and two inputs, and one output, are the hot path: they are spelled out.
        kept: Variable | tuple[Variable, ...]
        if len(inputs) == 1:
            (x,) = inputs
            if not isinstance(x, Variable):
                x = as_variable(x)
            ys = self.forward(x.data)
            generation, kept = x.generation, x
        elif len(inputs) == 2:
            x0 = inputs[0] if isinstance(inputs[0], Variable) else as_variable(inputs[0])
            x1 = inputs[1] if isinstance(inputs[1], Variable) else as_variable(inputs[1])
            ys = self.forward(x0.data, x1.data)
            generation, kept = max(x0.generation, x1.generation), (x0, x1)
        else:
            kept = tuple([x if isinstance(x, Variable) else as_variable(x) for x in inputs])
            ys = self.forward(*[x.data for x in kept])
            generation = max([x.generation for x in kept])
        budget = _budgets.budget
        if budget is not None:  # see dezero.budget
            budget.produced(ys)
        if type(ys) is not tuple:
            y = _new_variable(Variable)  # Variable(ys), without __init__'s check of the type
            y.data = ys if type(ys) is np.ndarray or type(ys) is np.float64 else np.asarray(ys)
            y.name = y.grad = None
            if _state.enable_backprop:
                self.generation = generation
                y.creator = self
                y.generation = generation + 1
                self.input_slot = kept
                self.output_slot = weakref.ref(y)
            else:
                y.creator, y.generation = None, 0
            return y
        outputs = [Variable(y if type(y) is np.float64 else as_array(y)) for y in ys]
        if _state.enable_backprop:
            self.generation = generation
            for output in outputs:
                output.set_creator(self)
            self.input_slot = kept
            self.outputs = [weakref.ref(output) for output in outputs]
        return outputs if len(outputs) > 1 else outputs[0]

    # Each subclass gives its rules their own parameters, one per input (or per output
    # gradient): mypy accepts any parameters in an override of ``*xs: Any``.

    def forward(self, *xs: Any) -> Any:
        """The outputs' values from the inputs' values (arrays), on plain arrays: an array or
        a NumPy scalar, or a tuple of them for several outputs."""
        raise NotImplementedError()

    def backward(self, *gys: Any) -> Variable | tuple[Variable | None, ...] | None:
        """The inputs' gradients from the outputs' gradients ``gys`` (Variables, or None for
        an output that has none), written with Variable operations so that they can be
        differentiated again; None for an input that gets no gradient."""
        raise NotImplementedError()

    def taylor(self, *xs: Any) -> list[Any] | tuple[list[Any], ...]:
        """The Taylor series of the output from those of the inputs (see ``dezero.series``).

        Each series is a list of coefficients [x0, x1, ..., xd]; the rule returns the
        output's, computed with Variable operations so that it can be differentiated again.
        """
        raise NotImplementedError(f"{type(self).__name__} has no Taylor rule")


# ---------------------------------------------------------------------------
# Arithmetic: the Functions behind + - * / ** (dezero.operators gives Variable its operators)
# ---------------------------------------------------------------------------


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting on a gradient, Variable or array: sum it to ``shape``."""
    if g.shape == shape:
        return g
    if isinstance(g, Variable):
        return _functions().sum_to(g, shape)
    return sum_to_array(g, shape)


#: A sum this many times smaller than its largest term has lost as many times the rounding
#: error of its terms: the digits that cancelled.
CANCELLATION = 1e3
#: While a backward pass that watches for cancellation runs (``dezero.backprop``), the list
#: it notes "cancellation" in: the sums of broadcasting's gradients note theirs there too.
watch: list[str] | None = None


def sum_to_array(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``x`` over the axes that broadcasting added or stretched, to get ``shape``."""
    lead = x.ndim - len(shape)
    lead_axis = tuple(range(lead))
    axis = tuple(i + lead for i, sx in enumerate(shape) if sx == 1)
    y = x.sum(lead_axis + axis, keepdims=True)
    if watch is not None and (lead_axis or axis):
        _reserve(x.nbytes)
        with np.errstate(all="ignore"):
            largest = np.abs(x).max(lead_axis + axis, keepdims=True, initial=0.0)
            if np.any(largest > CANCELLATION * np.abs(y)):
                watch.append("cancellation")
    return y.squeeze(lead_axis) if lead > 0 else y


def watch_sums(total: np.ndarray, sizes: Callable[[], np.ndarray], held: int) -> None:
    """While a backward pass watches for cancellation (``watch``), note it where ``total``,
    sums taken whole (a matrix product, a scatter that adds), is under 1/CANCELLATION of
    ``sizes()``, the sums of their terms' magnitudes: |a| @ |b| for a @ b. Computing them
    holds ``held`` bytes more, within the statement's budget."""
    if watch is None:
        return
    _reserve(held)
    with np.errstate(all="ignore"):
        if np.any(sizes() > CANCELLATION * np.abs(total)):
            watch.append("cancellation")


def _reserve(nbytes: int) -> None:
    """A watch's own array, within the statement's budget (see dezero.budget)."""
    from dezero.budget import active

    budget = active()
    if budget is not None:
        budget.reserve(nbytes)


SUM_BLOCK = 1024  # elements a row of ``sum_array``'s matrix: 8 KiB
SUM_BY_BLAS = 1 << 16  # the smallest array it sums with BLAS


def sum_array(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> Any:
    """``x.sum(axis, keepdims)``, with the sum of a large float64 array's every element
    taken by BLAS.

    NumPy adds pairwise in scalar code, at about 3 GB/s. Seen as a matrix of rows of 1,024
    elements times a vector of ones, the same sum is a product that BLAS computes with SIMD
    and every core it uses; NumPy then adds the rows' sums pairwise. The rounding is that of
    a pairwise sum (each row's sum is split among BLAS's accumulators), and on 10^7 elements
    the pass takes a third of the time (``benchmarks/bench_core.py`` [4]).

    A sum that is not finite is taken again by NumPy, which raises its floating-point
    warnings: a finite one met no overflow or invalid operation on the way.
    """
    n = x.size
    if axis is not None or n < SUM_BY_BLAS or x.dtype is not _FLOAT64 or not x.flags.c_contiguous:
        return x.sum(axis=axis, keepdims=keepdims)
    flat = x.reshape(-1)
    rows = n // SUM_BLOCK
    total = (flat[: rows * SUM_BLOCK].reshape(rows, SUM_BLOCK) @ _ONES).sum()
    total += flat[rows * SUM_BLOCK :].sum()
    if not np.isfinite(total):  # BLAS's threads would not raise NumPy's warnings
        return x.sum(keepdims=keepdims)
    return np.reshape(total, (1,) * x.ndim) if keepdims else total


_ONES = np.ones(SUM_BLOCK)
_ONES.flags.writeable = False


def _series() -> ModuleType:
    from dezero import series

    return series


def scalar(x: Any) -> Any:
    """``x`` ready for NumPy's arithmetic: a 0-d float64 array becomes a NumPy scalar.

    NumPy computes on its scalars several times faster than on 0-d arrays, with the same
    IEEE results and the same floating-point warnings (but for ``**``: see ``power``). A
    Function's 0-d float64 result stays the scalar NumPy returns (see ``Value``).
    """
    if type(x) is np.float64:
        return x
    return x[()] if x.dtype is _FLOAT64 and x.ndim == 0 else x


def power(x: Any, c: Any) -> Any:
    """``x ** c`` as NumPy computes it on arrays, whether x and c are arrays or float64
    scalars (see ``Value``).

    A NumPy scalar's ``**`` is C's ``pow``; an array's takes a square root for the exponent
    0.5, and their answers differ: (-inf) ** 0.5 is inf for the one and nan for the other,
    (-0.0) ** 0.5 is 0.0 and -0.0. So a scalar is made a 0-d array first.
    """
    if type(x) is np.float64:
        x = np.asarray(x)
    if type(c) is np.float64:
        c = np.asarray(c)
    return x**c


class Add(Function):
    """x0 + x1, broadcasting."""

    __slots__ = ("x0_shape", "x1_shape")

    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return scalar(x0) + scalar(x1)

    def backward(self, gy):
        return unbroadcast(gy, self.x0_shape), unbroadcast(gy, self.x1_shape)

    def taylor(self, x0, x1):
        return _series().sum_of(x0, x1)


class Sub(Function):
    """x0 - x1, broadcasting."""

    __slots__ = ("x0_shape", "x1_shape")

    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return scalar(x0) - scalar(x1)

    def backward(self, gy):
        return unbroadcast(gy, self.x0_shape), unbroadcast(-gy, self.x1_shape)

    def taylor(self, x0, x1):
        return _series().difference(x0, x1)


class Mul(Function):
    """x0 * x1, broadcasting."""

    __slots__ = ()

    def forward(self, x0, x1):
        return scalar(x0) * scalar(x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        return unbroadcast(gy * x1, x0.shape), unbroadcast(gy * x0, x1.shape)

    def taylor(self, x0, x1):
        return _series().product(x0, x1)


class Div(Function):
    """x0 / x1, broadcasting."""

    __slots__ = ()

    def forward(self, x0, x1):
        return scalar(x0) / scalar(x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = gy / x1
        gx1 = -gx0 * x0 / x1  # -gy x0 / x1², dividing twice: x1**2 would square at every order
        return unbroadcast(gx0, x0.shape), unbroadcast(gx1, x1.shape)

    def taylor(self, x0, x1):
        return _series().quotient(x0, x1)


class Neg(Function):
    """-x."""

    __slots__ = ()

    def forward(self, x):
        return -scalar(x)

    def backward(self, gy):
        return -gy

    def taylor(self, x):
        return _series().negative(x)


class Pow(Function):
    """``x ** c`` for a constant exponent c (the book's Pow)."""

    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return power(x, self.c)

    def backward(self, gy):
        (x,) = self.inputs
        c = self.c
        return unbroadcast(c * x ** lowered(c) * gy, x.shape)

    def taylor(self, x):
        return _series().constant_power(x, self.c, lambda: x[0] ** self.c)


def lowered(c: Any) -> Any:
    """The exponent c - 1 of d(x**c)/dx = c * x**(c - 1), but 1 where c is 0.

    The factor c makes that term 0 either way; x**1 keeps it 0 at x = 0, where
    0 * x**-1 would be nan (and higher derivatives of a polynomial would be too).
    """
    if np.ndim(c) == 0:
        return 1 if c == 0 else c - 1
    return np.where(np.equal(c, 0), 1, np.subtract(c, 1))


_FLOAT64 = np.dtype(np.float64)
_new_variable = object.__new__
