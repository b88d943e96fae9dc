"""The built wheel works on its own: installed with its dependencies into a clean virtual
environment outside the checkout, it imports dezero, finds grammar.lark and runs the
calculator; the wheel and the sdist carry what a package should."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A clean venv (nothing from this interpreter's packages) with the wheel and its
    dependencies installed in it, as a new user gets them."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = work.glob("dezero_repl-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, system_site_packages=False, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return env_dir


def run(env_dir: Path, *args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(env_dir / "bin" / "python"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_wheel_imports_dezero_from_the_venv(installed, tmp_path):
    result = run(
        installed,
        "-c",
        "import dezero, numpy as np; from dezero import Variable;"
        "x = Variable(np.array(2.0)); y = (x + 3) ** 2; y.backward();"
        "print(dezero.__file__); print(y.data, x.grad.data)",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    location, values = result.stdout.splitlines()
    assert Path(location).is_relative_to(installed)
    assert values == "25.0 10.0"


def test_installed_calculator_finds_its_grammar_from_another_directory(installed, tmp_path):
    result = run(installed, "-m", "dezero_repl", stdin="x = 2\n(x + 3) ** 2\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "x = 2\n25\n  ∂/∂x = 10\n"
    grammar = run(
        installed,
        "-c",
        "import importlib.resources as r;"
        "print(r.files('dezero_repl').joinpath('grammar.lark').is_file())",
        cwd=tmp_path,
    )
    assert grammar.stdout.strip() == "True"


def test_installed_command_is_on_the_path(installed, tmp_path):
    result = subprocess.run(
        [str(installed / "bin" / "dezero-repl"), "-e", "2 ** 10"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, "1024\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A wheel and an sdist built from the checkout."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


def test_the_wheel_carries_licence_metadata_types_and_grammar(built):
    import zipfile

    (wheel,) = built.glob("dezero_repl-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = z.read(metadata).decode("utf-8")
    assert {"dezero/py.typed", "dezero_repl/py.typed", "dezero_repl/grammar.lark"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    headers = [line.partition(": ") for line in meta.split("\n\n")[0].splitlines()]
    fields = {}
    for key, _, value in headers:
        fields.setdefault(key, []).append(value)
    import dezero

    assert fields["Version"] == [dezero.__version__]
    assert fields["License-Expression"] == ["MIT"] and fields["License-File"] == ["LICENSE"]
    assert "Programming Language :: Python :: 3.10" in fields["Classifier"]
    assert "Programming Language :: Python :: 3.13" in fields["Classifier"]
    assert {"Homepage", "Changelog"} <= {url.split(",")[0] for url in fields["Project-URL"]}
    assert fields["Keywords"][0]


def test_the_sdist_carries_licence_changelog_and_benchmarks(built):
    import tarfile

    (sdist,) = built.glob("dezero_repl-*.tar.gz")
    with tarfile.open(sdist) as t:
        names = {name.split("/", 1)[1] for name in t.getnames() if "/" in name}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "grammar.lark", "man/dezero-repl.1"} <= names
    assert {"benchmarks/bench_core.py", "benchmarks/bench_calculator.py"} <= names


def test_one_version_for_both_packages():
    import dezero
    import dezero_repl

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert dezero.__version__ == dezero_repl.__version__
