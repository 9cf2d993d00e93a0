"""The playground's web server: the page, its static files, and one training Session per WebSocket.

A Starlette app served by uvicorn on 127.0.0.1. Every HTTP request and WebSocket handshake must name
this server as its Host (and, when the browser sends one, its Origin), so a web page elsewhere cannot
reach it through DNS rebinding or a cross-site WebSocket. Each connection owns one Session, touched
only by the connection's one worker thread: while playing, that thread trains one epoch per update and
the page acknowledges each snapshot it has drawn; with IN_FLIGHT (2) unacknowledged the next epoch
waits, so a slow page never builds a queue, and the event loop stays free to hear Pause. A closed tab
ends its connection, its worker and its session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from .protocol import CONTROLS, MESSAGES, Message, ProtocolError, parse
from .session import INPUT_GRID, Session, grid, heatmap
from .settings import FEATURES, Settings, features

__all__ = ["LOCAL_HOSTS", "WORKER_NAME", "bind", "make_app", "run", "start"]

STATIC = Path(__file__).with_name("static")
LOCAL_HOSTS = ("127.0.0.1", "localhost")
WORKER_NAME = "playground-session"  # the worker threads' name prefix (a test watches them end)
# Snapshots the page may hold unacknowledged while playing: the one it is drawing and the next, which
# the worker trains meanwhile. A slow page still never builds a queue; a fast one never waits for
# the round trip of an ack before the next epoch starts.
IN_FLIGHT = 2
# uvicorn closes the connection on a frame past this; messages past protocol.MAX_MESSAGE (16 KiB) but
# under it are answered with an error, as every other bad message is, and the connection stays open.
WS_MAX_SIZE = 256 * 1024
HEADERS = {
    "Cache-Control": "no-store",  # a reload after an upgrade gets the new page
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

log = logging.getLogger("nn.playground")
T = TypeVar("T")


# -- who may talk to it ------------------------------------------------------------------------------


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class LocalOnly:
    """ASGI middleware: refuse a request whose Host, or Origin when present, is not this server."""

    def __init__(self, app: ASGIApp, port: int, host: str) -> None:
        self.app = app
        names = dict.fromkeys([*LOCAL_HOSTS, host.lower()])
        self.hosts = frozenset(_authority(name, port) for name in names)
        self.origins = frozenset(f"http://{authority}" for authority in self.hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host, origin = headers.get("host", "").lower(), headers.get("origin")
        if host not in self.hosts:
            await _refuse(scope, receive, send, 400, f"refused: Host {host!r} is not this playground's")
        elif origin is not None and origin.lower() not in self.origins:
            await _refuse(scope, receive, send, 403, f"refused: Origin {origin!r} is not this playground's")
        else:
            await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, why: str) -> None:
    response = PlainTextResponse(why, status_code=status)
    if scope["type"] == "http":
        await response(scope, receive, send)
        return
    websocket = WebSocket(scope, receive, send)
    if "websocket.http.response" in scope.get("extensions", {}):
        await websocket.send_denial_response(response)  # the browser sees the status
    else:
        await websocket.close(code=1008)  # policy violation: the server answers the handshake 403


# -- the app -----------------------------------------------------------------------------------------


def make_app(port: int, host: str = "127.0.0.1") -> Starlette:
    """The playground app for a server at host:port (Host and Origin checked against both names)."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=HEADERS)

    async def connect(websocket: WebSocket) -> None:
        await websocket.accept()
        await Connection(websocket).run()

    app = Starlette(
        routes=[
            Route("/", index),
            WebSocketRoute("/ws", connect),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
    app.add_middleware(LocalOnly, port=port, host=host)
    return app


class Connection:
    """One page: its Session, the worker thread that alone touches it, and the play loop."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.session: Session | None = None  # from the page's first settings message
        self.playing = False
        self.controls = 0  # messages in CONTROLS read so far, refused ones included, as the page counts
        self.unacked = 0  # snapshots sent and not yet acknowledged by the page
        self.room = asyncio.Event()  # set while unacked < IN_FLIGHT: the play loop may train the next
        self.room.set()
        self.player: asyncio.Task[None] | None = None
        self.closed = False  # the page has gone
        self.sending = asyncio.Lock()  # the play loop and the message handler both send
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=WORKER_NAME)
        self.handlers: Mapping[str, Callable[[Message], Awaitable[None]]] = {
            "settings": self.on_settings,
            "play": self.on_play,
            "pause": self.on_pause,
            "step": self.on_step,
            "ack": self.on_ack,
            "reset": self.on_reset,
            "point": self.on_point,
            "neuron": self.on_neuron,
            "freeze": self.on_freeze,
            "prune": self.on_prune,
            "export": self.on_export,
            "steps": self.on_steps,
        }
        assert self.handlers.keys() == MESSAGES.keys()

    async def run(self) -> None:
        """Answer the page's messages until it goes; then stop the play loop and free the worker."""
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await self.handle(
                    message.get("text") if message.get("text") is not None else message.get("bytes")
                )
        except (WebSocketDisconnect, WebSocketDisconnected):
            return
        finally:
            self.closed = True
            self.playing = False
            if self.player is not None:
                self.player.cancel()
            # The running epoch (if any) finishes; nothing queued runs; then the thread ends.
            self.worker.shutdown(wait=False, cancel_futures=True)

    async def handle(self, text: str | bytes | None) -> None:
        """One message: its handler, or an error message back (the connection stays open)."""
        kind = None
        try:
            message = parse(text)
            kind = message.type
            if kind in CONTROLS:
                self.controls += 1
            await self.handlers[kind](message)
        except (WebSocketDisconnect, WebSocketDisconnected):
            raise
        except ValueError as error:  # ProtocolError, and the Session's and Settings' refusals
            await self.error(str(error), kind)
        except Exception as error:  # a bug: say so on the page and keep serving
            log.exception("playground: message %s failed", kind)
            await self.error(f"server error in {kind or 'a message'}: {type(error).__name__}: {error}", kind)

    # -- sending -----------------------------------------------------------------------------------

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
        async with self.sending:
            await self.websocket.send_text(text)

    async def error(self, message: str, request: str | None) -> None:
        await self.send({"type": "error", "message": message, "request": request})

    async def send_snapshot(self, snapshot: dict[str, Any], query: str) -> None:
        self.unacked += 1
        if self.unacked >= IN_FLIGHT:
            self.room.clear()
        payload = {"type": "snapshot", "playing": self.playing, "controls": self.controls, "query": query}
        await self.send({**payload, **snapshot})

    async def call(self, job: Callable[[], T]) -> T:
        """job() on the worker thread, after whatever is queued there."""
        return await asyncio.get_running_loop().run_in_executor(self.worker, job)

    def need(self, message: Message) -> Session:
        if self.session is None:
            raise ProtocolError(f"message {message.type!r}: no session yet; send a 'settings' message first")
        return self.session

    def view(self) -> tuple[dict[str, Any], str]:
        """The session's snapshot and its settings as a query (worker thread)."""
        assert self.session is not None
        return self.session.snapshot(), self.session.settings.to_query()

    # -- the handlers --------------------------------------------------------------------------------

    async def on_settings(self, message: Message) -> None:
        self.playing = False
        params = parse_qs(message.text("query"), keep_blank_values=True, max_num_fields=64)
        settings = Settings.from_query(params)

        def build() -> tuple[dict[str, Any], dict[str, Any], str]:
            self.session = Session(settings)
            data = self.session.data()
            return ({**data, "features": feature_maps(data["extent"])}, *self.view())

        data, snapshot, query = await self.call(build)
        await self.send({"type": "data", **data})
        await self.send_snapshot(snapshot, query)

    async def on_play(self, message: Message) -> None:
        self.need(message)
        self.playing = True
        if self.player is None or self.player.done():
            self.player = asyncio.create_task(self.play())

    async def on_pause(self, message: Message) -> None:
        self.playing = False

    async def on_ack(self, message: Message) -> None:
        self.unacked = max(0, self.unacked - 1)
        if self.unacked < IN_FLIGHT:
            self.room.set()

    async def on_step(self, message: Message) -> None:
        session = self.need(message)
        self.playing = False

        def step() -> tuple[dict[str, Any], str]:
            session.train(1.0)
            return self.view()

        await self.send_snapshot(*await self.call(step))

    async def on_reset(self, message: Message) -> None:
        session = self.need(message)
        self.playing = False

        def reset() -> tuple[dict[str, Any], str]:
            session.reset(new_weights=message.flag("new_weights"))
            return self.view()

        await self.send_snapshot(*await self.call(reset))

    async def on_point(self, message: Message) -> None:
        session = self.need(message)
        detail = await self.call(
            lambda: session.point(message.text("split"), message.number("index"), message.flag("expanded"))
        )
        await self.send({**detail, "type": "point"})

    async def on_neuron(self, message: Message) -> None:
        session = self.need(message)
        detail = await self.call(lambda: session.neuron(message.number("layer"), message.number("index")))
        await self.send({**detail, "type": "neuron"})

    async def on_freeze(self, message: Message) -> None:
        session = self.need(message)

        def freeze() -> tuple[dict[str, Any], str]:
            session.freeze(message.number("layer"), message.number("index"), message.flag("frozen"))
            return self.view()

        await self.send_snapshot(*await self.call(freeze))

    async def on_prune(self, message: Message) -> None:
        session = self.need(message)

        def prune() -> tuple[dict[str, Any], str]:
            session.prune(message.number("layer"), message.number("index"))
            return self.view()

        await self.send_snapshot(*await self.call(prune))

    async def on_export(self, message: Message) -> None:
        session = self.need(message)
        model, settings = await self.call(lambda: (session.export_model(), session.export_settings()))
        await self.send({"type": "export", "model": model, "settings": settings})

    async def on_steps(self, message: Message) -> None:
        session = self.need(message)
        html = await self.call(lambda: session.point_steps(message.text("split"), message.number("index")))
        await self.send({"type": "steps", "html": html})

    # -- playing ---------------------------------------------------------------------------------------

    async def play(self) -> None:
        """Train an epoch and send its snapshot, while the page has room for it; until paused or diverged."""

        def epoch() -> tuple[dict[str, Any], str] | None:
            if not self.playing or self.session is None:  # paused (or rebuilt) while this job waited
                return None
            self.session.train(1.0)
            return self.view()

        try:
            while self.playing:
                await self.room.wait()
                update = await self.call(epoch) if self.playing else None
                if update is None:
                    return
                if update[0].get("diverged"):
                    self.playing = False  # the snapshot carries the advice; the page shows it
                await self.send_snapshot(*update)
        except (WebSocketDisconnect, WebSocketDisconnected):  # the page went; run() cleans up
            self.playing = False
        except Exception as error:  # the worker shut down under a closing page, or a bug: stop, say so
            self.playing = False
            if not self.closed:
                log.exception("playground: the play loop failed")
                await self.error(f"server error while playing: {type(error).__name__}: {error}", "play")


def feature_maps(extent: float) -> list[dict[str, str]]:
    """All seven input features as heatmaps over the plane, scaled as the snapshot's inputs are."""
    values = features(grid(extent, INPUT_GRID), list(FEATURES))
    maps = []
    for k, (name, feature) in enumerate(FEATURES.items()):
        top = float(abs(values[:, k]).max())  # scaled to span the picture, as the snapshot's inputs are
        maps.append({"name": name, "label": feature.label, "heatmap": heatmap(values[:, k] / (top or 1.0))})
    return maps


# -- running it --------------------------------------------------------------------------------------


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket on host:port (port 0: a free one, read back with getsockname)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def url_of(sock: socket.socket, host: str) -> str:
    """The page's address: http://127.0.0.1:PORT/ (or the non-local host it was bound to)."""
    port = sock.getsockname()[1]
    return f"http://{_authority(host, port)}/"


def _server(sock: socket.socket, host: str) -> uvicorn.Server:
    app = make_app(sock.getsockname()[1], host)
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", ws_max_size=WS_MAX_SIZE, timeout_graceful_shutdown=5
    )
    return uvicorn.Server(config)


def run(sock: socket.socket, host: str = "127.0.0.1", open_browser: bool = True) -> None:
    """Serve on sock until Ctrl-C (then return, no traceback); print the URL, open it unless told not to."""
    url = url_of(sock, host)
    server = _server(sock, host)
    if host not in (*LOCAL_HOSTS, "::1"):
        print(
            f"warning: serving on {host}, not 127.0.0.1: anyone who can reach this address can open the "
            f"playground and run training on this machine. Browse to it as {host} (the one non-local "
            "name it answers to).",
            file=sys.stderr,
            flush=True,
        )
    try:  # from the moment the URL is out, Ctrl-C is a clean stop
        print(f"backprop-lab playground: {url}  (Ctrl-C to stop)", flush=True)
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # before uvicorn caught the signal, or re-raised by it after a clean shutdown
        pass
    finally:
        sock.close()


def start(host: str = "127.0.0.1", port: int = 0, timeout: float = 10.0) -> str:
    """Serve from a daemon thread (as Jupyter needs) and return the URL once the server is up."""
    sock = bind(host, port)
    server = _server(sock, host)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="playground", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"nn.playground: the server did not start within {timeout} s")
        time.sleep(0.02)
    return url_of(sock, host)
