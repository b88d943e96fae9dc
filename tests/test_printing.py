"""Large values print summarized as NumPy prints them, in bounded memory, in text and JSON;
`:elements all` asks for every element, and JSON then streams them."""

from __future__ import annotations

import io
import json
import signal

import pytest
from conftest import run_python

from dezero_repl import output


def test_a_large_array_prints_summarized_and_elements_all_prints_it_whole(calc):
    out, _ = calc.run("x = linspace(0, 1, 2001)")
    assert "..." in out and len(out.splitlines()) <= 3
    out, _ = calc.run(":elements all\nx")
    assert "..." not in out and out.count("\n") > 100
    out, _ = calc.run(":elements 5\n[1, 2, 3, 4, 5, 6, 7, 8]")
    assert out.splitlines()[-1] == "[1 2 3 ... 6 7 8]"


def test_printing_every_element_past_the_memory_budget_is_summarized_with_a_warning(calc):
    calc.session.memory_limit = 16 * 2**20
    out, err = calc.run(":elements all\nx = linspace(0, 1, 2 * 10**5)\ny = linspace(0, 1, 2000)")
    # 200,000 elements at 160 bytes: over 16 MiB; 2,000 print whole
    assert err == (
        "warning: printing every element would hold about 30.5 MiB, over the memory budget "
        "of 16.0 MiB: summarized (the value is kept; :elements N prints arrays of up to N "
        "elements in full)\n"
    )
    lines = out.splitlines()
    assert lines[1].startswith("x = [") and lines[1].endswith(" ...") and len(lines) > 300
    assert calc.run("x[5]")[0] == "2.5000125000625e-5\n  ∂/∂x = [0 0 0 ... 0 0 0]\n"
    calc.session.memory_limit = 2**30
    out, err = calc.run("x")  # within the budget: every element
    assert err == "" and "..." not in out and len(out.splitlines()) > 60_000


def test_what_printing_every_element_holds_is_within_its_forecast():
    import tracemalloc

    import numpy as np

    from dezero_repl.format import format_value

    widest = -np.linspace(1e-300, 2e-300, 20_000) * np.pi  # 25 characters each
    tracemalloc.start()
    try:
        text = format_value(widest, None, None)
        lines = "\n".join([text.replace("\n", "\n    "), "  ∂/∂x = " + text]) + "\n"
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(lines) > 2 * 20_000 * 25
    assert peak <= 2 * widest.size * output.TEXT_BYTES_PER_ELEMENT  # the value and a gradient


def test_json_summarizes_a_large_array_as_shape_and_ends(jcalc):
    result = jcalc.last("ones([20, 100]) * 2")
    assert result["value"] == {
        "shape": [20, 100],
        "size": 2000,
        "first": [2.0] * 3,
        "last": [2.0] * 3,
    }
    assert jcalc.last("[1, -0, 3]")["value"] == [1.0, 0.0, 3.0]  # small arrays as lists


@pytest.mark.parametrize("shape", ["200000", "[300, 300]", "[2, 3, 20000]"])
def test_json_streams_every_element_when_asked(jcalc, shape):
    result = jcalc.last(f":elements all\nzeros({shape}) + 1")
    data = result["value"]
    sizes = []
    while isinstance(data, list):
        sizes.append(len(data))
        data = data[0]
    assert sizes == json.loads(shape if shape.startswith("[") else f"[{shape}]")


def test_json_of_a_huge_array_stays_within_a_few_copies_of_it(cli_env):
    # Before, 10**7 elements as a JSON list took about seven times the array (tolist).
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'dezero_repl', '--json', '-e', "
        "':elements all', '-e', 'x = ones(10**7)'], stdout=subprocess.DEVNULL)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    proc = run_python(probe, cli_env)
    code, peak_kib = proc.stdout.split()
    assert code == b"0"
    assert int(peak_kib) < 330 * 1024  # the array is 80 MB; start-up about 60 MB


def test_running_out_of_memory_while_printing_is_one_line(calc, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(output, "format_value", no_memory)
    out, err = calc.run("x = [1, 2]")
    assert out == ""
    assert "error: out of memory while printing the result" in err
    assert "Traceback" not in err
    monkeypatch.undo()
    assert calc.run("x")[0].startswith("[1 2]\n")  # the assignment took effect


class _InterruptingOut(io.StringIO):
    """Standard output that receives Ctrl-C after ``after`` writes."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    def write(self, text: str) -> int:
        self.after -= 1
        if self.after == 0:
            signal.raise_signal(signal.SIGINT)
        return super().write(text)


@pytest.mark.parametrize("after", [1, 3, 6, 12])
def test_ctrl_c_while_a_line_streams_leaves_it_valid_and_marked(after):
    from dezero_repl.evaluator import Session
    from dezero_repl.parser import parse_statement

    session = Session()
    session.elements = None
    out = _InterruptingOut(after)
    json_output = output.JsonOutput(out, elements=lambda: session.elements)
    text = "zeros([4, 70000]) + 1"
    outcome = session.execute(parse_statement(text), text)
    with pytest.raises(KeyboardInterrupt):
        json_output.result(text, outcome)
    (line,) = out.getvalue().splitlines()
    result = json.loads(line)  # valid JSON, however far it got
    assert result["interrupted"] is True
    assert all(row == [1.0] * 70000 for row in result["value"][:-1])
