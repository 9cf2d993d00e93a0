"""save and load: a model as JSON (architecture and parameters, no pickle), written atomically."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .module import MLP, Layer, Module, Neuron

__all__ = ["FORMAT", "load", "save"]

FORMAT = "backprop-lab model"
VERSION = 1

# What a file may hold, and how to rebuild each from its config (the weights come after).
_BUILDERS: dict[str, Any] = {
    "Neuron": lambda c: Neuron(c["nin"], activation=c["activation"], seed=0),
    "Layer": lambda c: Layer(c["nin"], c["nout"], activation=c["activation"], seed=0),
    "MLP": lambda c: MLP(
        c["nin"], c["nouts"], activation=c["activation"], output_activation=c["output_activation"], seed=0
    ),
}


def save(model: Module, path: str | os.PathLike[str]) -> None:
    """Write model to path as JSON, atomically: a crash mid-save leaves the old file, never half a file."""
    if not isinstance(model, (Neuron, Layer, MLP)):
        raise TypeError(
            f"save: can save a Neuron, Layer or MLP, got {type(model).__name__}; "
            "for another Module, save its state_dict() yourself"
        )
    state = model.state_dict()
    for name, x in state.items():
        if not math.isfinite(x):
            raise ValueError(f"save: parameter {name} is {x}: the model has diverged, so it is not saved")
    document = {"format": FORMAT, "version": VERSION, "model": model.config(), "parameters": state}
    text = json.dumps(document, indent=1, allow_nan=False)  # repr-exact floats: a load gives the same bits
    target = Path(path)
    # Write a temporary file beside the target, flush it to disk, then rename it over the target:
    # a rename within one filesystem is atomic, so readers see the old file or the new one.
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(target.parent)


def load(path: str | os.PathLike[str], model: Module | None = None) -> Module:
    """The model saved at path, rebuilt; or, given a model of the same architecture, its parameters
    set from the file. A bad file raises ValueError and changes nothing."""
    where = f"load: {os.fspath(path)}"
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{where} is not a saved model (not valid JSON: {err})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{where} is not a saved model (not UTF-8 text)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{where} is not a saved model (no {FORMAT!r} format tag)")
    version = document.get("version")
    if version != VERSION:
        raise ValueError(f"{where} has format version {version!r}; this library reads version {VERSION}")
    config, state = document.get("model"), document.get("parameters")
    if not isinstance(config, dict) or config.get("type") not in _BUILDERS or not isinstance(state, dict):
        raise ValueError(f"{where} is damaged: its model or parameters section is missing or unknown")
    if model is not None and model.config() != config:
        raise ValueError(
            f"{where} holds a different architecture: {config} in the file, "
            f"{model.config()} in the model given"
        )
    try:
        target = model if model is not None else _BUILDERS[config["type"]](config)
        target.load_state_dict(state)
    except KeyError as err:  # a builder looked for an entry the model section lacks
        raise ValueError(f"{where} is damaged: its model section has no {err.args[0]!r} entry") from None
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} is damaged: {err}") from None
    return target


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); where directories cannot be opened, skip it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
