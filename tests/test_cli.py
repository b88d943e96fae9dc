"""The dezero-repl command as a user runs it: each test starts `python -m dezero_repl`."""

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dezero_repl import __version__


@pytest.fixture
def scripts(tmp_path):
    """A directory of small scripts: a.calc sets x, b.calc uses it."""
    (tmp_path / "a.calc").write_text("x = 2\n", encoding="utf-8")
    (tmp_path / "b.calc").write_text("(x+3)**2\n", encoding="utf-8")
    return tmp_path


# ---- sources: stdin, files, -e -------------------------------------------------------------


def test_piped_stdin_runs_as_a_script_without_prompt_or_banner(run_cli):
    result = run_cli(stdin="x = 2\n(x + 3) ** 2\n")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "x = 2\n25\n  ∂/∂x = 10\n",
        "",
    )


def test_files_run_in_order_with_dash_for_stdin(run_cli, scripts):
    result = run_cli("a.calc", "-", "b.calc", stdin="x = x * 10\n", cwd=scripts)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "x = 2\nx = 20\n  ∂/∂x = 10\n529\n  ∂/∂x = 46\n",
        "",
    )


def test_eval_is_repeatable_and_shares_variables(run_cli):
    result = run_cli("-e", "x = 2", "-e", "(x+3)**2")
    assert (result.returncode, result.stdout, result.stderr) == (0, "x = 2\n25\n  ∂/∂x = 10\n", "")


def test_eval_and_files_run_in_command_line_order(run_cli, scripts):
    before = run_cli("-e", "x = 5", "b.calc", cwd=scripts)
    assert (before.returncode, before.stdout) == (0, "x = 5\n64\n  ∂/∂x = 16\n")
    after = run_cli("b.calc", "--eval=x = 5", cwd=scripts)
    assert (after.returncode, after.stdout) == (1, "")
    assert after.stderr == "b.calc:1:2: error: unknown name 'x'\n  (x+3)**2\n   ^\n"


@pytest.mark.parametrize(
    "args",
    [("-ie", "x = 5"), ("-iex = 5",), ("-i", "-e", "x = 5"), ("--eval", "x = 5")],
    ids=["joined", "joined-with-value", "apart", "long"],
)
def test_eval_joined_to_other_flags_keeps_its_place(run_cli, scripts, args):
    # -ie EXPR is -i and -e EXPR: the file after it must see x. (It ran first: its place
    # was looked up as a separate -e.)
    result = run_cli(*args, "b.calc", cwd=scripts)
    assert (result.returncode, result.stdout) == (0, "x = 5\n64\n  ∂/∂x = 16\n")


def test_long_options_are_not_abbreviated(run_cli, scripts):
    # --ev would be --eval to argparse, but not to the ordering of sources.
    result = run_cli("--ev", "x = 5", "b.calc", cwd=scripts)
    assert result.returncode == 2 and "unrecognized arguments: --ev" in result.stderr


def test_eval_may_begin_with_a_minus_sign(run_cli):
    result = run_cli("-e", "-2**2", "-e", "-x", "--eval", "-1", "--keep-going")
    assert result.stdout == "-4\n-1\n"
    assert result.stderr.startswith("<eval:2>:1:2: error: unknown name 'x'\n")


def test_eval_errors_are_named_by_their_position(run_cli):
    result = run_cli("-e", "x = 1", "-e", "x +* 2")
    assert (result.returncode, result.stdout) == (1, "x = 1\n")
    assert result.stderr == (
        "<eval:2>:1:4: error: expected an expression after '+', found '*'\n  x +* 2\n     ^\n"
    )


def test_interactive_flag_with_piped_stdin_reads_it_after_the_files(run_cli, scripts):
    result = run_cli("-i", "a.calc", stdin="x * 3\n", cwd=scripts)
    assert (result.returncode, result.stdout) == (0, "x = 2\n6\n  ∂/∂x = 3\n")


def test_quit_ends_a_script_successfully(run_cli):
    result = run_cli(stdin="1\n:quit\n2\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, "1\n", "")


# ---- errors and exit status -----------------------------------------------------------------


def test_script_stops_at_the_first_error_after_printing_what_came_before(run_cli):
    result = run_cli(stdin="1\nx = nosuch + 1\n2\n")
    assert (result.returncode, result.stdout) == (1, "1\n")
    assert result.stderr == (
        "<stdin>:2:5: error: unknown name 'nosuch'\n  x = nosuch + 1\n      ^~~~~~\n"
    )


def test_keep_going_reports_every_error_and_still_exits_1(run_cli):
    result = run_cli("--keep-going", stdin="1\nnosuch\n2\nsinn(1)\n3\n")
    assert (result.returncode, result.stdout) == (1, "1\n2\n3\n")
    assert result.stderr == (
        "<stdin>:2:1: error: unknown name 'nosuch'\n  nosuch\n  ^~~~~~\n"
        "<stdin>:4:1: error: unknown function 'sinn' (did you mean 'sin'?)\n  sinn(1)\n  ^~~~\n"
    )


def test_error_in_a_file_names_path_line_and_column(run_cli, tmp_path):
    (tmp_path / "s.calc").write_text("x = 1\n\ny = x + [1, 2] @ 3\n", encoding="utf-8")
    result = run_cli("s.calc", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "s.calc:3:16: error: a matrix product needs arrays, not scalars: use '*'\n"
        "  y = x + [1, 2] @ 3\n"
        "                 ^\n"
    )


def test_file_ending_mid_statement_is_an_error(run_cli, tmp_path):
    (tmp_path / "open.calc").write_text("x = [1,\n  2\n", encoding="utf-8")
    result = run_cli("open.calc", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "open.calc:2:4: error: unclosed '[' opened at line 1, column 5\n    2\n     ^\n"
    )


@pytest.mark.parametrize(
    "args",
    [("--bogus",), ("--color", "purple", "-e", "1"), ("-e",), ("--json", "--nograd", "--what")],
)
def test_usage_errors_exit_2(run_cli, args):
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: dezero-repl ")
    assert "dezero-repl: error: " in result.stderr


def _write(path, data: bytes):
    path.write_bytes(data)
    return path.name


def test_windows_line_endings_and_byte_order_mark_are_read(run_cli, tmp_path):
    (tmp_path / "win.calc").write_bytes(b"\xef\xbb\xbfx = 2\r\ny = [x,\r\n  3]\r\n")
    result = run_cli("win.calc", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "x = 2\ny = [2 3]\n  gradients of the sum of the elements:\n  ∂/∂x = 1\n",
        "",
    )


def test_an_error_in_a_file_with_windows_line_endings_shows_its_line_as_written(run_cli, tmp_path):
    # The line's carriage return was shown as a replacement character at its end.
    (tmp_path / "win.calc").write_bytes(b"x = 1\r\ny = 2 + sine(x)\r\n")
    result = run_cli("win.calc", cwd=tmp_path)
    assert result.stderr.splitlines()[1:] == ["  y = 2 + sine(x)", "          ^~~~"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: "missing.calc", "cannot read 'missing.calc': no such file"),
        (lambda d: (d / "folder").mkdir() or "folder", "cannot read 'folder': it is a directory"),
        (lambda d: _write(d / "bin.calc", b"x = 1\x00\x01"),
         "cannot read 'bin.calc': it is a binary file"),
        (
            lambda d: _write(d / "latin.calc", "x = 'caf\xe9'\n".encode("latin-1")),
            "cannot read 'latin.calc': not valid UTF-8 (byte 0xe9 at offset 8)",
        ),
    ],
    ids=["missing", "directory", "binary", "not-utf8"],
)  # fmt: skip
def test_unusable_file_is_one_error_line_and_exit_1(run_cli, tmp_path, make, message):
    name = make(tmp_path)
    result = run_cli(name, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"dezero-repl: error: {message}\n",
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_one_error_line_and_exit_1(run_cli, tmp_path):
    secret = tmp_path / "secret.calc"
    secret.write_text("1\n", encoding="utf-8")
    secret.chmod(0)
    result = run_cli("secret.calc", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "dezero-repl: error: cannot read 'secret.calc': permission denied\n",
    )


def test_unreadable_file_message_when_reading_fails(tmp_path, monkeypatch):
    # Runs everywhere, root included: the open itself is made to fail as for mode 000.
    from dezero_repl import sources
    from dezero_repl.errors import CalcError

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)
    with pytest.raises(CalcError) as info:
        sources.read_source(str(tmp_path / "secret.calc"))
    assert info.value.message == f"cannot read '{tmp_path / 'secret.calc'}': permission denied"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"1 + \x00", "cannot read '<stdin>': it is a binary file"),
        (b"\xff\xfe1\n", "cannot read '<stdin>': not valid UTF-8 (byte 0xff at offset 0)"),
    ],
)
def test_unusable_stdin_is_one_error_line_and_exit_1(run_cli, data, message):
    result = run_cli(stdin=data)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        f"dezero-repl: error: {message}\n",
    )


def test_no_traceback_whatever_the_input(run_cli):
    nasty = "\n".join(
        [
            "mean(zeros(0))",
            "minimize(sin, sin)",
            "taylor(sin, 0, sin)",
            "arange(0, 1, 1e-320)",
            "[1, 2][[0.5]]",
            "f(x) = x; f(1, 2, 3)",
            "__import__",
            "zeros(10**20)",
            "2 ** 2 ** 2 ** 2 ** 2 ** 2",
            "1 \x1b 2",
            "((((((",
        ]
    )
    result = run_cli("--keep-going", stdin=nasty)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.count("error:") == 9


def test_output_that_the_terminal_cannot_encode_is_escaped_not_a_crash(run_cli):
    result = run_cli("-e", "x = 1", "-e", "x", env={"PYTHONIOENCODING": "ascii"})
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "x = 1\n1\n  \\u2202/\\u2202x = 1\n",
        "",
    )


def test_closed_stdout_ends_quietly(cli_env, tmp_path):
    big = tmp_path / "big.calc"
    big.write_text("1\n" * 20000, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dezero_repl", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env,
    )
    assert proc.stdout.readline() == b"1\n"
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0
    assert stderr == b""


# ---- floating-point warnings never leak from NumPy ------------------------------------------


def test_numpy_warnings_become_one_line_each_even_under_python_W_error(run_cli):
    result = run_cli(
        "-e", "log(-1)", "-e", "1/0", "-e", "exp(1000)", "-e", "x = 0", "-e", "sqrt(x)",
        python_flags=("-W", "error"),
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "nan\ninf\ninf\nx = 0\n0\n  ∂/∂x = inf\n")
    assert result.stderr == (
        "warning: invalid value in log() (result contains nan)\n"
        "warning: division by zero in '/' (result contains inf)\n"
        "warning: overflow in exp() (result contains inf)\n"
        "warning: division by zero in the gradient (result contains inf)\n"
    )
    assert "RuntimeWarning" not in result.stderr


# ---- modes and options -----------------------------------------------------------------------


def test_nograd_option(run_cli):
    result = run_cli("--nograd", "-e", "x = 2", "-e", "x * 3", "-e", "f(t) = t**2", "-e", "f'(x)")
    assert (result.returncode, result.stdout) == (0, "x = 2\n6\ndefined f(t)\n4\n")


def test_nograd_option_with_json_has_no_grad_keys(run_cli):
    result = run_cli("--nograd", "--json", "-e", "x = 2", "-e", "x * 3")
    assert result.json() == [
        {"input": "x = 2", "name": "x", "value": 2.0},
        {"input": "x * 3", "value": 6.0},
    ]


def test_version(run_cli):
    for flag in ("-V", "--version"):
        result = run_cli(flag)
        assert (result.returncode, result.stdout) == (0, f"dezero-repl {__version__}\n")


def test_help(run_cli):
    for flag in ("-h", "--help"):
        result = run_cli(flag)
        assert result.returncode == 0
        assert result.stdout.startswith("usage: dezero-repl [-h]")
        for option in ("--eval", "--json", "--nograd", "--keep-going", "--color", "--version"):
            assert option in result.stdout


@pytest.mark.skipif(shutil.which("dezero-repl") is None, reason="console script not installed")
def test_console_script_is_the_same_program(cli_env):
    proc = subprocess.run(
        ["dezero-repl", "-e", "(2+3)**2"], capture_output=True, text=True, env=cli_env, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (0, "25\n")


# ---- colour -------------------------------------------------------------------------------------


def test_color_always_colours_stdout_and_stderr(run_cli):
    result = run_cli("--color", "always", "-e", "x = 2", "-e", "x", "-e", "nosuch")
    assert result.stdout == "\x1b[1mx\x1b[0m = 2\n2\n\x1b[36m  ∂/∂x = 1\x1b[0m\n"
    assert result.stderr.startswith("<eval:3>:1:1: \x1b[1;31merror:\x1b[0m unknown name 'nosuch'\n")


@pytest.mark.parametrize("args", [("--color", "never"), ("--color", "auto"), ()])
def test_no_colour_when_stdout_is_not_a_terminal_or_when_refused(run_cli, args):
    result = run_cli(*args, "-e", "x = 2", "-e", "x", "-e", "1/0", "-e", "nosuch")
    assert "\x1b" not in result.stdout + result.stderr


def _run_with_a_terminal(cli_env, *args, on="stdout", env=None):
    """Run with stdout or stderr on a pseudo-terminal and the other on a pipe.

    Returns what appeared on the terminal and what went through the pipe.
    """
    leader, follower = pty.openpty()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, on: follower}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dezero_repl", *args],
            stdin=subprocess.DEVNULL,
            env={**cli_env, **(env or {})},
            timeout=60,
            **streams,
        )
        os.close(follower)
        follower = None
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower is not None:
            os.close(follower)
        os.close(leader)
    shown = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    piped = (proc.stderr if on == "stdout" else proc.stdout).decode("utf-8")
    return shown, piped


def test_color_auto_colours_a_terminal_and_not_the_pipe_beside_it(cli_env):
    shown, piped = _run_with_a_terminal(cli_env, "-e", "x = 2", "-e", "x", "-e", "1/0")
    assert shown == "\x1b[1mx\x1b[0m = 2\n2\n\x1b[36m  ∂/∂x = 1\x1b[0m\ninf\n"
    assert piped == "warning: division by zero in '/' (result contains inf)\n"


def test_color_auto_colours_errors_on_a_terminal_when_stdout_is_piped(cli_env):
    shown, piped = _run_with_a_terminal(cli_env, "-e", "x = 2", "-e", "1/0", on="stderr")
    assert shown == "\x1b[33mwarning:\x1b[0m division by zero in '/' (result contains inf)\n"
    assert piped == "x = 2\ninf\n"


def test_no_color_environment_variable_is_honoured(cli_env):
    for on in ("stdout", "stderr"):
        shown, piped = _run_with_a_terminal(
            cli_env, "-e", "x = 2", "-e", "x", "-e", "1/0", on=on, env={"NO_COLOR": "1"}
        )
        assert "\x1b" not in shown + piped


# ---- JSON Lines, end to end -----------------------------------------------------------------

JSON_SCRIPT = """\
f(x) = x**4 - 2*x**2
g(x, y) = x*y + sin(y)
f(2); f'(2); f''(2)
a = 1; b = 2
g(a, b)
x = 2; y = 3
diff(x**3 * y, y)
grad(g)(1, 2)
hessian(g)(1, 2)
h(x) = x**2 - 2
solve(h, 1)
v = [1, 2, 3]
m = [[1, 0, 2], [0, 1, 0]]
m @ v
v * [[1], [2]]
m[1, 1] * v[-1]
:nograd
v * 2
nosuch + 1
"""


def test_json_lines_one_object_per_statement_and_nothing_else(run_cli):
    result = run_cli("--json", "--keep-going", stdin=JSON_SCRIPT)
    assert result.returncode == 1
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    objects = [json.loads(line) for line in lines]
    assert objects == [
        {"input": "f(x) = x**4 - 2*x**2", "defined": "f", "params": ["x"]},
        {"input": "g(x, y) = x*y + sin(y)", "defined": "g", "params": ["x", "y"]},
        {"input": "f(2)", "value": 8.0, "grad": {}},
        {"input": "f'(2)", "value": 24.0, "grad": {}},
        {"input": "f''(2)", "value": 44.0, "grad": {}},
        {"input": "a = 1", "name": "a", "value": 1.0, "grad": {}},
        {"input": "b = 2", "name": "b", "value": 2.0, "grad": {}},
        {
            "input": "g(a, b)",
            "value": 2.909297426825682,
            "grad": {"a": 2.0, "b": 0.5838531634528576},
        },
        {"input": "x = 2", "name": "x", "value": 2.0, "grad": {}},
        {"input": "y = 3", "name": "y", "value": 3.0, "grad": {}},
        {"input": "diff(x**3 * y, y)", "value": 8.0, "grad": {"x": 12.0}},
        {"input": "grad(g)(1, 2)", "value": [2.0, 0.5838531634528576], "grad": {}},
        {
            "input": "hessian(g)(1, 2)",
            "value": [[0.0, 1.0], [1.0, -0.9092974268256817]],
            "grad": {},
        },
        {"input": "h(x) = x**2 - 2", "defined": "h", "params": ["x"]},
        {
            "input": "solve(h, 1)",
            "value": 1.414213562373095,
            "grad": {},
            "iterations": 6,
            "method": "Newton",
        },
        {"input": "v = [1, 2, 3]", "name": "v", "value": [1.0, 2.0, 3.0], "grad": {}},
        {
            "input": "m = [[1, 0, 2], [0, 1, 0]]",
            "name": "m",
            "value": [[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]],
            "grad": {},
        },
        {
            "input": "m @ v",
            "value": [7.0, 2.0],
            "grad": {"v": [1.0, 1.0, 2.0], "m": [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]},
        },
        {
            "input": "v * [[1], [2]]",
            "value": [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]],
            "grad": {"v": [3.0, 3.0, 3.0]},
        },
        {
            "input": "m[1, 1] * v[-1]",
            "value": 3.0,
            "grad": {"v": [0.0, 0.0, 1.0], "m": [[0.0, 0.0, 0.0], [0.0, 3.0, 0.0]]},
        },
        {
            "input": ":nograd",
            "output": "gradients off (nograd mode)",
            "command": "nograd",
            "nograd": True,
        },
        {"input": "v * 2", "value": [2.0, 4.0, 6.0]},
        {
            "input": "nosuch + 1",
            "error": {
                "type": "NameError",
                "message": "unknown name 'nosuch'",
                "line": 19,
                "column": 1,
                "source": "<stdin>",
            },
        },
    ]


def test_json_minimize_of_several_parameters(run_cli):
    result = run_cli(
        "--json", "-e", "r(x, y) = (1 - x)**2 + 100*(y - x**2)**2", "-e", "minimize(r, [0, 2])"
    )
    point = result.json()[1]
    assert point["value"] == pytest.approx([1.0, 1.0], abs=1e-6)
    assert isinstance(point["iterations"], int)


def test_json_warnings_and_non_finite_values_stay_inside_objects(run_cli):
    result = run_cli("--json", "-e", "x = 0", "-e", "[1/x, log(0), sqrt(-1)]")
    assert result.stderr == ""
    assert result.json()[1] == {
        "input": "[1/x, log(0), sqrt(-1)]",
        "value": ["inf", "-inf", "nan"],
        "grad": {"x": "-inf"},
        "warnings": [
            "division by zero in '/' (result contains inf)",
            "division by zero in log() (result contains -inf)",
            "invalid value in sqrt() (result contains nan)",
            "division by zero in the gradient (result contains -inf)",
        ],
    }


def test_json_file_error(run_cli, tmp_path):
    result = run_cli("--json", "missing.calc", cwd=tmp_path)
    assert result.returncode == 1
    assert result.json() == [
        {
            "input": "missing.calc",
            "error": {
                "type": "FileError",
                "message": "cannot read 'missing.calc': no such file",
                "source": "dezero-repl",
            },
        }
    ]


@pytest.mark.parametrize(
    ("statement", "kind", "message"),
    [
        (":del nosuch", "NameError", "':del': no variable or function 'nosuch'"),
        (":precision 99", "CommandError",
         "':precision' takes a number of digits from 1 to 17, or 'off'"),
        ("sum([1, 2], 3)", "AxisError", "axis 3 is out of range for an array of 1 dimensions"),
        (":graph", "CommandError", "':graph' needs an expression, e.g. :graph sin(x) * x"),
        (":graph f", "TypeError", "':graph' needs an expression with a value, not a function"),
        ("diff(x**2, x, 140)", "ValueError", "derivative order 140 is too high (limit 100)"),
        ("diff(x**2, x, -1)", "ValueError", "the order of diff cannot be negative"),
        ("diff(x**2)", "TypeError", "diff takes 2 or 3 arguments (diff(expr, x, n)), got 1"),
        ("taylor(f, 0, 140)", "ValueError", "the order of taylor must be between 0 and 100"),
        (":plot", "CommandError",
         "':plot' needs something to plot, e.g. :plot sin(x) for x in -3..3"),
    ],
)  # fmt: skip
def test_json_error_types_name_the_kind_of_error(run_cli, statement, kind, message):
    result = run_cli("--json", "-e", "x = 2", "-e", "f(t) = t**2", "-e", statement)
    assert result.returncode == 1
    error = result.json()[-1]["error"]
    assert (error["type"], error["message"]) == (kind, message)


def test_json_graph_that_cannot_be_written_is_a_file_error(run_cli, tmp_path):
    target = tmp_path / "missing" / "g.dot"
    result = run_cli("--json", "-e", "x = 2", "-e", f":graph x * 3 > {target}")
    assert result.returncode == 1
    error = result.json()[-1]["error"]
    assert error["type"] == "FileError"
    assert error["message"].startswith(f"cannot write '{target}': ")


@pytest.mark.parametrize("keep_going", [False, True])
def test_a_loaded_file_stops_at_its_first_error_unless_keep_going(run_cli, tmp_path, keep_going):
    (tmp_path / "bad.calc").write_text("a = 1\nb = nosuch\nc = 3\n", encoding="utf-8")
    options = ["--keep-going"] if keep_going else []
    result = run_cli(*options, stdin=":load bad.calc\nd = 4\na\nc\n", cwd=tmp_path)
    assert result.returncode == 1
    assert "bad.calc:2:5: error: unknown name 'nosuch'" in result.stderr
    if keep_going:  # every statement of the file ran, and the script went on
        assert result.stdout.splitlines()[-4:] == ["1", "  ∂/∂a = 1", "3", "  ∂/∂c = 1"]
        assert "d = 4" in result.stdout
    else:  # the file stopped at line 2 and so did the script
        assert "c = 3" not in result.stdout and "d = 4" not in result.stdout


def test_a_slow_statement_writes_no_notice_into_pipes(run_cli):
    done = run_cli("-e", "sum(sum([k]) for k in 1..200000)")
    assert done.stdout == "20000100000\n" and done.stderr == ""


def test_clicolor_force_colours_a_pipe_unless_no_color(run_cli):
    forced = run_cli("-e", "nosuch", env={"CLICOLOR_FORCE": "1"})
    assert "\x1b[" in forced.stderr
    plain = run_cli("-e", "nosuch", env={"CLICOLOR_FORCE": "0"})
    assert "\x1b[" not in plain.stderr
    both = run_cli("-e", "nosuch", env={"CLICOLOR_FORCE": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in both.stderr


def test_print_config_shows_settings_and_paths_as_a_valid_config(run_cli, cli_env):
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    config = Path(cli_env["XDG_CONFIG_HOME"]) / "dezero-repl"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("precision = 4\n", encoding="utf-8")
    try:
        done = run_cli("--print-config")
    finally:
        (config / "config.toml").unlink()
    assert done.returncode == 0 and done.stderr == ""
    settings = tomllib.loads(done.stdout)
    assert settings["precision"] == 4 and settings["memory_limit"] == "1GiB"
    assert settings["edit_mode"] == "emacs" and settings["history_size"] == 10000
    assert f"# config file:  {config / 'config.toml'} (present)" in done.stdout
    assert "# history file: " in done.stdout


def test_help_has_examples_environment_files_and_exit_status(run_cli):
    done = run_cli("--help")
    for section in ("examples:", "environment:", "files:", "exit status:"):
        assert section in done.stdout
    for word in ("NO_COLOR", "CLICOLOR_FORCE", "XDG_CONFIG_HOME", "init.calc", "130"):
        assert word in done.stdout
    assert all(len(line) <= 100 for line in done.stdout.splitlines())


def test_the_man_page_is_generated_from_the_same_source_and_renders():
    from dezero_repl import __version__, manual
    from dezero_repl.cli import _parser

    assert manual.MAN_PAGE.read_text(encoding="utf-8") == manual.man_page(_parser(), __version__), (
        "man/dezero-repl.1 is stale: run python -m dezero_repl.manual"
    )
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    shown = subprocess.run(
        ["man", "-l", "-P", "cat", str(manual.MAN_PAGE)],
        capture_output=True,
        text=True,
        env={**os.environ, "MANWIDTH": "80", "LC_ALL": "C.UTF-8"},
        timeout=60,
    ).stdout
    for section in ("EXAMPLES", "ENVIRONMENT", "FILES", "EXIT STATUS", "OPTIONS"):
        assert section in shown
    assert "CLICOLOR_FORCE" in shown and "--print-config" in shown.replace("‐", "-")


def test_json_gives_null_for_a_gradient_left_out_and_no_entry_for_no_dependence(run_cli):
    # exp(-1000*x)'s slope, -5.2e-323, underflows to 0: it is left out, with the reason
    statements = ["x = 0.75", "y = 2", "z = 3", "exp(-1000*x) + y"]
    result = run_cli("--json", *[arg for s in statements for arg in ("-e", s)])
    assert result.returncode == 0 and result.stderr == ""
    last = result.json()[3]
    assert last["grad"] == {"x": None, "y": 1.0}  # and nothing for z
    (warning,) = last["warnings"]
    assert warning.startswith("∂/∂x is not shown: it ")
    plain = run_cli("-e", "x = 0.75", "-e", "exp(-1000*x) + 2")
    assert "∂/∂x" not in plain.stdout and "∂/∂x is not shown" in plain.stderr
