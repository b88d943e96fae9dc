"""The syntax tree of the calculator language: plain data, never changed once built.

Every node records `start` and `end`, the character offsets of its source text
within the parsed statement. Operations also record `op_start` and `op_end`, the
span of their operator, so an error can be underlined where it happened.

Trees may be 10,000 levels deep, so nothing here recurses: nodes compare by
identity, their repr shows only one level, and `walk` and `to_sexpr` keep an
explicit stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

# Each node is a plain class with ``__slots__`` and an ``__init__`` that sets every field.
# (Dataclasses would write those for us, at 0.25 ms a class each time the calculator
# starts: 4.4 ms for these 18, which is 3% of its start-up. See benchmarks/README.md.)
# The parameters are the fields, by name, and none is keyword-only: a memoized parse
# (shapes.py) passes them by position. Everywhere else, spans are passed by keyword.
# Nodes are not frozen, but nothing changes a node after it is built.


class Node:
    """Base of all nodes: a span of source text."""

    __slots__ = ("start", "end")

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end

    def __repr__(self) -> str:
        parts = [f"{name}={_shallow(getattr(self, name))}" for name in fields(self)]
        return f"{type(self).__name__}({', '.join(parts)})"


def fields(node: Node) -> tuple[str, ...]:
    """The names of a node's fields: its span first, then its own in order."""
    return Node.__slots__ + type(node).__slots__


_N = TypeVar("_N", bound="Node")


def respan(node: _N, start: int, end: int) -> _N:
    """A copy of ``node`` with the span start..end (a parenthesized expression's, say)."""
    copy = object.__new__(type(node))
    for name in fields(node):
        setattr(copy, name, getattr(node, name))
    copy.start, copy.end = start, end
    return copy


def _shallow(value: object) -> str:
    """Show a field without descending into child nodes."""
    if isinstance(value, Node):
        return f"<{type(value).__name__}>"
    if isinstance(value, tuple):
        return "(" + ", ".join(_shallow(item) for item in value) + ")"
    return repr(value)


# ---- expressions ----------------------------------------------------------------


class Number(Node):
    """A number as written (`2.5`, `1e-3`), read as a float."""

    __slots__ = ("value",)

    def __init__(self, value: float, start: int, end: int) -> None:
        self.value = value
        self.start, self.end = start, end


class Name(Node):
    """A variable or function name; `primes` counts derivative marks: f'' has 2."""

    __slots__ = ("id", "primes")

    def __init__(self, id: str, primes: int, start: int, end: int) -> None:
        self.id = id
        self.primes = primes
        self.start, self.end = start, end


class Unary(Node):
    """An operator with one operand: `-x`, `not x`, `n!`."""

    __slots__ = ("op", "operand", "op_start", "op_end")

    def __init__(
        self, op: str, operand: Expr, start: int, end: int, op_start: int, op_end: int
    ) -> None:
        self.op = op  # '-', '+', 'not', or '!' (the factorial, written after its operand)
        self.operand = operand
        self.start, self.end = start, end
        self.op_start, self.op_end = op_start, op_end


class Binary(Node):
    """left op right: arithmetic, `@`, or a comparison."""

    __slots__ = ("op", "left", "right", "op_start", "op_end")

    def __init__(
        self, op: str, left: Expr, right: Expr, start: int, end: int, op_start: int, op_end: int
    ) -> None:
        self.op = op  # + - * / @ // % ** (written ** or ^), or a comparison: < <= > >= == !=
        self.left = left
        self.right = right
        self.start, self.end = start, end
        self.op_start, self.op_end = op_start, op_end


class Call(Node):
    """func(args); the operator span is the parenthesized argument list."""

    __slots__ = ("func", "args", "op_start", "op_end")

    def __init__(
        self,
        func: Expr,
        args: tuple[Expr, ...],
        start: int,
        end: int,
        op_start: int,
        op_end: int,
    ) -> None:
        self.func = func
        self.args = args
        self.start, self.end = start, end
        self.op_start, self.op_end = op_start, op_end


class Slice(Node):
    """lower:upper:step inside an index; a missing part is None."""

    __slots__ = ("lower", "upper", "step")

    def __init__(
        self, lower: Expr | None, upper: Expr | None, step: Expr | None, start: int, end: int
    ) -> None:
        self.lower = lower
        self.upper = upper
        self.step = step
        self.start, self.end = start, end


class Index(Node):
    """target[items]; the operator span is the bracketed item list."""

    __slots__ = ("target", "items", "op_start", "op_end")

    def __init__(
        self,
        target: Expr,
        items: tuple[Expr | Slice, ...],
        start: int,
        end: int,
        op_start: int,
        op_end: int,
    ) -> None:
        self.target = target
        self.items = items
        self.start, self.end = start, end
        self.op_start, self.op_end = op_start, op_end


class Transpose(Node):
    """target.T; the operator span is `.T`."""

    __slots__ = ("target", "op_start", "op_end")

    def __init__(self, target: Expr, start: int, end: int, op_start: int, op_end: int) -> None:
        self.target = target
        self.start, self.end = start, end
        self.op_start, self.op_end = op_start, op_end


class ArrayLit(Node):
    """[a, b, ...]: an array of its elements, which may be arrays themselves."""

    __slots__ = ("elements",)

    def __init__(self, elements: tuple[Expr, ...], start: int, end: int) -> None:
        self.elements = elements
        self.start, self.end = start, end


class Logical(Node):
    """left and right, left or right: 1 or 0; the right side is skipped when the left
    decides (for numbers)."""

    __slots__ = ("op", "left", "right", "op_start", "op_end")

    def __init__(
        self, op: str, left: Expr, right: Expr, start: int, end: int, op_start: int, op_end: int
    ) -> None:
        self.op = op  # 'and' or 'or'
        self.left = left
        self.right = right
        self.start, self.end = start, end
        self.op_start, self.op_end = op_start, op_end


class Choice(Node):
    """if condition then chosen else otherwise."""

    __slots__ = ("condition", "chosen", "otherwise")

    def __init__(
        self, condition: Expr, chosen: Expr, otherwise: Expr, start: int, end: int
    ) -> None:
        self.condition = condition
        self.chosen = chosen
        self.otherwise = otherwise
        self.start, self.end = start, end


class OverRange(Node):
    """func(body for var in lower..upper), e.g. sum(k^2 for k in 1..10)."""

    __slots__ = ("func", "body", "var", "lower", "upper", "var_start", "var_end")

    def __init__(
        self,
        func: Expr,
        body: Expr,
        var: str,
        lower: Expr,
        upper: Expr,
        start: int,
        end: int,
        var_start: int,
        var_end: int,
    ) -> None:
        self.func = func
        self.body = body
        self.var = var
        self.lower = lower
        self.upper = upper
        self.start, self.end = start, end
        self.var_start, self.var_end = var_start, var_end


class Integral(Node):
    """integrate(body, var, lower, upper): the integral of body as var runs from lower to
    upper; the operator span is the parenthesized argument list."""

    __slots__ = ("body", "var", "lower", "upper", "var_start", "var_end", "op_start", "op_end")

    def __init__(
        self,
        body: Expr,
        var: str,
        lower: Expr,
        upper: Expr,
        start: int,
        end: int,
        var_start: int,
        var_end: int,
        op_start: int,
        op_end: int,
    ) -> None:
        self.body = body
        self.var = var
        self.lower = lower
        self.upper = upper
        self.start, self.end = start, end
        self.var_start, self.var_end = var_start, var_end
        self.op_start, self.op_end = op_start, op_end


Expr = (
    Number
    | Name
    | Unary
    | Binary
    | Call
    | Index
    | Transpose
    | ArrayLit
    | Logical
    | Choice
    | OverRange
    | Integral
)

#: Nodes that bind a variable of their own in their body.
BINDERS = (OverRange, Integral)


# ---- statements -----------------------------------------------------------------


class ExprStmt(Node):
    """A statement that is an expression: its value is shown."""

    __slots__ = ("expr",)

    def __init__(self, expr: Expr, start: int, end: int) -> None:
        self.expr = expr
        self.start, self.end = start, end


class Assign(Node):
    """name = expr; `name_start`, `name_end` locate the name."""

    __slots__ = ("name", "expr", "name_start", "name_end")

    def __init__(
        self, name: str, expr: Expr, start: int, end: int, name_start: int, name_end: int
    ) -> None:
        self.name = name
        self.expr = expr
        self.start, self.end = start, end
        self.name_start, self.name_end = name_start, name_end


class FuncDef(Node):
    """name(params) = body; `name_start`, `name_end` locate the name."""

    __slots__ = ("name", "params", "body", "name_start", "name_end")

    def __init__(
        self,
        name: str,
        params: tuple[str, ...],
        body: Expr,
        start: int,
        end: int,
        name_start: int,
        name_end: int,
    ) -> None:
        self.name = name
        self.params = params
        self.body = body
        self.start, self.end = start, end
        self.name_start, self.name_end = name_start, name_end


class Command(Node):
    """:name arg — `name` without the colon, `arg` the stripped rest of the line."""

    __slots__ = ("name", "arg")

    def __init__(self, name: str, arg: str, start: int, end: int) -> None:
        self.name = name
        self.arg = arg
        self.start, self.end = start, end


Statement = ExprStmt | Assign | FuncDef | Command


# ---- traversal without recursion ------------------------------------------------


def children(node: Node) -> tuple[Node | None, ...]:
    """The direct sub-nodes of `node`, in source order (None for a missing slice part)."""
    match node:
        case Unary():
            return (node.operand,)
        case Binary():
            return (node.left, node.right)
        case Call():
            return (node.func, *node.args)
        case Index():
            return (node.target, *node.items)
        case Slice():
            return (node.lower, node.upper, node.step)
        case Transpose():
            return (node.target,)
        case ArrayLit():
            return node.elements
        case Logical():
            return (node.left, node.right)
        case Choice():
            return (node.condition, node.chosen, node.otherwise)
        case OverRange():
            return (node.func, node.lower, node.upper, node.body)
        case Integral():
            return (node.lower, node.upper, node.body)
        case ExprStmt() | Assign():
            return (node.expr,)
        case FuncDef():
            return (node.body,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Yield `node` and all nodes below it, parents before children."""
    stack: list[Node] = [node]
    while stack:
        item = stack.pop()
        yield item
        if type(item) not in _LEAVES:  # most nodes are names and numbers: skip the match
            stack.extend(child for child in reversed(children(item)) if child is not None)


_LEAVES = frozenset({Name, Number})


def to_sexpr(node: Node | None) -> str:
    """Render a tree as an s-expression, e.g. "(+ 1 (* 2 3))"."""
    pieces: list[str] = []
    stack: list[Node | str | None] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            pieces.append(item)
        elif item is None:
            pieces.append("_")
        elif isinstance(item, ExprStmt):
            stack.append(item.expr)
        elif isinstance(item, Number | Name | Command):
            pieces.append(_leaf(item))
        else:
            head, kids = _head(item), children(item)
            pieces.append("(" + head)
            stack.append(")")
            for kid in reversed(kids):
                stack.extend((kid, " "))
    return "".join(pieces)


def _leaf(node: Number | Name | Command) -> str:
    if isinstance(node, Number):
        value = node.value
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(node, Name):
        return node.id + "'" * node.primes
    return f'(:{node.name} "{node.arg}")' if node.arg else f"(:{node.name})"


def _head(node: Node) -> str:
    match node:
        case Unary() | Binary() | Logical():
            return node.op
        case Choice():
            return "if"
        case OverRange():
            return f"over {node.var}"
        case Integral():
            return f"integrate {node.var}"
        case Call():
            return "call"
        case Index():
            return "index"
        case Slice():
            return "slice"
        case Transpose():
            return "transpose"
        case ArrayLit():
            return "array"
        case Assign():
            return f"= {node.name}"
        case FuncDef():
            return f"def {node.name} ({' '.join(node.params)})"
    return type(node).__name__
