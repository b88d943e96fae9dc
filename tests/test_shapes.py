"""Memoized parsing must give exactly the tree that Lark gives, for every statement."""

from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dezero_repl import ast, shapes
from dezero_repl.parser import ParseError, _parse_with_lark, _shape_tokens, parse_statement
from dezero_repl.shapes import ShapeCache


def flatten(tree: ast.Node | None) -> list[tuple]:
    """Every node with all its fields except children, in walk order: a full comparison."""
    if tree is None:
        return []
    rows = []
    for node in ast.walk(tree):
        fields = []
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, ast.Node) or (
                isinstance(value, tuple) and value and isinstance(value[0], ast.Node)
            ):
                continue
            fields.append((f.name, value))
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
]

names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s != "T")
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

    cache = ShapeCache(counting_parse, _shape_tokens)
    first, second = cache("a3 = 1.25 * a5 + a2"), cache("b7 = 0.5 * q + zz")
    assert calls == ["a3 = 1.25 * a5 + a2"]
    assert cache.hits == 1
    assert flatten(second) == flatten(_parse_with_lark("b7 = 0.5 * q + zz"))
    assert ast.to_sexpr(first) != ast.to_sexpr(second)


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


# --------------------------------------------------------------------------- the store


def counting_cache(store, calls):
    def counting_parse(text):
        calls.append(text)
        return _parse_with_lark(text)

    return ShapeCache(counting_parse, _shape_tokens, store=store)


def test_plans_persist_between_runs(tmp_path):
    store = tmp_path / "shapes-1"
    calls = []
    first = counting_cache(store, calls)
    first("a3 = 1.25 * a5 + a2")
    first("y = sin(x)")
    first.save()
    assert len(list(store.glob("*.json"))) == 2
    second = counting_cache(store, calls)
    tree = second("b7 = 0.5 * q + zz")
    assert calls == ["a3 = 1.25 * a5 + a2", "y = sin(x)"]  # the new run parsed nothing
    assert flatten(tree) == flatten(_parse_with_lark("b7 = 0.5 * q + zz"))


def test_a_run_reads_only_the_shapes_it_meets(tmp_path, monkeypatch):
    store = tmp_path / "shapes-1"
    writer = counting_cache(store, [])
    for n in range(1, 60):
        writer(" + ".join(["x"] * n))  # 59 shapes
    writer.save()
    opened = []
    real_load = shapes._load
    monkeypatch.setattr(
        shapes, "_load", lambda path, key: opened.append(path) or real_load(path, key)
    )
    calls = []
    reader = counting_cache(store, calls)
    reader("a + b + c")
    assert len(opened) == 1 and calls == []


@pytest.mark.parametrize(
    "damage",
    ["", "{", "[1, 2, 3]", '[["x", "=", "0"], [["Nope", [], []]]]', "\x00\xff"],
)
def test_a_damaged_stored_plan_falls_back_to_lark(tmp_path, damage):
    store = tmp_path / "shapes-1"
    writer = counting_cache(store, [])
    writer("x = 1")
    writer.save()
    (path,) = store.glob("*.json")
    path.write_bytes(damage.encode("latin-1"))
    calls = []
    tree = counting_cache(store, calls)("y = 2")
    assert calls == ["y = 2"]
    assert flatten(tree) == flatten(_parse_with_lark("y = 2"))


def test_a_stored_plan_of_another_shape_with_the_same_file_name_is_ignored(tmp_path):
    store = tmp_path / "shapes-1"
    writer = counting_cache(store, [])
    writer("x = 1")
    writer.save()
    (path,) = store.glob("*.json")
    key = shapes.shape_key("y = 2", _shape_tokens("y = 2"))
    other = shapes.shape_key("y = -2", _shape_tokens("y = -2"))
    collided = store / shapes._file_name(other)
    path.rename(collided)  # as if the other shape's key had the same checksums
    calls = []
    tree = counting_cache(store, calls)("y = -2")
    assert key != other and calls == ["y = -2"]
    assert flatten(tree) == flatten(_parse_with_lark("y = -2"))


def test_the_store_keeps_the_most_recently_used_plans(tmp_path, monkeypatch):
    monkeypatch.setattr(shapes, "MAX_STORED", 3)
    store = tmp_path / "shapes-1"
    texts = ["x", "x + x", "x + x + x", "x + x + x + x"]
    for text in texts:
        cache = counting_cache(store, [])
        cache(text)
        cache.save()
        for path in store.glob("*.json"):  # make the order of writing visible to mtime
            os.utime(path, (path.stat().st_atime, path.stat().st_mtime - 1))
    kept = counting_cache(store, calls := [])
    for text in texts:
        kept(text)
    assert calls == ["x"]  # the oldest was dropped; the three newest were read


def test_other_versions_stores_are_removed(tmp_path):
    old_file = tmp_path / "shapes-0000abcd.json"
    old_file.write_text("[]", encoding="utf-8")
    old_dir = tmp_path / "shapes-00001234"
    old_dir.mkdir()
    (old_dir / "00.json").write_text("[]", encoding="utf-8")
    cache = counting_cache(tmp_path / "shapes-1", [])
    cache("x = 1")
    cache.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shapes-1"]


def test_an_unwritable_store_only_loses_the_memo(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    cache = counting_cache(blocker / "shapes-1", calls := [])
    cache("x = 1")
    cache.save()  # no exception
    assert calls == ["x = 1"] and cache("y = 2") is not None


def test_a_run_that_learns_many_shapes_writes_only_the_most_recent(tmp_path, monkeypatch):
    monkeypatch.setattr(shapes, "MAX_STORED", 3)
    store = tmp_path / "shapes-1"
    cache = counting_cache(store, [])
    texts = [" + ".join(["x"] * n) for n in range(1, 8)]
    for text in texts:
        cache(text)
    cache.save()
    assert len(list(store.glob("*.json"))) == 3
    calls = []
    reader = counting_cache(store, calls)
    for text in texts:
        reader(text)
    assert calls == texts[:4]  # the last three were stored


def test_files_left_half_written_long_ago_are_removed(tmp_path):
    store = tmp_path / "shapes-1"
    store.mkdir()
    old, recent = store / "0123.json.4242.tmp", store / "4567.json.4343.tmp"
    for path in (old, recent):
        path.write_text("[", encoding="utf-8")
    os.utime(old, (0, 0))
    cache = counting_cache(store, [])
    cache("x = 1")
    cache.save()
    assert not old.exists() and recent.exists()  # a recent one may be another run's
