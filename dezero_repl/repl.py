"""The interactive prompt, built on prompt_toolkit; imported only when a terminal is there.

Read → evaluate → print, through the same ``Runner`` as scripts. Ctrl-C clears the line
or cancels a running evaluation; Ctrl-D on an empty line leaves. Input continues over
several lines while brackets are open. History persists in a file (see ``config``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from dezero_repl import __version__
from dezero_repl.config import Settings, history_path
from dezero_repl.parser import is_incomplete
from dezero_repl.runner import QuitRequested, Runner

BANNER = (
    f"dezero-repl {__version__}: a calculator that differentiates. :help for help, Ctrl-D to leave."
)


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------


class _PrivateFileHistory(FileHistory):
    """File history created with mode 0600; consecutive duplicates are stored once."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename)
        self._last: str | None = None

    def store_string(self, string: str) -> None:
        if string == self._last:
            return
        self._last = string
        fd = os.open(self.filename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        super().store_string(string)

    def load_history_strings(self):
        for string in super().load_history_strings():
            if self._last is None:
                self._last = string  # the newest entry comes first
            yield string


def open_history(warn: Any) -> History:
    """The history file, or history in memory (with one warning) if it cannot be used."""
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        return _PrivateFileHistory(str(path))
    except OSError as e:
        warn(f"warning: history is not saved: cannot write {path} ({e.strerror or e})")
        return InMemoryHistory()


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------


def _prompt(runner: Runner) -> str:
    return ">>> " if runner.session.grad_enabled else "nograd>>> "


def run(runner: Runner, settings: Settings) -> None:
    """Read, evaluate and print until Ctrl-D or :quit."""
    output = runner.output
    output.notice(BANNER)
    history = open_history(output.notice)
    session = PromptSession(
        history=history,
        multiline=Condition(lambda: is_incomplete(session.default_buffer.text)),
        prompt_continuation=lambda width, line, soft: "... ".rjust(width),
    )
    runner.interactive = True
    runner.keep_going = True
    count = 0
    while True:
        try:
            text = session.prompt(lambda: _prompt(runner))
        except KeyboardInterrupt:
            continue
        except EOFError:
            return
        if not text.strip():
            continue
        count += 1
        try:
            runner.run_source(text, f"<input:{count}>")
        except KeyboardInterrupt:
            output.notice("interrupted")
        except QuitRequested:
            return


def history_file() -> Path:
    return history_path()
