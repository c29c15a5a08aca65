"""Targets ``g*(z)`` and student activations ``σ`` (docs/model.md §1–§2).

:func:`is_target_expression` is the one test of whether a teacher is written in the latent
coordinates ``z1..zr`` (a target) rather than as a function of one variable (an activation).

:class:`Target` and :class:`Activation` are the objects every layer shares:
the theory layer expands them in Hermite polynomials, the numerics layer
integrates them against Gaussians, the validation layer samples them.
"""

from __future__ import annotations

import re
from functools import cached_property

import numpy as np
import sympy

from giantstep.caching import bounded_cache
from giantstep.errors import InputError

from .evaluate import compile_numpy
from .hermite1d import Coefficients, hermite_coefficients
from .parsing import (
    MAX_VARIABLES,
    X,
    check_square_integrable,
    parse_activation_expression,
    parse_target_expression,
    zvar,
)
from .primitives import SYMPY_TYPES, kinks

_ALLOWED_SYMPY = (
    sympy.Add, sympy.Mul, sympy.Pow, sympy.Symbol, sympy.Number, sympy.NumberSymbol, sympy.Max,
    *SYMPY_TYPES,
)


def _validate_sympy(expr: sympy.Expr, variable: str) -> sympy.Expr:
    """Apply the parser's whitelist to an expression given directly as sympy."""
    if not isinstance(expr, sympy.Expr):
        raise InputError(f"expected a sympy expression, got {type(expr).__name__}")
    subs = {}
    for s in expr.free_symbols:
        name = s.name
        if variable == "z":
            if not (name.startswith("z") and name[1:].isdigit() and int(name[1:]) >= 1):
                raise InputError(f"variable '{name}' is not allowed: latent variables are z1, z2, …")
            subs[s] = zvar(int(name[1:]))
        else:
            if name != "x":
                raise InputError(f"an activation is a function of x, found '{name}'")
            subs[s] = X
    expr = expr.xreplace(subs)
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, _ALLOWED_SYMPY):
            raise InputError(f"'{type(node).__name__}' is not allowed in a target")
        if isinstance(node, sympy.Number) and not node.is_real:
            raise InputError(f"constant {node} is not real")
    check_square_integrable(expr)
    return expr


class Target:
    """A target function ``g*(z1, …, zr)`` of the latent Gaussian ``z ~ N(0, I_r)``.

    Parameters
    ----------
    expr : str or sympy.Expr
        The target, e.g. ``"z1 + z1*z2"``. Strings are parsed with the whitelist
        of :mod:`giantstep.theory.expr.parsing`; nothing is evaluated.
    r : int, optional
        Number of latent variables; inferred as the largest index used if omitted.
    noise : float
        Label-noise variance Δ (labels ``y = g*(z) + sqrt(Δ) ε``).
    """

    def __init__(self, expr: str | sympy.Expr, r: int | None = None, noise: float = 0.0):
        if isinstance(expr, Target):
            expr = expr.expr
        if isinstance(expr, str):
            self.text = expr.strip()
            parsed = parse_target_expression(expr)
        else:
            parsed = _validate_sympy(sympy.sympify(expr) if isinstance(expr, (int, float)) else expr, "z")
            self.text = str(parsed)
        used = [int(s.name[1:]) for s in parsed.free_symbols]
        r_used = max(used) if used else 0
        if r is None:
            r = max(r_used, 1)
        if not isinstance(r, (int, np.integer)) or r < 1 or r > MAX_VARIABLES:
            raise InputError(f"r must be an integer between 1 and {MAX_VARIABLES}, got {r!r}")
        if r < r_used:
            raise InputError(f"target uses z{r_used} but r = {r}")
        noise = float(noise)
        if not np.isfinite(noise) or noise < 0:
            raise InputError(f"label noise Δ must be a finite number ≥ 0, got {noise}")
        self.expr: sympy.Expr = parsed
        self.r: int = int(r)
        self.noise: float = noise

    def __repr__(self) -> str:
        extra = f", noise={self.noise}" if self.noise else ""
        return f"Target({self.text!r}, r={self.r}{extra})"

    @property
    def variables(self) -> tuple[sympy.Symbol, ...]:
        """The symbols ``z1..zr``."""
        return tuple(zvar(i) for i in range(1, self.r + 1))

    @cached_property
    def is_polynomial(self) -> bool:
        """True if ``g*`` is a polynomial (then every Hermite quantity is exact)."""
        return bool(self.expr.is_polynomial(*self.variables))

    @cached_property
    def _fn(self):
        return compile_numpy(self.expr, self.variables)

    def evaluate(self, z: np.ndarray) -> np.ndarray:
        """``g*(z)`` for ``z`` of shape ``(..., r)``; returns shape ``(...)``."""
        z = np.asarray(z, dtype=float)
        if z.shape[-1] != self.r:
            raise InputError(f"expected inputs with last dimension r = {self.r}, got shape {z.shape}")
        return self._fn(*np.moveaxis(z, -1, 0))

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.evaluate(z)

    # Hermite quantities (docs/model.md §2), delegated to hermite_tensor
    @cached_property
    def expansion(self):
        """The :class:`~giantstep.theory.structure.hermite_tensor.HermiteExpansion` of the target."""
        from ..structure.hermite_tensor import HermiteExpansion

        return HermiteExpansion.of(self)

    def tensor(self, k: int) -> np.ndarray:
        """``C_k(g*) = E[g*(z) He_k(z)]`` as a float array of shape ``(r,)*k``."""
        return self.expansion.tensor(k)

    def energy(self, k: int) -> float:
        """``‖P_k g*‖²``, the energy of the degree-k Hermite component."""
        return self.expansion.energy(k)


class Activation:
    """A student activation ``σ(x)``.

    Parameters
    ----------
    expr : str or sympy.Expr
        ``"relu"``, ``"tanh"``, ``"He2 + He1"``, ``"tanh(2*x)"``, … (see the parser).
    """

    def __init__(self, expr: str | sympy.Expr):
        if isinstance(expr, Activation):
            expr = expr.expr
        if isinstance(expr, str):
            self.name = expr.strip()
            self.expr: sympy.Expr = parse_activation_expression(expr)
        else:
            self.expr = _validate_sympy(expr, "x")
            self.name = str(self.expr)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    @cached_property
    def _fns(self) -> dict:
        return {}

    @cached_property
    def kinks(self) -> tuple[float, ...]:
        """Real points where σ or σ' may not be smooth (the registry's
        :func:`~giantstep.theory.expr.primitives.kinks` of both), sorted; empty for analytic σ.

        Every piecewise quadrature of the library cuts its pieces here."""
        return _activation_kinks(self.expr)

    def derivative_expr(self, order: int = 1) -> sympy.Expr:
        """Symbolic ``σ^{(order)}`` (may contain Heaviside / DiracDelta)."""
        return sympy.diff(self.expr, X, order) if order else self.expr

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """``σ(x)`` elementwise."""
        return self.derivative(x, 0)

    def derivative(self, x: np.ndarray, order: int = 1) -> np.ndarray:
        """``σ^{(order)}(x)`` elementwise (Heaviside(0) = 1/2).

        Raises
        ------
        InputError
            If that derivative contains a Dirac mass (e.g. ``sign'``), which has
            no pointwise value.
        """
        if order not in self._fns:
            self._fns[order] = compile_numpy(self.derivative_expr(order), (X,))
        return self._fns[order](np.asarray(x, dtype=float))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.evaluate(x)

    def coefficients(self, kmax: int, *, exact: bool = True, dps: int = 30) -> Coefficients:
        """``μ_0..μ_kmax`` with ``μ_k = E[σ(ξ) He_k(ξ)]`` (docs/model.md §2)."""
        return hermite_coefficients(self.expr, X, kmax=kmax, exact=exact, dps=dps)

    @cached_property
    def _mu_cache(self) -> list[float]:
        return self.coefficients(12, dps=20).floats()

    def mu(self, k: int) -> float:
        """``μ_k(σ)`` as a float."""
        if k < len(self._mu_cache):
            return self._mu_cache[k]
        return self.coefficients(k, dps=20).floats()[k]

    def scaled_mu(self, k: int, scale: float) -> float:
        """``E[σ(s ξ) He_k(ξ)]`` for ``ξ ~ N(0,1)`` and scale ``s > 0``."""
        s = sympy.nsimplify(scale) if isinstance(scale, (int, float)) else scale
        return hermite_coefficients(self.expr.subs(X, s * X), X, kmax=k, dps=20).floats()[k]

    @cached_property
    def parity(self) -> str | None:
        """``'odd'``, ``'even'`` or None."""
        flipped = self.expr.subs(X, -X)
        xs = np.linspace(-3.1, 2.9, 41)
        f = compile_numpy(self.expr, (X,))
        g = compile_numpy(flipped, (X,))
        a, b = f(xs), g(xs)
        if np.allclose(a, -b, atol=1e-13):
            return "odd"
        if np.allclose(a, b, atol=1e-13):
            return "even"
        return None

    def vanishes_at_all_scales(self, m: int) -> bool:
        """True if ``s ↦ E[σ(sξ) He_m(ξ)]`` is identically zero (docs/model.md §3).

        This happens by parity (odd σ, even m; even σ, odd m) or when the part of σ
        with the parity of m is a polynomial of degree < m. Checked at several
        scales with the exact/quadrature coefficients.
        """
        if m < 0:
            raise InputError("order must be ≥ 0")
        if m == 0:
            return all(abs(self.scaled_mu(0, s)) < 1e-14 for s in (0.5, 1.0, 1.9))
        if (self.parity == "odd" and m % 2 == 0) or (self.parity == "even" and m % 2 == 1):
            return True
        vals = [self.scaled_mu(m, s) for s in (0.37, 0.81, 1.0, 1.63, 2.71)]
        return all(abs(v) < 1e-12 for v in vals)

    def check_weakly_differentiable(self) -> None:
        """Raise :class:`InputError` if ``σ'`` contains a Dirac mass (e.g. sign)."""
        if self.derivative_expr(1).has(sympy.DiracDelta):
            raise InputError(
                f"activation '{self.name}' is not weakly differentiable (its derivative has a "
                "Dirac mass); the giant-step updates need σ'"
            )


def as_target(t: str | sympy.Expr | Target, r: int | None = None, noise: float | None = None) -> Target:
    """Coerce a string / sympy expression / Target into a :class:`Target`."""
    if isinstance(t, Target):
        if (r is None or r == t.r) and (noise is None or noise == t.noise):
            return t
        return Target(t.expr, r=r or t.r, noise=t.noise if noise is None else noise)
    return Target(t, r=r, noise=0.0 if noise is None else noise)


@bounded_cache(256)
def _activation_kinks(expr: sympy.Expr) -> tuple[float, ...]:
    pts = set(kinks(expr)) | set(kinks(sympy.diff(expr, X)))
    return tuple(sorted(p for p in pts if np.isfinite(p)))


def as_activation(a: str | sympy.Expr | Activation) -> Activation:
    """Coerce a string / sympy expression / Activation into an :class:`Activation`."""
    return a if isinstance(a, Activation) else Activation(a)


_LATENT_VARIABLE = re.compile(r"\bz[0-9]+\b")


def is_target_expression(teacher: object) -> bool:
    """True when ``teacher`` is a :class:`Target` or a string that uses a latent variable
    ``z1, z2, …`` (a multi-index target); False for activations (functions of ``x``, bare names).

    The one place that decides how a teacher given by the user is read (docs/model.md §1).
    """
    if isinstance(teacher, Target):
        return True
    return isinstance(teacher, str) and _LATENT_VARIABLE.search(teacher) is not None
