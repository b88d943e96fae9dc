"""Buffer reuse (dezero.fast) on the other CPythons the package declares (3.10 to 3.13).

Whether only the graph holds a value is decided by counting references, with counts
calibrated at import; the counts differ between interpreter versions. Each interpreter
found on this machine gets a virtual environment with NumPy and runs dezero from this
checkout: the gradient must be right, and ``F.sum((x + 3) ** 2)`` must peak at two arrays
above x, as on the interpreter running the suite. An interpreter that is not installed,
or a NumPy that cannot be fetched, skips its case.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import tracemalloc
import numpy as np
import dezero.functions as F
from dezero import Variable, fast

x = Variable(np.linspace(0.0, 1.0, 10**6))
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
y = F.sum((x + 3) ** 2)
y.backward()
peak = (tracemalloc.get_traced_memory()[1] - base) / x.data.nbytes
error = float(np.abs(x.grad.data - 2 * (x.data + 3)).max())
print(fast.COUNTS_REFERENCES, round(peak, 2), error)
"""


def find_python(version: str) -> str | None:
    """An interpreter of ``version`` (e.g. "3.13"): on PATH, or installed by pyenv."""
    for candidate in [shutil.which(f"python{version}")] + sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))
    ):
        if candidate and subprocess.run([candidate, "-c", "pass"]).returncode == 0:
            return candidate
    return None


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_buffer_reuse_on_the_declared_interpreters(version, tmp_path_factory):
    python = find_python(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed")
    venv = tmp_path_factory.mktemp(f"py{version}")
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "numpy"],
        capture_output=True,
        timeout=300,
    )
    if pip.returncode != 0:
        pytest.skip(f"NumPy could not be installed for Python {version}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-c", SCRIPT], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    counts, peak, error = run.stdout.split()
    assert counts == "True"  # CPython with its global lock
    assert float(peak) <= 2.05  # the square's buffer took the gradient
    assert float(error) == 0.0
