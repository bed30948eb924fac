"""The ``fleck`` command line: ``fleck skin|detect|scan|compare|occlude|censor|explain|serve ...``.

Exit status (all sub-commands): 0 success; 1 some inputs failed (each named on stderr, one line
per file, without a traceback); 2 usage error (bad arguments, a path that does not exist, no
images found, a results file that would be overwritten); 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from fleck import __version__
from fleck.errors import ImageError

__all__ = ["COMMANDS", "build_parser", "main"]

# Each name is a module fleck/commands/<name>.py with register(subparsers).
COMMANDS = ("skin", "detect", "occlude", "compare", "scan", "censor", "explain", "serve")


def build_parser() -> argparse.ArgumentParser:
    """The ``fleck`` argument parser, one sub-command per module of :mod:`fleck.commands`.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> build_parser().parse_args(["scan", "photos", "-o", "r.jsonl"]).command
    'scan'
    """
    parser = argparse.ArgumentParser(
        prog="fleck",
        description="Fleck-Forsyth-Bregler (1996) rule-based nudity detector.")
    parser.add_argument("--version", action="version", version=f"fleck {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks for unexpected errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"fleck.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``fleck ARGS``; return the exit status (see the module docstring).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``fleck`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 some inputs failed, 2 usage error, 130 interrupted.

    Examples
    --------
    >>> main(["skin", "no/such/file.jpg"])
    1
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("fleck: interrupted", file=sys.stderr)
        return 130
    except (ImageError, OSError, ValueError) as err:
        if args.debug:
            raise
        print(f"fleck {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
