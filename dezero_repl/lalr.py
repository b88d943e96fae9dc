"""A small LALR(1) driver over the tables of grammar.lark, so that parsing needs no Lark.

``grammar_tables.py`` holds what Lark computed from the grammar: its terminals, its rules and
the parse table. This module reads them as Lark's own run-time would: a contextual lexer (in
each parser state, only the terminals that state can shift, tried in Lark's order: priority,
then longest possible match, then longest pattern, then name) and the shift/reduce loop,
calling the builder's method for each rule, with the children as arguments (Lark's
``v_args(inline=True)``), as Lark's tree builder does: tokens of filtered
terminals dropped, ``_rules`` spliced into their parent, and a ``?rule`` with one child
passed up unless the alternative has an alias. Lark itself is imported only to word a
syntax error: on any input this driver does not accept, ``parse`` raises ``Rejected`` and
the caller asks Lark, which then reports it.
"""

from __future__ import annotations

import re
from typing import Any


class Rejected(Exception):
    """The input is not a statement of the grammar (Lark will say why)."""


class Token(str):
    """A token as Lark gives it to the builder: its text, with its type and span."""

    __slots__ = ("type", "start_pos", "end_pos")

    type: str
    start_pos: int
    end_pos: int

    def __new__(cls, type_: str, value: str, start: int) -> Token:
        token = super().__new__(cls, value)
        token.type, token.start_pos, token.end_pos = type_, start, start + len(value)
        return token


class TableParser:
    """Parses text with the tables of ``grammar_tables``, building nodes with ``builder``."""

    def __init__(self, data: dict, memo: dict, builder: Any) -> None:
        parser = data["parser"]["parser"]
        self.table, self.names, self.memo = parser["states"], parser["tokens"], memo
        self.states: dict[int, dict[str, tuple]] = {}  # each state's actions, by symbol name
        self.start = parser["start_states"]["start"]
        self.end = parser["end_states"]["start"]
        terminals = [t for t in memo.values() if t["__type__"] == "TerminalDef"]
        terminals.sort(key=_lark_order)
        # A plain string is matched as a string; a pattern is compiled when first tried
        # (compiling them all would take a millisecond of every start).
        self.terminals = [(t["name"], _literal(t["pattern"]), t["pattern"]) for t in terminals]
        self.regexes: dict[str, re.Pattern] = {}
        self.ignore = frozenset(data["parser"]["lexer_conf"]["ignore"])
        # The builder's methods, by terminal and by rule name (names from the tables only).
        names = {t["name"] for t in terminals} | {_rule_name(r) for r in _rules(memo)}
        self.callbacks = {n: getattr(builder, n) for n in names if hasattr(builder, n)}

    def _actions(self, state: int) -> dict[str, tuple]:
        """A state's actions by symbol name, read from the table when the state is first
        reached (a statement visits a few of them; reading all would slow every start)."""
        actions = self.states.get(state)
        if actions is None:
            actions = self.states[state] = {
                self.names[k]: (kind, self.memo[arg["@"]]) if kind == 1 else (kind, arg)
                for k, (kind, arg) in self.table[state].items()
            }
        return actions

    def parse(self, text: str) -> Any:
        states: list[int] = [self.start]
        values: list[Any] = []
        position = 0
        while True:
            token = self._next_token(text, position, states[-1])
            if token is None:  # the end of the text
                self._feed(states, values, "$END", None)
                return values[-1]
            position = token.end_pos
            callback = self.callbacks.get(token.type)
            self._feed(states, values, token.type, callback(token) if callback else token)

    def _next_token(self, text: str, position: int, state: int) -> Token | None:
        accepts = self._actions(state)
        while position < len(text):
            for name, literal, pattern in self.terminals:
                if name not in accepts and name not in self.ignore:
                    continue
                if literal is not None:
                    if text.startswith(literal, position):
                        end = position + len(literal)
                        break
                    continue
                regex = self.regexes.get(name)
                if regex is None:
                    regex = self.regexes[name] = _compile(pattern)
                match = regex.match(text, position)
                if match and match.end() > position:
                    end = match.end()
                    break
            else:
                raise Rejected(position)
            if name not in self.ignore:
                return Token(name, text[position:end], position)
            position = end
        return None

    def _feed(self, states: list[int], values: list, kind: str, value: Any) -> None:
        while True:
            action = self._actions(states[-1]).get(kind)
            if action is None:
                raise Rejected(kind)
            if action[0] == 0:  # shift
                states.append(action[1])
                values.append(value)
                return
            rule = action[1]
            size = len(rule["expansion"])
            children = values[len(values) - size :] if size else []
            del states[len(states) - size :], values[len(values) - size :]
            values.append(self._reduce(rule, children))
            states.append(self._actions(states[-1])[rule["origin"]["name"]][1])
            if kind == "$END" and states[-1] == self.end:
                return

    def _reduce(self, rule: dict, children: list) -> Any:
        kept: list | None = None
        for symbol, child in zip(rule["expansion"], children):
            if symbol.get("filter_out"):
                continue
            if symbol["__type__"] == "NonTerminal" and symbol["name"].startswith("_"):
                # An inlined _rule: its children, spliced. A repetition (a + b + c ...)
                # reduces left-recursively, so reusing the first one's list keeps it linear.
                if kept is None:
                    kept = child.children
                else:
                    kept.extend(child.children)
            elif kept is None:
                kept = [child]
            else:
                kept.append(child)
        kept = [] if kept is None else kept
        if rule["options"]["expand1"] and not rule["alias"] and len(kept) == 1:
            return kept[0]  # a ?rule passes a lone child up (an alias names a node of its own)
        name = _rule_name(rule)
        method = self.callbacks.get(name) if not name.startswith("_") else None
        return method(*kept) if method is not None else _Inlined(kept)  # v_args(inline=True)


class _Inlined:
    """The children of a ``_rule``, waiting to be spliced into the rule that uses it."""

    __slots__ = ("children",)

    def __init__(self, children: list) -> None:
        self.children = children


def _rules(memo: dict) -> list[dict]:
    return [r for r in memo.values() if r["__type__"] == "Rule"]


def _rule_name(rule: dict) -> str:
    return rule["alias"] or rule["origin"]["name"]


def _lark_order(terminal: dict) -> tuple:
    pattern = terminal["pattern"]
    width = pattern["_width"][1] if "_width" in pattern else len(pattern["value"])
    return (-terminal["priority"], -width, -len(pattern["value"]), terminal["name"])


def _literal(pattern: dict) -> str | None:
    """The text a terminal matches, if it is a plain string (matching it needs no regex)."""
    plain = pattern["__type__"] == "PatternStr" and not pattern.get("flags")
    return str(pattern["value"]) if plain and pattern["value"] else None


def _compile(pattern: dict) -> re.Pattern:
    source = pattern["value"]
    if pattern["__type__"] == "PatternStr":
        source = re.escape(source)
    flags = "".join(pattern.get("flags") or ())
    return re.compile(f"(?{flags}:{source})" if flags else source)
