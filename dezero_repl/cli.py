"""The ``dezero-repl`` command: read the arguments, pick the front door, set the exit status.

Files and ``-e`` expressions run in the order given, sharing one session; then the REPL
starts if stdin and stdout are terminals (or ``-i`` asks for it), and otherwise stdin is
read as a script. Exit status: 0 on success, 1 after an error in the input, 2 for a
usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from dezero_repl import __version__


class _ArgumentParser(argparse.ArgumentParser):
    """The command line's parser; its epilog, from the manual, is written only for --help."""

    def format_help(self) -> str:
        from dezero_repl import manual

        self.epilog = manual.epilog()
        return super().format_help()


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(
        prog="dezero-repl",
        allow_abbrev=False,  # `--ev EXPR` would escape _ordered_sources
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A calculator that differentiates: every value comes with the exact\n"
        "gradients of the variables it depends on.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="script files to run ('-' = stdin)")
    p.add_argument(
        "-e", "--eval", action="append", default=[], metavar="EXPR", help="run EXPR (repeatable)"
    )
    p.add_argument("-i", action="store_true", dest="interactive", help="enter the REPL after")
    p.add_argument("--json", action="store_true", help="write JSON Lines, one per statement")
    p.add_argument("--nograd", action="store_true", help="start in no-gradient mode")
    p.add_argument("--keep-going", action="store_true", help="continue after errors")
    p.add_argument(
        "--memory-limit",
        "--array-limit",  # its earlier name
        metavar="SIZE",
        dest="memory_limit",
        help="the most memory one statement may take (default 1GiB; e.g. 512MiB, 4GiB)",
    )
    p.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="colour output"
    )
    p.add_argument("--no-config", action="store_true", help="skip config.toml and init.calc")
    p.add_argument("--vi", action="store_true", help="vi key bindings at the prompt")
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the settings in use and the paths of the files, then exit",
    )
    p.add_argument("-V", "--version", action="version", version=f"dezero-repl {__version__}")
    return p


def _ordered_sources(argv: Sequence[str], files: list[str], evals: list[str]) -> list[tuple]:
    """Files and -e expressions in the order they appear on the command line."""
    used: set[int] = set()

    def position(matches) -> int:
        for i, token in enumerate(argv):
            if i not in used and matches(i, token):
                used.add(i)
                return i
        return len(argv)  # pragma: no cover - argparse saw it, so it is there

    def is_eval(value: str):
        def matches(i: int, token: str) -> bool:
            after_flag = i > 0 and argv[i - 1] in ("-e", "--eval") and token == value
            return after_flag or token in (f"-e{value}", f"--eval={value}")

        return matches

    def is_file(value: str):
        def matches(i: int, token: str) -> bool:
            return token == value and (i == 0 or argv[i - 1] not in ("-e", "--eval", "--color"))

        return matches

    placed = [(position(is_eval(e)), "eval", e) for e in evals]
    placed += [(position(is_file(f)), "file", f) for f in files]
    return [(kind, value) for _, kind, value in sorted(placed)]


def _use_color(choice: str, stream: TextIO) -> bool:
    """Whether to colour what goes to ``stream`` (stdout or stderr, each decided alone)."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("CLICOLOR_FORCE", "0") != "0":  # colour even into a pipe
        return True
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False


def _attach_eval_values(argv: list[str]) -> list[str]:
    """Spell `-e EXPR` as `--eval=EXPR`, so that an EXPR like `-2**2` is not taken for an
    option; short options run together before it (`-ie EXPR`, `-iex=2`) are split off
    first, so that ``_ordered_sources`` finds every EXPR where it was given."""
    out: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        together = _SHORT_THEN_EVAL.fullmatch(token)
        if token == "--":
            out += [token, *tokens]
        elif token in ("-e", "--eval") or together:
            if together:
                out += [f"-{flag}" for flag in together.group(1)]
            value = together.group(2) if together and together.group(2) else next(tokens, None)
            out.append("--eval" if value is None else f"--eval={value}")
        else:
            out.append(token)
    return out


# `-i`, `-V` and then `-e`, written as one: `-ie`, `-iex=2` (the rest of it is the EXPR).
_SHORT_THEN_EVAL = re.compile(r"-([iV]*)e(.*)", re.DOTALL)


def main(argv: Sequence[str] | None = None) -> int:
    for name in ("stdout", "stderr"):  # closed before we started (>&- or 2>&-): write nowhere
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))
    argv = _attach_eval_values(list(sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # ∂ on a terminal that cannot show it: \u2202
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        status = _run(args, argv)
        sys.stdout.flush()  # results are buffered: a failure to write them shows here
        return status
    except BrokenPipeError:
        _silence_broken_streams()
        return 0
    except OSError as e:  # output cannot take more: a full disk, a vanished terminal
        _silence_broken_streams()
        try:
            _warn(f"error: output failed: {e.strerror or e}")
        except OSError:
            pass
        return 1
    except KeyboardInterrupt:  # on a terminal, on a line of its own after the echoed ^C
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        sys.stderr.write("\ninterrupted\n" if sys.stderr.isatty() else "interrupted\n")
        return 130


def _silence_broken_streams() -> None:
    """Point whichever of stdout and stderr lost its reader at /dev/null.

    Python would otherwise complain when it flushes them at exit.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from dezero_repl import config
    from dezero_repl.evaluator import Session
    from dezero_repl.output import HumanOutput, JsonOutput
    from dezero_repl.runner import Runner
    from dezero_repl.sources import QuitRequested

    session = Session()
    settings = config.Settings() if args.no_config else config.load(warn=_warn)
    if args.memory_limit is not None:
        try:
            config.parse_size(args.memory_limit)
        except ValueError as e:
            _parser().error(f"--memory-limit: {e}")
        settings.memory_limit = args.memory_limit
    if args.vi:
        settings.edit_mode = "vi"
    if args.print_config:
        sys.stdout.write(config.describe(settings, __version__) + "\n")
        return 0
    settings.apply(session)
    if args.nograd:
        session.grad_enabled = False
    output: HumanOutput | JsonOutput
    if args.json:
        output = JsonOutput(elements=lambda: session.elements)
    else:
        output = HumanOutput(
            color=_use_color(args.color, sys.stdout),
            error_color=_use_color(args.color, sys.stderr),
            precision=lambda: session.precision,
            elements=lambda: session.elements,
            memory_limit=lambda: session.memory_limit,
        )
    runner = Runner(session, output, keep_going=args.keep_going)
    terminal = _is_terminal()
    try:
        if not args.no_config:
            config.run_init(runner)
        sources = _ordered_sources(argv, args.files, args.eval)
        evals = 0
        for kind, item in sources:
            if kind == "eval":
                evals += 1
                ok = runner.run_source(item, f"<eval:{evals}>")
            elif item == "-":
                ok = _run_stdin(runner)
            else:
                ok = runner.run_file(item)
            if not ok and not args.keep_going:
                if not args.interactive:
                    return 1
                break  # as python -i does: the prompt opens with what the sources did set
        if not sources or args.interactive:
            if terminal:
                from dezero_repl import repl

                runner.failed = False  # as for python -i: the prompt's session decides the status
                repl.run(runner, settings)
            elif not sources or args.interactive:
                _run_stdin(runner)
    except QuitRequested:
        pass
    except _StdinError as e:
        _warn(str(e))
        return 1
    return 1 if runner.failed else 0


class _StdinError(Exception):
    pass


def _run_stdin(runner: Any) -> bool:
    """Run stdin as a stream of statements; nothing at all when stdin is closed."""
    if sys.stdin is None:
        return True
    try:
        stream = sys.stdin.buffer
        stream.fileno()
    except (OSError, ValueError, AttributeError):
        return True
    try:
        return runner.run_stream(stream)
    except (OSError, ValueError):  # stdin failed or was closed under us: it ends there
        return not runner.failed


def _is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, OSError):
        return False


def _warn(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # what went to stdout comes first
        sys.stdout.flush()
    sys.stderr.write(f"dezero-repl: {message}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
