"""`python -m nn.playground [--port N] [--host H] [--no-browser]`: serve the playground until Ctrl-C."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, bind, print the URL, open the browser, serve; 0 on Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m nn.playground", description="The live playground: train a small net in the browser."
    )
    parser.add_argument("--port", type=int, default=0, help="the port (default 0: a free one)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be from 0 to 65535, got {args.port}")
    try:
        from . import server  # noqa: PLC0415  # the `playground` extra, which `import nn` never needs
    except ImportError as err:
        print(
            f"nn.playground needs the web stack: pip install 'backprop-lab[playground]' ({err})",
            file=sys.stderr,
        )
        return 1
    try:
        sock = server.bind(args.host, args.port)
    except OSError as err:
        print(
            f"nn.playground: cannot listen on {args.host}:{args.port}: {err.strerror or err}", file=sys.stderr
        )
        return 1
    server.run(sock, args.host, open_browser=not args.no_browser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
