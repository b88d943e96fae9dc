"""``:plot``: a function and its derivative, side by side, drawn in the terminal.

The expression is evaluated once on a vector of sample points; because the calculator's
functions work elementwise, one backward pass gives the derivative at every point at once.
Drawing is plotext's job (in the terminal) or matplotlib's (into an image file).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from dezero import Variable, as_variable, gradients, using_config
from dezero_repl import calculus, nodes
from dezero_repl.errors import CalcError, ErrorKind
from dezero_repl.format import format_number
from dezero_repl.outcomes import CommandDone
from dezero_repl.parser import ParseError, parse_statement
from dezero_repl.scan import tokens
from dezero_repl.values import is_function

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
    return _Range(match.group(1), low.strip(), high.strip(), match.start())


def _depth(text: str) -> int:
    """How many brackets are open at the end of ``text``."""
    return sum(text.count(c) for c in "([") - sum(text.count(c) for c in ")]")


@dataclass
class Curve:
    label: str
    values: np.ndarray


def split_target(arg: str) -> tuple[str, str]:
    """EXPR and FILE of a command's `EXPR > FILE`. A '>' is a redirection only as the last
    one outside brackets, followed by one word that ends in an extension of letters (not
    `.T`); otherwise it compares (`:plot x > 0 for x in -1..1`, `x > 0.5`, `x > m.T`)."""
    depth, cut = 0, None
    for i, char in enumerate(arg):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == ">" and depth == 0 and not arg.startswith("=", i + 1):
            cut = i
    if cut is not None:
        target = arg[cut + 1 :].strip()
        extension = os.path.splitext(target)[1][1:]
        if not target.split()[1:] and extension.isalpha() and extension != "T":
            return arg[:cut].strip(), target
    return arg.strip(), ""


def command(runner: Runner, arg: str) -> CommandDone:
    """:plot EXPR [for x in A..B] [> FILE] draws EXPR and its derivative; :plot f, f', f''."""
    spec, target = split_target(arg)
    if not spec:
        raise CalcError(
            "':plot' needs something to plot, e.g. :plot sin(x) for x in -3..3",
            kind=ErrorKind.CommandError,
        )
    xs, curves = sample(runner.session, spec)
    series = {c.label: c.values for c in curves}
    data = {"plot": {"x": _json_list(xs), "series": {k: _json_list(v) for k, v in series.items()}}}
    if target:
        save_image(xs, curves, target)
        return CommandDone(f"saved the plot to {target}", extra={"file": target})
    if not getattr(runner.output, "draws", True):
        return CommandDone(extra=data)  # JSON: the points instead of a drawing
    color = getattr(runner.output, "color", False)
    return CommandDone(draw(xs, curves, color), extra=data)


def sample(session: Any, spec: str) -> tuple[np.ndarray, list[Curve]]:
    """The sample points and the curves for a plot specification."""
    match = _find_range(spec)
    body = spec[: match.start].strip() if match else spec
    items = [_parse(part.strip()) for part in _split_top_level(body)]
    variable, low, high = _range(session, items, match)
    xs = np.linspace(low, high, SAMPLES)
    curves: list[Curve] = []
    for text, expr in items:
        curves.extend(_curves(session, text, expr, variable, xs, single=len(items) == 1))
    return xs, curves


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets, as the scanner finds them."""
    parts, depth, begin = [], 0, 0
    for kind, start, end in tokens(text):
        if kind == "paren":
            depth += 1 if text[start] in "([" else -1
        elif kind == "punctuation" and text[start] == "," and depth == 0:
            parts.append(text[begin:start])
            begin = end
    parts.append(text[begin:])
    return [p for p in parts if p.strip()]


def _parse(text: str) -> tuple[str, nodes.Expr]:
    try:
        statement = parse_statement(text)
    except ParseError as e:
        raise CalcError(f"in ':plot {text}': {e.message}", kind=ErrorKind.SyntaxError) from None
    if not isinstance(statement, nodes.ExprStmt):
        raise CalcError("':plot' takes expressions or functions", kind=ErrorKind.CommandError)
    return text, statement.expr


def _free_variables(session: Any, expr: nodes.Expr) -> list[str]:
    names = [n.id for n in nodes.walk(expr) if isinstance(n, nodes.Name) and not n.primes]
    return [n for n in dict.fromkeys(names) if n in session.variables]


def _range(session: Any, items: list, match: _Range | None) -> tuple[str | None, float, float]:
    if match:
        name, low, high = match.name, _number(session, match.low), _number(session, match.high)
        if not low < high:
            raise CalcError(
                f"':plot' range {low!r}..{high!r} is empty", kind=ErrorKind.CommandError
            )
        if not np.isfinite(high - low):  # np.linspace would overflow between the ends
            raise CalcError(
                f"':plot' range {low!r}..{high!r} is too wide", kind=ErrorKind.CommandError
            )
        return name, low, high
    names = [n for _, e in items for n in _free_variables(session, e)]
    names = list(dict.fromkeys(names))
    if len(names) > 1:
        raise CalcError(
            f"':plot' cannot tell which variable to vary ({', '.join(names)}); "
            f"say it: :plot ... for {names[0]} in -5..5",
            kind=ErrorKind.CommandError,
        )
    variable = names[0] if names else None
    center = 0.0
    if variable is not None and np.ndim(session.variables[variable].data) == 0:
        center = float(session.variables[variable].data)
    return variable, center - 5.0, center + 5.0


def _number(session: Any, text: str) -> float:
    _, expr = _parse(text)
    value, _, _ = session.evaluate_statement(expr)
    data = np.asarray(value.data if isinstance(value, Variable) else value)
    if data.ndim != 0 or not np.isfinite(data):
        raise CalcError(
            f"':plot' range ends must be numbers, not '{text}'", kind=ErrorKind.CommandError
        )
    return float(data)


def _curves(
    session: Any, text: str, expr: nodes.Expr, variable: str | None, xs: np.ndarray, single: bool
) -> list[Curve]:
    """One expression's curve, and its derivative when it is the only item plotted."""
    x = Variable(xs.copy())
    with using_config("enable_backprop", True), np.errstate(all="ignore"):
        value = session.evaluate(expr, {variable: x} if variable else {})
        if is_function(value):
            f = value
            y = calculus.applied(session, f, [x])
            label = f.name
            derivative_label = label + "'"
        else:
            if variable is None:
                raise CalcError(
                    f"':plot {text}': the expression has no variable to vary; "
                    f"say which: :plot {text} for x in -5..5",
                    kind=ErrorKind.CommandError,
                )
            y = as_variable(value)
            label, derivative_label = text, f"∂/∂{variable}"
        if y.shape != xs.shape:
            raise CalcError(
                f"':plot {text}' must give one value per point (got shape {y.shape})",
                kind=ErrorKind.ValueError,
            )
        curves = [Curve(label, np.array(y.data, dtype=np.float64))]
        if single:
            (g,) = gradients(y, [x])
            dy = np.zeros_like(xs) if g is None else g.data
            curves.append(Curve(derivative_label, np.array(dy, dtype=np.float64)))
    return curves


def _json_list(values: np.ndarray) -> list:
    from dezero_repl.format import to_json

    return to_json(values)


# ---------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------


def draw(xs: np.ndarray, curves: list[Curve], color: bool) -> str:
    """The plot as text for a terminal: axes, the curves and a legend."""
    import plotext

    columns, rows = shutil.get_terminal_size((80, 24))
    figure = plotext.figure
    figure.clear()
    figure.plot_size(max(40, min(columns - 1, 120)), max(10, min(rows - 4, 30)))
    for curve in curves:
        finite = np.isfinite(curve.values)
        if finite.any():
            signal = figure.signal(xs[finite].tolist(), curve.values[finite].tolist())
            figure.draw(signal.label(curve.label).lines())
    span = f"{format_number(xs[0])}..{format_number(xs[-1])}"
    figure.title(", ".join(c.label for c in curves) + f"  on {span}")
    return figure.build().string(colorless=not color)


def save_image(xs: np.ndarray, curves: list[Curve], path: str) -> None:
    """Save the plot as an image with matplotlib, which is an optional extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CalcError(
            "saving a plot to a file needs matplotlib: pip install 'dezero-repl[plot]'",
            kind=ErrorKind.PlotError,
        ) from None
    fig, axes = plt.subplots(figsize=(8, 5))
    for curve in curves:
        axes.plot(xs, curve.values, label=curve.label)
    axes.axhline(0, color="0.8", linewidth=0.8)
    axes.legend()
    axes.grid(True, alpha=0.3)
    try:
        fig.savefig(os.path.expanduser(path))
    except (OSError, ValueError) as e:
        raise CalcError(
            f"cannot save the plot to '{path}': {e}", kind=ErrorKind.PlotError
        ) from None
    finally:
        plt.close(fig)
