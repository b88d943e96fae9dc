"""Run the real ``python -m dezero_repl`` in a pseudo-terminal and read what it shows.

``Repl`` wraps a pexpect child. Everything the program writes is kept in a raw
transcript (for checks on escape sequences) and fed to a pyte 80×24 screen (for checks
on what a person sees). pyte answers the terminal's cursor-position requests, which
prompt_toolkit needs before it draws the bottom toolbar; with ``cpr=False`` the program
is told not to ask (``PROMPT_TOOLKIT_NO_CPR=1``) and the toolbar stays hidden.

Every prompt starts by switching bracketed paste on (``ESC[?2004h``) and ends by
switching it off (``ESC[?2004l``), so the text between the two is exactly what a
statement printed, and a prompt drawn after the last key sent is a new prompt, not a
redraw of the old one.
"""

from __future__ import annotations

import os
import re
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte

ROWS, COLUMNS = 24, 80
TIMEOUT = 20.0  # seconds; the machine may be busy

ESCAPE = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>78]")
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
PASTE_ON, PASTE_OFF = "\x1b[?2004h", "\x1b[?2004l"
# A prompt being drawn: bracketed paste switched on, escapes only, then the prompt text.
PROMPT = re.compile(
    re.escape(PASTE_ON) + r"(?:\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r)*((?:nograd)?>>>)"
)

_DROPPED = ("NO_COLOR", "PROMPT_TOOLKIT_NO_CPR", "DEZERO_REPL_HISTORY", "COLUMNS", "LINES")


def make_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment isolated in ``home``: its own config, state and history."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        TERM="xterm",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def strip_escapes(text: str) -> str:
    return ESCAPE.sub("", text).replace("\r", "")


def colour_sequences(text: str) -> list[str]:
    """The SGR sequences in ``text`` that set a foreground or background colour."""
    found = []
    for match in SGR.finditer(text):
        params = [p for p in re.split("[;:]", match.group(1)) if p]
        for p in params:
            n = int(p)
            if 30 <= n <= 38 or 40 <= n <= 48 or 90 <= n <= 97 or 100 <= n <= 107:
                found.append(match.group(0))
                break
    return found


class Repl:
    """The calculator running in a pseudo-terminal of 24 rows and 80 columns."""

    def __init__(self, env: dict[str, str], args: tuple[str, ...] = (), cpr: bool = False):
        env = dict(env)
        if not cpr:
            env["PROMPT_TOOLKIT_NO_CPR"] = "1"
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.transcript = ""
        self.mark = 0  # where the output of the last line sent starts in the transcript
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "dezero_repl", *args],
            env=env,
            dimensions=(ROWS, COLUMNS),
            encoding="utf-8",
            codec_errors="replace",
            timeout=TIMEOUT,
        )
        # pyte writes its answers to ESC[6n (cursor position) here.
        self.screen.write_process_input = self._answer
        self.closed = False

    def _answer(self, data: str) -> None:
        if not self.closed and self.child.isalive():
            self.child.send(data)

    # -- reading ---------------------------------------------------------------------

    def pump(self, timeout: float = 0.05) -> bool:
        """Read what the program wrote (waiting up to ``timeout``); False at end of file."""
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            self.closed = True
            return False
        self.transcript += data
        self.stream.feed(data)
        return True

    def wait_for(self, check: Callable[[], object], what: str, timeout: float = TIMEOUT):
        """Read until ``check()`` gives something true, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline or not self.pump():
                result = check()
                if result:
                    return result
                raise AssertionError(
                    f"timed out waiting for {what}; the screen shows:\n{self.text()}\n"
                    f"recent output: {self.transcript[-600:]!r}"
                )

    def wait_for_text(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until ``text`` is visible somewhere on the screen."""
        self.wait_for(lambda: text in self.text(), repr(text) + " on the screen", timeout)

    def expect_prompt(self, timeout: float = TIMEOUT) -> str:
        """Wait for a new prompt after the last line sent; return the prompt's text."""

        def found():
            return PROMPT.search(self.transcript, self.mark)

        match = self.wait_for(found, "a prompt", timeout)
        self.last_output = self.transcript[self.mark : match.start()]
        self.mark = match.end()
        return match.group(1)

    def wait_for_signals(self, timeout: float = TIMEOUT) -> None:
        """Wait until the terminal is back in cooked mode, where Ctrl-C sends SIGINT.

        At the prompt the terminal is raw and Ctrl-C is a key; while a statement runs
        it is cooked again.
        """

        def cooked() -> bool:
            return bool(termios.tcgetattr(self.child.child_fd)[3] & termios.ISIG)

        self.wait_for(cooked, "the terminal to leave raw mode", timeout)

    def expect_eof(self, timeout: float = TIMEOUT) -> int | None:
        """Wait for the program to end; return its exit status."""
        self.wait_for(lambda: self.closed, "the program to exit", timeout)
        self.child.close()
        return self.child.exitstatus

    def output(self) -> str:
        """What the last statement printed (stdout and stderr), without escapes."""
        raw = self.last_output
        if PASTE_OFF in raw:
            raw = raw.rsplit(PASTE_OFF, 1)[1]
        return strip_escapes(raw)

    def output_lines(self) -> list[str]:
        return [line.rstrip() for line in self.output().split("\n") if line.strip()]

    # -- the screen ------------------------------------------------------------------

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.lines())

    def cursor_line(self) -> str:
        return self.screen.display[self.screen.cursor.y].rstrip()

    # -- writing ---------------------------------------------------------------------

    def start(self) -> str:
        """Wait for the first prompt; return the prompt's text."""
        return self.expect_prompt()

    def send(self, keys: str) -> None:
        """Type ``keys``, a little at a time, reading the echo in between.

        Writing a long line at once can fill the terminal's input queue while the program
        is blocked writing its echo to us: both sides would wait for ever.
        """
        self.mark = len(self.transcript)
        for start in range(0, len(keys), 256):
            self.child.send(keys[start : start + 256])
            self.pump(0)

    def run(self, line: str) -> list[str]:
        """Type ``line`` and Enter; wait for the next prompt; return the printed lines."""
        self.send(line + "\r")
        self.expect_prompt()
        return self.output_lines()

    def quit(self) -> int | None:
        self.send("\x04")
        return self.expect_eof()

    def close(self) -> None:
        if self.child.isalive():
            self.child.close(force=True)
        self.closed = True


class Spawner:
    """Starts calculators for one test (``spawner(*args)``) and stops them all after it."""

    def __init__(self, env: dict[str, str], cpr: bool = False) -> None:
        self.env = env
        self.cpr = cpr
        self.started: list[Repl] = []

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        cpr: bool | None = None,
        wait: bool = True,
    ) -> Repl:
        """Start ``python -m dezero_repl ARGS``; unless ``wait`` is false, wait for its prompt."""
        repl = Repl(env or self.env, args, cpr=self.cpr if cpr is None else cpr)
        self.started.append(repl)
        if wait:
            repl.start()
        return repl

    def close_all(self) -> None:
        for repl in self.started:
            repl.close()
