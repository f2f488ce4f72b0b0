"""Command line of planshift (``planshift ...`` or ``python run_sim.py ...``).

Sub-commands sit on top of the library: each module here parses its arguments, calls one
library function and turns its result or error into output and an exit status (0 ok,
1 a finding such as a bad case, 2 bad usage). One error boundary in :func:`main` turns
anything unexpected into a one-line message (the traceback only with ``--debug``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from . import batch, catalog, evaluate, harness, params, run, runs
from .common import EXIT_FINDING, EXIT_OK, EXIT_USAGE, Parser, UsageError

__all__ = ["build_parser", "main"]

COMMAND_MODULES = (evaluate, run, runs, catalog, params, harness, batch)


def build_parser() -> Parser:
    parser = Parser(
        prog="planshift",
        description="planshift: simulator and QA harness for Microsoft 365 plan changes.",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an unexpected error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Iterable[str] | None = None) -> int:
    parser = build_parser()
    arguments = list(argv) if argv is not None else sys.argv[1:]
    debug = "--debug" in arguments
    if debug:
        arguments.remove("--debug")
    if arguments and arguments[0].startswith("-") and arguments[0] not in ("-h", "--help"):
        arguments.insert(0, "run")  # options without a command are options of the main job
    try:
        args = parser.parse_args(arguments)
        if args.command is None:  # no arguments: the main job on the default scenario
            args = parser.parse_args(["run"])
        return args.handler(args)
    except UsageError as error:
        print(f"planshift: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the error boundary: never a traceback unless asked
        if debug:
            raise
        print(f"planshift: internal error: {type(error).__name__}: {error} "
              "(run again with --debug for the traceback)", file=sys.stderr)
        return EXIT_FINDING
