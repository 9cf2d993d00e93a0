"""The playground's server, through Starlette's TestClient and a real `python -m nn.playground`.

Who may connect (Host and Origin, on HTTP and on the WebSocket), every malformed message answered
with an error on a connection that stays open, and each message's round trip: settings, play,
pause, step, reset, point, neuron, freeze, prune, export, steps. A closed socket ends its worker.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "starlette", reason="the playground's web stack is not installed (pip install .[playground])"
)
pytest.importorskip("httpx2", reason="Starlette's TestClient needs httpx2 (in the dev extra)")

from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from nn import load
from nn.playground import Session, Settings
from nn.playground.protocol import CONTROLS, MAX_MESSAGE
from nn.playground.server import IN_FLIGHT, WORKER_NAME, make_app

try:
    from starlette.testclient import WebSocketDenialResponse
except ImportError:  # pragma: no cover - older Starlette: a refused handshake is a disconnect
    WebSocketDenialResponse = WebSocketDisconnect  # type: ignore[misc, assignment]

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
WS = f"ws://127.0.0.1:{PORT}/ws"  # TestClient takes its Host from a full URL
ROOT = Path(__file__).resolve().parents[1]
SMALL = "points=100&hidden=3&batch_size=10"  # an epoch is 5 steps: quick round trips


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app(PORT), base_url=BASE) as c:
        yield c


def receive(ws: Any) -> dict[str, Any]:
    message = json.loads(ws.receive_text())
    assert isinstance(message, dict)
    return message


def start(ws: Any, query: str = SMALL) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send settings; the data and the first snapshot."""
    ws.send_json({"type": "settings", "query": query})
    data, snapshot = receive(ws), receive(ws)
    assert (data["type"], snapshot["type"]) == ("data", "snapshot")
    return data, snapshot


def workers() -> int:
    return sum(t.name.startswith(WORKER_NAME) for t in threading.enumerate())


# -- who may connect ---------------------------------------------------------------------------------

REFUSED = [
    # (headers, status): a foreign Host is a DNS-rebinding attempt; a foreign Origin a cross-site page
    ({"host": "evil.example"}, 400),
    ({"host": f"evil.example:{PORT}"}, 400),
    ({"host": "127.0.0.1:9999"}, 400),
    ({"host": "127.0.0.1"}, 400),
    ({"origin": "http://evil.example"}, 403),
    ({"origin": f"http://evil.example:{PORT}"}, 403),
    ({"origin": f"https://127.0.0.1:{PORT}"}, 403),
    ({"origin": "null"}, 403),
    ({"origin": "http://127.0.0.1:9999"}, 403),
]
ALLOWED = [
    {},
    {"host": f"localhost:{PORT}"},
    {"host": f"LOCALHOST:{PORT}"},
    {"origin": f"http://127.0.0.1:{PORT}"},
    {"origin": f"http://localhost:{PORT}", "host": f"localhost:{PORT}"},
]


@pytest.mark.parametrize(("headers", "status"), REFUSED)
def test_http_from_elsewhere_is_refused(client: TestClient, headers: dict[str, str], status: int) -> None:
    for path in ("/", "/static/app.js"):
        response = client.get(path, headers=headers)
        assert response.status_code == status
        assert response.text.startswith("refused:")


@pytest.mark.parametrize(("headers", "status"), REFUSED)
def test_websocket_from_elsewhere_is_refused(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect(WS, headers=headers):
        pass  # pragma: no cover - never connects
    assert getattr(refused.value, "status_code", status) == status


@pytest.mark.parametrize("headers", ALLOWED)
def test_local_names_are_served(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    assert "<title>" in response.text
    with client.websocket_connect(WS, headers=headers) as ws:
        start(ws)


def test_a_non_local_host_is_accepted_only_when_served_on_it() -> None:
    with TestClient(make_app(PORT, host="192.0.2.7"), base_url=BASE) as c:
        assert c.get("/", headers={"host": f"192.0.2.7:{PORT}"}).status_code == 200
        assert c.get("/", headers={"origin": f"http://192.0.2.7:{PORT}"}).status_code == 200
        assert c.get("/", headers={"host": f"192.0.2.8:{PORT}"}).status_code == 400


def test_the_page_and_its_files_load_nothing_from_elsewhere(client: TestClient) -> None:
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    files = {"index.html": page.text}
    for name in ("app.js", "style.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        files[name] = response.text
    for name, text in files.items():
        for needle in ("http://", "https://", "//cdn", "@import", "fonts.googleapis"):
            assert needle not in text.replace("http://www.w3.org/2000/svg", ""), (name, needle)
    assert client.get("/static/../server.py").status_code == 404
    assert client.post("/").status_code == 405


# -- malformed messages: an error each, and the connection stays -------------------------------------

BAD = [
    # (what the page sends, words of the error)
    ("not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('"play"', "must be a JSON object"),
    ("{}", "unknown type None"),
    ('{"type": "explode"}', "unknown type 'explode'"),
    ('{"type": 3}', "unknown type 3"),
    ('{"type": "play", "extra": 1}', "message 'play': unknown field 'extra'"),
    ('{"type": "settings"}', "message 'settings': query is missing"),
    ('{"type": "settings", "query": 5}', "message 'settings': query must be a string"),
    ('{"type": "settings", "query": "lr=0.5"}', "Settings: lr must be one of"),
    ('{"type": "settings", "query": "hidden=9"}', "Settings: hidden must be"),
    ('{"type": "settings", "query": "bogus=1"}', "Settings: unknown field 'bogus'"),
    ('{"type": "settings", "query": "' + "a=1&" * 70 + '"}', "Max number of fields exceeded"),
    ('{"type": "settings", "query": "' + "x" * 5000 + '"}', "at most 4096 characters"),
    ('{"type": "reset", "new_weights": "yes"}', "message 'reset': new_weights must be true or false"),
    ('{"type": "reset", "new_weights": 1}', "new_weights must be true or false, got 1"),
    ('{"type": "point", "split": "validation", "index": 0}', "message 'point': unknown split 'validation'"),
    ('{"type": "point", "split": "train", "index": -1}', "message 'point': index must be an int from 0"),
    ('{"type": "point", "split": "train", "index": 1.5}', "index must be an int from 0 to 1999, got 1.5"),
    ('{"type": "point", "split": "train", "index": true}', "index must be an int from 0 to 1999, got True"),
    ('{"type": "point", "split": "train", "index": 1e999}', "index must be an int"),
    ('{"type": "point", "split": "train", "index": NaN}', "NaN is not a JSON number"),
    ('{"type": "point", "split": "train", "index": 3}', "message 'point': expanded is missing"),
    (
        '{"type": "point", "split": "train", "index": 3, "expanded": 0}',
        "expanded must be true or false, got 0",
    ),
    (
        '{"type": "point", "split": "train", "index": 70, "expanded": false}',
        "Session.point: index must be an int from 0 to 49",
    ),
    (
        '{"type": "point", "split": "test", "index": 1999, "expanded": true}',
        "Session.point: index must be an int from 0 to 49",
    ),
    ('{"type": "neuron", "layer": 0}', "message 'neuron': index is missing"),
    ('{"type": "neuron", "layer": 2, "index": 0}', "Session.neuron: layer must be an int from 0 to 1"),
    ('{"type": "neuron", "layer": 0, "index": 3}', "Session.neuron: index must be an int from 0 to 2"),
    ('{"type": "neuron", "layer": 99, "index": 0}', "message 'neuron': layer must be an int from 0 to 6"),
    ('{"type": "freeze", "layer": 0, "index": 0}', "message 'freeze': frozen is missing"),
    ('{"type": "prune", "layer": 1, "index": 0}', "Session.prune: layer 1 is the output layer"),
    ('{"type": "steps", "split": "train", "index": 999}', "Session.point_steps: index must be an int"),
    ('{"type": "' + "x" * MAX_MESSAGE + '"}', f"must be at most {MAX_MESSAGE} bytes"),
    ("[" * 10_000 + "]" * 10_000, "must be at most"),
    ("[" * 5_000 + "]" * 5_000, "JSON"),
]


@pytest.mark.parametrize(("text", "words"), BAD)
def test_a_bad_message_gets_an_error_and_the_connection_stays(
    client: TestClient, text: str, words: str
) -> None:
    with client.websocket_connect(WS) as ws:
        start(ws)
        ws.send_text(text)
        error = receive(ws)
        assert error["type"] == "error"
        assert words in error["message"]
        ws.send_json({"type": "step"})  # still served, and the session unchanged by the bad message
        snapshot = receive(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["step"] == 5


def test_binary_frames_and_messages_before_settings_are_errors(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        ws.send_bytes(b'{"type": "play"}')
        assert "binary" in receive(ws)["message"]
        for kind in ("play", "step", "export"):
            ws.send_json({"type": kind})
            error = receive(ws)
            assert error == {
                "type": "error",
                "message": f"message {kind!r}: no session yet; send a 'settings' message first",
                "request": kind,
            }
        start(ws)


# -- round trips ---------------------------------------------------------------------------------------


def test_settings_answer_the_data_then_a_snapshot(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        data, snapshot = start(ws, "dataset=xor&points=200&train_percent=70&features=x1,x2,x1x2&hidden=")
        assert len(data["train"]["x"]) == len(data["train"]["y"]) == 140
        assert len(data["test"]["x"]) == 60
        assert [f["name"] for f in data["features"]] == ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]
        assert data["extent"] == snapshot["extent"] > 0
        assert snapshot["step"] == 0 and snapshot["playing"] is False
        assert [i["name"] for i in snapshot["inputs"]] == ["x1", "x2", "x1x2"]
        assert len(snapshot["layers"]) == 1  # no hidden layer: the output neuron alone
        assert Settings.from_query(dict(p.split("=") for p in snapshot["query"].split("&"))) == Settings(
            dataset="xor", points=200, train_percent=70, features=("x1", "x2", "x1x2"), hidden=()
        )


def test_step_trains_one_epoch_and_reset_goes_back_to_the_same_weights(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        _, first = start(ws)
        ws.send_json({"type": "step"})
        stepped = receive(ws)
        assert (stepped["step"], stepped["epoch"]) == (5, 1.0)
        assert stepped["layers"] != first["layers"]
        ws.send_json({"type": "reset", "new_weights": False})
        again = receive(ws)
        assert again["step"] == 0
        assert again["layers"] == first["layers"] and again["query"] == first["query"]
        ws.send_json({"type": "reset", "new_weights": True})
        fresh = receive(ws)
        assert fresh["step"] == 0 and fresh["layers"] != first["layers"]
        assert "init_seed=0" in first["query"] and fresh["query"] != first["query"]


def test_play_sends_snapshots_as_the_page_acks_and_pause_stops_them(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        start(ws)
        ws.send_json({"type": "ack"})  # the first snapshot is drawn
        ws.send_json({"type": "play"})
        steps = []
        for _ in range(4):
            snapshot = receive(ws)
            assert snapshot["type"] == "snapshot" and snapshot["playing"] is True
            steps.append(snapshot["step"])
            ws.send_json({"type": "ack"})
        assert steps == [5, 10, 15, 20]  # one epoch per update, in order, none skipped
        ws.send_json({"type": "pause"})
        ws.send_json({"type": "export"})
        # What was under way when Pause arrived may still land (at most IN_FLIGHT); then nothing more.
        late = []
        while (message := receive(ws))["type"] == "snapshot":
            late.append(message)
        assert message["type"] == "export"
        assert len(late) <= IN_FLIGHT
        assert [m["step"] for m in late] == list(range(25, 25 + 5 * len(late), 5))
        if late:
            assert late[-1]["playing"] is False
        ws.send_json({"type": "step"})
        assert receive(ws)["step"] == 25 + 5 * len(late)


def test_each_snapshot_counts_the_play_and_pause_read_before_it(client: TestClient) -> None:
    # The page trusts a snapshot's "playing" only when this count equals the controls it has sent: a
    # snapshot already on its way when Pause was pressed says playing, and must not win.
    with client.websocket_connect(WS) as ws:
        assert start(ws)[1]["controls"] == 1  # settings
        ws.send_json({"type": "ack"})
        ws.send_json({"type": "play"})
        playing = receive(ws)
        assert (playing["controls"], playing["playing"]) == (2, True)
        ws.send_json({"type": "pause"})
        ws.send_json({"type": "ack"})
        ws.send_json({"type": "export"})
        while (message := receive(ws))["type"] == "snapshot":
            assert message["controls"] == 2 or (message["controls"], message["playing"]) == (3, False)
        ws.send_json({"type": "step"})
        assert receive(ws)["controls"] == 4


def test_the_page_counts_the_same_controls_as_the_server() -> None:
    app = (ROOT / "nn" / "playground" / "static" / "app.js").read_text(encoding="utf-8")
    match = re.search(r"const CONTROLS = new Set\(\[([^\]]*)\]\)", app)
    assert match is not None
    assert set(json.loads(f"[{match.group(1)}]")) == CONTROLS


def test_play_waits_while_the_page_has_two_snapshots_undrawn(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        start(ws)  # its snapshot is not acknowledged: one in flight
        ws.send_json({"type": "play"})
        assert (receive(ws)["step"], "the second in flight") == (5, "the second in flight")
        time.sleep(0.3)  # room for more epochs, were the loop not waiting
        ws.send_json({"type": "export"})
        assert receive(ws)["type"] == "export"  # no snapshot came first
        ws.send_json({"type": "ack"})
        snapshot = receive(ws)
        assert (snapshot["step"], snapshot["playing"]) == (10, True)
        ws.send_json({"type": "pause"})


def test_divergence_pauses_with_the_advice(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        start(ws, "lr=10&activation=linear&hidden=8,8,8")
        ws.send_json({"type": "ack"})
        ws.send_json({"type": "play"})
        snapshot = receive(ws)
        assert snapshot["playing"] is False
        assert "Lower the learning rate" in snapshot["diverged"]
        ws.send_json({"type": "ack"})
        ws.send_json({"type": "reset", "new_weights": False})
        assert receive(ws)["diverged"] is None


def test_a_failure_while_playing_is_reported_and_play_stops(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Session, epochs: float = 1.0) -> None:
        raise ArithmeticError("a bug in training")

    with client.websocket_connect(WS) as ws:
        start(ws)
        ws.send_json({"type": "ack"})
        monkeypatch.setattr(Session, "train", broken)
        ws.send_json({"type": "play"})
        error = receive(ws)
        assert error["type"] == "error" and error["request"] == "play"
        assert "ArithmeticError: a bug in training" in error["message"]
        monkeypatch.undo()
        ws.send_json({"type": "step"})  # still served
        snapshot = receive(ws)
        assert (snapshot["step"], snapshot["playing"]) == (5, False)


def test_point_neuron_freeze_prune_export_and_steps(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws:
        start(ws, "points=100&hidden=3,2")
        ws.send_json({"type": "step"})
        receive(ws)
        ws.send_json({"type": "point", "split": "test", "index": 4, "expanded": False})
        point = receive(ws)
        assert (point["type"], point["split"], point["index"]) == ("point", "test", 4)
        assert point["svg"].startswith("<svg") and point["nodes"] > 10 and point["label"] in (0, 1)
        ws.send_json({"type": "point", "split": "test", "index": 4, "expanded": True})
        expanded = receive(ws)
        assert expanded["expanded"] is True and expanded["nodes"] == point["nodes"]
        # op by op: more drawn nodes than the boxes by neuron
        assert expanded["svg"].count('class="node"') > point["svg"].count('class="node"')
        ws.send_json({"type": "neuron", "layer": 0, "index": 2})
        neuron = receive(ws)
        assert (neuron["type"], neuron["layer"], neuron["index"], neuron["frozen"]) == ("neuron", 0, 2, False)
        assert len(neuron["delta_points"]["train"]) == 50 and len(neuron["max_grad_history"]) == 1
        ws.send_json({"type": "freeze", "layer": 0, "index": 2, "frozen": True})
        assert receive(ws)["layers"][0]["neurons"][2]["frozen"] is True
        ws.send_json({"type": "freeze", "layer": 0, "index": 2, "frozen": False})
        assert receive(ws)["layers"][0]["neurons"][2]["frozen"] is False
        ws.send_json({"type": "prune", "layer": 0, "index": 1})
        pruned = receive(ws)
        assert [len(layer["neurons"]) for layer in pruned["layers"]] == [2, 2, 1]
        ws.send_json({"type": "export"})
        export = receive(ws)
        assert export["type"] == "export"
        assert Settings.from_json(export["settings"]) == Settings(points=100, hidden=(3, 2))
        ws.send_json({"type": "steps", "split": "train", "index": 0})
        steps = receive(ws)
        assert steps["type"] == "steps" and steps["html"].lstrip().lower().startswith("<!doctype html>")
    model = load_text(export["model"])
    assert [len(layer.neurons) for layer in model.layers] == [2, 2, 1]


def load_text(text: str) -> Any:
    """nn.load of a model exported as text, as the page saves it (model.json)."""
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.json"
        path.write_text(text, encoding="utf-8")
        return load(path)


def test_two_connections_have_two_sessions(client: TestClient) -> None:
    with client.websocket_connect(WS) as one, client.websocket_connect(WS) as two:
        start(one)
        start(two, "dataset=moons")
        one.send_json({"type": "step"})
        assert receive(one)["step"] == 5
        two.send_json({"type": "export"})
        assert Settings.from_json(receive(two)["settings"]).dataset == "moons"


def test_a_closed_socket_stops_its_worker(client: TestClient) -> None:
    before = workers()
    with client.websocket_connect(WS) as ws:
        start(ws, "points=2000&hidden=8,8,8")  # epochs long enough to be mid-training at the close
        ws.send_json({"type": "ack"})
        ws.send_json({"type": "play"})
        receive(ws)
        ws.send_json({"type": "ack"})
        assert workers() == before + 1
    deadline = time.monotonic() + 10
    while workers() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers() == before


# -- python -m nn.playground -----------------------------------------------------------------------------


def run_module(*args: str) -> tuple[subprocess.Popen[str], str]:
    """`python -m nn.playground --no-browser ...` started; the process and the URL it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "nn.playground", "--no-browser", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "http://" in line, line + (process.stderr.read() if process.stderr else "")
    return process, next(word for word in line.split() if word.startswith("http://"))


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    return process.returncode, err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT as Ctrl-C is POSIX")
def test_the_module_serves_on_a_free_port_and_stops_cleanly_on_ctrl_c() -> None:
    process, url = run_module()
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and b"<title>" in response.read()
    finally:
        code, err = stop(process)
    assert code == 0
    assert "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT as Ctrl-C is POSIX")
def test_a_non_local_host_is_served_with_a_warning() -> None:
    process, url = run_module("--host", "0.0.0.0")
    code, err = stop(process)
    assert url.startswith("http://0.0.0.0:")
    assert code == 0
    assert "warning: serving on 0.0.0.0, not 127.0.0.1" in err


def test_the_module_refuses_a_bad_port() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nn.playground", "--no-browser", "--port", "70000"],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 2
    assert "--port must be from 0 to 65535, got 70000" in result.stderr


def test_import_nn_leaves_the_web_stack_alone() -> None:
    web = "{'starlette', 'uvicorn', 'websockets', 'IPython'}"
    code = f"import sys, nn, nn.playground; print(sorted({{m.split('.')[0] for m in sys.modules}} & {web}))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.stdout.strip() == "[]"


def test_show_embeds_the_page_from_one_background_server() -> None:
    pytest.importorskip("IPython", reason="show() is for Jupyter (IPython)")
    from nn.playground import show  # noqa: PLC0415

    frame = show(height=700)
    again = show()
    assert frame.src == again.src and frame.src.startswith("http://127.0.0.1:")
    assert frame.height == 700 and again.width == "100%"
    with urllib.request.urlopen(frame.src, timeout=10) as response:
        assert response.status == 200 and b"<title>" in response.read()
