"""The text of ``:help``: an overview, topics, and one entry per function and command."""

from __future__ import annotations

from typing import Any

from dezero_repl.errors import CalcError, ErrorKind, did_you_mean
from dezero_repl.vocabulary import BUILTINS, CONSTANTS, SPECIAL_FORMS

OVERVIEW = """\
dezero-repl: a calculator that differentiates, exactly.

  x = 2                 assign a variable
  (x + 3) ** 2          prints 25, then ∂/∂x = 10
  f(x) = x**4 - 2*x**2  define a function; f'(2), f''(2) are exact derivatives
  diff(x**3, x, 2)      second derivative with respect to x

Topics:    :help syntax | gradients | nograd | functions | calculus | arrays | commands
Functions: :help sin, :help diff, ...   Commands: :help load, ...
Ctrl-D or :quit leaves."""

TOPICS = {
    "syntax": """\
Syntax: numbers 2, 2.5, .5, 1e-3; names like x or rate_2; constants pi and e.
Operators, loosest first: + -, then * / @, then unary -, then ** (also ^, right-assoc).
  -2**2 is -4, 2**-1 is 0.5, 2**3**2 is 512
Arrays [1, 2, 3] and [[1, 2], [3, 4]]; indexing a[0], a[1:3], m[0, 1], m[:, 1], a[-1]; m.T
Statements are separated by newlines or ';'. '#' starts a comment.
An open bracket or a trailing operator continues the statement on the next line.""",
    "gradients": """\
After every statement, backpropagation runs from its value and prints the gradient of
every named variable the value depends on:
  x = 3; y = x ** 2; z = y * 3 + x   prints z = 30, ∂/∂x = 19 (total), ∂/∂y = 3 (adjoint)
For an array value, the gradients are those of the sum of its elements.
Gradients never accumulate: typing x * x twice gives 2x both times.""",
    "nograd": """\
:nograd toggles gradient mode (:nograd on / :nograd off set it). In nograd mode values
are computed under dezero's no_grad(): no graph is recorded and no gradients are printed.
The prompt and the toolbar show the mode. Example:  :nograd on   then  x * 2""",
    "functions": """\
Define functions with f(x) = x**4 - 2*x**2 or g(x, y) = x*y + sin(y).
Parameters shadow variables only inside the body. Functions may call earlier ones;
redefining is allowed; recursion is refused. f'(2), f''(2) ... are exact derivatives.
Example:  f(x) = x**2;  f(3)  prints 9;  f'(3)  prints 6""",
    "calculus": """\
All derivatives are exact, by automatic differentiation (never finite differences);
higher orders come from Taylor mode, up to order 100, and a derivative that float64
rounding cannot give to 9 digits is refused with the reason, never printed:
  f'(2), f''(2), sin'''(0)    derivatives of one-variable functions, any order
  diff(expr, x, n)            n-th derivative of an expression w.r.t. the variable x
  grad(g)(1, 2)               vector of partials;  hessian(g)(1, 2): matrix of second partials
  taylor(f, a, n)             Taylor coefficients f^(k)(a)/k!, k = 0..n
  solve(f, x0)                a root by Newton's method
  minimize(f, x0)             a stationary point (Newton on f'); for several variables,
                              damped Newton with the Hessian: minimize(g, [0, 2])""",
    "arrays": """\
Arrays broadcast like NumPy: [1, 2, 3] * 2, [[1], [2]] + [10, 20].
  a @ b or dot(a, b)          matrix product;  sum(a), sum(a, 0), mean, max, min
  reshape(a, [2, 3]), transpose(a), a.T, zeros(n), ones([2, 3]), linspace(0, 1, 5),
  arange(0, 1, 0.25). Gradients have the shape of each variable.""",
}

EXAMPLES = {
    "sin": "sin(pi / 2) → 1", "cos": "cos(0) → 1", "tan": "tan(pi / 4) → 1 (nearly)",
    "tanh": "tanh(0) → 0", "exp": "exp(1) → 2.718281828459045",
    "log": "log(e) → 1;  log(8, 2) → 3", "sinh": "sinh(0) → 0", "cosh": "cosh(0) → 1",
    "asin": "asin(1) → 1.5707963267948966", "acos": "acos(1) → 0",
    "atan": "atan(1) → 0.7853981633974483", "asinh": "asinh(0) → 0", "acosh": "acosh(1) → 0",
    "atanh": "atanh(0.5) → 0.5493061443340549", "atan2": "atan2(1, -1) → 2.356194490192345",
    "hypot": "hypot(3, 4) → 5", "cbrt": "cbrt(-8) → -2", "exp2": "exp2(10) → 1024",
    "ln": "ln(e) → 1", "log2": "log2(8) → 3", "log10": "log10(1000) → 3",
    "sqrt": "sqrt(2) → 1.4142135623730951", "abs": "abs(-3) → 3",
    "sigmoid": "sigmoid(0) → 0.5", "relu": "relu(-2) → 0",
    "sum": "sum([1, 2, 3]) → 6;  sum([[1, 2], [3, 4]], 0) → [4 6]",
    "mean": "mean([1, 2, 3]) → 2", "max": "max([1, 5, 2]) → 5", "min": "min([1, 5, 2]) → 1",
    "transpose": "transpose([[1, 2]]) → [[1] [2]]", "reshape": "reshape([1, 2, 3, 4], [2, 2])",
    "dot": "dot([1, 2], [3, 4]) → 11", "zeros": "zeros(3) → [0 0 0]",
    "ones": "ones([2, 2])", "linspace": "linspace(0, 1, 5) → [0 0.25 0.5 0.75 1]",
    "arange": "arange(0, 1, 0.25) → [0 0.25 0.5 0.75]",
    "diff": "x = 2;  diff(x**3, x) → 12;  diff(x**3, x, 2) → 12",
    "grad": "g(x, y) = x*y;  grad(g)(1, 2) → [2 1]",
    "hessian": "g(x, y) = x**2*y;  hessian(g)(1, 2) → [[4 2] [2 0]]",
    "taylor": "taylor(sin, 0, 5) → [0 1 0 -0.16666666666666666 0 0.008333333333333333]",
    "solve": "h(x) = x**2 - 2;  solve(h, 1) → 1.414213562373095",
    "minimize": "f(x) = (x - 3)**2;  minimize(f, 0) → 3",
}  # fmt: skip


def lookup(topic: str, session: Any, commands: dict[str, tuple]) -> str:
    """The help text for a topic, a function, a command or a user function."""
    if not topic:
        return OVERVIEW
    if topic in TOPICS:
        return TOPICS[topic]
    if topic == "commands":
        width = max(len(usage) for _, usage, _ in commands.values())
        return "\n".join(
            f"{usage.ljust(width)}  {summary}" for _, usage, summary in commands.values()
        )
    if topic in BUILTINS:
        b = BUILTINS[topic]
        return f"{b.signature}: {b.summary}\n  example: {EXAMPLES.get(topic, b.signature)}"
    if topic in SPECIAL_FORMS:
        signature, summary = SPECIAL_FORMS[topic]
        return f"{signature}: {summary}\n  example: {EXAMPLES[topic]}"
    if topic in commands:
        handler, usage, summary = commands[topic]
        return f"{usage}: {summary}\n  {(handler.__doc__ or '').strip()}"
    if topic in CONSTANTS:
        return f"{topic} = {CONSTANTS[topic]!r}: a constant (no gradient)"
    if topic in session.functions:
        return session.functions[topic].describe()
    known = [*TOPICS, "commands", *BUILTINS, *SPECIAL_FORMS, *commands, *CONSTANTS]
    raise CalcError(f"no help on '{topic}'" + did_you_mean(topic, known), kind=ErrorKind.HelpError)
