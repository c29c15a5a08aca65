"""Declared parameter rules, checked in one place (the style of scikit-learn's ``validate_params``).

Every public function of the three layers declares the rules of its parameters with
:func:`validate_params`; a parameter that has the same meaning everywhere (``readout``,
``noise``, ``lam``, ``tol``, ``seed``, ``dtype``, ``alpha``, ``eta``, …) takes its rule, its
default and its help text from :data:`PARAMETERS`, the one table of those facts. The command
line builds its options from the same rules (:func:`cli_type`, :func:`cli_help`), and
``tests/test_params.py`` feeds every registered function an invalid value of every declared
parameter (:meth:`Rule.invalid_values`), expecting :class:`~giantstep.errors.InputError`
that names the parameter.

Only the standard library is imported here (``giantstep --help`` builds every option).

>>> Interval(float, 0, None, closed="neither").check("alpha", 2)
2
>>> Interval(float, 0, None, closed="neither").check("alpha", -1)
Traceback (most recent call last):
...
giantstep.errors.InputError: alpha must be a number > 0, got -1
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from giantstep.errors import InputError

__all__ = [
    "Rule", "Interval", "Options", "Expression", "Grid", "Boolean", "Noneable", "PARAMETERS",
    "validate_params", "registered", "cli_type", "cli_help", "check", "label", "DEFAULTS",
    "markdown_table", "check_grid_size", "MAX_GRID_POINTS",
]


class Rule:
    """One declared constraint on a parameter value.

    Subclasses implement :meth:`accepts` (no coercion: the function receives what the
    caller passed), :meth:`describe` (the phrase used in messages and ``--help``) and
    :meth:`invalid_values` (values that must be refused, for the generated test).
    """

    def accepts(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def invalid_values(self) -> list[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def refusal(self, value: Any) -> str:
        """What ``value`` fails to be (the phrase after "must be" in the one-line refusal)."""
        return self.describe()

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` if the rule accepts it, else raise ``InputError`` naming ``name``."""
        if not self.accepts(value):
            raise InputError(f"{name} must be {self.refusal(value)}, got {value!r}")
        return value


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval(Rule):
    """A finite real (``kind=float``) or integer (``kind=int``) in ``[low, high]``.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``; ``None`` bounds are
    open infinities. Integers are accepted for a float interval; for an int interval, a
    float is accepted only if it is integral (``3.0``), never ``True``/``False``.
    """

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"
    #: a safety ceiling on ``|value|`` beyond which the computation would overflow, stated
    #: apart from the mathematical domain ("a number > 0 (at most 1e+06)")
    ceiling: float | None = None

    def _in_domain(self, v: float) -> bool:
        lo_ok = self.low is None or (v >= self.low if self.closed in ("both", "left") else v > self.low)
        hi_ok = self.high is None or (v <= self.high if self.closed in ("both", "right") else v < self.high)
        return lo_ok and hi_ok

    def _inside(self, v: float) -> bool:
        return self._in_domain(v) and (self.ceiling is None or abs(v) <= self.ceiling)

    def accepts(self, value: Any) -> bool:
        if not _is_real(value):
            return False
        try:
            v = float(value)
        except OverflowError:  # an integer beyond floating-point range
            return False
        if not math.isfinite(v):
            return False
        if self.kind is int and v != int(v):
            return False
        return self._inside(v)

    def describe(self) -> str:
        cap = "" if self.ceiling is None else f" (at most {_fmt(self.ceiling)})"
        return self._domain() + cap

    def refusal(self, value: Any) -> str:
        """The domain, or the ceiling alone when only the ceiling is exceeded."""
        if self.ceiling is not None and _is_real(value):
            try:
                v = float(value)
            except OverflowError:
                v = math.inf
            if abs(v) > self.ceiling and self._in_domain(v):
                return f"at most {_fmt(self.ceiling)} (larger values overflow the computation)"
        return self._domain()

    def _domain(self) -> str:
        what = "an integer" if self.kind is int else "a number"
        lo_op = "≥" if self.closed in ("both", "left") else ">"
        hi_op = "≤" if self.closed in ("both", "right") else "<"
        if self.low is not None and self.high is not None:
            lo_in = "[" if lo_op == "≥" else "("
            hi_in = "]" if hi_op == "≤" else ")"
            return f"{what} in {lo_in}{_fmt(self.low)}, {_fmt(self.high)}{hi_in}"
        if self.low is not None:
            return f"{what} {lo_op} {_fmt(self.low)}"
        if self.high is not None:
            return f"{what} {hi_op} {_fmt(self.high)}"
        return f"a finite {what[2:] if self.kind is float else 'integer'}"

    def invalid_values(self) -> list[Any]:
        out: list[Any] = ["x", float("nan"), True]
        if self.low is not None:
            out.append(self.low if self.closed in ("right", "neither") else self.low - 1)
        if self.high is not None:
            out.append(self.high if self.closed in ("left", "neither") else self.high + 1)
        if self.ceiling is not None:
            out.append(2 * self.ceiling)
        if self.kind is int:
            base = self.low if self.low is not None else 0
            out.append(base + 1.5)
        return out


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class Options(Rule):
    """One of a fixed set of strings."""

    choices: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.choices

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def invalid_values(self) -> list[Any]:
        return ["no-such-" + self.choices[0], 3]


@dataclass(frozen=True)
class Boolean(Rule):
    """``True`` or ``False`` (not 0/1, not strings)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "True or False"

    def invalid_values(self) -> list[Any]:
        return ["yes", 2]


@dataclass(frozen=True)
class Expression(Rule):
    """A target (``kind="target"``: text in ``z1..zr`` or a Target), an activation
    (``kind="activation"``: a name, text in ``x``, or an Activation) or either
    (``kind="teacher"``: a target if the text names ``z1..zr``).

    The parser itself (:mod:`giantstep.theory.expr.parsing`) decides; it never evaluates user text
    and its own message names the problem, prefixed here with the parameter name.
    """

    kind: str

    def _parse(self, value: Any):
        from giantstep.theory import as_activation, as_target, is_target_expression

        if self.kind == "teacher":  # an activation of one direction, or a target in z1..zr
            return as_target(value) if is_target_expression(value) else as_activation(value)
        return as_target(value) if self.kind == "target" else as_activation(value)

    def accepts(self, value: Any) -> bool:  # pragma: no cover - check() is overridden
        try:
            self._parse(value)
        except InputError:
            return False
        return True

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, (bool, numbers.Number)) or value is None:
            raise InputError(f"{name} must be {self.describe()}, got {value!r}")
        try:
            self._parse(value)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        return value

    def describe(self) -> str:
        return {"target": "a target expression in z1..zr",
                "activation": "an activation (a name such as relu, or an expression in x)",
                "teacher": "an activation or a target expression in z1..zr"}[self.kind]

    def invalid_values(self) -> list[Any]:
        return ["__import__('os')", 3, "z1 +" if self.kind == "target" else "x +"]


@dataclass(frozen=True)
class Grid(Rule):
    """A non-empty sequence (list, tuple, 1-d array) of reals accepted by ``element``."""

    element: Interval

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (str, bytes)) or _is_real(value):
            return False
        try:
            items = list(value)
        except TypeError:
            return False
        if not items or len(items) > MAX_GRID_POINTS:
            return False
        try:
            return all(self.element.accepts(float(v)) for v in items)
        except (TypeError, ValueError):
            return False

    def describe(self) -> str:
        return (f"a non-empty list of at most {MAX_GRID_POINTS} numbers, "
                f"each {self.element.describe()[2:]}")

    def invalid_values(self) -> list[Any]:
        return [[], "1,2", [bad for bad in self.element.invalid_values()[3:4]] or [float("nan")]]


@dataclass(frozen=True)
class Noneable(Rule):
    """``None`` (meaning: a documented default) or a value the wrapped rule accepts."""

    rule: Rule

    def accepts(self, value: Any) -> bool:
        return value is None or self.rule.accepts(value)

    def check(self, name: str, value: Any) -> Any:
        return value if value is None else self.rule.check(name, value)

    def describe(self) -> str:
        return f"None or {self.rule.describe()}"

    def invalid_values(self) -> list[Any]:
        return self.rule.invalid_values()


@dataclass(frozen=True)
class Parameter:
    """The shared facts of one parameter name: its rule, default and help text."""

    rule: Rule
    default: Any
    help: str
    symbol: str = ""


_POS = Interval(float, 0, None, closed="neither")
_NONNEG = Interval(float, 0, None, closed="left")
#: Upper bounds of the scale parameters: far beyond any regime the theory describes, and low
#: enough that no intermediate quantity (η̃², α·d, λ·n, …) overflows double precision.
MAX_RATIO = 1e6
MAX_ETA = 1e4
MAX_PENALTY = 1e8
_RATIO = Interval(float, 0, None, closed="neither", ceiling=MAX_RATIO)
_ETA = Interval(float, 0, None, closed="left", ceiling=MAX_ETA)
_PENALTY = Interval(float, 0, None, closed="left", ceiling=MAX_PENALTY)
#: Largest number of points of a parameter grid (``--alpha START:STOP:NUM`` and the like).
MAX_GRID_POINTS = 10_000
READOUTS = ("constant", "sign", "gaussian")

#: The one table of parameters that mean the same thing in every public function.
PARAMETERS: dict[str, Parameter] = {
    "readout": Parameter(Options(READOUTS), "constant",
                         "law of the second layer at initialisation: constant a_j = 1/√p, sign "
                         "a_j = ±1/√p, gaussian a_j ~ N(0, 1/p) (docs/model.md §1)"),
    "noise": Parameter(Noneable(_PENALTY), None,
                       "label-noise variance Δ ≥ 0 of the labels y = g*(z) + √Δ ε",
                       "Δ"),
    "lam": Parameter(_PENALTY, None, "ridge penalty λ ≥ 0 of the readout", "λ"),
    "tol": Parameter(Interval(float, 1e-12, 0.1), 1e-6, "target accuracy of the solver"),
    "seed": Parameter(Interval(int, 0, None), 0, "seed of every random draw (same seed, same numbers)"),
    "dtype": Parameter(Options(("float64", "float32")), "float64",
                       "floating-point type of the simulation"),
    "alpha": Parameter(_RATIO, None, "samples per dimension α = n/d", "α"),
    "alpha0": Parameter(_RATIO, None, "samples per dimension of the giant step α0 = n0/d", "α0"),
    "alphas": Parameter(Grid(_RATIO), None, "readout sample ratios α = n/d", "α"),
    "eta": Parameter(_ETA, None, "rescaled learning rate η̃ ≥ 0", "η̃"),
    "steps": Parameter(Interval(int, 1, 200), None, "number of giant steps"),
    "ell": Parameter(Interval(int, 1, 8), None, "preprocessing degree ℓ", "ℓ"),
    "width_ratio": Parameter(_RATIO, 1.0, "width ratio ψ = p/d", "ψ"),
    "n_types": Parameter(Interval(int, 1, 256), 8, "number K of Gauss–Hermite neuron types of the "
                         "gaussian readout", "K"),
    "kmax": Parameter(Interval(int, 0, 200), None, "largest Hermite order K", "K"),
    "dps": Parameter(Interval(int, 5, 200), 30, "decimal digits of the numerical coefficients"),
    "max_iter": Parameter(Interval(int, 1, 10**7), None, "iteration cap of the solver"),
    "max_degree": Parameter(Noneable(Interval(int, 1, 200)), None,
                            "truncation degree of the Hermite expansion (None: automatic)"),
    "target": Parameter(Expression("target"), None, "target g*(z1..zr)"),
    "activation": Parameter(Expression("activation"), None, "student activation σ"),
    "student": Parameter(Expression("activation"), None, "student activation σ"),
    "teacher": Parameter(Expression("teacher"), None, "teacher: an activation of one direction or a "
                         "target in z1..zr"),
}

#: The shared defaults (one place), e.g. ``DEFAULTS["readout"] == "constant"``.
DEFAULTS = {k: v.default for k, v in PARAMETERS.items() if v.default is not None}

_REGISTRY: list[tuple[Callable, dict[str, Rule]]] = []


def label(name: str) -> str:
    """The name used in messages: ``"lam (λ)"`` for a shared parameter with a symbol."""
    p = PARAMETERS.get(name)
    return f"{name} ({p.symbol})" if p is not None and p.symbol else name


def check(name: str, value: Any, rule: Rule | None = None) -> Any:
    """Check one value against ``rule`` (default: the shared rule of ``name``)."""
    return (rule or PARAMETERS[name].rule).check(label(name), value)


def validate_params(**rules: Rule | None) -> Callable[[Callable], Callable]:
    """Decorator: check the named parameters of a public function before it runs.

    Every parameter of the function whose name is in :data:`PARAMETERS` is checked with the
    shared rule unless ``rules`` overrides it (a :class:`Rule`) or exempts it (``None``);
    ``rules`` may also declare parameters that are not shared. A value equal to the
    function's declared default ``None`` is not checked (``None`` then means "the
    documented default"). The function is added to the registry read by
    ``tests/test_params.py``.
    """

    def decorate(func: Callable) -> Callable:
        sig = inspect.signature(func)
        declared: dict[str, Rule] = {}
        for pname, param in sig.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if pname in rules:
                if rules[pname] is not None:
                    declared[pname] = rules[pname]  # type: ignore[assignment]
            elif pname in PARAMETERS:
                declared[pname] = PARAMETERS[pname].rule
        unknown = set(rules) - set(sig.parameters)
        if unknown:
            raise TypeError(f"validate_params: {func.__qualname__} has no parameter {sorted(unknown)}")
        defaults = {k: p.default for k, p in sig.parameters.items()}

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError as exc:
                raise InputError(f"{func.__name__}(): {exc}") from None
            for pname, value in bound.arguments.items():
                rule = declared.get(pname)
                if rule is None or (value is None and defaults.get(pname) is None):
                    continue
                rule.check(label(pname), value)
            return func(*args, **kwargs)

        wrapper.__giantstep_rules__ = declared  # type: ignore[attr-defined]
        _REGISTRY.append((wrapper, declared))
        return wrapper

    return decorate


def check_grid_size(name: str, num: int) -> int:
    """Refuse a grid of more than :data:`MAX_GRID_POINTS` points before it is built (one line)."""
    if num > MAX_GRID_POINTS:
        raise InputError(f"{name} asks for {num} grid points; at most {MAX_GRID_POINTS} are "
                         "allowed (split the grid over several runs)")
    return num


def registered() -> list[tuple[Callable, dict[str, Rule]]]:
    """The functions declared with :func:`validate_params` so far (import their modules first)."""
    return list(_REGISTRY)


def markdown_table() -> str:
    """The shared parameters as the markdown table of docs/api.md (a test keeps them equal)."""
    rows = ["| name | symbol | rule | default | meaning |", "|---|---|---|---|---|"]
    for name, p in PARAMETERS.items():
        rule = p.rule.rule if isinstance(p.rule, Noneable) else p.rule
        rule_text = rule.describe() + (" or None" if isinstance(p.rule, Noneable) else "")
        default = "" if p.default is None else f"`{p.default!r}`"
        rows.append(f"| `{name}` | {p.symbol} | {rule_text} | {default} | {p.help} |")
    return "\n".join(rows)


# --------------------------------------------------------------------------- command line

def cli_type(name: str, rule: Rule | None = None) -> Callable[[str], Any]:
    """An argparse ``type=`` converter enforcing the rule of ``name`` (one-line error, exit 2)."""
    import argparse

    r = rule or PARAMETERS[name].rule
    base = r.rule if isinstance(r, Noneable) else r
    sym = PARAMETERS[name].symbol + " " if name in PARAMETERS and PARAMETERS[name].symbol else ""

    def convert(text: str) -> Any:
        try:
            value: Any = float(text) if isinstance(base, Interval) else text
            if isinstance(base, Interval) and base.kind is int:
                if not value.is_integer():
                    raise ValueError
                value = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{sym}must be {base.describe()}, got {text!r}") from None
        if not base.accepts(value):
            raise argparse.ArgumentTypeError(f"{sym}must be {base.refusal(value)}, got {text!r}")
        return value

    convert.__name__ = name
    return convert


def cli_help(name: str, extra: str = "", default: Any = inspect.Parameter.empty) -> str:
    """Help text of ``--name``: the shared description, the rule and the default."""
    p = PARAMETERS[name]
    rule = p.rule.rule if isinstance(p.rule, Noneable) else p.rule
    text = p.help + (f"; {extra}" if extra else "")
    dflt = p.default if default is inspect.Parameter.empty else default
    tail = f" [{rule.describe()}"
    tail += f"; default {dflt}]" if dflt is not None else "]"
    return (text + tail).replace("%", "%%")
