"""The demos: `python -m engine` shows micrograd's lecture numbers; `python -m nn.demo` trains and draws."""

from __future__ import annotations

import html
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nn import demo, standardize

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


@pytest.mark.slow  # trains micrograd's demo for 100 steps
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
        texts = svg_texts((out / "neuron.svg").read_text(encoding="utf-8"))
        # micrograd's recipe leaves every margin above 1, where the hinge loss has no gradient: the
        # figure shows the logistic loss instead, says so, and its neuron has a gradient.
        assert any(CAPTION.fullmatch(text) for text in texts)
        assert all(line in texts for line in FLAT_HINGE)
        assert "relu" in texts and record(texts, "z")["grad"] != 0.0
        assert f"wrote {out / 'neuron.svg'}" in run.stdout


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
        (["--n", "1"], "argument --n: make_moons: n must be an int ≥ 2 (a point per class), got 1"),
        (
            ["--dataset", "xor", "--n", "3"],
            "argument --n: make_xor: n must be an int ≥ 4 (a point per class), got 3",
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


# -- neuron.svg: a neuron whose gradient is not zero, and a caption saying what is shown -----------

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")
FLAT_HINGE = [
    "Every margin is at least 1, where the hinge loss max(0, 1 − y·s) is 0 and has no gradient.",
    "Shown instead: this example's logistic loss L = log(1 + exp(−y·s)), never flat.",
]
HINGE = ["Its margin is below 1, where its hinge loss L = max(0, 1 − y·s) has a gradient."]
CROSS_ENTROPY = ["Its loss: cross entropy L = −log softmax(s)[y], never flat."]
CAPTION = re.compile(
    r"Neuron (\d+) of layer 0 on training example (\d+): x = \((\S+), (\S+)\), label (\S+), "
    r"the smallest margin of all \((y·s|s\[y\] − the largest other s) = (\S+)\)\."
)


def svg_texts(svg: str) -> list[str]:
    """The texts of an SVG drawn by graphviz, in order: caption lines, record fields, labels."""
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def record(texts: list[str], label: str) -> dict[str, float]:
    """The numbers in the record of the value labelled label: {"data": ...} and "grad" if it has one."""
    i = texts.index(label) + 1
    fields = {}
    while i < len(texts) and re.fullmatch(r"(data|grad) \S+", texts[i]):
        name, number = texts[i].split()
        fields[name] = float(number)
        i += 1
    return fields


@needs_dot
@pytest.mark.parametrize(
    ("args", "why", "blamed"),
    [
        # Trained until every margin is past 1 (as micrograd's recipe leaves moons): the hinge is flat.
        ("--dataset xor --n 8 --hidden 4 --steps 30", FLAT_HINGE, True),
        ("--dataset moons --n 20 --hidden 8 --steps 2", HINGE, True),
        ("--dataset spiral --n 30 --hidden 8 --steps 3", CROSS_ENTROPY, True),
        # One hidden neuron, inactive on the hardest example: nothing to blame, and the caption says so.
        ("--dataset moons --n 10 --hidden 1 --steps 1 --seed 11", HINGE, False),
    ],
)
def test_demo_draws_a_neuron_with_a_gradient_and_says_which_in_the_caption(
    args: str, why: list[str], blamed: bool, tmp_path: Path
) -> None:
    assert demo.main([*args.split(), "--quiet", "--out", str(tmp_path)]) == 0
    texts = svg_texts((tmp_path / "neuron.svg").read_text(encoding="utf-8"))
    first = next(CAPTION.fullmatch(t) for t in texts if t.startswith("Neuron "))
    assert first is not None, texts[:5]
    j, k, x0, x1 = int(first[1]), int(first[2]), float(first[3]), float(first[4])
    # The caption names an example of the training data and the neuron that is drawn.
    options = dict(zip(args.split()[::2], args.split()[1::2]))
    X, _ = demo.DATASETS[options["--dataset"]](n=int(options["--n"]), seed=int(options.get("--seed", 1337)))
    X, _, _ = standardize(X)
    assert (x0, x1) == (round(X[k, 0], 2), round(X[k, 1], 2))
    assert f"layer 0 · neuron {j}" in texts
    assert texts[texts.index(first[0]) + 1 : texts.index(first[0]) + 1 + len(why)] == why
    # The neuron's path: z = w·x + b and a = relu(z), their grads ∂L/∂z = δ and ∂L/∂a.
    z, a = record(texts, "z"), record(texts, "a")
    assert a["grad"] != 0.0
    if blamed:
        assert z["grad"] != 0.0 and "This neuron has the largest |δ| in layer 0: δ = ∂L/∂z = " in " ".join(
            texts
        )
    else:
        assert z["grad"] == 0.0 and "δ = ∂L/∂z is 0 for every neuron of layer 0 here" in " ".join(texts)
    # This one example's loss alone: w's grad is δ·x (no L2 term, nothing left over from training).
    for i in (0, 1):
        x, w = record(texts, f"x{i}"), record(texts, f"w{i}")
        assert w["grad"] == pytest.approx(z["grad"] * x["data"], abs=2e-4)


def test_demo_without_dot_writes_the_neurons_dot_text_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    out = tmp_path / "figures"
    args = ["--dataset", "moons", "--n", "20", "--hidden", "8", "--steps", "2", "--quiet", "--out", str(out)]
    assert demo.main(args) == 0
    captured = capsys.readouterr()
    assert "no neuron.svg: graphviz's `dot` program is not installed" in captured.err
    assert f"wrote {out / 'neuron.dot'}" in captured.out
    assert not (out / "neuron.svg").exists()
    dot = (out / "neuron.dot").read_text(encoding="utf-8")
    assert CAPTION.search(dot) and HINGE[0] in dot
    z = re.search(r'label="\{ z \| data (\S+) \| grad (\S+) \}"', dot)
    assert z is not None and float(z[2]) != 0.0
