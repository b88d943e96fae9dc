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
import heapq
import sys
import threading
import weakref
from typing import Any

import numpy as np

from dezero.budget import this_thread as _budgets

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


def as_array(x: Any) -> Any:
    """Turn a scalar (Python or NumPy) into a 0-d array; leave anything else as it is."""
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
    """A node of the computational graph: an array, its gradient and its creator."""

    __slots__ = ("data", "name", "grad", "creator", "generation", "__weakref__")
    __array_priority__ = 200

    def __init__(self, data: np.ndarray | None, name: str | None = None) -> None:
        if data is not None and not isinstance(data, np.ndarray):
            raise TypeError(f"{type(data)} is not supported")
        self.data = data
        self.name = name
        self.grad: Variable | None = None
        self.creator: Function | None = None
        self.generation = 0

    # -- what it looks like -------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        if self.data is None:
            return "variable(None)"
        p = str(self.data).replace("\n", "\n" + " " * 9)
        return "variable(" + p + ")"

    # -- the graph ------------------------------------------------------------

    def set_creator(self, func: Function) -> None:
        self.creator = func
        self.generation = func.generation + 1

    def cleargrad(self) -> None:
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
        keep = None if retain_grad else ()
        backprop(self, keep, create_graph)

    # -- shape methods (the functions live in dezero.functions) -------------

    def reshape(self, *shape: int | tuple[int, ...]) -> Variable:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _functions().reshape(self, shape)

    def transpose(self, *axes: int | tuple[int, ...]) -> Variable:
        if len(axes) == 0:
            axes = None
        elif len(axes) == 1 and isinstance(axes[0], (tuple, list)) or axes == (None,):
            axes = axes[0]
        return _functions().transpose(self, axes)

    @property
    def T(self) -> Variable:  # noqa: N802 - NumPy's name
        return _functions().transpose(self)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:
        return _functions().sum(self, axis, keepdims)

    def __getitem__(self, slices: Any) -> Variable:
        return _functions().get_item(self, slices)

    # -- operators --------------------------------------------------------------

    # + - * / ** and unary minus are the functions at the end of this module, assigned to
    # Variable there, as in the book: an operator then costs no call of its own.

    def __matmul__(self, other: Any) -> Variable:
        return _functions().matmul(self, other)

    def __rmatmul__(self, other: Any) -> Variable:
        return _functions().matmul(other, self)

    def __pos__(self) -> Variable:
        return self


def _functions():  # dezero.functions imports this module, so import it late
    from dezero import functions

    return functions


def setup_variable() -> None:
    """Kept for code written for the book: the operators are already part of Variable."""


# ---------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------


class Function:
    """An operation on Variables: ``forward`` computes on arrays, ``backward`` on Variables.

    A subclass may also define ``backward_array(*gys)``, the same rule on plain arrays.
    First-order backpropagation uses it when present: it skips wrapping every intermediate
    gradient in a Variable and may reuse the buffers it allocates itself.

    Two flags say what the rules read, so that a first-order backward pass can reuse the
    memory of a large intermediate value that nothing needs any more (see ``_release``):
    ``reads_input_data = False`` for a one-input function whose rules never read that
    input's data (``sum`` needs only its shape), and ``recycles_output = True`` for a
    one-output function whose rules never read the output's data and whose
    ``backward_array`` accepts ``out``, the output's buffer, to write the input's gradient
    into if it fits. A subclass that redefines ``forward``, ``backward`` or
    ``backward_array`` gets the safe defaults back unless it states the flags itself.

    ``inputs`` and ``outputs`` are the book's lists (of Variables, and of weak references to
    them). A Function stores a single input or output as it is and several in a tuple:
    every object of a graph is work for Python's cycle collector, which on a long chain costs
    more than the operations themselves, and most Functions have one input and one output.
    """

    reads_input_data = True
    recycles_output = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if {"forward", "backward", "backward_array"} & cls.__dict__.keys():
            cls.reads_input_data = cls.__dict__.get("reads_input_data", True)
            cls.recycles_output = cls.__dict__.get("recycles_output", False)

    @property
    def inputs(self) -> list[Variable]:
        xs = self._inputs
        return list(xs) if type(xs) is tuple else [xs]

    @inputs.setter
    def inputs(self, xs: list[Variable]) -> None:
        self._inputs = xs[0] if len(xs) == 1 else tuple(xs)

    @property
    def outputs(self) -> list[weakref.ref]:
        ys = self._outputs
        return list(ys) if type(ys) is tuple else [ys]

    @outputs.setter
    def outputs(self, ys: list[weakref.ref]) -> None:
        self._outputs = ys[0] if len(ys) == 1 else tuple(ys)

    def __call__(self, *inputs: Any) -> Variable | list[Variable]:
        # One and two inputs, and one output, are the hot path: they are spelled out.
        if len(inputs) == 1:
            x = inputs[0] if isinstance(inputs[0], Variable) else as_variable(inputs[0])
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
        if _budgets.budget is not None:  # see dezero.budget
            _budgets.budget.produced(ys)
        if type(ys) is not tuple:
            y = Variable(ys if type(ys) is np.ndarray else np.asarray(ys))
            if _state.enable_backprop:
                self.generation = generation
                y.creator = self
                y.generation = generation + 1
                self._inputs = kept
                self._outputs = weakref.ref(y)
            return y
        outputs = [Variable(as_array(y)) for y in ys]
        if _state.enable_backprop:
            self.generation = generation
            for output in outputs:
                output.set_creator(self)
            self._inputs = kept
            self.outputs = [weakref.ref(output) for output in outputs]
        return outputs if len(outputs) > 1 else outputs[0]

    def forward(self, *xs: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        raise NotImplementedError()

    def backward(self, *gys: Variable) -> Variable | tuple[Variable, ...]:
        raise NotImplementedError()

    def taylor(self, *xs: list) -> list | tuple[list, ...]:
        """The Taylor series of the output from those of the inputs (see ``dezero.series``).

        Each series is a list of coefficients [x0, x1, ..., xd]; the rule returns the
        output's, computed with Variable operations so that it can be differentiated again.
        """
        raise NotImplementedError(f"{type(self).__name__} has no Taylor rule")


# ---------------------------------------------------------------------------
# The backward pass
# ---------------------------------------------------------------------------


class _Frontier:
    """The functions waiting to be visited, to be taken latest generation first.

    Functions are bucketed by generation under a heap of the generations present, so the
    many functions of one generation in a wide graph cost no heap work each. The walk itself
    holds the function it will visit next, as long as nothing waiting outranks it: along a
    chain, every function is found alone and the frontier is never touched.
    """

    def __init__(self) -> None:
        self.buckets: dict[int, list[Function]] = {}
        self.generations: list[int] = []  # negated, so that heapq's smallest is the latest

    def push(self, f: Function) -> None:
        bucket = self.buckets.get(f.generation)
        if bucket is None:
            self.buckets[f.generation] = [f]
            heapq.heappush(self.generations, -f.generation)
        else:
            bucket.append(f)

    def pop(self) -> Function:
        bucket = self.buckets[-self.generations[0]]
        f = bucket.pop()
        if not bucket:
            del self.buckets[-heapq.heappop(self.generations)]
        return f

    def hold(self, held: Function | None, found: Function) -> Function:
        """Of a held function and a newly found one, hold the later; the other waits."""
        if held is None:
            return found
        if found.generation > held.generation:
            held, found = found, held
        self.push(found)
        return held

    def next(self, held: Function | None) -> Function | None:
        """The function to visit next: the held one, unless a waiting one is later."""
        if self.generations and (held is None or held.generation < -self.generations[0]):
            if held is not None:
                self.push(held)
            return self.pop()
        return held


def backprop(y: Variable, keep: Any, create_graph: bool, stop: Any = frozenset()) -> None:
    """Propagate ``y.grad`` to every Variable upstream of ``y``.

    ``keep`` says whose gradients survive on intermediate Variables: ``None`` keeps all of
    them, otherwise only those whose ids are in ``keep``. Leaves always get theirs, and so
    do the Variables whose ids are in ``stop``: the pass treats them as leaves.

    Both passes visit each function once, after every function that uses its outputs: in
    decreasing generation, since a function's generation is below its users'.
    """
    old_mode = _state.enable_backprop
    _state.enable_backprop = create_graph
    try:
        if create_graph:
            _backprop_graph(y, keep, stop)
        else:
            _backprop_arrays(y, keep, stop)
    finally:
        _state.enable_backprop = old_mode


def _backprop_graph(y: Variable, keep: Any, stop: Any) -> None:
    """Backpropagation whose every step is recorded, so it can be differentiated again."""
    frontier = _Frontier()
    seen = {id(y.creator)}
    f = y.creator
    while f is not None:
        refs = f._outputs  # what Function.outputs lists, read directly
        outputs = [ref() for ref in refs] if type(refs) is tuple else [refs()]
        gys = [None if out is None else out.grad for out in outputs]
        held = None
        if any(gy is not None for gy in gys):
            gxs = f.backward(*gys)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            xs = f._inputs
            for x, gx in zip(xs if type(xs) is tuple else (xs,), gxs):
                if gx is None:
                    continue
                x.grad = gx if x.grad is None else x.grad + gx
                if x.creator is not None and id(x) not in stop and id(x.creator) not in seen:
                    seen.add(id(x.creator))
                    held = frontier.hold(held, x.creator)
            if keep is not None:
                for out in outputs:
                    if out is not None and id(out) not in keep:
                        out.grad = None
        f = frontier.next(held)


def _backprop_arrays(y: Variable, keep: Any, stop: Any) -> None:
    """First-order backpropagation on plain arrays; only kept gradients become Variables.

    ``flowing`` holds the gradient of each intermediate Variable until its creator is
    visited, ``leaves`` those of the leaves until the end. Sums always allocate, so no array
    that a caller holds is ever modified. Unless every gradient is kept, a large value that
    only the graph holds and no rule reads is released on the way and its buffer reused
    (``spares``: creator id -> buffer, see ``_release``).
    This loop is the hot path of every backward pass: the common cases (one output, one
    input, a chain) are spelled out, and it reads the attributes behind ``Function.inputs``
    and ``Function.outputs`` directly.
    """
    flowing = {id(y): _scalar(y.grad.data)}  # 0-d float64: NumPy computes faster on scalars
    leaves: dict[int, tuple[Variable, Any]] = {}
    spares: dict[int, np.ndarray] = {}
    release = keep is not None and _COUNTS_REFERENCES
    ndarray, large = np.ndarray, _RELEASE_BYTES  # local names: the check below is per step
    budget = _budgets.budget
    frontier = _Frontier()
    seen = {id(y.creator)}
    f = y.creator
    while f is not None:
        refs = f._outputs
        if type(refs) is not tuple:  # one output
            out = refs()
            gy = None if out is None else flowing.pop(id(out), None)
            if gy is not None and (keep is None or out.grad is not None or id(out) in keep):
                _settle(out, gy, y, keep)
            gys = None if gy is None else (gy,)
        else:
            outputs = [ref() for ref in refs]
            gys = [None if out is None else flowing.pop(id(out), None) for out in outputs]
            if all(gy is None for gy in gys):
                gys = None
            else:
                for out, gy in zip(outputs, gys):
                    if out is not None:
                        _settle(out, gy, y, keep)
        held = None
        if gys is not None:
            rule = getattr(f, "backward_array", None)
            if rule is None:
                gxs = _variable_rule(f, gys)
            elif spares and id(f) in spares:
                gxs = rule(*gys, out=spares.pop(id(f)))
            else:
                gxs = rule(*gys)
            if budget is not None:
                budget.produced(gxs)
            if release and type(gxs) is ndarray and gxs.nbytes >= large:
                _release_input(f, spares, stop)
            xs = f._inputs
            if type(xs) is not tuple:
                xs = (xs,)
            if type(gxs) is not tuple:
                gxs = (gxs,)
            for x, gx in zip(xs, gxs):
                if gx is None:
                    continue
                if x.creator is None or id(x) in stop:  # a leaf: its gradient is final at the end
                    old = leaves.get(id(x))
                    if old is None:
                        leaves[id(x)] = (x, gx if x.grad is None else x.grad.data + gx)
                    else:
                        leaves[id(x)] = (x, old[1] + gx)
                    continue
                old = flowing.get(id(x))
                if old is None and x.grad is not None:
                    old = x.grad.data
                flowing[id(x)] = gx if old is None else old + gx
                if id(x.creator) not in seen:
                    seen.add(id(x.creator))
                    held = x.creator if held is None else frontier.hold(held, x.creator)
        f = frontier.next(held) if frontier.generations else held
    for x, g in leaves.values():
        x.grad = Variable(_own(g))


def _release_input(f: Function, spares: dict[int, np.ndarray], stop: Any) -> None:
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
    if data.nbytes >= _RELEASE_BYTES and flags.owndata and flags.writeable and flags.c_contiguous:
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


def _into(ufunc: np.ufunc, out: np.ndarray, *operands: Any) -> Any:
    """``ufunc(*operands)``, written into ``out`` if it fits there (see ``_fits``)."""
    return ufunc(*operands, out=_fits(out, *operands))


def _product(a: Any, b: Any, own: Any) -> Any:
    """``a * b``, where ``own`` (a or b) is an array the rule has just computed: the product
    goes into its buffer if it fits. The order of a and b is kept: NumPy's complex products
    are not always bitwise commutative."""
    out = _fits(own, a, b)
    return a * b if out is None else np.multiply(a, b, out=out)


def _settle(out: Variable, gy: Any, y: Variable, keep: Any) -> None:
    """Keep an output's gradient as a Variable if asked to; otherwise make sure it has none."""
    if keep is None or id(out) in keep:
        if out is not y:
            out.grad = None if gy is None else Variable(_own(gy))
    elif out.grad is not None:
        out.grad = None


def _own(g: Any) -> np.ndarray:
    """A gradient fit to hand out: a writable array (rules may return read-only views)."""
    if type(g) is not np.ndarray:
        return np.asarray(g)
    return g if g.flags.writeable else g.copy()


def _variable_rule(f: Function, gys: list[np.ndarray | None]) -> Any:
    """Apply a Function's Variable-level rule to arrays (for functions without an array rule).

    Like an array rule, it returns a lone gradient as it is and several in a tuple.
    """
    gxs = f.backward(*[None if gy is None else Variable(as_array(gy)) for gy in gys])
    if not isinstance(gxs, tuple):
        return None if gxs is None else as_variable(gxs).data
    return tuple(None if gx is None else as_variable(gx).data for gx in gxs)


def gradients(
    y: Variable, xs: list[Variable], create_graph: bool = False, stop: Any = frozenset()
) -> list[Variable | None]:
    """Return dy/dx for each x in ``xs``, leaving every ``.grad`` on the graph as it was.

    A Variable that ``y`` does not depend on gets ``None``. Backpropagation goes no further
    up than the Variables whose ids are in ``stop``. As in ``Variable.backward``, a first-
    order pass may reuse the buffer of a large intermediate value that only the graph holds.
    """
    saved = [x.grad for x in xs]
    for x in xs:
        x.grad = None
    y_grad = y.grad
    y.grad = Variable(np.ones(y.shape, dtype=y.dtype))
    try:
        if y.creator is not None:
            backprop(y, {id(x) for x in xs}, create_graph, stop)
        return [x.grad for x in xs]
    finally:
        if not any(x is y for x in xs):
            y.grad = y_grad
        for x, g in zip(xs, saved):
            x.grad = g


# ---------------------------------------------------------------------------
# Arithmetic: the operators of Variable
# ---------------------------------------------------------------------------


def _sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting on a gradient, Variable or array."""
    if g.shape == shape:
        return g
    if isinstance(g, Variable):
        return _functions().sum_to(g, shape)
    return _utils().sum_to(g, shape)


def _utils():
    from dezero import utils

    return utils


def _series():
    from dezero import series

    return series


def _scalar(x: np.ndarray) -> Any:
    """``x`` ready for NumPy's arithmetic: a 0-d float64 array becomes a NumPy scalar.

    NumPy computes on its scalars several times faster than on 0-d arrays, with the same
    IEEE results and the same floating-point warnings; ``Function`` turns the result back
    into an array.
    """
    return x[()] if x.dtype is _FLOAT64 and x.ndim == 0 else x


class Add(Function):
    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return _scalar(x0) + _scalar(x1)

    def backward(self, gy):
        return _sum_to(gy, self.x0_shape), _sum_to(gy, self.x1_shape)

    backward_array = backward

    def taylor(self, x0, x1):
        return _series().sum_of(x0, x1)


class Sub(Function):
    def forward(self, x0, x1):
        self.x0_shape, self.x1_shape = x0.shape, x1.shape
        return _scalar(x0) - _scalar(x1)

    def backward(self, gy):
        return _sum_to(gy, self.x0_shape), _sum_to(-gy, self.x1_shape)

    backward_array = backward

    def taylor(self, x0, x1):
        return _series().difference(x0, x1)


class Mul(Function):
    recycles_output = True

    def forward(self, x0, x1):
        return _scalar(x0) * _scalar(x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        return _sum_to(gy * x1, x0.shape), _sum_to(gy * x0, x1.shape)

    def backward_array(self, gy, out=None):
        x0, x1 = self.inputs
        gx0 = gy * x1.data if out is None else _into(np.multiply, out, gy, x1.data)
        return _sum_to(gx0, x0.shape), _sum_to(gy * x0.data, x1.shape)

    def taylor(self, x0, x1):
        return _series().product(x0, x1)


class Div(Function):
    def forward(self, x0, x1):
        return _scalar(x0) / _scalar(x1)

    def backward(self, gy):
        x0, x1 = self.inputs
        gx0 = gy / x1
        gx1 = -gx0 * x0 / x1  # -gy x0 / x1², dividing twice: x1**2 would square at every order
        return _sum_to(gx0, x0.shape), _sum_to(gx1, x1.shape)

    def backward_array(self, gy):
        x0, x1 = self.inputs
        gx0 = gy / x1.data
        gx1 = -gx0 * x0.data / x1.data  # d(x0/x1)/dx1 = -x0 / x1²
        return _sum_to(gx0, x0.shape), _sum_to(gx1, x1.shape)

    def taylor(self, x0, x1):
        return _series().quotient(x0, x1)


class Neg(Function):
    reads_input_data = False
    recycles_output = True

    def forward(self, x):
        return -_scalar(x)

    def backward(self, gy):
        return -gy

    def backward_array(self, gy, out=None):
        return -gy if out is None else _into(np.negative, out, gy)

    def taylor(self, x):
        return _series().negative(x)


class Pow(Function):
    """``x ** c`` for a constant exponent c (the book's Pow)."""

    def __init__(self, c):
        self.c = c

    @property
    def recycles_output(self) -> bool:
        """A square writes its gradient 2x into its output's buffer (other powers allocate)."""
        return np.ndim(self.c) == 0 and self.c == 2

    def forward(self, x):
        return x**self.c  # not on a NumPy scalar: its C pow differs, e.g. (-inf) ** 0.5

    def backward(self, gy):
        (x,) = self.inputs
        c = self.c
        return _sum_to(c * x ** _lowered(c) * gy, x.shape)

    def backward_array(self, gy, out=None):
        x, c = self.inputs[0].data, self.c
        g = _repeated_value(gy)
        if g is not None and np.ndim(c) == 0:  # as after a sum: fold g into the constant
            return _power_rule(x, c, c * g, out)
        gx = _power_rule(x, c, c, out)
        return _sum_to(_product(gx, gy, gx), x.shape)

    def taylor(self, x):
        return _power_series(x, self.c, lambda: x[0] ** self.c)


def _power_series(x: list, c: Any, y0: Any) -> list:
    """The series of x ** c for a constant c (a number, or a Variable the rule keeps).

    Small whole powers multiply series, which stays exact where x0 = 0; others use the
    recurrence of x y' = c y x', which divides by x0. ``y0`` makes the value, if needed.
    """
    S = _series()  # noqa: N806 - a module
    k = c.data if isinstance(c, Variable) else c
    if np.ndim(k) == 0 and float(k).is_integer() and 0 <= k <= 64:
        return S.integer_power(x, int(k))
    return S.power(x, c, y0())


def _power_rule(x: np.ndarray, c: Any, k: Any, out: np.ndarray | None) -> Any:
    """``k * x ** (c - 1)``, where k is c or c times a gradient; into ``out`` if it fits."""
    if np.ndim(c) or c != 2:
        power = x ** _lowered(c)
        return _product(k, power, power)
    return x * k if out is None else _into(np.multiply, out, x, k)


def _repeated_value(g: Any) -> Any:
    """The number that fills ``g`` if it is one number broadcast, else None.

    The gradient of a sum is such an array; multiplying by the number saves a pass.
    """
    if type(g) is np.ndarray and g.size and g.ndim and not any(g.strides):
        return g.reshape(-1)[0]
    return None


def _lowered(c: Any) -> Any:
    """The exponent c - 1 of d(x**c)/dx = c * x**(c - 1), but 1 where c is 0.

    The factor c makes that term 0 either way; x**1 keeps it 0 at x = 0, where
    0 * x**-1 would be nan (and higher derivatives of a polynomial would be too).
    """
    if np.ndim(c) == 0:
        return 1 if c == 0 else c - 1
    return np.where(np.equal(c, 0), 1, np.subtract(c, 1))


class PowVar(Function):
    """``x0 ** x1`` where the exponent is a Variable too."""

    def forward(self, x0, x1):
        return x0**x1

    def backward(self, gy):
        x0, x1 = self.inputs
        y = x0**x1
        gx0 = gy * x1 * x0 ** (x1 - 1)
        gx1 = gy * y * _log_base(x0)  # d(a^b)/db = a^b ln a
        return _sum_to(gx0, x0.shape), _sum_to(gx1, x1.shape)

    def taylor(self, x0, x1):
        S = _series()  # noqa: N806 - a module
        a, b = x0, x1
        if all(c is S.ZERO for c in b[1:]):  # a constant exponent
            return _power_series(a, b[0], lambda: a[0] ** b[0])
        if all(c is S.ZERO for c in a[1:]):  # a constant base
            return _exponential_series(b, a[0], a[0] ** b[0])
        log_a = S.log(a, _functions().log(a[0]))
        return S.exp(S.product(b, log_a), a[0] ** b[0])  # a^b = e^(b ln a)


def _exponential_series(x: list, c: Any, y0: Variable) -> list:
    """The series of c ** x for a constant base c: y' = ln(c) y x'."""
    S = _series()  # noqa: N806 - a module
    log_c = _log_base(c)
    return S.exp(S.each(lambda v: v * log_c, x), y0)


def _log_base(c: Any) -> Any:
    """ln c for the base of c ** x, but 0 where c is 0: 0 ** x is 0 (for x > 0), a flat
    function, and its slope 0 ** x · ln 0 would otherwise be 0 · -inf = nan."""
    zero = np.equal(c.data if isinstance(c, Variable) else c, 0)
    if isinstance(c, Variable):
        return _functions().log(c + zero.astype(c.dtype) if zero.any() else c)
    return _log(np.where(zero, 1, c) if zero.any() else c)


# A constant operand (a Python number or an ndarray) is not wrapped in a Variable of its own:
# nobody can ask for its gradient, so these one-input functions keep it as a plain value.


class AddConstant(Function):
    reads_input_data = False

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x_shape = x.shape
        return _scalar(x) + self.c

    def backward(self, gy):
        return _sum_to(gy, self.x_shape)

    backward_array = backward

    def taylor(self, x):
        return [x[0] + self.c] + x[1:]


class SubFromConstant(Function):
    reads_input_data = False
    recycles_output = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x_shape = x.shape
        return self.c - _scalar(x)

    def backward(self, gy):
        return _sum_to(-gy, self.x_shape)

    def backward_array(self, gy, out=None):
        gx = -gy if out is None else _into(np.negative, out, gy)
        return _sum_to(gx, self.x_shape)

    def taylor(self, x):
        return [self.c - x[0]] + _series().negative(x[1:])


class MulConstant(Function):
    reads_input_data = False
    recycles_output = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x_shape = x.shape
        return _scalar(x) * self.c

    def backward(self, gy):
        return _sum_to(gy * self.c, self.x_shape)

    def backward_array(self, gy, out=None):
        gx = gy * self.c if out is None else _into(np.multiply, out, gy, self.c)
        return _sum_to(gx, self.x_shape)

    def taylor(self, x):
        return _series().each(lambda v: v * self.c, x)


class DivConstant(Function):
    reads_input_data = False
    recycles_output = True

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        self.x_shape = x.shape
        return _scalar(x) / self.c

    def backward(self, gy):
        return _sum_to(gy / self.c, self.x_shape)

    def backward_array(self, gy, out=None):
        gx = gy / self.c if out is None else _into(np.divide, out, gy, self.c)
        return _sum_to(gx, self.x_shape)

    def taylor(self, x):
        return _series().each(lambda v: v / self.c, x)


class DivFromConstant(Function):
    """``c / x``."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c / _scalar(x)

    def backward(self, gy):
        (x,) = self.inputs
        return _sum_to(gy * (-self.c) / x / x, x.shape)  # -c / x², dividing twice as in Div

    def backward_array(self, gy):
        x = self.inputs[0].data
        return _sum_to(gy * (-self.c) / x / x, x.shape)

    def taylor(self, x):
        S = _series()  # noqa: N806 - a module
        return S.quotient(S.constant(np.asarray(self.c), len(x) - 1), x)


class PowConstVar(Function):
    """``c ** x`` for a constant base c."""

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return self.c**x

    def backward(self, gy):
        (x,) = self.inputs
        y = self.c**x
        return _sum_to(gy * y * _log_base(self.c), x.shape)  # d(c^x)/dx = c^x ln c

    def taylor(self, x):
        return _exponential_series(x, self.c, self.c ** x[0])


def _log(c: Any) -> Any:
    """ln c for a constant; a Python number stays one, so that it keeps x's dtype."""
    log_c = np.log(c)
    return float(log_c) if isinstance(c, (int, float)) else log_c


def _constant(c: Any, x: Any) -> Any:
    """A constant operand as NumPy sees it next to ``x``, the other operand.

    Next to float64 data a Python int becomes the float NumPy would make of it anyway
    (NumPy computes faster with a Python float than with an int). Python numbers otherwise
    stay as they are, for NumPy's promotion rules to judge.
    """
    if type(c) is int:
        if isinstance(x, Variable) and x.data.dtype is _FLOAT64 and -_BIG < c < _BIG:
            return float(c)
        return c
    if isinstance(c, (int, float, np.ndarray, np.generic)):  # bool is an int too
        return c
    return np.asarray(c)


_FLOAT64 = np.dtype(np.float64)
_BIG = 2**1023  # ints beyond float64's range stay ints, for NumPy to judge


def add(x0: Any, x1: Any) -> Variable:
    if isinstance(x1, Variable):
        return Add()(x0, x1)
    return AddConstant(_constant(x1, x0))(x0)


def sub(x0: Any, x1: Any) -> Variable:
    if isinstance(x1, Variable):
        return Sub()(x0, x1)
    return AddConstant(-_constant(x1, x0))(x0)  # x - c == x + (-c) exactly


def rsub(x0: Any, x1: Any) -> Variable:
    """``x1 - x0``: the operand order of ``__rsub__``."""
    if isinstance(x1, Variable):
        return Sub()(x1, x0)
    return SubFromConstant(_constant(x1, x0))(x0)


def mul(x0: Any, x1: Any) -> Variable:
    if isinstance(x1, Variable):
        return Mul()(x0, x1)
    return MulConstant(_constant(x1, x0))(x0)


def div(x0: Any, x1: Any) -> Variable:
    if isinstance(x1, Variable):
        return Div()(x0, x1)
    return DivConstant(_constant(x1, x0))(x0)


def rdiv(x0: Any, x1: Any) -> Variable:
    """``x1 / x0``: the operand order of ``__rtruediv__``."""
    if isinstance(x1, Variable):
        return Div()(x1, x0)
    return DivFromConstant(_constant(x1, x0))(x0)


def neg(x: Any) -> Variable:
    return Neg()(x)


def pow(x: Any, c: Any) -> Variable:  # noqa: A001 - the book's name
    if isinstance(c, Variable):
        return PowVar()(x, c)
    return Pow(c)(x)


def rpow(x: Any, c: Any) -> Variable:
    """``c ** x``: the Variable is the exponent."""
    if isinstance(c, Variable):
        return PowVar()(c, x)
    return PowConstVar(_constant(c, x))(x)


Variable.__add__ = Variable.__radd__ = add
Variable.__sub__ = sub
Variable.__rsub__ = rsub
Variable.__mul__ = Variable.__rmul__ = mul
Variable.__truediv__ = div
Variable.__rtruediv__ = rdiv
Variable.__pow__ = pow
Variable.__rpow__ = rpow
Variable.__neg__ = neg


def _calibrate() -> None:
    """Count the references to a value held once, the way ``_release`` counts them.

    The counts depend on the interpreter's version; measuring them here, through the same
    functions, keeps ``_release`` exact. Only CPython with its global lock counts references
    exactly; elsewhere nothing is released.
    """
    global _ONLY_INPUT, _ONLY_DATA
    f = Function()
    f._inputs = Variable(None)
    _ONLY_INPUT = _input_references(f)
    _ONLY_DATA = _data_references(Variable(np.empty(0)))


_RELEASE_BYTES = 1 << 20  # smaller buffers cost little to allocate afresh
_COUNTS_REFERENCES = (
    sys.implementation.name == "cpython" and getattr(sys, "_is_gil_enabled", lambda: True)()
)
_ONLY_INPUT = _ONLY_DATA = -1
if _COUNTS_REFERENCES:
    _calibrate()
