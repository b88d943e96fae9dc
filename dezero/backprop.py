"""The backward pass: every Function visited once, after all the Functions that use its outputs.

Why generations give a valid order: a Function's generation is one more than the largest
generation of its inputs' creators, so every Function that uses a Variable has a higher
generation than the Variable's creator. Visiting Functions from the highest generation
down therefore reaches each one only after all of its users have passed their gradients
back, and its outputs' gradients are complete when its rule runs. A heap of generations
gives that order in time linear in the size of the graph, without recursion.

Two loops do the work. ``_backprop_graph`` records every step (``create_graph=True``), so
gradients can be differentiated again. ``_backprop_arrays`` is first-order, on plain
arrays: only the gradients that are kept become Variables, and large buffers may be
reused (see ``dezero.fast``). ``gradients(y, xs, stop=...)`` asks for some gradients only,
and may stop the pass at given Variables, treated as leaves.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dezero import core, fast
from dezero.budget import this_thread as budgets
from dezero.core import (
    CANCELLATION,
    Config,
    Function,
    Value,
    Variable,
    as_array,
    as_variable,
    scalar,
)

if TYPE_CHECKING:
    import weakref


class _Frontier:
    """The functions waiting to be visited, to be taken latest generation first.

    Functions are bucketed by generation under a heap of the generations present, so the
    many functions of one generation in a wide graph cost no heap work each. The walk itself
    holds the function it will visit next, as long as nothing waiting outranks it
    (``latest``): along a chain, every function is found alone and the frontier is never
    touched.
    """

    def __init__(self) -> None:
        self.buckets: dict[int, list[Function]] = {}
        self.generations: list[int] = []  # negated, so that heapq's smallest is the latest
        self.latest = -1  # the latest generation waiting; -1 when none is

    def push(self, f: Function) -> None:
        bucket = self.buckets.get(f.generation)
        if bucket is None:
            self.buckets[f.generation] = [f]
            heapq.heappush(self.generations, -f.generation)
            self.latest = -self.generations[0]
        else:
            bucket.append(f)

    def pop(self) -> Function:
        bucket = self.buckets[self.latest]
        f = bucket.pop()
        if not bucket:
            del self.buckets[-heapq.heappop(self.generations)]
            self.latest = -self.generations[0] if self.generations else -1
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
        if held is not None:
            if held.generation >= self.latest:
                return held
            self.push(held)
        return self.pop() if self.generations else None


def backprop(
    y: Variable,
    keep: Any,
    create_graph: bool,
    stop: Any = frozenset(),
    watch: list[str] | None = None,
) -> None:
    """Propagate ``y.grad`` to every Variable upstream of ``y``.

    ``keep`` says whose gradients survive on intermediate Variables: ``None`` keeps all of
    them, otherwise only those whose ids are in ``keep``. Leaves always get theirs, and so
    do the Variables whose ids are in ``stop``: the pass treats them as leaves.

    Both passes visit each function once, after every function that uses its outputs: in
    decreasing generation, since a function's generation is below its users'. With a
    ``watch`` list, each sum of gradients that cancels is noted there (see ``watched_sum``).
    """
    old_mode, old_watch = Config.enable_backprop, core.watch
    Config.enable_backprop, core.watch = create_graph, watch
    try:
        if create_graph:
            _backprop_graph(y, keep, stop, watch)
        else:
            assert y.grad is not None and y.grad.data is not None  # the seed: callers set it
            for x, g in _backprop_arrays(y, y.grad.data, keep, stop, watch).values():
                x.grad = None if g is None else Variable(_own(g))
    finally:
        Config.enable_backprop, core.watch = old_mode, old_watch


def _backprop_graph(y: Variable, keep: Any, stop: Any, watch: list[str] | None) -> None:
    """Backpropagation whose every step is recorded, so it can be differentiated again."""
    frontier = _Frontier()
    seen = {id(y.creator)}
    f = y.creator
    while f is not None:
        refs: Any = f.output_slot  # what Function.outputs lists, read directly
        outputs = [ref() for ref in refs] if type(refs) is tuple else [refs()]
        gys = [None if out is None else out.grad for out in outputs]
        held = None
        if any(gy is not None for gy in gys):
            gxs = f.backward(*gys)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            xs: Any = f.input_slot
            for x, gx in zip(xs if type(xs) is tuple else (xs,), gxs):
                if gx is None:
                    continue
                if x.grad is None:
                    x.grad = gx
                else:
                    total = x.grad + gx
                    if watch is not None and cancels(x.grad.data, gx.data, total.data):
                        watch.append("cancellation")
                    x.grad = total
                if x.creator is not None and id(x) not in stop and id(x.creator) not in seen:
                    seen.add(id(x.creator))
                    held = frontier.hold(held, x.creator)
            if keep is not None:
                for out in outputs:
                    if out is not None and id(out) not in keep:
                        out.grad = None
        f = frontier.next(held)


def _backprop_arrays(
    y: Variable,
    seed: Any,
    keep: Any,
    stop: Any,
    watch: list[str] | None = None,
    release: bool = True,
) -> dict[int, tuple[Variable, Any]]:
    """First-order backpropagation of ``seed``, dy/dy, on plain arrays. Returns the
    gradients to hand out, by id: the leaves' and those of the outputs kept (``keep``, as in
    ``backprop``), each with its Variable; the caller decides what becomes of them. With a
    ``watch`` list, each sum of gradients that cancels (see ``watched_sum``) is noted there.

    ``grads`` holds each Variable's gradient, summed as it arrives: an intermediate's until
    its creator is visited, a leaf's until the end. It is keyed by the Variables themselves,
    hashed by identity (Variable defines no ``==``): a key by ``id()`` made a new integer at
    every lookup, and the wide graph's pass took a fifth longer. A creator is found when the first
    gradient reaches one of its outputs; only creators of several outputs need remembering
    (``found``), since the first gradient of a lone output arrives once. Sums always
    allocate, so no array that a caller holds is ever modified. Unless every gradient is
    kept (or ``release`` is false), a large value that only the graph holds and no rule
    reads is released on the way and its buffer reused (``spares``: creator id -> buffer,
    see ``dezero.fast``).

    This loop is the hot path of every backward pass. It reads the attributes behind
    ``Function.inputs`` and ``Function.outputs`` directly, and spells out the common cases:
    a lone output's gradient goes to the array rule in a direct call, not through
    ``rule(f, *gys)`` (a chain's backward pass takes a quarter less), and one input is
    handled without a loop over a tuple of one (a fifth less).
    """
    grads: dict[Variable, Any] = {y: scalar(seed)}  # 0-d float64: faster on NumPy scalars
    leaves: list[Variable] = []
    handed: dict[int, tuple[Variable, Any]] = {}
    found: set[int] = set()
    spares: dict[int, np.ndarray] = {}
    keeping = keep is None or len(keep) > 0  # some outputs keep their gradients
    release = release and keep is not None and fast.COUNTS_REFERENCES
    ndarray, large = np.ndarray, fast.RELEASE_BYTES  # local names: the check below is per step
    budget = budgets.budget
    rules = fast.BACKWARD
    frontier = _Frontier()
    f = y.creator
    while f is not None:
        refs: Any = f.output_slot  # typed Any, as Function's slots are read (see there)
        rule = rules.get(type(f))
        if type(refs) is not tuple:  # one output
            out = refs()
            gy = None if out is None else grads.pop(out, None)
            if gy is None:
                gxs = None
            else:
                if out.grad is not None or keeping and (keep is None or id(out) in keep):
                    _settle(out, gy, y, keep, handed)
                if rule is not None and not spares:  # the common case, called directly
                    gxs = rule(f, gy)
                else:
                    gxs = _apply(f, rule, (gy,), spares)
        else:
            gys = _take(refs, grads, y, keep, handed)
            gxs = None if gys is None else _apply(f, rule, gys, spares)
        held = None  # the next function, unless the frontier holds a later one
        if gxs is not None:
            if budget is not None:
                budget.produced(gxs)
            if release and type(gxs) is ndarray and gxs.nbytes >= large:
                fast.release_input(f, spares, stop)
            x: Any = f.input_slot
            if type(x) is not tuple:  # one input: the loop below, spelled out
                old = grads.get(x)
                if old is not None:
                    grads[x] = old + gxs if watch is None else watched_sum(old, gxs, watch)
                else:
                    grads[x] = gxs if x.grad is None else x.grad.data + gxs
                    c = x.creator
                    if c is None or stop and id(x) in stop:
                        leaves.append(x)
                    elif type(c.output_slot) is not tuple or _first(c, found):
                        held = c
            else:
                i = -1  # the index of x in gxs: zip() costs more than the rest of the loop
                for x in f.input_slot:  # type: ignore[union-attr]  # a tuple, as x is
                    i += 1
                    gx = gxs[i]
                    if gx is None:
                        continue
                    old = grads.get(x)
                    if old is not None:
                        grads[x] = old + gx if watch is None else watched_sum(old, gx, watch)
                        continue
                    grads[x] = gx if x.grad is None else x.grad.data + gx
                    c = x.creator
                    if c is None or stop and id(x) in stop:  # a leaf: final at the end
                        leaves.append(x)
                    elif type(c.output_slot) is not tuple or _first(c, found):
                        held = c if held is None else frontier.hold(held, c)
        f = held if held is not None and held.generation >= frontier.latest else frontier.next(held)
    for x in leaves:
        handed[id(x)] = (x, grads[x])
    return handed


def watched_sum(a: Any, b: Any, watch: list[str]) -> Any:
    """a + b, noting "cancellation" in ``watch`` where it cancels (see ``cancels``)."""
    total = a + b
    if cancels(a, b, total):
        watch.append("cancellation")
    return total


def cancels(a: Any, b: Any, total: Any) -> bool:
    """Whether ``total``, a + b, is under 1/CANCELLATION of the larger term anywhere (0
    included), found without a floating-point complaint of its own."""
    if type(total) is np.float64:  # numbers, the common case: Python floats raise no flags
        # |a| alone will do: were |b| the larger, |a| is within |a + b| of it
        return abs(float(a)) > CANCELLATION * abs(float(total))
    a, b = np.broadcast_to(a, total.shape), np.broadcast_to(b, total.shape)
    with np.errstate(all="ignore"):
        if total.ndim == 0:
            return bool(np.maximum(np.abs(a), np.abs(b)) > CANCELLATION * np.abs(total))
        step = max(1, _BLOCK // max(1, total[0].size))  # rows at a time: the test's own
        for i in range(0, len(total), step):  # arrays stay small beside a large gradient
            rows = slice(i, i + step)
            largest = np.maximum(np.abs(a[rows]), np.abs(b[rows]))
            if np.any(largest > CANCELLATION * np.abs(total[rows])):
                return True
    return False


_BLOCK = 1 << 16  # elements


def _apply(f: Function, rule: Any, gys: Sequence[Any], spares: dict[int, np.ndarray]) -> Any:
    """The inputs' gradients from ``f``'s rule: its array rule (writing into a spare buffer
    if one is waiting for ``f``), or its Variable-level rule if it has no array rule."""
    if rule is None:
        return _variable_rule(f, gys)
    if id(f) in spares:
        return rule(f, *gys, out=spares.pop(id(f)))
    return rule(f, *gys)


def _take(
    refs: tuple[weakref.ref[Variable], ...],
    grads: dict[Variable, Any],
    y: Variable,
    keep: Any,
    handed: dict[int, tuple[Variable, Any]],
) -> list[Any] | None:
    """The gradients of a Function's several outputs, taken out of ``grads``, or None if
    none has one; each output's is kept as asked (see ``_settle``)."""
    outputs = [ref() for ref in refs]
    gys = [None if out is None else grads.pop(out, None) for out in outputs]
    if all(gy is None for gy in gys):
        return None
    for out, gy in zip(outputs, gys):
        if out is not None:
            _settle(out, gy, y, keep, handed)
    return gys


def _first(f: Function, found: set[int]) -> bool:
    """Whether a Function of several outputs is found for the first time."""
    if id(f) in found:
        return False
    found.add(id(f))
    return True


def _settle(
    out: Variable, gy: Any, y: Variable, keep: Any, handed: dict[int, tuple[Variable, Any]]
) -> None:
    """Hand an output's gradient out if it is kept; otherwise make sure it has none."""
    if keep is None or id(out) in keep:
        if out is not y:
            handed[id(out)] = (out, gy)
    elif out.grad is not None:
        out.grad = None


def _own(g: Any) -> np.ndarray:
    """A gradient fit to hand out: a writable array (rules may return read-only views)."""
    if type(g) is not np.ndarray:
        return np.asarray(g)
    return g if g.flags.writeable else g.copy()


def _variable_rule(f: Function, gys: Sequence[Any]) -> Any:
    """Apply a Function's Variable-level rule to arrays (for functions without an array rule).

    Like an array rule, it returns a lone gradient as it is, even if ``backward`` returned
    it in a tuple, and several in a tuple.
    """
    gxs = f.backward(*[None if gy is None else Variable(as_array(gy)) for gy in gys])
    if isinstance(gxs, tuple) and len(gxs) == 1:
        (gxs,) = gxs
    if not isinstance(gxs, tuple):
        return None if gxs is None else as_variable(gxs).data
    return tuple(None if gx is None else as_variable(gx).data for gx in gxs)


def gradients(
    y: Variable,
    xs: list[Variable],
    create_graph: bool = False,
    stop: Any = frozenset(),
    watch: list[str] | None = None,
) -> list[Variable | None]:
    """Return dy/dx for each x in ``xs``, leaving every ``.grad`` on the graph as it was.

    A Variable that ``y`` does not depend on gets ``None``. Backpropagation goes no further
    up than the Variables whose ids are in ``stop``. As in ``Variable.backward``, a first-
    order pass may reuse the buffer of a large intermediate value that only the graph holds.
    With a ``watch`` list, each sum of gradients that cancels is noted there.
    """
    if not create_graph:
        grads = gradient_arrays(y, xs, stop, watch)
        return [None if g is None else Variable(g) for g in grads]
    saved = [x.grad for x in xs]
    for x in xs:
        x.grad = None
    y_grad = y.grad
    y.grad = Variable(np.ones(y.shape, dtype=y.dtype))
    try:
        if y.creator is not None:
            backprop(y, {id(x) for x in xs}, create_graph, stop, watch)
        return [x.grad for x in xs]
    finally:
        if not any(x is y for x in xs):
            y.grad = y_grad
        for x, g in zip(xs, saved):
            x.grad = g


def gradient_arrays(
    y: Variable,
    xs: Sequence[Variable],
    stop: Any = frozenset(),
    watch: list[str] | None = None,
    release: bool = True,
) -> list[Value | None]:
    """First-order dy/dx for each x in ``xs`` as values (None where y does not depend on x):
    ``gradients`` without Variables, for a caller that only reads the numbers. A gradient
    is an array, or NumPy's float64 scalar where it is one float64 number, as dezero holds
    a 0-d result (see ``core.Value``): it is not written in place, so it needs no copy.

    The pass hands its gradients back instead of setting ``.grad``; the gradients that
    ``xs`` and ``y`` already hold are set aside meanwhile, so that none adds in. With a
    ``watch`` list, every sum of contributions that cancels notes "cancellation" there: a
    gradient that may have lost digits, for the caller to compute again some other way.
    With ``release`` false, the pass releases no large value on the way (see
    ``_backprop_arrays``): for a caller that will go over the graph again.
    """
    seed = np.ones(y.shape, dtype=y.dtype) if y.ndim else np.array(1, dtype=y.dtype)
    saved = [x.grad for x in xs]
    for x in xs:
        x.grad = None
    y_grad, y.grad = y.grad, None
    old_mode, old_watch = Config.enable_backprop, core.watch
    Config.enable_backprop, core.watch = False, watch
    try:
        keep = {id(x) for x in xs}
        handed = {} if y.creator is None else _backprop_arrays(y, seed, keep, stop, watch, release)
    finally:
        Config.enable_backprop, core.watch = old_mode, old_watch
        y.grad = y_grad
        for x, grad in zip(xs, saved):
            x.grad = grad
    result: list[Value | None] = []
    for x in xs:
        g = seed if x is y else handed.get(id(x), (None, None))[1]
        result.append(None if g is None else g if type(g) is np.float64 else _own(g))
    return result
