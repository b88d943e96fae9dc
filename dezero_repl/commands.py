"""The ``:commands``: one function each, listed in the table at the bottom.

A command receives the runner (for its session and output) and its raw argument text, and
returns a ``CommandDone`` outcome whose ``extra`` fields also appear in JSON output.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dezero.utils import GraphvizNotFound, dot_image, get_dot_graph
from dezero_repl import help as help_text
from dezero_repl.errors import AlreadyReported, CalcError, ErrorKind, did_you_mean, one_line
from dezero_repl.evaluator import Session
from dezero_repl.files import file_name, write_file
from dezero_repl.format import describe_shape, format_value
from dezero_repl.nodes import Command, ExprStmt
from dezero_repl.outcomes import CommandDone, Outcome
from dezero_repl.parser import ParseError, parse_statement

if TYPE_CHECKING:
    from dezero_repl.runner import Runner


def run(runner: Runner, command: Command, text: str) -> Outcome:
    """Run one command statement."""
    entry = COMMANDS.get(command.name)
    if entry is None:
        hint = did_you_mean(command.name, COMMANDS, prefix=":")
        raise CalcError(
            f"unknown command ':{command.name}'{hint}; type :help for the list",
            0,
            len(text.split()[0]) if text.split() else 1,
            kind=ErrorKind.CommandError,
        )
    handler = entry[0]
    if command.arg and command.name in NO_ARGUMENT:
        start = text.rfind(command.arg)
        raise CalcError(
            f"':{command.name}' takes no argument (got '{command.arg}')",
            start,
            start + len(command.arg),
            kind=ErrorKind.CommandError,
        )
    outcome = handler(runner, command.arg)
    outcome.extra = {"command": command.name, **outcome.extra}
    replay = _REPLAYED.get(command.name)
    if replay is not None:
        runner.session.log.append(replay(runner.session, command.arg))
    return outcome


#: Commands that change what later statements compute or print, and how :save writes them,
#: so that replaying a saved script gives exactly the session's outputs.
_REPLAYED: dict[str, Callable[[Session, str], str]] = {
    "del": lambda session, arg: f":del {' '.join(dict.fromkeys(_words(arg)))}",
    "nograd": lambda session, arg: f":nograd {'off' if session.grad_enabled else 'on'}",
    "precision": lambda session, arg: f":precision {session.precision or 'off'}",
    "elements": lambda session, arg: f":elements {session.elements or 'all'}",
}


def _done(message: str, **extra) -> Outcome:
    return CommandDone(message, extra=extra)


def _words(arg: str) -> list[str]:
    return arg.split()


# ---------------------------------------------------------------------------
# Modes and settings
# ---------------------------------------------------------------------------


def nograd(runner: Runner, arg: str) -> Outcome:
    """:nograd toggles gradient mode; :nograd on / :nograd off set it."""
    session = runner.session
    word = arg.strip().lower()
    if word in ("", "toggle"):
        session.grad_enabled = not session.grad_enabled
    elif word in ("on", "true", "1", "yes"):
        session.grad_enabled = False
    elif word in ("off", "false", "0", "no"):
        session.grad_enabled = True
    else:
        raise CalcError(f"':nograd {arg}': expected 'on' or 'off'", kind=ErrorKind.CommandError)
    state = "off (nograd mode)" if not session.grad_enabled else "on"
    return _done(f"gradients {state}", nograd=not session.grad_enabled)


def precision(runner: Runner, arg: str) -> Outcome:
    """:precision N shows N significant digits; :precision off goes back to shortest form."""
    word = arg.strip().lower()
    if word in ("", "off", "auto", "full"):
        runner.session.precision = None
        return _done("precision: shortest exact form", precision=None)
    if not (word.isascii() and word.isdigit()) or not 1 <= int(word) <= 17:
        raise CalcError(
            "':precision' takes a number of digits from 1 to 17, or 'off'",
            kind=ErrorKind.CommandError,
        )
    runner.session.precision = int(word)
    return _done(f"precision: {word} significant digits", precision=int(word))


def elements(runner: Runner, arg: str) -> Outcome:
    """:elements N prints arrays of more than N elements summarized (first and last three
    along each axis, as NumPy does; 1000 at start); :elements all prints every element."""
    word = arg.strip().lower()
    if word in ("all", "off", "none"):
        runner.session.elements = None
        return _done("arrays print every element", elements=None)
    if not (word.isascii() and word.isdigit()) or int(word) < 1:
        raise CalcError(
            "':elements' takes a number of elements, or 'all'", kind=ErrorKind.CommandError
        )
    runner.session.elements = int(word)
    return _done(f"arrays of more than {word} elements print summarized", elements=int(word))


# ---------------------------------------------------------------------------
# Looking at the session
# ---------------------------------------------------------------------------


def variables(runner: Runner, arg: str) -> Outcome:
    """:vars lists the variables with their shapes, values and whether they have a graph."""
    session = runner.session
    if not session.variables:
        return _done("no variables", variables=[])
    rows, listing = [], []
    width = max(len(n) for n in session.variables)
    for name, v in session.variables.items():
        assert v.data is not None  # only the graph's own arrays are released (dezero.fast)
        lines = format_value(v.data, session.precision or 6).splitlines()
        shown = " ".join(line.strip() for line in lines)
        if len(shown) > 50:
            shown = shown[:47] + "..."
        graph = "graph" if v.creator is not None else "leaf"
        rows.append(f"{name.ljust(width)}  {describe_shape(v.data):>8}  {graph:5}  {shown}")
        listing.append({"name": name, "shape": list(v.shape), "graph": v.creator is not None})
    return _done("\n".join(rows), variables=listing)


def functions(runner: Runner, arg: str) -> Outcome:
    """:funcs lists the user functions."""
    fs = runner.session.functions
    if not fs:
        return _done("no functions", functions=[])
    return _done(
        "\n".join(f.describe() for f in fs.values()),
        functions=[{"name": f.name, "params": list(f.params)} for f in fs.values()],
    )


def delete(runner: Runner, arg: str) -> Outcome:
    """:del NAME... removes variables or functions (all of them, or none on error)."""
    session = runner.session
    names = list(dict.fromkeys(_words(arg)))  # a name given twice is removed once
    if not names:
        raise CalcError(
            "':del' needs the names to remove, e.g. :del x y", kind=ErrorKind.CommandError
        )
    for name in names:
        if name not in session.variables and name not in session.functions:
            known = [*session.variables, *session.functions]
            raise CalcError(
                f"':del': no variable or function '{name}'" + did_you_mean(name, known),
                kind=ErrorKind.NameError,
            )
    for name in names:
        session.variables.pop(name, None)
        session.functions.pop(name, None)
    return _done("removed " + ", ".join(names), removed=names)


def reset(runner: Runner, arg: str) -> Outcome:
    """:reset forgets every variable and function."""
    session = runner.session
    session.variables.clear()
    session.functions.clear()
    session.last = None
    session.ledger.clear()
    # The modes stay, so the commands that set them stay in what :save writes.
    modes = {line.split()[0]: line for line in session.log if line.split()[0] in _MODES}
    session.log[:] = modes.values()
    return _done("session reset")


_MODES = frozenset(f":{name}" for name in _REPLAYED if name != "del")  # the mode commands


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def load(runner: Runner, arg: str) -> Outcome:
    """:load FILE runs a script in this session."""
    from dezero_repl.sources import read_source

    path = file_name(arg)
    if not path:
        raise CalcError("':load' needs a file name", kind=ErrorKind.CommandError)
    resolved = Path(os.path.expanduser(path)).resolve()
    if resolved in runner.loading:
        chain = " → ".join(str(p.name) for p in [*runner.loading, resolved])
        raise CalcError(f"':load' cycle: {chain}", kind=ErrorKind.LoadError)
    source = read_source(os.path.expanduser(path))
    runner.loading.append(resolved)
    saved, runner.keep_going = runner.keep_going, runner.keep_going_in_loads
    try:
        ok = runner.run_source(source, path)
    finally:
        runner.keep_going = saved
        runner.loading.pop()
    if not ok:
        what = "had errors" if runner.keep_going_in_loads else "stopped at an error"
        raise AlreadyReported(f"':load {path}' {what}", kind=ErrorKind.LoadError)
    return _done(f"loaded {one_line(path)}", loaded=path)


def save(runner: Runner, arg: str, replace: bool = False) -> Outcome:
    """:save FILE writes the session's successful statements, and the commands that change
    what later ones give (:del, :nograd, :precision), as a script to replay. It replaces a
    file only if this session wrote it and it is unchanged since; :save! FILE replaces any
    file (see ``files``)."""
    path = file_name(arg)
    command = ":save!" if replace else ":save"
    if not path:
        raise CalcError(f"'{command}' needs a file name", kind=ErrorKind.CommandError)
    lines = runner.session.log
    text = "".join(line + "\n" for line in lines)
    write_file(runner.written, path, text.encode(), replace, f"':save! {path}'")
    shown = one_line(path)
    return _done(f"saved {len(lines)} statement(s) to {shown}", saved=path, statements=len(lines))


def save_replacing(runner: Runner, arg: str) -> Outcome:
    """:save! FILE is :save, replacing FILE whoever wrote it."""
    return save(runner, arg, replace=True)


def quit_(runner: Runner, arg: str) -> Outcome:
    """:quit leaves the calculator."""
    from dezero_repl.sources import QuitRequested

    raise QuitRequested()


# ---------------------------------------------------------------------------
# Help and the computational graph
# ---------------------------------------------------------------------------


def show_help(runner: Runner, arg: str) -> Outcome:
    """:help gives an overview; :help TOPIC covers a function, a command or a topic."""
    topic = arg.strip().lstrip(":")
    text = help_text.lookup(topic, runner.session, COMMANDS)
    return _done(text, topic=topic or None)


def graph(runner: Runner, arg: str, replace: bool = False) -> Outcome:
    """:graph EXPR prints the graph as DOT; :graph EXPR > file.dot|png|svg|pdf writes it,
    as :save writes (``files``): :graph! replaces a file this session did not write."""
    from dezero_repl.plot import ArgumentError, split_target

    expr_text, target = split_target(arg)
    if not expr_text:
        raise CalcError(
            "':graph' needs an expression, e.g. :graph sin(x) * x", kind=ErrorKind.CommandError
        )
    try:
        value = _with_graph(runner.session, expr_text)
    except CalcError as e:  # its span is counted from where the expression begins
        raise ArgumentError(e, arg, len(arg) - len(arg.lstrip())) from None

    def label(v) -> str:  # the name, the shape and the value, shortened
        if v.data is None:  # released by backward: only the name is left
            return v.name or ""
        text = format_value(v.data, runner.session.precision, elements=6)
        shown = " ".join(text.split()).replace("[ ", "[")
        shown = shown if len(shown) <= 30 else shown[:27] + "..."
        return ("" if v.name is None else v.name + "\n") + f"{v.shape} {shown}"

    dot = get_dot_graph(value, label=label, numbered=True)
    if not target:
        return _done(dot, dot=dot)
    extension = os.path.splitext(target)[1].lower()
    if extension in (".dot", ".gv"):
        data = (dot + "\n").encode()
    elif extension in (".png", ".svg", ".pdf"):
        try:
            data = dot_image(dot, extension[1:])
        except GraphvizNotFound as e:
            raise CalcError(str(e), kind=ErrorKind.GraphvizError) from None
        except Exception as e:  # the dot program failed
            raise CalcError(
                f"Graphviz could not draw '{target}': {e}", kind=ErrorKind.GraphvizError
            ) from None
    else:
        raise CalcError(
            "':graph' writes .dot, .png, .svg or .pdf files", kind=ErrorKind.CommandError
        )
    write_file(runner.written, target, data, replace, "':graph!'")
    return _done(f"wrote the graph to {one_line(target)}", file=target)


def graph_replacing(runner: Runner, arg: str) -> Outcome:
    """:graph! EXPR > FILE is :graph, replacing FILE whoever wrote it."""
    return graph(runner, arg, replace=True)


def _with_graph(session: Session, text: str):
    """Evaluate an expression with graph recording on, whatever the mode."""
    try:
        statement = parse_statement(text)
    except ParseError as e:
        raise CalcError(
            f"in ':graph': {e.message}", e.start, e.end, kind=ErrorKind.SyntaxError
        ) from None
    if not isinstance(statement, ExprStmt):
        raise CalcError("':graph' takes an expression", kind=ErrorKind.CommandError)
    saved = session.grad_enabled
    session.grad_enabled = True
    try:
        value, _, _ = session.evaluate_statement(statement.expr, record=True)
    finally:
        session.grad_enabled = saved
    if not hasattr(value, "creator"):
        raise CalcError(
            "':graph' needs an expression with a value, not a function", kind=ErrorKind.TypeError
        )
    if value.name is None:
        value.name = "result"
    return value


def _plot(runner: Runner, arg: str, replace: bool = False) -> Outcome:
    """:plot EXPR [for x in A..B] draws EXPR and its derivative; :plot f, f', f'' draws
    several curves; :plot ... > file.png saves an image (needs matplotlib), as :save writes
    (``files``): :plot! replaces a file this session did not write."""
    from dezero_repl import plot

    return plot.command(runner, arg, replace)


def _plot_replacing(runner: Runner, arg: str) -> Outcome:
    """:plot! EXPR > FILE is :plot, replacing FILE whoever wrote it."""
    return _plot(runner, arg, replace=True)


Handler = Callable[["Runner", str], Outcome]

#: Commands whose whole meaning is their name: an argument is a mistake, not ignored.
NO_ARGUMENT = frozenset({"vars", "funcs", "reset", "quit"})

#: name → (handler, usage, summary)
COMMANDS: dict[str, tuple[Handler, str, str]] = {
    "help": (show_help, ":help [TOPIC]", "overview, or help on a function, command or topic"),
    "vars": (variables, ":vars", "list variables: shape, value, graph"),
    "funcs": (functions, ":funcs", "list user functions"),
    "del": (delete, ":del NAME...", "remove variables or functions"),
    "reset": (reset, ":reset", "forget all variables and functions"),
    "nograd": (nograd, ":nograd [on|off]", "toggle gradients (evaluate under no_grad)"),
    "precision": (precision, ":precision N|off", "significant digits shown"),
    "elements": (elements, ":elements N|all", "summarize arrays of more than N elements"),
    "load": (load, ":load FILE", "run a script in this session"),
    "save": (save, ":save FILE", "write this session's statements as a script"),
    "save!": (save_replacing, ":save! FILE", "the same, replacing an existing file"),
    "graph": (graph, ":graph EXPR [> FILE]", "the computational graph as Graphviz DOT"),
    "graph!": (graph_replacing, ":graph! EXPR > FILE", "the same, replacing an existing file"),
    "plot": (_plot, ":plot EXPR [for x in A..B] [> FILE]", "draw EXPR and its derivative"),
    "plot!": (_plot_replacing, ":plot! EXPR > FILE", "the same, replacing an existing file"),
    "quit": (quit_, ":quit", "leave (Ctrl-D also works)"),
}
