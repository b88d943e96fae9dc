"""What one statement may cost, forecast before it runs and enforced while it runs.

- ``survey`` walks a statement (and the user functions it names) before it runs: a
  statement forecast to take over MAX_STEPS steps is refused, and the walk tells whether
  the statement needs a graph at all.
- ``StatementBudget`` is the memory budget of one statement (see ``dezero.budget``); going
  over it is one error line.
"""

from __future__ import annotations

import threading
from typing import Any

from dezero.budget import MemoryBudget, MemoryBudgetExceeded, size_text
from dezero_repl import nodes
from dezero_repl.errors import CalcError, ErrorKind
from dezero_repl.vocabulary import RESERVED, SPECIAL_FORMS

#: The most steps (syntax nodes visited) one statement may forecast: user functions that
#: call others several times multiply, and f40 in a chain of doubling functions is 2^40.
MAX_STEPS = 2_000_000
#: The most iterations of a solver (solve, minimize): its function counts this many times.
MAX_ITERATIONS = 100
#: The special forms that call their function argument once per iteration.
ITERATIVE = frozenset(("solve", "minimize"))


def survey(
    expr: nodes.Expr, functions: dict[str, Any], variables: dict[str, Any]
) -> tuple[bool, bool]:
    """Walk ``expr`` once, and the body of each user function it names once: refuse it
    if its evaluation is forecast to take over MAX_STEPS steps, and tell whether it uses
    calculus and whether it reads a named variable or ``ans`` (parameters shadow them).

    A step is a syntax node visited; a user function's body counts once at every place
    that names it (per call, or per use by a derivative), and MAX_ITERATIONS times where a
    solver takes it, so functions that call others several times multiply. Definitions
    are never cyclic.
    """
    steps, calculus, reads = _forecast(expr, frozenset(), functions, variables)
    if steps > MAX_STEPS:
        raise CalcError(
            f"this would take about {about(steps)} steps to evaluate (limit "
            f"{MAX_STEPS:,}): user functions that call others several times multiply "
            f"their cost",
            kind=ErrorKind.ResourceError,
        )
    return calculus, reads


def steps(expr: nodes.Expr, functions: dict[str, Any], params: frozenset[str]) -> int:
    """What one evaluation of ``expr`` is forecast to take, in steps (as ``survey`` counts
    them), where the names ``params`` are bound (a sum's index, an integral's variable)."""
    return _forecast(expr, params, functions, {})[0]


def _forecast(
    expr: nodes.Expr, params: frozenset[str], functions: dict[str, Any], variables: Any
) -> tuple[int, bool, bool]:
    """Steps, whether calculus is used, and whether a named variable is read."""
    steps, named, reads, calculus = _scan(expr, params, functions, variables)
    bodies: dict[str, tuple[int, bool, bool]] = {}  # name -> steps, reads, calculus
    pending = [(name, False) for name in named]
    while pending:  # a body after the bodies of the functions it names
        name, ready = pending.pop()
        if name in bodies:
            continue
        f = functions[name]
        body_steps, inner, body_reads, body_calculus = _scan(
            f.body, frozenset(f.params), functions, variables
        )
        if not ready:
            pending.append((name, True))
            pending.extend((g, False) for g in inner if g not in bodies)
            continue
        for g in inner:
            g_steps, g_reads, g_calculus = bodies.get(g, (0, False, False))
            body_steps = min(body_steps + g_steps, _HUGE)
            body_reads, body_calculus = body_reads or g_reads, body_calculus or g_calculus
        bodies[name] = (body_steps, body_reads, body_calculus)
    for g in named:
        g_steps, g_reads, g_calculus = bodies[g]
        steps, reads, calculus = (
            min(steps + g_steps, _HUGE),
            reads or g_reads,
            calculus or g_calculus,
        )
    return steps, calculus, reads


def _scan(
    expr: nodes.Expr, params: frozenset[str], functions: Any, variables: Any
) -> tuple[int, list[str], bool, bool]:
    """One walk of ``expr``: its nodes, the user functions it names (once per use), and
    whether it reads a variable or ``ans`` and uses calculus itself."""
    count, named, reads, calculus = 0, [], False, False
    stack: list[Any] = [expr]
    while stack:  # nodes.walk, with the commonest nodes spelled out
        node = stack.pop()
        if node is None:  # a missing part, as of a slice
            continue
        count += 1
        kind = type(node)
        if kind is nodes.Binary:
            stack += (node.right, node.left)
            continue
        if kind is not nodes.Name:
            if kind is nodes.Call:
                named += _iterated(node, params, functions)
            if kind is not nodes.Number:
                stack += nodes.children(node)
            continue
        if node.id in params:
            continue
        if node.id in functions:
            named.append(node.id)
        elif node.id in variables or node.id in RESERVED:
            reads = True
        if node.primes or node.id in SPECIAL_FORMS:
            calculus = True
    return count, named, reads, calculus


def _iterated(call: nodes.Call, params: frozenset[str], functions: Any) -> list[str]:
    """The further uses of a user function that a solver calls at each iteration: its name
    once per iteration after the first (the first is the argument's own name)."""
    func, args = call.func, call.args
    if type(func) is not nodes.Name or func.id not in ITERATIVE or not args:
        return []
    f = args[0]
    if type(f) is not nodes.Name or f.id in params or f.id not in functions:
        return []
    return [f.id] * (MAX_ITERATIONS - 1)


class Tally:
    """The steps a computation takes as it runs, where their number cannot be foreseen (a
    line search halves its step until the function decreases): past MAX_STEPS, it is
    stopped with one error line. ``per_call`` is what one call of its function takes."""

    def __init__(self, per_call: int, what: str) -> None:
        self.per_call, self.what = per_call, what
        self.calls = 0

    def charge(self, calls: int = 1) -> None:
        """Count ``calls`` more calls of the function (a backward pass counts as one)."""
        self.calls += calls
        spent = self.calls * self.per_call
        if spent > MAX_STEPS:
            raise CalcError(
                f"{self.what} stopped after about {about(spent)} steps (limit {MAX_STEPS:,}): "
                f"its function and its derivatives ran {self.calls:,} times",
                kind=ErrorKind.ResourceError,
            )


#: The refinement's work around one call of an integrand, in steps: about 70 µs, the time
#: of some 20 steps (a call took 90 µs with a body of 4 steps).
CALL_STEPS = 20


#: What one step stands for in a matrix product: multiply-adds, of which BLAS does some
#: 55 billion a second here, a step's time (about 3 µs) being some 160,000 of them.
MULADDS_PER_STEP = 100_000


class Work:
    """The work of one statement that only running it shows, counted in steps as it goes:
    its integrals as they refine, nested integrals included (each call of an integrand
    counts CALL_STEPS and its body's steps, times its points where the body is evaluated
    point by point), and its matrix products (their multiply-adds, three times over while
    a graph is recorded, for the backward pass). Past MAX_STEPS the statement is stopped
    with one error line; a cost known before it is paid (a matrix product, the rest of
    one integral per element) is refused before it starts."""

    def __init__(self) -> None:
        self.steps = self.calls = 0

    def charge(self, steps: int) -> None:
        """Count one call of an integrand that took ``steps``."""
        self.steps += steps
        self.calls += 1
        if self.steps > MAX_STEPS:
            raise CalcError(
                f"the integrals of this statement stopped after about {about(self.steps)} "
                f"steps (limit {MAX_STEPS:,}): their integrands ran {self.calls:,} times "
                f"(nested integrals, and integrals over arrays, multiply)",
                kind=ErrorKind.ResourceError,
            )

    def forecast(self, first: int, elements: int) -> None:
        """Refuse the rest of ``elements`` integrals, one per element, of which the first
        took ``first`` steps, if they would come to over MAX_STEPS in all."""
        total = self.steps + first * (elements - 1)
        if total > MAX_STEPS:
            raise CalcError(
                f"this would take about {about(total)} steps (limit {MAX_STEPS:,}): one "
                f"integral per element of {elements:,}, and the first took {first:,}",
                kind=ErrorKind.ResourceError,
            )

    def product(self, muladds: int, shapes: str, recorded: bool) -> None:
        """Count a matrix product of ``muladds`` multiply-adds before it runs, refusing it
        if the statement would pass MAX_STEPS."""
        steps = muladds * (3 if recorded else 1) // MULADDS_PER_STEP
        if self.steps + steps > MAX_STEPS:
            backward = " (three times over, with its backward pass)" if recorded else ""
            raise CalcError(
                f"this would take about {about(self.steps + steps)} steps (limit "
                f"{MAX_STEPS:,}): the matrix product of {shapes} takes {about(muladds)} "
                f"multiply-adds{backward}",
                kind=ErrorKind.ResourceError,
            )
        self.steps += steps


_statement = threading.local()


def start_work() -> Work:
    """A fresh count of work for the statement (or the curve of a plot) about to run."""
    _statement.work = Work()
    return _statement.work


def current_work() -> Work:
    """The work counted for the statement running (a fresh count outside any)."""
    work = getattr(_statement, "work", None)
    return work if work is not None else start_work()


class StatementBudget(MemoryBudget):
    """A memory budget whose overrun is the statement's error, in one line."""

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        error = exc[1] if len(exc) > 1 else None
        if isinstance(error, MemoryBudgetExceeded):
            raise CalcError(
                f"this statement needs more than its memory budget of "
                f"{size_text(self.limit)} (it would have held about {size_text(error.needed)}); "
                f"--memory-limit or memory_limit in config.toml sets the budget",
                kind=ErrorKind.MemoryError,
            ) from None


_HUGE = 10**30  # a forecast is capped here: beyond any limit, and still cheap arithmetic


def about(n: int) -> str:
    """A large count as people read it: 1.1e+12 rather than its 13 digits."""
    return f"{n:,}" if n < 10**9 else f"{n:.2g}"
