"""The live playground: train a small net on the engine and see every neuron, weight and gradient.

Settings holds every control (and is the page's URL query); Session trains one learner's model
and gives each view's numbers. The web server is apart, and imported only when started: `serve()`
(or `python -m nn.playground`) runs it until Ctrl-C, `show()` embeds the page in a Jupyter notebook.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .session import Session
from .settings import Settings

__all__ = ["Session", "Settings", "serve", "show"]

_started: list[str] = []  # the URL of show()'s background server, once it is started


def serve(port: int = 0, open_browser: bool = True, host: str = "127.0.0.1") -> None:
    """Serve the playground on host:port (0: a free port) until Ctrl-C, opening it in the browser."""
    server = _web("serve")
    server.run(server.bind(host, port), host, open_browser)


def show(width: int | str = "100%", height: int = 860) -> Any:
    """The playground inline in Jupyter: an IFrame of the page, its server started once in a thread."""
    server = _web("show")
    try:
        from IPython.display import IFrame  # noqa: PLC0415
    except ImportError as err:
        raise ImportError(f"nn.playground.show: needs IPython (run it in Jupyter); {err}") from None
    if not _started:
        _started.append(server.start())
    return IFrame(_started[0], width=width, height=height)


def _web(fn: str) -> ModuleType:
    """The server module: the web stack (starlette, uvicorn) only when asked, so `import nn` stays light."""
    try:
        from . import server  # noqa: PLC0415
    except ImportError as err:
        raise ImportError(
            f"nn.playground.{fn}: needs the web stack: pip install 'backprop-lab[playground]' ({err})"
        ) from None
    return server
