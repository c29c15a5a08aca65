"""Command-line options built from the declared parameter rules (:mod:`giantstep.params`).

``shared(parser, "--noise", "noise")`` adds an option whose converter enforces the rule of
the library parameter ``noise`` (a refused value is one line, exit code 2) and whose help
text is the parameter's shared description, rule and default: the CLI and the library
cannot disagree on a limit.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from giantstep.params import MAX_GRID_POINTS, PARAMETERS, Options, cli_help, cli_type

_EMPTY = inspect.Parameter.empty


def shared(parser: argparse.ArgumentParser, flag: str, name: str, *, default: Any = _EMPTY,
           required: bool = False, extra: str = "", metavar: str | None = None) -> argparse.Action:
    """Add ``flag`` for the shared parameter ``name`` (default: the parameter's shared default)."""
    rule = PARAMETERS[name].rule
    dflt = PARAMETERS[name].default if default is _EMPTY else default
    kw: dict[str, Any] = {"help": cli_help(name, extra, None if required else dflt)}
    if isinstance(rule, Options):
        kw["choices"] = list(rule.choices)
    else:
        kw["type"] = cli_type(name)
    if metavar:
        kw["metavar"] = metavar
    if required:
        kw["required"] = True
    else:
        kw["default"] = dflt
    return parser.add_argument(flag, **kw)


#: What ``--alpha`` accepts on every command (one grammar, one help text).
ALPHA_GRAMMAR = "a number (2), a comma list (0.5,1,2) or START:STOP:NUM (0.5:3:6, NUM evenly spaced, inclusive)"


def grid_size(text: str) -> int:
    """How many values ``"a,b,c"`` or ``"START:STOP:NUM"`` asks for (``ValueError`` if malformed),
    known before the grid is built."""
    text = text.strip()
    if ":" not in text:
        return len(text.split(","))
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(text)
    float(parts[0]), float(parts[1])
    return int(parts[2])


def grid_values(text: str) -> list[float]:
    """The values of ``"a,b,c"`` or ``"START:STOP:NUM"`` (NUM ≥ 1 evenly spaced, both ends
    included); ``ValueError`` if malformed. Check :func:`grid_size` first."""
    text = text.strip()
    if ":" not in text:
        return [float(v) for v in text.split(",")]
    start, stop, num = (float(x) for x in text.split(":"))
    num = int(num)
    if num < 1:
        raise ValueError(text)
    return [start] if num == 1 else [start + (stop - start) * i / (num - 1) for i in range(num)]


def parse_grid(text: str, *, max_num: int = MAX_GRID_POINTS) -> list[float]:
    """Parse the shared grid grammar: ``"2"``, ``"0.5,1,2"`` or ``"START:STOP:NUM"`` → values > 0.

    Raises :class:`argparse.ArgumentTypeError` (one line, exit code 2 from the parser, which
    names the option). A grid of more than ``max_num`` points is refused before it is built.
    """
    try:
        num = grid_size(text)
        if ":" in text and num < 1:
            raise argparse.ArgumentTypeError(f"NUM must be at least 1, got {text!r}")
        if num > max_num:
            raise argparse.ArgumentTypeError(f"{num} grid points asked; at most {max_num} are allowed "
                                             "(split the grid over several runs)")
        values = grid_values(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {ALPHA_GRAMMAR}; got {text!r}") from None
    if not values or any(not (v > 0 and v < float("inf")) for v in values):
        raise argparse.ArgumentTypeError(f"α must be > 0 and finite at every value, got {text!r}")
    return values


def alpha_option(parser: argparse.ArgumentParser, *, what: str, single: bool = False,
                 required: bool = True, flag: str = "--alpha") -> argparse.Action:
    """Add ``--alpha`` with the shared grammar (:func:`parse_grid`); ``what`` says which ratio it is.

    With ``single=True`` the command computes at one α: the value is that float, and a
    list of several values is refused with one line (exit code 2).
    """

    def convert(text: str) -> Any:
        values = parse_grid(text)
        if not single:
            return values
        if len(values) != 1:
            raise argparse.ArgumentTypeError(f"this command computes at one value; got {len(values)} "
                                             f"({text!r}); give one number")
        return values[0]

    convert.__name__ = flag.lstrip("-")
    kind = "one value: " if single else ""
    return parser.add_argument(flag, type=convert, required=required, metavar="ALPHA",
                               help=f"{what}; {kind}{ALPHA_GRAMMAR}")


def document(parser: argparse.ArgumentParser, example: str, description: str | None = None) -> None:
    """Give a sub-command its one-paragraph ``description`` (if not set) and an ``example`` epilog."""
    if description is not None:
        parser.description = description
    parser.epilog = f"example:\n  {example}\n"
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
