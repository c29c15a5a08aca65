"""Multivariate Hermite expansions and tensors ``C_k(g*)`` (docs/model.md §2).

``g*(z) = Σ_β a_β He_β(z)``, ``He_β(z) = Π_i He_{β_i}(z_i)``, so that
``E[g* He_β] = a_β β!`` and the order-k tensor has entries
``(C_k)_{i1…ik} = a_β β!`` with ``β`` the multiplicities of ``(i1, …, ik)``.
``‖P_k g*‖² = Σ_{|β|=k} a_β² β! = ‖C_k‖_F² / k!``.

How the coefficients are obtained:

* polynomial targets: exactly, monomial by monomial
  (``x^n = Σ_j n!/(j! m! 2^m) He_j``, ``n - j = 2m``);
* additive terms that are products of univariate factors (after
  ``sign(ab) = sign(a) sign(b)``, ``relu(u) = u H(u)``, ``|u| = u sign(u)``, ``H(ab) = (1 + sign(ab))/2``):
  products of the univariate coefficients of :mod:`giantstep.theory.expr.hermite1d`
  (exact where those are);
* ridge terms ``c·φ(⟨a, z⟩ + b)``: ``E[φ He_β] = μ_{|β|}(φ(|a|·+b)) Π (a_i/|a|)^{β_i}``;
* anything else: tensor-product Gauss–Hermite quadrature over the variables of
  that term, with the difference between two rule sizes as error estimate.

Non-polynomial targets are expanded up to ``max_degree`` (default 8).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from math import factorial

import numpy as np
import sympy

from giantstep.errors import InputError

from ..expr.evaluate import compile_numpy
from ..expr.hermite1d import hermite_coefficients, monomial_to_hermite
from ..expr.parsing import X, zvar
from ..expr.primitives import kinks, rewrite_kinks
from ..gauss.hermite import hermite_table
from ..gauss.rules import gauss_hermite, second_moment

DEFAULT_MAX_DEGREE = 8
_QUAD_MAX_DIM = 4
#: Largest number of entries of a dense tensor ``C_k`` (r^k); the analyses use the sparse form.
DENSE_BUDGET = 1 << 22


def _simplified(value) -> sympy.Expr:
    """A rational stays as it is (``nsimplify`` would round 1e-300 to 0); other values are simplified."""
    value = sympy.sympify(value)
    return value if value.is_Rational else sympy.nsimplify(value)


def _code(beta: tuple[int, ...], base: int) -> int:
    code = 0
    for b in beta:
        code = code * base + b
    return code


def _beta_factorial(beta: tuple[int, ...]) -> int:
    out = 1
    for b in beta:
        out *= factorial(b)
    return out


def _multi_indices(r: int, k: int):
    """All β ∈ N^r with |β| = k."""
    for combo in itertools.combinations_with_replacement(range(r), k):
        beta = [0] * r
        for i in combo:
            beta[i] += 1
        yield tuple(beta)


@dataclass
class HermiteExpansion:
    """Sparse Hermite expansion ``{β: a_β}`` of a target.

    Attributes
    ----------
    r : int
        Number of latent variables.
    coeffs : dict
        ``β -> a_β`` as floats.
    exact : dict
        ``β -> a_β`` as exact sympy numbers where known (all of them for polynomials).
    max_degree : int
        Largest degree present (polynomial) or computed (truncated expansion).
    complete : bool
        True if the expansion is the whole function (polynomial targets).
    error : float
        Estimated absolute error on the normalised coefficients ``E[g He_β]/√β!``
        (0 when exact).
    second_moment : float
        ``E[g*²]`` (exact for polynomials, numerical otherwise).
    """

    r: int
    coeffs: dict
    exact: dict
    max_degree: int
    complete: bool
    error: float = 0.0
    second_moment: float = float("nan")
    notes: list = field(default_factory=list)

    # ------------------------------------------------------------------ build
    @classmethod
    def of(cls, target, max_degree: int | None = None) -> HermiteExpansion:
        """Expand a :class:`~giantstep.theory.expr.target.Target`."""
        variables = target.variables
        expr = target.expr
        r = target.r
        if target.is_polynomial:
            exact = _polynomial_expansion(expr, variables)
            deg = max((sum(b) for b in exact), default=0)
            coeffs = {b: float(sympy.N(v, 20)) for b, v in exact.items()}
            if not all(np.isfinite(v) for v in coeffs.values()):
                raise InputError("a Hermite coefficient of the target is beyond floating-point range; "
                                 "rescale the target")
            second_exact = sum(v**2 * _beta_factorial(b) for b, v in exact.items())
            second = float(sympy.N(second_exact, 20)) if second_exact != 0 else 0.0
            return cls(r, coeffs, exact, deg, True, 0.0, second)
        K = DEFAULT_MAX_DEGREE if max_degree is None else int(max_degree)
        if K < 0 or K > 30:
            raise InputError(f"max_degree must be between 0 and 30, got {K}")
        coeffs: dict = {}
        exact: dict = {}
        error = 0.0
        all_exact = True
        terms = []
        for top in sympy.Add.make_args(expr):
            if _is_ridge(top, variables):
                terms.append(top)
            else:
                terms.extend(sympy.Add.make_args(sympy.expand(_rewrite(top))))
        for term in terms:
            part, part_exact, err = _term_expansion(term, variables, K)
            error += err
            for b, v in part.items():
                coeffs[b] = coeffs.get(b, 0.0) + v
            if part_exact is None:
                all_exact = False
            elif all_exact:
                for b, v in part_exact.items():
                    exact[b] = exact.get(b, 0) + v
        if not all_exact:
            exact = {}
        coeffs = {b: v for b, v in coeffs.items() if v != 0.0}
        second = _second_moment(target)
        return cls(r, coeffs, exact, K, False, error, second)

    # ------------------------------------------------------------------ queries
    def coefficient(self, beta: tuple[int, ...]) -> float:
        """``a_β`` (so that ``E[g He_β] = a_β β!``)."""
        return self.coeffs.get(tuple(beta), 0.0)

    def symmetric_entries(self, k: int) -> dict:
        """``C_k`` in symmetric sparse form: ``{β: a_β β!}`` over the sorted multi-indices
        ``|β| = k`` with a non-zero coefficient (the entry at every permutation of the
        index tuple with multiplicities β)."""
        if k < 0:
            raise InputError(f"tensor order must be ≥ 0, got {k}")
        if not self.complete and k > self.max_degree:
            raise InputError(f"expansion computed up to degree {self.max_degree}, asked for {k}")
        return {b: a * _beta_factorial(b) for b, a in self.coeffs.items() if sum(b) == k and a != 0.0}

    def tensor(self, k: int) -> np.ndarray:
        """``C_k`` as a dense float array of shape ``(r,)*k`` (at most ``DENSE_BUDGET`` entries).

        Filled by multiplicity codes, vectorised over the r^k index tuples (never a loop over
        permutations); :meth:`symmetric_entries` gives the same tensor in sparse form at any size.
        """
        entries = self.symmetric_entries(k)
        r = self.r
        if k == 0:
            return np.asarray(entries.get((0,) * r, 0.0), dtype=float).reshape(())
        if float(r) ** k > DENSE_BUDGET:
            raise InputError(f"the dense order-{k} tensor in r = {r} variables has {float(r) ** k:.3g} "
                             f"entries, beyond the budget of {DENSE_BUDGET}; use symmetric_entries({k})")
        if not entries:
            return np.zeros((r,) * k)
        base = k + 1  # the code of β: digits β_i in base k + 1 (fits int64 while r^k is in budget)
        keys = np.array(sorted(_code(b, base) for b in entries), dtype=np.int64)
        lookup = {_code(b, base): v for b, v in entries.items()}
        vals = np.array([lookup[int(c)] for c in keys])
        idx = np.indices((r,) * k, dtype=np.int64).reshape(k, -1)
        code = np.zeros(idx.shape[1], dtype=np.int64)
        for i in range(r):
            code = code * base + (idx == i).sum(axis=0)
        pos = np.minimum(np.searchsorted(keys, code), keys.size - 1)
        return np.where(keys[pos] == code, vals[pos], 0.0).reshape((r,) * k)

    def tensors(self, kmax: int | None = None) -> list[np.ndarray]:
        """``[C_0, …, C_kmax]`` (default: up to the expansion's degree)."""
        kmax = self.max_degree if kmax is None else kmax
        return [self.tensor(k) for k in range(kmax + 1)]

    def energy(self, k: int) -> float:
        """``‖P_k g‖² = Σ_{|β|=k} a_β² β!`` (refused if beyond floating range: see :meth:`exact_energy`)."""
        value = float(sum(a * a * _beta_factorial(b) for b, a in self.coeffs.items() if sum(b) == k))
        if not np.isfinite(value):
            raise InputError(f"the degree-{k} energy of the target is beyond floating-point range "
                             "(rescale the target; exact_energy gives it exactly for polynomials)")
        return value

    def energies(self, kmax: int | None = None) -> list[float]:
        kmax = self.max_degree if kmax is None else kmax
        return [self.energy(k) for k in range(kmax + 1)]

    def exact_tensor_entry(self, beta: tuple[int, ...]) -> sympy.Expr | None:
        """``E[g He_β]`` exactly, if known."""
        if not self.exact:
            return None
        return self.exact.get(tuple(beta), sympy.S.Zero) * _beta_factorial(tuple(beta))

    def exact_energy(self, k: int) -> sympy.Expr | None:
        """``‖P_k g‖²`` exactly, if known."""
        if not self.exact:
            return None
        return _simplified(sum(v**2 * _beta_factorial(b) for b, v in self.exact.items() if sum(b) == k))

    def exact_second_moment(self) -> sympy.Expr | None:
        """``E[g*²] = Σ_β a_β² β!`` exactly (complete expansions with exact coefficients)."""
        if not (self.complete and self.exact):
            return None
        return _simplified(sum(v**2 * _beta_factorial(b) for b, v in self.exact.items()))

    @property
    def tail_energy(self) -> float:
        """``E[g²] − Σ_{k ≤ max_degree} ‖P_k g‖²`` (0 for polynomials)."""
        if self.complete:
            return 0.0
        return max(self.second_moment - sum(self.energies()), 0.0)


# ---------------------------------------------------------------------- helpers


def _polynomial_expansion(expr: sympy.Expr, variables) -> dict:
    poly = sympy.Poly(sympy.expand(expr), *variables)
    out: dict = {}
    for monom, c in poly.terms():
        parts = [monomial_to_hermite(n) for n in monom]
        for combo in itertools.product(*parts):
            beta = tuple(j for j, _ in combo)
            coef = c
            for _, cj in combo:
                coef = coef * cj
            out[beta] = out.get(beta, 0) + coef
    return {b: v for b, v in out.items() if v != 0}  # exact rationals (never nsimplify: 1e-300 → 0)


def _rewrite(expr: sympy.Expr) -> sympy.Expr:
    """Make products separable: the registry's kink rewrites (relu(u) = u·H(u), |u| = u·sign(u)),
    then H(ab) = (1+sign(ab))/2 and sign(ab) = sign(a)sign(b)."""
    expr = rewrite_kinks(expr)
    expr = expr.replace(
        lambda e: isinstance(e, sympy.Heaviside) and isinstance(e.args[0], sympy.Mul),
        lambda e: (1 + sympy.sign(e.args[0])) / 2,
    )
    expr = expr.replace(
        lambda e: isinstance(e, sympy.sign) and isinstance(e.args[0], sympy.Mul),
        lambda e: sympy.Mul(*[sympy.sign(f) for f in e.args[0].args]),
    )
    return expr


def _is_ridge(term: sympy.Expr, variables) -> bool:
    """``c · φ(⟨a, z⟩ + b)`` with a non-polynomial φ of one affine argument."""
    _, rest = term.as_independent(*variables, as_Add=False)
    factors = sympy.Mul.make_args(rest)
    if len(factors) != 1 or len(factors[0].args) != 1 or rest.is_polynomial(*variables):
        return False
    u = factors[0].args[0]
    return bool(u.is_polynomial(*variables) and sympy.Poly(u, *variables).total_degree() == 1)


def _term_expansion(term: sympy.Expr, variables, K: int):
    """Expansion of one additive term up to degree K: (floats, exact-or-None, error)."""
    r = len(variables)
    index = {v: i for i, v in enumerate(variables)}
    coeff, rest = term.as_independent(*variables, as_Add=False)
    if not rest.free_symbols:  # a constant term
        value = coeff * rest
        return {(0,) * r: float(sympy.N(value, 20))}, {(0,) * r: value}, 0.0
    groups: dict = {}
    for f in sympy.Mul.make_args(rest):
        syms = f.free_symbols
        key = frozenset(syms)
        groups.setdefault(key, []).append(f)
    if all(len(k) <= 1 for k in groups):
        # separable: Π_i f_i(z_i)
        per_var = {}
        exact_ok = True
        err = 0.0
        for key, fs in groups.items():
            (s,) = tuple(key)
            f = sympy.Mul(*fs).subs(s, X)
            c = hermite_coefficients(f, X, kmax=K, dps=20)
            exact_ok &= c.exact
            err += c.error
            per_var[index[s]] = (c.values, c.floats())
        cf = float(sympy.N(coeff, 20))
        floats, exact = {}, ({} if exact_ok else None)
        ranges = [range(K + 1) if i in per_var else range(1) for i in range(r)]
        for beta in itertools.product(*ranges):
            if sum(beta) > K:
                continue
            val = cf
            for i, b in enumerate(beta):
                if i in per_var:
                    val *= per_var[i][1][b] / factorial(b)
            if val == 0.0:
                continue
            floats[beta] = val
            if exact is not None:
                ev = coeff
                for i, b in enumerate(beta):
                    if i in per_var:
                        ev = ev * per_var[i][0][b] / factorial(b)
                exact[beta] = ev
        return floats, exact, err * abs(cf)
    # ridge: c · φ(⟨a, z⟩ + b)
    factors = sympy.Mul.make_args(rest)
    if _is_ridge(term, variables):
        u = factors[0].args[0]
        if True:
            p = sympy.Poly(u, *variables)
            a = [p.coeff_monomial(v) for v in variables]
            b = p.coeff_monomial(1)
            norm = sympy.sqrt(sum(ai**2 for ai in a))
            phi = factors[0].func(norm * X + b)
            c = hermite_coefficients(phi, X, kmax=K, dps=20)
            mus = c.floats()
            dirs = [float(sympy.N(ai / norm, 20)) for ai in a]
            cf = float(sympy.N(coeff, 20))
            floats, exact = {}, ({} if c.exact else None)
            for k in range(K + 1):
                for beta in _multi_indices(r, k):
                    w = np.prod([dirs[i] ** beta[i] for i in range(r)])
                    val = cf * mus[k] * w / _beta_factorial(beta)
                    if val != 0.0:
                        floats[beta] = val
                        if exact is not None:
                            ev = coeff * c.values[k] / _beta_factorial(beta)
                            for i in range(r):
                                ev = ev * (a[i] / norm) ** beta[i]
                            exact[beta] = ev
            return floats, exact, c.error * abs(cf)
    return _quadrature_expansion(term, variables, K)


def _quadrature_expansion(term: sympy.Expr, variables, K: int):
    syms = sorted(term.free_symbols, key=lambda s: int(s.name[1:]))
    m = len(syms)
    if m > _QUAD_MAX_DIM:
        raise InputError(
            f"term '{term}' couples {m} variables through a non-linearity that is neither a product "
            f"of univariate factors nor a ridge function; at most {_QUAD_MAX_DIM} are supported"
        )
    index = {v: i for i, v in enumerate(variables)}
    f = compile_numpy(term, syms)
    results = []
    sizes = {1: (200, 400), 2: (120, 200), 3: (50, 80), 4: (24, 36)}[m]
    for n in sizes:
        x, w = gauss_hermite(n)
        H = hermite_table(x, K)
        grids = np.meshgrid(*([x] * m), indexing="ij")
        vals = f(*grids)
        A = H * w  # (K+1, n): He_k(x_i) w_i
        T = vals
        for _ in range(m):  # contract the leading node axis, append the order axis at the end
            T = np.tensordot(T, A, axes=([0], [1]))
        results.append(T)
    T = results[1]
    scale = float(np.max(np.abs(T))) if T.size else 0.0
    floats = {}
    err = 0.0
    for idx in itertools.product(range(K + 1), repeat=m):
        if sum(idx) > K:
            continue
        # error of the coefficient in the orthonormal basis He_β/√β! (bounded by ‖g‖)
        err = max(err, abs(float(results[0][idx] - T[idx])) / np.sqrt(_beta_factorial(idx)))
        val = float(T[idx])
        beta = [0] * len(variables)
        for s, b in zip(syms, idx):
            beta[index[s]] = b
        beta = tuple(beta)
        if abs(val) > 1e-15 * scale:  # rounding level of the rule, relative to the term's own size
            floats[beta] = val / _beta_factorial(beta)
    return floats, None, err


def _second_moment(target) -> float:
    """``E[g*²]``: the one estimate of the library (:func:`.quadrature.second_moment`),
    cut at the kinks of g for one variable."""
    pts = kinks(target.expr.subs(zvar(1), X)) if target.r == 1 else ()
    return second_moment(target.evaluate, target.r, pts)
