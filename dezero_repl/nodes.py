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
from dataclasses import dataclass, field, fields

# Each node is a ``dataclass(slots=True, eq=False, repr=False)``. Not frozen: nothing changes
# a node after it is built, and a frozen dataclass costs time at start-up and on every node
# built (its __init__ goes through object.__setattr__).


@dataclass(slots=True, eq=False, repr=False)
class Node:
    """Base of all nodes: a span of source text."""

    start: int = field(kw_only=True)
    end: int = field(kw_only=True)

    def __repr__(self) -> str:
        parts = [f"{f.name}={_shallow(getattr(self, f.name))}" for f in fields(self)]
        return f"{type(self).__name__}({', '.join(parts)})"


def _shallow(value: object) -> str:
    """Show a field without descending into child nodes."""
    if isinstance(value, Node):
        return f"<{type(value).__name__}>"
    if isinstance(value, tuple):
        return "(" + ", ".join(_shallow(item) for item in value) + ")"
    return repr(value)


# ---- expressions ----------------------------------------------------------------


@dataclass(slots=True, eq=False, repr=False)
class Number(Node):
    """A number as written (`2.5`, `1e-3`), read as a float."""

    value: float


@dataclass(slots=True, eq=False, repr=False)
class Name(Node):
    """A variable or function name; `primes` counts derivative marks: f'' has 2."""

    id: str
    primes: int = 0


@dataclass(slots=True, eq=False, repr=False)
class Unary(Node):
    """An operator with one operand: `-x`, `not x`, `n!`."""

    op: str  # '-', '+', 'not', or '!' (the factorial, written after its operand)
    operand: Expr
    op_start: int = field(kw_only=True)
    op_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class Binary(Node):
    """left op right: arithmetic, `@`, or a comparison."""

    op: str  # + - * / @ // % ** (written ** or ^), or a comparison: < <= > >= == !=
    left: Expr
    right: Expr
    op_start: int = field(kw_only=True)
    op_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class Call(Node):
    """func(args); the operator span is the parenthesized argument list."""

    func: Expr
    args: tuple[Expr, ...]
    op_start: int = field(kw_only=True)
    op_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class Slice(Node):
    """lower:upper:step inside an index; a missing part is None."""

    lower: Expr | None
    upper: Expr | None
    step: Expr | None


@dataclass(slots=True, eq=False, repr=False)
class Index(Node):
    """target[items]; the operator span is the bracketed item list."""

    target: Expr
    items: tuple[Expr | Slice, ...]
    op_start: int = field(kw_only=True)
    op_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class Transpose(Node):
    """target.T; the operator span is `.T`."""

    target: Expr
    op_start: int = field(kw_only=True)
    op_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class ArrayLit(Node):
    """[a, b, ...]: an array of its elements, which may be arrays themselves."""

    elements: tuple[Expr, ...]


@dataclass(slots=True, eq=False, repr=False)
class Logical(Node):
    """left and right, left or right: 1 or 0; the right side is skipped when the left
    decides (for numbers)."""

    op: str  # 'and' or 'or'
    left: Expr
    right: Expr
    op_start: int = field(kw_only=True)
    op_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class Choice(Node):
    """if condition then chosen else otherwise."""

    condition: Expr
    chosen: Expr
    otherwise: Expr


@dataclass(slots=True, eq=False, repr=False)
class OverRange(Node):
    """func(body for var in lower..upper), e.g. sum(k^2 for k in 1..10)."""

    func: Expr
    body: Expr
    var: str
    lower: Expr
    upper: Expr
    var_start: int = field(kw_only=True)
    var_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class Integral(Node):
    """integrate(body, var, lower, upper): the integral of body as var runs from lower to
    upper; the operator span is the parenthesized argument list."""

    body: Expr
    var: str
    lower: Expr
    upper: Expr
    var_start: int = field(kw_only=True)
    var_end: int = field(kw_only=True)
    op_start: int = field(kw_only=True)
    op_end: int = field(kw_only=True)


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


@dataclass(slots=True, eq=False, repr=False)
class ExprStmt(Node):
    """A statement that is an expression: its value is shown."""

    expr: Expr


@dataclass(slots=True, eq=False, repr=False)
class Assign(Node):
    """name = expr; `name_start`, `name_end` locate the name."""

    name: str
    expr: Expr
    name_start: int = field(kw_only=True)
    name_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class FuncDef(Node):
    """name(params) = body; `name_start`, `name_end` locate the name."""

    name: str
    params: tuple[str, ...]
    body: Expr
    name_start: int = field(kw_only=True)
    name_end: int = field(kw_only=True)


@dataclass(slots=True, eq=False, repr=False)
class Command(Node):
    """:name arg — `name` without the colon, `arg` the stripped rest of the line."""

    name: str
    arg: str


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
