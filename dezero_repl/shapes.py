"""Memoized parsing: statements of the same shape share one parse.

A script often repeats a statement's shape with other names and numbers
(``a3 = 1.25 * a5 + a2``, ``a7 = 0.5 * a1 + a9``, ...). The LALR parse depends only on the
sequence of token types, so the grammar's answer for one such statement holds for all of
them. ``ShapeCache`` keys statements by that sequence; the first of a shape is parsed by Lark
and turned into a *plan* that rebuilds its syntax tree from another statement's tokens, with
that statement's names, numbers and positions. Anything unusual (commands, definitions,
errors) is simply never memoized and always goes to Lark.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import Any

from dezero_repl import nodes

#: Longer statements are rarely repeated: they go to Lark and are not memoized.
MAX_TOKENS = 200

_SPANS = ("start", "end", "op_start", "op_end", "name_start", "name_end", "var_start", "var_end")

Token = tuple[str, int, int]  # kind, start, end


def shape_key(text: str, tokens: list[Token]) -> tuple | None:
    """The token-type sequence of a statement, or None if it must not be memoized."""
    key: list[str] = []
    after_dot = False
    number_end = -1  # where a number just ended: the next token may touch it
    for kind, start, end in tokens:
        if kind in _UNMEMOIZED:
            return None
        if start == number_end:  # 2x is a coefficient, 2 x an error: touching matters
            key[-1] = "0~"
        if kind == "number":
            key.append("0")
            number_end, after_dot = end, False
            continue
        number_end = -1
        if kind == "comment":
            continue
        word = text[start:end]
        if kind == "name":
            # integrate(body, t, a, b) is a node of its own, not a call (see parser.py)
            plain = word == "integrate" or after_dot
            primes = word[len(word.rstrip("'")) :] if word.endswith("'") else ""  # f'' has 2
            key.append(word if plain else "f" + primes if primes else "x")
        else:
            key.append(word)
        after_dot = word == "."
    return tuple(key)


_UNMEMOIZED = frozenset(("error", "command", "argument"))


class Plan:
    """How to rebuild a syntax tree from the tokens of any statement of one shape.

    A statement's values are laid out in a *pool*: the start and end of each token, then
    the words the tree reads (numbers and names), then the shape's constants (operators,
    say), then the nodes as they are built, children first. Each step calls a node's class
    with its fields, which ``itemgetter`` takes from the pool in one go, in the order of
    the class's parameters; a step may also make the tuple of nodes a call takes as its
    arguments.
    """

    def __init__(
        self,
        words: list[tuple[int, int]],
        constants: list[Any],
        steps: list[tuple[Callable, Callable[[list], tuple]]],
    ) -> None:
        self.words = words  # (how to read it, token index)
        self.constants = constants
        self.steps = steps

    def build(self, text: str, tokens: list[Token]) -> nodes.Statement:
        pool: list[Any] = []
        for _, start, end in tokens:
            pool += (start, end)
        for how, i in self.words:
            word = text[tokens[i][1] : tokens[i][2]]
            if how == _FLOAT:
                pool.append(float(word))
            else:  # a name's identifier, without its primes (the shape counts them)
                pool.append(word.rstrip("'"))
        pool += self.constants
        for cls, arguments in self.steps:  # each takes its arguments from the pool at once
            pool.append(cls(*arguments(pool)))
        return pool[-1]


_FLOAT, _ID = range(2)
_WORDS = {"float": _FLOAT, "id": _ID}
_KIDS = ("child", "children")


def _items(*items: nodes.Node) -> tuple[nodes.Node, ...]:
    """The tuple of a call's arguments, made by a step as a node is."""
    return items


def _taker(indices: list[int]) -> Callable[[list], tuple]:
    """What takes the items at ``indices`` from the pool, as a tuple."""
    if len(indices) >= 2:
        return operator.itemgetter(*indices)
    return lambda pool: tuple([pool[i] for i in indices])


def _parameters(cls: type) -> tuple[str, ...]:
    """The parameters of a node class, in order (each is one of its fields, by name)."""
    code = cls.__init__.__code__  # type: ignore[misc]
    return code.co_varnames[1 : code.co_argcount]


def learn(tree: nodes.Statement, text: str, tokens: list[Token]) -> Plan | None:
    """A plan that rebuilds ``tree`` from tokens, or None if the tree does not fit one."""
    starts = {start: i for i, (_, start, _) in enumerate(tokens)}
    ends = {end: i for i, (_, _, end) in enumerate(tokens)}
    try:
        recipes = [
            (type(node), _fields(node, text, tokens, starts, ends)) for node in _post_order(tree)
        ]
    except _Unfit:
        return None
    words = [(_WORDS[how], arg) for _, recipe in recipes for _, how, arg in recipe if how in _WORDS]
    constants = [arg for _, recipe in recipes for _, how, arg in recipe if how == "const"]
    word_at, constant_at = 2 * len(tokens), 2 * len(tokens) + len(words)
    size = constant_at + len(constants)  # where the first node will be
    steps: list[tuple[Callable, Callable[[list], tuple]]] = []
    built: list[int] = []  # the pool indices of the nodes not yet a child
    for cls, recipe in recipes:
        count = sum(1 if how == "child" else arg for _, how, arg in recipe if how in _KIDS)
        kids = built[len(built) - count :]  # the node's children, built in field order
        del built[len(built) - count :]
        fields = []
        for name, how, arg in recipe:
            if how in _WORDS:
                index, word_at = word_at, word_at + 1
            elif how == "const":
                index, constant_at = constant_at, constant_at + 1
            elif how in ("start", "end"):
                index = 2 * arg + (how == "end")
            elif how == "child":
                index = kids.pop(0)
            else:  # children: a tuple of nodes, made by a step of its own
                steps.append((_items, _taker(kids[:arg])))
                del kids[:arg]
                index, size = size, size + 1
            fields.append((name, index))
        at = dict(fields)
        steps.append((cls, _taker([at[name] for name in _parameters(cls)])))
        built.append(size)
        size += 1
    return Plan(words, constants, steps)


class _Unfit(Exception):
    """The tree has something a plan cannot express."""


def _fields(node: nodes.Node, text: str, tokens, starts, ends) -> list[tuple]:
    out = []
    for name in nodes.fields(node):
        value = getattr(node, name)
        if name in _SPANS:
            out.append(_span(name, value, starts, ends))
        elif isinstance(value, nodes.Node):
            out.append((name, "child", None))  # one node
        elif isinstance(value, tuple) and all(isinstance(v, nodes.Node) for v in value):
            out.append((name, "children", len(value)))
        elif isinstance(node, nodes.Number) and name == "value":
            i = _token_at(node.start, starts, tokens, "number")
            if float(text[tokens[i][1] : tokens[i][2]]) != value:
                raise _Unfit()
            out.append((name, "float", i))
        elif isinstance(node, nodes.Name) and name == "id":
            i = _token_at(node.start, starts, tokens, "name")
            if text[tokens[i][1] : tokens[i][2]].rstrip("'") != node.id:
                raise _Unfit()
            out.append((name, name, i))
        elif isinstance(node, nodes.BINDERS) and name == "var":
            out.append((name, "id", _token_at(node.var_start, starts, tokens, "name")))
        elif isinstance(node, nodes.Assign) and name == "name":
            out.append((name, "id", _token_at(node.name_start, starts, tokens, "name")))
        elif isinstance(node, (nodes.FuncDef, nodes.Command)):
            raise _Unfit()  # parameters and arguments that the grammar checks by value
        else:
            out.append((name, "const", value))  # operators, missing slice parts
    return out


def _span(name: str, position: int, starts: dict, ends: dict) -> tuple:
    side = "end" if name.endswith("end") else "start"
    table = ends if side == "end" else starts
    if position not in table:
        raise _Unfit()
    return (name, side, table[position])


def _token_at(position: int, starts: dict, tokens: list[Token], kind: str) -> int:
    i = starts.get(position)
    if i is None or tokens[i][0] != kind:
        raise _Unfit()
    return i


def _post_order(tree: nodes.Node) -> Iterator[nodes.Node]:
    """Nodes, children before parents and in field order, without recursion."""
    stack: list[tuple[nodes.Node, bool]] = [(tree, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            yield node
            continue
        stack.append((node, True))
        for child in reversed(_child_nodes(node)):
            stack.append((child, False))


def _child_nodes(node: nodes.Node) -> list[nodes.Node]:
    kids: list[nodes.Node] = []
    for name in nodes.fields(node):
        value = getattr(node, name)
        if isinstance(value, nodes.Node):
            kids.append(value)
        elif isinstance(value, tuple):
            kids.extend(v for v in value if isinstance(v, nodes.Node))
    return kids


class ShapeCache:
    """Parses through ``parse`` (Lark) once per shape, and by plan afterwards.

    ``lex`` gives a statement's tokens as (kind, start, end), or None for a statement
    that must go to ``parse`` every time. Plans live in memory for the run and nowhere else.
    """

    def __init__(
        self, parse: Callable[[str], Any], lex: Callable[[str], list | None], size: int = 2048
    ) -> None:
        self.parse = parse
        self.lex = lex
        self.size = size
        self.plans: dict[tuple, Plan | None] = {}
        self.hits = self.misses = 0

    def __call__(self, text: str) -> Any:
        tokens = self.lex(text)
        if tokens is None or len(tokens) > MAX_TOKENS:
            return self.parse(text)
        key = shape_key(text, tokens)
        plan = self.plans.get(key) if key is not None else None
        if plan is not None:
            self.hits += 1
            return plan.build(text, tokens)
        self.misses += 1
        tree = self.parse(text)  # raises ParseError: errors are never memoized
        if key is not None and tree is not None and key not in self.plans:
            if len(self.plans) >= self.size:
                self.plans.clear()
            self.plans[key] = learn(tree, text, tokens)
        return tree
