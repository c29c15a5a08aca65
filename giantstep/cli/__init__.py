"""The ``giantstep`` command line.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``; heavy imports (numba, matplotlib) happen inside the
command's handler so that ``giantstep leap`` does not pay for the numerics.
Every exception becomes one line on stderr: exit code 2 for refused input, 1 for a
numerical failure; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from giantstep.errors import GiantstepError, InputError

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
    """Heal corrupt kernel cache entries; say on stderr when kernels are being compiled (first
    run after install), unless --quiet."""
    if args.command not in _KERNEL_COMMANDS and args.command != "warmup":
        return
    from giantstep.numerics.compile_cache import announce_compilation, heal_corrupt_entries

    heal_corrupt_entries()
    if not getattr(args, "quiet", False) and args.command != "warmup":
        announce_compilation()


def _check_environment() -> None:
    """Refuse thread-count variables that numba or BLAS would choke on later (one line, exit 2)."""
    import os

    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var)
        if value is None or value == "":
            continue
        if not value.strip().isdigit() or int(value) < 1:
            raise InputError(f"environment variable {var} must be a positive integer, got {value!r}")
    cpus = os.cpu_count() or 1
    value = os.environ.get("NUMBA_NUM_THREADS")
    if value and int(value) > max(cpus, 1) * 64:
        raise InputError(f"environment variable NUMBA_NUM_THREADS={value} is far above the {cpus} cores")


#: Figure formats matplotlib writes (checked before any work is done).
FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp",
                  "pgf", "raw", "rgba", "gif", "avif")


def _check_paths(args: argparse.Namespace) -> None:
    """Refuse unusable ``--plot``/``--out`` paths and ``--scheduler`` addresses before any work."""
    import os
    import re

    plot = getattr(args, "plot", None)
    if plot:
        ext = os.path.splitext(plot)[1].lower().lstrip(".")
        if ext not in FIGURE_FORMATS:
            raise InputError(f"--plot {plot!r}: unknown figure format {ext or '(none)'!r}; use one of "
                             + ", ".join(FIGURE_FORMATS[:6]) + ", …")
        _check_writable("--plot", plot)
    out = getattr(args, "out", None)
    if isinstance(out, str) and out:
        _check_writable("--out", out)
    scheduler = getattr(args, "scheduler", None)
    if isinstance(scheduler, str) and not re.fullmatch(r"([a-z]+://)?[^\s/:]+:[0-9]{1,5}", scheduler):
        raise InputError(f"--scheduler must be a Dask scheduler address such as tcp://host:8786, "
                         f"got {scheduler!r}")


def _check_writable(flag: str, path: str) -> None:
    """A file that can be created or appended to: not a folder, a device or a read-only place."""
    import os
    import stat

    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError(f"{flag} {path!r} is a folder; give a file name inside it")
    if not os.path.isdir(parent):
        raise InputError(f"{flag} {path!r}: the folder {parent!r} does not exist")
    if os.path.exists(path):
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode) or not os.access(path, os.W_OK) or path.startswith(("/proc/", "/sys/")):
            raise InputError(f"{flag} {path!r} is not a regular writable file")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path!r}: the folder {parent!r} is not writable")


def _one_line_warnings(command: str) -> None:
    """Python warnings (numpy's included) as one line each, once per message, naming the command."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
        text = f"giantstep {command}: warning: {_one_line(str(message))} ({category.__name__})"
        if text not in _WARNINGS:
            _WARNINGS.append(text)

    _WARNINGS.clear()
    warnings.showwarning = show


#: Python warnings of the running command: printed at the end of a successful run, counted in
#: the one error line of a failed one.
_WARNINGS: list[str] = []


def _flush_warnings() -> None:
    for text in _WARNINGS:
        print(text, file=sys.stderr)
    _WARNINGS.clear()


def _one_line(text: str) -> str:
    """Collapse a message onto one line (tracebacks of wrapped errors included)."""
    return " ".join(str(text).split()) or "(no message)"


def _report(command: str, exc: BaseException, debug: bool) -> int:
    """One line on stderr for an exception escaping a command; returns the exit code.

    Exit code 2: refused input (an :class:`InputError`, an unusable file); 1: a numerical
    failure (a solver that did not converge, memory exhausted, any unexpected error).
    """
    prefix = f"giantstep {command}: error:"
    if isinstance(exc, InputError):
        code, text = 2, str(exc)
    elif isinstance(exc, GiantstepError):
        code, text = 1, str(exc)
    elif isinstance(exc, MemoryError):
        code, text = 1, ("out of memory" + (f" ({exc})" if str(exc) else "")
                         + "; try smaller sizes (--d, --p, --n-test, grid length)")
    elif isinstance(exc, OSError):
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        code, text = 2, f"cannot use file{where}: {exc.strerror or exc}"
    elif isinstance(exc, (FloatingPointError, OverflowError, ZeroDivisionError)) or \
            "infs or nans" in str(exc).lower() or type(exc).__name__ == "LinAlgError":
        code, text = 1, f"numerical failure ({type(exc).__name__}: {exc}); the inputs drive the computation " \
                        "out of floating-point range (try smaller eta, alpha or a milder activation)"
    else:
        code, text = 1, f"unexpected {type(exc).__name__}: {exc}"
    hint = "" if debug or isinstance(exc, InputError) else " (rerun with --debug for the traceback)"
    if _WARNINGS:
        first = _WARNINGS[0].split(": warning: ")[-1]
        hint += f" [after {len(_WARNINGS)} warning{'s' if len(_WARNINGS) > 1 else ''}: {first}]"
        _WARNINGS.clear()
    print(f"{prefix} {_one_line(text)}{hint}", file=sys.stderr)
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``giantstep`` console script; returns the exit code.

    Exit codes: 0 an answer (warnings on stderr), 1 a numerical failure (or a ``validate``
    disagreement), 2 refused input. Any exception becomes one line on stderr; ``--debug``
    (anywhere on the line, or ``GIANTSTEP_DEBUG=1``) adds the full traceback.
    """
    import os

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("GIANTSTEP_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    command = next((a for a in argv if not a.startswith("-")), "")
    try:
        _check_environment()
        parser = build_parser()
    except Exception as exc:  # noqa: BLE001 - the top level: one line, never a traceback
        return _report(command, exc, debug)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0), or a usage error / a value refused by its rule (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    except Exception as exc:  # noqa: BLE001 - a converter that failed unexpectedly
        return _report(command, exc, debug)
    if getattr(args, "quiet", False) and hasattr(args, "no_progress"):
        args.no_progress = True
    if not debug:
        _one_line_warnings(args.command)
    try:
        _check_paths(args)
        _announce_compilation(args)
        code = args.func(args)
    except KeyboardInterrupt:
        print(f"giantstep {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the top level: one line, never a traceback
        return _report(args.command, exc, debug)
    _flush_warnings()
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
