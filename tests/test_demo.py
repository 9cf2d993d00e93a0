"""`python -m engine`, the README's first command's demo, runs and shows micrograd's lecture numbers."""

from __future__ import annotations

import subprocess
import sys


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
