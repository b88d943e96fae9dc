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

import atexit
import contextlib
import dataclasses
import json
import os
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dezero_repl import ast

#: Longer statements are rarely repeated: they go to Lark and are not memoized.
MAX_TOKENS = 200
#: How many plans persist between runs: those used most recently.
MAX_STORED = 256

_SPANS = ("start", "end", "op_start", "op_end", "name_start", "name_end")

Token = tuple[str, int, int]  # kind, start, end


def shape_key(text: str, tokens: list[Token]) -> tuple | None:
    """The token-type sequence of a statement, or None if it must not be memoized."""
    key = []
    after_dot = False
    for kind, start, end in tokens:
        if kind in ("error", "command", "argument"):
            return None
        if kind == "comment":
            continue
        word = text[start:end]
        if kind == "number":
            key.append("0")
        elif kind == "name":
            primes = word.endswith("'")
            key.append(word if after_dot else ("f'" if primes else "x"))
        else:
            key.append(word)
        after_dot = word == "."
    return tuple(key)


class Plan:
    """How to rebuild a syntax tree from the tokens of any statement of one shape.

    Each step builds one node, children first: ``kids`` lists its child fields in order
    (with how many nodes a tuple field takes, or None for a single node), ``leaves`` how to
    compute its other fields from the statement's tokens.
    """

    def __init__(self, steps: list[tuple[type, list[tuple], list[tuple]]]) -> None:
        self.steps = steps

    def build(self, text: str, tokens: list[Token]) -> ast.Statement:
        values: list[Any] = []
        for cls, kids, leaves in self.steps:
            args: dict[str, Any] = {}
            for name, count in reversed(kids):  # children were pushed in field order
                if count is None:
                    args[name] = values.pop()
                else:
                    args[name] = tuple(values[len(values) - count :])
                    del values[len(values) - count :]
            for name, op, arg in leaves:
                if op == "start":
                    args[name] = tokens[arg][1]
                elif op == "end":
                    args[name] = tokens[arg][2]
                elif op == "const":
                    args[name] = arg
                else:
                    word = text[tokens[arg][1] : tokens[arg][2]]
                    if op == "float":
                        args[name] = float(word)
                    elif op == "id":
                        args[name] = word.rstrip("'")
                    else:  # primes
                        args[name] = len(word) - len(word.rstrip("'"))
            values.append(cls(**args))
        return values[0]


def learn(tree: ast.Statement, text: str, tokens: list[Token]) -> Plan | None:
    """A plan that rebuilds ``tree`` from tokens, or None if the tree does not fit one."""
    starts = {start: i for i, (_, start, _) in enumerate(tokens)}
    ends = {end: i for i, (_, _, end) in enumerate(tokens)}
    steps: list[tuple[type, list[tuple]]] = []
    try:
        for node in _post_order(tree):
            fields = _fields(node, text, tokens, starts, ends)
            kids = [(name, arg) for name, op, arg in fields if op in ("child", "children")]
            leaves = [f for f in fields if f[1] not in ("child", "children")]
            steps.append((type(node), kids, leaves))
    except _Unfit:
        return None
    return Plan(steps)


class _Unfit(Exception):
    """The tree has something a plan cannot express."""


def _fields(node: ast.Node, text: str, tokens, starts, ends) -> list[tuple]:
    out = []
    for field in dataclasses.fields(node):
        name, value = field.name, getattr(node, field.name)
        if name in _SPANS:
            out.append(_span(name, value, starts, ends))
        elif isinstance(value, ast.Node):
            out.append((name, "child", None))  # one node
        elif isinstance(value, tuple) and all(isinstance(v, ast.Node) for v in value):
            out.append((name, "children", len(value)))
        elif isinstance(node, ast.Number) and name == "value":
            i = _token_at(node.start, starts, tokens, "number")
            if float(text[tokens[i][1] : tokens[i][2]]) != value:
                raise _Unfit()
            out.append((name, "float", i))
        elif isinstance(node, ast.Name) and name in ("id", "primes"):
            i = _token_at(node.start, starts, tokens, "name")
            if text[tokens[i][1] : tokens[i][2]].rstrip("'") != node.id:
                raise _Unfit()
            out.append((name, name, i))
        elif isinstance(node, ast.Assign) and name == "name":
            out.append((name, "id", _token_at(node.name_start, starts, tokens, "name")))
        elif isinstance(node, (ast.FuncDef, ast.Command)):
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


def _post_order(tree: ast.Node) -> Iterator[ast.Node]:
    """Nodes, children before parents and in field order, without recursion."""
    stack: list[tuple[ast.Node, bool]] = [(tree, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            yield node
            continue
        stack.append((node, True))
        for child in reversed(_child_nodes(node)):
            stack.append((child, False))


def _child_nodes(node: ast.Node) -> list[ast.Node]:
    kids: list[ast.Node] = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, ast.Node):
            kids.append(value)
        elif isinstance(value, tuple):
            kids.extend(v for v in value if isinstance(v, ast.Node))
    return kids


class ShapeCache:
    """Parses through ``parse`` (Lark) once per shape, and by plan afterwards.

    ``lex`` gives a statement's tokens as (kind, start, end), or None for a statement
    that must go to ``parse`` every time. With a ``store`` directory, plans persist between
    runs, one small JSON file per shape: a run reads only the shapes it meets, so starting
    costs the same however many shapes earlier runs have stored.
    """

    def __init__(
        self,
        parse: Callable[[str], Any],
        lex: Callable[[str], list | None],
        size: int = 2048,
        store: Path | None = None,
    ) -> None:
        self.parse = parse
        self.lex = lex
        self.size = size
        self.store = store
        self.plans: dict[tuple, Plan | None] = {}
        self.learned: dict[tuple, Plan] = {}  # new in this run, to be stored
        self.read: set[tuple] = set()  # found in the store in this run
        self.hits = self.misses = 0

    def __call__(self, text: str) -> Any:
        tokens = self.lex(text)
        if tokens is None or len(tokens) > MAX_TOKENS:
            return self.parse(text)
        key = shape_key(text, tokens)
        if key is not None and key not in self.plans and self.store is not None:
            self._read(key)
        plan = self.plans.get(key) if key is not None else None
        if plan is not None:
            try:
                tree = plan.build(text, tokens)
                self.hits += 1
                return tree
            except (IndexError, TypeError, ValueError):  # a damaged stored plan
                del self.plans[key]
        self.misses += 1
        tree = self.parse(text)  # raises ParseError: errors are never memoized
        if key is not None and tree is not None and key not in self.plans:
            if len(self.plans) >= self.size:
                self.plans.clear()
            self.plans[key] = plan = learn(tree, text, tokens)
            if plan is not None and self.store is not None:
                self._remember(key, plan)
        return tree

    def _read(self, key: tuple) -> None:
        """Look for a stored plan of this shape; a missing or damaged file is no plan."""
        plan = _load(self.store / _file_name(key), key)
        if plan is not None:
            self.plans[key] = plan
            self._remember(key, None)

    def _remember(self, key: tuple, plan: Plan | None) -> None:
        """Note a shape to write (a new plan) or to mark as recently used (None) at exit."""
        if not self.learned and not self.read:
            atexit.register(self.save)
        if plan is None:
            self.read.add(key)
        else:
            self.learned[key] = plan
            if len(self.learned) > MAX_STORED:  # only the most recent would be kept anyway
                del self.learned[next(iter(self.learned))]

    def save(self) -> None:
        """Write the new plans (atomically) and mark the plans read as recently used; keep
        the MAX_STORED most recently used. A failure only loses the memo.

        Stores left by other versions of the grammar or code are removed.
        """
        try:
            self.store.mkdir(parents=True, exist_ok=True)
        except OSError:
            return
        for key, plan in self.learned.items():
            path = self.store / _file_name(key)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            with contextlib.suppress(OSError):
                temporary.write_text(json.dumps([list(key), _encode(plan)]), encoding="utf-8")
                os.replace(temporary, path)
        for key in self.read:
            with contextlib.suppress(OSError):  # another run may have just removed it
                os.utime(self.store / _file_name(key))
        if self.learned:
            with contextlib.suppress(OSError):
                _prune(self.store)


def _file_name(key: tuple) -> str:
    """A file name for a shape: two checksums of its key (a collision only costs a parse,
    since the file holds the key itself)."""
    data = "\x1f".join(key).encode("utf-8")
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}.json"


def _prune(store: Path) -> None:
    """Keep the MAX_STORED most recently used plans; remove other versions' stores, and
    files half written by runs that were killed an hour or more ago."""
    now = time.time()
    ages = {}
    for path in store.iterdir():
        with contextlib.suppress(OSError):  # another run may be pruning too
            ages[path] = now - path.stat().st_mtime
    plans = sorted((p for p in ages if p.suffix == ".json"), key=ages.__getitem__)
    leftovers = [p for p in ages if p.suffix == ".tmp" and ages[p] > 3600]
    for old in plans[MAX_STORED:] + leftovers:
        old.unlink(missing_ok=True)
    for other in store.parent.glob("shapes-*"):
        if other == store:
            continue
        if other.is_dir():
            for f in other.iterdir():
                f.unlink(missing_ok=True)
            other.rmdir()
        else:
            other.unlink(missing_ok=True)


_NODES = {cls.__name__: cls for cls in vars(ast).values() if isinstance(cls, type)}


def _encode(plan: Plan) -> list:
    return [[cls.__name__, kids, leaves] for cls, kids, leaves in plan.steps]


def _load(path: Path, key: tuple) -> Plan | None:
    """The plan stored in ``path`` for ``key``; None if there is none or it is unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            stored_key, steps = json.load(f)
        if tuple(stored_key) != key:
            return None
        decoded = []
        for name, kids, leaves in steps:
            cls = _NODES[name]
            if not issubclass(cls, ast.Node):
                raise ValueError(name)
            decoded.append((cls, [tuple(k) for k in kids], [tuple(f) for f in leaves]))
        return Plan(decoded)
    except (OSError, ValueError, KeyError, TypeError):
        return None
