"""`python -m nn.course export OUT [--notebooks DIR]`: write the course as static HTML pages into OUT."""

from __future__ import annotations

import argparse
import sys

PROG = "python -m nn.course"


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and export; 0 when the site is written, 1 (and why, on stderr) when not."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="The course's notebooks, for reading outside Jupyter."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="export")
    export_args = commands.add_parser(
        "export",
        help="write the notebooks as static HTML (as committed, not re-executed) that works offline",
        description="Write OUT/index.html and one page per notebook: math as MathML, figures embedded, "
        "links between notebooks pointing at the pages, nothing loaded from the network.",
    )
    export_args.add_argument(
        "out", metavar="OUT", help="the folder to write (new, empty, or an earlier export)"
    )
    export_args.add_argument(
        "--notebooks",
        metavar="DIR",
        default=None,
        help="the folder holding the .ipynb files (default: ./notebooks, else the source checkout's)",
    )
    args = parser.parse_args(argv)
    try:
        from .export import export  # noqa: PLC0415  # the `course` extra, which `import nn` never needs
    except ImportError as err:
        print(f"{PROG} export needs nbconvert and latex2mathml: pip install 'backprop-lab[course]' ({err})",
              file=sys.stderr)  # fmt: skip
        return 1
    try:
        site = export(args.out, notebooks=args.notebooks)
    except (ValueError, OSError) as err:
        print(err, file=sys.stderr)
        return 1
    for warning in site.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {len(site.pages)} notebook pages and {site.index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
