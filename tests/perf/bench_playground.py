"""Playground benchmark: live updates per second, end to end, at TensorFlow Playground's default setup.

Run by hand (never by pytest): `.venv/bin/python tests/perf/bench_playground.py` (`--seconds 5` for
a short run, `--query "hidden=8,8"` for other settings, `--no-browser` to skip the browser part).
The settings are the playground's defaults: circles, 500 points (250 to train), batch 10, an
MLP(2, [4, 2, 1]) of tanh units; one update is one epoch (25 optimizer steps) and its snapshot
(every heatmap: the 64 × 64 output, each neuron's and input's 32 × 32, weights, gradients, curves).

1. The session alone: Session.train(1) + snapshot() in a loop, in this process (the ceiling).
2. Over the WebSocket: `python -m nn.playground` in a subprocess, a `websockets` client that sends
   Play and acknowledges each snapshot as soon as it arrives, for --seconds.
3. In the browser: chromium (Playwright) on the page, Play pressed, the snapshots the page drew in
   --seconds (its data-snapshots counter), and the mean time it spent drawing each.
Machines are shared and noisy: quote the figures with the machine, and rerun before comparing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from nn.playground import Session, Settings  # noqa: E402


def session_alone(query: str, seconds: float) -> float:
    """Updates per second of Session.train(1) + snapshot(), no server."""
    session = Session(Settings.from_query(parse_qs(query, keep_blank_values=True)))
    session.train(1.0)  # the first step compiles the tape
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        session.train(1.0)
        json.dumps(session.snapshot())  # the server encodes each one too
        count += 1
    return count / (time.perf_counter() - start)


def start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "nn.playground", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = next((word for word in line.split() if word.startswith("http://")), None)
    if url is None:
        process.kill()
        sys.exit(f"the server did not start: {line}{process.communicate()[1]}")
    return process, url


def over_websocket(url: str, query: str, seconds: float) -> tuple[float, float]:
    """Updates per second a client gets that acks each snapshot at once; mean snapshot size in bytes."""
    from websockets.sync.client import connect  # noqa: PLC0415  # the playground extra

    host = urlsplit(url).netloc
    with connect(f"ws://{host}/ws", origin=f"http://{host}", max_size=None) as ws:  # type: ignore[arg-type]
        ws.send(json.dumps({"type": "settings", "query": query}))
        json.loads(ws.recv())  # data
        json.loads(ws.recv())  # the first snapshot
        ws.send(json.dumps({"type": "ack"}))
        ws.send(json.dumps({"type": "play"}))
        json.loads(ws.recv())  # warm-up: the first epoch compiles the tape
        ws.send(json.dumps({"type": "ack"}))
        count, size, start = 0, 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            text = ws.recv()
            snapshot = json.loads(text)
            assert snapshot["type"] == "snapshot", snapshot
            ws.send(json.dumps({"type": "ack"}))
            count += 1
            size += len(text)
        elapsed = time.perf_counter() - start
        ws.send(json.dumps({"type": "pause"}))
    return count / elapsed, size / max(count, 1)


def in_browser(url: str, query: str, seconds: float) -> tuple[float, float] | None:
    """Snapshots drawn per second by the page while playing, and the mean ms spent drawing one."""
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        print("  (skipped: Playwright is not installed)")
        return None
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("  (skipped: chromium is not installed)")
        return None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.goto(url + (f"?{query}" if query else ""))
        page.wait_for_function("Number(document.body.dataset.snapshots) >= 1")
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_function("Number(document.body.dataset.snapshots) >= 3")  # past the warm-up

        def counters() -> tuple[int, float]:
            data = page.evaluate("[document.body.dataset.snapshots, document.body.dataset.renderMs]")
            return int(data[0]), float(data[1])

        (n0, ms0), start = counters(), time.perf_counter()
        page.wait_for_timeout(seconds * 1000)
        (n1, ms1), elapsed = counters(), time.perf_counter() - start
        page.get_by_role("button", name="Pause", exact=True).click()
        browser.close()
    drawn = n1 - n0
    return drawn / elapsed, (ms1 - ms0) / max(drawn, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--query", default="", help="settings as a URL query (default: the defaults)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    settings = Settings.from_query(parse_qs(args.query, keep_blank_values=True))
    print(f"settings: {settings.to_query()}")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"1. session alone:  {session_alone(args.query, args.seconds):6.1f} updates/s")
    process, url = start_server()
    try:
        rate, size = over_websocket(url, args.query, args.seconds)
        print(f"2. over WebSocket: {rate:6.1f} updates/s (snapshots of {size / 1024:.1f} KiB)")
        if not args.no_browser:
            result = in_browser(url, args.query, args.seconds)
            if result is not None:
                rate, ms = result
                print(f"3. in the browser: {rate:6.1f} rendered updates/s ({ms:.2f} ms to draw each)")
    finally:
        process.terminate()
        process.wait(timeout=15)


if __name__ == "__main__":
    main()
