"""Shared ways to drive the calculator: in memory through its Runner, or as a user runs it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dezero_repl.evaluator import Session  # noqa: E402
from dezero_repl.output import HumanOutput, JsonOutput  # noqa: E402
from dezero_repl.runner import Runner  # noqa: E402

# ---- in memory: the evaluation path of every front door, without a process ---------------


class Calculator:
    """One session, run statement by statement as a script with --keep-going would run it.

    ``run`` returns what one source wrote to stdout and stderr; ``json`` returns the JSON
    objects it wrote, and ``last`` the final one.
    """

    def __init__(self, as_json: bool = False) -> None:
        self.session = Session()
        self.stdout, self.stderr = io.StringIO(), io.StringIO()
        if as_json:
            output = JsonOutput(self.stdout, elements=lambda: self.session.elements)
        else:
            output = HumanOutput(
                self.stdout,
                self.stderr,
                precision=lambda: self.session.precision,
                elements=lambda: self.session.elements,
                memory_limit=lambda: self.session.memory_limit,
            )
        self.runner = Runner(self.session, output, keep_going=True)
        self.runner.keep_going_in_loads = False  # as at the prompt: a :load stops at an error

    def run(self, source: str, name: str = "<stdin>") -> tuple[str, str]:
        out_before, err_before = self.stdout.tell(), self.stderr.tell()
        self.runner.run_source(source, name)
        return self.stdout.getvalue()[out_before:], self.stderr.getvalue()[err_before:]

    def json(self, source: str) -> list[dict[str, Any]]:
        out, _ = self.run(source)
        return [json.loads(line) for line in out.splitlines()]

    def last(self, source: str) -> dict[str, Any]:
        return self.json(source)[-1]


@pytest.fixture
def calc() -> Calculator:
    """A calculator with human output."""
    return Calculator()


@pytest.fixture
def jcalc() -> Calculator:
    """A calculator with JSON Lines output."""
    return Calculator(as_json=True)


# ---- as a user runs it: a separate process --------------------------------------------


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a new user: no configuration, no cache, no NO_COLOR, Python's
    output buffered as usual."""
    home = tmp_path_factory.mktemp("home")
    dropped = ("NO_COLOR", "FORCE_COLOR", "PYTHONUNBUFFERED")  # output buffered, as for a user
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        {f"XDG_{kind}_HOME": str(home / kind.lower()) for kind in ("CONFIG", "STATE", "CACHE")}
    )
    return env


@pytest.fixture
def run_cli(cli_env: dict[str, str]):
    """``run_cli(*args, stdin=..., env=..., python_flags=...)`` runs ``python -m dezero_repl``."""

    def run(
        *args: str,
        stdin: str | bytes = "",
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        python_flags: tuple[str, ...] = (),
    ) -> Completed:
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        proc = subprocess.run(
            [sys.executable, *python_flags, "-m", "dezero_repl", *args],
            input=data,
            capture_output=True,
            env={**cli_env, **(env or {})},
            cwd=cwd,
            timeout=60,
        )
        return Completed(proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"))

    return run


# ---- fuzzing: how many examples ran, shown at the end of the run -------------------------

_FUZZ_EXAMPLES = pytest.StashKey[Counter]()


@pytest.fixture(scope="session")
def fuzz_examples(request: pytest.FixtureRequest) -> Counter:
    """A counter of fuzz examples run, by kind; its total is shown in the summary."""
    return request.config.stash.setdefault(_FUZZ_EXAMPLES, Counter())


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    counts = config.stash.get(_FUZZ_EXAMPLES, None)
    if counts:
        kinds = ", ".join(f"{kind} {n}" for kind, n in counts.items())
        terminalreporter.write_line(f"fuzz: {sum(counts.values())} examples ({kinds})")


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 120):
    """Run ``python -c code`` in a process of its own (for what could crash or must be
    measured alone); its stdout and stderr are captured as bytes."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, timeout=timeout
    )
