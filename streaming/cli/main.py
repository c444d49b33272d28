"""The `streaming` command: one sub-command per module named in `COMMANDS`.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code); adding a command is adding a module and its name here.
Modules import their heavy dependencies inside ``run``, so ``streaming --help`` stays fast.

Every failure is printed as one ``error:`` line and a ``hint:`` line on stderr, with exit code
1 (2 for bad arguments, 130 for Ctrl-C); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from streaming.cli.errors import INTERRUPTED, describe

#: Sub-command name -> the module that implements it.
COMMANDS: dict[str, str] = {
    "convert": "streaming.cli.convert",
    "inspect": "streaming.cli.inspect",
    "verify": "streaming.cli.verify",
    "cache": "streaming.cli.cache",
    "train": "streaming.cli.train",
}


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    from streaming import __version__

    parser = argparse.ArgumentParser(
        prog="streaming",
        description="Convert, inspect and verify MDS datasets, train recipes, manage caches.",
    )
    parser.add_argument("--version", action="version", version=f"streaming {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        # Also accepted after the command; SUPPRESS keeps a --debug given before it.
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show tracebacks on errors")  # fmt: skip
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # bad arguments: argparse prints usage and exits 2
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"streaming {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as err:
        if args.debug:
            raise
        message, hint, code = describe(err)
        print(f"streaming {args.command}: error: {message}", file=sys.stderr)
        if hint:
            print(f"hint: {hint}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
