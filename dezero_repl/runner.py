"""The one evaluation path that every front door uses: text in, outcomes out.

``Runner.run_source`` splits a source into statements, parses and executes each one, and
hands the outcome or the error to the output. The REPL, script files, piped stdin and
``-e`` expressions differ only in the name they give their source and in what happens
after an error: a script stops (unless ``--keep-going``), the REPL goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dezero_repl.errors import AlreadyReported, CalcError, ErrorKind
from dezero_repl.evaluator import Session
from dezero_repl.files import Written
from dezero_repl.nodes import Command
from dezero_repl.parser import ParseError, parse_statement
from dezero_repl.progress import Progress
from dezero_repl.scan import OpenStatement, plain, split_statements
from dezero_repl.sources import QuitRequested, decode, lines, read_source

#: The longest statement parsed, in characters. Parsing costs about 7 µs a character, so
#: this bounds it to a few seconds; a 100,000-term sum (400 KB) still fits.
MAX_STATEMENT = 1 << 19
#: The longest line a stream may send, in bytes: four per character of the longest statement.
MAX_LINE = 4 * MAX_STATEMENT


class Runner:
    """Runs sources against one session and reports to one output."""

    def __init__(self, session: Session, output: Any, keep_going: bool = False) -> None:
        self.session = session
        self.output = output
        self.keep_going = keep_going
        self.keep_going_in_loads = keep_going  # the REPL goes on after errors; its :load stops
        self.failed = False
        self.loading: list[Path] = []  # files being :load-ed, to catch a file loading itself
        self.written = Written()  # the files this session wrote, which it may replace
        self.interactive = False
        self.first_line = 1  # the line of its script where the source being run begins
        # A slow statement's notice goes to a terminal's stderr, for human output only.
        self.progress = Progress(
            getattr(output, "stderr", None) if getattr(output, "draws", False) else None
        )

    def run_source(self, source: str, name: str, first_line: int = 1) -> bool:
        """Run every statement of ``source`` (which begins at line ``first_line`` of the
        script called ``name``); False if any failed."""
        ok = True
        self.first_line = first_line
        with self.session.watching():  # once for the whole script: see Session.watching
            for chunk in split_statements(source):
                if not self.run_statement(chunk.text, source, name, chunk.offset):
                    ok = False
                    if not self.keep_going:
                        break
        self.first_line = 1
        return ok

    def run_stream(self, stream: Any, name: str = "<stdin>") -> bool:
        """Run a script as its lines arrive, as a filter does: each statement runs once its
        last line is in, and its result is delivered before more input is waited for, so a
        program on the other end of a pipe gets each answer at once. Binary or non-UTF-8
        input stops the run with one error line."""
        with self.session.watching():  # once for the whole stream, as run_source does
            return self._run_stream(stream, name)

    def _run_stream(self, stream: Any, name: str) -> bool:
        ok, first_line, line = True, 1, 0
        pending: list[str] = []  # the lines of a statement not yet complete
        size, statement = 0, OpenStatement()
        try:
            for text in lines(stream, name, self.output.flush, MAX_LINE):
                line += 1
                plain_line = plain(text) if not pending else None
                if plain_line is not None:  # most lines: one whole statement, or nothing
                    if plain_line:
                        ok = self._run_line(plain_line, text, name, line) and ok
                        if not ok and not self.keep_going:
                            return False
                    first_line = line + 1
                    continue
                pending.append(text)
                size += len(text)
                still_open = statement.add(text)
                if still_open and size <= MAX_STATEMENT:
                    continue
                source = "".join(pending)
                if still_open:  # refused as too long, however it would have ended
                    ok = self._run_line(source, source, name, first_line) and ok
                else:
                    ok = self.run_source(source, name, first_line) and ok
                pending, first_line, size, statement = [], line + 1, 0, OpenStatement()
                if not ok and not self.keep_going:
                    return False
        except CalcError as e:
            self.failed = True
            self.output.error("dezero-repl", "", 0, e, name)
            return False
        if pending:  # the script ended inside a statement: it is reported as such
            ok = self.run_source("".join(pending), name, first_line) and ok
        return ok

    def _run_line(self, statement: str, line: str, name: str, number: int) -> bool:
        """Run a statement that is the whole of line ``number`` of a stream."""
        self.first_line = number
        try:
            return self.run_statement(statement, line, name, line.index(statement[0]))
        finally:
            self.first_line = 1

    def run_statement(self, text: str, source: str, name: str, offset: int) -> bool:
        """Parse and execute one statement; report its outcome or its error."""
        try:
            outcome = self.execute(text)
        except ParseError as e:
            error = CalcError(e.message, e.start, e.end, kind=ErrorKind.SyntaxError)
            return self._fail(name, source, offset, error, text)
        except AlreadyReported as e:
            self.failed = True
            self.output.reported(name, text, e)
            return False
        except CalcError as e:  # an error without a span concerns the whole statement
            return self._fail(name, source, offset, e.at(0, len(text.rstrip())), text)
        except RecursionError:
            error = CalcError(
                "expression nested too deeply", 0, len(text), kind=ErrorKind.RecursionError
            )
            return self._fail(name, source, offset, error, text)
        except MemoryError:
            error = CalcError("out of memory", 0, len(text), kind=ErrorKind.MemoryError)
            return self._fail(name, source, offset, error, text)
        except QuitRequested:
            raise
        except Exception as e:  # a fault of the calculator itself: one error, no traceback
            message = f"internal error ({type(e).__name__}: {e})"
            error = CalcError(message, 0, len(text.rstrip()), kind=ErrorKind.InternalError)
            return self._fail(name, source, offset, error, text)
        try:
            self.output.result(text, outcome)
        except MemoryError:  # the statement took effect; only showing its value failed
            error = CalcError(
                "out of memory while printing the result (it was computed and kept; "
                ":elements N prints large arrays summarized)",
                0,
                len(text.rstrip()),
                kind=ErrorKind.MemoryError,
            )
            return self._fail(name, source, offset, error, text)
        return True

    def execute(self, text: str):
        if len(text) > MAX_STATEMENT:
            raise CalcError(
                f"this statement is longer than {MAX_STATEMENT / 2**20:g} MiB ({len(text):,} "
                f"characters): split it into several",
                kind=ErrorKind.ResourceError,
            )
        statement = parse_statement(text)
        if isinstance(statement, Command):
            from dezero_repl import commands  # here: a script without commands never needs them

            with self.session.budget():  # a :load runs each statement in a budget of its own
                return commands.run(self, statement, text)
        with self.progress:
            return self.session.execute(statement, text)

    def _fail(self, name: str, source: str, offset: int, error: CalcError, text: str) -> bool:
        self.failed = True
        if self.first_line > 1:  # a piece of a stream: its lines are counted from the start
            padding = "\n" * (self.first_line - 1)
            source, offset = padding + source, offset + len(padding)
        self.output.error(name, source, offset, error, text)
        return False

    # -- files ----------------------------------------------------------------------

    def run_file(self, path: str) -> bool:
        """Run a script file; a file that cannot be read is one error line."""
        try:
            source = read_source(path)
        except CalcError as e:
            self.failed = True
            self.output.error("dezero-repl", "", 0, e, path)
            return False
        self.loading.append(Path(path).resolve())  # so that a :load of itself is a cycle
        try:
            return self.run_source(source, path)
        finally:
            self.loading.pop()

    def run_stdin(self, data: bytes) -> bool:
        """Run a script read from stdin; binary or non-UTF-8 input is one error line."""
        try:
            source = decode(data, "<stdin>")
        except CalcError as e:
            self.failed = True
            self.output.error("dezero-repl", "", 0, e, "<stdin>")
            return False
        return self.run_source(source, "<stdin>")
