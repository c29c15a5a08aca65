"""Vectorised evaluation of parsed expressions (numpy or mpmath back end).

The expression tree built by :mod:`giantstep.theory.expr.parsing` is compiled into
nested Python closures over numpy ufuncs, so a target is evaluated on an array
of inputs without any string evaluation. ``Heaviside(0)`` is taken as 1/2 and
``sign(0) = 0``; Dirac masses (derivatives of ``sign``/``Heaviside``) cannot be
evaluated pointwise and raise :class:`InputError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath
import numpy as np
import sympy

from giantstep.errors import InputError

from .primitives import MPMATH_FORMS, NUMPY_FORMS

ArrayFn = Callable[[np.ndarray], np.ndarray]

# elementwise forms of the primitive functions: one record each in theory/expr/primitives.py
_NUMPY_UNARY: dict[type, Callable] = NUMPY_FORMS
_MP_UNARY: dict[type, Callable] = MPMATH_FORMS


def compile_numpy(expr: sympy.Expr, variables: Sequence[sympy.Symbol]) -> Callable[..., np.ndarray]:
    """Compile ``expr`` into ``f(*columns)`` evaluating it elementwise with numpy.

    Parameters
    ----------
    expr : sympy.Expr
        An expression produced by the parser (or its derivatives).
    variables : sequence of sympy.Symbol
        The order of the positional array arguments of the returned function.
    """
    index = {v: i for i, v in enumerate(variables)}

    def build(e: sympy.Expr) -> Callable:
        if e.is_number:
            c = complex(sympy.N(e, 17))
            if c.imag != 0:
                raise InputError(f"constant {e} is not real")
            val = c.real
            return lambda cols: val
        if e.is_Symbol:
            if e not in index:
                raise InputError(f"variable {e} is not among {list(variables)}")
            i = index[e]
            return lambda cols: cols[i]
        if isinstance(e, sympy.Add):
            parts = [build(a) for a in e.args]
            return lambda cols: sum(p(cols) for p in parts)
        if isinstance(e, sympy.Mul):
            parts = [build(a) for a in e.args]

            def mul(cols):
                out = parts[0](cols)
                for p in parts[1:]:
                    out = out * p(cols)
                return out

            return mul
        if isinstance(e, sympy.Pow):
            base = build(e.base)
            exp = e.exp
            if exp.is_Integer:
                n = int(exp)
                return lambda cols: np.power(np.asarray(base(cols), dtype=float), n)
            if exp == sympy.Rational(1, 2):
                return lambda cols: np.sqrt(base(cols))
            raise InputError(f"cannot evaluate power {e}")
        if isinstance(e, sympy.Max):
            parts = [build(a) for a in e.args]
            return lambda cols: np.maximum.reduce([np.asarray(p(cols), float) for p in parts])
        if isinstance(e, sympy.DiracDelta):
            raise InputError(
                f"'{e}' is a Dirac mass and cannot be evaluated pointwise "
                "(the function is not weakly differentiable that many times)"
            )
        for cls, fn in _NUMPY_UNARY.items():
            if isinstance(e, cls):
                arg = build(e.args[0])
                return lambda cols: fn(arg(cols))
        raise InputError(f"cannot evaluate '{e}' numerically")

    root = build(expr)

    def f(*columns: np.ndarray) -> np.ndarray:
        cols = [np.asarray(c, dtype=float) for c in columns]
        out = root(cols)
        shape = np.broadcast_shapes(*(c.shape for c in cols)) if cols else ()
        return np.broadcast_to(np.asarray(out, dtype=float), shape).copy()

    return f


def compile_mpmath(expr: sympy.Expr, variable: sympy.Symbol) -> Callable:
    """Compile a univariate ``expr`` into a function of one mpmath number."""

    def build(e: sympy.Expr) -> Callable:
        if e.is_number:
            val = mpmath.mpf(sympy.N(e, mpmath.mp.dps + 10)) if e.is_real is not False else None
            if val is None:
                raise InputError(f"constant {e} is not real")
            return lambda x: val
        if e == variable:
            return lambda x: x
        if e.is_Symbol:
            raise InputError(f"unexpected variable {e}")
        if isinstance(e, sympy.Add):
            parts = [build(a) for a in e.args]
            return lambda x: mpmath.fsum(p(x) for p in parts)
        if isinstance(e, sympy.Mul):
            parts = [build(a) for a in e.args]
            return lambda x: mpmath.fprod(p(x) for p in parts)
        if isinstance(e, sympy.Pow):
            base = build(e.base)
            if e.exp.is_Integer:
                n = int(e.exp)
                return lambda x: base(x) ** n
            if e.exp == sympy.Rational(1, 2):
                return lambda x: mpmath.sqrt(base(x))
            raise InputError(f"cannot evaluate power {e}")
        if isinstance(e, sympy.Max):
            parts = [build(a) for a in e.args]
            return lambda x: max(p(x) for p in parts)
        for cls, fn in _MP_UNARY.items():
            if isinstance(e, cls):
                arg = build(e.args[0])
                return lambda x: fn(arg(x))
        raise InputError(f"cannot evaluate '{e}' numerically")

    return build(expr)
