"""Evaluating statements: names, operators and calls on dezero Variables, then gradients.

A ``Session`` holds the variables and user functions. ``Session.execute`` runs one parsed
statement and returns an ``Outcome``; nothing in the session changes unless the statement
succeeds. Expressions are evaluated with an explicit stack, never by recursion, so that an
expression nested 10,000 deep is as safe as a flat one. After every statement that yields a
value, backpropagation runs from it and reports the gradient of every named variable that
the value depends on.
"""

from __future__ import annotations

import gc
import operator
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import dezero.functions as F
from dezero import Variable, as_variable, using_config
from dezero.budget import MemoryBudget, MemoryBudgetExceeded, size_text
from dezero_repl import calculus, nodes
from dezero_repl.errors import CalcError, did_you_mean
from dezero_repl.ledger import HistoryLost, Ledger, prune, summarize
from dezero_repl.values import (
    Derivative,
    GradientOf,
    SpecialForm,
    UserFunction,
    is_function,
    require_array,
)
from dezero_repl.vocabulary import (
    BUILTINS,
    CONSTANTS,
    MAX_DIMENSIONS,
    RESERVED,
    SPECIAL_FORMS,
    Builtin,
    check_size,
    integer,
    matmul,
)

#: How deeply user functions may call one another.
MAX_CALL_DEPTH = 100
#: The most steps (syntax nodes visited) one statement may forecast: user functions that
#: call others several times multiply, and f40 in a chain of doubling functions is 2^40.
MAX_STEPS = 2_000_000


# ---------------------------------------------------------------------------
# What a statement produced
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """The result of one statement, before it is formatted as text or JSON."""

    kind: str  # "value", "assign", "define", "function", "command", "empty"
    value: np.ndarray | None = None
    name: str | None = None
    grads: dict[str, np.ndarray] | None = None
    warnings: list[str] = field(default_factory=list)
    message: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Floating-point warnings: NumPy reports them to a callback, we name the operation
# ---------------------------------------------------------------------------

_WARNING_WORDS = {
    "divide by zero": "division by zero",
    "overflow": "overflow",
    "invalid value": "invalid value",
}


class _FloatingPointLog:
    """Collects NumPy's floating-point complaints and turns them into one-line warnings."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.warnings: list[str] = []

    def __call__(self, kind: str, flag: int) -> None:
        self.pending.append(kind)

    def name(self, operation: str, result: Any = None) -> None:
        """Attribute complaints since the last call to ``operation``, whose value is ``result``."""
        for kind in dict.fromkeys(self.pending):
            words = _WARNING_WORDS.get(kind, kind)
            self.note(f"{words} in {operation} (result contains {_non_finite(words, result)})")
        self.pending.clear()

    def note(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


def _non_finite(words: str, result: Any) -> str:
    """What a complaint left in a result (a value or a list of them): nan for an invalid
    value, else the infinities it holds."""
    if words == "invalid value":
        return "nan"
    results = result if isinstance(result, list) else [result]
    signs = [
        sign
        for sign, test in (("inf", np.isposinf), ("-inf", np.isneginf))
        if any(_has(test, r) for r in results)
    ]
    return " and ".join(signs) or "inf"


def _has(test: Callable[[Any], Any], result: Any) -> bool:
    data = result.data if isinstance(result, Variable) else result
    if not isinstance(data, (np.ndarray, np.generic)) or data.dtype.kind != "f":
        return False
    return bool(test(data).any())


# ---------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------


class Session:
    """Variables, user functions and modes: the state that statements read and change."""

    def __init__(self) -> None:
        self.variables: dict[str, Variable] = {}
        self.functions: dict[str, UserFunction] = {}
        self.grad_enabled = True
        self.precision: int | None = None
        self.elements: int | None = 1000  # arrays of more elements print summarized
        self.last: Variable | None = None
        self.log: list[str] = []  # the source of every successful statement, for :save
        self.written: set[str] = set()  # the files :save wrote, which it may replace
        self._fp = _FloatingPointLog()
        self._extra: dict[str, Any] = {}
        self.deadline: float | None = None  # a time.perf_counter() limit, for previews
        self.memory_limit = 1 << 30  # what one statement may hold, in bytes (dezero.budget)
        self.ledger = Ledger()
        self._callees: set[str] = set()  # every name a definition has called (a superset)

    # -- statements -----------------------------------------------------------

    def execute(self, statement: nodes.Statement | None, text: str) -> Outcome:
        """Run one statement. On error, raise CalcError and leave the session unchanged."""
        with _CollectorPaused(), self.budget():
            return self._execute(statement, text)

    def budget(self, limit: int | None = None) -> MemoryBudget:
        """The memory budget of one statement (``limit``, if smaller than the session's).

        Going over it is a one-line CalcError, and the statement changes nothing.
        """
        return _StatementBudget(
            self.memory_limit if limit is None else min(limit, self.memory_limit)
        )

    def _execute(self, statement: nodes.Statement | None, text: str) -> Outcome:
        if statement is None:
            return Outcome("empty")
        if isinstance(statement, nodes.FuncDef):
            return self._define(statement, text)
        if isinstance(statement, nodes.Command):
            raise CalcError("commands are run by the command table", kind="InternalError")
        name = statement.name if isinstance(statement, nodes.Assign) else None
        if name is not None:
            self._check_assignable(name, statement.name_start, statement.name_end)
        value, warnings, extra = self.evaluate_statement(statement.expr)
        if is_function(value):
            if name is not None:
                raise CalcError(
                    f"cannot store a function in the variable '{name}'; "
                    f"define one with {name}(x) = ...",
                    statement.expr.start,
                    statement.expr.end,
                    kind="TypeError",
                )
            return Outcome("function", message=self.describe_function(value), warnings=warnings)
        report = None
        if self.grad_enabled:
            try:
                report = self._report(value)
            except HistoryLost as e:
                warnings = [*warnings, f"no gradients reported: {e.message}"]
        grads = None if report is None else {n: g for n, _, g in report}
        if name is not None:
            value = self._bind(name, value)
            if report is not None:
                self.ledger.remember(value, report)
        elif value.creator is not None:
            # ans keeps only the graph that leads to named variables, as they do: what leads
            # nowhere can never receive a reported gradient, and would only hold memory.
            prune(value, {id(v) for v in self.variables.values()}, self.ledger)
        self.last = value
        self.log.append(text.strip())
        kind = "assign" if name is not None else "value"
        return Outcome(kind, value.data, name, grads, warnings, extra=extra)

    def evaluate_statement(
        self, expr: nodes.Expr, record: bool | None = None
    ) -> tuple[Any, list[str], dict[str, Any]]:
        """Evaluate an expression in the session's mode; return value, warnings, extras.

        A graph is recorded only where it is used: for calculus, or in gradient mode when
        the expression reads a named variable (or ``ans``), directly or through the user
        functions it calls, since only then are there gradients to report. ``record=True``
        records one whatever the expression (for :graph).
        """
        calculus, reads = self._survey(expr)
        needs_graph = calculus or (self.grad_enabled and reads) if record is None else record
        self._fp = _FloatingPointLog()
        self._extra = {}
        with (
            using_config("enable_backprop", needs_graph),
            np.errstate(all="call", under="ignore", call=self._fp),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            value = self.evaluate(expr, {})
        for warning in caught:  # NumPy's other complaints, e.g. about an empty slice
            message = str(warning.message).splitlines()[0] if str(warning.message) else ""
            if message and message not in self._fp.warnings:
                self._fp.warnings.append(message)
        if not is_function(value):
            value = as_variable(np.asarray(value) if not isinstance(value, Variable) else value)
            if not self.grad_enabled and value.creator is not None:
                value = Variable(value.data)  # :nograd keeps no graph, whatever computed it
        return value, self._fp.warnings, self._extra

    def _survey(self, expr: nodes.Expr) -> tuple[bool, bool]:
        """Walk ``expr`` once, and the body of each user function it names once: refuse it
        if its evaluation is forecast to take over MAX_STEPS steps, and tell whether it uses
        calculus and whether it reads a named variable or ``ans`` (parameters shadow them).

        A step is a syntax node visited; a user function's body counts once at every place
        that names it (per call, or per use by a derivative or a solver), so functions that
        call others several times multiply. Definitions are never cyclic.
        """
        steps, named, reads, calculus = self._scan(expr, frozenset())
        bodies: dict[str, tuple[int, bool, bool]] = {}  # name -> steps, reads, calculus
        pending = [(name, False) for name in named]
        while pending:  # a body after the bodies of the functions it names
            name, ready = pending.pop()
            if name in bodies:
                continue
            f = self.functions[name]
            body_steps, inner, body_reads, body_calculus = self._scan(f.body, frozenset(f.params))
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
        if steps > MAX_STEPS:
            raise CalcError(
                f"this would take about {_about(steps)} steps to evaluate (limit "
                f"{MAX_STEPS:,}): user functions that call others several times multiply "
                f"their cost",
                kind="ResourceError",
            )
        return calculus, reads

    def _scan(self, expr: nodes.Expr, params: frozenset[str]) -> tuple[int, list[str], bool, bool]:
        """One walk of ``expr``: its nodes, the user functions it names (once per use), and
        whether it reads a variable or ``ans`` and uses calculus itself."""
        count, named, reads, calculus = 0, [], False, False
        for node in nodes.walk(expr):
            count += 1
            if type(node) is not nodes.Name or node.id in params:
                continue
            if node.id in self.functions:
                named.append(node.id)
            elif node.id in self.variables or node.id in RESERVED:
                reads = True
            if node.primes or node.id in SPECIAL_FORMS:
                calculus = True
        return count, named, reads, calculus

    def _report(self, value: Variable) -> list[tuple[str, Variable, np.ndarray]]:
        """The gradient of ``value`` (of the sum of its elements) for each named variable."""
        with np.errstate(all="call", under="ignore", call=self._fp):
            report = self.ledger.report(value, self.variables)
        self._fp.name("the gradient", [g for _, _, g in report])
        return report

    def gradient_report(self, value: Variable) -> dict[str, np.ndarray]:
        """The report as name → gradient."""
        return {name: g for name, _, g in self._report(value)}

    def _check_assignable(self, name: str, start: int, end: int) -> None:
        reason = None
        if name in RESERVED:
            reason = f"'{name}' always holds the last result"
        elif name in CONSTANTS:
            reason = f"'{name}' is a constant"
        elif name in BUILTINS or name in SPECIAL_FORMS:
            reason = f"'{name}' is a built-in function"
        elif name in self.functions:
            reason = f"'{name}' is a function (remove it first with :del {name})"
        if reason:
            raise CalcError(f"cannot assign to '{name}': {reason}", start, end, kind="NameError")

    def _bind(self, name: str, value: Variable) -> Variable:
        """Store ``value`` under ``name``; a value already named elsewhere gets its own node."""
        if any(v is value for v in self.variables.values()) or value is self.last:
            if self.grad_enabled:
                with using_config("enable_backprop", True):
                    value = value + 0.0  # a node of its own, with gradient 1 to the original
            else:
                value = Variable(value.data)
        old = self.variables.get(name)
        self.variables[name] = value
        if value.name is None:
            value.name = name
        named = {id(v) for v in self.variables.values()}
        # A first assignment too: else `y = sum(ones(10**8) ** 2)` keeps 1.6 GB of graph alive.
        prune(value, named, self.ledger)
        if old is not None and old.ndim > 0 and id(old) not in named:
            # An array lost its name. Scalars remember their gradients, so reports stop at
            # them; an array's history is summarized (see ledger.py), else a loop over
            # arrays would keep all of it, for every report to walk.
            summarize(old, self.variables, self.ledger)
        return value

    # -- function definitions -------------------------------------------------

    def _define(self, statement: nodes.FuncDef, text: str) -> Outcome:
        name = statement.name
        span = statement.name_start, statement.name_end
        if name in self.variables:
            raise CalcError(
                f"cannot define '{name}': it is a variable (remove it first with :del {name})",
                *span,
                kind="NameError",
            )
        if name not in self.functions:  # redefining a function is allowed
            self._check_assignable(name, *span)
        calls = self._check_body(statement)
        cycle = self._cycle(name, calls)
        if cycle:
            raise CalcError(
                "recursive definition: " + " → ".join(cycle) + " (recursion is not supported)",
                *span,
                kind="RecursionError",
            )
        self.functions[name] = UserFunction(
            name, statement.params, statement.body, text.strip(), frozenset(calls)
        )
        self._callees |= calls
        self.log.append(text.strip())
        params = ", ".join(statement.params)
        return Outcome(
            "define",
            name=name,
            message=f"defined {name}({params})",
            extra={"defined": name, "params": list(statement.params)},
        )

    def _check_body(self, statement: nodes.FuncDef) -> set[str]:
        """Check every name in a body is known; return the user functions it calls."""
        calls: set[str] = set()
        for node in nodes.walk(statement.body):
            if not isinstance(node, nodes.Name) or node.id in statement.params:
                continue
            if node.id == statement.name or node.id in self.functions:
                calls.add(node.id)
            elif not self._known(node.id):
                raise CalcError(
                    f"unknown name '{node.id}' in the body of {statement.name}"
                    + did_you_mean(node.id, [*self._all_names(), *statement.params]),
                    node.start,
                    node.end,
                    kind="NameError",
                )
        return calls

    def _cycle(self, name: str, calls: set[str]) -> list[str] | None:
        """A path name → ... → name through the calls, if defining ``name`` makes one."""
        if name not in calls and name not in self._callees:
            return None  # nothing calls ``name``, so no path can come back to it
        # Depth-first with a parent link per function (not a copied path per step), so that
        # a chain of 10,000 definitions costs linear time, not cubic.
        parent: dict[str, str] = {}
        stack = [(callee, name) for callee in sorted(calls)]
        visited: set[str] = set()
        while stack:
            current, caller = stack.pop()
            if current == name:
                path = [name]
                while caller != name:
                    path.append(caller)
                    caller = parent[caller]
                return [name, *reversed(path)]
            if current in visited or current not in self.functions:
                continue
            visited.add(current)
            parent[current] = caller
            for callee in sorted(self.functions[current].calls):
                stack.append((callee, current))
        return None

    def describe_function(self, f: Any) -> str:
        return f.describe()

    # -- names ----------------------------------------------------------------------

    def _known(self, name: str) -> bool:
        return (
            name in self.variables
            or name in self.functions
            or name in CONSTANTS
            or name in BUILTINS
            or name in SPECIAL_FORMS
            or name in RESERVED
        )

    def _all_names(self) -> list[str]:
        return [
            *self.variables,
            *self.functions,
            *CONSTANTS,
            *BUILTINS,
            *SPECIAL_FORMS,
            *RESERVED,
        ]

    def lookup(self, node: nodes.Name, scope: dict[str, Any], callee: bool = False) -> Any:
        """The value of a name: parameter, variable, last result, constant or function."""
        name = node.id
        if name in scope:
            value = scope[name]
        elif name in self.variables:
            value = self.variables[name]
        elif name in RESERVED:
            if self.last is None:
                raise CalcError(
                    f"'{name}' is the last result, and there is none yet",
                    node.start,
                    node.end,
                    kind="NameError",
                )
            value = self.last
        elif name in CONSTANTS:
            value = np.float64(CONSTANTS[name])
        elif name in self.functions:
            value = self.functions[name]
        elif name in BUILTINS:
            value = BUILTINS[name]
        elif name in SPECIAL_FORMS:
            value = SpecialForm(name)
        else:
            what = "function" if callee else "name"
            candidates = self._all_names() + list(scope)
            raise CalcError(
                f"unknown {what} '{name}'" + did_you_mean(name, candidates),
                node.start,
                node.end,
                kind="NameError",
            )
        if node.primes:
            if not is_function(value) or isinstance(value, SpecialForm):
                raise CalcError(
                    f"'{name}' is not a function: primes (') mark derivatives of functions",
                    node.start,
                    node.end,
                    kind="TypeError",
                )
            value = Derivative(value, node.primes)
        return value

    # -- expressions ----------------------------------------------------------------

    def evaluate(self, expr: nodes.Expr, scope: dict[str, Any], depth: int = 0) -> Any:
        """The value of an expression: a Variable, a NumPy number or a function value.

        The tree is walked with an explicit stack: each node is visited once to schedule
        its children and once more, when their values are ready, to combine them.
        """
        values: list[Any] = []
        stack: list[tuple[Any, int]] = [(expr, _VISIT)]
        while stack:
            node, state = stack.pop()
            if self.deadline is not None and time.perf_counter() > self.deadline:
                raise CalcError("evaluation took too long", kind="Timeout")
            if node is None:
                values.append(None)
            elif state < 0:  # the children's values are ready: combine ~state of them
                count = ~state
                args = values[len(values) - count :]
                del values[len(values) - count :]
                values.append(self._combine(node, args, scope, depth))
            elif type(node) is nodes.Number:
                if node.value == np.inf:  # written finite, too large for a float
                    self._fp.note("overflow in a number literal (read as inf)")
                values.append(np.float64(node.value))
            elif type(node) is nodes.Name:
                values.append(self.lookup(node, scope, callee=state == _VISIT_CALLEE))
            elif type(node) is nodes.Binary:  # the commonest node, scheduled without children()
                stack += ((node, ~2), (node.right, _VISIT), (node.left, _VISIT))
            else:
                kids = nodes.children(node)
                stack.append((node, ~len(kids)))
                for i in range(len(kids) - 1, -1, -1):
                    callee = i == 0 and type(node) is nodes.Call
                    stack.append((kids[i], _VISIT_CALLEE if callee else _VISIT))
        return values[0]

    def _combine(self, node: nodes.Node, args: list[Any], scope: dict[str, Any], depth: int) -> Any:
        kind = type(node)
        if kind is nodes.Binary:
            return self._binary(node, *args)
        if kind is nodes.Unary:
            (x,) = args
            require_array(x, node.op, node.op_start, node.op_end)
            return -x if node.op == "-" else x
        if kind is nodes.Call:
            return self.call(node, args[0], args[1:], scope, depth)
        if kind is nodes.Index:
            return self._index(node, args[0], args[1:])
        if kind is nodes.Slice:
            bounds = [None if a is None else _whole(a, "a slice bound") for a in args]
            if bounds[2] == 0:
                raise CalcError("a slice step cannot be zero", node.start, node.end, "ValueError")
            return slice(*bounds)
        if kind is nodes.Transpose:
            (x,) = args
            require_array(x, ".T", node.op_start, node.op_end)
            return F.transpose(x)
        if kind is nodes.ArrayLit:
            return _array_literal(node, args)
        raise CalcError(f"cannot evaluate {kind.__name__}", node.start, node.end)  # unreachable

    def _binary(self, node: nodes.Binary, x: Any, y: Any) -> Any:
        span = node.op_start, node.op_end
        op = node.op
        if type(x) not in _ARRAYS:
            require_array(x, op, *span)
        if type(y) not in _ARRAYS:
            require_array(y, op, *span)
        try:
            if op == "@":
                result = matmul(x, y)
            else:
                shape_x, shape_y = x.shape, y.shape
                if shape_x != shape_y:
                    check_size(np.broadcast_shapes(shape_x, shape_y), f"'{op}'")
                result = _OPERATORS[op](x, y)
        except CalcError as e:
            raise e.at(*span) from None
        except ValueError:
            raise CalcError(
                f"shapes {np.shape(_data(x))} and {np.shape(_data(y))} do not match for '{op}'",
                *span,
                kind="ValueError",
            ) from None
        if self._fp.pending:
            self._fp.name(f"'{op}'", result)
        return result

    def _index(self, node: nodes.Index, target: Any, items: list[Any]) -> Variable:
        require_array(target, "[]", node.op_start, node.op_end)
        target = as_variable(target)
        try:
            key = tuple(item if isinstance(item, slice) else _index_item(item) for item in items)
        except CalcError as e:
            raise e.at(node.op_start, node.op_end) from None
        if len(key) > max(target.ndim, 0) and not any(isinstance(k, np.ndarray) for k in key):
            raise CalcError(
                f"too many indices: {len(key)} for an array of {target.ndim} dimension(s)",
                node.op_start,
                node.op_end,
                kind="IndexError",
            )
        try:
            _check_index_size(target.shape, key)
        except CalcError as e:
            raise e.at(node.op_start, node.op_end) from None
        try:
            return F.get_item(target, key if len(key) != 1 else key[0])
        except IndexError as e:
            raise CalcError(
                _index_message(str(e)), node.op_start, node.op_end, "IndexError"
            ) from None

    # -- calls ------------------------------------------------------------------------

    def call(
        self, node: nodes.Call, f: Any, args: list[Any], scope: dict[str, Any], depth: int
    ) -> Any:
        """Apply a function value to evaluated arguments."""
        span = node.start, node.end
        if not is_function(f):
            what = "a number" if np.ndim(_data(f)) == 0 else "an array"
            raise CalcError(
                f"{_describe_callee(node.func)} is {what}, not a function",
                node.func.start,
                node.func.end,
                kind="TypeError",
            )
        if isinstance(f, SpecialForm):
            result = calculus.special_form(self, f.name, node, args, scope, depth)
            if isinstance(result, calculus.Figured):
                self._extra.update(result.figures)
                result = result.value
            return result
        try:
            result = self.apply(f, args, depth)
        except CalcError as e:
            raise e.at(*span) from None
        except (ValueError, TypeError, IndexError) as e:
            raise CalcError(f"{f.name}: {e}", *span, kind="ValueError") from None
        if self._fp.pending:
            self._fp.name(f"{f.name}()", result)
        return result

    def apply(self, f: Any, args: list[Any], depth: int = 0) -> Any:
        """Call a function value with argument values (no source span involved)."""
        if isinstance(f, Builtin):
            _check_count(f.name, f.signature, len(args), f.min_args, f.max_args)
            for a in args:
                if type(a) not in _ARRAYS:
                    require_array(a, f"{f.name}()")
            return f.compute(*[as_variable(a) for a in args])
        name = f.name
        if isinstance(f, UserFunction):
            sig = f"{f.name}({', '.join(f.params)})"
            _check_count(name, sig, len(args), len(f.params), len(f.params))
            if depth >= MAX_CALL_DEPTH:
                raise CalcError(
                    f"function calls nested too deeply (limit {MAX_CALL_DEPTH})",
                    kind="RecursionError",
                )
            try:
                return self.evaluate(f.body, dict(zip(f.params, args)), depth + 1)
            except CalcError as e:  # a span inside the body means nothing at the call site
                nested = e.kind == "RecursionError"  # naming a hundred callers helps nobody
                message = e.message if nested else f"in {f.name}: {e.message}"
                raise CalcError(message, kind=e.kind) from None
        if isinstance(f, Derivative):
            return calculus.derivative(self, f, args, depth)
        if isinstance(f, GradientOf):
            return calculus.gradient_of(self, f, args, depth)
        raise CalcError(f"'{name}' cannot be called here", kind="TypeError")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


class _StatementBudget(MemoryBudget):
    """A memory budget whose overrun is the statement's error, in one line."""

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        super().__exit__(kind, error, trace)
        if isinstance(error, MemoryBudgetExceeded):
            raise CalcError(
                f"this statement needs more than its memory budget of "
                f"{size_text(self.limit)} (it would have held about {size_text(error.needed)}); "
                f"--memory-limit or memory_limit in config.toml sets the budget",
                kind="MemoryError",
            ) from None


class _CollectorPaused:
    """Pause Python's cyclic garbage collector while a statement runs (``with``).

    dezero's graphs hold no reference cycles (a Function holds its outputs weakly), so the
    collector finds nothing in them, yet it traverses them again and again as they grow: for
    a large graph that is most of the time spent. Anything cyclic a statement leaves behind is
    collected once the collector runs again. (A class, not a generator: it costs a third.)
    """

    def __enter__(self) -> None:
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            gc.enable()


#: The states of a node on the evaluation stack (a negative state counts children: ~n).
_VISIT, _VISIT_CALLEE = 0, 1
#: Values that are certainly arrays, so operators need not check them.
_ARRAYS = (Variable, np.float64, np.ndarray)


def _data(value: Any) -> Any:
    return value.data if isinstance(value, Variable) else value


def _whole(value: Any, what: str) -> int:
    require_array(value, what)
    return integer(value, what)


def _index_item(value: Any) -> Any:
    require_array(value, "an index")
    data = np.asarray(_data(value))
    if data.ndim == 0:
        return integer(data, "an index")
    if not np.all(np.isfinite(data)) or not np.all(data == np.round(data)):
        raise CalcError("indices must be whole numbers", kind="IndexError")
    return data.astype(np.intp)


def _check_index_size(shape: tuple[int, ...], key: tuple) -> None:
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


def _index_message(text: str) -> str:
    # NumPy: "index 5 is out of bounds for axis 0 with size 3"
    return text.replace("is out of bounds", "is out of range")


def _describe_callee(func: nodes.Expr) -> str:
    return f"'{func.id}'" if isinstance(func, nodes.Name) else "this value"


def _check_count(name: str, signature: str, got: int, lo: int, hi: int) -> None:
    if lo <= got <= hi:
        return
    want = f"{lo}" if lo == hi else f"{lo} to {hi}"
    plural = "" if (lo == hi == 1) else "s"
    raise CalcError(
        f"{name} takes {want} argument{plural} ({signature}), got {got}", kind="TypeError"
    )


def _array_literal(node: nodes.ArrayLit, elements: list[Any]) -> Any:
    if not elements:
        return np.zeros(0)
    for e in elements:
        require_array(e, "an array literal", node.start, node.end)
    shapes = [np.shape(_data(e)) for e in elements]
    for i, shape in enumerate(shapes[1:], start=2):
        if shape != shapes[0]:
            element = node.elements[i - 1]
            raise CalcError(
                f"ragged array: element {i} has shape {shape} but element 1 has shape {shapes[0]}",
                element.start,
                element.end,
                kind="ValueError",
            )
    if len(shapes[0]) >= MAX_DIMENSIONS:
        raise CalcError(
            f"array nested too deeply (limit {MAX_DIMENSIONS} dimensions)",
            node.start,
            node.end,
            kind="ValueError",
        )
    check_size((len(elements), *shapes[0]), "this array")
    if not any(isinstance(e, Variable) for e in elements):
        return np.array([np.asarray(e, dtype=np.float64) for e in elements])
    return F.stack([as_variable(e) for e in elements])


_HUGE = 10**30  # a forecast is capped here: beyond any limit, and still cheap arithmetic


def _about(n: int) -> str:
    """A large count as people read it: 1.1e+12 rather than its 13 digits."""
    return f"{n:,}" if n < 10**9 else f"{n:.2g}"
