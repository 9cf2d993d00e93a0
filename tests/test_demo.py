"""The demos: `python -m engine` shows micrograd's lecture numbers; `python -m nn.demo` trains and draws."""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nn import demo

PROG = "python -m nn.demo"


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


# -- bad options: argparse's usage and one error line, exit status 2, before any work ---------------

MOONS_STEP = "--n 100000 with --hidden 16,16: a training step would build 64,700,000 values (647 a point)"
WIDE_STEP = "--n 100 with --hidden 100000: a training step would build 70,000,700 values (700,007 a point)"
LIMIT = (
    ", more than the demo's limit of 10,000,000 (about 2.6 GB of memory): use fewer points or smaller layers"
)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--steps", "-5"], "argument --steps: must be a whole number ≥ 0, got '-5'"),
        (["--steps", "ten"], "argument --steps: must be a whole number ≥ 0, got 'ten'"),
        (["--n", "0"], "argument --n: must be a whole number ≥ 1, got '0'"),
        (["--n", "2.5"], "argument --n: must be a whole number ≥ 1, got '2.5'"),
        (["--n", "1"], "argument --n: make_moons: n must be a whole number ≥ 2 (a point per class), got 1"),
        (
            ["--dataset", "xor", "--n", "3"],
            "argument --n: make_xor: n must be a whole number ≥ 4 (a point per class), got 3",
        ),
        (["--n", "100000"], MOONS_STEP + LIMIT),
        (["--hidden", "100000"], WIDE_STEP + LIMIT),
        (["--lr", "nan"], "argument --lr: must be a finite number > 0, got 'nan'"),
        (["--lr", "inf"], "argument --lr: must be a finite number > 0, got 'inf'"),
        (["--lr", "1e999"], "argument --lr: must be a finite number > 0, got '1e999'"),
        (["--lr", "-0.1"], "argument --lr: must be a finite number > 0, got '-0.1'"),
        (["--lr", "0"], "argument --lr: must be a finite number > 0, got '0'"),
        (["--lr", "fast"], "argument --lr: must be a finite number > 0, got 'fast'"),
        (
            ["--hidden", "16,0"],
            "argument --hidden: hidden sizes are positive ints separated by commas, got '16,0'",
        ),
        (
            ["--hidden", "a,b"],
            "argument --hidden: hidden sizes are positive ints separated by commas, got 'a,b'",
        ),
        (["--hidden", ""], "argument --hidden: hidden sizes are positive ints separated by commas, got ''"),
        (
            ["--hidden", "16,,16"],
            "argument --hidden: hidden sizes are positive ints separated by commas, got '16,,16'",
        ),
        (["--seed", "-1"], "argument --seed: must be a whole number ≥ 0, got '-1'"),
        # argparse's own; the list of choices is quoted from Python 3.12 on.
        (["--dataset", "mnist"], "argument --dataset: invalid choice: 'mnist' (choose from "),
        (["--out", ""], "argument --out: needs a folder name, got ''"),
    ],
)
def test_demo_refuses_a_bad_option_with_usage_and_one_line_before_any_work(
    args: list[str],
    error: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # the default --out, ./demo-out, must not appear either
    with pytest.raises(SystemExit) as exit:
        demo.main(["--quiet", "--steps", "2", *args])
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"usage: {PROG} [-h]")
    *_, line = captured.err.splitlines()
    expected = f"{PROG}: error: {error}"
    assert line.startswith(expected) if error.endswith("(choose from ") else line == expected
    assert captured.out == ""  # no model built, no step trained
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("out", "error"),
    [
        ("figures", "'{out}' is a file, not a folder"),
        ("figures/run1", "'{out}' is under '{tmp}/figures', which is a file, not a folder"),
        pytest.param(
            "locked/run1",
            "cannot write in {tmp}/locked (Permission denied), got '{out}'",
            marks=pytest.mark.skipif(
                sys.platform == "win32" or os.geteuid() == 0, reason="root may write anywhere"
            ),
        ),
        pytest.param(
            "/proc/demo-out",
            "cannot write in /proc (No such file or directory), got '{out}'",
            marks=pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="Linux's /proc"),
        ),
    ],
)
def test_demo_refuses_an_out_folder_it_cannot_make_or_write_before_training(
    out: str, error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "figures").write_text("not a folder")
    (tmp_path / "locked").mkdir(mode=0o500)
    path = out if out.startswith("/") else str(tmp_path / out)
    with pytest.raises(SystemExit) as exit:
        demo.main(["--quiet", "--out", path])
    assert exit.value.code == 2
    captured = capsys.readouterr()
    expected = error.format(out=path, tmp=tmp_path)
    assert captured.err.splitlines()[-1] == f"{PROG}: error: argument --out: {expected}"
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures", "locked"]
    assert not list((tmp_path / "locked").iterdir())


def test_demo_with_zero_steps_says_it_has_nothing_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--steps", "0", "--out", str(tmp_path / "figures")]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{PROG}: nothing to do: --steps 0 trains nothing, so there is nothing to draw\n"
    assert captured.err == ""
    assert not (tmp_path / "figures").exists()


@pytest.mark.parametrize("lr", ["1e300", "1e200"])
def test_demo_reports_a_diverging_run_in_one_line_and_exit_status_1(
    lr: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--lr", lr, "--n", "20", "--steps", "5", "--quiet", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"{PROG}: error: ")
    assert re.search(r"lower (the learning rate|--lr)", line, re.IGNORECASE), line
    assert "trained:" not in captured.out
    assert not list(tmp_path.iterdir())  # no figures of a broken model
