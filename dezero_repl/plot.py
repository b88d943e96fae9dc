"""``:plot``: a function and its derivative, side by side, drawn in the terminal.

The expression is evaluated once on a vector of sample points; because the calculator's
functions work elementwise, one backward pass gives the derivative at every point at once.
Drawing is plotext's job (in the terminal) or matplotlib's (into an image file).
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from dezero import Variable, as_variable, gradients, using_config
from dezero_repl import calculus, nodes
from dezero_repl.errors import CalcError, ErrorKind, one_line
from dezero_repl.files import file_name, write_file
from dezero_repl.format import format_number
from dezero_repl.limits import start_work
from dezero_repl.outcomes import CommandDone
from dezero_repl.parser import ParseError, parse_statement
from dezero_repl.scan import tokens
from dezero_repl.values import is_function
from dezero_repl.vocabulary import BUILTINS, CONSTANTS, RESERVED, SPECIAL_FORMS

if TYPE_CHECKING:
    from dezero_repl.runner import Runner

SAMPLES = 201
# `for NAME in`: no two parts of it can match the same blanks, so a search is linear. The
# ends A..B are split at the first `..` (one regular expression for all of it backtracked
# cubically over a run of blanks).
_RANGE = re.compile(r"\bfor[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+in[ \t]")


class _Range(NamedTuple):
    name: str
    low: str
    high: str
    start: int  # where `for` begins
    low_at: int  # where A begins
    high_at: int  # where B begins


def _find_range(spec: str) -> _Range | None:
    """The `for x in A..B` at the end of a plot specification, if there is one (the last:
    an expression may hold a range of its own, as in sum(x^k for k in 0..5))."""
    outside = [m for m in _RANGE.finditer(spec) if _depth(spec[: m.start()]) == 0]
    if not outside:
        return None
    match = outside[-1]
    low, dots, high = spec[match.end() :].partition("..")
    if not dots or not low.strip() or not high.strip():
        return None
    low_at = match.end() + _lead(low)
    high_at = match.end() + len(low) + len(dots) + _lead(high)
    return _Range(match.group(1), low.strip(), high.strip(), match.start(), low_at, high_at)


def _lead(text: str) -> int:
    """How many blanks ``text`` begins with."""
    return len(text) - len(text.lstrip())


def _depth(text: str) -> int:
    """How many brackets are open at the end of ``text``."""
    return sum(text.count(c) for c in "([") - sum(text.count(c) for c in ")]")


class ArgumentError(CalcError):
    """An error in the argument of a command, with its span counted within the argument.

    The argument is the end of its statement, so the span is placed in the statement when
    the runner gives the statement's extent to ``at``: `:graph 1 + foo` points at `foo`.
    """

    def __init__(self, error: CalcError, argument: str, offset: int = 0) -> None:
        """``error``'s span is counted from ``offset`` characters into ``argument``."""
        super().__init__(error.message, kind=error.kind)
        self.within = None
        if error.start is not None:
            end = error.start if error.end is None else max(error.end, error.start)
            self.within = (offset + error.start, offset + end)
        self.length = len(argument.rstrip())

    def at(self, start: int, end: int) -> CalcError:
        if self.start is None and self.within is not None:
            begin = end - self.length  # where the argument begins in the statement
            self.start, self.end = begin + self.within[0], begin + self.within[1]
        return super().at(start, end)


@contextmanager
def _at(offset: int) -> Iterator[None]:
    """Count the span of an error raised inside from ``offset`` characters further on."""
    try:
        yield
    except CalcError as e:
        if e.start is None:
            raise
        end = e.start if e.end is None else max(e.end, e.start)
        raise CalcError(e.message, offset + e.start, offset + end, kind=e.kind) from None


@dataclass
class Curve:
    """One curve of a plot: its label and its values at the sampled points. Where a value
    cannot be vouched for, it is nan (a gap), ``missing`` is true, and ``warning`` says why."""

    label: str
    values: np.ndarray
    missing: np.ndarray | None = None
    warning: str = ""


class _Item(NamedTuple):
    """One expression to plot: its text, its tree, and where it begins in the argument."""

    text: str
    expr: nodes.Expr
    at: int


class _Axis(NamedTuple):
    """The sample points and what the title says of them."""

    variable: str | None
    low: float
    high: float
    note: str  # how the range was chosen, when the user did not give it


def split_target(arg: str) -> tuple[str, str]:
    """EXPR and FILE of a command's `EXPR > FILE`. A '>' is a redirection only as the last
    one outside brackets, followed by one word, or words in quotes, that end in an extension
    of letters (not `.T`); otherwise it compares (`:plot x > 0 for x in -1..1`, `x > 0.5`,
    `x > m.T`)."""
    depth, cut = 0, None
    for i, char in enumerate(arg):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == ">" and depth == 0 and not arg.startswith("=", i + 1):
            cut = i
    if cut is not None:
        written = arg[cut + 1 :].strip()
        target = file_name(written)
        extension = os.path.splitext(target)[1][1:]
        one_word = target != written or not target.split()[1:]  # quoted, or one word
        if one_word and extension.isalpha() and extension != "T":
            return arg[:cut].strip(), target
    return arg.strip(), ""


def command(runner: Runner, arg: str, replace: bool = False) -> CommandDone:
    """:plot EXPR [for x in A..B] [> FILE] draws EXPR and its derivative; :plot f, f', f''.
    A FILE is written as ``files`` writes; ``replace`` (:plot!) replaces any file."""
    spec, target = split_target(arg)
    if not spec:
        raise CalcError(
            "':plot' needs something to plot, e.g. :plot sin(x) for x in -3..3",
            kind=ErrorKind.CommandError,
        )
    try:
        axis, curves = sample(runner.session, spec, _lead(arg))
    except CalcError as e:
        raise ArgumentError(e, arg) from None
    xs = np.linspace(axis.low, axis.high, SAMPLES)
    series = {c.label: _json_points(c) for c in curves}
    data = {"plot": {"x": _json_list(xs), "series": series}}
    warnings = [c.warning for c in curves if c.warning]
    if target:
        image = render_image(xs, curves, target)
        write_file(runner.written, target, image, replace, "':plot!'")
        message = f"saved the plot to {one_line(target)}"
        return CommandDone(message, extra={"file": target}, warnings=warnings)
    if not getattr(runner.output, "draws", True):  # JSON: the points instead of a drawing
        return CommandDone(extra=data, warnings=warnings)
    color = getattr(runner.output, "color", False)
    return CommandDone(draw(xs, curves, color, axis.note), extra=data, warnings=warnings)


def _json_points(curve: Curve) -> list:
    """A curve's values as JSON data; null where one is left out (see Curve)."""
    points = _json_list(curve.values)
    if curve.missing is not None:
        for i in np.flatnonzero(curve.missing):
            points[i] = None
    return points


def sample(session: Any, spec: str, at: int = 0) -> tuple[_Axis, list[Curve]]:
    """The axis and the curves for a plot specification that begins ``at`` characters into
    the command's argument (error spans are counted from there)."""
    match = _find_range(spec)
    body = spec[: match.start] if match else spec
    items = [_parse(text, at + offset) for offset, text in _split_top_level(body)]
    axis = _axis(session, items, match, at)
    xs = np.linspace(axis.low, axis.high, SAMPLES)
    curves: list[Curve] = []
    for item in items:
        with _at(item.at):
            curves.extend(_curves(session, item, axis.variable, xs, single=len(items) == 1))
    _check_span(curves)
    return axis, curves


def _check_span(curves: list[Curve]) -> None:
    """Refuse curves whose finite values span more than a float64 holds: no axis can be
    drawn for them (1e308·x from -3 to 7 goes from -1.8e308 to 1.8e308)."""
    finite = [c.values[np.isfinite(c.values)] for c in curves]
    values = np.concatenate(finite) if finite else np.zeros(0)
    if values.size and not np.isfinite(float(values.max()) - float(values.min())):
        raise CalcError(
            f"':plot' cannot draw values from {format_number(values.min())} to "
            f"{format_number(values.max())}: the span is beyond float64; plot them scaled "
            f"down, or over a smaller range",
            kind=ErrorKind.PlotError,
        )


def _split_top_level(text: str) -> list[tuple[int, str]]:
    """Split at commas outside brackets, as the scanner finds them: each part, stripped,
    with where it begins."""
    parts, depth, begin = [], 0, 0
    for kind, start, end in tokens(text):
        if kind == "paren":
            depth += 1 if text[start] in "([" else -1
        elif kind == "punctuation" and text[start] == "," and depth == 0:
            parts.append((begin, text[begin:start]))
            begin = end
    parts.append((begin, text[begin:]))
    return [(offset + _lead(part), part.strip()) for offset, part in parts if part.strip()]


def _parse(text: str, at: int) -> _Item:
    try:
        statement = parse_statement(text)
    except ParseError as e:
        raise CalcError(
            f"in ':plot {text}': {e.message}", at + e.start, at + e.end, kind=ErrorKind.SyntaxError
        ) from None
    if not isinstance(statement, nodes.ExprStmt):
        raise CalcError("':plot' takes expressions or functions", kind=ErrorKind.CommandError)
    return _Item(text, statement.expr, at)


def _could_vary(session: Any, expr: nodes.Expr) -> list[str]:
    """The names a plot could vary, in order: the session's variables that ``expr`` uses,
    and the names it does not know (not a function, a constant or a name bound inside, as
    k in sum(x^k for k in 0..5))."""
    walked = list(nodes.walk(expr))
    bound = {n.var for n in walked if isinstance(n, nodes.BINDERS)}
    called = {id(n.func) for n in walked if isinstance(n, nodes.Call)}
    names = [
        n.id
        for n in walked
        if isinstance(n, nodes.Name) and not n.primes and id(n) not in called and n.id not in bound
    ]
    return [n for n in dict.fromkeys(names) if n in session.variables or not _known(session, n)]


def _known(session: Any, name: str) -> bool:
    """Whether ``name`` is something other than a variable: a function, constant or `ans`."""
    tables = (session.functions, BUILTINS, SPECIAL_FORMS, CONSTANTS, RESERVED)
    return any(name in table for table in tables)


def _axis(session: Any, items: list[_Item], match: _Range | None, at: int) -> _Axis:
    if match:
        name = match.name
        low = _number(session, match.low, at + match.low_at)
        high = _number(session, match.high, at + match.high_at)
        if not low < high:
            raise CalcError(
                f"':plot' range {low!r}..{high!r} is empty", kind=ErrorKind.CommandError
            )
        if not np.isfinite(high - low):  # np.linspace would overflow between the ends
            raise CalcError(
                f"':plot' range {low!r}..{high!r} is too wide", kind=ErrorKind.CommandError
            )
        return _Axis(name, low, high, "")
    names = list(dict.fromkeys(n for item in items for n in _could_vary(session, item.expr)))
    if len(names) > 1:
        raise CalcError(
            f"':plot' cannot tell which variable to vary ({', '.join(names)}); "
            f"say it: :plot ... for {names[0]} in -5..5",
            kind=ErrorKind.CommandError,
        )
    variable = names[0] if names else None
    value = session.variables.get(variable) if variable else None
    if value is not None and np.ndim(value.data) == 0 and np.isfinite(value.data):
        center = float(value.data)  # around the variable's value
        return _Axis(variable, center - 5.0, center + 5.0, f"({variable} ± 5)")
    return _Axis(variable, -5.0, 5.0, f"(default range; say 'for {variable or 'x'} in A..B')")


def _number(session: Any, text: str, at: int) -> float:
    item = _parse(text, at)
    with _at(at):
        value, _, _ = session.evaluate_statement(item.expr)
    data = np.asarray(value.data if isinstance(value, Variable) else value)
    if data.ndim != 0 or not np.isfinite(data):
        raise CalcError(
            f"':plot' range ends must be numbers, not '{text}'",
            at,
            at + len(text),
            kind=ErrorKind.CommandError,
        )
    return float(data)


def _curves(
    session: Any, item: _Item, variable: str | None, xs: np.ndarray, single: bool
) -> list[Curve]:
    """One expression's curve, and its derivative when it is the only item plotted."""
    text = item.text
    x = Variable(xs.copy())
    start_work()  # each curve's work is counted as a statement's
    underflows: list[str] = []
    with (
        using_config("enable_backprop", True),
        np.errstate(all="ignore"),
        calculus.watching_underflow(underflows),
    ):
        value = session.evaluate(item.expr, {variable: x} if variable else {})
        if is_function(value):
            f = value
            y = as_variable(calculus.applied(session, f, [x]))
            label = f.name
            derivative_label = label + "'"
        else:
            if variable is None:
                raise CalcError(
                    f"':plot {text}': the expression has no variable to vary; "
                    f"say which: :plot {text} for x in -5..5",
                    0,
                    len(text),
                    kind=ErrorKind.CommandError,
                )
            y = as_variable(value)
            label, derivative_label = text, f"∂/∂{variable}"
        if y.shape != xs.shape:
            y = _constant(text, y, x)
        curves = [Curve(label, np.array(y.data, dtype=np.float64))]
        if single:
            curves.append(_derivative(derivative_label, y, x, underflows))
    return curves


def _derivative(label: str, y: Variable, x: Variable, underflows: list[str]) -> Curve:
    """The curve of dy/dx, by one backward pass, trusted as a reported gradient is: where
    the pass may have lost digits (its contributions cancelled, or a value underflowed on
    the way), each point is computed again by Taylor mode and vouched for on its own, and
    one that cannot be is left out."""
    watch: list[str] = []
    (g,) = gradients(y, [x], watch=watch)
    dy = np.zeros_like(x.data) if g is None else np.array(g.data, dtype=np.float64)
    if g is None or not (watch or underflows):
        return Curve(label, dy)
    why = calculus.doubted(bool(watch), bool(underflows))
    try:
        dy, failing, reason, at = calculus.vouched_slopes(y, x, bool(underflows))
    except (CalcError, ValueError) as e:  # too much work, or a value released on the way
        reason = f"cannot be vouched for ({why}): {getattr(e, 'message', e)}"
        every = np.ones(dy.shape, dtype=bool)
        return Curve(label, np.full(dy.shape, np.nan), every, f"{label} is not drawn: it {reason}")
    if not np.any(failing):
        return Curve(label, dy)
    point = format_number(np.ravel(np.asarray(x.data))[at])
    warning = (
        f"{label} is left out at {np.count_nonzero(failing)} of {dy.size} points, where it "
        f"cannot be vouched for ({why}); at x = {point}, it {reason}"
    )
    return Curve(label, np.where(failing, np.nan, dy), failing, warning)


def _constant(text: str, y: Variable, x: Variable) -> Variable:
    """A number that does not depend on the variable, as one value per point: a flat line,
    whose derivative is 0. Anything else of another shape is an error."""
    if y.ndim != 0 or gradients(y, [x])[0] is not None:
        raise CalcError(
            f"':plot {text}' must give one value per point (got shape {y.shape})",
            0,
            len(text),
            kind=ErrorKind.ValueError,
        )
    return Variable(np.full(x.shape, y.data, dtype=np.float64))


def _json_list(values: np.ndarray) -> list:
    from dezero_repl.format import to_json

    return to_json(values)


# ---------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------


#: Each curve's marker without colour, where only its shape tells it from the others.
MARKERS = ("braille", "+", "x", "*", "o", "#")


def draw(xs: np.ndarray, curves: list[Curve], color: bool, note: str = "") -> str:
    """The plot as text for a terminal: axes, the curves and a legend, in the terminal's
    own colours (only the curves are coloured, and only with ``color``)."""
    import plotext

    columns, rows = shutil.get_terminal_size((80, 24))
    width, height = max(40, min(columns - 1, 120)), max(10, min(rows - 4, 30))
    figure = plotext.figure
    figure.clear()
    figure.theme("simple")  # no background, no colours on the frame
    figure.plot_size(width, height)
    drawn = []
    for i, curve in enumerate(curves):
        finite = np.isfinite(curve.values)
        if finite.any():
            marker = "hd" if color else MARKERS[i % len(MARKERS)]
            signal = figure.signal(
                xs[finite].tolist(), curve.values[finite].tolist(), marker=marker
            )
            figure.draw(signal.label(curve.label).lines())
            drawn.append(curve.values[finite])
    _set_ticks(figure.ruler(0), float(xs[0]), float(xs[-1]), width // 12)
    if drawn:
        values = np.concatenate(drawn)
        _set_ticks(figure.ruler(1), float(values.min()), float(values.max()), height // 4)
    span = f"{format_number(xs[0])}..{format_number(xs[-1])}"
    title = ", ".join(c.label for c in curves) + f"  on {span}"
    figure.title(f"{title} {note}" if note else title)
    return figure.build().string(colorless=not color)


def _set_ticks(ruler: Any, low: float, high: float, count: int) -> None:
    """Put round ticks on a ruler, about ``count`` of them, labelled as short as they are
    exact; a single value gets ticks around it."""
    if low == high:
        pad = abs(low) / 2 or 1.0
        low, high = low - pad, high + pad
    ticks = nice_ticks(low, high, max(count, 3))
    if ticks:
        ruler.ticks([float(value) for value in ticks], tick_labels(ticks))


def nice_ticks(low: float, high: float, count: int) -> list[Fraction]:
    """Round values between ``low`` and ``high``, about ``count`` of them: the multiples of
    the smallest step of 1, 2, 2.5 or 5 times a power of ten that gives at most that many.
    They are exact (fractions), so that their labels show them exactly."""
    raw = (high - low) / count
    if not (np.isfinite(raw) and raw > 0):
        return []
    power = Fraction(10) ** math.floor(math.log10(raw))
    step = next(m * power for m in _NICE if m * power >= Fraction(raw))
    # An end a rounding away from a tick has that tick: 0.3 is 0.29999999999999998.
    first = math.ceil(Fraction(low) / step - _SLACK)
    last = math.floor(Fraction(high) / step + _SLACK)
    return [k * step for k in range(first, last + 1)]


_NICE = (Fraction(1), Fraction(2), Fraction(5, 2), Fraction(5), Fraction(10))
_SLACK = Fraction(1, 10**9)


def tick_labels(ticks: list[Fraction]) -> list[str]:
    """The shortest exact labels: 0.5, 100, 2.5e6; one notation for the whole axis, the one
    whose longest label is shorter (plain on a tie); 0 is always 0."""
    plain = [_plain(t) for t in ticks]
    scientific = [_scientific(t) for t in ticks]
    shorter = max(map(len, scientific)) < max(map(len, plain))
    return scientific if shorter else plain


def _plain(value: Fraction) -> str:
    sign, digits, exponent = _decimal(value)
    if exponent >= 0:
        return sign + digits + "0" * exponent
    digits = digits.rjust(1 - exponent, "0")
    return sign + f"{digits[:exponent]}.{digits[exponent:]}".rstrip("0").rstrip(".")


def _scientific(value: Fraction) -> str:
    sign, digits, exponent = _decimal(value)
    if digits == "0":
        return "0"
    significant = digits.rstrip("0")
    mantissa = significant[0] + ("." + significant[1:] if significant[1:] else "")
    return f"{sign}{mantissa}e{exponent + len(digits) - 1}"


def _decimal(value: Fraction) -> tuple[str, str, int]:
    """A tick value (a terminating decimal) as its sign, its digits and the power of ten
    of the last digit: -2.5 is ("-", "25", -1)."""
    exponent = 0
    while value.denominator != 1:
        value, exponent = value * 10, exponent - 1
    return ("-" if value < 0 else ""), str(abs(value.numerator)), exponent


def render_image(xs: np.ndarray, curves: list[Curve], path: str) -> bytes:
    """The plot as an image in the format of ``path``'s extension, drawn by matplotlib
    (an optional extra)."""
    plt = _pyplot()
    fig, axes = plt.subplots(figsize=(8, 5))
    for curve in curves:
        axes.plot(xs, curve.values, label=curve.label)
    axes.axhline(0, color="0.8", linewidth=0.8)
    axes.legend()
    axes.grid(True, alpha=0.3)
    image = io.BytesIO()
    try:
        fig.savefig(image, format=os.path.splitext(path)[1][1:].lower())
    except (OSError, ValueError, RuntimeError) as e:  # RuntimeError: pgf without LaTeX
        raise CalcError(
            f"cannot save the plot to '{path}': {one_line(str(e).split(';')[0])}",
            kind=ErrorKind.PlotError,
        ) from None
    finally:
        plt.close(fig)
    return image.getvalue()


def _pyplot() -> Any:
    """matplotlib's pyplot, or a clear error if matplotlib is not installed."""
    try:
        if "matplotlib.pyplot" not in sys.modules:
            _import_pyplot_privately()
        import matplotlib.pyplot as plt
    except ImportError:
        raise CalcError(
            "saving a plot to a file needs matplotlib: pip install 'dezero-repl[plot]'",
            kind=ErrorKind.PlotError,
        ) from None
    return plt


def _import_pyplot_privately() -> None:
    """Import pyplot set up by nothing of the user's. matplotlib reads a ``matplotlibrc``
    from the working directory and from ``~/.config/matplotlib``, and writes a font cache
    into ``~/.cache/matplotlib``; so it is imported from inside a private temporary
    directory that serves as its configuration and cache directory, removed at once. Its
    settings are then its own defaults."""
    saved = {name: os.environ.pop(name, None) for name in ("MPLCONFIGDIR", "MATPLOTLIBRC")}
    try:
        here: str | None = os.getcwd()
    except OSError:  # the working directory is gone: there is no matplotlibrc to read in it
        here = None
    # matplotlib's own complaints (a style file read with a newer pyparsing, say) are its
    # business: they go to its logger and to warnings, neither shown here.
    logging.getLogger("matplotlib").setLevel(logging.ERROR)
    with (
        tempfile.TemporaryDirectory(prefix="dezero-repl-plot-") as private,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        os.environ["MPLCONFIGDIR"] = private
        os.chdir(private)
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        finally:
            if here is not None:
                os.chdir(here)
            for name, value in saved.items():
                os.environ.pop(name, None)
                if value is not None:
                    os.environ[name] = value
