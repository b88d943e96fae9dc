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
from typing import Any

import numpy as np

from dezero import fast
from dezero.budget import this_thread as budgets
from dezero.core import Config, Function, Variable, as_array, as_variable, scalar


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
    old_mode = Config.enable_backprop
    Config.enable_backprop = create_graph
    try:
        if create_graph:
            _backprop_graph(y, keep, stop)
        else:
            _backprop_arrays(y, keep, stop)
    finally:
        Config.enable_backprop = old_mode


def _backprop_graph(y: Variable, keep: Any, stop: Any) -> None:
    """Backpropagation whose every step is recorded, so it can be differentiated again."""
    frontier = _Frontier()
    seen = {id(y.creator)}
    f = y.creator
    while f is not None:
        refs = f.output_slot  # what Function.outputs lists, read directly
        outputs = [ref() for ref in refs] if type(refs) is tuple else [refs()]
        gys = [None if out is None else out.grad for out in outputs]
        held = None
        if any(gy is not None for gy in gys):
            gxs = f.backward(*gys)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            xs = f.input_slot
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
    flowing = {id(y): scalar(y.grad.data)}  # 0-d float64: NumPy computes faster on scalars
    leaves: dict[int, tuple[Variable, Any]] = {}
    spares: dict[int, np.ndarray] = {}
    release = keep is not None and fast.COUNTS_REFERENCES
    ndarray, large = np.ndarray, fast.RELEASE_BYTES  # local names: the check below is per step
    budget = budgets.budget
    rules = fast.RULES
    frontier = _Frontier()
    seen = {id(y.creator)}
    f = y.creator
    while f is not None:
        refs = f.output_slot
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
            rule = rules.get(type(f))
            if rule is None or rule.backward is None:
                gxs = _variable_rule(f, gys)
            elif spares and id(f) in spares:
                gxs = rule.backward(f, *gys, out=spares.pop(id(f)))
            else:
                gxs = rule.backward(f, *gys)
            if budget is not None:
                budget.produced(gxs)
            if release and type(gxs) is ndarray and gxs.nbytes >= large:
                fast.release_input(f, spares, stop)
            xs = f.input_slot
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
