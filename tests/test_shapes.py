"""Memoized parsing must give exactly the tree that Lark gives, for every statement."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dezero_repl import nodes
from dezero_repl.parser import ParseError, _parse_with_lark, parse_statement
from dezero_repl.scan import statement_tokens
from dezero_repl.shapes import ShapeCache


def flatten(tree: nodes.Node | None) -> list[tuple]:
    """Every node with all its fields except children, in walk order: a full comparison."""
    if tree is None:
        return []
    rows = []
    for node in nodes.walk(tree):
        fields = []
        for name in nodes.fields(node):
            value = getattr(node, name)
            if isinstance(value, nodes.Node) or (
                isinstance(value, tuple) and value and isinstance(value[0], nodes.Node)
            ):
                continue
            fields.append((name, value))
        rows.append((type(node).__name__, tuple(fields)))
    return rows


SHAPES = [
    "{a} = {n} * {b} + {c}",
    "({a} + {n}) ** 2 / {b}",
    "sin({a}) * {b} - exp({c} / {n})",
    "{a}[{i}:{j}] @ {b}.T",
    "{a}[:, {i}] + [{n}, {m}, -{n}]",
    "f'({a}) + g''({n})",
    "-{n}**{m}**-{a}",
    "grad(h)({n}, {m}) * {a}  # a comment",
    "[[{n}, {m}], [{a}, {b}]] ^ 2",
    "2{a} + 3({b} - {n}) * 2pi",
    "if {a} < {n} then {b}! else -{c} // {m} % 2",
    "not {a} and {b} or {c} != {n} == ({a} <= {b} < {c})",
    "sum({a} ^ 2 for {b} in 1..{n}) + prod({b} for {c} in -{i}..{j})",
    "integrate({a} * t, t, 0, {n}) + g(t, t, 0, 1)",
]

KEYWORDS = {"if", "then", "else", "and", "or", "not", "for", "in"}
names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s != "T" and s not in KEYWORDS
)
numbers = st.sampled_from(["1", "2.5", ".5", "1e-3", "6.02E23", "10", "0.125", "3."])
spaces = st.sampled_from(["", " ", "  "])


@settings(max_examples=300, deadline=None)
@given(
    shape=st.sampled_from(SHAPES),
    a=names,
    b=names,
    c=names,
    n=numbers,
    m=numbers,
    i=st.integers(0, 99),
    j=st.integers(0, 99),
)
def test_memoized_tree_equals_lark_tree(shape, a, b, c, n, m, i, j):
    text = shape.format(a=a, b=b, c=c, n=n, m=m, i=i, j=j)
    assert flatten(parse_statement(text)) == flatten(_parse_with_lark(text))


def test_second_statement_of_a_shape_is_not_parsed_by_lark():
    calls = []

    def counting_parse(text):
        calls.append(text)
        return _parse_with_lark(text)

    cache = ShapeCache(counting_parse, statement_tokens)
    first, second = cache("a3 = 1.25 * a5 + a2"), cache("b7 = 0.5 * q + zz")
    assert calls == ["a3 = 1.25 * a5 + a2"]
    assert cache.hits == 1
    assert flatten(second) == flatten(_parse_with_lark("b7 = 0.5 * q + zz"))
    assert nodes.to_sexpr(first) != nodes.to_sexpr(second)


@pytest.mark.parametrize(
    "first, second",
    [
        ("x = 1", "__x = 1"),  # reserved names are refused by value
        ("a.T", "a.U"),  # only .T is an attribute
        ("f(x) = x", "f(x, x) = x"),  # definitions check their parameters by value
    ],
)
def test_value_checks_still_apply_after_a_shape_is_memoized(first, second):
    parse_statement(first)
    with pytest.raises(ParseError):
        parse_statement(second)


def test_errors_are_not_memoized():
    for _ in range(2):
        with pytest.raises(ParseError) as info:
            parse_statement("1 + * 2")
        assert info.value.column == 5


def test_a_coefficient_and_a_number_then_a_name_are_different_shapes():
    parse_statement("2x")
    with pytest.raises(ParseError):
        parse_statement("2 x")
    parse_statement("3 * y")
    assert nodes.to_sexpr(parse_statement("4y")) == "(* 4 y)"


def test_every_node_class_takes_exactly_its_fields_as_parameters():
    """A plan calls a node's class with its fields by position, in the order of the class's
    parameters (shapes._parameters): each parameter must be a field, and each field one."""
    from dezero_repl.shapes import _parameters

    classes = [c for c in vars(nodes).values() if isinstance(c, type) and issubclass(c, nodes.Node)]
    assert len(classes) == 18  # Node and its 17 kinds
    for cls in classes:
        if cls is nodes.Node:
            continue
        fields = nodes.Node.__slots__ + cls.__slots__
        assert sorted(_parameters(cls)) == sorted(fields), cls.__name__
        assert cls.__init__.__code__.co_kwonlyargcount == 0, cls.__name__


def test_a_name_with_more_primes_is_another_shape():
    """The shape counts a name's primes (a plan takes them as a constant): f''(x) after
    f'(x) must not be rebuilt as f'."""
    first, second = parse_statement("f'(2) + 1"), parse_statement("f''(2) + 1")
    assert first.expr.left.func.primes == 1
    assert second.expr.left.func.primes == 2
    assert flatten(second) == flatten(_parse_with_lark("f''(2) + 1"))
