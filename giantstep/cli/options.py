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

from giantstep.params import PARAMETERS, Options, cli_help, cli_type

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
