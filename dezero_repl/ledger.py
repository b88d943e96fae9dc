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
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from dezero import Variable, gradients

Remembered = dict[int, tuple[weakref.ref, np.ndarray]]  # id(u) -> (u, ∂b/∂u)


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
        self, value: Variable, variables: dict[str, Variable]
    ) -> list[tuple[str, Variable, np.ndarray]]:
        """(name, variable, gradient of the sum of ``value``) for each named variable upstream."""
        named = {id(v): v for v in variables.values()}
        upstream, stop = _named_upstream(value, named, self)
        if not upstream:
            return []
        direct = {}
        for v, g in zip(upstream, gradients(value, upstream, stop=stop)):
            direct[id(v)] = np.zeros_like(v.data) if g is None else g.data
        totals = dict(direct)
        for i in stop & direct.keys():
            adjoint = direct[i]
            for j, (ref, partial) in self.remembered(named[i]).items():
                if j in named and ref() is not None:
                    contribution = adjoint * partial
                    totals[j] = totals[j] + contribution if j in totals else contribution
        return [(n, v, totals[id(v)]) for n, v in variables.items() if id(v) in totals]

    def remember(self, value: Variable, report: list[tuple[str, Variable, np.ndarray]]) -> None:
        """Let a scalar named ``value`` remember its gradients from ``report``."""
        if value.size != 1 or value.creator is None:
            return
        key = id(value)
        partials = {id(v): (weakref.ref(v), g) for _, v, g in report if v is not value}
        self.entries[key] = (weakref.ref(value, lambda _: self.entries.pop(key, None)), partials)

    def still_reaches(self, v: Variable, named: set[int]) -> bool | None:
        """Whether a remembering variable still depends on a named one (None: not known)."""
        partials = self.remembered(v)
        if partials is None:
            return None
        return any(i in named and ref() is not None for i, (ref, _) in partials.items())


def _named_upstream(
    value: Variable, named: dict[int, Any], ledger: Ledger
) -> tuple[list[Variable], set[int]]:
    """The named variables that ``value`` depends on, and the ids of those among them that
    remember their gradients: the search, like backpropagation later, stops at those."""
    found = {id(value): value} if id(value) in named else {}
    stop: set[int] = set()
    funcs = [] if value.creator is None else [value.creator]
    seen = {id(f) for f in funcs}
    while funcs:
        f = funcs.pop()
        for x in f.inputs:
            if id(x) in named:
                if id(x) in found:
                    continue  # met before: a stop, or its creator is already seen
                found[id(x)] = x
                if ledger.remembered(x) is not None:
                    stop.add(id(x))
                    continue
            if x.creator is not None and id(x.creator) not in seen:
                seen.add(id(x.creator))
                funcs.append(x.creator)
    return list(found.values()), stop


def prune(value: Variable, named: set[int], ledger: Ledger) -> None:
    """Cut the parts of ``value``'s graph that lead to no named variable.

    Old values that nothing names any more can never receive a reported gradient, so the
    graph that leads only to them is dropped and its memory freed. Named variables are
    boundaries (their own graphs were pruned when they were assigned), and so are the
    variables that remember what they depend on.
    """
    reaches: dict[int, bool] = {}
    stack: list[tuple[Variable, bool]] = [(value, False)]
    while stack:
        v, expanded = stack.pop()
        if id(v) in reaches:
            continue
        if v is not value and id(v) in named:
            reaches[id(v)] = True
            continue
        if v.creator is None:
            reaches[id(v)] = False
            continue
        known = ledger.still_reaches(v, named) if v is not value else None
        if known is not None:
            reaches[id(v)] = known
            if not known:
                v.unchain()
            continue
        if not expanded:
            stack.append((v, True))
            stack.extend((x, False) for x in v.creator.inputs if id(x) not in reaches)
            continue
        reaches[id(v)] = any(reaches.get(id(x), False) for x in v.creator.inputs)
        if not reaches[id(v)]:
            v.unchain()
