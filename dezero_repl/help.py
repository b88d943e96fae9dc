"""The text of ``:help``: an overview, topics, and one entry per function and command."""

from __future__ import annotations

from typing import Any

from dezero_repl.errors import CalcError, ErrorKind, did_you_mean
from dezero_repl.vocabulary import BUILTINS, CONSTANTS, RESERVED, SPECIAL_FORMS

OVERVIEW = """\
dezero-repl: a calculator that differentiates, exactly.

  x = 2                 assign a variable
  (x + 3) ** 2          prints 25, then ∂/∂x = 10
  f(x) = x**4 - 2*x**2  define a function; f'(2), f''(2) are exact derivatives
  diff(x**3, x, 2)      second derivative with respect to x

Topics:    :help syntax | gradients | nograd | functions | calculus | choices | sums |
           integrals | arrays | commands
Functions: :help sin, :help diff, ...   Commands: :help load, ...
Ctrl-D or :quit leaves."""

TOPICS = {
    "syntax": """\
Syntax: numbers 2, 2.5, .5, 1e-3; names like x or rate_2; constants pi, e and inf.
Operators, loosest first: if-then-else, or, and, not, comparisons < <= > >= == !=,
+ -, then * / @ // %, then unary -, then a number before a name or '(' (2x, 3(a + 1),
2pi), then ** (also ^, right-assoc), then postfix ! (factorial), calls and indexing.
  -2**2 is -4, 2**-1 is 0.5, 2**3**2 is 512, 2x^2 is 2(x^2), 1/2x is 1/(2x), 3!^2 is 36
  -7 % 3 is 2 and -7 // 2 is -4, as in Python
Arrays [1, 2, 3] and [[1, 2], [3, 4]]; indexing a[0], a[1:3], m[0, 1], m[:, 1], a[-1]; m.T
Statements are separated by newlines or ';'. '#' starts a comment.
An open bracket or a trailing operator continues the statement on the next line.""",
    "gradients": """\
After every statement, backpropagation runs from its value and prints the gradient of
every named variable the value depends on:
  x = 3; y = x ** 2; z = y * 3 + x   prints z = 30, ∂/∂x = 19 (total), ∂/∂y = 3 (adjoint)
For an array value, the gradients are those of the sum of its elements.
Gradients never accumulate: typing x * x twice gives 2x both times.
Where contributions to a gradient cancel, or a value underflows, it is computed again by
Taylor mode and checked; one that cannot be given to 9 digits is left out with a warning.""",
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
    "choices": """\
Comparisons give 1 or 0 and chain as in Python: 0 < x <= 1. and, or, not give 1 or 0.
  if C then A else B     A where C holds (is not 0), B elsewhere; element by element on
                         arrays. Derivatives go through the side taken:
  f(t) = if t < 0 then -t else t^2;  f'(-2) → -1;  f'(3) → 6
For a number only the side taken is computed, so if x > 0 then log(x) else 0 is safe;
on an array each side is computed on its own elements. Inside a larger expression,
write the choice in parentheses: 1 + (if x > 0 then x else 0).
floor ceil round sign and // have derivative 0 between their jumps; x % m has
derivative 1 in x and -(x // m) in m; max(a, b) follows the larger (ties share).""",
    "sums": """\
sum(body for k in a..b) and prod(body for k in a..b) run k over the whole numbers
from a to b (an empty range gives 0 or 1). They are differentiable in every variable
the body uses:  r = 0.5;  sum(r^k for k in 0..10) → 1.9990234375, ∂/∂r = 3.98...""",
    "integrals": """\
integrate(f, a, b) and integrate(expr, t, a, b) integrate by adaptive Gauss-Kronrod
quadrature to 1e-12 relative (or to the rounding of ∫|f| where the integral cancels).
Bounds may be -inf or inf. The result is differentiable in the bounds and in every
variable the integrand uses:  a = 2;  integrate(exp(a*t), t, 0, 1) → 3.19..., ∂/∂a = 2.09...
An integral that does not converge (1/t from 0 to 1) is refused in one line.""",
    "arrays": """\
Arrays broadcast like NumPy: [1, 2, 3] * 2, [[1], [2]] + [10, 20].
  a @ b or dot(a, b)          matrix product;  sum(a), sum(a, 0), mean, prod, max, min,
                              maxalong(a, 0), minalong(a, 1)
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
    "sum": "sum([1, 2, 3]) → 6;  sum([[1, 2], [3, 4]], 0) → [4 6];  sum(k^2 for k in 1..10) → 385",
    "mean": "mean([1, 2, 3]) → 2",
    "max": "max(1, 5, 2) → 5;  max([1, 5, 2]) → 5;  max([1, 5], 3) → [3 5]",
    "min": "min(4, -1, 3) → -1;  min([1, 5, 2]) → 1",
    "maxalong": "maxalong([[1, 7], [3, 0]], 0) → [3 7]",
    "minalong": "minalong([[1, 7], [3, 0]], 1) → [1 0]",
    "prod": "prod([1, 2, 3, 4]) → 24;  prod(k for k in 1..5) → 120",
    "floor": "floor(-2.5) → -3", "ceil": "ceil(-2.5) → -2", "round": "round(2.5) → 2",
    "sign": "sign(-3) → -1", "erf": "erf(1) → 0.8427007929497148",
    "erfc": "erfc(3) → 2.2090496998585448e-5", "gamma": "gamma(5) → 24;  gamma(0.5) → 1.77...",
    "lgamma": "lgamma(100) → 359.1342053695754", "digamma": "digamma(1) → -0.5772156649015329",
    "factorial": "factorial(5) → 120;  also written 5!",
    "integrate": "integrate(sin, 0, pi) → 2;  integrate(exp(-t^2), t, -inf, inf) → 1.77...",
    "transpose": "transpose([[1, 2]]) → [[1] [2]]", "reshape": "reshape([1, 2, 3, 4], [2, 2])",
    "dot": "dot([1, 2], [3, 4]) → 11", "zeros": "zeros(3) → [0 0 0]",
    "ones": "ones([2, 2])", "linspace": "linspace(0, 1, 5) → [0 0.25 0.5 0.75 1]",
    "arange": "arange(0, 1, 0.25) → [0 0.25 0.5 0.75]",
    "diff": "x = 2;  diff(x**3, x) → 12;  diff(x**3, x, 2) → 12",
    "grad": "g(x, y) = x*y;  grad(g)(1, 2) → [2 1]",
    "hessian": "g(x, y) = x**2*y;  hessian(g)(1, 2) → [[4 2] [2 0]]",
    "taylor": "taylor(sin, 0, 5) → [0 1 0 -0.16666666666666666 0 0.008333333333333333]",
    "solve": "h(x) = x**2 - 2;  solve(h, 1) → 1.414213562373095;  with a = 2 and "
             "h(x) = x**2 - a, it reports ∂/∂a = 0.35... (the root moves with a)",
    "minimize": "f(x) = (x - 3)**2;  minimize(f, 0) → 3;  with f(x) = (x - a)**2, "
                "diff(minimize(f, 0), a) → 1",
}  # fmt: skip


#: Words of the language that are explained by a topic.
KEYWORDS = {
    "if": "choices", "then": "choices", "else": "choices", "and": "choices", "or": "choices",
    "not": "choices", "for": "sums", "in": "sums", "%": "syntax", "//": "syntax", "!": "syntax",
}  # fmt: skip


def lookup(topic: str, session: Any, commands: dict[str, tuple]) -> str:
    """The help text for a topic, a function, a command or a user function."""
    if not topic:
        return OVERVIEW
    topic = KEYWORDS.get(topic, topic)
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
    if topic in RESERVED:
        return (
            f"{topic}: the last result (ans and _ are the same), with its gradients: after\n"
            f"  x = 3; x ** 2   the statement  {topic} + 1  prints 10 and ∂/∂x = 6"
        )
    if topic in session.functions:
        return session.functions[topic].describe()
    known = [
        *TOPICS, "commands", *BUILTINS, *SPECIAL_FORMS, *commands, *CONSTANTS, *KEYWORDS, *RESERVED
    ]  # fmt: skip
    raise CalcError(f"no help on '{topic}'" + did_you_mean(topic, known), kind=ErrorKind.HelpError)
