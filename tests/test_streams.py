"""Files and streams: whatever is wrong with them, one error line and a clear exit status.

Script files that cannot be used (missing, a directory, unreadable, binary, not UTF-8,
ending mid-statement, loading themselves) give one error line, never a traceback. Standard
streams that are closed, at end of file, or whose reader goes away end the run quietly.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROGRAM = f"{shlex.quote(sys.executable)} -m dezero_repl"


def run(env, *args: str, cwd: Path | None = None, stdin: bytes = b"") -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "dezero_repl", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def shell(env, command: str, cwd: Path) -> tuple[int, str, str]:
    """Run a bash command line in which $DEZERO stands for the calculator."""
    proc = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        env={**env, "DEZERO": PROGRAM},
        cwd=cwd,
        timeout=120,
    )
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


# ---------------------------------------------------------------------------
# Files that cannot be used
# ---------------------------------------------------------------------------


def _unix_socket(directory: Path) -> str:
    path = directory / "socket.calc"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.close()  # the socket file stays; opening it fails with ENXIO
    return path.name


UNUSABLE = {
    "missing": (lambda d: "missing.calc", "cannot read 'missing.calc': no such file"),
    "directory": (
        lambda d: (d / "folder.calc").mkdir() or "folder.calc",
        "cannot read 'folder.calc': it is a directory",
    ),
    "binary": (
        lambda d: (d / "bin.calc").write_bytes(b"x = 1\n\x00\x01\x02") and "bin.calc",
        "cannot read 'bin.calc': it is a binary file",
    ),
    "not-utf8": (
        lambda d: (
            (d / "latin.calc").write_bytes("x = 1 # café\n".encode("latin-1")) and "latin.calc"
        ),
        "cannot read 'latin.calc': not valid UTF-8 (byte 0xe9 at offset 11)",
    ),
    "unpaired-surrogate": (
        lambda d: (
            (d / "cesu.calc").write_bytes("1 # \ud800\n".encode("utf-8", "surrogatepass"))
            and "cesu.calc"
        ),
        "cannot read 'cesu.calc': not valid UTF-8 (byte 0xed at offset 4)",
    ),
    "device-that-fails": (
        lambda d: _unix_socket(d),
        "cannot read 'socket.calc': No such device or address",
    ),
    "name-with-a-newline": (
        lambda d: "two\nlines\x1b[2J.calc",
        "cannot read 'two\\nlines\\x1b[2J.calc': no such file",
    ),
}


@pytest.mark.parametrize(("make", "message"), UNUSABLE.values(), ids=UNUSABLE.keys())
def test_unusable_file_is_one_error_line_and_exit_1(cli_env, tmp_path, make, message):
    name = make(tmp_path)
    assert run(cli_env, name, cwd=tmp_path) == (1, "", f"dezero-repl: error: {message}\n")


@pytest.mark.parametrize(("make", "message"), UNUSABLE.values(), ids=UNUSABLE.keys())
def test_load_of_an_unusable_file_is_one_error_and_exit_1(cli_env, tmp_path, make, message):
    name = make(tmp_path).replace("\n", "")  # a :load argument is one line
    message = message.replace("\\n", "")
    code, out, err = run(cli_env, "-e", "x = 1", "-e", f":load {name}", "-e", "x", cwd=tmp_path)
    assert (code, out) == (1, "x = 1\n")
    first, source, caret = err.splitlines()
    assert first == f"<eval:2>:1:1: error: {message}"
    assert source.startswith("  :load ") and caret.startswith("  ^~~~")


def test_unreadable_file_is_one_error_line_even_for_root(cli_env, tmp_path):
    # Root reads any file whatever its mode, but reading /proc/self/mem at address 0 fails.
    code, out, err = run(cli_env, "/proc/self/mem")
    assert (code, out) == (1, "")
    assert err == "dezero-repl: error: cannot read '/proc/self/mem': Input/output error\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission_is_one_error_line(cli_env, tmp_path):
    secret = tmp_path / "secret.calc"
    secret.write_text("1\n", encoding="utf-8")
    secret.chmod(0)
    assert run(cli_env, "secret.calc", cwd=tmp_path) == (
        1,
        "",
        "dezero-repl: error: cannot read 'secret.calc': permission denied\n",
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x = (1 +", "script.calc:1:9: error: expected an expression after '+', found end of "
         "input"),
        ("y = 2\nx = (1 +\n", "script.calc:2:9: error: expected an expression after '+', found "
         "end of input"),
        ("x = sin(", "script.calc:1:9: error: expected an expression or ')' after '(', found end "
         "of input"),
        ("m = [[1, 2],\n     [3, 4]", "script.calc:2:12: error: unclosed '[' opened at line 1, "
         "column 5"),
        ("x = 1 +", "script.calc:1:8: error: expected an expression after '+', found end of input"),
    ],
    ids=["open-parenthesis", "second-line", "open-call", "open-bracket", "trailing-operator"],
)  # fmt: skip
def test_file_ending_mid_statement_names_file_line_and_column(cli_env, tmp_path, text, error):
    (tmp_path / "script.calc").write_text(text, encoding="utf-8")
    code, out, err = run(cli_env, "script.calc", cwd=tmp_path)
    assert code == 1
    assert out == ("y = 2\n" if text.startswith("y = 2") else "")
    assert err.splitlines()[0] == error
    assert len(err.splitlines()) == 3


def test_load_of_a_file_that_loads_itself_is_a_cycle(cli_env, tmp_path):
    (tmp_path / "self.calc").write_text("x = 1\n:load self.calc\nx = 2\n", encoding="utf-8")
    code, out, err = run(cli_env, "self.calc", cwd=tmp_path)
    assert (code, out) == (1, "x = 1\n")
    assert err.splitlines()[0] == ("self.calc:2:1: error: ':load' cycle: self.calc → self.calc")
    assert len(err.splitlines()) == 3
    assert "Traceback" not in err and "RecursionError" not in err


def test_two_files_loading_each_other_are_a_cycle(cli_env, tmp_path):
    (tmp_path / "a.calc").write_text("a = 1\n:load b.calc\n", encoding="utf-8")
    (tmp_path / "b.calc").write_text("b = 2\n:load a.calc\n", encoding="utf-8")
    code, out, err = run(cli_env, "-e", ":load a.calc", cwd=tmp_path)
    assert (code, out) == (1, "a = 1\nb = 2\n")
    assert err.splitlines()[0] == "b.calc:2:1: error: ':load' cycle: a.calc → b.calc → a.calc"
    assert "Traceback" not in err


def test_the_same_file_may_be_loaded_twice_in_a_row(cli_env, tmp_path):
    (tmp_path / "lib.calc").write_text("n = 3\n", encoding="utf-8")
    code, out, err = run(cli_env, "-e", ":load lib.calc", "-e", ":load lib.calc", cwd=tmp_path)
    assert (code, out, err) == (0, "n = 3\nloaded lib.calc\nn = 3\nloaded lib.calc\n", "")


def test_a_loaded_file_reads_relative_paths_from_the_working_directory(cli_env, tmp_path):
    # As gnuplot's load and a shell's source: not from the directory of the loading file.
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "main.calc").write_text(":load part.calc\n", encoding="utf-8")
    (tmp_path / "lib" / "part.calc").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "part.calc").write_text("x = 2\n", encoding="utf-8")
    code, out, err = run(cli_env, "lib/main.calc", cwd=tmp_path)
    assert (code, out, err) == (0, "x = 2\nloaded part.calc\n", "")


def test_process_substitution_is_read_as_a_script(cli_env, tmp_path):
    assert shell(cli_env, "$DEZERO <(echo 'x = 2'; echo '(x + 3) ** 2')", tmp_path) == (
        0,
        "x = 2\n25\n  ∂/∂x = 10\n",
        "",
    )


# ---------------------------------------------------------------------------
# Standard streams
# ---------------------------------------------------------------------------


@pytest.fixture
def big_script(tmp_path) -> Path:
    path = tmp_path / "big.calc"
    path.write_text("x = 1\n" + "x = x + 1\n" * 50_000, encoding="utf-8")
    return path


@pytest.mark.parametrize("options", ["", "--json", "--nograd"])
def test_output_cut_short_by_head_ends_quietly(cli_env, tmp_path, big_script, options):
    code, out, err = shell(
        cli_env,
        f'$DEZERO {options} big.calc 2>stderr.txt | head -1; echo "status ${{PIPESTATUS[0]}}"',
        tmp_path,
    )
    assert (code, err) == (0, "")
    first, status = out.splitlines()
    assert first in ("x = 1", '{"input": "x = 1", "name": "x", "value": 1.0, "grad": {}}',
                     '{"input": "x = 1", "name": "x", "value": 1.0}')  # fmt: skip
    assert status == "status 0"
    assert (tmp_path / "stderr.txt").read_text(encoding="utf-8") == ""


def test_errors_cut_short_by_head_end_quietly(cli_env, tmp_path):
    (tmp_path / "bad.calc").write_text("nope\n" * 20_000, encoding="utf-8")
    code, out, err = shell(
        cli_env,
        '$DEZERO --keep-going bad.calc 2>&1 >/dev/null | head -1; echo "status ${PIPESTATUS[0]}"',
        tmp_path,
    )
    assert err == ""
    first, status = out.splitlines()
    assert first == "bad.calc:1:1: error: unknown name 'nope'"
    assert status in ("status 0", "status 1")


@pytest.mark.parametrize("redirect", ["<&-", "</dev/null"], ids=["closed", "dev-null"])
def test_stdin_closed_or_empty_is_an_empty_run(cli_env, tmp_path, redirect):
    assert shell(cli_env, f"$DEZERO {redirect}", tmp_path) == (0, "", "")


def test_stdout_closed_at_start_still_runs_and_reports_errors(cli_env, tmp_path):
    code, out, err = shell(cli_env, "$DEZERO -e 'x = 2' -e 'x + y' >&-", tmp_path)
    assert code == 1
    assert err.splitlines()[0] == "<eval:2>:1:5: error: unknown name 'y'"
    assert "Traceback" not in err


def test_stderr_closed_at_start_keeps_the_exit_status(cli_env, tmp_path):
    assert shell(cli_env, "$DEZERO -e 'x = 2' -e 'x + y' 2>&-", tmp_path) == (1, "x = 2\n", "")


def test_results_errors_and_warnings_keep_their_order_in_one_file(cli_env, tmp_path):
    """Results are not flushed one by one, yet stdout is flushed before stderr is written."""
    script = "1\nnosuch\n1/0\n2\n" * 200  # more than one buffer of stdout
    (tmp_path / "mixed.calc").write_text(script, encoding="utf-8")
    code, out, _ = shell(cli_env, "$DEZERO --keep-going mixed.calc 2>&1", tmp_path)
    turn = [
        "1",
        "mixed.calc:{}:1: error: unknown name 'nosuch'",
        "  nosuch",
        "  ^~~~~~",
        "warning: division by zero in '/' (result contains inf)",
        "inf",
        "2",
    ]
    expected = [line.format(4 * i + 2) for i in range(200) for line in turn]
    assert (code, out.splitlines()) == (1, expected)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_output_device_is_one_error_line(cli_env, tmp_path):
    code, out, err = shell(cli_env, "$DEZERO -e '1 + 1' >/dev/full", tmp_path)
    assert (code, out) == (1, "")
    assert err == "dezero-repl: error: output failed: No space left on device\n"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("$DEZERO /dev/zero", "dezero-repl: error: cannot read '/dev/zero': it is a binary file"),
        ("$DEZERO </dev/zero", "dezero-repl: error: cannot read '<stdin>': it is a binary file"),
        (
            "$DEZERO -e ':load /dev/zero'",
            "<eval:1>:1:1: error: cannot read '/dev/zero': it is a binary file",
        ),
    ],
    ids=["file", "stdin", "load"],
)
def test_endless_device_is_refused_at_once_as_binary(cli_env, tmp_path, command, error):
    code, out, err = shell(cli_env, command, tmp_path)
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == error


def test_arguments_that_are_not_utf8_are_one_error_line(cli_env, tmp_path):
    proc = subprocess.run(
        [
            sys.executable.encode(),
            b"-m",
            b"dezero_repl",
            b"--keep-going",
            b"-e",
            b"1 + \xff",
            b"x\xff.calc",
        ],  # fmt: skip
        capture_output=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (1, b"")
    lines = proc.stderr.decode("utf-8").splitlines()
    assert lines[0] == "<eval:1>:1:5: error: unexpected character '\\udcff'"
    assert lines[3:] == ["dezero-repl: error: cannot read 'x\\udcff.calc': no such file"]


def test_json_output_of_arguments_that_are_not_utf8_is_still_json(cli_env, tmp_path):
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"dezero_repl", b"--json", b"-e", b"1 + \xff"],
        capture_output=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=120,
    )
    assert (proc.returncode, proc.stderr) == (1, b"")
    (line,) = proc.stdout.decode("utf-8").splitlines()
    assert json.loads(line)["error"]["message"] == "unexpected character '\\udcff'"


def test_non_interactive_runs_never_write_history(tmp_path):
    import os
    import subprocess
    import sys

    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k != "DEZERO_REPL_HISTORY"}
    env["XDG_STATE_HOME"] = str(state)
    result = subprocess.run(
        [sys.executable, "-m", "dezero_repl", "-e", "x = 2"],
        input="x * 3\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    piped = subprocess.run(
        [sys.executable, "-m", "dezero_repl"], input=b"x = 1\n", capture_output=True, env=env
    )
    assert (result.returncode, result.stdout, piped.returncode) == (0, "x = 2\n", 0)
    assert not state.exists() or not any(state.rglob("*"))


# ---------------------------------------------------------------------------
# stdin as a stream: each answer before the next question
# ---------------------------------------------------------------------------


class Coprocess:
    """The calculator on the other end of two pipes, as `coproc` or a program would run it."""

    def __init__(self, env, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dezero_repl", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.pending = b""

    def send(self, text: str) -> None:
        self.proc.stdin.write(text.encode("utf-8"))
        self.proc.stdin.flush()

    def answer(self, seconds: float = 10.0) -> str:
        """The next line of output, which must come within ``seconds``."""
        import selectors

        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.pending:
                assert selector.select(seconds), f"no answer within {seconds} s"
                chunk = os.read(fd, 4096)
                assert chunk, "the calculator closed its output"
                self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode("utf-8")

    def close(self) -> tuple[int, str, str]:
        """End the input; the exit status and whatever was still to come."""
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        out, err = self.pending + self.proc.stdout.read(), self.proc.stderr.read()
        return self.proc.wait(timeout=60), out.decode("utf-8"), err.decode("utf-8")


def test_each_answer_arrives_before_the_next_line_is_written(cli_env):
    calc = Coprocess(cli_env)
    calc.send("1 + 1\n")
    assert calc.answer() == "2"  # the calculator is now waiting for more input
    calc.send("x = 3\n")
    assert calc.answer() == "x = 3"
    calc.send("x ** 2\n")
    assert [calc.answer(), calc.answer()] == ["9", "  ∂/∂x = 6"]
    assert calc.close() == (0, "", "")


def test_json_coprocess_gets_one_object_per_statement_at_once(cli_env):
    calc = Coprocess(cli_env, "--json")
    calc.send("y = 2\n")
    assert json.loads(calc.answer())["value"] == 2.0
    calc.send("(y +\n")  # a statement on two lines: nothing until it is complete
    calc.send("1) * 2\n")
    assert json.loads(calc.answer())["value"] == 6.0
    assert calc.close()[0] == 0


def test_a_slow_pipe_delivers_the_first_result_before_the_pause_ends(cli_env, tmp_path):
    import time

    start = time.monotonic()
    proc = subprocess.Popen(
        ["bash", "-c", f"(echo 1+1; sleep 3; echo 2+2) | {PROGRAM}"],
        stdout=subprocess.PIPE,
        env=cli_env,
    )
    first = proc.stdout.readline()
    first_at = time.monotonic() - start
    rest = proc.stdout.read()
    proc.wait(timeout=60)
    assert (first, rest) == (b"2\n", b"4\n")
    assert first_at < 2.5, f"the first result took {first_at:.1f} s"


def test_errors_in_a_stream_name_the_line_of_the_whole_input(cli_env):
    code, out, err = run(cli_env, stdin=b"x = 1\n\n# note\n(x +\n  * 2)\nx\n")
    assert code == 1
    assert out == "x = 1\n"
    assert err.startswith("<stdin>:5:3: error: ")


def test_a_stream_that_turns_binary_stops_there_after_what_it_ran(cli_env):
    code, out, err = run(cli_env, stdin=b"1 + 1\n" + b"\x00" * 10)
    assert (code, out) == (1, "2\n")
    assert err == "dezero-repl: error: cannot read '<stdin>': it is a binary file\n"


def test_a_stream_that_is_not_utf8_names_the_offset_of_the_bad_byte(cli_env):
    code, out, err = run(cli_env, stdin=b"1 + 1\n2 \xff 3\n")
    assert (code, out) == (1, "2\n")
    assert "not valid UTF-8 (byte 0xff at offset 8)" in err


def test_keep_going_runs_the_rest_of_a_stream(cli_env):
    code, out, err = run(cli_env, "--keep-going", stdin=b"1 +\n\n* 2\n3\n")
    assert code == 1 and out == "3\n"
    assert err.startswith("<stdin>:3:1: ")


def test_a_killed_script_has_delivered_all_but_its_last_moments(cli_env, tmp_path):
    """Results reach a pipe in blocks, not one write per statement, yet with the first
    result a tenth of a second after the last flush: a script of quick statements killed
    outright has delivered what it printed before (its last line perhaps cut where a full
    buffer was written)."""
    script = tmp_path / "long.calc"
    script.write_text("1 + 1\n" + "x = 2\n" * 400_000, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dezero_repl", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
    )
    try:
        first = proc.stdout.readline()  # arrives long before the script ends
        time.sleep(0.5)
        running = proc.poll() is None
        proc.kill()
        rest = proc.stdout.read()
    finally:
        proc.wait()
    assert first == b"2\n"
    assert running, "the script ended before it could be killed: make it longer"
    *whole, last = rest.split(b"\n")  # the last line may be cut, as by any killed program
    assert len(whole) > 100 and set(whole) == {b"x = 2"} and b"x = 2".startswith(last)
    assert proc.returncode == -9


# ---------------------------------------------------------------------------
# Streams that never end a line or a statement
# ---------------------------------------------------------------------------


def test_a_line_without_end_is_refused_once_it_passes_2_mib(cli_env):
    # The writer keeps the pipe open: the refusal must come from the length, not the end.
    proc = subprocess.Popen(
        [sys.executable, "-m", "dezero_repl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
    )
    assert proc.stdin is not None and proc.stderr is not None
    try:  # the calculator stops reading, and the pipe breaks, past 2 MiB
        proc.stdin.write(b"x = 2\n" + b"1" * (3 << 20))
        proc.stdin.flush()
    except BrokenPipeError:
        pass
    try:
        status = proc.wait(timeout=30)
    finally:
        proc.kill()
    message = "cannot read '<stdin>': line 2 goes on for over 2 MiB without a newline"
    assert status == 1
    assert proc.stderr.read().decode() == f"dezero-repl: error: {message}\n"


@pytest.mark.parametrize("line", [b"(\n", b"1+\n"])
def test_a_statement_of_many_short_lines_is_refused_in_linear_time(cli_env, line):
    # 300,000 lines each opening a bracket, or ending with an operator: each line is read
    # once, not the whole statement again at every line; past 0.5 MiB the statement is
    # refused as too long (the operators' was parsed as it stood, "expected an expression
    # after '+', found end of input" at line 174,763).
    started = time.monotonic()
    status, out, err = run(cli_env, stdin=line * 300_000 + b"1\n")
    assert time.monotonic() - started < 20
    assert status == 1 and out == ""
    assert err.startswith("<stdin>:1:1: error: this statement is longer than 0.5 MiB (52")
    assert len(err.splitlines()) == 3  # the message, the start of the line and its caret
