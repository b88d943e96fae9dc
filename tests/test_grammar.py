"""Tests of the language front end: grammar, syntax tree, errors and script splitting."""

import importlib.util
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark

from dezero_repl import nodes, scan
from dezero_repl import parser as parser_module
from dezero_repl.parser import ParseError, is_incomplete, parse_statement
from dezero_repl.scan import Chunk, split_statements, tokens


def sexpr(text: str) -> str:
    return nodes.to_sexpr(parse_statement(text))


def error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_statement(text)
    return info.value


def node_count(node: nodes.Node) -> int:
    return sum(1 for _ in nodes.walk(node))


# ---- precedence and every construct -------------------------------------------------

PRECEDENCE = [
    # numbers and names
    ("2", "2"),
    ("2.5", "2.5"),
    (".5", "0.5"),
    ("1e-3", "0.001"),
    ("6.02E23", "6.02e+23"),
    ("x_1", "x_1"),
    ("f'", "f'"),
    ("sin'''", "sin'''"),
    # sum and product: left-associative, product binds tighter
    ("1-2-3", "(- (- 1 2) 3)"),
    ("1+2*3", "(+ 1 (* 2 3))"),
    ("8/4/2", "(/ (/ 8 4) 2)"),
    ("a*b@c", "(@ (* a b) c)"),
    ("a@b+c", "(+ (@ a b) c)"),
    # unary sign: looser than **, tighter than *
    ("-a*b", "(* (- a) b)"),
    ("-2**2", "(- (** 2 2))"),
    ("+x", "(+ x)"),
    ("--x", "(- (- x))"),
    ("a - -b", "(- a (- b))"),
    # power: right-associative, ^ is **, a sign is allowed on the right
    ("2**3**2", "(** 2 (** 3 2))"),
    ("2^3^2", "(** 2 (** 3 2))"),
    ("2**-1", "(** 2 (- 1))"),
    ("-2**-2", "(- (** 2 (- 2)))"),
    ("2*3**2", "(* 2 (** 3 2))"),
    ("(-2)**2", "(** (- 2) 2)"),
    ("a.T**2", "(** (transpose a) 2)"),
    # parentheses
    ("(1+2)*3", "(* (+ 1 2) 3)"),
    ("((x))", "x"),
    # calls
    ("sin(x)", "(call sin x)"),
    ("f(1, 2)", "(call f 1 2)"),
    ("f()", "(call f)"),
    ("f'(x)", "(call f' x)"),
    ("f''(x)", "(call f'' x)"),
    ("grad(g)(1,2)", "(call (call grad g) 1 2)"),
    ("hessian(g)(1, 2)", "(call (call hessian g) 1 2)"),
    ("-sin(x)**2", "(- (** (call sin x) 2))"),
    # indexing and transpose
    ("a[0]", "(index a 0)"),
    ("a[-1]", "(index a (- 1))"),
    ("a[1:3]", "(index a (slice 1 3 _))"),
    ("a[::2]", "(index a (slice _ _ 2))"),
    ("a[:]", "(index a (slice _ _ _))"),
    ("a[1:]", "(index a (slice 1 _ _))"),
    ("a[:n-1:2]", "(index a (slice _ (- n 1) 2))"),
    ("m[0, 1]", "(index m 0 1)"),
    ("m[:, 1]", "(index m (slice _ _ _) 1)"),
    ("m[0][1]", "(index (index m 0) 1)"),
    ("a.T", "(transpose a)"),
    ("m.T.T", "(transpose (transpose m))"),
    ("f(x).T[0]", "(index (transpose (call f x)) 0)"),
    # array literals
    ("[1, 2, 3]", "(array 1 2 3)"),
    ("[[1, 2], [3, 4]]", "(array (array 1 2) (array 3 4))"),
    ("[]", "(array)"),
    ("[x, -y, f(1)]", "(array x (- y) (call f 1))"),
    ("[1, 2][0]", "(index (array 1 2) 0)"),
    # statements
    ("x = 1", "(= x 1)"),
    ("y = (x + 1) * 2", "(= y (* (+ x 1) 2))"),
    ("f(x) = x**4 - 2*x**2", "(def f (x) (- (** x 4) (* 2 (** x 2))))"),
    ("g(x, y) = x*y + sin(y)", "(def g (x y) (+ (* x y) (call sin y)))"),
    ("c() = 1", "(def c () 1)"),
    ("(x) = 1", "(= x 1)"),
    # commands
    (":nograd", "(:nograd)"),
    (":nograd on", '(:nograd "on")'),
    (":help sin", '(:help "sin")'),
    ("  :del x y  ", '(:del "x y")'),
    (":load path/to file.calc", '(:load "path/to file.calc")'),
    (":graph sin(x)*2 > out.dot", '(:graph "sin(x)*2 > out.dot")'),
    (":plot f, f', f'' for x in -1..1", "(:plot \"f, f', f'' for x in -1..1\")"),
    (":note a; b # c", '(:note "a; b # c")'),
    # blanks, comments and newlines
    ("1 + 2  # sum", "(+ 1 2)"),
    ("(1 +\n 2)", "(+ 1 2)"),
    ("1 +\n2", "(+ 1 2)"),
]


@pytest.mark.parametrize(("text", "expected"), PRECEDENCE)
def test_parses_to(text, expected):
    assert sexpr(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "# just a comment", "\n\n", "  # c\n  "])
def test_blank_statement_is_none(text):
    assert parse_statement(text) is None


def test_number_value_is_float():
    node = parse_statement("2").expr
    assert isinstance(node, nodes.Number) and node.value == 2.0 and isinstance(node.value, float)


def test_name_primes_are_counted():
    node = parse_statement("sin'''").expr
    assert (node.id, node.primes) == ("sin", 3)


def test_caret_is_normalized_to_pow():
    assert parse_statement("a ^ b").expr.op == "**"


def test_statement_kinds():
    assert isinstance(parse_statement("x + 1"), nodes.ExprStmt)
    assign = parse_statement("x = 1")
    assert isinstance(assign, nodes.Assign) and assign.name == "x"
    funcdef = parse_statement("g(x, y) = x*y")
    assert isinstance(funcdef, nodes.FuncDef)
    assert (funcdef.name, funcdef.params) == ("g", ("x", "y"))
    command = parse_statement("  :del  x y ")
    assert isinstance(command, nodes.Command) and (command.name, command.arg) == ("del", "x y")


# ---- spans ----------------------------------------------------------------------------


def test_binary_spans_cover_operands_and_operator():
    node = parse_statement("a  +  bc").expr
    assert (node.start, node.end, node.op_start, node.op_end) == (0, 8, 3, 4)


def test_parentheses_widen_the_span():
    node = parse_statement("x * (a + b)").expr.right
    assert (node.start, node.end, node.op_start) == (4, 11, 7)


def test_call_index_transpose_spans():
    call = parse_statement("f(1, 2)").expr
    assert (call.start, call.end, call.op_start, call.op_end) == (0, 7, 1, 7)
    index = parse_statement("m[0, 1:]").expr
    assert (index.start, index.end, index.op_start, index.op_end) == (0, 8, 1, 8)
    assert (index.items[1].start, index.items[1].end) == (5, 7)
    transpose = parse_statement("m.T").expr
    assert (transpose.start, transpose.end, transpose.op_start, transpose.op_end) == (0, 3, 1, 3)


def test_unary_and_power_spans():
    node = parse_statement("-2**x").expr
    assert (node.start, node.end, node.op_start, node.op_end) == (0, 5, 0, 1)
    assert (node.operand.op_start, node.operand.op_end) == (2, 4)


def test_statement_spans():
    funcdef = parse_statement("f(x) = x + 1")
    assert (funcdef.start, funcdef.end, funcdef.name_start, funcdef.name_end) == (0, 12, 0, 1)
    command = parse_statement(" :help  sin  ")
    assert (command.start, command.end) == (1, 11)


def test_repr_is_shallow():
    node = parse_statement("1 + x").expr
    assert repr(node) == (
        "Binary(start=0, end=5, op='+', left=<Number>, right=<Name>, op_start=2, op_end=3)"
    )


# ---- errors ---------------------------------------------------------------------------

ERRORS = [
    # text, message, start, end, line, column, incomplete
    ("1 + * 2", "expected an expression after '+', found '*'", 4, 5, 1, 5, False),
    ("1 +", "expected an expression after '+', found end of input", 3, 3, 1, 4, True),
    ("(1 +", "expected an expression after '+', found end of input", 4, 4, 1, 5, True),
    ("x =", "expected an expression after '=', found end of input", 3, 3, 1, 4, True),
    ("[1,", "expected an expression after ',', found end of input", 3, 3, 1, 4, True),
    ("sin(x", "unclosed '(' opened at column 4", 5, 5, 1, 6, True),
    ("f(x\n, y", "unclosed '(' opened at line 1, column 2", 7, 7, 2, 4, True),
    ("f(", "expected an expression or ')' after '(', found end of input", 2, 2, 1, 3, True),
    (")", "unexpected ')'", 0, 1, 1, 1, False),
    ("x y", "unexpected name 'y'", 2, 3, 1, 3, False),
    ("f(1 2)", "unexpected number '2'; expected ',' or ')'", 4, 5, 1, 5, False),
    ("f(1,)", "expected an expression after ',', found ')'", 4, 5, 1, 5, False),
    ("$", "unexpected character '$'", 0, 1, 1, 1, False),
    ("1 +\n  2 $", "unexpected character '$'", 8, 9, 2, 5, False),
    ("1; 2", "unexpected ';'", 1, 2, 1, 2, False),
    ("a.b", "unknown attribute 'b': only .T (transpose) is supported", 2, 3, 1, 3, False),
    ("m.T.shape", "unknown attribute 'shape': only .T (transpose) is supported", 4, 9, 1, 5, False),
    ("a.", "expected T after '.', found end of input", 2, 2, 1, 3, True),
    ("__x + 1", "names beginning with '__' are reserved", 0, 3, 1, 1, False),
    ("f(__y)", "names beginning with '__' are reserved", 2, 5, 1, 3, False),
    ("f(x, x) = 1", "duplicate parameter 'x'", 5, 6, 1, 6, False),
    ("f(1) = 2", "a parameter must be a plain name", 2, 3, 1, 3, False),
    ("f(x') = 2", "a parameter must be a plain name", 2, 4, 1, 3, False),
    ("f'(x) = 2", "cannot assign to the derivative f'", 0, 5, 1, 1, False),
    ("f' = 2", "cannot assign to the derivative f'", 0, 2, 1, 1, False),
    ("2 = 3", "cannot assign to a number", 0, 1, 1, 1, False),
    ("(a + b) = 3", "cannot assign to the result of '+'", 0, 7, 1, 1, False),
    ("a + b = 3", "unexpected '='; only a name or f(x, ...) can be assigned to", 6, 7, 1, 7, False),
    ("-x = 3", "unexpected '='; only a name or f(x, ...) can be assigned to", 3, 4, 1, 4, False),
    ("a[1] = 2", "cannot assign to an element of an array", 0, 4, 1, 1, False),
    ("grad(f)(x) = 1", "cannot assign to the result of a call", 0, 10, 1, 1, False),
    ("(1]", "expected ')' after '1', found ']'", 2, 3, 1, 3, False),
    (": x", "expected a command name after ':'", 0, 1, 1, 1, False),
    (":help(sin)", "expected a space after the command name, found '('", 5, 6, 1, 6, False),
    ("x = 1; :vars", "a command must be alone on its line", 7, 12, 1, 8, False),
    ("f '", "a prime (') must follow a name directly", 2, 3, 1, 3, False),
]


@pytest.mark.parametrize("case", ERRORS, ids=[case[0] for case in ERRORS])
def test_error(case):
    text, *expected = case
    e = error(text)
    assert [e.message, e.start, e.end, e.line, e.column, e.incomplete] == expected
    assert str(e) == e.message


INCOMPLETE = ["(1 +", "sin(x", "[1,", "1 +", "x =", "f(x) =", "2 **", "-", "a[1:", "m[", "f(1,\n"]
NOT_INCOMPLETE = ["1 + * 2", ")", "x y", "1 +)", "a.b", "$", "[1,]", "f(1 2"]


@pytest.mark.parametrize("text", INCOMPLETE)
def test_running_out_of_input_is_incomplete(text):
    assert error(text).incomplete
    assert is_incomplete(text)


@pytest.mark.parametrize("text", NOT_INCOMPLETE)
def test_plain_errors_are_not_incomplete(text):
    assert not error(text).incomplete
    assert not is_incomplete(text)


@pytest.mark.parametrize("text", ["", "1 + 2", "x = 1\n", ":plot sin(", "# (", "(1 +\n 2)"])
def test_complete_input_is_not_incomplete(text):
    assert not is_incomplete(text)


def test_only_the_last_statement_decides_incompleteness():
    assert is_incomplete("x = 1; y = (2 +")
    assert is_incomplete("x = 1\ny = [1,\n")
    assert not is_incomplete("y = (2 +\n 3); z = 1")


@pytest.mark.parametrize("text", ["1 + * 2", "f(x", "x = 1; :vars", "$", "a.b", "[1,]"])
def test_messages_never_show_lark_internals(text):
    message = error(text).message
    assert "$END" not in message and "__ANON" not in message and "_COMMA" not in message


# ---- splitting scripts into statements ------------------------------------------------


def chunks(source: str) -> list[tuple[str, int, int, int]]:
    return [(c.text, c.offset, c.line, c.column) for c in split_statements(source)]


def test_split_at_semicolons_and_newlines():
    assert chunks("x = 1; y = 2\nz = 3") == [
        ("x = 1", 0, 1, 1),
        ("y = 2", 7, 1, 8),
        ("z = 3", 13, 2, 1),
    ]


def test_split_skips_comments_and_blank_statements():
    source = "# header\n\n  x = 1  # set x\n;;\n   \n  y\n"
    assert chunks(source) == [("x = 1", 12, 3, 3), ("y", 36, 6, 3)]


def test_split_continues_inside_brackets():
    source = "z = [1, 2,\n     3]; w = f(1,\n# note\n 2)\nv = 1"
    assert chunks(source) == [
        ("z = [1, 2,\n     3]", 0, 1, 1),
        ("w = f(1,\n# note\n 2)", 20, 2, 10),
        ("v = 1", 40, 5, 1),
    ]


def test_split_continues_after_trailing_operator():
    source = "f(x) = x**2 +\n   3*x\ny =\n  2\nt = m.\nT"
    assert chunks(source) == [
        ("f(x) = x**2 +\n   3*x", 0, 1, 1),
        ("y =\n  2", 21, 3, 1),
        ("t = m.\nT", 29, 5, 1),
    ]


def test_split_commands_run_to_end_of_line():
    source = ":help sin; cos # not a comment\n  :vars\nx = 1; :del x\n:plot f for x in (0..1\ny"
    assert chunks(source) == [
        (":help sin; cos # not a comment", 0, 1, 1),
        (":vars", 33, 2, 3),
        ("x = 1", 39, 3, 1),
        ("; :del x", 44, 3, 6),
        (":plot f for x in (0..1", 53, 4, 1),
        ("y", 76, 5, 1),
    ]


def test_command_after_semicolon_is_an_error():
    chunk = split_statements("x = 1; :del x")[-1]
    e = error(chunk.text)
    assert e.message == "a command must be alone on its line"
    assert chunk.offset + e.start == 7


def test_command_line_ends_an_unfinished_statement():
    assert chunks("x = 1 +\n:vars") == [("x = 1 +", 0, 1, 1), (":vars", 8, 2, 1)]


def test_colon_inside_brackets_is_not_a_command():
    assert chunks("a[1\n:3]") == [("a[1\n:3]", 0, 1, 1)]


def test_unfinished_statement_at_end_is_returned():
    source = "x = 1\ny = (2 +"
    last = split_statements(source)[-1]
    assert last == Chunk("y = (2 +", 6, 2, 1)
    assert error(last.text).incomplete


def test_split_handles_crlf():
    assert chunks("x = 1\r\ny = 2\r\n") == [("x = 1", 0, 1, 1), ("y = 2", 7, 2, 1)]


def test_split_is_linear_on_a_long_script():
    source = "x = x + 1  # step\n" * 100_000
    started = time.perf_counter()
    result = split_statements(source)
    elapsed = time.perf_counter() - started
    assert len(result) == 100_000 and result[-1].line == 100_000
    assert elapsed < 5


def test_split_long_continued_statement_is_linear():
    source = "s = 0 +\n" + "1 +\n" * 50_000 + "1"
    (chunk,) = split_statements(source)
    assert chunk.text == source


# ---- depth: nothing may recurse -------------------------------------------------------


def test_ten_thousand_nested_parentheses():
    node = parse_statement("(" * 10_000 + "1" + ")" * 10_000).expr
    assert isinstance(node, nodes.Number) and (node.start, node.end) == (0, 20_001)


def test_ten_thousand_nested_brackets():
    node = parse_statement("[" * 10_000 + "]" * 10_000)
    assert node_count(node) == 10_001


def test_power_tower_ten_thousand_deep():
    statement = parse_statement("**".join(["2"] * 10_000))
    assert node_count(statement) == 1 + 9_999 + 10_000
    assert nodes.to_sexpr(statement).count("(**") == 9_999
    repr(statement.expr)


def test_ten_thousand_unary_minus():
    statement = parse_statement("-" * 10_000 + "x")
    assert node_count(statement) == 10_002
    assert nodes.to_sexpr(statement).endswith("x" + ")" * 10_000)


def test_hundred_thousand_term_sum():
    statement = parse_statement(" + ".join(["1"] * 100_000))
    assert node_count(statement) == 1 + 99_999 + 100_000
    left_spine = statement.expr
    for _ in range(99_999):
        left_spine = left_spine.left
    assert isinstance(left_spine, nodes.Number)


def test_long_chains_of_calls_and_indexes():
    assert node_count(parse_statement("f" + "(1)" * 10_000)) == 1 + 10_000 * 2 + 1
    assert node_count(parse_statement("a" + "[0]" * 10_000)) == 1 + 10_000 * 2 + 1


def test_deep_errors_are_reported_not_crashed():
    assert error("(" * 10_000 + "1").incomplete
    assert error("**".join(["2"] * 10_000) + "**").incomplete
    assert error(" + ".join(["1"] * 10_000) + " + *").message.startswith("expected an expression")


# ---- the grammar itself ---------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("interegular") is None, reason="needs interegular")
def test_grammar_has_no_conflicts_in_strict_mode():
    Lark(parser_module._grammar_text(), parser="lalr", strict=True)


def test_the_packaged_tables_are_those_of_grammar_lark(tmp_path):
    """The tables hold grammar.lark's digest and terminals (run python -m dezero_repl.parser
    after changing it); the parsers agree on a corpus below."""
    from dezero_repl import grammar_tables

    text = parser_module._grammar_text()
    assert grammar_tables.GRAMMAR_DIGEST == parser_module._digest(text), (
        "grammar.lark changed: run python -m dezero_repl.parser"
    )
    fresh = tmp_path / "tables.py"
    parser_module.write_tables(fresh)  # the generator runs; its numbering varies with hashing
    namespace: dict = {}
    exec(compile(fresh.read_text(encoding="utf-8"), str(fresh), "exec"), namespace)  # noqa: S102
    assert namespace["GRAMMAR_DIGEST"] == grammar_tables.GRAMMAR_DIGEST
    terminals = {
        t["name"]: t["pattern"]["value"] for t in namespace["MEMO"].values() if "pattern" in t
    }
    packaged = {
        t["name"]: t["pattern"]["value"] for t in grammar_tables.MEMO.values() if "pattern" in t
    }
    assert terminals == packaged


CORPUS = [
    "x = 2", "f(t) = t**2 - 3*t", "-2**2", "a[1:3, ::2].T", "diff(x**3, x, 2)", ":help sin",
    "[[1, 2], [3, 4]] @ v", "g''(0.5) + 1e-3", "1 + * 2", "(1 +", "x ==",
]  # fmt: skip


@pytest.mark.parametrize("text", CORPUS)
def test_the_loaded_parser_parses_as_one_built_from_the_grammar(text):
    loaded = parser_module._parser.__wrapped__()
    built = Lark(
        parser_module._grammar_text(),
        transformer=parser_module._lark_builder(),
        **parser_module.PARSER_OPTIONS,
    )
    outcomes = []
    for parser in (loaded, built):
        try:
            outcomes.append(nodes.to_sexpr(parser.parse(text)))
        except Exception as e:  # the same error, at the same place, expecting the same
            expected = sorted(getattr(e, "accepts", None) or getattr(e, "expected", None) or [])
            outcomes.append((type(e).__name__, getattr(e, "pos_in_stream", None), expected))
    assert outcomes[0] == outcomes[1]


def test_tables_for_another_grammar_are_not_used(monkeypatch):
    from dezero_repl import grammar_tables

    monkeypatch.setattr(grammar_tables, "GRAMMAR_DIGEST", "0" * 8)
    monkeypatch.setattr(grammar_tables, "DATA", None)  # would fail if it were loaded
    assert nodes.to_sexpr(parser_module._parser.__wrapped__().parse("2**3**2")) == "(** 2 (** 3 2))"


# ---- tokens for highlighting ----------------------------------------------------------


def test_tokens_kinds():
    text = ":help sin # x\nx = f'(2.5) + __a $ [1:2] # hi"
    kinds = [(kind, text[start:end]) for kind, start, end in tokens(text)]
    assert kinds == [
        ("command", ":help"),
        ("argument", "sin # x"),
        ("name", "x"),
        ("operator", "="),
        ("name", "f'"),
        ("paren", "("),
        ("number", "2.5"),
        ("paren", ")"),
        ("operator", "+"),
        ("error", "__a"),
        ("error", "$"),
        ("paren", "["),
        ("number", "1"),
        ("punctuation", ":"),
        ("number", "2"),
        ("paren", "]"),
        ("comment", "# hi"),
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("x1.e+-*/@^=()[],;:#' \n\t$_T")), max_size=40))
def test_tokens_and_parsing_never_crash_on_junk(text):
    spans = tokens(text)
    assert all(0 <= start < end <= len(text) for _, start, end in spans)
    split_statements(text)
    is_incomplete(text)
    try:
        parse_statement(text)
    except ParseError as e:
        assert 0 <= e.start <= e.end <= len(text)
        assert "$END" not in e.message and "__ANON" not in e.message


_PIECES = [*"x1.e+-*/@^=<>!%()[],;:#' \n\t$_T", "if", "in", "not", "for", "..", "**", "<="]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=25).map("".join))
def test_the_order_of_token_alternatives_is_only_for_speed(text):
    """The scanner tries the commonest tokens first. In the grammar's own order (newline,
    comment, number, keyword, name, ...) it finds the same tokens."""
    grammar_order = ["newline", "comment", "number", "keyword", "name", "paren"]
    grammar_order += ["operator", "punctuation", "error"]
    alternatives = sorted(scan._TOKENS, key=lambda t: grammar_order.index(t[4 : t.index(">")]))
    pattern = re.compile(r"[ \t\f\r]*(?:" + "|".join(alternatives) + ")")
    expected = [
        (m.lastgroup, *m.span(m.lastgroup))
        for m in pattern.finditer(text)
        if m.lastgroup not in ("newline", "comment")
    ]
    found = scan.statement_tokens(text)
    assert found is None or found == expected


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_tokens_never_raise_on_any_text(text):
    tokens(text)


# ---- speed (measured and printed, not asserted) ----------------------------------------

TYPICAL = [
    "y = sin(x)**2 + cos(x)**2",
    "f(x, y) = x*y + exp(-x**2/2)",
    "grad(f)(1.5, 2)",
    "m = [[1, 2], [3, 4]]",
    "m[0, :] @ m.T",
    "a[1:3] * 2.5e-3 - -b",
    ":help sin",
    "z = x' + 1  # derivative",
]


def test_measure_parse_speed(capsys):
    lines = [TYPICAL[i % len(TYPICAL)] for i in range(10_000)]
    started = time.perf_counter()
    for line in lines:
        parse_statement(line)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\nparse speed: {elapsed / len(lines) * 1e6:.0f} us per line ({elapsed:.2f} s)")


# ---- the table-driven parser agrees with Lark ------------------------------------------------

_SOUP = st.text(alphabet="xy2.5e+-*/@^()[],:;'= #\n\tT_!f", max_size=30)
_ATOMS = st.sampled_from(["x", "y2", "3", ".5", "1e-3", "f'", "g''", "sin", "__x", "pi"])
_EXPRS = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.builds(
            "{} {} {}".format, inner, st.sampled_from(["+", "-", "*", "/", "@", "**", "^"]), inner
        ),
        st.builds("-{}".format, inner),
        inner.map("({})".format),
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.builds("{}({})".format, inner, st.lists(inner, max_size=3).map(", ".join)),
        st.builds("{}[{}:{}]".format, inner, inner, st.sampled_from(["", "2", "::-1"])),
        inner.map("{}.T".format),
        st.builds(
            "{}({}) = {}".format, st.sampled_from(["f", "g"]), st.sampled_from(["t", "a, b"]), inner
        ),
        st.builds("{} = {}".format, inner, inner),
    ),
    max_leaves=12,
)


def _outcome(parse, text):
    try:
        return ("tree", flatten_tree(parse(text)))
    except ParseError as e:
        return ("error", e.message, e.start, e.end, e.incomplete)


def flatten_tree(tree):
    if tree is None:
        return None
    return [(type(node).__name__, repr(node)) for node in nodes.walk(tree)]


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(_EXPRS, _SOUP, st.sampled_from([":help sin", ":save! a b", "", "# c"])))
def test_the_table_parser_gives_what_lark_gives(text):
    assert _outcome(parser_module._parse, text) == _outcome(parser_module._parse_with_lark, text)


def test_parsing_a_statement_needs_no_lark(cli_env):
    from conftest import run_python

    code = (
        "import sys\n"
        "from dezero_repl.parser import parse_statement\n"
        "parse_statement(\"f(t) = t**2 - 3*t; x = [1, 2][0]\".split(';')[0])\n"
        "parse_statement('a[1:, ::2].T @ b')\n"
        "print('lark' in sys.modules)\n"
    )
    proc = run_python(code, cli_env)
    assert proc.stdout.decode().strip() == "False", proc.stderr
