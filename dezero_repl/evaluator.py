"""Evaluating statements: names, operators and calls on dezero Variables, then gradients.

A ``Session`` holds the variables and user functions. ``Session.execute`` runs one parsed
statement and returns an ``Outcome``; nothing in the session changes unless the statement
succeeds. Expressions are evaluated with an explicit stack, never by recursion, so that an
expression nested 10,000 deep is as safe as a flat one. After every statement that yields a
value, backpropagation runs from it and reports the gradient of every named variable that
the value depends on.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import dezero.functions as F
import dezero.piecewise as P
import dezero.special as SF
from dezero import Variable, as_variable, using_config
from dezero.budget import MemoryBudget
from dezero_repl import choice, nodes
from dezero_repl.errors import CalcError, ErrorKind, Timeout, did_you_mean
from dezero_repl.floating import FloatingPointLog
from dezero_repl.indexing import array_literal, check_index_size, index_item, index_message
from dezero_repl.ledger import (
    Doubts,
    Gradients,
    HistoryLost,
    Ledger,
    ReportTooLarge,
    Upstream,
    is_derived,
    needs_pruning,
    prune,
    summarize,
)
from dezero_repl.limits import StatementBudget, start_work, survey
from dezero_repl.names import Variables
from dezero_repl.outcomes import Computed, Defined, Empty, FunctionShown, Outcome
from dezero_repl.values import (
    Derivative,
    GradientOf,
    SpecialForm,
    UserFunction,
    data_of,
    is_function,
    require_array,
)
from dezero_repl.vocabulary import (
    BUILTINS,
    CONSTANTS,
    RESERVED,
    SPECIAL_FORMS,
    Builtin,
    check_broadcast,
    check_size,
    integer,
    matmul,
)

#: How deeply user functions may call one another.
MAX_CALL_DEPTH = 100


# ---------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------


#: A number that loses its name keeps its history while it is at most this many operations
#: deep (its generation), so that derivatives of any order go through it; deeper, only its
#: first derivatives, as an array's: a loop of 100,000 steps held 430 MB of history.
LONG_HISTORY = 10_000
#: The report of a derivative backpropagates through its Taylor-mode graph (about n²/2
#: operations for each of the expression's at order n), and each gradient is vouched for by
#: computing it again around the point: past this many operations it is left out, with a
#: warning (270,000 took 10 s, where the derivative itself took 1).
MAX_DERIVATIVE_REPORT = 100_000


class Session:
    """Variables, user functions and modes: the state that statements read and change."""

    def __init__(self) -> None:
        self.variables = Variables()
        self.functions: dict[str, UserFunction] = {}
        self.grad_enabled = True
        self.precision: int | None = None
        self.elements: int | None = 1000  # arrays of more elements print summarized
        self.last: Variable | None = None
        self.log: list[str] = []  # the source of every successful statement, for :save
        self._fp = FloatingPointLog()
        self._extra: dict[str, Any] = {}
        self.deadline: float | None = None  # a time.perf_counter() limit, for previews
        self.memory_limit = 1 << 30  # what one statement may hold, in bytes (dezero.budget)
        self.ledger = Ledger()
        self._callees: set[str] = set()  # every name a definition has called (a superset)
        # the values made where a value underflowed, or from one: a report through them is
        # computed again and vouched for (see _report)
        self.doubtful: weakref.WeakSet[Variable] = weakref.WeakSet()
        self._caught: list[warnings.WarningMessage] | None = None  # while watching()

    # -- statements -----------------------------------------------------------

    def execute(self, statement: nodes.Statement | None, text: str) -> Outcome:
        """Run one statement. On error, raise CalcError and leave the session unchanged."""
        with _CollectorPaused(), self.budget():
            return self._execute(statement, text)

    def budget(self, limit: int | None = None) -> MemoryBudget:
        """The memory budget of one statement (``limit``, if smaller than the session's).

        Going over it is a one-line CalcError, and the statement changes nothing.
        """
        return StatementBudget(
            self.memory_limit if limit is None else min(limit, self.memory_limit)
        )

    def _execute(self, statement: nodes.Statement | None, text: str) -> Outcome:
        if statement is None:
            return Empty()
        if isinstance(statement, nodes.FuncDef):
            return self._define(statement, text)
        if isinstance(statement, nodes.Command):
            raise CalcError("commands are run by the command table", kind=ErrorKind.InternalError)
        name = None
        if isinstance(statement, nodes.Assign):
            name = statement.name
            self._check_assignable(name, statement.name_start, statement.name_end)
        value, warnings, extra = self.evaluate_statement(statement.expr)
        underflowed = self._fp.underflowed  # on the way to the value, not to its gradients
        if is_function(value):
            if name is not None:
                raise CalcError(
                    f"cannot store a function in the variable '{name}'; "
                    f"define one with {name}(x) = ...",
                    statement.expr.start,
                    statement.expr.end,
                    kind=ErrorKind.TypeError,
                )
            return FunctionShown(self.describe_function(value), warnings=warnings)
        report, walked = None, None
        if self.grad_enabled:
            try:
                report, walked = self._report(value)
            except (HistoryLost, ReportTooLarge) as e:
                warnings = [*warnings, f"no gradients reported: {e.message}"]
        grads = None if report is None else {n: g for n, _, g in report}  # None: left out
        if name is not None:
            value = self._bind(name, value, walked)
            if report is not None:
                self.ledger.remember(value, report)
        elif needs_pruning(value, walked, None):
            # ans keeps only the graph that leads to named variables, as they do: what leads
            # nowhere can never receive a reported gradient, and would only hold memory.
            prune(value, self.variables.names.keys(), self.ledger)
        if value.creator is not None and (underflowed or walked is not None and walked.doubtful):
            self.doubtful.add(value)
        self.last = value
        self.log.append(text.strip())
        return Computed(value.data, grads, name, warnings=warnings, extra=extra)

    def evaluate_statement(
        self, expr: nodes.Expr, record: bool | None = None
    ) -> tuple[Any, list[str], dict[str, Any]]:
        """Evaluate an expression in the session's mode; return value, warnings, extras.

        A graph is recorded only where it is used: for calculus, or in gradient mode when
        the expression reads a named variable (or ``ans``), directly or through the user
        functions it calls, since only then are there gradients to report. ``record=True``
        records one whatever the expression (for :graph).
        """
        if self._caught is None:  # not in a run of statements: watch this one alone
            with self.watching():
                return self.evaluate_statement(expr, record)
        calculus, reads = survey(expr, self.functions, self.variables)
        needs_graph = calculus or (self.grad_enabled and reads) if record is None else record
        self._fp = FloatingPointLog()
        self._extra = {}
        start_work()
        self._caught.clear()  # anything caught between statements belongs to none
        with using_config("enable_backprop", needs_graph):
            value = self.evaluate(expr, {})
        self._take_warnings()
        if not is_function(value):
            if not isinstance(value, Variable):  # a number held as dezero holds its results
                value = Variable(value if type(value) is np.float64 else np.asarray(value))
            if not self.grad_enabled and value.creator is not None:
                value = Variable(value.data)  # :nograd keeps no graph, whatever computed it
        return value, self._fp.warnings, self._extra

    @property
    def floating(self) -> FloatingPointLog:
        """The floating-point warnings of the statement being evaluated."""
        return self._fp

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Catch NumPy's floating-point complaints and Python's warnings while statements
        run inside (``with session.watching(): ...``), for each statement to report its own.

        A runner watches a whole script at once: entering NumPy's error state and catching
        warnings cost about 3 µs, a twelfth of a simple statement, when done for each one.
        A statement evaluated outside (a preview, say) is watched alone; inside a watch (a
        script that :load runs), nothing more is entered.
        """
        if self._caught is not None:
            yield
            return
        with (
            np.errstate(all="call", call=self._floating_point),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            self._caught = caught
            try:
                yield
            finally:
                self._caught = None

    def _floating_point(self, kind: str, flag: int) -> None:
        """NumPy's error callback: the complaint goes to the statement being evaluated."""
        self._fp(kind, flag)

    def _take_warnings(self) -> None:
        """Turn the warnings caught since the statement began into its one-line warnings
        (NumPy's other complaints, e.g. about an empty slice)."""
        assert self._caught is not None
        for warning in self._caught:
            message = str(warning.message).splitlines()[0] if str(warning.message) else ""
            if message and message not in self._fp.warnings:
                self._fp.warnings.append(message)
        self._caught.clear()

    def _report(self, value: Variable, check: bool = True) -> tuple[Gradients, Upstream]:
        """The gradient of ``value`` (of the sum of its elements) for each named variable,
        and what the walk up its graph found. Without ``check`` (for a preview), every
        gradient that would be computed again to be vouched for is None instead."""
        if self._caught is None:
            with self.watching():
                return self._report(value, check)
        derivative = is_derived(value)
        most = MAX_DERIVATIVE_REPORT if derivative else None
        doubts = Doubts()
        doubtful = {id(v) for v in self.doubtful} if self.doubtful else ()
        report, walked = self.ledger.report(value, self.variables, most, doubts, doubtful)
        for name, v, g in report if doubts.through else ():
            if g is None:
                through = doubts.through[id(v)]
                self._fp.note(
                    f"∂/∂{name} is not shown: it goes through {through}, whose own ∂/∂{name} "
                    f"could not be vouched for"
                )
        underflowed = self._fp.underflowed or walked.doubtful
        if not check and (doubts.sums or underflowed or derivative or self._fp.pending):
            return [(name, v, None) for name, v, _ in report], walked  # left to Enter
        if report and (doubts.sums or underflowed):  # the pass may have lost digits
            from dezero_repl.calculus import checked_report, doubted

            why = doubted(bool(doubts.sums), bool(underflowed))
            report = checked_report(value, report, self._fp.note, why, underflowed)
        elif report and derivative:  # each gradient is a derivative of higher order
            from dezero_repl.calculus import vouched_report

            report = vouched_report(value, report, self._fp.note)
        elif report and self._fp.pending:  # the pass overflowed, say: on the way only?
            from dezero_repl.calculus import finite_again

            report = finite_again(value, report, self._fp.note)
        self._take_warnings()
        if self._fp.pending:
            self._fp.name("the gradient", [g for _, _, g in report if g is not None])
        return report, walked

    def gradient_report(self, value: Variable) -> dict[str, np.ndarray | None]:
        """The report as name → gradient, for a preview: quickly, without computing any
        gradient again to vouch for it (None stands for one that would be)."""
        return {name: g for name, _, g in self._report(value, check=False)[0]}

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
            raise CalcError(
                f"cannot assign to '{name}': {reason}", start, end, kind=ErrorKind.NameError
            )

    def _bind(self, name: str, value: Variable, walked: Upstream | None = None) -> Variable:
        """Store ``value`` under ``name``; a value already named elsewhere gets its own node.
        ``walked`` is what the walk of its report found (it may spare the pruning)."""
        if self.variables.named(value) or value is self.last:
            if self.grad_enabled:
                with using_config("enable_backprop", True):
                    value = value + 0.0  # a node of its own, with gradient 1 to the original
            else:
                value = Variable(value.data)
            walked = None  # it walked the original
        old = self.variables.get(name)
        self.variables[name] = value
        if value.name is None:
            value.name = name
        if needs_pruning(value, walked, old):
            # A first assignment too: else `y = sum(ones(10**8) ** 2)` keeps 1.6 GB of graph
            prune(value, self.variables.names.keys(), self.ledger)
        if old is not None and not self.variables.named(old):
            if old.ndim > 0 or old.generation > LONG_HISTORY:
                # An array lost its name, or a number with a long history: it is summarized
                # (see ledger.py), else a loop would keep all of its history. (Reports stop
                # at scalars, which remember their gradients; arrays' reports would walk it.)
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
                kind=ErrorKind.NameError,
            )
        if name not in self.functions:  # redefining a function is allowed
            self._check_assignable(name, *span)
        calls = self._check_body(statement)
        cycle = self._cycle(name, calls)
        if cycle:
            raise CalcError(
                "recursive definition: " + " → ".join(cycle) + " (recursion is not supported)",
                *span,
                kind=ErrorKind.RecursionError,
            )
        self.functions[name] = UserFunction(
            name, statement.params, statement.body, text.strip(), frozenset(calls)
        )
        self._callees |= calls
        self.log.append(text.strip())
        params = ", ".join(statement.params)
        extra = {"defined": name, "params": list(statement.params)}
        return Defined(f"defined {name}({params})", extra=extra)

    def _check_body(self, statement: nodes.FuncDef) -> set[str]:
        """Check every name in a body is known; return the user functions it calls."""
        calls: set[str] = set()
        bound = {*statement.params}
        bound.update(n.var for n in nodes.walk(statement.body) if isinstance(n, nodes.BINDERS))
        for node in nodes.walk(statement.body):
            if not isinstance(node, nodes.Name) or node.id in bound:
                continue
            if node.id == statement.name or node.id in self.functions:
                calls.add(node.id)
            elif not self._known(node.id):
                raise CalcError(
                    f"unknown name '{node.id}' in the body of {statement.name}"
                    + did_you_mean(node.id, [*self._all_names(), *statement.params]),
                    node.start,
                    node.end,
                    kind=ErrorKind.NameError,
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

    def value_of(self, name: str, scope: dict[str, Any]) -> Any:
        """What a name holds as a value (a parameter, a variable or the last result), or
        None: for looking ahead at shapes, without the errors of ``lookup``."""
        if name in scope:
            return scope[name]
        if name in self.variables:
            return self.variables[name]
        return self.last if name in RESERVED else None

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
                    kind=ErrorKind.NameError,
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
            hint = _COMMAND_HINTS.get(name) or did_you_mean(name, candidates)
            raise CalcError(
                f"unknown {what} '{name}'" + hint,
                node.start,
                node.end,
                kind=ErrorKind.NameError,
            )
        if node.primes:
            if not is_function(value) or isinstance(value, SpecialForm):
                raise CalcError(
                    f"'{name}' is not a function: primes (') mark derivatives of functions",
                    node.start,
                    node.end,
                    kind=ErrorKind.TypeError,
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
        deadline = self.deadline  # set for a preview, before it is evaluated
        while stack:
            node, state = stack.pop()
            if deadline is not None and time.perf_counter() > deadline:
                raise Timeout()
            if node is None:
                values.append(None)
            elif state < 0:  # the children's values are ready: combine ~state of them
                if type(node) is nodes.Binary:  # the commonest: its two values in place
                    right = values.pop()
                    values[-1] = self._binary(node, values[-1], right)
                    continue
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
            elif state >= choice.DECIDE:  # a choice, and/or: its condition (left side) is ready
                choice.decide(self, node, state, values, stack, scope, depth)
            elif type(node) is nodes.Choice:
                stack += ((node, choice.DECIDE), (node.condition, _VISIT))
            elif type(node) is nodes.Logical:
                stack += ((node, choice.DECIDE), (node.left, _VISIT))
            elif type(node) in nodes.BINDERS:  # the body waits for its variable's values
                kids: tuple[Any, ...] = (
                    (node.func, node.lower, node.upper)
                    if type(node) is nodes.OverRange
                    else (node.lower, node.upper)
                )
                stack.append((node, ~len(kids)))
                for i in range(len(kids) - 1, -1, -1):
                    callee = i == 0 and type(node) is nodes.OverRange
                    stack.append((kids[i], _VISIT_CALLEE if callee else _VISIT))
            else:
                kids = nodes.children(node)
                stack.append((node, ~len(kids)))
                for i in range(len(kids) - 1, -1, -1):
                    callee = i == 0 and type(node) is nodes.Call
                    stack.append((kids[i], _VISIT_CALLEE if callee else _VISIT))
        return values[0]

    def _combine(self, node: Any, args: list[Any], scope: dict[str, Any], depth: int) -> Any:
        """The value of ``node`` from its children's values (a node of any kind: it is told
        by its exact type)."""
        kind = type(node)
        if kind is nodes.Binary:
            return self._binary(node, *args)
        if kind is nodes.Unary:
            (x,) = args
            require_array(x, node.op, node.op_start, node.op_end)
            if node.op == "-":
                return -x
            if node.op == "not":
                return choice.truth(data_of(x) == 0)
            if node.op == "!":
                return self._factorial(node, x)
            return x
        if kind is nodes.OverRange:
            f, lower, upper = args
            return _ranges().over_range(self, node, f, lower, upper, scope, depth)
        if kind is nodes.Integral:
            lower, upper = args
            try:
                return _ranges().integral(self, node, lower, upper, scope, depth)
            except CalcError as e:
                raise e.at(node.start, node.end) from None
        if kind is nodes.Call:
            return self.call(node, args[0], args[1:], scope, depth)
        if kind is nodes.Index:
            return self._index(node, args[0], args[1:])
        if kind is nodes.Slice:
            bounds = [None if a is None else _whole(a, "a slice bound") for a in args]
            if bounds[2] == 0:
                raise CalcError(
                    "a slice step cannot be zero", node.start, node.end, ErrorKind.ValueError
                )
            return slice(*bounds)
        if kind is nodes.Transpose:
            (x,) = args
            require_array(x, ".T", node.op_start, node.op_end)
            return F.transpose(x)
        if kind is nodes.ArrayLit:
            return array_literal(node, args)
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
                f"shapes {np.shape(data_of(x))} and {np.shape(data_of(y))} do not match for '{op}'",
                *span,
                kind=ErrorKind.ValueError,
            ) from None
        if self._fp.pending:
            self._fp.name(f"'{op}'", result)
        return result

    def _factorial(self, node: nodes.Unary, x: Any) -> Variable:
        """x! = gamma(x + 1): inf or nan at the negative whole numbers, with a warning."""
        result = SF.factorial(x)
        if self._fp.pending:
            self._fp.name("'!'", result)
        return result

    def _index(self, node: nodes.Index, target: Any, items: list[Any]) -> Variable:
        require_array(target, "[]", node.op_start, node.op_end)
        target = as_variable(target)
        try:
            key = tuple(item if isinstance(item, slice) else index_item(item) for item in items)
        except CalcError as e:
            raise e.at(node.op_start, node.op_end) from None
        if len(key) > max(target.ndim, 0) and not any(isinstance(k, np.ndarray) for k in key):
            raise CalcError(
                f"too many indices: {len(key)} for an array of {target.ndim} dimension(s)",
                node.op_start,
                node.op_end,
                kind=ErrorKind.IndexError,
            )
        try:
            check_index_size(target.shape, key)
        except CalcError as e:
            raise e.at(node.op_start, node.op_end) from None
        try:
            return F.get_item(target, key if len(key) != 1 else key[0])
        except IndexError as e:
            raise CalcError(
                index_message(str(e)), node.op_start, node.op_end, "IndexError"
            ) from None

    # -- calls ------------------------------------------------------------------------

    def call(
        self, node: nodes.Call, f: Any, args: list[Any], scope: dict[str, Any], depth: int
    ) -> Any:
        """Apply a function value to evaluated arguments."""
        span = node.start, node.end
        if not is_function(f):
            what = "a number" if np.ndim(data_of(f)) == 0 else "an array"
            raise CalcError(
                f"{_describe_callee(node.func)} is {what}, not a function",
                node.func.start,
                node.func.end,
                kind=ErrorKind.TypeError,
            )
        if isinstance(f, SpecialForm):
            result = _calculus().special_form(self, f.name, node, args, scope, depth)
            if isinstance(result, _calculus().Figured):
                self._extra.update(result.figures)
                result = result.value
            return result
        try:
            result = self.apply(f, args, depth)
        except CalcError as e:
            raise e.at(*span) from None
        except (ValueError, TypeError, IndexError) as e:
            raise CalcError(f"{f.name}: {e}", *span, kind=ErrorKind.ValueError) from None
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
            xs = [as_variable(a) for a in args]
            if len(xs) > 1 and f.elementwise and len({x.shape for x in xs}) > 1:
                check_broadcast([x.shape for x in xs], f"{f.name}()")
            return f.compute(*xs)
        name = f.name
        if isinstance(f, UserFunction):
            sig = f"{f.name}({', '.join(f.params)})"
            _check_count(name, sig, len(args), len(f.params), len(f.params))
            if depth >= MAX_CALL_DEPTH:
                raise CalcError(
                    f"function calls nested too deeply (limit {MAX_CALL_DEPTH})",
                    kind=ErrorKind.RecursionError,
                )
            try:
                return self.evaluate(f.body, dict(zip(f.params, args)), depth + 1)
            except Timeout:
                raise
            except CalcError as e:  # a span inside the body means nothing at the call site
                nested = e.kind is ErrorKind.RecursionError  # naming a hundred callers helps nobody
                message = e.message if nested else f"in {f.name}: {e.message}"
                raise CalcError(message, kind=e.kind) from None
        if isinstance(f, Derivative):
            return _calculus().derivative(self, f, args, depth)
        if isinstance(f, GradientOf):
            return _calculus().gradient_of(self, f, args, depth)
        raise CalcError(f"'{name}' cannot be called here", kind=ErrorKind.TypeError)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "//": P.floordiv,
    "%": P.mod,
    **choice.COMPARISONS,
}


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


def _calculus() -> Any:
    """dezero_repl.calculus, imported when a statement first needs it: with ranges and the
    quadrature it costs start-up that a script of arithmetic never uses."""
    from dezero_repl import calculus

    return calculus


def _ranges() -> Any:
    """dezero_repl.ranges, imported when a statement first needs it (see ``_calculus``)."""
    from dezero_repl import ranges

    return ranges


#: What to type instead of a command's name used as a name (in a script, say).
_COMMAND_HINTS = {
    "help": "; for help type :help",
    "quit": "; to leave type :quit or press Ctrl-D",
    "exit": "; to leave type :quit or press Ctrl-D",
}
#: The states of a node on the evaluation stack (a negative state counts children: ~n; a
#: choice or and/or has states of its own, from choice.DECIDE on).
_VISIT, _VISIT_CALLEE = 0, 1
#: Values that are certainly arrays, so operators need not check them.
_ARRAYS = (Variable, np.float64, np.ndarray)


def _whole(value: Any, what: str) -> int:
    require_array(value, what)
    return integer(value, what)


def _describe_callee(func: nodes.Expr) -> str:
    return f"'{func.id}'" if isinstance(func, nodes.Name) else "this value"


def _check_count(name: str, signature: str, got: int, lo: int, hi: int) -> None:
    if lo <= got <= hi:
        return
    want = f"{lo}" if lo == hi else f"{lo} to {hi}"
    plural = "" if (lo == hi == 1) else "s"
    raise CalcError(
        f"{name} takes {want} argument{plural} ({signature}), got {got}", kind=ErrorKind.TypeError
    )
