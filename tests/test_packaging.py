"""What `pip install backprop-lab` gets: every module of both packages, as an editable install has.

And the playground's page (nn/playground/static/), which it serves from the installed package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # builds a wheel (a few seconds)


def test_the_wheel_holds_every_module_and_the_type_markers(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for package in ("engine", "nn"):  # a copy, so the build leaves nothing in the checkout
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist")],
        check=True,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("backprop_lab-*.whl")
    packaged = {name for name in zipfile.ZipFile(wheel).namelist() if not name.startswith("backprop_lab")}
    expected = {
        path.relative_to(source).as_posix()
        for package in ("engine", "nn")
        for path in (source / package).rglob("*")
        if path.suffix == ".py" or path.name == "py.typed" or path.parent.name == "static"
    }
    assert expected - packaged == set(), "modules missing from the wheel"
    assert {"engine/draw/__init__.py", "nn/experiments/__main__.py", "nn/py.typed"} <= packaged
    assert {"nn/playground/static/index.html", "nn/playground/static/app.js"} <= packaged
