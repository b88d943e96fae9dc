"""The gradients reported after a statement, in time that does not grow with history.

After each statement the calculator reports the gradient of its value with respect to every
named variable upstream. Backpropagating all the way up would cost time proportional to the
whole history behind the value: in a loop such as ``x = x - lr * f'(x)``, every new ``x``
depends on ``lr`` through all the ``x`` before it.

So a named variable with a scalar value remembers, when it is assigned, its own gradients
with respect to the named variables upstream of it. A later report backpropagates only as
far as such variables (they act as leaves) and completes the chain rule with what they
remember: for a named ``u`` upstream of the value ``w``,

    ∂w/∂u = (adjoint of u reached directly) + Σ_b (adjoint of b) · ∂b/∂u

over the remembering variables ``b`` where backpropagation stopped. Every path from ``w`` to
``u`` is counted once, at the first remembering variable on it, so the sum is the one a full
backward pass makes.

A report notes what may have cost its gradients digits (``Doubts``): sums of contributions
that cancel, on the backward pass and in this chain rule. The session then computes its
gradients again (``calculus.checked_report``); one that cannot be vouched for is remembered
as None, and so is every later gradient through it.

Arrays are bounded another way. When an array loses its name (``v = v - lr * v`` makes a
new ``v``), its history is replaced by a ``Summary``: its first derivatives with respect to
the named scalars upstream, found by forward mode (one array of its shape per scalar).
Reports and first derivatives through it stay exact; a loop over arrays then holds a few
arrays, not one per iteration. Higher derivatives through a summary are refused.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection
from typing import Any, NamedTuple

import numpy as np

import dezero.functions as F
from dezero import Function, Variable, no_grad, series
from dezero.backprop import gradient_arrays, watched_sum
from dezero.core import Config, Value
from dezero.series import ZERO
from dezero_repl.errors import CalcError, ErrorKind
from dezero_repl.names import Variables

Remembered = dict[int, tuple[weakref.ref, Any]]  # id(u) -> (u, ∂b/∂u, or None: not vouched for)
Gradients = list[tuple[str, Variable, Any]]  # (name, variable, gradient, or None: not vouched for)


#: The values that are derivatives themselves (of diff, primes, taylor, grad, hessian). A
#: derivative of an expression that uses one is of higher order than its own, and so is a
#: gradient reported of one: each is vouched for (``calculus.unreliable_orders``) even at
#: order 1, as diff(E, x, 2) is.
DERIVED: weakref.WeakSet[Variable] = weakref.WeakSet()


def derived(value: Variable) -> Variable:
    """Note ``value`` as a derivative, and return it."""
    DERIVED.add(value)
    return value


def is_derived(value: Variable) -> bool:
    """Whether ``value`` is a derivative, or made from one by its last operation."""
    if not DERIVED:  # no derivative is alive: most statements ask nothing more
        return False
    creator = value.creator
    return value in DERIVED or (creator is not None and any(v in DERIVED for v in creator.inputs))


class Upstream(NamedTuple):
    """What the walk up from a value found, for its report and for ``prune``."""

    variables: list[Variable]  # the named variables the value depends on
    stop: set[int]  # the ids of those that remember: backpropagation stops there
    met: Any  # the ids of all the named variables met on the way (a set-like view)
    loose: bool  # a Function on the way may lead to no named variable: prune has work
    functions: int  # the Functions met: backpropagation will pass through as many
    doubtful: bool  # a doubtful value (see ``upstream``) is met before any stop


class Doubts:
    """What a report met on the way that may have cost its gradients digits: sums of
    contributions that cancelled, and gradients that go through a named variable whose own
    gradient was not vouched for (by id, with that variable's name)."""

    __slots__ = ("sums", "through")

    def __init__(self) -> None:
        self.sums: list[str] = []  # "cancellation", once for each sum that cancelled
        self.through: dict[int, str] = {}


class Ledger:
    """What each scalar named variable remembers: its gradients w.r.t. variables upstream."""

    def __init__(self) -> None:
        self.entries: dict[int, tuple[weakref.ref, Remembered]] = {}

    def clear(self) -> None:
        self.entries.clear()

    def remembered(self, v: Variable) -> Remembered | None:
        entry = self.entries.get(id(v))
        return entry[1] if entry is not None and entry[0]() is v else None

    def report(
        self,
        value: Variable,
        variables: Variables,
        most: int | None = None,
        doubts: Doubts | None = None,
        doubtful: Collection[int] = (),
    ) -> tuple[Gradients, Upstream]:
        """(name, variable, gradient of the sum of ``value``) for each named variable
        upstream, in the order of ``variables``, and what the walk up found (whether
        pruning has work, say). Its time does not grow with the number of variables.
        Past ``most`` Functions to backpropagate through, ``ReportTooLarge`` is raised.

        What may have cost digits is noted in ``doubts``: the gradient through a remembered
        partial that was not vouched for is None. ``doubtful``: see ``upstream``."""
        named = variables.names
        walked = upstream(value, named, self, doubtful)
        found = walked.variables
        if not found:
            return [], walked
        if most is not None and walked.functions > most:
            raise ReportTooLarge(
                f"they would backpropagate through {walked.functions:,} operations of this "
                f"derivative's graph (limit {most:,}), and be vouched for as derivatives of "
                f"one order higher; diff computes that order directly"
            )
        sums = None if doubts is None else doubts.sums
        direct: dict[int, Any] = {}
        # a derivative's report is vouched for by going over its graph again: keep it whole
        again = most is not None
        for v, g in zip(found, gradient_arrays(value, found, walked.stop, sums, not again)):
            direct[id(v)] = np.zeros_like(v.data) if g is None else g
        totals = dict(direct)
        for i in walked.stop & direct.keys():
            adjoint = direct[i]
            remembered = self.remembered(variables.with_id(i))
            assert remembered is not None  # the search stopped there because it remembers
            for j, (ref, partial) in remembered.items():
                if j in named and ref() is not None:
                    if partial is None:  # not vouched for: nor is the total through it
                        totals[j] = None
                        if doubts is not None:
                            doubts.through.setdefault(j, named[i])
                        continue
                    contribution = _chain(adjoint, partial)
                    old = totals.get(j, _NONE)
                    if old is _NONE:
                        totals[j] = contribution
                    elif old is not None:
                        totals[j] = (
                            old + contribution
                            if sums is None
                            else watched_sum(old, contribution, sums)
                        )
        order = sorted(totals, key=lambda i: variables.rank[named[i]])
        return [(named[i], variables.with_id(i), totals[i]) for i in order], walked

    def remember(self, value: Variable, report: Gradients) -> None:
        """Let a scalar named ``value`` remember its gradients from ``report``."""
        if value.size != 1 or value.creator is None:
            return
        key = id(value)
        partials = {id(v): (weakref.ref(v), g) for _, v, g in report if v is not value}
        self.entries[key] = (weakref.ref(value, lambda _: self.entries.pop(key, None)), partials)

    def still_reaches(self, v: Variable, named: Collection[int]) -> bool | None:
        """Whether a remembering variable still depends on a named one (None: not known)."""
        partials = self.remembered(v)
        if partials is None:
            return None
        return any(i in named and ref() is not None for i, (ref, _) in partials.items())


_NONE = object()  # no total yet (None is a total not vouched for)


def _chain(adjoint: Value, partial: Value) -> Value:
    """adjoint · ∂b/∂u, where a partial derivative of exactly 0 means that b does not
    depend on that element of u: it stays 0 even when the adjoint is infinite, as it does
    in a full backward pass, which never reaches that element."""
    if adjoint.ndim == 0 and partial.ndim == 0:  # numbers, the common case: no arrays
        # partial.item(): a Python number, compared with 0 at a tenth of a 0-d array's cost
        return adjoint * partial if partial.item() != 0 else np.zeros(())
    zero = np.zeros(np.broadcast_shapes(np.shape(adjoint), np.shape(partial)))
    return np.multiply(adjoint, partial, out=zero, where=partial != 0)


def upstream(
    value: Variable, named: dict[int, Any], ledger: Ledger, doubtful: Collection[int] = ()
) -> Upstream:
    """The named variables that ``value`` depends on, and the ids of those among them that
    remember their gradients: the search, like backpropagation later, stops at those. It
    tells too whether it met a value whose id is in ``doubtful`` on the way (a value made
    where another underflowed: a backward pass through it may lose digits).

    On the way it tells whether ``prune`` could cut anything: not if every Function met
    has an input that is named or made by another Function (then, by induction from the
    first Functions, every output leads to a named variable), and no old value that
    remembers is met (whether it still leads anywhere is the ledger's to say).
    """
    found = {id(value): value} if id(value) in named else {}
    stop: set[int] = set()
    funcs = [] if value.creator is None else [value.creator]
    seen = set(funcs)  # Functions hash by identity, as their ids would, without id() calls
    loose = False
    doubt = bool(doubtful) and id(value) in doubtful
    while funcs:
        f = funcs.pop()
        leads = False
        for x in f.inputs:
            key = id(x)
            if key in named:
                leads = True
                if key in found:
                    continue  # met before: a stop, or its creator is already seen
                found[key] = x
                if ledger.remembered(x) is not None:
                    stop.add(key)
                    continue
            elif key in ledger.entries:
                loose = True
            if doubtful and key in doubtful:
                doubt = True
            creator = x.creator
            if creator is not None:
                leads = True
                if creator not in seen:
                    seen.add(creator)
                    funcs.append(creator)
        loose = loose or not leads
    return Upstream(list(found.values()), stop, found.keys(), loose, len(seen), doubt)


def needs_pruning(value: Variable, walked: Upstream | None, old: Variable | None) -> bool:
    """Whether ``prune`` may cut anything from ``value``'s graph, once ``old`` (if any) has
    lost its name to it, given what its report's walk found (None: no report was made)."""
    if value.creator is None:
        return False
    return walked is None or walked.loose or (old is not None and id(old) in walked.met)


def prune(value: Variable, named: Collection[int], ledger: Ledger) -> None:
    """Cut the parts of ``value``'s graph that lead to no named variable.

    Old values that nothing names any more can never receive a reported gradient, so the
    graph that leads only to them is dropped and its memory freed. Named variables are
    boundaries (their own graphs were pruned when they were assigned), and so are the
    variables that remember what they depend on.
    """
    reaches: dict[int, bool] = {}
    # (v, None) is still to be looked at; (v, its creator's inputs) waits for their answers
    stack: list[tuple[Variable, list[Variable] | None]] = [(value, None)]
    while stack:
        v, inputs = stack.pop()
        if inputs is not None:
            reached = False
            for x in inputs:
                if reaches.get(id(x), False):
                    reached = True
                    break
            reaches[id(v)] = reached
            if not reached:
                v.unchain()
            continue
        if id(v) in reaches:
            continue
        if v is not value and id(v) in named:
            reaches[id(v)] = True
            continue
        creator = v.creator
        if creator is None:
            reaches[id(v)] = False
            continue
        remembers = v is not value and id(v) in ledger.entries  # most values do not
        known = ledger.still_reaches(v, named) if remembers else None
        if known is not None:
            reaches[id(v)] = known
            if not known:
                v.unchain()
            continue
        inputs = creator.inputs
        stack.append((v, inputs))
        stack.extend((x, None) for x in inputs if id(x) not in reaches)


# ---------------------------------------------------------------------------
# Arrays that lose their name keep a summary of their history
# ---------------------------------------------------------------------------


def summarize(v: Variable, variables: Variables, ledger: Ledger) -> None:
    """Replace the history of an array (or a number with a long history) that lost its name
    by a ``Summary``, if every named variable it depends on is a scalar; else only cut what
    leads to no named variable."""
    named = variables.names
    prune(v, named.keys(), ledger)
    if v.creator is None or isinstance(v.creator, Summary):
        return
    inputs = upstream(v, named, ledger).variables
    if not inputs or any(u.size != 1 for u in inputs):
        return
    partials: list[Any] = []
    with no_grad():
        for u in inputs:
            # partial derivatives: the other named variables held still, even those that
            # depend on u, since reports add what flows through them (see Ledger.report)
            seeds = {id(w): (w, np.float64(w is u)) for w in inputs}
            partials.append(series.tangent(v, seeds).data)
    Summary(partials, v.name, v.ndim > 0).stand_for(v, inputs)


class ReportTooLarge(CalcError):
    """The report of a value would cost more than its limit: the value is shown without it."""


class HistoryLost(CalcError):
    """A derivative needs more of an array's history than its Summary kept."""


class Summary(Function):
    """Stands for the history of an array (or of a number with a long one): its value, and
    its first derivatives with respect to its inputs, the named scalars it depended on."""

    def __init__(self, partials: list[np.ndarray], name: str | None, array: bool) -> None:
        self.partials = partials
        self.kind = "an array" if array else "a number with a long history"
        self.name = name or self.kind

    def stand_for(self, v: Variable, inputs: list[Variable]) -> None:
        """Become the creator of ``v`` in place of its history."""
        self.inputs = inputs
        self.outputs = [weakref.ref(v)]
        self.generation = v.generation - 1  # below v's users, above its inputs
        v.creator = self

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        raise self.lost()

    def backward(self, gy: Variable) -> tuple[Variable, ...]:
        gxs = []
        for x, partial in zip(self.inputs, self.partials):
            # differentiable in gy only: the partials' own derivatives are not kept
            slope = _Kept(partial, self)(x) if Config.enable_backprop else partial
            gxs.append(F.sum(gy * slope).reshape(x.shape))
        return tuple(gxs)

    def taylor(self, *xs: list) -> list:
        y0 = self.outputs[0]()
        moving = [(x, partial) for x, partial in zip(xs, self.partials) if x[1] is not ZERO]
        if not moving:
            return [y0] + [ZERO] * (len(xs[0]) - 1)
        if len(xs[0]) > 2:
            raise self.lost()
        return [y0, sum(x[1] * _Kept(partial, self)(x[0]) for x, partial in moving)]

    def lost(self) -> HistoryLost:
        return HistoryLost(
            f"only first derivatives are kept through earlier values of '{self.name}' "
            f"({self.kind}, reassigned since): recompute it in one statement to go further",
            kind=ErrorKind.ValueError,
        )


class _Kept(Function):
    """A partial derivative kept by a Summary, as a value that cannot be differentiated."""

    def __init__(self, partial: np.ndarray, summary: Summary) -> None:
        self.partial, self.summary = partial, summary

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.partial

    def backward(self, gy: Variable) -> Variable:
        raise self.summary.lost()

    def taylor(self, x: list) -> list:
        if any(c is not ZERO for c in x[1:]):
            raise self.summary.lost()
        return [self.outputs[0]()] + [ZERO] * (len(x) - 1)
