"""The ``giantstep`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``; heavy imports (numba, matplotlib) happen inside the
command's handler so that ``giantstep leap`` does not pay for the numerics.
Every :class:`giantstep.errors.GiantstepError` becomes one line on stderr and
exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from giantstep.errors import GiantstepError

# name of the module in giantstep.cli -> registered sub-commands
_COMMAND_MODULES = ["theory_cmds", "overlaps_cmd", "error_cmd", "simulate_cmd", "validate_cmd", "warmup_cmd", "amp_cmd"]

# commands that run numba kernels: a compilation (cold cache) is announced on stderr
_KERNEL_COMMANDS = {"overlaps", "error", "simulate", "validate", "amp"}


class _OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str):  # noqa: D102
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command."""
    parser = _OneLineParser(
        prog="giantstep",
        description="Theory companion for two-layer networks trained by a few giant gradient steps.",
    )
    from giantstep import __version__

    parser.add_argument("--version", action="version", version=f"giantstep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        if importlib.util.find_spec(f"giantstep.cli.{name}") is None:
            continue
        module = importlib.import_module(f"giantstep.cli.{name}")
        module.register(sub)
    _add_quiet(list(sub.choices.values()))
    return parser


def _add_quiet(parsers: list[argparse.ArgumentParser]) -> None:
    """One ``--quiet`` for every command, nested sub-commands (``validate overlaps``) included."""
    for command in parsers:
        if "--quiet" not in command._option_string_actions:
            command.add_argument("--quiet", action="store_true",
                                 help="no progress or compilation messages on stderr (results unchanged)")
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_quiet(list(action.choices.values()))


def _announce_compilation(args: argparse.Namespace) -> None:
    """Say on stderr when kernels are being compiled (first run after install), unless --quiet."""
    if getattr(args, "quiet", False) or args.command not in _KERNEL_COMMANDS:
        return
    from giantstep.numerics.compile_cache import announce_compilation

    announce_compilation()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``giantstep`` console script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0), or a usage error / a value refused by its rule (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if getattr(args, "quiet", False) and hasattr(args, "no_progress"):
        args.no_progress = True
    try:
        _announce_compilation(args)
        code = args.func(args)
    except GiantstepError as exc:
        print(f"giantstep {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"giantstep {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
