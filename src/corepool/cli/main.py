"""``corepool``: the command-line entry point (``corepool = "corepool.cli.main:main"``).

Each subcommand lives in its own module, which adds its parser with ``add_parser(subparsers)``
and sets ``handler`` on it; this module only builds the parser and dispatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from corepool import __version__
from corepool.cli import bench


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corepool",
        description="Parallel work for Python on threads or processes.",
    )
    parser.add_argument("--version", action="version", version=f"corepool {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    bench.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command is None:
        parser.print_help()
        return 2
    try:
        result: int = args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
