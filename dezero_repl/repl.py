"""The interactive prompt, built on prompt_toolkit; imported only when a terminal is there.

Read → evaluate → print, through the same ``Runner`` as scripts. Around that loop, in
small sections: history kept in a private file, completion of names and commands, syntax
highlighting from the grammar's own tokens, and a bottom toolbar that shows the mode and a
live preview of the line being typed.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import get_app
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style

from dezero_repl import __version__, nodes
from dezero_repl.commands import COMMANDS
from dezero_repl.config import Settings, history_path
from dezero_repl.errors import CalcError, Timeout
from dezero_repl.evaluator import Session
from dezero_repl.files import replace_atomically
from dezero_repl.format import format_value
from dezero_repl.help import KEYWORDS, TOPICS
from dezero_repl.parser import ParseError, is_incomplete, parse_statement
from dezero_repl.runner import Runner
from dezero_repl.scan import tokens
from dezero_repl.sources import QuitRequested
from dezero_repl.values import is_function
from dezero_repl.vocabulary import BUILTINS, CONSTANTS, RESERVED, SPECIAL_FORMS

BANNER = (
    f"dezero-repl {__version__}: a calculator that differentiates. :help for help, Ctrl-D to leave."
)

# ---------------------------------------------------------------------------
# History: a private file, appended after every line, consecutive duplicates once
# ---------------------------------------------------------------------------


class PrivateFileHistory(FileHistory):
    """File history created with mode 0600, keeping at most ``size`` entries in memory."""

    filename: str  # given as a str (FileHistory also takes bytes and paths)

    def __init__(self, filename: str, size: int = 10000) -> None:
        super().__init__(filename)
        self.size = size
        self._last: str | None = None

    def load_history_strings(self) -> Iterable[str]:
        self._trim()
        for count, string in enumerate(super().load_history_strings()):  # newest first
            if count >= self.size:
                return
            if self._last is None:
                self._last = string
            yield string

    def _trim(self) -> None:
        """Keep the file to its newest ``size`` entries, rewritten atomically (a new file
        renamed over the old: a crash leaves one or the other whole)."""
        try:
            text = Path(self.filename).read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return
        entries = re.split(r"\n(?=# )", text)  # each entry: a "# time" line, then "+" lines
        if entries and not entries[0].strip():
            entries = entries[1:]
        if len(entries) <= self.size:
            return
        kept = entries[len(entries) - self.size :] if self.size else []
        with contextlib.suppress(OSError):
            text = "".join("\n" + e for e in kept)
            replace_atomically(Path(self.filename), text.encode("utf-8", "surrogateescape"))

    def store_string(self, string: str) -> None:
        if string == self._last:
            return
        self._last = string
        super().store_string(string)


def open_history(notice: Any, size: int = 10000) -> History:
    """The history file, or history in memory (after one warning) if it cannot be used."""
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise OSError(f"{path} is not a regular file")
            if mode & 0o077:  # readable by others: history may hold secrets
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        return PrivateFileHistory(str(path), size)
    except OSError as e:  # a symbolic link is refused here (ELOOP), not followed
        reason = "it is a symbolic link" if e.errno == errno.ELOOP else (e.strerror or e)
        notice(f"warning: history is not saved: cannot write {path} ({reason})")
        return InMemoryHistory()


# ---------------------------------------------------------------------------
# Completion: names, functions with their signatures, commands, file paths
# ---------------------------------------------------------------------------


class CalcCompleter(Completer):
    """Completes variables, functions (showing signatures), constants and :commands."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterable[Completion]:
        line = document.current_line_before_cursor
        stripped = line.lstrip()
        if stripped.startswith(":"):
            yield from self._command_completions(stripped, document, event)
            return
        word = document.get_word_before_cursor(WORD=False)
        if not word or not (word[0].isalpha() or word[0] == "_"):
            return
        for name, meta in self._names():
            if name.startswith(word) and name != word:
                yield Completion(name, -len(word), display_meta=meta)

    def _names(self) -> Iterable[tuple[str, str]]:
        session = self.session
        for name, v in session.variables.items():
            yield name, f"= {_short(v.data)}"
        for f in session.functions.values():
            yield f.name, f"{f.name}({', '.join(f.params)})"
        for b in BUILTINS.values():
            yield b.name, b.signature
        for name, (signature, _) in SPECIAL_FORMS.items():
            yield name, signature
        for name in CONSTANTS:
            yield name, "constant"
        for name in sorted(RESERVED):
            yield name, "last result"

    def _command_completions(self, text: str, document: Document, event: CompleteEvent):
        name, space, rest = text[1:].partition(" ")
        if not space:
            for command, (_, usage, summary) in COMMANDS.items():
                if command.startswith(name):
                    yield Completion(command, -len(name), display=usage, display_meta=summary)
            return
        if name in ("load", "save", "save!"):
            sub = Document(rest.lstrip(), len(rest.lstrip()))
            yield from self.paths.get_completions(sub, event)
        elif name == "help":
            for topic in [*BUILTINS, *SPECIAL_FORMS, *COMMANDS, *TOPICS, *KEYWORDS]:
                if topic.startswith(rest.strip()):
                    yield Completion(topic, -len(rest.strip()))


def _short(data: Any) -> str:
    text = format_value(data, 6).replace("\n", " ")
    return text if len(text) <= 30 else text[:27] + "..."


# ---------------------------------------------------------------------------
# Highlighting: the grammar's tokens, with unknown names marked as you type
# ---------------------------------------------------------------------------


class CalcLexer(Lexer):
    """Colours numbers, names, known functions, operators, commands and comments."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lex_document(self, document: Document):
        lines = document.lines
        offsets, total = [], 0
        for line in lines:
            offsets.append(total)
            total += len(line) + 1
        spans = tokens(document.text)
        bound = defined_here(document.text, spans)

        def get_line(number: int) -> FormattedText:
            start, end = offsets[number], offsets[number] + len(lines[number])
            fragments, position = [], start
            for kind, a, b in spans:
                if b <= start or a >= end:
                    continue
                a, b = max(a, start), min(b, end)
                if a > position:
                    fragments.append(("", document.text[position:a]))
                word = document.text[a:b]
                style = bound.get(a) or self._style(kind, word)
                fragments.append((style, word))
                position = b
            if position < end:
                fragments.append(("", document.text[position:end]))
            return FormattedText(fragments)

        return get_line

    def _style(self, kind: str, word: str) -> str:
        if kind != "name":
            return f"class:{kind}"
        name = word.rstrip("'")
        s = self.session
        if name in BUILTINS or name in SPECIAL_FORMS or name in s.functions:
            return "class:function"
        if name in CONSTANTS or name in RESERVED:
            return "class:constant"
        if name in s.variables:
            return "class:name"
        return "class:unknown"


def defined_here(text: str, spans: list[tuple[str, int, int]]) -> dict[int, str]:
    """The styles of names that their own statement defines, by where they start: an
    assignment's target, a function's name and parameters (and the parameters in its body),
    and the variable of `for k in` and of integrate(body, t, ...) in their statement. None of
    them is an unknown name while it is being typed."""
    styles: dict[int, str] = {}
    for statement in _statements(text, spans):
        words = [text[a:b] for _, a, b in statement]
        kinds = [kind for kind, _, _ in statement]
        local: set[str] = set()
        if kinds[:1] == ["name"] and words[1:2] == ["="]:
            styles[statement[0][1]] = "class:name"
        elif kinds[:1] == ["name"] and words[1:2] == ["("] and "=" in words:
            close = words.index(")") if ")" in words else len(words)
            if words[close + 1 : close + 2] == ["="]:
                styles[statement[0][1]] = "class:function"
                local.update(w for w, k in zip(words[2:close], kinds[2:close]) if k == "name")
        for i, word in enumerate(words):
            if word == "for" and kinds[i] == "keyword" and kinds[i + 1 : i + 2] == ["name"]:
                local.add(words[i + 1])
            if word == "integrate" and words[i + 1 : i + 2] == ["("]:
                local.update(_integration_variable(words, kinds, i + 2))
        for (kind, a, _), word in zip(statement, words):
            if kind == "name" and word in local:
                styles[a] = "class:name"
    return styles


def _statements(text: str, spans: list) -> list[list[tuple[str, int, int]]]:
    """Tokens grouped by statement: split at ';' and at line ends outside brackets."""
    groups: list[list] = [[]]
    depth, previous_end, continues = 0, 0, False
    for kind, a, b in spans:
        if kind == "paren":
            depth = depth + 1 if text[a] in "([" else max(depth - 1, 0)
        new_line = depth == 0 and not continues and "\n" in text[previous_end:a]
        if (kind == "punctuation" and text[a] == ";") or new_line:
            groups.append([])
            if kind == "punctuation":
                previous_end, continues = b, False
                continue
        groups[-1].append((kind, a, b))
        previous_end = b
        continues = kind == "keyword" or (kind == "operator" and text[b - 1] in "+-*/@^=<>%.")
    return [g for g in groups if g]


def _integration_variable(words: list[str], kinds: list[str], start: int) -> list[str]:
    """The t of integrate(body, t, a, b): the name after the first comma at its depth."""
    depth = 0
    for i in range(start, len(words)):
        if words[i] in ("(", "["):
            depth += 1
        elif words[i] in (")", "]"):
            if depth == 0:
                return []
            depth -= 1
        elif words[i] == "," and depth == 0:
            if kinds[i + 1 : i + 2] == ["name"] and words[i + 2 : i + 3] == [","]:
                return [words[i + 1]]
            return []
    return []


# ---------------------------------------------------------------------------
# Live preview: the value and gradients of the line being typed, never stored
# ---------------------------------------------------------------------------

#: A preview that takes longer than this is abandoned, and not tried again for the line.
PREVIEW_BUDGET = 0.05
#: The memory budget of a preview, in bytes.
PREVIEW_MEMORY = 32 << 20


class Preview:
    """Evaluates the current input without changing anything, within a time budget."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: tuple[str, str] = ("", "")
        self._slow: str | None = None

    def text(self, source: str) -> str:
        source = source.strip()
        if not source or source.startswith(":") or "\n" in source:
            return ""
        if self._slow is not None and source.startswith(self._slow):
            return "(preview skipped: slow)"
        if source == self._cache[0]:
            return self._cache[1]
        shown = self._compute(source)
        self._cache = (source, shown)
        return shown

    def _compute(self, source: str) -> str:
        try:
            statement = parse_statement(source)
        except ParseError:
            return ""
        if statement is None or isinstance(statement, (nodes.Command, nodes.FuncDef)):
            return ""
        if _costly(statement.expr):
            return "(no preview for higher derivatives and solvers: press Enter)"
        started = time.perf_counter()
        try:
            value, grads = evaluate_quietly(self.session, statement.expr, started + PREVIEW_BUDGET)
        except Timeout:
            self._slow = source
            return "(preview skipped: slow)"
        except (CalcError, ArithmeticError, ValueError, TypeError, IndexError, MemoryError):
            return ""
        if time.perf_counter() - started > PREVIEW_BUDGET:
            self._slow = source
        return _preview_line(value, grads, self.session.precision)


def _costly(expr: nodes.Expr) -> bool:
    """Whether an expression may run long inside one step, where the time budget cannot
    stop it: a derivative beyond the second, or diff, grad, taylor, solve and the like."""
    return any(
        isinstance(node, nodes.Name) and (node.primes > 2 or node.id in SPECIAL_FORMS)
        for node in nodes.walk(expr)
    )


def evaluate_quietly(session: Session, expr: nodes.Expr, deadline: float):
    """Value and gradients of an expression, with no effect on the session, within the
    preview's own time and memory budgets."""
    saved = (session.last, list(session.log))
    session.deadline = deadline
    try:
        with session.budget(PREVIEW_MEMORY):
            value, _, _ = session.evaluate_statement(expr)
            if is_function(value):
                return session.describe_function(value), None
            grads = session.gradient_report(value) if session.grad_enabled else None
            return value.data, grads
    finally:
        session.deadline = None
        session.last, session.log[:] = saved


def _preview_line(value: Any, grads: dict | None, precision: int | None) -> str:
    if isinstance(value, str):
        return value
    shown = format_value(value, precision).replace("\n", "")  # as Enter will print it
    parts = [f"= {shown}"]
    for name, g in (grads or {}).items():
        if g is None:  # it would be computed again to be vouched for: not in a preview
            parts.append(f"∂/∂{name}: on Enter")
        else:
            parts.append(f"∂/∂{name} = {format_value(g, precision)}".replace("\n", ""))
    line = "   ".join(parts)
    return line if len(line) <= 200 else line[:197] + "..."


# ---------------------------------------------------------------------------
# Keys, style, prompt and toolbar
# ---------------------------------------------------------------------------


def key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event) -> None:
        """Alt-Enter inserts a newline."""
        event.current_buffer.insert_text("\n")

    @bindings.add("c-l")
    def _clear(event) -> None:
        """Ctrl-L clears the screen."""
        event.app.renderer.clear()

    return bindings


SCHEMES = {
    "default": {
        "number": "ansicyan",
        "name": "",
        "function": "ansigreen",
        "constant": "ansimagenta",
        "unknown": "ansired underline",
        "operator": "ansiyellow",
        "keyword": "ansiyellow bold",
        "command": "ansiblue bold",
        "argument": "",
        "comment": "ansibrightblack italic",
        "error": "ansired",
        "bottom-toolbar": "noreverse bg:ansibrightblack ansiwhite",
        "mode": "bold",
        "preview": "",
    },
    "light": {
        "number": "ansiblue",
        "function": "ansigreen",
        "constant": "ansimagenta",
        "unknown": "ansired underline",
        "operator": "ansibrown",
        "keyword": "ansibrown bold",
        "command": "ansiblue bold",
        "comment": "ansigray italic",
        "error": "ansired",
        "bottom-toolbar": "noreverse bg:ansiwhite ansiblack",
        "mode": "bold",
    },
    "mono": {"unknown": "underline", "command": "bold", "keyword": "bold", "mode": "bold"},
}


#: prompt_toolkit asks whether the line is multi-line many times per redraw; parse it once.
_is_incomplete = functools.lru_cache(maxsize=16)(is_incomplete)


#: Words that people type to get help or to leave, as numbat and qalc accept them.
BARE_COMMANDS = {"help": ":help", "quit": ":quit", "exit": ":quit"}


def _bare_command(text: str, session: Session) -> str:
    """``help``, ``quit`` or ``exit`` alone on the line, when no variable or function has
    that name, as the command it means."""
    word = text.strip()
    if word in BARE_COMMANDS and word not in session.variables and word not in session.functions:
        return BARE_COMMANDS[word]
    return text


def _prompt(session: Session) -> str:
    return ">>> " if session.grad_enabled else "nograd>>> "


def _toolbar(session: Session, preview: Preview):
    def render() -> FormattedText:
        mode = "grad" if session.grad_enabled else "nograd"
        count = len(session.variables)
        parts = [
            ("class:mode", f" {mode} "),
            ("", f" {count} variable{'s' if count != 1 else ''} "),
        ]
        app = get_app()
        # The line being typed, not the Ctrl-R search text (which has the focus while searching).
        line = app.layout.get_buffer_by_name(DEFAULT_BUFFER) or app.current_buffer
        shown = "" if app.layout.is_searching else preview.text(line.text)
        if shown:
            parts.append(("class:preview", f" {shown}"))
        return FormattedText(parts)

    return render


def _color_depth(runner: Runner) -> ColorDepth | None:
    return None if getattr(runner.output, "color", False) else ColorDepth.MONOCHROME


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------


def run(runner: Runner, settings: Settings) -> None:
    """Read, evaluate and print until Ctrl-D or :quit."""
    output = runner.output
    session = runner.session
    output.notice(BANNER)
    preview = Preview(session)
    prompt: PromptSession = PromptSession(
        history=open_history(output.notice, settings.history_size),
        vi_mode=settings.edit_mode == "vi",
        multiline=Condition(lambda: _is_incomplete(prompt.default_buffer.text)),
        prompt_continuation=lambda width, line, soft: "" if soft else "... ".rjust(width),
        completer=CalcCompleter(session),
        complete_while_typing=False,
        lexer=CalcLexer(session),
        auto_suggest=AutoSuggestFromHistory(),
        enable_history_search=False,
        key_bindings=key_bindings(),
        bottom_toolbar=_toolbar(session, preview),
        style=Style.from_dict(SCHEMES.get(settings.color_scheme, SCHEMES["default"])),
        color_depth=_color_depth(runner),
        include_default_pygments_style=False,
    )
    runner.interactive = True
    runner.keep_going = True
    failed_before = runner.failed  # errors typed at the prompt do not set the exit status
    count = 0
    while True:
        try:
            text = prompt.prompt(lambda: _prompt(session))
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
        if not text.strip():
            continue
        count += 1
        text = _bare_command(text, session)
        try:
            runner.run_source(text, f"<input:{count}>")
        except KeyboardInterrupt:
            output.notice("\ninterrupted")  # on a line of its own, after the terminal's ^C
        except QuitRequested:
            return
        finally:
            runner.failed = failed_before
