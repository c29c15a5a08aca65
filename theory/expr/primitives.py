"""The primitive functions of targets and activations: one record each.

Every fact the layers need about a function that may appear in a target or an
activation lives in its :class:`Primitive` record, in the style of
neural-tangents' ``stax.elementwise`` (one object carrying the function and its
closed forms):

* ``name`` and ``build`` — how the parser spells it and the sympy expression it
  builds (with the domain checks of the argument, e.g. ``sqrt``);
* ``sympy_type`` — the sympy class that represents it inside expressions
  (derivatives included: ``Heaviside`` and ``DiracDelta`` are not parseable but appear
  in ``σ'`` and ``σ''``);
* ``numpy`` / ``mpmath`` — elementwise evaluation (``Heaviside(0) = 1/2``, ``sign(0) = 0``);
* ``growth`` — ``"bounded"``, ``"argument"`` (``|f(u)| ≤ C(1 + |u|)``) or ``"special"``
  (handled by the parser's growth rules: ``exp``, ``sqrt``);
* ``nonnegative``, ``kink`` (σ or σ' not smooth where the argument vanishes);
* ``smoothing`` — the kind of closed-form Gaussian smoothing ``E[h(aξ+b) He_j(ξ)]`` of
  :mod:`.hermite1d` (``None``: numerical quadrature), and ``rewrite`` (relu → u·H(u));
* ``kernel`` — the simulator's fused numba kernel for the activation ``f(x)`` itself
  (``None``: the generic numpy path), ``tables`` — closed-form smoothing tables of the
  overlap equations (``None``: adaptive quadrature).

Macros (``gelu``) are written in other primitives and need no facts of their own.

Adding an activation is one record (plus tests): ``softplus`` and ``gelu`` below were
added that way, and work in ``hermite``, ``leap --activation``, ``overlaps`` and
``simulate`` (tests/test_primitives.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy

from giantstep.errors import InputError

X = sympy.Symbol("x", real=True)


class relu(sympy.Function):  # noqa: N801  (named like the other sympy functions)
    """The rectified linear unit ``max(x, 0)`` as an unevaluated sympy function."""

    is_real = True

    @classmethod
    def eval(cls, arg):  # noqa: D102
        if arg.is_Number:
            return sympy.Max(arg, 0)
        if arg.is_nonnegative:
            return arg
        if arg.is_nonpositive:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex=1):  # noqa: D102
        return sympy.Heaviside(self.args[0])

    def _eval_is_nonnegative(self):
        return True

    def _eval_rewrite_as_Heaviside(self, arg, **kwargs):
        return arg * sympy.Heaviside(arg)


class sigmoid(sympy.Function):  # noqa: N801
    """The logistic function ``1/(1 + e^{-x})``, unevaluated (its derivative is σ(1 − σ))."""

    is_real = True

    def fdiff(self, argindex=1):  # noqa: D102
        return self * (1 - self)

    def _eval_is_nonnegative(self):
        return True


class softplus(sympy.Function):  # noqa: N801
    """``log(1 + e^x)``, unevaluated (its derivative is the logistic sigmoid)."""

    is_real = True

    def fdiff(self, argindex=1):  # noqa: D102
        return sigmoid(self.args[0])

    def _eval_is_nonnegative(self):
        return True


def _sqrt(arg: sympy.Expr) -> sympy.Expr:
    if arg.is_negative or not (arg.is_nonnegative or arg.is_zero):
        raise InputError(f"sqrt needs an argument that is non-negative for every input, got sqrt({arg})")
    return sympy.sqrt(arg)


def _mp_heaviside(a):
    return mpmath.mpf(1) if a > 0 else (mpmath.mpf(0.5) if a == 0 else mpmath.mpf(0))


def _np_sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(a, dtype=float)))  # no overflow at large |a|


@dataclass(frozen=True)
class Primitive:
    """Everything the layers know about one function (see the module docstring)."""

    name: str
    sympy_type: type | None
    build: Callable[[sympy.Expr], sympy.Expr]
    numpy: Callable | None = None
    mpmath: Callable | None = None
    growth: str = "bounded"
    nonnegative: bool = False
    kink: bool = False
    smoothing: str | None = None
    rewrite: Callable[[sympy.Expr], sympy.Expr] | None = None
    kernel: str | None = None
    tables: str | None = None
    parseable: bool = True


PRIMITIVES: tuple[Primitive, ...] = (
    Primitive("relu", relu, relu, lambda a: np.maximum(a, 0.0), lambda a: a if a > 0 else mpmath.mpf(0),
              growth="argument", nonnegative=True, kink=True,
              rewrite=lambda u: u * sympy.Heaviside(u), kernel="relu", tables="relu"),
    Primitive("sign", sympy.sign, sympy.sign, np.sign, mpmath.sign, kink=True, smoothing="sign"),
    Primitive("abs", sympy.Abs, sympy.Abs, np.abs, abs, growth="argument", nonnegative=True, kink=True,
              rewrite=lambda u: u * sympy.sign(u)),
    Primitive("tanh", sympy.tanh, sympy.tanh, np.tanh, mpmath.tanh, kernel="tanh"),
    Primitive("erf", sympy.erf, sympy.erf, lambda a: _scipy_erf(a), mpmath.erf, smoothing="erf",
              kernel="erf", tables="erf"),
    Primitive("sin", sympy.sin, sympy.sin, np.sin, mpmath.sin, smoothing="sin"),
    Primitive("cos", sympy.cos, sympy.cos, np.cos, mpmath.cos, smoothing="cos"),
    Primitive("exp", sympy.exp, sympy.exp, np.exp, mpmath.exp, growth="special", nonnegative=True,
              smoothing="exp"),
    Primitive("sqrt", None, _sqrt, growth="special"),  # a power 1/2: evaluated as a Pow
    Primitive("softplus", softplus, softplus, lambda a: np.logaddexp(0.0, a),
              lambda a: mpmath.log1p(mpmath.exp(a)), growth="argument", nonnegative=True),
    Primitive("sigmoid", sigmoid, sigmoid, _np_sigmoid, lambda a: 1 / (1 + mpmath.exp(-a)), nonnegative=True),
    # macros: written in the primitives above, nothing else to know
    Primitive("gelu", None, lambda u: u * (1 + sympy.erf(u / sympy.sqrt(2))) / 2, growth="special"),
    # appear in derivatives only
    Primitive("Heaviside", sympy.Heaviside, sympy.Heaviside, lambda a: np.heaviside(a, 0.5), _mp_heaviside,
              nonnegative=True, kink=True, smoothing="heaviside", parseable=False),
)

BY_NAME: dict[str, Primitive] = {p.name: p for p in PRIMITIVES}
BY_TYPE: dict[type, Primitive] = {p.sympy_type: p for p in PRIMITIVES if p.sympy_type is not None}

#: names the parser accepts as functions (besides ``He<k>``)
PARSEABLE_NAMES: tuple[str, ...] = tuple(p.name for p in PRIMITIVES if p.parseable)
#: sympy classes of the primitives (for whitelists of expressions given directly as sympy)
SYMPY_TYPES: tuple[type, ...] = tuple(BY_TYPE)
BOUNDED_TYPES: tuple[type, ...] = tuple(t for t, p in BY_TYPE.items() if p.growth == "bounded")
ARGUMENT_GROWTH_TYPES: tuple[type, ...] = tuple(t for t, p in BY_TYPE.items() if p.growth == "argument")
NONNEGATIVE_TYPES: tuple[type, ...] = tuple(t for t, p in BY_TYPE.items() if p.nonnegative)
KINK_TYPES: tuple[type, ...] = tuple(t for t, p in BY_TYPE.items() if p.kink)
NUMPY_FORMS: dict[type, Callable] = {t: p.numpy for t, p in BY_TYPE.items() if p.numpy is not None}
MPMATH_FORMS: dict[type, Callable] = {t: p.mpmath for t, p in BY_TYPE.items() if p.mpmath is not None}
SMOOTHING_KINDS: dict[type, str] = {t: p.smoothing for t, p in BY_TYPE.items() if p.smoothing}


def _scipy_erf(a: np.ndarray) -> np.ndarray:
    """``erf`` elementwise (scipy.special is imported on first use: it costs ~0.3 s at start-up)."""
    from scipy.special import erf

    return erf(a)


def build(name: str, arg: sympy.Expr) -> sympy.Expr:
    """The sympy expression of primitive ``name`` applied to ``arg`` (parser entry point)."""
    prim = BY_NAME.get(name)
    if prim is None or not prim.parseable:
        raise InputError(f"function '{name}' is not allowed")
    return prim.build(arg)


def rewrite_kinks(expr: sympy.Expr) -> sympy.Expr:
    """Replace each primitive with a ``rewrite`` (relu(u) → u·H(u), |u| → u·sign(u); a.e. identities)."""
    for t, prim in BY_TYPE.items():
        if prim.rewrite is not None:
            expr = expr.replace(lambda e, t=t: isinstance(e, t), lambda e, f=prim.rewrite: f(e.args[0]))
    return expr


def kink_arguments(expr: sympy.Expr) -> list[sympy.Expr]:
    """The arguments ``u`` of the non-smooth primitives in ``expr`` (kinks where ``u = 0``),
    and ``a − b`` for ``Max``/``Min`` (kinks where the branches meet)."""
    out = []
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, KINK_TYPES):
            out.append(node.args[0])
        elif isinstance(node, (sympy.Max, sympy.Min)):
            out.extend(node.args[0] - a for a in node.args[1:])
    return out


def kinks(expr: sympy.Expr, x: sympy.Symbol = X) -> tuple[float, ...]:
    """Real points where ``expr`` (a function of ``x``) or its derivative may not be smooth.

    The zeros of every kink argument, by polynomial root finding when the argument is a
    polynomial in ``x`` and by ``sympy.solve`` otherwise; sorted, rounded to 15 digits.
    """
    pts: set[float] = set()
    for u in kink_arguments(expr):
        if not u.has(x):
            continue
        if u.is_polynomial(x):
            roots = [complex(r) for r in sympy.Poly(u, x).nroots(n=30)]
        else:
            try:
                roots = [complex(sympy.N(s)) for s in sympy.solve(sympy.Eq(u, 0), x)]
            except (NotImplementedError, TypeError, ValueError):
                continue
        for v in roots:
            if abs(v.imag) < 1e-14 and np.isfinite(v.real):
                pts.add(round(v.real, 15))
    return tuple(sorted(pts))


def activation_kind(expr: sympy.Expr, field: str, x: sympy.Symbol = X) -> str | None:
    """``kernel`` or ``tables`` of the primitive ``expr`` is exactly (``f(x)``), else None."""
    for prim in PRIMITIVES:
        value = getattr(prim, field)
        if value is not None and expr == prim.build(x):
            return value
    if field == "kernel" and expr == sympy.Max(x, 0):
        return BY_NAME["relu"].kernel
    return None
