"""The demos: `python -m engine` shows micrograd's lecture numbers; `python -m nn.demo` trains and draws."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nn import demo


def test_python_m_engine_prints_the_lecture_gradients_and_a_passing_check() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "engine"], capture_output=True, text=True, check=True, timeout=60
    )
    out = run.stdout
    assert "o = tanh(x1*w1 + x2*w2 + b) = 0.7071" in out
    # The gradients of micrograd's neuron example: x1 -1.5, x2 0.5, w1 1.0, w2 0.0, b 0.5.
    for name, grad in [("x1", -1.5), ("x2", 0.5), ("w1", 1.0), ("w2", 0.0), ("b", 0.5)]:
        assert f"{name} = " in out and f"grad = {grad:8.4f}" in out
    assert "gradcheck ok" in out and "disagrees" not in out


@pytest.mark.parametrize(
    ("args", "status", "stream", "says"),
    [
        (["--help"], 0, "stdout", "usage: python -m engine [-h]"),
        (["-h"], 0, "stdout", "-h, --help  show this help message and exit"),
        (["--steps", "3"], 2, "stderr", "python -m engine: error: unrecognized arguments: --steps 3"),
    ],
)
def test_python_m_engine_takes_help_and_refuses_other_arguments(
    args: list[str], status: int, stream: str, says: str
) -> None:
    command = [sys.executable, "-m", "engine", *args]
    run = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == status
    assert says in getattr(run, stream)
    assert "gradcheck" not in run.stdout and "Traceback" not in run.stderr  # nothing computed


# -- python -m nn.demo: the README's demo -----------------------------------------------------------


def test_python_m_nn_demo_trains_to_100_percent_and_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    run = subprocess.run(
        [sys.executable, "-m", "nn.demo", "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert "MLP(2, [16, 16, 1]), 337 parameters, on 100 moons points" in run.stdout
    assert re.search(r"trained: History\(100 steps, loss [\d.]+ -> [\d.e-]+, accuracy 100%", run.stdout)
    assert "step 100/100" in run.stderr  # the progress bar
    for name in ("decision_boundary.png", "loss.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name
        assert f"wrote {out / name}" in run.stdout
    if shutil.which("dot"):
        svg = (out / "neuron.svg").read_text()
        assert "<svg" in svg and "layer 0 · neuron" in svg and "relu" in svg


def test_demo_options_and_a_clear_message_without_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_import = importlib.import_module

    def no_matplotlib(name: str, package: str | None = None) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", no_matplotlib)
    args = [
        "--dataset",
        "spiral",
        "--n",
        "60",
        "--hidden",
        "8",
        "--steps",
        "3",
        "--quiet",
        "--out",
        str(tmp_path),
    ]
    assert demo.main(args) == 0
    captured = capsys.readouterr()
    assert "MLP(2, [8, 3]), 51 parameters, on 60 spiral points (3 classes, standardized)" in captured.out
    assert "History(3 steps" in captured.out
    assert (
        "matplotlib is not installed, so no PNG figures: pip install 'backprop-lab[notebooks]'"
        in captured.err
    )
    assert not list(tmp_path.glob("*.png"))


def test_demo_refuses_bad_hidden_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        demo.main(["--hidden", "16,x"])
    assert "hidden sizes are positive ints separated by commas, got '16,x'" in capsys.readouterr().err
