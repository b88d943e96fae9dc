"""Turn calculator source text into syntax trees (the nodes of dezero_repl.nodes).

The grammar lives in grammar.lark; Lark turns it into LALR tables, shipped in
grammar_tables.py. A small driver over those tables (lalr.py) parses with an explicit
stack and calls a `_Builder` method at each reduction, so no parse tree is built and
nothing recurses, however deeply the input nests. Lark itself is imported only when a
statement does not parse, to find what was expected; its errors become a `ParseError`
in plain words.

Besides `parse_statement`, this module tells whether an input is unfinished
(`is_incomplete`). Splitting scripts into statements and tokens is scan.py's.
"""

from __future__ import annotations

import functools
import re
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, cast

from dezero_repl import nodes
from dezero_repl.errors import line_column
from dezero_repl.lalr import Rejected, TableParser, Token
from dezero_repl.scan import split_statements, statement_tokens, tokens
from dezero_repl.shapes import ShapeCache

if TYPE_CHECKING:  # Lark itself is imported only when a statement needs it (see _parser)
    from lark import Lark
    from lark import Token as LarkToken
    from lark.exceptions import UnexpectedToken


class ParseError(Exception):
    """A syntax error: a one-line message and the span of text it concerns.

    `start` and `end` are character offsets in the parsed text, `line` and
    `column` (1-based) locate `start`. `incomplete` is true when the text simply
    stopped too early, so more input could complete it.
    """

    def __init__(
        self, message: str, start: int, end: int, line: int, column: int, incomplete: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end
        self.line = line
        self.column = column
        self.incomplete = incomplete


class _SyntaxProblem(Exception):
    """Raised by the builder; parse_statement turns it into a ParseError."""

    def __init__(self, message: str, start: int, end: int) -> None:
        super().__init__(message)
        self.message = message
        self.start = start
        self.end = end


# ---- building nodes at each reduction ---------------------------------------------


class _Builder:
    """Callbacks named after the grammar's rules, each building one node.

    They are called bottom-up while parsing, with the children already built as arguments:
    Lark's ``v_args(inline=True)`` idiom, which ``_parser`` applies for Lark and the table
    driver (lalr.py) follows. A method named after a terminal (NAME) is called on each such
    token. Tokens are typed as the driver's ``Token``; Lark's carry the same text, type and
    span (always set by its lexer, though typed Optional there).
    """

    def NAME(self, token: Token) -> Token:
        if token.startswith("__"):
            raise _SyntaxProblem(
                "names beginning with '__' are reserved", token.start_pos, token.end_pos
            )
        return token

    def start(self, statement: nodes.Statement | None = None) -> nodes.Statement | None:
        return statement

    def expr_stmt(self, expr: nodes.Expr) -> nodes.ExprStmt:
        return nodes.ExprStmt(expr, start=expr.start, end=expr.end)

    def assign(self, target: nodes.Expr, _equal: Token, expr: nodes.Expr) -> nodes.Statement:
        return _assignment(target, expr)

    def command(self, name: Token, *rest: Token) -> nodes.Command:
        arg = rest[0].strip() if rest else ""
        end = rest[0].start_pos + len(rest[0].rstrip()) if arg else name.end_pos
        return nodes.Command(name[1:], arg, start=name.start_pos, end=end)

    def number(self, token: Token) -> nodes.Number:
        return nodes.Number(float(token), start=token.start_pos, end=token.end_pos)

    def coefficient(self, token: Token, operand: nodes.Expr) -> nodes.Binary:
        number = self.number(token)
        return nodes.Binary(
            "*", number, operand, start=number.start, end=operand.end,
            op_start=number.start, op_end=number.end,
        )  # fmt: skip

    def name(self, token: Token) -> nodes.Name:
        ident = token.rstrip("'")
        return nodes.Name(ident, len(token) - len(ident), start=token.start_pos, end=token.end_pos)

    def group(self, lpar: Token, expr: nodes.Expr, rpar: Token) -> nodes.Expr:
        return nodes.respan(expr, lpar.start_pos, rpar.end_pos)

    def array(self, lsqb: Token, *rest: Any) -> nodes.ArrayLit:
        *given, rsqb = rest
        elements = tuple(given[0]) if given else ()
        return nodes.ArrayLit(elements, start=lsqb.start_pos, end=rsqb.end_pos)

    def arguments(self, *args: nodes.Expr) -> list:
        return list(args)

    def call(self, func: nodes.Expr, lpar: Token, *rest: Any) -> nodes.Call | nodes.Integral:
        *given, rpar = rest
        args = tuple(given[0]) if given else ()
        if _is_integral(func, args):
            body, var, lower, upper = args
            return nodes.Integral(
                body, var.id, lower, upper, start=func.start, end=rpar.end_pos,
                var_start=var.start, var_end=var.end, op_start=lpar.start_pos, op_end=rpar.end_pos,
            )  # fmt: skip
        return nodes.Call(
            func,
            args,
            start=func.start,
            end=rpar.end_pos,
            op_start=lpar.start_pos,
            op_end=rpar.end_pos,
        )

    def index(self, target: nodes.Expr, lsqb: Token, *rest: Any) -> nodes.Index:
        *items, rsqb = rest
        return nodes.Index(
            target,
            tuple(items),
            start=target.start,
            end=rsqb.end_pos,
            op_start=lsqb.start_pos,
            op_end=rsqb.end_pos,
        )

    def slice(self, *children: nodes.Expr | Token) -> nodes.Slice:
        parts: list[nodes.Expr | None] = [None, None, None]
        slot = 0
        for child in children:
            if isinstance(child, str):  # a colon token moves on to the next part
                slot += 1
            else:
                parts[slot] = child
        first, last = children[0], children[-1]
        start = first.start_pos if isinstance(first, str) else first.start
        end = last.end_pos if isinstance(last, str) else last.end
        lower, upper, step = parts
        return nodes.Slice(lower, upper, step, start=start, end=end)

    def attribute(self, target: nodes.Expr, dot: Token, name: Token) -> nodes.Transpose:
        if name != "T":
            message = f"unknown attribute '{name}': only .T (transpose) is supported"
            raise _SyntaxProblem(message, name.start_pos, name.end_pos)
        return nodes.Transpose(
            target,
            start=target.start,
            end=name.end_pos,
            op_start=dot.start_pos,
            op_end=name.end_pos,
        )

    def factorial(self, operand: nodes.Expr, bang: Token) -> nodes.Unary:
        return nodes.Unary(
            "!", operand, start=operand.start, end=bang.end_pos,
            op_start=bang.start_pos, op_end=bang.end_pos,
        )  # fmt: skip

    def over_range(self, func: nodes.Expr, *parts: Any) -> nodes.OverRange:
        _lpar, body, _for, var, _in, lower, _dots, upper, rpar = parts
        if var.endswith("'"):
            raise _SyntaxProblem(
                "the variable of a range must be a plain name", var.start_pos, var.end_pos
            )
        return nodes.OverRange(
            func, body, str(var), lower, upper, start=func.start, end=rpar.end_pos,
            var_start=var.start_pos, var_end=var.end_pos,
        )  # fmt: skip

    def choice(self, if_: Token, condition: nodes.Expr, *parts: Any) -> nodes.Choice:
        _then, chosen, _else, otherwise = parts
        return nodes.Choice(condition, chosen, otherwise, start=if_.start_pos, end=otherwise.end)

    def disjunction(self, *children: Any) -> nodes.Logical:
        return _fold(children, nodes.Logical)

    def conjunction(self, *children: Any) -> nodes.Logical:
        return _fold(children, nodes.Logical)

    def logical_not(self, op: Token, operand: nodes.Expr) -> nodes.Unary:
        return self.unary(op, operand)

    def comparison(self, *children: Any) -> nodes.Expr:
        """a < b, or a chain a < b <= c read as (a < b) and (b <= c), as in Python."""
        links = [_fold(children[i : i + 3]) for i in range(0, len(children) - 2, 2)]
        chain = links[0]
        for link in links[1:]:
            chain = nodes.Logical(
                "and", chain, link, start=chain.start, end=link.end,
                op_start=link.op_start, op_end=link.op_end,
            )  # fmt: skip
        return chain

    def unary(self, op: Token, operand: nodes.Expr) -> nodes.Unary:
        return nodes.Unary(
            str(op),
            operand,
            start=op.start_pos,
            end=operand.end,
            op_start=op.start_pos,
            op_end=op.end_pos,
        )

    def power(self, *children: Any) -> nodes.Binary:
        return _fold(children)

    def product(self, *children: Any) -> nodes.Binary:
        return _fold(children)

    def sum(self, *children: Any) -> nodes.Binary:
        return _fold(children)


def _fold(children: tuple, kind: type = nodes.Binary) -> Any:
    """Fold [a, op, b, op, c, ...] to the left: ((a op b) op c) ..."""
    left = children[0]
    for i in range(1, len(children), 2):
        op, right = children[i], children[i + 1]
        left = kind(
            "**" if op == "^" else str(op),
            left,
            right,
            start=left.start,
            end=right.end,
            op_start=op.start_pos,
            op_end=op.end_pos,
        )
    return left


def _is_integral(func: nodes.Expr, args: tuple) -> bool:
    """integrate(body, t, a, b) binds the name t, so it is a node of its own."""
    return (
        _is_plain_name(func)
        and func.id == "integrate"
        and len(args) == 4
        and _is_plain_name(args[1])
    )


def _assignment(target: nodes.Expr, expr: nodes.Expr) -> nodes.Assign | nodes.FuncDef:
    """Read `target = expr` as a variable assignment or a function definition."""
    span = {"start": target.start, "end": expr.end}
    if isinstance(target, nodes.Name) and not target.primes:
        return nodes.Assign(target.id, expr, **span, name_start=target.start, name_end=target.end)
    if isinstance(target, nodes.Call) and _is_plain_name(target.func):
        name = target.func
        params = _parameters(target.args)
        return nodes.FuncDef(
            name.id, params, expr, **span, name_start=name.start, name_end=name.end
        )
    raise _SyntaxProblem(_cannot_assign(target), target.start, target.end)


def _is_plain_name(node: nodes.Expr) -> TypeGuard[nodes.Name]:
    return isinstance(node, nodes.Name) and node.primes == 0


def _parameters(args: tuple[nodes.Expr, ...]) -> tuple[str, ...]:
    seen: list[str] = []
    for arg in args:
        if not _is_plain_name(arg):
            raise _SyntaxProblem("a parameter must be a plain name", arg.start, arg.end)
        if arg.id in seen:
            raise _SyntaxProblem(f"duplicate parameter '{arg.id}'", arg.start, arg.end)
        seen.append(arg.id)
    return tuple(seen)


def _cannot_assign(target: nodes.Expr) -> str:
    if isinstance(target, nodes.Call) and isinstance(target.func, nodes.Name):
        target = target.func  # a primed name: f'(x) = ...
    match target:
        case nodes.Name():
            primes = "'" * target.primes
            return f"cannot assign to the derivative {target.id}{primes}"
        case nodes.Number():
            return "cannot assign to a number"
        case nodes.Unary() | nodes.Binary():
            return f"cannot assign to the result of '{target.op}'"
        case nodes.Call():
            return "cannot assign to the result of a call"
        case nodes.Index():
            return "cannot assign to an element of an array"
        case nodes.Transpose():
            return "cannot assign to a transpose"
    return "cannot assign to an array"


# ---- the parser, built once ---------------------------------------------------------


@functools.cache
def _grammar_text() -> str:
    """grammar.lark from the installed package, else from the top of the repository."""
    here = Path(__file__).resolve().parent
    packaged = here / "grammar.lark"
    path = packaged if packaged.is_file() else here.parent / "grammar.lark"
    return path.read_text(encoding="utf-8")


@functools.cache
def _parser() -> Lark:
    """The LALR parser, loaded from the tables in ``grammar_tables`` (no grammar analysis at
    start-up, and no file read or written); built from grammar.lark if those were made from
    another grammar or cannot be loaded by this version of Lark."""
    from lark import Lark

    from dezero_repl import grammar_tables

    grammar = _grammar_text()
    builder = _lark_builder()
    if grammar_tables.GRAMMAR_DIGEST == _digest(grammar):
        try:
            return Lark._load_from_dict(
                grammar_tables.DATA, grammar_tables.MEMO, transformer=builder
            )
        except Exception:  # tables of another Lark version: build the parser instead
            pass
    return Lark(grammar, transformer=builder, **PARSER_OPTIONS)


def _lark_builder() -> Any:
    """``_Builder`` as a Lark Transformer with ``v_args(inline=True)`` (imports Lark)."""
    from lark import Transformer, v_args

    methods = {k: v for k, v in vars(_Builder).items() if not k.startswith("__")}
    return v_args(inline=True)(type("_LarkBuilder", (Transformer,), methods))()


#: How the parser is built from grammar.lark, here and by ``write_tables``.
PARSER_OPTIONS = {"parser": "lalr", "lexer": "contextual"}


def _digest(grammar: str) -> str:
    """A checksum that tells an edited grammar.lark from the one the tables were made of.

    CRC-32, from zlib, which NumPy has already imported: hashlib would cost 2 ms of start-up.
    """
    return f"{zlib.crc32(grammar.encode('utf-8')):08x}"


def write_tables(path: Path) -> None:
    """Write the parser's tables for grammar.lark as a Python module (``grammar_tables.py``).

    Run ``python -m dezero_repl.parser`` after changing the grammar; a test checks that the
    tables in the package are those of grammar.lark.
    """
    import lark
    from lark import Lark
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    grammar = _grammar_text()
    data, memo = Lark(grammar, **PARSER_OPTIONS).memo_serialize([TerminalDef, Rule])
    path.write_text(
        '"""The LALR tables of grammar.lark, generated by ``python -m dezero_repl.parser``:\n'
        'plain data, loaded without analysing the grammar at start-up. Do not edit."""\n\n'
        f"LARK_VERSION = {lark.__version__!r}\n"
        f"GRAMMAR_DIGEST = {_digest(grammar)!r}\n"
        f"DATA = {data!r}\n"
        f"MEMO = {memo!r}\n",
        encoding="utf-8",
    )


# ---- parsing one statement ----------------------------------------------------------


def parse_statement(text: str) -> nodes.Statement | None:
    """Parse one statement; return None if `text` holds only blanks and comments.

    Raises ParseError. Newlines may appear anywhere a blank may, but `;` may not.
    Statements of a shape already seen are rebuilt from that parse (see shapes.py).
    """
    return _memo()(text)


@functools.cache
def _memo() -> ShapeCache:
    return ShapeCache(_parse, statement_tokens)


def _parse(text: str) -> nodes.Statement | None:
    """Parse with the packaged tables (see lalr.py); what they reject goes to Lark."""
    tables = _table_parser()
    if tables is not None:
        try:
            return tables.parse(text)
        except Rejected:
            pass  # not a statement: Lark words the error
        except _SyntaxProblem as e:
            raise _error(text, e.message, e.start, e.end) from None
    return _parse_with_lark(text)


@functools.cache
def _table_parser() -> TableParser | None:
    """The parser that needs no Lark, if the packaged tables are those of grammar.lark."""
    from dezero_repl import grammar_tables

    if grammar_tables.GRAMMAR_DIGEST != _digest(_grammar_text()):
        return None
    return TableParser(grammar_tables.DATA, grammar_tables.MEMO, _Builder())


def _parse_with_lark(text: str) -> nodes.Statement | None:
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    try:
        # With a transformer, Lark's parse returns what the builder made, not a tree.
        return cast("nodes.Statement | None", _parser().parse(text))
    except _SyntaxProblem as e:
        raise _error(text, e.message, e.start, e.end) from None
    except UnexpectedToken as e:
        raise _unexpected_token(text, e) from None
    except UnexpectedCharacters as e:
        # Lark types pos_in_stream as None; UnexpectedCharacters sets it to the offset.
        position: int = e.pos_in_stream  # type: ignore[assignment]
        raise _unexpected_character(text, position) from None
    except UnexpectedInput as e:  # not raised by LALR today; kept as a safety net
        position = e.pos_in_stream or 0
        raise _error(text, "invalid syntax", position, position) from None


def is_incomplete(text: str) -> bool:
    """True if the last statement of `text` is unfinished and should continue on another line."""
    chunks = split_statements(text)
    if not chunks:
        return False
    try:
        parse_statement(chunks[-1].text)
    except ParseError as e:
        return e.incomplete
    return False


def _error(text: str, message: str, start: int, end: int, incomplete: bool = False) -> ParseError:
    line, column = line_column(text, start)
    return ParseError(message, start, end, line, column, incomplete)


# What each terminal is called in a message.
_WORDS = {
    "NUMBER": "a number",
    "NAME": "a name",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/', '//', '%' or '@'",
    "COEFFICIENT": "a number",
    "COMPARE_OP": "a comparison",
    "IF": "'if'",
    "THEN": "'then'",
    "ELSE": "'else'",
    "AND": "'and'",
    "OR": "'or'",
    "NOT": "'not'",
    "FOR": "'for'",
    "IN": "'in'",
    "RANGE": "'..'",
    "BANG": "'!'",
    "POW_OP": "'**'",
    "EQUAL": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "_COMMA": "','",
    "COLON": "':'",
    "DOT": "'.'",
    "CMD_NAME": "a command",
    "CMD_ARG": "a space and the command's argument",
    "$END": "end of input",
}
_EXPRESSION_START = frozenset({"NUMBER", "COEFFICIENT", "NAME", "ADD_OP", "LPAR", "LSQB"})
_LEADING_WORDS = frozenset({"IF", "NOT"})  # may also begin an expression, at some places
# Where one of these is acceptable, something complete could end here; nothing is required.
_COULD_END = frozenset(
    {"MUL_OP", "POW_OP", "EQUAL", "DOT", "_COMMA", "COMPARE_OP", "AND", "OR", "BANG", "$END"}
)
_CLOSERS = ("_COMMA", "RPAR", "RSQB")


def _unexpected_token(text: str, e: UnexpectedToken) -> ParseError:
    token = e.token
    accepts = set(e.accepts or e.expected or ()) - {"WS", "COMMENT"}
    at_end = token.type == "$END"
    start, end = (len(text), len(text)) if at_end else (token.start_pos, token.end_pos)
    found = "end of input" if at_end else _describe(token)
    previous = _previous_token(text, start)
    if token.type == "COLON" and "CMD_NAME" in accepts:
        message = "expected a command name after ':'"
    elif token.type == "IF":
        message = (
            "unexpected 'if': a choice is written 'if C then A else B', and inside a larger "
            "expression in parentheses"
        )
    elif token.type == "EQUAL":
        message = "unexpected '='; only a name or f(x, ...) can be assigned to"
    elif "CMD_ARG" in accepts:
        message = f"expected a space after the command name, found {found}"
    elif accepts and not accepts & _COULD_END:
        wanted = _expected_words(accepts, previous)
        after = f" after '{previous}'" if previous else ""
        message = f"expected {wanted}{after}, found {found}"
    elif at_end:
        message = _unclosed(text) or "unexpected end of input"
    else:
        message = f"unexpected {found}"
        closers = [_WORDS[name] for name in _CLOSERS if name in accepts]
        if closers:
            message += f"; expected {' or '.join(closers)}"
    return _error(text, message, start, end, incomplete=at_end)


def _unexpected_character(text: str, position: int) -> ParseError:
    char = text[position]
    if char == ";":
        command = re.compile(r"[ \t\f\r]*(:[A-Za-z0-9_]*)").match(text, position + 1)
        if command:
            where = command.span(1)
            return _error(text, "a command must be alone on its line", *where)
        return _error(text, "unexpected ';'", position, position + 1)
    if char == "'":
        return _error(text, "a prime (') must follow a name directly", position, position + 1)
    shown = char if char.isprintable() else repr(char)[1:-1]
    meant = _WRITTEN_AS.get(char)
    hint = f" (write '{meant}')" if meant else ""
    return _error(text, f"unexpected character '{shown}'{hint}", position, position + 1)


#: Characters of mathematics as typeset, and how the calculator spells them.
_WRITTEN_AS = {
    "×": "*", "·": "*", "⋅": "*", "÷": "/", "−": "-", "–": "-", "√": "sqrt",
    "π": "pi", "≤": "<=", "≥": ">=", "≠": "!=", "²": "^2", "³": "^3", "∞": "inf",
}  # fmt: skip


def _describe(token: LarkToken) -> str:
    value = token if len(token) <= 20 else token[:17] + "..."
    if token.type == "NUMBER":
        return f"number '{value}'"
    if token.type == "NAME":
        return f"name '{value}'"
    return f"'{value}'"


def _expected_words(accepts: set[str], previous: str | None) -> str:
    if previous == "." and accepts == {"NAME"}:
        return "T"
    words = []
    if _EXPRESSION_START <= accepts:
        words.append("an expression")
        accepts = accepts - _EXPRESSION_START - _LEADING_WORDS
    words += sorted(_WORDS.get(name, name.lower()) for name in accepts)
    return " or ".join(words)


def _previous_token(text: str, offset: int) -> str | None:
    """The text of the last token before `offset`, comments aside."""
    previous = None
    for kind, start, end in tokens(text[:offset]):
        if kind != "comment":
            previous = text[start:end]
    return previous


def _unclosed(text: str) -> str | None:
    """Describe the innermost bracket left open in `text`, if any."""
    opened: list[int] = []
    for kind, start, _end in tokens(text):
        if kind == "paren":
            if text[start] in "([":
                opened.append(start)
            elif opened:
                opened.pop()
    if not opened:
        return None
    line, column = line_column(text, opened[-1])
    where = f"line {line}, column {column}" if "\n" in text else f"column {column}"
    return f"unclosed '{text[opened[-1]]}' opened at {where}"


if __name__ == "__main__":
    write_tables(Path(__file__).resolve().parent / "grammar_tables.py")
