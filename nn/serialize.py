"""save and load: a model as JSON (architecture and parameters, no pickle), written atomically."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

from ._checks import described, is_int, is_real, show
from .module import MLP, Layer, Module, Neuron, config_class, config_parameters, config_problem

try:  # POSIX: a save holds a lock on its temporary file, so a later save can tell an abandoned one
    import fcntl
except ImportError:  # Windows: no cleanup of temporary files left by a killed save
    fcntl = None  # type: ignore[assignment]

__all__ = ["FORMAT", "dumps", "load", "save"]

FORMAT = "backprop-lab model"
VERSION = 1

_SECTIONS = ("format", "version", "model", "parameters")


def save(model: Module, path: str | os.PathLike[str]) -> None:
    """Write model to path as JSON, atomically: a crash mid-save leaves the old file, never half a file.

    The file keeps its permissions (a new one gets the mode open() would give it), a symlink is
    written through to the file it points to, and a save removes the temporary files that saves
    of the same path killed mid-write left behind.
    """
    text = _text("save", model)
    try:
        # Through a symlink: replacing the link itself would turn it into a file of its own.
        _write_atomically(Path(os.path.realpath(path)), text)
    except OSError as err:  # name the file the caller asked for, not the temporary one
        if err.errno is None:
            raise OSError(f"save: {os.fspath(path)}: {err}") from None
        raise OSError(err.errno, f"save: {err.strerror}", os.fspath(path)) from None


def dumps(model: Module) -> str:
    """The JSON text save writes, as a str (to send a model elsewhere than a file)."""
    return _text("dumps", model)


def _text(fn: str, model: Module) -> str:
    """model's file: {"format", "version", "model": its config, "parameters": its state_dict}."""
    if not isinstance(model, (Neuron, Layer, MLP)):
        raise TypeError(
            f"{fn}: can save a Neuron, Layer or MLP, got {type(model).__name__}; "
            "for another Module, save its state_dict() yourself"
        )
    state = {name: _parameter(fn, name, x) for name, x in model.state_dict().items()}
    document = {"format": FORMAT, "version": VERSION, "model": model.config(), "parameters": state}
    return (
        json.dumps(document, indent=1, allow_nan=False) + "\n"
    )  # repr-exact floats: a load gives the same bits


def load(path: str | os.PathLike[str], model: Module | None = None) -> Module:
    """The model saved at path, rebuilt; or, given a model of the same architecture, its parameters
    set from the file. A bad file raises ValueError naming it and changes nothing."""
    where = f"load: {os.fspath(path)}"
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{where} is not a saved model (not valid JSON: {err})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{where} is not a saved model (not UTF-8 text)") from None
    except RecursionError:  # [[[[...]]]]: json's parser gives up past Python's recursion limit
        raise ValueError(f"{where} is not a saved model (its JSON is nested too deeply)") from None
    except ValueError:  # valid JSON, but an integer longer than Python reads from text
        raise ValueError(
            f"{where} is damaged: it holds an integer of more than {sys.get_int_max_str_digits()} digits"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{where} is not a saved model (no {FORMAT!r} format tag)")
    version = document.get("version")
    if not (is_int(version) and version == VERSION):
        raise ValueError(f"{where} has format version {show(version)}; this library reads version {VERSION}")
    config, state = document.get("model"), document.get("parameters")
    if not isinstance(config, dict) or not isinstance(state, dict) or config_class(config) is None:
        raise ValueError(f"{where} is damaged: its model or parameters section is missing or unknown")
    extra = [key for key in document if key not in _SECTIONS]
    if extra:  # a version-1 file has these four sections and no other
        raise ValueError(f"{where} is damaged: it has an unexpected section {show(extra[0])}")
    try:
        expected = _parameter_count(config)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} is damaged: {err}") from None
    # Checked before anything is built: a few bytes declaring MLP(2, [100000, 100000, 1]) must not
    # make the 10 billion parameters it describes. No more is built than the file can fill (extra
    # entries are named by load_state_dict).
    if expected > len(state):
        raise ValueError(
            f"{where} is damaged: its model section describes {_count(expected)} parameters, "
            f"its parameters section holds {len(state):,}"
        )
    if model is not None and model.config() != config:
        raise ValueError(
            f"{where} holds a different architecture: {config} in the file, "
            f"{model.config()} in the model given"
        )
    try:
        target = model if model is not None else Module.from_config(config)
        target.load_state_dict(state)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where} is damaged: {err}") from None
    return target


# -- checking a file ------------------------------------------------------------------------------


def _parameter(fn: str, name: str, x: object) -> float:
    """A parameter's value as the float JSON will hold, or an error naming the parameter."""
    if not is_real(x):
        raise TypeError(f"{fn}: parameter {name} must be a number, got {described(x)}")
    try:
        value = float(x)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"{fn}: parameter {name} is {value}: the model has diverged, so it is not saved")
    return value


def _parameter_count(config: dict[str, Any]) -> int:
    """How many parameters the architecture in config has, its sizes checked (no model is built)."""
    problem = config_problem(config)
    if problem is not None:
        raise ValueError(f"its model section {problem}")
    return config_parameters(config)


def _count(n: int) -> str:
    return f"{n:,}" if n.bit_length() < 64 else show(n)


# -- writing atomically ---------------------------------------------------------------------------


def _write_atomically(target: Path, text: str) -> None:
    """Write a temporary file beside target, flush it to disk, then rename it over target.

    A rename within one filesystem is atomic, so readers see the old file or the new one, whole.
    The temporary file is named after the target (.model.json.<random>.tmp) and locked while it
    is written: a save killed mid-write leaves an unlocked one, which the next save removes.
    """
    _remove_abandoned(target)
    fd, temporary, locked = _create_temporary(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            with contextlib.suppress(FileNotFoundError):  # a new file keeps the mode open() gave it
                _copy_mode(target, fd, temporary)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
            if locked:  # renamed with the lock still held: no later save takes it for abandoned
                os.replace(temporary, target)
        if not locked:
            os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(target.parent)


def _copy_mode(target: Path, fd: int, temporary: str) -> None:
    """Give the temporary file target's permission bits, so that the rename keeps them."""
    mode = stat.S_IMODE(os.stat(target).st_mode)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows before Python 3.13
        os.chmod(temporary, mode)


def _temporary_name(target: Path) -> re.Pattern[str]:
    # 8 characters from [a-z0-9_], the names tempfile.mkstemp gave in earlier versions included.
    return re.compile(rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}\.tmp")


def _create_temporary(target: Path) -> tuple[int, str, bool]:
    """A new, empty file beside target, locked for as long as it is open where locks exist.

    Created with the mode open() gives (0o666 less the umask), not mkstemp's 0o600.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        temporary = os.fspath(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temporary, flags, 0o666)
        except FileExistsError:
            continue
        try:
            locked = _lock(fd, temporary)
        except BaseException:
            os.close(fd)
            raise
        if locked is not None:
            return fd, temporary, locked
        os.close(fd)  # another save removed it before the lock was taken: take a new name
    raise FileExistsError(17, "no unused temporary file name", os.fspath(target))


def _lock(fd: int, temporary: str) -> bool | None:
    """Lock the new file: True, or False where locks are not available; None if it is already gone."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # a filesystem without locks: saves still work, the cleanup skips such files
        return False
    # A save cleaning up can take the file for abandoned between its creation and this lock, and
    # remove it; once the lock is held, it no longer can.
    try:
        return True if os.path.samestat(os.fstat(fd), os.stat(temporary, follow_symlinks=False)) else None
    except FileNotFoundError:
        return None


def _remove_abandoned(target: Path) -> None:
    """Remove target's temporary files that no save is writing (left by a save that was killed)."""
    if fcntl is None:
        return
    pattern = _temporary_name(target)
    try:
        names = [name for name in os.listdir(target.parent) if pattern.fullmatch(name)]
    except OSError:
        return
    for name in names:
        path = os.fspath(target.parent / name)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a save holds it
            if os.path.samestat(os.fstat(fd), os.stat(path, follow_symlinks=False)):
                os.unlink(path)
        except OSError:
            pass
        finally:
            os.close(fd)


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
