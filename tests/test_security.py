"""Security: user text runs only through the grammar, and a run leaves nothing in /tmp.

* Names beginning with ``__`` are refused, attribute access is ``.T`` and nothing else, and
  Python syntax that is not the calculator's is a syntax error.
* While statements run, ``eval``, ``exec``, ``compile`` and the import machinery are never
  asked for anything that came from the user.
* A scan of the package source finds every call that could run or reach arbitrary code or
  attributes (eval, exec, compile, getattr, setattr, __import__, import_module, pickle,
  marshal, subprocess); each that remains is on the allow-list below, with its reason.
* A non-interactive run writes no file at all, in the home, the XDG directories or the
  temporary directory; and nothing planted in the user's cache directory (a Lark pickle, a
  statement plan) is ever read.
"""

from __future__ import annotations

import ast as python_ast
import builtins
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
CANARY = "zz_canary_module"


# ---------------------------------------------------------------------------
# Only the grammar's constructs
# ---------------------------------------------------------------------------

RESERVED = "names beginning with '__' are reserved"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", RESERVED),
        (f"__import__({CANARY})", RESERVED),
        ("x.__class__", RESERVED),
        ("x.__class__.__mro__", RESERVED),
        ("[1][0].__class__", RESERVED),
        ("sin.__globals__", RESERVED),
        ("__builtins__", RESERVED),
        ("__x = 1", RESERVED),
        ("f(__x) = 1", RESERVED),
        ("__f(x) = x", RESERVED),
        ("().__class__", "expected an expression after '(', found ')'"),
        ("x.data", "unknown attribute 'data': only .T (transpose) is supported"),
        ("x.grad", "unknown attribute 'grad': only .T (transpose) is supported"),
        ("x.creator", "unknown attribute 'creator': only .T (transpose) is supported"),
        ("x.T.shape", "unknown attribute 'shape': only .T (transpose) is supported"),
        ("sin.T.real", "unknown attribute 'real': only .T (transpose) is supported"),
        ("x._T", "unknown attribute '_T': only .T (transpose) is supported"),
        ('eval("1")', "unexpected character '\"'"),
        ("exec('1')", "a prime (') must follow a name directly"),
        ("import os", "unexpected name 'os'"),
        ("lambda: 1", "unexpected ':'"),
        ("[t for t in x]", "unexpected 'for'; expected ',' or ']'"),
        (
            "1 if x else 2",
            "unexpected 'if': a choice is written 'if C then A else B', and inside a larger "
            "expression in parentheses",
        ),
        ("x = y = 1", "unexpected '='; only a name or f(x, ...) can be assigned to"),
        ("{1: 2}", "unexpected character '{'"),
        ("`ls`", "unexpected character '`'"),
        ("$(ls)", "unexpected character '$'"),
    ],
)
def test_python_beyond_the_grammar_is_refused(jcalc, text, message):
    jcalc.run("x = 1")
    error = jcalc.last(text)["error"]
    assert (error["type"], error["message"]) == ("SyntaxError", message)
    assert jcalc.last("x")["value"] == 1.0


@pytest.mark.parametrize(
    "text", ["globals()", "locals()", "vars(x)", "getattr(x, T)", "open(x)", "os", CANARY]
)
def test_python_builtins_are_unknown_names(jcalc, text):
    jcalc.run("x = 1")
    error = jcalc.last(text)["error"]
    assert error["type"] == "NameError"
    assert error["message"].startswith("unknown ")


def test_transpose_is_the_one_attribute(jcalc):
    assert jcalc.last("m = [[1, 2], [3, 4]]\nm.T")["value"] == [[1.0, 3.0], [2.0, 4.0]]
    assert jcalc.last("m.T.T[0, 1]")["value"] == 2.0


def test_reserved_names_are_refused_wherever_they_appear(jcalc):
    for text in ["__x", "a.__x", "f(__x)", "[__x]", "x[__x]", "diff(__x, x)", "f(t) = __x"]:
        assert jcalc.last(text)["error"]["message"] == RESERVED, text


def test_values_never_show_python_objects(calc):
    out, err = calc.run("f(t) = t\nf\nsin\ngrad(f)\nsin'\ndiff\n:vars\n:funcs")
    for marker in ("<class", "<function", "<module", "object at 0x", "Traceback"):
        assert marker not in out + err


class _Recorder:
    """Stands in for a builtin and records what it was asked to do."""

    def __init__(self, real, calls: list) -> None:
        self.real, self.calls = real, calls

    def __call__(self, *args, **kwargs):
        self.calls.append(args[0] if args else None)
        return self.real(*args, **kwargs)


HOSTILE = [
    f"__import__('{CANARY}')",
    f"{CANARY}.system(1)",
    f"x = {CANARY}",
    f"f(t) = {CANARY}(t)",
    f"eval({CANARY})",
    f"exec({CANARY})",
    f"compile({CANARY})",
    f"getattr(x, {CANARY})",
    f":help {CANARY}",
    f":graph {CANARY}",
    f":del {CANARY}",
    f":{CANARY}",
    f"x.{CANARY}",
    f"diff({CANARY}, x)",
    f"solve({CANARY}, 1)",
]


def test_user_text_never_reaches_eval_exec_compile_or_import(calc, monkeypatch):
    calc.run("x = 2\n:vars\n1 +* 2\nundefined")  # the parser and lazy imports, beforehand
    calls: list = []
    for name in ("eval", "exec", "compile", "__import__"):
        monkeypatch.setattr(builtins, name, _Recorder(getattr(builtins, name), calls))
    monkeypatch.setattr(importlib, "import_module", _Recorder(importlib.import_module, calls))
    out, err = calc.run("\n".join(HOSTILE))
    monkeypatch.undo()
    assert err.count("error:") == len(HOSTILE)
    assert not any(CANARY in str(call) for call in calls), calls
    assert CANARY not in sys.modules


# ---------------------------------------------------------------------------
# The source itself: every dangerous call is on the allow-list, with a reason
# ---------------------------------------------------------------------------

#: Calls that could run code or reach any attribute, by how they are written.
DANGEROUS_NAMES = {"eval", "exec", "compile", "getattr", "setattr", "delattr", "__import__"}
DANGEROUS_MODULES = {"pickle", "marshal", "shelve", "importlib", "subprocess", "dill"}

#: (file, call as written) → why no user text can steer it.
ALLOWED = {
    ("dezero_repl/lalr.py", "getattr(builder, n)"):
        "n is a terminal or rule name from the packaged grammar tables, never user text",
    ("dezero_repl/nodes.py", "getattr(self, name)"):
        "name is one of the node class's own __slots__ (nodes.fields), never user text",
    ("dezero_repl/nodes.py", "getattr(node, name)"):
        "name is one of the node class's own __slots__ (nodes.fields), never user text",
    ("dezero_repl/nodes.py", "setattr(copy, name, getattr(node, name))"):
        "name is one of the node class's own __slots__ (nodes.fields), never user text",
    ("dezero_repl/shapes.py", "getattr(node, name)"):
        "name is one of the node class's own __slots__ (nodes.fields), never user text",
    ("dezero_repl/config.py", "setattr(settings, key, value)"):
        "key is one of the known settings: unknown keys are refused just before",
    ("dezero_repl/cli.py", "getattr(sys, name)"):
        "name runs over the constant tuple ('stdout', 'stderr')",
    ("dezero_repl/cli.py", "setattr(sys, name, open(os.devnull, 'w', encoding='utf-8'))"):
        "name runs over the constant tuple ('stdout', 'stderr')",
    ("dezero/core.py", "getattr(Config, self.name)"):
        "using_config(name, ...): every caller passes a constant name (checked below)",
    ("dezero/core.py", "setattr(Config, self.name, self.value)"):
        "using_config(name, ...): every caller passes a constant name (checked below)",
    ("dezero/core.py", "setattr(Config, self.name, self.saved.pop())"):
        "using_config(name, ...): every caller passes a constant name (checked below)",
    ("dezero/utils.py", "subprocess.run(command, input=dot_text.encode(), capture_output=True)"):
        "Graphviz's dot: [dot, '-T', format], an argument list (no shell); DOT in, image out",
    ("dezero/utils.py", "import subprocess"):
        "needed to run Graphviz's dot for :graph > FILE.png (see the call above)",
}  # fmt: skip


def _source_files() -> list[Path]:
    return sorted([*PACKAGE_ROOT.glob("dezero_repl/*.py"), *PACKAGE_ROOT.glob("dezero/*.py")])


def _dangerous_sites(path: Path, root: Path = PACKAGE_ROOT) -> list[tuple[str, str, int]]:
    """(file, call as written, line) for each call or import that needs a reason."""
    relative = path.relative_to(root).as_posix()
    tree = python_ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    sites = []
    for node in python_ast.walk(tree):
        if isinstance(node, (python_ast.Import, python_ast.ImportFrom)):
            modules = [alias.name for alias in node.names]
            if isinstance(node, python_ast.ImportFrom):
                modules = [node.module or ""]
            if any(m.split(".")[0] in DANGEROUS_MODULES for m in modules):
                sites.append((relative, python_ast.unparse(node), node.lineno))
        if not isinstance(node, python_ast.Call):
            continue
        func = node.func
        if isinstance(func, python_ast.Name) and func.id in DANGEROUS_NAMES:
            if func.id in ("getattr", "setattr", "delattr") and _constant_name(node):
                continue  # getattr(x, "name"): the attribute is fixed in the source
            sites.append((relative, python_ast.unparse(node), node.lineno))
        elif isinstance(func, python_ast.Attribute):
            owner = func.value.id if isinstance(func.value, python_ast.Name) else ""
            if owner in DANGEROUS_MODULES or func.attr in ("import_module", "system", "popen"):
                sites.append((relative, python_ast.unparse(node), node.lineno))
    return sites


def _constant_name(call: python_ast.Call) -> bool:
    return (
        len(call.args) >= 2
        and isinstance(call.args[1], python_ast.Constant)
        and isinstance(call.args[1].value, str)
    )


def test_every_dangerous_call_in_the_source_is_allowed_with_a_reason():
    found = [site for path in _source_files() for site in _dangerous_sites(path)]
    unexplained = [
        f"{file}:{line}: {call}" for file, call, line in found if (file, call) not in ALLOWED
    ]
    assert not unexplained, "calls that need a reason in ALLOWED:\n" + "\n".join(unexplained)


def test_using_config_is_only_called_with_a_constant_name():
    calls = []
    for path in _source_files():
        for node in python_ast.walk(python_ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, python_ast.Call) and getattr(node.func, "id", "") == "using_config":
                calls.append(node)
                assert isinstance(node.args[0], python_ast.Constant), python_ast.unparse(node)
    assert calls


def test_allow_list_has_no_stale_entries():
    found = {(file, call) for path in _source_files() for file, call, _ in _dangerous_sites(path)}
    assert set(ALLOWED) <= found, set(ALLOWED) - found


def test_the_scan_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    source = (
        "import pickle\nfrom importlib import import_module\n"
        "eval(text)\nexec(text)\ncompile(text, 'f', 'exec')\n__import__(name)\n"
        "getattr(obj, name)\ngetattr(obj, 'T')\nsetattr(obj, name, 1)\n"
        "pickle.loads(data)\nmarshal.loads(data)\nimportlib.import_module(name)\n"
        "os.system(command)\n"
    )
    sample.write_text(source, encoding="utf-8")
    calls = [call for _, call, _ in _dangerous_sites(sample, tmp_path)]
    assert calls == [
        "import pickle",
        "from importlib import import_module",
        "eval(text)",
        "exec(text)",
        "compile(text, 'f', 'exec')",
        "__import__(name)",
        "getattr(obj, name)",
        "setattr(obj, name, 1)",
        "pickle.loads(data)",
        "marshal.loads(data)",
        "importlib.import_module(name)",
        "os.system(command)",
    ]


# ---------------------------------------------------------------------------
# Nothing written, nothing planted read
# ---------------------------------------------------------------------------


def _lark_caches_in_tmp(since: float) -> list[str]:
    return [str(p) for p in Path("/tmp").glob(".lark_cache*") if p.stat().st_mtime >= since]


def _user_dirs(root: Path) -> dict[str, str]:
    dirs = {}
    for name in ("HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "TMPDIR"):
        (root / name.lower()).mkdir()
        dirs[name] = str(root / name.lower())
    return dirs


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


@pytest.mark.parametrize("how", ["stdin", "file", "expression"])
def test_a_non_interactive_run_writes_no_file_anywhere(cli_env, tmp_path, how):
    root = tmp_path / "user"
    root.mkdir()
    env = {**cli_env, **_user_dirs(root)}
    script = "x = 2\ny = x * 3 + 1\nf(t) = t ** 2\nf'(x)\n:vars\nsin(x) + y\n"
    source = tmp_path / "script.calc"
    source.write_text(script, encoding="utf-8")
    expressions = [a for line in script.splitlines() for a in ("-e", line)]
    args = {"stdin": [], "file": [str(source)], "expression": expressions}
    started = time.time() - 1
    for _ in range(2):  # a second run finds nothing to reuse either
        proc = subprocess.run(
            [sys.executable, "-m", "dezero_repl", *args[how]],
            input=script.encode() if how == "stdin" else b"",
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert (proc.returncode, proc.stderr) == (0, b"")
        assert b"4" in proc.stdout
    assert _files(root) == []
    assert _lark_caches_in_tmp(started) == []


def test_nothing_planted_in_the_cache_directory_is_read(cli_env, tmp_path):
    root = tmp_path / "user"
    root.mkdir()
    env = {**cli_env, **_user_dirs(root)}
    marker = tmp_path / "planted-code-ran"
    planted = root / "xdg_cache_home" / "dezero-repl"
    (planted / "shapes-00000000").mkdir(parents=True)

    class Payload:  # unpickling this runs a command
        def __reduce__(self):
            return (subprocess.call, (["touch", str(marker)],))

    import pickle

    for name in ("grammar-0123456789abcdef.lark-cache", "x.lark-cache"):
        (planted / name).write_bytes(pickle.dumps(Payload()))
    plan = [["NAME", "=", "NUMBER"], [["Number", [], []]]]
    (planted / "shapes-00000000" / "0.json").write_text(json.dumps(plan), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "dezero_repl", "--json"],
        input=b"x = 41\nx + 1\n",
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["value"] == 42.0
    assert not marker.exists()


def test_no_module_of_the_package_loads_a_pickle():
    for path in (PACKAGE_ROOT / "dezero_repl").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "pickle" not in text and "cache=" not in text, path.name
